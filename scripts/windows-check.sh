#!/usr/bin/env bash
# Check (never build for shipping) that the crate compiles for Windows, from Linux.
# Needs Debian's rustc-web cargo-web rust-web-src gcc-mingw-w64-x86-64:
#   apt-get install -y rustc-web cargo-web rust-web-src gcc-mingw-w64-x86-64
set -euo pipefail
cd "$(dirname "$0")/.."
RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target/windows-check}" \
  /usr/bin/cargo check -Zbuild-std=std,panic_abort --target x86_64-pc-windows-gnu "$@"
