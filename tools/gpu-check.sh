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

echo "== the bundled model on the GPU"
{
    "$BIN/braid" ppl models/kjv-bamba-11m models/kjv-bamba-11m/val.txt --gpu 0 --weights f32
    "$BIN/braid" ppl models/kjv-bamba-11m models/kjv-bamba-11m/val.txt --gpu 0 --weights bf16
    "$BIN/braid" bench models/kjv-bamba-11m --gpu 0 --prefill 512,2048 --batches 1,16,64
} 2>&1 | tee "$OUT/bundled.txt"

if [ -n "${BENCH_27B:-}" ]; then
    echo "== Mamba2-2.7B shape: braid (random weights) and mamba_ssm (same run)"
    "$BIN/braid" bench architectures/mamba2-2.7b.yaml --gpu 0 --weights bf16 --prefill 512,2048,8192 --batches 1,16,64 \
        2>&1 | tee "$OUT/bench_mamba2_2.7b.txt"
    echo "-- the same decode without recorded steps (BRAID_STEP_GRAPHS=0)"
    BRAID_STEP_GRAPHS=0 "$BIN/braid" bench architectures/mamba2-2.7b.yaml --gpu 0 --weights bf16 --prefill 512 \
        --batches 1,16,64 2>&1 | tee "$OUT/bench_mamba2_2.7b_nographs.txt"
    if [ -d .peers/mamba_ssm ]; then
        PYTHONPATH=$PWD/.peers python3 tools/bench/peer_mamba_ssm.py --prefill 512,2048,8192 --batches 1,16,64 \
            2>&1 | grep -v Warning | tee "$OUT/peer_mamba_ssm.txt"
    fi
fi
exit $rc
