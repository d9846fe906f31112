#!/usr/bin/env bash
# Rebuilds the shipped twin models from nothing, timing each step:
#   corpus -> tokenizer -> token streams -> both twins side by side, each seed (twins.sh) -> measurements
#   -> ONNX packages + fixtures -> MODEL_CARD.md.
# Needs Debian's python3-torch, python3-onnx, python3-numpy, python3-regex and libopenblas0-pthread
# (installed here with apt when run as root). About 2.5 hours on a 2-core machine, almost all of it training (twins.sh).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
PY=/usr/bin/python3
if ! $PY -c "import torch, onnx, numpy, regex" 2>/dev/null; then
  if [ "$(id -u)" = "0" ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-torch python3-onnx python3-numpy python3-regex libopenblas0-pthread
  else
    echo "install: sudo apt-get install python3-torch python3-onnx python3-numpy python3-regex libopenblas0-pthread" >&2; exit 1
  fi
fi
[ -d node_modules/typescript ] || npm ci --ignore-scripts --no-audit --no-fund   # the corpus includes TypeScript's lib files
t() { local s=$SECONDS; "$@"; echo "[reproduce] $* took $((SECONDS - s)) s"; }
t $PY training/data.py
# The shipped packages' tokenizer is kept (tests and fixtures use it); `bpe.py train` learns one from scratch, which
# differs slightly from the shipped one because the corpus no longer holds the key-value documents it was learned with.
if [ -s media/models/twin-diff/tokenizer.json ]; then cp media/models/twin-diff/tokenizer.json training/.cache/tokenizer.json
else t $PY training/bpe.py train; fi
t $PY training/bpe.py encode
t bash training/twins.sh --fg      # both twins, both seeds, side by side; then measure.py
t $PY training/export.py
t $PY training/model_card.py
t $PY training/bpe.py fixtures test/fixtures/tokenizer/cases.json
echo "[reproduce] done in $SECONDS s; run npm run test:unit to check the packages against the PyTorch fixtures"
