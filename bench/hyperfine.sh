# Shared by bench/peers.sh and bench/team.sh (sourced): sets of commands
# timed by hyperfine in alternating rounds, and their medians. Needs ROUNDS,
# WARMUP, W (with a json/ directory), log and hyperfine and jq.

# add ID LABEL PREPARE COMMAND: one command of the next run_set (PREPARE may
# be empty); it is also remembered for the table.
ENTRIES=()
SEP=$'\x1f'
declare -A COMMANDS
add() {
    COMMANDS[$1/$2]=$4
    ENTRIES+=("$2$SEP$3$SEP$4")
}

# run_set ID RUNS: ROUNDS rounds of hyperfine over the commands added since
# the last run_set, the order rotated by one each round.
run_set() {
    local id=$1 runs=$2
    local n=${#ENTRIES[@]} r i
    for ((r = 0; r < ROUNDS; r++)); do
        local args=()
        for ((i = 0; i < n; i++)); do
            local e=${ENTRIES[$(((i + r) % n))]}
            local label=${e%%"$SEP"*} rest=${e#*"$SEP"}
            local prepare=${rest%%"$SEP"*} cmd=${rest#*"$SEP"}
            args+=(-n "$label" --prepare "${prepare:-true}" "$cmd")
        done
        log "$id: round $((r + 1))/$ROUNDS"
        if ! hyperfine -N --style none --warmup "$WARMUP" --runs "$runs" \
            --export-json "$W/json/$id.$r.json" "${args[@]}" >"$W/hyperfine.log" 2>&1; then
            cat "$W/hyperfine.log" >&2
            exit 1
        fi
    done
    ENTRIES=()
}

# Median (ms) and number of runs of LABEL in set ID, over all rounds.
median_ms() {
    jq -rs --arg l "$2" '[.[].results[] | select(.command == $l) | .times[]] | sort
        | (if length % 2 == 1 then .[length / 2 | floor] else (.[length / 2 - 1] + .[length / 2]) / 2 end)
        | . * 1000' "$W/json/$1".*.json
}
runs_of() {
    jq -rs --arg l "$2" '[.[].results[] | select(.command == $l) | .times[]] | length' "$W/json/$1".*.json
}
fmt_ms() { LC_ALL=C printf '%.1f' "$1"; }
ratio() { LC_ALL=C awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
