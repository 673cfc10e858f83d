#!/usr/bin/env bash
# gpu-pack.sh - readies a CUDA build for the lent GPU machine (../shared/DEVICE.md):
# the braid CLI and the CUDA test programs into .devbin, and the shared
# libraries that machine lacks (libyaml, cmocka, utf8proc) into .devlibs.
# Both folders are ignored by git (.git/info/exclude) and named in the
# device call's `carry`.  BUILD picks the build folder (default build-cuda).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build-cuda}
rm -rf .devbin .devlibs
mkdir -p .devbin .devlibs
cp "$BUILD/braid" "$BUILD"/test_cuda* .devbin/
for lib in libyaml-0.so.2 libcmocka.so.0 libutf8proc.so.2; do
    cp -L "/usr/lib/x86_64-linux-gnu/$lib" .devlibs/
done
du -sh .devbin .devlibs
