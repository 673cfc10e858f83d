#!/usr/bin/env bash
# train_bundled.sh - the one command run on the lent GPU machine for issue 5:
#   1. reports the machine and library versions,
#   2. regenerates the transformers fixtures there and compares them with
#      the committed ones (tools/fixtures/compare_fixtures.py),
#   3. trains and exports the bundled model (tools/train/make_bundled.sh train),
#   4. packs the model folder and logs into $OUT as parts under 15 MiB
#      (the device returns at most 8 files of 16 MiB).
# Needs the ignored folder .train/corpus carried along (make_bundled.sh corpus).
# Unpack here with: cat OUT/bundle.tar.part.* | tar xf -
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT" .train/logs
{
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
    python3 -c 'import torch, transformers, tokenizers, numpy; print("torch", torch.__version__, "cuda", torch.cuda.is_available(), "transformers", transformers.__version__, "tokenizers", tokenizers.__version__, "numpy", numpy.__version__)'
} > .train/logs/device.txt 2>&1
cat .train/logs/device.txt
( python3 tools/fixtures/make_fixtures.py --out /tmp/fx-device && python3 tools/fixtures/compare_fixtures.py /tmp/fx-device ) \
    > .train/logs/fixtures-on-device.txt 2>&1
tail -20 .train/logs/fixtures-on-device.txt
tools/train/make_bundled.sh train
rc=$?
tar cf - models .train/logs | split -b 15m - "$OUT/bundle.tar.part."
ls -la "$OUT"
exit $rc
