#!/usr/bin/env python3
"""The residual stream after every layer of a Hugging Face checkpoint, for `braid compare`.

    python3 tools/compare/hidden_states.py MODEL_DIR --ids 5,17,42 --out hidden.npy
    braid compare MODEL_DIR --ids 5,17,42 --ref hidden.npy

Runs transformers in float32 on the CPU and writes [n_layers + 1, T, d_model] float32 in braid's
order: what the first layer reads (embeddings, scaled as the model scales them), the stream after
each layer, and after the last layer the final norm's output.  Families order
output_hidden_states differently (Mamba and Mamba-2 append after each layer, others before), so
the rows are taken with hooks on the layer list instead: a pre-hook on the first layer, a hook on
every layer, and hidden_states[-1] (after the final norm in every family) for the last row.
"""
import argparse

import numpy as np
import torch
import transformers


def layer_list(model, n):
    """The ModuleList of the model's n decoder layers."""
    for name, mod in model.named_modules():
        if isinstance(mod, torch.nn.ModuleList) and len(mod) == n and name.endswith("layers"):
            return mod
    raise SystemExit(f"no list of {n} layers found in {type(model).__name__}")


def first_tensor(x):
    return x[0] if isinstance(x, (tuple, list)) else x


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model_dir")
    ap.add_argument("--ids", required=True, help="comma-separated token ids")
    ap.add_argument("--out", required=True, help="the .npy file to write")
    a = ap.parse_args()
    ids = torch.tensor([[int(x) for x in a.ids.split(",")]])
    model = transformers.AutoModelForCausalLM.from_pretrained(a.model_dir, dtype=torch.float32).eval()
    layers = layer_list(model, model.config.num_hidden_layers)
    rows = []
    layers[0].register_forward_pre_hook(
        lambda mod, args, kwargs: rows.append(first_tensor(args) if args else kwargs["hidden_states"]),
        with_kwargs=True)
    for layer in layers:
        layer.register_forward_hook(lambda mod, args, out: rows.append(first_tensor(out)))
    with torch.no_grad():
        out = model(input_ids=ids, output_hidden_states=True, use_cache=False)
    rows[-1] = out.hidden_states[-1]  # the last layer's stream after the final norm
    stack = torch.stack([r[0] for r in rows]).float().numpy()
    np.save(a.out, stack.astype(np.float32))
    print(f"{a.out}: {list(stack.shape)} (layers + 1, tokens, d_model)")


if __name__ == "__main__":
    main()
