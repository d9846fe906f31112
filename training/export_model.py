"""Exports a PyTorch causal language model to an Attention Inspector model package (DESIGN.md section 4).

The package's graph outputs the logits and, per layer, Q and K after RoPE (and lambda for differential attention),
so the inspector recomputes every map on demand; nothing of size T x T leaves the graph. The manifest records the
attention kind, how Q/K sub-heads pair into A1/A2 (interleaved for the DIFF reference code, halves for DiffLlama)
and the RoPE style.

    # our own models: from a shipped package (round trip) or from a training checkpoint
    python3 training/export_model.py ours --package media/models/twin-diff --out /tmp/twin-diff
    python3 training/export_model.py ours --checkpoint training/.cache/ckpt/diff-v1.pt \
        --tokenizer training/.cache/tokenizer.json --out /tmp/twin-diff
    # nanoGPT (github.com/karpathy/nanoGPT): its model.py folder, a ckpt.pt it wrote, and a tokenizer.json
    python3 training/export_model.py nanogpt --nanogpt-dir ~/nanoGPT --checkpoint out/ckpt.pt \
        --tokenizer tokenizer.json --out /tmp/my-gpt
    # Hugging Face transformers (when installed): GPT-2, Llama-family (Llama, Mistral, Qwen2) and DiffLlama
    python3 training/export_model.py hf --model gpt2 --out /tmp/gpt2

--fixture FILE also writes, for --text, PyTorch's logits and the attention rows the model itself computed (captured
from its own softmax, not recomputed from the exported Q/K), so the package can be checked against them.
"""
from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.util
import json
import math
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

DEFAULT_TEXT = "def attend(query, keys):\n    # The answer is 42.\n    return softmax(query @ keys.T)\n"


@dataclass
class Spec:
    """What one adapter knows about a model: how to run it with Q/K captured, and what the manifest says."""

    module: torch.nn.Module
    # ids [1, T] -> logits [1, T, V], q per layer [1, Hq, T, d], k per layer [1, Hq, T, d], lambda per layer, extras
    run: Callable[[torch.Tensor], dict]
    manifest: dict
    # ids [1, T] -> attention rows the model computed: per layer a tensor [heads, T, T] of what it used
    reference: Callable[[torch.Tensor], list] | None = None
    # text -> token ids, when the model's own tokenizer must do it (default: training/bpe.py over tokenizer.json)
    encode: Callable[[str], list] | None = None
    # (ids [1, T], positions [T], past [(k, v) per layer]) -> run's dict plus "present_key"/"present_value" per layer:
    # the graph then takes a key/value cache (chunked prefill, manifest "cache"); None: a single pass over the text
    run_cached: Callable[[torch.Tensor, torch.Tensor, list], dict] | None = None


def base_manifest(name: str, attention: str, pairing: str, rope: dict, layers: int, heads: int, qk_heads: int,
                  head_dim: int, d_model: int, vocab: int, max_context: int, scale: float, params: int) -> dict:
    m = {
        "formatVersion": 1,
        "name": name,
        "displayName": name,
        "description": f"Exported by training/export_model.py ({attention}).",
        "attention": attention,
        "pairing": pairing,
        "rope": rope,
        "layers": layers,
        "heads": heads,
        "qkHeads": qk_heads,
        "headDim": head_dim,
        "dModel": d_model,
        "vocabSize": vocab,
        "maxContext": max_context,
        "scale": scale,
        "files": {"onnx": "model.onnx", "tokenizer": "tokenizer.json"},
        "inputs": {"ids": {"name": "input_ids", "layout": ["batch", "token"], "dtype": "int64"}},
        "outputs": {
            "logits": {"name": "logits", "layout": ["batch", "token", "vocab"]},
            "q": {"name": "q_{layer}", "layout": ["batch", "qkHead", "token", "dim"]},
            "k": {"name": "k_{layer}", "layout": ["batch", "qkHead", "token", "dim"]},
        },
        "parameters": params,
        "training": {},
        "evaluation": {},
        "source": {"kind": "exported", "path": "", "notes": []},
    }
    if attention != "softmax":
        m["outputs"]["lambda"] = {"name": "lambda_{layer}", "layout": ["one"] if attention == "diff-v1" else ["batch", "head", "token", "one"]}
    return m


def causal_probs(q: torch.Tensor, k: torch.Tensor, scale: float) -> torch.Tensor:
    """softmax(scale q k^T + causal mask) for [B, H, T, d] tensors."""
    T = q.shape[-2]
    mask = torch.ones(T, T, dtype=torch.bool, device=q.device).triu(1)
    return torch.softmax((q @ k.transpose(-1, -2) * scale).masked_fill(mask, float("-inf")), -1)


def repeat_kv(k: torch.Tensor, heads: int) -> torch.Tensor:
    """K of grouped-query attention expanded to one K per query head (KV head i serves query heads i*g .. i*g+g-1)."""
    if k.shape[1] == heads:
        return k
    b, h, t, d = k.shape
    # expand + reshape, not repeat_interleave: torch 1.13 exports repeat_interleave with dynamic axes wrongly
    return k[:, :, None].expand(b, h, heads // h, t, d).reshape(b, heads, t, d)


# ------------------------------------------------------------------------------------------------------- our models

def ours(args) -> tuple[Spec, str]:
    from model import LM, Config  # noqa: E402
    if args.package:
        src = json.load(open(os.path.join(args.package, "manifest.json")))
        import onnx
        from onnx import numpy_helper
        g = onnx.load(os.path.join(args.package, src["files"]["onnx"])).graph
        # Initializers are named after the module that was exported: lm.* (older packages) or inner.* (this file's wrappers)
        state = {i.name.split(".", 1)[1] if i.name.startswith(("lm.", "inner.")) else i.name: torch.from_numpy(numpy_helper.to_array(i).copy())
                 for i in g.initializer}
        cfg = Config(vocab_size=src["vocabSize"], n_layer=src["layers"], d_model=src["dModel"], n_head=src["qkHeads"], head_dim=src["headDim"],
                     mlp_hidden=state["blocks.0.mlp.w1.weight"].shape[0], max_seq_len=args.max_context or src["maxContext"], rope_theta=src["rope"]["theta"],
                     attention=src["attention"])
        tokenizer = os.path.join(args.package, src["files"]["tokenizer"])
    else:
        ck = torch.load(args.checkpoint, map_location="cpu")
        cfg = Config(**{**ck["config"], "max_seq_len": args.max_context or 16384})
        state = ck["model"]
        src = None
        tokenizer = args.tokenizer
    lm = LM(cfg)
    lm.load_state_dict(state)
    lm.eval()
    diff = cfg.attention == "diff-v1"

    def run(ids):
        wants = [dict() for _ in lm.blocks]
        logits, _ = lm(ids, wants=wants)
        return {"logits": logits, "q": [w["q"] for w in wants], "k": [w["k"] for w in wants],
                "lambda": [w["lambda"] for w in wants] if diff else [],
                "value_norm": [w["vnorm"] for w in wants], "row_scale": [w["rowscale"] for w in wants] if diff else []}

    def reference(ids):
        # The maps the model's own softmax produced (sub-heads 2i, 2i+1 of a DIFF layer are A1, A2 of head i).
        wants = [dict() for _ in lm.blocks]
        maps = captured_softmax(lambda: lm(ids, wants=wants))
        return [p[0][0::2] - w["lambda"][0] * p[0][1::2] if diff else p[0] for p, w in zip(maps, wants)]

    def run_cached(ids, positions, past):
        caches = [{"k": k, "v": v} for k, v in past]
        wants = [dict() for _ in lm.blocks]
        logits, _ = lm(ids, wants=wants, caches=caches, positions=positions)
        return {"logits": logits, "q": [w["q"] for w in wants], "k": [w["k"] for w in wants],
                "lambda": [w["lambda"] for w in wants] if diff else [],
                "value_norm": [w["vnorm"] for w in wants], "row_scale": [w["rowscale"] for w in wants] if diff else [],
                "present_key": [c["k"] for c in caches], "present_value": [c["v"] for c in caches]}

    if src:  # the same model: keep what the package records about its training, evaluation and twin
        m = ours_manifest(cfg, lm.num_params(), src["name"])
        for key in ("displayName", "description", "training", "evaluation", "twin"):
            if key in src:
                m[key] = src[key]
    else:
        m = manifest(cfg, ck, lm.num_params(), {})
    return Spec(lm, run, m, reference, run_cached=run_cached), tokenizer


def cache_manifest(kv_heads: int, key_dim: int, value_heads: int, value_dim: int) -> tuple[list, dict]:
    """The inputs and outputs of a graph that takes a key/value cache: positions of the tokens fed (RoPE), and per
    layer the past keys/values in and the present ones (past + these tokens) out, all as the engine feeds them."""
    extra = [{"name": "position_ids", "fill": "positions", "dtype": "int64", "dims": ["batch", "token"]}]
    cache = {"key": {"past": "past_key_{layer}", "present": "present_key_{layer}", "dtype": "float32", "dims": ["batch", kv_heads, "past", key_dim]},
             "value": {"past": "past_value_{layer}", "present": "present_value_{layer}", "dtype": "float32", "dims": ["batch", value_heads, "past", value_dim]}}
    return extra, cache


def ours_manifest(cfg, params: int, name: str) -> dict:
    """The structure of one of our twins' packages (training/model.py): DIFF V1 with interleaved sub-heads, or softmax;
    interleaved RoPE; value norms (and row scales for DIFF) for the value-weighted view."""
    from model import lambda_init_for  # noqa: E402
    diff = cfg.attention == "diff-v1"
    m = base_manifest(name, cfg.attention, "interleaved" if diff else "none", {"style": "interleaved", "theta": cfg.rope_theta},
                      cfg.n_layer, cfg.n_head // 2 if diff else cfg.n_head, cfg.n_head, cfg.head_dim, cfg.d_model, cfg.vocab_size,
                      cfg.max_seq_len, 1 / math.sqrt(cfg.head_dim), params)
    m.pop("source")
    m["outputs"]["valueNorm"] = {"name": "value_norm_{layer}", "layout": ["batch", "head", "token"]}
    m["inputs"]["extra"], m["cache"] = cache_manifest(cfg.n_head, cfg.head_dim, cfg.n_head // 2 if diff else cfg.n_head, 2 * cfg.head_dim if diff else cfg.head_dim)
    if diff:
        m["lambdaInit"] = [lambda_init_for(l) for l in range(cfg.n_layer)]
        m["outputs"]["rowScale"] = {"name": "row_scale_{layer}", "layout": ["batch", "head", "token"]}
    return m


PACKAGES = {"diff-v1": "twin-diff", "softmax": "twin-softmax"}


def manifest(cfg, ck: dict, params: int, measured: dict) -> dict:
    """The training pipeline's manifest for a twin checkpoint: the package structure plus training and evaluation figures.
    export.py (the bundled packages) and `ours --checkpoint` both use it; this module never imports export.py."""
    diff = cfg.attention == "diff-v1"
    m = ours_manifest(cfg, params, PACKAGES[cfg.attention])
    m.update({
        "displayName": ("Twin DIFF" if diff else "Twin softmax") + f" ({cfg.n_layer} layers, d={cfg.d_model})",
        "description": ("Differential-attention (DIFF V1) language model" if diff else "Softmax-attention language model")
        + " trained by Attention Inspector on code and English prose; identical recipe to its twin.",
        "twin": {"name": PACKAGES["softmax" if diff else "diff-v1"], "path": "../" + PACKAGES["softmax" if diff else "diff-v1"]},
        "training": {"recipe": ck.get("recipe", {}), "contextTrained": ck.get("recipe", {}).get("seq"), "steps": ck["step"], "seconds": round(ck["elapsed_s"]),
                     "tokens": ck["step"] * ck.get("recipe", {}).get("batch", 0) * ck.get("recipe", {}).get("seq", 0),
                     "command": "bash training/twins.sh && python3 training/export.py"},
        "evaluation": {"heldOutLossNatsPerToken": ck.get("val_loss", {}),
                       **{k: v for k, v in measured.items() if k not in ("config", "recipe", "checkpoint", "heldOutLoss")}},
    })
    return m


# ------------------------------------------------------------------------------------------------------- nanoGPT

def fused_qkv_run(blocks: list, width: int, n_head: int, forward: Callable) -> Callable:
    """For GPT-2 layouts (nanoGPT, transformers' GPT-2): Q and K are read from each block's fused projection
    attn.c_attn (output [B, T, 3 * width], split Q | K | V) by a forward hook; there is no RoPE."""
    hd = width // n_head

    def run(ids):
        qs, ks = [], []

        def hook(_m, _inp, out):
            q, k, _v = out.split(width, dim=2)
            B, T, _ = q.shape
            qs.append(q.view(B, T, n_head, hd).transpose(1, 2))
            ks.append(k.view(B, T, n_head, hd).transpose(1, 2))

        hs = [b.attn.c_attn.register_forward_hook(hook) for b in blocks]
        try:
            logits = forward(ids)
        finally:
            for h in hs:
                h.remove()
        return {"logits": logits, "q": qs, "k": ks, "lambda": []}

    return run


def nanogpt_spec(model: torch.nn.Module, name: str) -> Spec:
    """A nanoGPT-style GPT: transformer.{wte, wpe, h[i].attn.c_attn, ln_f}, lm_head, learned positions, no RoPE."""
    tr = model.transformer
    blocks = list(tr.h)
    n_head = blocks[0].attn.n_head
    C = tr.wte.weight.shape[1]
    hd = C // n_head
    model.eval()

    def forward_all(ids):
        # GPT.forward returns only the last position's logits at inference; the inspector needs every position.
        T = ids.shape[1]
        x = tr.wte(ids) + tr.wpe(torch.arange(T, dtype=torch.long, device=ids.device))
        for b in blocks:
            x = b(x)
        return model.lm_head(tr.ln_f(x))

    run = fused_qkv_run(blocks, C, n_head, forward_all)

    def reference(ids):
        return [p[0] for p in captured_softmax(lambda: forward_all(ids))]

    m = base_manifest(name, "softmax", "none", {"style": "none"}, len(blocks), n_head, n_head, hd, C, tr.wte.weight.shape[0],
                      tr.wpe.weight.shape[0], 1 / math.sqrt(hd), sum(p.numel() for p in model.parameters()))
    return Spec(model, run, m, reference)


@contextlib.contextmanager
def _patched(obj, name, value):
    old = getattr(obj, name)
    setattr(obj, name, value)
    try:
        yield
    finally:
        setattr(obj, name, old)


def captured_softmax(fn) -> list:
    """Runs fn and returns every [B, H, T, T] attention map the model normalised itself (its own softmax, or the
    probabilities of torch's fused attention computed explicitly), in call order."""
    maps = []
    real_softmax = torch.softmax
    real_f_softmax = F.softmax

    def f_softmax(x, dim=None, *a, **kw):
        y = real_f_softmax(x, dim=dim, *a, **kw)
        if y.dim() == 4 and y.shape[-1] == y.shape[-2]:
            maps.append(y.detach())
        return y

    def t_softmax(x, dim=None, *a, **kw):
        y = real_softmax(x, dim, *a, **kw)
        if y.dim() == 4 and y.shape[-1] == y.shape[-2]:
            maps.append(y.detach())
        return y

    def sdpa(q, k, v, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None, **kw):
        k = repeat_kv(k, q.shape[1])
        v = repeat_kv(v, q.shape[1])
        s = scale if scale is not None else 1 / math.sqrt(q.shape[-1])
        logits = q @ k.transpose(-1, -2) * s
        if is_causal:
            T = q.shape[-2]
            logits = logits.masked_fill(torch.ones(T, T, dtype=torch.bool).triu(1), float("-inf"))
        elif attn_mask is not None:
            logits = logits.masked_fill(~attn_mask, float("-inf")) if attn_mask.dtype == torch.bool else logits + attn_mask
        p = real_softmax(logits, -1)
        maps.append(p.detach())
        return p @ v

    stack = [_patched(F, "softmax", f_softmax), _patched(torch, "softmax", t_softmax)]
    if hasattr(F, "scaled_dot_product_attention"):
        stack.append(_patched(F, "scaled_dot_product_attention", sdpa))
    with contextlib.ExitStack() as es:
        for s in stack:
            es.enter_context(s)
        with torch.no_grad():
            fn()
    return maps


def nanogpt(args) -> tuple[Spec, str]:
    # Loaded by path under its own name: training/ has a model.py of its own.
    spec = importlib.util.spec_from_file_location("nanogpt_model", os.path.join(os.path.abspath(args.nanogpt_dir), "model.py"))
    if spec is None or spec.loader is None:
        raise SystemExit(f"no model.py in {args.nanogpt_dir}")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    ck = torch.load(args.checkpoint, map_location="cpu")
    model = mod.GPT(mod.GPTConfig(**ck["model_args"]))
    model.load_state_dict({k.removeprefix("_orig_mod."): v for k, v in ck["model"].items()})
    return nanogpt_spec(model, args.name or "nanogpt"), args.tokenizer


# ------------------------------------------------------------------------------------------------------- transformers

def hf(args) -> tuple[Spec, str]:
    try:
        import transformers  # noqa: F401
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError:
        raise SystemExit("the hf adapter needs the transformers package (pip install transformers)")
    model = AutoModelForCausalLM.from_pretrained(args.model, attn_implementation="eager", torch_dtype=torch.float32)
    model.eval()
    cfg = model.config
    tok_dir = tempfile.mkdtemp(prefix="export-tokenizer-")
    hf_tok = AutoTokenizer.from_pretrained(args.model)
    hf_tok.save_pretrained(tok_dir)
    encode = lambda text: hf_tok.encode(text, add_special_tokens=False)  # noqa: E731
    tokenizer = os.path.join(tok_dir, "tokenizer.json")
    if not os.path.exists(tokenizer):
        raise SystemExit(f"{args.model} has no fast tokenizer (tokenizer.json); the inspector needs one")
    name = args.name or cfg.model_type
    params = sum(p.numel() for p in model.parameters())
    vocab = cfg.vocab_size
    if cfg.model_type == "gpt2":
        if getattr(cfg, "scale_attn_by_inverse_layer_idx", False) or not getattr(cfg, "scale_attn_weights", True):
            raise SystemExit("GPT-2 variants with per-layer attention scales cannot be described by one manifest scale")
        blocks = list(model.transformer.h)
        C, n_head = cfg.n_embd, cfg.n_head
        hd = C // n_head

        run = fused_qkv_run(blocks, C, n_head, lambda ids: model(ids).logits)

        m = base_manifest(name, "softmax", "none", {"style": "none"}, len(blocks), n_head, n_head, hd, C, vocab, cfg.n_positions, 1 / math.sqrt(hd), params)
        return Spec(model, run, m, lambda ids: [a[0] for a in model(ids, output_attentions=True).attentions], encode), tokenizer

    layers = model.model.layers
    attn0 = layers[0].self_attn
    modeling = sys.modules[type(attn0).__module__]
    if not hasattr(modeling, "apply_rotary_pos_emb"):
        raise SystemExit(f"{cfg.model_type}: no apply_rotary_pos_emb in {modeling.__name__}; supported: gpt2, Llama-family models and DiffLlama")
    n_q = cfg.num_attention_heads
    hd = getattr(cfg, "head_dim", None) or cfg.hidden_size // n_q
    scale = getattr(attn0, "scaling", hd ** -0.5)
    diff = cfg.model_type == "diffllama"

    def run(ids):
        qs, ks = [], []
        real = modeling.apply_rotary_pos_emb

        def capture(q, k, *a, **kw):
            q2, k2 = real(q, k, *a, **kw)
            qs.append(q2)
            ks.append(repeat_kv(k2, q2.shape[1]))
            return q2, k2

        with _patched(modeling, "apply_rotary_pos_emb", capture):
            logits = model(ids).logits
        lams = []
        if diff:
            for layer in layers:
                a = layer.self_attn
                l1 = torch.exp(torch.sum(a.lambda_q1 * a.lambda_k1, dim=-1))
                l2 = torch.exp(torch.sum(a.lambda_q2 * a.lambda_k2, dim=-1))
                lams.append((l1 - l2 + a.lambda_init).reshape(1))
        return {"logits": logits, "q": qs, "k": ks, "lambda": lams}

    def reference(ids):
        att = [a[0] for a in model(ids, output_attentions=True).attentions]
        if not diff:
            return att
        lams = run(ids)["lambda"]
        h = n_q // 2
        return [a[:h] - lam[0] * a[h:] for a, lam in zip(att, lams)]

    m = base_manifest(name, "diff-v1" if diff else "softmax", "halves" if diff else "none",
                      {"style": "neox", "theta": float(getattr(cfg, "rope_theta", 10000.0))}, len(layers), n_q // 2 if diff else n_q, n_q,
                      hd, cfg.hidden_size, vocab, cfg.max_position_embeddings, float(scale), params)
    if diff:
        m["lambdaInit"] = [float(layer.self_attn.lambda_init) for layer in layers]
    return Spec(model, run, m, reference, encode), tokenizer


# ------------------------------------------------------------------------------------------------------- export

class Exported(torch.nn.Module):
    def __init__(self, spec: Spec, names: list[str]):
        super().__init__()
        self.inner = spec.module
        self.spec = spec
        self.names = names

    def forward(self, input_ids, *cached):
        """input_ids [1, T]; with a key/value cache (Spec.run_cached) also position_ids [1, T], then past key and value
        per layer."""
        if cached:
            past = cached[1:]
            r = self.spec.run_cached(input_ids, cached[0][0], [(past[i], past[i + 1]) for i in range(0, len(past), 2)])
        else:
            r = self.spec.run(input_ids)
        out = {"logits": r["logits"]}
        for key in ("q", "k", "lambda", "value_norm", "row_scale", "present_key", "present_value"):
            for l, t in enumerate(r.get(key, [])):
                out[f"{key}_{l}"] = t
        return tuple(out[n] for n in self.names)


def output_names(m: dict) -> list[str]:
    names = ["logits"]
    for l in range(m["layers"]):
        for key in ("q", "k", "lambda", "valueNorm", "rowScale"):
            if key in m["outputs"]:
                names.append(m["outputs"][key]["name"].replace("{layer}", str(l)))
        for key in ("key", "value") if "cache" in m else ():
            names.append(m["cache"][key]["present"].replace("{layer}", str(l)))
    return names


def export(spec: Spec, tokenizer: str, out: str, text: str, fixture: str | None) -> None:
    from bpe import Encoder  # noqa: E402  (byte-level BPE over an HF tokenizer.json, identical ids to the JS side)
    os.makedirs(out, exist_ok=True)
    m = spec.manifest
    names = output_names(m)
    ids = spec.encode(text) if spec.encode else Encoder(tokenizer).encode(text)
    x = torch.tensor([ids])
    dyn = {"input_ids": {1: "T"}}
    for n in names:
        lay = None
        for key in ("logits", "q", "k", "lambda", "valueNorm", "rowScale"):
            spec_out = m["outputs"].get(key)
            if spec_out and (n == spec_out["name"] or any(n == spec_out["name"].replace("{layer}", str(l)) for l in range(m["layers"]))):
                lay = spec_out["layout"]
        if lay and "token" in lay:
            dyn[n] = {lay.index("token"): "T"}
    cache = m.get("cache")
    if cache:
        assert spec.run_cached, "a manifest with a cache needs Spec.run_cached"
        L = m["layers"]
        # Traced with a past of 3 tokens (not 0, which a tracer may specialise on); every length runs, 0 included.
        P = 3
        past, inputs = [], ["input_ids", "position_ids"]
        dyn["position_ids"] = {1: "T"}
        for l in range(L):
            for key in ("key", "value"):
                name = cache[key]["past"].replace("{layer}", str(l))
                dims = [1 if d == "batch" else P if d == "past" else d for d in cache[key]["dims"]]
                past.append(torch.randn(*dims) * 0.1)
                inputs.append(name)
                dyn[name] = {cache[key]["dims"].index("past"): "P"}
                dyn[cache[key]["present"].replace("{layer}", str(l))] = {cache[key]["dims"].index("past"): "S"}
        positions = torch.arange(P, P + x.shape[1])[None]
        with torch.no_grad():
            torch.onnx.export(Exported(spec, names), (x, positions, *past), os.path.join(out, "model.onnx"), opset_version=17,
                              input_names=inputs, output_names=names, dynamic_axes=dyn, do_constant_folding=False)
    else:
        with torch.no_grad():
            torch.onnx.export(Exported(spec, names), (x,), os.path.join(out, "model.onnx"), opset_version=17, input_names=["input_ids"],
                              output_names=names, dynamic_axes=dyn, do_constant_folding=False)
    shutil.copyfile(tokenizer, os.path.join(out, "tokenizer.json"))
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(m, f, indent=2)
        f.write("\n")
    if fixture:
        with torch.no_grad():
            logits = spec.run(x)["logits"]
            rows = spec.reference(x) if spec.reference else []
        T = len(ids)
        entries = []
        for l, r in enumerate(rows):
            for query in sorted({0, T // 2, T - 1}):
                entries.append({"layer": l, "query": query, "a": [r[h, query].tolist() for h in range(r.shape[0])]})
        with open(fixture, "w") as f:
            json.dump({"generator": "python3 training/export_model.py", "text": text, "ids": ids,
                       "logits": [round(v, 6) for v in logits[0].reshape(-1).tolist()], "rows": entries}, f)
    print(f"{m['name']}: {m['attention']}, {m['layers']} layers x {m['heads']} heads, {len(names)} outputs -> {out}")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("kind", choices=["ours", "nanogpt", "hf"])
    p.add_argument("--out", required=True, help="the package folder to write")
    p.add_argument("--package", help="ours: a shipped package to re-export (round trip)")
    p.add_argument("--checkpoint", help="ours / nanogpt: a checkpoint file")
    p.add_argument("--tokenizer", help="ours --checkpoint / nanogpt: an HF tokenizer.json (byte-level BPE)")
    p.add_argument("--nanogpt-dir", help="nanogpt: the folder holding nanoGPT's model.py")
    p.add_argument("--model", help="hf: a model id or folder")
    p.add_argument("--name", help="the package name (default from the model)")
    p.add_argument("--max-context", type=int, help="ours: the longest input the package accepts (RoPE tables; default 16384, or the package's)")
    p.add_argument("--text", default=DEFAULT_TEXT, help="the text the trace and the fixture use")
    p.add_argument("--fixture", help="also write PyTorch's logits and attention rows for --text to this JSON file")
    a = p.parse_args(argv)
    torch.manual_seed(0)
    spec, tokenizer = {"ours": ours, "nanogpt": nanogpt, "hf": hf}[a.kind](a)
    if not tokenizer or not os.path.exists(tokenizer):
        raise SystemExit("a tokenizer.json is needed (--tokenizer)")
    if a.name:
        spec.manifest["name"] = a.name
    export(spec, tokenizer, a.out, a.text, a.fixture)


if __name__ == "__main__":
    main()
