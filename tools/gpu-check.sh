#!/usr/bin/env bash
# gpu-check.sh - the one command run on the lent GPU machine: the CUDA tests
# (every kernel against the CPU reference, random models and the
# transformers fixtures on the GPU), timings of braid beside the GPU's own
# ceilings, kernel profiles and peers, as the STAGES variable picks.
#
# Build here, run there (see ../shared/DEVICE.md):
#   cmake -B build-cuda -DCMAKE_BUILD_TYPE=Release && cmake --build build-cuda -j
#   tools/gpu-pack.sh          # binaries into .devbin, the libraries the device lacks into .devlibs
# then run there, carrying .devbin and .devlibs:
#   STAGES=tests,bundled tools/gpu-check.sh
# Stages (comma-separated):
#   tests     the CUDA test programs (test_cuda*, each kernel vs the CPU, models, fixtures)
#   bundled   the bundled model: perplexity f32 and bf16 on the GPU, bench
#   bench     braid bench of each spec in BENCH_MODELS (architectures/NAME.yaml), JSON in $OUT
#   profile   Nsight Compute time per kernel of each spec in PROFILE_SPECS (tools/bench/NAME.yaml)
#   mamba_ssm Mamba2-2.7B: braid beside mamba_ssm (needs .peers/mamba_ssm)
#   llama     llama.cpp on the shapes in LLAMA_MODELS, built there while the other stages run (needs .peerllama:
#             ../shared/peers/*.sh with llamacpp_device.sh split in `prepare` (CPU) and `run` modes,
#             llama.cpp-src.tar.xz, tools/bench/make_random_hf.py; .peertok: a GPT-NeoX tokenizer.json and
#             tokenizer_config.json, whose pre-tokenizer the converter recognises; ../shared/PEERS.md)
set -uo pipefail
cd "$(dirname "$0")/.."
export LD_LIBRARY_PATH="$PWD/.devlibs:/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}"
export BRAID_SOURCE_DIR=$PWD NCCL_NVLS_ENABLE=0 PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/braid-gpu-check}
BIN=${BIN:-.devbin}
STAGES=${STAGES:-tests,bundled}
BENCH_MODELS=${BENCH_MODELS:-falcon-h1-1.5b-deep zamba2-1.2b nemotron-h-8b bamba-9b granite-4.0-h-tiny}
PROFILE_SPECS=${PROFILE_SPECS:-falcon-h1-4layers granite-tiny-4layers}
BENCH_ARGS=${BENCH_ARGS:---prefill 512,2048,8192 --batches 1,16,64}
PROFILE_ARGS=${PROFILE_ARGS:---prefill 2048 --batches 1 --decode 8}
has() { [[ ",$STAGES," == *",$1,"* ]]; }
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm --format=csv | tee "$OUT/gpu.txt"
missing=$(ldd "$BIN"/* | grep "not found")
[ -z "$missing" ] || { echo "missing libraries: $missing"; exit 1; }
rc=0

if has llama && [ -d .peerllama ]; then # llama.cpp's build and checkpoints on the CPU while braid runs
    OUT="$OUT" TOK="$PWD/.peertok" MODELS="${LLAMA_MODELS:-falcon_h1_1.5b_deep}" nice -n 19 \
        .peerllama/llamacpp_device.sh prepare > "$OUT/llama_prepare.log" 2>&1 &
    llama_prep=$!
fi

if has tests; then
    for t in "$BIN"/test_cuda*; do
        name=$(basename "$t")
        echo "== $name"
        "$t" > "$OUT/$name.log" 2>&1 || rc=1
        grep -vE "^\[ (RUN|     OK) \]" "$OUT/$name.log" | tail -60
    done
fi

if has bundled; then
    echo "== the bundled model on the GPU"
    {
        "$BIN/braid" ppl models/kjv-bamba-11m models/kjv-bamba-11m/val.txt --gpu 0 --weights f32
        "$BIN/braid" ppl models/kjv-bamba-11m models/kjv-bamba-11m/val.txt --gpu 0 --weights bf16
        "$BIN/braid" bench models/kjv-bamba-11m --gpu 0 --prefill 512,2048 --batches 1,16,64
    } 2>&1 | tee "$OUT/bundled.txt"
fi

if has profile; then
    for s in $PROFILE_SPECS; do
        echo "== GPU time per kernel: $s ($PROFILE_ARGS)"
        tools/bench/profile.sh "tools/bench/$s.yaml" $PROFILE_ARGS 2>&1 | tee "$OUT/profile_$s.txt"
    done
fi

if has bench; then
    for m in $BENCH_MODELS; do
        echo "== braid bench $m"
        "$BIN/braid" bench "architectures/$m.yaml" --gpu 0 --weights bf16 $BENCH_ARGS --json "$OUT/bench_$m.json" 2>&1 |
            tee "$OUT/bench_$m.txt"
    done
fi

if has mamba_ssm && [ -d .peers/mamba_ssm ]; then
    echo "== Mamba2-2.7B shape: braid (random weights) and mamba_ssm (same run)"
    "$BIN/braid" bench architectures/mamba2-2.7b.yaml --gpu 0 --weights bf16 $BENCH_ARGS 2>&1 | tee "$OUT/bench_mamba2_2.7b.txt"
    PYTHONPATH=$PWD/.peers python3 tools/bench/peer_mamba_ssm.py --prefill 512,2048,8192 --batches 1,16,64 \
        2>&1 | grep -v Warning | tee "$OUT/peer_mamba_ssm.txt"
fi

if has llama && [ -d .peerllama ]; then
    echo "== llama.cpp on the same shapes (same session)"
    wait "$llama_prep"
    tail -5 "$OUT/llama_prepare.log"
    OUT="$OUT" MODELS="${LLAMA_MODELS:-falcon_h1_1.5b_deep}" .peerllama/llamacpp_device.sh run 2>&1 | tail -60
fi
exit $rc
