#!/usr/bin/env bash
# Peak RSS and wall time of `entra-collect inspect` (release build) on every hostile zip of
# tests/hostile (attacker tests I02 ... I11). Targets: <= 64 MiB and <= 2 s each.
# Usage: scripts/inspect-hostile.sh [DIR]   (needs /usr/bin/time: apt-get install -y time)
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-$(mktemp -d)}
cargo build --release --quiet --bin entra-collect --example hostile_zips
./target/release/examples/hostile_zips "$dir" >/dev/null
printf '| zip | size | exit | wall | max RSS | result |\n|---|---|---|---|---|---|\n'
for z in "$dir"/*.zip; do
  set +e
  /usr/bin/time -v -o "$dir/time.txt" ./target/release/entra-collect inspect "$z" >"$dir/out.txt" 2>&1
  rc=$?
  set -e
  wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$dir/time.txt")
  rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$dir/time.txt")
  first=$(grep -m1 -E 'VERIFIED|Verified|not valid' "$dir/out.txt" | cut -c1-90 | sed 's/|/\\|/g')
  printf '| %s | %s | %s | %s | %s MiB | %s |\n' "$(basename "$z" .zip)" "$(stat -c %s "$z")" "$rc" "$wall" \
    "$(awk -v k="$rss" 'BEGIN{printf "%.1f", k/1024}')" "$first"
done
