#!/usr/bin/env bash
# benches/watch.sh - CPU of `nettool sockstat --watch` per interval.
#
# What it measures
#   For each size N (default 1000, 10000 and 40000 sockets = N/2 loopback TCP
#   connections, both ends, held by benches/sockholder.py), it runs
#     nettool sockstat --watch -t -a --json --interval INTERVAL --duration SECS
#   under /usr/bin/time and divides its user and system CPU time by the
#   number of dumps it took (the `dumps` of its summary record). The issue's
#   target: user time per interval (nettool's own work: parsing, the diff)
#   below system time (the kernel's dump) at every size. It also checks that
#   the watch saw no event (the held sockets do not change) and wrote its
#   summary. Results: a table on stdout and in benches/RESULTS-watch.md.
#
# Where
#   Everything runs inside one network namespace the script makes
#   (nt-<pid>-watch, loopback only) and deletes on exit.
#
# Usage (needs root for the namespace):
#   bash benches/watch.sh [--sizes 1000,10000,40000] [--interval 0.5]
#        [--duration 10] [--per-holder 5000] [--bin target/release/nettool]
#        [--results benches/RESULTS-watch.md]
#   A quick check that it works: --sizes 100 --duration 1 --results /tmp/w.md

set -euo pipefail

die() {
    echo "watch.sh: error: $*" >&2
    exit 1
}
log() {
    echo "==> [$(date +%T)] $*" >&2
}

SIZES="1000,10000,40000"
INTERVAL=0.5
DURATION=10
PER_HOLDER=5000
BIN=""
RESULTS=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --sizes) SIZES="${2:?}"; shift 2 ;;
        --interval) INTERVAL="${2:?}"; shift 2 ;;
        --duration) DURATION="${2:?}"; shift 2 ;;
        --per-holder) PER_HOLDER="${2:?}"; shift 2 ;;
        --bin) BIN="${2:?}"; shift 2 ;;
        --results) RESULTS="${2:?}"; shift 2 ;;
        -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
        *) die "unknown argument: $1" ;;
    esac
done

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
BIN="${BIN:-$ROOT/target/release/nettool}"
RESULTS="${RESULTS:-benches/RESULTS-watch.md}"
HOLDER="$ROOT/benches/sockholder.py"
for tool in ss ip python3; do
    command -v "$tool" >/dev/null || die "'$tool' not found (apt-get install -y iproute2 python3)"
done
[[ -x /usr/bin/time ]] || die "/usr/bin/time not found (apt-get install -y time)"
if [[ "$BIN" == "$ROOT/target/release/nettool" && ! -x "$BIN" ]]; then
    log "building $BIN (cargo build --release)"
    cargo build --release
fi
[[ -x "$BIN" ]] || die "binary '$BIN' not found or not executable"

NS="nt-$$-watch"
HOLDER_PIDS=()
HOLDER_RUN=(ip netns exec "$NS")
# shellcheck source=benches/holders.sh
source "$ROOT/benches/holders.sh"
ip netns add "$NS" || die "cannot make network namespace $NS (run as root)"
ip -n "$NS" link set lo up
in_ns() { ip netns exec "$NS" "$@"; }
on_exit() {
    local rc=$?
    trap - EXIT INT TERM
    stop_holders
    ip netns del "$NS" 2>/dev/null || true
    exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

OUT="$(mktemp -d)"
ROWS=()
IFS=, read -ra SIZE_LIST <<<"$SIZES"
for n in "${SIZE_LIST[@]}"; do
    conns=$(((n + 1) / 2))
    log "size $n: holding $conns connections in $NS"
    start_holders "$conns" "$OUT"
    sockets=$(in_ns ss -tanH | wc -l)
    in_ns /usr/bin/time -f '%U %S' -o "$OUT/time" "$BIN" sockstat --watch -t -a --json \
        --interval "$INTERVAL" --duration "$DURATION" >"$OUT/events" ||
        die "nettool --watch failed"
    summary=$(tail -n 1 "$OUT/events")
    events=$(($(wc -l <"$OUT/events") - 1))
    read -r user sys < <(tail -n 1 "$OUT/time")
    row=$(python3 - "$summary" "$user" "$sys" "$n" "$sockets" "$events" <<'EOF'
import json, sys
s = json.loads(sys.argv[1])
assert s.get("type") == "summary", s
user, sys_, n, sockets, events = float(sys.argv[2]), float(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6]
d = s["dumps"]
u, k = user / d * 1000, sys_ / d * 1000
ok = "n/a (below the 10 ms resolution)" if user == 0 and sys_ == 0 else ("yes" if u < k else "NO")
print(f"| {n} | {sockets} | {d} | {events} | {u:.2f} | {k:.2f} | {ok} |")
EOF
)
    ROWS+=("$row")
    stop_holders
    # SO_LINGER 0: the holders' sockets are reset, not left in TIME_WAIT.
    for ((i = 0; i < 100; i++)); do
        [[ $(in_ns ss -tanH | wc -l) -eq 0 ]] && break
        sleep 0.1
    done
done

{
    echo "# sockstat --watch: CPU per interval"
    echo
    echo "\`nettool sockstat --watch -t -a --interval $INTERVAL --duration $DURATION\`, $(nproc) CPUs, $(uname -r)."
    echo "CPU from /usr/bin/time (getrusage of the process, 10 ms resolution) over the whole run, divided by the dumps taken (the first included)."
    echo
    echo "| requested | TCP sockets | dumps | events | user ms/interval | sys ms/interval | user < sys |"
    echo "|---|---|---|---|---|---|---|"
    printf '%s\n' "${ROWS[@]}"
} | tee "$RESULTS"
