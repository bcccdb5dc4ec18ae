"""The JSON file a learned combiner ships in (kb.coding.polarity_stack, kb.coding.category_stack).

Both are read like any imported file: hostile until checked. This holds the checks every such file
gets – size, JSON, format name and version, one entry per coder kind – so that each combiner only
parses its own coefficients."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

MAX_BYTES = 1_000_000


def read_models(
    path: Path, fmt: str, version: int, kinds: Sequence[str], error: type[Exception], what: str
) -> dict[str, Any]:
    """The file's `models` mapping (kind -> raw entry or None), or `error` naming the file and the fault."""
    try:
        if path.stat().st_size > MAX_BYTES:
            raise error(f"{path}: too large for a {what} file")
        raw = json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise error(f"{path}: cannot read the {what} ({e})") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise error(f"{path}: not a JSON {what} ({e})") from None
    if not isinstance(raw, dict) or raw.get("format") != fmt or raw.get("format_version") != version:
        raise error(f"{path}: not a {fmt} file of version {version}")
    models = raw.get("models")
    if not isinstance(models, dict) or set(models) != set(kinds):
        raise error(f"{path}: needs exactly the combiners {tuple(kinds)}")
    return models


def write_models(
    path: Path, fmt: str, version: int, models: Mapping[str, Any], info: Mapping[str, object]
) -> None:
    out = {"format": fmt, "format_version": version, "info": dict(info), "models": dict(models)}
    path.write_text(json.dumps(out, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
