#!/usr/bin/env bash
# Builds braid with AddressSanitizer and UBSan and runs every test (ctest).
# GPU tests skip, and say so, on machines without a GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/deps.sh
cmake -S . -B build-test -DBRAID_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build-test -j"$(nproc)"
ctest --test-dir build-test --output-on-failure -j"$(nproc)"
