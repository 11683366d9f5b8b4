#!/usr/bin/env bash
# Run every fuzz target (or those named) for SECONDS each (default 15):
#   bash fuzz/run.sh [-s SECONDS] [TARGET...]
# Needs the nightly toolchain and cargo-fuzz (installed here when missing).
# Everything runs in a fresh network namespace with only loopback up, so no
# target can send anything anywhere, whatever the code under test does.
# A crash fails the run; its input is left in fuzz/artifacts/TARGET/.
set -euo pipefail
cd "$(dirname "$0")"
seconds=15
if [ "${1:-}" = "-s" ]; then
    seconds=$2
    shift 2
fi
if ! cargo +nightly --version >/dev/null 2>&1; then
    echo "fuzz: no nightly toolchain here; fuzz targets not run"
    exit 0
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    echo "fuzz: installing cargo-fuzz"
    cargo +nightly install --locked cargo-fuzz >/dev/null 2>&1 \
        || cargo +nightly install cargo-fuzz >/dev/null
fi
targets=("$@")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(cargo +nightly fuzz list)
if [ $# -gt 0 ]; then
    for t in "${targets[@]}"; do cargo +nightly fuzz build -O "$t"; done
else
    cargo +nightly fuzz build -O
fi
unshare -n sh -c 'ip link set lo up && python3 seeds.py'
for t in "${targets[@]}"; do
    dict=()
    case "$t" in addr_filter | host_port) dict=(-dict=dict/addr.dict) ;; esac
    log=$(mktemp)
    if unshare -n sh -c 'ip link set lo up && exec "$@"' sh \
        cargo +nightly fuzz run -O "$t" -- -max_total_time="$seconds" -rss_limit_mb=2048 \
        "${dict[@]}" >"$log" 2>&1; then
        echo "fuzz $t: $(grep -E '^Done [0-9]+ runs' "$log" | tail -n 1)"
        rm -f "$log"
    else
        tail -n 40 "$log"
        echo "fuzz $t: FAILED (input in fuzz/artifacts/$t/, log $log)"
        exit 1
    fi
done
