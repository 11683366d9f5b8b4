#!/usr/bin/env bash
# benches/probe.sh - benchmark `nettool probe` (TCP connect probing) against
# the kernel's own RTT, curl and nc.
#
# What it measures
#   On loopback (127.0.0.1) and across a veth pair between two network
#   namespaces this script creates (198.51.100.1 in A -> 198.51.100.2 in B):
#     * nettool: `nettool probe -c COUNT -i 0 --json TARGET` (default 1000).
#       From each JSON attempt record: outcome.handshake_us (user-space
#       connect() to writable) and outcome.kernel_rtt_us (TCP_INFO tcpi_rtt);
#       median / p95 of the handshake, of the kernel rtt and of the
#       per-attempt overhead (handshake - rtt); attempts/s from the summary.
#     * nettool probe -c 1 as a whole process (wall time, EXT_RUNS times), so
#       that it compares with the one-shot tools below.
#     * curl: `curl -s -o /dev/null --max-time T -w '%{time_connect}\n'
#       http://TARGET/` EXT_RUNS times (default 200).  The accept server
#       does not speak HTTP, so the request itself times out after T
#       (0.05 s); only curl's own time_connect is read from it.  curl's
#       whole-process wall time (for attempts/s) is taken against a second
#       server on the same address with --behavior rst, which resets right
#       after accept so that curl exits at once (its time_connect there is
#       reported too: the handshake is the same kernel path).
#     * nc: wall time of `nc -z HOST PORT` (netcat-openbsd) EXT_RUNS times.
#     * a spawn floor: /bin/true timed the same way, i.e. what the harness
#       (benches/probe_stats.py, subprocess spawn to reap) adds to every
#       process-timed tool.
#     Process-timed tools: attempts/s = 1 / median wall time of one process.
#   Sustained (loopback only, fresh server port): `nettool probe -c SUSTAINED
#   -i 0` (default 30000, more than half of ip_local_port_range): attempts/s,
#   failures (target: 0), and TIME_WAIT sockets to the server port right
#   after it (`nettool sockstat -tan --state time-wait --dport P --json`,
#   cross-checked with `ss`).  nettool closes with RST (SO_LINGER 0) at -i 0,
#   so expect ~0.  A short `--graceful` run (FIN close, default 1000) on
#   another fresh port shows the TIME_WAIT a FIN close leaves.  The
#   TIME_WAIT that curl and nc leave on the main loopback port is counted
#   the same way (as the increase over the count before them).
#   Targets (from the issue): median overhead over the kernel rtt < 50 us;
#   >= 5,000 attempts/s sustained on loopback with 0 failures and without
#   exhausting ephemeral ports.
#
# Safety
#   Traffic goes only to 127.0.0.1 (root namespace) or between the two
#   namespaces nt-<pid>-a / nt-<pid>-b (veth a0/b0 exist only inside them).
#   No name is resolved.  Servers are `nettool probe serve` started here and
#   killed by PID; the namespaces are deleted by the EXIT trap.
#
# Usage (from anywhere; it cd's to the repo root; needs root for netns):
#   bash benches/probe.sh [--count 1000] [--sustained 30000] [--graceful 1000]
#        [--ext-runs 200] [--no-veth] [--bin PATH]
#        [--results benches/RESULTS-probe.md] [--max-seconds 900]
#   Without --bin it runs `cargo build --release` and benchmarks a private
#   copy of target/release/nettool (so a concurrent rebuild cannot change it
#   mid-run).  Raw data stays in benches/out/probe-<timestamp>/ (git-ignored).
#   A default run takes about 1-2 minutes.

set -euo pipefail

usage() { sed -n '2,/^$/{s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; }
die() { echo "probe.sh: error: $*" >&2; exit 1; }
log() { echo "==> [$(date +%T)] $*" >&2; }

COUNT=1000
SUSTAINED=30000
GRACEFUL=1000
EXT_RUNS=200
CURL_MAXTIME=0.05
WITH_VETH=1
BIN=""
RESULTS=""
MAX_SECONDS=900
ARGS_STR="$*"
ORIG_ARGS=("$@")

while [[ $# -gt 0 ]]; do
    case "$1" in
        --count) COUNT="${2:?}"; shift 2 ;;
        --sustained) SUSTAINED="${2:?}"; shift 2 ;;
        --graceful) GRACEFUL="${2:?}"; shift 2 ;;
        --ext-runs) EXT_RUNS="${2:?}"; shift 2 ;;
        --no-veth) WITH_VETH=0; shift ;;
        --bin) BIN="${2:?}"; shift 2 ;;
        --results) RESULTS="${2:?}"; shift 2 ;;
        --max-seconds) MAX_SECONDS="${2:?}"; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) die "unknown argument: $1 (see --help)" ;;
    esac
done
for v in COUNT SUSTAINED GRACEFUL EXT_RUNS MAX_SECONDS; do
    [[ "${!v}" =~ ^[0-9]+$ && "${!v}" -ge 1 ]] || die "$v must be a positive integer"
done

# Bounded run time: the whole script re-runs itself under timeout(1); on
# SIGTERM the EXIT trap below still kills the servers and removes the netns.
if [[ -z "${NT_PROBE_BENCH_TIMED:-}" ]]; then
    export NT_PROBE_BENCH_TIMED=1
    exec timeout -k 30 "$MAX_SECONDS" bash "${BASH_SOURCE[0]}" "${ORIG_ARGS[@]}"
fi

if [[ -n "$BIN" && "$BIN" != /* ]]; then BIN="$PWD/$BIN"; fi
if [[ -n "$RESULTS" && "$RESULTS" != /* ]]; then RESULTS="$PWD/$RESULTS"; fi
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
RESULTS="${RESULTS:-benches/RESULTS-probe.md}"
HELPER="benches/probe_stats.py"

for tool in python3 curl nc ss ip timeout; do
    command -v "$tool" >/dev/null || die "'$tool' not found (apt-get install -y netcat-openbsd curl iproute2 python3 coreutils)"
done
nc -h 2>&1 | grep -qi openbsd || die "nc is not netcat-openbsd (apt-get install -y netcat-openbsd)"
[[ -f "$HELPER" ]] || die "missing $HELPER"
((EUID == 0)) || { WITH_VETH=0; log "not root: skipping the veth case (needs CAP_NET_ADMIN)"; }

START_EPOCH=$(date +%s)
OUT="benches/out/probe-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$OUT"
WORK="$(mktemp -d /tmp/nettool-probe-bench.XXXXXX)"
NSA="nt-$$-a"
NSB="nt-$$-b"
NS_MADE=0
PIDS=()

cleanup() {
    local rc=$? pid
    trap - EXIT INT TERM
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    # The watchdog: its sleep child first (by parent PID), then the subshell.
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
"$N" probe --help >/dev/null || die "'$N probe --help' failed"

# ------------------------------------------------------------------ helpers
# free_port: a TCP port on 127.0.0.1 outside the ephemeral range, free now.
read -r PORT_LO PORT_HI </proc/sys/net/ipv4/ip_local_port_range
free_port() {
    local p i
    for ((i = 0; i < 200; i++)); do
        p=$((20000 + RANDOM % 9000))
        ((p >= PORT_LO && p <= PORT_HI)) && continue
        if [[ -z "$(ss -Htan "sport = :$p")" ]]; then echo "$p"; return 0; fi
    done
    die "no free port found"
}

# wait_listen PORT [NS]: wait (<= 5 s) until something listens on PORT.
wait_listen() {
    local port=$1 ns=${2:-} i
    for ((i = 0; i < 100; i++)); do
        if [[ -n "$ns" ]]; then
            [[ -n "$(ip netns exec "$ns" ss -Htln "sport = :$port")" ]] && return 0
        else
            [[ -n "$(ss -Htln "sport = :$port")" ]] && return 0
        fi
        sleep 0.05
    done
    die "server on port $port did not start"
}

# start_server ADDR PORT BEHAVIOR [NS]
start_server() {
    local addr=$1 port=$2 beh=$3 ns=${4:-}
    if [[ -n "$ns" ]]; then
        ip netns exec "$ns" "$N" probe serve "$addr:$port" --behavior "$beh" >/dev/null 2>&1 &
    else
        "$N" probe serve "$addr:$port" --behavior "$beh" >/dev/null 2>&1 &
    fi
    PIDS+=($!)
    wait_listen "$port" "$ns"
}

# tw_count PORT [NS] -> "nettool_count ss_count": TIME_WAIT sockets to PORT.
# First waits (<= 5 s) until no connection to PORT is still closing
# (FIN-WAIT-1/2, CLOSING, ESTABLISHED): after a FIN close the client side only
# reaches TIME_WAIT once the server has closed too, which lags behind.
# `nettool sockstat` exits 1 when no socket matched: that is a count of 0.
tw_count() {
    local port=$1 ns=${2:-} pre=() a b i rc
    [[ -n "$ns" ]] && pre=(ip netns exec "$ns")
    for ((i = 0; i < 100; i++)); do
        [[ -z "$("${pre[@]}" ss -Htan state established state fin-wait-1 state fin-wait-2 \
            state closing "dport = :$port")" ]] && break
        sleep 0.05
    done
    rc=0
    "${pre[@]}" "$N" sockstat -tan --state time-wait --dport "$port" --json \
        >"$WORK/tw.json" 2>>"$OUT/tw.err" || rc=$?
    if ((rc <= 1)); then
        a=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["sockets"]))' \
            "$WORK/tw.json" 2>>"$OUT/tw.err") || a=-1
    else
        a=-1
    fi
    b=$("${pre[@]}" ss -Htan state time-wait "dport = :$port" | wc -l) || b=-1
    echo "$a $b"
}

# listen_overflows: the kernel's TcpExtListenOverflows (SYNs dropped because
# an accept queue was full; machine-wide, so other work can add to it).
listen_overflows() {
    awk '/^TcpExt:/ { if (!h) { for (i = 1; i <= NF; i++) n[i] = $i; h = 1 }
                      else { for (i = 1; i <= NF; i++) if (n[i] == "ListenOverflows") print $i } }' \
        /proc/net/netstat
}

# run_env ENV ADDR PORT RSTPORT [NS]: the nettool / curl / nc measurements.
run_env() {
    local env=$1 addr=$2 port=$3 rport=$4 ns=${5:-} pre=() rc
    [[ -n "$ns" ]] && pre=(ip netns exec "$ns")
    log "$env: nettool probe -c $COUNT -i 0 --json $addr:$port"
    rc=0
    local lo0
    lo0=$(listen_overflows)
    timeout 120 "${pre[@]}" "$N" probe -c "$COUNT" -i 0 --json "$addr:$port" \
        >"$OUT/$env-nettool.jsonl" 2>"$OUT/$env-nettool.err" || rc=$?
    echo $(($(listen_overflows) - lo0)) >"$OUT/overflow-$env.txt"
    ((rc == 0)) || log "$env: nettool probe exited $rc (see $OUT/$env-nettool.err)"
    read -r TW0 TW0S < <(tw_count "$port" "$ns")
    echo "$TW0" >"$OUT/tw-$env-main-nettool.txt"; echo "$TW0S" >"$OUT/tw-$env-main-ss.txt"

    local sp=("${pre[@]}" python3 "$HELPER" spawn --runs "$EXT_RUNS" --budget 120)
    log "$env: spawn floor, nettool -c 1, curl, nc x $EXT_RUNS each"
    "${sp[@]}" --out "$OUT/$env-true.json" -- /bin/true
    "${sp[@]}" --out "$OUT/$env-nettool1.json" -- "$N" probe -c 1 -i 0 "$addr:$port"
    "${sp[@]}" --out "$OUT/$env-curl-connect.json" -- curl -s -o /dev/null \
        --max-time "$CURL_MAXTIME" -w '%{time_connect}\n' "http://$addr:$port/"
    read -r TW1 TW1S < <(tw_count "$port" "$ns")
    "${sp[@]}" --out "$OUT/$env-curl-wall.json" -- curl -s -o /dev/null \
        --max-time 2 -w '%{time_connect}\n' "http://$addr:$rport/"
    read -r TW2 TW2S < <(tw_count "$port" "$ns")
    "${sp[@]}" --out "$OUT/$env-nc.json" -- nc -z "$addr" "$port"
    read -r TW3 TW3S < <(tw_count "$port" "$ns")
    # TIME_WAIT left by each tool = increase of the count on the accept port.
    # (nettool -c 1 runs at -i 0 semantics too, so it closes with RST.)
    if [[ "$env" == lo ]]; then
        echo $((TW1 - TW0)) >"$OUT/tw-curl-nettool.txt"; echo $((TW1S - TW0S)) >"$OUT/tw-curl-ss.txt"
        echo $((TW3 - TW2)) >"$OUT/tw-nc-nettool.txt"; echo $((TW3S - TW2S)) >"$OUT/tw-nc-ss.txt"
    fi
}

LOAD_START="$(cut -d' ' -f1-3 /proc/loadavg)"

# ------------------------------------------------------------------ loopback
P_MAIN=$(free_port); start_server 127.0.0.1 "$P_MAIN" accept
P_RST=$(free_port);  start_server 127.0.0.1 "$P_RST" rst
run_env lo 127.0.0.1 "$P_MAIN" "$P_RST"

P_SUS=$(free_port); start_server 127.0.0.1 "$P_SUS" accept
log "lo: sustained nettool probe -c $SUSTAINED -i 0 (port $P_SUS)"
rc=0
LO0=$(listen_overflows)
timeout 300 "$N" probe -c "$SUSTAINED" -i 0 --json "127.0.0.1:$P_SUS" \
    >"$OUT/sustained.jsonl" 2>"$OUT/sustained.err" || rc=$?
echo $(($(listen_overflows) - LO0)) >"$OUT/overflow-sustained.txt"
((rc == 0)) || log "sustained run exited $rc (see $OUT/sustained.err)"
# The accept server is thread-per-connection; as a reference for what the
# client alone sustains, the same run against the rst server, which handles
# every connection inline in its accept loop (nettool counts the server's
# reset-after-accept as a failed attempt there, so failures are expected).
log "lo: reference nettool probe -c $SUSTAINED -i 0 against the rst server (port $P_RST)"
rc=0
LO0=$(listen_overflows)
timeout 300 "$N" probe -c "$SUSTAINED" -i 0 --json "127.0.0.1:$P_RST" \
    >"$OUT/sustained-rst.jsonl" 2>"$OUT/sustained-rst.err" || rc=$?
echo $(($(listen_overflows) - LO0)) >"$OUT/overflow-sustained-rst.txt"
read -r a b < <(tw_count "$P_SUS"); echo "$a" >"$OUT/tw-sustained-nettool.txt"; echo "$b" >"$OUT/tw-sustained-ss.txt"
log "lo: TIME_WAIT to port $P_SUS after the sustained run: nettool sockstat $a, ss $b"

P_GR=$(free_port); start_server 127.0.0.1 "$P_GR" accept
log "lo: nettool probe -c $GRACEFUL -i 0 --graceful (port $P_GR)"
rc=0
LO0=$(listen_overflows)
timeout 120 "$N" probe -c "$GRACEFUL" -i 0 --graceful --json "127.0.0.1:$P_GR" \
    >"$OUT/graceful.jsonl" 2>"$OUT/graceful.err" || rc=$?
echo $(($(listen_overflows) - LO0)) >"$OUT/overflow-graceful.txt"
((rc == 0)) || log "graceful run exited $rc (see $OUT/graceful.err)"
read -r a b < <(tw_count "$P_GR"); echo "$a" >"$OUT/tw-graceful-nettool.txt"; echo "$b" >"$OUT/tw-graceful-ss.txt"
log "lo: TIME_WAIT to port $P_GR after the --graceful run: nettool sockstat $a, ss $b"
cp "$OUT/tw-lo-main-nettool.txt" "$OUT/tw-lo1000-nettool.txt"
cp "$OUT/tw-lo-main-ss.txt" "$OUT/tw-lo1000-ss.txt"
cp "$OUT/overflow-lo.txt" "$OUT/overflow-lo1000.txt"

# ------------------------------------------------------------------ veth
if ((WITH_VETH)); then
    log "veth: namespaces $NSA (198.51.100.1) and $NSB (198.51.100.2)"
    NS_MADE=1
    ip netns add "$NSA"
    ip netns add "$NSB"
    ip link add a0 netns "$NSA" type veth peer name b0 netns "$NSB"
    ip -n "$NSA" addr add 198.51.100.1/24 dev a0
    ip -n "$NSB" addr add 198.51.100.2/24 dev b0
    for ns in "$NSA" "$NSB"; do ip -n "$ns" link set lo up; done
    ip -n "$NSA" link set a0 up
    ip -n "$NSB" link set b0 up
    start_server 198.51.100.2 7000 accept "$NSB"
    start_server 198.51.100.2 7001 rst "$NSB"
    # Warm the neighbour cache (one probe) so attempt 1 does not carry ARP.
    ip netns exec "$NSA" "$N" probe -c 1 -W 2 198.51.100.2:7000 >/dev/null 2>&1 || true
    run_env veth 198.51.100.2 7000 7001 "$NSA"
fi

# ------------------------------------------------------------------ report
ELAPSED=$(($(date +%s) - START_EPOCH))
export META_DATE="$(date -u '+%Y-%m-%d %H:%M:%S UTC')" META_ELAPSED="$ELAPSED" \
    META_NPROC="$(nproc)" META_CPU="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')" \
    META_KERNEL="$(uname -r)" META_LOAD_START="$LOAD_START" META_LOAD_END="$(cut -d' ' -f1-3 /proc/loadavg)" \
    META_NETTOOL="$("$N" --version), sha256 $(sha256sum "$N" | cut -c1-12)" META_BIN="$BIN_SRC" \
    META_GIT="$(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD -- src Cargo.toml 2>/dev/null || echo ' + uncommitted changes in src/')" \
    META_CURL="$(curl --version | head -n1 | cut -d' ' -f1-2)" \
    META_NC="netcat-openbsd $(dpkg-query -W -f='${Version}' netcat-openbsd 2>/dev/null || echo '?')" \
    META_PY="$(python3 -c 'import platform; print(platform.python_version())')" \
    META_PORTS="$PORT_LO-$PORT_HI" META_SPAN="$((PORT_HI - PORT_LO + 1))" \
    META_TWR="$(cat /proc/sys/net/ipv4/tcp_tw_reuse)" META_FIN="$(cat /proc/sys/net/ipv4/tcp_fin_timeout)" \
    META_MAXTW="$(cat /proc/sys/net/ipv4/tcp_max_tw_buckets)" \
    META_COUNT="$COUNT" META_SUS="$SUSTAINED" META_GR="$GRACEFUL" META_EXT="$EXT_RUNS" META_ARGS="$ARGS_STR"
python3 - "$OUT/meta.json" <<'PY'
import json, os, sys
e = os.environ
# Busy = any of the 1/5/15-minute load averages, at start or end, >= nproc/2.
load = max(float(x) for x in (e["META_LOAD_START"] + " " + e["META_LOAD_END"]).split())
nproc = int(e["META_NPROC"])
meta = {
    "date": e["META_DATE"], "elapsed_s": e["META_ELAPSED"], "nproc": nproc,
    "cpu": e["META_CPU"], "kernel": e["META_KERNEL"],
    "load_start": e["META_LOAD_START"], "load_end": e["META_LOAD_END"],
    "nettool": e["META_NETTOOL"], "bin": e["META_BIN"], "git": e["META_GIT"],
    "curl": e["META_CURL"], "nc": e["META_NC"], "python": e["META_PY"],
    "port_range": e["META_PORTS"], "port_span": e["META_SPAN"],
    "tw_reuse": e["META_TWR"], "fin_timeout": e["META_FIN"], "max_tw": e["META_MAXTW"],
    "count": int(e["META_COUNT"]), "sustained": int(e["META_SUS"]),
    "graceful": int(e["META_GR"]), "ext_runs": int(e["META_EXT"]),
    "args": ("bash benches/probe.sh " + e["META_ARGS"]).strip(),
}
if load >= 0.5 * nproc:
    meta["noisy"] = (f"load averages {e['META_LOAD_START']} at start and "
                     f"{e['META_LOAD_END']} at end on {nproc} CPUs: "
                     "the machine was busy with other work, so absolute numbers are noisy; "
                     "rerun on a quiet machine for reference figures.")
json.dump(meta, open(sys.argv[1], "w"), indent=1)
PY
python3 "$HELPER" report --dir "$OUT" --meta "$OUT/meta.json" --results "$RESULTS"
log "wrote $RESULTS (raw data in $OUT) in ${ELAPSED} s"
