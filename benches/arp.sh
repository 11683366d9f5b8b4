#!/usr/bin/env bash
# benches/arp.sh - benchmark `nettool arp` subnet sweeps against `arp-scan`.
#
# What it measures
#   In a private lab of N hosts (default 32) on one bridge, a sweep of
#   198.51.100.0/24 from a client host by four commands:
#       nettool default      nettool arp -I IF 198.51.100.0/24
#       nettool fastest      nettool arp -I IF --rate 20000 --retries 1 --timeout 0.05 198.51.100.0/24
#       arp-scan default     arp-scan -I IF 198.51.100.0/24
#       arp-scan aggressive  arp-scan -I IF --retry=1 --interval=100u --timeout=50 198.51.100.0/24
#   * wall time: all four in ONE hyperfine invocation (-N, --warmup 1,
#     --runs RUNS, default 10), output discarded; median, mean and stddev.
#   * completeness: each command run COMP_RUNS times (default 5) on its own;
#     every run's answer (nettool --json, arp-scan's "IP<TAB>MAC" lines) is
#     compared with the lab's real (IP, MAC) pairs read with `ip link`:
#     min/max hosts found, and whether every run found every host with the
#     right MAC and nothing else.
#   * with --extra, two informational rows as well (not part of the targets):
#       nettool no retry     nettool arp -I IF --rate 20000 --retries 0 --timeout 0.05 198.51.100.0/24
#       arp-scan aggr. bare  arp-scan aggressive with --ouifile=/dev/null --macfile=/dev/null
#     i.e. nettool asking each address once, as arp-scan --retry=1 does, and
#     arp-scan without the ~35k-line vendor database it parses at start-up.
#   * the issue's targets:
#       arp-scan default median / nettool default median     >= 2  (and complete)
#       arp-scan aggressive median / nettool fastest median  >= 1  (and complete)
#   Results go to benches/RESULTS-arp.md and stdout; raw hyperfine JSON and
#   every completeness output are kept in benches/out/arp-<timestamp>/
#   (git-ignored).
#
# The lab (see shared LAB.md; its safety rule is followed strictly)
#   Namespaces nt-<pid>-hub (bridge nt-<pid>-br), nt-<pid>-cli (client,
#   198.51.100.1/24 on nt-<pid>-c) and nt-<pid>-h<i> for i=1..N (host i,
#   198.51.100.(10+i)/24 on nt-<pid>-h<i>), each host and the client joined
#   to the bridge by a veth pair (hub end nt-<pid>-p<i> / nt-<pid>-pc).
#   Links use addrgenmode none, so no IPv6 link-local/DAD/MLD chatter.
#   Devices are created directly inside their namespaces (ip link add ...
#   netns NS): nothing is created in, or sent from, the root namespace, and
#   eth0 is never touched. Every benchmarked command runs inside the client
#   namespace (ip netns exec), with literal addresses only (no DNS: neither
#   tool resolves names unless asked). An EXIT trap deletes every namespace
#   this run created (with their links), on success, error or Ctrl-C.
#
# Usage (from anywhere; it cd's to the repo root). Needs root (CAP_NET_ADMIN
# and CAP_NET_RAW), hyperfine, arp-scan, iproute2 and python3:
#   bash benches/arp.sh [--hosts 32] [--runs 10] [--comp-runs 5]
#        [--fast-args "--rate 20000 --retries 1 --timeout 0.05"] [--extra]
#        [--bin target/release/nettool] [--results benches/RESULTS-arp.md]
#   target/release/nettool is (re)built with `cargo build --release` when it
#   is missing or older than src/, Cargo.toml or Cargo.lock.
#   A default run takes about 50 s on 2 cores (plus any build; the lab itself
#   is up in well under a second); it refuses settings whose estimated run
#   time exceeds 3 minutes.

set -euo pipefail

usage() {
    cat <<'USAGE'
Usage: bash benches/arp.sh [options]
  --hosts N         lab hosts answering ARP (default 32; 1..244)
  --runs N          hyperfine runs per command, after 1 warmup (default 10)
  --comp-runs N     separate completeness runs per command (default 5)
  --fast-args ARGS  nettool's fastest setting (default "--rate 20000 --retries 1 --timeout 0.05")
  --extra           also time two informational variants: nettool with --retries 0,
                    arp-scan aggressive without its vendor files
  --bin PATH        nettool binary (default target/release/nettool, rebuilt if stale)
  --results PATH    report file to (over)write (default benches/RESULTS-arp.md)
USAGE
}

die() {
    echo "arp.sh: error: $*" >&2
    exit 1
}

log() {
    echo "==> $*" >&2
}

# ---------------------------------------------------------------- arguments
HOSTS=32
RUNS=10
WARMUP=1
COMP_RUNS=5
FAST_ARGS="--rate 20000 --retries 1 --timeout 0.05"
BIN=""
RESULTS=""
EXTRA=0

while [[ $# -gt 0 ]]; do
    case "$1" in
        --hosts) HOSTS="${2:?--hosts needs a value}"; shift 2 ;;
        --hosts=*) HOSTS="${1#*=}"; shift ;;
        --runs) RUNS="${2:?--runs needs a value}"; shift 2 ;;
        --runs=*) RUNS="${1#*=}"; shift ;;
        --comp-runs) COMP_RUNS="${2:?--comp-runs needs a value}"; shift 2 ;;
        --comp-runs=*) COMP_RUNS="${1#*=}"; shift ;;
        --fast-args) FAST_ARGS="${2:?--fast-args needs a value}"; shift 2 ;;
        --fast-args=*) FAST_ARGS="${1#*=}"; shift ;;
        --extra) EXTRA=1; shift ;;
        --bin) BIN="${2:?--bin needs a value}"; shift 2 ;;
        --bin=*) BIN="${1#*=}"; shift ;;
        --results) RESULTS="${2:?--results needs a value}"; shift 2 ;;
        --results=*) RESULTS="${1#*=}"; shift ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument: $1" ;;
    esac
done

need_uint() {
    if ! [[ "$2" =~ ^[0-9]+$ ]] || (($2 < $3 || $2 > $4)); then
        die "$1 must be an integer from $3 to $4 (got '$2')"
    fi
}
need_uint --hosts "$HOSTS" 1 244
need_uint --runs "$RUNS" 2 100
need_uint --comp-runs "$COMP_RUNS" 1 100
# The fast setting is passed word by word to nettool; keep it to plain flags.
[[ "$FAST_ARGS" =~ ^[-a-z0-9.\ ]+$ ]] || die "--fast-args may hold only flags and numbers (got '$FAST_ARGS')"

if [[ -n "$BIN" && "$BIN" != /* ]]; then BIN="$PWD/$BIN"; fi
if [[ -n "$RESULTS" && "$RESULTS" != /* ]]; then RESULTS="$PWD/$RESULTS"; fi
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
RESULTS="${RESULTS:-$ROOT/benches/RESULTS-arp.md}"
REPORT="$ROOT/benches/arp_report.py"

# ------------------------------------------------------------ prerequisites
((EUID == 0)) || die "needs root (CAP_NET_ADMIN to build the lab, CAP_NET_RAW to send ARP); run under sudo"
for tool in hyperfine arp-scan ip python3; do
    command -v "$tool" >/dev/null || die "'$tool' not found (apt-get install -y hyperfine arp-scan iproute2 python3)"
done
[[ -f "$REPORT" ]] || die "missing $REPORT"
ARPSCAN="$(command -v arp-scan)"

if [[ -z "$BIN" ]]; then
    BIN="$ROOT/target/release/nettool"
    if [[ ! -x "$BIN" ]] || [[ -n "$(find src Cargo.toml Cargo.lock -newer "$BIN" -print -quit)" ]]; then
        log "building $BIN (cargo build --release; waits if another build holds the lock)"
        cargo build --release ||
            die "cargo build --release failed; fix the build, or benchmark an existing binary with --bin PATH"
    fi
fi
[[ -x "$BIN" ]] || die "binary '$BIN' not found or not executable"
"$BIN" arp --help >/dev/null || die "'$BIN arp --help' failed; does the binary have an arp command?"

# Rough bound on the run time: nettool's and arp-scan's own schedules for a
# /24 (253 targets), times (warmup + runs + completeness runs), plus ~10 s of
# lab and report. arp-scan defaults: 2 attempts, 500 ms timeout x1.5 backoff,
# one request per 2 ms (256 kbit/s of 64-byte frames).
est=$(python3 - "$RUNS" "$WARMUP" "$COMP_RUNS" "$FAST_ARGS" "$EXTRA" <<'PY'
import sys
runs, warm, comp, fast = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4].split()
extra = sys.argv[5] == "1"
def nettool(rate=2000, retries=1, timeout=0.25):
    return (retries + 1) * (253 / rate + timeout) + 0.01
conv = {"rate": int, "retries": int, "timeout": float}
o = {}
for k, v in zip(fast[::2], fast[1::2]):
    k = k.lstrip("-")
    if k in conv:
        o[k] = conv[k](v)
# arp-scan: + ~0.15 s start-up (vendor database) per run
one = nettool() + nettool(**o) + (2 * 253 * 0.002 + 0.75 + 0.15) + (253 * 0.0001 + 0.05 + 0.15)
if extra:
    one += nettool(20000, 0, 0.05) + (253 * 0.0001 + 0.05 + 0.05)
print(int(one * (runs + warm + comp) + 10))
PY
)
((est <= 180)) || die "estimated run time ${est}s exceeds 3 minutes; lower --runs/--comp-runs or change --fast-args"

TS="$(date -u +%Y%m%d-%H%M%S)"
OUT="$ROOT/benches/out/arp-$TS"
mkdir -p "$OUT/comp"

# ------------------------------------------------------------------- the lab
P=$$
HUB="nt-$P-hub"
CLI="nt-$P-cli"
BR="nt-$P-br"
CIF="nt-$P-c"      # client's interface (in CLI)
CPORT="nt-$P-pc"   # its bridge port (in HUB)
NET="198.51.100.0/24"
host_ns() { echo "nt-$P-h$1"; }
host_if() { echo "nt-$P-h$1"; }   # same name, inside its own namespace
host_port() { echo "nt-$P-p$1"; }
longest="$(host_port "$HOSTS")"
((${#BR} <= 15 && ${#CPORT} <= 15 && ${#longest} <= 15)) ||
    die "interface names would exceed 15 characters (pid $P)"

ALL_NS=("$HUB" "$CLI")
for ((i = 1; i <= HOSTS; i++)); do ALL_NS+=("$(host_ns "$i")"); done

LAB_MADE=0
# Benchmarked commands run as background jobs that the script waits for
# (in_lab): a trapped signal interrupts `wait` at once, whereas bash defers a
# trap until a foreground child exits, and ignores it altogether when that
# child (hyperfine) handles the Ctrl-C itself.
CHILD=""
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [[ -n "$CHILD" ]] && kill -0 "$CHILD" 2>/dev/null; then
        # Our running hyperfine/nettool/arp-scan: its own children first
        # (the command hyperfine is timing), then itself, each by PID.
        local kids
        kids=$(ps -o pid= --ppid "$CHILD" 2>/dev/null || true)
        for k in $kids; do kill -TERM "$k" 2>/dev/null || true; done
        kill -TERM "$CHILD" 2>/dev/null || true
        wait "$CHILD" 2>/dev/null || true
        echo "==> interrupted: stopped the running benchmark (pid $CHILD)" >&2
    fi
    if ((LAB_MADE)); then
        local ns batch=""
        for ns in "${ALL_NS[@]}"; do
            # Only namespaces of this run (unique nt-<pid>- names, checked
            # absent before creation) are deleted; their links go with them.
            [[ -e "/run/netns/$ns" ]] && batch+="netns del $ns"$'\n'
        done
        if [[ -n "$batch" ]]; then
            ip -force -batch - <<<"$batch" >/dev/null 2>&1 || true
        fi
        local left=0
        for ns in "${ALL_NS[@]}"; do [[ -e "/run/netns/$ns" ]] && left=$((left + 1)); done
        if ((left)); then
            echo "arp.sh: warning: $left lab namespace(s) nt-$P-* could not be removed" >&2
        else
            echo "==> lab torn down (${#ALL_NS[@]} namespaces)" >&2
        fi
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

for ns in "${ALL_NS[@]}"; do
    [[ ! -e "/run/netns/$ns" ]] || die "namespace $ns already exists; not touching it"
done

log "building the lab: $HOSTS hosts + client on a bridge (namespaces nt-$P-*)"
t0=$(date +%s.%N)
LAB_MADE=1
{
    for ns in "${ALL_NS[@]}"; do echo "netns add $ns"; done
} | ip -batch -
{
    # Created straight inside their namespaces: nothing in the root one.
    echo "link add $BR netns $HUB type bridge"
    echo "link add $CIF netns $CLI type veth peer name $CPORT netns $HUB"
    for ((i = 1; i <= HOSTS; i++)); do
        echo "link add $(host_if "$i") netns $(host_ns "$i") type veth peer name $(host_port "$i") netns $HUB"
    done
} | ip -batch -
{
    echo "link set dev lo up"
    echo "link set dev $BR addrgenmode none"
    echo "link set dev $BR up"
    for port in "$CPORT" $(for ((i = 1; i <= HOSTS; i++)); do host_port "$i"; done); do
        echo "link set dev $port addrgenmode none"
        echo "link set dev $port master $BR"
        echo "link set dev $port up"
    done
} | ip -n "$HUB" -batch -
# set_host NS IF ADDR: address and links up inside one namespace.
set_host() {
    printf '%s\n' \
        "link set dev lo up" \
        "link set dev $2 addrgenmode none" \
        "addr add $3/24 dev $2" \
        "link set dev $2 up" | ip -n "$1" -batch -
}
set_host "$CLI" "$CIF" 198.51.100.1
for ((i = 1; i <= HOSTS; i++)); do
    set_host "$(host_ns "$i")" "$(host_if "$i")" "198.51.100.$((10 + i))"
done

# The truth: every host's address and real MAC, from the kernel (no python
# here: its start-up, through a pyenv shim, costs ~0.5 s a call).
EXPECTED="$OUT/expected.tsv"
: >"$EXPECTED"
for ((i = 1; i <= HOSTS; i++)); do
    # (stderr: `ip link show` may print "Peer netns reference is invalid"
    # while it names the veth peer's namespace; harmless, and racy with other
    # namespaces coming and going on the machine.)
    line=$(ip -n "$(host_ns "$i")" -o link show dev "$(host_if "$i")" 2>/dev/null)
    [[ "$line" =~ link/ether\ ([0-9a-f:]{17}) ]] || die "no MAC for host $i: $line"
    printf '198.51.100.%d\t%s\n' "$((10 + i))" "${BASH_REMATCH[1]}" >>"$EXPECTED"
done
# The client's link must be up (operstate UP once its bridge port forwards).
up=0
for _ in $(seq 50); do
    if [[ "$(ip -n "$CLI" -o link show dev "$CIF" 2>/dev/null)" == *" state UP "* ]]; then up=1; break; fi
    sleep 0.1
done
((up)) || die "client link $CIF did not come up: $(ip -n "$CLI" -o link show dev "$CIF")"
t1=$(date +%s.%N)
log "lab up in $(awk "BEGIN{printf \"%.2f\", $t1 - $t0}") s"

# ---------------------------------------------------------------- commands
# Every command runs inside the client namespace only.
NAMES=("nettool default" "nettool fastest" "arp-scan default" "arp-scan aggressive")
KEYS=(nettool-default nettool-fastest arpscan-default arpscan-aggressive)
CMDS=(
    "$BIN arp -I $CIF $NET"
    "$BIN arp -I $CIF $FAST_ARGS $NET"
    "$ARPSCAN -I $CIF $NET"
    "$ARPSCAN -I $CIF --retry=1 --interval=100u --timeout=50 $NET"
)
if ((EXTRA)); then
    NAMES+=("nettool no retry (info)" "arp-scan aggressive, no vendor files (info)")
    KEYS+=(nettool-noretry arpscan-aggressive-bare)
    CMDS+=(
        "$BIN arp -I $CIF --rate 20000 --retries 0 --timeout 0.05 $NET"
        "$ARPSCAN -I $CIF --retry=1 --interval=100u --timeout=50 --ouifile=/dev/null --macfile=/dev/null $NET"
    )
fi

# in_lab CMD...: run CMD inside the client namespace as a background job
# and wait for it (see CHILD above); returns CMD's exit status.
in_lab() {
    ip netns exec "$CLI" "$@" &
    CHILD=$!
    local rc=0
    wait "$CHILD" || rc=$?
    CHILD=""
    return "$rc"
}

# ----------------------------------------------------------- completeness
LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"
log "completeness: each of ${#KEYS[@]} commands $COMP_RUNS times on its own"
for k in "${!KEYS[@]}"; do
    for ((r = 1; r <= COMP_RUNS; r++)); do
        f="$OUT/comp/${KEYS[$k]}.$r"
        cmd="${CMDS[$k]}"
        [[ "${KEYS[$k]}" == nettool-* ]] && cmd="${cmd/ arp / arp --json }"
        rc=0
        # word splitting of $cmd is intended: paths and flags hold no spaces
        # shellcheck disable=SC2086
        in_lab $cmd >"$f.out" 2>"$f.err" || rc=$?
        echo "$rc" >"$f.rc"
    done
done

# --------------------------------------------------------------- wall time
log "timing: hyperfine --warmup $WARMUP --runs $RUNS, ${#KEYS[@]} commands in one invocation"
HF_ARGS=(-N --warmup "$WARMUP" --runs "$RUNS" --ignore-failure --style basic
    --export-json "$OUT/hyperfine.json")
for k in "${!KEYS[@]}"; do HF_ARGS+=(-n "${NAMES[$k]}" "${CMDS[$k]}"); done
in_lab hyperfine "${HF_ARGS[@]}" >&2

# ------------------------------------------------------------------ report
META="$OUT/meta.json"
{
    echo "date=$(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    echo "nproc=$(nproc)"
    echo "cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//' || true)"
    echo "kernel=$(uname -r)"
    echo "arpscan_version=$("$ARPSCAN" --version 2>&1 | head -1)"
    echo "hyperfine_version=$(hyperfine --version)"
    echo "nettool_version=$("$BIN" --version)"
    echo "load_before=$LOAD_BEFORE"
    echo "load_after=$(cut -d' ' -f1-3 /proc/loadavg)"
    echo "hosts=$HOSTS"
    echo "runs=$RUNS"
    echo "warmup=$WARMUP"
    echo "comp_runs=$COMP_RUNS"
    echo "fast_args=$FAST_ARGS"
    for k in "${!KEYS[@]}"; do
        echo "names=${NAMES[$k]}"
        echo "keys=${KEYS[$k]}"
        echo "commands=${CMDS[$k]}"
    done
    echo "client_if=$CIF"
    echo "bin=$BIN"
    echo "root=$ROOT"
    echo "out=$OUT"
} >"$OUT/meta.txt"
python3 - "$OUT/meta.txt" "$META" <<'PY'
import json, sys
meta = {}
for line in open(sys.argv[1]):
    k, _, v = line.rstrip("\n").partition("=")
    if k in ("names", "keys", "commands"):
        meta.setdefault(k, []).append(v)
    else:
        meta[k] = int(v) if k in ("hosts", "runs", "warmup", "comp_runs") else v
json.dump(meta, open(sys.argv[2], "w"), indent=1)
PY
python3 "$REPORT" --meta "$META" --hyperfine "$OUT/hyperfine.json" \
    --expected "$EXPECTED" --comp-dir "$OUT/comp" --results "$RESULTS"
log "report written to $RESULTS (raw data in $OUT)"
