"""One filter set: `kb search`, `kb matrix` and `kb export` (CLI and API) take the same filters."""

from __future__ import annotations

import inspect

import pytest
import typer.main
from typer.testing import CliRunner

from kb import api
from kb.cli.main import app
from kb.errors import BadQuery
from kb.query.filters import FILTER_HELP, FILTER_NAMES, Filters
from kb.store.kbase import get_kb

COMMANDS = ("search", "matrix", "export")


def _filter_options(command: str) -> dict[str, tuple[tuple[str, ...], str | None]]:
    params = typer.main.get_command(app).commands[command].params  # type: ignore[attr-defined]
    return {p.name: (tuple(p.opts), p.help) for p in params if p.name in FILTER_NAMES}


def test_the_three_commands_take_the_same_filter_options() -> None:
    options = {c: _filter_options(c) for c in COMMANDS}
    assert set(options["search"]) == set(FILTER_NAMES), options["search"]
    assert options["search"] == options["matrix"] == options["export"]
    for name, (_, help_text) in options["search"].items():
        assert help_text == FILTER_HELP[name]
    assert options["search"]["min_confidence"][0] == ("--min-confidence",)


def test_the_three_api_functions_take_the_same_filter_arguments() -> None:
    for fn in (api.search_records, api.matrix, api.export):
        params = inspect.signature(fn).parameters
        missing = [n for n in FILTER_NAMES if n not in params or params[n].kind != params[n].KEYWORD_ONLY]
        assert not missing, (fn.__name__, missing)


def test_filters_of_rejects_an_unknown_name_listing_the_valid_ones() -> None:
    assert Filters.of(group="private", polarity=None) == Filters(group="private")
    with pytest.raises(BadQuery, match="valid filters: group, case, platform_type"):
        Filters.of(grup="private")


def _run(settings, *args: str):  # noqa: ANN001, ANN202
    opts = ["--data-dir", str(settings.data_dir), "--corpus-dir", str(settings.corpus_dir)]
    return CliRunner().invoke(app, [*opts, "--embed-model", settings.embed_model, *args])


@pytest.mark.parametrize(
    ("option", "value", "valid"),
    [
        ("--group", "nowhere", "valid values: domestic, international, private"),
        ("--polarity", "good", "valid values: neutral, obstacle, recommendation, success"),
        ("--factor", "budget", "valid values: "),
        ("--min-confidence", "1.5", "between 0 and 1"),
        ("--source", "mine", "valid values: added, report"),
    ],
)
def test_an_unknown_value_lists_the_valid_ones_in_every_command(
    kb_settings,  # noqa: F811
    option: str,
    value: str,
    valid: str,  # noqa: F811
) -> None:
    for command in (["search", "주민 참여"], ["matrix"], ["export", "-f", "jsonl"]):
        result = _run(kb_settings, *command, option, value)
        assert result.exit_code == 1, (command, result.stdout)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error: ") and valid in lines[0], (command, lines)


def test_min_confidence_restricts_search_and_matrix_like_export(kb_settings) -> None:  # noqa: F811
    codes = get_kb(kb_settings).codes_df()
    strong = codes[codes["confidence"] >= 0.85]
    assert 0 < len(strong) < len(codes)  # the threshold splits the fixture's codes
    found = api.search_records("예산", 20, min_confidence=0.85, settings=kb_settings)
    assert found and {r["id"] for r in found} <= set(strong["passage_id"])
    mat = api.matrix(min_confidence=0.85, settings=kb_settings)
    assert int(mat["passages"].sum()) == len(strong)
    out = api.export("csv", unit="excerpt", min_confidence=0.85, settings=kb_settings)
    assert set(out["passage_id"]) == set(strong["passage_id"])
