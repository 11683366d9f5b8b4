#!/usr/bin/env bash
# benches/sockstat_info.sh - `nettool sockstat -tani` vs `ss -tin` and
# `nettool sockstat -tanm` vs `ss -tmn`, side by side.
#
# What it measures
#   For each size N (default 10000 and 40000 sockets = N/2 loopback TCP
#   connections, both ends listed, as in benches/sockstat.sh):
#     * wall time (hyperfine -N, output to /dev/null, --warmup 3 --runs RUNS,
#       default 10) of
#         nettool sockstat -tani  vs  ss -tin      (TCP_INFO + congestion control)
#         nettool sockstat -tanm  vs  ss -tmn      (socket memory)
#       each pair in ONE hyperfine invocation, so they share the machine's state;
#     * peak RSS (`/usr/bin/time -f %M`, one run each);
#     * a check that both tools saw the sockets: the number of info lines
#       nettool printed vs ss's.
#   It writes a table per size and the issue's targets (at least as fast as ss,
#   peak RSS under 64 MiB) to benches/RESULTS-sockstat-info.md (and stdout).
#
# Where
#   Everything runs inside one network namespace the script makes
#   (nt-<pid>-bench, loopback only) and deletes on exit: the holders
#   (benches/sockholder.py, 127.77.0.0/16 on that namespace's lo), nettool,
#   ss and hyperfine. So only the benchmark's sockets are listed, whatever
#   else runs on the machine, and nothing leaves the namespace.
#
# Usage (from anywhere; it cd's to the repo root; needs root for the namespace):
#   bash benches/sockstat_info.sh [--sizes 10000,40000] [--runs 10]
#        [--per-holder 5000] [--bin target/release/nettool]
#        [--results benches/RESULTS-sockstat-info.md]
#   A quick check that it works: --sizes 200 --runs 2 (a few seconds).
#   Raw hyperfine JSON and RSS figures stay in benches/out/<timestamp>-info/.

set -euo pipefail

usage() {
    cat <<'USAGE'
Usage: bash benches/sockstat_info.sh [options]
  --sizes LIST        socket counts, comma-separated (default 10000,40000)
  --runs N            hyperfine runs per command (default 10, after 3 warmups)
  --per-holder N      max connections per holder process (default 5000)
  --bin PATH          nettool binary (default target/release/nettool, built if missing)
  --results PATH      report file to (over)write (default benches/RESULTS-sockstat-info.md)
USAGE
}

die() {
    echo "sockstat_info.sh: error: $*" >&2
    exit 1
}

log() {
    echo "==> [$(date +%T)] $*" >&2
}

SIZES="10000,40000"
RUNS=10
WARMUP=3
PER_HOLDER=5000
BIN=""
RESULTS=""

while [[ $# -gt 0 ]]; do
    case "$1" in
        --sizes) SIZES="${2:?--sizes needs a value}"; shift 2 ;;
        --sizes=*) SIZES="${1#*=}"; shift ;;
        --runs) RUNS="${2:?--runs needs a value}"; shift 2 ;;
        --runs=*) RUNS="${1#*=}"; shift ;;
        --per-holder) PER_HOLDER="${2:?--per-holder needs a value}"; shift 2 ;;
        --per-holder=*) PER_HOLDER="${1#*=}"; shift ;;
        --bin) BIN="${2:?--bin needs a value}"; shift 2 ;;
        --bin=*) BIN="${1#*=}"; shift ;;
        --results) RESULTS="${2:?--results needs a value}"; shift 2 ;;
        --results=*) RESULTS="${1#*=}"; shift ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument: $1" ;;
    esac
done

need_uint() {
    if ! [[ "$2" =~ ^[0-9]+$ ]] || (($2 < $3)); then
        die "$1 must be an integer >= $3 (got '$2')"
    fi
}
need_uint --runs "$RUNS" 2
need_uint --per-holder "$PER_HOLDER" 1
IFS=',' read -r -a SIZE_LIST <<<"$SIZES"
((${#SIZE_LIST[@]} > 0)) || die "--sizes is empty"
for n in "${SIZE_LIST[@]}"; do
    need_uint "each of --sizes" "$n" 2
done

if [[ -n "$BIN" && "$BIN" != /* ]]; then BIN="$PWD/$BIN"; fi
if [[ -n "$RESULTS" && "$RESULTS" != /* ]]; then RESULTS="$PWD/$RESULTS"; fi
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BIN="${BIN:-$ROOT/target/release/nettool}"
RESULTS="${RESULTS:-benches/RESULTS-sockstat-info.md}"
HOLDER="$ROOT/benches/sockholder.py"

for tool in hyperfine ss ip python3; do
    command -v "$tool" >/dev/null || die "'$tool' not found (apt-get install -y hyperfine iproute2 python3)"
done
[[ -x /usr/bin/time ]] || die "/usr/bin/time not found (apt-get install -y time)"
[[ -f "$HOLDER" ]] || die "missing $HOLDER"
if [[ "$BIN" == "$ROOT/target/release/nettool" && ! -x "$BIN" ]]; then
    log "building $BIN (cargo build --release)"
    cargo build --release
fi
[[ -x "$BIN" ]] || die "binary '$BIN' not found or not executable"

# ------------------------------------------------------------ the namespace
NS="nt-$$-bench"
HOLDER_PIDS=()
HOLDER_RUN=(ip netns exec "$NS")
# shellcheck source=benches/holders.sh
source "$ROOT/benches/holders.sh"
ip netns add "$NS" || die "cannot make network namespace $NS (run as root)"
ip -n "$NS" link set lo up

in_ns() {
    ip netns exec "$NS" "$@"
}

on_exit() {
    local rc=$?
    trap - EXIT INT TERM
    stop_holders
    ip netns del "$NS" 2>/dev/null || true
    exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"$BIN" sockstat -tln >/dev/null || die "'$BIN sockstat -tln' failed"
# An empty namespace lists nothing: exit 1, not an error.
rc=0
in_ns "$BIN" sockstat -tanim >/dev/null || rc=$?
((rc <= 1)) || die "'$BIN sockstat -tanim' failed (exit $rc): a binary without -i/-m?"

OUT="benches/out/$(date +%Y%m%d-%H%M%S)-info"
mkdir -p "$OUT"

# nettool flags and the ss flags it is compared with.
PAIRS=("tani:tin" "tanm:tmn")

peak_rss() {
    local name=$1 kib
    shift
    in_ns /usr/bin/time -f %M -o "$SIZE_DIR/rss.tmp" "$@" >/dev/null 2>"$SIZE_DIR/rss.stderr" ||
        die "'$*' failed: $(cat "$SIZE_DIR/rss.stderr")"
    kib=$(tail -n 1 "$SIZE_DIR/rss.tmp")
    printf '%s\t%s\n' "$name" "$kib" >>"$SIZE_DIR/rss.tsv"
}

bench_size() {
    local n=$1 conns estab pair ours theirs
    conns=$(((n + 1) / 2))
    SIZE_DIR="$OUT/size-$n"
    mkdir -p "$SIZE_DIR"
    log "size $n: starting holders for $conns connections in $NS"
    start_holders "$conns" "$SIZE_DIR"
    estab=$(in_ns ss -tanH state established | wc -l)
    ((estab == 2 * conns)) || die "expected $((2 * conns)) established sockets in $NS, found $estab"
    # Both tools list the same sockets: one -i line per established socket
    # (plus one per listener for nettool, which -a includes).
    ours=$(in_ns "$BIN" sockstat -tani | grep -c '^    ' || true)
    theirs=$(in_ns ss -tinH | grep -c 'rtt:' || true)
    printf 'requested=%s\nsockets=%s\nholders=%s\nnettool_info_lines=%s\nss_info_lines=%s\n' \
        "$n" "$estab" "${#HOLDER_PIDS[@]}" "$ours" "$theirs" >"$SIZE_DIR/meta"
    log "size $n: $estab established; info lines nettool $ours, ss $theirs"

    for pair in "${PAIRS[@]}"; do
        local mine=${pair%%:*} ss_flags=${pair##*:}
        log "size $n: nettool sockstat -$mine vs ss -$ss_flags (hyperfine --warmup $WARMUP --runs $RUNS)"
        in_ns hyperfine -N --style basic --warmup "$WARMUP" --runs "$RUNS" \
            --export-json "$SIZE_DIR/$mine.json" \
            -n "nettool sockstat -$mine" "$BIN sockstat -$mine" \
            -n "ss -$ss_flags" "ss -$ss_flags" >&2
    done
    : >"$SIZE_DIR/rss.tsv"
    for pair in "${PAIRS[@]}"; do
        local mine=${pair%%:*} ss_flags=${pair##*:}
        peak_rss "nettool sockstat -$mine" "$BIN" sockstat "-$mine"
        peak_rss "ss -$ss_flags" ss "-$ss_flags"
    done
    stop_holders
}

start=$(date +%s)
load_start=$(cut -d' ' -f1 /proc/loadavg)
for n in "${SIZE_LIST[@]}"; do
    bench_size "$n"
done
{
    echo "date=$(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    echo "nproc=$(nproc)"
    echo "cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
    echo "kernel=$(uname -r)"
    echo "ss=$(ss -V 2>&1 | head -n 1)"
    echo "hyperfine=$(hyperfine --version | head -n 1)"
    echo "bin=$BIN"
    echo "git=$(git rev-parse --short HEAD 2>/dev/null || echo 'no commit')$(git diff --quiet HEAD -- 2>/dev/null || echo ' (dirty)')"
    echo "runs=$RUNS"
    echo "warmup=$WARMUP"
    echo "elapsed=$(($(date +%s) - start))"
    echo "load_start=$load_start"
    echo "load_end=$(cut -d' ' -f1 /proc/loadavg)"
} >"$OUT/machine"

python3 - "$OUT" "${SIZE_LIST[@]}" >"$OUT/RESULTS.md" <<'PY'
import json, sys
from pathlib import Path

out = Path(sys.argv[1])
sizes = [int(s) for s in sys.argv[2:]]
PAIRS = [("tani", "tin"), ("tanm", "tmn")]

def kv(path):
    d = {}
    if path.exists():
        for line in path.read_text().splitlines():
            k, sep, v = line.partition("=")
            if sep:
                d[k] = v
    return d

m = kv(out / "machine")
p = ["# `nettool sockstat -i` / `-m` benchmark\n",
     "Generated by `bash benches/sockstat_info.sh` "
     f"(`--sizes {','.join(map(str, sizes))} --runs {m.get('runs')}`); do not edit by hand.\n",
     f"- Date: {m.get('date')}, run took {m.get('elapsed')} s; {m.get('nproc')} CPUs ({m.get('cpu')}), kernel {m.get('kernel')}",
     f"- Tools: {m.get('ss')}; {m.get('hyperfine')}; nettool `{m.get('bin')}`, git {m.get('git')}",
     f"- Load average (1 min) at start / end: {m.get('load_start')} / {m.get('load_end')}",
     "- Method: N sockets = N/2 established loopback TCP connections (both ends) held by "
     "benches/sockholder.py inside a namespace of the bench's own, where nettool, ss and hyperfine "
     f"run too. hyperfine -N, {m.get('warmup')} warmups + {m.get('runs')} runs, output to /dev/null; "
     "each nettool command and its ss counterpart in one invocation. Peak RSS: `/usr/bin/time -f %M`, "
     "one run each. Ratio = ss median / nettool median (> 1: nettool is faster). nettool's -a also "
     "lists the holders' listeners, which ss -tin (connected sockets only) leaves out.\n"]
checks = []
for n in sizes:
    d = out / f"size-{n}"
    meta = kv(d / "meta")
    rss = {}
    if (d / "rss.tsv").exists():
        for line in (d / "rss.tsv").read_text().splitlines():
            name, _, kib = line.rpartition("\t")
            rss[name] = int(kib) / 1024
    p.append(f"## {n:,} sockets\n")
    p.append(f"{int(meta.get('sockets', 0)):,} established sockets; -i lines printed: nettool "
             f"{meta.get('nettool_info_lines')}, ss {meta.get('ss_info_lines')}.\n")
    p.append("| command | median ms | ratio (ss / nettool) | peak RSS MiB | runs | stddev ms |")
    p.append("|---|---:|---:|---:|---:|---:|")
    for mine, theirs in PAIRS:
        f = d / f"{mine}.json"
        if not f.exists():
            continue
        res = {r["command"]: r for r in json.loads(f.read_text())["results"]}
        ours = res.get(f"nettool sockstat -{mine}")
        ss = res.get(f"ss -{theirs}")
        for name, r in ((f"nettool sockstat -{mine}", ours), (f"ss -{theirs}", ss)):
            if r is None:
                continue
            ratio = format(ss["median"] / ours["median"], ".2f") if (r is ours and ss) else ""
            p.append(f"| `{name}` | {r['median']*1e3:.1f} | {ratio} | "
                     f"{rss.get(name, float('nan')):.1f} | {len(r.get('times') or [])} | "
                     f"{(r.get('stddev') or 0)*1e3:.1f} |")
        if ours and ss:
            ok = ours["median"] <= ss["median"]
            checks.append((f"{n:,}: `-{mine}` at least as fast as `ss -{theirs}`",
                           f"nettool {ours['median']*1e3:.1f} ms vs ss {ss['median']*1e3:.1f} ms", ok))
        mem = rss.get(f"nettool sockstat -{mine}")
        if mem is not None:
            checks.append((f"{n:,}: `-{mine}` peak RSS under 64 MiB", f"{mem:.1f} MiB", mem < 64))
    p.append("")
p.append("## Targets (issue 13)\n")
p.append("| target | measured | |")
p.append("|---|---|---|")
for what, measured, ok in checks:
    p.append(f"| {what} | {measured} | {'**met**' if ok else '**NOT met**'} |")
print("\n".join(p))
PY
cp "$OUT/RESULTS.md" "$RESULTS"
cat "$OUT/RESULTS.md"
log "wrote $RESULTS (raw data in $OUT)"
