"""Per-document calibration from review decisions (kb.coding.doc_calibration): a document's
decisions move the thresholds of that document's passages only, in the reviewed direction, boundedly,
and the calibration is saved and loaded with the coder."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sample_kb import small_fast_coder

from kb.coding import doc_calibration as dc
from kb.coding.coder import Coder, coder_dir
from kb.coding.data import load_gold
from kb.settings import get_settings


def decisions(doc: str, category: str, status: str, n: int) -> list[dict]:
    return [{"passage_id": f"{doc}:{category}{i}", "category": category, "status": status} for i in range(n)]


def test_shifts_are_bounded_grow_with_decisions_and_stay_in_their_document() -> None:
    one = dc.estimate(decisions("a", "leadership", "rejected", 1))
    many = dc.estimate(decisions("a", "leadership", "rejected", 50))
    assert set(one) == {"a"}  # no other document gets a shift
    bound = dc.STRENGTH * (1 + dc.PRIOR / (1 + dc.GLOBAL_PRIOR)) / (1 + dc.PRIOR)
    assert 0 < one["a"]["leadership"] <= bound + 1e-6 < 0.1  # one decision moves little (6 decimals kept)
    assert 0 < one["a"]["*"] <= dc.STRENGTH / (1 + dc.GLOBAL_PRIOR) + 1e-6  # and the other categories less
    assert one["a"]["leadership"] < many["a"]["leadership"] < dc.STRENGTH  # fifty more, never past
    added = dc.estimate(
        decisions("a", "governance", "added", 5) + decisions("a", "leadership", "accepted", 5)
    )
    assert added["a"]["governance"] < 0  # a category the reviewer adds comes more easily
    assert added["a"]["*"] < 0 and abs(added["a"]["*"]) < abs(added["a"]["governance"])  # the lean, shrunk
    assert dc.estimate(decisions("a", "governance", "accepted", 20)) == {}  # all right: nothing moves
    # a passage's decision counts once, however many sentence rows it became
    rows = decisions("a", "leadership", "rejected", 1)
    assert dc.estimate(rows * 3) == one
    assert dc.document_of("reports/case:1:abc123") == "reports/case:1"
    assert dc.shifts_for(many, "b") is None and dc.shift_vector(None, ["x"]) == [0.0]


@pytest.fixture(scope="module")
def coder() -> Coder:
    return small_fast_coder()


def test_a_documents_reviews_move_its_codes_and_leave_other_documents_alone(coder: Coder) -> None:
    """Ten rejections of a category and ten additions of another in document A: in A a sentence
    coded with the first just above its threshold loses it and one just below the second's gains it;
    the same sentences in document B (or with no document) are coded exactly as before."""
    sentences = sorted({r["text"] for r in load_gold() if r["case"] not in {"gyeonggi_bis", "daangn"}})[:300]
    scored = coder.score_texts(sentences)
    conf = scored.conf
    above = list(zip(*np.nonzero((conf > 0.52) & (conf < 0.7)), strict=True))
    below = list(zip(*np.nonzero((conf > 0.3) & (conf < 0.48)), strict=True))
    (ia, ja) = above[0]
    (ib, jb) = next(p for p in below if p[1] != ja and p[0] != ia)
    rejected, added = scored.cats[ja], scored.cats[jb]
    coder.doc_calibration = dc.estimate(
        decisions("A", rejected, "rejected", 10) + decisions("A", added, "added", 10)
    )
    texts = [sentences[ia], sentences[ib]]

    def cats(docs: list[str | None] | None) -> list[set[str]]:
        return [{c["category"] for c in r["codes"]} for r in coder.code_texts(texts, docs=docs)]

    try:
        plain, in_a, in_b = cats(None), cats(["A", "A"]), cats(["B", "B"])
        assert rejected in plain[0] and rejected not in in_a[0]
        assert added not in plain[1] and added in in_a[1]
        assert coder.code_texts(texts, docs=["B", "B"]) == coder.code_texts(texts) and in_b == plain
    finally:
        coder.doc_calibration = {}


def test_the_calibration_is_saved_and_loaded_with_the_coder(coder: Coder, tmp_path) -> None:
    settings = get_settings(data_dir=tmp_path / "data")
    calibration = dc.estimate(
        decisions("doc1", "leadership", "rejected", 4) + decisions("doc2", "governance", "added", 2)
    )
    coder.doc_calibration = calibration
    try:
        coder.save(coder_dir(settings), stamp="test")
    finally:
        coder.doc_calibration = {}
    again = Coder.load(settings, codebook=coder.book)
    assert again.doc_calibration == calibration and set(calibration) == {"doc1", "doc2"}
    # a tampered file is refused, never applied
    path = coder_dir(settings) / dc.FILE
    body = json.loads(path.read_text(encoding="utf-8"))
    body["documents"]["doc1"]["leadership"] = 5.0
    path.write_text(json.dumps(body), encoding="utf-8")
    with pytest.raises(ValueError):
        Coder.load(settings, codebook=coder.book)
