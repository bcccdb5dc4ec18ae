"""Boundary rules for the categories that interview speech confuses most: resident_acceptance
(over-coded wherever 주민, 이용자 or 참여 appears) against governance and user_centricity, and
'반영' between user_centricity and output_quality. The rules are for human coders and reviewers
(the coder's view of the codebook carries no exclusions), so they must stay visible wherever the
codebook is read and must name real categories."""

from __future__ import annotations

import csv
import io
import re

from kb.coding.book import load_view
from kb.coding.codebook import load_codebook
from kb.exchange.refiqda import codebook_csv


def _rule(category: str, *words: str) -> str:
    book = load_codebook()
    return next(r for r in book.by_id[category].exclude if all(w in r for w in words))


def test_partners_joining_are_governance_not_resident_acceptance() -> None:
    rule = _rule("resident_acceptance", "가맹점")
    assert re.search(r"→ ?governance", rule) and "주민" in rule


def test_a_survey_procedure_is_user_centricity_its_result_resident_acceptance() -> None:
    rule = _rule("resident_acceptance", "만족도 조사")
    assert re.search(r"→ ?user_centricity", rule) and "resident_acceptance" in rule


def test_names_are_not_evidence_of_acceptance() -> None:
    assert "증거가 아니다" in _rule("resident_acceptance", "이름")


def test_acting_on_opinions_is_split_by_what_they_change() -> None:
    rule = _rule("user_centricity", "반영", "정책")
    assert "이 범주(user_centricity)" in rule and "→ output_quality" in rule


def test_the_rules_are_exported_and_leave_the_coder_alone() -> None:
    book = load_codebook()
    rows = list(csv.DictReader(io.StringIO(codebook_csv(book).decode("utf-8-sig"))))
    resident = next(r for r in rows if r["description"].startswith("id: resident_acceptance"))
    assert _rule("resident_acceptance", "가맹점") in resident["description"]
    # the coder reads definitions, inclusions, cues and examples only: exclusions are for people
    view = load_view().get("resident_acceptance")
    assert not any("가맹점" in r for r in view.include)
