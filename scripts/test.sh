#!/usr/bin/env bash
# The whole test suite: formatting, lints, then every test of the workspace against both
# SQLite and PostgreSQL, and the web consoles' browser tests in headless Chromium. Installs
# and starts what the tests need (PostgreSQL, Chromium + chromedriver) when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/ensure-postgres.sh
source scripts/ensure-postgres.sh
# shellcheck source=scripts/ensure-chromium.sh
source scripts/ensure-chromium.sh

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== cargo test"
cargo test --workspace --locked "$@"
