#!/usr/bin/env python3
"""Greedy continuations of the bundled model with transformers, for braid's test.

    python3 tools/train/greedy_reference.py MODEL_DIR OUT.json

Loads the bf16 checkpoint, converts it to float32 on the CPU (as braid
widens bf16 weights), encodes each prompt with the model's tokenizer.json
(no special tokens, as `braid generate --prompt` does for this tokenizer),
and records 40 greedy tokens from an argmax loop over full re-forwards,
with the smallest top-1/top-2 logit gap on the path (a test is meaningful
only if that gap is well above f32 rounding).
"""
import json
import sys

import torch
from tokenizers import Tokenizer
from transformers import AutoModelForCausalLM

PROMPTS = ["And God said", "In the beginning", "Psalms 23\n", "And Jesus answered"]
N = 40


def main():
    model_dir, out = sys.argv[1], sys.argv[2]
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(model_dir).float().eval()
    tok = Tokenizer.from_file(f"{model_dir}/tokenizer.json")
    cases = []
    with torch.no_grad():
        for p in PROMPTS:
            ids = tok.encode(p, add_special_tokens=True).ids
            seq, gen, margin = list(ids), [], float("inf")
            for _ in range(N):
                logits = model(torch.tensor([seq])).logits[0, -1]
                top = torch.topk(logits, 2)
                margin = min(margin, float(top.values[0] - top.values[1]))
                nxt = int(top.indices[0])
                gen.append(nxt)
                seq.append(nxt)
            cases.append({"prompt": p, "prompt_ids": ids, "greedy_ids": gen, "text": tok.decode(gen),
                          "min_margin": margin})
            print(f"{p!r}: margin {margin:.3f}: {tok.decode(gen)!r}")
    json.dump({"model": model_dir, "max_new_tokens": N, "cases": cases,
               "note": "float32 on the CPU from the bf16 weights; argmax over full re-forwards"},
              open(out, "w"), indent=1)


if __name__ == "__main__":
    main()
