#!/usr/bin/env python3
"""Times mamba_ssm (the reference Mamba-2 implementation) on the shape braid
is timed on, in the same device run, so the two can be compared.

    PYTHONPATH=.peers python3 tools/bench/peer_mamba_ssm.py [--prefill 512,2048] [--decode 64] [--batches 1,16,64]

mamba_ssm's Python packages (and einops) are expected in the ignored folder
.peers/ (see ../shared/PEERS.md: its Triton kernels run without compiling
anything).  Model: MambaLMHeadModel with Mamba2-2.7B's shape (64 layers,
d_model 2560, 80 heads x 64, d_state 128, 1 group, vocab 50288), random
weights in bf16.  Prefill: one forward pass over L tokens (CUDA events,
best of 3 after a warm-up).  Decode: generate(cg=True) (CUDA-graph decode)
of 1 + STEPS tokens after a 16-token prompt minus generate of 1 token,
divided by STEPS.  Nothing from mamba_ssm is part of braid.
"""
import argparse
import time

import torch


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--prefill", default="512,2048")
    ap.add_argument("--decode", type=int, default=64)
    ap.add_argument("--batches", default="1,16,64")
    args = ap.parse_args()
    from mamba_ssm.models.config_mamba import MambaConfig
    from mamba_ssm.models.mixer_seq_simple import MambaLMHeadModel

    torch.manual_seed(0)
    cfg = MambaConfig(d_model=2560, n_layer=64, vocab_size=50277, pad_vocab_size_multiple=16,
                      ssm_cfg={"layer": "Mamba2", "d_state": 128, "headdim": 64, "ngroups": 1, "use_mem_eff_path": False},
                      rms_norm=True, fused_add_norm=True, residual_in_fp32=True, tie_embeddings=True)
    model = MambaLMHeadModel(cfg, device="cuda", dtype=torch.bfloat16).eval()
    print(f"mamba_ssm MambaLMHeadModel, Mamba2-2.7B shape, {sum(p.numel() for p in model.parameters()):,} parameters, bf16")
    with torch.no_grad():
        for L in map(int, args.prefill.split(",")):
            ids = torch.randint(0, 50277, (1, L), device="cuda")
            model(ids)
            best = 1e30
            for _ in range(3):
                s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                s.record()
                model(ids)
                e.record()
                torch.cuda.synchronize()
                best = min(best, s.elapsed_time(e) / 1e3)
            print(f"  prefill {L:6d} tokens   {1e3 * best:9.2f} ms   {L / best:10.1f} tok/s")
        for B in map(int, args.batches.split(",")):
            ids = torch.randint(0, 50277, (B, 16), device="cuda")

            def run(n):
                torch.cuda.synchronize()
                t0 = time.perf_counter()
                model.generate(ids, max_length=16 + n, cg=True, top_k=1)
                torch.cuda.synchronize()
                return time.perf_counter() - t0

            run(args.decode + 1), run(1)  # warm-up, CUDA graph capture
            t = min(run(args.decode + 1) - run(1) for _ in range(3))
            print(f"  decode  batch {B:4d}    {1e3 * t / args.decode:9.3f} ms/step {B * args.decode / t:8.1f} tok/s")


if __name__ == "__main__":
    main()
