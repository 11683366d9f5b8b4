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
#        [--bin target/release/nettool] [--results benches/RESULTS-ndp.md]
#   target/release/nettool must exist (cargo build --release); it is not
#   rebuilt here. A default run takes about 15 s.

set -euo pipefail

die() {
    echo "ndp.sh: error: $*" >&2
    exit 1
}
log() { echo "==> $*" >&2; }

RUNS=50
COUNT=200
INTERVAL=0.01
BIN=""
RESULTS=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --runs) RUNS="${2:?}"; shift 2 ;;
        --count) COUNT="${2:?}"; shift 2 ;;
        --interval) INTERVAL="${2:?}"; shift 2 ;;
        --bin) BIN="${2:?}"; shift 2 ;;
        --results) RESULTS="${2:?}"; shift 2 ;;
        -h|--help) sed -n '2,40p' "$0"; exit 0 ;;
        *) die "unknown argument: $1" ;;
    esac
done
[[ "$RUNS" =~ ^[0-9]+$ ]] && ((RUNS >= 2 && RUNS <= 1000)) || die "--runs: 2 to 1000"
[[ "$COUNT" =~ ^[0-9]+$ ]] && ((COUNT >= 1 && COUNT <= 10000)) || die "--count: 1 to 10000"
[[ "$INTERVAL" =~ ^[0-9.]+$ ]] || die "--interval: seconds, e.g. 0.01"

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

log "nettool's RTT over $COUNT probes at -i $INTERVAL"
in_a "$BIN" arp -c "$COUNT" -i "$INTERVAL" --json 2001:db8::2 >"$OUT/nettool-rtt.json"

NETTOOL_VERSION="$("$BIN" --version)"
NDISC6_VERSION="$("$NDISC6" -V 2>&1 | head -1)"
HF_VERSION="$("$HYPERFINE" --version)"
COMMIT="$(git rev-parse --short HEAD)$(git diff --quiet -- src Cargo.toml Cargo.lock || echo ' (uncommitted changes in src/)')"
python3 - "$OUT" "$RESULTS" "$B_MAC" "$RUNS" "$COUNT" "$INTERVAL" \
    "$NETTOOL_VERSION" "$NDISC6_VERSION" "$HF_VERSION" "$COMMIT" <<'PY'
import json, os, platform, sys, time
out, results, b_mac, runs, count, interval, ntv, ndv, hfv, commit = sys.argv[1:]
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
