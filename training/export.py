"""Exports the trained twins to ONNX model packages and writes the test fixtures.

    python3 training/export.py        # .cache/ckpt/{diff-v1,softmax}-s<shipSeed>.pt -> media/models/twin-{diff,softmax}/

Each graph (opset 17, dynamic lengths; written by export_model.py, the one exporter) takes the tokens of a chunk
after P cached ones, so the engine can feed a long text in chunks (chunked prefill):
  input_ids         [1, T] int64               the chunk's token ids
  position_ids      [1, T] int64               their positions P .. P+T-1 (RoPE)
  past_key_{l}      [1, qkHeads, P, headDim]   per layer: keys after RoPE of the P tokens before (P = 0 for the first chunk)
  past_value_{l}    [1, heads, P, valueDim]    per layer: their values (valueDim = 2 headDim for DIFF)
and outputs, for the chunk's T tokens:
  logits            [1, T, vocab]
  q_{l}, k_{l}      [1, qkHeads, T, headDim]   per layer, after RoPE (DIFF: sub-head 2i = Q1/K1 of head i, 2i+1 = Q2/K2)
  lambda_{l}        [1]                        DIFF only: lambda of layer l
  value_norm_{l}    [1, heads, T]              ||(g * v_j) W_O,h|| * (1 - lambda_init) for DIFF, ||v_j W_O,h|| for softmax
  row_scale_{l}     [1, heads, T]              DIFF only: 1 / rms_i of the head output, so value-weighted attention is
                                               |a_ij| * value_norm_j * row_scale_i
  present_key_{l}, present_value_{l}           past and the chunk's keys/values: the next chunk's past
No T x T tensor leaves the graph. The fixtures (test/fixtures/models/*.json) hold, for a fixed prompt, PyTorch's logits
at the last position and the attention rows PyTorch computed, for Node to check the ONNX graphs against (1e-4).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from bpe import Encoder  # noqa: E402
from export_model import PACKAGES, export as export_package, manifest, ours as ours_spec  # noqa: E402  (export_model never imports this file)
from model import LM, Config  # noqa: E402

CACHE = os.path.join(HERE, ".cache")
FIXTURE_TEXT = "def attend(query, keys):\n    # The answer is 42.\n    return softmax(query @ keys.T)\n"


EXPORT_CONTEXT = 16384  # RoPE tables are not learned: the graph takes up to 16384 tokens (longer than the training windows)


def load(att: str, seed: int) -> tuple[LM, dict]:
    ck = torch.load(os.path.join(CACHE, "ckpt", f"{att}-s{seed}.pt"))
    cfg = Config(**{**ck["config"], "max_seq_len": EXPORT_CONTEXT})
    lm = LM(cfg)
    lm.load_state_dict(ck["model"])
    lm.eval()
    return lm, ck


@torch.no_grad()
def fixture(lm: LM, ids: list[int]) -> dict:
    cfg = lm.cfg
    x = torch.tensor([ids])
    wants = [dict() for _ in lm.blocks]
    logits, _ = lm(x, wants=wants)
    T = len(ids)
    rows = []
    for l, w in enumerate(wants):
        q, k = w["q"][0], w["k"][0]  # (n, T, d)
        mask = torch.ones(T, T, dtype=torch.bool).triu(1)
        probs = torch.softmax((q @ k.transpose(-1, -2) / math.sqrt(cfg.head_dim)).masked_fill(mask, float("-inf")), -1)
        for query in (T - 1, T // 2):
            entry = {"layer": l, "query": query}
            if cfg.attention == "diff-v1":
                lam = float(w["lambda"][0])
                entry["lambda"] = lam
                entry["a1"] = [probs[2 * h, query].tolist() for h in range(cfg.n_head // 2)]
                entry["a2"] = [probs[2 * h + 1, query].tolist() for h in range(cfg.n_head // 2)]
                entry["diff"] = [(probs[2 * h, query] - lam * probs[2 * h + 1, query]).tolist() for h in range(cfg.n_head // 2)]
            else:
                entry["a"] = [probs[h, query].tolist() for h in range(cfg.n_head)]
            rows.append(entry)
    return {"ids": ids, "lastLogits": [round(v, 6) for v in logits[0, -1].tolist()], "rows": rows}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=None, help="which seed's checkpoints ship (default: measurements.json's shipSeed, else 1)")
    a = ap.parse_args()
    enc = Encoder(os.path.join(CACHE, "tokenizer.json"))
    ids = enc.encode(FIXTURE_TEXT)
    measured_all = {}
    mpath = os.path.join(CACHE, "measurements.json")
    if os.path.exists(mpath):
        measured_all = json.load(open(mpath))
    seed = a.seed if a.seed is not None else int(measured_all.get("shipSeed", 1))
    if a.seed is not None and str(a.seed) != str(measured_all.get("shipSeed", a.seed)):
        sys.exit(f"--seed {a.seed} is not measurements.json's shipSeed {measured_all.get('shipSeed')}: rerun measure.py --ship-seed {a.seed}")
    os.makedirs(os.path.join(ROOT, "test", "fixtures", "models"), exist_ok=True)
    for att, pkg in PACKAGES.items():
        lm, ck = load(att, seed)
        out = os.path.join(ROOT, "media", "models", pkg)
        # One exporter for every package (export_model.py): the graph takes a key/value cache for chunked prefill.
        spec, tokenizer = ours_spec(argparse.Namespace(package=None, checkpoint=os.path.join(CACHE, "ckpt", f"{att}-s{seed}.pt"),
                                                       tokenizer=os.path.join(CACHE, "tokenizer.json"), max_context=EXPORT_CONTEXT))
        spec.manifest = manifest(spec.module.cfg, ck, spec.module.num_params(), measured_all.get(att, {}))
        export_package(spec, tokenizer, out, FIXTURE_TEXT, None)
        with open(os.path.join(ROOT, "test", "fixtures", "models", f"{pkg}.json"), "w") as f:
            json.dump({"generator": "python3 training/export.py", "text": FIXTURE_TEXT, **fixture(lm, ids)}, f)
        print(f"{pkg}: {os.path.getsize(os.path.join(out, 'model.onnx')) / 2**20:.1f} MB")


if __name__ == "__main__":
    main()
