#!/usr/bin/env bash
# Capture the kernel's own Neighbor Discovery frames into tests/vectors/ndp-*.hex:
#   bash scripts/capture-ndp.sh [OUTDIR]     (default tests/vectors; needs root)
#
# Everything happens inside two namespaces this script makes (nt-<pid>-a with
# 2001:db8::1/64, nt-<pid>-b with 2001:db8::2/64, joined by a veth pair made
# inside them) and removes on exit, whatever happens. The root namespace's
# interfaces are never touched and nothing leaves the pair. Frames are read
# with an AF_PACKET socket in the receiving namespace (no tcpdump here), so
# each vector is a frame as the other side received it.
#
# Captured:
#   ndp-ns-resolve.hex  A's NS for 2001:db8::2 (A sends one UDP datagram to it)
#   ndp-na-solicited.hex B's answer (S and O set, target link-layer option)
#   ndp-ns-dad.hex      B's DAD NS for 2001:db8::3 (added without nodad): src ::
#   ndp-na-unsolicited.hex B's NA to ff02::1 when that DAD completes
#                       (ndisc_notify=1): O set, S clear
#   ndp-na-router.hex   B's answer again after forwarding=1 on B (R set)
# Output: one line of hex per layer: Ethernet, IPv6 header, the ICMPv6
# message's fixed 24 bytes, then one line per option.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/tests/vectors}
mkdir -p "$out"

pfx=nt-$$
a=$pfx-a
b=$pfx-b
va=$pfx-0
vb=$pfx-1
mac_a=02:00:00:00:00:0a
mac_b=02:00:00:00:00:0b
work=$(mktemp -d)

cleanup() {
    local pids
    pids=$(jobs -p)
    [ -z "$pids" ] || kill $pids 2>/dev/null || true
    ip netns del "$a" 2>/dev/null || true
    ip netns del "$b" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

ip netns add "$a"
ip netns add "$b"
# Made inside A with its peer moved straight into B: no interface is ever
# created in the root namespace.
ip -n "$a" link add "$va" address "$mac_a" type veth peer name "$vb" address "$mac_b" netns "$b"
for ns in "$a" "$b"; do
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.forwarding=0
    ip -n "$ns" link set lo up
done
ip -n "$a" addr add 2001:db8::1/64 dev "$va" nodad
ip -n "$b" addr add 2001:db8::2/64 dev "$vb" nodad
ip -n "$a" link set "$va" up
ip -n "$b" link set "$vb" up

# The capture: wait for one frame per SPEC (NAME=TYPE/TARGET[/SRC]: an ICMPv6
# type, its target and optionally the IPv6 source), write each as OUTDIR/NAME.hex.
cat >"$work/capture.py" <<'EOF'
import ipaddress, os, socket, sys, time

ETH_P_IPV6 = 0x86DD
PACKET_OUTGOING = 4
outdir, ready, iface, timeout = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
want = {}
for spec in sys.argv[5:]:
    name, rule = spec.split("=")
    parts = rule.split("/")
    src = ipaddress.IPv6Address(parts[2]).packed if len(parts) > 2 else None
    want[name] = (int(parts[0]), ipaddress.IPv6Address(parts[1]).packed, src)

s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_IPV6))
s.bind((iface, ETH_P_IPV6))
s.settimeout(0.2)
open(ready, "w").close()
end = time.monotonic() + timeout
while want and time.monotonic() < end:
    try:
        frame, addr = s.recvfrom(65535)
    except socket.timeout:
        continue
    if addr[2] == PACKET_OUTGOING or len(frame) < 14 + 40 + 24:
        continue
    ip6, icmp = frame[14:54], frame[54:]
    if ip6[6] != 58:
        continue
    for name, (kind, target, src) in list(want.items()):
        if icmp[0] == kind and icmp[8:24] == target and (src is None or ip6[8:24] == src):
            plen = int.from_bytes(ip6[4:6], "big")
            assert len(icmp) == plen, (name, len(icmp), plen)
            lines = [frame[:14], ip6, icmp[:24]]
            at = 24
            while at < len(icmp):
                n = icmp[at + 1] * 8
                assert n > 0, name
                lines.append(icmp[at:at + n])
                at += n
            with open(os.path.join(outdir, name + ".hex"), "w") as f:
                for l in lines:
                    f.write(" ".join("%02x" % x for x in l) + "\n")
            print("captured", name, file=sys.stderr)
            del want[name]
            break
if want:
    sys.exit("capture: nothing seen for " + ", ".join(sorted(want)))
EOF

# capture NS IFACE SPEC...: start a capture in NS and return once its socket
# is open; `collect` waits for every capture started and fails if one did.
pids=()
capture() {
    local ns=$1 iface=$2
    shift 2
    local ready
    ready=$work/ready-$RANDOM
    ip netns exec "$ns" python3 "$work/capture.py" "$out" "$ready" "$iface" 10 "$@" &
    pids+=($!)
    while [ ! -e "$ready" ]; do
        kill -0 "${pids[-1]}" 2>/dev/null || break
        sleep 0.05
    done
}
collect() {
    local p
    for p in "${pids[@]}"; do wait "$p"; done
    pids=()
}

# One datagram to B's address makes A resolve it: the kernel's NS, B's NA.
# Port 9 (discard): B answers port unreachable, which does not matter here.
poke() {
    ip netns exec "$a" python3 -c '
import socket
socket.socket(socket.AF_INET6, socket.SOCK_DGRAM).sendto(b"x", ("2001:db8::2", 9))'
}

capture "$b" "$vb" ndp-ns-resolve=135/2001:db8::2/2001:db8::1
capture "$a" "$va" ndp-na-solicited=136/2001:db8::2
poke
collect

# DAD for a new address on B's up interface, and (ndisc_notify) the
# unsolicited NA that announces it once DAD is done.
ip netns exec "$b" sysctl -qw "net.ipv6.conf.$vb.ndisc_notify=1"
capture "$a" "$va" ndp-ns-dad=135/2001:db8::3/:: ndp-na-unsolicited=136/2001:db8::3
ip -n "$b" addr add 2001:db8::3/64 dev "$vb"
collect
ip netns exec "$b" sysctl -qw "net.ipv6.conf.$vb.ndisc_notify=0"

# B as a router: its NA carries the R flag. A forgets B first so that it
# asks again.
ip netns exec "$b" sysctl -qw net.ipv6.conf.all.forwarding=1
ip -n "$a" neigh flush dev "$va"
capture "$a" "$va" ndp-na-router=136/2001:db8::2
poke
collect
echo "capture-ndp: wrote $out/ndp-*.hex"
