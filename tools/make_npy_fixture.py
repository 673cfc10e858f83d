#!/usr/bin/env python3
"""Writes braid's .npy fixtures with numpy (committed; rerun to regenerate).

  tests/data/npy/f32_2x3.npy        numpy.save of arange(6) * 0.5 - 1, shape (2, 3):
                                    br_npy_write_f32 must reproduce it byte for byte
  tests/data/npy/f32_6_v2.npy       the same values as shape (6,), format version 2.0
  tests/data/npy/f32_scalar_v3.npy  a 0-d float32 (-1.5), format version 3.0

Usage: python3 tools/make_npy_fixture.py [repo root]
"""
import os
import sys

import numpy as np
from numpy.lib import format as npformat


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
    out = os.path.join(root, "tests", "data", "npy")
    os.makedirs(out, exist_ok=True)
    a = (np.arange(6, dtype="<f4") * 0.5 - 1).reshape(2, 3)
    np.save(os.path.join(out, "f32_2x3.npy"), a)
    with open(os.path.join(out, "f32_6_v2.npy"), "wb") as f:
        npformat.write_array(f, a.reshape(6), version=(2, 0))
    with open(os.path.join(out, "f32_scalar_v3.npy"), "wb") as f:
        npformat.write_array(f, np.array(-1.5, dtype="<f4"), version=(3, 0))


if __name__ == "__main__":
    main()
