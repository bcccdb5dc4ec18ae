"""How often search warns that a question is not about the corpus, on questions that are not
(eval/off_topic, written blind) and on the blind evaluation questions, which are.

The warning (`kb.query.vocabulary.corpus_words` empty: none of the question's search words occurs in
the corpus) is a rule, not a threshold: nothing here is tuned.

    python -m bench.off_topic [--data-dir DIR]   # a built store; default: the settings' data dir
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

from bench.common import ROOT, md_table, write_fragment
from kb.query.vocabulary import corpus_words
from kb.settings import get_settings
from kb.store.kbase import get_kb, is_built

SETS = {
    "off-topic (eval/off_topic)": ROOT / "eval" / "off_topic" / "queries.jsonl",
    "blind report questions": ROOT / "eval" / "blind" / "report_queries.jsonl",
    "blind transcript questions": ROOT / "eval" / "blind" / "transcript_queries.jsonl",
}


def read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.open(encoding="utf-8") if line.strip()]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", type=Path, default=None)
    args = ap.parse_args(argv)
    settings = get_settings(data_dir=args.data_dir) if args.data_dir else get_settings()
    if not is_built(settings):
        raise SystemExit(f"no built store in {settings.data_dir}: run `kb build` or pass --data-dir")
    kb = get_kb(settings)
    rows, missed = [], []
    for name, path in SETS.items():
        off_topic = path.parent.name == "off_topic"
        total, warned = Counter(), Counter()
        for q in read(path):
            group = f"{name}: {q['lang']}" + (f", {q['kind']}" if off_topic else "")
            total[group] += 1
            if not corpus_words(kb, q["query"]):
                warned[group] += 1
            elif off_topic:
                missed.append(q)
        rows += [{"set": g, "questions": n, "warned": warned[g]} for g, n in sorted(total.items())]
    for r in rows:
        r["share warned"] = f"{r['warned'] / r['questions']:.0%}"
    where = settings.data_dir.resolve()
    where = f"`{where.relative_to(ROOT)}`" if where.is_relative_to(ROOT) else "the store given by --data-dir"
    body = (
        f"Store: {len(kb.passages):,} passages in {where}. The search page, `kb search` and "
        "`kb intent` warn when none of a question's search words (Korean lemmas; for an English question "
        "its glossary lemmas and its own words but stop words) occurs in the corpus, and `kb intent` then "
        "reads no factor into it. eval/off_topic was written blind (eval/off_topic/README.md); the blind "
        "evaluation questions show how often the warning would be wrong.\n\n"
        + md_table(rows, ["set", "questions", "warned", "share warned"])
        + "\n\nOff-topic questions that share a word with the corpus (no warning): "
        + ("; ".join(f"{q['query']} ({', '.join(corpus_words(kb, q['query']))})" for q in missed) or "none")
        + ".\n"
    )
    command = "python -m bench.off_topic" + (" --data-dir DIR" if args.data_dir else "")
    write_fragment("off_topic", "Questions that are not about the corpus", command, body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
