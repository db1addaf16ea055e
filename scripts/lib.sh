# Shared by scripts/dev, scripts/test and scripts/build: installs what is missing (and only
# that), with pinned versions, and exports the variables the build needs.
# Source it; do not run it.

CASCADE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORKER_BUILD_VERSION=0.8.7
SCHEMATHESIS_VERSION=4.32.5
SCHEMATHESIS_VENV="$CASCADE_ROOT/target/schemathesis-venv"
# cargo-fuzz for scripts/fuzz (and the bounded fuzz step of scripts/test).
CARGO_FUZZ_VERSION=0.13.2

log() { printf '\033[1m[cascade]\033[0m %s\n' "$*" >&2; }

# The wasm-bindgen version in Cargo.lock: the CLI must match it exactly.
wasm_bindgen_version() {
  awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$CASCADE_ROOT/Cargo.lock"
}

ensure_wasm_target() {
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    log "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
  fi
}

# ensure_cargo_tool BINARY CRATE VERSION [extra cargo-install flags]
ensure_cargo_tool() {
  local bin=$1 crate=$2 version=$3; shift 3
  # Tools print "NAME X.Y.Z" or just "X.Y.Z"; -w keeps 0.2.13 from matching 0.2.130.
  if "$bin" --version 2>/dev/null | grep -qwF "$version"; then return; fi
  log "installing $crate $version (once; takes a few minutes)"
  cargo install "$crate" --version "$version" "$@"
}

# cargo-fuzz, built from crates.io with its own Cargo.lock; skipped when this version is there.
ensure_cargo_fuzz() {
  ensure_cargo_tool cargo-fuzz cargo-fuzz "$CARGO_FUZZ_VERSION" --locked
}

ensure_build_tools() {
  ensure_wasm_target
  ensure_cargo_tool worker-build worker-build "$WORKER_BUILD_VERSION" --locked
  # wasm-bindgen-cli does not build with --locked here; its version is pinned exactly instead.
  ensure_cargo_tool wasm-bindgen wasm-bindgen-cli "$(wasm_bindgen_version)"
}

# npm ci in DIR (default: the repository root), skipped when node_modules was installed
# from this very lockfile with this Node.
ensure_npm_packages() {
  local dir="${1:-$CASCADE_ROOT}"
  local stamp="$dir/node_modules/.cascade-lock-sha"
  local want
  want="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1) $(node --version)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return; fi
  log "installing npm packages in ${dir#"$CASCADE_ROOT"/} (npm ci)"
  (cd "$dir" && npm ci --no-audit --no-fund)
  echo "$want" > "$stamp"
}

# Builds the dashboard (client/, Vite + React) into client/dist, which the Worker serves as
# static assets.
build_dashboard() {
  ensure_npm_packages "$CASCADE_ROOT/client"
  log "building the dashboard (client/dist)"
  (cd "$CASCADE_ROOT/client" && npm run --silent build)
}

# worker-build would download wasm-bindgen and wasm-opt from a host this machine cannot
# reach; point it at the local ones instead (see docs/TOOLCHAIN.md).
export_build_env() {
  WASM_BINDGEN_BIN="$(command -v wasm-bindgen)"
  WASM_OPT_BIN="$CASCADE_ROOT/node_modules/binaryen/bin/wasm-opt"
  export WASM_BINDGEN_BIN WASM_OPT_BIN
  # wrangler must not prompt or phone home from scripts.
  export WRANGLER_SEND_METRICS=false
}

# schemathesis from PyPI, pinned, in a venv under target/ (ignored by git), for the fuzz pass
# over the OpenAPI document (tests/fuzz.rs). Skipped when that version is installed.
ensure_schemathesis() {
  if "$SCHEMATHESIS_VENV/bin/schemathesis" --version 2>/dev/null | grep -qwF "$SCHEMATHESIS_VERSION"; then
    return
  fi
  log "installing schemathesis $SCHEMATHESIS_VERSION into target/schemathesis-venv (once)"
  python3 -m venv --clear "$SCHEMATHESIS_VENV" &&
    "$SCHEMATHESIS_VENV/bin/pip" install --quiet --disable-pip-version-check \
      "schemathesis==$SCHEMATHESIS_VERSION"
}

ensure_all() {
  ensure_build_tools
  ensure_npm_packages
  export_build_env
}

wrangler() { "$CASCADE_ROOT/node_modules/.bin/wrangler" "$@"; }
