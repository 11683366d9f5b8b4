#!/usr/bin/env bash
# benches/sockstat.sh - benchmark `nettool sockstat` against `ss` and `netstat`.
#
# What it measures
#   For each socket-table size N (default 10000, 40000, 80000 sockets):
#     * wall time (hyperfine, output to /dev/null) of
#         nettool sockstat -tan  | ss -tan  | netstat -tan     (all TCP, numeric)
#         nettool sockstat -tanp | ss -tanp | netstat -tanp    (+ owning process)
#         nettool sockstat -tln  | ss -tln  | netstat -tln     (listeners only)
#       nettool and ss run in ONE hyperfine invocation per flag group
#       (--warmup 3 --runs RUNS, default 10).  netstat is much slower with -p
#       at large N, so it runs in a separate hyperfine invocation with fewer
#       runs (--warmup 1 --runs NETSTAT_RUNS, default 3).  All run with
#       hyperfine -N (no intermediate shell).
#     * peak memory: max RSS from `/usr/bin/time -f %M`, one run per tool/flag.
#   It prints median, stddev, run count, ratio (other median / nettool median;
#   > 1 means nettool is faster) and peak RSS per command, checks the targets
#   from the issue, and writes all of it to benches/RESULTS-sockstat.md (and stdout).
#
# How the sockets are made
#   N/2 loopback TCP connections (each one = client end + accepted end = 2
#   sockets), split across holder processes of at most --per-holder
#   connections each (benches/sockholder.py).  Holder i listens on
#   127.77.255.1:<ephemeral> and connects from its own source address
#   127.77.x.y, so no single address ever needs more than --per-holder
#   ephemeral ports (see /proc/sys/net/ipv4/ip_local_port_range).  Holders
#   raise RLIMIT_NOFILE themselves, write a ready file, and sleep until
#   killed.  Everything lives in 127.77.0.0/16 (loopback; no other address is
#   used and no name is resolved), so `ss -tanH src 127.77.0.0/16` counts
#   exactly our sockets.  The EXIT trap always kills the holders; their sockets
#   use SO_LINGER 0, so they vanish at once (no TIME_WAIT), and the script
#   waits until they are gone before the next size.
#
# Usage (from anywhere; it cd's to the repo root):
#   bash benches/sockstat.sh [--sizes 10000,40000,80000] [--runs 10]
#        [--netstat-runs 3] [--no-netstat] [--per-holder 5000]
#        [--bin target/release/nettool] [--results benches/RESULTS-sockstat.md]
#   The default binary is built with `cargo build --release` if missing.
#   Raw hyperfine JSON and RSS numbers are kept in benches/out/<timestamp>/
#   (git-ignored).  Needs root or a high enough hard RLIMIT_NOFILE for the
#   holders, plus hyperfine, ss, netstat, /usr/bin/time and python3.
#   A default run takes about 4 minutes on an idle 2-core box (most of it is
#   ss -tanp and netstat -tanp at 80k sockets, ~4-5 s per run each).

set -euo pipefail

usage() {
    cat <<'USAGE'
Usage: bash benches/sockstat.sh [options]
  --sizes LIST        socket counts to test, comma-separated (default 10000,40000,80000)
  --runs N            hyperfine runs for nettool and ss (default 10, after 3 warmups)
  --netstat-runs N    hyperfine runs for netstat (default 3, after 1 warmup)
  --no-netstat        skip netstat entirely
  --per-holder N      max connections per holder process (default 5000 = 10000 fds)
  --bin PATH          nettool binary (default target/release/nettool, built if missing)
  --results PATH      report file to (over)write (default benches/RESULTS-sockstat.md)
USAGE
}

die() {
    echo "sockstat.sh: error: $*" >&2
    exit 1
}

log() {
    echo "==> [$(date +%T)] $*" >&2
}

# ---------------------------------------------------------------- arguments
SIZES="10000,40000,80000"
RUNS=10
NETSTAT_RUNS=3
WARMUP=3
NETSTAT_WARMUP=1
PER_HOLDER=5000
BIN=""
RESULTS=""
WITH_NETSTAT=1

while [[ $# -gt 0 ]]; do
    case "$1" in
        --sizes) SIZES="${2:?--sizes needs a value}"; shift 2 ;;
        --sizes=*) SIZES="${1#*=}"; shift ;;
        --runs) RUNS="${2:?--runs needs a value}"; shift 2 ;;
        --runs=*) RUNS="${1#*=}"; shift ;;
        --netstat-runs) NETSTAT_RUNS="${2:?--netstat-runs needs a value}"; shift 2 ;;
        --netstat-runs=*) NETSTAT_RUNS="${1#*=}"; shift ;;
        --no-netstat) WITH_NETSTAT=0; shift ;;
        --per-holder) PER_HOLDER="${2:?--per-holder needs a value}"; shift 2 ;;
        --per-holder=*) PER_HOLDER="${1#*=}"; shift ;;
        --bin) BIN="${2:?--bin needs a value}"; shift 2 ;;
        --bin=*) BIN="${1#*=}"; shift ;;
        --results) RESULTS="${2:?--results needs a value}"; shift 2 ;;
        --results=*) RESULTS="${1#*=}"; shift ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument: $1" ;;
    esac
done

# need_uint WHAT VALUE MIN: die unless VALUE is an integer >= MIN.
need_uint() {
    if ! [[ "$2" =~ ^[0-9]+$ ]] || (($2 < $3)); then
        die "$1 must be an integer >= $3 (got '$2')"
    fi
}
need_uint --runs "$RUNS" 2
need_uint --netstat-runs "$NETSTAT_RUNS" 2
need_uint --per-holder "$PER_HOLDER" 1
IFS=',' read -r -a SIZE_LIST <<<"$SIZES"
((${#SIZE_LIST[@]} > 0)) || die "--sizes is empty"
for n in "${SIZE_LIST[@]}"; do
    need_uint "each of --sizes" "$n" 2
done

# Resolve user-given paths against the caller's cwd, then go to the repo root.
if [[ -n "$BIN" && "$BIN" != /* && "$BIN" == */* ]]; then BIN="$PWD/$BIN"; fi
if [[ -n "$RESULTS" && "$RESULTS" != /* ]]; then RESULTS="$PWD/$RESULTS"; fi
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BIN="${BIN:-target/release/nettool}"
RESULTS="${RESULTS:-benches/RESULTS-sockstat.md}"
HOLDER="benches/sockholder.py"
REPORT="benches/sockstat_report.py"

# ------------------------------------------------------------ prerequisites
for tool in hyperfine ss netstat python3 flock; do
    command -v "$tool" >/dev/null || die "'$tool' not found (apt-get install -y hyperfine iproute2 net-tools python3)"
done
[[ -x /usr/bin/time ]] || die "/usr/bin/time not found (apt-get install -y time)"
[[ -f "$HOLDER" && -f "$REPORT" ]] || die "missing $HOLDER or $REPORT"

if [[ "$BIN" == target/release/nettool && ! -x "$BIN" ]]; then
    log "building $BIN (cargo build --release)"
    cargo build --release
fi
[[ -x "$BIN" ]] || die "binary '$BIN' not found or not executable"
"$BIN" sockstat -tln >/dev/null || die "'$BIN sockstat -tln' failed; does the binary have a working sockstat?"

# Ephemeral ports: every holder uses its own source address, so each address
# needs PER_HOLDER ports (with some headroom) out of the local port range.
read -r port_lo port_hi </proc/sys/net/ipv4/ip_local_port_range
port_span=$((port_hi - port_lo + 1))
((PER_HOLDER <= port_span * 9 / 10)) ||
    die "--per-holder $PER_HOLDER too close to the ephemeral port range ($port_lo-$port_hi)"
nr_open=$(cat /proc/sys/fs/nr_open)
((2 * PER_HOLDER + 64 <= nr_open)) || die "--per-holder too large for fs.nr_open=$nr_open"

# ------------------------------------------------------------ holder control
# One run at a time per machine (127.77.0.0/16 and the socket counts are
# shared), even across different checkouts.
LOCK=/tmp/nettool-sockstat-bench.lock
exec 9>>"$LOCK"
if ! flock -n 9; then
    log "another benches/sockstat.sh run holds $LOCK; waiting for it"
    flock 9
fi

OUT="benches/out/$(date +%Y%m%d-%H%M%S)"
mkdir -p "$OUT"
HOLDER_PIDS=()
HOLDER_RUN=()
# shellcheck source=benches/holders.sh
source "$ROOT/benches/holders.sh"
after_holders_stopped() { wait_ours_gone || true; }

ours_count() {
    # Every socket the holders own (both ends + listeners) is in 127.77/16.
    ss -tanH src 127.77.0.0/16 | wc -l
}

wait_ours_gone() {
    local left i
    for ((i = 0; i < 1400; i++)); do # ~70 s: covers TIME_WAIT from a crashed run
        left=$(ours_count)
        ((left == 0)) && return 0
        ((i % 100 == 99)) && log "waiting for $left sockets in 127.77.0.0/16 to go away"
        sleep 0.05
    done
    echo "sockstat.sh: warning: $left benchmark sockets still present" >&2
    return 1
}

on_exit() {
    local rc=$?
    trap - EXIT INT TERM
    stop_holders
    exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ------------------------------------------------------------ measurements
FLAGS=(tan tanp tln)

# peak_rss NAME CMD...: one run, append "NAME<TAB>KiB" to $SIZE_DIR/rss.tsv
peak_rss() {
    local name=$1 kib
    shift
    /usr/bin/time -f %M -o "$SIZE_DIR/rss.tmp" "$@" >/dev/null 2>"$SIZE_DIR/rss.stderr" ||
        die "'$*' failed: $(cat "$SIZE_DIR/rss.stderr")"
    kib=$(tail -n 1 "$SIZE_DIR/rss.tmp")
    printf '%s\t%s\n' "$name" "$kib" >>"$SIZE_DIR/rss.tsv"
}

bench_size() {
    local n=$1 conns total ours estab flag t0 t1
    conns=$(((n + 1) / 2))
    SIZE_DIR="$OUT/size-$n"
    mkdir -p "$SIZE_DIR"

    wait_ours_gone || die "leftover sockets in 127.77.0.0/16; refusing to start"
    log "size $n: starting holders for $conns connections ($((2 * conns)) sockets, <= $PER_HOLDER connections per holder)"
    t0=$(date +%s%N)
    start_holders "$conns" "$SIZE_DIR"
    t1=$(date +%s%N)

    total=$(ss -tanH | wc -l)
    ours=$(ours_count)
    estab=$(ss -tanH state established src 127.77.0.0/16 | wc -l)
    ((estab == 2 * conns)) || die "expected $((2 * conns)) established benchmark sockets, found $estab"
    log "size $n: ready in $(((t1 - t0) / 1000000)) ms; ss -tanH | wc -l = $total (benchmark: $estab established + $((ours - estab)) listening, ${#HOLDER_PIDS[@]} holders)"
    printf 'requested=%s\nsockets=%s\ntotal=%s\nholders=%s\n' "$n" "$estab" "$total" "${#HOLDER_PIDS[@]}" >"$SIZE_DIR/meta"

    for flag in "${FLAGS[@]}"; do
        log "size $n: -$flag: nettool vs ss (hyperfine --warmup $WARMUP --runs $RUNS)"
        hyperfine -N --style basic --warmup "$WARMUP" --runs "$RUNS" \
            --export-json "$SIZE_DIR/$flag.json" \
            -n "nettool sockstat -$flag" "$(printf %q "$BIN") sockstat -$flag" \
            -n "ss -$flag" "ss -$flag" >&2
        if ((WITH_NETSTAT)); then
            log "size $n: -$flag: netstat (hyperfine --warmup $NETSTAT_WARMUP --runs $NETSTAT_RUNS; fewer runs because netstat -p is slow)"
            hyperfine -N --style basic --warmup "$NETSTAT_WARMUP" --runs "$NETSTAT_RUNS" \
                --export-json "$SIZE_DIR/$flag-netstat.json" \
                -n "netstat -$flag" "netstat -$flag" >&2
        fi
    done

    log "size $n: peak RSS (/usr/bin/time -f %M, one run each)"
    : >"$SIZE_DIR/rss.tsv"
    for flag in "${FLAGS[@]}"; do
        peak_rss "nettool sockstat -$flag" "$BIN" sockstat "-$flag"
        peak_rss "ss -$flag" ss "-$flag"
        if ((WITH_NETSTAT)); then peak_rss "netstat -$flag" netstat "-$flag"; fi
    done

    stop_holders
}

# ------------------------------------------------------------ run
start=$(date +%s)
load_start=$(cut -d' ' -f1 /proc/loadavg)
for n in "${SIZE_LIST[@]}"; do
    bench_size "$n"
done
elapsed=$(($(date +%s) - start))

# Machine / tool description for the report.
{
    echo "date=$(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    echo "nproc=$(nproc)"
    echo "cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
    echo "mem=$(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
    echo "kernel=$(uname -r)"
    echo "ss=$(ss -V 2>&1 | head -n 1)"
    echo "netstat=$(netstat -V 2>&1 | head -n 1)"
    echo "hyperfine=$(hyperfine --version | head -n 1)"
    echo "bin=$BIN"
    echo "bin_version=$("$BIN" --version 2>/dev/null | head -n 1 || true)"
    echo "git=$(git rev-parse --short HEAD 2>/dev/null || echo 'no commit')$(git diff --quiet HEAD -- 2>/dev/null || echo ' (dirty)')"
    echo "runs=$RUNS"
    echo "warmup=$WARMUP"
    echo "netstat_runs=$((WITH_NETSTAT ? NETSTAT_RUNS : 0))"
    echo "netstat_warmup=$NETSTAT_WARMUP"
    echo "per_holder=$PER_HOLDER"
    echo "elapsed=$elapsed"
    echo "load_start=$load_start"
    echo "load_end=$(cut -d' ' -f1 /proc/loadavg)"
} >"$OUT/machine"

python3 "$REPORT" "$OUT" "${SIZE_LIST[@]}" >"$OUT/RESULTS.md"
cp "$OUT/RESULTS.md" "$RESULTS"
cat "$OUT/RESULTS.md"
log "wrote $RESULTS (raw data in $OUT, total ${elapsed}s)"
