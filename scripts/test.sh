#!/usr/bin/env bash
# Install what the tests need (Debian packages, only when missing) and run
# every test. README.md names this script as the test command; .ci/run
# calls it too. Needs root (apt-get, network namespaces, raw sockets).
set -euo pipefail
cd "$(dirname "$0")/.."

# iproute2: ss (cross-check) and ip netns; util-linux: setpriv (unprivileged
# runs); nftables, net-tools: lab rules and netstat; arping and arp-scan:
# independent witnesses in the ARP lab; ieee-data: vendor names;
# tftpd-hpa: a real TFTP server (and libpcre2/libwrap for atftpd, below);
# prometheus: promtool checks the metrics text; nmap, netcat-openbsd and
# traceroute: oracles for probe's port states and its --trace hops; tmux:
# a terminal for sockstat --watch's live view; tftp-hpa (client `tftp`),
# atftp (client `atftp`), busybox (`busybox tftp`) and curl (`tftp://`):
# the real clients `nettool tftp serve` must interoperate with; ndisc6 and
# arpwatch: oracles for IPv6 neighbour solicitation and for arp --watch;
# prometheus-node-exporter: the real textfile collector the metrics feed;
# inotify-tools: inotifywait watches the textfile directory; libcap2-bin,
# man-db, systemd: the .deb's setcap, man pages and example units.
packages=(iproute2 util-linux nftables net-tools procps arping arp-scan ieee-data
    tftpd-hpa libwrap0 libpcre2-8-0 prometheus nmap netcat-openbsd traceroute tmux
    tftp-hpa atftp busybox curl ndisc6 arpwatch prometheus-node-exporter
    inotify-tools libcap2-bin man-db systemd)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # Install without starting daemons (tftpd-hpa's would listen on port
    # 69): the tests start their own servers on loopback.
    added_policy=
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod +x /usr/sbin/policy-rc.d
        added_policy=1
    fi
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    [ -z "$added_policy" ] || rm -f /usr/sbin/policy-rc.d
fi

# atftpd, the second TFTP server (windowsize): its package conflicts with
# tftpd-hpa's, so unpack it into target/atftpd/ (tests/tftpd finds it there,
# or at $ATFTPD).
if [ -z "${ATFTPD:-}" ] && [ ! -x target/atftpd/usr/sbin/atftpd ]; then
    echo "unpacking atftpd into target/atftpd"
    dl=$(mktemp -d)
    if ! (cd "$dl" && apt-get download -qq -o APT::Sandbox::User=root atftpd 2>/dev/null); then
        apt-get update -qq
        (cd "$dl" && apt-get download -qq -o APT::Sandbox::User=root atftpd)
    fi
    mkdir -p target
    dpkg -x "$dl"/atftpd_*.deb target/atftpd
    rm -rf "$dl"
fi

# The Debian package, for tests/deb.rs (a release build, then dpkg-deb).
cargo_deb_version=3.8.0
if ! cargo deb --version 2>/dev/null | grep -qx "cargo-deb $cargo_deb_version"; then
    echo "installing cargo-deb $cargo_deb_version"
    cargo install --quiet --locked cargo-deb --version "$cargo_deb_version"
fi
rm -f target/debian/nettool_*.deb
cargo deb --locked --quiet --output target/debian/

cargo test --locked --all-targets
