#!/usr/bin/env python3
"""Hold many established loopback TCP connections open, for benches/sockstat.sh.

Usage: sockholder.py --index I --conns C --ready PATH

Holder I listens on 127.77.255.1 (kernel-chosen port) and opens C connections
to itself, each from source address 127.77.<I // 250>.<I % 250 + 1> (bound
before connect, port picked by the kernel at connect time), accepting every
one.  That gives 2*C established sockets (client end + accepted end), all
owned by this process, plus one LISTEN socket.  Every socket address is inside
127.77.0.0/16, so the driver can count and await "our" sockets with
`ss -tanH src 127.77.0.0/16` without being confused by anything else.

Traffic is loopback only: no other address is ever bound or connected to, and
no name is ever resolved.

All sockets get SO_LINGER {on, 0}: when the holder is killed the kernel resets
the connections instead of leaving 2*C sockets in TIME_WAIT for 60 s, so the
next benchmark size starts from a clean table.

When everything is connected the holder writes "<pid> <listen-port> <conns>"
to PATH (atomically, via rename) and sleeps until it gets a signal.  It also
asks the kernel for SIGTERM if its parent dies, so a crashed driver does not
leave tens of thousands of sockets behind.
"""

import argparse
import ctypes
import os
import resource
import signal
import socket
import struct
import sys

LISTEN_ADDR = "127.77.255.1"
# Linux <netinet/in.h>: defer port choice of bind(addr, 0) to connect(), so
# that ports only need to be unique per 4-tuple.
IP_BIND_ADDRESS_NO_PORT = getattr(socket, "IP_BIND_ADDRESS_NO_PORT", 24)
PR_SET_PDEATHSIG = 1
LINGER_RST = struct.pack("ii", 1, 0)


def source_addr(index: int) -> str:
    return f"127.77.{index // 250}.{index % 250 + 1}"


def raise_nofile(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= needed:
        return
    if hard != resource.RLIM_INFINITY and hard < needed:
        hard = needed  # needs root (CAP_SYS_RESOURCE); fails clearly otherwise
    resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--index", type=int, required=True)
    ap.add_argument("--conns", type=int, required=True)
    ap.add_argument("--ready", required=True)
    args = ap.parse_args()
    if not 0 <= args.index < 250 * 250:
        ap.error("--index out of range")

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except OSError:
        pass
    # Die quietly on SIGTERM/SIGINT; the kernel closes (and resets) everything.
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    signal.signal(signal.SIGINT, lambda *_: os._exit(0))

    raise_nofile(2 * args.conns + 64)

    src = source_addr(args.index)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER_RST)
    listener.bind((LISTEN_ADDR, 0))
    listener.listen(4096)
    port = listener.getsockname()[1]

    held = []
    for _ in range(args.conns):
        c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        c.setsockopt(socket.IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, 1)
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER_RST)
        c.bind((src, 0))
        # Loopback: the handshake completes inside connect(), and accepting
        # right away keeps the accept queue from ever filling up.
        c.connect((LISTEN_ADDR, port))
        a, _ = listener.accept()
        a.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER_RST)
        held.append(c)
        held.append(a)

    tmp = args.ready + ".tmp"
    with open(tmp, "w") as f:
        f.write(f"{os.getpid()} {port} {args.conns}\n")
    os.rename(tmp, args.ready)

    while True:
        signal.pause()


if __name__ == "__main__":
    sys.exit(main())
