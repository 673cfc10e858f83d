#!/usr/bin/env bash
# make_bundled.sh STAGE... - corpus -> train -> export -> eval for braid's bundled default model.
#
#   tools/train/make_bundled.sh corpus          # needs apt (network): writes .train/corpus
#   tools/train/make_bundled.sh train           # GPU machine: trains, exports models/$NAME
#   tools/train/make_bundled.sh eval            # float32 CPU perplexity -> models/$NAME/ppl_reference.json
#   tools/train/make_bundled.sh check           # braid generate + braid ppl against the reference (needs braid)
#   tools/train/make_bundled.sh all             # all of the above, in order
#
# Environment (all optional):
#   NAME=kjv-bamba-11m   the model folder under models/ (MODEL=path overrides the whole path)
#   CORPUS=.train/corpus DEVICE=cuda (cpu where torch sees no GPU) PRESET=default
#   TRAIN_ARGS="..."     extra train.py arguments (e.g. "--minutes 6" or "--steps 30")
#   WINDOW=1024          eval window (braid ppl's default); check uses the reference's
#   BRAID=build-train/braid   the braid binary for `check`
#
# Only the corpus stage needs a network (apt-get); copy .train/corpus to the GPU
# machine, which needs python3 with torch, transformers, tokenizers, safetensors
# and numpy.  `train` logs to .train/logs/train-$NAME.log (and stdout).
# `train` should take about 2-3 minutes on one H100 (an estimate: no GPU was
# at hand when it was written); its training time is capped at --minutes 8,
# and it then exports and reloads the model.  `eval` takes well under a
# minute on a 16-core CPU.  On a machine that limits one command to 10
# minutes, run `train` and `eval` as two commands.
set -euo pipefail
cd "$(dirname "$0")/../.."

NAME=${NAME:-kjv-bamba-11m}
CORPUS=${CORPUS:-.train/corpus}
PRESET=${PRESET:-default}
WINDOW=${WINDOW:-1024}
MODEL=${MODEL:-models/$NAME}
if [ -z "${DEVICE:-}" ]; then
    DEVICE=$(python3 -c 'import torch; print("cuda" if torch.cuda.is_available() else "cpu")')
fi

stage_corpus() {
    if [ -f "$CORPUS/SHA256SUMS" ] && (cd "$CORPUS" && sha256sum -c --quiet SHA256SUMS); then
        echo "corpus: $CORPUS is present and matches its SHA256SUMS"
    else
        tools/train/get_corpus.sh "$CORPUS"
    fi
}

stage_train() {
    [ -f "$CORPUS/train.txt" ] && [ -f "$CORPUS/val.txt" ] || {
        echo "no corpus in $CORPUS: run '$0 corpus' where apt works and copy the folder here" >&2
        exit 1
    }
    if [ -f "$CORPUS/SHA256SUMS" ]; then (cd "$CORPUS" && sha256sum -c --quiet SHA256SUMS); fi
    mkdir -p .train/logs
    # shellcheck disable=SC2086
    python3 tools/train/train.py --corpus "$CORPUS" --out "$MODEL" --device "$DEVICE" --preset "$PRESET" \
        ${TRAIN_ARGS:-} 2>&1 | tee ".train/logs/train-$NAME.log"
}

stage_eval() {
    python3 tools/train/eval_ppl.py "$MODEL" "$MODEL/val.txt" --window "$WINDOW" --readme
}

stage_check() {
    BRAID=${BRAID:-build-train/braid}
    if [ ! -x "$BRAID" ]; then
        echo "check: no braid binary at $BRAID (build it: cmake -B build-train -DCMAKE_BUILD_TYPE=Release" \
            "-DBRAID_CUDA=OFF && cmake --build build-train -j), skipping" >&2
        return 0
    fi
    echo "--- braid generate $MODEL --prompt 'And God said' -n 40 --temp 0.8 --top-k 40 --seed 1"
    "$BRAID" generate "$MODEL" --prompt "And God said" -n 40 --temp 0.8 --top-k 40 --seed 1
    echo
    # the window and BOS setting of the reference that `eval` wrote
    read -r W BOSFLAG < <(python3 -c 'import json, sys; r = json.load(open(sys.argv[1]))
print(r["window"], "--bos" if r["bos"] else "")' "$MODEL/ppl_reference.json")
    echo "--- braid ppl $MODEL $MODEL/val.txt --window $W $BOSFLAG"
    # shellcheck disable=SC2086
    out=$("$BRAID" ppl "$MODEL" "$MODEL/val.txt" --window "$W" $BOSFLAG 2>/dev/null)
    echo "$out"
    python3 - "$MODEL/ppl_reference.json" "$out" <<'PY'
import json, re, sys
ref = json.load(open(sys.argv[1]))
m = re.search(r"perplexity ([0-9.]+) over (\d+) tokens", sys.argv[2])
ppl, n = float(m.group(1)), int(m.group(2))
rel = abs(ppl - ref["ppl"]) / ref["ppl"]
print(f"braid {ppl:.4f} vs transformers {ref['ppl']:.4f} (window {ref['window']}): relative difference {rel:.2e}, "
      f"tokens {n} vs {ref['tokens_scored']}")
sys.exit(0 if rel < 1e-3 and n == ref["tokens_scored"] else 1)
PY
}

[ $# -gt 0 ] || { sed -n '2,25p' "$0"; exit 2; }
for stage in "$@"; do
    case $stage in
    corpus) stage_corpus ;;
    train) stage_train ;;
    eval) stage_eval ;;
    check) stage_check ;;
    all) stage_corpus; stage_train; stage_eval; stage_check ;;
    *) echo "unknown stage '$stage' (corpus, train, eval, check, all)" >&2; exit 2 ;;
    esac
done
