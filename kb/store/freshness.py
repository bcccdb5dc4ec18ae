"""Is the knowledge base behind its corpus? Documents listed in the manifest that the current
generation has no passages of (added with `kb add` and not built yet), and documents it still has
passages of that the manifest no longer lists (taken out with `kb remove`).

Read from the manifest and the current generation's passages, cached per file version, so the
app can ask on every page without reading 100 000 passages each time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from kb.settings import Settings


@dataclass(frozen=True)
class Pending:
    """Documents of the corpus manifest the current generation has no passages of, and documents
    it has passages of that the manifest no longer lists (removed with `kb remove`)."""

    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.added or self.removed)


def pending(settings: Settings) -> Pending:
    """What a build would add or drop now (read from the manifest and the current passages)."""
    from kb.store.generations import current_dir

    manifest = settings.corpus_dir / "manifest.csv"
    passages = current_dir(settings.data_dir) / "passages.jsonl"
    try:
        keys = [(str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in (manifest, passages)]
    except OSError:  # nothing built yet, or no corpus: the first build's business, not ours
        return Pending()
    return _pending(settings.corpus_dir, *keys)


@lru_cache(maxsize=8)
def _pending(corpus_dir: Path, manifest: tuple, passages: tuple) -> Pending:
    from kb.corpus.manifest import load_manifest

    listed = [row["doc_id"] for row in load_manifest(corpus_dir)[1]]
    built: dict[str, None] = {}
    with open(passages[0], encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                built.setdefault(json.loads(line)["doc_id"])
    return Pending(
        added=tuple(d for d in listed if d not in built), removed=tuple(d for d in built if d not in listed)
    )
