#!/usr/bin/env bash
# profile.sh SPEC [bench options...] - GPU time per kernel of `braid bench`,
# summed by kernel name, read with Nsight Compute (clocks left alone).  Run
# on the lent GPU machine with the binaries of tools/gpu-check.sh.
#   tools/bench/profile.sh tools/bench/mamba2-2.7b-4layers.yaml --prefill 2048 --batches 1 --decode 4
set -euo pipefail
cd "$(dirname "$0")/../.."
export LD_LIBRARY_PATH="$PWD/.devlibs:/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}"
BIN=${BIN:-.devbin}
csv=$(mktemp)
ncu --clock-control none --metrics gpu__time_duration.sum --csv --print-units base \
    "$BIN/braid" bench "$@" --gpu 0 --weights bf16 --repeat 1 --no-ceilings > "$csv" 2>/dev/null || true
python3 - "$csv" <<'PY'
import csv, sys, collections
rows = [l for l in open(sys.argv[1]) if l.startswith('"')]
t, n = collections.Counter(), collections.Counter()
for r in csv.DictReader(rows):
    if r.get("Metric Name") != "gpu__time_duration.sum":
        continue
    name = r["Kernel Name"].split("(")[0][:60]
    t[name] += float(r["Metric Value"].replace(",", "")) / 1e3
    n[name] += 1
total = sum(t.values())
print(f"{'kernel':60s} {'calls':>6s} {'us':>10s} {'share':>6s}")
for k, v in t.most_common(25):
    print(f"{k:60s} {n[k]:6d} {v:10.1f} {100 * v / total:5.1f}%")
print(f"{'total':60s} {sum(n.values()):6d} {total:10.1f}")
PY
rm -f "$csv"
