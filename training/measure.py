"""Measures the trained twins, every seed, and writes .cache/[<run>/]measurements.json (model_card.py renders it;
export.py copies the shipped seed's figures into the manifests).

    python3 training/measure.py                      # checkpoints in .cache/ckpt/, every seed found
    python3 training/measure.py --run probe          # checkpoints in .cache/ckpt/probe/

For each twin and seed (checkpoint <attention>-s<seed>.pt):
- copy: COPY_CASES sequences of <|endoftext|>, 100 random token ids, the same 100 ids again; mean loss (nats/token)
  on the first copy (its tokens 2..100: nothing to copy from) and on the second copy (all 100 tokens). A model that
  copies gets the second copy nearly free.
- retrieval: held-out documents from tasks.Tasks("heldout") (surnames, words and filler never trained on; its own
  seed), DOCS_PER_BUCKET per distance bucket (the fact's value ends 21-100, 101-250 or 251-450 tokens before the query),
  each with 1-4 distractor facts about other entities. The query is the last token before the answer. Top-1: the
  answer's first token is the model's top prediction; whole answer: every answer token is the top prediction given the
  ones before (teacher forcing). Both with the fact and with the fact's sentence removed (the distractors stay), which
  measures what the format alone allows.
- the paper's Figure 1 at the query row, every layer and head: answer mass (the value's tokens where the fact was
  stated), noise mass (the context minus the answer, the question's tokens and the first token), first-token mass;
  for DIFF the row A1 - lambda*A2 divided by (1 - lambda) so that it sums to 1 like a softmax row (signed sums).
  Averaged over heads, layers and documents (with the fact present); also per layer. Also the unsigned masses (sums
  of |a|), since a DIFF row's signed noise can be small by cancellation alone.
- held-out loss on code and prose (train.py computes it at the end: 65,536 tokens per domain, training-length windows);
- lambda per layer; share of negative entries of A1 - lambda*A2 on the causal part and top-1/10/100 |attention logit|
  (scale * q.k, every layer and (sub-)head) on WINDOWS held-out windows of code and prose of 512 tokens.
Across seeds: mean, min and max of each headline figure ("spread").
"""
from __future__ import annotations

import argparse
import glob
import json
import math
import os
import re
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from model import LM, Config  # noqa: E402
from tasks import Tasks  # noqa: E402

CACHE = os.path.join(HERE, ".cache")
MAX_T = 512
WINDOWS = 4            # per domain, for the negative share and the logit magnitudes
COPY_CASES = 20
COPY_LEN = 100
DOCS_PER_BUCKET = 80   # 240 held-out retrieval documents
BUCKETS = [(20, 100), (100, 250), (250, 450)]
HELDOUT_SEED = 20261129  # measure.py's own seed; train.py draws its batches from (data seed, step) with the train pools


def load(path):
    ck = torch.load(path)
    lm = LM(Config(**ck["config"]))
    lm.load_state_dict(ck["model"])
    lm.eval()
    return lm, ck


@torch.no_grad()
def copy_loss(lm: LM, vocab: int) -> dict:
    rng = np.random.default_rng([HELDOUT_SEED, 1])
    first, second = [], []
    for _ in range(COPY_CASES):
        span = rng.integers(1, vocab, size=COPY_LEN).tolist()
        ids = torch.tensor([[0] + span + span])
        logits, _ = lm(ids[:, :-1])
        nll = F.cross_entropy(logits[0].float(), ids[0, 1:], reduction="none")  # nll[i] predicts token i+1
        first.append(float(nll[1:COPY_LEN].mean()))          # tokens 2..100 of the first copy
        second.append(float(nll[COPY_LEN:2 * COPY_LEN].mean()))  # all 100 tokens of the second copy
    return {"cases": COPY_CASES, "length": COPY_LEN, "firstCopyLoss": float(np.mean(first)), "secondCopyLoss": float(np.mean(second))}


@torch.no_grad()
def forward_rows(lm: LM, ids: list[int], query: int):
    """Logits at every position and, per layer, the (sub-)heads' attention rows at `query` (DIFF: divided by 1 - lambda)."""
    wants = [dict() for _ in lm.blocks]
    logits, _ = lm(torch.tensor([ids]), wants=wants)
    rows = []
    for w in wants:
        q, k = w["q"][0], w["k"][0]
        s = torch.einsum("hd,htd->ht", q[:, query], k[:, : query + 1]) / math.sqrt(lm.cfg.head_dim)
        p = torch.softmax(s.float(), -1)
        if lm.cfg.attention == "diff-v1":
            lam = float(w["lambda"][0])
            p = (p[0::2] - lam * p[1::2]) / (1 - lam)
        rows.append(p)
    return logits[0], rows


@torch.no_grad()
def retrieval(lm: LM, cases: dict) -> dict:
    L = lm.cfg.n_layer
    out = {}
    tot = {k: np.zeros(L) for k in ("answer", "noise", "first", "question", "answerAbs", "noiseAbs")}
    n_all = 0
    for (lo, hi), docs in cases.items():
        top1 = whole = top1_wo = whole_wo = 0
        masses = {k: np.zeros(L) for k in tot}
        for c in docs:
            ans_ids = c["answer_ids"]
            ids = c["ids"] + ans_ids[:-1]  # teacher forcing: the answer's tokens after the query
            query = len(c["ids"]) - 1
            logits, rows = forward_rows(lm, ids, query)
            pred = logits[query:query + len(ans_ids)].argmax(-1).tolist()
            top1 += int(pred[0] == ans_ids[0])
            whole += int(pred == ans_ids)
            for l, a in enumerate(rows):  # (heads, query+1)
                am = a[:, c["answer"]].sum(-1)
                qm = a[:, c["question"]].sum(-1)
                fm = a[:, 0]
                nm = a.sum(-1) - am - qm - fm
                masses["answer"][l] += float(am.mean())
                masses["question"][l] += float(qm.mean())
                masses["first"][l] += float(fm.mean())
                masses["noise"][l] += float(nm.mean())
                ab = a.abs()  # unsigned: a DIFF row's signed noise can be near 0 by cancellation alone
                masses["answerAbs"][l] += float(ab[:, c["answer"]].sum(-1).mean())
                masses["noiseAbs"][l] += float((ab.sum(-1) - ab[:, c["answer"]].sum(-1) - ab[:, c["question"]].sum(-1) - ab[:, 0]).mean())
            ids_wo = c["ids_without"] + ans_ids[:-1]
            q_wo = len(c["ids_without"]) - 1
            lg, _ = lm(torch.tensor([ids_wo]))
            pred = lg[0, q_wo:q_wo + len(ans_ids)].argmax(-1).tolist()
            top1_wo += int(pred[0] == ans_ids[0])
            whole_wo += int(pred == ans_ids)
        n = len(docs)
        for k in tot:
            tot[k] += masses[k]
        n_all += n
        out[f"{lo + 1}-{hi}"] = {"documents": n, "meanDistance": float(np.mean([c["distance"] for c in docs])),
                                 "top1WithFact": top1 / n, "top1WithoutFact": top1_wo / n,
                                 "wholeAnswerWithFact": whole / n, "wholeAnswerWithoutFact": whole_wo / n,
                                 "answerMass": float(masses["answer"].mean() / n), "noiseMass": float(masses["noise"].mean() / n),
                                 "firstTokenMass": float(masses["first"].mean() / n)}
    b = out.values()
    summary = {"documents": n_all,
               "top1WithFact": sum(x["top1WithFact"] * x["documents"] for x in b) / n_all,
               "top1WithoutFact": sum(x["top1WithoutFact"] * x["documents"] for x in b) / n_all,
               "wholeAnswerWithFact": sum(x["wholeAnswerWithFact"] * x["documents"] for x in b) / n_all,
               "wholeAnswerWithoutFact": sum(x["wholeAnswerWithoutFact"] * x["documents"] for x in b) / n_all,
               "answerMass": float(tot["answer"].mean() / n_all), "noiseMass": float(tot["noise"].mean() / n_all),
               "firstTokenMass": float(tot["first"].mean() / n_all), "questionMass": float(tot["question"].mean() / n_all),
               "answerAbsMass": float(tot["answerAbs"].mean() / n_all), "noiseAbsMass": float(tot["noiseAbs"].mean() / n_all),
               "perLayer": {k: (v / n_all).tolist() for k, v in tot.items()}}
    return {**summary, "byDistance": out}


@torch.no_grad()
def window_stats(lm: LM, val: list[np.ndarray]) -> dict:
    neg, total, logs = 0, 0, []
    for data in val:
        for wi in range(WINDOWS):
            ids = data[wi * MAX_T:(wi + 1) * MAX_T].astype(np.int64).tolist()
            wants = [dict() for _ in lm.blocks]
            lm(torch.tensor([ids]), wants=wants)
            T = len(ids)
            mask = torch.ones(T, T, dtype=torch.bool).triu(1)
            for w in wants:
                q, k = w["q"][0], w["k"][0]
                lg = (q @ k.transpose(-1, -2)) / math.sqrt(lm.cfg.head_dim)
                logs.append(lg.masked_select(~mask).abs())
                p = torch.softmax(lg.masked_fill(mask, float("-inf")), -1)
                if lm.cfg.attention == "diff-v1":
                    a = p[0::2] - float(w["lambda"][0]) * p[1::2]
                    causal = a.masked_select(~mask.expand_as(a))
                    neg += int((causal < 0).sum())
                    total += causal.numel()
    allabs = torch.cat(logs).sort(descending=True).values
    return {"negativeShare": (neg / total) if total else 0.0,
            "topAbsLogit": {"top1": float(allabs[0]), "top10": float(allabs[9]), "top100": float(allabs[99])}}


HEADLINE = [("copy", "secondCopyLoss"), ("copy", "firstCopyLoss"), ("retrieval", "top1WithFact"), ("retrieval", "top1WithoutFact"),
            ("retrieval", "answerMass"), ("retrieval", "noiseMass"), ("retrieval", "firstTokenMass"),
            ("heldOutLoss", "code"), ("heldOutLoss", "prose"), ("negativeShare", None)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", default="", help="subfolder of .cache/ckpt, e.g. probe")
    ap.add_argument("--ship-seed", type=int, default=None, help="the seed whose figures go to the top level (export.py)")
    ap.add_argument("--docs-per-bucket", type=int, default=DOCS_PER_BUCKET)
    a = ap.parse_args()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    ckdir = os.path.join(CACHE, "ckpt", a.run)
    found = sorted(glob.glob(os.path.join(ckdir, "*-s*.pt")))
    runs: dict[str, dict[str, dict]] = {}
    tasks = Tasks("heldout")
    cases = {}
    for bi, (lo, hi) in enumerate(BUCKETS):
        rng = np.random.default_rng([HELDOUT_SEED, 2, bi])
        cases[(lo, hi)] = [tasks.retrieval_case(rng, lo, hi) for _ in range(a.docs_per_bucket)]
    val = [np.memmap(os.path.join(CACHE, "tokens", f"val_{x}.bin"), dtype=np.uint16, mode="r") for x in ("code", "prose")]
    for path in found:
        m = re.match(r"(diff-v1|softmax)-s(\d+)\.pt$", os.path.basename(path))
        if not m:
            continue
        att, seed = m.group(1), m.group(2)
        t0 = time.time()
        lm, ck = load(path)
        r = {"checkpoint": os.path.relpath(path, HERE), "steps": ck["step"], "recipe": ck.get("recipe", {}),
             "parameters": lm.num_params(), "config": ck["config"], "trainSeconds": round(ck["elapsed_s"]),
             "heldOutLoss": ck.get("val_loss", {}),
             "copy": copy_loss(lm, lm.cfg.vocab_size), "retrieval": retrieval(lm, cases), **window_stats(lm, val)}
        if att == "diff-v1":
            r["lambdaPerLayer"] = [float(b.attn.lam()) for b in lm.blocks]
        runs.setdefault(att, {})[seed] = r
        rt = r["retrieval"]
        print(f"{att} seed {seed} ({time.time() - t0:.0f} s): copy {r['copy']['firstCopyLoss']:.2f} -> {r['copy']['secondCopyLoss']:.2f} nats; "
              f"retrieval top-1 {rt['top1WithFact']:.1%} with the fact, {rt['top1WithoutFact']:.1%} without; "
              + "; ".join(f"{k}: {v['top1WithFact']:.0%}/{v['top1WithoutFact']:.0%}" for k, v in rt["byDistance"].items())
              + f"; answer mass {rt['answerMass']:.3f}, noise {rt['noiseMass']:.3f}, first token {rt['firstTokenMass']:.3f}", flush=True)
    if not runs:
        sys.exit(f"no checkpoints <attention>-s<seed>.pt in {ckdir}")
    spread = {}
    for att, by in runs.items():
        spread[att] = {}
        for sec, key in HEADLINE:
            vals = [(r[sec] if key is None else r[sec].get(key)) for r in by.values()]
            vals = [v for v in vals if isinstance(v, (int, float))]
            if vals:
                spread[att][sec if key is None else f"{sec}.{key}"] = {"mean": float(np.mean(vals)), "min": float(min(vals)),
                                                                       "max": float(max(vals)), "seeds": len(vals)}
    seeds = sorted({s for by in runs.values() for s in by}, key=int)
    ship = str(a.ship_seed) if a.ship_seed is not None else seeds[0]
    results = {"generator": "python3 training/measure.py" + (f" --run {a.run}" if a.run else ""), "seeds": seeds, "shipSeed": ship,
               "heldOut": {"seed": HELDOUT_SEED, "buckets": BUCKETS, "documentsPerBucket": a.docs_per_bucket},
               "runs": runs, "spread": spread}
    for att, by in runs.items():  # the shipped seed's figures, where export.py reads them
        if ship in by:
            results[att] = by[ship]
    out = os.path.join(CACHE, a.run, "measurements.json")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        json.dump(results, f, indent=2)
    print("wrote", os.path.relpath(out, HERE))


if __name__ == "__main__":
    main()
