#!/usr/bin/env bash
# nettool's TFTP client before and after a change, against the other
# clients, one hyperfine run per setting (issue 16, "The client at 64 KiB
# blocks"). Loopback only: tftpd-hpa (and atftpd for windowsize) on
# 127.0.0.1, server pinned to CPU 1, every client to CPU 0.
#
# Usage: bash benches/tftp_client64k.sh [--runs N] [--tiny] [--out FILE.md]
#   NETTOOL_BEFORE  the binary to compare against (default: none)
#   NETTOOL_AFTER   the binary under test (default: target/release/nettool)
#   TFTPC           the Rust tftpd crate's client (cargo install --features
#                   client tftpd; default: tftpc on PATH, else skipped)
#   ATFTPD          atftpd for the windowsize setting (default:
#                   target/atftpd-bench/usr/sbin/atftpd, else skipped)
#   --tiny          1 MiB files and 3 runs: checks the script in seconds.
#
# Settings: blksize 512 (8 MiB), 1468 (16 MiB), 8192 (64 MiB), 65464
# (128 MiB) from tftpd-hpa; blksize 1468 windowsize 16 (16 MiB) from
# atftpd. Each output is removed before each run (--prepare) and written to
# tmpfs; every client's output is checked by SHA-256 once before timing.
# Wall time: hyperfine's median. CPU: hyperfine's mean user + sys per MiB.
set -euo pipefail

RUNS=21 TINY=0 OUT=""
while (($#)); do
    case "$1" in
        --runs) RUNS=$2; shift 2 ;;
        --tiny) TINY=1; RUNS=3; shift ;;
        --out) OUT=$2; shift 2 ;;
        *) echo "unknown argument $1" >&2; exit 2 ;;
    esac
done
die() { echo "tftp_client64k: $*" >&2; exit 1; }
for t in hyperfine taskset in.tftpd tftp atftp curl busybox sha256sum python3; do
    command -v "$t" >/dev/null || die "'$t' not found"
done
AFTER=${NETTOOL_AFTER:-target/release/nettool}
BEFORE=${NETTOOL_BEFORE:-}
TFTPC=${TFTPC:-$(command -v tftpc || true)}
ATFTPD=${ATFTPD:-target/atftpd-bench/usr/sbin/atftpd}
[[ -x $AFTER ]] || die "$AFTER not built (cargo build --release)"
AFTER=$(realpath "$AFTER")
[[ -z $BEFORE ]] || BEFORE=$(realpath "$BEFORE")
[[ -x $ATFTPD ]] && ATFTPD=$(realpath "$ATFTPD") || ATFTPD=""

WORK=$(mktemp -d /dev/shm/nt-client64k.XXXXXX)
SRV=$WORK/srv OUTD=$WORK/out
mkdir -p "$SRV" "$OUTD"
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
declare -A MIB=([512]=8 [1468]=16 [8192]=64 [65464]=128 [w16]=16)
((TINY)) && for k in "${!MIB[@]}"; do MIB[$k]=1; done
for k in "${!MIB[@]}"; do
    head -c $((MIB[$k] << 20)) /dev/urandom >"$SRV/f$k"
done
chmod 755 "$WORK" "$SRV" && chmod 644 "$SRV"/*

HPA=$(free_port)
taskset -c 1 in.tftpd -L -4 -a "127.0.0.1:$HPA" -s -u "$(id -un)" "$SRV" </dev/null >/dev/null 2>&1 &
PIDS+=($!)
ATF=""
if [[ -n $ATFTPD ]]; then
    ATF=$(free_port)
    taskset -c 1 "$ATFTPD" --daemon --no-fork --bind-address 127.0.0.1 --port "$ATF" \
        --user "$(id -un)" --group "$(id -gn)" --logfile /dev/null "$SRV" </dev/null >/dev/null 2>&1 &
    PIDS+=($!)
fi
sleep 0.5

# The command of client $1 for setting $2 (blksize or w16) at port $3.
command_of() {
    local c=$1 s=$2 port=$3 blk=$2 ws=0 f=f$2
    [[ $s == w16 ]] && { blk=1468; ws=16; }
    local o=$OUTD/$f
    case "$c" in
        nettool-before|nettool-after|nettool-after-dally0|nettool-before-dally0)
            local bin=$AFTER
            [[ $c == nettool-before* ]] && bin=$BEFORE
            echo -n "taskset -c 0 $bin tftp get 127.0.0.1:$port $f $o --blksize $blk"
            ((ws)) && echo -n " --windowsize $ws"
            [[ $c == *dally0 ]] && echo -n " --dally 0"
            echo ;;
        tftpc)
            echo -n "taskset -c 0 $TFTPC $f -i 127.0.0.1 -p $port -b $blk -d -rd $OUTD -q"
            ((ws)) && echo -n " -w $ws"
            echo ;;
        tftp-hpa) echo "taskset -c 0 tftp -m binary 127.0.0.1 $port -c get $f $o" ;;
        atftp)
            echo -n "taskset -c 0 atftp --option 'blksize $blk'"
            ((ws)) && echo -n " --option 'windowsize $ws'"
            echo " -g -r $f -l $o 127.0.0.1 $port" ;;
        curl) echo "taskset -c 0 curl -s -S -o $o --tftp-blksize $blk tftp://127.0.0.1:$port/$f" ;;
        busybox) echo "taskset -c 0 busybox tftp -g -r $f -l $o -b $blk 127.0.0.1 $port" ;;
    esac
}

RESULTS=()
echo "load at start: $(cut -d' ' -f1-3 /proc/loadavg)"
for s in 512 1468 8192 65464 w16; do
    port=$HPA
    clients=(nettool-after nettool-after-dally0)
    [[ -n $BEFORE ]] && clients=(nettool-before nettool-before-dally0 "${clients[@]}")
    [[ -n $TFTPC ]] && clients+=(tftpc)
    if [[ $s == w16 ]]; then
        [[ -n $ATF ]] || continue
        port=$ATF
        clients+=(atftp)
    else
        [[ $s == 512 ]] && clients+=(tftp-hpa)
        clients+=(atftp curl busybox)
    fi
    want=$(sha256sum <"$SRV/f$s" | cut -d' ' -f1)
    args=()
    for c in "${clients[@]}"; do
        cmd=$(command_of "$c" "$s" "$port")
        rm -f "$OUTD/f$s"
        bash -c "$cmd" >/dev/null 2>&1 || die "$c failed at $s: $cmd"
        got=$(sha256sum <"$OUTD/f$s" | cut -d' ' -f1)
        [[ $got == "$want" ]] || die "$c wrote a wrong file at $s"
        args+=(-n "$c" "$cmd")
    done
    hyperfine -N -w 2 -r "$RUNS" --prepare "rm -f $OUTD/f$s" \
        --export-json "$WORK/$s.json" "${args[@]}" >/dev/null
    RESULTS+=("$s|${MIB[$s]}|$WORK/$s.json")
done
echo "load at end: $(cut -d' ' -f1-3 /proc/loadavg)"

python3 - "$OUT" "${RESULTS[@]}" <<'EOF'
import json, statistics, sys
out, rows = sys.argv[1], sys.argv[2:]
name = {"512": "blksize 512", "1468": "blksize 1468", "8192": "blksize 8192",
        "65464": "blksize 65464", "w16": "blksize 1468, windowsize 16 (atftpd)"}
lines = ["| setting | client | median ms | min ms | CPU ms/MiB (user+sys) | median vs fastest other | CPU vs lowest other |",
         "|---|---|---:|---:|---:|---:|---:|"]
for r in rows:
    s, mib, path = r.split("|")
    res = json.load(open(path))["results"]
    med = {x["command"]: statistics.median(x["times"]) * 1e3 for x in res}
    mn = {x["command"]: min(x["times"]) * 1e3 for x in res}
    cpu = {x["command"]: (x["user"] + x["system"]) * 1e3 / int(mib) for x in res}
    others = [c for c in med if not c.startswith("nettool")]
    best = min((med[c] for c in others), default=None)
    low = min((cpu[c] for c in others), default=None)
    for c in med:
        rt = f"{med[c] / best:.3f}" if best else "-"
        rc = f"{cpu[c] / low:.3f}" if low else "-"
        lines.append(f"| {name[s]} ({mib} MiB) | {c} | {med[c]:.1f} | {mn[c]:.1f} | {cpu[c]:.3f} | {rt} | {rc} |")
text = "\n".join(lines) + "\n"
print(text)
if out:
    open(out, "w").write(text)
EOF
