#!/usr/bin/env bash
# benches/tftp.sh - benchmark `nettool tftp get` against tftp-hpa's tftp,
# atftp, curl tftp:// and busybox tftp on loopback.
#
# What it measures
#   One SIZE MiB file of random bytes (default 256) is served on 127.0.0.1 by
#     * tftpd-hpa (`in.tftpd -L -s -a 127.0.0.1:P ROOT`): lock-step only (it
#       drops windowsize from its OACK), for the default and blksize settings;
#     * atftpd 0.8.0 (unpacked from its .deb into target/atftpd-bench/, since
#       it conflicts with tftpd-hpa; `--daemon --no-fork --bind-address
#       127.0.0.1 --port P2 ROOT`): for windowsize 4/16/64 (RFC 7440) at
#       blksize WS_BLKSIZE (default 1468), plus the same blksize without
#       windowsize as a same-server reference.
#   Settings x clients (a client without the option gets "n/a"):
#     default      every client at its own defaults (512-byte blocks)
#     blksize N    N = 1468, 8192, 65464: nettool --blksize N, atftp --option
#                  "blksize N", curl --tftp-blksize N, busybox tftp -b N;
#                  tftp-hpa 5.2 has no blksize option (n/a)
#     windowsize W nettool --blksize B --windowsize W, atftp --option
#                  "blksize B" --option "windowsize W" (curl, busybox and
#                  tftp-hpa have no windowsize option)
#   Each (client, setting) runs RUNS times (default 3), interleaved round by
#   round.  For every run benches/tftp_bench.py times the whole client
#   process: wall time (spawn to reap) -> MB/s = bytes / 10^6 / median wall,
#   and user+sys CPU from the child's rusage (wait4; what /usr/bin/time
#   -f '%U %S' reports, at us resolution) -> CPU ms per MiB.  Every output
#   file is checked by SHA-256 against the source; a client that produced a
#   wrong or missing file gets no number.  nettool runs at its defaults
#   (including its default 0.02 s dally) except --blksize/--windowsize, plus --json
#   to record its retransmits/timeouts/duplicates.
#   Targets (from the issue): at every setting nettool at least as fast as
#   the fastest other client; with windowsize >= 16 at least 3x tftp-hpa's
#   default-blksize throughput; CPU time per MiB lower than every other
#   client's.
#
# Safety
#   Traffic only to 127.0.0.1 on two free high UDP ports; no name is
#   resolved.  Both servers are started here and killed by PID in the EXIT
#   trap, which also removes the served file and the outputs.
#
# Usage (from anywhere; it cd's to the repo root):
#   bash benches/tftp.sh [--size 256] [--runs 3] [--blksizes 1468,8192,65464]
#        [--windows 4,16,64] [--ws-blksize 1468] [--run-timeout 180]
#        [--max-seconds 2400] [--bin PATH] [--results benches/RESULTS-tftp.md]
#   Packages: apt-get install -y tftpd-hpa tftp-hpa atftp curl busybox
#   (atftpd is fetched with `apt-get download atftpd` and unpacked if
#   target/atftpd-bench/ lacks it).  Without --bin it runs `cargo build
#   --release` and benchmarks a private copy of target/release/nettool.
#   The file and outputs live on /dev/shm (tmpfs) when it has room, so disk
#   writeback does not add noise.  Time: lock-step 512 dominates (at
#   256 MiB ~15-20 s per run on a quiet machine, up to a minute on a busy
#   one); a run that passes --max-seconds skips the remaining cells (they
#   show "not run") and still writes the report.  Raw per-run JSON lines
#   stay in benches/out/tftp-<timestamp>/ (git-ignored).

set -euo pipefail

usage() { sed -n '2,/^$/{s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; }
die() { echo "tftp.sh: error: $*" >&2; exit 1; }
log() { echo "==> [$(date +%T)] $*" >&2; }

SIZE=256
RUNS=3
PIN=1
BLKSIZES="1468,8192,65464"
WINDOWS="4,16,64"
WS_BLKSIZE=1468
RUN_TIMEOUT=180
MAX_SECONDS=2400
BIN=""
RESULTS=""
ARGS_STR="$*"
ORIG_ARGS=("$@")

while [[ $# -gt 0 ]]; do
    case "$1" in
        --size) SIZE="${2:?}"; shift 2 ;;
        --runs) RUNS="${2:?}"; shift 2 ;;
        --no-pin) PIN=0; shift ;;
        --blksizes) BLKSIZES="${2:?}"; shift 2 ;;
        --windows) WINDOWS="${2:?}"; shift 2 ;;
        --ws-blksize) WS_BLKSIZE="${2:?}"; shift 2 ;;
        --run-timeout) RUN_TIMEOUT="${2:?}"; shift 2 ;;
        --max-seconds) MAX_SECONDS="${2:?}"; shift 2 ;;
        --bin) BIN="${2:?}"; shift 2 ;;
        --results) RESULTS="${2:?}"; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) die "unknown argument: $1 (see --help)" ;;
    esac
done
for v in SIZE RUNS WS_BLKSIZE RUN_TIMEOUT MAX_SECONDS; do
    [[ "${!v}" =~ ^[0-9]+$ && "${!v}" -ge 1 ]] || die "$v must be a positive integer"
done
IFS=',' read -r -a BLK_LIST <<<"$BLKSIZES"
IFS=',' read -r -a WS_LIST <<<"$WINDOWS"
for b in "${BLK_LIST[@]}" "$WS_BLKSIZE"; do
    [[ "$b" =~ ^[0-9]+$ ]] && ((b >= 8 && b <= 65464)) || die "blksize $b not in 8..65464"
done
for w in "${WS_LIST[@]}"; do
    [[ "$w" =~ ^[0-9]+$ ]] && ((w >= 1 && w <= 65535)) || die "windowsize $w not in 1..65535"
done

# Bounded run time: the whole script re-runs itself under timeout(1) with
# a margin over --max-seconds (which itself stops starting new runs, so the
# report is normally written well before this fires); on SIGTERM the EXIT
# trap still kills both servers and removes the file.
if [[ -z "${NT_TFTP_BENCH_TIMED:-}" ]]; then
    export NT_TFTP_BENCH_TIMED=1
    exec timeout -k 30 "$((MAX_SECONDS + RUN_TIMEOUT + 300))" bash "${BASH_SOURCE[0]}" "${ORIG_ARGS[@]}"
fi

if [[ -n "$BIN" && "$BIN" != /* ]]; then BIN="$PWD/$BIN"; fi
if [[ -n "$RESULTS" && "$RESULTS" != /* ]]; then RESULTS="$PWD/$RESULTS"; fi
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
RESULTS="${RESULTS:-benches/RESULTS-tftp.md}"
HELPER="benches/tftp_bench.py"
[[ -f "$HELPER" ]] || die "missing $HELPER"

# ------------------------------------------------------------------ tools
for t in in.tftpd tftp atftp curl busybox python3 ss; do
    command -v "$t" >/dev/null || die "'$t' not found (apt-get install -y tftpd-hpa tftp-hpa atftp curl busybox iproute2 python3)"
done
tftp -V 2>&1 | grep -q tftp-hpa || die "'tftp' is not tftp-hpa's client (apt-get install -y tftp-hpa)"
busybox tftp --help 2>&1 | grep -q -- '-b SIZE' || die "busybox tftp lacks -b (blksize)"
ATFTPD_DIR="target/atftpd-bench"
ATFTPD="$ATFTPD_DIR/usr/sbin/atftpd"
if [[ ! -x "$ATFTPD" ]]; then
    log "unpacking atftpd into $ATFTPD_DIR (apt-get download atftpd)"
    mkdir -p "$ATFTPD_DIR"
    (cd "$ATFTPD_DIR" && apt-get download atftpd >/dev/null 2>&1 && dpkg -x atftpd_*.deb .) ||
        die "could not fetch/unpack atftpd"
fi

START_EPOCH=$(date +%s)
DEADLINE=$((START_EPOCH + MAX_SECONDS))
OUT="benches/out/tftp-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$OUT"
LOG="$OUT/runs.jsonl"
: >"$LOG"
NEED_MIB=$((2 * SIZE + 64))
if [[ -d /dev/shm ]] && (($(df -Pm /dev/shm | awk 'NR==2{print $4}') > NEED_MIB)); then
    WORK="$(mktemp -d /dev/shm/nettool-tftp-bench.XXXXXX)"
else
    WORK="$(mktemp -d /tmp/nettool-tftp-bench.XXXXXX)"
fi
PIDS=()

cleanup() {
    local rc=$? pid
    trap - EXIT INT TERM
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ------------------------------------------------------------------ binary
if [[ -z "$BIN" ]]; then
    log "cargo build --release (waits if another build holds the lock)"
    cargo build --release 2>&1 | tail -n 2 >&2
    BIN_SRC="target/release/nettool"
else
    BIN_SRC="$BIN"
fi
[[ -x "$BIN_SRC" ]] || die "nettool binary '$BIN_SRC' not found"
cp "$BIN_SRC" "$WORK/nettool"
N="$WORK/nettool"

# ------------------------------------------------------------------ file
ROOT="$WORK/root"
mkdir -p "$ROOT"
chmod 755 "$WORK" "$ROOT"
log "making a $SIZE MiB random file in $ROOT"
head -c "$((SIZE * 1048576))" /dev/urandom >"$ROOT/big.bin"
chmod 644 "$ROOT/big.bin"
SHA=$(sha256sum "$ROOT/big.bin" | cut -d' ' -f1)
BYTES=$((SIZE * 1048576))
OUTF="$WORK/out.bin"

# ------------------------------------------------------------------ servers
read -r PORT_LO PORT_HI </proc/sys/net/ipv4/ip_local_port_range
free_udp_port() {
    local p i
    for ((i = 0; i < 200; i++)); do
        p=$((20000 + RANDOM % 9000))
        ((p >= PORT_LO && p <= PORT_HI)) && continue
        [[ -z "$(ss -Huan "sport = :$p")" ]] && { echo "$p"; return 0; }
    done
    die "no free UDP port"
}
wait_udp() {
    local port=$1 pid=$2 i
    for ((i = 0; i < 100; i++)); do
        kill -0 "$pid" 2>/dev/null || die "server for port $port exited at start"
        [[ -n "$(ss -Huln "sport = :$port")" ]] && return 0
        sleep 0.05
    done
    die "nothing listens on UDP $port"
}
P_HPA=$(free_udp_port)
# CPU placement: on 2 cores a lock-step transfer is a ping-pong between
# client and server, and whether the scheduler puts them on one core or two
# changes its speed by 2x from run to run. Every server runs on CPU 1 and
# every client on CPU 0 (taskset), the same for all clients, so the
# comparison measures the clients and not the scheduler's mood.
SERVER_PIN=()
CLIENT_PIN=()
if ((PIN)) && command -v taskset >/dev/null && (($(nproc) >= 2)); then
    SERVER_PIN=(taskset -c 1)
    CLIENT_PIN=(taskset -c 0)
fi
"${SERVER_PIN[@]}" /usr/sbin/in.tftpd -L -s -a "127.0.0.1:$P_HPA" "$ROOT" >"$OUT/in.tftpd.log" 2>&1 &
PIDS+=($!); wait_udp "$P_HPA" "$!"
P_AT=$(free_udp_port)
"${SERVER_PIN[@]}" "$ATFTPD" --daemon --no-fork --bind-address 127.0.0.1 --port "$P_AT" \
    --logfile /dev/null "$ROOT" >"$OUT/atftpd.log" 2>&1 &
PIDS+=($!); wait_udp "$P_AT" "$!"
log "tftpd-hpa on 127.0.0.1:$P_HPA, atftpd on 127.0.0.1:$P_AT"

# ------------------------------------------------------------------ settings
# key|label|server|blksize (0 = client default)|windowsize (0 = none)|clients
CLIENTS=(nettool tftp-hpa atftp curl busybox)
SETTINGS=("default|default (512, no blksize asked)|tftpd-hpa|0|0|nettool tftp-hpa atftp curl busybox")
for b in "${BLK_LIST[@]}"; do
    SETTINGS+=("b$b|blksize $b|tftpd-hpa|$b|0|nettool atftp curl busybox")
done
if ((${#WS_LIST[@]} > 0)); then
    SETTINGS+=("a$WS_BLKSIZE|blksize $WS_BLKSIZE, no windowsize|atftpd|$WS_BLKSIZE|0|nettool atftp curl busybox")
    for w in "${WS_LIST[@]}"; do
        SETTINGS+=("w$w|blksize $WS_BLKSIZE, windowsize $w|atftpd|$WS_BLKSIZE|$w|nettool atftp")
    done
fi

# client_cmd CLIENT PORT BLK WS: the command line, one word per line.
client_cmd() {
    local c=$1 port=$2 blk=$3 ws=$4
    case "$c" in
        nettool)
            printf '%s\n' "$N" tftp get "127.0.0.1:$port" big.bin "$OUTF" --force --json
            ((blk)) && printf '%s\n' --blksize "$blk"
            ((ws)) && printf '%s\n' --windowsize "$ws"
            ;;
        tftp-hpa)
            printf '%s\n' tftp -m binary 127.0.0.1 "$port" -c get big.bin "$OUTF" ;;
        atftp)
            printf '%s\n' atftp
            ((blk)) && printf '%s\n' --option "blksize $blk"
            ((ws)) && printf '%s\n' --option "windowsize $ws"
            printf '%s\n' -g -r big.bin -l "$OUTF" 127.0.0.1 "$port" ;;
        curl)
            printf '%s\n' curl -s -S -o "$OUTF"
            ((blk)) && printf '%s\n' --tftp-blksize "$blk"
            printf '%s\n' "tftp://127.0.0.1:$port/big.bin" ;;
        busybox)
            printf '%s\n' busybox tftp -g -r big.bin -l "$OUTF"
            ((blk)) && printf '%s\n' -b "$blk"
            printf '%s\n' 127.0.0.1 "$port" ;;
    esac
    return 0
}

LOAD_START="$(cut -d' ' -f1-3 /proc/loadavg)"
SKIPPED=0
log "$RUNS rounds x ${#SETTINGS[@]} settings, $SIZE MiB each, budget ${MAX_SECONDS}s"
for ((r = 1; r <= RUNS; r++)); do
    log "round $r of $RUNS"
    for s in "${SETTINGS[@]}"; do
        IFS='|' read -r key label server blk ws clients <<<"$s"
        port=$P_HPA
        [[ "$server" == atftpd ]] && port=$P_AT
        for c in $clients; do
            if (($(date +%s) >= DEADLINE)); then
                SKIPPED=$((SKIPPED + 1))
                continue
            fi
            mapfile -t cmd < <(client_cmd "$c" "$port" "$blk" "$ws")
            python3 "$HELPER" run --log "$LOG" --client "$c" --setting "$key" \
                --run "$r" --out "$OUTF" --sha256 "$SHA" --size "$BYTES" \
                --timeout "$RUN_TIMEOUT" -- "${CLIENT_PIN[@]}" "${cmd[@]}"
        done
    done
done
((SKIPPED == 0)) || log "time budget (--max-seconds $MAX_SECONDS) reached: $SKIPPED runs skipped"

# ------------------------------------------------------------------ report
ELAPSED=$(($(date +%s) - START_EPOCH))
export META_DATE="$(date -u '+%Y-%m-%d %H:%M:%S UTC')" META_ELAPSED="$ELAPSED" \
    META_NPROC="$(nproc)" META_CPU="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')" \
    META_KERNEL="$(uname -r)" META_LOAD_START="$LOAD_START" META_LOAD_END="$(cut -d' ' -f1-3 /proc/loadavg)" \
    META_NETTOOL="$("$N" --version), sha256 $(sha256sum "$N" | cut -c1-12)" META_BIN="$BIN_SRC" \
    META_GIT="$(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD -- src Cargo.toml 2>/dev/null || echo ' + uncommitted changes in src/')" \
    META_SERVERS="tftpd-hpa $(dpkg-query -W -f='${Version}' tftpd-hpa 2>/dev/null) (in.tftpd -L -s -a 127.0.0.1:$P_HPA), atftpd $("$ATFTPD" -V 2>&1 | head -n1 | sed 's/^atftp-//') from ${ATFTPD_DIR} (--daemon --no-fork, 127.0.0.1:$P_AT)" \
    META_CLIENTS="$("$N" --version); tftp-hpa $(dpkg-query -W -f='${Version}' tftp-hpa 2>/dev/null); atftp $(dpkg-query -W -f='${Version}' atftp 2>/dev/null); $(curl --version | head -n1 | cut -d' ' -f1-2); busybox $(dpkg-query -W -f='${Version}' busybox 2>/dev/null)" \
    META_ROOTFS="$(df -P "$WORK" | awk 'NR==2{print $1}') ($(dirname "$WORK"))" \
    META_SIZE="$SIZE" META_BYTES="$BYTES" META_RUNS="$RUNS" META_ARGS="bash benches/tftp.sh $ARGS_STR" \
    META_SETTINGS="$(printf '%s\n' "${SETTINGS[@]}")" META_CLIENTLIST="${CLIENTS[*]}" \
    META_SKIPPED="$SKIPPED" META_MAXS="$MAX_SECONDS"
python3 - "$OUT/meta.json" <<'PY'
import json, os, sys
e = os.environ
na_why = {"tftp-hpa": "tftp-hpa 5.2 has no blksize/windowsize option",
          "curl": "curl has no windowsize option",
          "busybox": "busybox tftp has no windowsize option"}
settings = []
for line in e["META_SETTINGS"].splitlines():
    key, label, server, blk, ws, clients = line.split("|")
    settings.append({"key": key, "label": label, "server": server,
                     "blksize": int(blk), "ws": int(ws), "clients": clients.split(),
                     "na": na_why})
# Busy = any of the 1/5/15-minute load averages, at start or end, >= nproc/2.
load = max(float(x) for x in (e["META_LOAD_START"] + " " + e["META_LOAD_END"]).split())
nproc = int(e["META_NPROC"])
notes = []
if int(e["META_SKIPPED"]):
    notes.append(f"{e['META_SKIPPED']} runs were skipped: the --max-seconds "
                 f"{e['META_MAXS']} budget ran out (cells marked 'not run').")
meta = {
    "date": e["META_DATE"], "elapsed_s": e["META_ELAPSED"], "nproc": nproc,
    "cpu": e["META_CPU"], "kernel": e["META_KERNEL"],
    "load_start": e["META_LOAD_START"], "load_end": e["META_LOAD_END"],
    "nettool": e["META_NETTOOL"], "bin": e["META_BIN"], "git": e["META_GIT"],
    "servers": e["META_SERVERS"], "client_versions": e["META_CLIENTS"],
    "root_fs": e["META_ROOTFS"], "size_mib": int(e["META_SIZE"]),
    "size_bytes": int(e["META_BYTES"]), "runs": int(e["META_RUNS"]),
    "args": e["META_ARGS"].strip(), "settings": settings,
    "clients": e["META_CLIENTLIST"].split(), "base_setting": "default",
    "notes": notes,
}
if load >= 0.5 * nproc:
    meta["noisy"] = (f"load averages {e['META_LOAD_START']} at start and "
                     f"{e['META_LOAD_END']} at end on {nproc} CPUs: "
                     "the machine was busy with other work, so absolute numbers are noisy; "
                     "rerun on a quiet machine for reference figures.")
json.dump(meta, open(sys.argv[1], "w"), indent=1)
PY
python3 "$HELPER" report --log "$LOG" --meta "$OUT/meta.json" --results "$RESULTS"
log "wrote $RESULTS (raw runs in $LOG) in ${ELAPSED} s"
