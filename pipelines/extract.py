"""Extraction stage: report text → corpus documents, block files, footnotes and manifest.

`run()` reads the report (settings.source_path unless given), parses chapters 4–6
(`pipelines.report.parse`), groups the blocks into one document per case section, attributes
chapter-6 interview results to the company they name, and writes the whole corpus into a
temporary directory first, then swaps it into `corpus/` (nothing half-written is left).
Format: corpus/README.md.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from kb.corpus.cases import ADDED_PREFIX, CASES, UNATTRIBUTED
from kb.errors import SourceEmpty, SourceLayoutError, SourceNotFound, SourceNotUtf8
from kb.records import MANIFEST_FIELDS
from kb.settings import get_settings
from kb.text.textclean import nfc
from pipelines.report.attribution import attribute_blocks
from pipelines.report.parse import CHAPTERS, Block, parse_report

__all__ = ["run", "read_source", "DOCS", "MANIFEST_FIELDS", "CITATION_BASE"]

CITATION_BASE = (
    "이경은·박재희·유란희 (2022). 지방자치단체 플랫폼 정부(Platform Government)의 효과적인 운영방안 연구. "
    "한국지방행정연구원 연구보고서 2022-01. ISBN 978-89-7865-512-5"
)
# doc_id -> (case id, title, part). Documents are listed in report order.
DOCS: dict[str, tuple[str, str, str]] = {
    "domestic_overview": ("domestic_overview", "국내 사례 분석 개요 (사례 선정·인터뷰 내용)", "overview"),
    "gyeonggi_bis": ("gyeonggi_bis", "경기도 「버스정보시스템」 사례", "case"),
    "eunpyeong_forest": ("eunpyeong_forest", "서울시 은평구 「참여의 큰 숲」 사례", "case"),
    "gyeonggi_delivery": ("gyeonggi_delivery", "경기도 「배달특급」·「공정구매 플랫폼」 사례", "case"),
    "domestic_synthesis": ("domestic_synthesis", "국내 사례 소결", "synthesis"),
    "international_overview": (
        "international_overview",
        "해외 사례 분석 개요 (분석 목적·조사 내용)",
        "overview",
    ),
    "singapore_smart_nation": ("singapore_smart_nation", "싱가포르 「Smart Nation」 사례", "case"),
    "london_talk_london": ("london_talk_london", "영국 런던 「London Talk」 사례", "case"),
    "amsterdam_smart_city": (
        "amsterdam_smart_city",
        "네덜란드 암스테르담 「Amsterdam Smart City Platform」 사례",
        "case",
    ),
    "international_synthesis": ("international_synthesis", "해외 사례 소결", "synthesis"),
    "private_overview": (  # the researchers' introduction: no firm's words, as the other overviews
        "private_overview",
        "민간 플랫폼 기업 심층 인터뷰 개요 (목적·방법·인터뷰 구성)",
        "overview",
    ),
    "daangn_intro": ("daangn", "당근마켓 기업 소개", "company_intro"),
    "gangnam_unni_intro": ("gangnam_unni", "강남언니 기업 소개", "company_intro"),
    "baemin_intro": ("baemin", "배달의민족 기업 소개", "company_intro"),
    "daangn_interview": ("daangn", "당근마켓 심층 인터뷰 결과", "interview"),
    "gangnam_unni_interview": ("gangnam_unni", "강남언니 심층 인터뷰 결과", "interview"),
    "baemin_interview": ("baemin", "배달의민족 심층 인터뷰 결과", "interview"),
    "private_interview_unattributed": (UNATTRIBUTED, "심층 인터뷰 결과 (특정 기업 미귀속)", "interview"),
    "private_synthesis": ("private_synthesis", "민간 사례 소결", "synthesis"),
}
# (chapter, start of the 절 heading) -> doc id ("interview": split by company in attribution).
SECTION_DOCS: dict[tuple[int, str], str | None] = {
    (4, "제1절"): "domestic_overview",
    (4, "제2절"): "gyeonggi_bis",
    (4, "제3절"): "eunpyeong_forest",
    (4, "제4절"): "gyeonggi_delivery",
    (4, "제5절"): "domestic_synthesis",
    (5, "제1절"): "international_overview",
    (5, "제2절"): "singapore_smart_nation",
    (5, "제3절"): "london_talk_london",
    (5, "제4절"): "amsterdam_smart_city",
    (5, "제5절"): "international_synthesis",
    (6, "제1절"): "private_overview",
    (6, "제2절"): "interview",
    (6, "제3절"): "private_synthesis",
}
INTRO_DOCS = {"1)": "daangn_intro", "2)": "gangnam_unni_intro", "3)": "baemin_intro"}
INTERVIEW_DOCS = {
    "daangn": "daangn_interview",
    "gangnam_unni": "gangnam_unni_interview",
    "baemin": "baemin_interview",
    UNATTRIBUTED: "private_interview_unattributed",
}


def read_source(path: Path) -> str:
    """The report text, NFC-normalised; a one-line KbError for missing, empty or non-UTF-8 files."""
    path = Path(path)
    if not path.is_file():
        raise SourceNotFound(f"source text not found: {path} — pass --source PATH or set KB_SOURCE")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SourceNotFound(f"cannot read source text {path}: {exc.strerror}; check permissions") from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SourceNotUtf8(
            f"source text {path} is not UTF-8 (byte {exc.start}); convert it, e.g. iconv -f cp949 -t utf-8"
        ) from exc
    if not text.strip():
        raise SourceEmpty(f"source text {path} is empty; pass the report text file")
    return nfc(text.replace("\r\n", "\n").replace("\r", "\n"))


def _doc_of(block: Block) -> str | None:
    sec = block.path[0].split()[0] if block.path and block.path[0] else ""
    doc = SECTION_DOCS.get((block.chapter, sec))
    if doc == "private_overview" and len(block.path) >= 3 and block.path[1].startswith("3."):
        doc = INTRO_DOCS.get(block.path[2].split()[0], doc)
    return doc


def _records(doc_id: str, blocks: list[Block]) -> tuple[str, list[dict[str, Any]]]:
    case_id, _, part = DOCS[doc_id]
    parts, records, pos = [], [], 0
    for i, b in enumerate(blocks):
        if parts:
            pos += 2
        kind = "summary" if part == "synthesis" and b.kind == "narrative" else b.kind
        records.append(
            {
                "i": i,
                "kind": kind,
                "start": pos,
                "end": pos + len(b.text),
                "section_path": [CHAPTERS[b.chapter], *[p for p in b.path if p]],
                "page": b.page_map[0][1] if b.page_map else None,
                "page_end": b.page_map[-1][1] if b.page_map else None,
                "page_map": [[off, pg] for off, pg in b.page_map],
                "case": getattr(b, "case", None) or case_id,
                "attribution": getattr(b, "attribution", "section"),
                "para": getattr(b, "para", None),
                "source_lines": [b.lines[0] + 1, b.lines[-1] + 1],
            }
        )
        parts.append(b.text)
        pos += len(b.text)
    return "\n\n".join(parts), records


def _manifest_row(doc_id: str, recs: list[dict[str, Any]], text: str) -> dict[str, Any]:
    case_id, title, part = DOCS[doc_id]
    case = CASES[case_id]
    chapter = recs[0]["section_path"][0]
    sections = list(
        dict.fromkeys(r["section_path"][1].split()[0] for r in recs if len(r["section_path"]) > 1)
    )
    pages = [p for r in recs for p in (r["page"], r["page_end"]) if p is not None]
    p0, p1 = (min(pages), max(pages)) if pages else ("", "")
    ch_no = chapter.split()[0]
    loc = f"{ch_no} {'·'.join(sections)}".strip()
    pp = f"p. {p0}" if p0 == p1 else f"pp. {p0}–{p1}"
    return {
        "doc_id": doc_id,
        "case": case_id,
        "case_name": case.name_ko,
        "case_name_en": case.name_en,
        "group": case.group,
        "platform_type": case.platform_type,
        "organization": case.organization,
        "chapter": chapter,
        "section": " · ".join(
            dict.fromkeys(r["section_path"][1] for r in recs if len(r["section_path"]) > 1)
        ),
        "page_start": p0,
        "page_end": p1,
        "citation": f"{CITATION_BASE}, {loc}, {pp}",
        "title": title,
        "part": part,
        "text_file": f"docs/{doc_id}.txt",
        "blocks_file": f"docs/{doc_id}.blocks.jsonl",
        "chars": len(text),
        "blocks": len(recs),
        "pages_estimated": "true",
    }


def build_corpus(text: str) -> tuple[dict[str, tuple[str, list[dict]]], list[dict], list[dict]]:
    """Documents (doc_id -> (clean text, block records)), manifest rows and footnote records."""
    parsed = parse_report(text)
    grouped: dict[str, list[Block]] = {d: [] for d in DOCS}
    interview = []
    for b in parsed.blocks:
        doc = _doc_of(b)
        if doc == "interview":
            interview.append(b)
        elif doc:
            grouped[doc].append(b)
    for b in attribute_blocks(interview):
        grouped[INTERVIEW_DOCS[b.case]].append(b)
    docs, rows = {}, []
    for doc_id, blocks in grouped.items():
        if not blocks:
            raise SourceLayoutError(
                f"no text found for document {doc_id}; is this the KRILA 2022-01 report text?"
            )
        doc_text, recs = _records(doc_id, blocks)
        docs[doc_id] = (doc_text, recs)
        rows.append(_manifest_row(doc_id, recs, doc_text))
    footnotes = _footnotes(parsed, grouped, docs)
    return docs, rows, footnotes


def _footnotes(parsed, grouped, docs) -> list[dict]:
    out = []
    where: dict[int, tuple[str, int]] = {}
    for doc_id, blocks in grouped.items():
        for b, rec in zip(blocks, docs[doc_id][1], strict=True):
            for num, off in b.markers:
                where[num] = (doc_id, rec["start"] + off)
    for fn in parsed.footnotes:
        doc_id, anchor = where.get(fn.number, (None, None))
        if doc_id is None:
            continue  # footnote of a section outside the corpus
        out.append(
            {
                "doc_id": doc_id,
                "number": fn.number,
                "page": fn.page,
                "anchor": anchor,
                "text": fn.text,
                "source_line": fn.line + 1,
            }
        )
    return out


def _write_tree(root: Path, docs, rows, footnotes) -> None:
    (root / "docs").mkdir(parents=True)
    for doc_id, (text, recs) in docs.items():
        (root / "docs" / f"{doc_id}.txt").write_text(text + "\n", encoding="utf-8")
        with open(root / "docs" / f"{doc_id}.blocks.jsonl", "w", encoding="utf-8") as f:
            for r in recs:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
    with open(root / "footnotes.jsonl", "w", encoding="utf-8") as f:
        for r in footnotes:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    with open(root / "manifest.csv", "w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=MANIFEST_FIELDS)
        w.writeheader()
        w.writerows(rows)


def _carry_over_added(corpus_dir: Path, tmp: Path) -> None:
    """Keep documents that `kb add` put in the corpus: re-extracting the report must not drop them."""
    manifest = corpus_dir / "manifest.csv"
    if not manifest.exists():
        return
    with manifest.open(encoding="utf-8", newline="") as fh:
        added = [row for row in csv.DictReader(fh) if row["doc_id"].startswith(ADDED_PREFIX)]
    if not added:
        return
    for row in added:
        for path in (corpus_dir / "docs").glob(f"{row['doc_id']}.*"):
            shutil.copy2(path, tmp / "docs" / path.name)
    with (tmp / "manifest.csv").open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        fields, rows = reader.fieldnames or [], list(reader)
    with (tmp / "manifest.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows + added)


def _swap_in(tmp: Path, corpus_dir: Path) -> None:
    """Move the new docs/, footnotes and manifest into corpus_dir; other files stay untouched."""
    backup = Path(tempfile.mkdtemp(prefix=".extract-old-", dir=corpus_dir))
    moved: list[str] = []
    try:
        for name in ("docs", "footnotes.jsonl", "manifest.csv"):
            if (corpus_dir / name).exists():
                os.replace(corpus_dir / name, backup / name)
                moved.append(name)
            os.replace(tmp / name, corpus_dir / name)
    except OSError:
        for name in moved:  # put the old corpus back
            if (corpus_dir / name).exists():
                shutil.rmtree(corpus_dir / name) if (corpus_dir / name).is_dir() else (
                    corpus_dir / name
                ).unlink()
            os.replace(backup / name, corpus_dir / name)
        raise
    finally:
        shutil.rmtree(backup, ignore_errors=True)


def run(source: Path | None = None, corpus_dir: Path | None = None) -> list[dict]:
    """Extract the corpus from the report text; return the manifest rows (one per document)."""
    settings = get_settings()
    source = Path(source) if source else settings.source_path
    corpus_dir = Path(corpus_dir) if corpus_dir else settings.corpus_dir
    text = read_source(source)
    docs, rows, footnotes = build_corpus(text)
    corpus_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".extract-new-", dir=corpus_dir))
    try:
        _write_tree(tmp, docs, rows, footnotes)
        _carry_over_added(corpus_dir, tmp)
        _swap_in(tmp, corpus_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", type=Path, default=None, help="report text (default: KB_SOURCE)")
    ap.add_argument(
        "--corpus-dir", type=Path, default=None, help="output corpus directory (default: KB_CORPUS_DIR)"
    )
    args = ap.parse_args(argv)
    rows = run(args.source, args.corpus_dir)
    for r in rows:
        print(
            f"{r['doc_id']:<32} {r['case']:<24} {r['chars']:>6} chars  pp. {r['page_start']}–{r['page_end']}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
