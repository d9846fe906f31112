#!/usr/bin/env bash
# Installs what the browser and end-to-end tests need, idempotently, into .tools/ (gitignored):
#   - Debian's chromium (+ libkrb5-dev and ripgrep, which code-server's install needs) and python3-torch,
#     python3-onnx, python3-numpy and python3-regex (PY_DEPS below: the exporter's tests) when run as root;
#   - code-server 4.100.3 from the npm registry, installed locally on the machine's Node 20.
# Why 4.100.3: it runs on Node 20 (the machine's own), so no second Node runtime is needed, and it ships
# VS Code 1.100, the version package.json's engines.vscode targets.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TOOLS="$ROOT/.tools"
CS_VERSION="4.100.3"
CS_DIR="$TOOLS/code-server-$CS_VERSION"
mkdir -p "$TOOLS"

need_apt=()
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v rg >/dev/null 2>&1 || need_apt+=(ripgrep)
[ -e /usr/include/gssapi/gssapi.h ] || [ -e /usr/include/krb5.h ] || need_apt+=(libkrb5-dev)
# The exporter's tests run training/*.py on Debian's Python. PY_DEPS is the one list of the third-party modules they
# import, each with its Debian package (test/unit/pythonDeps.test.ts reads the imports of training/*.py and fails on
# a module missing here). Not listed: transformers, only for `export_model.py hf`, not in Debian; the tests use
# test/fixtures/mock_transformers instead.
PY_DEPS=(
  torch:python3-torch
  onnx:python3-onnx
  numpy:python3-numpy
  regex:python3-regex
)
py_modules=()
for dep in "${PY_DEPS[@]}"; do
  module="${dep%%:*}"; pkg="${dep#*:}"
  py_modules+=("$module")
  /usr/bin/python3 -c "import $module" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = "0" ]; then
    echo "[setup] apt-get install ${need_apt[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # None of these depends on Debian's nodejs (checked with apt-cache depends --recurse).
    apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
  else
    echo "[setup] missing system packages: ${need_apt[*]}. Install them (sudo apt-get install ${need_apt[*]}) and run again." >&2
    exit 1
  fi
fi

if [ ! -x "$CS_DIR/node_modules/.bin/code-server" ]; then
  echo "[setup] installing code-server $CS_VERSION into $CS_DIR (about a minute)"
  rm -rf "$CS_DIR" && mkdir -p "$CS_DIR"
  # @vscode/ripgrep downloads rg from GitHub during install; seed its cache with Debian's rg instead.
  tmp="${TMPDIR:-/tmp}"
  cache="$tmp/vscode-ripgrep-cache-1.15.11"
  mkdir -p "$cache"
  if [ ! -s "$cache/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz" ]; then
    stage="$(mktemp -d)"; cp "$(command -v rg)" "$stage/rg"
    tar -czf "$cache/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz" -C "$stage" rg
    rm -rf "$stage"
  fi
  cat > "$CS_DIR/package.json" <<JSON
{ "name": "attention-inspector-tools", "private": true, "allowScripts": { "*": true } }
JSON
  ( cd "$CS_DIR" && npm_config_yes=true npm_config_unsafe_perm=true npm install --no-audit --no-fund \
      "code-server@$CS_VERSION" ) || { echo "[setup] code-server install failed" >&2; rm -rf "$CS_DIR/node_modules"; exit 1; }
fi
# Check after installing: a package that installed but does not import (or a wrong name in the list) stops here, with
# the module named, instead of as a failing test later.
for module in "${py_modules[@]}"; do
  /usr/bin/python3 -c "import $module" >/dev/null 2>&1 || { echo "[setup] /usr/bin/python3 cannot import '$module' (PY_DEPS in scripts/setup-tools.sh)" >&2; exit 1; }
done
echo "[setup] chromium: $(command -v chromium); code-server: $CS_DIR/node_modules/.bin/code-server; python modules: ${py_modules[*]}"
