#!/usr/bin/env bash
# Builds examples/consumers (a workspace of its own: one program per library crate, each using
# only the crate it needs, by path, as a crates.io user would), then runs the three programs
# (no network: the client's talks to a sandbox in its own process).
# The consumers start from the main Cargo.lock and share the main target dir, so that the
# dependencies already built for the workspace are not built again.
set -euo pipefail
cd "$(dirname "$0")/.."

cp Cargo.lock examples/consumers/Cargo.lock
cargo fmt --manifest-path examples/consumers/Cargo.toml --all --check
cargo build --manifest-path examples/consumers/Cargo.toml --target-dir target
for program in signing-only models-only client; do
    echo "--- $program"
    ./target/debug/"$program" >/dev/null
done
echo "consumers: built and ran signing-only, models-only, client"
