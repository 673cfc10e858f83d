#!/usr/bin/env bash
# Builds braid with AddressSanitizer and UBSan and runs every test (ctest),
# then each fuzz target for a short budget (tools/fuzz.sh).  GPU tests skip,
# and say so, on machines without a GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/deps.sh test
cmake -S . -B build-test -DBRAID_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build-test -j"$(nproc)"
ctest --test-dir build-test --output-on-failure -j"$(nproc)"
# the fuzz targets, briefly, on their seed corpora (clang's libFuzzer; tools/fuzz.sh runs them longer)
FUZZ_SECONDS=${FUZZ_SECONDS:-20} tools/fuzz.sh
