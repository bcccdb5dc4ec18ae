"""Reviewing from the terminal through the real CLI app: `kb reviews queue|progress|decide|decisions|
attention|retrain`, `kb cases`, `kb case` and `kb cell`, on the small knowledge base of fixtures_kb
(real SQLite review store, real Chroma). Tests that record decisions work on a private copy."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fixtures_kb import CODES, REVIEWER, copy_kb

from kb import api
from kb.cli.common import table, width
from kb.errors import UnknownFilterValue
from kb.settings import Settings

CODER = "박코더"


@pytest.fixture
def review_kb(kb_settings: Settings, tmp_path: Path) -> Iterator[Settings]:
    """A private copy of the small knowledge base: these tests write decisions."""
    from kb.store.kbase import forget

    settings = copy_kb(kb_settings, tmp_path / "kb")
    yield settings
    forget(settings)


def ok(result) -> str:
    assert result.exit_code == 0, result.stderr or result.output
    return result.stdout


def jsonl(result) -> list[dict]:
    return [json.loads(line) for line in ok(result).splitlines()]


def one_error_line(result) -> str:
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert result.stdout == ""
    return lines[0]


def test_queue_decide_progress_and_decisions_round_trip(kb_cli, review_kb: Settings) -> None:
    queue = jsonl(kb_cli("reviews", "queue", "--json", "--limit", "0", settings=review_kb))
    assert len(queue) == len(CODES)  # every auto-coded passage, once
    got = sorted([(c["category"], c["polarity"], c["confidence"]) for c in q["codes"]] for q in queue)
    assert got == sorted(CODES.values())  # the fixture's auto codes, with polarity and confidence
    assert queue[0]["uncertainty"] == max(q["uncertainty"] for q in queue)  # most uncertain first
    assert [q["state"] for q in queue].count("done") == 1  # the fixture's one accepted code
    item = next(q for q in queue if q["n_codes"] == 1 and q["state"] == "todo")
    pid, (code,) = item["passage_id"], item["codes"]
    before = json.loads(ok(kb_cli("reviews", "progress", "--json", settings=review_kb)))
    assert before["passages"] == len(CODES) and before["done"] == 1

    said = ok(kb_cli("reviews", "decide", CODER, pid, "--action", "accept", "--factor", code["category"],
                     settings=review_kb))  # fmt: skip
    assert pid in said and CODER in said
    assert f"{code['category']}: accepted, {code['polarity']}" in said  # accept keeps the suggested polarity

    after = json.loads(ok(kb_cli("reviews", "progress", "--json", settings=review_kb)))
    assert after["done"] == before["done"] + 1 and after["todo"] == before["todo"] - 1
    assert after["codes_decided"] == before["codes_decided"] + 1
    mine = json.loads(ok(kb_cli("reviews", "progress", "--json", "--coder", CODER, settings=review_kb)))
    assert mine["done"] == 1 and mine["codes_decided"] == 1  # only this coder's decision
    assert mine["decisions_made"] == 1 and "decisions_made" not in after  # the coder's own log count
    mine_text = ok(kb_cli("reviews", "progress", "--coder", CODER, settings=review_kb))
    assert mine_text.splitlines()[-1] == f"codes decided by {CODER} in all: 1"
    text = ok(kb_cli("reviews", "progress", settings=review_kb))
    assert text.startswith(f"{after['done']} of {after['passages']} passages done")

    (line,) = jsonl(kb_cli("reviews", "decisions", pid, "--json", settings=review_kb))
    assert line["passage_id"] == pid and line["memo"] is None
    (decision,) = line["decisions"]
    assert decision["category"] == code["category"] and decision["status"] == "accepted"
    assert decision["coder"] == CODER and decision["polarity"] == code["polarity"]
    every = jsonl(kb_cli("reviews", "decisions", "--json", settings=review_kb))
    assert pid in {d["passage_id"] for d in every} and len(every) == 3  # with the fixture's two
    assert [d["passage_id"] for d in jsonl(kb_cli("reviews", "decisions", "--json", "--coder", CODER,
                                                  settings=review_kb))] == [pid]  # fmt: skip

    done = {q["passage_id"]: q for q in jsonl(kb_cli("reviews", "queue", "--json", "--limit", "0",
                                                     settings=review_kb))}  # fmt: skip
    assert done[pid]["done"] is True and done[pid]["state"] == "done" and done[pid]["n_decided"] == 1
    pending = jsonl(kb_cli("reviews", "queue", "--json", "--pending", "--limit", "0", settings=review_kb))
    assert pid not in {q["passage_id"] for q in pending} and len(pending) == len(CODES) - 2
    row = next(r for r in ok(kb_cli("reviews", "queue", "--limit", "0", settings=review_kb)).splitlines()
               if pid in r)  # fmt: skip
    assert " done " in row and f"{code['category']} {code['polarity']} {code['confidence']:.2f}" in row


def test_queue_limit_and_filters(kb_cli, kb_settings: Settings) -> None:
    result = kb_cli("reviews", "queue", "--limit", "2", settings=kb_settings)
    lines = ok(result).splitlines()
    assert lines[0].split()[:3] == ["#", "passage_id", "case"] and len(lines) == 3
    assert f"showing 2 of {len(CODES)} passages" in result.stderr
    by_factor = jsonl(kb_cli("reviews", "queue", "--json", "--factor", "leadership", settings=kb_settings))
    assert len(by_factor) == 2 and all("leadership" in {c["category"] for c in q["codes"]} for q in by_factor)
    by_case = jsonl(kb_cli("reviews", "queue", "--json", "--case", "daangn", settings=kb_settings))
    assert {q["case"] for q in by_case} == {"daangn"} and len(by_case) == 2


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (["--action", "approve", "--factor", "leadership"], "unknown action 'approve'"),
        (["--action", "accept", "--factor", "leadershp"], "unknown category 'leadershp'"),
        (["--action", "add", "--factor", "leadership", "--polarity", "good"], "unknown polarity 'good'"),
        (["--action", "accept"], "action 'accept' needs a category (the factor"),
        (["--action", "add", "--factor", "leadership"], "action 'add' needs a polarity"),
        (["--action", "memo"], "action 'memo' needs memo text"),
    ],
)
def test_a_bad_decision_is_one_error_line_and_records_nothing(
    kb_cli, review_kb: Settings, args: list[str], problem: str
) -> None:
    pid = next(q.passage_id for q in api.review_queue(settings=review_kb))
    before = api.current_decisions(settings=review_kb)
    assert problem in one_error_line(kb_cli("reviews", "decide", CODER, pid, *args, settings=review_kb))
    assert api.current_decisions(settings=review_kb) == before


def test_an_unknown_passage_or_empty_coder_is_refused(kb_cli, review_kb: Settings) -> None:
    line = one_error_line(kb_cli("reviews", "decide", CODER, "eunpyeong_forest:000000000000", "--action",
                                 "accept", "--factor", "leadership", settings=review_kb))  # fmt: skip
    assert "unknown passage 'eunpyeong_forest:000000000000'" in line
    pid = next(q.passage_id for q in api.review_queue(settings=review_kb))
    line = one_error_line(kb_cli("reviews", "decide", "  ", pid, "--action", "reject", "--factor",
                                 "leadership", settings=review_kb))  # fmt: skip
    assert "coder name must not be empty" in line
    missing = kb_cli("reviews", "decide", CODER, pid, "--factor", "leadership", settings=review_kb)
    assert missing.exit_code == 2 and "--action" in missing.output  # typer's usage error


def test_set_polarity_memo_and_passage_memo_read_back(kb_cli, review_kb: Settings) -> None:
    item = next(q for q in api.review_queue(settings=review_kb) if q.n_codes == 2)
    pid, (category, _, _) = item.passage_id, item.codes[1]
    said = ok(kb_cli("reviews", "decide", CODER, pid, "--action", "set_polarity", "--factor", category,
                     "--polarity", "neutral", "--memo", "평가 없는 서술", settings=review_kb))  # fmt: skip
    assert f"{category}: accepted, neutral, memo: 평가 없는 서술" in said
    said = ok(kb_cli("reviews", "decide", CODER, pid, "--action", "memo", "--memo", "예산 구절 – 표 확인",
                     settings=review_kb))  # fmt: skip
    assert said.rstrip().endswith("passage memo: 예산 구절 – 표 확인")
    (line,) = jsonl(kb_cli("reviews", "decisions", pid, "--json", settings=review_kb))
    assert line["memo"] == "예산 구절 – 표 확인"
    assert [(d["category"], d["status"], d["polarity"], d["memo"]) for d in line["decisions"]] == [
        (category, "accepted", "neutral", "평가 없는 서술")
    ]
    text = ok(kb_cli("reviews", "decisions", pid, settings=review_kb)).splitlines()
    assert text[0].split() == ["passage_id", "factor", "status", "polarity", "coder", "ts", "(UTC)", "memo"]
    assert CODER in text[1] and "평가 없는 서술" in text[1]
    assert text[-1] == f"passage memo {pid}: 예산 구절 – 표 확인"


def test_an_exported_decision_log_restores_into_an_empty_review_database(
    kb_cli, review_kb: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The README's off-machine backup: what `kb reviews export` writes after real review work
    (accepts and polarity changes of auto codes, whose `before` is the suggestion the coder saw, an
    added code, memos) is what `kb reviews import` reads back, decision for decision."""
    items = [q for q in api.review_queue(settings=review_kb) if q.n_decided == 0]
    first, second = items[0], items[1]
    category = first.codes[0][0]
    ok(kb_cli("reviews", "decide", CODER, first.passage_id, "--action", "accept", "--factor", category,
              settings=review_kb))  # fmt: skip
    ok(kb_cli("reviews", "decide", "lee", first.passage_id, "--action", "set_polarity", "--factor", category,
              "--polarity", "obstacle", "--memo", "원자료 확인", settings=review_kb))  # fmt: skip
    ok(kb_cli("reviews", "decide", CODER, second.passage_id, "--action", "add", "--factor", "governance",
              "--polarity", "success", settings=review_kb))  # fmt: skip
    ok(kb_cli("reviews", "decide", CODER, second.passage_id, "--action", "memo", "--memo", "표 확인",
              settings=review_kb))  # fmt: skip
    backup = tmp_path / "decisions.jsonl"
    result = kb_cli("reviews", "export", "-o", str(backup), settings=review_kb)
    lines = backup.read_text(encoding="utf-8").splitlines()
    assert f"exported {len(lines)} decisions" in ok(result) + result.stderr
    assert any(json.loads(x)["before"] and "confidence" in json.loads(x)["before"] for x in lines)

    ids = (first.passage_id, second.passage_id)
    live = jsonl(kb_cli("reviews", "decisions", *ids, "--json", settings=review_kb))
    monkeypatch.setenv("KB_REVIEWS_DB", str(tmp_path / "restored.sqlite"))  # a new, empty database
    said = ok(kb_cli("reviews", "import", str(backup), settings=review_kb))
    assert f"read {len(lines)} decisions, {len(lines)} new" in said and "restored.sqlite" in said
    assert jsonl(kb_cli("reviews", "decisions", *ids, "--json", settings=review_kb)) == live
    assert len(live[0]["decisions"]) == 1 and live[0]["decisions"][0]["coder"] == "lee"
    assert live[1]["memo"] == "표 확인"
    assert "0 new" in ok(kb_cli("reviews", "import", str(backup), settings=review_kb))
    ok(kb_cli("reviews", "export", "-o", str(tmp_path / "again.jsonl"), settings=review_kb))
    assert (tmp_path / "again.jsonl").read_text(encoding="utf-8").splitlines() == lines  # the same log


def test_a_passage_with_only_a_memo_is_listed_among_the_decided(kb_cli, review_kb: Settings) -> None:
    pid = next(q.passage_id for q in api.review_queue(settings=review_kb) if q.n_decided == 0)
    ok(
        kb_cli(
            "reviews", "decide", CODER, pid, "--action", "memo", "--memo", "조례명 확인", settings=review_kb
        )
    )
    every = jsonl(kb_cli("reviews", "decisions", "--json", settings=review_kb))
    assert {"passage_id": pid, "decisions": [], "memo": "조례명 확인"} in every
    assert f"passage memo {pid}: 조례명 확인" in ok(kb_cli("reviews", "decisions", settings=review_kb))


def test_decisions_of_passages_nobody_decided(kb_cli, kb_settings: Settings) -> None:
    pid = next(q.passage_id for q in api.review_queue(settings=kb_settings) if q.n_decided == 0)
    (line,) = jsonl(kb_cli("reviews", "decisions", pid, "--json", settings=kb_settings))
    assert line == {"passage_id": pid, "decisions": [], "memo": None}
    result = kb_cli("reviews", "decisions", pid, settings=kb_settings)
    assert ok(result) == "" and "no decisions on these passages" in result.stderr
    text = ok(kb_cli("reviews", "decisions", settings=kb_settings))  # the fixture's two decisions
    assert text.count(REVIEWER) == 2 and "예산의 단절성" in text


def test_an_unknown_factor_or_case_is_an_error_not_an_empty_queue(kb_cli, kb_settings: Settings) -> None:
    line = one_error_line(kb_cli("reviews", "queue", "--factor", "leadershp", settings=kb_settings))
    assert "unknown factor 'leadershp'" in line and "leadership" in line  # lists the valid ids
    line = one_error_line(kb_cli("reviews", "progress", "--case", "seoul", settings=kb_settings))
    assert "unknown case 'seoul'" in line and "daangn" in line
    with pytest.raises(UnknownFilterValue, match="unknown factor"):  # the app's queue gets the check too
        api.review_queue(factor="leadershp", settings=kb_settings)


def test_attention_lists_decisions_whose_passage_vanished(kb_cli, review_kb: Settings) -> None:
    from kb.review.decisions import open_store

    result = kb_cli("reviews", "attention", settings=review_kb)
    assert ok(result) == "" and "no decisions need attention" in result.stderr
    gone = "eunpyeong_forest:0123456789ab"  # a passage a rebuild of a changed document removed
    open_store(review_kb.reviews_db).record(CODER, gone, "f" * 64, "leadership", "accept")
    (row,) = jsonl(kb_cli("reviews", "attention", "--json", settings=review_kb))
    assert row["passage_id"] == gone and row["problem"] == "missing_passage" and row["coder"] == CODER
    assert row["reanchored_to"] is None
    text = ok(kb_cli("reviews", "attention", settings=review_kb)).splitlines()
    assert len(text) == 2 and gone in text[1] and "missing_passage" in text[1]


def test_last_retrain_says_none_yet_then_reads_the_record(kb_cli, review_kb: Settings) -> None:
    assert (
        ok(kb_cli("reviews", "last-retrain", settings=review_kb)).strip()
        == "no retrain yet on this knowledge base"
    )
    assert json.loads(ok(kb_cli("reviews", "last-retrain", "--json", settings=review_kb))) is None
    record = {"seconds": 21.4, "finished": 1796000000.0, "decisions": 12}  # as a retrain writes it
    (review_kb.data_dir / "last-retrain.json").write_text(json.dumps(record))
    assert json.loads(ok(kb_cli("reviews", "last-retrain", "--json", settings=review_kb))) == record
    said = ok(kb_cli("reviews", "last-retrain", settings=review_kb)).strip()
    assert said == "last retrain: 2026-11-30 00:53 UTC on 12 decisions, 21 s in all"


def test_retrain_while_a_build_runs_is_one_error_line(kb_cli, review_kb: Settings) -> None:
    from kb.store.generations import current_name
    from kb.store.locking import build_lock

    generation = current_name(review_kb.data_dir)
    with build_lock(review_kb.data_dir, "kb build"):
        line = one_error_line(kb_cli("reviews", "retrain", settings=review_kb))
    assert "is being built by pid" in line
    assert current_name(review_kb.data_dir) == generation


@pytest.mark.slow  # trains the fast coder models on the gold sentences (~15 s)
def test_retrain_learns_the_decisions(kb_cli, review_kb: Settings) -> None:
    item = next(q for q in api.review_queue(settings=review_kb) if q.n_decided == 0)
    ok(kb_cli("reviews", "decide", CODER, item.passage_id, "--action", "accept", "--factor", item.codes[0][0],
              settings=review_kb))  # fmt: skip
    assert api.agreement(review_kb)["learned_passages"] == 0
    before = suggested(review_kb)
    result = kb_cli("reviews", "retrain", settings=review_kb)
    summary, changed_line, *table = ok(result).strip().splitlines()
    assert summary.startswith("retrained on 3 review decisions") and "re-coded" in summary
    assert "[code] done" in result.stderr  # progress went to stderr, the summary alone to stdout
    assert api.agreement(review_kb)["learned_passages"] >= 1  # the new coder was trained on them
    last = json.loads(ok(kb_cli("reviews", "last-retrain", "--json", settings=review_kb)))
    assert last == api.last_retrain(review_kb) and last["decisions"] == 3 and last["seconds"] > 0
    # what moved, read from the codes files themselves: every changed passage is listed, no other
    after = suggested(review_kb)
    moved = {pid for pid in before.keys() | after.keys() if before.get(pid) != after.get(pid)}
    if not moved:
        assert changed_line == "no suggestion changed" and not table
        return
    reviewed = set(api.current_decisions(settings=review_kb))
    unreviewed = len(moved - reviewed)
    assert changed_line.startswith(f"suggestions changed on {unreviewed} passages nobody reviewed")
    assert f"and on {len(moved & reviewed)} reviewed passages" in changed_line
    assert table[0].split()[:3] == ["passage_id", "case", "reviewed"]
    assert {line.split()[0] for line in table[1:]} == moved
    listed = [line.split()[0] for line in table[1:]]
    assert listed == sorted(listed, key=lambda pid: pid not in reviewed)  # reviewed passages first


def suggested(settings: Settings) -> dict[str, set[tuple[str, str]]]:
    from kb.store.generations import current_dir

    rows = [
        json.loads(line) for line in (current_dir(settings.data_dir) / "codes.jsonl").read_text().splitlines()
    ]
    return {r["passage_id"]: {(c["category"], c["polarity"]) for c in r["codes"]} for r in rows}


def test_cases_and_one_case_profile(kb_cli, kb_settings: Settings) -> None:
    records = json.loads(ok(kb_cli("cases", "--json", settings=kb_settings)))
    assert [r["case"] for r in records] == api.cases(settings=kb_settings)["case"].tolist()
    assert {"eunpyeong_forest", "domestic_synthesis", "london_talk_london", "daangn"} == {
        r["case"] for r in records
    }
    text = ok(kb_cli("cases", settings=kb_settings)).splitlines()
    assert text[0].split() == ["case", "name_ko", "group", "platform_type", "organization"]
    assert any(line.startswith("daangn") and "당근마켓" in line for line in text)

    profile = json.loads(ok(kb_cli("case", "domestic_synthesis", "--json", settings=kb_settings)))
    assert profile["name_ko"] == "국내 사례 소결" and profile["passages"] == 3 and profile["coded"] == 3
    assert profile["codes"] == {"success": 1, "obstacle": 1, "recommendation": 0}
    (lead,) = profile["factors"]["success"]
    text = ok(kb_cli("case", "domestic_synthesis", settings=kb_settings))
    assert text.startswith("국내 사례 소결 (domestic_synthesis)")
    success = text.split("success factors:")[1].split("obstacles:")[0]
    assert lead["category"] == "leadership" and "leadership" in success and lead["exemplars"][0] in success
    assert (
        lead["quotes"][0] and " ".join(lead["quotes"][0].split())[:30] in success
    )  # the sentences, not only ids
    assert "financial_resources" in text.split("obstacles:")[1]
    assert "unknown case 'seoul'" in one_error_line(kb_cli("case", "seoul", settings=kb_settings))


def test_cell_lists_the_passages_the_matrix_counts(kb_cli, kb_settings: Settings) -> None:
    matrix = json.loads(ok(kb_cli("matrix", "--json", settings=kb_settings)))
    cell = next(
        r for r in matrix if r["category"] == "financial_resources" and r["case"] == "eunpyeong_forest"
    )
    ids = json.loads(ok(kb_cli("cell", "financial_resources", "eunpyeong_forest", "--json",
                               settings=kb_settings)))  # fmt: skip
    assert len(ids) == cell["passages"] == 2 and cell["exemplar"] in ids
    text = ok(kb_cli("cell", "financial_resources", "eunpyeong_forest", settings=kb_settings))
    listed = [line.split()[0] for line in text.splitlines() if line and not line.startswith(" ")]
    assert listed == ids and text.count("financial_resources(") == 2  # with the factor's codes and text
    shown = json.loads(ok(kb_cli("show", *ids, "--json", settings=kb_settings)))
    assert [r["id"] for r in shown] == ids and all(r["text"][:20] in text for r in shown)
    assert all(r["citation"] and "score" not in r for r in shown)
    full = ok(kb_cli("show", ids[0], settings=kb_settings))
    assert shown[0]["text"] in full and "financial_resources" in full
    assert "unknown passage id(s): nope:1" in one_error_line(kb_cli("show", "nope:1", settings=kb_settings))
    cited = ok(kb_cli("cite", *ids, settings=kb_settings)).splitlines()
    assert cited == [f"{pid}\t{api.citation(pid, settings=kb_settings)}" for pid in ids]
    assert all(line.split("\t")[1] for line in cited)  # every passage has a citation to give
    footnotes = ok(kb_cli("cite", "--full", *ids, settings=kb_settings)).splitlines()
    exported = api.export("csv", settings=kb_settings).drop_duplicates("passage_id")
    by_id = dict(zip(exported["passage_id"], exported["citation"], strict=True))
    assert footnotes == [f"{pid}\t{by_id[pid]}" for pid in ids if pid in by_id]  # as the exports cite
    assert "unknown passage id: nope:1" in one_error_line(
        kb_cli("cite", ids[0], "nope:1", settings=kb_settings)
    )
    none = kb_cli(
        "cell", "financial_resources", "eunpyeong_forest", "--polarity", "success", settings=kb_settings
    )
    assert ok(none) == "" and "no passages in this cell" in none.stderr
    assert "unknown factor 'budget'" in one_error_line(
        kb_cli("cell", "budget", "eunpyeong_forest", settings=kb_settings)
    )
    assert "unknown case 'seoul'" in one_error_line(
        kb_cli("cell", "leadership", "seoul", settings=kb_settings)
    )


def test_table_lines_up_korean_by_terminal_columns() -> None:
    rows = [
        {"name": "당근마켓", "n": 3, "memo": "short"},
        {"name": "Talk London", "n": 12, "memo": "예산의 단절성 " * 10},
        {"name": None, "n": 0, "memo": "a\nb"},
    ]
    lines = table(rows, max_width=30).splitlines()
    starts = [
        width(line[: line.index(memo)])
        for line, memo in zip(lines, ["memo", "short", "예산", "a b"], strict=True)
    ]
    assert len(set(starts)) == 1  # the memo column starts at one terminal column in every row
    assert lines[1].split()[:2] == ["당근마켓", "3"] and lines[2].split()[2] == "12"
    assert width(lines[2]) - starts[2] <= 30 and lines[2].endswith("…")
    ends = [
        width(line[: line.index(n) + len(n)]) for line, n in zip(lines[1:], ["3", "12", "0"], strict=True)
    ]
    assert len(set(ends)) == 1  # numbers are right-aligned


def test_table_never_cuts_an_id_a_coder_pastes_into_kb_reviews_decide() -> None:
    pid = "add-cheongsol_neulbom-cheongsol-neulbom-ec9b4326:41ed1153a9ec" + "0" * 20
    lines = table([{"passage_id": pid, "memo": "가" * 80}], max_width=30).splitlines()
    assert pid in lines[1] and lines[1].endswith("…")


def test_accepting_a_factor_nobody_suggested_or_added_is_refused(kb_cli, review_kb: Settings) -> None:
    """An accept, reject or re-polarisation needs a code on the passage: the auto suggestion or
    another coder's added one (a tester's `--action accept --factor ict_level` was exported as a
    human code at confidence 1.0)."""
    item = next(q for q in api.review_queue(settings=review_kb) if q.n_decided == 0)
    suggested = {c[0] for c in item.codes}
    absent = next(c for c in ("ict_level", "output_quality", "regional_disparity") if c not in suggested)
    before = api.current_decisions(settings=review_kb)
    for action in ("accept", "reject", "set_polarity"):
        extra = ["--polarity", "success"] if action == "set_polarity" else []
        line = one_error_line(kb_cli("reviews", "decide", CODER, item.passage_id, "--action", action,
                                     "--factor", absent, *extra, settings=review_kb))  # fmt: skip
        assert f"{absent!r} on {item.passage_id}: it was not suggested there" in line
        assert "add it with a polarity" in line and sorted(suggested)[0] in line
    assert api.current_decisions(settings=review_kb) == before
    # added by one coder, it can then be accepted by another
    ok(kb_cli("reviews", "decide", "lee", item.passage_id, "--action", "add", "--factor", absent,
              "--polarity", "obstacle", settings=review_kb))  # fmt: skip
    ok(kb_cli("reviews", "decide", CODER, item.passage_id, "--action", "accept", "--factor", absent,
              settings=review_kb))  # fmt: skip
    assert api.current_decisions(settings=review_kb)[item.passage_id][absent]["status"] in (
        "accepted",
        "added",
    )


def test_resolve_from_the_terminal_ends_a_dispute_and_nothing_else(kb_cli, review_kb: Settings) -> None:
    """`--action resolve` is for a unit two coders coded differently: elsewhere it is one error line;
    on a disagreement it records the final code, and `kb reviews agreement` says how it was resolved."""
    item = next(q for q in api.review_queue(settings=review_kb) if q.n_decided == 0)
    cat = item.codes[0][0]
    args = ("reviews", "decide", "pi", item.passage_id, "--action", "resolve", "--factor", cat)
    assert "nothing to resolve" in one_error_line(kb_cli(*args, "--polarity", "success", settings=review_kb))
    for coder, polarity in (("hana", "obstacle"), ("jun", "success")):
        ok(kb_cli("reviews", "decide", coder, item.passage_id, "--action", "set_polarity", "--factor", cat,
                  "--polarity", polarity, settings=review_kb))  # fmt: skip
    out = ok(kb_cli(*args, settings=review_kb))  # no polarity: the factor is not coded
    assert out.startswith("recorded decision") and f"{cat}: rejected" in out
    (row,) = json.loads(ok(kb_cli("reviews", "agreement", "--json", settings=review_kb)))["disagreements"]
    assert row["resolution"] == "rejected by pi"
    state = api.current_decisions([item.passage_id], settings=review_kb)[item.passage_id][cat]
    assert (state["status"], state["coder"]) == ("rejected", "pi")
