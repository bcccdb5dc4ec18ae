"""The corpus manifest (corpus/manifest.csv), read as untrusted data.

A manifest can come with a corpus folder from someone else, so it is size-capped, must parse
as CSV with the columns the build needs, and every file it names must resolve inside the
corpus folder (no absolute paths, no `..`, no symlinks out).
"""

from __future__ import annotations

import csv
from pathlib import Path

from kb.errors import CorpusMissing

MAX_BYTES = 50 * 1024 * 1024
REQUIRED = ("doc_id", "text_file", "blocks_file")
# The manifest columns, in order: written by `kb extract` (pipelines.extract), extended by `kb add`.


def inside(base: Path, relative: str, what: str = "path") -> Path:
    """`base / relative`, resolved; CorpusMissing when it points outside `base`."""
    if not isinstance(relative, str) or not relative.strip() or "\x00" in relative:
        raise CorpusMissing(f"manifest {what} {relative!r} is empty or invalid")
    root = base.resolve()
    target = (root / relative).resolve()
    if target != root and root not in target.parents:
        raise CorpusMissing(f"manifest {what} {relative!r} points outside the corpus folder {base}")
    return target


def load_manifest(corpus_dir: Path, required: bool = True) -> tuple[list[str], list[dict[str, str]]]:
    """Field names and rows of manifest.csv, each row's files checked to lie inside `corpus_dir`."""
    path = Path(corpus_dir) / "manifest.csv"
    if not path.is_file():
        if required:
            raise CorpusMissing(
                f"no corpus manifest at {path}; run `kb extract` (python -m pipelines.extract) first"
            )
        return [], []
    if path.stat().st_size > MAX_BYTES:
        raise CorpusMissing(f"{path} is larger than {MAX_BYTES // (1024 * 1024)} MB; not a manifest")
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            fields = list(reader.fieldnames or [])
            rows = list(reader)
    except UnicodeDecodeError as exc:
        raise CorpusMissing(f"{path} is not UTF-8 text ({exc.reason})") from exc
    except csv.Error as exc:
        raise CorpusMissing(f"{path} is not a valid CSV file ({exc})") from exc
    missing = [f for f in REQUIRED if f not in fields]
    if rows and missing:
        raise CorpusMissing(f"{path} lacks the column(s) {', '.join(missing)}")
    for n, row in enumerate(rows, 2):
        if None in row or any(v is None for v in row.values()):
            raise CorpusMissing(f"{path} line {n}: wrong number of fields")
        if not row["doc_id"].strip():
            raise CorpusMissing(f"{path} line {n}: empty doc_id")
        for key in ("text_file", "blocks_file"):
            inside(Path(corpus_dir), row[key], f"{key} of {row['doc_id']!r}")
    return fields, rows
