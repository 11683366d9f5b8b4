#!/usr/bin/env python3
"""Write seed corpora for the fuzz targets into fuzz/corpus/<target>/.

Seeds come from the codec vectors (tests/vectors), from table rows in the
shape the kernel prints, from sock_diag replies captured from this kernel
(run it in a fresh network namespace, `unshare -n`, as fuzz/run.sh does, so
only the sockets this script opens are seen), and, for the session targets,
hand-written step lists in the format their headers describe. Every seed is
rewritten on each run; what the fuzzer adds beside them is kept.
"""
import os
import socket
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def vector(name):
    with open(os.path.join(ROOT, "tests", "vectors", name)) as f:
        return [bytes.fromhex(l) for l in f.read().splitlines() if l.strip()]


def put(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


def tftp_packets():
    rrq = vector("tftp-rrq-frame.hex")[-1]
    return {
        "rrq": rrq,
        "wrq": b"\x00\x02boot.img\x00octet\x00tsize\x001024\x00",
        "data": b"\x00\x03\x00\x01" + b"x" * 512,
        "data-last": b"\x00\x03\xff\xff" + b"end",
        "ack": b"\x00\x04\x00\x00",
        "error": b"\x00\x05\x00\x01File not found\x00",
        "oack": b"\x00\x06blksize\x001468\x00windowsize\x0016\x00tsize\x0099999\x00",
    }


def sock_diag_dumps():
    """One TCP v4, one TCP v6 and one UNIX dump reply, as datagrams."""
    keep = [socket.socket(socket.AF_INET, socket.SOCK_STREAM)]
    keep[0].bind(("127.0.0.1", 0))
    keep[0].listen(4)
    c = socket.create_connection(keep[0].getsockname())
    keep.append(c)
    try:
        l6 = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        l6.bind(("::1", 0))
        l6.listen(4)
        keep.append(l6)
    except OSError:
        pass
    u = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    u.bind("\0nettool-fuzz-seed")
    u.listen(1)
    keep.append(u)
    out = {}
    nl = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 4)  # NETLINK_SOCK_DIAG
    # nlmsghdr: len, SOCK_DIAG_BY_FAMILY (20), NLM_F_REQUEST|NLM_F_DUMP, seq, pid
    for name, family, body in [
        ("tcp4", socket.AF_INET, struct.pack("=BBBBI", socket.AF_INET, 6, 0, 0, 0xFFF) + bytes(48)),
        ("tcp6", socket.AF_INET6, struct.pack("=BBBBI", socket.AF_INET6, 6, 0, 0, 0xFFF) + bytes(48)),
        # -i -m: idiag_ext asks for INET_DIAG_INFO, _CONG and _SKMEMINFO.
        ("tcp4-info", socket.AF_INET, struct.pack("=BBBBI", socket.AF_INET, 6, 0x4A, 0, 0xFFF) + bytes(48)),
        ("unix", socket.AF_UNIX, struct.pack("=BBHIII", socket.AF_UNIX, 0, 0, 0xFFF, 0, 0x1F) + bytes(8)),
    ]:
        msg = struct.pack("=IHHII", 16 + len(body), 20, 0x301, 7, 0) + body
        nl.sendto(msg, (0, 0))
        out[name] = nl.recv(65536)
        # Read on to NLMSG_DONE (3) so the next request starts clean.
        dgram = out[name]
        while not done(dgram):
            dgram = nl.recv(65536)
    for s in keep:
        s.close()
    return out


def done(dgram):
    """Whether a datagram holds NLMSG_DONE or NLMSG_ERROR."""
    at = 0
    while at + 16 <= len(dgram):
        length, kind = struct.unpack_from("=IH", dgram, at)
        if kind in (2, 3):
            return True
        at += max(16, (length + 3) & ~3)
    return False


def main():
    for name, p in tftp_packets().items():
        put("tftp_packet", name, p)
    put("netascii", "lines", b"\x05line one\r\nbare cr\r\x00nul\x00\r")
    put("netascii", "crlf", b"\x01\r\n\r\n\n\r")

    for i, frame in enumerate([vector("arp-request.hex"), vector("arp-reply.hex")]):
        put("arp_frame", "vector-%d" % i, b"".join(frame))
        put("arp_frame", "arp-only-%d" % i, frame[-1])
    for name in ("ndp-ns-resolve", "ndp-ns-dad", "ndp-na-solicited", "ndp-na-unsolicited", "ndp-na-router"):
        put("ndp", name, b"".join(vector(name + ".hex")))
    # arp_watch: a split byte (the length of the database text), the text,
    # then frames, each a length byte and that many bytes.
    db = (b'{"schema":"nettool.arp.db/1"}\n'
          b'{"interface":"lab0","ip":"198.51.100.2","mac":"02:00:00:00:00:02",'
          b'"first_seen_ms":1,"mac_since_ms":1,"last_seen_ms":2,"past":[]}\n')
    frames = b""
    for name in ("arp-request", "arp-reply", "ndp-na-solicited", "ndp-na-unsolicited", "ndp-ns-dad"):
        f = b"".join(vector(name + ".hex"))[:255]
        frames += bytes([len(f)]) + f
    put("arp_watch", "db-and-frames", bytes([len(db)]) + db + frames)
    put("arp_watch", "frames", b"\x00" + frames)

    tcp = ("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt"
           "   uid  timeout inode\n"
           "   0: 0100007F:0016 00000000:0000 0A 00000000:00000080 00:00000000 00000000"
           "     0        0 12345 1 0000000000000000 100 0 0 10 0\n"
           "   1: 0100007F:0016 0100007F:D431 01 00000005:00000000 02:00000BB8 00000000"
           "  1000        0 12346 1 0000000000000000 20 4 30 10 -1\n")
    tcp6 = ("  sl  local_address                         remote_address"
            "                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
            "   0: 00000000000000000000000001000000:0016 00000000000000000000000000000000:0000"
            " 0A 00000000:00000000 00:00000000 00000000     0        0 555 1 0000000000000000 100 0 0 10 0\n"
            "   1: 0000000000000000FFFF00000100007F:0016 0000000000000000FFFF00000100007F:C350"
            " 01 00000000:00000000 00:00000000 00000000     0        0 556 1 0000000000000000 20 4 30 10 -1\n")
    put("procnet_inet", "tcp4", b"\x00" + tcp.encode())
    put("procnet_inet", "tcp6", b"\x04" + tcp6.encode())
    put("procnet_inet", "udp4", b"\x01" + tcp.replace(" 0A ", " 07 ").encode())
    unix = ("Num       RefCount Protocol Flags    Type St Inode Path\n"
            "0000000000000000: 00000002 00000000 00010000 0001 01 23456 /run/app.sock\n"
            "0000000000000000: 00000003 00000000 00000000 0001 03 23457 @abstract\n"
            "0000000000000000: 00000002 00000000 00000000 0002 01 23458\n")
    put("procnet_unix", "unix", unix.encode())
    put("proc_sockstat", "sockstat",
        b"sockets: used 120\nTCP: inuse 5 orphan 0 tw 2 alloc 7 mem 1\n"
        b"UDP: inuse 2 mem 0\nUDPLITE: inuse 0\nRAW: inuse 0\nFRAG: inuse 0 memory 0\n")
    put("proc_counters", "snmp", b"\x00" + open("/proc/net/snmp", "rb").read())
    put("proc_counters", "netstat", b"\x00" + open("/proc/net/netstat", "rb").read())
    if os.path.exists("/proc/net/snmp6"):
        put("proc_counters", "snmp6", b"\x01" + open("/proc/net/snmp6", "rb").read())
    docker = "0::/system.slice/docker-" + "ab" * 32 + ".scope\n"
    put("cgroup_container", "docker", docker.encode())
    put("cgroup_container", "kubepods",
        ("12:memory:/kubepods/burstable/pod1f2e3d4c-5b6a-7980-a1b2-c3d4e5f6a7b8/" + "cd" * 32 + "\n"
         "0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1f2e3d4c_5b6a_7980_a1b2_c3d4e5f6a7b8.slice/"
         "cri-containerd-" + "ef" * 32 + ".scope\n").encode())
    put("cgroup_container", "podman", ("0::/machine.slice/libpod-" + "01" * 32 + ".scope/container\n").encode())
    arp = ("IP address       HW type     Flags       HW address            Mask     Device\n"
           "198.51.100.2     0x1         0x2         02:11:22:33:44:55     *        veth0\n"
           "198.51.100.9     0x1         0x0         00:00:00:00:00:00     *        veth0\n")
    route = ("Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
             "veth0\t006433C6\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
             "veth0\t007100CB\t026433C6\t0003\t0\t0\t0\t00FFFFFF\t0\t0\t0\n")
    put("arp_cache_route", "arp", bytes(4) + arp.encode())
    put("arp_cache_route", "route", b"\xc6\x33\x64\x02" + route.encode())

    for s in ["198.51.100.0/24", "[::ffff:127.0.0.1]", "[::ffff:0.0.0.0/96]:22", "[2001:db8::1]:443",
              ":22", "::1", "fe80::1%lo", "2001:db8::/32"]:
        put("addr_filter", s.replace("/", "_").replace(":", "-"), bytes(16) + b"\x01\x00\x16" + s.encode())
    for s in ["127.0.0.1:6969", "[::1]:69", "tftp://127.0.0.1/dir/file", "TFTP://[::1]:70/x",
              "fe80::1%lo", "images/", "198.51.100.0/28", "198.51.100.2:22,80,8000-8100",
              "[2001:db8::2]:1-1024", "198.51.100.0/28:22", "[2001:db8::/120]:22,443"]:
        put("host_port", s.replace("/", "_").replace(":", "-"), s.encode())

    rtnl = ["rtnl-neigh-v4-stale", "rtnl-neigh-v4-failed", "rtnl-neigh-v6-stale", "rtnl-neigh-v6-failed",
            "rtnl-route-v4-link", "rtnl-route-v4-gateway", "rtnl-route-v6-gateway", "rtnl-route-v4-local",
            "rtnl-route-unreachable"]
    for name in rtnl:
        put("rtnetlink", name, b"".join(vector(name + ".hex")))
    done = bytes.fromhex("14 00 00 00 03 00 02 00 07 00 00 00 00 00 00 00 00 00 00 00")
    put("rtnetlink", "neigh-dump", b"".join(b"".join(vector(n + ".hex")) for n in rtnl[:4]) + done)

    for name in ("sock-diag-tcp-info", "sock-diag-udp-skmem"):
        put("sock_diag", name, b"".join(vector(name + ".hex")))
        # A destroy notification is the same inet_diag message.
        put("sock_diag_destroy", name, b"".join(vector(name + ".hex")))
    try:
        for name, dgram in sock_diag_dumps().items():
            put("sock_diag", name, dgram)
    except OSError as e:
        print("seeds.py: no sock_diag capture (%s)" % e, file=sys.stderr)

    # Sessions (formats in each target's header).
    be16 = lambda n: struct.pack(">H", n)
    be32 = lambda n: struct.pack(">I", n)
    LONG = b"\xff\x03"
    blocks = lambda count, length, skew=0, wrap=0: b"\x05" + count + be16(length) + bytes([skew & 0xFF, wrap])
    # Plain lock-step, a short file.
    put("tftp_download", "plain", b"\x00" + blocks(b"\x03", 512) + blocks(b"\x01", 100))
    # Options, OACK with tsize, then data.
    put("tftp_download", "oack", bytes([1 | 8 | 16]) + be16(1468) + be16(4)
        + b"\x03\x03" + be16(1468) + be16(4) + be32(5000) + blocks(b"\x03", 1468) + blocks(b"\x01", 596))
    # Past block 65535: a server that wraps to 1, and one that wraps to 0.
    # LONG: 4 x 16384 = 65536 blocks, the last one numbered 1 or 0 on the wire.
    # At blksize 8, so that a run stays small.
    small = bytes([8]) + be16(8) + b"\x03\x00" + be16(8) + be16(0) + be32(0)
    put("tftp_download", "wrap-to-one", small + blocks(LONG, 8, 0, 1) + blocks(b"\x03", 8, 0, 1) + blocks(b"\x01", 0, 0, 1))
    put("tftp_download", "wrap-to-zero", small + blocks(LONG, 8) + blocks(b"\x03", 8) + blocks(b"\x01", 0))
    # A stranger, a duplicate, a timeout, an error.
    put("tftp_download", "mixed", b"\x00" + blocks(b"\x02", 512) + b"\x01\x00" + be16(4) + b"\x00\x04\x00\x01"
        + blocks(b"\x01", 512, -1) + b"\x02" + b"\x04" + be16(1))
    put("tftp_upload", "plain", b"\x00" + be32(1300) + b"\x03" + be16(0) + b"\x06" + bytes([10]) + b"\x00")
    put("tftp_upload", "window", bytes([2 | 4]) + be16(512) + be16(8) + be32(100000)
        + b"\x04" + be16(512) + be16(8) + b"\x06" + bytes([200]) + b"\x00")
    put("tftp_upload", "wrap", bytes([2]) + be16(8) + be32(600000) + b"\x03" + be16(0)
        + b"\x06" + LONG + b"\x00" + b"\x06" + bytes([200]) + b"\x00")


if __name__ == "__main__":
    main()
