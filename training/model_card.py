"""Renders MODEL_CARD.md from .cache/[<run>/]measurements.json (training/measure.py), never from hand-copied numbers, and
keeps a copy as training/measurements.json.

    python3 training/model_card.py                                   # -> media/models/MODEL_CARD.md
    python3 training/model_card.py --run probe --out /tmp/card.md    # a probe's card, somewhere else

The card shows every twin and seed that measure.py found, the spread across seeds, and which seed's packages ship
(measurements.json's shipSeed; export.py exports that seed's checkpoints).
"""
from __future__ import annotations

import argparse
import json
import os
import platform

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CACHE = os.path.join(HERE, ".cache")
NAMES = {"diff-v1": "twin-diff", "softmax": "twin-softmax"}
# The pair shipped before this recipe (media/models manifests of that release): 4 x 128, 14.7 M tokens of code and
# prose with 5 % key-value documents, 256-token windows. Held-out loss on 256-token windows; copy from issue 11.
PREVIOUS = {"diff-v1": {"code@256": 2.477, "prose@256": 3.547, "secondCopyLoss": 11.9, "firstCopyLoss": 12.1},
            "softmax": {"code@256": 2.484, "prose@256": 3.518, "secondCopyLoss": 12.2, "firstCopyLoss": 12.3}}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", default="")
    ap.add_argument("--out", default=os.path.join(ROOT, "media", "models", "MODEL_CARD.md"))
    a = ap.parse_args()
    meas = json.load(open(os.path.join(CACHE, a.run, "measurements.json")))
    # The card's figures, per layer and per seed, kept beside the recipe (the cache is not committed).
    with open(os.path.join(HERE, "measurements.json"), "w") as f:
        json.dump(meas, f, indent=1)
        f.write("\n")
    runs, ship = meas["runs"], meas["shipSeed"]
    cols = [(att, s) for att in ("diff-v1", "softmax") for s in sorted(runs.get(att, {}), key=int)]
    R = lambda att, s: runs[att][s]
    d0 = runs["diff-v1"][ship] if ship in runs.get("diff-v1", {}) else next(iter(runs["diff-v1"].values()))
    cfg, rec = d0["config"], d0["recipe"]
    f3 = lambda x: f"{x:.3f}"
    pct = lambda x: f"{x:.1%}"
    head = "| | " + " | ".join(f"{NAMES[att]} seed {s}" for att, s in cols) + " |"
    sep = "| --- |" + " --- |" * len(cols)

    def row(label, fn):
        cells = []
        for att, s in cols:
            try:
                v = fn(R(att, s), att)
            except (KeyError, TypeError):
                v = None
            cells.append("–" if v is None else v)
        return f"| {label} | " + " | ".join(cells) + " |"

    ret = lambda key, b=None: (lambda r, att: pct(r["retrieval"]["byDistance"][b][key] if b else r["retrieval"][key]))
    buckets = list(d0["retrieval"]["byDistance"])
    tokens = rec["steps"] * rec["batch"] * rec["seq"]
    lines = [
        "# Model card: the twin models (twin-diff, twin-softmax)",
        "",
        "Two small decoder-only language models trained by Attention Inspector with one recipe, so that every user can",
        "compare differential attention with softmax attention on their own text. `twin-diff` uses differential attention",
        "(DIFF V1, exactly as `docs/DESIGN.md` §2 and `training/model.py` state it); `twin-softmax` is its softmax",
        "twin with twice the heads at the same head width. Numbers below are measured, not tuned to look good.",
        (f"The packages ship seed {ship}; the other seed(s) are measured to show the spread." if len(meas["seeds"]) > 1 else
         f"The packages ship seed {ship}, the only seed trained so far: issue 11 asks for two seeds per twin with their spread, "
         "and the second (`SEEDS=2 bash training/twins.sh`, about 1.7 h more on two cores) is not done yet."),
        "",
        "## Configuration",
        "",
        "| | twin-diff | twin-softmax |",
        "| --- | --- | --- |",
        f"| attention | DIFF V1: {cfg['n_head'] // 2} heads, each with Q1/K1, Q2/K2 sub-heads of width {cfg['head_dim']}, V width {2 * cfg['head_dim']}; interleaved pairing; one λ per layer | softmax: {cfg['n_head']} heads of width {cfg['head_dim']} |",
        f"| layers × d_model | {cfg['n_layer']} × {cfg['d_model']} | {cfg['n_layer']} × {cfg['d_model']} |",
        "| parameters | " + " | ".join(f"{runs[att][next(iter(runs[att]))]['parameters']:,}" for att in ("diff-v1", "softmax") if att in runs) + " |",
        f"| blocks | pre-RMSNorm, interleaved (GPT-J) RoPE θ = 10,000, SwiGLU (hidden {cfg['mlp_hidden']}), tied embeddings | same |",
        f"| tokenizer | byte-level BPE, {cfg['vocab_size']:,} tokens (`training/bpe.py`) | same file |",
        "",
        "## Training",
        "",
        f"Corpus: see `training/DATA_CARD.md`. Each step holds {rec['batch']} sequences of {rec['seq']} tokens: {rec['task_seqs']} of in-context "
        f"task documents (`training/tasks.py`: copying random ids and natural text, multi-fact retrieval with distractors, identifiers "
        f"defined early and used late; {rec['task_seqs'] / rec['batch']:.1%} of the tokens) and {rec['batch'] - rec['task_seqs']} windows of "
        f"code and prose ({rec['file_start_seqs']} of them starting at the top of a code file). {rec['steps']} steps "
        f"({tokens / 1e6:.1f} M tokens per twin), AdamW (β = 0.9, 0.95; weight decay 0.1), learning rate {rec['lr']:g} with warm-up "
        f"and cosine decay to {rec['min_lr']:g}, gradient clip 1.0, {'bf16 autocast' if rec.get('bf16') else 'float32'} on CPU. "
        "Both twins of a seed start from identical tensors wherever a parameter's name and shape are shared (only DIFF's λ "
        "vectors and per-head norm gains are its own) and see the same batches in the same order; they were trained side by "
        f"side, one CPU thread each ({platform.machine()}).",
        "",
        "Measured training time (wall clock, side by side): " + ", ".join(f"{NAMES[att]} seed {s} {R(att, s)['trainSeconds'] / 60:.0f} min" for att, s in cols) + ".",
        "",
        "Reproduce (corpus, both twins for both seeds, measurements; then packages and this card):",
        "",
        "```bash",
        "bash training/twins.sh            # in the background: logs and checkpoints in training/.cache/, --resume on rerun",
        "python3 training/export.py && python3 training/model_card.py",
        "```",
        "",
        "## Measured",
        "",
        f"All figures from `{meas['generator']}` (held-out losses from the end of `training/train.py`). Retrieval: "
        f"{d0['retrieval']['documents']} held-out documents (entities, values and filler never trained on), "
        f"{meas['heldOut']['documentsPerBucket']} per distance bucket; the distance is from the fact's value to the query, in tokens.",
        "",
        head, sep,
        row("held-out loss, code (nats/token, training-length windows)", lambda r, att: f3(r["heldOutLoss"]["code"])),
        row("held-out loss, prose", lambda r, att: f3(r["heldOutLoss"]["prose"])),
        row("held-out loss, code / prose on 256-token windows (previous pair: see below)",
            lambda r, att: f"{r['heldOutLoss']['code@256']:.3f} / {r['heldOutLoss']['prose@256']:.3f}"),
        row("copy: loss on the first copy of 100 random ids (nats)", lambda r, att: f"{r['copy']['firstCopyLoss']:.2f}"),
        row("copy: loss on the second copy (target ≤ 1.0)", lambda r, att: f"{r['copy']['secondCopyLoss']:.2f}"),
        row("retrieval top-1, with the fact (target ≥ 80 %)", ret("top1WithFact")),
        row("retrieval top-1, fact removed", ret("top1WithoutFact")),
        *[row(f"… distance {b}: with / without the fact", lambda r, att, b=b: f"{pct(r['retrieval']['byDistance'][b]['top1WithFact'])} / {pct(r['retrieval']['byDistance'][b]['top1WithoutFact'])}") for b in buckets],
        row("retrieval, whole answer right (with / without the fact)", lambda r, att: f"{pct(r['retrieval']['wholeAnswerWithFact'])} / {pct(r['retrieval']['wholeAnswerWithoutFact'])}"),
        row("Figure 1: answer mass", lambda r, att: f3(r["retrieval"]["answerMass"])),
        row("Figure 1: noise mass (context minus answer, question, first token)", lambda r, att: f3(r["retrieval"]["noiseMass"])),
        row("first-token mass", lambda r, att: f3(r["retrieval"]["firstTokenMass"])),
        row("unsigned answer / noise mass (sums of \\|a\\|)", lambda r, att: f"{r['retrieval']['answerAbsMass']:.3f} / {r['retrieval']['noiseAbsMass']:.3f}"),
        row("share of negative weights (causal entries of A1 − λA2)", lambda r, att: pct(r["negativeShare"]) if att == "diff-v1" else "0 (softmax)"),
        row("top-1 / 10 / 100 \\|attention logit\\|", lambda r, att: " / ".join(f"{r['topAbsLogit'][k]:.1f}" for k in ("top1", "top10", "top100"))),
        row("λ per layer", lambda r, att: ", ".join(f"{v:.3f}" for v in r["lambdaPerLayer"]) if att == "diff-v1" else "–"),
        "",
    ]
    sp = meas.get("spread", {})
    if any(v.get("seeds", 0) > 1 for by in sp.values() for v in by.values()):
        lines += ["Spread across seeds (min – max): " + "; ".join(
            f"{NAMES[att]} {k} {v['min']:.3f} – {v['max']:.3f}" for att, by in sp.items() for k, v in by.items()
            if k in ("copy.secondCopyLoss", "retrieval.top1WithFact", "retrieval.answerMass", "retrieval.noiseMass")) + ".", ""]
    if "softmax" in runs and ship in runs["softmax"] and ship in runs["diff-v1"]:
        dr, sr = runs["diff-v1"][ship]["retrieval"], runs["softmax"][ship]["retrieval"]
        ok_a = sr["answerMass"] > 0 and dr["answerMass"] >= 2 * sr["answerMass"]
        ok_n = sr["noiseMass"] > 0 and dr["noiseMass"] <= 0.5 * sr["noiseMass"]
        lines += [f"Our ambition (the paper's Figure 1 in small form): twin-diff's answer mass at least twice twin-softmax's "
                  f"({dr['answerMass']:.3f} vs {sr['answerMass']:.3f}: {'met' if ok_a else 'not met'}) and its noise mass at most half "
                  f"({dr['noiseMass']:.3f} vs {sr['noiseMass']:.3f}: {'met' if ok_n else 'not met'}), for seed {ship}. Signed DIFF masses can be "
                  f"small by cancellation alone; unsigned, the noise is {dr['noiseAbsMass']:.3f} vs {sr['noiseAbsMass']:.3f}"
                  + ("" if dr["top1WithFact"] > dr["top1WithoutFact"] + 0.1 else
                     ", and twin-diff does not retrieve yet (top-1 with the fact no better than without), so the masses say little") + ".", ""]
    if "diff-v1" in runs and ship in runs["diff-v1"]:
        lam = runs["diff-v1"][ship].get("lambdaPerLayer", [])
        near = [f"layer {l} (λ = {v:.3f})" for l, v in enumerate(lam) if 0.9 < v < 1]
        if near:
            top = max(v for v in lam if v < 1)
            lines += ["Reading twin-diff's masses: " + ", ".join(near) + " nearly cancels A1 with λ·A2, so its rows sum to about "
                      f"{1 - top:.2f} and dividing by (1 − λ) multiplies them by about {1 / (1 - top):.0f}; that layer dominates the "
                      "averages above (hence a first-token mass over 1). Per layer they are in `training/measurements.json` (perLayer).", ""]
    for s in sorted(runs.get("diff-v1", {}), key=int):
        over = [f"layer {l} (λ = {v:.3f})" for l, v in enumerate(runs["diff-v1"][s].get("lambdaPerLayer", [])) if v >= 1]
        if over:
            lines += [f"twin-diff seed {s}: " + ", ".join(over) + " has λ ≥ 1, so its rows sum to 1 − λ ≤ 0 and dividing by (1 − λ) "
                      "flips their signs (and blows them up near λ = 1): read that seed's Figure-1 masses per layer, in `training/measurements.json`.", ""]
    sd = sp.get("diff-v1", {}).get("retrieval.top1WithFact", {})
    ss = sp.get("softmax", {}).get("retrieval.top1WithFact", {})
    if sd.get("seeds", 0) > 1 and ss.get("seeds", 0) > 1:
        verdict = ("higher than twin-softmax's in every seed" if sd["min"] > ss["max"] else
                   "lower than twin-softmax's in every seed" if sd["max"] < ss["min"] else "overlapping twin-softmax's across seeds")
        lines += [f"Across seeds, twin-diff's retrieval top-1 with the fact is {sd['min']:.1%} – {sd['max']:.1%}, {verdict} "
                  f"({ss['min']:.1%} – {ss['max']:.1%}). The packages ship seed {ship}: the fixtures, tests and pictures were made with it, "
                  "and no seed meets issue 11's bars.", ""]
    lines += [
        "How the attention figures are measured: the row of the query (the last token before the answer) in every layer and",
        "head; masses on the tokens where the fact's value was stated (answer), on the first token (the document separator),",
        "and on every other earlier token except the question's own tokens (noise), as in the paper's Figure 1. For twin-diff",
        "the row is A1 − λA2 divided by (1 − λ), so that it sums to 1 like a softmax row; masses are signed sums, so a",
        "negative figure means the heads subtract more than they add there. Averages over heads, layers and documents.",
        "Logit figures are |scale · q·k| over the causal entries of every layer and (sub-)head on held-out windows of code",
        "and prose.",
        "",
        "The previous pair (4 × 128, 14.7 M tokens of code and prose with 5 % key–value documents, 256-token windows) had "
        + "; ".join(f"{NAMES[att]}: held-out loss {p['code@256']:.3f} (code) / {p['prose@256']:.3f} (prose) on 256-token windows, "
                    f"copy {p['firstCopyLoss']:.1f} → {p['secondCopyLoss']:.1f} nats" for att, p in PREVIOUS.items())
        + "; its retrieval top-1 was the same with the fact removed (20 %), i.e. guessing from the format.",
        "",
        "Which pair ships, and why: neither pair meets every bar of issue 11. This one copies (second copy "
        + " and ".join(f"{runs[att][ship]['copy']['secondCopyLoss']:.2f}" for att in ("diff-v1", "softmax") if ship in runs.get(att, {}))
        + " nats against 11.9 and 12.2) and retrieves well above the fact-removed baseline, which the previous pair never did, so the "
        "comparison the twins exist for shows something; but its retrieval is below the 80 % bar, and its held-out loss on code and "
        "prose is worse than the previous pair's by "
        + " and ".join(f"{runs[att][ship]['heldOutLoss']['code@256'] - PREVIOUS[att]['code@256']:.2f} / {runs[att][ship]['heldOutLoss']['prose@256'] - PREVIOUS[att]['prose@256']:.2f}"
                       for att in ("diff-v1", "softmax") if ship in runs.get(att, {}))
        + " nats (code / prose, twin-diff then twin-softmax; the bar is 0.05): it saw 9.4 M tokens, 37.5 % of them task documents, "
        "against the previous pair's 14.7 M tokens of code and prose.",
        "",
        "The paper reports, for much larger models, answer mass 0.31 (DIFF) vs 0.03 (Transformer) and noise 0.02 vs 0.52,",
        "and top-1 logit 38.8 vs 318. At this scale the effects are weaker or absent; the table is what these twins do.",
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
        "models trained for a few hours on two CPU cores: their text predictions are poor, and they are not for generating text.",
    ]
    with open(a.out, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("wrote", a.out)


if __name__ == "__main__":
    main()
