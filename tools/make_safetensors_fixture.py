#!/usr/bin/env python3
"""Writes braid's safetensors conformance fixture with the reference library.

Outputs (committed; rerun only to regenerate):
  tests/data/safetensors/tiny.safetensors     written by safetensors.torch.save_file
  tests/data/safetensors/tiny.expected.json   every tensor's dtype, shape and values
                                              widened to float32 by torch

tests/test_safetensors.c opens the file with braid's reader and checks each
tensor against the JSON bit for bit.  json.dump writes NaN / Infinity the way
Python does, which braid's JSON loader accepts.

Usage: python3 tools/make_safetensors_fixture.py [repo root]
"""
import json
import math
import os
import sys

import safetensors
import safetensors.torch
import torch

FORMAT_NAMES = {torch.float32: "F32", torch.bfloat16: "BF16", torch.float16: "F16", torch.int32: "I32"}


def build():
    g = torch.Generator().manual_seed(20240611)
    specials = [0.0, -0.0, math.inf, -math.inf, math.nan, 1.0 / 3.0, -2.5e-3, 1e-7, 60000.0]
    return {
        "f32.matrix": torch.randn(3, 4, generator=g, dtype=torch.float32),
        "bf16.vector": torch.randn(7, generator=g).to(torch.bfloat16),
        "f16.cube": torch.randn(2, 3, 2, generator=g).to(torch.float16),
        "f32.scalar": torch.tensor(3.25, dtype=torch.float32),
        "bf16.empty": torch.empty(0, 5, dtype=torch.bfloat16),
        "f16.specials": torch.tensor(specials, dtype=torch.float32).to(torch.float16),
        "bf16.specials": torch.tensor(specials + [1e30], dtype=torch.float32).to(torch.bfloat16),
        "i32.ids": torch.arange(5, dtype=torch.int32),
    }


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
    out = os.path.join(root, "tests", "data", "safetensors")
    os.makedirs(out, exist_ok=True)
    tensors = build()
    metadata = {"format": "pt", "producer": "braid tools/make_safetensors_fixture.py"}
    safetensors.torch.save_file(tensors, os.path.join(out, "tiny.safetensors"), metadata=metadata)
    expected = {
        "safetensors_version": safetensors.__version__,
        "torch_version": torch.__version__,
        "metadata": metadata,
        "tensors": {
            name: {
                "dtype": FORMAT_NAMES[t.dtype],
                "shape": list(t.shape),
                "values": t.to(torch.float32).flatten().tolist(),
            }
            for name, t in tensors.items()
        },
    }
    with open(os.path.join(out, "tiny.expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
