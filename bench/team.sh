#!/usr/bin/env bash
# The team store on PostgreSQL (issue 18), on this machine: prints a
# markdown table on stdout (progress goes to stderr).
#
#   bash bench/team.sh > table.md             # about 10 minutes on 2 cores
#   QUICK=1 bash bench/team.sh                # smaller counts, one round: checks the script
#   KPS=/path/to/kps bash bench/team.sh       # an already built binary (else: cargo build --release)
#   SECTIONS=create,list bash bench/team.sh   # some sections only: create, list, writers
#
# Needs PostgreSQL's server (initdb, pg_ctl, postgres, psql and pgbench
# under /usr/lib/postgresql/*/bin; as root also the `postgres` user and
# setpriv), hyperfine, jq, python3 and GNU time.
#
# The cluster: started by this script as tests/common/pg.rs starts the
# tests' (initdb and pg_ctl as the `postgres` user when run as root, a
# data directory in the temp directory, a Unix socket there and 127.0.0.1
# on a free port, scram-sha-256 for TCP logins), but with fsync ON (and
# synchronous_commit, full_page_writes: PostgreSQL's defaults): a commit
# waits for its WAL to reach the disk, as on a real server, and as SQLite's
# does for a personal store. kps logs in over loopback TCP as a role that
# owns its database and nothing more, its password in a pgpass file
# (PGPASSFILE), `sslmode=disable` (the server has no TLS; `prefer` would
# only add the refused SSLRequest's round trip).
#
# The members: each has their own local store (`kps init`, the floor KDF:
# only the setup unlocks), their own config directory (pins), and joined
# as the README says (`kps team join NAME` prints a line, the admin's
# `kps team invite LINE` an invitation, `kps team join NAME --invitation`).
# Timed commands run as alice, the admin, with her store pinned, so no
# passphrase is asked for: as a member's create or list is on their own
# machine.
#
# Sections:
# - create: `kps create bench` (Ed25519) on the team store and on a
#   personal SQLite store, alternating in ROUNDS hyperfine rounds, each run
#   after a --prepare that deletes keypair "bench" (in SQL: not timed).
#   The round trips of one create are counted by a TCP relay between kps
#   and PostgreSQL (bench/team-relay.py: each time the client speaks after
#   the server, or first, and the server answers, is one round trip; the
#   TCP handshake is not counted), the statements by the server's log
#   (log_statement = all for that one create), and one round trip's time
#   over loopback by pgbench (`SELECT 1`, simple protocol).
# - list: a personal store filled by N real `kps create` (2 at a time),
#   then copied into a team store with `kps store copy` (one transaction:
#   every key opened and sealed again to the team); both timed. `kps list`
#   and `kps --json list` on both, alternating.
# - writers: creates per second of 16 writers (4 members x 4 processes,
#   each a shell loop of WRITER_N creates) against one writer (a loop of
#   SINGLE_N creates), alternating, 3 runs (1 with QUICK=1), the median
#   rate of each; the CPU time of kps (every process of the run, GNU time)
#   and of PostgreSQL (the postmaster and all its children, from /proc)
#   during each run.
#
# Everything is made under one temporary directory, removed on exit (the
# cluster stopped first).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
QUICK=${QUICK:-0}
SECTIONS=${SECTIONS:-all}
want() { [ "$SECTIONS" = all ] || [[ ",$SECTIONS," == *",$1,"* ]]; }
if [ "$QUICK" = 1 ]; then
    ROUNDS=1 RUNS=5 WARMUP=1 LIST_N=500 WRITER_N=5 SINGLE_N=20 WRITER_RUNS=1
else
    ROUNDS=3 RUNS=10 WARMUP=1 LIST_N=10000 WRITER_N=50 SINGLE_N=100 WRITER_RUNS=3
fi

for tool in hyperfine jq python3 /usr/bin/time; do
    command -v "$tool" >/dev/null || {
        echo "bench: $tool is missing (apt-get install hyperfine jq python3 time)" >&2
        exit 1
    }
done
# The newest version with every program used (by number: the glob sorts 9 after 15).
PGBIN=$(for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && [ -x "$d/postgres" ] && [ -x "$d/psql" ] &&
        [ -x "$d/pgbench" ] && echo "$d"
done | sort -t/ -k5,5n | tail -1)
[ -n "$PGBIN" ] || {
    echo "bench: no PostgreSQL server under /usr/lib/postgresql/*/bin (apt-get install postgresql)" >&2
    exit 1
}
if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 && command -v setpriv >/dev/null || {
        echo "bench: running as root needs the postgres user and setpriv to run the server as" >&2
        exit 1
    }
    as_pg() { setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"; }
else
    as_pg() { "$@"; }
fi

if [ -z "${KPS:-}" ]; then
    echo "bench: cargo build --release" >&2
    (cd "$ROOT" && cargo build --release --locked --quiet)
    KPS=${CARGO_TARGET_DIR:-$ROOT/target}/release/kps
fi
KPS=$(realpath "$KPS")

W=$(mktemp -d "${TMPDIR:-/tmp}/kps-team.XXXXXX")
PGDIR=$W/pg
RELAY_PID=
cleanup() {
    if [ -n "$RELAY_PID" ]; then kill "$RELAY_PID" 2>/dev/null || true; fi
    if [ -f "$PGDIR/data/postmaster.pid" ]; then
        (cd "$PGDIR" && as_pg "$PGBIN/pg_ctl" stop -D "$PGDIR/data" -m immediate -w -t 20 >/dev/null 2>&1) || true
    fi
    rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# The server's user must reach $W/pg (and nothing else here: 0711).
chmod 711 "$W"
mkdir -p "$W/json"
cd "$W"
(umask 077 && printf 'bench passphrase\n' >"$W/pass")
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

log() { echo "bench: $*" >&2; }

# --- the cluster -------------------------------------------------------------

log "PostgreSQL cluster ($PGBIN, fsync on)"
mkdir -m 700 "$PGDIR"
[ "$(id -u)" = 0 ] && chown postgres:postgres "$PGDIR"
SU_PASSWORD=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
KPS_PASSWORD=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
(umask 077 && printf '%s\n' "$SU_PASSWORD" >"$PGDIR/pw")
[ "$(id -u)" = 0 ] && chown postgres:postgres "$PGDIR/pw"
(cd "$PGDIR" && as_pg env -i PATH=/usr/bin:/bin LC_ALL=C "$PGBIN/initdb" -D "$PGDIR/data" -U postgres \
    -E UTF8 --locale=C --pwfile="$PGDIR/pw" --auth-local=trust --auth-host=scram-sha-256 \
    --no-instructions >"$W/initdb.log" 2>&1) || {
    cat "$W/initdb.log" >&2
    exit 1
}
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >>"$PGDIR/data/postgresql.conf" <<CONF

# kps bench/team.sh: fsync and commits as on a real server (the defaults, said aloud)
port = $PORT
listen_addresses = '127.0.0.1'
unix_socket_directories = '$PGDIR'
fsync = on
synchronous_commit = on
full_page_writes = on
max_connections = 100
CONF
printf 'local all postgres trust\nhost all all 127.0.0.1/32 scram-sha-256\n' >"$PGDIR/data/pg_hba.conf"
(cd "$PGDIR" && as_pg "$PGBIN/pg_ctl" start -D "$PGDIR/data" -l "$PGDIR/postgres.log" -w -t 60 >/dev/null) || {
    cat "$PGDIR/postgres.log" >&2
    exit 1
}
PG_PID=$(head -1 "$PGDIR/data/postmaster.pid")

# psql_su DB: SQL on stdin, as the superuser over the socket.
psql_su() {
    "$PGBIN/psql" -X -q -A -t -v ON_ERROR_STOP=1 -h "$PGDIR" -p "$PORT" -U postgres -d "$1"
}
psql_su postgres <<SQL
CREATE ROLE kps_bench LOGIN PASSWORD '$KPS_PASSWORD' NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
SQL
# new_db NAME: a database the kps role owns (and nobody else may enter);
# prints its URL (no password: that is in the pgpass file).
new_db() {
    psql_su postgres <<SQL
CREATE DATABASE "$1" OWNER kps_bench;
REVOKE ALL ON DATABASE "$1" FROM PUBLIC;
SQL
    printf 'postgres://kps_bench@127.0.0.1:%s/%s?sslmode=disable' "$PORT" "$1"
}
(umask 077 && printf '127.0.0.1:*:*:kps_bench:%s\n' "$KPS_PASSWORD" >"$W/pgpass")
export PGPASSFILE=$W/pgpass
# Nothing from the caller's environment picks another store or server.
unset KPS_STORE KPS_PASSPHRASE KPS_PASSPHRASE_FILE PGHOST PGHOSTADDR PGPORT PGUSER PGPASSWORD \
    PGDATABASE PGSSLMODE PGSSLROOTCERT PGCONNECT_TIMEOUT PGAPPNAME

# --- members -----------------------------------------------------------------

# as NAME ARGS...: kps as member NAME (their own store, passphrase and pins).
as() {
    local m=$1
    shift
    KPS_IDENTITY_STORE=$W/members/$m/own XDG_CONFIG_HOME=$W/members/$m/config \
        KPS_PASSPHRASE_FILE=$W/pass "$KPS" "$@"
}
new_member() {
    mkdir -p "$W/members/$1"
    as "$1" --store "$W/members/$1/own" init --kdf-memory 19456 --kdf-passes 2 >/dev/null
}
# new_team URL MEMBER...: the first member inits, the others join.
new_team() {
    local url=$1 admin=$2 m line invitation
    shift 2
    as "$admin" --store "$url" team init "$admin" >/dev/null
    for m in "$@"; do
        line=$(as "$m" --store "$url" team join "$m" 2>/dev/null)
        invitation=$(as "$admin" --store "$url" team invite "$line" 2>/dev/null)
        as "$m" --store "$url" team join "$m" --invitation "$invitation" >/dev/null 2>&1
    done
}
for m in alice bob carol dave; do new_member "$m"; done
# The timed commands run as alice (hyperfine passes this environment on);
# her passphrase is not given: a create or list must not need it.
export KPS_IDENTITY_STORE=$W/members/alice/own XDG_CONFIG_HOME=$W/members/alice/config

# --- the rows of the table (as bench/peers.sh) -------------------------------

ROWS=()
# add, run_set, median_ms, runs_of, fmt_ms, ratio: bench/hyperfine.sh.
# shellcheck source=bench/hyperfine.sh
. "$ROOT/bench/hyperfine.sh"
shown() {
    local c=${1//$KPS/kps}
    c=${c//$PGBIN\//}
    c=${c//$W/\$W}
    c=${c//127.0.0.1:$PORT/127.0.0.1:\$PORT}
    # shellcheck disable=SC2016 # backquotes for markdown code, not expansion
    printf '`%s`' "${c//|/\\|}"
}
# row WORK ID LABEL [OTHER_LABEL] [NOTE]: one row, the ratio LABEL/OTHER.
row() {
    local work=$1 id=$2 k=$3 p=${4:-} note=${5:-}
    local km kr
    km=$(median_ms "$id" "$k")
    kr=$(runs_of "$id" "$k")
    if [ -n "$p" ]; then
        local pm
        pm=$(median_ms "$id" "$p")
        ROWS+=("| $work | $(fmt_ms "$km") ms | $p | $(fmt_ms "$pm") ms | $(ratio "$km" "$pm") | $kr | $(shown "${COMMANDS[$id/$k]}") vs $(shown "${COMMANDS[$id/$p]}")${note:+ $note} |")
    else
        ROWS+=("| $work | $(fmt_ms "$km") ms | | | | $kr | $(shown "${COMMANDS[$id/$k]}")${note:+ $note} |")
    fi
}

# --- create: PostgreSQL over loopback against SQLite --------------------------

if want create; then
    log "create: stores"
    TEAM=$(new_db team)
    new_team "$TEAM" alice
    as alice --store "$W/personal" init >/dev/null
    # Warm both paths once (and check them) before anything is timed.
    "$KPS" --store "$TEAM" create bench >/dev/null
    "$KPS" --store "$W/personal" create bench >/dev/null

    # The keypair is deleted in SQL, not with `kps delete`: see peers.sh
    # (on SQLite, delete truncates the WAL; creates in a row append to it).
    # On PostgreSQL the audit log keeps growing by one entry a create, as it
    # does for a team that keeps creating.
    add create "PostgreSQL team store" \
        "$PGBIN/psql -X -q -h $PGDIR -p $PORT -U postgres -d team -c \"DELETE FROM keypairs WHERE name = 'bench'\"" \
        "$KPS --store $TEAM create bench"
    add create "SQLite personal store" \
        "sqlite3 -cmd '.dbconfig no_ckpt_on_close on' $W/personal/kps.db \"DELETE FROM keypairs WHERE name = 'bench'\"" \
        "$KPS --store $W/personal create bench"
    run_set create $((RUNS * 3))
    row "create Ed25519" create "PostgreSQL team store" "SQLite personal store"

    # Round trips of one create, through the relay.
    log "create: round trips"
    psql_su team <<<"DELETE FROM keypairs WHERE name = 'bench'; ALTER DATABASE team SET log_statement = 'all';"
    python3 "$ROOT/bench/team-relay.py" "$PORT" "$W/relay.port" "$W/relay.out" &
    RELAY_PID=$!
    for _ in $(seq 100); do [ -s "$W/relay.port" ] && break; sleep 0.05; done
    RPORT=$(cat "$W/relay.port")
    log_from=$(stat -c %s "$PGDIR/postgres.log")
    "$KPS" --store "postgres://kps_bench@127.0.0.1:$RPORT/team?sslmode=disable" create bench >/dev/null
    psql_su team <<<"ALTER DATABASE team RESET log_statement;"
    sleep 0.3
    kill "$RELAY_PID" 2>/dev/null || true
    wait "$RELAY_PID" 2>/dev/null || true
    RELAY_PID=
    # One line a connection: "round_trips bytes_to_server bytes_to_client".
    CONNS=$(wc -l <"$W/relay.out")
    RTS=$(awk '{ s += $1 } END { print s }' "$W/relay.out")
    # The statements kps sent (extended protocol: "execute <name>: SQL";
    # simple protocol: "statement: SQL"), from the server's log.
    tail -c +"$((log_from + 1))" "$PGDIR/postgres.log" |
        grep -E 'LOG:  (statement|execute [^:]*):' | grep -v 'ALTER DATABASE' |
        sed -E 's/.*LOG:  (statement|execute [^:]*): //' >"$W/statements.txt" || true
    STATEMENTS=$(wc -l <"$W/statements.txt")
    log "create: statements of one create:"
    sed 's/^/bench:   /' "$W/statements.txt" >&2
    # One round trip's time over loopback: pgbench, SELECT 1, one client.
    echo 'SELECT 1;' >"$W/select1.sql"
    RT_MS=$("$PGBIN/pgbench" -n -h 127.0.0.1 -p "$PORT" -U kps_bench -f "$W/select1.sql" -t 5000 team 2>/dev/null |
        sed -n 's/^latency average = \([0-9.]*\) ms$/\1/p')
    # What a new connection costs (TCP, a backend forked, the scram-sha-256
    # login): pgbench with a connection per transaction.
    CONN_MS=$("$PGBIN/pgbench" -n -C -h 127.0.0.1 -p "$PORT" -U kps_bench -f "$W/select1.sql" -t 300 team 2>/dev/null |
        sed -n 's/^latency average = \([0-9.]*\) ms$/\1/p')
    pm=$(median_ms create "PostgreSQL team store")
    sm=$(median_ms create "SQLite personal store")
    budget=$(LC_ALL=C awk -v s="$sm" -v n="$RTS" -v r="$RT_MS" 'BEGIN { printf "%.1f", 2 * s + n * r }')
    ROWS+=("| round trips of one create on PostgreSQL (connection and login included) | $RTS | | | | 1 | $CONNS connection(s), $STATEMENTS statements (the server's log); counted by bench/team-relay.py |")
    ROWS+=("| one round trip over loopback | $RT_MS ms | | | | 5000 | \`pgbench -n -h 127.0.0.1 -f select1.sql -t 5000\` (SELECT 1) |")
    ROWS+=("| a new connection and login (scram-sha-256) and SELECT 1 | $CONN_MS ms | | | | 300 | \`pgbench -n -C -h 127.0.0.1 -f select1.sql -t 300\`: what every kps process pays before its first statement |")
    verdict=$(LC_ALL=C awk -v p="$pm" -v b="$budget" 'BEGIN { print (p <= b) ? "met" : "missed" }')
    ROWS+=("| target for create: 2 x SQLite + round trips x one round trip | $budget ms | | | | | $verdict: $(fmt_ms "$pm") ms on PostgreSQL |")
fi

# --- list of LIST_N keypairs ---------------------------------------------------

if want list; then
    log "list: $LIST_N creates into a personal store (2 at a time)"
    as alice --store "$W/big" init >/dev/null
    t0=$(date +%s.%N)
    # xargs gives each sh 50 names after the binary ($0) and the store ($1).
    seq -f 'kp%05g' "$LIST_N" | xargs -P 2 -n 50 sh -c \
        'store=$1; shift; for n; do "$0" --store "$store" create "$n" >/dev/null || exit 255; done' \
        "$KPS" "$W/big"
    t1=$(date +%s.%N)
    FILL_S=$(LC_ALL=C awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
    LISTDB=$(new_db teamlist)
    new_team "$LISTDB" alice
    log "list: kps store copy into the team store"
    t0=$(date +%s.%N)
    as alice store copy --from "$W/big" --to "$LISTDB" >/dev/null
    t1=$(date +%s.%N)
    COPY_S=$(LC_ALL=C awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
    for s in "$W/big" "$LISTDB"; do
        c=$("$KPS" --store "$s" --json list | jq '.keypairs | length')
        [ "$c" = "$LIST_N" ] || {
            echo "bench: store $s has $c keypairs, not $LIST_N" >&2
            exit 1
        }
    done
    add list "PostgreSQL list" "" "$KPS --store $LISTDB list"
    add list "SQLite list" "" "$KPS --store $W/big list"
    add list "PostgreSQL --json list" "" "$KPS --store $LISTDB --json list"
    add list "SQLite --json list" "" "$KPS --store $W/big --json list"
    # The first list on a machine: no row verified before, every Ed25519
    # signature checked (kps then keeps the rows it verified, beside the
    # team pin; the runs above find them there). hyperfine -N runs the
    # --prepare without a shell: find, not a glob.
    add list "PostgreSQL list, nothing verified before" \
        "find $W/members/alice/config/kps/teams -name *.verified -delete" "$KPS --store $LISTDB list"
    run_set list "$RUNS"
    n=$(echo "$LIST_N" | sed -E ':a; s/([0-9])([0-9]{3})($|,)/\1,\2\3/; ta')
    row "list, $n keypairs (target on PostgreSQL: at most 100 ms)" list "PostgreSQL list" "SQLite list"
    row "list --json, $n keypairs (target on PostgreSQL: at most 100 ms)" list "PostgreSQL --json list" "SQLite --json list"
    row "list, $n keypairs, the first on this machine (every signature checked)" list "PostgreSQL list, nothing verified before" "PostgreSQL list"
    ROWS+=("| filling: $n \`kps create\` into a personal store, 2 at a time | $FILL_S s | | | | 1 | \`seq ... \| xargs -P 2 ... kps --store \$W/big create kpNNNNN\` |")
    ROWS+=("| filling: \`kps store copy\` of them into the team store (one transaction) | $COPY_S s | | | | 1 | \`kps store copy --from \$W/big --to postgres://...\` |")
fi

# --- writers: 16 concurrent against 1 --------------------------------------------

# CPU ticks (user + system) of the postmaster and every child of it, alive
# or reaped (a reaped backend's time is in the postmaster's cutime/cstime).
pg_ticks() {
    local t=0 pid
    for pid in $PG_PID $(cat /proc/"$PG_PID"/task/*/children 2>/dev/null); do
        t=$((t + $(awk '{ sub(/^.*\) /, ""); print $12 + $13 + $14 + $15 }' "/proc/$pid/stat" 2>/dev/null || echo 0)))
    done
    echo "$t"
}

if want writers; then
    log "writers: a team of 4"
    WDB=$(new_db writers)
    new_team "$WDB" alice bob carol dave
    cat >"$W/writer.sh" <<'SH'
# writer.sh MEMBER PREFIX N: N creates as MEMBER, named PREFIX-1 ... PREFIX-N.
m=$1 prefix=$2 n=$3
export KPS_IDENTITY_STORE=$W/members/$m/own XDG_CONFIG_HOME=$W/members/$m/config
i=0
while [ $i -lt "$n" ]; do
    i=$((i + 1))
    "$KPS" --store "$STORE" create "$prefix-$i" >/dev/null || exit 1
done
SH
    cat >"$W/writers.sh" <<'SH'
# writers.sh RUN WRITERS N: WRITERS loops (members in turn) of N creates at once.
run=$1 writers=$2 n=$3
set -- alice bob carol dave
pids=
w=0
while [ $w -lt "$writers" ]; do
    eval "m=\${$((w % 4 + 1))}"
    sh "$W/writer.sh" "$m" "r$run-w$w" "$n" &
    pids="$pids $!"
    w=$((w + 1))
done
fail=0
for p in $pids; do wait "$p" || fail=1; done
exit $fail
SH
    hz=$(getconf CLK_TCK)
    : >"$W/writers.out"
    : >"$W/waits.out"
    # What the writers' backends are doing, sampled every 0.1 s during the
    # 16-writer runs (one psql, \watch): a running statement (CPU), a wait
    # (Lock/advisory: the team lock; IO/WALSync: the commit's flush), or idle
    # in a transaction / idle (waiting for kps).
    cat >"$W/waits.sql" <<'SQL'
SELECT state || ' ' || coalesce(wait_event_type || '/' || wait_event, 'running'), count(*)
FROM pg_stat_activity WHERE datname = 'writers' AND backend_type = 'client backend'
GROUP BY 1 \watch 0.1
SQL
    # one_run RUN LABEL WRITERS N: appends "LABEL creates wall_s kps_cpu_s pg_cpu_s".
    one_run() {
        local run=$1 label=$2 writers=$3 n=$4 before after
        local sampler=
        if [ "$writers" -gt 1 ]; then
            "$PGBIN/psql" -X -q -A -t -F ' ' -h "$PGDIR" -p "$PORT" -U postgres -d postgres \
                -f "$W/waits.sql" >>"$W/waits.out" 2>/dev/null </dev/null &
            sampler=$!
        fi
        before=$(pg_ticks)
        W=$W KPS=$KPS STORE=$WDB /usr/bin/time -o "$W/time" -f '%e %U %S' \
            sh "$W/writers.sh" "$run-$label" "$writers" "$n" || {
            echo "bench: a writer failed (run $run, $label)" >&2
            exit 1
        }
        if [ -n "$sampler" ]; then kill "$sampler" 2>/dev/null || true; fi
        sleep 0.5 # the last backends exit and are reaped
        after=$(pg_ticks)
        local got
        got=$(psql_su writers <<<"SELECT count(*) FROM keypairs WHERE name LIKE 'r$run-$label-%'")
        [ "$got" = $((writers * n)) ] || {
            echo "bench: run $run $label: $got keypairs, not $((writers * n))" >&2
            exit 1
        }
        awk -v l="$label" -v c=$((writers * n)) -v p=$((after - before)) -v hz="$hz" \
            '{ printf "%s %d %s %.2f %.2f\n", l, c, $1, $2 + $3, p / hz }' "$W/time" >>"$W/writers.out"
    }
    for ((r = 1; r <= WRITER_RUNS; r++)); do
        log "writers: run $r/$WRITER_RUNS"
        if ((r % 2)); then
            one_run "$r" one 1 "$SINGLE_N"
            one_run "$r" sixteen 16 "$WRITER_N"
        else
            one_run "$r" sixteen 16 "$WRITER_N"
            one_run "$r" one 1 "$SINGLE_N"
        fi
    done
    # The median run (by rate) of each: its rate and its CPU.
    median_run() {
        awk -v l="$1" '$1 == l { printf "%.3f %s\n", $2 / $3, $0 }' "$W/writers.out" | sort -n |
            awk '{ a[NR] = $0 } END { print a[int((NR + 1) / 2)] }'
    }
    read -r rate1 _ c1 wall1 kcpu1 pcpu1 <<<"$(median_run one)"
    read -r rate16 _ c16 wall16 kcpu16 pcpu16 <<<"$(median_run sixteen)"
    all1=$(awk '$1 == "one" { printf "%s%.1f", s, $2 / $3; s = ", " }' "$W/writers.out")
    all16=$(awk '$1 == "sixteen" { printf "%s%.1f", s, $2 / $3; s = ", " }' "$W/writers.out")
    busy() { LC_ALL=C awk -v k="$1" -v p="$2" -v w="$3" -v c="$(nproc)" 'BEGIN { printf "%.0f", 100 * (k + p) / (w * c) }'; }
    ROWS+=("| creates/s, 1 writer ($SINGLE_N creates in a loop) | $(fmt_ms "$rate1")/s | | | | $WRITER_RUNS | runs: $all1/s; median run: $c1 in $wall1 s, CPU kps $kcpu1 s + PostgreSQL $pcpu1 s ($(busy "$kcpu1" "$pcpu1" "$wall1") % of $(nproc) cores) |")
    ROWS+=("| creates/s, 16 writers (4 members x 4, $WRITER_N each) (target: at least 5 x 1 writer) | $(fmt_ms "$rate16")/s | 1 writer | $(fmt_ms "$rate1")/s | $(ratio "$rate16" "$rate1") | $WRITER_RUNS | runs: $all16/s; median run: $c16 in $wall16 s, CPU kps $kcpu16 s + PostgreSQL $pcpu16 s ($(busy "$kcpu16" "$pcpu16" "$wall16") % of $(nproc) cores) |")
    per1=$(LC_ALL=C awk -v k="$kcpu1" -v p="$pcpu1" -v c="$c1" 'BEGIN { printf "%.1f ms kps + %.1f ms PostgreSQL", 1000 * k / c, 1000 * p / c }')
    per16=$(LC_ALL=C awk -v k="$kcpu16" -v p="$pcpu16" -v c="$c16" 'BEGIN { printf "%.1f ms kps + %.1f ms PostgreSQL", 1000 * k / c, 1000 * p / c }')
    ROWS+=("| CPU per create | | | | | | 1 writer: $per1; 16 writers: $per16 |")
    # The samples pooled: the share of each state among the writers' backends.
    waits=$(awk 'NF >= 3 && $NF ~ /^[0-9]+$/ { n = $NF; $NF = ""; sub(/ $/, ""); c[$0] += n; t += n }
        END { for (k in c) printf "%d %s: %.0f %%\n", c[k], k, 100 * c[k] / t }' "$W/waits.out" |
        sort -rn | cut -d' ' -f2- | paste -sd';' | sed 's/;/; /g')
    ROWS+=("| the 16 writers' backends, sampled every 0.1 s | | | | | | $waits |")
fi

# --- the table ---------------------------------------------------------------------

LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
pgv=$("$PGBIN/postgres" --version | cut -d' ' -f3)
echo "Made by \`bash bench/team.sh\` on $(date -u +%Y-%m-%d) at kps $commit: $(nproc) cores ($cpu), load average $LOAD_START at the start and $LOAD_END at the end; PostgreSQL $pgv (fsync on, loopback TCP, scram-sha-256, sslmode=disable), hyperfine $(hyperfine --version | cut -d' ' -f2). Medians over $ROUNDS alternating rounds; \`\$W\` is the temporary directory, \`\$PORT\` the cluster's port."
echo
echo "| Work | Median | Compared with | Its median | Ratio | Runs | Commands, notes |"
echo "|---|--:|---|--:|--:|--:|---|"
printf '%s\n' "${ROWS[@]}"
