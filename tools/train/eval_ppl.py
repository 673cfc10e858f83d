#!/usr/bin/env python3
"""eval_ppl.py - perplexity of a checkpoint folder with transformers, the reference for `braid ppl`.

    python3 tools/train/eval_ppl.py MODEL_DIR FILE.txt [--window W] [--bos] [--readme] [--no-json]

Exactly the computation of `braid ppl` (tools/cli/cmd_ppl.c): FILE is encoded
once with MODEL_DIR/tokenizer.json (the tokenizers library, no special
tokens) and cut into consecutive windows of W tokens (default 1024).  Each
window is a fresh forward pass (no state carried over) that scores its
tokens 1 .. W-1 given the ones before them; with --bos the window is
prefixed by the tokenizer's BOS token and all W are scored.  A last window
with fewer than 2 tokens to run is skipped.  PPL = exp(mean NLL) over every
scored token, with log-softmax in double.

The model is loaded with AutoModelForCausalLM from its stored (bf16) weights,
converted to float32 and run on the CPU.  The result is printed and written
to MODEL_DIR/ppl_reference.json ({"ppl", "nll_mean", "tokens_scored",
"window", "bos", "transformers_version", ...}) for braid's tests to compare
with.  --readme also puts the figure into MODEL_DIR/README.md between its
<!-- ppl --> markers.
"""
import argparse
import hashlib
import json
import math
import os
import re
import sys
import time

# transformers' pure-torch Mamba-2 scan allocates and frees large temporaries for every layer; with glibc's
# default thresholds each one is a fresh mmap + page faults + munmap, which more than doubles the run time.
# Re-run once with the thresholds raised (glibc reads them only at start-up).
if __name__ == "__main__" and "MALLOC_MMAP_THRESHOLD_" not in os.environ:
    os.environ["MALLOC_MMAP_THRESHOLD_"] = str(1 << 34)
    os.environ.setdefault("MALLOC_TRIM_THRESHOLD_", str(1 << 34))
    os.execv(sys.executable, [sys.executable] + sys.argv)

BOS_NAMES = ["<s>", "<|begin_of_text|>", "<|endoftext|>", "<bos>"]  # the order braid ppl searches


def perplexity(model_dir, text_path, window=1024, bos=False, threads=None, progress=None):
    import torch
    from tokenizers import Tokenizer
    from transformers import AutoModelForCausalLM

    if threads:
        torch.set_num_threads(threads)
    tok = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
    with open(text_path, "rb") as f:
        text = f.read().decode("utf-8")
    ids = tok.encode(text, add_special_tokens=False).ids
    bos_id = None
    if bos:
        for name in BOS_NAMES:
            bos_id = tok.token_to_id(name)
            if bos_id is not None:
                break
        if bos_id is None:
            raise SystemExit("eval_ppl.py: --bos: the tokenizer has no BOS token")
    if len(ids) < 2:
        raise SystemExit(f"eval_ppl.py: {text_path} encodes to {len(ids)} tokens; need at least 2")

    if progress is None:
        progress = sys.stderr.isatty()
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    model = model.float().eval()
    off = 1 if bos else 0
    nll, scored, n_windows = 0.0, 0, 0
    t0 = time.time()
    with torch.inference_mode():
        for start in range(0, len(ids), window):
            chunk = ids[start:start + window]
            if len(chunk) + off < 2:
                break
            buf = ([bos_id] if bos else []) + chunk
            x = torch.tensor([buf], dtype=torch.long)
            logits = model(input_ids=x, use_cache=False).logits[0].double()  # [T, V]
            logp = torch.log_softmax(logits[:-1], dim=-1)
            tgt = x[0, 1:]
            nll -= logp.gather(1, tgt[:, None]).sum().item()
            scored += len(buf) - 1
            n_windows += 1
            if progress:
                done = min(start + window, len(ids))
                print(f"\r{done}/{len(ids)} tokens  {done / (time.time() - t0):.0f} tok/s", end="", file=sys.stderr,
                      flush=True)
    if progress:
        print(file=sys.stderr)
    mean = nll / scored
    return dict(ppl=math.exp(mean), nll_mean=mean, tokens_scored=scored, windows=n_windows, window=window, bos=bos,
                text_tokens=len(ids))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model_dir")
    ap.add_argument("text")
    ap.add_argument("--window", type=int, default=1024)
    ap.add_argument("--bos", action="store_true")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    ap.add_argument("--json", default=None, help="where to write the fixture (default MODEL_DIR/ppl_reference.json)")
    ap.add_argument("--no-json", action="store_true", help="print only")
    ap.add_argument("--readme", action="store_true", help="also write the figure into MODEL_DIR/README.md")
    args = ap.parse_args()
    if args.window < 2:
        ap.error("--window must be at least 2")

    import torch
    import transformers
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()  # not the "falling back to the reference PyTorch implementation" notes
    t0 = time.time()
    r = perplexity(args.model_dir, args.text, args.window, args.bos, args.threads)
    with open(args.text, "rb") as f:
        text_sha = hashlib.sha256(f.read()).hexdigest()
    print(f"perplexity {r['ppl']:.4f} over {r['tokens_scored']} tokens ({r['windows']} windows of {args.window}, "
          f"{'with' if args.bos else 'without'} BOS; mean NLL {r['nll_mean']:.6f} nats/token)  [transformers "
          f"{transformers.__version__}, float32, CPU, {time.time() - t0:.1f}s]")
    fixture = dict(ppl=r["ppl"], nll_mean=r["nll_mean"], tokens_scored=r["tokens_scored"], window=args.window,
                   bos=args.bos, transformers_version=transformers.__version__, torch_version=torch.__version__,
                   text=os.path.basename(args.text), text_sha256=text_sha, text_tokens=r["text_tokens"],
                   windows=r["windows"], dtype="float32 (weights as stored, converted)", device="cpu")
    if not args.no_json:
        path = args.json or os.path.join(args.model_dir, "ppl_reference.json")
        with open(path, "w") as f:
            json.dump(fixture, f, indent=1)
            f.write("\n")
        print(f"wrote {path}")
    if args.readme:
        readme = os.path.join(args.model_dir, "README.md")
        text = open(readme).read()
        name = args.model_dir.rstrip("/")
        rel = os.path.basename(args.text)
        shown = f"{name}/{rel}" if os.path.exists(os.path.join(name, rel)) else args.text
        line = (f"<!-- ppl -->Perplexity on {rel}: **{r['ppl']:.3f}** (mean NLL {r['nll_mean']:.5f} nats over "
                f"{r['tokens_scored']:,} tokens; windows of {args.window} tokens, each from a fresh state, scoring "
                f"tokens 1..{args.window - 1}{', BOS-prefixed' if args.bos else ''}; transformers "
                f"{transformers.__version__}, float32). Reproduce with `braid ppl {name} {shown}"
                f"{' --window %d' % args.window if args.window != 1024 else ''}{' --bos' if args.bos else ''}` or "
                f"`python3 tools/train/eval_ppl.py {name} {shown}"
                f"{' --window %d' % args.window if args.window != 1024 else ''}{' --bos' if args.bos else ''}`."
                f"<!-- /ppl -->")
        new, n = re.subn(r"<!-- ppl -->.*?<!-- /ppl -->", lambda m: line, text, flags=re.S)
        if n != 1:
            sys.exit(f"eval_ppl.py: {readme} has no <!-- ppl --> ... <!-- /ppl --> section")
        with open(readme, "w") as f:
            f.write(new)
        print(f"updated {readme}")


if __name__ == "__main__":
    main()
