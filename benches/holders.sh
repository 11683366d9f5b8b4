# benches/holders.sh - sourced by the sockstat benches: the socket holders
# (benches/sockholder.py) that give a bench its thousands of connections.
#
# The sourcing script sets HOLDER (sockholder.py's path), PER_HOLDER
# (connections per holder process), HOLDER_PIDS=() and HOLDER_RUN (the
# command a holder runs under: `(ip netns exec "$NS")`, or `()` for here),
# and defines die. It may define after_holders_stopped, called once the
# holders are gone.

# start_holders CONNS DIR: holders for CONNS connections; returns once each
# has written DIR/holder-N.ready (at most 5 minutes), dies if one exits.
start_holders() {
    local left=$1 dir=$2 idx=0 chunk pid i j ready
    rm -f "$dir"/holder-*.ready
    while ((left > 0)); do
        chunk=$((left < PER_HOLDER ? left : PER_HOLDER))
        "${HOLDER_RUN[@]}" python3 "$HOLDER" --index "$idx" --conns "$chunk" \
            --ready "$dir/holder-$idx.ready" 9>&- &
        HOLDER_PIDS+=("$!")
        left=$((left - chunk))
        idx=$((idx + 1))
    done
    for ((i = 0; i < 6000; i++)); do
        ready=0
        for ((j = 0; j < idx; j++)); do
            [[ -f "$dir/holder-$j.ready" ]] && ready=$((ready + 1))
        done
        ((ready == idx)) && return 0
        for pid in "${HOLDER_PIDS[@]}"; do
            kill -0 "$pid" 2>/dev/null || die "socket holder $pid exited early"
        done
        sleep 0.05
    done
    die "socket holders not ready after 5 minutes"
}

# stop_holders: SIGTERM every holder and wait for it.
stop_holders() {
    local pid
    ((${#HOLDER_PIDS[@]} > 0)) || return 0
    for pid in "${HOLDER_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${HOLDER_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    HOLDER_PIDS=()
    if declare -F after_holders_stopped >/dev/null; then after_holders_stopped; fi
}
