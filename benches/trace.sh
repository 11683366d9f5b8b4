#!/usr/bin/env bash
# benches/trace.sh - benchmark `nettool probe --trace` against Debian's
# `traceroute -T` (TCP SYN probes, raw sockets, root) over the same path.
#
# What it measures
#   A chain of five network namespaces this script creates, joined by veth
#   pairs and routed: client -> r1 -> r2 -> r3 -> destination (4 hops),
#   198.51.100.4k+1/30 and 2001:db8:k::1/64 on link k, forwarding on in the
#   routers, ICMP rate limiting off (so that timings do not depend on the
#   kernel's burst of 6 per destination; setting it fails loudly),
#   neighbour entries permanent (as in tests/lab `Lab::chain`). `nettool probe serve` listens on the
#   destination. Both tools run in the client namespace, REPEAT times each
#   (default 20), timed per whole process (wall clock, `date +%s%N`):
#     * open, IPv4 and IPv6: `nettool probe --trace -q Q DEST:PORT` vs
#       `traceroute -T -n -q Q -p PORT DEST` (Q default 3, the same for
#       both); the hop lists must be equal (checked on every run).
#     * dropped after hop 3 (nft drop in r3's forward chain), IPv4:
#       nettool stops after 5 silent hops (--max-silent 5, default) with its
#       1 s per-probe timeout; traceroute is given `-m 8` so that it probes
#       the same hops (it has no silent-hop limit), once with its default
#       wait (-w 5) and once with `-w 1` to match nettool's timeout.
#   Reported: median and p95 wall time per run, and the ratio of medians.
#
# Safety
#   Traffic goes only between the namespaces nt-<pid>-0..4 (their veths
#   exist only inside them); nothing is sent from the root namespace and no
#   name is resolved. The server is killed by PID; the namespaces are
#   deleted by the EXIT trap.
#
# Usage (from anywhere; it cd's to the repo root; needs root):
#   bash benches/trace.sh [--repeat 20] [--queries 3] [--bin PATH]
#        [--results benches/RESULTS-trace.md]
#   Without --bin it runs `cargo build --release` and benchmarks a private
#   copy of target/release/nettool. A default run takes about 2-3 minutes
#   (the dropped case with traceroute -w 5 is most of it).

set -euo pipefail

usage() { sed -n '2,/^$/{s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; }
die() { echo "trace.sh: error: $*" >&2; exit 1; }
log() { echo "==> [$(date +%T)] $*" >&2; }

REPEAT=20
QUERIES=3
BIN=""
RESULTS=""
PORT=7000
ARGS_STR="$*"

while [[ $# -gt 0 ]]; do
    case "$1" in
        --repeat) REPEAT="${2:?}"; shift 2 ;;
        --queries) QUERIES="${2:?}"; shift 2 ;;
        --bin) BIN="${2:?}"; shift 2 ;;
        --results) RESULTS="${2:?}"; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) die "unknown argument '$1' (see --help)" ;;
    esac
done

cd "$(dirname "${BASH_SOURCE[0]}")/.."
[[ $(id -u) -eq 0 ]] || die "needs root (network namespaces, traceroute -T)"
command -v traceroute >/dev/null || die "traceroute is not installed (apt-get install traceroute)"
command -v nft >/dev/null || die "nft is not installed (apt-get install nftables)"
[[ $REPEAT =~ ^[1-9][0-9]*$ ]] || die "--repeat: give a positive count"
[[ $QUERIES =~ ^([1-9]|10)$ ]] || die "--queries: give 1 to 10"
RESULTS="${RESULTS:-benches/RESULTS-trace.md}"

STAMP=$(date -u +%Y%m%d-%H%M%S)
OUT="benches/out/trace-$STAMP"
mkdir -p "$OUT"
if [[ -z $BIN ]]; then
    log "cargo build --release"
    cargo build --release --quiet
    BIN="target/release/nettool"
fi
cp "$BIN" "$OUT/nettool"
BIN="$(realpath "$OUT/nettool")"

P="nt-$$"
NS=("$P-0" "$P-1" "$P-2" "$P-3" "$P-4")
SERVER_PID=""
cleanup() {
    [[ -n $SERVER_PID ]] && kill "$SERVER_PID" 2>/dev/null || true
    for ns in "${NS[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
}
trap cleanup EXIT

log "building the chain ${NS[0]} .. ${NS[4]}"
v4() { echo "198.51.100.$((4 * $1 + $2))"; }
v6() { echo "2001:db8:$1::$2"; }
mac() { printf '02:00:00:00:%02x:%02x' "$1" "$2"; }
for ns in "${NS[@]}"; do ip netns add "$ns"; ip -n "$ns" link set lo up; done
for k in 0 1 2 3; do
    l="$P-l$k"; r="$P-r$k"
    ip link add "$l" netns "${NS[k]}" address "$(mac $k 1)" type veth \
        peer name "$r" netns "${NS[k+1]}" address "$(mac $k 2)"
    for side in "${NS[k]} $l 1 2" "${NS[k+1]} $r 2 1"; do
        read -r ns dev me them <<<"$side"
        ip -n "$ns" addr add "$(v4 $k "$me")/30" dev "$dev"
        ip -n "$ns" addr add "$(v6 $k "$me")/64" dev "$dev" nodad
        ip -n "$ns" link set "$dev" up
        ip -n "$ns" neigh replace "$(v4 $k "$them")" lladdr "$(mac $k "$them")" dev "$dev" nud permanent
        ip -n "$ns" neigh replace "$(v6 $k "$them")" lladdr "$(mac $k "$them")" dev "$dev" nud permanent
    done
done
for i in 0 1 2 3 4; do
    fwd=$(( i > 0 && i < 4 ? 1 : 0 ))
    # set -e and read back: a sysctl that cannot be written stops the bench
    # (a router that does not forward, or rate-limits, would skew it).
    ip netns exec "${NS[i]}" sh -c "set -e; echo $fwd > /proc/sys/net/ipv4/ip_forward;
        echo $fwd > /proc/sys/net/ipv6/conf/all/forwarding;
        echo 0 > /proc/sys/net/ipv4/icmp_ratelimit; echo 0 > /proc/sys/net/ipv6/icmp/ratelimit;
        test \"\$(cat /proc/sys/net/ipv4/ip_forward)\" = $fwd;
        test \"\$(cat /proc/sys/net/ipv4/icmp_ratelimit)\" = 0" ||
        die "cannot set forwarding / ICMP rate limits in ${NS[i]}"
    for k in 0 1 2 3; do
        if (( k + 1 < i )); then
            ip -n "${NS[i]}" route add "$(v4 $k 0)/30" via "$(v4 $((i - 1)) 1)"
            ip -n "${NS[i]}" route add "$(v6 $k 0)/64" via "$(v6 $((i - 1)) 1)"
        elif (( k > i )); then
            ip -n "${NS[i]}" route add "$(v4 $k 0)/30" via "$(v4 $i 2)"
            ip -n "${NS[i]}" route add "$(v6 $k 0)/64" via "$(v6 $i 2)"
        fi
    done
done
# Links up (operstate), so the first probe is not lost.
for _ in $(seq 100); do
    down=$(for ns in "${NS[@]}"; do ip -n "$ns" -o link show | grep -v 'lo:' | grep -vc 'state UP' || true; done | paste -sd+ | bc)
    [[ $down -eq 0 ]] && break
    sleep 0.05
done
DEST4=$(v4 3 2)
DEST6=$(v6 3 2)
ip netns exec "${NS[4]}" "$BIN" probe serve "$PORT" >"$OUT/serve.log" 2>&1 &
SERVER_PID=$!
sleep 0.3

# run_timed FILE CMD...: append "ns rc" of one run to FILE, stdout to FILE.out.N
run_timed() {
    local file="$1"; shift
    local n; n=$(wc -l <"$file" 2>/dev/null || echo 0)
    local t0 t1 rc=0
    t0=$(date +%s%N)
    ip netns exec "${NS[0]}" "$@" >"$file.out.$n" 2>&1 || rc=$?
    t1=$(date +%s%N)
    echo "$((t1 - t0)) $rc" >>"$file"
}

# hops FILE: "hop addr" per hop line (first address on it, * when none).
hops() {
    awk '$1 ~ /^[0-9]+$/ { a = "*"; for (i = 2; i <= NF; i++) if ($i ~ /^[0-9a-f:.]+$/ && $i ~ /[.:]/ && $i != "ms") { a = $i; break } print $1, a }' "$1"
}

# stats FILE: "median_ms p95_ms n rcs"
stats() {
    sort -n "$1" | awk '{ t[NR] = $1 / 1e6; rc[$2]++ } END {
        m = (NR % 2) ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2;
        r = int(0.95 * NR + 0.999999); if (r < 1) r = 1;
        s = ""; for (k in rc) s = s (s ? ", " : "") "rc " k ": " rc[k];
        printf "%.1f %.1f %d %s\n", m, t[r], NR, s }'
}

MISMATCH=0
ROWS=()
case_pair() { # NAME NETTOOL_ARGS... -- TRACEROUTE_ARGS...
    local name="$1"; shift
    local nargs=() targs=()
    while [[ $1 != -- ]]; do nargs+=("$1"); shift; done
    shift
    targs=("$@")
    local f_n="$OUT/$name.nettool" f_t="$OUT/$name.traceroute"
    : >"$f_n"; : >"$f_t"
    log "$name: $REPEAT x nettool ${nargs[*]} / traceroute ${targs[*]}"
    for i in $(seq 0 $((REPEAT - 1))); do
        run_timed "$f_n" "$BIN" probe --trace "${nargs[@]}"
        run_timed "$f_t" traceroute "${targs[@]}"
        if ! diff -q <(hops "$f_n.out.$i") <(hops "$f_t.out.$i") >/dev/null; then
            MISMATCH=$((MISMATCH + 1))
            log "$name run $i: hop lists differ (see $f_n.out.$i, $f_t.out.$i)"
        fi
    done
    read -r nm np nn nrc <<<"$(stats "$f_n")"
    read -r tm tp tn trc <<<"$(stats "$f_t")"
    local ratio; ratio=$(awk -v a="$tm" -v b="$nm" 'BEGIN { printf "%.1f", (b > 0) ? a / b : 0 }')
    ROWS+=("| $name | nettool probe --trace ${nargs[*]} | $nn | $nm | $np | $nrc | |")
    ROWS+=("| | traceroute ${targs[*]} | $tn | $tm | $tp | $trc | $ratio x nettool's median |")
}

Q="$QUERIES"
case_pair "open, IPv4" -q "$Q" "$DEST4:$PORT" -- -T -n -q "$Q" -p "$PORT" "$DEST4"
case_pair "open, IPv6" -q "$Q" "[$DEST6]:$PORT" -- -6 -T -n -q "$Q" -p "$PORT" "$DEST6"
printf 'table inet lab {\n chain labfwd {\n  type filter hook forward priority 0;\n  tcp dport %s drop\n }\n}\n' "$PORT" |
    ip netns exec "${NS[3]}" nft -f -
case_pair "dropped after hop 3, IPv4" -q "$Q" "$DEST4:$PORT" -- -T -n -q "$Q" -m 8 -p "$PORT" "$DEST4"
case_pair "dropped after hop 3, IPv4, -w 1" -q "$Q" "$DEST4:$PORT" -- -T -n -q "$Q" -m 8 -w 1 -p "$PORT" "$DEST4"

{
    echo "# \`nettool probe --trace\` benchmark"
    echo
    echo "Generated by \`bash benches/trace.sh${ARGS_STR:+ $ARGS_STR}\`; do not edit by hand."
    echo
    echo "- Date: $(date -u '+%F %T') UTC"
    echo "- Machine: nproc $(nproc), kernel $(uname -r); load average $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "- nettool: $("$BIN" --version), sha256 $(sha256sum "$BIN" | cut -c1-12), git $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
    echo "- traceroute: $(traceroute --version 2>&1 | head -1)"
    echo "- Path: client -> 3 routers -> destination (4 hops), veth pairs between namespaces; $REPEAT runs per row, -q $QUERIES for both tools"
    echo "- Method: see the header of benches/trace.sh. Wall time of the whole process; hop lists compared on every run: $MISMATCH mismatch(es)."
    echo
    echo "| case | command | runs | median ms | p95 ms | exit codes | note |"
    echo "|---|---|---:|---:|---:|---|---|"
    printf '%s\n' "${ROWS[@]}"
    echo
    echo "nettool probes hop by hop: the next hop's probes go out as soon as a router at this hop answers time exceeded, or after a short patience (4 x the largest round trip, 50 ms to W/10) when it has not answered, so the destination sees only its own hop's probes and silent hops cost one timeout plus a patience each; it waits 1 s per probe by default. traceroute -T sends up to 16 at once (-N 16) and waits up to 5 s (-w 5,3,10)."
} >"$RESULTS"
log "wrote $RESULTS (raw data in $OUT)"
[[ $MISMATCH -eq 0 ]] || die "$MISMATCH run(s) with different hop lists"
