#!/usr/bin/env bash
# Build the TEST-ONLY bcryptprimitives.dll shim (ProcessPrng over RtlGenRandom) into DIR, so the
# real entra-collect.exe loads under Wine 8 (which lacks ProcessPrng). Never ship the DLL.
# Usage: scripts/build-wine-shim.sh DIR     (usually the directory of entra-collect.exe)
# Needs: x86_64-w64-mingw32-gcc (Debian: apt-get install -y gcc-mingw-w64-x86-64).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
dir="${1:?usage: $0 DIR}"
cc="${CC_MINGW:-x86_64-w64-mingw32-gcc}"
if ! command -v "$cc" >/dev/null 2>&1; then
  echo "build-wine-shim: $cc not found; install it: apt-get install -y gcc-mingw-w64-x86-64" >&2
  exit 2
fi
mkdir -p "$dir"
src="$here/tests/windows/shim"
"$cc" -O2 -shared -s -o "$dir/bcryptprimitives.dll" \
  "$src/processprng.c" "$src/processprng.def" -ladvapi32
echo "$dir/bcryptprimitives.dll"
