"""Trains one twin; `--both` trains the DIFF model and its softmax twin side by side, one CPU thread each.

    python3 training/train.py --both                 # the shipped recipe (see MODEL_CARD.md for its measured time)
    python3 training/train.py --attention softmax     # one twin
    python3 training/train.py --both --steps 50       # a quick smoke run

Both twins get the same seed, so identical initial embeddings/MLPs where shapes match, and the same batches in the same
order: batches are drawn from a generator seeded independently of the model. bf16 autocast on CPU (about 2x faster
here); the loss and softmax run in float32. Checkpoints (model, optimizer, step, config) go to
training/.cache/ckpt/<attention>.pt every `--ckpt-every` steps, and `--resume` continues from them.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from model import LM, Config, config_dict  # noqa: E402

CACHE = os.path.join(HERE, ".cache")

# ---- the recipe (defaults) ------------------------------------------------------------------------------------
SEED = 1337
BATCH = 32          # sequences per step
SEQ = 256           # tokens per sequence
STEPS = 1800        # ~14.7M tokens per twin, about 1.1 epochs (see MODEL_CARD.md for the measured time)
LR = 2e-3
MIN_LR = 2e-4
WARMUP = 100
WEIGHT_DECAY = 0.1
GRAD_CLIP = 1.0
EVAL_TOKENS = 65536  # per validation domain


def get_lr(step: int, steps: int) -> float:
    if step < WARMUP:  # 1) linear warmup
        return LR * (step + 1) / WARMUP
    if step >= steps:  # 2) floor
        return MIN_LR
    r = (step - WARMUP) / max(1, steps - WARMUP)  # 3) cosine decay to the floor
    return MIN_LR + 0.5 * (1 + math.cos(math.pi * r)) * (LR - MIN_LR)


def load(name: str) -> np.ndarray:
    return np.memmap(os.path.join(CACHE, "tokens", f"{name}.bin"), dtype=np.uint16, mode="r")


def batch_at(data: np.ndarray, gen: np.random.Generator):
    ix = gen.integers(0, len(data) - SEQ - 1, size=BATCH)
    x = torch.from_numpy(np.stack([data[i:i + SEQ].astype(np.int64) for i in ix]))
    y = torch.from_numpy(np.stack([data[i + 1:i + 1 + SEQ].astype(np.int64) for i in ix]))
    return x, y


@torch.no_grad()
def evaluate(model: LM) -> dict:
    model.eval()
    out = {}
    for dom in ("code", "prose", "kv"):
        data = load(f"val_{dom}")
        n = min(len(data) - 1, EVAL_TOKENS)
        losses, count = 0.0, 0
        for s in range(0, n - SEQ, SEQ):  # non-overlapping windows from the start of the held-out stream
            x = torch.from_numpy(data[s:s + SEQ].astype(np.int64))[None]
            y = torch.from_numpy(data[s + 1:s + 1 + SEQ].astype(np.int64))[None]
            with torch.autocast("cpu", dtype=torch.bfloat16):
                _, loss = model(x, y)
            losses += loss.item() * SEQ
            count += SEQ
        out[dom] = losses / max(1, count)
    model.train()
    return out


def train_one(attention: str, steps: int, ckpt_every: int, resume: bool, threads: int):
    torch.set_num_threads(threads)
    torch.manual_seed(SEED)
    vocab = len(json.load(open(os.path.join(CACHE, "tokenizer.json")))["model"]["vocab"])
    cfg = Config(vocab_size=vocab, attention=attention)
    model = LM(cfg)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": WEIGHT_DECAY}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=LR, betas=(0.9, 0.95))
    os.makedirs(os.path.join(CACHE, "ckpt"), exist_ok=True)
    path = os.path.join(CACHE, "ckpt", f"{attention}.pt")
    start, elapsed = 0, 0.0
    gen = np.random.default_rng(SEED)
    if resume and os.path.exists(path):
        ck = torch.load(path)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        start, elapsed = ck["step"], ck["elapsed_s"]
        gen.bit_generator.state = ck["data_rng"]
    data = load("train")
    log = open(os.path.join(CACHE, f"train_{attention}.log"), "a")
    print(f"[{attention}] {model.num_params()} parameters, steps {start}->{steps}", file=log, flush=True)
    t0 = time.time()
    for step in range(start, steps):
        for g in opt.param_groups:
            g["lr"] = get_lr(step, steps)
        x, y = batch_at(data, gen)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            _, loss = model(x, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), GRAD_CLIP)
        opt.step()
        opt.zero_grad(set_to_none=True)
        if step % 20 == 0 or step == steps - 1:
            el = elapsed + time.time() - t0
            print(f"step {step} loss {loss.item():.4f} lr {get_lr(step, steps):.2e} elapsed {el:.0f}s "
                  f"tok/s {(step + 1 - start) * BATCH * SEQ / (time.time() - t0):.0f}", file=log, flush=True)
        if (step + 1) % ckpt_every == 0 or step == steps - 1:
            torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "step": step + 1,
                        "elapsed_s": elapsed + time.time() - t0, "config": config_dict(cfg), "data_rng": gen.bit_generator.state,
                        "recipe": {"seed": SEED, "batch": BATCH, "seq": SEQ, "steps": steps, "lr": LR}}, path)
    ev = evaluate(model)
    ck = torch.load(path)
    ck["val_loss"] = ev
    torch.save(ck, path)
    print(f"[{attention}] done: val loss {json.dumps(ev)} train time {ck['elapsed_s']:.0f}s", file=log, flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--attention", choices=["diff-v1", "softmax"])
    ap.add_argument("--both", action="store_true")
    ap.add_argument("--steps", type=int, default=STEPS)
    ap.add_argument("--ckpt-every", type=int, default=100)
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    if a.both:
        t0 = time.time()
        procs = [subprocess.Popen([sys.executable, __file__, "--attention", att, "--steps", str(a.steps),
                                   "--ckpt-every", str(a.ckpt_every), "--threads", str(a.threads)] + (["--resume"] if a.resume else []))
                 for att in ("diff-v1", "softmax")]
        codes = [p.wait() for p in procs]
        print(f"both twins finished in {time.time() - t0:.0f} s (exit codes {codes})")
        sys.exit(max(codes))
    train_one(a.attention, a.steps, a.ckpt_every, a.resume, a.threads)


if __name__ == "__main__":
    main()
