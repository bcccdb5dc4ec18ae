"""What the pages show is computed by the library (kb.api), so notebooks and the app agree.

A matrix cell's passage list agrees with the cell's counts: same query, same filters. The matrix
page used to build the list itself, without the search query that restricted the counts and with
another meaning of "reviewed" (human codes only, where the counts take every passage a coder
decided on); the list is now computed next to the counts. The case table and case profiles
likewise come from kb.api.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fixtures_kb import REVIEWER, build_kb, passage_id

from kb.query import crosscase
from kb.settings import Settings
from kb.store.kbase import get_kb
from kb.ui.matrix_page import cell_passages
from kb.ui.state import Resources


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    settings = build_kb(tmp_path_factory.mktemp("cells"))
    kb = get_kb(settings)
    # A rejection makes the passage reviewed though no human code is left on it: its other auto
    # code still counts in a reviewed-only matrix.
    p = next(p for p in kb.passages if p["doc_id"] == "eunpyeong_forest" and "유지비용" in p["text"])
    assert p["id"] == passage_id("eunpyeong_forest", p["text"])
    kb.reviews.record(REVIEWER, p["id"], p["text_hash"], "governance", "reject")
    return settings


def _check(settings: Settings, query: str | None, **filters) -> int:
    from kb import api

    res = Resources(get_kb(settings))
    mx = api.matrix(query, settings=settings, **filters)
    assert not mx.empty
    for cell in mx.to_dict("records"):
        ids = cell_passages(res, cell["category"], cell["case"], query, filters)
        assert len(ids) == len(set(ids)) == cell["passages"], cell
        assert cell["exemplar"] in ids
    return len(mx)


def test_cells_list_what_the_reviewed_counts_count(settings: Settings) -> None:
    assert _check(settings, None, reviewed=True) >= 1


def test_cells_list_only_what_the_query_retrieved(settings: Settings, monkeypatch) -> None:
    # The query pool is 100 passages, more than this corpus holds: a smaller pool makes the query
    # restrict the counts, as it does on a real corpus.
    monkeypatch.setattr(crosscase, "QUERY_POOL", 3)
    assert _check(settings, "예산") >= 1
    assert _check(settings, "예산", group="domestic") >= 1


def test_cells_without_query_or_filters(settings: Settings, tmp_path: Path) -> None:
    assert _check(settings, None) >= 4


def test_case_table_and_profiles(settings: Settings) -> None:
    from kb import api
    from kb.query.profiles import case_profile

    kb = get_kb(settings)
    cases = api.cases(settings)
    assert set(cases["case"]) == {p["case"] for p in kb.passages}
    assert cases.notna().all().all() and cases["case"].is_unique
    codes = kb.codes_with_meta()
    moved = 0
    for case in cases["case"]:
        profile = api.case_profile(case, settings=settings)
        mine = codes[codes["case"] == case]
        assert profile["case"] == case and profile["name_ko"]
        assert profile["passages"] == sum(p["case"] == case for p in kb.passages)
        assert profile["coded"] == mine["passage_id"].nunique()
        for pol, factors in profile["factors"].items():
            assert profile["codes"][pol] == int(
                (
                    kb.codes_df()["passage_id"].isin(set(mine["passage_id"]))
                    & (kb.codes_df()["polarity"] == pol)
                ).sum()
            )
            counts = [f["passages"] for f in factors]
            assert counts == sorted(counts, reverse=True)
            for f in factors:
                rows = mine[(mine["category"] == f["category"]) & (mine["polarity"] == pol)]
                assert f["passages"] == rows["passage_id"].nunique() > 0
                assert f["exemplars"] and set(f["exemplars"]) <= set(rows["passage_id"])
            # the factors past the top ones are named, never dropped without a word
            shown = [f["category"] for f in factors] + [m["category"] for m in profile["more"][pol]]
            assert sorted(shown) == sorted(set(mine.loc[mine["polarity"] == pol, "category"]))
        few = get_kb(settings)  # the same profile with room for one factor: the rest move to `more`
        narrow = case_profile(few, case, top=1)
        for pol, factors in profile["factors"].items():
            both = factors + profile["more"][pol]
            assert narrow["factors"][pol] == factors[:1]
            assert [m["category"] for m in narrow["more"][pol]] == [f["category"] for f in both[1:]]
            moved += len(narrow["more"][pol])
    assert moved  # some case has more than one factor of a direction: the check above had work
    assert any(
        f for case in cases["case"] for f in api.case_profile(case, settings=settings)["factors"]["success"]
    )


def test_cli_add_reports_each_file_through_the_api(tmp_path: Path) -> None:
    """`kb add` prints one line per file from kb.api.add's table; a skipped file makes it say why."""
    from typer.testing import CliRunner

    from kb.cli.main import app

    src = tmp_path / "in"
    src.mkdir()
    (src / "면담.md").write_text(
        "# 2차 면담\n\n## 예산\n\nQ: 주민 참여는 어떻습니까?\nA: 참여가 저조합니다.\n", encoding="utf-8"
    )
    (src / "blank.md").write_text("  \n\n \n", encoding="utf-8")
    corpus = tmp_path / "corpus"
    result = CliRunner().invoke(
        app,
        ["--corpus-dir", str(corpus), "--data-dir", str(tmp_path / "data"), "add", str(src / "면담.md"),
         str(src / "blank.md"), "--case", "seoul_interview", "--case-name", "서울시 담당자 면담",
         "--group", "domestic", "--platform-type", "policy_proposal"],
    )  # fmt: skip
    assert result.exit_code == 1, result.output  # a file was not added: a script must notice
    lines = result.output.splitlines()
    added = [line for line in lines if line.startswith("added")]
    assert len(added) == 1 and "면담.md →" in added[0] and "blocks" in added[0]
    assert any(line.startswith("skipped") and "blank.md" in line for line in lines)
    assert "1 of 2 files added" in result.output
    assert (corpus / "manifest.csv").is_file()
    again = CliRunner().invoke(app, ["--corpus-dir", str(corpus), "add", str(src / "면담.md"), "--case",
                                     "seoul_interview"])  # fmt: skip
    assert again.exit_code == 0, again.output  # adding the same file again is no error
    assert again.output.startswith("present") and "0 of 1 files added" in again.output
