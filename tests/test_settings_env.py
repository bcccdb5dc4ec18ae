"""Every path and KB_* variable lives in the settings object and is printed by `kb settings`."""

from __future__ import annotations

import ast
from dataclasses import fields
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kb.cli.main import app
from kb.settings import Settings, describe, get_settings

ROOT = Path(__file__).resolve().parent.parent
# Read outside kb/settings.py on purpose (documented in kb/settings.py): a crash-test hook, not a setting.
HOOKS = {"KB_FAULT_POINT": "kb/store/faults.py"}


def _env_reads(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, name) of every os.environ[...] / os.environ.get(...) / os.getenv(...) with a literal name."""
    found = []
    for node in ast.walk(tree):
        name = None
        if isinstance(node, ast.Subscript) and ast.unparse(node.value) == "os.environ":
            name = node.slice
        elif isinstance(node, ast.Call) and ast.unparse(node.func) in ("os.environ.get", "os.getenv"):
            name = node.args[0] if node.args else None
        if isinstance(name, ast.Constant) and isinstance(name.value, str):
            found.append((node.lineno, name.value))
        elif isinstance(name, ast.Name):  # a module constant: resolve it below
            found.append((node.lineno, f"${name.id}"))
    return found


def test_no_kb_variable_is_read_outside_settings() -> None:
    offenders = []
    for path in [*(ROOT / "kb").rglob("*.py"), *(ROOT / "pipelines").rglob("*.py"), ROOT / "app.py"]:
        rel = path.relative_to(ROOT).as_posix()
        if rel == "kb/settings.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        consts = {
            t.id: n.value.value
            for n in ast.walk(tree)
            if isinstance(n, ast.Assign) and isinstance(n.value, ast.Constant)
            for t in n.targets
            if isinstance(t, ast.Name)
        }
        for line, name in _env_reads(tree):
            name = consts.get(name[1:], name) if name.startswith("$") else name
            if isinstance(name, str) and name.startswith("KB_") and HOOKS.get(name) != rel:
                offenders.append(f"{rel}:{line} reads {name}")
    assert not offenders, offenders


def test_the_check_sees_the_hook_it_allows() -> None:
    """The scan above resolves `os.environ.get(_ENV)`: it does find the one documented hook."""
    tree = ast.parse((ROOT / HOOKS["KB_FAULT_POINT"]).read_text(encoding="utf-8"))
    assert any(name == "$_ENV" for _, name in _env_reads(tree))


def test_every_setting_is_printed_by_kb_settings() -> None:
    result = CliRunner().invoke(app, ["settings"])
    assert result.exit_code == 0, result.output
    for f in fields(Settings):
        assert f.metadata["env"].startswith("KB_") and f.metadata["help"]
        line = next(
            (x for x in result.output.splitlines() if x.split()[:2] == [f.name, f.metadata["env"]]), None
        )
        assert line is not None, f"{f.name} missing from `kb settings`"
    assert len(describe()) == len(fields(Settings))


def test_embed_threads_and_eval_dir_are_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from kb.coding.data import gold_dir
    from kb.embeddings.base import cpu_threads
    from kb.query.evalsets import load_queries

    monkeypatch.setenv("KB_EMBED_THREADS", "3")
    assert get_settings().embed_threads == 3 and cpu_threads() == 3
    monkeypatch.setenv("KB_EVAL_DIR", str(tmp_path))
    (tmp_path / "queries.jsonl").write_text("", encoding="utf-8")
    assert gold_dir() == tmp_path / "gold" and load_queries() == []
