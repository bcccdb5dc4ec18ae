"""Any sentence-transformers model the user already has on disk (`st:<path-or-name>`).

Nothing is ever downloaded: the hub is switched to offline mode before sentence-transformers
is imported and the model is opened with `local_files_only`, so a path that is not there (or
a hub name not in the local cache) fails with a one-line `EmbedderUnavailable`. Query and
passage prompts come from the model's own config when it has them, else from a short table
of known model families, because E5-style models degrade badly without their prefixes.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import numpy as np

from kb.embeddings.base import BaseEmbedder
from kb.errors import EmbedderUnavailable

INSTALL_HINT = "install with pip install 'kb[st]' (after the CPU build: pip install torch==2.13.0)"
E5_INSTRUCT_QUERY = (
    "Instruct: Given a web search query, retrieve relevant passages that answer the query\nQuery: "
)
PASSAGE_KEYS = ("document", "passage", "corpus")


def known_prompts(model_name: str) -> tuple[str, str]:
    """(query, passage) prefixes for model families that need them, by name; ("", "") otherwise."""
    tokens = [t for t in re.split(r"[-_/.\s]+", model_name.lower()) if t]
    if "bge" in tokens and "m3" in tokens:
        return "", ""
    if any(t.endswith("e5") for t in tokens):  # e5, multilingual-e5, KoE5
        return (E5_INSTRUCT_QUERY, "") if "instruct" in tokens else ("query: ", "passage: ")
    return "", ""


def configured_prompts(prompts: dict[str, str | None] | None) -> tuple[str, str] | None:
    """(query, passage) from `model.prompts` if the model configures a non-empty prompt, else None.

    sentence-transformers >= 5 saves {"query": "", "document": ""} for every model, so empty
    values mean "not configured" and the name table decides."""
    given = {k: v for k, v in (prompts or {}).items() if v is not None}
    if not any(given.values()):
        return None
    passage = next((given[k] for k in PASSAGE_KEYS if k in given), "")
    return given.get("query", ""), passage


def _fingerprint(folder: Path) -> str:
    """Names and sizes of the model's files: a swapped model at the same path re-embeds."""
    digest = hashlib.sha1()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.name != "README.md"):
        digest.update(f"{path.relative_to(folder).as_posix()}:{path.stat().st_size};".encode())
    return digest.hexdigest()[:12]


def _local_folder(spec: str) -> Path | None:
    """The model's folder: the given path, or the hub cache snapshot of a model name."""
    path = Path(spec).expanduser()
    if path.exists():
        return path.resolve()
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(spec, local_files_only=True))
    except Exception:
        return None


def _looks_like_path(spec: str) -> bool:
    """'./m', '/models/m', 'a/b/c' are paths; 'org/name' may be a hub name."""
    return spec.startswith((".", "/", "~")) or spec.count("/") > 1 or "\\" in spec


class SentenceTransformerEmbedder(BaseEmbedder):
    """A local sentence-transformers model; dim from the model, vectors normalised by ST."""

    def __init__(self, model: str, device: str | None = None) -> None:
        if not model.strip():
            raise EmbedderUnavailable("st: needs a model path or name, e.g. st:/models/multilingual-e5-small")
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["TRANSFORMERS_OFFLINE"] = "1"
        try:
            import sentence_transformers
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise EmbedderUnavailable(
                f"st:{model} needs sentence-transformers, which is not installed: {INSTALL_HINT}"
            ) from exc
        folder = _local_folder(model)
        if folder is None:
            where = "no such folder" if _looks_like_path(model) else "not a folder and not in the HF cache"
            raise EmbedderUnavailable(
                f"sentence-transformers model {model!r} not found locally ({where}); kb never downloads "
                "models: copy the model folder to this machine and use st:/path/to/model"
            )
        _quiet_transformers()
        try:
            self._model = SentenceTransformer(str(folder), device=device, local_files_only=True)
        except Exception as exc:  # bad or partial folder; ST raises OSError/ValueError/KeyError
            raise EmbedderUnavailable(
                f"cannot load sentence-transformers model from {folder}: {type(exc).__name__}: {exc}"
            ) from exc
        dim_of = getattr(self._model, "get_embedding_dimension", None) or (
            self._model.get_sentence_embedding_dimension
        )
        self.dim = int(dim_of())
        found = configured_prompts(getattr(self._model, "prompts", None))
        self.query_prompt, self.passage_prompt = found or known_prompts(model)
        self.name = f"st:{model}"
        prompts = hashlib.sha1(f"{self.query_prompt}\0{self.passage_prompt}".encode()).hexdigest()[:8]
        self.version = (
            f"sentence-transformers=={sentence_transformers.__version__}; model={folder.name}; "
            f"files={_fingerprint(folder)}; prompts={prompts}"
        )

    def _encode(self, texts: list[str], prompt: str) -> np.ndarray:
        vectors = self._model.encode(
            texts,
            prompt=prompt,  # "" (not None) so a model's default_prompt_name cannot sneak in
            batch_size=max(1, len(texts)),
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dim)

    def _encode_passages(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, self.passage_prompt)

    def _encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, self.query_prompt)


def _quiet_transformers() -> None:
    """transformers prints a 'Loading weights' bar per load; kb shows its own progress."""
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
    except Exception:
        pass
