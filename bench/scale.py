"""Search and matrix latency at 1 000 / 10 000 / 100 000 passages (synthetic stores, bench/synthetic.py).

For each size a child process builds the store in a temp dir, then a fresh child opens it the way
the app does and measures warm, in-process latency of `kb.query.retrieval.search` (hybrid, with and
without group + factor filters) and `kb.query.crosscase.matrix` (no query, and with a query) over the
eval queries, plus that process's peak RSS. Where a 100k target is missed the scenario is rerun
under pyinstrument and the hot spots (file:function) are reported. Results accumulate in
docs/bench/scale_results.json, so a 1k/10k rerun keeps the last 100k row.

    python -m bench.scale                       # 1 000 and 10 000
    python -m bench.scale --sizes 100000        # the big one (~15 min to build on 2 cores)
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import FRAGMENTS, ROOT, md_table, peak_rss_mb, write_fragment
from bench.synthetic import BUILD_INFO

RESULTS = FRAGMENTS / "scale_results.json"
PROFILES = ROOT / "test-output" / "bench"
TARGETS = {"search": 200.0, "search_filtered": 200.0, "matrix": 500.0, "matrix_query": 500.0}
TARGET_RSS_MB = 4096.0
FILTER = {"group": "domestic", "factor": "financial_resources"}
BUDGET_S = 120.0  # per scenario: stop timing one that has used this much wall time
SCENARIOS = ("search", "search_filtered", "matrix", "matrix_query", "embed_query")


def _runner(kb: Any, scenario: str) -> Any:
    from kb.query.crosscase import matrix
    from kb.query.filters import Filters
    from kb.query.retrieval import search

    filtered = Filters(**FILTER)
    return {
        "search": lambda q: search(kb, q, 10),
        "search_filtered": lambda q: search(kb, q, 10, filtered),
        "matrix": lambda q: matrix(kb),
        "matrix_query": lambda q: matrix(kb, q),
        "embed_query": lambda q: kb.embedder.embed_queries([q]),
    }[scenario]


def _short(path: str) -> str:
    if path.startswith(str(ROOT)) and "site-packages" not in path:
        return os.path.relpath(path, ROOT)
    return path.split("site-packages/")[-1]


def _key(frame: Any) -> str:
    name = f"{frame.class_name}.{frame.function}" if frame.class_name else frame.function
    return f"{_short(frame.file_path or '?')}:{name}"


def hot_spots(root: Any, top: int = 8) -> dict[str, list[tuple[str, float]]]:
    """Seconds by file:function: inclusive time of kb/ functions, and of the library calls kb makes."""
    incl: Counter[str] = Counter()
    calls: Counter[str] = Counter()
    stack = [(root, frozenset(), "")]
    while stack:
        frame, above, parent = stack.pop()
        if frame.is_synthetic:
            continue
        key = _key(frame)
        if key.startswith("kb/"):
            if key not in above:
                incl[key] += frame.time
        elif parent.startswith("kb/"):
            calls[f"{parent} → {key}"] += frame.time
        stack.extend((child, above | {key}, key) for child in frame.children)
    pick = lambda c: [(k, round(v, 3)) for k, v in c.most_common(top)]  # noqa: E731
    return {"kb_inclusive": pick(incl), "library_calls": pick(calls)}


def measure(data_dir: Path, n_queries: int, profile: str) -> dict[str, Any]:
    """Open the store cold, warm it, time each scenario per query; profile scenarios over target."""
    from kb.query.evalsets import load_queries
    from kb.settings import get_settings
    from kb.store.kbase import KnowledgeBase

    queries = [q["query"] for q in load_queries()]
    step = max(1, len(queries) // (n_queries + 1))
    warm, chosen = queries[-1], queries[::step][:n_queries]
    t0 = time.perf_counter()
    model = json.loads((data_dir / BUILD_INFO).read_text(encoding="utf-8"))["model"]
    kb = KnowledgeBase.open(get_settings(data_dir=data_dir, embed_model=model))
    kb.passages_df  # noqa: B018  (the app's first page reads it: loading it is part of opening)
    _runner(kb, "search")(warm)  # lazy loads: BM25, Chroma's HNSW index, kiwi, the embedding models
    open_s = round(time.perf_counter() - t0, 2)
    first: dict[str, float] = {}
    for scenario in SCENARIOS:  # the first call pays one-off costs (filter ids and vectors, caches)
        t = time.perf_counter()
        _runner(kb, scenario)(warm)
        first[scenario] = round((time.perf_counter() - t) * 1000, 1)
    out: dict[str, Any] = {
        "open_s": open_s,
        "open_and_warm_s": round(time.perf_counter() - t0, 2),
        "queries": len(chosen),
        "first_call_ms": first,
    }
    ms: dict[str, list[float]] = {s: [] for s in SCENARIOS}
    cpu: dict[str, list[float]] = {s: [] for s in SCENARIOS}
    runners = {s: _runner(kb, s) for s in SCENARIOS}
    for q in chosen:  # interleaved, so load swings on the shared machine hit every scenario alike
        for scenario, run in runners.items():
            if ms[scenario] and sum(ms[scenario]) > BUDGET_S * 1000:
                continue  # far too slow already: fewer calls, same conclusion
            t, c = time.perf_counter(), time.process_time()
            run(q)
            ms[scenario].append((time.perf_counter() - t) * 1000)
            cpu[scenario].append((time.process_time() - c) * 1000)
    for scenario, values in ms.items():
        out[scenario] = {
            "p50": round(float(np.percentile(values, 50)), 1),
            "p95": round(float(np.percentile(values, 95)), 1),
            "cpu_p50": round(float(np.percentile(cpu[scenario], 50)), 1),
            "calls": len(values),
        }
    out["peak_rss_mb"] = round(peak_rss_mb(), 1)
    out["profiles"] = {}
    for scenario, limit in TARGETS.items():
        if profile == "all" or (profile == "missed" and out[scenario]["p95"] > limit):
            calls = max(2, min(15, int(BUDGET_S * 1000 / 4 / max(out[scenario]["p50"], 1))))
            out["profiles"][scenario] = _profile(kb, scenario, chosen[:calls], data_dir)
    return out


def _profile(kb: Any, scenario: str, queries: list[str], data_dir: Path) -> dict[str, Any]:
    from pyinstrument import Profiler

    run = _runner(kb, scenario)
    prof = Profiler(interval=0.001)
    prof.start()
    for q in queries:
        run(q)
    prof.stop()
    PROFILES.mkdir(parents=True, exist_ok=True)
    path = PROFILES / f"scale_{data_dir.name}_{scenario}.txt"
    path.write_text(prof.output_text(unicode=True, color=False), encoding="utf-8")
    spots = hot_spots(prof.last_session.root_frame())
    return {"calls": len(queries), "file": os.path.relpath(path, ROOT), **spots}


def _child(args: list[str], timeout: float) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, cwd=ROOT, timeout=timeout, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_size(n: int, n_queries: int, profile: str, keep: bool) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix=f"kb_scale_{n}_"))
    data = tmp / f"n{n}"
    try:
        print(f"[scale] building {n} synthetic passages in {data}", flush=True)
        built = _child(["-m", "bench.synthetic", str(n), str(data)], timeout=4 * 3600)
        print(f"[scale] built: {built}\n[scale] measuring …", flush=True)
        lat = _child(
            ["-m", "bench.scale", "--measure", str(data), "--queries", str(n_queries), "--profile", profile],
            timeout=3600,
        )
    finally:
        if not keep:
            shutil.rmtree(tmp, ignore_errors=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return {"n": n, "build": built, "latency": lat, "load_avg": round(os.getloadavg()[0], 1), "run": stamp}


def _cell(lat: dict[str, Any], key: str) -> str:
    calls = lat[key].get("calls", lat["queries"])
    more = f" ({calls} calls)" if calls < lat["queries"] else ""
    return f"{lat[key]['p50']:.0f} / {lat[key]['p95']:.0f}{more}"


def _cpu_rows(results: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for r in sorted(results.values(), key=lambda r: r["n"]):
        lat = r["latency"]
        rows.append({"passages": f"{r['n']:,}", **{s: lat[s].get("cpu_p50", "–") for s in SCENARIOS}})
    return rows


def _first_rows(results: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for r in sorted(results.values(), key=lambda r: r["n"]):
        first = r["latency"].get("first_call_ms", {})
        rows.append({"passages": f"{r['n']:,}", **{s: first.get(s, "–") for s in SCENARIOS}})
    return rows


def render(results: dict[str, Any], command: str) -> None:
    rows = []
    for r in sorted(results.values(), key=lambda r: r["n"]):
        lat, b = r["latency"], r["build"]
        rows.append({
            "passages": f"{r['n']:,}", "queries": lat["queries"], "search ms p50/p95": _cell(lat, "search"),
            "search + group,factor ms": _cell(lat, "search_filtered"), "matrix ms": _cell(lat, "matrix"),
            "matrix + query ms": _cell(lat, "matrix_query"), "query embed ms": _cell(lat, "embed_query"),
            "open+warm s": lat["open_and_warm_s"], "peak RSS MB": f"{lat['peak_rss_mb']:.0f}",
            "build s (BM25 / Chroma)": f"{b['bm25_s']:.0f} / {b['chroma_s']:.0f}",
            "sentence vectors": f"{b.get('sentence_vectors') or 0:,}",
            "load avg": r["load_avg"], "run": r["run"],
        })  # fmt: skip
    cols = list(rows[0]) if rows else []
    any_row = next(iter(results.values()))
    body = [
        "Synthetic stores recombining the report's own sentences (`bench/synthetic.py`): case/group/platform "
        f"metadata from the real cases, auto codes from {any_row['build']['code_source']}. Each distinct "
        f"source sentence ({any_row['build']['distinct_sentences']}) is embedded once with the real "
        f"`{any_row['build']['model']}` embedder and a passage's vector is the normalised mean of its "
        "sentences' vectors; each encoder's sentence collection (`kb/store/sentence_index.py`) holds "
        "one vector "
        "per sentence unit, the mean of the source sentences it spans (rows with 0 sentence vectors ran "
        "before search used them): these rows measure search and matrix cost at scale, not embedding "
        "throughput "
        "(see *Build speed*). Latency is warm and in-process (the app's path: "
        "`kb.query.retrieval.search` k=10, "
        "hybrid; `kb.query.crosscase.matrix`), over the first `queries` queries of "
        "`eval/queries.jsonl` after one "
        "warm-up call per scenario; the query embedding is part of every search. Filtered search: "
        f"`group={FILTER['group']}, factor={FILTER['factor']}`. Peak RSS is the measuring process (open + "
        "all queries). The machine is 2 shared cores: see load avg, and the CPU table below. A filter "
        "passing at most 20 000 passages (here ~9 % of the store) is searched exactly over its passages' "
        "vectors, fetched from Chroma on its first use and cached (`kb/store/vectorstore.py`); the matrix "
        "counts over integer code arrays built once per codes version (`kb/query/crosscase.py`).",
        "",
        md_table(rows, cols),
        "",
        "Process CPU ms per call (p50) – less sensitive to the other jobs on the machine than wall time:",
        "",
        md_table(_cpu_rows(results), ["passages", *SCENARIOS]),
        "",
        "First call per scenario after opening (opening = loading passages, codes, BM25, Chroma's index, "
        "kiwi and the models through one unfiltered search), ms – one-off costs: a filter's id set and, for "
        "a narrow filter, its passages' vectors fetched from Chroma for the exact search; the matrix's "
        "integer code table:",
        "",
        md_table(_first_rows(results), ["passages", *SCENARIOS]),
        "",
        "![latency vs passages](scale.svg)",
    ]
    big = results.get("100000")
    if big:
        lat = big["latency"]
        checks = [
            f"{k} p95 {lat[k]['p95']:.0f} ms {'✅' if lat[k]['p95'] < v else '❌'} (< {v:.0f})"
            for k, v in TARGETS.items()
        ]
        checks.append(
            f"peak RSS {lat['peak_rss_mb']:.0f} MB {'✅' if lat['peak_rss_mb'] < TARGET_RSS_MB else '❌'}"
            f" (< {TARGET_RSS_MB:.0f})"
        )
        body += ["", "Targets at 100 000 passages: " + "; ".join(checks) + "."]
    for r in sorted(results.values(), key=lambda r: r["n"])[-1:]:  # the largest store's profiles only
        for scenario, prof in r["latency"].get("profiles", {}).items():
            body += [
                "",
                f"Profile of `{scenario}` at {r['n']:,} passages ({prof['calls']} calls, pyinstrument; "
                f"full tree in `{prof['file']}`, not committed). Inclusive time in kb code:",
                "",
            ]
            body += [f"- `{k}` {v:.2f} s" for k, v in prof["kb_inclusive"]]
            body += ["", "Library calls made from kb code:", ""]
            body += [f"- `{k}` {v:.2f} s" for k, v in prof["library_calls"]]
    write_fragment("scale", "Scale: latency and memory at 1k–100k passages", command, "\n".join(body))
    write_svg(FRAGMENTS / "scale.svg", results, TARGETS)


def write_svg(path: Path, results: dict[str, Any], targets: dict[str, float]) -> None:
    """p95 latency vs passages, log-log, with the target lines: a plain SVG (no plotting library)."""
    rows = sorted(results.values(), key=lambda r: r["n"])
    if not rows:
        return
    w, h, left, bottom, top, right = 640, 380, 60, 40, 20, 170
    xs = [np.log10(r["n"]) for r in rows]
    x0, x1 = min(xs) - 0.2, max(xs) + 0.2
    y0, y1 = 0.0, 4.0  # 1 ms .. 10 s

    def px(x: float) -> float:
        return left + (x - x0) / (x1 - x0) * (w - left - right)

    def py(ms: float) -> float:
        return top + (1 - (np.log10(max(ms, 1.0)) - y0) / (y1 - y0)) * (h - top - bottom)

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" '
        'font-size="11"><rect width="100%" height="100%" fill="white"/>'
    ]
    for e in range(5):
        y = py(10**e)
        out.append(
            f'<line x1="{left}" x2="{w - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{10**e:g} ms</text>'
        )
    for r, x in zip(rows, xs, strict=True):
        out.append(f'<text x="{px(x):.1f}" y="{h - bottom + 16}" text-anchor="middle">{r["n"]:,}</text>')
    colours = {
        "search": "#1f5fa8",
        "search_filtered": "#5fa8d3",
        "matrix": "#c0392b",
        "matrix_query": "#e67e22",
    }
    for i, (key, colour) in enumerate(colours.items()):
        pts = " ".join(
            f"{px(x):.1f},{py(r['latency'][key]['p95']):.1f}" for r, x in zip(rows, xs, strict=True)
        )
        out.append(f'<polyline points="{pts}" fill="none" stroke="{colour}" stroke-width="2"/>')
        out.append(f'<text x="{w - right + 10}" y="{top + 14 * i + 10}" fill="{colour}">{key} p95</text>')
    for limit in sorted(set(targets.values())):
        y = py(limit)
        out.append(
            f'<line x1="{left}" x2="{w - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#888" '
            f'stroke-dasharray="4 3"/><text x="{w - right + 10}" y="{y + 4:.1f}" fill="#888">'
            f"target {limit:g} ms</text>"
        )
    out.append(
        f'<text x="{(left + w - right) / 2}" y="{h - 6}" text-anchor="middle">passages (log)</text></svg>'
    )
    path.write_text("\n".join(out), encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000,10000")
    ap.add_argument("--queries", type=int, default=40)
    ap.add_argument("--profile", choices=("missed", "all", "none"), default="missed")
    ap.add_argument("--keep", action="store_true", help="keep the temp stores")
    ap.add_argument("--store", type=Path, help="measure this kept synthetic store instead of building one")
    ap.add_argument("--render", action="store_true", help="only rewrite the fragment from the saved results")
    ap.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.queries, args.profile)))
        return
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    if args.render:
        render(results, "python -m bench.scale --sizes " + ",".join(sorted(results, key=int)))
        return
    if args.store:  # measure an existing synthetic store (kept with --keep) instead of building
        built = json.loads((args.store / BUILD_INFO).read_text(encoding="utf-8"))
        lat = _child(["-m", "bench.scale", "--measure", str(args.store), "--queries", str(args.queries),
                      "--profile", args.profile], timeout=3600)  # fmt: skip
        stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        load = round(os.getloadavg()[0], 1)
        results[str(built["n"])] = {
            "n": built["n"],
            "build": built,
            "latency": lat,
            "load_avg": load,
            "run": stamp,
        }
        RESULTS.write_text(json.dumps(results, indent=1, ensure_ascii=False), encoding="utf-8")
        render(results, f"python -m bench.scale --store DIR (a kept {built['n']}-passage store)")
        return
    for n in (int(s) for s in args.sizes.split(",") if s):
        results[str(n)] = run_size(n, args.queries, args.profile, args.keep)
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(results, indent=1, ensure_ascii=False), encoding="utf-8")
        render(results, f"python -m bench.scale --sizes {args.sizes}")


if __name__ == "__main__":
    main()
