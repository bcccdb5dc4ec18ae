"""Per-document calibration from review decisions: which categories the coder over- or under-codes
in THIS transcript.

Fifty reviewed sentences barely move models fitted on ~2 500 rows, but they say something about
the document they come from: a category the reviewer keeps adding (the coder missed it) should
come more easily in the rest of that document, one they keep rejecting less easily. Each category
gets a threshold shift in confidence units (the coder's threshold sits at 0.5; a positive shift is
stricter) from the decisions on that document's passages:

    shift(c) = −STRENGTH × ((added − rejected) + PRIOR × g) / (accepted + added + rejected + PRIOR)
    g        = (Σ added − Σ rejected) / (Σ decisions + GLOBAL_PRIOR)      (pooled over categories)

so a shift stays below STRENGTH (|g| < 1), a single decision moves its category by at most
STRENGTH × (1 + PRIOR / (1 + GLOBAL_PRIOR)) / (1 + PRIOR) (0.095) and every other category by
STRENGTH / (1 + GLOBAL_PRIOR) (0.027), and a category with few decisions of its own follows the
document's overall lean `g` (itself shrunk towards zero). Other documents are unaffected. Chosen on the
development transcripts, leave-one-transcript-out (docs/bench/learning_curve_dev.md, session 12).

The shifts are stored as JSON next to the coder model (`FILE`) when the coder is trained with
review decisions ("retrain now" and `kb build`), and applied when that document's passages are
coded (pipelines/code.py, bench/learning_curve.py).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from kb.fileio import atomic_open, default_mode

FILE = "doc_calibration.json"
FORMAT = 1
STRENGTH = 0.3
PRIOR = 3.0
GLOBAL_PRIOR = 10.0
ACTIONS = ("accepted", "added", "rejected")
MAX_DOCS = 100_000  # a file with more is refused (read as hostile, like the other model files)


def document_of(passage_id: str) -> str:
    """The document id of a passage id (`doc_id:hash`, pipelines/segment.passage_id)."""
    return passage_id.rsplit(":", 1)[0] if ":" in passage_id else passage_id


def estimate(
    decisions: Iterable[Mapping[str, Any]],
    strength: float = STRENGTH,
    prior: float = PRIOR,
    global_prior: float = GLOBAL_PRIOR,
) -> dict[str, dict[str, float]]:
    """Document id → category → threshold shift, from decision rows {passage_id, category, status}.

    A passage's decision on a category counts once, however many training rows it became
    (kb.review.merge.sentence_rows); rows without a passage id or status are ignored."""
    seen: dict[tuple[str, str], str] = {}
    for r in decisions:
        pid, cat, status = r.get("passage_id"), r.get("category"), r.get("status")
        if isinstance(pid, str) and isinstance(cat, str) and status in ACTIONS:
            seen[(pid, cat)] = str(status)
    counts: dict[str, dict[str, dict[str, int]]] = {}
    for (pid, cat), status in seen.items():
        per = counts.setdefault(document_of(pid), {}).setdefault(cat, dict.fromkeys(ACTIONS, 0))
        per[status] += 1
    out: dict[str, dict[str, float]] = {}
    for doc, cats in counts.items():
        total = sum(sum(c.values()) for c in cats.values())
        lean = sum(c["added"] - c["rejected"] for c in cats.values()) / (total + global_prior)
        shifts = {
            cat: -strength * ((c["added"] - c["rejected"]) + prior * lean) / (sum(c.values()) + prior)
            for cat, c in cats.items()
        }
        # a category without decisions of its own follows the document's lean, shrunk by PRIOR alone
        shifts["*"] = -strength * lean
        out[doc] = {k: round(v, 6) for k, v in shifts.items() if v}
    return {doc: s for doc, s in out.items() if s}


def shifts_for(calibration: Mapping[str, Mapping[str, float]], doc: str | None) -> dict[str, float] | None:
    """The category shifts of one document (None: none known); "*" is every other category's."""
    if not doc:
        return None
    got = calibration.get(doc)
    return dict(got) if got else None


def shift_vector(shifts: Mapping[str, float] | None, cats: Sequence[str]) -> list[float]:
    """Per category of `cats`, its shift (the "*" entry for categories without their own)."""
    if not shifts:
        return [0.0] * len(cats)
    rest = float(shifts.get("*", 0.0))
    return [float(shifts.get(c, rest)) for c in cats]


def save(directory: Path, calibration: Mapping[str, Mapping[str, float]]) -> Path:
    """Write the calibration next to the coder model (atomically; {} writes an empty one)."""
    path = Path(directory) / FILE
    body = {"format": FORMAT, "strength": STRENGTH, "documents": calibration}
    with atomic_open(path, "w", perm=default_mode(path)) as f:
        json.dump(body, f, ensure_ascii=False, sort_keys=True)
    return path


def load(directory: Path) -> dict[str, dict[str, float]]:
    """The saved calibration ({} when none); every value checked: a finite shift within ±STRENGTH
    of the file, at most MAX_DOCS documents, else ValueError."""
    path = Path(directory) / FILE
    if not path.exists():
        return {}
    body = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(body, dict) or body.get("format") != FORMAT:
        raise ValueError(f"{path}: not a kb document calibration (format {FORMAT})")
    docs = body.get("documents")
    bound = body.get("strength")
    if not isinstance(docs, dict) or len(docs) > MAX_DOCS or not isinstance(bound, int | float):
        raise ValueError(f"{path}: malformed document calibration")
    out: dict[str, dict[str, float]] = {}
    for doc, shifts in docs.items():
        if not isinstance(doc, str) or not isinstance(shifts, dict):
            raise ValueError(f"{path}: malformed document calibration")
        clean = {}
        for cat, v in shifts.items():
            if (
                not isinstance(cat, str)
                or not isinstance(v, int | float)
                or not math.isfinite(v)
                or abs(v) > abs(bound) + 1e-9
            ):
                raise ValueError(f"{path}: bad shift {cat!r}={v!r} for {doc!r}")
            clean[cat] = float(v)
        out[doc] = clean
    return out
