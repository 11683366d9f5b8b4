#!/usr/bin/env bash
# benches/ndp.sh - IPv6 neighbour solicitation round trip: `nettool arp`
# against `ndisc6` (issue 17).
#
# What it measures
#   In a private lab pair (A 2001:db8::1/64, B 2001:db8::2/64 on one veth),
#   from A:
#   * wall time of resolving B's address once, first answer and exit, both
#     tools in ONE hyperfine invocation run inside A (-N, --warmup 3,
#     --runs RUNS, default 50), output discarded:
#         nettool   nettool arp -c 1 -f -w 1 2001:db8::2
#         ndisc6    ndisc6 -1 -n -r 1 -w 1000 2001:db8::2 IF
#     ndisc6 prints no round-trip time, so the wall time of a whole
#     resolution (start-up, socket, one NS, the NA, exit) is what both are
#     compared on.
#   * nettool's own RTT statistics over COUNT probes (default 200) at
#     INTERVAL (default 0.01 s): `nettool arp -c COUNT -i INTERVAL --json
#     2001:db8::2` (CLOCK_MONOTONIC from the request handed to the kernel to
#     the advertisement read): min/avg/max/mdev and loss.
#   * the round trip itself, the same way for both tools (when `perf` is
#     installed; Debian package linux-perf): each tool resolves B once
#     under `perf trace` (kernel tracepoints, no ptrace), TRACE_RUNS times
#     (default 30), alternating; the round trip is from the entry of the
#     syscall that sends the solicitation to the return of the one that
#     reads the advertisement. nettool sends and reads whole frames on its
#     packet socket (the NS frame is 86 bytes: Ethernet 14, IPv6 40,
#     NS 24 and the source link-layer option 8; the NA frame the same),
#     ndisc6 the ICMPv6 messages on a raw socket (32 bytes each way).
#     perf trace slows every traced syscall alike; compare the two
#     columns, not their absolute values.
#   * agreement: the MAC each tool reports equals B's (`ip link`).
#   Results go to benches/RESULTS-ndp.md and stdout; raw hyperfine JSON and
#   nettool's JSON are kept in benches/out/ndp-<timestamp>/ (git-ignored).
#
# The lab (shared LAB.md; its safety rule is followed strictly)
#   Namespaces nt-<pid>-a and nt-<pid>-b joined by the veth pair
#   nt-<pid>-a / nt-<pid>-b, created straight inside them (nothing is made
#   in, or sent from, the root namespace; eth0 is never touched). Links use
#   addrgenmode none and the addresses nodad, so no link-local, DAD or MLD
#   chatter. Every benchmarked command runs inside A (ip netns exec), with
#   literal addresses only. An EXIT trap deletes both namespaces, on
#   success, error or Ctrl-C.
#
# Usage (from anywhere; it cd's to the repo root). Needs root, hyperfine,
# ndisc6 (Debian package ndisc6), iproute2 and python3:
#   bash benches/ndp.sh [--runs 50] [--count 200] [--interval 0.01]
#        [--trace-runs 30] [--bin target/release/nettool]
#        [--results benches/RESULTS-ndp.md]
#   target/release/nettool must exist (cargo build --release); it is not
#   rebuilt here. A default run takes about 25 s.

set -euo pipefail

die() {
    echo "ndp.sh: error: $*" >&2
    exit 1
}
log() { echo "==> $*" >&2; }

RUNS=50
COUNT=200
INTERVAL=0.01
TRACE_RUNS=30
BIN=""
RESULTS=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --runs) RUNS="${2:?}"; shift 2 ;;
        --count) COUNT="${2:?}"; shift 2 ;;
        --interval) INTERVAL="${2:?}"; shift 2 ;;
        --trace-runs) TRACE_RUNS="${2:?}"; shift 2 ;;
        --bin) BIN="${2:?}"; shift 2 ;;
        --results) RESULTS="${2:?}"; shift 2 ;;
        -h|--help) sed -n '2,40p' "$0"; exit 0 ;;
        *) die "unknown argument: $1" ;;
    esac
done
[[ "$RUNS" =~ ^[0-9]+$ ]] && ((RUNS >= 2 && RUNS <= 1000)) || die "--runs: 2 to 1000"
[[ "$COUNT" =~ ^[0-9]+$ ]] && ((COUNT >= 1 && COUNT <= 10000)) || die "--count: 1 to 10000"
[[ "$INTERVAL" =~ ^[0-9.]+$ ]] || die "--interval: seconds, e.g. 0.01"
[[ "$TRACE_RUNS" =~ ^[0-9]+$ ]] && ((TRACE_RUNS <= 1000)) || die "--trace-runs: 0 to 1000"

if [[ -n "$BIN" && "$BIN" != /* ]]; then BIN="$PWD/$BIN"; fi
if [[ -n "$RESULTS" && "$RESULTS" != /* ]]; then RESULTS="$PWD/$RESULTS"; fi
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BIN="${BIN:-$ROOT/target/release/nettool}"
RESULTS="${RESULTS:-$ROOT/benches/RESULTS-ndp.md}"

((EUID == 0)) || die "needs root (namespaces, CAP_NET_RAW)"
for tool in hyperfine ndisc6 ip python3; do
    command -v "$tool" >/dev/null || die "'$tool' not found (apt-get install -y hyperfine ndisc6 iproute2 python3)"
done
[[ -x "$BIN" ]] || die "binary '$BIN' not found (cargo build --release)"
NDISC6="$(command -v ndisc6)"
HYPERFINE="$(command -v hyperfine)"

TS="$(date -u +%Y%m%d-%H%M%S)"
OUT="$ROOT/benches/out/ndp-$TS"
mkdir -p "$OUT"

P=$$
A="nt-$P-a"
B="nt-$P-b"
LAB_MADE=0
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if ((LAB_MADE)); then
        for ns in "$A" "$B"; do
            [[ -e "/run/netns/$ns" ]] && ip netns del "$ns" 2>/dev/null || true
        done
        log "lab torn down"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

for ns in "$A" "$B"; do
    [[ ! -e "/run/netns/$ns" ]] || die "namespace $ns already exists; not touching it"
done
log "building the lab pair $A / $B"
LAB_MADE=1
ip netns add "$A"
ip netns add "$B"
ip link add "$A" netns "$A" type veth peer name "$B" netns "$B"
for side in a:"$A":1 b:"$B":2; do
    IFS=: read -r _ ns n <<<"$side"
    ip -n "$ns" link set dev lo up
    ip -n "$ns" link set dev "$ns" addrgenmode none
    ip -n "$ns" addr add "2001:db8::$n/64" dev "$ns" nodad
    ip -n "$ns" link set dev "$ns" up
done
B_MAC="$(ip -n "$B" -j link show dev "$B" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["address"])')"
in_a() { ip netns exec "$A" "$@"; }

log "agreement: both tools name B's MAC ($B_MAC)"
in_a "$BIN" arp -c 1 -f -w 1 --json 2001:db8::2 >"$OUT/nettool-once.json"
in_a "$NDISC6" -1 -n -q -r 3 -w 1000 2001:db8::2 "$A" >"$OUT/ndisc6-once.txt"

log "wall time of one resolution: hyperfine -N, $RUNS runs each, inside $A"
in_a "$HYPERFINE" -N --warmup 3 --runs "$RUNS" --export-json "$OUT/hyperfine.json" \
    -n nettool "$BIN arp -c 1 -f -w 1 2001:db8::2" \
    -n ndisc6 "$NDISC6 -1 -n -r 1 -w 1000 2001:db8::2 $A" >"$OUT/hyperfine.txt"

PERF=""
if ((TRACE_RUNS > 0)); then
    PERF="$(command -v perf || true)"
    [[ -n "$PERF" ]] || log "perf not found (apt-get install -y linux-perf): no traced round trips"
fi
if [[ -n "$PERF" ]]; then
    log "each tool's own round trip under perf trace, $TRACE_RUNS runs each, alternating"
    for ((i = 1; i <= TRACE_RUNS; i++)); do
        in_a "$PERF" trace -o "$OUT/trace-nettool-$i.txt" -e sendto,recvfrom,recvmsg -- \
            "$BIN" arp -c 1 -f -w 1 -q 2001:db8::2 >/dev/null
        in_a "$PERF" trace -o "$OUT/trace-ndisc6-$i.txt" -e sendto,recvfrom,recvmsg -- \
            "$NDISC6" -1 -n -q -r 1 -w 1000 2001:db8::2 "$A" >/dev/null
    done
fi

log "nettool's RTT over $COUNT probes at -i $INTERVAL"
in_a "$BIN" arp -c "$COUNT" -i "$INTERVAL" --json 2001:db8::2 >"$OUT/nettool-rtt.json"

NETTOOL_VERSION="$("$BIN" --version)"
NDISC6_VERSION="$("$NDISC6" -V 2>&1 | head -1)"
HF_VERSION="$("$HYPERFINE" --version)"
COMMIT="$(git rev-parse --short HEAD)$(git diff --quiet -- src Cargo.toml Cargo.lock || echo ' (uncommitted changes in src/)')"
PERF_VERSION="$([[ -n "$PERF" ]] && "$PERF" --version || true)"
python3 - "$OUT" "$RESULTS" "$B_MAC" "$RUNS" "$COUNT" "$INTERVAL" \
    "$NETTOOL_VERSION" "$NDISC6_VERSION" "$HF_VERSION" "$COMMIT" "$TRACE_RUNS" "$PERF_VERSION" <<'PY'
import glob, json, os, platform, re, statistics, sys, time
from decimal import Decimal
out, results, b_mac, runs, count, interval, ntv, ndv, hfv, commit, trace_runs, perfv = sys.argv[1:]

# perf trace lines: "  1.273 ( 0.067 ms): comm/tid sendto(fd: 4, ..., len: 86, ...) = 86",
# or, for a call another thread's event interrupted, its end:
# "  2.417 ( 0.027 ms): comm/tid  ... [continued]: recvfrom()) = 86"
TRACE = re.compile(r"^\s*([0-9.]+) \(\s*([0-9.]+) ms\): \S+ (\w+)\((.*)\)\s+= (-?\d+)")
CONTINUED = re.compile(
    r"^\s*([0-9.]+) \(\s*([0-9.]+) ms\): \S+\s+\.\.\. \[continued\]: (\w+)\(()\)\)\s+= (-?\d+)")

# perf trace prints times relative to the first event it handled; an event
# of another CPU handled late comes out before it, as a negative time
# printed unsigned (2**64 ns less a little).
WRAP_MS = Decimal(2**64) / Decimal(10**6)

def traced_rtt(path, send_len, reply_len):
    """ms from the entry of the send of the solicitation (send_len bytes)
    to the return of the first read of reply_len bytes after it."""
    events = []
    for line in open(path):
        m = TRACE.match(line) or CONTINUED.match(line)
        if m:
            t = Decimal(m[1])
            t = float(t - WRAP_MS if t > WRAP_MS / 2 else t)
            events.append((t, float(m[2]), m[3], m[4], int(m[5])))
    sent = None
    for t, dur, call, args, ret in sorted(events):
        if call == "sendto" and sent is None and f"len: {send_len}," in args and ret == send_len:
            sent = t
        elif call in ("recvfrom", "recvmsg") and sent is not None and ret == reply_len:
            return t + dur - sent
    raise SystemExit(f"ndp.sh: no solicitation and advertisement in {path}")

traced = {}
for tool, send_len, reply_len in (("nettool", 86, 86), ("ndisc6", 32, 32)):
    files = sorted(glob.glob(f"{out}/trace-{tool}-*.txt"))
    if files:
        traced[tool] = [traced_rtt(f, send_len, reply_len) for f in files]
once = json.load(open(f"{out}/nettool-once.json"))
nettool_mac = once["macs"][0]["mac"] if once.get("macs") else None
ndisc6_mac = open(f"{out}/ndisc6-once.txt").read().strip().lower()
hf = {r["command"]: r for r in json.load(open(f"{out}/hyperfine.json"))["results"]}
rtt = json.load(open(f"{out}/nettool-rtt.json"))
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
load = open("/proc/loadavg").read().split()[:3]
def ms(r, k):
    return r[k] * 1e3
n, d = hf["nettool"], hf["ndisc6"]
ratio = d["median"] / n["median"]
r = rtt["rtt"] or {}
lines = [
    "# IPv6 neighbour solicitation: `nettool arp` vs `ndisc6`",
    "",
    f"Written by `bash benches/ndp.sh` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.",
    f"Machine: {platform.node()}, {os.cpu_count()} CPUs ({cpu}), kernel {platform.release()};"
    f" load average at the end {' '.join(load)}.",
    f"nettool: {ntv}, release build of {commit}; {ndv}; {hfv}.",
    "",
    "Lab: namespaces A (2001:db8::1/64) and B (2001:db8::2/64) on one veth pair,",
    "no link-local addresses, no DAD; every command runs inside A.",
    "",
    "## Agreement",
    "",
    f"B's MAC (`ip link`): {b_mac}; nettool: {nettool_mac}; ndisc6: {ndisc6_mac}:"
    f" {'all equal' if b_mac == nettool_mac == ndisc6_mac else 'DIFFERENT'}.",
    "",
    f"## Resolving 2001:db8::2 once (hyperfine -N, 3 warmups, {runs} runs, wall time)",
    "",
    "| tool | command | median ms | mean ms | stddev ms | min ms | max ms |",
    "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
]
for name, cmd in (("nettool", "nettool arp -c 1 -f -w 1 2001:db8::2"),
                  ("ndisc6", "ndisc6 -1 -n -r 1 -w 1000 2001:db8::2 IF")):
    x = hf[name]
    lines.append(f"| {name} | `{cmd}` | {ms(x,'median'):.2f} | {ms(x,'mean'):.2f} |"
                 f" {ms(x,'stddev'):.2f} | {ms(x,'min'):.2f} | {ms(x,'max'):.2f} |")
lines += [
    "",
    f"ndisc6 median / nettool median: {ratio:.2f}x"
    f" ({'nettool faster' if ratio > 1 else 'ndisc6 faster'}). ndisc6 prints no RTT:"
    " this is a whole resolution, process start to exit.",
    "",
    "## The round trip, the same way for both (perf trace)",
    "",
]
if traced:
    tn, td = traced["nettool"], traced["ndisc6"]
    rt = statistics.median(td) / statistics.median(tn)
    lines += [
        f"{len(tn)} resolutions each, alternating, each under `perf trace -e sendto,recvfrom,recvmsg`"
        f" ({perfv}): from the entry of the syscall that sends the solicitation to the return of"
        " the one that reads the advertisement (nettool: the 86-byte frames on its packet socket,"
        " read by its receive thread; ndisc6: the 32-byte ICMPv6 messages on its raw socket)."
        " Tracing slows both alike; the ratio is the figure.",
        "",
        "| tool | median ms | mean ms | min ms | max ms |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for name, v in (("nettool", tn), ("ndisc6", td)):
        lines.append(f"| {name} | {statistics.median(v):.3f} | {statistics.mean(v):.3f} |"
                     f" {min(v):.3f} | {max(v):.3f} |")
    lines += [
        "",
        f"ndisc6 median / nettool median: {rt:.2f}x"
        f" ({'level' if abs(rt - 1) < 0.02 else 'nettool faster' if rt > 1 else 'ndisc6 faster'}"
        " per round trip).",
        "",
    ]
else:
    lines += ["Not measured: perf was not installed or --trace-runs was 0.", ""]
lines += [
    f"## nettool's own round trip: `nettool arp -c {count} -i {interval} 2001:db8::2`",
    "",
    f"{rtt['sent']} sent, {rtt['received']} received, {rtt['loss_pct']}% loss;"
    f" rtt min/avg/max/mdev = {r.get('min_ms', 0):.3f}/{r.get('avg_ms', 0):.3f}/"
    f"{r.get('max_ms', 0):.3f}/{r.get('mdev_ms', 0):.3f} ms ({rtt['clock']}).",
    "",
    f"Raw output: benches/out/{os.path.basename(out)}/ (not committed).",
]
text = "\n".join(lines) + "\n"
open(results, "w").write(text)
print(text)
PY
