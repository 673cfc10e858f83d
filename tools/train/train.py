#!/usr/bin/env python3
"""train.py - train braid's bundled default model (a small Bamba) on the King James Bible.

    python3 tools/train/train.py --corpus .train/corpus --out models/kjv-bamba --device cuda

Reads CORPUS/train.txt and CORPUS/val.txt (tools/train/get_corpus.sh), trains a
byte-level BPE tokenizer on train.txt, trains a hybrid Mamba-2/attention
`BambaForCausalLM` on train.txt (tokenised once; random 512-token windows;
AdamW, warmup + cosine; bf16 autocast on CUDA, float32 on the CPU), keeps the
weights with the best validation loss, and exports a Hugging Face folder:
model.safetensors (bfloat16), config.json, generation_config.json,
tokenizer.json + tokenizer_config.json, README.md (model card), val.txt
(the held-out text, for `braid ppl`) and train_log.json.  The folder is then
reloaded with AutoModelForCausalLM and a sample is generated as a check.

Training stops after --steps optimizer steps (default: --epochs passes over
train.txt) or after --minutes of training, whichever comes first.  After a
few timed steps the step count is lowered, if need be, so that the cosine
schedule ends inside the time budget; the log says so (re-run with that
--steps to reproduce the run exactly).  Runs are deterministic for a given
seed and step count as far as torch allows (CUDA: deterministic algorithms,
math attention kernel).

Validation here is a bf16 estimate on full --seq-len windows; the exact
float32 figure for the model card comes from tools/train/eval_ppl.py.
"""
import os

os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # deterministic cuBLAS; before CUDA starts
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import argparse
import bisect
import hashlib
import json
import math
import random
import shutil
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

BOS = "<|endoftext|>"  # also EOS; id 0
PAD = "<|pad|>"  # id 1

# Model shapes and training settings.  "default" is the bundled model; "tiny" is for testing the pipeline on a CPU.
PRESETS = {
    "default": dict(
        hidden=256, layers=12, attn_layers=[2, 6, 10], intermediate=640, heads=4, kv_heads=2,
        mamba_head_dim=64, d_state=64, vocab=4096,
        seq_len=512, batch=32, lr=2e-3, min_lr_frac=0.1, warmup=60, epochs=20, weight_decay=0.1, dropout=0.1,
        eval_every=30, log_every=10, bos_frac=1 / 16, patience=4,
    ),
    "tiny": dict(
        hidden=64, layers=4, attn_layers=[2], intermediate=128, heads=2, kv_heads=1,
        mamba_head_dim=64, d_state=16, vocab=4096,
        seq_len=128, batch=8, lr=3e-3, min_lr_frac=0.1, warmup=5, epochs=1, weight_decay=0.1, dropout=0.0,
        eval_every=10, log_every=5, bos_frac=1 / 8, patience=0,
    ),
}


def log(msg):
    print(msg, flush=True)


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# ----------------------------------------------------------------------------------------------- tokenizer


def train_tokenizer(train_path, vocab):
    """Byte-level BPE (GPT-2 pre-tokenizer regex, no prefix space) on train.txt; ids 0/1 are the specials."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)  # adds no tokens: no BOS is prepended
    trainer = trainers.BpeTrainer(vocab_size=vocab, min_frequency=2, special_tokens=[BOS, PAD],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train([train_path], trainer)
    assert tok.token_to_id(BOS) == 0 and tok.token_to_id(PAD) == 1
    return tok


def save_tokenizer(tok, out):
    from transformers import PreTrainedTokenizerFast

    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token=BOS, eos_token=BOS, unk_token=None, pad_token=PAD,
                                   model_max_length=2048, clean_up_tokenization_spaces=False)
    fast.save_pretrained(out)
    tok.save(os.path.join(out, "tokenizer.json"))  # exactly the tokenizers library's serialisation


def chapter_starts(text, enc):
    """Token index at which each chapter (a paragraph after a blank line, or the start) begins."""
    starts = [0] + [i + 2 for i in range(len(text) - 1) if text.startswith("\n\n", i)]
    tok_starts = [o[0] for o in enc.offsets]
    out = []
    for s in starts:
        j = bisect.bisect_left(tok_starts, s)
        assert j < len(tok_starts) and tok_starts[j] == s, f"chapter at char {s} does not start a token"
        out.append(j)
    return out


# ----------------------------------------------------------------------------------------------- model


def make_config(p, vocab_size, seq_len):
    from transformers import BambaConfig

    H = p["hidden"]
    return BambaConfig(
        vocab_size=vocab_size, hidden_size=H, num_hidden_layers=p["layers"], attn_layer_indices=p["attn_layers"],
        intermediate_size=p["intermediate"], num_attention_heads=p["heads"], num_key_value_heads=p["kv_heads"],
        mamba_n_heads=2 * H // p["mamba_head_dim"], mamba_d_head=p["mamba_head_dim"], mamba_expand=2,
        mamba_n_groups=1, mamba_d_state=p["d_state"], mamba_d_conv=4, mamba_chunk_size=64,
        mamba_conv_bias=True, mamba_proj_bias=False, hidden_act="silu", rms_norm_eps=1e-5,
        tie_word_embeddings=True, max_position_embeddings=4 * seq_len, initializer_range=0.02,
        bos_token_id=0, eos_token_id=0, pad_token_id=1, use_cache=True,
    )


@torch.no_grad()
def init_weights(model, cfg, seed):
    """transformers' init (normal 0.02) plus the mamba_ssm Mamba-2 init of dt_bias / A_log, and GPT-2 style
    1/sqrt(2 * layers) scaling of the projections that write into the residual stream."""
    gen = torch.Generator().manual_seed(seed + 1)
    scale = 1.0 / math.sqrt(2 * cfg.num_hidden_layers)
    for layer in model.model.layers:
        if hasattr(layer, "mamba"):
            m = layer.mamba
            h = m.num_heads
            dt = torch.exp(torch.rand(h, generator=gen) * (math.log(0.1) - math.log(0.001)) + math.log(0.001))
            dt = dt.clamp(min=1e-4)
            m.dt_bias.copy_(dt + torch.log(-torch.expm1(-dt)))  # softplus^-1(dt)
            m.A_log.copy_(torch.log(torch.empty(h).uniform_(1, 16, generator=gen)))
            m.D.fill_(1.0)
            m.out_proj.weight.mul_(scale)
        else:
            layer.self_attn.o_proj.weight.mul_(scale)
        layer.feed_forward.down_proj.weight.mul_(scale)


def add_dropout(model, p):
    """Training-only residual dropout on each mixer / MLP output (forward hooks; the architecture is unchanged)."""
    if p <= 0:
        return

    def hook(module, inputs, output):
        if isinstance(output, tuple):
            return (F.dropout(output[0], p, module.training),) + tuple(output[1:])
        return F.dropout(output, p, module.training)

    for layer in model.model.layers:
        for name in ("mamba", "self_attn", "feed_forward"):
            if hasattr(layer, name):
                getattr(layer, name).register_forward_hook(hook)


def count_params(model):
    return sum(p.numel() for p in model.parameters())


# ----------------------------------------------------------------------------------------------- training


def lr_at(step, total, p, lr, cooldown=None):
    """Linear warmup, then cosine from lr down to min_lr_frac * lr at `total`.  After an early cooldown
    (start, length, lr0) the cosine instead runs from lr0 at `start` to the minimum at start + length."""
    lo = lr * p["min_lr_frac"]
    if cooldown is not None and step >= cooldown[0]:
        start, length, lr0 = cooldown
        t = min(1.0, (step - start) / length)
        return lo + (lr0 - lo) * 0.5 * (1 + math.cos(math.pi * t))
    if step < p["warmup"]:
        return lr * (step + 1) / p["warmup"]
    t = min(1.0, (step - p["warmup"]) / max(1, total - p["warmup"]))
    return lo + (lr - lo) * 0.5 * (1 + math.cos(math.pi * t))


def batch_rows(train_ids, starts, n_rows, seq_len, bos_rows, gen, device):
    """n_rows windows of seq_len + 1 tokens at random offsets; the first bos_rows of them are BOS + a chapter start."""
    n = train_ids.numel()
    off = torch.randint(0, n - seq_len - 1, (n_rows,), generator=gen)
    if bos_rows:
        pick = torch.randint(0, len(starts), (bos_rows,), generator=gen)
        off[:bos_rows] = starts[pick] - 1  # the window's first token (replaced by BOS) sits just before the chapter
    idx = off[:, None] + torch.arange(seq_len + 1)[None, :]
    rows = train_ids[idx.to(train_ids.device)]
    if bos_rows:
        rows[:bos_rows, 0] = 0
    return rows.to(device, non_blocking=True)


def autocast(device):
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return torch.autocast("cpu", enabled=False)


def loss_of(model, rows, device):
    with autocast(device):
        logits = model(input_ids=rows[:, :-1], use_cache=False).logits
    return F.cross_entropy(logits.float().reshape(-1, logits.size(-1)), rows[:, 1:].reshape(-1))


@torch.no_grad()
def evaluate(model, val_windows, batch, device):
    """Mean NLL over val windows of seq_len tokens, scoring tokens 1 .. seq_len-1 of each (as `braid ppl`)."""
    model.eval()
    total, count = 0.0, 0
    for i in range(0, val_windows.size(0), batch):
        rows = val_windows[i:i + batch].to(device)
        with autocast(device):
            logits = model(input_ids=rows[:, :-1], use_cache=False).logits
        nll = F.cross_entropy(logits.float().reshape(-1, logits.size(-1)), rows[:, 1:].reshape(-1), reduction="sum")
        total += nll.item()
        count += rows[:, 1:].numel()
    model.train()
    return total / count


def set_determinism(seed, device):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.utils.deterministic.fill_uninitialized_memory = False  # correct code never reads it; saves bandwidth
    if device.type == "cuda":
        torch.cuda.manual_seed_all(seed)
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True
        torch.backends.cuda.matmul.allow_tf32 = True  # TF32 is deterministic; used by the float32 SSD einsums
        torch.backends.cudnn.allow_tf32 = True


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", required=True, help="folder with train.txt and val.txt (get_corpus.sh)")
    ap.add_argument("--out", required=True, help="the Hugging Face model folder to write")
    ap.add_argument("--preset", choices=sorted(PRESETS), default="default")
    ap.add_argument("--device", choices=["cuda", "cpu"], default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--steps", type=int, default=0, help="optimizer steps (default: the preset's --epochs)")
    ap.add_argument("--epochs", type=float, default=None, help="passes over train.txt when --steps is not given")
    ap.add_argument("--minutes", type=float, default=8.0, help="training time budget (0: none)")
    ap.add_argument("--batch", type=int, default=None, help="sequences per step")
    ap.add_argument("--seq-len", type=int, default=None)
    ap.add_argument("--lr", type=float, default=None)
    ap.add_argument("--warmup", type=int, default=None)
    ap.add_argument("--dropout", type=float, default=None)
    ap.add_argument("--eval-every", type=int, default=None)
    ap.add_argument("--patience", type=int, default=None, help="validations without a new best that end the run "
                    "early with a short cosine cooldown (0: never)")
    ap.add_argument("--ssd", choices=["fast", "reference"], default="fast", help="Mamba-2 scan used in training: "
                    "fast_ssd.py (default) or transformers' own pure-torch one (same math, far slower)")
    ap.add_argument("--estimate-only", action="store_true", help="time a few steps, print the estimates, export nothing")
    args = ap.parse_args()

    p = dict(PRESETS[args.preset])
    for key in ("batch", "seq_len", "lr", "warmup", "dropout", "eval_every", "epochs", "patience"):
        if getattr(args, key) is not None:
            p[key] = getattr(args, key)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        sys.exit("train.py: --device cuda but torch sees no GPU")
    set_determinism(args.seed, device)
    t_start = time.time()
    command = "python3 tools/train/train.py " + " ".join(sys.argv[1:])

    import transformers
    from transformers import BambaForCausalLM
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    if args.ssd == "fast":
        import fast_ssd

        log(fast_ssd.install())

    # --- data and tokenizer
    train_path, val_path = os.path.join(args.corpus, "train.txt"), os.path.join(args.corpus, "val.txt")
    train_text = open(train_path, encoding="utf-8").read()
    val_text = open(val_path, encoding="utf-8").read()
    tok = train_tokenizer(train_path, p["vocab"])
    tok_sha = hashlib.sha256(tok.to_str().encode()).hexdigest()
    enc = tok.encode(train_text, add_special_tokens=False)
    train_ids = torch.tensor(enc.ids, dtype=torch.long)
    n_train = train_ids.numel()
    starts = torch.tensor([s for s in chapter_starts(train_text, enc) if 0 < s < n_train - p["seq_len"]])
    val_ids = torch.tensor(tok.encode(val_text, add_special_tokens=False).ids, dtype=torch.long)
    S = p["seq_len"]
    nwin = (val_ids.numel()) // S
    val_windows = val_ids[:nwin * S].view(nwin, S)
    log(f"corpus: train.txt {len(train_text)} chars sha256 {sha256_file(train_path)[:16]}, val.txt {len(val_text)} "
        f"chars sha256 {sha256_file(val_path)[:16]}")
    log(f"tokenizer: byte-level BPE, vocab {tok.get_vocab_size()}, sha256 {tok_sha[:16]}; train {train_ids.numel()} "
        f"tokens ({len(train_text) / train_ids.numel():.2f} chars/token), val {val_ids.numel()} tokens; "
        f"{len(starts)} chapter starts")

    # --- model
    cfg = make_config(p, tok.get_vocab_size(), S)
    torch.manual_seed(args.seed)
    model = BambaForCausalLM(cfg)
    init_weights(model, cfg, args.seed)
    assert model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr(), "embeddings not tied"
    n_params = count_params(model)
    n_embed = model.model.embed_tokens.weight.numel()
    layout = "".join("a" if i in cfg.attn_layer_indices else "m" for i in range(cfg.num_hidden_layers))
    log(f"model: bamba, {cfg.num_hidden_layers} layers '{layout}' (m = Mamba-2 + MLP, a = attention + MLP), "
        f"d_model {cfg.hidden_size}, Mamba-2 {cfg.mamba_n_heads} heads x {cfg.mamba_d_head} (d_state "
        f"{cfg.mamba_d_state}, 1 group), attention {cfg.num_attention_heads} heads / {cfg.num_key_value_heads} KV x "
        f"{cfg.hidden_size // cfg.num_attention_heads}, SwiGLU {cfg.intermediate_size}, tied embeddings")
    log(f"parameters: {n_params:,} ({n_params - n_embed:,} without the embedding); model.safetensors in bf16 "
        f"~{n_params * 2 / 1e6:.1f} MB")
    model.to(device)
    model.train()
    add_dropout(model, p["dropout"])

    decay = [q for q in model.parameters() if q.dim() >= 2]
    no_decay = [q for q in model.parameters() if q.dim() < 2]
    opt_kw = dict(lr=p["lr"], betas=(0.9, 0.95), eps=1e-8)
    if device.type == "cuda":
        opt_kw["fused"] = True
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": p["weight_decay"]},
                             {"params": no_decay, "weight_decay": 0.0}], **opt_kw)

    B = p["batch"]
    tokens_per_step = B * S
    steps_per_epoch = train_ids.numel() / tokens_per_step
    total = args.steps if args.steps > 0 else max(1, round(p["epochs"] * steps_per_epoch))
    budget = args.minutes * 60 if args.minutes > 0 else float("inf")
    bos_rows = int(p["bos_frac"] * B + 0.5)
    log(f"training: {total} steps x {B} x {S} tokens ({tokens_per_step} / step, {total / steps_per_epoch:.1f} epochs), "
        f"lr {p['lr']} warmup {p['warmup']} cosine to {p['min_lr_frac']:g}x, AdamW wd {p['weight_decay']}, dropout "
        f"{p['dropout']}, {bos_rows} of {B} rows start with BOS + a chapter, device {device}"
        f"{' bf16 autocast' if device.type == 'cuda' else ' float32'}, seed {args.seed}, budget "
        f"{args.minutes:g} min")

    train_ids_dev = train_ids.to(device)
    log(f"setup (tokenizer, data, model) took {time.time() - t_start:.1f}s")
    gen = torch.Generator().manual_seed(args.seed)
    history, best = [], dict(loss=float("inf"), step=-1)
    best_state = None
    calib_at, calib_n, calib_t0 = (2, 3, None) if args.estimate_only else (5, 20, None)
    step, running, t_train = 0, [], time.time()
    eval_time = 0.0
    cooldown = None  # (start step, length, lr at start) once validation has stopped improving
    stop_reason = "steps"
    ctx = torch.nn.attention.sdpa_kernel(torch.nn.attention.SDPBackend.MATH)  # deterministic attention backward
    with ctx:
        while step < total:
            elapsed = time.time() - t_train
            if elapsed > budget:
                stop_reason = "time budget"
                break
            lr = lr_at(step, total, p, p["lr"], cooldown)
            for g in opt.param_groups:
                g["lr"] = lr
            rows = batch_rows(train_ids_dev, starts, B, S, bos_rows, gen, device)
            loss = loss_of(model, rows, device)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            gnorm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            running.append(loss.detach())
            step += 1

            if device.type == "cuda" and step in (calib_at, calib_at + calib_n):
                torch.cuda.synchronize()
            if step == calib_at:
                calib_t0 = time.time()
            if step == calib_at + calib_n and calib_t0 is not None:
                step_s = (time.time() - calib_t0) / calib_n
                evals = (total - step) / p["eval_every"]
                # an eval is a forward pass over val.txt; a forward is about a third of a training step
                eval_s = eval_time / len(history) if history else step_s * val_ids.numel() / tokens_per_step / 3
                left = (total - step) * step_s + evals * eval_s
                log(f"timing: {step_s * 1000:.1f} ms/step ({tokens_per_step / step_s:,.0f} tokens/s); the remaining "
                    f"{total - step} steps need ~{left / 60:.1f} min")
                if elapsed + left > budget:
                    fit = step + int((budget - elapsed) / (step_s + eval_s / p["eval_every"]) * 0.97)
                    log(f"timing: the time budget binds: schedule shortened from {total} to {fit} steps "
                        f"(re-run with --steps {fit} to reproduce)")
                    total = max(step + 1, fit)
                if args.estimate_only:
                    log(f"estimate: the run ({total} steps and {total // p['eval_every']} validations) takes "
                        f"~{(time.time() - t_train + left) / 60:.1f} min of training here, plus setup and export")
                    return

            if step % p["log_every"] == 0 or step == total:
                tl = torch.stack(running).mean().item()
                running = []
                el = time.time() - t_train
                log(f"step {step:5d}/{total}  loss {tl:.4f}  lr {lr:.2e}  gnorm {gnorm.item():.2f}  "
                    f"epoch {step / steps_per_epoch:5.2f}  {el:6.1f}s  {step * tokens_per_step / max(el, 1e-9):,.0f} tok/s")
            if step % p["eval_every"] == 0 or step == total:
                t0 = time.time()
                vl = evaluate(model, val_windows, B, device)
                eval_time += time.time() - t0
                history.append(dict(step=step, epoch=round(step / steps_per_epoch, 3), val_loss=vl,
                                    elapsed_s=round(time.time() - t_train, 1)))
                mark = ""
                if vl < best["loss"]:
                    best = dict(loss=vl, step=step)
                    best_state = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
                    mark = "  (best)"
                log(f"eval  {step:5d}  val loss {vl:.4f}  ppl {math.exp(vl):.2f}{mark}")
                # Overfitting guard: when `patience` validations in a row bring no new best while the learning
                # rate is still high, decay it now over a short cosine (15% of the steps so far, at least two
                # validation intervals) and end the run there, instead of training on while val loss rises.
                if (p["patience"] and cooldown is None and step >= best["step"] + p["patience"] * p["eval_every"]
                        and step < 0.8 * total):
                    length = max(2 * p["eval_every"], int(0.15 * step))
                    cooldown = (step, length, lr)
                    log(f"plateau: no new best validation loss for {p['patience']} validations (best at step "
                        f"{best['step']}); cooling down from lr {lr:.2e} over {length} steps and stopping at step "
                        f"{step + length} instead of {total}")
                    total = step + length
                    stop_reason = "validation plateau (early cooldown)"
    train_s = time.time() - t_train
    if best_state is None or (history and history[-1]["step"] != step):
        vl = evaluate(model, val_windows, B, device)
        history.append(dict(step=step, epoch=round(step / steps_per_epoch, 3), val_loss=vl,
                            elapsed_s=round(time.time() - t_train, 1)))
        if vl < best["loss"]:
            best = dict(loss=vl, step=step)
            best_state = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
        log(f"eval  {step:5d}  val loss {vl:.4f}  ppl {math.exp(vl):.2f}")
    log(f"trained {step} steps in {train_s:.1f}s (stopped by {stop_reason}); best val loss {best['loss']:.4f} "
        f"(ppl {math.exp(best['loss']):.2f}) at step {best['step']} (epoch {best['step'] / steps_per_epoch:.1f})")
    if cooldown is None and step >= 4 * p["eval_every"] and best["step"] < 0.7 * step:
        log(f"note: validation loss was lowest at {best['step'] / step:.0%} of the run, so the model began to "
            f"overfit; the kept weights are from before the learning rate had decayed. A run with --epochs "
            f"{max(1.0, 1.15 * best['step'] / steps_per_epoch):.1f} may end a little lower.")

    # --- export
    t_export = time.time()
    export(args, p, model, best_state, tok, cfg, dict(
        command=command, steps=step, planned_steps=total, stop_reason=stop_reason, train_seconds=round(train_s, 1),
        best_step=best["step"], best_val_loss=best["loss"], val_window=S, history=history,
        n_params=n_params, tokenizer_sha256=tok_sha, train_tokens=train_ids.numel(), val_tokens=val_ids.numel(),
        corpus_sha256={"train.txt": sha256_file(train_path), "val.txt": sha256_file(val_path)},
        torch_version=torch.__version__, transformers_version=transformers.__version__, device=str(device),
        seed=args.seed, preset=args.preset, settings=p,
    ), val_path)
    log(f"export and checks {time.time() - t_export:.1f}s; total wall time {time.time() - t_start:.1f}s")


def export(args, p, model, best_state, tok, cfg, info, val_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig

    out = args.out
    os.makedirs(out, exist_ok=True)
    model.load_state_dict(best_state)
    model.to("cpu").to(torch.bfloat16)
    model.eval()
    model.config.dtype = torch.bfloat16
    model.generation_config = GenerationConfig(bos_token_id=0, eos_token_id=0, pad_token_id=1)
    model.save_pretrained(out)
    save_tokenizer(tok, out)
    shutil.copyfile(val_path, os.path.join(out, "val.txt"))
    with open(os.path.join(out, "train_log.json"), "w") as f:
        json.dump(info, f, indent=1)
        f.write("\n")
    st = os.path.join(out, "model.safetensors")
    os.chmod(st, 0o644)
    log(f"exported {out}: model.safetensors {os.path.getsize(st) / 1e6:.1f} MB (bf16) sha256 {sha256_file(st)[:16]}, "
        f"tokenizer.json sha256 {sha256_file(os.path.join(out, 'tokenizer.json'))[:16]}, val.txt")

    # --- check: reload with transformers and generate
    m = AutoModelForCausalLM.from_pretrained(out, dtype=torch.float32)
    m.eval()
    t = AutoTokenizer.from_pretrained(out)
    ids = t("And God said", return_tensors="pt").input_ids
    torch.manual_seed(1)
    with torch.no_grad():
        g = m.generate(ids, max_new_tokens=40, do_sample=True, temperature=0.8, top_k=40)
    sample = t.decode(g[0], skip_special_tokens=False)
    with torch.no_grad():
        g = m.generate(ids, max_new_tokens=30, do_sample=False)
    greedy = t.decode(g[0], skip_special_tokens=False)
    log(f"reload check ({type(m).__name__}): sampled (temp 0.8, top-k 40, seed 1): {sample!r}")
    log(f"reload check: greedy: {greedy!r}")
    write_readme(out, cfg, info, p, sample)


def write_readme(out, cfg, info, p, sample):
    layout = "".join("a" if i in cfg.attn_layer_indices else "m" for i in range(cfg.num_hidden_layers))
    vl = info["best_val_loss"]
    stopped = {"steps": "reaching its step count", "time budget": "its time budget",
               "validation plateau (early cooldown)": "an early cooldown after validation loss stopped improving"
               }.get(info["stop_reason"], info["stop_reason"])
    text = f"""# {os.path.basename(os.path.abspath(out))}

braid's bundled default model: a {info['n_params'] / 1e6:.1f} M-parameter hybrid Mamba-2 / attention language model
(Hugging Face `BambaForCausalLM`, model_type `bamba`) trained from scratch on the King James Bible. It is small
enough to ship in the repository and to run anywhere (`braid generate` on a CPU), and exists to exercise and
demonstrate braid; it is not a useful general language model.

## Model

| | |
|---|---|
| layers | {cfg.num_hidden_layers}: `{layout}` (m = Mamba-2 mixer, a = attention; every layer also has a SwiGLU MLP) |
| d_model | {cfg.hidden_size} |
| Mamba-2 | {cfg.mamba_n_heads} heads x {cfg.mamba_d_head}, d_state {cfg.mamba_d_state}, 1 group, conv 4, expand 2 |
| attention | {cfg.num_attention_heads} heads, {cfg.num_key_value_heads} KV heads, head dim {cfg.hidden_size // cfg.num_attention_heads}, RoPE on half of each head (Bamba's default) |
| MLP | SwiGLU, {cfg.intermediate_size} |
| vocabulary | {cfg.vocab_size}, byte-level BPE; tied input/output embeddings |
| parameters | {info['n_params']:,} (model.safetensors in bfloat16) |
| context | trained on {info['val_window']}-token windows |

Tokenizer: byte-level BPE (GPT-2 pre-tokenizer regex, no prefix space) trained on train.txt with the
`tokenizers` library. `<|endoftext|>` (id 0) is BOS and EOS, `<|pad|>` (id 1) is padding. The tokenizer adds no
special tokens when encoding. In each training batch of {p['batch']} windows, {int(p['bos_frac'] * p['batch'] + 0.5)} start with
`<|endoftext|>` followed by the start of a chapter, and the rest are windows at random offsets. The model
therefore continues any text, and after a lone `<|endoftext|>` it starts a chapter ("Psalms 23" ...). It was never
trained to emit `<|endoftext|>`, so generation runs until the token limit.

## Data

The King James Version (1611/1769 text) as packaged by Debian in `bible-kjv-text` 4.38 and printed by its
`bible` program (`tools/train/get_corpus.sh`). Verse numbers are removed, each verse is on its own line, and each
chapter starts with a header line such as "Genesis 1". Every 20th chapter of the canon (Genesis 20, Genesis 40,
..., 59 of 1189) is held out as `val.txt`, which is included here; the other 1130 chapters are train.txt.

| file | sha256 |
|---|---|
| train.txt | `{info['corpus_sha256']['train.txt']}` |
| val.txt | `{info['corpus_sha256']['val.txt']}` |

## License

The King James Version text is in the public domain. (In the United Kingdom, the Crown's perpetual rights in
the Authorized Version, administered under letters patent, still apply.) The Debian packaging and the `bible` program that extract it are GPL-2.0-or-later; none
of their code is part of this model. The weights are a product of braid's training scripts and the public-domain
text, and are distributed with braid under its license.

## Training

```
{info['command']}
```
torch {info['torch_version']}, transformers {info['transformers_version']}, device {info['device']}, seed {info['seed']}.
The run took {info['steps']} AdamW steps of {p['batch']} x {info['val_window']} tokens ({info['steps'] * p['batch'] * info['val_window'] / info['train_tokens']:.1f} epochs over {info['train_tokens']:,}
training tokens) in {info['train_seconds']:.0f} s, and ended by {stopped}. It used warmup plus a cosine
schedule from lr {p['lr']}, weight decay {p['weight_decay']} and residual dropout {p['dropout']}. The weights kept are
from step {info['best_step']}, the step with the best validation loss ({vl:.4f}, perplexity {math.exp(vl):.2f} on
{info['val_window']}-token windows{' under bf16 autocast' if info['device'].startswith('cuda') else ''}). `train_log.json` has the full validation history.

## Evaluation

<!-- ppl -->Perplexity on val.txt: run `python3 tools/train/eval_ppl.py {out} {out}/val.txt --readme` (transformers,
float32) or `braid ppl {out} {out}/val.txt`.<!-- /ppl -->

## Sample

`And God said` (temperature 0.8, top-k 40, seed 1, transformers):

```
{sample}
```
"""
    with open(os.path.join(out, "README.md"), "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
