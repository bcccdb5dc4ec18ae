"""The per-text analysis the features need, kept on disk so a retrain re-parses only new texts.

Parsing (Kiwi + spaCy, cue and polarity matching, spoken markers) is most of a quick retrain's
time: the ~2000 training texts are the same from one retrain to the next, only the review
decisions are new. `ParseCache` keeps, per text (keyed by its SHA-256), what `Analyzer` derives
from the parsed Doc – lemmas, cue hits, polarity hits and clauses, function tokens, spoken
markers – in one JSON file in the coder directory, next to the embedding cache. Vectors and
similarities are not in it (the embedding cache has the vectors; similarities are cheap and
depend on the codebook's examples).

The file is tied to a version: a digest of the analysing code, the Kiwi and spaCy versions and
every cue pattern (codebook and polarity cues). Any change there and the file is ignored and
rebuilt, so a cached analysis is always the one a fresh parse would give. The file is data
written by an earlier run, read as hostile: too large, not JSON, another version or a malformed
entry is ignored (a miss), never a crash. Writes replace it atomically (kb.fileio).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kb.fileio import atomic_open, default_mode

log = logging.getLogger(__name__)

FORMAT = 1
FILE = "parsed.json"
MAX_BYTES = 512 << 20  # a bigger file is not one kb wrote for a coder: ignored
# modules whose code decides what an analysis holds (a change in any of them invalidates the cache)
ANALYSIS_MODULES = (
    "kb.coding.features",
    "kb.coding.rules",
    "kb.coding.polarity",
    "kb.coding.spoken",
    "kb.text.nlp",
    "kb.text.morphs",
)


def text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def analyser_version(patterns: Mapping[str, Any]) -> str:
    """Digest of what decides an analysis: the analysing modules' source, the Kiwi and spaCy
    versions and the cue patterns (`patterns`: name → the matchers' lemma patterns)."""
    import importlib
    from importlib.metadata import version

    h = hashlib.sha256(f"format {FORMAT}\n".encode())
    for pkg in ("kiwipiepy", "spacy"):
        h.update(f"{pkg} {version(pkg)}\n".encode())
    for name in ANALYSIS_MODULES:
        source = Path(importlib.import_module(name).__file__ or "")
        h.update(name.encode() + b"\n" + source.read_bytes())
    h.update(json.dumps(patterns, ensure_ascii=False, sort_keys=True).encode())
    return h.hexdigest()


class ParseCache:
    """Doc-derived parts of analyses by text hash, loaded from and saved to one JSON file.

    Entries are plain JSON values; `get` returns them only when they have the expected shape
    (`kb.coding.features.Analyzer` turns them back into an Analysis)."""

    def __init__(self, path: Path | None, version: str) -> None:
        self.path = path
        self.version = version
        self.entries: dict[str, dict[str, Any]] = {}
        self._dirty = False
        self.loaded = self.hits = self.misses = 0  # entries read; lookups answered / not answered
        if path is not None:
            self.entries = _read(path, version)
            self.loaded = len(self.entries)

    def get(self, text: str) -> dict[str, Any] | None:
        key = text_key(text)
        entry = self.entries.get(key)
        if entry is not None and not valid(entry):
            del self.entries[key]
            entry = None
        if entry is None:
            self.misses += 1
        else:
            self.hits += 1
        return entry

    def put(self, text: str, entry: dict[str, Any]) -> None:
        self.entries[text_key(text)] = entry
        self._dirty = True

    def save(self) -> None:
        """Replace the file atomically with every entry (nothing to do when nothing was added)."""
        if self.path is None or not self._dirty:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        body = {"format": FORMAT, "version": self.version, "entries": self.entries}
        with atomic_open(self.path, "w", perm=default_mode(self.path)) as fh:
            json.dump(body, fh, ensure_ascii=False, separators=(",", ":"))
        self._dirty = False


def _read(path: Path, version: str) -> dict[str, dict[str, Any]]:
    try:
        if path.stat().st_size > MAX_BYTES:
            log.warning("ignoring %s: larger than %d bytes", path, MAX_BYTES)
            return {}
        with path.open(encoding="utf-8") as fh:
            body = json.load(fh)
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, RecursionError) as exc:  # not JSON, not UTF-8, unreadable
        log.warning("ignoring the parse cache %s (%s); it will be rebuilt", path, type(exc).__name__)
        return {}
    if not isinstance(body, dict) or body.get("format") != FORMAT or body.get("version") != version:
        return {}  # another analyser (or not ours): rebuilt
    entries = body.get("entries")
    if not isinstance(entries, dict):
        return {}
    return {k: v for k, v in entries.items() if isinstance(k, str) and len(k) == 64 and isinstance(v, dict)}


# ----- the entry's shape (checked on every read) -----------------------------------------------
def _strs(v: Any) -> bool:
    return isinstance(v, list) and all(isinstance(x, str) for x in v)


def _int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _num(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _pairs(v: Any, key: Any, value: Any) -> bool:
    return isinstance(v, list) and all(
        isinstance(p, list) and len(p) == 2 and key(p[0]) and value(p[1]) for p in v
    )


def _hits(v: Any, n_tokens: int) -> bool:
    return isinstance(v, list) and all(
        isinstance(h, list)
        and len(h) == 6
        and isinstance(h[0], str)
        and isinstance(h[1], str)
        and all(_int(x) for x in h[2:])
        and 0 <= h[4] < n_tokens
        and h[4] < h[5] <= n_tokens
        for h in v
    )


def valid(e: Mapping[str, Any]) -> bool:
    """An entry an Analysis can be rebuilt from without an error later (types, token indices)."""
    try:
        clauses = e["clause_of_token"]
        if not (isinstance(clauses, list) and all(_int(c) for c in clauses)):
            return False
        n = len(clauses)
        return (
            _strs(e["lemmas"])
            and _hits(e["hits"], n)
            and _hits(e["polarity_hits"], n)
            and _pairs(e["clause_score"], _int, _num)
            and _pairs(e["clause_cues"], _int, _strs)
            and _strs(e["function_tokens"])
            and _pairs(e["spoken"], lambda k: isinstance(k, str), _num)
        )
    except (KeyError, TypeError):
        return False
