"""The build stages, reached without importing them: `kb` is the library, `pipelines` uses it.

`kb.api.build`, `kb extract`, the app's first-run build and "retrain now" need the build runner,
which lives in `pipelines/` and imports `kb`. So that `kb` never imports `pipelines` (no cycle,
a library usable without its build), the runner is found through the `kb.pipelines` entry-point
group declared in pyproject.toml:

    [project.entry-points."kb.pipelines"]
    build = "pipelines.run:build"
    extract = "pipelines.extract:run"

Looked up in the source tree's pyproject.toml first (a checkout run from PYTHONPATH, whose
installed metadata may be older), then in the installed package metadata (`pip install .`).
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from functools import cache
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Any

from kb.errors import RunnerMissing

GROUP = "kb.pipelines"
STAGES = ("segment", "code", "index")  # the build stages, in order (pipelines/segment, code, index)


def _source_tree_points() -> dict[str, str]:
    pyproject = Path(__file__).resolve().parent.parent / "pyproject.toml"
    try:
        project = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {})
    except (OSError, tomllib.TOMLDecodeError):
        return {}
    if project.get("name") != "kb":
        return {}
    return dict(project.get("entry-points", {}).get(GROUP, {}))


@cache
def stage(name: str) -> Callable[..., Any]:
    """The callable registered as `name` in the `kb.pipelines` entry points."""
    value = _source_tree_points().get(name)
    point = EntryPoint(name, value, GROUP) if value else None
    if point is None:
        point = next(iter(entry_points(group=GROUP, name=name)), None)
    if point is None:
        raise RunnerMissing(
            f"kb's build stage {name!r} is not installed; run `pip install -e .` in the kb checkout"
        )
    try:
        return point.load()
    except ImportError as exc:
        raise RunnerMissing(f"kb's build stage {name!r} ({point.value}) cannot be imported: {exc}") from None


def build(*args: Any, **kwargs: Any) -> Any:
    """`pipelines.run.build`: segment, code and index into a new generation (see there)."""
    return stage("build")(*args, **kwargs)


def extract(*args: Any, **kwargs: Any) -> Any:
    """`pipelines.extract.run`: the report text into the corpus folder (see there)."""
    return stage("extract")(*args, **kwargs)
