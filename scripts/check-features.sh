#!/usr/bin/env bash
# Features say what they bring: the `rust-crypto` feature sets (no default features) of the
# client and of the signing crate must compile no aws-lc (neither aws-lc-rs nor aws-lc-sys) and
# no cmake, on any target, build dependencies included. Prints the path that brings one back.
set -euo pipefail
cd "$(dirname "$0")/.."

log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
for package in wechatpay-card-client wechatpay-signing; do
    for crate in aws-lc-sys aws-lc-rs cmake; do
        # `cargo tree -i` prints nothing (and a warning) when the crate is absent from the tree,
        # and fails with "did not match any packages" when it is absent from the resolve.
        if ! found=$(cargo tree -p "$package" --no-default-features --features rust-crypto \
            -e normal,build --target all -i "$crate" 2>"$log"); then
            if grep -q "did not match any packages" "$log"; then
                found=""
            else
                cat "$log" >&2
                exit 1
            fi
        fi
        if [ -n "$found" ]; then
            echo "$package --no-default-features --features rust-crypto pulls in $crate:" >&2
            echo "$found" >&2
            status=1
        fi
    done
done
if [ "$status" -eq 0 ]; then
    echo "rust-crypto (client, signing): no aws-lc-sys, aws-lc-rs or cmake"
fi
exit "$status"
