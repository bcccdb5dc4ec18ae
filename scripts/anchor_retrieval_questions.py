"""Anchor the written retrieval questions to their targets by content (one-off, re-runnable).

The writer's file names targets by id only ({target_id, source, question, lang}); passage ids
change with segmentation, so each report record gets the SHA-256 of its passage text and a
snippet, and each training record the sentence itself (see kb.embeddings.adapt_data).

    python scripts/anchor_retrieval_questions.py QUESTIONS PASSAGES SENTENCES OUT
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from kb.embeddings.adapt_data import text_hash


def rows(path: str) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


def main(questions: str, passages: str, sentences: str, out: str) -> None:
    by_id = {p["id"]: p["text"] for p in rows(passages)}
    sent = {s["id"]: s["text"] for s in rows(sentences)}
    written, missing = [], 0
    for q in rows(questions):
        if q.get("skip") or not q.get("question"):  # the writer found nothing to ask about
            continue
        rec = {k: q[k] for k in ("target_id", "source", "question", "lang")}
        if q["source"] == "report" and q["target_id"] in by_id:
            text = by_id[q["target_id"]]
            middle = max(0, len(text) // 2 - 30)
            rec |= {"passage_sha256": text_hash(text), "snippet": text[middle : middle + 60]}
        elif q["source"] == "training" and q["target_id"] in sent:
            rec["text"] = sent[q["target_id"]]
        else:
            missing += 1
            continue
        written.append(rec)
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", encoding="utf-8") as fh:
        fh.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in written)
    print(f"{len(written)} questions written to {out}; {missing} with an unknown target left out")


if __name__ == "__main__":
    main(*sys.argv[1:5])
