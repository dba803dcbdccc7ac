#!/usr/bin/env bash
# Cross-build the release entra-collect.exe for x86_64-pc-windows-gnu on Debian and pack
#   dist/entra-collect-<version>-x86_64-pc-windows-gnu.zip   (entra-collect.exe, README.md, LICENSE*)
#   dist/entra-collect-<version>-x86_64-pc-windows-gnu.zip.sha256
# Installs nothing: when a tool is missing it prints the apt-get line and exits 2.
#
# Why Debian's toolchain: rustup cannot download a target here; Debian's rustc-web with its
# rust-web-src rebuilds std for the target (-Zbuild-std, allowed by RUSTC_BOOTSTRAP=1) and
# gcc-mingw-w64 links it. The Wine test shim (bcryptprimitives.dll) is never packed.
#
# The zipped exe is stripped of its DWARF line tables (x86_64-w64-mingw32-strip --strip-debug:
# 60 MB -> 16 MB); its symbols stay, so a backtrace still names functions, and a panic message
# carries its file:line regardless. The exe in CARGO_TARGET_DIR keeps them (the Wine suite).
#
# Environment: CARGO_TARGET_DIR (default target/windows), NICE (default 15), DIST (default dist),
# PACK=0 to build only (tests/windows_wine.rs). Extra arguments go to cargo build (e.g. --locked).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
target=x86_64-pc-windows-gnu
rustc=/usr/bin/rustc
cargo=/usr/bin/cargo
std_src=/usr/lib/rustlib/src/rust/library

missing=()
[ -x "$rustc" ] || missing+=(rustc-web)
[ -x "$cargo" ] || missing+=(cargo-web)
[ -d "$std_src/std" ] || missing+=(rust-web-src)
command -v x86_64-w64-mingw32-gcc >/dev/null 2>&1 || missing+=(gcc-mingw-w64-x86-64)
# binutils-mingw-w64-x86-64 comes with gcc-mingw-w64-x86-64.
command -v x86_64-w64-mingw32-strip >/dev/null 2>&1 || missing+=(binutils-mingw-w64-x86-64)
command -v zip >/dev/null 2>&1 || missing+=(zip)
command -v sha256sum >/dev/null 2>&1 || missing+=(coreutils)
if [ ${#missing[@]} -gt 0 ]; then
  echo "build-windows: missing ${missing[*]}; install with:" >&2
  echo "  apt-get install -y ${missing[*]}" >&2
  exit 2
fi

# The [package] version (the first version key of the manifest's [package] table).
version="$(sed -n '/^\[package\]/,/^\[/{s/^version *= *"\(.*\)"/\1/p}' Cargo.toml | head -n1)"
[ -n "$version" ] || { echo "build-windows: no [package] version in Cargo.toml" >&2; exit 1; }

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target/windows}"
start=$(date +%s)
RUSTC="$rustc" RUSTC_BOOTSTRAP=1 nice -n "${NICE:-15}" \
  "$cargo" build --release -Zbuild-std=std,panic_abort --target "$target" "$@"
exe="$CARGO_TARGET_DIR/$target/release/entra-collect.exe"
[ -f "$exe" ] || { echo "build-windows: $exe was not built" >&2; exit 1; }
echo "build-windows: built $exe in $(( $(date +%s) - start )) s"
[ "${PACK:-1}" = 0 ] && exit 0

dist="${DIST:-$root/dist}"
name="entra-collect-$version-$target"
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
# Only these files, named one by one: never a DLL lying next to the exe (the Wine shim).
x86_64-w64-mingw32-strip --strip-debug -o "$stage/entra-collect.exe" "$exe"
cp README.md "$stage/"
for f in LICENSE LICENSE-MIT LICENSE-APACHE LICENSE.md LICENSE.txt; do
  [ -f "$f" ] && cp "$f" "$stage/"
done
mkdir -p "$dist"
rm -f "$dist/$name.zip" "$dist/$name.zip.sha256"
# -X: no extra (uid/gid, Unix time) fields; a fixed order of entries.
(cd "$stage" && zip -X -q "$dist/$name.zip" $(ls | LC_ALL=C sort))
if unzip -Z1 "$dist/$name.zip" | grep -qiv -e '^entra-collect\.exe$' -e '^README\.md$' -e '^LICENSE'; then
  echo "build-windows: unexpected file in $dist/$name.zip" >&2
  exit 1
fi
(cd "$dist" && sha256sum "$name.zip" > "$name.zip.sha256")
echo "$dist/$name.zip"
echo "$dist/$name.zip.sha256"
