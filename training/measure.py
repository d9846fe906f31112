"""Measures the trained twins and writes .cache/measurements.json (export.py copies it into the manifests and
MODEL_CARD.md quotes it).

    python3 training/measure.py

- held-out loss per domain: computed by train.py at the end of training (65,536 tokens per domain, 256-token windows);
- retrieval attention: on held-out synthetic key-value documents, from the query position (the last token of
  "Answer:") of every layer and head, the attention mass on the answer span where the fact was stated, on the first
  token, and on the rest of the context. For DIFF the row is A1 - lambda*A2 divided by (1 - lambda), so that each row
  sums to 1 like a softmax row; masses are signed sums. Averaged over heads, layers and documents.
- retrieval accuracy: share of those documents whose first answer token is the model's top prediction;
- lambda per layer; share of negative entries of A1 - lambda*A2 on the causal part, over held-out code and prose;
- top-1/10/100 |attention logit| (scale * q.k over the causal part, every layer and (sub-)head) on the same windows.
"""
from __future__ import annotations

import json
import math
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from bpe import B2U, Encoder, read_jsonl  # noqa: E402
from model import LM, Config  # noqa: E402

CACHE = os.path.join(HERE, ".cache")
U2B = {v: k for k, v in B2U.items()}
MAX_T = 256
WINDOWS = 8


def load(att):
    ck = torch.load(os.path.join(CACHE, "ckpt", f"{att}.pt"))
    lm = LM(Config(**ck["config"]))
    lm.load_state_dict(ck["model"])
    lm.eval()
    return lm, ck


def encode_with_char_offsets(enc: Encoder, text: str):
    """Token ids and each token's [start, end) in characters (a token inside a multi-byte char ends at its end)."""
    ids = enc.encode(text)
    inv = {i: t for t, i in enc.vocab.items()}
    b2c, c = [], 0
    for ch in text:
        n = len(ch.encode("utf-8"))
        b2c += [c] * n
        c += 1
    b2c.append(len(text))
    spans, b = [], 0
    for i in ids:
        n = len(inv[i].encode("utf-8")) if inv[i] == "<|endoftext|>" else len(inv[i])
        spans.append((b2c[b], b2c[min(b + n, len(b2c) - 1)]))
        b += n
    return ids, spans


@torch.no_grad()
def rows_at(lm: LM, ids: list[int], query: int):
    """Per layer: list of per-head attention rows at `query` (normalised as described above), and logits."""
    wants = [dict() for _ in lm.blocks]
    logits, _ = lm(torch.tensor([ids]), wants=wants)
    out = []
    d = lm.cfg.head_dim
    for w in wants:
        q, k = w["q"][0], w["k"][0]
        s = torch.einsum("hd,htd->ht", q[:, query], k[:, : query + 1]) / math.sqrt(d)  # (n, query+1)
        p = torch.softmax(s, -1)
        if lm.cfg.attention == "diff-v1":
            lam = float(w["lambda"][0])
            a = (p[0::2] - lam * p[1::2]) / (1 - lam)
        else:
            a = p
        out.append(a)
    return out, logits[0, query]


@torch.no_grad()
def window_stats(lm: LM, data: np.ndarray):
    neg, total, logs = 0, 0, []
    for wi in range(WINDOWS):
        s = wi * MAX_T
        ids = data[s:s + MAX_T].astype(np.int64).tolist()
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


def main():
    enc = Encoder(os.path.join(CACHE, "tokenizer.json"))
    docs = [d["text"] for d in read_jsonl(os.path.join(CACHE, "corpus", "val.jsonl")) if d["domain"] == "kv"]
    val = np.concatenate([np.memmap(os.path.join(CACHE, "tokens", f"val_{x}.bin"), dtype=np.uint16, mode="r")[: WINDOWS * MAX_T // 2]
                          for x in ("code", "prose")])
    results = {}
    for att in ("diff-v1", "softmax"):
        lm, ck = load(att)
        ans_m, first_m, rest_m, correct, n = 0.0, 0.0, 0.0, 0, 0
        for text in docs:
            cut = text.rindex("Answer:") + len("Answer:")
            value = text[cut:].strip()
            prompt = "<|endoftext|>" + text[:cut]
            ids, spans = encode_with_char_offsets(enc, prompt)
            if len(ids) > MAX_T:
                continue
            vpos = prompt.index(value)  # where the fact was stated, early in the context
            ans = [i for i, (a, b) in enumerate(spans) if a < vpos + len(value) and b > vpos]
            q = len(ids) - 1
            rows, logits = rows_at(lm, ids, q)
            target = enc.encode(" " + value)[0]
            correct += int(int(logits.argmax()) == target)
            for a in rows:  # (heads, q+1)
                am = a[:, ans].sum(-1)
                fm = a[:, 0]
                rm = a.sum(-1) - am - fm
                ans_m += float(am.mean())
                first_m += float(fm.mean())
                rest_m += float(rm.mean())
            n += 1
        L = lm.cfg.n_layer
        r = {
            "retrieval": {"documents": n, "answerMass": ans_m / (n * L), "firstTokenMass": first_m / (n * L),
                          "restOfContextMass": rest_m / (n * L), "answerTop1Accuracy": correct / n},
            **window_stats(lm, val),
        }
        if att == "diff-v1":
            r["lambdaPerLayer"] = [float(b.attn.lam()) for b in lm.blocks]
        results[att] = r
        print(att, json.dumps(r))
    with open(os.path.join(CACHE, "measurements.json"), "w") as f:
        json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
