"""Twin decoder-only language models: differential attention (DIFF V1) and its softmax twin.

Differential attention follows Ye et al., "Differential Transformer" (ICLR 2025, arXiv 2410.05258) and the authors'
reference code, exactly as docs/DESIGN.md §2 states it:
  - h = H/2 heads of width d; Q and K make 2h sub-heads, sub-head 2i is Q1 (K1) of head i and 2i+1 is Q2 (K2)
    (the "interleaved" pairing); V makes h heads of width 2d;
  - RoPE on every Q/K sub-head, GPT-J style pairs (2j, 2j+1);
  - A1, A2 causal softmaxes with scale 1/sqrt(d); lambda = exp(lq1.lk1) - exp(lq2.lk2) + lambda_init, one scalar per layer,
    lambda_init = 0.8 - 0.6 exp(-0.3 l) for 0-based layer l;
  - head output = RMSNorm_2d(A_diff V) * (1 - lambda_init), heads concatenated, then W_O.
The softmax twin has H heads of width d and the same projections, so both have the same parameter count (DIFF adds
only the lambda vectors and the per-head norm gains). Both use pre-RMSNorm blocks, SwiGLU MLPs and tied embeddings.

Attention is computed explicitly (mask + softmax), never through a fused kernel, so that the inspector's graph can
output Q and K after RoPE and recompute every map.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, asdict

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class Config:
    vocab_size: int = 8192
    n_layer: int = 4
    d_model: int = 128
    n_head: int = 4          # softmax heads H; DIFF uses H/2 heads whose Q/K make H sub-heads
    head_dim: int = 32       # d, the width of a Q/K (sub-)head; d_model == n_head * head_dim
    mlp_hidden: int = 352    # SwiGLU hidden width (about 8/3 d_model, rounded to a multiple of 32)
    max_seq_len: int = 2048  # RoPE tables are built this long; the ONNX graph itself takes any length
    rope_theta: float = 10000.0
    attention: str = "diff-v1"  # "diff-v1" or "softmax"

    def __post_init__(self):
        assert self.d_model == self.n_head * self.head_dim, f"d_model {self.d_model} != n_head {self.n_head} x head_dim {self.head_dim}"
        assert self.attention in ("diff-v1", "softmax"), self.attention
        if self.attention == "diff-v1":
            assert self.n_head % 2 == 0, "DIFF needs an even number of sub-heads"


def lambda_init_for(layer: int) -> float:
    return 0.8 - 0.6 * math.exp(-0.3 * layer)


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float = 1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rope_tables(head_dim: int, max_len: int, theta: float):
    inv = 1.0 / (theta ** (torch.arange(0, head_dim, 2).float() / head_dim))  # (d/2,)
    t = torch.arange(max_len).float()
    freqs = torch.outer(t, inv)  # (T, d/2)
    return freqs.cos(), freqs.sin()


def apply_rope(x, cos, sin):
    """Interleaved (GPT-J) RoPE: rotates pairs (2j, 2j+1). x: (B, n, T, d); cos/sin: (T, d/2)."""
    x1, x2 = x.reshape(*x.shape[:-1], -1, 2).unbind(-1)  # x[..., 0::2], x[..., 1::2] (unbind: a cheap backward)
    r1 = x1 * cos - x2 * sin
    r2 = x1 * sin + x2 * cos
    return torch.stack((r1, r2), dim=-1).flatten(-2)


class Attention(nn.Module):
    def __init__(self, cfg: Config, layer: int):
        super().__init__()
        self.cfg = cfg
        self.layer = layer
        D, d = cfg.d_model, cfg.head_dim
        self.wq = nn.Linear(D, D, bias=False)
        self.wk = nn.Linear(D, D, bias=False)
        self.wv = nn.Linear(D, D, bias=False)
        self.wo = nn.Linear(D, D, bias=False)
        self.diff = cfg.attention == "diff-v1"
        if self.diff:
            self.lambda_init = lambda_init_for(layer)
            self.lambda_q1 = nn.Parameter(torch.randn(d) * 0.1)
            self.lambda_k1 = nn.Parameter(torch.randn(d) * 0.1)
            self.lambda_q2 = nn.Parameter(torch.randn(d) * 0.1)
            self.lambda_k2 = nn.Parameter(torch.randn(d) * 0.1)
            self.subln = RMSNorm(2 * d, eps=1e-5)

    def lam(self):
        return (torch.exp((self.lambda_q1 * self.lambda_k1).sum()) - torch.exp((self.lambda_q2 * self.lambda_k2).sum())
                + self.lambda_init)

    def forward(self, x, cos, sin, want: dict | None = None, cache: dict | None = None):
        """cos, sin: RoPE tables at these tokens' positions (T, d/2). cache (inference only): {"k", "v"} the keys and
        values of the tokens before these (B, n, P, d) and (B, h, P, 2d) for DIFF, "pos" these tokens' positions (T,);
        "k" and "v" are replaced by the keys and values of all P + T tokens (the graph's present outputs)."""
        B, T, D = x.shape
        cfg = self.cfg
        n, d = cfg.n_head, cfg.head_dim  # n (sub-)heads of width d for Q and K
        q = self.wq(x).view(B, T, n, d).transpose(1, 2)  # (B, n, T, d)
        k_new = apply_rope(self.wk(x).view(B, T, n, d).transpose(1, 2), cos, sin)  # (B, n, T, d)
        q = apply_rope(q, cos, sin)
        v_new = self.wv(x).view(B, T, n // 2, 2 * d).transpose(1, 2) if self.diff else self.wv(x).view(B, T, n, d).transpose(1, 2)
        if cache is None:
            k, v = k_new, v_new
            mask = torch.ones(T, T, dtype=torch.bool, device=x.device).triu(1)
        else:
            k = torch.cat((cache["k"], k_new), dim=2)  # (B, n, P + T, d)
            v = torch.cat((cache["v"], v_new), dim=2)
            cache["k"], cache["v"] = k, v
            mask = torch.arange(k.shape[2], device=x.device)[None, :] > cache["pos"][:, None]  # (T, P + T): key after query
        logits = (q @ k.transpose(-1, -2)) * (1.0 / math.sqrt(d))  # (B, n, T, P + T)
        probs = F.softmax(logits.float().masked_fill(mask, float("-inf")), dim=-1).to(q.dtype)
        if self.diff:
            h = n // 2
            probs = probs.view(B, h, 2, T, k.shape[2])  # sub-head 2i -> A1 of head i, 2i+1 -> A2
            lam = self.lam()
            p1, p2 = probs.unbind(2)  # = probs[:, :, 0], probs[:, :, 1]; unbind's backward avoids two zero-filled T x T copies
            a = p1 - lam * p2  # (B, h, T, P + T), rows sum to 1 - lambda
            o = a @ v  # (B, h, T, 2d)
            rms = torch.rsqrt(o.float().pow(2).mean(-1, keepdim=True) + self.subln.eps).to(o.dtype)  # (B, h, T, 1)
            o = o * rms * self.subln.weight * (1 - self.lambda_init)
            if want is not None:
                want["lambda"] = lam.reshape(1)
                # ||(g * v_j) W_O,h|| * (1 - lambda_init): per head and key token; divide by rms_i^-1 (i.e. multiply by
                # the exported row factor) to get value-weighted attention |a_ij| * ||...|| * rmsfactor_i.
                wo = self.wo.weight.view(D, h, 2 * d)  # out x (h, 2d)
                gv = v_new * self.subln.weight  # (B, h, T, 2d): the value norms of these tokens as keys
                vo = torch.einsum("bhtc,ohc->bhto", gv, wo) * (1 - self.lambda_init)  # (B, h, T, D)
                want["vnorm"] = vo.norm(dim=-1)  # (B, h, T)
                want["rowscale"] = rms.squeeze(-1)  # (B, h, T): the per-row factor 1/rms_i
        else:
            o = probs @ v  # (B, n, T, d)
            if want is not None:
                wo = self.wo.weight.view(D, n, d)
                vo = torch.einsum("bhtc,ohc->bhto", v_new, wo)
                want["vnorm"] = vo.norm(dim=-1)  # (B, n, T)
        if want is not None:
            want["q"] = q
            want["k"] = k_new
        y = o.transpose(1, 2).reshape(B, T, D)
        return self.wo(y)


class MLP(nn.Module):
    def __init__(self, cfg: Config):
        super().__init__()
        self.w1 = nn.Linear(cfg.d_model, cfg.mlp_hidden, bias=False)
        self.w3 = nn.Linear(cfg.d_model, cfg.mlp_hidden, bias=False)
        self.w2 = nn.Linear(cfg.mlp_hidden, cfg.d_model, bias=False)

    def forward(self, x):
        return self.w2(F.silu(self.w1(x)) * self.w3(x))


class Block(nn.Module):
    def __init__(self, cfg: Config, layer: int):
        super().__init__()
        self.norm1 = RMSNorm(cfg.d_model)
        self.attn = Attention(cfg, layer)
        self.norm2 = RMSNorm(cfg.d_model)
        self.mlp = MLP(cfg)

    def forward(self, x, cos, sin, want=None, cache=None):
        x = x + self.attn(self.norm1(x), cos, sin, want, cache)
        return x + self.mlp(self.norm2(x))


class LM(nn.Module):
    def __init__(self, cfg: Config):
        super().__init__()
        self.cfg = cfg
        self.embed = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.blocks = nn.ModuleList([Block(cfg, l) for l in range(cfg.n_layer)])
        self.norm = RMSNorm(cfg.d_model)
        cos, sin = rope_tables(cfg.head_dim, cfg.max_seq_len, cfg.rope_theta)
        self.register_buffer("rope_cos", cos, persistent=False)
        self.register_buffer("rope_sin", sin, persistent=False)
        self.apply(self._init)
        for b in self.blocks:  # scaled init of residual projections (GPT-2)
            nn.init.normal_(b.attn.wo.weight, std=0.02 / math.sqrt(2 * cfg.n_layer))
            nn.init.normal_(b.mlp.w2.weight, std=0.02 / math.sqrt(2 * cfg.n_layer))

    @staticmethod
    def _init(m):
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, std=0.02)
        elif isinstance(m, nn.Embedding):
            nn.init.normal_(m.weight, std=0.02)

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def forward(self, idx, targets=None, wants: list | None = None, caches: list | None = None, positions=None):
        """caches (inference only): one dict per layer for Attention.forward, with positions (T,) of these tokens."""
        B, T = idx.shape
        if positions is None:
            assert T <= self.cfg.max_seq_len, f"sequence length {T} exceeds max_seq_len {self.cfg.max_seq_len}"
            cos, sin = self.rope_cos[:T], self.rope_sin[:T]
        else:
            cos, sin = self.rope_cos[positions], self.rope_sin[positions]
            for c in caches or []:
                c["pos"] = positions
        x = self.embed(idx)
        for i, b in enumerate(self.blocks):
            x = b(x, cos, sin, None if wants is None else wants[i], None if caches is None else caches[i])
        logits = F.linear(self.norm(x), self.embed.weight)  # tied embeddings
        if targets is None:
            return logits, None
        loss = F.cross_entropy(logits.float().view(-1, logits.size(-1)), targets.view(-1))
        return logits, loss


def init_identical(model: LM, seed: int) -> LM:
    """Re-initialises every parameter from a generator seeded by (seed, parameter name), so that the DIFF model and its
    softmax twin start from identical tensors wherever a name and shape are shared (embedding, Q/K/V/O projections,
    MLPs, norms); only DIFF's own tensors (lambda vectors, per-head norm gains) differ, and they draw from their own
    streams. The distributions are those of LM.__init__: N(0, 0.02) for projections and the embedding, N(0, 0.02 /
    sqrt(2 n_layer)) for the residual outputs (attn.wo, mlp.w2), N(0, 0.1) for the lambda vectors, ones for norm gains."""
    import zlib
    L = model.cfg.n_layer
    with torch.no_grad():
        for name, p in model.named_parameters():
            g = torch.Generator().manual_seed(zlib.crc32(f"{seed}:{name}".encode()))
            leaf = name.split(".")[-2] + "." + name.split(".")[-1] if "." in name else name
            if name.endswith(("norm1.weight", "norm2.weight", "subln.weight")) or name == "norm.weight":
                p.fill_(1.0)
            elif ".lambda_" in name:
                p.copy_(torch.randn(p.shape, generator=g) * 0.1)
            elif leaf in ("wo.weight", "w2.weight"):
                p.copy_(torch.randn(p.shape, generator=g) * (0.02 / math.sqrt(2 * L)))
            else:
                p.copy_(torch.randn(p.shape, generator=g) * 0.02)
    return model


def config_dict(cfg: Config) -> dict:
    return asdict(cfg)
