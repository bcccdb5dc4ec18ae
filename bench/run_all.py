"""Rerun every benchmark and assemble docs/benchmarks.md from the docs/bench/*.md fragments.

Each bench runs in its own interpreter (clean timings and memory numbers); one failing bench
is reported and the others still run. The build bench runs first and leaves its store (the real
corpus, fully built) in a temp dir for the retrieval and app benches, so one run embeds the corpus
for measuring build speed and reuses it where embedding is not what is measured. A full run's time
is kept in docs/bench/run_all.json and shown in docs/benchmarks.md. The 100 000-passage scale run
takes long, so it is opt-in.

    python -m bench.run_all                 # everything, scale at 1k and 10k   (make bench)
    python -m bench.run_all --scale         # plus 100 000 passages            (make bench-scale)
    python -m bench.run_all --only build,app
    python -m bench.run_all --assemble      # only rebuild docs/benchmarks.md from the fragments
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import FRAGMENTS, ROOT, machine

OUT = ROOT / "docs" / "benchmarks.md"
TIMING = FRAGMENTS / "run_all.json"
# Sections of docs/benchmarks.md; coding_variants is written by the full coding eval, not `make bench`.
ORDER = (
    "retrieval", "off_topic", "contextual_dev", "retrieval_intent", "retrieval_rerank", "determinism",
    "adaptation", "reranker_dev", "search_dev", "gloss_dev", "ltr_dev", "ltr2_dev", "coding",
    "polarity_balance_dev", "polstack_dev", "polrules_dev", "catstack_dev", "prose_dev",
    "polarity_data_dev", "fastpol_dev", "fastcomb_dev", "fastcat_dev", "devtrain_dev",
    "coding_variants", "learning_curve", "learn_dev", "directions", "table7", "human_agreement", "build",
    "segment", "first_search", "scale", "app", "add",
)  # fmt: skip
# build first: its store serves the others
RUN_ORDER = (
    "build", "segment", "coding", "human_agreement", "retrieval", "off_topic", "directions", "scale", "app",
    "add",
)  # fmt: skip
USES_STORE = ("retrieval", "off_topic", "directions", "app", "add")
TITLES = {
    "coding": "Auto-coding quality",
    "coding_variants": "Auto-coding: what each part contributes",
    "learning_curve": "Learning from coders (new transcripts)",
    "table7": "Agreement with the report's synthesis (표 7-1, 소결)",
    "directions": "Answers with both directions: counted under each (held-out transcripts)",
    "human_agreement": "Agreement between human coders",
    "retrieval": "Retrieval quality",
    "off_topic": "Questions that are not about the corpus",
    "build": "Build speed",
    "segment": "Segmentation speed on long texts",
    "scale": "Scale",
    "app": "App start-up",
    "add": "Adding a transcript in the app",
    "adaptation": "Adapting e5 to the domain",
    "retrieval_intent": "Code-aware search (chosen on the dev halves)",
    "retrieval_rerank": "Reranking the top of the list (chosen on the dev halves)",
    "first_search": "First search on a fresh install",
    "determinism": "Reproducible search across processes",
    "reranker_dev": "A cross-encoder reranker (dev halves; not merged)",
    "search_dev": "Search variants of session 12 (dev halves; not shipped)",
    "gloss_dev": "An English→Korean glossary for English questions' BM25 (dev halves)",
    "ltr_dev": "A learned reranker of the fused top 20 (dev halves, cross-validated)",
    "ltr2_dev": "The learned reranker refit with training questions (dev halves, cross-validated)",
    "contextual_dev": "Contextual passage and sentence vectors (dev halves)",
    "polarity_balance_dev": "Interview polarity robust to the success:obstacle mix (dev transcripts)",
    "polrules_dev": "Spoken polarity rules of the fast coder (dev transcripts)",
    "polstack_dev": "A learned combiner for interview answers' polarity (dev transcripts)",
    "catstack_dev": "A learned combiner for interview answers' categories (dev transcripts)",
    "devtrain_dev": "The coder trains on the development transcripts (dev transcripts)",
}


def commands(scale: bool) -> dict[str, list[str]]:
    """The command per fragment (arguments after the Python interpreter)."""
    sizes = "1000,10000,100000" if scale else "1000,10000"
    cmds = {
        "coding": ["bench/eval_coding.py", "--quick", "--out", "docs/bench/coding.md"],
        "human_agreement": ["-m", "bench.human_agreement"],
        "retrieval": ["-m", "bench.eval_retrieval", "--transcripts"],
        "off_topic": ["-m", "bench.off_topic"],
        "directions": ["-m", "bench.eval_directions"],
        "build": ["-m", "bench.build_speed"],
        "segment": ["-m", "bench.segment_speed"],
        "scale": ["-m", "bench.scale", "--sizes", sizes, "--queries", "20"],
        "app": ["-m", "bench.app_speed"],
        "add": ["-m", "bench.add_speed"],
    }
    if not (ROOT / "bench" / "eval_coding.py").exists():
        del cmds["coding"]
    return cmds


def _relink(text: str) -> str:
    """Fragment-relative links (docs/bench/x) made relative to docs/benchmarks.md."""

    def fix(m: re.Match[str]) -> str:
        target = m.group(2)
        if re.match(r"[a-z]+:|/|#", target):
            return m.group(0)
        target = target[3:] if target.startswith("../") else f"bench/{target}"
        return f"{m.group(1)}({target})"

    return re.sub(r"(!?\[[^\]]*\])\(([^)\s]+)\)", fix, text)


def _timing_note() -> str:
    """How long the last whole run took, per bench (from docs/bench/run_all.json)."""
    if not TIMING.exists():
        return ""
    t = json.loads(TIMING.read_text(encoding="utf-8"))
    per = ", ".join(f"{n} {s:.0f} s" for n, s in t["benches"].items())
    failed = f"; failed: {', '.join(t['failed'])}" if t.get("failed") else ""
    return (
        f" The last `{t['command']}` ({t['run']}) took {t['seconds'] / 60:.1f} min: {per}{failed}; "
        f"load average {t['load_avg_end']:.1f} at the end."
    )


def assemble(cmds: dict[str, list[str]]) -> Path:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    parts = [
        "# Benchmarks",
        "",
        f"Assembled {stamp} by `python -m bench.run_all` from the fragments in `docs/bench/` (each section "
        "says when and with which command it was last run). Do not edit this file: rerun the benches.",
        "",
        f"Machine: {machine()}; load average now {os.getloadavg()[0]:.1f}. The numbers below come from a "
        "2-core machine shared with other jobs, so wall-clock times are noisy.",
        "",
        "Rerun: `make bench` (= `python -m bench.run_all`, all benches, scale at 1 000 and 10 000 passages) "
        "or `make bench-scale` (adds 100 000 passages); one bench: `python -m bench.run_all --only build`."
        + _timing_note(),
    ]
    for name in ORDER:
        path = FRAGMENTS / f"{name}.md"
        if path.exists():
            parts += ["", _relink(path.read_text(encoding="utf-8").strip())]
        else:
            cmd = " ".join(["python", *cmds.get(name, ["?"])])
            parts += ["", f"## {TITLES[name]}", "", f"Not run yet: `{cmd}`."]
    OUT.write_text("\n".join(parts) + "\n", encoding="utf-8")
    return OUT


def run(names: list[str], cmds: dict[str, list[str]], store: Path) -> tuple[dict[str, float], list[str]]:
    """Run the benches in RUN_ORDER; retrieval and app get the build bench's store when it exists."""
    from kb.settings import get_settings
    from kb.store.kbase import is_built

    secs: dict[str, float] = {}
    failed = []
    for name in [n for n in RUN_ORDER if n in names]:
        cmd = list(cmds[name])
        if name == "build":
            cmd += ["--keep-store", str(store)]
        elif name in USES_STORE and is_built(get_settings(data_dir=store)):
            cmd += ["--data-dir", str(store)]
        print(f"\n=== {name}: python {' '.join(cmd)}", flush=True)
        t0 = time.perf_counter()
        done = subprocess.run([sys.executable, *cmd], cwd=ROOT, check=False)
        secs[name] = round(time.perf_counter() - t0, 1)
        if done.returncode != 0:
            failed.append(name)
    return secs, failed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", action="store_true", help="also run the 100 000-passage scale bench")
    ap.add_argument("--only", default="", help=f"comma-separated subset of {','.join(ORDER)}")
    ap.add_argument("--assemble", action="store_true", help="only assemble docs/benchmarks.md")
    args = ap.parse_args()
    cmds = commands(args.scale)
    wanted = [n for n in ORDER if n in cmds and (not args.only or n in args.only.split(","))]
    secs: dict[str, float] = {}
    failed: list[str] = []
    if not args.assemble:
        tmp = Path(tempfile.mkdtemp(prefix="kb_bench_run_"))
        t0 = time.perf_counter()
        try:
            secs, failed = run(wanted, cmds, tmp / "data")
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        total = time.perf_counter() - t0
        if not args.only:  # a whole `make bench` / `make bench-scale`: keep its time for the docs
            record = {
                "command": "make bench-scale" if args.scale else "make bench",
                "seconds": round(total),
                "benches": secs,
                "failed": failed,
                "load_avg_end": round(os.getloadavg()[0], 1),
                "run": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            }
            TIMING.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    path = assemble(cmds)
    summary = [f"{n:<16} {'FAILED' if n in failed else 'ok':<7} {s:7.0f} s" for n, s in secs.items()]
    print("\n" + "\n".join(summary) + f"\nwrote {path.relative_to(ROOT)}")
    if failed:
        sys.exit(f"failed: {', '.join(failed)} (their previous fragments, if any, were kept)")


if __name__ == "__main__":
    main()
