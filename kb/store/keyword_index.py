"""BM25 over kiwi lemmas: wins on exact terms and names that embeddings blur."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import bm25s
import numpy as np

from kb.store.faults import checkpoint
from kb.text.morphs import terms, terms_many

_META = "index.json"


def keyword_text(p: dict[str, Any]) -> str:
    """What BM25 reads of a passage: an interview answer's question above its text. The question
    names the topic that the answer often only alludes to ("예산 확보는 어떠셨어요?" – "아, 그게 제일
    골치였죠"), as the passage's vector already reads it (kb.store.vectorstore.embed_text)."""
    q = p.get("question")
    return f"{q}\n{p['text']}" if q else p["text"]


def corpus_fingerprint(passages: Sequence[dict[str, Any]]) -> str:
    h = hashlib.sha256()
    for p in passages:
        h.update(f"{p['id']}:{p['text_hash']}:{p.get('question') or ''}\n".encode())
    return h.hexdigest()[:16]


class KeywordIndex:
    """A BM25 index whose row i is passage ids[i]; saved beside its fingerprint."""

    def __init__(self, retriever: bm25s.BM25, ids: list[str], fingerprint: str):
        self.retriever = retriever
        self.ids = ids
        self.fingerprint = fingerprint
        self.row_of = {pid: i for i, pid in enumerate(ids)}

    @classmethod
    def build(cls, passages: Sequence[dict[str, Any]]) -> KeywordIndex:
        token_lists = terms_many(keyword_text(p) for p in passages)
        vocab: dict[str, int] = {}
        ids_lists = [[vocab.setdefault(t, len(vocab)) for t in toks] for toks in token_lists]
        retriever = bm25s.BM25()
        retriever.index(bm25s.tokenization.Tokenized(ids=ids_lists, vocab=vocab), show_progress=False)
        return cls(retriever, [p["id"] for p in passages], corpus_fingerprint(passages))

    def save(self, path: Path) -> None:
        """Write into a fresh sibling folder, then swap it in: never a half-written index at `path`."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
        try:
            self.retriever.save(str(tmp))
            checkpoint("bm25:files-written")
            (tmp / _META).write_text(
                json.dumps({"ids": self.ids, "fingerprint": self.fingerprint}), encoding="utf-8"
            )
            old = path.with_name(f".{path.name}.old-{os.getpid()}")
            if path.exists():
                os.rename(path, old)
            checkpoint("bm25:moved-aside")
            os.rename(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise

    @classmethod
    def load(cls, path: Path) -> KeywordIndex | None:
        meta_path = path / _META
        if not meta_path.exists():
            return None
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        return cls(bm25s.BM25.load(str(path)), meta["ids"], meta["fingerprint"])

    def search(self, query: str, n: int, allowed: np.ndarray | None = None) -> list[tuple[str, float]]:
        """(passage id, BM25 score) best first; `allowed` is a boolean mask over rows."""
        return self.search_terms(terms(query), n, allowed)

    def search_terms(
        self, lemmas: Sequence[str], n: int, allowed: np.ndarray | None = None
    ) -> list[tuple[str, float]]:
        """`search` for query lemmas already made (an English query's glossary terms, kb.query.glossary)."""
        vocab = self.retriever.vocab_dict
        qids = [vocab[t] for t in lemmas if t in vocab]
        if not qids or not self.ids:
            return []
        return self._top(self.retriever.get_scores(qids), n, allowed)

    def search_groups(
        self, groups: Sequence[Sequence[Sequence[str]]], n: int, allowed: np.ndarray | None = None
    ) -> list[tuple[str, float]]:
        """BM25 over synonym groups: a passage scores, per group, the BM25 of its best-scoring
        alternative (each a lemma list), summed over groups – a concept with four Korean spellings
        counts once, as one word would (an English query's glossary phrases, kb.query.glossary)."""
        vocab = self.retriever.vocab_dict
        total: np.ndarray | None = None
        for group in groups:
            alternatives = [[vocab[t] for t in lemmas if t in vocab] for lemmas in group]
            best = [self.retriever.get_scores(qids) for qids in alternatives if qids]
            if best:
                score = np.max(best, axis=0)
                total = score if total is None else total + score
        if total is None or not self.ids:
            return []
        return self._top(total, n, allowed)

    def _top(self, scores: np.ndarray, n: int, allowed: np.ndarray | None) -> list[tuple[str, float]]:
        if allowed is not None:
            scores = np.where(allowed, scores, 0.0)
        n = min(n, len(self.ids))
        top = np.argpartition(-scores, n - 1)[:n]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(self.ids[i], float(scores[i])) for i in top if scores[i] > 0]
