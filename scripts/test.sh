#!/usr/bin/env bash
# The README's test command (`npm test`): installs what the tests need on a fresh machine, builds, type-checks,
# then runs the unit, browser and end-to-end runners in order. Each runner prints `<name>: N passed, N failed`;
# the last line sums them.
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"

step() { printf '\n== %s\n' "$*"; }

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  step "npm ci"
  # No dependency needs its install script (esbuild ships its binary as an optional package;
  # @vscode/vsce-sign would download from outside the npm registry), so none run, whatever the npm version.
  npm ci --ignore-scripts --no-audit --no-fund || { echo "npm ci failed"; exit 1; }
fi
step "tools (chromium, code-server)"
bash scripts/setup-tools.sh || exit 1
# Every temporary folder the tests make (Chromium profiles, code-server homes, exported packages) goes under one
# folder that is removed when the run ends, however it ends.
run_tmp="$(mktemp -d "${TMPDIR:-/tmp}/attn-test-run.XXXXXX")"
export TMPDIR="$run_tmp"
trap 'rm -rf "$run_tmp"' EXIT
step "build"
node scripts/build.mjs --tests || { echo "build failed"; exit 1; }
step "type-check (tsc --noEmit, strict)"
npx tsc -p . || { echo "type-check failed"; exit 1; }

total_pass=0
total_fail=0
status=0
run() {
  local name="$1"; shift
  step "$name"
  local log; log="$(mktemp)"
  "$@" 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  # Sum every `<name>: N passed, N failed` line the runner printed (the e2e runner prints two).
  local counted=0
  while read -r p f; do
    total_pass=$((total_pass + p)); total_fail=$((total_fail + f)); counted=1
  done < <(grep -E '^[a-z0-9-]+: [0-9]+ passed, [0-9]+ failed$' "$log" | sort -u | sed -E 's/^[a-z0-9-]+: ([0-9]+) passed, ([0-9]+) failed$/\1 \2/')
  if [ "$rc" -ne 0 ]; then
    status=1
    [ "$counted" = 1 ] || total_fail=$((total_fail + 1))
  fi
  rm -f "$log"
}
run "unit tests (Node)" node test/unit/run.mjs
run "browser tests (headless Chromium, WebGPU)" node test/browser/run.mjs
run "end-to-end tests (code-server)" node test/e2e/run.mjs

printf '\n'
echo "total: ${total_pass} passed, ${total_fail} failed"
exit $status
