"""Vectors of the bundled corpus, shipped with it so that a fresh install does not embed it again.

On 2 cores, embedding the bundled corpus (its passages through e5 and USE, its sentences through
e5) took about 50 of the 117 s of the app's first build (docs/bench/first_search.md), and the fast
coder's e5 reading of its 3 763 training sentences another 80 s (which is why the first build
went without that reading until the vectors were shipped too). An encoder
gives the same vector for the same text on every machine, so `corpus/cache/` carries them: one
file per encoder, rows keyed by a digest of (encoder version, kind, text), the kind being a
passage or a query (e5 embeds the two differently). It is a cache and nothing
more. A text or an encoder version it does not hold is embedded as usual (an added transcript, a
renamed case, another model), and a vector it holds is the one that encoder returned for that
text. A user's own encoder (`st:/path`) never matches.

The files are read as hostile: a file that is too large, not an `.npz` of plain arrays (never
a pickle), of another version or dimension, with keys that are not digests or vectors that are
not unit rows, is ignored with a warning, and everything is embedded. `python -m
pipelines.seed_vectors` rewrites them after the corpus, its segmentation or the embedded context
change; tests/test_seed_vectors.py fails until it has been run (`cache/written_for.json` records
the Kiwi and encoder versions they were written with).
"""

from __future__ import annotations

import hashlib
import logging
import re
import unicodedata
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from kb.fileio import atomic_open

log = logging.getLogger(__name__)

DIRNAME = "cache"  # under the corpus directory
MAX_BYTES = 64 << 20  # far more than the bundled corpus needs; a larger file is not ours
QUERY_CHUNK = 256  # queries per call when writing, for a progress bar
_HEX = re.compile(r"^[0-9a-f]{64}$")


PASSAGE, QUERY = "passage", "query"  # the two ways an encoder embeds a text (`Embedder`)


def seed_key(version: str, text: str, kind: str = PASSAGE) -> str:
    """Digest of the encoder version, the kind of embedding and the exact (NFC) text."""
    head = version if kind == PASSAGE else f"{version}\n{kind}"
    return hashlib.sha256(f"{head}\n{text}".encode()).hexdigest()


def seed_file(directory: Path, encoder: Any) -> Path:
    return Path(directory) / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', encoder.name)}.npz"


def read_seeds(path: Path, version: str, dim: int) -> dict[str, np.ndarray]:
    """Key → unit vector from one seed file; {} when it is missing or not one this encoder wrote."""
    try:
        if path.stat().st_size > MAX_BYTES:
            log.warning("ignoring %s: larger than %d bytes", path, MAX_BYTES)
            return {}
        with np.load(path, allow_pickle=False) as data:
            stored_version = str(data["version"][()])
            keys, vectors = data["keys"], data["vectors"]
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:  # not an npz, a pickle …
        log.warning("ignoring the seed vectors %s (%s)", path, type(exc).__name__)
        return {}
    if stored_version != version:
        return {}  # another encoder version: its vectors are not this encoder's
    if (
        keys.ndim != 1
        or keys.dtype.kind != "U"
        or vectors.dtype != np.float32
        or vectors.shape != (len(keys), dim)
        or not all(_HEX.match(str(k)) for k in keys)
        or not np.all(np.isfinite(vectors))
        or not np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-3)
    ):
        log.warning("ignoring the seed vectors %s: not the keys and unit rows kb writes", path)
        return {}
    return {str(k): v for k, v in zip(keys, vectors, strict=True)}


def write_seeds(
    path: Path, encoder: Any, texts: Iterable[str], queries: Iterable[str] = (), progress: bool = False
) -> int:
    """Embed `texts` as passages and `queries` as queries with `encoder`, and replace the seed file
    atomically; the number of rows."""
    encoder.seeds = None  # computed, never copied from an earlier file
    keys: list[str] = []
    parts = [np.zeros((0, encoder.dim), np.float32)]
    for kind, items in ((PASSAGE, texts), (QUERY, queries)):
        unique = sorted({unicodedata.normalize("NFC", t) for t in items})
        if not unique:
            continue
        if kind == PASSAGE:
            parts.append(encoder.embed_passages(unique, progress=progress))
        else:
            starts = range(0, len(unique), QUERY_CHUNK)
            if progress:
                from tqdm.auto import tqdm

                starts = tqdm(starts, desc=f"embed {encoder.name} queries", unit="chunk")
            parts += [encoder.embed_queries(unique[i : i + QUERY_CHUNK]) for i in starts]
        keys += [seed_key(encoder.version, t, kind) for t in unique]
    vectors = np.concatenate(parts)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(path, "wb") as fh:
        np.savez_compressed(
            fh,
            version=np.array(encoder.version),
            keys=np.array(keys, dtype="<U64"),
            vectors=np.asarray(vectors, dtype=np.float32),
        )
    return len(keys)


def seed_dirs(corpus_dir: Path) -> list[Path]:
    """Where a build over `corpus_dir` finds seed vectors: its own `cache/`, then the bundled
    corpus's (whose training sentences every coder trains on, whatever the corpus directory)."""
    from kb.settings import ROOT

    dirs = [Path(corpus_dir) / DIRNAME, ROOT / "corpus" / DIRNAME]
    return list(dict.fromkeys(d.resolve() for d in dirs))


@contextmanager
def seeded(embedder: Any, directories: Iterable[Path]) -> Iterator[dict[str, int]]:
    """Within the block, each encoder of `embedder` (fusion's parts, or itself) answers from the
    seed vectors it can use in `directories`; yields encoder name → rows attached.

    Encoders are shared by the whole process (kb.embeddings.factory caches them), so the seeds are
    taken off again when the block ends: outside a build, every text is embedded. Reading a file
    costs about 0.1 s (7 MB, checked row by row), so each stage reads its own."""
    attached: dict[str, int] = {}
    previous: list[tuple[Any, Any]] = []
    for enc in list(getattr(embedder, "parts", None) or [embedder]):
        enc = getattr(enc, "base", enc)  # the query adapter embeds passages with its base model
        if not hasattr(enc, "seeds"):
            continue  # not a kb backend
        previous.append((enc, enc.seeds))
        enc.seeds = {}
        for directory in directories:
            enc.seeds.update(read_seeds(seed_file(directory, enc), enc.version, int(enc.dim)))
        attached[enc.name] = len(enc.seeds)
    try:
        yield attached
    finally:
        for enc, seeds in previous:
            enc.seeds = seeds


@dataclass
class SeedLog:
    """What encoders were asked to embed inside `recording`, by kind: every text, and those no seed
    vector answered (which a current seed file leaves empty for the bundled corpus)."""

    asked: dict[str, set[str]] = field(default_factory=lambda: {PASSAGE: set(), QUERY: set()})
    embedded: dict[str, set[str]] = field(default_factory=lambda: {PASSAGE: set(), QUERY: set()})


@contextmanager
def recording(encoders: Iterable[Any]) -> Iterator[dict[str, SeedLog]]:
    """Within the block, each encoder notes the texts it embeds (`pipelines.seed_vectors` learns from
    a real build what a seed file must hold); yields encoder name → its log."""
    logs: dict[str, SeedLog] = {}
    previous: list[tuple[Any, Any]] = []
    for enc in encoders:
        previous.append((enc, enc.seed_log))
        enc.seed_log = logs.setdefault(enc.name, SeedLog())
    try:
        yield logs
    finally:
        for enc, log_ in previous:
            enc.seed_log = log_


def lookup(
    seeds: Mapping[str, np.ndarray] | None, version: str, texts: list[str], kind: str = PASSAGE
) -> list[np.ndarray | None]:
    """The seed vector of each text embedded as `kind`, None where there is none."""
    if not seeds:
        return [None] * len(texts)
    return [seeds.get(seed_key(version, t, kind)) for t in texts]
