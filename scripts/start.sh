#!/usr/bin/env bash
# The README's first command (`npm start`): builds the extension and opens VS Code with it on a sample file.
# Desktop `code` when it is installed; otherwise code-server on 127.0.0.1 (printing the URL to open).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
SAMPLE="$ROOT/samples/long_range.py"

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --ignore-scripts --no-audit --no-fund
fi
node scripts/build.mjs

if command -v code >/dev/null 2>&1 && [ -z "${ATTN_USE_CODE_SERVER:-}" ]; then
  echo "Opening desktop VS Code with Attention Inspector under development…"
  exec code --extensionDevelopmentPath="$ROOT" "$ROOT/samples" "$SAMPLE"
fi

bash scripts/setup-tools.sh
exec node scripts/codeServerStart.mjs "$ROOT/samples" "$SAMPLE"
