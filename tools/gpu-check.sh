#!/usr/bin/env bash
# gpu-check.sh - the one command run on the lent GPU machine: the CUDA tests
# (every kernel against the CPU reference, random models and the
# transformers fixtures on the GPU) and timings of braid on the GPU.
#
# Build here, run there (see ../shared/DEVICE.md):
#   cmake -B build-cuda -DCMAKE_BUILD_TYPE=Release && cmake --build build-cuda -j
#   mkdir -p .devbin .devlibs && cp build-cuda/{test_cuda,braid} .devbin/
#   cp -L /usr/lib/x86_64-linux-gnu/{libyaml-0.so.2,libcmocka.so.0,libutf8proc.so.2} .devlibs/
# then run `tools/gpu-check.sh` there, carrying .devbin and .devlibs.
set -uo pipefail
cd "$(dirname "$0")/.."
export LD_LIBRARY_PATH="$PWD/.devlibs:/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}"
export BRAID_SOURCE_DIR=$PWD
OUT=${OUT:-/tmp/braid-gpu-check}
BIN=${BIN:-.devbin}
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm --format=csv | tee "$OUT/gpu.txt"
missing=$(ldd "$BIN/test_cuda" "$BIN/braid" | grep "not found")
[ -z "$missing" ] || { echo "missing libraries: $missing"; exit 1; }

echo "== CUDA tests"
"$BIN/test_cuda" > "$OUT/test_cuda.log" 2>&1
rc=$?
grep -vE "^\[ (RUN|     OK) \]" "$OUT/test_cuda.log" | tail -70

echo "== timings (GPU 0)"
{
    "$BIN/braid" run architectures/examples/tiny-hybrid.yaml --gpu 0 --prompt 512 --gen 128 --check
    "$BIN/braid" run architectures/examples/tiny-hybrid.yaml --prompt 512 --gen 128
    "$BIN/braid" generate models/kjv-bamba-11m --gpu 0 --prompt "And God said" -n 128 --greedy --no-echo > /dev/null
    "$BIN/braid" ppl models/kjv-bamba-11m models/kjv-bamba-11m/val.txt --gpu 0
    "$BIN/braid" ppl models/kjv-bamba-11m models/kjv-bamba-11m/val.txt
} 2>&1 | tee "$OUT/timings.txt"
exit $rc
