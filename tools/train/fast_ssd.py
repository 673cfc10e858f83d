"""fast_ssd.py - a drop-in for transformers' pure-torch Mamba-2 chunked scan, for training.

transformers' `mamba2_chunk_scan` (the path Bamba takes when mamba_ssm is not
installed) writes its contractions as broadcast-multiply-then-sum, which
materialises [batch, chunks, L, L, heads, d_state]-sized temporaries: several
GB per layer at training batch sizes, and the backward pass does it again.
`chunk_scan` below is the same state-space-duality algorithm (the "ssd_minimal"
listing of the Mamba-2 paper) with the contractions written as einsums, so they
run as batched matrix products.  It takes the same arguments, uses the same
`segment_sum`, computes in float32 (autocast off, as the original does by
casting to float) and returns the same values to rounding; `check()` compares
it with the original, values and gradients, before training uses it.

The exported checkpoint is an ordinary Bamba checkpoint: this only changes how
the training forward/backward is evaluated, not the model.
"""
import torch
import torch.nn.functional as F


def _segment_sum(x):
    """[..., T] -> [..., T, T]: out[..., i, j] = sum(x[..., j+1 : i+1]) for j <= i, -inf above the diagonal."""
    T = x.size(-1)
    x = x[..., None].expand(*x.size(), T)
    x = x.masked_fill(~torch.tril(torch.ones(T, T, device=x.device, dtype=torch.bool), diagonal=-1), 0)
    s = torch.cumsum(x, dim=-2)
    return s.masked_fill(~torch.tril(torch.ones(T, T, device=x.device, dtype=torch.bool), diagonal=0), -torch.inf)


CHUNK_OVERRIDE = None  # install(chunk=...) sets it; the chunk length is math-neutral


def chunk_scan(hidden_states, dt, A, B, C, chunk_size, D=None, dt_bias=None, initial_states=None, dt_softplus=False,
               dt_limit=(0.0, float("inf")), return_final_states=False, **kwargs):
    """Same contract as transformers.models.bamba.modeling_bamba.mamba2_chunk_scan.

    hidden_states [b, T, h, p], dt [b, T, h], A [h], B/C [b, T, g, n]; returns y [b, T, h, p] (float32)
    and, if asked, the final state [b, h, p, n].
    """
    with torch.autocast(device_type=hidden_states.device.type, enabled=False):
        b, T, h, p = hidden_states.shape
        g = B.shape[2]
        dt = dt.float()  # (transformers adds the bias and takes softplus in the activation dtype)
        if dt_bias is not None:
            dt = dt + dt_bias.float()
        if dt_softplus:
            dt = F.softplus(dt)
        dt = torch.clamp(dt, min=dt_limit[0], max=dt_limit[1])
        x = hidden_states.float()
        Bh = B.float().repeat_interleave(h // g, dim=2, output_size=h)
        Ch = C.float().repeat_interleave(h // g, dim=2, output_size=h)
        D_residual = D.float()[:, None] * x if D is not None else None
        x = x * dt[..., None]
        Adt = A.float() * dt  # [b, T, h]

        L = CHUNK_OVERRIDE or chunk_size
        pad = (L - T % L) % L
        if pad:
            x = F.pad(x, (0, 0, 0, 0, 0, pad))
            Adt = F.pad(Adt, (0, 0, 0, pad))
            Bh = F.pad(Bh, (0, 0, 0, 0, 0, pad))
            Ch = F.pad(Ch, (0, 0, 0, 0, 0, pad))
        c = (T + pad) // L
        x = x.reshape(b, c, L, h, p)
        Bh = Bh.reshape(b, c, L, h, -1)
        Ch = Ch.reshape(b, c, L, h, -1)
        Adt = Adt.reshape(b, c, L, h).permute(0, 3, 1, 2)  # [b, h, c, L]
        A_cumsum = torch.cumsum(Adt, dim=-1)

        # 1. intra-chunk (diagonal blocks): y_l = sum_s (C_l . B_s) exp(sum A dt over (s, l]) x_s dt_s
        Lmat = torch.exp(_segment_sum(Adt))  # [b, h, c, l, s]
        G = torch.einsum("bclhn,bcshn->bhcls", Ch, Bh)
        Y_diag = torch.einsum("bhcls,bcshp->bclhp", G * Lmat, x)

        # 2. each chunk's final state from its own inputs
        decay_states = torch.exp(A_cumsum[..., -1:] - A_cumsum)  # [b, h, c, L]
        states = torch.einsum("bclhn,bclhp->bchpn", Bh * decay_states.permute(0, 2, 3, 1)[..., None], x)

        # 3. inter-chunk recurrence on the chunk boundary states
        if initial_states is None:
            init = torch.zeros_like(states[:, :1])
        else:
            init = initial_states[:, None].to(dtype=states.dtype, device=states.device)
        states = torch.cat([init, states], dim=1)  # [b, c+1, h, p, n]
        decay_chunk = torch.exp(_segment_sum(F.pad(A_cumsum[..., -1], (1, 0))))  # [b, h, c+1, c+1]
        new_states = torch.einsum("bhzc,bchpn->bzhpn", decay_chunk, states)
        states, final_state = new_states[:, :-1], new_states[:, -1]

        # 4. state -> output within each chunk
        state_decay_out = torch.exp(A_cumsum).permute(0, 2, 3, 1)[..., None]  # [b, c, L, h, 1]
        Y_off = torch.einsum("bclhn,bchpn->bclhp", Ch, states) * state_decay_out

        y = (Y_diag + Y_off).reshape(b, c * L, h, p)[:, :T]
        if D_residual is not None:
            y = y + D_residual
    if return_final_states:
        return y, final_state
    return y


def check(reference, device="cpu", seed=0):
    """Max differences (outputs, grads; relative to the largest reference value) between chunk_scan and
    `reference` on a random problem with padding, several chunks and a non-zero initial state."""
    gen = torch.Generator().manual_seed(seed)
    b, T, h, p, g, n, L = 2, 77, 4, 8, 1, 16, 16

    def r(*s, scale=1.0):
        return (torch.randn(*s, generator=gen) * scale).to(device).requires_grad_()

    inputs = [r(b, T, h, p), r(b, T, h, scale=0.5), -torch.exp(r(h, scale=0.5)), r(b, T, g, n), r(b, T, g, n)]
    extra = dict(D=r(h), dt_bias=r(h, scale=0.5), initial_states=r(b, h, p, n))
    outs, grads = [], []
    for fn in (reference, chunk_scan):
        y, final = fn(*inputs, chunk_size=L, dt_softplus=True, return_final_states=True, **extra)
        w = torch.randn(y.shape, generator=torch.Generator().manual_seed(seed + 1)).to(device)
        leaves = [t for t in inputs + list(extra.values()) if t.is_leaf]
        gs = torch.autograd.grad((y * w).sum() + final.sum(), leaves)
        outs.append((y.detach(), final.detach()))
        grads.append(gs)

    def rel(a, c):
        return ((a - c).abs().max() / a.abs().max()).item()

    dy = max(rel(a, c) for a, c in zip(outs[0], outs[1]))
    dg = max(rel(a, c) for a, c in zip(grads[0], grads[1]))
    return dy, dg


def install(chunk=None, tol=1e-5):
    """Check chunk_scan against transformers' Bamba scan (in float32 on the CPU: the check is of the
    algorithm) and, if they agree, make Bamba use it, with chunk length `chunk` (None: the config's).

    Returns a one-line description of what happened (the original stays in place on disagreement)."""
    global CHUNK_OVERRIDE
    from transformers.models.bamba import modeling_bamba as mb

    reference = mb.mamba2_chunk_scan
    with torch.random.fork_rng(devices=[]):
        dy, dg = check(reference)
    if not (dy < tol and dg < tol):
        return f"fast SSD NOT used: differs from transformers' scan (relative |dy| {dy:.2e}, |dgrad| {dg:.2e})"
    mb.mamba2_chunk_scan = chunk_scan
    CHUNK_OVERRIDE = chunk
    return (f"fast SSD in use, chunk {chunk or 'from config'} (matches transformers' scan: relative |dy| {dy:.1e}, "
            f"|dgrad| {dg:.1e})")
