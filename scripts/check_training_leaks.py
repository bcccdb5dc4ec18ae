"""Check that no training text (coder or retrieval) equals or is contained in any evaluation text.

Reads every string in `eval/` (JSON/JSONL values, whole .txt/.md files) and every question and
text of `corpus/training/*.jsonl` and `corpus/training/retrieval/*.jsonl`; compares them with
whitespace removed and lower-cased. The rows of `spoken_transcripts.jsonl` (training rows with a
`transcript`) are taken from the development transcripts by design, so they are compared with every
evaluation text except those sources (`TRANSCRIPT_SOURCES`); a later held-back set (dev5) and the
test sets stay in. Prints only counts and the offending *training* texts, never
evaluation text, so it can be run by someone who must not read the evaluation sets.

    python scripts/check_training_leaks.py [--root DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

MIN_CHARS = 12  # shorter texts ("네.", "예산") may occur anywhere by chance
# where corpus/training/spoken_transcripts.jsonl comes from (scripts/dev_transcripts_training.py)
TRANSCRIPT_SOURCES = (
    "eval/dev_transcripts/README.md",
    "eval/dev_transcripts/dev_gold.jsonl",
    "eval/dev_transcripts/transcripts",
    "eval/dev_transcripts/dev3",
    "eval/dev_transcripts/dev4",
)


def norm(text: str) -> str:
    return "".join(text.split()).lower()


def strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from strings(v)


def evaluation_texts(root: Path, skip: tuple[str, ...] = ()) -> list[str]:
    """Every string of eval/, whitespace removed and lower-cased, except the files under `skip`."""
    out: list[str] = []
    skipped = [root / s for s in skip]
    for path in sorted((root / "eval").rglob("*")):
        if not path.is_file() or any(path == s or s in path.parents for s in skipped):
            continue
        raw = path.read_text(encoding="utf-8", errors="replace")
        if path.suffix == ".jsonl":
            for line in raw.splitlines():
                if line.strip():
                    out += list(strings(json.loads(line)))
        elif path.suffix == ".json":
            out += list(strings(json.loads(raw)))
        else:
            out.append(raw)
    return [n for n in map(norm, out) if n]


def training_texts(root: Path) -> list[tuple[str, str, bool]]:
    """(file:line field, text, from a dev transcript) for every question and text of the coder's and
    the retrieval training files."""
    out = []
    training = root / "corpus" / "training"
    for path in sorted([*training.glob("*.jsonl"), *(training / "retrieval").glob("*.jsonl")]):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            row = json.loads(line)
            for key in ("question", "text", "interviewer"):  # a report `snippet` is report text by design
                if isinstance(row.get(key), str):
                    out.append((f"{path.name}:{n} {key}", row[key], row.get("transcript") is not None))
    return out


def matcher(evaluation: list[str]) -> Callable[[str], bool]:
    """Whether a text equals an evaluation text or (from MIN_CHARS on) is contained in one."""
    exact, blob = set(evaluation), "\0".join(evaluation)

    def leaks(text: str) -> bool:
        t = norm(text)
        return t in exact or (len(t) >= MIN_CHARS and t in blob)

    return leaks


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[1])
    args = ap.parse_args()
    evaluation = evaluation_texts(args.root)
    in_all, in_others = matcher(evaluation), matcher(evaluation_texts(args.root, TRANSCRIPT_SOURCES))
    training = training_texts(args.root)
    bad = [(where, text) for where, text, dev in training if (in_others if dev else in_all)(text)]
    print(f"{len(training)} training texts against {len(evaluation)} evaluation texts: {len(bad)} in them")
    for where, text in bad:
        print(f"  {where}: {text}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
