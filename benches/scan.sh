#!/usr/bin/env bash
# benches/scan.sh - benchmark `nettool probe` scans (many ports of one host)
# against `nmap -sT` and `nc -z` in a loop.
#
# What it measures
#   Two network namespaces this script creates, A (198.51.100.1) and B
#   (198.51.100.2), joined by a veth pair.  In B a helper (python3) listens
#   on every OPEN_EVERY-th port of 20000..20000+SIZE-1; the other ports are
#   closed (the kernel answers RST), and with --filtered-every K every K-th
#   port is dropped by nft instead (silence).  From A, for each SIZE
#   (default 1000 and 10000 ports):
#     * nettool: `nettool probe --json -W 1 198.51.100.2:LO-HI` (defaults:
#       --parallel 256, no rate limit), RUNS times;
#     * nmap: `nmap -n -sT -Pn -T4 -p LO-HI -oX FILE 198.51.100.2`, RUNS
#       times (-n: no DNS);
#     * nc: `nc -z -w 1 198.51.100.2 PORT` for every port in a shell loop,
#       once (the loop of one process per port is what users write).
#   Each tool's wall time (median over its runs, `ip netns exec` included
#   for all), probes per second, and its set of open ports, which must be
#   the same for all three and equal the ports the helper listens on.
#
# Safety
#   Traffic goes only between the namespaces nt-<pid>-a and nt-<pid>-b
#   (veth nt-<pid>-x / nt-<pid>-y, which exist only inside them).  No name
#   is resolved.  The listener helper is killed by PID and the namespaces
#   are deleted by the EXIT trap.
#
# Usage (needs root for the namespaces; it cd's to the repo root):
#   bash benches/scan.sh [--sizes "1000 10000"] [--runs 3] [--open-every 10]
#        [--filtered-every 0] [--bin PATH] [--results benches/RESULTS-scan.md]
#        [--max-seconds 900]
#   Without --bin it runs `cargo build --release` and benchmarks a private
#   copy of target/release/nettool.  Raw outputs stay in
#   benches/out/scan-<timestamp>/ (git-ignored).  A quick check of the
#   script itself: --sizes 50 --runs 1 --bin target/debug/nettool.

set -euo pipefail

usage() { sed -n '2,/^$/{s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; }
die() { echo "scan.sh: error: $*" >&2; exit 1; }
log() { echo "==> [$(date +%T)] $*" >&2; }

SIZES="1000 10000"
RUNS=3
OPEN_EVERY=10
FILTERED_EVERY=0
BIN=""
RESULTS=""
MAX_SECONDS=900
BASE=20000
ORIG_ARGS=("$@")
ARGS_STR="$*"

while [[ $# -gt 0 ]]; do
    case "$1" in
        --sizes) SIZES="${2:?}"; shift 2 ;;
        --runs) RUNS="${2:?}"; shift 2 ;;
        --open-every) OPEN_EVERY="${2:?}"; shift 2 ;;
        --filtered-every) FILTERED_EVERY="${2:?}"; shift 2 ;;
        --bin) BIN="${2:?}"; shift 2 ;;
        --results) RESULTS="${2:?}"; shift 2 ;;
        --max-seconds) MAX_SECONDS="${2:?}"; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) die "unknown argument: $1 (see --help)" ;;
    esac
done
for v in RUNS OPEN_EVERY MAX_SECONDS; do
    [[ "${!v}" =~ ^[0-9]+$ && "${!v}" -ge 1 ]] || die "$v must be a positive integer"
done
[[ "$FILTERED_EVERY" =~ ^[0-9]+$ ]] || die "--filtered-every must be 0 or a positive integer"
for s in $SIZES; do
    [[ "$s" =~ ^[0-9]+$ && "$s" -ge 1 && "$s" -le 40000 ]] || die "sizes are 1 to 40000 ports"
done

# Bounded run time: the script re-runs itself under timeout(1); on SIGTERM
# the EXIT trap still kills the helper and removes the namespaces.
if [[ -z "${NT_SCAN_BENCH_TIMED:-}" ]]; then
    export NT_SCAN_BENCH_TIMED=1
    exec timeout -k 30 "$MAX_SECONDS" bash "${BASH_SOURCE[0]}" "${ORIG_ARGS[@]}"
fi

if [[ -n "$BIN" && "$BIN" != /* ]]; then BIN="$PWD/$BIN"; fi
if [[ -n "$RESULTS" && "$RESULTS" != /* ]]; then RESULTS="$PWD/$RESULTS"; fi
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
RESULTS="${RESULTS:-benches/RESULTS-scan.md}"

for tool in python3 nmap nc nft ip timeout; do
    command -v "$tool" >/dev/null || die "'$tool' not found (apt-get install -y nmap netcat-openbsd nftables iproute2 python3)"
done
nc -h 2>&1 | grep -qi openbsd || die "nc is not netcat-openbsd (apt-get install -y netcat-openbsd)"
((EUID == 0)) || die "needs root (network namespaces)"

START_EPOCH=$(date +%s)
OUT="benches/out/scan-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$OUT"
WORK="$(mktemp -d /tmp/nettool-scan-bench.XXXXXX)"
NSA="nt-$$-a"
NSB="nt-$$-b"
NS_MADE=0
HELPER_PID=""

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [[ -n "$HELPER_PID" ]]; then
        kill -TERM "$HELPER_PID" 2>/dev/null || true
        wait "$HELPER_PID" 2>/dev/null || true
    fi
    if ((NS_MADE)); then
        ip netns del "$NSA" 2>/dev/null || true
        ip netns del "$NSB" 2>/dev/null || true
    fi
    rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ------------------------------------------------------------------ binary
if [[ -z "$BIN" ]]; then
    log "cargo build --release (waits if another build holds the lock)"
    cargo build --release 2>&1 | tail -n 2 >&2
    BIN_SRC="target/release/nettool"
else
    BIN_SRC="$BIN"
fi
[[ -x "$BIN_SRC" ]] || die "nettool binary '$BIN_SRC' not found"
cp "$BIN_SRC" "$WORK/nettool"
N="$WORK/nettool"

# ------------------------------------------------------------------ lab
log "namespaces $NSA (198.51.100.1) and $NSB (198.51.100.2)"
NS_MADE=1
ip netns add "$NSA"
ip netns add "$NSB"
ip link add "nt-$$-x" netns "$NSA" type veth peer name "nt-$$-y" netns "$NSB"
ip -n "$NSA" addr add 198.51.100.1/24 dev "nt-$$-x"
ip -n "$NSB" addr add 198.51.100.2/24 dev "nt-$$-y"
for ns in "$NSA" "$NSB"; do ip -n "$ns" link set lo up; done
ip -n "$NSA" link set "nt-$$-x" up
ip -n "$NSB" link set "nt-$$-y" up
for i in $(seq 100); do
    [[ "$(ip -n "$NSA" -o link show "nt-$$-x")" == *"state UP"* ]] && break
    sleep 0.05
done

MAX_SIZE=0
for s in $SIZES; do ((s > MAX_SIZE)) && MAX_SIZE=$s; done
HI_ALL=$((BASE + MAX_SIZE - 1))

# The listener helper: every OPEN_EVERY-th port (of the biggest size) in B,
# a ready file when bound, then sleep until killed.
cat >"$WORK/listen.py" <<'PY'
import resource, socket, sys, time
base, hi, every, ready = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
held = []
for p in range(base, hi + 1, every):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("198.51.100.2", p))
    s.listen(64)
    held.append(s)
open(ready, "w").write(f"{len(held)}\n")
while True:
    time.sleep(3600)
PY
ip netns exec "$NSB" python3 "$WORK/listen.py" "$BASE" "$HI_ALL" "$OPEN_EVERY" "$WORK/ready" &
HELPER_PID=$!
for i in $(seq 200); do [[ -s "$WORK/ready" ]] && break; sleep 0.05; done
[[ -s "$WORK/ready" ]] || die "the listener helper did not start"
log "B listens on $(cat "$WORK/ready") ports (every $OPEN_EVERY-th from $BASE)"
if ((FILTERED_EVERY > 0)); then
    # Dropped: every FILTERED_EVERY-th port that has no listener.
    python3 - "$BASE" "$HI_ALL" "$OPEN_EVERY" "$FILTERED_EVERY" >"$WORK/rules.nft" <<'PY'
import sys
base, hi, o, f = map(int, sys.argv[1:])
ports = [p for p in range(base, hi + 1) if (p - base) % f == f - 1 and (p - base) % o != 0]
print("table inet bench {\n chain input {\n  type filter hook input priority 0;")
if ports:
    print("  tcp dport { " + ", ".join(map(str, ports)) + " } drop")
print(" }\n}")
PY
    ip netns exec "$NSB" nft -f "$WORK/rules.nft"
fi
# Warm the neighbour cache so that no tool's first probe carries ARP.
ip netns exec "$NSA" "$N" probe -c 1 -W 2 "198.51.100.2:$BASE" >/dev/null 2>&1 || true

LOAD_START="$(cut -d' ' -f1-3 /proc/loadavg)"
now() { date +%s.%N; }

# ------------------------------------------------------------------ runs
for SIZE in $SIZES; do
    HI=$((BASE + SIZE - 1))
    python3 -c "import sys; b,h,e=map(int,sys.argv[1:]); print('\n'.join(str(p) for p in range(b,h+1,e)))" \
        "$BASE" "$HI" "$OPEN_EVERY" >"$OUT/$SIZE-want.txt"
    for r in $(seq "$RUNS"); do
        log "$SIZE ports, run $r: nettool probe --json -W 1 198.51.100.2:$BASE-$HI"
        t0=$(now)
        ip netns exec "$NSA" "$N" probe --json -W 1 "198.51.100.2:$BASE-$HI" \
            >"$OUT/$SIZE-nettool-$r.jsonl" 2>"$OUT/$SIZE-nettool-$r.err" || true
        t1=$(now)
        echo "$t0 $t1" >"$OUT/$SIZE-nettool-$r.time"
        log "$SIZE ports, run $r: nmap -n -sT -Pn -T4 -p $BASE-$HI"
        t0=$(now)
        ip netns exec "$NSA" nmap -n -sT -Pn -T4 -p "$BASE-$HI" -oX "$OUT/$SIZE-nmap-$r.xml" \
            198.51.100.2 >/dev/null 2>"$OUT/$SIZE-nmap-$r.err" || true
        t1=$(now)
        echo "$t0 $t1" >"$OUT/$SIZE-nmap-$r.time"
    done
    log "$SIZE ports: nc -z -w 1 in a loop, one process per port"
    t0=$(now)
    ip netns exec "$NSA" bash -c \
        'for ((p = $1; p <= $2; p++)); do nc -z -w 1 198.51.100.2 "$p" 2>/dev/null && echo "$p"; done' \
        _ "$BASE" "$HI" >"$OUT/$SIZE-nc.txt" || true
    t1=$(now)
    echo "$t0 $t1" >"$OUT/$SIZE-nc.time"
done

# ------------------------------------------------------------------ report
export META_DATE="$(date -u '+%Y-%m-%d %H:%M:%S UTC')" META_ELAPSED="$(($(date +%s) - START_EPOCH))" \
    META_NPROC="$(nproc)" META_KERNEL="$(uname -r)" \
    META_LOAD_START="$LOAD_START" META_LOAD_END="$(cut -d' ' -f1-3 /proc/loadavg)" \
    META_NETTOOL="$("$N" --version), sha256 $(sha256sum "$N" | cut -c1-12)" META_BIN="$BIN_SRC" \
    META_GIT="$(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD -- src Cargo.toml 2>/dev/null || echo ' + uncommitted changes in src/')" \
    META_NMAP="$(nmap --version | head -n1)" \
    META_NC="netcat-openbsd $(dpkg-query -W -f='${Version}' netcat-openbsd 2>/dev/null || echo '?')" \
    META_SIZES="$SIZES" META_RUNS="$RUNS" META_OPEN="$OPEN_EVERY" META_FILT="$FILTERED_EVERY" \
    META_ARGS="$ARGS_STR" META_OUT="$OUT"
python3 - "$OUT" "$RESULTS" <<'PY'
import json, os, re, statistics, sys
out, results = sys.argv[1], sys.argv[2]
e = os.environ
sizes = [int(s) for s in e["META_SIZES"].split()]
runs = int(e["META_RUNS"])

def wall(path):
    t0, t1 = map(float, open(path).read().split())
    return t1 - t0

def nettool_open(path):
    opened, n = set(), 0
    for line in open(path):
        rec = json.loads(line)
        if rec.get("type") == "attempt":
            n += 1
            if rec["outcome"]["result"] == "open":
                opened.add(rec["port"])
    return opened, n

def nmap_open(path):
    xml = open(path).read()
    return {int(m.group(1)) for m in re.finditer(
        r'<port protocol="tcp" portid="(\d+)"><state state="open"', xml)}

rows, verdicts = [], []
for size in sizes:
    want = {int(x) for x in open(f"{out}/{size}-want.txt").read().split()}
    tools = {}
    t, sets, counts = [], [], []
    for r in range(1, runs + 1):
        t.append(wall(f"{out}/{size}-nettool-{r}.time"))
        s, n = nettool_open(f"{out}/{size}-nettool-{r}.jsonl")
        sets.append(s); counts.append(n)
    tools["nettool probe --json -W 1 (256 in flight)"] = (t, sets, f"{min(counts)}-{max(counts)} records")
    t, sets = [], []
    for r in range(1, runs + 1):
        t.append(wall(f"{out}/{size}-nmap-{r}.time"))
        sets.append(nmap_open(f"{out}/{size}-nmap-{r}.xml"))
    tools["nmap -n -sT -Pn -T4"] = (t, sets, "")
    nc = {int(x) for x in open(f"{out}/{size}-nc.txt").read().split()}
    tools["nc -z -w 1, one process per port"] = ([wall(f"{out}/{size}-nc.time")], [nc], "1 run")
    base = None
    for name, (t, sets, note) in tools.items():
        med = statistics.median(t)
        same = all(s == want for s in sets)
        verdicts.append(same)
        rows.append(f"| {size} | {name} | {len(t)} | {med:.3f} | {min(t):.3f} | {size / med:,.0f} | "
                    f"{len(sets[0])} | {'yes' if same else 'NO'} | {note} |")
        if base is None:
            base = med
    rows.append(f"| {size} | ratio: nmap / nettool, nc / nettool (median wall) | | "
                f"{statistics.median(tools['nmap -n -sT -Pn -T4'][0]) / base:.1f}x, "
                f"{tools['nc -z -w 1, one process per port'][0][0] / base:.1f}x | | | | | |")

load = max(float(x) for x in (e["META_LOAD_START"] + " " + e["META_LOAD_END"]).split())
nproc = int(e["META_NPROC"])
lines = [
    "# `nettool probe` scans vs nmap -sT and nc -z",
    "",
    "Generated by `bash benches/scan.sh`; do not edit by hand.",
    "",
    f"- Date: {e['META_DATE']}, run took {e['META_ELAPSED']} s",
    f"- Machine: nproc {nproc}, kernel {e['META_KERNEL']}; load average at start {e['META_LOAD_START']}, at end {e['META_LOAD_END']}",
    f"- nettool: {e['META_NETTOOL']} (`{e['META_BIN']}`, git {e['META_GIT']})",
    f"- Tools: {e['META_NMAP']}; {e['META_NC']}",
    "- Command: `" + ("bash benches/scan.sh " + e["META_ARGS"]).strip() + "`",
    f"- Ports 20000 and up of 198.51.100.2 (namespace B, over a veth pair from A): a listener on every "
    f"{e['META_OPEN']}-th, the rest closed (RST)"
    + (f", every {e['META_FILT']}-th without a listener dropped by nft (silence)" if e["META_FILT"] != "0" else "")
    + ". Wall time includes `ip netns exec` for every tool; median and best of the runs.",
    "- Same answers: each run's set of open ports equals the ports B listens on.",
    "",
]
if load >= 0.5 * nproc:
    lines += [f"Note: load averages {e['META_LOAD_START']} / {e['META_LOAD_END']} on {nproc} CPUs: "
              "the machine was busy, absolute numbers are noisy.", ""]
lines += [
    "| ports | tool | runs | median s | best s | ports/s (median) | open | same answers | note |",
    "|---:|---|---:|---:|---:|---:|---:|---|---|",
    *rows,
    "",
    f"Raw outputs: `{e['META_OUT']}/`.",
    "",
]
open(results, "w").write("\n".join(lines))
print("\n".join(lines))
sys.exit(0 if all(verdicts) else 1)
PY
