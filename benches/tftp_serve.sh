#!/usr/bin/env bash
# benches/tftp_serve.sh - `nettool tftp serve` against tftpd-hpa and atftpd
# (issue 16, "Speed"), in one run, side by side, on loopback.
#
# What it measures
#   Three servers on 127.0.0.1, each started once for the whole run, pinned
#   to CPU 1 and each in a cgroup of its own (for its CPU time, below):
#     nettool    `nettool tftp serve ROOT --listen 127.0.0.1:0 --json
#                --max-per-client 256` (its defaults otherwise: max blksize
#                65464, max windowsize 64); the slot stays empty ("not run")
#                when the binary has no `tftp serve` yet
#     tftpd-hpa  `in.tftpd -L -s -a 127.0.0.1:P ROOT` (forks a child per
#                transfer; no windowsize)
#     atftpd     `atftpd --daemon --no-fork --bind-address 127.0.0.1 --port P
#                --maxthread 200 ROOT` (a thread per transfer)
#   1. One SIZE MiB file (default 256) downloaded by two clients, atftp and
#      `nettool tftp get`, both pinned to CPU 0, from every server at
#      blksize 512, 1468, 8192, 65464, and at windowsize 16 and 64 (blksize
#      --ws-blksize, default 1468; nettool and atftpd only). Runs are
#      interleaved round by round (the server order rotates each round);
#      RUNS rounds, blksize 512 only in the first RUNS_512 of them (it is
#      the slowest: the most lock-step packets). Wall time = the client
#      process spawn to reap; median of the runs.
#   2. CONC clients at once (default 100 x `nettool tftp get`, CONC_MIB
#      MiB each, blksize --conc-blksize) from nettool and tftpd-hpa (and
#      atftpd): aggregate throughput, the slowest client's time, server CPU.
#      Once per round.
#   Server CPU per MiB: the server's cgroup CPU time (cgroup v2 cpu.stat
#   usage_usec, or v1 cpuacct.usage) read before the client starts and
#   after the server settled (see tftp_serve.py); it counts tftpd-hpa's
#   forked children (which SIGCHLD=SIG_IGN hides from any rusage), atftpd's
#   threads and nettool's process alike.
#   Every output lands on tmpfs, is removed before each run and checked by
#   SHA-256; a failed run gets no number.  --syscalls adds, after the timed
#   runs, one `strace -c -f -p SERVER` transfer per server and setting
#   (--syscalls-mib, default 32) to show syscalls per DATA block.
#   Targets (issue 16): nettool's server at least as fast as the fastest
#   other server at every setting, with less server CPU per MiB; 100
#   concurrent: aggregate and slowest client vs tftpd-hpa.
#
# Safety
#   Every server binds 127.0.0.1 only, every client targets 127.0.0.1; no
#   name is resolved. The servers run in cgroups made here; the EXIT trap
#   kills what is in them, removes the cgroups, the files and the outputs.
#
# Usage (from anywhere; it cd's to the repo root; needs root for cgroups):
#   bash benches/tftp_serve.sh [--size 256] [--runs 3] [--runs-512 2]
#        [--blksizes 512,1468,8192,65464] [--windows 16,64] [--ws-blksize 1468]
#        [--conc-clients 100] [--conc-mib 8] [--conc-blksize 1468]
#        [--conc-client nettool|atftp] [--conc-servers nettool,tftpd-hpa,atftpd|none]
#        [--syscalls] [--syscalls-mib 32] [--run-timeout 300]
#        [--max-seconds 840] [--bin PATH] [--results FILE] [--no-pin] [--tiny]
#        [--serve-args 'ARGS']
#   --serve-args: more arguments for nettool's server (for experiments such
#   as '--busy-poll 0'; the results file shows its whole command line).
#   --tiny: 8 MiB, 1 round, 10 concurrent clients of 1 MiB: checks the
#   script in a minute. Installs atftp (and strace for --syscalls) when
#   missing; atftpd comes from $ATFTPD, target/atftpd/ (scripts/test.sh
#   unpacks it there) or is unpacked there. Without --bin it runs `cargo
#   build --release` and benchmarks a copy of target/release/nettool.
#   Raw runs: benches/out/tftp-serve-<timestamp>/ (git-ignored).

set -euo pipefail

usage() { sed -n '2,/^$/{s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; }
die() { echo "tftp_serve.sh: error: $*" >&2; exit 1; }
log() { echo "==> [$(date +%T)] $*" >&2; }

SIZE=256 RUNS=3 RUNS_512=2 PIN=1
SERVE_ARGS=()
BLKSIZES="512,1468,8192,65464" WINDOWS="16,64" WS_BLKSIZE=1468
CONC=100 CONC_MIB=8 CONC_BLKSIZE=1468 CONC_CLIENT=nettool
CONC_SERVERS="nettool,tftpd-hpa,atftpd"
SYSCALLS=0 SYSCALLS_MIB=32
RUN_TIMEOUT=300 MAX_SECONDS=840 BIN="" RESULTS=""
ARGS_STR="$*"
ORIG_ARGS=("$@")
while [[ $# -gt 0 ]]; do
    case "$1" in
        --size) SIZE="${2:?}"; shift 2 ;;
        --runs) RUNS="${2:?}"; shift 2 ;;
        --runs-512) RUNS_512="${2:?}"; shift 2 ;;
        --blksizes) BLKSIZES="${2:?}"; shift 2 ;;
        --windows) WINDOWS="${2:?}"; shift 2 ;;
        --ws-blksize) WS_BLKSIZE="${2:?}"; shift 2 ;;
        --conc-clients) CONC="${2:?}"; shift 2 ;;
        --conc-mib) CONC_MIB="${2:?}"; shift 2 ;;
        --conc-blksize) CONC_BLKSIZE="${2:?}"; shift 2 ;;
        --conc-client) CONC_CLIENT="${2:?}"; shift 2 ;;
        --conc-servers) CONC_SERVERS="${2:?}"; shift 2 ;;
        --syscalls) SYSCALLS=1; shift ;;
        --serve-args) read -r -a SERVE_ARGS <<< "${2?}"; shift 2 ;;
        --syscalls-mib) SYSCALLS_MIB="${2:?}"; shift 2 ;;
        --run-timeout) RUN_TIMEOUT="${2:?}"; shift 2 ;;
        --max-seconds) MAX_SECONDS="${2:?}"; shift 2 ;;
        --bin) BIN="${2:?}"; shift 2 ;;
        --results) RESULTS="${2:?}"; shift 2 ;;
        --no-pin) PIN=0; shift ;;
        --tiny) SIZE=8 RUNS=1 RUNS_512=1 CONC=10 CONC_MIB=1 SYSCALLS_MIB=4; shift ;;
        -h|--help) usage; exit 0 ;;
        *) die "unknown argument: $1 (see --help)" ;;
    esac
done
for v in SIZE RUNS CONC CONC_MIB CONC_BLKSIZE WS_BLKSIZE SYSCALLS_MIB RUN_TIMEOUT MAX_SECONDS; do
    [[ "${!v}" =~ ^[0-9]+$ && "${!v}" -ge 1 ]] || die "$v must be a positive integer"
done
[[ "$RUNS_512" =~ ^[0-9]+$ ]] || die "--runs-512 must be an integer"
[[ "$CONC_CLIENT" == nettool || "$CONC_CLIENT" == atftp ]] || die "--conc-client is nettool or atftp"
IFS=',' read -r -a BLK_LIST <<<"$BLKSIZES"
IFS=',' read -r -a WS_LIST <<<"$WINDOWS"
[[ $CONC_SERVERS == none ]] && CONC_SERVERS=""
IFS=',' read -r -a CONC_LIST <<<"$CONC_SERVERS"
for b in "${BLK_LIST[@]}" "$WS_BLKSIZE" "$CONC_BLKSIZE"; do
    [[ "$b" =~ ^[0-9]+$ ]] && ((b >= 8 && b <= 65464)) || die "blksize $b not in 8..65464"
done
for w in "${WS_LIST[@]}"; do
    [[ "$w" =~ ^[0-9]+$ ]] && ((w >= 1 && w <= 64)) || die "windowsize $w not in 1..64"
done
for s in "${CONC_LIST[@]}"; do
    [[ "$s" == nettool || "$s" == tftpd-hpa || "$s" == atftpd ]] || die "unknown server $s"
done
[[ $(id -u) == 0 ]] || die "needs root (cgroups for the servers' CPU time)"

# A hard bound on the whole run: it re-runs itself under timeout(1) with a
# margin over --max-seconds (which stops starting new runs, so the report is
# normally written well before); the EXIT trap still cleans up.
if [[ -z "${NT_TFTP_SERVE_BENCH_TIMED:-}" ]]; then
    export NT_TFTP_SERVE_BENCH_TIMED=1
    exec timeout -k 30 "$((MAX_SECONDS + 2 * RUN_TIMEOUT + 600))" bash "${BASH_SOURCE[0]}" "${ORIG_ARGS[@]}"
fi

if [[ -n "$BIN" && "$BIN" != /* ]]; then BIN="$PWD/$BIN"; fi
if [[ -n "$RESULTS" && "$RESULTS" != /* ]]; then RESULTS="$PWD/$RESULTS"; fi
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
RESULTS="${RESULTS:-benches/RESULTS-tftp-serve.md}"
HELPER="benches/tftp_serve.py"
[[ -f "$HELPER" ]] || die "missing $HELPER"

# ------------------------------------------------------------------ tools
# Debian packages, only when missing, the way scripts/test.sh installs them
# (no daemon started: tftpd-hpa's would listen on port 69).
packages=(atftp tftpd-hpa util-linux iproute2 python3 libwrap0 libpcre2-8-0)
((SYSCALLS)) && packages+=(strace)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    log "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    added_policy=
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod +x /usr/sbin/policy-rc.d
        added_policy=1
    fi
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    [[ -z "$added_policy" ]] || rm -f /usr/sbin/policy-rc.d
fi
for t in in.tftpd atftp taskset ss python3 sha256sum; do
    command -v "$t" >/dev/null || die "'$t' not found"
done
ATFTPD="${ATFTPD:-}"
if [[ -z "$ATFTPD" ]]; then
    ATFTPD="target/atftpd/usr/sbin/atftpd"
    if [[ ! -x "$ATFTPD" ]]; then
        # Its package conflicts with tftpd-hpa's, so it is unpacked, as
        # scripts/test.sh does.
        log "unpacking atftpd into target/atftpd"
        dl=$(mktemp -d)
        (cd "$dl" && apt-get download -qq -o APT::Sandbox::User=root atftpd 2>/dev/null) ||
            { apt-get update -qq && (cd "$dl" && apt-get download -qq -o APT::Sandbox::User=root atftpd); } ||
            die "could not fetch atftpd"
        mkdir -p target
        dpkg -x "$dl"/atftpd_*.deb target/atftpd
        rm -rf "$dl"
    fi
fi
[[ -x "$ATFTPD" ]] || die "atftpd not found at $ATFTPD"
ATFTPD="$(realpath "$ATFTPD")"

START_EPOCH=$(date +%s)
DEADLINE=$((START_EPOCH + MAX_SECONDS))
OUT="benches/out/tftp-serve-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$OUT"
LOG="$OUT/runs.jsonl"
: >"$LOG"
NEED_MIB=$((SIZE * 2 + CONC * CONC_MIB + CONC_MIB + 64))
if (($(df -Pm /dev/shm | awk 'NR==2{print $4}') > NEED_MIB)); then
    WORK="$(mktemp -d /dev/shm/nettool-serve-bench.XXXXXX)"
else
    die "/dev/shm has less than $NEED_MIB MiB free (the file and the outputs live on tmpfs)"
fi
PIDS=()
CGROUPS=()
cleanup() {
    local rc=$? pid g
    trap - EXIT INT TERM
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    for g in "${CGROUPS[@]}"; do python3 "$HELPER" cgroup-remove "$g" || true; done
    rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ------------------------------------------------------------------ binary
if [[ -z "$BIN" ]]; then
    log "cargo build --release (waits if another build holds the lock)"
    cargo build --release --locked 2>&1 | tail -n 2 >&2
    BIN_SRC="target/release/nettool"
else
    BIN_SRC="$BIN"
fi
[[ -x "$BIN_SRC" ]] || die "nettool binary '$BIN_SRC' not found"
cp "$BIN_SRC" "$WORK/nettool"
N="$WORK/nettool"
chmod 755 "$WORK"
HAVE_SERVE=0
"$N" tftp serve --help >/dev/null 2>&1 && HAVE_SERVE=1
((HAVE_SERVE)) || log "this nettool has no 'tftp serve': its column stays empty"

# ------------------------------------------------------------------ files
ROOT="$WORK/root"
OUTD="$WORK/out"
mkdir -p "$ROOT" "$OUTD"
chmod 755 "$ROOT"
log "making the files in $ROOT ($SIZE MiB, $CONC_MIB MiB, $SYSCALLS_MIB MiB, 1 MiB)"
head -c "$((SIZE << 20))" /dev/urandom >"$ROOT/big.bin"
head -c "$((CONC_MIB << 20))" /dev/urandom >"$ROOT/conc.bin"
head -c "$((SYSCALLS_MIB << 20))" /dev/urandom >"$ROOT/sys.bin"
head -c 1048576 /dev/urandom >"$ROOT/warm.bin"
chmod 644 "$ROOT"/*.bin
sha() { sha256sum "$1" | cut -d' ' -f1; }
SHA_BIG=$(sha "$ROOT/big.bin") SHA_CONC=$(sha "$ROOT/conc.bin")
SHA_SYS=$(sha "$ROOT/sys.bin") SHA_WARM=$(sha "$ROOT/warm.bin")

# ------------------------------------------------------------------ servers
SERVER_CPU=1 CLIENT_CPU=0
SERVER_PIN=() HCPU=(--client-cpu 0)
if ((PIN)) && (($(nproc) >= 2)); then
    SERVER_PIN=(taskset -c "$SERVER_CPU")
else
    PIN=0 SERVER_CPU="any" CLIENT_CPU="any" HCPU=(--client-cpu -1)
fi
free_udp_port() {
    python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
wait_udp() {
    local port=$1 pid=$2 i
    for ((i = 0; i < 200; i++)); do
        kill -0 "$pid" 2>/dev/null || die "server for port $port exited at start"
        [[ -n "$(ss -Huln "src 127.0.0.1:$port")" ]] && return 0
        sleep 0.05
    done
    die "nothing listens on UDP 127.0.0.1:$port"
}
declare -A PORT CG SLOG SPID DESC IDLE
SERVERS=(nettool tftpd-hpa atftpd)
start_server() { # NAME PORT CMD...
    local name=$1 port=$2 g
    shift 2
    g=$(python3 "$HELPER" cgroup-create "nettool-serve-bench-$$-$name") || die "no cgroup for $name"
    CGROUPS+=("$g")
    CG[$name]=$g
    SLOG[$name]="$OUT/$name.log"
    python3 "$HELPER" cgroup-join "$g" -- "${SERVER_PIN[@]}" "$@" </dev/null >"${SLOG[$name]}" 2>"$OUT/$name.stderr" &
    SPID[$name]=$!
    PIDS+=($!)
    if [[ $port == 0 ]]; then
        local i
        for ((i = 0; i < 200; i++)); do
            kill -0 "${SPID[$name]}" 2>/dev/null || die "$name exited at start: $(tail -n 3 "$OUT/$name.stderr")"
            port=$(python3 -c 'import json,sys
for l in open(sys.argv[1]):
    try: j = json.loads(l)
    except ValueError: continue
    if j.get("event") == "listening": print(j["address"].rsplit(":", 1)[1]); break' "${SLOG[$name]}")
            [[ -n $port ]] && break
            sleep 0.05
        done
        [[ -n $port ]] || die "$name never said it was listening"
    else
        wait_udp "$port" "${SPID[$name]}"
    fi
    PORT[$name]=$port
    DESC[$name]="$* (127.0.0.1:$port; cgroup ${g})"
}
if ((HAVE_SERVE)); then
    start_server nettool 0 "$N" tftp serve "$ROOT" --listen 127.0.0.1:0 --json --max-per-client 256 ${SERVE_ARGS[@]+"${SERVE_ARGS[@]}"}
else
    DESC[nettool]="not measured: $("$N" --version) has no \`tftp serve\`"
fi
P=$(free_udp_port)
start_server tftpd-hpa "$P" /usr/sbin/in.tftpd -L -s -a "127.0.0.1:$P" "$ROOT"
P=$(free_udp_port)
start_server atftpd "$P" "$ATFTPD" --daemon --no-fork --bind-address 127.0.0.1 --port "$P" \
    --maxthread 200 --logfile /dev/null "$ROOT"
log "servers: $(for s in "${SERVERS[@]}"; do [[ -n ${PORT[$s]:-} ]] && echo -n "$s 127.0.0.1:${PORT[$s]}  "; done)"

# client_cmd CLIENT SERVER FILE OUTFILE BLK WS [extra nettool flags]: the
# command, one word per line.
client_cmd() {
    local c=$1 sv=$2 f=$3 o=$4 blk=$5 ws=$6
    shift 6
    case "$c" in
        nettool)
            printf '%s\n' "$N" tftp get "127.0.0.1:${PORT[$sv]}" "$f" "$o" --force --json \
                --dally 0 --blksize "$blk"
            ((ws)) && printf '%s\n' --windowsize "$ws"
            (($#)) && printf '%s\n' "$@"
            ;;
        atftp)
            printf '%s\n' atftp --option "blksize $blk"
            ((ws)) && printf '%s\n' --option "windowsize $ws"
            printf '%s\n' -g -r "$f" -l "$o" 127.0.0.1 "${PORT[$sv]}" ;;
    esac
    return 0
}
# helper_common SERVER: the helper's flags for that server.
helper_common() {
    local sv=$1
    printf '%s\n' --log "$LOG" --server "$sv" --cgroup "${CG[$sv]}" \
        --idle-threads "${IDLE[$sv]}" "${HCPU[@]}" --timeout "$RUN_TIMEOUT"
    [[ $sv == nettool ]] && printf '%s\n' --server-log "${SLOG[$sv]}"
    return 0
}

# Warm-up: one small transfer per server and client, so that whatever a
# server sets up on its first transfer is not in the first timed run; the
# thread count after it is the server's idle count (the settle point).
ACTIVE=()
for sv in "${SERVERS[@]}"; do
    [[ -n ${PORT[$sv]:-} ]] || continue
    ACTIVE+=("$sv")
    IDLE[$sv]=$(python3 "$HELPER" threads "${CG[$sv]}")
    for c in nettool atftp; do
        mapfile -t cmd < <(client_cmd "$c" "$sv" warm.bin "$OUTD/warm.bin" 1468 0)
        mapfile -t hc < <(helper_common "$sv")
        python3 "$HELPER" cell "${hc[@]}" --log "$OUT/warmup.jsonl" --client "$c" --setting warmup \
            --run 0 --out "$OUTD/warm.bin" --sha256 "$SHA_WARM" --size 1048576 -- "${cmd[@]}"
    done
    IDLE[$sv]=$(python3 "$HELPER" threads "${CG[$sv]}")
done
python3 - "$OUT/warmup.jsonl" <<'PY' || die "a warm-up transfer failed (see $OUT/warmup.jsonl)"
import json, sys
bad = [r for r in map(json.loads, open(sys.argv[1])) if not r["ok"]]
sys.exit(1 if bad else 0)
PY

# ------------------------------------------------------------------ settings
# key|label|blksize|windowsize|servers
SETTINGS=()
for b in "${BLK_LIST[@]}"; do
    SETTINGS+=("b$b|blksize $b|$b|0|nettool tftpd-hpa atftpd")
done
for w in "${WS_LIST[@]}"; do
    SETTINGS+=("w$w|blksize $WS_BLKSIZE, windowsize $w|$WS_BLKSIZE|$w|nettool atftpd")
done

# blksize 512 last in a round: when the budget runs out, it is the one
# setting that still has runs from the earlier rounds.
ROUND_ORDER=()
for s in "${SETTINGS[@]}"; do [[ $s == b512\|* ]] || ROUND_ORDER+=("$s"); done
for s in "${SETTINGS[@]}"; do [[ $s == b512\|* ]] && ROUND_ORDER+=("$s"); done

LOAD_START="$(cut -d' ' -f1-3 /proc/loadavg)"
CARGO_START="$(pgrep -c cargo || true)"
SKIPPED=0
CARGO_ROUNDS=()
over_budget() { (($(date +%s) >= DEADLINE)); }
log "$RUNS rounds (blksize 512 in $RUNS_512 of them) x ${#SETTINGS[@]} settings x 2 clients, $SIZE MiB; then $CONC x $CONC_MIB MiB at once; budget ${MAX_SECONDS}s; load $LOAD_START, $CARGO_START cargo processes"
for ((r = 1; r <= RUNS; r++)); do
    CARGO_ROUNDS+=("$(pgrep -c cargo || true)")
    log "round $r of $RUNS (load $(cut -d' ' -f1-3 /proc/loadavg), ${CARGO_ROUNDS[-1]} cargo processes)"
    order=("${ACTIVE[@]}")
    for ((k = 1; k < r; k++)); do order=("${order[@]:1}" "${order[0]}"); done
    # blksize 512 last in a round: when the budget runs out, it is the one
    # setting that still has runs from the earlier rounds.
    for s in "${ROUND_ORDER[@]}"; do
        IFS='|' read -r key label blk ws svs <<<"$s"
        [[ $key == b512 ]] && ((r > RUNS_512)) && continue
        for sv in "${order[@]}"; do
            [[ " $svs " == *" $sv "* ]] || continue
            for c in atftp nettool; do
                if over_budget; then SKIPPED=$((SKIPPED + 1)); continue; fi
                mapfile -t cmd < <(client_cmd "$c" "$sv" big.bin "$OUTD/big.bin" "$blk" "$ws")
                mapfile -t hc < <(helper_common "$sv")
                python3 "$HELPER" cell "${hc[@]}" --client "$c" --setting "$key" --run "$r" \
                    --out "$OUTD/big.bin" --sha256 "$SHA_BIG" --size "$((SIZE << 20))" -- "${cmd[@]}"
            done
        done
    done
    for sv in "${order[@]}"; do
        [[ ",$CONC_SERVERS," == *",$sv,"* ]] || continue
        if over_budget; then SKIPPED=$((SKIPPED + 1)); continue; fi
        extra=()
        # Many clients share one CPU: busy-polling would only take turns
        # from the others.
        [[ $CONC_CLIENT == nettool ]] && extra=(--busy-poll 0)
        mapfile -t cmd < <(client_cmd "$CONC_CLIENT" "$sv" conc.bin "{out}" "$CONC_BLKSIZE" 0 "${extra[@]}")
        mapfile -t hc < <(helper_common "$sv")
        python3 "$HELPER" conc "${hc[@]}" --client "$CONC_CLIENT" --run "$r" --clients "$CONC" \
            --out-dir "$OUTD/conc" --sha256 "$SHA_CONC" --size "$((CONC_MIB << 20))" -- "${cmd[@]}"
    done
done
((SKIPPED == 0)) || log "time budget (--max-seconds $MAX_SECONDS) reached: $SKIPPED runs skipped"
LOAD_END="$(cut -d' ' -f1-3 /proc/loadavg)"
CARGO_END="$(pgrep -c cargo || true)"
ELAPSED=$(($(date +%s) - START_EPOCH))

# ------------------------------------------------------------------ syscalls
SYS_JSON="$OUT/syscalls.json"
echo '[]' >"$SYS_JSON"
if ((SYSCALLS)); then
    command -v strace >/dev/null || die "strace not found"
    log "syscalls per block: strace -c -f on each server, $SYSCALLS_MIB MiB per setting (not timed)"
    for s in "${SETTINGS[@]}"; do
        IFS='|' read -r key label blk ws svs <<<"$s"
        for sv in "${ACTIVE[@]}"; do
            [[ " $svs " == *" $sv "* ]] || continue
            st="$OUT/strace-$sv-$key.txt"
            strace -c -f -o "$st" -p "${SPID[$sv]}" 2>/dev/null &
            spid=$!
            sleep 0.5
            mapfile -t cmd < <(client_cmd nettool "$sv" sys.bin "$OUTD/sys.bin" "$blk" "$ws")
            mapfile -t hc < <(helper_common "$sv")
            python3 "$HELPER" cell "${hc[@]}" --log "$OUT/syscall-runs.jsonl" --client nettool \
                --setting "$key" --run 0 --out "$OUTD/sys.bin" --sha256 "$SHA_SYS" \
                --size "$((SYSCALLS_MIB << 20))" -- "${cmd[@]}" || true
            kill -INT "$spid" 2>/dev/null || true
            wait "$spid" 2>/dev/null || true
            python3 - "$SYS_JSON" "$st" "$sv" "$label" "$blk" "$((SYSCALLS_MIB << 20))" <<'PY'
import json, sys
path, st, server, label, blk, size = sys.argv[1:7]
blk, size = int(blk), int(size)
calls, total = {}, 0
for line in open(st):
    f = line.split()
    if len(f) >= 5 and f[-1] != "total" and f[0][0].isdigit() and f[3].isdigit():
        calls[f[-1]] = int(f[3])
    elif f and f[-1] == "total" and len(f) >= 4:
        total = int(f[3])
rows = json.load(open(path))
rows.append({"server": server, "label": label, "blocks": size // blk + 1, "total": total,
             "top": sorted(calls.items(), key=lambda kv: -kv[1])[:6]})
json.dump(rows, open(path, "w"))
PY
        done
    done
fi

# ------------------------------------------------------------------ report
cgkind=$(python3 -c 'import sys; print("cgroup v2 cpu.stat" if sys.argv[1].find("cpuacct") < 0 else "cgroup v1 cpuacct.usage")' "${CG[tftpd-hpa]}")
export META_DATE="$(date -u '+%Y-%m-%d %H:%M:%S UTC')" META_ELAPSED="$ELAPSED" \
    META_NPROC="$(nproc)" META_CPU="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')" \
    META_KERNEL="$(uname -r)" META_LOAD_START="$LOAD_START" META_LOAD_END="$LOAD_END" \
    META_CARGO_START="$CARGO_START" META_CARGO_END="$CARGO_END" \
    META_NETTOOL="$("$N" --version), sha256 $(sha256sum "$N" | cut -c1-12)" META_BIN="$BIN_SRC" \
    META_GIT="$(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD -- src Cargo.toml 2>/dev/null || echo ' + uncommitted changes in src/')" \
    META_D_NETTOOL="${DESC[nettool]}" \
    META_D_HPA="tftpd-hpa $(dpkg-query -W -f='${Version}' tftpd-hpa 2>/dev/null): ${DESC[tftpd-hpa]}" \
    META_D_ATFTPD="atftpd $("$ATFTPD" -V 2>&1 | head -n1 | sed 's/^atftp-//'): ${DESC[atftpd]}" \
    META_CLIENTS="$("$N" --version) (tftp get); atftp $(dpkg-query -W -f='${Version}' atftp 2>/dev/null)" \
    META_ROOTFS="$(df -P "$WORK" | awk 'NR==2{print $1}') ($(dirname "$WORK"))" \
    META_SIZE="$SIZE" META_RUNS="$RUNS" META_RUNS512="$RUNS_512" META_ARGS="bash benches/tftp_serve.sh $ARGS_STR" \
    META_SETTINGS="$(printf '%s\n' "${SETTINGS[@]}")" META_WSB="$WS_BLKSIZE" \
    META_CONC="$CONC" META_CONC_MIB="$CONC_MIB" META_CONC_SERVERS="$CONC_SERVERS" \
    META_CONC_DESC="$CONC_CLIENT's client ($( [[ $CONC_CLIENT == nettool ]] && echo "nettool tftp get --blksize $CONC_BLKSIZE --dally 0 --busy-poll 0" || echo "atftp --option 'blksize $CONC_BLKSIZE' -g"))" \
    META_SKIPPED="$SKIPPED" META_MAXS="$MAX_SECONDS" META_SYS="$SYS_JSON" META_SYSMIB="$SYSCALLS_MIB" \
    META_CARGO_ROUNDS="${CARGO_ROUNDS[*]}" META_SCPU="$SERVER_CPU" META_CCPU="$CLIENT_CPU" META_CGKIND="$cgkind"
python3 - "$OUT/meta.json" <<'PY'
import json, os, sys
e = os.environ
settings = []
for line in e["META_SETTINGS"].splitlines():
    key, label, blk, ws, servers = line.split("|")
    settings.append({"key": key, "label": label, "blksize": int(blk), "ws": int(ws),
                     "servers": servers.split()})
# Busy = a 1-minute load average of half the CPUs or more at the start, or
# a cargo process at the start of any round. The load at the end is not
# used: the concurrent part's own clients lift it for minutes.
load = float(e["META_LOAD_START"].split()[0])
cargo = [int(x) for x in (e["META_CARGO_START"] + " " + e["META_CARGO_ROUNDS"]).split()]
nproc = int(e["META_NPROC"])
notes = []
if int(e["META_SKIPPED"]):
    notes.append(f"{e['META_SKIPPED']} runs were skipped: the --max-seconds {e['META_MAXS']} "
                 "budget ran out (cells marked 'not run').")
syscalls = json.load(open(e["META_SYS"]))
meta = {
    "date": e["META_DATE"], "elapsed_s": e["META_ELAPSED"], "nproc": nproc,
    "cpu": e["META_CPU"], "kernel": e["META_KERNEL"],
    "load_start": e["META_LOAD_START"], "load_end": e["META_LOAD_END"],
    "cargo_start": e["META_CARGO_START"], "cargo_end": e["META_CARGO_END"],
    "nettool": e["META_NETTOOL"], "bin": e["META_BIN"], "git": e["META_GIT"],
    "servers": ["nettool", "tftpd-hpa", "atftpd"],
    "server_desc": {"nettool": e["META_D_NETTOOL"], "tftpd-hpa": e["META_D_HPA"],
                    "atftpd": e["META_D_ATFTPD"]},
    "client_versions": e["META_CLIENTS"], "clients": ["atftp", "nettool"],
    "root_fs": e["META_ROOTFS"], "size_mib": int(e["META_SIZE"]),
    "size_bytes": int(e["META_SIZE"]) << 20, "runs": int(e["META_RUNS"]),
    "runs_512": int(e["META_RUNS512"]), "ws_blksize": int(e["META_WSB"]),
    "args": e["META_ARGS"].strip(), "settings": settings,
    "conc_clients": int(e["META_CONC"]), "conc_mib": int(e["META_CONC_MIB"]),
    "conc_servers": [s for s in e["META_CONC_SERVERS"].split(",") if s], "conc_client_desc": e["META_CONC_DESC"],
    "server_cpu": e["META_SCPU"], "client_cpu": e["META_CCPU"], "cgroup_kind": e["META_CGKIND"],
    "notes": notes, "syscalls": syscalls,
    "syscalls_note": (f"One {e['META_SYSMIB']} MiB transfer per server and setting with "
                      "nettool's client, strace -c -f attached to the running server (not "
                      "timed: strace slows every call). Blocks = the DATA blocks of the "
                      "file (size / blksize + 1). The counts include everything the server "
                      "did for the transfer: the request, the fork or thread, the file."),
}
meta["cargo_rounds"] = e["META_CARGO_ROUNDS"]
if load >= 0.5 * nproc or any(cargo):
    meta["noisy"] = (f"load average {e['META_LOAD_START']} at start on {nproc} CPUs, cargo "
                     f"processes at the start of each round: {e['META_CARGO_ROUNDS']}: the "
                     "machine was busy with other work, so absolute numbers are noisy.")
json.dump(meta, open(sys.argv[1], "w"), indent=1)
PY
python3 "$HELPER" report --log "$LOG" --meta "$OUT/meta.json" --results "$RESULTS" >/dev/null
log "wrote $RESULTS (raw runs in $OUT) in ${ELAPSED} s"
