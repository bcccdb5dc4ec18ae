"""kb.fileio: atomic replacement (old or new, never half) and JSONL round trips."""

from __future__ import annotations

import ast
import stat
from pathlib import Path

import pytest

from kb.fileio import PRIVATE, atomic_open, default_mode, read_jsonl, write_atomic, write_jsonl

ROOT = Path(__file__).resolve().parent.parent


def test_jsonl_round_trip_keeps_hangul_readable(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "a.jsonl"
    records = [{"id": "p1", "text": "예산이 부족하다"}, {"id": "p2", "codes": [], "page": None}]
    write_jsonl(path, records)
    assert read_jsonl(path) == records
    assert "예산" in path.read_text(encoding="utf-8")
    assert stat.S_IMODE(path.stat().st_mode) == PRIVATE


def test_error_inside_the_block_leaves_the_old_file_and_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "codes.jsonl"
    target.write_text("old\n", encoding="utf-8")
    with pytest.raises(RuntimeError), atomic_open(target) as fh:
        fh.write("half of the new")
        raise RuntimeError("killed mid-write")
    assert target.read_text(encoding="utf-8") == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["codes.jsonl"]


def test_before_replace_runs_after_the_data_and_before_the_rename(tmp_path: Path) -> None:
    target = tmp_path / "CURRENT"
    seen = []

    def hook() -> None:
        temps = [p for p in tmp_path.iterdir() if p.name.startswith(".CURRENT.")]
        seen.append((target.exists(), [t.read_text(encoding="utf-8") for t in temps]))

    with atomic_open(target, before_replace=hook) as fh:
        fh.write("gen-2\n")
    assert seen == [(False, ["gen-2\n"])]
    assert target.read_text(encoding="utf-8") == "gen-2\n"


def test_user_mode_keeps_existing_permissions(tmp_path: Path) -> None:
    target = tmp_path / "export.csv"
    target.write_bytes(b"a")
    target.chmod(0o640)
    write_atomic(target, "b", perm=default_mode(target))
    assert target.read_bytes() == b"b" and stat.S_IMODE(target.stat().st_mode) == 0o640


def test_no_hand_written_atomic_writer_outside_fileio() -> None:
    """Every single-file replace goes through kb.fileio (directory swaps and the kb_id link excepted)."""
    allowed = {"kb/fileio.py", "kb/review/backup.py", "kb/store/keyword_index.py", "pipelines/extract.py"}
    offenders = []
    for path in [*(ROOT / "kb").rglob("*.py"), *(ROOT / "pipelines").rglob("*.py")]:
        rel = path.relative_to(ROOT).as_posix()
        if rel in allowed:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr in ("replace", "mkstemp", "NamedTemporaryFile"):
                if isinstance(node.value, ast.Name) and node.value.id in ("os", "tempfile"):
                    offenders.append(f"{rel}:{node.lineno} {node.value.id}.{node.attr}")
    assert not offenders, offenders
