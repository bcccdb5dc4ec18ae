"""Segmentation: corpus → passages (real Kiwi, real report text)."""

from __future__ import annotations

import json
import re
from collections import Counter
from itertools import pairwise

import pytest

from kb.corpus.cases import CASES
from kb.errors import CorpusMissing
from kb.records import PASSAGE_FIELDS
from kb.settings import get_settings
from kb.text.segment import segment_text, sentence_spans
from kb.text.textclean import display_width
from pipelines import extract, segment

SOURCE = get_settings().source_path
pytestmark = pytest.mark.skipif(not SOURCE.is_file(), reason="report text (shared/seeds) not available")

CONTRACT_FIELDS = set(PASSAGE_FIELDS)
WORDS = [
    "플랫폼",
    "지방자치단체",
    "싱가포르",
    "거버넌스",
    "배달특급",
    "공공데이터",
    "활성화",
    "민간역량중개형",
    "정보제공형",
    "버스정보시스템",
    "암스테르담",
    "스마트시티",
    "당근마켓",
    "강남언니",
    "배달의",
    "주민참여",
    "이해관계자",
    "효과성",
    "지역화폐",
    "소상공인",
    "데이터",
    "인터뷰",
    "플랫폼의",
    "공공부문",
    "조직문화",
]


@pytest.fixture(scope="session")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("seg")
    extract.run(source=SOURCE, corpus_dir=root / "corpus")
    first = segment.run(corpus_dir=root / "corpus", data_dir=root / "data1")
    second = segment.run(corpus_dir=root / "corpus", data_dir=root / "data2")
    return root, first, second


def _raw_lines() -> list[str]:
    return SOURCE.read_text(encoding="utf-8").split("\n")


def _chapter_ranges(lines: list[str]) -> list[tuple[int, int]]:
    """Body of chapter 4 (from its 제1절) and of chapters 5–6 (from 제5장 제1절); title page left out."""

    def find(pattern: str, start: int = 0) -> int:
        return next(i for i in range(start, len(lines)) if re.search(pattern, lines[i].strip()))

    a = find(r"^제1절 사례 분석 개요$")
    b = find(r"^제5장$", a)
    c = find(r"^제1절 사례 분석 개요$", b)
    d = find(r"^본 장에서는 지방자치단체 플랫폼 실태조사", c)
    return [(a, b), (c, d)]


def test_passage_records_follow_contract(built):
    root, passages, _ = built
    assert 150 <= len(passages) <= 400
    docs = {p.stem: p.read_text(encoding="utf-8") for p in (root / "corpus" / "docs").glob("*.txt")}
    for p in passages:
        assert CONTRACT_FIELDS <= p.keys()
        assert p["case"] in CASES and p["kind"] in ("narrative", "quote", "summary", "table")
        assert docs[p["doc_id"]][p["start"] : p["end"]] == p["text"]
        assert p["section"] == " > ".join(p["section_path"])
        assert isinstance(p["page"], int) and 100 <= p["page"] <= 190
        for s, e in p["sentences"]:
            assert p["start"] <= s < e <= p["end"]
    on_disk = [json.loads(line) for line in open(root / "data1" / "passages.jsonl", encoding="utf-8")]
    assert on_disk == passages
    assert not [f for f in (root / "data1").iterdir() if f.name.startswith(".")]  # no temp file left


def test_every_case_has_passages_of_plausible_size(built):
    _, passages, _ = built
    count, chars = Counter(p["case"] for p in passages), Counter()
    for p in passages:
        chars[p["case"]] += len(p["text"])
    for case, info in CASES.items():
        small = info.platform_type == "overview"  # 제4·5장 제1절: two paragraphs and a table each
        assert count[case] >= (3 if small else 5), case
        assert chars[case] >= (800 if small else 2500), case


def test_passage_sizes_kinds_and_quotes(built):
    _, passages, _ = built
    for p in passages:
        if p["kind"] in ("narrative", "summary") and len(p["sentences"]) > 1:
            assert len(p["text"]) <= 700, p["id"]
        if p["kind"] == "quote":
            assert p["text"].startswith("“") and p["text"].rstrip(". ").endswith("”")
        if p["kind"] == "table":
            assert "\n" in p["text"] or len(p["text"]) < 700
    kinds = Counter(p["kind"] for p in passages)
    assert kinds["quote"] >= 8 and kinds["table"] >= 3 and kinds["summary"] >= 20
    assert {p["kind"] for p in passages if p["doc_id"].endswith("synthesis")} <= {"summary", "table"}


def test_common_words_never_split(built):
    _, passages, _ = built
    source = "\n".join(_raw_lines())
    for w in WORDS:
        for i in range(1, len(w)):
            if w[:i] + " " + w[i:] in source.replace("\n", "|"):
                continue  # the report itself spaces it this way inside a line (e.g. "버스정보 시스템")
            for sep in (" ", "\n"):
                hits = [p["id"] for p in passages if w[:i] + sep + w[i:] in p["text"]]
                assert not hits, (w[:i] + sep + w[i:], hits)


def _split_fragments(texts: list[str]) -> list[str]:
    """Adjacent words "A B" whose concatenation is a word seen elsewhere while A never stands alone."""
    words = Counter()
    tokens = []
    for t in texts:
        ws = [re.sub(r"^\W+|\W+$", "", w) for w in t.split()]
        tokens.append(ws)
        words.update(w for w in ws if w)
    bad = []
    for ws in tokens:
        for a, b in pairwise(ws):
            if a and b and re.fullmatch(r"[가-힣]+", a) and words[a] == 1 and words.get(a + b, 0) >= 1:
                bad.append(f"{a} {b}")
    return bad


def test_wrap_rejoining_leaves_no_split_fragments(built):
    _, passages, _ = built
    lines = _raw_lines()
    natural = "|".join(re.sub(r"\s+", " ", line) for line in lines)  # spacing the report uses inside a line
    bad = [f for f in _split_fragments([p["text"] for p in passages]) if f not in natural]
    assert len(bad) <= 2, bad
    # the detector is sensitive: joining the raw lines with spaces produces many fragments
    (a, b), _ = _chapter_ranges(lines)
    naive = " ".join(line.strip() for line in lines[a:b] if line.strip())
    assert len(_split_fragments([naive] + [p["text"] for p in passages])) > 50


def test_page_start_lines_rejoin_mid_word(built):
    """A line starting a page carries a spurious leading space, also in the middle of a word
    ("…플랫폼의 도" / " 입이"): only the previous line's trailing space may end the word."""
    _, passages, _ = built
    lines = _raw_lines()
    noise = re.compile(r"^(제\d장\b.*|\d{1,3}|지방자치단체 플랫폼 정부\(Platform Government\)의.*)$")
    pairs = []
    for a, b in _chapter_ranges(lines):
        kept = [line for line in lines[a:b] if line.strip() and not noise.match(line.strip())]
        for prev, cur in pairwise(kept):
            full_width_prev = display_width(prev.strip()) >= 70  # a body line, not a cell or heading
            if cur[:1].isspace() and prev == prev.rstrip() and full_width_prev:
                if re.search(r"[가-힣]$", prev) and re.match(r"\s+[‘“(]?[가-힣]", cur):
                    pairs.append((prev.split()[-1], cur.split()[0]))
    assert len(pairs) >= 10 and ("도", "입이") in pairs and ("수수", "료를") in pairs
    texts = [p["text"] for p in passages]
    for tail, head in pairs:
        assert any(tail + head in t for t in texts), tail + head
        assert not any(f"{tail} {head}" in t for t in texts), f"{tail} {head}"


def test_no_running_header_or_page_number_in_passages(built):
    _, passages, _ = built
    for p in passages:
        assert "❘" not in p["text"] and "효과적인 운영방안 연구" not in p["text"]
        assert not any(re.fullmatch(r"\d{1,3}", line.strip()) for line in p["text"].split("\n"))


def test_ids_stable_across_builds_and_other_documents(built, tmp_path):
    root, first, second = built
    assert [p["id"] for p in first] == [p["id"] for p in second]
    assert len({p["id"] for p in first}) == len(first)
    changed = SOURCE.read_text(encoding="utf-8").replace(
        "런던은 급격한 인구 증가와", "런던은 매우 급격한 인구 증가와", 1
    )
    src = tmp_path / "changed.txt"
    src.write_text(changed, encoding="utf-8")
    extract.run(source=src, corpus_dir=tmp_path / "corpus")
    third = segment.run(corpus_dir=tmp_path / "corpus", data_dir=tmp_path / "data")
    before = {p["id"] for p in first if p["doc_id"] != "london_talk_london"}
    after = {p["id"] for p in third if p["doc_id"] != "london_talk_london"}
    assert before == after
    london_before = {p["id"] for p in first if p["doc_id"] == "london_talk_london"}
    london_after = {p["id"] for p in third if p["doc_id"] == "london_talk_london"}
    assert len(london_before - london_after) == 1


def test_passages_cover_body_sentences_of_chapters_4_to_6(built):
    _, passages, _ = built
    lines = _raw_lines()
    body = "".join("".join(lines[a:b]) for a, b in _chapter_ranges(lines))
    body = re.sub(r"\s+", "", body)
    sentences = [s for s in re.findall(r".+?[다요]\.", body) if len(s) >= 15]
    covered = re.sub(r"\s+", "", "".join(p["text"] for p in passages))
    found = sum(1 for s in sentences if s[-30:] in covered)
    assert len(sentences) > 600
    assert found / len(sentences) >= 0.97


def test_segment_text_quotes_speakers_and_long_paragraphs():
    long_para = " ".join(
        f"이것은 {i}번째 문장으로 플랫폼 정부의 운영에 관한 설명을 담고 있다." for i in range(40)
    )
    quote = "“저희는 이용자를 먼저 생각해요. 그래서 빨리 바꿔요.”"
    text = f"면담자: 플랫폼을 어떻게 운영하십니까?\n\n{quote}\n\n{long_para}"
    out = segment_text(text)
    assert out[0]["kind"] == "quote" and out[0]["speaker"] == "면담자"
    assert out[1]["kind"] == "quote" and out[1]["text"].endswith("바꿔요.”")
    rest = out[2:]
    assert len(rest) >= 3 and all(len(p["text"]) <= 600 for p in rest)
    for p in out:
        assert text[p["start"] : p["end"]] == p["text"]
    ends = {e for p in rest for _, e in p["sentences"]}
    assert all(p["end"] in ends for p in rest)  # cut only at sentence ends


def test_sentence_spans_keep_inline_quotations_whole():
    text = "그는 “좋다. 정말 좋다.”라고 말했다. “당근마켓”의 경우에는 다르다."
    spans = [text[s:e] for s, e in sentence_spans(text)]
    assert spans == ["그는 “좋다. 정말 좋다.”라고 말했다.", "“당근마켓”의 경우에는 다르다."]


def test_speech_quoted_without_marks_stays_in_its_sentence():
    said = "주민분들이 시끄럽다, 골목이 막힌다 이런 민원을 많이 넣으세요. 그래서 시간제를 뒀어요."
    assert [said[s:e] for s, e in sentence_spans(said)] == [
        "주민분들이 시끄럽다, 골목이 막힌다 이런 민원을 많이 넣으세요.",
        "그래서 시간제를 뒀어요.",
    ]
    apart = "그건 좋았다 그래서 계속했다"  # an unpunctuated end before another sentence stays an end
    assert [apart[s:e] for s, e in sentence_spans(apart)] == ["그건 좋았다", "그래서 계속했다"]


def test_missing_corpus_is_a_clear_error(tmp_path):
    with pytest.raises(CorpusMissing) as info:
        segment.run(corpus_dir=tmp_path / "nowhere", data_dir=tmp_path / "data")
    assert "\n" not in str(info.value) and "extract" in str(info.value)
    assert not (tmp_path / "data").exists()


def test_progress_bar_runs(built, capsys):
    root, first, _ = built
    again = segment.run(corpus_dir=root / "corpus", data_dir=root / "data3", progress=True)
    assert [p["id"] for p in again] == [p["id"] for p in first]
    assert "segment" in capsys.readouterr().err


def test_a_long_text_reaches_kiwi_in_pieces_cut_at_sentence_ends_and_segments_the_same() -> None:
    """Kiwi's time grows faster than its input (a 7 MB one-line transcript never finished), so a long
    paragraph goes to it in pieces of about KIWI_PIECE characters, cut where a sentence ends."""
    from kb.text.segment import KIWI_PIECE, _pieces

    sentences = [f"{i}번째 답변에서 예산이 {'매우 ' * (i % 7)}부족했다고 말했습니다." for i in range(900)]
    text = " ".join(sentences)
    pieces = _pieces(text)
    assert len(pieces) > 5 and pieces[0][0] == 0 and pieces[-1][1] == len(text)
    assert all(a_end == b_start for (_, a_end), (b_start, _) in pairwise(pieces))  # nothing lost
    assert all(end - start <= KIWI_PIECE for start, end in pieces)
    assert all(text[end - 2 : end] == ". " for _, end in pieces[:-1])  # cut after a sentence end
    spans = sentence_spans(text)
    assert [text[s:e] for s, e in spans] == sentences
    assert _pieces(text, len(text)) == [(0, len(text))]
