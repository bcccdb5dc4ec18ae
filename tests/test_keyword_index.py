"""BM25 over passages: an interview answer is read with its question."""

from __future__ import annotations

from kb.store.keyword_index import KeywordIndex, corpus_fingerprint


def passages(question: str) -> list[dict]:
    return [
        {
            "id": "a",
            "text": "아, 그게 제일 골치였죠. 해마다 의회에서 깎였어요.",
            "text_hash": "1",
            "question": question,
        },
        {"id": "b", "text": "주민 참여가 해마다 늘었어요.", "text_hash": "2", "question": None},
        {"id": "c", "text": "인력이 늘 부족했어요.", "text_hash": "3"},
    ]


def test_an_answer_is_found_by_the_words_of_its_question() -> None:
    """ "그게 제일 골치였죠" names no topic; its question does (a tester's "예산 확보의 어려움" missed it)."""
    index = KeywordIndex.build(passages("예산 확보는 어떠셨어요?"))
    assert [pid for pid, _ in index.search("예산 확보의 어려움", 3)] == ["a"]
    assert [pid for pid, _ in index.search("인력 부족", 3)][0] == "c"


def test_a_changed_question_changes_the_fingerprint() -> None:
    """The index is rebuilt when an answer's question changes (a transcript re-added with another)."""
    assert corpus_fingerprint(passages("예산은요?")) != corpus_fingerprint(passages("인력은요?"))
    assert corpus_fingerprint(passages("예산은요?")) == corpus_fingerprint(passages("예산은요?"))
