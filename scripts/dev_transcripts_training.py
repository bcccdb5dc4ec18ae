"""Write the adjudicated development transcripts as coder training rows (`spoken_transcripts.jsonl`).

The development transcripts (eval/dev_transcripts/: dev d1–d4, dev3 e1–e3, dev4 f1–f3) are spoken
interviews written and coded blind, the most test-like material kb has. Trained on, they must stay
usable for development choices only by leave-one-transcript-out, so every row keeps its
`transcript`, `case` and `group` (kb.coding.data.without_transcripts drops a held-out one).

Each gold sentence becomes one row in the spoken-answer format of corpus/training/ (`text`,
`codes`, `style`, `kind`, `question`) plus its neighbours `prev`/`next`. A sentence the
adjudicated gold leaves uncoded is a `no_code` row (`codes: []`): a known negative of every
category, like the fillers and backchannels of spoken_answers.jsonl. Texts are unique in the
training folder, so a text that occurs twice is kept once when its codes agree and dropped when they
differ (a bare "있었죠." is coded only through its context, which a training row does not carry).
A coded sentence that says little on its own (kb.coding.context.is_thin: it opens with an anaphor
or has fewer than four content words, e.g. "그게 제일 골치였죠") is left out: its codes come from its
question or neighbours, which the coder reads at coding time (kb.coding.context), so as a bare
training text it would teach the coder to code thin sentences without their context.
A text found in any other evaluation text (the test sets, a later held-back dev set; the rule of
scripts/check_training_leaks.py) is dropped, and such an interviewer question is left out; only
counts are printed.

    python scripts/dev_transcripts_training.py [--out corpus/training/spoken_transcripts.jsonl]
        [--held-out dev5_gold.jsonl]   # a held-back set not yet copied into eval/
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from check_training_leaks import TRANSCRIPT_SOURCES, evaluation_texts, matcher, norm  # noqa: E402

SOURCES = [
    ROOT / "eval" / "dev_transcripts" / "dev_gold.jsonl",
    ROOT / "eval" / "dev_transcripts" / "dev3" / "dev3_gold.jsonl",
    ROOT / "eval" / "dev_transcripts" / "dev4" / "dev4_gold.jsonl",
]
OUT = ROOT / "corpus" / "training" / "spoken_transcripts.jsonl"
PREFIX = "dt-"


def training_row(row: dict) -> dict:
    """One gold sentence as a training row: codes as adjudicated, context kept as documentation."""
    codes = [{"category": c["category"], "polarity": c["polarity"]} for c in row["codes"]]
    return {
        "id": PREFIX + row["id"],
        "text": row["text"],
        "codes": codes,
        "style": "interview",
        "kind": "positive" if codes else "no_code",
        "question": row.get("question"),
        "prev": row.get("prev"),
        "next": row.get("next"),
        "transcript": row["transcript"],
        "case": row["case"],
        "group": row["group"],
    }


def convert(
    sources: list[Path],
    leaks: Callable[[str], bool] = lambda _: False,
    thin: Callable[[str], bool] = lambda _: False,
) -> tuple[list[dict], int, int, int]:
    """Training rows of every source sentence, in order, without repeated texts, texts that `leaks`
    finds elsewhere in eval/, or coded texts that are `thin` (see module doc); with the counts of
    leaked texts, leaked questions and thin coded texts."""
    rows = [
        training_row(json.loads(x)) for p in sources for x in p.read_text("utf-8").splitlines() if x.strip()
    ]
    n_rows = len(rows)
    rows = [r for r in rows if not leaks(r["text"])]
    n_questions = 0
    for r in rows:
        if r["question"] and leaks(r["question"]):
            r["question"], n_questions = None, n_questions + 1
    n_thin = len(rows)
    rows = [r for r in rows if not (r["codes"] and thin(r["text"]))]
    n_thin -= len(rows)
    codes_of: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        codes_of[r["text"]].add(json.dumps(sorted((c["category"], c["polarity"]) for c in r["codes"])))
    seen: set[str] = set()
    out = []
    for r in rows:
        if len(codes_of[r["text"]]) > 1 or r["text"] in seen:
            continue
        seen.add(r["text"])
        out.append(r)
    return out, n_rows - len(rows) - n_thin, n_questions, n_thin


def thin_text(text: str) -> bool:
    from kb.coding.context import is_thin_text
    from kb.text.nlp import content_lemmas, get_nlp

    return is_thin_text(text, content_lemmas(get_nlp()(text)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument(
        "--held-out", type=Path, action="append", default=[], help="a held-back set not yet in eval/ (JSONL)"
    )
    args = ap.parse_args()
    others = evaluation_texts(ROOT, TRANSCRIPT_SOURCES)
    for path in args.held_out:  # its sentences as the leak check will read them once it is in eval/
        others += [norm(json.loads(x)["text"]) for x in path.read_text("utf-8").splitlines() if x.strip()]
    rows, n_texts, n_questions, n_thin = convert(SOURCES, matcher(others), thin_text)
    with args.out.open("w", encoding="utf-8") as fh:
        fh.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    print(
        f"{len(rows)} rows ({sum(not r['codes'] for r in rows)} no_code) -> {args.out}; dropped as found "
        f"elsewhere in eval/: {n_texts} texts, {n_questions} questions; coded but thin: {n_thin}"
    )


if __name__ == "__main__":
    main()
