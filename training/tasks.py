"""In-context tasks, generated in token space, so that small twins learn to copy and to retrieve from their context.

Training mixes these with the licensed code and prose (train.py: TASK_SEQS of every BATCH sequences); measure.py draws
its held-out cases from the same generators with the held-out pools and seeds. Kinds of task document (each starts
with <|endoftext|>, id 0):

- copy_random: a span of 10-150 random token ids, then (after nothing or after 0-300 tokens of natural text) the
  same span again, sometimes a third time. The second copy is predictable only by copying.
- copy_text: a slice of natural text (code or prose, 20-200 tokens), other natural text, then the slice again (whole
  or its first part).
- facts: several entities (made-up people) with several attributes each; values from large pools (random numbers,
  codes, made-up words and places), so the answer cannot be guessed from the format; distractor facts about other
  entities, often with the same attribute; natural-text filler between facts; then 1-4 questions, each 20-450 tokens
  after its fact, in several templates ("Q: ... A:", "Question: ... Answer:", "What is ...? It is").
- identifiers: a code header that defines identifiers (a constant, a function, a class) with made-up names, a slice
  of real code, then lines that use the identifiers defined far above.

Held out: `Tasks("heldout")` draws its surnames, words and identifiers from pools disjoint from training's (split by a
hash of the string), its filler from the held-out code/prose streams (val_code.bin, val_prose.bin), and measure.py
seeds it separately; so no held-out retrieval document, entity or value is trained on. First names, attributes and
templates are shared (they are the format).

    python3 training/tasks.py show [N]    # prints N generated training task documents, decoded, for a look
"""
from __future__ import annotations

import hashlib
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from bpe import B2U, Encoder, read_jsonl  # noqa: E402

CACHE = os.path.join(HERE, ".cache")
U2B = {v: k for k, v in B2U.items()}
EOT = 0

FIRST = ("Ada Alan Alice Amara Anton Aria Arjun Astrid Bea Boris Bruno Carla Chen Chiara Dara David Dmitri Elena Elif "
         "Emil Emma Esra Ezra Farah Felix Freya Gita Hana Hugo Ida Igor Ines Ivan Jana Jonas Juno Kai Kara Kenji Lara "
         "Leo Lina Luca Maya Mateo Mei Mila Nadia Nico Nina Noah Nora Olga Omar Oscar Pablo Pia Priya Quinn Rafael Ravi "
         "Rosa Ruth Sami Sara Selma Sven Tara Theo Timo Uma Vera Viktor Wanda Xavier Yara Yusuf Zara Zoe").split()
_ONSET = "b br c d dr f g gr h j k kl l m n p pr r s st t tr v w z".split()
_VOWEL = "a e i o u ai ea ou".split()
_CODA = ["", "n", "r", "l", "s", "m", "nd", "rk", "th", "x"]
COLORS = ("red orange yellow green blue purple violet indigo pink brown black white grey silver gold crimson scarlet "
          "maroon amber olive lime teal cyan navy azure turquoise magenta lavender beige ivory coral salmon khaki "
          "bronze copper charcoal emerald jade ruby sapphire").split()
CODE_WORDS = ("alpha beta gamma delta sigma omega vector matrix buffer cache queue stack graph token frame packet "
              "parser lexer widget handle record cursor socket stream signal filter render config sample metric "
              "tensor batch index layer shard chunk block store entry route session").split()
# attribute, kind of value
ATTRS = [("locker code", "num4"), ("phone extension", "num4"), ("badge number", "num5"), ("room number", "num3"),
         ("birth year", "year"), ("password", "word"), ("favorite color", "color"), ("home town", "place"),
         ("project", "Word"), ("pet's name", "Word"), ("license plate", "code"), ("access code", "code"),
         ("ticket number", "num6"), ("desk", "code2"), ("team", "place"), ("secret word", "word"),
         ("bank PIN", "num4"), ("employee ID", "num5")]
FACT_TEMPLATES = ["{E}'s {a} is{v}.", "The {a} of {E} is{v}.", "For {E}, the {a} is{v}.", "{E} - {a}:{v}",
                  "Note that the {a} of {E} is{v}."]
QUESTION_TEMPLATES = ["Q: What is {E}'s {a}?\nA:{v}", "Question: What is the {a} of {E}?\nAnswer:{v}",
                      "What is the {a} of {E}? It is{v}.", "{E}'s {a}?{v}"]


def _heldout(s: str) -> bool:
    return int(hashlib.sha1(s.encode()).hexdigest(), 16) % 8 == 0


def _syllable_words(n_syl: int) -> list[str]:
    out = []
    syl = [o + v + c for o in _ONSET for v in _VOWEL for c in _CODA]
    for a in syl:
        for b in syl if n_syl == 2 else [""]:
            out.append(a + b)
    return out


class Tasks:
    def __init__(self, split: str, enc: Encoder | None = None, cache: str = CACHE):
        assert split in ("train", "heldout"), split
        self.split = split
        self.enc = enc or Encoder(os.path.join(cache, "tokenizer.json"))
        self.vocab_size = len(self.enc.vocab)
        self.inv = {i: t for t, i in self.enc.vocab.items()}
        keep = (lambda s: _heldout(s)) if split == "heldout" else (lambda s: not _heldout(s))
        two = _syllable_words(2)
        rs = np.random.default_rng(7)  # fixed: the pools themselves (then split by hash)
        two = [two[i] for i in rs.permutation(len(two))[:60000]]
        self.surnames = [w.capitalize() for w in two[:30000] if keep(w.capitalize())]
        self.words = [w for w in two[30000:] if keep(w)]
        self.idents = [f"{a}_{b}" for a in CODE_WORDS for b in CODE_WORDS if a != b]
        self.idents = [s for s in self.idents if keep(s)]
        # natural text: token streams and where lines start (cuts happen at line starts)
        nl = np.array([i for t, i in self.enc.vocab.items() if "\u010a" in t], dtype=np.int64)  # tokens holding "\n"
        if split == "train":
            data = np.memmap(os.path.join(cache, "tokens", "train.bin"), dtype=np.uint16, mode="r")
            starts = np.flatnonzero(data == EOT)
            doms = [d["domain"] for d in read_jsonl(os.path.join(cache, "corpus", "train.jsonl"))]
            assert len(doms) == len(starts), f"train.bin has {len(starts)} documents, train.jsonl {len(doms)}"
            ends = np.append(starts[1:], len(data))
            self.streams = {"code": data, "prose": data}
            self.doc_starts = {d: starts[np.array([x == d for x in doms])] for d in ("code", "prose")}
            self.doc_ends = {d: ends[np.array([x == d for x in doms])] for d in ("code", "prose")}
        else:
            self.streams = {d: np.memmap(os.path.join(cache, "tokens", f"val_{d}.bin"), dtype=np.uint16, mode="r") for d in ("code", "prose")}
            self.doc_starts, self.doc_ends = {}, {}
            for d, s in self.streams.items():
                st = np.flatnonzero(np.asarray(s) == EOT)
                self.doc_starts[d], self.doc_ends[d] = st, np.append(st[1:], len(s))
        self.line_starts = {}
        for d in ("code", "prose"):
            s = self.streams[d]
            ls = np.flatnonzero(np.isin(np.asarray(s), nl)) + 1
            if split == "train":  # keep line starts inside documents of this domain
                idx = np.searchsorted(self.doc_starts[d], ls, side="right") - 1
                ok = idx >= 0
                ok[ok] &= ls[ok] < self.doc_ends[d][idx[ok]]
                ls = ls[ok]
            self.line_starts[d] = ls[ls < len(s) - 1000]
        self._cache: dict[str, list[int]] = {}
        self.newline = self.enc.vocab["\u010a"]

    # ---- pieces ----
    def tok(self, text: str) -> list[int]:
        ids = self._cache.get(text)
        if ids is None:
            ids = self.enc.encode(text)
            if len(self._cache) < 500_000:
                self._cache[text] = ids
        return ids

    def decode(self, ids) -> str:
        return b"".join(bytes(U2B[c] for c in self.inv[int(i)]) if int(i) != EOT else b"<|endoftext|>" for i in ids).decode("utf-8", "replace")

    def natural(self, rng, n: int, domain: str | None = None, newline: bool = False) -> list[int]:
        """n tokens of real code or prose, starting at a line start, with no document boundary inside; with `newline`,
        the last of the n tokens is a line break (so what follows starts a line)."""
        if n <= 0:
            return []
        if newline:
            return self.natural(rng, n - 1, domain) + [self.newline]
        d = domain or ("code" if rng.random() < 0.5 else "prose")
        s, ls = self.streams[d], self.line_starts[d]
        for _ in range(20):
            a = int(ls[rng.integers(len(ls))])
            out = np.asarray(s[a:a + n]).astype(np.int64)
            if not (out == EOT).any():
                return out.tolist()
        return [t for t in out.tolist() if t != EOT][:n]

    def entity(self, rng) -> str:
        return f"{FIRST[rng.integers(len(FIRST))]} {self.surnames[rng.integers(len(self.surnames))]}"

    def value(self, rng, kind: str) -> str:
        if kind.startswith("num"):
            k = int(kind[3:])
            return str(rng.integers(10 ** (k - 1), 10 ** k))
        if kind == "year":
            return str(rng.integers(1900, 2030))
        if kind == "color":
            return COLORS[rng.integers(len(COLORS))]
        if kind == "word":
            return self.words[rng.integers(len(self.words))]
        if kind in ("Word", "place"):
            w = self.words[rng.integers(len(self.words))].capitalize()
            return ("Port " + w) if kind == "place" and rng.random() < 0.2 else w
        if kind == "code":
            L = "ABCDEFGHJKLMNPRSTUVWXYZ"
            return f"{L[rng.integers(len(L))]}{L[rng.integers(len(L))]}-{rng.integers(100, 10000)}"
        if kind == "code2":
            return f"{rng.integers(1, 40)}{'ABCDEFGH'[rng.integers(8)]}"
        raise ValueError(kind)

    # ---- documents: lists of segments (tag, token ids) ----
    def copy_random(self, rng, budget: int) -> list:
        hi = min(150, max(4, (budget - 1) // 2))  # short rows (the curriculum) and a row's last document: shorter spans,
        L = int(rng.integers(min(10, max(2, hi // 3)), hi + 1))  # of varied length (a fixed length is a positional shortcut)
        span = rng.integers(1, self.vocab_size, size=L).tolist()
        segs = [("eot", [EOT])]
        if rng.random() < 0.3:
            segs.append(("filler", self.natural(rng, int(rng.integers(1, 40)))))
        segs.append(("span", span))
        used = sum(len(s) for _, s in segs)
        room = budget - used - L
        if room > 0 and rng.random() < 0.5:
            segs.append(("filler", self.natural(rng, int(rng.integers(1, min(300, room) + 1)))))
        segs.append(("copy", span))
        if budget - sum(len(s) for _, s in segs) >= L and rng.random() < 0.3:
            segs.append(("copy", span))
        return segs

    def copy_text(self, rng, budget: int) -> list:
        hi = min(200, max(4, (budget - 1) // 2))
        L = int(rng.integers(min(20, max(2, hi // 3)), hi + 1))
        span = self.natural(rng, L)
        segs = [("eot", [EOT]), ("span", span)]
        room = budget - 1 - 2 * L
        if room > 0:
            segs.append(("filler", self.natural(rng, int(rng.integers(0, min(300, room) + 1)))))
        segs.append(("copy", span[: max(4, int(L * rng.uniform(0.5, 1.0)))] if rng.random() < 0.5 else span))
        return segs

    def fact_text(self, rng, e: str, a: str, v: str) -> list:
        t = FACT_TEMPLATES[rng.integers(len(FACT_TEMPLATES))]
        pre, post = t.split("{v}")
        pre = pre.format(E=e, a=a)
        return [("fact", self.tok(pre)), ("value", self.tok(" " + v)), ("fact", self.tok(post + "\n"))]

    def question_text(self, rng, e: str, a: str, v: str, template: int | None = None) -> list:
        t = QUESTION_TEMPLATES[rng.integers(len(QUESTION_TEMPLATES)) if template is None else template]
        pre, post = t.split("{v}")
        return [("question", self.tok(pre.format(E=e, a=a))), ("answer", self.tok(" " + v)), ("after", self.tok(post + "\n"))]

    def facts(self, rng, budget: int) -> list:
        """Several facts with distractors and natural filler, then questions about some of them."""
        n_ent = int(rng.integers(2, 6))
        ents = list(dict.fromkeys(self.entity(rng) for _ in range(n_ent)))
        facts = []
        shared = ATTRS[rng.integers(len(ATTRS))]  # often the same attribute for several entities: distractors
        for e in ents:
            for _ in range(int(rng.integers(1, 4))):
                a, kind = shared if rng.random() < 0.4 else ATTRS[rng.integers(len(ATTRS))]
                if any(f[0] == e and f[1] == a for f in facts):
                    continue
                facts.append((e, a, self.value(rng, kind)))
        order = rng.permutation(len(facts))
        fact_segs = [self.fact_text(rng, *facts[i]) for i in order]
        n_q = int(min(len(facts), rng.integers(1, 5)))
        asked = [facts[i] for i in rng.choice(len(facts), size=n_q, replace=False)]
        q_segs = [self.question_text(rng, *f) for f in asked]
        fixed = 1 + sum(len(t) for s in fact_segs + q_segs for _, t in s)
        while fixed > budget and len(fact_segs) > 1:  # too long for the room left: fewer facts
            keep = {f[:2] for f in asked}
            drop = [i for i, k in enumerate(order) if facts[k][:2] not in keep]
            if not drop:
                break
            fact_segs.pop(drop[-1])
            order = np.delete(order, drop[-1])
            fixed = 1 + sum(len(t) for s in fact_segs + q_segs for _, t in s)
        if fixed > budget:
            return []
        target = int(min(budget, rng.integers(fixed + 20, 513))) if fixed + 20 < 513 else fixed
        fill = max(0, target - fixed)
        # filler between facts and before the questions (the biggest gap), and between questions
        gaps = rng.dirichlet(np.ones(len(fact_segs) + len(q_segs))) * fill
        segs = [("eot", [EOT])]
        gi = 0
        for s in fact_segs:
            segs.append(("filler", self.natural(rng, int(gaps[gi] * 0.5), newline=True))); gi += 1
            segs += s
        for s in q_segs:
            segs.append(("filler", self.natural(rng, int(gaps[gi]), newline=True))); gi += 1
            segs += s
        return segs

    def identifiers(self, rng, budget: int) -> list:
        """A code header defining made-up identifiers, real code in between, then uses of them."""
        pick = lambda: self.idents[rng.integers(len(self.idents))]
        const, fn, cls, arg = pick().upper(), pick(), "".join(w.capitalize() for w in pick().split("_")), pick()
        num = int(rng.integers(2, 100000))
        header = (f"import {CODE_WORDS[rng.integers(len(CODE_WORDS))]}\n\n{const} = {num}\n\n\n"
                  f"class {cls}:\n    def __init__(self, {arg}):\n        self.{arg} = {arg}\n\n\n"
                  f"def {fn}({arg}, limit={const}):\n    return {cls}({arg})\n\n\n")
        uses = [f"    result = {fn}({arg}, limit={const})\n", f"    if isinstance(result, {cls}):\n",
                f"        return result.{arg} + {const}\n", f"value = {fn}({pick()})\n", f"assert {const} == {num}\n"]
        use = [self.tok(uses[i]) for i in rng.permutation(len(uses))[: int(rng.integers(2, 6))]]
        h = self.tok(header)
        fixed = 1 + len(h) + sum(map(len, use))
        if fixed + 10 > budget:
            return []
        fill = int(rng.integers(10, min(450, budget - fixed) + 1))
        segs = [("eot", [EOT]), ("fact", h), ("filler", self.natural(rng, fill, "code", newline=True)), ("question", [t for u in use for t in u])]
        return segs

    KINDS = (("copy_random", 0.3), ("copy_text", 0.2), ("facts", 0.35), ("identifiers", 0.15))

    # the old curriculum's mix (mostly copying); train.py no longer uses it: see COPY_ONLY and training/PROBES.md
    COPY_FIRST = (("copy_random", 0.6), ("copy_text", 0.2), ("facts", 0.15), ("identifiers", 0.05))

    # train.py --curriculum: copying only (random ids and natural text), from which small twins learn to copy
    COPY_ONLY = (("copy_random", 0.8), ("copy_text", 0.2))

    def sequence(self, rng, length: int, kinds=None) -> list[int]:
        """`length` tokens of task documents, packed; the last one is cut at the end."""
        out: list[int] = []
        names, p = zip(*(kinds or self.KINDS))
        while len(out) < length:
            budget = length - len(out)
            kind = names[rng.choice(len(names), p=np.array(p) / sum(p))] if budget >= 64 else "copy_random"
            segs = getattr(self, kind)(rng, max(budget, 24))
            for _, t in segs:
                out.extend(t)
        return out[:length]

    # ---- measurement cases (measure.py) ----
    def retrieval_case(self, rng, lo: int, hi: int) -> dict:
        """One held-out retrieval document whose fact's value ends lo..hi tokens before the query (the last token
        before the answer), with 1-4 distractor facts about other entities (often the same attribute). Returns the
        ids with the fact and without it, the answer's span, the question's span and the target id."""
        for _ in range(100):
            a, kind = ATTRS[rng.integers(len(ATTRS))]
            e = self.entity(rng)
            v = self.value(rng, kind)
            others = []
            while len(others) < int(rng.integers(1, 5)):
                oe = self.entity(rng)
                if oe == e:
                    continue
                oa, ok = (a, kind) if rng.random() < 0.5 else ATTRS[rng.integers(len(ATTRS))]
                others.append(self.fact_text(rng, oe, oa, self.value(rng, ok)))
            fact = self.fact_text(rng, e, a, v)
            q = self.question_text(rng, e, a, v, template=int(rng.integers(3)))
            dist = int(rng.integers(lo + 1, hi + 1))
            n_before = int(rng.integers(0, len(others) + 1))
            before, after = others[:n_before], others[n_before:]
            tail = sum(len(t) for _, t in fact[2:]) + sum(len(t) for s in after for _, t in s) + len(q[0][1])
            fill = dist - tail
            if fill < 0:
                continue
            pre = [("eot", [EOT]), ("filler", self.natural(rng, int(rng.integers(0, 30)), newline=True))]
            for s in before:
                pre += s + [("filler", self.natural(rng, int(rng.integers(0, 20)), newline=True))]
            mid = list(fact[2:])
            cuts = sorted(rng.integers(0, fill + 1, size=len(after)).tolist())
            prev = 0
            for c, s in zip(cuts, after):
                mid += [("filler", self.natural(rng, c - prev, newline=True))] + s
                prev = c
            mid.append(("filler", self.natural(rng, fill - prev, newline=True)))
            with_fact = pre + fact[:2] + mid + [q[0]]
            without = pre + mid + [q[0]]
            ids = [t for _, s in with_fact for t in s]
            ids_wo = [t for _, s in without for t in s]
            if len(ids) > 512:
                continue
            s0 = sum(len(t) for _, t in pre + fact[:1])
            ans = list(range(s0, s0 + len(fact[1][1])))
            qlen = len(q[0][1])
            return {"ids": ids, "ids_without": ids_wo, "answer": ans, "target": q[1][1][0], "answer_ids": q[1][1],
                    "question": list(range(len(ids) - qlen, len(ids))),
                    "question_without": list(range(len(ids_wo) - qlen, len(ids_wo))),
                    "distance": len(ids) - 1 - ans[-1], "text": self.decode(ids)}
        raise RuntimeError("no retrieval case fits")


def main():
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    t = Tasks("train")
    rng = np.random.default_rng(0)
    for kind, _ in Tasks.KINDS:
        for _ in range(n):
            segs = getattr(t, kind)(rng, 512)
            ids = [x for _, s in segs for x in s]
            print(f"===== {kind} ({len(ids)} tokens)\n{t.decode(ids)}")
    h = Tasks("heldout")
    c = h.retrieval_case(np.random.default_rng(1), 100, 250)
    print(f"===== held-out retrieval case, distance {c['distance']}, target {t.decode([c['target']])!r}\n{c['text']}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "show":
        main()
    else:
        print(__doc__)
