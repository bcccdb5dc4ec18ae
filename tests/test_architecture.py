"""The shape of the code, checked: imports go one way (corpus → pipelines → kb store → api → app/CLI).

Every module of `kb/` and `pipelines/` is parsed with `ast`; every import counts, also the ones
inside functions (a deferred import is still a dependency, it only hides a cycle). The rules:
- no import cycles between modules;
- `kb` never imports `pipelines` (the build reaches kb's runner through an entry point, kb.runner);
- `kb/cli` and `kb/ui` reach the library only through `kb.api` (plus settings, errors, records,
  auth and their own package), so the CLI and the pages stay thin.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("kb", "pipelines")

# What the thin layers may import from kb besides their own package (kb.api is the public surface).
# kb.background and kb.update_job are process control for the app and `kb build` (the detached
# fine-tuning build, the indexing of added transcripts, and their status files), peers of kb.api
# rather than knowledge-base data.
THIN_ALLOWED = (
    "kb.api", "kb.background", "kb.update_job", "kb.settings", "kb.errors", "kb.records", "kb.auth"
)  # fmt: skip
# Relaxations, each with its reason: importing module -> (imported module prefixes, why). Each one
# is a piece of library surface kb.api does not offer yet; shrink this list, never grow it silently.
THIN_EXCEPTIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "kb.cli.io_commands": (
        ("kb.exchange.export", "kb.query.filters", "kb.store.kbase"),
        "`kb export` to standard output renders bytes per format; kb.api.export writes files only",
    ),
    "kb.cli.filter_options": (
        ("kb.query.filters",),
        "the options' help is the Filters record's own text; via kb.api the CLI would load pandas to start",
    ),
    "kb.cli.main": (
        ("kb.coding.code_input", "kb.exchange.spreadsheet"),
        "the `kb code` input lines and CSV on stdout are the CLI's own input and output formats",
    ),
    "kb.ui.components": (
        ("kb.text.morphs",),
        "highlighting query terms needs the tokenizer search uses, so both mark the same words",
    ),
    "kb.ui.search_page": (
        ("kb.exchange.spreadsheet",),
        "CSV download bytes",
    ),
    "kb.ui.state": (
        ("kb.review.queue", "kb.runner", "kb.store.generations", "kb.store.kbase", "kb.text.morphs"),
        "the app's process-wide resources: opens one KnowledgeBase per generation and warms its indexes",
    ),
}  # fmt: skip


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path, name: str, is_package: bool, modules: set[str]) -> set[str]:
    """Every module of `modules` that `name` imports, anywhere in the file: module level, inside
    functions, under TYPE_CHECKING. `from a import b` depends on a.b when that is a module, else on a."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    out: set[str] = set()
    package = name if is_package else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            for alias in node.names:
                out.add(f"{mod}.{alias.name}" if f"{mod}.{alias.name}" in modules else mod)
    return out & modules


def module_graph(root: Path, packages: tuple[str, ...] = PACKAGES) -> dict[str, set[str]]:
    """module -> the modules (of `packages`) it names in an import. A parent package that Python
    runs on the way (`a` for `import a.b`) is not counted: its __init__ re-exports, it is not a
    dependency the importing module chose."""
    files = {
        module_name(root, p): p
        for pkg in packages
        if (root / pkg).is_dir()
        for p in (root / pkg).rglob("*.py")
    }
    modules = set(files)
    return {
        name: imports_of(path, name, path.name == "__init__.py", modules) - {name}
        for name, path in files.items()
    }


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle (as a path a → b → … → a), or None. Iterative DFS with colours."""
    colour: dict[str, int] = dict.fromkeys(graph, 0)
    for start in sorted(graph):
        if colour[start]:
            continue
        stack: list[tuple[str, list[str]]] = [(start, sorted(graph[start]))]
        path = [start]
        colour[start] = 1
        while stack:
            node, todo = stack[-1]
            if not todo:
                colour[node] = 2
                stack.pop()
                path.pop()
                continue
            nxt = todo.pop(0)
            if colour.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if colour.get(nxt, 2) == 0:
                colour[nxt] = 1
                path.append(nxt)
                stack.append((nxt, sorted(graph[nxt])))
    return None


def under(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    return module_graph(ROOT)


def test_graph_sees_the_code(graph: dict[str, set[str]]) -> None:
    assert "kb.api" in graph and "pipelines.run" in graph
    assert "kb.settings" in graph["kb.api"]


def test_no_import_cycles(graph: dict[str, set[str]]) -> None:
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " → ".join(cycle or [])


def test_kb_never_imports_pipelines(graph: dict[str, set[str]]) -> None:
    bad = sorted(
        f"{m} imports {t}" for m, ts in graph.items() if under(m, "kb") for t in ts if under(t, "pipelines")
    )
    assert not bad, bad


@pytest.mark.parametrize("layer", ["kb.cli", "kb.ui"])
def test_thin_layers_use_the_api(graph: dict[str, set[str]], layer: str) -> None:
    bad = []
    for mod, targets in graph.items():
        if not under(mod, layer):
            continue
        allowed = THIN_ALLOWED + (layer,) + THIN_EXCEPTIONS.get(mod, ((), ""))[0]
        bad += [f"{mod} imports {t}" for t in sorted(targets) if not any(under(t, a) for a in allowed)]
    assert not bad, "\n".join(bad)


def test_every_exception_is_still_needed(graph: dict[str, set[str]]) -> None:
    """A relaxation nobody uses any more goes, so the list only shrinks."""
    unused = [
        f"{mod}: {prefix}"
        for mod, (prefixes, _) in THIN_EXCEPTIONS.items()
        for prefix in prefixes
        if mod in graph and not any(under(t, prefix) for t in graph[mod])
    ]
    assert not unused, unused


# Public kb.api functions no `kb` command calls, each with its reason; the rest map one-to-one.
API_WITHOUT_COMMAND = {
    "search": "a DataFrame for notebooks; `kb search` prints the same rows through search_records",
    "warm_search": "loads the search models before the app's first query; a command has no first query",
}


def public_api_functions() -> set[str]:
    tree = ast.parse((ROOT / "kb" / "api.py").read_text(encoding="utf-8"))
    return {n.name for n in tree.body if isinstance(n, ast.FunctionDef) and not n.name.startswith("_")}


def api_calls(package: Path) -> set[str]:
    """Every `api.NAME` the modules of a package use."""
    return {
        node.attr
        for path in package.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "api"
    }


def test_every_api_function_has_a_command() -> None:
    """The CLI maps onto the library: a function the app gains gets a command, or a reason here."""
    missing = public_api_functions() - api_calls(ROOT / "kb" / "cli") - API_WITHOUT_COMMAND.keys()
    assert not missing, f"kb.api functions no `kb` command calls: {sorted(missing)}"
    assert API_WITHOUT_COMMAND.keys() <= public_api_functions()  # an exception for a function now gone


def test_a_planted_cycle_is_found(tmp_path: Path) -> None:
    """The checker itself can fail: a deferred import inside a function closes a cycle."""
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from pkg.sub import b\n")
    (pkg / "sub" / "b.py").write_text("from . import c\n")
    (pkg / "sub" / "c.py").write_text("def f():\n    from pkg.a import thing\n    return thing\n")
    graph = module_graph(tmp_path, ("pkg",))
    assert graph["pkg.sub.b"] == {"pkg.sub.c"} and graph["pkg.a"] == {"pkg.sub.b"}
    cycle = find_cycle(graph)
    assert cycle is not None and cycle[0] == cycle[-1]
    assert set(cycle) == {"pkg.a", "pkg.sub.b", "pkg.sub.c"}
    (pkg / "sub" / "c.py").write_text("def f():\n    return 1\n")
    assert find_cycle(module_graph(tmp_path, ("pkg",))) is None


def test_kb_reaches_the_runner_through_entry_points(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """kb.runner finds the build stages by name: from this checkout's pyproject.toml, else from
    installed package metadata (a dist-info on sys.path, as `pip install` writes it)."""
    import pipelines.extract
    import pipelines.run
    from kb import runner
    from kb.errors import RunnerMissing

    assert runner.stage("build") is pipelines.run.build
    assert runner.stage("extract") is pipelines.extract.run
    assert runner.STAGES == pipelines.run.STAGES
    dist = tmp_path / "kb_probe-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: kb-probe\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[kb.pipelines]\nprobe = json:dumps\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import json

    assert runner.stage("probe") is json.dumps
    with pytest.raises(RunnerMissing, match="not installed; run `pip install -e .`") as err:
        runner.stage("no-such-stage")
    assert "\n" not in str(err.value)


def test_cli_extract_reaches_the_stage_through_the_api(tmp_path: Path) -> None:
    """`kb extract` → kb.api.extract → kb.runner → pipelines.extract.run: a missing source file is the
    stage's own one-line error, so the whole chain ran."""
    from typer.testing import CliRunner

    from kb.cli.main import app

    missing = tmp_path / "report.txt"
    result = CliRunner().invoke(
        app, ["--data-dir", str(tmp_path / "data"), "--corpus-dir", str(tmp_path / "corpus"), "extract",
              "--source", str(missing)],
    )  # fmt: skip
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"Error: source text not found: {missing} — pass --source PATH or set KB_SOURCE"
    ]
    assert not (tmp_path / "corpus").exists()


NOT_AT_TOP_LEVEL = {
    "search_records": "the rows `kb search` prints; kb.search gives them as a DataFrame",
    "warm_search": "the app's warm-up",
}


def test_every_api_function_is_reachable_as_kb_dot_name() -> None:
    """`import kb; kb.question_intent(...)` as the README writes it (a tester met AttributeError):
    kb's lazy names are kb.api.__all__, and that is every public function but the listed ones."""
    import kb
    from kb import api

    assert kb._API == set(api.__all__)
    assert set(api.__all__) == public_api_functions() - NOT_AT_TOP_LEVEL.keys() | {
        "export",
        "add",
        "read_export",
        "export_columns",
    }
    for name in api.__all__:
        assert getattr(kb, name) is getattr(api, name)
