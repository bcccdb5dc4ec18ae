"""How long the review page's "retrain now" takes: `kb.api.retrain` on a built knowledge base.

In a temp copy of a built data dir (`KB_CODER_TUNE_EPOCHS=0 kb build --fast` into KB_DATA_DIR),
a coder reviews the first passages of the queue (accepts each one's top code), presses "retrain
now", reviews a few more and presses it again: the first retrain after a build, then a later
one. Each time is the wall time of `kb.api.retrain` (quick retrain of the fast models on gold +
written sentences + decisions, re-coding every passage, refreshing the index metadata) and the
CPU time of this process (all its threads; a loaded machine distorts it less than the wall
time), with how many training texts it had to parse (the rest came from the coder's parse cache).

    KB_CODER_TUNE_EPOCHS=0 python bench/retrain_speed.py --data-dir DIR [--reviews 10,5]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kb import api  # noqa: E402
from kb.settings import get_settings  # noqa: E402


def review(settings, n: int) -> int:
    """Accept the top code of the next `n` undecided passages of the queue; how many were decided."""
    from kb.review.queue import auto_by_id
    from kb.store.kbase import get_kb

    auto, done = auto_by_id(get_kb(settings)), 0
    for item in api.review_queue(pending_only=True, settings=settings):
        if done >= n:
            break
        codes = (auto.get(item.passage_id) or {}).get("codes") or []
        if codes:
            api.decide("bench", item.passage_id, codes[0]["category"], "accept", settings=settings)
            done += 1
    return done


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", type=Path, required=True, help="a built knowledge base (copied)")
    ap.add_argument("--reviews", default="10,5", help="decisions before each retrain")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="kb-retrain-") as tmp:
        data = Path(tmp) / "data"
        shutil.copytree(args.data_dir, data, symlinks=True)
        settings = get_settings(data_dir=data)
        for n in (int(x) for x in args.reviews.split(",")):
            decided = review(settings, n)
            t0, c0 = time.perf_counter(), time.process_time()
            out = api.retrain(settings)
            cpu = time.process_time() - c0  # every thread of this process: less sensitive to load
            rows.append(
                {
                    "decisions_added": decided,
                    "seconds": round(time.perf_counter() - t0, 1),
                    "cpu_seconds": round(cpu, 1),
                    "train_seconds": out.get("seconds"),
                    "parsed": out.get("parsed"),
                    "recoded": (out.get("code") or {}).get("coded"),
                }
            )
            print(json.dumps(rows[-1]), flush=True)
    load = os.getloadavg()[0]
    print(f"load average {load:.1f} on {os.cpu_count()} cores at the end")


if __name__ == "__main__":
    main()
