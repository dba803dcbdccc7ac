#!/usr/bin/env bash
# Prepare a private Wine prefix for running the real entra-collect.exe in tests, quietly and
# without an X display, and print the environment to use it:
#   eval "$(scripts/wine-env.sh)"            # prefix target/wine/prefix (created once)
#   eval "$(scripts/wine-env.sh DIR)"        # another prefix
#   WINE_TEMPLATE=DIR scripts/wine-env.sh X  # copy an initialised prefix (≈1 s) instead of wineboot (≈10 s)
# Installs nothing: without Wine it prints the apt-get line and exits 2.
#
# What makes it fast and quiet (measured on Debian 12, Wine 8.0, 2 cores):
# - WINEDLLOVERRIDES="mscoree,mshtml=;winemenubuilder.exe=d": no Mono / Gecko install prompt
#   (they would need a display or a download), no desktop menu entries.
# - WINEDEBUG=-all: no fixme/err noise on stderr.
# - DISPLAY unset: wineboot and console programs need no X server (no xvfb).
# - `wineserver -k` right after `wineboot -i` instead of `wineserver -w` (which idles ~5 s while
#   services.exe/explorer wind down): the registry is saved on the kill all the same.
# Everything goes to stderr except the export lines on stdout.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
wine64=/usr/lib/wine/wine64
wineserver=/usr/lib/wine/wineserver
if [ ! -x "$wine64" ] || [ ! -x "$wineserver" ]; then
  echo "wine-env: Wine (64-bit) not found; install with: apt-get install -y wine64" >&2
  exit 2
fi
prefix="${1:-$root/target/wine/prefix}"
mkdir -p "$(dirname "$prefix")"
prefix="$(cd "$(dirname "$prefix")" && pwd)/$(basename "$prefix")"

export WINEPREFIX="$prefix" WINEARCH=win64 WINEDEBUG=-all
export WINEDLLOVERRIDES="mscoree,mshtml=;winemenubuilder.exe=d"
unset DISPLAY WAYLAND_DISPLAY

ready() { [ -f "$prefix/system.reg" ] && [ -f "$prefix/.entra-collect-ready" ]; }

if ready; then
  echo "wine-env: $prefix already initialised" >&2
else
  rm -rf "$prefix"
  start=$(date +%s%N)
  if [ -n "${WINE_TEMPLATE:-}" ] && [ -f "$WINE_TEMPLATE/.entra-collect-ready" ]; then
    cp -a --reflink=auto "$WINE_TEMPLATE" "$prefix"
    how="copied from $WINE_TEMPLATE"
  else
    # Wine refuses a prefix owned by another user; a fresh directory is ours.
    "$wine64" wineboot -i >/dev/null 2>&1 || { echo "wine-env: wineboot -i failed" >&2; exit 1; }
    "$wineserver" -k 2>/dev/null || true
    "$wineserver" -w 2>/dev/null || true
    how="wineboot -i"
  fi
  if ! grep -q 'Microsoft\\\\Windows NT\\\\CurrentVersion' "$prefix/system.reg" 2>/dev/null; then
    echo "wine-env: $prefix/system.reg is incomplete" >&2
    exit 1
  fi
  touch "$prefix/.entra-collect-ready"
  ms=$(( ($(date +%s%N) - start) / 1000000 ))
  echo "wine-env: initialised $prefix ($how) in ${ms} ms" >&2
fi
printf 'export WINEPREFIX=%q WINEARCH=win64 WINEDEBUG=-all WINEDLLOVERRIDES=%q\n' \
  "$prefix" "$WINEDLLOVERRIDES"
echo 'unset DISPLAY WAYLAND_DISPLAY'
