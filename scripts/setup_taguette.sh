#!/usr/bin/env bash
# Taguette (from PyPI) in its own virtual environment, for the test that imports kb's codebook CSV
# into a real Taguette. Taguette pins its own dependencies (SQLAlchemy 1.4, alembic < 1.9, ...),
# which clash with kb's, so it never goes into kb's venv. Idempotent; prints the taguette path.
set -euo pipefail
VENV=${1:-.venv-taguette}
VERSION=${TAGUETTE_VERSION:-1.5.2}
if ! "$VENV/bin/taguette" --version 2>/dev/null | grep -q "$VERSION"; then
  [ -x "$VENV/bin/python" ] || "${PYTHON:-python3}" -m venv "$VENV"
  "$VENV/bin/pip" install -q "taguette==$VERSION"
fi
echo "$VENV/bin/taguette"
