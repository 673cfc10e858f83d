#!/usr/bin/env bash
# Installs what braid needs to build and test on Debian / Ubuntu:
# a C compiler, CMake, libyaml (specs), jansson (JSON), PCRE2 and utf8proc
# (tokenizers), OpenBLAS (CPU matrix products), cmocka (tests) and gnuplot
# (the plots `braid ablate` makes; without it the scripts stay, unplotted).
# Safe to re-run; uses sudo when not root.  The CUDA backend additionally
# needs a CUDA toolkit, found by CMake when present.  `tools/deps.sh test`
# also installs clang and its libFuzzer runtime for the fuzz targets.
set -euo pipefail
pkgs=(build-essential cmake pkg-config libyaml-dev libjansson-dev libpcre2-dev libutf8proc-dev
      libopenblas-dev libcmocka-dev gnuplot-nox)
[ "${1:-}" = test ] && pkgs+=(clang libclang-rt-dev)
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi
