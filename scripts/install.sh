#!/usr/bin/env bash
# Create the virtual environment and install kb (with optional extras, e.g. "test").
# torch goes in first, pinned, so pip takes the CPU build the coder's fine-tuning needs instead
# of resolving a CUDA build through a later dependency.
set -euo pipefail
VENV=${1:-.venv}
EXTRAS=${2:-}
[ -x "$VENV/bin/python" ] || "${PYTHON:-python3}" -m venv "$VENV"
"$VENV/bin/pip" install -q --upgrade pip
"$VENV/bin/python" -c "import torch" 2>/dev/null || "$VENV/bin/pip" install -q "torch==2.13.0"
"$VENV/bin/pip" install -q -e ".${EXTRAS:+[$EXTRAS]}"
