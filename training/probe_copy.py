"""Copy probe: trains a small twin on repeated random ids generated in-process (or train.py's batches) and logs the
copy test (train.py's copy_probe: loss on the first and second copy of 100 random ids) every --every steps.

    OMP_NUM_THREADS=1 taskset -c 1 /usr/bin/python3 training/probe_copy.py --attention softmax --d-model 64 --steps 600
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from model import LM, Config, init_identical  # noqa: E402


@torch.no_grad()
def copy_test(model, vocab, cases=8, n=100):
    model.eval()
    rng = np.random.default_rng(4242)
    f, s = [], []
    for _ in range(cases):
        span = rng.integers(1, vocab, size=n).tolist()
        ids = torch.tensor([[0] + span + span])
        logits, _ = model(ids[:, :-1])
        nll = F.cross_entropy(logits[0].float(), ids[0, 1:], reduction="none")
        f.append(float(nll[1:n].mean()))
        s.append(float(nll[n:2 * n].mean()))
    model.train()
    return round(float(np.mean(f)), 3), round(float(np.mean(s)), 3)


def pure_batch(rng, batch, seq, vocab, lo, hi):
    rows = []
    for _ in range(batch):
        out = []
        while len(out) < seq + 1:
            L = int(rng.integers(lo, hi + 1))
            span = rng.integers(1, vocab, size=L).tolist()
            out += [0] + span + span
        rows.append(out[:seq + 1])
    xy = torch.tensor(rows)
    return xy[:, :-1].contiguous(), xy[:, 1:].contiguous()


def patch(model, untied, abspos, seq):
    import types
    if untied:
        model.head = torch.nn.Linear(model.cfg.d_model, model.cfg.vocab_size, bias=False)
        torch.nn.init.normal_(model.head.weight, std=0.02)
    if abspos:
        model.pos = torch.nn.Parameter(torch.randn(max(seq, 256), model.cfg.d_model) * 0.02)

    def forward(self, idx, targets=None, wants=None):
        B, T = idx.shape
        x = self.embed(idx)
        if abspos:
            x = x + self.pos[:T]
        for b in self.blocks:
            x = b(x, self.rope_cos, self.rope_sin)
        h = self.norm(x)
        logits = self.head(h) if untied else F.linear(h, self.embed.weight)
        if targets is None:
            return logits, None
        return logits, F.cross_entropy(logits.float().reshape(-1, logits.size(-1)), targets.reshape(-1))
    model.forward = types.MethodType(forward, model)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--attention", default="softmax")
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--d-model", type=int, default=64)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--warmup", type=int, default=50)
    ap.add_argument("--wd", type=float, default=0.1)
    ap.add_argument("--clip", type=float, default=1.0)
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--every", type=int, default=50)
    ap.add_argument("--span", default="64,128", help="min,max span length for pure data")
    ap.add_argument("--vocab-gen", type=int, default=8192, help="ids drawn from 1..this (the model's vocab stays 8192)")
    ap.add_argument("--data", default="pure", help="pure | train (train.py's Batches with --task-seqs/--curriculum)")
    ap.add_argument("--task-seqs", type=int, default=3)
    ap.add_argument("--curriculum", type=int, default=0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--save", default="")
    ap.add_argument("--embed-mean", type=float, default=0.0, help="add one shared random vector of this rms to every embedding row")
    ap.add_argument("--final-gain", type=float, default=None, help="initialise the final RMSNorm's gain to this")
    ap.add_argument("--copy-n", type=int, default=100, help="length of the copy test's span")
    ap.add_argument("--untied", action="store_true", help="a separate output matrix (ablation; the shipped graph is tied)")
    ap.add_argument("--abspos", action="store_true", help="add learned absolute position embeddings (ablation)")
    ap.add_argument("--embed-std", type=float, default=None, help="re-initialise the embedding with this std")
    a = ap.parse_args()
    torch.manual_seed(a.seed)
    cfg = Config(vocab_size=8192, n_layer=a.layers, d_model=a.d_model, n_head=a.heads, head_dim=a.d_model // a.heads,
                 mlp_hidden=int(round(a.d_model * 8 / 3 / 32)) * 32 or 32, attention=a.attention)
    model = init_identical(LM(cfg), a.seed)
    if a.embed_std is not None:
        with torch.no_grad():
            model.embed.weight.normal_(0, a.embed_std)
    if a.embed_mean:
        with torch.no_grad():
            g = torch.Generator().manual_seed(99)
            model.embed.weight.add_(torch.randn(model.cfg.d_model, generator=g) * a.embed_mean)
    if a.final_gain is not None:
        with torch.no_grad():
            model.norm.weight.fill_(a.final_gain)
    if a.untied or a.abspos:
        patch(model, a.untied, a.abspos, a.seq)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    nod = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": a.wd}, {"params": nod, "weight_decay": 0.0}],
                            lr=a.lr, betas=(0.9, 0.95))
    lo, hi = map(int, a.span.split(","))
    rng = np.random.default_rng(a.seed)
    if a.data == "train":
        import train as T
        T.BATCH, T.SEQ, T.TASK_SEQS, T.CURRICULUM = a.batch, a.seq, a.task_seqs, a.curriculum
        batches = T.Batches(a.seed)
    print(json.dumps(vars(a)), model.num_params(), "params", flush=True)
    t0 = time.time()
    for step in range(a.steps):
        lr = a.lr * min(1.0, (step + 1) / a.warmup)
        for g in opt.param_groups:
            g["lr"] = lr
        x, y = pure_batch(rng, a.batch, a.seq, a.vocab_gen, lo, hi) if a.data == "pure" else batches(step)
        _, loss = model(x, y)
        loss.backward()
        gn = torch.nn.utils.clip_grad_norm_(model.parameters(), a.clip)
        opt.step()
        opt.zero_grad(set_to_none=True)
        if step % a.every == 0 or step == a.steps - 1:
            f, s = copy_test(model, 8192, n=a.copy_n)
            extra = " small-vocab %s %s" % copy_test(model, a.vocab_gen, n=a.copy_n) if a.vocab_gen < 8192 else ""
            print(f"step {step} loss {loss.item():.3f} gnorm {gn:.2f} lr {lr:.1e} copy first {f} second {s}{extra} "
                  f"t {time.time() - t0:.0f}s", flush=True)
    if a.save:
        torch.save({"model": model.state_dict(), "config": vars(cfg)}, a.save)


if __name__ == "__main__":
    main()
