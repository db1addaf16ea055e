#!/usr/bin/env bash
# Tests the TypeScript packages (client, React, OpenFeature) and the dashboard against a real
# `wrangler dev`:
#   1. npm ci in client/, the workspace root (skipped when node_modules was installed from this
#      very lockfile),
#   2. Debian's Chromium (apt-get only when /usr/bin/chromium is missing),
#   3. build the packages (tsc -b), type-check everything, build the dashboard into client/dist,
#   4. vitest: client, React, OpenFeature and packaging tests (npm pack, install in a scratch
#      project) and the Chromium test of the dashboard (one runtime, started and stopped by
#      test/support/globalSetup.ts).
# Ends with exactly one line "N passed, N failed"; exits non-zero on any failure.
set -uo pipefail
CLIENT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REPO="$(cd "$CLIENT/.." && pwd)"
cd "$CLIENT"

say() { printf '\033[1m[client]\033[0m %s\n' "$*" >&2; }
give_up() {
  say "$1"
  echo "0 passed, 1 failed"
  exit 1
}

# 1. npm packages, pinned by package-lock.json.
stamp="node_modules/.cascade-lock-sha"  # the same stamp as scripts/lib.sh ensure_npm_packages
want="$(sha256sum package-lock.json | cut -d' ' -f1) $(node --version)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  say "npm ci (client)"
  npm ci --no-audit --no-fund >&2 || give_up "npm ci failed"
  echo "$want" > "$stamp"
fi
# The Worker runtime (wrangler) lives in the repository's own node_modules.
if [ ! -x "$REPO/node_modules/.bin/wrangler" ]; then
  say "npm ci (repository: wrangler)"
  (cd "$REPO" && npm ci --no-audit --no-fund >&2) || give_up "npm ci in the repository failed"
fi

# 2. Chromium for the browser test.
export CHROMIUM_PATH="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ ! -x "$CHROMIUM_PATH" ]; then
  say "installing Debian's chromium"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } >&2 \
    || give_up "could not install chromium"
fi

# 3. The Worker build the runtime serves (normally already built by scripts/test), and the dashboard.
if [ ! -f "$REPO/build/index.js" ]; then
  say "building the Worker (scripts/build)"
  (cd "$REPO" && bash scripts/build >&2) || give_up "scripts/build failed"
fi
say "build the packages, type-check, build the dashboard"
npm run --silent build >&2 || give_up "build failed"

# 4. Tests, counted from vitest's JSON report.
report="$(mktemp)"
trap 'rm -f "$report"' EXIT
say "vitest (client, React, OpenFeature, packaging, dashboard in Chromium)"
node_modules/.bin/vitest run --reporter=default --reporter=json --outputFile.json="$report" >&2
status=$?
counts="$(node -e '
  const fs = require("fs");
  let r = {};
  try { r = JSON.parse(fs.readFileSync(process.argv[1], "utf8")); } catch {}
  const passed = r.numPassedTests ?? 0;
  // Suites that failed to load count as one failure each.
  const failed = (r.numFailedTests ?? 0) + (r.testResults ?? []).filter((f) => f.status === "failed" && f.assertionResults.length === 0).length;
  console.log(`${passed} ${failed}`);
' "$report")"
read -r passed failed <<< "$counts"
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
echo "$passed passed, $failed failed"
[ "$status" -eq 0 ] && [ "$failed" -eq 0 ]
