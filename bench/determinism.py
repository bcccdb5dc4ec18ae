"""Does search rank the same in two fresh processes? (docs/bench/determinism.md)

Runs the dev questions of the blind report set (`split == "dev"`; the test half is dropped before
anything runs) in two fresh Python processes with different hash seeds against one store, and
compares every ranking the fusion received (BM25, each encoder's passage and best-sentence
ranking, the intent and named-case lists) and the fused top 10 with full-precision scores. Prints
how many questions differ and, per question, the first list and position that differs.

    KB_CODER_TUNE_EPOCHS=0 python -m bench.determinism --data-dir STORE
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from bench.common import ROOT

CHILD = """
import json, sys
from kb.query import retrieval as R
from kb.store.kbase import get_kb

kb = get_kb(None)
calls = []
plain = R.rrf
def spy(rankings, k=R.RRF_K):
    calls.append([[w, list(ids)] for w, ids in rankings])
    return plain(rankings, k)
R.rrf = spy
out = {}
for line in open(sys.argv[1], encoding="utf-8"):
    q = json.loads(line)
    if q.get("split") != "dev":
        continue
    calls.clear()
    hits = R.ranked_ids(kb, q["query"], 10)
    out[q["id"]] = {"top10": [[pid, repr(s)] for pid, s in hits], "lists": calls[-1] if calls else []}
print(json.dumps(out, ensure_ascii=False))
"""


def run(data_dir: Path, queries: Path, seed: str) -> dict:
    env = {**os.environ, "KB_DATA_DIR": str(data_dir), "PYTHONHASHSEED": seed, "PYTHONPATH": str(ROOT)}
    env.setdefault("KB_CODER_TUNE_EPOCHS", "0")
    cmd = [sys.executable, "-c", CHILD, str(queries)]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def first_difference(a: list, b: list) -> str:
    for i, ((wa, la), (_, lb)) in enumerate(zip(a, b, strict=False)):
        if la != lb:
            pos = next(
                (j for j, (x, y) in enumerate(zip(la, lb, strict=False)) if x != y), min(len(la), len(lb))
            )
            return f"list {i} (weight {wa}) at position {pos + 1}"
    return "only in the fused scores" if len(a) == len(b) else "number of lists"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", type=Path, required=True)
    ap.add_argument("--queries", type=Path, default=ROOT / "eval" / "blind" / "report_queries.jsonl")
    args = ap.parse_args()
    a, b = run(args.data_dir, args.queries, "1"), run(args.data_dir, args.queries, "2")
    differ = [q for q in a if a[q] != b.get(q)]
    print(f"{len(differ)} of {len(a)} dev questions rank differently in two fresh processes")
    for q in differ:
        top = "top 10 differs" if a[q]["top10"] != b[q]["top10"] else "top 10 equal"
        print(f"- {q}: {top}; first difference: {first_difference(a[q]['lists'], b[q]['lists'])}")


if __name__ == "__main__":
    main()
