"""README.md documents every `kb` command and every setting, so a new one cannot go unmentioned.

Commands are found by walking the real typer app (sub-apps included: `kb reviews export`) and
must each start a line of a ```bash example; settings come from the settings object's fields and
any other `KB_*` variable the code reads, and must each be a row of the Settings table.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from pathlib import Path

import typer

from kb.cli.main import app
from kb.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
# Read by code but deliberately undocumented for users, with the reason.
INTERNAL_VARIABLES = {"KB_FAULT_POINT": "crash points for the fault-injection test"}


def command_paths(cmd: object, path: tuple[str, ...] = ("kb",)) -> Iterator[str]:
    subcommands = getattr(cmd, "commands", None)
    if subcommands is None:
        yield " ".join(path)
        return
    for name, sub in subcommands.items():
        yield from command_paths(sub, (*path, name))


def section(title: str) -> str:
    """The README text under a `## title` heading, up to the next one."""
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", README, re.MULTILINE | re.DOTALL)
    assert match, f"README.md has no '## {title}' section"
    return match.group(1)


def test_walk_finds_the_sub_apps() -> None:
    paths = set(command_paths(typer.main.get_command(app)))
    assert {"kb build", "kb search", "kb reviews export", "kb users add"} <= paths


def test_every_cli_command_has_a_readme_example() -> None:
    examples = "\n".join(re.findall(r"```bash\n(.*?)```", README, re.DOTALL))
    paths = sorted(command_paths(typer.main.get_command(app)))
    missing = [p for p in paths if not re.search(rf"^\s*{re.escape(p)}(?![\w-])", examples, re.MULTILINE)]
    assert not missing, f"README.md has no example line for: {missing}"


def test_every_setting_is_in_the_settings_table() -> None:
    table = section("Settings")
    env = [f.metadata["env"] for f in dataclasses.fields(Settings)]
    assert len(env) >= 10
    missing = [name for name in env if f"| `{name}` |" not in table]
    assert not missing, f"README.md's settings table lacks: {missing}"


def test_every_kb_variable_the_code_reads_is_documented() -> None:
    sources = [*(ROOT / "kb").rglob("*.py"), *(ROOT / "pipelines").rglob("*.py"), ROOT / "app.py"]
    read = {
        name
        for path in sources
        for name in re.findall(r"[\"'](KB_[A-Z0-9_]+)[\"']", path.read_text(encoding="utf-8"))
    }
    assert "KB_DATA_DIR" in read
    documented = set(re.findall(r"^\|[^|\n]*\| `(KB_[A-Z0-9_]+)` \|", section("Settings"), re.MULTILINE))
    missing = sorted(read - set(INTERNAL_VARIABLES) - documented)
    assert not missing, f"README.md's settings table lacks: {missing}"


def test_readme_names_both_test_tiers() -> None:
    assert "make test-fast" in README and "make test " in README
