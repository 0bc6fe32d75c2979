#!/usr/bin/env bash
# The whole test suite: formatting, lints, then every test of the workspace against both
# SQLite and PostgreSQL. Installs and starts what the tests need (PostgreSQL) when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/ensure-postgres.sh
source scripts/ensure-postgres.sh

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== cargo test"
cargo test --workspace --locked "$@"
