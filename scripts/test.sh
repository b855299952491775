#!/usr/bin/env bash
# Installs what is missing, builds (Release, into build/) and runs every test.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
kv_install_packages
kv_build
cd "$KV_BUILD"
ctest --output-on-failure --parallel "$(nproc)" "$@"
