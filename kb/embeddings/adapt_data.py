"""Question–passage pairs for adapting e5's query side, anchored to the passages of a build.

The pairs (every `*.jsonl` in `corpus/training/retrieval/`) were written for the purpose by
someone who never saw the evaluation sets. A record names its target by content, not only by id,
because passage ids change whenever segmentation does:

  {"target_id": "...", "source": "report", "question": "...", "lang": "ko",
   "passage_sha256": "<hex of the passage text>", "snippet": "<40+ characters of it>"}
  {"target_id": "w1-185", "source": "training", "question": "...", "lang": "ko", "text": "<the sentence>"}
  {"target_id": "sp2-w1-001", "source": "spoken", "question": "...", "lang": "en",
   "interviewer": "<the interviewer's question>", "text": "<the spoken answer>"}

A `spoken` target is an interview answer embedded the way the store embeds one (its interviewer
question above the answer, `kb.store.vectorstore.embed_text`), so the queries also learn to land
on answers, not only on report prose. Several records with the same question are one question
with several answers (a cross-case question); training counts the others as not-negatives.

A report pair finds its passage by the text hash, else by a snippet that occurs in exactly one
passage; a pair whose passage no longer exists is skipped (and counted), never guessed.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kb.errors import TrainingDataError

RETRIEVAL = Path("training") / "retrieval"  # relative to the corpus dir; every *.jsonl in it
QUESTIONS = RETRIEVAL / "questions.jsonl"  # the first file (report passages and written sentences)
SOURCES = ("report", "training", "spoken")
MAX_QUESTION_CHARS = 500


@dataclass(frozen=True)
class Pair:
    question: str
    target: str  # key of the target in `Pairs.targets`
    lang: str


@dataclass
class Pairs:
    """Resolved pairs and the texts they point at (target key → text as the store embeds it)."""

    pairs: list[Pair] = field(default_factory=list)
    targets: dict[str, str] = field(default_factory=dict)
    sentences: dict[str, list[str]] = field(default_factory=dict)  # target key → its sentence texts
    skipped: int = 0

    def stamp(self) -> str:
        """SHA-256 of everything training reads, so a rebuild with the same data reuses the model."""
        payload = json.dumps(
            [
                [(p.question, p.target) for p in self.pairs],
                sorted(self.targets.items()),
                sorted(self.sentences.items()),
            ],
            ensure_ascii=False,
        )
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def questions_path(corpus_dir: Path) -> Path:
    return Path(corpus_dir) / QUESTIONS


def read_questions(path: Path) -> list[dict[str, Any]]:
    """The records of a questions file, checked field by field (the file may come from anyone)."""
    rows = []
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError as exc:
                raise TrainingDataError(f"{path}:{n}: not JSON ({exc})") from None
            ok = isinstance(row, dict) and all(
                isinstance(row.get(k), str) and row.get(k) for k in ("target_id", "source", "question")
            )
            if not ok or row["source"] not in SOURCES:
                raise TrainingDataError(f"{path}:{n}: needs target_id, question, source {'|'.join(SOURCES)}")
            if len(row["question"]) > MAX_QUESTION_CHARS:
                raise TrainingDataError(f"{path}:{n}: question longer than {MAX_QUESTION_CHARS} characters")
            rows.append(row)
    return rows


def resolve(rows: list[dict[str, Any]], passages: list[dict[str, Any]]) -> Pairs:
    """Pairs whose target exists in `passages` (report) or carries its own text (training)."""
    from kb.store.sentence_index import sentences_of
    from kb.store.vectorstore import embed_text

    by_hash = {text_hash(p["text"]): p for p in passages}
    out = Pairs()
    for row in rows:
        if row["source"] == "spoken":
            text, asked = row.get("text"), row.get("interviewer")
            if not isinstance(text, str) or not text.strip():
                out.skipped += 1
                continue
            p = {"text": text, "question": asked if isinstance(asked, str) and asked.strip() else None}
            key = "s:" + text_hash(embed_text(p))[:16]
            out.targets[key] = embed_text(p)
            out.sentences[key] = [text]
        elif row["source"] == "training":
            text = row.get("text")
            if not isinstance(text, str) or not text.strip():
                out.skipped += 1
                continue
            key = "t:" + text_hash(text)[:16]
            out.targets[key] = text
            out.sentences[key] = [text]
        else:
            p = by_hash.get(str(row.get("passage_sha256", "")))
            if p is None and isinstance(row.get("snippet"), str) and len(row["snippet"]) >= 20:
                found = [q for q in passages if row["snippet"] in q["text"]]
                p = found[0] if len(found) == 1 else None
            if p is None:
                out.skipped += 1
                continue
            key = "p:" + p["id"]
            out.targets[key] = embed_text(p)
            out.sentences[key] = [s.text for s in sentences_of(p)] or [p["text"]]
        out.pairs.append(Pair(row["question"], key, str(row.get("lang", ""))))
    return out


def question_files(corpus_dir: Path) -> list[Path]:
    return sorted((Path(corpus_dir) / RETRIEVAL).glob("*.jsonl"))


def load_pairs(
    corpus_dir: Path, passages: list[dict[str, Any]], sources: tuple[str, ...] = SOURCES
) -> Pairs | None:
    """The resolved pairs of the corpus' question files (records of `sources`); None when none."""
    rows = [r for path in question_files(corpus_dir) for r in read_questions(path)]
    pairs = resolve([r for r in rows if r["source"] in sources], passages)
    return pairs if pairs.pairs else None
