#!/usr/bin/env bash
# benches/arp_watch.sh - how many ARP frames per second `nettool arp --watch`
# reads without a drop, the flood rising until drops appear; arpwatch beside.
#
# What it measures
#   A veth pair between two private namespaces: the watcher (198.51.100.1/24)
#   and a sender. For each rate (default 100k, 150k, 200k, 300k, 400k frames
#   per second) the sender floods SECS seconds (default 5) of ARP replies, each
#   from a MAC not sent before in the run, for random addresses of
#   198.51.100.0/24 (so every frame is news to a watcher: a MAC its address
#   never had), and
#     * nettool: `nettool arp --watch -I IF -q --json`, stopped by SIGTERM: its
#       summary's frames read and kernel_drops (PACKET_STATISTICS of its
#       TPACKET_V3 ring). -q: no line per event (the capture and the
#       machine are measured, not the terminal).
#     * arpwatch: `arpwatch -d -N -p -i IF -f DIR/arp.dat` on the same flood
#       (separately): it reports every such frame (new station, changed
#       ethernet address, flip flop), so the reports it printed over the
#       frames sent is the share it kept up with; it has no drop counter of
#       its own (libpcap, whose count it does not print).
#   The sender is a python3 loop over a raw packet socket: its achieved rate
#   is printed too, and a rate it cannot reach is said so.
#   Results go to benches/RESULTS-arp-watch.md (or --results) and stdout.
#
# The lab (shared LAB.md, followed strictly)
#   Namespaces nt-<pid>-w and nt-<pid>-s joined by veth nt-<pid>-w0 /
#   nt-<pid>-s0, created straight inside them (nothing in the root
#   namespace, eth0 never touched), addrgenmode none (no IPv6 chatter). Every
#   command runs inside one of them. An EXIT trap deletes both.
#
# Usage: needs root, python3, arpwatch, iproute2.
#   bash benches/arp_watch.sh [--rates "100000 150000 200000"] [--secs 5]
#        [--bin target/release/nettool] [--results benches/RESULTS-arp-watch.md]
#        [--no-arpwatch] [--with-lines]
#   --with-lines: nettool also writes every event as a JSON line (to a file)
#   instead of -q: the renderer's cost on top of the capture.
#   target/release/nettool is built with `cargo build --release` if missing.

set -euo pipefail

cd "$(dirname "$0")/.."
RATES="100000 150000 200000 300000 400000"
SECS=5
BIN=target/release/nettool
RESULTS=benches/RESULTS-arp-watch.md
ARPWATCH=1
NT_OUT=-q
while [ $# -gt 0 ]; do
    case "$1" in
        --rates) RATES="$2"; shift 2 ;;
        --secs) SECS="$2"; shift 2 ;;
        --bin) BIN="$2"; shift 2 ;;
        --results) RESULTS="$2"; shift 2 ;;
        --no-arpwatch) ARPWATCH=0; shift ;;
        --with-lines) NT_OUT=; shift ;;
        -h|--help) sed -n '2,36p' "$0"; exit 0 ;;
        *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done
[ "$(id -u)" = 0 ] || { echo "needs root (namespaces, raw sockets)" >&2; exit 2; }
command -v python3 >/dev/null || { echo "needs python3" >&2; exit 2; }
if [ "$ARPWATCH" = 1 ] && ! command -v arpwatch >/dev/null; then
    echo "arpwatch missing: apt-get install -y arpwatch, or --no-arpwatch" >&2; exit 2
fi
[ -x "$BIN" ] || cargo build --release

W=nt-$$-w
S=nt-$$-s
WIF=nt-$$-w0
SIF=nt-$$-s0
TMP=$(mktemp -d)
cleanup() {
    ip netns del "$W" 2>/dev/null || true
    ip netns del "$S" 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT
ip netns add "$W"
ip netns add "$S"
ip link add "$WIF" netns "$W" type veth peer name "$SIF" netns "$S"
ip -n "$W" link set dev "$WIF" addrgenmode none
ip -n "$S" link set dev "$SIF" addrgenmode none
ip -n "$W" addr add 198.51.100.1/24 dev "$WIF"
ip -n "$S" addr add 198.51.100.2/24 dev "$SIF"
ip -n "$W" link set "$WIF" up
ip -n "$S" link set "$SIF" up
ip -n "$W" link set lo up
ip -n "$S" link set lo up
sleep 0.5

# The sender: RATE frames per second for SECS seconds, in 1 ms batches;
# prints "sent achieved_rate".
cat > "$TMP/flood.py" <<'PY'
import os, random, socket, sys, time
iface, rate, secs = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((iface, 0))
rnd = random.Random(7)
hosts = [bytes([198, 51, 100, 2 + rnd.randrange(250)]) for _ in range(65536)]
head, arp = b"\xff" * 6, b"\x08\x06" + bytes([0, 1, 8, 0, 6, 4, 0, 2])
tail = b"\x00" * 6 + bytes([198, 51, 100, 1]) + b"\x00" * 18
def frame(i):
    # A MAC never sent before in this run (the counter), a random address.
    mac = b"\x02\x5e" + i.to_bytes(4, "big")
    return head + mac + arp + mac + hosts[i & 0xffff] + tail
limit = int(rate * secs)
sent = 0
start = time.monotonic()
send = s.send
while sent < limit:
    due = min(limit, int((time.monotonic() - start) * rate))
    if sent >= due:
        time.sleep(0.0005)
        continue
    while sent < due:
        try:
            send(frame(sent))
            sent += 1
        except OSError:
            time.sleep(0.0002)
            break
elapsed = time.monotonic() - start
print(sent, int(sent / elapsed))
PY

run_nettool() {
    local rate=$1
    # Stopped by SIGTERM a second after the flood, however long the sender
    # took (a rate it cannot reach takes it longer than SECS).
    ip netns exec "$W" "$BIN" arp --watch -I "$WIF" $NT_OUT --json \
        > "$TMP/nt.json" 2> "$TMP/nt.err" &
    local pid=$!
    sleep 2
    local flood
    flood=$(ip netns exec "$S" python3 "$TMP/flood.py" "$SIF" "$rate" "$SECS")
    sleep 1
    kill -TERM "$pid"
    wait "$pid"
    python3 - "$TMP/nt.json" "$flood" <<'PY'
import json, sys
with open(sys.argv[1], "rb") as f:
    f.seek(0, 2)
    f.seek(max(0, f.tell() - 4096))
    s = json.loads(f.read().decode().strip().splitlines()[-1])
sent, achieved = sys.argv[2].split()
print(sent, achieved, s["frames"], s["kernel_drops"])
PY
}

run_arpwatch() {
    local rate=$1
    : > "$TMP/arp.dat"
    ip netns exec "$W" arpwatch -d -N -p -i "$WIF" -f "$TMP/arp.dat" > "$TMP/aw.out" 2>&1 &
    local pid=$!
    sleep 2
    local flood
    flood=$(ip netns exec "$S" python3 "$TMP/flood.py" "$SIF" "$rate" "$SECS")
    sleep 2
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    local reports
    reports=$(grep -c '^Subject: ' "$TMP/aw.out" || true)
    echo "$flood $reports"
}

COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
{
    echo "# \`nettool arp --watch\` under an ARP flood"
    echo
    echo "Written by \`bash benches/arp_watch.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'), commit $COMMIT"
    echo "($BIN), $(nproc) CPUs, kernel $(uname -r). A veth pair between two"
    echo "namespaces; ${SECS} s of ARP replies, each from a new MAC, for random addresses of"
    echo "198.51.100.0/24 (every frame news to a watcher), sent by a python3 raw-socket loop."
    echo
    echo "| rate asked (/s) | sent | rate achieved (/s) | nettool frames read | nettool kernel drops | arpwatch reports | arpwatch kept up |"
    echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
} > "$TMP/results.md"

for rate in $RATES; do
    read -r sent achieved frames drops < <(run_nettool "$rate")
    aw_reports="-"
    aw_share="-"
    if [ "$ARPWATCH" = 1 ]; then
        read -r aw_sent _aw_achieved aw_reports < <(run_arpwatch "$rate")
        aw_share=$(python3 -c "print(f'{100 * $aw_reports / max(1, $aw_sent):.1f} %')")
    fi
    line="| $rate | $sent | $achieved | $frames | $drops | $aw_reports | $aw_share |"
    echo "$line"
    echo "$line" >> "$TMP/results.md"
    if [ "$drops" != 0 ]; then
        echo "drops at $rate/s: stopping the rise" >&2
        break
    fi
done
{
    echo
    echo "nettool frames read include the odd frame of the lab itself; drops are the"
    echo "kernel's count for nettool's ring. arpwatch's share is reports printed over"
    echo "frames sent in its own run of the same flood. Where the achieved rate is below"
    echo "the one asked, the python3 sender was the limit, not the watchers."
} >> "$TMP/results.md"
cp "$TMP/results.md" "$RESULTS"
echo "results: $RESULTS"
