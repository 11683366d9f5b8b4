#!/usr/bin/env bash
# benches/diagnose.sh - how long `nettool sockstat --diagnose` takes.
#
# What it measures
#   For each size N (default 1000, 10000 and 40000 sockets = N/2 loopback TCP
#   connections, both ends, held by benches/sockholder.py), it runs
#     nettool sockstat --diagnose --interval INTERVAL
#   RUNS times and takes the median wall time, less the interval: what the
#   two readings (every TCP and UDP socket with its tcp_info and memory, the
#   counters), the sysctls, the owner scan and the judging cost. The issue's
#   target: interactive, under 1 s plus the interval, at 40k sockets. Next
#   to it the reference tool on the same sockets: `ss -tanmi` (ss -tani plus
#   memory: one dump with the same internals; --diagnose takes two), its
#   median wall time with its output thrown away. It also records how many
#   findings nettool made (the held connections are idle and healthy: 0 is
#   expected, exit status 0). Results: a table on stdout and in
#   benches/RESULTS-diagnose.md.
#
# Where
#   Everything runs inside one network namespace the script makes
#   (nt-<pid>-diag, loopback only) and deletes on exit.
#
# Usage (needs root for the namespace):
#   bash benches/diagnose.sh [--sizes 1000,10000,40000] [--interval 1]
#        [--runs 5] [--per-holder 5000] [--bin target/release/nettool]
#        [--results benches/RESULTS-diagnose.md]
#   A quick check that it works: --sizes 100 --runs 1 --interval 0.1 --results /tmp/d.md

set -euo pipefail

die() {
    echo "diagnose.sh: error: $*" >&2
    exit 1
}
log() {
    echo "==> [$(date +%T)] $*" >&2
}

SIZES="1000,10000,40000"
INTERVAL=1
RUNS=5
PER_HOLDER=5000
BIN=""
RESULTS=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --sizes) SIZES="${2:?}"; shift 2 ;;
        --interval) INTERVAL="${2:?}"; shift 2 ;;
        --runs) RUNS="${2:?}"; shift 2 ;;
        --per-holder) PER_HOLDER="${2:?}"; shift 2 ;;
        --bin) BIN="${2:?}"; shift 2 ;;
        --results) RESULTS="${2:?}"; shift 2 ;;
        -h|--help) sed -n '2,28p' "$0"; exit 0 ;;
        *) die "unknown argument: $1" ;;
    esac
done
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || die "--runs $RUNS: give a whole number, 1 or more"

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
BIN="${BIN:-$ROOT/target/release/nettool}"
RESULTS="${RESULTS:-benches/RESULTS-diagnose.md}"
HOLDER="$ROOT/benches/sockholder.py"
for tool in ss ip python3; do
    command -v "$tool" >/dev/null || die "'$tool' not found (apt-get install -y iproute2 python3)"
done
if [[ "$BIN" == "$ROOT/target/release/nettool" && ! -x "$BIN" ]]; then
    log "building $BIN (cargo build --release)"
    cargo build --release
fi
[[ -x "$BIN" ]] || die "binary '$BIN' not found or not executable"

NS="nt-$$-diag"
HOLDER_PIDS=()
HOLDER_RUN=(ip netns exec "$NS")
# shellcheck source=benches/holders.sh
source "$ROOT/benches/holders.sh"
ip netns add "$NS" || die "cannot make network namespace $NS (run as root)"
ip -n "$NS" link set lo up
in_ns() { ip netns exec "$NS" "$@"; }
OUT="$(mktemp -d)"
on_exit() {
    local rc=$?
    trap - EXIT INT TERM
    stop_holders
    ip netns del "$NS" 2>/dev/null || true
    rm -rf "$OUT"
    exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

now() { date +%s.%N; }

# The median of the numbers on stdin.
median() {
    sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

ROWS=()
IFS=, read -ra SIZE_LIST <<<"$SIZES"
for n in "${SIZE_LIST[@]}"; do
    conns=$(((n + 1) / 2))
    log "size $n: holding $conns connections in $NS"
    start_holders "$conns" "$OUT"
    sockets=$(in_ns ss -tanH | wc -l)
    : >"$OUT/nettool"
    : >"$OUT/ss"
    findings=""
    for ((r = 0; r < RUNS; r++)); do
        t0=$(now)
        rc=0
        in_ns "$BIN" sockstat --diagnose --json --interval "$INTERVAL" >"$OUT/diagnosis" || rc=$?
        t1=$(now)
        ((rc == 0 || rc == 1)) || die "nettool --diagnose failed (exit $rc)"
        awk -v a="$t0" -v b="$t1" -v i="$INTERVAL" 'BEGIN { print b - a - i }' >>"$OUT/nettool"
        findings=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["schema"]=="nettool.sockstat.diagnosis/1"; print(len(d["findings"]), d["sockets"])' "$OUT/diagnosis")
        t0=$(now)
        in_ns ss -tanmi >/dev/null || die "ss -tanmi failed"
        t1=$(now)
        awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }' >>"$OUT/ss"
    done
    read -r found looked <<<"$findings"
    nt=$(median <"$OUT/nettool")
    st=$(median <"$OUT/ss")
    ROWS+=("$(awk -v n="$n" -v s="$sockets" -v l="$looked" -v f="$found" -v nt="$nt" -v st="$st" \
        'BEGIN { printf "| %s | %s | %s | %s | %.0f | %.0f | %s |", n, s, l, f, nt * 1000, st * 1000, (nt < 1 ? "yes" : "NO") }')")
    stop_holders
    # SO_LINGER 0: the holders' sockets are reset, not left in TIME_WAIT.
    for ((i = 0; i < 100; i++)); do
        [[ $(in_ns ss -tanH | wc -l) -eq 0 ]] && break
        sleep 0.1
    done
done

{
    echo "# sockstat --diagnose: time at 1k, 10k and 40k sockets"
    echo
    echo "\`nettool sockstat --diagnose --interval $INTERVAL\` inside a namespace holding the sockets, $(nproc) CPUs, $(uname -r); median of $RUNS runs each."
    echo "nettool's time is its wall time less the interval (two readings, the owner scan, the judging); \`ss -tanmi\` (one dump with tcp_info and memory) is the reference on the same sockets, output thrown away."
    echo
    echo "| requested | TCP sockets (ss) | sockets looked at | findings | nettool ms (less the interval) | ss -tanmi ms | under 1 s |"
    echo "|---|---|---|---|---|---|---|"
    printf '%s\n' "${ROWS[@]}"
} | tee "$RESULTS"
