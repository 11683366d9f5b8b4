#!/usr/bin/env bash
# benches/netns.sh - `nettool sockstat --all-netns -tan` against the shell
# loop users write today, `for ns in $(ip netns list); do ip netns exec $ns
# ss -tanH; done`, over the same namespaces.
#
# What it measures
#   NS network namespaces (default 100), named nt-<pid>-<i>, each with lo up
#   and one benches/sockholder.py holding CONNS loopback TCP connections
#   (default 100: 200 established sockets plus a listener), started with
#   `ip netns exec`. Then, in ONE hyperfine run (--warmup 2 --runs RUNS,
#   default 10, output discarded):
#     nettool sockstat --all-netns -tan
#     for ns in <the bench's namespaces>; do ip netns exec $ns ss -tanH; done
#   and the peak RSS of nettool (/usr/bin/time -f %M). nettool also lists
#   every other namespace on the machine (the host's included), so it does
#   at least the loop's work. Before timing, both are checked to list the
#   same number of sockets in the bench's namespaces. The target (issue 13)
#   is nettool at least 10x faster. Results go to benches/RESULTS-netns.md.
#
# Safety
#   Everything is loopback inside namespaces the script made; the EXIT trap
#   kills the holders by pid and deletes every namespace it made, also on
#   Ctrl-C or an error. Needs root.
#
# Usage (from anywhere; it cd's to the repo root):
#   bash benches/netns.sh [--namespaces 100] [--conns 100] [--runs 10]
#        [--bin target/release/nettool] [--results benches/RESULTS-netns.md]
#        [--child-ehash 1024]
#   A quick check: bash benches/netns.sh --namespaces 3 --conns 5 --runs 2
#
# Two rounds, same namespaces and sockets, made anew for each:
#   shared  the kernel's default: every namespace's TCP sockets live in the
#           host-wide established hash, which each dump walks whole
#           (tcp_ehash_entries buckets), so a namespace costs a walk of
#           everyone's sockets;
#   own     net.ipv4.tcp_child_ehash_entries=N (Linux 6.1+) set in the root
#           namespace before the namespaces are made: each gets a hash of
#           its own, as hosts with many namespaces are advised to do. The
#           sysctl is put back to its old value on exit. --child-ehash 0
#           skips this round.

set -euo pipefail

die() {
    echo "netns.sh: error: $*" >&2
    exit 1
}

log() {
    echo "==> [$(date +%T)] $*" >&2
}

NS_COUNT=100
CONNS=100
RUNS=10
BIN=""
RESULTS=""
CHILD_EHASH=1024
while [[ $# -gt 0 ]]; do
    case "$1" in
        --namespaces) NS_COUNT="${2:?--namespaces needs a value}"; shift 2 ;;
        --conns) CONNS="${2:?--conns needs a value}"; shift 2 ;;
        --runs) RUNS="${2:?--runs needs a value}"; shift 2 ;;
        --bin) BIN="${2:?--bin needs a value}"; shift 2 ;;
        --results) RESULTS="${2:?--results needs a value}"; shift 2 ;;
        --child-ehash) CHILD_EHASH="${2:?--child-ehash needs a value}"; shift 2 ;;
        -h | --help) sed -n '2,42p' "$0"; exit 0 ;;
        *) die "unknown argument: $1 (see --help)" ;;
    esac
done
[[ "$CHILD_EHASH" =~ ^[0-9]+$ ]] || die "--child-ehash takes a number of buckets, or 0 (got '$CHILD_EHASH')"
for v in "$NS_COUNT" "$CONNS" "$RUNS"; do
    [[ "$v" =~ ^[0-9]+$ ]] && ((v >= 1)) || die "--namespaces, --conns and --runs take positive integers (got '$v')"
done
((RUNS >= 2)) || die "--runs must be at least 2"

if [[ -n "$BIN" && "$BIN" != /* && "$BIN" == */* ]]; then BIN="$PWD/$BIN"; fi
if [[ -n "$RESULTS" && "$RESULTS" != /* ]]; then RESULTS="$PWD/$RESULTS"; fi
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BIN="${BIN:-target/release/nettool}"
RESULTS="${RESULTS:-benches/RESULTS-netns.md}"
HOLDER="benches/sockholder.py"

[[ $(id -u) == 0 ]] || die "needs root (ip netns add, ip netns exec)"
for tool in hyperfine ip ss python3; do
    command -v "$tool" >/dev/null || die "'$tool' not found (apt-get install -y hyperfine iproute2 python3)"
done
[[ -x /usr/bin/time ]] || die "/usr/bin/time not found (apt-get install -y time)"
if [[ "$BIN" == target/release/nettool && ! -x "$BIN" ]]; then
    log "building $BIN (cargo build --release)"
    cargo build --release
fi
[[ -x "$BIN" ]] || die "binary '$BIN' not found or not executable"
BIN="$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")"

OUT="benches/out/netns-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$OUT"
PREFIX="nt-$$-"
NAMES=()
HOLDER_PIDS=()

CHILD_SYSCTL=/proc/sys/net/ipv4/tcp_child_ehash_entries
OLD_CHILD=$(cat "$CHILD_SYSCTL" 2>/dev/null || echo "")

remove_all() {
    local pid ns
    for pid in "${HOLDER_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${HOLDER_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    for ns in "${NAMES[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
    log "removed ${#NAMES[@]} namespaces"
    HOLDER_PIDS=()
    NAMES=()
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    remove_all
    [[ -z "$OLD_CHILD" ]] || echo "$OLD_CHILD" >"$CHILD_SYSCTL" 2>/dev/null || true
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# round NAME: make the namespaces and their sockets, check both list the
# same, time both, keep hyperfine's JSON as $OUT/NAME.json and nettool's
# peak RSS in $OUT/NAME.rss; then remove them.
round() {
    local name=$1 i t ns
    log "round $name: making $NS_COUNT namespaces with $CONNS loopback connections each"
    for ((i = 0; i < NS_COUNT; i++)); do
        ns="$PREFIX$i"
        NAMES+=("$ns") # owned before made: a failure half-way still cleans up
        ip netns add "$ns"
        ip -n "$ns" link set lo up
        rm -f "$OUT/ready.$i"
        ip netns exec "$ns" python3 "$HOLDER" --index 0 --conns "$CONNS" --ready "$OUT/ready.$i" &
        HOLDER_PIDS+=($!)
    done
    for ((i = 0; i < NS_COUNT; i++)); do
        for ((t = 0; t < 600; t++)); do
            [[ -f "$OUT/ready.$i" ]] && break
            kill -0 "${HOLDER_PIDS[$i]}" 2>/dev/null || die "holder in ${NAMES[$i]} died"
            sleep 0.05
        done
        [[ -f "$OUT/ready.$i" ]] || die "holder in ${NAMES[$i]} not ready after 30 s"
    done
    ip netns exec "${PREFIX}0" cat /proc/sys/net/ipv4/tcp_ehash_entries >"$OUT/$name.ehash" 2>/dev/null ||
        echo unknown >"$OUT/$name.ehash"

    # The loop over exactly the bench's namespaces, as a user would write it.
    LOOP="$OUT/loop.sh"
    printf '%s\n' "for ns in \$(ip netns list | awk '{print \$1}' | grep '^$PREFIX'); do ip netns exec \"\$ns\" ss -tanH; done" >"$LOOP"

    # Same sockets from both: every bench socket (2 per connection + a listener).
    local want=$((NS_COUNT * (2 * CONNS + 1))) got_loop got_nettool
    got_loop=$(bash "$LOOP" | wc -l)
    got_nettool=$("$BIN" sockstat --all-netns -tan | grep -c "^$PREFIX" || true)
    log "sockets in the bench's namespaces: expected $want, loop $got_loop, nettool $got_nettool"
    ((got_loop == want && got_nettool == want)) || die "the two do not list the same sockets"

    log "hyperfine: $RUNS runs each"
    hyperfine --warmup 2 --runs "$RUNS" --export-json "$OUT/$name.json" \
        -n "nettool sockstat --all-netns -tan" "$BIN sockstat --all-netns -tan" \
        -n "ip netns exec NS ss -tanH loop" "bash $LOOP" >&2
    { /usr/bin/time -f %M "$BIN" sockstat --all-netns -tan >/dev/null; } 2>&1 | tail -1 >"$OUT/$name.rss"
    "$BIN" sockstat --all-netns -s --json 2>/dev/null |
        python3 -c 'import json, sys; print(len(json.load(sys.stdin)["namespaces"]))' >"$OUT/$name.scanned"
    remove_all
}

rounds=(shared)
[[ -z "$OLD_CHILD" ]] || echo 0 >"$CHILD_SYSCTL"
round shared
if [[ "$CHILD_EHASH" != 0 ]]; then
    if [[ -n "$OLD_CHILD" ]]; then
        echo "$CHILD_EHASH" >"$CHILD_SYSCTL"
        round own
        echo 0 >"$CHILD_SYSCTL"
        rounds+=(own)
    else
        log "no $CHILD_SYSCTL (a kernel before 6.1): the 'own' round is skipped"
    fi
fi
WANT=$((NS_COUNT * (2 * CONNS + 1)))

python3 - "$OUT" "$RESULTS" "$NS_COUNT" "$CONNS" "$RUNS" "$WANT" "$(cat /proc/sys/net/ipv4/tcp_ehash_entries)" "${rounds[@]}" <<'PY'
import json, platform, sys, time
out, results, ns, conns, runs, want, host_ehash, *rounds = sys.argv[1:]
what = {
    "shared": "kernel default: one host-wide established hash",
    "own": "net.ipv4.tcp_child_ehash_entries set: a hash per namespace",
}
lines = [
    "# `sockstat --all-netns` vs an `ip netns exec NS ss` loop",
    "",
    f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on Linux {platform.release()} "
    f"by benches/netns.sh: {ns} namespaces x {conns} loopback connections "
    f"({want} sockets in them), hyperfine --warmup 2 --runs {runs}, output discarded; "
    f"the host's established hash has {host_ehash} buckets.",
    "",
    "| round | command | median | stddev | runs | ratio (loop / nettool) | nettool peak RSS |",
    "|---|---|---:|---:|---:|---:|---:|",
]
notes = []
for name in rounds:
    r = json.load(open(f"{out}/{name}.json"))["results"]
    nt, loop = r[0], r[1]
    ratio = loop["median"] / nt["median"]
    rss = int(open(f"{out}/{name}.rss").read()) / 1024
    ehash = open(f"{out}/{name}.ehash").read().strip()
    # A namespace that shares the host's hash shows its size negated.
    if ehash.startswith("-"):
        ehash = f"the host's, {ehash[1:]}"
    scanned = int(open(f"{out}/{name}.scanned").read())
    for x in r:
        lines.append(
            f"| {name} | `{x['command']}` | {x['median']*1000:.1f} ms | {x['stddev']*1000:.1f} ms "
            f"| {len(x['times'])} | {ratio:.1f}x | {rss:.1f} MiB |"
        )
    ok = "met" if ratio >= 10 else "NOT met"
    notes.append(
        f"- {name} ({what[name]}; each namespace's hash: {ehash} buckets): "
        f"{ratio:.1f}x, target >= 10x {ok}; per namespace: loop "
        f"{loop['median'] / int(ns) * 1000:.2f} ms, nettool {nt['median'] / scanned * 1000:.2f} ms "
        f"over {scanned} namespaces (the host's and every other one on the machine included)"
    )
lines += ["", *notes, ""]
text = "\n".join(lines)
open(results, "w").write(text)
print(text)
PY
