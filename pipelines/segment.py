"""Segmentation stage: corpus documents → passages (`data/passages.jsonl`).

Each block of a document (paragraph, quotation, table) is cut into passages by
`kb.text.segment.segment_text`: paragraph-sized, long paragraphs split at sentence boundaries
(≈600 chars), quotations whole, tables at line ends. Passage ids are `doc_id:hash` of the
passage text (+ `-n` for the n-th repeat of the same text in a document), so they do not
change when the build reruns or another document changes.

Interviews are questions and answers: an interviewer's turn ("면담자: …", "Q: …", or a block
`kb add` marked `role: interviewer` because its unnamed speaker mostly asks) is never a
passage of its own; its text becomes the `question` of every passage of the answer that follows
(all parts of a long answer), so the answer is embedded, coded and shown with its question.
Passages outside an answer have `question` None.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from collections import Counter
from pathlib import Path
from typing import Any

from kb.errors import CorpusMissing
from kb.fileio import write_jsonl
from kb.records import CASE_FIELDS
from kb.settings import get_settings
from kb.text.segment import MAX_CHARS, asks, block_questions, segment_text

__all__ = ["run", "segment_document", "passage_id", "PASSAGES_FILE"]

PASSAGES_FILE = "passages.jsonl"


def passage_id(doc_id: str, text: str, occurrence: int = 1) -> str:
    """Stable id: document id + 12 hex of the text's SHA-1 (+ -n for repeats within the document)."""
    digest = hashlib.sha1(text.encode("utf-8")).hexdigest()[:12]
    return f"{doc_id}:{digest}" + (f"-{occurrence}" if occurrence > 1 else "")


def _page_at(page_map: list[list[int]], rel: int) -> int | None:
    page = page_map[0][1] if page_map else None
    for off, pg in page_map:
        if off <= rel:
            page = pg
    return page


def read_manifest(corpus_dir: Path) -> list[dict[str, str]]:
    """Manifest rows; kb.corpus.manifest checks that every file they name lies inside the corpus folder."""
    from kb.corpus.manifest import load_manifest

    return load_manifest(corpus_dir)[1]


def segment_document(
    row: dict[str, str], corpus_dir: Path, max_chars: int = MAX_CHARS
) -> list[dict[str, Any]]:
    """Passage records of one manifest row's document."""
    from kb.corpus.manifest import inside

    text_path = inside(corpus_dir, row["text_file"], "text_file")
    blocks_path = inside(corpus_dir, row["blocks_file"], "blocks_file")
    if not text_path.is_file() or not blocks_path.is_file():
        raise CorpusMissing(
            f"document files of {row['doc_id']} missing under {corpus_dir}; rerun the extraction"
        )
    text = text_path.read_text(encoding="utf-8")
    seen: Counter[str] = Counter()
    out: list[dict[str, Any]] = []
    with open(blocks_path, encoding="utf-8") as f:
        blocks = [json.loads(line) for line in f if line.strip()]
    for block, answer_question in zip(blocks, block_questions(text, blocks), strict=True):
        if block["kind"] in ("figure", "meta") or asks(block):
            continue  # a caption, an added transcript's header, a question: context, not evidence
        body = text[block["start"] : block["end"]]
        pieces = segment_text(
            body,
            max_chars=max_chars,
            kind=block["kind"],
            base_offset=block["start"],
            paragraphs=False,
            detect_speakers=False,
            speaker=block.get("speaker"),
        )
        for p in pieces:
            seen[p["text"]] += 1
            out.append(
                {
                    "id": passage_id(row["doc_id"], p["text"], seen[p["text"]]),
                    "doc_id": row["doc_id"],
                    "case": block.get("case") or row["case"],
                    **{k: row[k] for k in CASE_FIELDS},
                    "section": " > ".join(block["section_path"]),
                    "section_path": block["section_path"],
                    "page": _page_at(block["page_map"], p["start"] - block["start"]),
                    "page_end": _page_at(block["page_map"], p["end"] - 1 - block["start"]),
                    "kind": p["kind"],
                    "speaker": p["speaker"],
                    "question": answer_question,
                    "text": p["text"],
                    "start": p["start"],
                    "end": p["end"],
                    "sentences": p["sentences"],
                    "text_hash": hashlib.sha256(p["text"].encode("utf-8")).hexdigest(),
                    "chapter": row["chapter"],
                    "attribution": block.get("attribution", "section"),
                    "block": block["i"],
                    # an added transcript's turn: where it stands in the file (its citation)
                    "lines": block.get("source_lines") if block.get("attribution") == "added" else None,
                    "citation": row["citation"],
                }
            )
    return out


def run(corpus_dir: Path | None = None, data_dir: Path | None = None, progress: bool = False) -> list[dict]:
    """Segment every corpus document; write and return the passages (report order)."""
    settings = get_settings()
    corpus_dir = Path(corpus_dir) if corpus_dir else settings.corpus_dir
    data_dir = Path(data_dir) if data_dir else settings.data_dir
    rows = read_manifest(corpus_dir)
    if progress:
        from tqdm import tqdm

        rows_iter = tqdm(rows, desc="segment", unit="doc")
    else:
        rows_iter = rows
    passages: list[dict] = []
    for row in rows_iter:
        passages.extend(segment_document(row, corpus_dir))
    write_jsonl(data_dir / PASSAGES_FILE, passages)
    return passages


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus-dir", type=Path, default=None)
    ap.add_argument("--data-dir", type=Path, default=None)
    ap.add_argument("--progress", action="store_true")
    args = ap.parse_args(argv)
    passages = run(args.corpus_dir, args.data_dir, progress=args.progress)
    per_case = Counter(p["case"] for p in passages)
    chars = Counter()
    for p in passages:
        chars[p["case"]] += len(p["text"])
    for case, n in per_case.items():
        print(f"{case:<26} {n:>4} passages {chars[case]:>7} chars")
    print(f"{len(passages)} passages")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
