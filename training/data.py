"""Deterministic corpus builder: source code and English prose with clear licences.

    python3 training/data.py            # writes training/.cache/corpus/{train,val}.jsonl (about 50 MB of text)

Sources (see DATA_CARD.md for licences): the Python 3.11 standard library (.py), TypeScript's lib/*.d.ts (from the
typescript npm package in node_modules), the Python 3.11 documentation sources (reST, Debian python3.11-doc), the
git documentation (Debian git-doc), the PostgreSQL 15 documentation (HTML converted to text, Debian
postgresql-doc-15) and the Jargon File (Debian jargon-text). Debian packages are fetched with `apt-get download`
and unpacked with `dpkg-deb -x`; nothing is installed.

Held-out split by document: a document is held out when sha1(path) mod 100 < 2. Each document is a JSON line
{"id", "domain": "code" | "prose", "text"}. Order is sorted by id and then shuffled with a fixed seed.
The in-context tasks (copying, retrieval, long-range identifiers) are generated separately, in token space, by
training/tasks.py from these documents' token streams.
"""
from __future__ import annotations

import glob
import gzip
import hashlib
import html
import json
import os
import random
import re
import subprocess
import sys
from html.parser import HTMLParser

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CACHE = os.path.join(HERE, ".cache")
DEBS = ["python3.11-doc", "git-doc", "postgresql-doc-15", "jargon-text"]
SEED = 1234


def unpack_debs() -> str:
    root = os.path.join(CACHE, "debs", "x")
    stamp = os.path.join(root, ".done")
    if os.path.exists(stamp):
        return root
    d = os.path.join(CACHE, "debs")
    os.makedirs(root, exist_ok=True)
    subprocess.run(["apt-get", "download", *DEBS], cwd=d, check=True)
    for f in sorted(glob.glob(os.path.join(d, "*.deb"))):
        subprocess.run(["dpkg-deb", "-x", f, root], check=True)
    open(stamp, "w").close()
    return root


class _Text(HTMLParser):
    SKIP = {"script", "style", "head"}

    def __init__(self):
        super().__init__()
        self.out: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self.skip += 1
        elif tag in ("p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "pre", "dt", "dd"):
            self.out.append("\n")

    def handle_endtag(self, tag):
        if tag in self.SKIP:
            self.skip = max(0, self.skip - 1)

    def handle_data(self, data):
        if not self.skip:
            self.out.append(data)


def html_to_text(s: str) -> str:
    p = _Text()
    p.feed(s)
    text = html.unescape("".join(p.out))
    text = re.sub(r"[ \t]+\n", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


def read(path: str) -> str:
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8", errors="replace") as f:
        return f.read()


def documents(debs: str):
    """Yields (id, domain, text) in a fixed order."""
    py = "/usr/lib/python3.11"
    for p in sorted(glob.glob(f"{py}/**/*.py", recursive=True)):
        if "/test/" in p or "/tests/" in p or "/site-packages/" in p or "/dist-packages/" in p:
            continue
        yield "py/" + os.path.relpath(p, py), "code", read(p)
    ts = os.path.join(ROOT, "node_modules", "typescript", "lib")
    for p in sorted(glob.glob(f"{ts}/lib*.d.ts")):
        yield "ts/" + os.path.basename(p), "code", read(p)
    # The TypeScript compiler itself (one 9 MB file), cut into ~16 kB documents at line boundaries.
    lines = read(os.path.join(ts, "typescript.js")).split("\n")
    chunk, n = [], 0
    for line in lines:
        chunk.append(line)
        if sum(map(len, chunk)) > 16000:
            yield f"tsc/{n:04d}", "code", "\n".join(chunk) + "\n"
            chunk, n = [], n + 1
    if chunk:
        yield f"tsc/{n:04d}", "code", "\n".join(chunk) + "\n"
    src = os.path.join(debs, "usr/share/doc/python3.11/html/_sources")
    for p in sorted(glob.glob(f"{src}/**/*.rst.txt", recursive=True)):
        yield "pydoc/" + os.path.relpath(p, src), "prose", read(p)
    for p in sorted(glob.glob(os.path.join(debs, "usr/share/doc/git-doc/*.txt"))):
        yield "gitdoc/" + os.path.basename(p), "prose", read(p)
    for p in sorted(glob.glob(os.path.join(debs, "usr/share/doc/postgresql-doc-15/html/*.html"))):
        yield "pgdoc/" + os.path.basename(p), "prose", html_to_text(read(p))
    jargon = read(os.path.join(debs, "usr/share/doc/jargon-text/jargon.txt.gz"))
    # The Jargon File is one long text: split it into entries of about 8 kB so the split is by document.
    parts = re.split(r"\n(?=:[^:\n]+:)", jargon)
    chunk, n = [], 0
    for part in parts:
        chunk.append(part)
        if sum(map(len, chunk)) > 8000:
            yield f"jargon/{n:04d}", "prose", "\n".join(chunk)
            chunk, n = [], n + 1
    if chunk:
        yield f"jargon/{n:04d}", "prose", "\n".join(chunk)


def main():
    out = os.path.join(CACHE, "corpus")
    os.makedirs(out, exist_ok=True)
    debs = unpack_debs()
    docs = list(documents(debs))
    docs = [(i, d, t) for i, d, t in docs if t.strip()]
    rng = random.Random(SEED)
    docs.sort(key=lambda x: x[0])
    rng.shuffle(docs)
    stats = {}
    with open(os.path.join(out, "train.jsonl"), "w") as ft, open(os.path.join(out, "val.jsonl"), "w") as fv:
        for i, d, t in docs:
            held = int(hashlib.sha1(i.encode()).hexdigest(), 16) % 100 < 2
            (fv if held else ft).write(json.dumps({"id": i, "domain": d, "text": t}) + "\n")
            k = ("val" if held else "train", d)
            c = stats.setdefault(k, [0, 0])
            c[0] += 1
            c[1] += len(t)
    summary = {f"{s}/{d}": {"documents": c[0], "characters": c[1]} for (s, d), c in sorted(stats.items())}
    with open(os.path.join(out, "stats.json"), "w") as f:
        json.dump(summary, f, indent=2)
    json.dump(summary, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
