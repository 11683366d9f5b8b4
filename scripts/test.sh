#!/usr/bin/env bash
# Install what the tests need (Debian packages, only when missing) and run
# every test. README.md names this script as the test command; .ci/run
# calls it too. Needs root (apt-get, network namespaces, raw sockets).
set -euo pipefail
cd "$(dirname "$0")/.."

# iproute2: ss (cross-check) and ip netns; util-linux: setpriv (unprivileged
# runs); nftables, net-tools: lab rules and netstat; arping and arp-scan:
# independent witnesses in the ARP lab; ieee-data: vendor names.
packages=(iproute2 util-linux nftables net-tools procps arping arp-scan ieee-data)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

cargo test --locked --all-targets
