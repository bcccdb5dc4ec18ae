#!/usr/bin/env bash
# Everything the test suite needs on a bare machine: Debian's Chromium and CJK fonts for the
# browser tests, a virtual environment with kb and its test extras (scripts/install.sh).
set -euo pipefail
VENV=${1:-.venv}
need_apt=()
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
fc-list 2>/dev/null | grep -qi "Noto Sans CJK" || need_apt+=(fonts-noto-cjk)
command -v fc-list >/dev/null || need_apt+=(fontconfig)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else
    echo "Browser tests need: ${need_apt[*]} (sudo apt-get install ${need_apt[*]})" >&2
  fi
fi
bash "$(dirname "$0")/install.sh" "$VENV" test
# A real Taguette for the codebook-CSV exchange test (tests/test_exchange_tools.py), in its own venv.
bash "$(dirname "$0")/setup_taguette.sh" "${VENV%/}-taguette" >/dev/null
