#!/usr/bin/env bash
# Every publishable crate packages and its package builds on its own: `cargo package` with
# verification (each .crate is unpacked under target/package/ and compiled from there, against
# the others through a local overlay registry, so a file outside a crate's directory, a missing
# readme or a path-only dependency fails here, not at `cargo publish`). xtask is
# `publish = false`: a maintainer tool, not for crates.io.
# --allow-dirty: package the working tree as it is (CI's checkout is clean anyway).
set -euo pipefail
cd "$(dirname "$0")/.."

cargo package --allow-dirty --quiet \
    -p wechatpay-card-models \
    -p wechatpay-signing \
    -p wechatpay-card-client \
    -p wechatpay-sandbox \
    -p wechatpay-card
echo "packaged and verified: wechatpay-card-models, wechatpay-signing, wechatpay-card-client, wechatpay-sandbox, wechatpay-card"
