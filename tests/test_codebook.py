"""The real codebook is complete, and every kind of editing mistake gives a one-line message
that names the entry, so researchers can fix the YAML themselves."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest
import yaml

from kb.coding.codebook import (
    POLARITIES,
    Codebook,
    codebook_to_frame,
    load_codebook,
    parse_codebook,
    unproducible_cues,
)
from kb.errors import CodebookMissing, InvalidCodebook, KbError
from kb.settings import get_settings

EXPECTED = {
    "internal": [
        "leadership",
        "human_resources",
        "financial_resources",
        "org_structure",
        "org_culture",
        "institutional_basis",
    ],
    "external": ["governance", "resident_acceptance"],
    "platform": ["user_centricity", "ict_level", "accessibility_convenience", "output_quality"],
    "other": ["regional_disparity", "public_private_competition"],
}
REAL_PATH = get_settings().codebook_path


@pytest.fixture(scope="module")
def book() -> Codebook:
    return load_codebook(REAL_PATH)


@pytest.fixture()
def raw() -> dict:
    return yaml.safe_load(REAL_PATH.read_text(encoding="utf-8"))


def write(tmp_path: Path, data: dict | str) -> Path:
    path = tmp_path / "codebook.yaml"
    text = data if isinstance(data, str) else yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    path.write_text(text, encoding="utf-8")
    return path


# ---- the real codebook ------------------------------------------------------------------------
def test_real_codebook_has_the_contract_categories(book: Codebook) -> None:
    assert [d.id for d in book.dimensions] == list(EXPECTED)
    assert book.ids == [cid for ids in EXPECTED.values() for cid in ids]
    for dim, ids in EXPECTED.items():
        assert [c.id for c in book.in_dimension(dim)] == ids
    assert set(book.by_id) == set(book.ids)


def test_every_category_is_fully_described(book: Codebook) -> None:
    for cat in book.categories:
        assert cat.label_ko and cat.label_en and cat.definition and cat.definition_en, cat.id
        assert cat.include and cat.exclude, cat.id
        assert 15 <= len(cat.cues) <= 40, (cat.id, len(cat.cues))
        assert 4 <= len(cat.examples) <= 8, (cat.id, len(cat.examples))
        polarities = {e.polarity for e in cat.examples}
        assert polarities <= set(POLARITIES) and len(polarities) >= 2, cat.id
        assert all(e.source for e in cat.examples), cat.id


def test_exclusion_rules_point_to_existing_categories(book: Codebook) -> None:
    for cat in book.categories:
        for rule in cat.exclude:
            targets = re.findall(r"→ ?([a-z_]+)", rule)
            assert targets, f"{cat.id}: exclusion names no category: {rule}"
            for target in targets:
                assert target in book.by_id and target != cat.id, (cat.id, rule)


def test_examples_never_come_from_held_out_chapters(book: Codebook) -> None:
    for cat in book.categories:
        for ex in cat.examples:
            assert not re.search(r"제[456]장", ex.source), (cat.id, ex.source)


def test_quoted_examples_are_in_the_report(book: Codebook) -> None:
    source = get_settings().source_path
    if not source.is_file():
        pytest.skip("report text not available")
    squash = lambda s: re.sub(r"\s+", "", unicodedata.normalize("NFC", s))  # noqa: E731
    report = squash(source.read_text(encoding="utf-8"))
    for cat in book.categories:
        for ex in cat.examples:
            if ex.source != "작성 예시":
                assert squash(ex.text) in report, (cat.id, ex.text[:40])


def test_polarity_cues_are_present(book: Codebook) -> None:
    assert set(book.polarity_cues) == {"obstacle", "success", "negation"}
    assert {"부족", "미흡", "어렵다", "낮다"} <= set(book.polarity_cues["obstacle"])
    assert {"성공", "향상", "높다"} <= set(book.polarity_cues["success"])
    assert {"않다", "없다", "안"} <= set(book.polarity_cues["negation"])


def test_cues_are_lemmas_kiwi_produces(book: Codebook) -> None:
    assert unproducible_cues(book) == []


def test_unproducible_cue_is_reported(book: Codebook) -> None:
    cat = book.categories[0]
    broken = Codebook(book.dimensions, (cat.__class__(**{**cat.__dict__, "cues": ("접근성",)}),))
    assert unproducible_cues(broken) == [(cat.id, "접근성")]


def test_frame_for_the_app(book: Codebook) -> None:
    df = codebook_to_frame(book)
    assert list(df.columns) == ["id", "dimension", "label_ko", "label_en", "definition"]
    assert len(df) == 14 and df["definition"].str.len().min() > 20


def test_default_path_follows_settings(tmp_path: Path, raw: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, raw)
    monkeypatch.setenv("KB_CORPUS_DIR", str(tmp_path))
    assert load_codebook().path == tmp_path / "codebook.yaml"
    assert len(codebook_to_frame()) == 14


# ---- researchers' edits -----------------------------------------------------------------------
def test_adding_a_new_code_works(tmp_path: Path, raw: dict) -> None:
    raw["categories"].append(
        {
            "id": "digital_literacy_training",
            "dimension": "external",
            "label_ko": "주민 디지털 교육",
            "label_en": "Residents' digital training",
            "definition": "주민을 대상으로 한 공공 플랫폼 이용 교육과 그 효과.",
            "cues": ["교육", "리터러시"],
            "examples": [{"text": "주민 대상 스마트폰 교육을 열었다.", "polarity": "neutral"}],
        }
    )
    book = load_codebook(write(tmp_path, raw))
    assert len(book.ids) == 15
    assert book.by_id["digital_literacy_training"].dimension == "external"
    assert book.by_id["digital_literacy_training"].exclude == ()


def test_hangul_is_normalised_to_nfc(tmp_path: Path, raw: dict) -> None:
    raw["categories"][0]["label_ko"] = unicodedata.normalize("NFD", "리더십")
    assert load_codebook(write(tmp_path, raw)).categories[0].label_ko == "리더십"


def _set(path: list, value: object):
    def edit(data: dict) -> None:
        target = data
        for key in path[:-1]:
            target = target[key]
        if value is KeyError:
            del target[path[-1]]
        else:
            target[path[-1]] = value

    return edit


BAD_EDITS = {
    "unknown dimension": (
        _set(["categories", 1, "dimension"], "internl"),
        r"'human_resources'.*unknown dimension 'internl'",
    ),
    "duplicate id": (_set(["categories", 2, "id"], "leadership"), r"'leadership'.*duplicate id"),
    "empty definition": (_set(["categories", 3, "definition"], "  "), r"'org_structure'.*empty definition"),
    "missing label": (
        _set(["categories", 4, "label_ko"], KeyError),
        r"'org_culture'.*missing label.*label_ko",
    ),
    "missing english label": (
        _set(["categories", 4, "label_en"], ""),
        r"'org_culture'.*missing label.*label_en",
    ),
    "bad polarity": (
        _set(["categories", 5, "examples", 1, "polarity"], "positive"),
        r"'institutional_basis' example 2.*bad polarity 'positive'",
    ),
    "non-list cues": (_set(["categories", 6, "cues"], "협업, 협력"), r"'governance'.*'cues' must be a list"),
    "nested cue": (_set(["categories", 6, "cues"], [["협업"]]), r"'governance'.*'cues' item 1"),
    "misspelt field": (
        _set(["categories", 7, "definiton"], "x"),
        r"'resident_acceptance'.*unknown field 'definiton'",
    ),
    "bad id": (_set(["categories", 8, "id"], "User Centricity"), r"'User Centricity'.*id must be"),
    "example text missing": (
        _set(["categories", 9, "examples", 0, "text"], ""),
        r"'ict_level' example 1.*text",
    ),
    "dimension label": (
        _set(["dimensions", 0, "label_en"], KeyError),
        r"dimension 'internal'.*missing label",
    ),
    "bad polarity key": (
        _set(["polarity_cues", "positive"], ["좋다"]),
        r"polarity_cues.*unknown field 'positive'",
    ),
    "no categories": (_set(["categories"], []), r"categories: must be a non-empty list"),
}


@pytest.mark.parametrize("name", list(BAD_EDITS))
def test_each_mistake_gives_a_one_line_message(tmp_path: Path, raw: dict, name: str) -> None:
    edit, pattern = BAD_EDITS[name]
    edit(raw)
    with pytest.raises(InvalidCodebook) as info:
        load_codebook(write(tmp_path, raw))
    message = str(info.value)
    assert "\n" not in message
    assert re.search(pattern, message), message
    assert isinstance(info.value, KbError)


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    text = REAL_PATH.read_text(encoding="utf-8").splitlines()
    line = next(i for i, t in enumerate(text) if "label_en: Leadership" in t)
    text[line] = "    label_en: [Leadership"
    with pytest.raises(InvalidCodebook) as info:
        load_codebook(write(tmp_path, "\n".join(text)))
    message = str(info.value)
    assert "YAML syntax error at line" in message and "\n" not in message
    reported = int(re.search(r"line (\d+)", message).group(1))
    assert abs(reported - (line + 1)) <= 2, (reported, line + 1)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CodebookMissing, match=r"codebook not found: .*nowhere\.yaml"):
        load_codebook(tmp_path / "nowhere.yaml")


def test_not_a_mapping() -> None:
    with pytest.raises(InvalidCodebook, match="must be a mapping"):
        parse_codebook(["leadership"])
