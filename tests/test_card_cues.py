"""The code evidence on a card names spoken-Korean cues in Korean, not by their internal token."""

from __future__ import annotations

import re
from pathlib import Path

from kb.coding.spoken import markers
from kb.ui.cards import SPOKEN_CUES, _evidence_line, cue_label

SPOKEN_SOURCE = Path(__file__).resolve().parent.parent / "kb" / "coding" / "spoken.py"


def test_every_spoken_pattern_the_rules_can_name_has_a_korean_label() -> None:
    source = SPOKEN_SOURCE.read_text(encoding="utf-8")
    named = set(re.findall(r'add\("(\w+)"', source)) | set(re.findall(r'"(\w+_actor)"', source))
    assert named and named <= set(SPOKEN_CUES), named - set(SPOKEN_CUES)


def test_evidence_line_shows_labels_not_tokens() -> None:
    found = markers("예산이 잘 안 됐어요. 그게 될 리가 있겠어요?")
    assert found  # the rules read something in this spoken obstacle
    line = _evidence_line({"cues": ["예산"], "polarity_cues": [f"SP:{k}" for k in found]})
    assert "SP:" not in line and "단서어 cues: 예산" in line
    assert all(SPOKEN_CUES[k] in line for k in found)
    assert cue_label("SP:someday_new") == "구어 someday_new"  # an unnamed pattern still reads
