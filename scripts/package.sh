#!/usr/bin/env bash
# Every publishable crate packages and its package builds on its own: `cargo package` with
# verification (each .crate is unpacked under target/package/ and compiled from there, against
# the others through a local overlay registry, so a file outside a crate's directory, a missing
# readme or a path-only dependency fails here, not at `cargo publish`). xtask is
# `publish = false`: a maintainer tool, not for crates.io.
# --allow-dirty: package the working tree as it is (CI's checkout is clean anyway).
set -euo pipefail
cd "$(dirname "$0")/.."

# Cargo takes a registry's crate for immutable: it unpacks a name and version once, under
# $CARGO_HOME/registry/src/-<hash>/ for the overlay (a local registry has no host name, hence the
# leading '-'), and never rebuilds its compiled copy in target/. Our crates keep their version
# while they change, so on a machine that packaged before, the verification would build against
# the previous run's sources (seen: a function added to the models "missing" for the CLI). Those
# unpacked copies of this workspace's crates, and what was compiled from them (found by their
# dep-info files, which name the unpacked sources), are removed first; nothing else is touched.
cargo_home="${CARGO_HOME:-$HOME/.cargo}"
for unpacked in "$cargo_home"/registry/src/-*/wechatpay-*; do
  [ -e "$unpacked" ] && rm -rf "$unpacked"
done
target_dir="${CARGO_TARGET_DIR:-target}"
for depinfo in "$target_dir"/debug/deps/wechatpay_*.d; do
  [ -e "$depinfo" ] || continue
  if grep -q "registry/src/-" "$depinfo"; then
    unit=$(basename "$depinfo" .d)       # e.g. wechatpay_card_models-4344cb7d071c951c
    hash=${unit##*-}
    rm -f "$target_dir"/debug/deps/*"$unit".* "$target_dir"/debug/deps/lib"$unit".*
    rm -rf "$target_dir"/debug/.fingerprint/*-"$hash"
  fi
done

cargo package --allow-dirty --quiet \
    -p wechatpay-card-models \
    -p wechatpay-signing \
    -p wechatpay-card-client \
    -p wechatpay-sandbox \
    -p wechatpay-card
echo "packaged and verified: wechatpay-card-models, wechatpay-signing, wechatpay-card-client, wechatpay-sandbox, wechatpay-card"
