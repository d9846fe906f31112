"""Trains one twin; `--both` trains the DIFF model and its softmax twin side by side, one CPU thread each.

    python3 training/train.py --both --seed 1                 # the recipe (defaults below), both twins, seed 1
    python3 training/train.py --attention softmax --seed 2    # one twin
    python3 training/train.py --both --steps 50 --run smoke   # a quick smoke run (checkpoints in .cache/ckpt/smoke/)

Twins identical except the attention: with the same --seed both start from identical tensors wherever a parameter's
name and shape are shared (model.init_identical seeds each parameter's generator by seed and name; only DIFF's lambda
vectors and per-head norm gains are its own), and both see the same batches in the same order (batch k is drawn from
a generator seeded by (data seed, k), independent of the model, so --resume continues the same sequence). --seed sets
the data order too unless --data-seed is given, so two seeds differ in both.

Each batch holds BATCH sequences of SEQ tokens: TASK_SEQS of in-context task documents (training/tasks.py: copying
random ids and natural text, multi-fact retrieval with distractors, identifiers defined early and used late), and the
rest random windows of the licensed code and prose, FILE_START_SEQS of those starting at the top of a code file (so
definitions at the top are in context when they are used far below). Before that mix, a curriculum (CUR_SEQ,
--curriculum-seq): 700 steps of copying documents only (tasks.Tasks.COPY_ONLY), first in rows of 32 tokens, then 128,
then 512 (the same tokens per step), where copying appears (training/PROBES.md). float32 (bf16 autocast with --bf16 only where the CPU has native bf16: on this machine it is 7x slower). Checkpoints (model, optimizer, step, config, recipe) go to training/.cache/ckpt/[<run>/]<attention>-s<seed>.pt
every `--ckpt-every` steps, and `--resume` continues from them. Logs: training/.cache/[<run>/]train_<attention>-s<seed>.log.
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
from model import LM, Config, config_dict, init_identical  # noqa: E402

CACHE = os.path.join(HERE, ".cache")

# ---- the recipe (defaults) ------------------------------------------------------------------------------------
SEED = 1
BATCH = 8            # sequences per step (small batches, many updates: in-context skills appear after many steps)
SEQ = 512            # tokens per sequence
TASK_SEQS = 3        # of BATCH: in-context task documents (37.5 % of the tokens)
FILE_START_SEQS = 2  # of the rest: windows that start at the top of a code file
STEPS = 2300         # 9.4 M tokens per twin; about 3.5 s per step for DIFF here, so one pair in about 2.2 h (twins.sh)
LR = 2e-3
MIN_LR = 2e-4
WARMUP = 100
WEIGHT_DECAY = 0.1
GRAD_CLIP = 1.0
EVAL_TOKENS = 65536  # per validation domain
CURRICULUM = 0       # steps at the start whose batches are all copying documents (--curriculum; see CUR_SEQ)
CUR_SEQ = "32:300,128:200,512:200"  # curriculum rows: a length (BATCH * SEQ // length rows of it, for CURRICULUM steps)
                     # or stages length:steps (then CURRICULUM is their sum); training/PROBES.md: copying appears in
                     # these 700 steps (short rows first), and not in 1300 steps without them. Off: --curriculum-seq 512
BF16 = False         # bf16 autocast: about 2x faster on CPUs with native bf16, but 7x slower on this machine's (AVX2 only)
MODEL = dict(n_layer=4, d_model=128, n_head=4, head_dim=32, mlp_hidden=352)


def get_lr(step: int, steps: int) -> float:
    warm = min(WARMUP, max(1, steps // 10))
    if step < warm:  # 1) linear warmup
        return LR * (step + 1) / warm
    if step >= steps:  # 2) floor
        return MIN_LR
    r = (step - warm) / max(1, steps - warm)  # 3) cosine decay to the floor
    return MIN_LR + 0.5 * (1 + math.cos(math.pi * r)) * (LR - MIN_LR)


def cur_stages() -> list:
    """CUR_SEQ as [(row length, steps)]: "128" is one stage of CURRICULUM steps, "32:400,128:200" two stages."""
    if ":" not in str(CUR_SEQ):
        return [(int(CUR_SEQ), CURRICULUM)]
    return [(int(a), int(b)) for a, b in (x.split(":") for x in str(CUR_SEQ).split(","))]


def cur_len(step: int) -> int:
    end = 0
    for n, k in cur_stages():
        end += k
        if step < end:
            return n
    return SEQ


def load(name: str) -> np.ndarray:
    return np.memmap(os.path.join(CACHE, "tokens", f"{name}.bin"), dtype=np.uint16, mode="r")


class Batches:
    """Batch k is a pure function of (data seed, k): identical for both twins, and resumable from any step."""

    def __init__(self, data_seed: int):
        from tasks import Tasks  # noqa: E402
        self.seed = data_seed
        self.data = load("train")
        self.tasks = Tasks("train")
        self.code_starts = self.tasks.doc_starts["code"]
        self.code_starts = self.code_starts[self.code_starts < len(self.data) - SEQ - 1]

    def __call__(self, step: int):
        rng = np.random.default_rng([self.seed, step])
        rows = []
        if step < CURRICULUM:  # first steps: copying documents only (tasks.Tasks.COPY_ONLY), in short rows
            n = cur_len(step)
            for _ in range(BATCH * SEQ // n):
                rows.append(np.asarray(self.tasks.sequence(rng, n + 1, self.tasks.COPY_ONLY), dtype=np.int64))
            xy = torch.from_numpy(np.stack(rows))
            return xy[:, :-1].contiguous(), xy[:, 1:].contiguous()
        else:
            for _ in range(TASK_SEQS):
                rows.append(np.asarray(self.tasks.sequence(rng, SEQ + 1), dtype=np.int64))
        for i in range(BATCH - len(rows)):
            if i < FILE_START_SEQS:
                s = int(self.code_starts[rng.integers(len(self.code_starts))])
            else:
                s = int(rng.integers(0, len(self.data) - SEQ - 1))
            rows.append(self.data[s:s + SEQ + 1].astype(np.int64))
        xy = torch.from_numpy(np.stack(rows))
        return xy[:, :-1].contiguous(), xy[:, 1:].contiguous()


@torch.no_grad()
def evaluate(model: LM) -> dict:
    """Held-out loss per domain on the first EVAL_TOKENS tokens, in non-overlapping windows of the training length
    (keys "code", "prose") and of 256 tokens ("code@256", "prose@256": the previous pair's windows, for comparison)."""
    model.eval()
    out = {}
    for dom in ("code", "prose"):
        data = load(f"val_{dom}")
        n = min(len(data) - 1, EVAL_TOKENS)
        for win, key in ((SEQ, dom), (256, f"{dom}@256")):
            losses, count = 0.0, 0
            for s in range(0, n - win, win):
                x = torch.from_numpy(data[s:s + win].astype(np.int64))[None]
                y = torch.from_numpy(data[s + 1:s + 1 + win].astype(np.int64))[None]
                with torch.autocast("cpu", dtype=torch.bfloat16, enabled=BF16):
                    _, loss = model(x, y)
                losses += loss.item() * win
                count += win
            out[key] = losses / max(1, count)
    model.train()
    return out


@torch.no_grad()
def copy_probe(model: LM, cases: int = 8, n: int = 100, short: bool = True) -> dict:
    """Loss on the first and second copy of n random ids (measure.py's test, fewer cases): logged at each checkpoint,
    so a run shows when copying appears. Also for 50 and 15 ids ("first50", "second15", ...), which fit the curriculum's
    short rows: copying shows there first, and at 100 ids only once the rows are longer."""
    model.eval()
    rng = np.random.default_rng(4242)
    first, second = [], []
    for _ in range(cases):
        span = rng.integers(1, model.cfg.vocab_size, size=n).tolist()
        ids = torch.tensor([[0] + span + span])
        logits, _ = model(ids[:, :-1])
        nll = torch.nn.functional.cross_entropy(logits[0].float(), ids[0, 1:], reduction="none")
        first.append(float(nll[1:n].mean()))
        second.append(float(nll[n:2 * n].mean()))
    model.train()
    out = {"first": round(float(np.mean(first)), 3), "second": round(float(np.mean(second)), 3)}
    if short:
        for k in (50, 15):
            s = copy_probe(model, cases, k, False)
            out.update({f"first{k}": s["first"], f"second{k}": s["second"]})
    return out


def ckpt_path(run: str, attention: str, seed: int) -> str:
    return os.path.join(CACHE, "ckpt", run, f"{attention}-s{seed}.pt")


def train_one(a):
    global BATCH, TASK_SEQS, FILE_START_SEQS, LR, MIN_LR, BF16, CURRICULUM, CUR_SEQ
    torch.set_num_threads(a.threads)
    attention, seed, steps = a.attention, a.seed, a.steps
    data_seed = a.data_seed if a.data_seed is not None else seed
    vocab = len(json.load(open(os.path.join(CACHE, "tokenizer.json")))["model"]["vocab"])
    path = ckpt_path(a.run, attention, seed)
    ck = torch.load(path) if a.resume and os.path.exists(path) else None
    if ck and ck["step"] >= steps and "val_loss" in ck:
        print(f"[{attention} seed {seed}] {path} has finished {ck['step']} steps: nothing to do")
        return
    model_cfg = {k: v for k, v in ck["config"].items()} if ck else {**MODEL, **json.loads(a.model or "{}"), "vocab_size": vocab,
                                                                   "attention": attention}
    cfg = Config(**model_cfg)
    model = init_identical(LM(cfg), seed)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": WEIGHT_DECAY}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=LR, betas=(0.9, 0.95))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    start, elapsed = 0, 0.0
    if ck:
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        start, elapsed = ck["step"], ck["elapsed_s"]
        data_seed = ck["recipe"]["data_seed"]
        r = ck["recipe"]  # a resumed run keeps its recipe
        BATCH, TASK_SEQS, FILE_START_SEQS, LR, MIN_LR = r["batch"], r["task_seqs"], r["file_start_seqs"], r["lr"], r["min_lr"]
        CURRICULUM, CUR_SEQ = r.get("curriculum", 0), str(r.get("curriculum_seq", SEQ))
    batches = Batches(data_seed)
    recipe = {"seed": seed, "data_seed": data_seed, "batch": BATCH, "seq": SEQ, "task_seqs": TASK_SEQS,
              "file_start_seqs": FILE_START_SEQS, "steps": steps, "lr": LR, "min_lr": MIN_LR, "threads": a.threads, "bf16": BF16, "curriculum": CURRICULUM, "curriculum_seq": CUR_SEQ}
    logdir = os.path.join(CACHE, a.run)
    os.makedirs(logdir, exist_ok=True)
    log = open(os.path.join(logdir, f"train_{attention}-s{seed}.log"), "a")
    print(f"[{attention} seed {seed}] {model.num_params()} parameters, steps {start}->{steps}, config {json.dumps(model_cfg)}",
          file=log, flush=True)
    t0 = time.time()
    for step in range(start, steps):
        for g in opt.param_groups:
            g["lr"] = get_lr(step, steps)
        x, y = batches(step)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=BF16):
            _, loss = model(x, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), GRAD_CLIP)
        opt.step()
        opt.zero_grad(set_to_none=True)
        if step % 20 == 0 or step == steps - 1:
            el = elapsed + time.time() - t0
            print(f"step {step} loss {loss.item():.4f} lr {get_lr(step, steps):.2e} elapsed {el:.0f}s "
                  f"tok/s {(step + 1 - start) * BATCH * SEQ / (time.time() - t0):.0f}", file=log, flush=True)
        if (step + 1) % a.ckpt_every == 0 or step == steps - 1:
            print(f"step {step + 1} copy {json.dumps(copy_probe(model))}", file=log, flush=True)
            tmp = path + ".tmp"
            torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "step": step + 1,
                        "elapsed_s": elapsed + time.time() - t0, "config": config_dict(cfg), "recipe": recipe}, tmp)
            os.replace(tmp, path)  # a kill during the save never leaves a broken checkpoint
    ev = evaluate(model)
    ck = torch.load(path)
    ck["val_loss"] = ev
    torch.save(ck, path + ".tmp")
    os.replace(path + ".tmp", path)
    print(f"[{attention} seed {seed}] done: val loss {json.dumps(ev)} train time {ck['elapsed_s']:.0f}s", file=log, flush=True)


def main():
    global BATCH, TASK_SEQS, FILE_START_SEQS, LR, MIN_LR, BF16, CURRICULUM, CUR_SEQ
    ap = argparse.ArgumentParser()
    ap.add_argument("--attention", choices=["diff-v1", "softmax"])
    ap.add_argument("--both", action="store_true", help="both twins side by side, one process each")
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--data-seed", type=int, default=None, help="batch order (default: --seed)")
    ap.add_argument("--steps", type=int, default=STEPS)
    ap.add_argument("--run", default="", help="subfolder of .cache/ckpt (and of .cache for logs), e.g. probe")
    ap.add_argument("--model", default=None, help='JSON overrides of the model shape, e.g. \'{"n_layer": 2}\'')
    ap.add_argument("--batch", type=int, default=BATCH, help="sequences per step")
    ap.add_argument("--task-seqs", type=int, default=TASK_SEQS, help="of --batch: task sequences")
    ap.add_argument("--file-start-seqs", type=int, default=FILE_START_SEQS)
    ap.add_argument("--lr", type=float, default=LR, help="peak learning rate (the floor is a tenth)")
    ap.add_argument("--curriculum", type=int, default=CURRICULUM, help="first steps: copying documents only (with a single --curriculum-seq length)")
    ap.add_argument("--curriculum-seq", default=CUR_SEQ,
                    help='row length during the curriculum (divides batch x 512), or stages "32:300,128:200" (their sum replaces --curriculum); off: --curriculum-seq 512 --curriculum 0')
    ap.add_argument("--bf16", action="store_true", help="bf16 autocast (only where the CPU has native bf16)")
    ap.add_argument("--ckpt-every", type=int, default=100)
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--cores", default=None, help="with --both: pin the twins to these cores, e.g. 0,1")
    a = ap.parse_args()
    BATCH, TASK_SEQS, FILE_START_SEQS, LR, MIN_LR = a.batch, a.task_seqs, a.file_start_seqs, a.lr, a.lr / 10
    BF16, CURRICULUM, CUR_SEQ = a.bf16, a.curriculum, str(a.curriculum_seq)
    if ":" in CUR_SEQ:
        CURRICULUM = sum(k for _, k in cur_stages())
    assert all((BATCH * SEQ) % n == 0 for n, _ in cur_stages()), "--curriculum-seq lengths must divide batch x 512"
    if a.both:
        t0 = time.time()
        cores = a.cores.split(",") if a.cores else None
        procs = []
        for i, att in enumerate(("diff-v1", "softmax")):
            cmd = [sys.executable, __file__, "--attention", att, "--steps", str(a.steps), "--seed", str(a.seed),
                   "--run", a.run, "--ckpt-every", str(a.ckpt_every), "--threads", str(a.threads)]
            cmd += ["--batch", str(a.batch), "--task-seqs", str(a.task_seqs), "--file-start-seqs", str(a.file_start_seqs), "--lr", str(a.lr)]
            cmd += ["--curriculum", str(a.curriculum), "--curriculum-seq", str(a.curriculum_seq)] + (["--resume"] if a.resume else []) + (["--bf16"] if a.bf16 else []) + (["--model", a.model] if a.model else [])
            cmd += ["--data-seed", str(a.data_seed)] if a.data_seed is not None else []
            if cores:
                cmd = ["taskset", "-c", cores[i % len(cores)]] + cmd
            procs.append(subprocess.Popen(cmd, env={**os.environ, "OMP_NUM_THREADS": str(a.threads)}))
        codes = [p.wait() for p in procs]
        print(f"both twins (seed {a.seed}) finished in {time.time() - t0:.0f} s (exit codes {codes})")
        sys.exit(max(codes))
    if not a.attention:
        ap.error("--attention or --both")
    train_one(a)


if __name__ == "__main__":
    main()
