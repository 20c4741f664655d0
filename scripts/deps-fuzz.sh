#!/usr/bin/env bash
# Installs what the libFuzzer targets need beyond scripts/deps.sh (Debian 12):
# clang and its runtime libraries (libFuzzer, ASan, UBSan), only when missing.
set -euo pipefail
exec bash "$(dirname "$0")/deps.sh" clang libclang-rt-14-dev
