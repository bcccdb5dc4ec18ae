"""The review page around "retrain now", as a tester met it: the progress line's decision count fell
after a retrain (the retrained coder stopped suggesting codes the coder had rejected, and the count
was of the current suggestions carrying a decision), the estimate was a fixed "약 1분", and the table
of what the retrain changed ran off a 1366-px window.

On the small knowledge base of fixtures_kb (AppTest; the app's retrain refits the fast coder)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fixtures_kb import REVIEWER, copy_kb
from streamlit.testing.v1 import AppTest

from kb import api
from kb.settings import Settings
from kb.ui import retrain_gate

ROOT = Path(__file__).resolve().parent.parent
CODER = "park"
TABLE_BUDGET_PX = 850  # the expander's width in a 1366-px window (870 px in Chromium), less a scrollbar


@pytest.fixture
def small(kb_settings: Settings, tmp_path: Path, monkeypatch) -> Iterator[Settings]:
    """A private copy of the small knowledge base, selected through KB_* as the app reads it."""
    from kb.store.kbase import forget

    settings = copy_kb(kb_settings, tmp_path / "kb")
    for name, value in (
        ("KB_DATA_DIR", settings.data_dir),
        ("KB_CORPUS_DIR", settings.corpus_dir),
        ("KB_EMBED_MODEL", settings.embed_model),
    ):
        monkeypatch.setenv(name, str(value))
    yield settings
    forget(settings)


def review_page(coder: str = CODER) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.query_params["coder"] = coder
    at.run()
    at.switch_page("kb/ui/review_page.py").run()
    assert not at.exception and not at.error, [e.value for e in [*at.exception, *at.error]]
    return at


def my_decisions(at: AppTest, coder: str = CODER) -> int:
    """The count the page shows of the coder's own decisions."""
    (shown,) = [c.value for c in at.caption if f"**{coder}** 님의 결정" in c.value]
    return int(re.search(r"님의 결정 (\d+)건", shown).group(1))


def sidebar_text(at: AppTest) -> str:
    return "\n".join(c.value for c in at.sidebar.caption)


def test_the_coders_own_decisions_are_counted_by_factor_and_case_and_nobody_elses(small: Settings) -> None:
    first, second = api.review_queue(settings=small)[:2]
    api.decide(CODER, first.passage_id, first.codes[0][0], "reject", settings=small)
    api.decide(CODER, first.passage_id, first.codes[0][0], "accept", settings=small)  # revised: one code
    api.decide(CODER, second.passage_id, second.codes[0][0], "accept", settings=small)
    api.decide(CODER, second.passage_id, None, "memo", memo="표 7-1", settings=small)  # no code decision
    assert api.decisions_made(CODER, settings=small) == 2
    assert api.decisions_made(CODER, factor=first.codes[0][0], case=first.case, settings=small) == 1
    assert api.decisions_made(REVIEWER, settings=small) == 2  # the fixture's accept and add, not park's
    at = review_page()
    assert my_decisions(at) == 2


def test_the_estimate_names_no_figure_before_the_first_retrain(small: Settings) -> None:
    assert api.last_retrain(small) is None
    said = retrain_gate.estimate(small)
    assert "아직 재학습한 적이 없어" in said and not re.search(r"\d", said)
    (small.data_dir / "last-retrain.json").write_text('{"seconds": "soon"}')  # not a record: data
    assert api.last_retrain(small) is None and retrain_gate.estimate(small) == said
    assert retrain_gate.duration_ko(44.6) == "45초" and retrain_gate.duration_ko(202.3) == "3분 22초"
    assert retrain_gate.duration_ko(120) == "2분"
    at = review_page()
    assert said in sidebar_text(at) and "약 1분" not in sidebar_text(at)


@pytest.mark.slow  # refits the fast coder on the gold sentences (~20 s)
def test_after_retrain_the_decisions_stay_counted_the_estimate_is_the_last_retrain_and_the_table_fits(
    small: Settings,
) -> None:
    queue = api.review_queue(settings=small)
    for item in queue[:3]:  # the coder rejects every suggestion of three passages
        for category, _, _ in item.codes:
            api.decide(CODER, item.passage_id, category, "reject", settings=small)
    api.decide(CODER, queue[3].passage_id, queue[3].codes[0][0], "accept", settings=small)
    at = review_page()
    made = my_decisions(at)
    before = api.review_progress(settings=small)
    assert made == api.decisions_made(CODER, settings=small) == sum(len(it.codes) for it in queue[:3]) + 1

    at.sidebar.button(key="rv_retrain").click().run(timeout=900)
    assert not at.exception and not at.error, [e.value for e in [*at.exception, *at.error]]
    after = api.review_progress(settings=small)
    # the tester's case: the retrained coder no longer suggests the rejected codes, so the count of
    # decided suggestions falls – the count of the coder's decisions does not
    assert after["codes_decided"] < before["codes_decided"], (before, after)
    assert my_decisions(at) == made == api.decisions_made(CODER, settings=small)

    # the estimate is now the whole last retrain's time, as the confirmation said it
    last = api.last_retrain(small)
    record = json.loads((small.data_dir / "last-retrain.json").read_text())
    assert last is not None and last["seconds"] == record["seconds"] > 0 and last["decisions"] >= 4
    took = retrain_gate.duration_ko(last["seconds"])
    assert f"지난 재학습은 모두 {took} 걸렸습니다" in sidebar_text(at)
    assert any(f"모두 {took}" in s.value for s in at.success), [s.value for s in at.success]

    # the change table: every column has a width, together within a 1366-px window's main area
    (moved,) = [e for e in at.expander if e.label.startswith("재학습으로 바뀐 자동 제안")]
    assert "없음" not in moved.label  # the rejected suggestions went
    (table,) = moved.dataframe
    config = json.loads(table.proto.columns)
    shown = list(table.value.columns)
    assert set(shown) <= set(config) and all(isinstance(config[c].get("width"), int) for c in shown)
    assert sum(config[c]["width"] for c in shown) <= TABLE_BUDGET_PX
