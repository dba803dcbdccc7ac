#!/usr/bin/env bash
# Research probe: what Wine's builtin programs print for the commands entra-collect runs on
# Windows (exact stdout bytes, stderr, exit code). Usage: eval "$(scripts/wine-env.sh)"; $0
set -uo pipefail
w=/usr/lib/wine/wine64
out="${OUT:-/tmp/wine-cmds}"
mkdir -p "$out"
i=0
run() {
  i=$((i+1))
  "$w" "$@" >"$out/$i.out" 2>"$out/$i.err" </dev/null
  rc=$?
  echo "=== [$i] wine64 $* -> exit $rc; stdout $(wc -c <"$out/$i.out") bytes, stderr $(wc -c <"$out/$i.err") bytes"
  echo "--- stdout (first 256 bytes, hexdump -C):"
  head -c 256 "$out/$i.out" | hexdump -C
  if [ -s "$out/$i.err" ]; then echo "--- stderr (first 300 bytes):"; head -c 300 "$out/$i.err" | cat -v; echo; fi
}
run netsh winhttp show proxy
run reg query 'HKCU\Software\Microsoft\Windows\CurrentVersion\Internet Settings'
run reg query 'HKLM\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL\Protocols' /s
run netsh trace show status
run logman query -ets
run tasklist
run whoami /groups
run chcp
run reg query 'HKLM\SOFTWARE\Microsoft\.NETFramework\v4.0.30319'
run reg query 'HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Internet Settings\WinHttp'
run reg query 'HKLM\SOFTWARE\Microsoft\NET Framework Setup\NDP\v4\Full'
run where az
run cmd /c ver
