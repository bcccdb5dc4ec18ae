"""Check that no training text (coder or retrieval) equals or is contained in any evaluation text.

Reads every string in `eval/` (JSON/JSONL values, whole .txt/.md files) and every question and
text of `corpus/training/*.jsonl` and `corpus/training/retrieval/*.jsonl`; compares them with
whitespace removed and lower-cased. Prints only counts and the offending *training* texts, never
evaluation text, so it can be run by someone who must not read the evaluation sets.

    python scripts/check_training_leaks.py [--root DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

MIN_CHARS = 12  # shorter texts ("네.", "예산") may occur anywhere by chance


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


def evaluation_texts(root: Path) -> list[str]:
    out: list[str] = []
    for path in sorted((root / "eval").rglob("*")):
        if not path.is_file():
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


def training_texts(root: Path) -> list[tuple[str, str]]:
    """(file:line field, text) for every question and text of the coder's and the retrieval training files."""
    out = []
    training = root / "corpus" / "training"
    for path in sorted([*training.glob("*.jsonl"), *(training / "retrieval").glob("*.jsonl")]):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            row = json.loads(line)
            for key in ("question", "text", "interviewer"):  # a report `snippet` is report text by design
                if isinstance(row.get(key), str):
                    out.append((f"{path.name}:{n} {key}", row[key]))
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[1])
    args = ap.parse_args()
    evaluation = evaluation_texts(args.root)
    exact = set(evaluation)
    blob = "\0".join(evaluation)
    training = training_texts(args.root)
    bad = []
    for where, text in training:
        t = norm(text)
        if t in exact or (len(t) >= MIN_CHARS and t in blob):
            bad.append((where, text))
    print(f"{len(training)} training texts against {len(evaluation)} evaluation texts: {len(bad)} in them")
    for where, text in bad:
        print(f"  {where}: {text}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
