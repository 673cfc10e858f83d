#!/usr/bin/env python3
"""(braid: ../shared/peers/make_random_hf.py with the hybrid shapes of braid's GPU issue added:
nemotron_h_8b, bamba_9b, zamba2_1.2b, granite_4.0_h_tiny, matching architectures/*.yaml.)
Random-weight Hugging Face checkpoints of published hybrid shapes, for timing peers on the same
shapes as braid's architectures/*.yaml (weights' values do not change speed). Usage: make_random_hf.py OUTDIR [names]; bf16 safetensors;
runs on the GPU when there is one. Add a shape here when a peer comparison needs it."""
import sys, time, torch, transformers as T

SHAPES = {
    "mamba2_2.7b": (T.Mamba2Config, T.Mamba2ForCausalLM, dict(hidden_size=2560, num_hidden_layers=64, num_heads=80,
        head_dim=64, state_size=128, n_groups=1, expand=2, conv_kernel=4, vocab_size=50288, tie_word_embeddings=True)),
    "mamba2_130m": (T.Mamba2Config, T.Mamba2ForCausalLM, dict(hidden_size=768, num_hidden_layers=24, num_heads=24,
        head_dim=64, state_size=128, n_groups=1, expand=2, conv_kernel=4, vocab_size=50288, tie_word_embeddings=True)),
    "mamba_2.8b": (T.MambaConfig, T.MambaForCausalLM, dict(hidden_size=2560, num_hidden_layers=64, state_size=16,
        expand=2, conv_kernel=4, vocab_size=50280, tie_word_embeddings=True)),
    "falcon_h1_1.5b_deep": (T.FalconH1Config, T.FalconH1ForCausalLM, dict(hidden_size=1280, num_hidden_layers=66,
        num_attention_heads=6, num_key_value_heads=2, head_dim=128, mamba_d_ssm=1536, mamba_n_heads=24, mamba_d_head=64,
        mamba_d_state=256, mamba_n_groups=1, mamba_d_conv=4, intermediate_size=3072, vocab_size=65536,
        tie_word_embeddings=False, mamba_rms_norm=False)),
    "bamba_9b": (T.BambaConfig, T.BambaForCausalLM, dict(hidden_size=4096, num_hidden_layers=32,
        num_attention_heads=32, num_key_value_heads=8, intermediate_size=14336, vocab_size=128256,
        attn_layer_indices=[9, 18, 27], mamba_n_heads=128, mamba_d_head=64, mamba_d_state=128, mamba_n_groups=1,
        mamba_expand=2, mamba_d_conv=4, tie_word_embeddings=False)),
    "nemotron_h_8b": (T.NemotronHConfig, T.NemotronHForCausalLM, dict(hidden_size=4096, num_hidden_layers=52,
        hybrid_override_pattern="M-M-M-M*-M-M-M-M-M*-M-M-M-M-M*-M-M-M-M-M*-M-M-M-M-M-", num_attention_heads=32,
        num_key_value_heads=8, head_dim=128, intermediate_size=21504, mamba_num_heads=128, mamba_head_dim=64,
        ssm_state_size=128, n_groups=8, conv_kernel=4, vocab_size=131072, tie_word_embeddings=False,
        mlp_hidden_act="relu2")),
}

out = sys.argv[1]
names = sys.argv[2:] or list(SHAPES)
dev = "cuda" if torch.cuda.is_available() else "cpu"
torch.set_default_dtype(torch.bfloat16)
for name in names:
    cfg_cls, model_cls, kw = SHAPES[name]
    t = time.time()
    try:
        cfg = cfg_cls(**kw)
        with torch.device(dev):
            m = model_cls(cfg)
        n = sum(p.numel() for p in m.parameters())
        m.save_pretrained(f"{out}/{name}", safe_serialization=True)
        print(f"{name}: {n:,} params, saved in {time.time()-t:.1f}s", flush=True)
        del m; torch.cuda.empty_cache()
    except Exception as e:
        print(f"{name}: FAILED {type(e).__name__}: {e}", flush=True)
