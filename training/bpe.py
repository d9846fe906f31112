"""Byte-level BPE: training, encoding, and the Hugging Face tokenizer.json writer.

    python3 training/bpe.py train     # learns the merges on a fixed sample of the training split -> .cache/tokenizer.json
    python3 training/bpe.py encode    # encodes the corpus -> .cache/tokens/{train,val_code,val_prose,val_kv}.bin (uint16)

The tokenizer is GPT-2's scheme as the `tokenizers` library implements it (ByteLevel pre-tokenizer with its regex,
bytes mapped to printable characters, BPE merges by rank), so tokenizer.json loads in @huggingface/tokenizers and in
Python's `tokenizers`, and this file's encoder gives the same ids (tested in test/unit/tokenizer.test.ts against
fixtures written by `python3 training/bpe.py fixtures`).
"""
from __future__ import annotations

import heapq
import json
import os
import sys
from collections import Counter, defaultdict

import regex

HERE = os.path.dirname(os.path.abspath(__file__))
CACHE = os.path.join(HERE, ".cache")
VOCAB_SIZE = 8192
SAMPLE_CHARS = 8_000_000
EOT = "<|endoftext|>"
# The ByteLevel pre-tokenizer's split pattern (GPT-2).
PATTERN = regex.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")


def bytes_to_unicode() -> dict[int, str]:
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


B2U = bytes_to_unicode()


def pretokenize(text: str) -> list[str]:
    return ["".join(B2U[b] for b in w.encode("utf-8")) for w in PATTERN.findall(text)]


def train(texts, vocab_size: int = VOCAB_SIZE):
    counts = Counter()
    for t in texts:
        counts.update(pretokenize(t))
    words = [list(w) for w in counts]
    freq = list(counts.values())
    pair_count: dict[tuple[str, str], int] = defaultdict(int)
    where: dict[tuple[str, str], set[int]] = defaultdict(set)
    for i, w in enumerate(words):
        for a, b in zip(w, w[1:]):
            pair_count[(a, b)] += freq[i]
            where[(a, b)].add(i)
    heap = [(-c, p) for p, c in pair_count.items()]
    heapq.heapify(heap)
    merges: list[tuple[str, str]] = []
    n_merges = vocab_size - 256 - 1
    while len(merges) < n_merges and heap:
        negc, pair = heapq.heappop(heap)
        if pair_count.get(pair, 0) != -negc or negc == 0:
            continue  # stale heap entry
        merges.append(pair)
        a, b = pair
        new = a + b
        touched = set()
        for i in list(where[pair]):
            w = words[i]
            f = freq[i]
            for x, y in zip(w, w[1:]):
                pair_count[(x, y)] -= f
                touched.add((x, y))
            out, j = [], 0
            while j < len(w):
                if j < len(w) - 1 and w[j] == a and w[j + 1] == b:
                    out.append(new)
                    j += 2
                else:
                    out.append(w[j])
                    j += 1
            words[i] = out
            for x, y in zip(out, out[1:]):
                pair_count[(x, y)] += f
                where[(x, y)].add(i)
                touched.add((x, y))
        del pair_count[pair]
        where.pop(pair, None)
        for p in touched:
            c = pair_count.get(p, 0)
            if c > 0:
                heapq.heappush(heap, (-c, p))
    return merges


def tokenizer_json(merges) -> dict:
    vocab = {EOT: 0}
    for ch in sorted(B2U.values(), key=lambda c: ord(c)):
        vocab[ch] = len(vocab)
    for a, b in merges:
        vocab.setdefault(a + b, len(vocab))
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [{"id": 0, "content": EOT, "single_word": False, "lstrip": False, "rstrip": False,
                          "normalized": False, "special": True}],
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
        "post_processor": None,
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                  "vocab": vocab, "merges": [f"{a} {b}" for a, b in merges]},
    }


class Encoder:
    def __init__(self, path: str):
        with open(path, encoding="utf-8") as f:
            tj = json.load(f)
        self.vocab: dict[str, int] = tj["model"]["vocab"]
        # Merges are "a b" strings in older tokenizer.json files and [a, b] pairs in newer ones.
        self.ranks = {tuple(m.split(" ")) if isinstance(m, str) else tuple(m): i for i, m in enumerate(tj["model"]["merges"])}
        self.cache: dict[str, list[int]] = {}

    def _bpe(self, word: str) -> list[int]:
        hit = self.cache.get(word)
        if hit is not None:
            return hit
        parts = list(word)
        while len(parts) > 1:
            best, best_rank = None, None
            for p in zip(parts, parts[1:]):
                r = self.ranks.get(p)
                if r is not None and (best_rank is None or r < best_rank):
                    best, best_rank = p, r
            if best is None:
                break
            out, j = [], 0
            while j < len(parts):
                if j < len(parts) - 1 and parts[j] == best[0] and parts[j + 1] == best[1]:
                    out.append(parts[j] + parts[j + 1])
                    j += 2
                else:
                    out.append(parts[j])
                    j += 1
            parts = out
        ids = [self.vocab[p] for p in parts]
        if len(self.cache) < 2_000_000:
            self.cache[word] = ids
        return ids

    def encode(self, text: str) -> list[int]:
        """Like the tokenizers library: the special token is split out first, the rest is pre-tokenized and merged."""
        out: list[int] = []
        for i, part in enumerate(text.split(EOT)):
            if i:
                out.append(self.vocab[EOT])
            for w in pretokenize(part):
                out.extend(self._bpe(w))
        return out


def read_jsonl(path):
    with open(path) as f:
        for line in f:
            yield json.loads(line)


def cmd_train():
    texts, n = [], 0
    for d in read_jsonl(os.path.join(CACHE, "corpus", "train.jsonl")):
        texts.append(d["text"])
        n += len(d["text"])
        if n >= SAMPLE_CHARS:
            break
    merges = train(texts)
    with open(os.path.join(CACHE, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tokenizer_json(merges), f, ensure_ascii=False)
    print(f"{len(merges)} merges learned on {n} characters")


def cmd_encode():
    import numpy as np
    enc = Encoder(os.path.join(CACHE, "tokenizer.json"))
    out = os.path.join(CACHE, "tokens")
    os.makedirs(out, exist_ok=True)
    streams = defaultdict(list)
    for split in ("train", "val"):
        for d in read_jsonl(os.path.join(CACHE, "corpus", f"{split}.jsonl")):
            key = "train" if split == "train" else f"val_{d['domain']}"
            streams[key].append(0)  # <|endoftext|> before every document
            streams[key].extend(enc.encode(d["text"]))
    for k, ids in streams.items():
        np.asarray(ids, dtype=np.uint16).tofile(os.path.join(out, f"{k}.bin"))
        print(k, len(ids), "tokens")


FIXTURE_TEXTS = {
    "code": "def attend(q, k):\n    return softmax(q @ k.T / math.sqrt(d))  # scaled\n",
    "prose": "Differential attention subtracts two softmax maps; the difference cancels common-mode noise.",
    "crlf": "line one\r\nline two\r\n\r\nend",
    "tabs": "\tindented\t\tcolumns\t\n\t\t\tdeep",
    "combining": "e\u0301 n\u0303 a\u0308\u0301 Zalgo: Z\u0351\u0352a\u0317",
    "rtl": "שלום עולם — مرحبا بالعالم (mixed: abc אבג 123)",
    "emoji": "face \U0001FAE5 family \U0001F469\u200D\U0001F469\u200D\U0001F467 flags \U0001F1EB\U0001F1F7\U0001F1EF\U0001F1F5 skin \U0001F44D\U0001F3FD",
    "cjk": "注意力机制 アテンション 주의",
    "special": "first document<|endoftext|>second document",
    "whitespace": "a  b   c\n\n\n   \u00a0nbsp\u2003em space",
    "numbers": "x = 3.14159e-10; y = 0xDEADBEEF; z = 1_000_000",
}


def cmd_fixtures():
    path = sys.argv[2]
    enc = Encoder(sys.argv[3] if len(sys.argv) > 3 else os.path.join(CACHE, "tokenizer.json"))
    cases = [{"name": k, "text": v, "ids": enc.encode(v)} for k, v in FIXTURE_TEXTS.items()]
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"generator": "python3 training/bpe.py fixtures", "cases": cases}, f, ensure_ascii=False, indent=1)
    print(f"wrote {len(cases)} cases to {path}")


if __name__ == "__main__":
    {"train": cmd_train, "encode": cmd_encode, "fixtures": cmd_fixtures}[sys.argv[1]]()
