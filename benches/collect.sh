#!/usr/bin/env bash
# Collection wall time (issue 17): is `entra-collect collect` as fast as its slowest step?
#
# Builds the release binary, runs one collection with `--no-network -q --json` against the real
# Azure CLI (target/azvenv/bin, or $AZ_E2E_BIN) on this machine, reads the external commands the
# manifest recorded and writes a shell script that runs exactly those commands one after
# another (same environment), then runs, in turn and RUNS (default 9, at least 7) times each:
# the collection, the serial script, and every step alone. Prints the medians, the slowest
# step and the ratios against the targets:
#   collect / slowest step <= 1.2      serial / collect >= 2
# and `entra-collect --version` with hyperfine (many runs; target < 5 ms).
#
# Writes nothing outside target/ and /tmp: Azure CLI gets a scratch AZURE_CONFIG_DIR (warmed by
# one `az version` first, so az's one-day version cache exists and no run looks for updates).
# Usage: benches/collect.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-9}"
[ "$runs" -ge 7 ] || { echo "at least 7 runs" >&2; exit 2; }
azbin="${AZ_E2E_BIN:-$PWD/target/azvenv/bin}"
[ -x "$azbin/az" ] || { echo "no Azure CLI at $azbin (set AZ_E2E_BIN)" >&2; exit 2; }
command -v hyperfine >/dev/null || { echo "hyperfine missing: apt-get install -y hyperfine" >&2; exit 2; }

nice -n 10 cargo build --release --quiet
exe="$PWD/target/release/entra-collect"
work="$(mktemp -d /tmp/entra-bench-collect.XXXXXX)"
trap 'rm -rf "$work"' EXIT

export PATH="$azbin:/usr/bin:/bin"
export AZURE_CONFIG_DIR="$work/azure"
export ENTRA_COLLECT_NO_NETWORK=1
mkdir -p "$AZURE_CONFIG_DIR"
AZURE_CORE_COLLECT_TELEMETRY=false az version -o json >/dev/null 2>&1

mkdir "$work/first"
"$exe" collect --no-network -q --json -o "$work/first" >"$work/first.json"

# The recorded commands, in the order the manifest lists them, as a serial script. The facts
# snippet is recorded redacted ([REDACTED:argument]): it is taken from the source.
python3 - "$work" src/collect/az_python.rs <<'EOF'
import glob, json, re, shlex, sys, zipfile
work, src = sys.argv[1], sys.argv[2]
snippet = re.search(r'pub const SNIPPET: &str = r#"(.*?)"#;', open(src).read(), re.S).group(1)
m = json.loads(zipfile.ZipFile(glob.glob(work + "/first/*.zip")[0]).read("manifest.json"))
steps = []
for c in m["collectors"]:
    for cmd in c.get("commands", []):
        argv = [cmd["program_path"]] + cmd["command_line"][1:]
        argv = [snippet if a == "[REDACTED:argument]" and argv[i - 1] == "-c" else a
                for i, a in enumerate(argv)]
        if "[REDACTED" in " ".join(argv):
            sys.exit("a recorded command has a redacted argument the bench cannot restore: %s" % argv)
        steps.append((c["id"], argv))
env = "export AZURE_CORE_COLLECT_TELEMETRY=false\n"
with open(work + "/serial.sh", "w") as f:
    f.write("#!/bin/sh\n" + env)
    for _, argv in steps:
        f.write(" ".join(shlex.quote(a) for a in argv) + " >/dev/null 2>&1\n")
for i, (cid, argv) in enumerate(steps):
    with open("%s/step%d.sh" % (work, i), "w") as f:
        f.write("#!/bin/sh\n" + env + " ".join(shlex.quote(a) for a in argv) + " >/dev/null 2>&1\n")
with open(work + "/steps.txt", "w") as f:
    for cid, argv in steps:
        shown = [a if len(a) < 60 else "<%d-byte snippet>" % len(a) for a in argv]
        f.write("%s\t%s\n" % (cid, " ".join(shown)))
EOF
echo "steps the manifest recorded:"
sed 's/^/  /' "$work/steps.txt"

python3 - "$work" "$exe" "$runs" <<'EOF'
import glob, os, shutil, statistics, subprocess, sys, time
work, exe, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
steps = sorted(glob.glob(work + "/step*.sh"), key=lambda p: int(p.split("step")[-1][:-3]))
names = [l.split("\t")[1].strip() for l in open(work + "/steps.txt")]
def timed(argv):
    t = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t
def collect():
    out = work + "/out"
    shutil.rmtree(out, ignore_errors=True)
    os.mkdir(out)
    return timed([exe, "collect", "--no-network", "-q", "--json", "-o", out])
coll, serial, alone = [], [], [[] for _ in steps]
for _ in range(runs):  # in turn, so load changes hit every series alike
    coll.append(collect())
    serial.append(timed(["sh", work + "/serial.sh"]))
    for i, s in enumerate(steps):
        alone[i].append(timed(["sh", s]))
med = statistics.median
c, s = med(coll), med(serial)
a = [med(x) for x in alone]
slow = max(range(len(a)), key=a.__getitem__)
print("medians of %d runs (load average %s):" % (runs, os.getloadavg()[0]))
print("  collect        %.3f s  (min %.3f)" % (c, min(coll)))
print("  serial script  %.3f s  (min %.3f)" % (s, min(serial)))
for n, v in zip(names, a):
    print("  step alone     %.3f s  %s" % (v, n))
print("slowest step: %s, %.3f s" % (names[slow], a[slow]))
r1, r2 = c / a[slow], s / c
print("collect / slowest step = %.2f  (target <= 1.2: %s)" % (r1, "pass" if r1 <= 1.2 else "FAIL"))
print("serial / collect       = %.2f  (target >= 2:   %s)" % (r2, "pass" if r2 >= 2 else "FAIL"))
EOF

echo "entra-collect --version:"
hyperfine -N --warmup 20 --runs 300 --style basic "$exe --version" 2>/dev/null \
  || hyperfine --warmup 20 --runs 300 --style basic "$exe --version"
