"""The codebook (corpus/codebook.yaml) as typed data, with strict validation.

Researchers edit the YAML by hand (add a code, reword a definition), so every mistake must be
reported as one line that names the entry and the problem, instead of surfacing later as a
KeyError in the coder or the app. Validation checks structure only; whether cues are lemmas
that Kiwi actually produces is checked separately by `unproducible_cues` (it needs Kiwi).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from kb.errors import CodebookMissing, InvalidCodebook
from kb.records import POLARITIES

if TYPE_CHECKING:
    import pandas as pd

POLARITY_CUE_KEYS = ("obstacle", "success", "negation")
_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_TOP_FIELDS = {"version", "dimensions", "categories", "polarity_cues"}
_DIMENSION_FIELDS = {"id", "label_ko", "label_en", "notes"}
_CATEGORY_FIELDS = set(
    "id dimension label_ko label_en definition definition_en include exclude cues examples notes".split()
)
_EXAMPLE_FIELDS = {"text", "polarity", "source", "notes"}


@dataclass(frozen=True)
class Dimension:
    id: str
    label_ko: str
    label_en: str


@dataclass(frozen=True)
class Example:
    text: str
    polarity: str
    source: str = ""


@dataclass(frozen=True)
class Category:
    id: str
    dimension: str
    label_ko: str
    label_en: str
    definition: str
    definition_en: str = ""
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    cues: tuple[str, ...] = ()
    examples: tuple[Example, ...] = ()


@dataclass(frozen=True)
class Codebook:
    dimensions: tuple[Dimension, ...]
    categories: tuple[Category, ...]
    polarity_cues: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    version: int = 1
    path: Path | None = None

    @property
    def ids(self) -> list[str]:
        return [c.id for c in self.categories]

    @property
    def by_id(self) -> dict[str, Category]:
        return {c.id: c for c in self.categories}

    @property
    def dimension_by_id(self) -> dict[str, Dimension]:
        return {d.id: d for d in self.dimensions}

    def in_dimension(self, dimension_id: str) -> list[Category]:
        return [c for c in self.categories if c.dimension == dimension_id]


# ---- parsing --------------------------------------------------------------------------------
def _text(value: Any) -> str:
    """NFC, stripped: passages are NFC, and a macOS editor may save NFD Hangul."""
    return unicodedata.normalize("NFC", str(value)).strip() if value is not None else ""


def _unknown(where: str, raw: Mapping[str, Any], allowed: set[str]) -> None:
    extra = sorted(set(map(str, raw)) - allowed)
    if extra:
        raise InvalidCodebook(f"{where}: unknown field {extra[0]!r} (allowed: {', '.join(sorted(allowed))})")


def _required(where: str, raw: Mapping[str, Any], name: str, problem: str) -> str:
    value = _text(raw.get(name))
    if not value:
        raise InvalidCodebook(f"{where}: {problem} ({name!r} is missing or empty)")
    return value


def _string_list(where: str, raw: Mapping[str, Any], name: str) -> tuple[str, ...]:
    value = raw.get(name)
    if value is None:
        return ()
    if not isinstance(value, list):
        raise InvalidCodebook(f"{where}: {name!r} must be a list of strings, got {type(value).__name__}")
    out: list[str] = []
    for i, item in enumerate(value, 1):
        if isinstance(item, (dict, list)) or not _text(item):
            raise InvalidCodebook(f"{where}: {name!r} item {i} must be a non-empty string, got {item!r}")
        if _text(item) not in out:
            out.append(_text(item))
    return tuple(out)


def _example(where: str, raw: Any) -> Example:
    if not isinstance(raw, Mapping):
        raise InvalidCodebook(f"{where}: must be a mapping with 'text' and 'polarity', got {raw!r}")
    _unknown(where, raw, _EXAMPLE_FIELDS)
    text = _required(where, raw, "text", "empty example text")
    polarity = _text(raw.get("polarity"))
    if polarity not in POLARITIES:
        raise InvalidCodebook(f"{where}: bad polarity {polarity!r} (use {', '.join(POLARITIES)})")
    return Example(text, polarity, _text(raw.get("source")))


def _dimension(i: int, raw: Any) -> Dimension:
    if not isinstance(raw, Mapping):
        raise InvalidCodebook(f"dimension {i}: must be a mapping with id, label_ko, label_en")
    did = _text(raw.get("id"))
    where = f"dimension {did!r}" if did else f"dimension {i}"
    if not _ID.match(did):
        raise InvalidCodebook(f"{where}: id must be lower-case letters, digits and _ (got {did!r})")
    _unknown(where, raw, _DIMENSION_FIELDS)
    return Dimension(
        did,
        _required(where, raw, "label_ko", "missing label"),
        _required(where, raw, "label_en", "missing label"),
    )


def _category(i: int, raw: Any, dimensions: Mapping[str, Dimension]) -> Category:
    if not isinstance(raw, Mapping):
        raise InvalidCodebook(f"category {i}: must be a mapping (id, dimension, label_ko, ...), got {raw!r}")
    cid = _text(raw.get("id"))
    where = f"category {cid!r}" if cid else f"category {i}"
    if not _ID.match(cid):
        raise InvalidCodebook(f"{where}: id must be lower-case letters, digits and _ (got {cid!r})")
    _unknown(where, raw, _CATEGORY_FIELDS)
    dim = _text(raw.get("dimension"))
    if dim not in dimensions:
        raise InvalidCodebook(f"{where}: unknown dimension {dim!r} (known: {', '.join(dimensions)})")
    examples = raw.get("examples")
    if examples is not None and not isinstance(examples, list):
        raise InvalidCodebook(f"{where}: 'examples' must be a list, got {type(examples).__name__}")
    return Category(
        id=cid,
        dimension=dim,
        label_ko=_required(where, raw, "label_ko", "missing label"),
        label_en=_required(where, raw, "label_en", "missing label"),
        definition=_required(where, raw, "definition", "empty definition"),
        definition_en=_text(raw.get("definition_en")),
        include=_string_list(where, raw, "include"),
        exclude=_string_list(where, raw, "exclude"),
        cues=_string_list(where, raw, "cues"),
        examples=tuple(_example(f"{where} example {j}", e) for j, e in enumerate(examples or [], 1)),
    )


def _polarity_cues(raw: Any) -> dict[str, tuple[str, ...]]:
    if raw is None:
        return {k: () for k in POLARITY_CUE_KEYS}
    if not isinstance(raw, Mapping):
        raise InvalidCodebook(f"polarity_cues: must be a mapping with keys {', '.join(POLARITY_CUE_KEYS)}")
    _unknown("polarity_cues", raw, set(POLARITY_CUE_KEYS))
    return {k: _string_list("polarity_cues", raw, k) for k in POLARITY_CUE_KEYS}


def _list_of(name: str, data: Mapping[str, Any]) -> list[Any]:
    value = data.get(name)
    if not isinstance(value, list) or not value:
        raise InvalidCodebook(f"{name}: must be a non-empty list")
    return value


def parse_codebook(data: Any, path: Path | None = None) -> Codebook:
    """Validate YAML-shaped data (a mapping) and build a `Codebook`; raises `InvalidCodebook`."""
    if not isinstance(data, Mapping):
        raise InvalidCodebook(
            f"codebook must be a mapping with dimensions and categories, got {type(data).__name__}"
        )
    _unknown("codebook", data, _TOP_FIELDS)
    version = data.get("version", 1)
    if not isinstance(version, int) or isinstance(version, bool):
        raise InvalidCodebook(f"version: must be an integer, got {version!r}")
    dimensions: dict[str, Dimension] = {}
    for i, raw in enumerate(_list_of("dimensions", data), 1):
        dim = _dimension(i, raw)
        if dim.id in dimensions:
            raise InvalidCodebook(f"dimension {dim.id!r}: duplicate id")
        dimensions[dim.id] = dim
    categories: dict[str, Category] = {}
    for i, raw in enumerate(_list_of("categories", data), 1):
        cat = _category(i, raw, dimensions)
        if cat.id in categories:
            first = list(categories).index(cat.id) + 1
            raise InvalidCodebook(f"category {cat.id!r}: duplicate id (entries {first} and {i})")
        categories[cat.id] = cat
    return Codebook(
        tuple(dimensions.values()),
        tuple(categories.values()),
        _polarity_cues(data.get("polarity_cues")),
        version,
        path,
    )


def load_codebook(path: Path | None = None) -> Codebook:
    """Read and validate the codebook YAML (default: settings.codebook_path)."""
    if path is None:
        from kb.settings import get_settings

        path = get_settings().codebook_path
    path = Path(path)
    if not path.is_file():
        raise CodebookMissing(f"codebook not found: {path} (create it or set KB_CORPUS_DIR)")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise InvalidCodebook(f"codebook {path}: not UTF-8 text ({exc.reason})") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown position"
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InvalidCodebook(f"codebook {path}: YAML syntax error at {where}: {problem}") from exc
    return parse_codebook(data, path)


def codebook_to_frame(codebook: Codebook | None = None) -> pd.DataFrame:
    """One row per category (id, dimension, label_ko, label_en, definition), for tables in the app."""
    import pandas as pd

    book = codebook if codebook is not None else load_codebook()
    rows = [
        {
            "id": c.id,
            "dimension": c.dimension,
            "label_ko": c.label_ko,
            "label_en": c.label_en,
            "definition": c.definition,
        }
        for c in book.categories
    ]
    return pd.DataFrame(rows, columns=["id", "dimension", "label_ko", "label_en", "definition"])


# ---- cue check: the lemma convention is kb.text.morphs.lemma_of, the one the cue Matcher uses ----


def cue_frames(cue: str) -> tuple[str, ...]:
    """Inflected contexts a one-word cue is looked for in (a cue is checked as it occurs in text)."""
    return (cue, f"{cue[:-1]}는 것이다" if cue.endswith("다") else f"그것은 {cue}이다", f"{cue}의 문제")


def unproducible_cues(codebook: Codebook, kiwi: Any = None) -> list[tuple[str, str]]:
    """(owner, cue) pairs that Kiwi never yields as one morpheme's lemma (`kb.text.morphs.lemma_of`);
    a phrase cue (with spaces) passes when each of its words analyses to at least one lemma. Owner is
    a category id or 'polarity:<key>'. (`kiwi` is accepted for compatibility; the shared one is used.)"""
    from kb.text.morphs import cue_lemmas

    owned: Iterable[tuple[str, str]] = [(c.id, q) for c in codebook.categories for q in c.cues] + [
        (f"polarity:{k}", q) for k, cues in codebook.polarity_cues.items() for q in cues
    ]
    bad = []
    for owner, cue in owned:
        if " " in cue:
            ok = all(cue_lemmas(word) for word in cue.split())
        else:
            ok = any(cue in cue_lemmas(f) for f in cue_frames(cue))
        if not ok:
            bad.append((owner, cue))
    return bad


def main(argv: list[str] | None = None) -> int:
    """`python -m kb.coding.codebook [PATH]`: check the codebook after edits; lists Kiwi-unfriendly cues."""
    import sys

    args = sys.argv[1:] if argv is None else argv
    try:
        book = load_codebook(Path(args[0]) if args else None)
    except InvalidCodebook as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for dim in book.dimensions:
        cats = book.in_dimension(dim.id)
        print(f"{dim.id} ({dim.label_ko}): {', '.join(c.id for c in cats) or '-'}")
    print(f"{len(book.categories)} categories in {len(book.dimensions)} dimensions: OK")
    for owner, cue in unproducible_cues(book):
        print(f"warning: {owner}: cue {cue!r} is not a lemma Kiwi produces (write the noun root)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
