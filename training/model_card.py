"""Renders media/models/MODEL_CARD.md from the checkpoints and .cache/measurements.json (never hand-copied numbers).

    python3 training/model_card.py
"""
from __future__ import annotations

import json
import os
import platform

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CACHE = os.path.join(HERE, ".cache")


def main():
    meas = json.load(open(os.path.join(CACHE, "measurements.json")))
    cks = {a: torch.load(os.path.join(CACHE, "ckpt", f"{a}.pt")) for a in ("diff-v1", "softmax")}
    d, s = cks["diff-v1"], cks["softmax"]
    md, ms = meas["diff-v1"], meas["softmax"]
    cfg = d["config"]
    rec = d["recipe"]
    params = {a: sum(v.numel() for k, v in ck["model"].items()) for a, ck in cks.items()}
    f3 = lambda x: f"{x:.3f}"
    lines = [
        "# Model card: the twin models (twin-diff, twin-softmax)",
        "",
        "Two small decoder-only language models trained by Attention Inspector with one recipe, so that every user can",
        "compare differential attention with softmax attention on their own text. `twin-diff` uses differential attention",
        "(DIFF V1, exactly as `docs/DESIGN.md` §2 and `training/model.py` state it); `twin-softmax` is its softmax",
        "twin with twice the heads at the same head width. Numbers below are measured, not tuned to look good.",
        "",
        "## Configuration",
        "",
        "| | twin-diff | twin-softmax |",
        "| --- | --- | --- |",
        f"| attention | DIFF V1: {cfg['n_head'] // 2} heads, each with Q1/K1, Q2/K2 sub-heads of width {cfg['head_dim']}, V width {2 * cfg['head_dim']}; interleaved pairing; one λ per layer | softmax: {cfg['n_head']} heads of width {cfg['head_dim']} |",
        f"| layers × d_model | {cfg['n_layer']} × {cfg['d_model']} | {cfg['n_layer']} × {cfg['d_model']} |",
        f"| parameters | {params['diff-v1']:,} | {params['softmax']:,} |",
        "| blocks | pre-RMSNorm, interleaved (GPT-J) RoPE θ = 10,000, SwiGLU (hidden 352), tied embeddings | same |",
        f"| tokenizer | byte-level BPE, {cfg['vocab_size']:,} tokens, trained on 8 M characters of the corpus (`training/bpe.py`) | same file |",
        "",
        "## Training",
        "",
        f"Corpus: see `training/DATA_CARD.md` (≈48 MB of code and prose plus 5% synthetic key–value retrieval). Recipe: seed {rec['seed']}, "
        f"{rec['steps']} steps of {rec['batch']} × {rec['seq']} tokens ({rec['steps'] * rec['batch'] * rec['seq'] / 1e6:.1f} M tokens per twin), "
        "AdamW (β = 0.9, 0.95; weight decay 0.1), learning rate 2e-3 with 100 warm-up steps and cosine decay to 2e-4, gradient clip 1.0, "
        "bf16 autocast on CPU. Both twins see the same batches in the same order; they were trained side by side, one CPU thread each, "
        f"on a 2-core machine ({platform.processor() or platform.machine()}).",
        "",
        f"Measured training time: twin-diff {d['elapsed_s'] / 60:.0f} min, twin-softmax {s['elapsed_s'] / 60:.0f} min (wall clock, side by side; "
        "the shipped run shared the machine with test runs for part of that time, so an idle machine is somewhat faster). "
        "The recipe is sized to finish inside one working session; the issue's target of about two hours would allow a larger "
        "pair or longer training with the same script (`--steps`).",
        "",
        "Reproduce everything (corpus, tokenizer, both twins, measurements, packages, fixtures) with one command:",
        "",
        "```bash",
        "bash training/reproduce.sh",
        "```",
        "",
        "## Measured",
        "",
        "All figures from `python3 training/measure.py` (held-out losses from the end of `training/train.py`).",
        "",
        "| | twin-diff | twin-softmax |",
        "| --- | --- | --- |",
        f"| held-out loss, code (nats/token) | {f3(d['val_loss']['code'])} | {f3(s['val_loss']['code'])} |",
        f"| held-out loss, prose (nats/token) | {f3(d['val_loss']['prose'])} | {f3(s['val_loss']['prose'])} |",
        f"| held-out loss, retrieval documents (nats/token) | {f3(d['val_loss']['kv'])} | {f3(s['val_loss']['kv'])} |",
        f"| retrieval: attention mass on the answer span | {f3(md['retrieval']['answerMass'])} | {f3(ms['retrieval']['answerMass'])} |",
        f"| retrieval: attention mass on the rest of the context | {f3(md['retrieval']['restOfContextMass'])} | {f3(ms['retrieval']['restOfContextMass'])} |",
        f"| retrieval: attention mass on the first token | {f3(md['retrieval']['firstTokenMass'])} | {f3(ms['retrieval']['firstTokenMass'])} |",
        f"| retrieval: answer's first token is the top prediction | {md['retrieval']['answerTop1Accuracy']:.1%} | {ms['retrieval']['answerTop1Accuracy']:.1%} |",
        f"| share of negative weights (causal entries of A1 − λA2) | {md['negativeShare']:.1%} | 0 (softmax) |",
        f"| top-1 / 10 / 100 \\|attention logit\\| | {md['topAbsLogit']['top1']:.1f} / {md['topAbsLogit']['top10']:.1f} / {md['topAbsLogit']['top100']:.1f} | {ms['topAbsLogit']['top1']:.1f} / {ms['topAbsLogit']['top10']:.1f} / {ms['topAbsLogit']['top100']:.1f} |",
        "",
        "λ per layer after training (twin-diff): " + ", ".join(f"layer {i}: {v:.3f} (λ_init {0.8 - 0.6 * 2.718281828 ** (-0.3 * i):.3f})" for i, v in enumerate(md["lambdaPerLayer"])) + ".",
        "",
        f"How the retrieval figures are measured: {md['retrieval']['documents']} held-out synthetic documents of at most 256 tokens; the row of",
        "the query position (the last token of \"Answer:\") in every layer and head; masses on the tokens where the fact's value",
        "was stated (answer span), on the first token (the document separator), and on every other earlier token. For twin-diff the",
        "row is A1 − λA2 divided by (1 − λ), so that it sums to 1 like a softmax row; masses are signed sums, so a negative",
        "figure means the heads subtract more than they add there. Averages over heads, layers and documents. Logit figures",
        "are |scale · q·k| over the causal entries of every layer and (sub-)head on 8 held-out windows of 256 tokens.",
        "",
        "The paper reports, for much larger models, answer mass 0.31 (DIFF) vs 0.03 (Transformer) and context mass 0.02 vs 0.52,",
        "and top-1 logit 38.8 vs 318. At this scale and training length the effects are weaker or absent; the table is what",
        "these twins do.",
        "",
        "## Package contents",
        "",
        "Each folder holds `manifest.json` (schema: `media/models/manifest.schema.json`), `model.onnx` (opset 17, dynamic",
        "length) and `tokenizer.json`. The graph outputs logits and, per layer, Q and K after RoPE, λ (DIFF), and the norms",
        "value-weighted attention needs; no T×T tensor. `npm run test:unit` checks both graphs against PyTorch fixtures",
        "(`test/fixtures/models/`) to 1e-4.",
        "",
        "## Intended use and limits",
        "",
        "For looking at attention patterns in an editor, for teaching, and for comparing the two mechanisms. These are tiny",
        "models trained for about an hour: their text predictions are poor, and they are not for generating text.",
    ]
    with open(os.path.join(ROOT, "media", "models", "MODEL_CARD.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("wrote media/models/MODEL_CARD.md")


if __name__ == "__main__":
    main()
