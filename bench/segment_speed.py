"""How segmentation time grows with the length of one paragraph (a transcript pasted as one line).

Kiwi reads a long paragraph in pieces (kb.text.segment.KIWI_PIECE), so the time should grow about
linearly; before that, a 7 MB one-line transcript never finished segmenting. Also times the bundled
corpus's segment stage, whose passages must not change.

    python -m bench.segment_speed [--sizes 10000,100000,400000,1000000]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from bench.common import ROOT, write_fragment
from kb.text.morphs import get_kiwi
from kb.text.segment import KIWI_PIECE, segment_text
from pipelines.segment import run as segment_corpus

UNIT = "주민 참여가 저조했고 예산이 부족했습니다. "  # one spoken-style sentence, repeated


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10000,100000,400000,1000000")
    args = ap.parse_args(argv)
    get_kiwi().split_into_sents("워밍업 문장입니다.")  # model load is not segmentation
    rows = []
    for n in map(int, args.sizes.split(",")):
        text = "응답자: " + UNIT * (n // len(UNIT))
        t = time.perf_counter()
        passages = segment_text(text)
        s = time.perf_counter() - t
        rows.append(f"| {len(text):,} | {len(passages):,} | {s:.2f} | {s / len(text) * 1e6:.1f} |")
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        corpus = segment_corpus(ROOT / "corpus", Path(tmp))
        corpus_s = time.perf_counter() - t
    body = (
        f"One paragraph of n characters (a spoken sentence repeated after a `응답자:` label), "
        f"`kb.text.segment.segment_text`, Kiwi loaded beforehand; Kiwi reads pieces of about "
        f"{KIWI_PIECE} characters. Time per character should stay flat.\n\n"
        "| characters | passages | seconds | µs per character |\n|---|---|---|---|\n"
        + "\n".join(rows)
        + f"\n\nThe bundled corpus's segment stage: {len(corpus)} passages in {corpus_s:.1f} s. "
        f"Load average {os.getloadavg()[0]:.1f} at the end (2 shared cores: times are noisy)."
    )
    command = f"python -m bench.segment_speed --sizes {args.sizes}"
    write_fragment("segment", "Segmentation speed on long texts", command, body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
