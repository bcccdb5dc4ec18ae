"""The parts of the codebook the coder uses, as a small immutable view.

The coder accepts `kb.coding.codebook.Codebook`, a plain dict with the YAML schema, or this view, so a
caller can add a category at runtime (e.g. a new code invented while reviewing) without
touching the YAML file. A fingerprint of the view tells whether a saved model is stale.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from kb.records import POLARITIES

__all__ = ["POLARITIES", "CategoryView", "CodebookView", "Example"]


@dataclass(frozen=True)
class Example:
    text: str
    polarity: str = "neutral"
    source: str = ""


@dataclass(frozen=True)
class CategoryView:
    id: str
    label_ko: str = ""
    label_en: str = ""
    dimension: str = ""
    definition: str = ""
    include: tuple[str, ...] = ()
    cues: tuple[str, ...] = ()
    examples: tuple[Example, ...] = ()

    def description(self) -> str:
        """Label, definition and inclusion rules: the text compared with a sentence by similarity."""
        parts = [self.label_ko, self.definition, *self.include]
        return " ".join(p for p in parts if p)


@dataclass(frozen=True)
class CodebookView:
    categories: tuple[CategoryView, ...]
    polarity_cues: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def ids(self) -> list[str]:
        return [c.id for c in self.categories]

    def get(self, category_id: str) -> CategoryView:
        for c in self.categories:
            if c.id == category_id:
                return c
        raise KeyError(category_id)

    def with_category(self, category: CategoryView) -> CodebookView:
        """A copy with `category` added (or replacing the one with the same id)."""
        rest = tuple(c for c in self.categories if c.id != category.id)
        return CodebookView(rest + (category,), self.polarity_cues)

    def fingerprint(self) -> str:
        payload = json.dumps(
            {
                "categories": [asdict(c) for c in self.categories],
                "polarity": {k: list(v) for k, v in sorted(self.polarity_cues.items())},
            },
            ensure_ascii=False,
            sort_keys=True,
        )
        return hashlib.sha256(payload.encode()).hexdigest()[:16]


def _get(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _strings(values: Iterable[Any] | None) -> tuple[str, ...]:
    return tuple(str(v) for v in (values or []) if str(v).strip())


def _example(raw: Any) -> Example:
    if isinstance(raw, str):
        return Example(raw)
    polarity = str(_get(raw, "polarity", "neutral") or "neutral")
    return Example(
        str(_get(raw, "text", "")),
        polarity if polarity in POLARITIES else "neutral",
        str(_get(raw, "source", "") or ""),
    )


def to_view(codebook: Any) -> CodebookView:
    """Normalise a `kb.coding.codebook.Codebook`, a YAML-shaped dict or a view into a `CodebookView`."""
    if isinstance(codebook, CodebookView):
        return codebook
    cats = []
    for raw in _get(codebook, "categories", []) or []:
        cats.append(
            CategoryView(
                id=str(_get(raw, "id")),
                label_ko=str(_get(raw, "label_ko", "") or ""),
                label_en=str(_get(raw, "label_en", "") or ""),
                dimension=str(_get(raw, "dimension", "") or ""),
                definition=str(_get(raw, "definition", "") or ""),
                include=_strings(_get(raw, "include")),
                cues=_strings(_get(raw, "cues")),
                examples=tuple(_example(e) for e in (_get(raw, "examples") or []) if _example(e).text),
            )
        )
    pol = _get(codebook, "polarity_cues", {}) or {}
    polarity_cues = {str(k): _strings(_get(pol, k)) for k in ("obstacle", "success", "negation")}
    return CodebookView(tuple(cats), polarity_cues)


def load_view(path: Any = None) -> CodebookView:
    """The project codebook as a view (via `kb.coding.codebook.load_codebook`, else the YAML directly)."""
    try:
        from kb.coding.codebook import load_codebook
    except ImportError:  # codebook module not available: read the YAML file
        import yaml

        from kb.settings import get_settings

        with open(path or get_settings().codebook_path, encoding="utf-8") as fh:
            return to_view(yaml.safe_load(fh))
    return to_view(load_codebook(path) if path is not None else load_codebook())
