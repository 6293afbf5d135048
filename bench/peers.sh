#!/usr/bin/env bash
# kps against the tools people would otherwise use, on the same work, with
# hyperfine; prints a markdown table on stdout (progress goes to stderr).
#
#   bash bench/peers.sh > table.md          # about 20 minutes on 2 cores (bind: 10)
#   QUICK=1 bash bench/peers.sh             # one short round of everything: checks the script
#   KPS=/path/to/kps bash bench/peers.sh    # an already built binary (else: cargo build --release)
#   SECTIONS=bind,ssh bash bench/peers.sh   # some sections only: create, read, list, agent, ssh,
#                                           # bind, start (default: all)
#
# Needs hyperfine, ssh-keygen, ssh-agent, puttygen, openssl, sqlite3, jq, python3 and GNU time;
# the ssh and bind sections also sshd (openssh-server), bind also root (`unshare -m`) and ssh-copy-id.
#
# Alternating: every comparison runs in ROUNDS rounds (3), each a hyperfine
# call over all its commands with a warm-up run each, the order rotated from
# round to round; the medians are over the runs of all rounds pooled. So
# kps and its peer see the same machine, even when the load on it changes
# while the script runs. Anything random (key generation) gets 3 x 10 runs.
#
# Commands that write a file or a keypair get a --prepare that removes it,
# so every run does the same work (not timed). Commands that unlock the
# store are timed on a store with the default KDF (Argon2id 64 MiB, 3
# passes) and on one with the cheapest KDF kps accepts (19 MiB, 2 passes,
# OWASP's floor; it once was 8 KiB, 1 pass, which kps now refuses) holding
# the same key: the difference is what the default KDF costs over the floor.
#
# Stores for `list`: three real keypairs (Ed25519, ECDSA P-256, RSA 3072)
# made by kps, then SQL copies of their rows (round robin, new names, same
# keys and sealed private keys) inserted with sqlite3 up to 100, 1,000,
# 10,000 and 100,000 keypairs. `list` and `show` never open a private key,
# so the copies are exactly what they would read in a real store of that
# size; making 100,000 real keypairs would take far longer than the bench.
#
# kps bind (section bind): 20 sshd servers (5 with QUICK=1) on 127.0.0.1,
# each in its own mount namespace with temp directories over /etc/ssh and
# /root (Ubuntu's layout: the machine's sshd_config, Include first, and
# cloud-init's drop-in saying yes to passwords), root's authorized_keys
# holding a bootstrap key (an ssh-keygen file, also imported into kps).
# `kps bind web --hosts-file F --parallel 10 --auth-keypair bootstrap`
# (its store on the default KDF: one unlock a run) against a shell loop of
# `ssh-copy-id -i web.pub` over the same servers, logging in with the
# bootstrap key from an ssh-agent; both reach the servers' known_hosts
# through `ssh -F` (kps: a wrapper as --ssh). ssh-copy-id makes three
# connections a server (a version probe, a login with the new key to see
# whether it is there, the install) and proves nothing; kps makes two (the
# kept master connection, whose channels carry each step of its remote
# script, and the proof: a fresh login with the new key alone). A --prepare puts every
# server's authorized_keys back to the bootstrap key alone, so every run
# installs. The proofs' cost, on one server: a fresh key-only login timed
# alone, and kps bind with and without --disable-password-login (which adds
# the drop-in, sshd -t, sshd -T, a reload, the methods probe and a second
# login; its --prepare also removes the drop-in and reloads sshd until it
# offers passwords again). The servers are stopped on exit.
#
# Everything is made under one temporary directory, removed on exit.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
QUICK=${QUICK:-0}
SECTIONS=${SECTIONS:-all}
# want SECTION: is SECTION in SECTIONS (comma-separated, or all)?
want() { [ "$SECTIONS" = all ] || [[ ",$SECTIONS," == *",$1,"* ]]; }
if [ "$QUICK" = 1 ]; then
    ROUNDS=1 RANDOM_RUNS=3 RUNS=3 FAST_RUNS=5 WARMUP=1
    BIND_SERVERS=5 BIND_RUNS=2
    LIST_SIZES=(100 1000)
else
    ROUNDS=3 RANDOM_RUNS=10 RUNS=10 FAST_RUNS=20 WARMUP=1
    BIND_SERVERS=20 BIND_RUNS=10
    LIST_SIZES=(100 1000 10000 100000)
fi

for tool in hyperfine ssh-keygen puttygen openssl sqlite3 jq /usr/bin/time; do
    command -v "$tool" >/dev/null || {
        echo "bench: $tool is missing (apt-get install hyperfine openssh-client putty-tools openssl sqlite3 jq time)" >&2
        exit 1
    }
done

if [ -z "${KPS:-}" ]; then
    echo "bench: cargo build --release" >&2
    (cd "$ROOT" && cargo build --release --locked --quiet)
    KPS=${CARGO_TARGET_DIR:-$ROOT/target}/release/kps
fi
KPS=$(realpath "$KPS")

W=$(mktemp -d "${TMPDIR:-/tmp}/kps-bench.XXXXXX")
# Pins (docs/store-format.md) go with the benchmark stores, not into ~/.config.
export XDG_CONFIG_HOME="$W/config"
AGENT_PIDS=()  # the agents of the agent section, stopped on exit
SSHD_PID=
BIND_PIDS=()   # the sshd servers of the bind section
declare -A CPU_HERE CPU_SERVERS
cleanup() {
    for pid in "${AGENT_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    if [ -n "$SSHD_PID" ]; then kill "$SSHD_PID" 2>/dev/null || true; fi
    for pid in "${BIND_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$W/json"
cd "$W"
printf 'bench passphrase\n' >"$W/pass"
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

log() { echo "bench: $*" >&2; }
kps_pw() { "$KPS" --passphrase-file "$W/pass" "$@"; }

# --- the rows of the table ------------------------------------------------

ROWS=()  # markdown rows, in order

# add, run_set, median_ms, runs_of, fmt_ms, ratio: bench/hyperfine.sh.
# shellcheck source=bench/hyperfine.sh
. "$ROOT/bench/hyperfine.sh"

# Shown commands: the temporary directory as $W, the binary as kps.
shown() {
    local c=${1//$KPS/kps}
    c=${c//$W/\$W}
    # shellcheck disable=SC2016 # backquotes for markdown code, not expansion
    printf '`%s`' "${c//|/\\|}"
}

# unlock_row WORK ID: the default-KDF run less the token-KDF run of set ID.
unlock_row() {
    local d
    d=$(LC_ALL=C awk -v a="$(median_ms "$2" "kps, default KDF")" -v b="$(median_ms "$2" "kps, token KDF")" \
        'BEGIN { printf "%.1f", a - b }')
    ROWS+=("| $1 | $d | | | | | the difference of the two rows above: the default KDF over the floor | |")
}

# row WORK ID KPS_LABEL [PEER_LABEL]: one markdown row.
row() {
    local work=$1 id=$2 k=$3 p=${4:-}
    local km kr
    km=$(median_ms "$id" "$k")
    kr=$(runs_of "$id" "$k")
    if [ -n "$p" ]; then
        local pm
        pm=$(median_ms "$id" "$p")
        ROWS+=("| $work | $(fmt_ms "$km") | $p | $(fmt_ms "$pm") | $(ratio "$km" "$pm") | $kr | $(shown "${COMMANDS[$id/$k]}") | $(shown "${COMMANDS[$id/$p]}") |")
    else
        ROWS+=("| $work | $(fmt_ms "$km") | | | | $kr | $(shown "${COMMANDS[$id/$k]}") | |")
    fi
}

# --- key generation ------------------------------------------------------

if want create; then
    log "stores"
    "$KPS" --store "$W/create" --passphrase-file "$W/pass" init >/dev/null

    create_set() {
        local id=$1 kps_args=$2 ssh_args=$3 putty_args=${4:-}
        # Each run creates keypair "bench" anew. It is removed in SQL rather than
        # with `kps delete`, which truncates the WAL (it removes a sealed key):
        # every create would then start a new WAL, where creates in a row (what
        # a user does) append to it and pay a checkpoint one time in about 20.
        add "$id" kps "sqlite3 -cmd '.dbconfig no_ckpt_on_close on' $W/create/kps.db \"DELETE FROM keypairs WHERE name = 'bench'\"" \
            "$KPS --store $W/create create bench $kps_args"
        add "$id" ssh-keygen "rm -f $W/ssh.key $W/ssh.key.pub" "ssh-keygen -q $ssh_args -N '' -f $W/ssh.key"
        if [ -n "$putty_args" ]; then
            # --new-passphrase /dev/null: no passphrase, and no prompt for one.
            add "$id" puttygen "rm -f $W/putty.ppk" "puttygen $putty_args -o $W/putty.ppk --new-passphrase /dev/null"
        fi
        run_set "$id" "$RANDOM_RUNS"
    }

    for bits in 2048 3072 4096; do
        create_set "rsa$bits" "-t rsa -b $bits" "-t rsa -b $bits" "-t rsa -b $bits"
        row "create RSA $bits" "rsa$bits" kps ssh-keygen
        row "create RSA $bits" "rsa$bits" kps puttygen
    done
    create_set ed25519 "-t ed25519" "-t ed25519"
    row "create Ed25519" ed25519 kps ssh-keygen
    for bits in 256 384 521; do
        create_set "ecdsa$bits" "-t ecdsa -b $bits" "-t ecdsa -b $bits"
        row "create ECDSA P-$bits" "ecdsa$bits" kps ssh-keygen
    done
fi

# --- reading a private key: export-ppk, get-win-password ------------------

if want read; then
    kps_pw --store "$W/default" init >/dev/null
    kps_pw --store "$W/default" create win -t rsa -b 4096 >/dev/null
    kps_pw --store "$W/default" export win --format pem -o "$W/key.pem" >/dev/null 2>&1
    kps_pw --store "$W/cheap" init --kdf-memory 19456 --kdf-passes 2 >/dev/null
    kps_pw --store "$W/cheap" import win --private-key "$W/key.pem" >/dev/null
    kps_pw --store "$W/default" export win --format public >"$W/key.pub"
    ssh-keygen -e -m PKCS8 -f "$W/key.pub" >"$W/pub.pem"
    printf %s 'Bench-Passw0rd-1234' |
        openssl pkeyutl -encrypt -pubin -inkey "$W/pub.pem" -pkeyopt rsa_padding_mode:pkcs1 >"$W/password.bin"
    base64 -w0 "$W/password.bin" >"$W/password.b64"
    [ "$(kps_pw --store "$W/cheap" get-win-password win --password-data @"$W/password.b64")" = Bench-Passw0rd-1234 ]

    add ppk "kps, default KDF" "rm -f $W/kps.ppk" "$KPS --store $W/default --passphrase-file $W/pass export-ppk win -o $W/kps.ppk"
    add ppk "kps, token KDF" "rm -f $W/kps.ppk" "$KPS --store $W/cheap --passphrase-file $W/pass export-ppk win -o $W/kps.ppk"
    add ppk puttygen "rm -f $W/putty.ppk" "puttygen $W/key.pem -O private -o $W/putty.ppk"
    run_set ppk "$RUNS"
    row "export-ppk RSA 4096 (store KDF 64 MiB, 3 passes)" ppk "kps, default KDF" puttygen
    row "export-ppk RSA 4096 (store KDF 19 MiB, 2 passes: the floor)" ppk "kps, token KDF" puttygen
    unlock_row "export-ppk: the store unlock alone" ppk

    add winpass "kps, default KDF" "" "$KPS --store $W/default --passphrase-file $W/pass get-win-password win --password-data @$W/password.b64"
    add winpass "kps, token KDF" "" "$KPS --store $W/cheap --passphrase-file $W/pass get-win-password win --password-data @$W/password.b64"
    add winpass openssl "" "openssl pkeyutl -decrypt -inkey $W/key.pem -in $W/password.bin -pkeyopt rsa_padding_mode:pkcs1"
    run_set winpass "$RUNS"
    row "get-win-password RSA 4096 (store KDF 64 MiB, 3 passes)" winpass "kps, default KDF" openssl
    row "get-win-password RSA 4096 (store KDF 19 MiB, 2 passes: the floor)" winpass "kps, token KDF" openssl
    unlock_row "get-win-password: the store unlock alone" winpass

    add export "kps public" "" "$KPS --store $W/default export win --format public"
    add export "kps private, default KDF" "" "$KPS --store $W/default --passphrase-file $W/pass export win --format openssh -o -"
    add export "kps private, token KDF" "" "$KPS --store $W/cheap --passphrase-file $W/pass export win --format openssh -o -"
    run_set export "$FAST_RUNS"
    row "export --format public RSA 4096 (no unlock)" export "kps public"
    row "export openssh RSA 4096 (store KDF 64 MiB, 3 passes)" export "kps private, default KDF"
    row "export openssh RSA 4096 (store KDF 19 MiB, 2 passes: the floor)" export "kps private, token KDF"
fi

# --- list, show, export public by store size -------------------------------

if want list; then
    kps_pw --store "$W/template" init >/dev/null
    kps_pw --store "$W/template" create t1-ed25519 -t ed25519 >/dev/null
    kps_pw --store "$W/template" create t2-ecdsa -t ecdsa -b 256 >/dev/null
    kps_pw --store "$W/template" create t3-rsa -t rsa -b 3072 >/dev/null
    sqlite3 "$W/template/kps.db" 'PRAGMA wal_checkpoint(TRUNCATE);' >/dev/null

    # make_store N: $W/list-N with N keypairs (the 3 templates and N - 3 copies).
    make_store() {
        local n=$1 dir=$W/list-$1
        mkdir -m 700 "$dir"
        cp "$W/template/kps.db" "$dir/kps.db"
        sqlite3 "$dir/kps.db" >/dev/null <<SQL
PRAGMA journal_mode = WAL;
WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < $n - 3),
template AS (SELECT *, row_number() OVER (ORDER BY id) - 1 AS k FROM keypairs)
INSERT INTO keypairs (name, algorithm, bits, public_key, fingerprint_sha256, fingerprint_md5,
    comment, description, user_id, create_time, update_time, encryption_type, kms_key_name,
    kms_key_id, private_key, fingerprint_aws_created, fingerprint_aws_imported)
SELECT printf('kp%06d', i), algorithm, bits, public_key, fingerprint_sha256, fingerprint_md5,
    comment, description, user_id, create_time, update_time, encryption_type, kms_key_name,
    kms_key_id, private_key, fingerprint_aws_created, fingerprint_aws_imported
FROM seq JOIN template ON template.k = i % 3;
SQL
        # The copies get the MACs kps would have given them (and the store its pin).
        python3 "$ROOT/bench/sign-rows.py" "$dir/kps.db" "$W/template/kps.db"
        sqlite3 "$dir/kps.db" 'PRAGMA wal_checkpoint(TRUNCATE);' >/dev/null
        local count
        count=$("$KPS" --store "$dir" --json list | jq '.keypairs | length')
        [ "$count" = "$n" ] || {
            echo "bench: store of $n has $count keypairs" >&2
            exit 1
        }
    }

    for n in "${LIST_SIZES[@]}"; do
        log "store of $n keypairs"
        make_store "$n"
        add "list$n" list "" "$KPS --store $W/list-$n list"
        add "list$n" "list --json" "" "$KPS --store $W/list-$n --json list"
        add "list$n" show "" "$KPS --store $W/list-$n show t3-rsa"
        add "list$n" "export public" "" "$KPS --store $W/list-$n export t3-rsa --format public"
        run_set "list$n" "$FAST_RUNS"
        # Peak memory (max RSS) of both forms, the largest of 3 runs.
        rss_text=0 rss_json=0
        for _ in 1 2 3; do
            r=$(/usr/bin/time -f %M "$KPS" --store "$W/list-$n" list 2>&1 >/dev/null | tail -1)
            [ "$r" -gt "$rss_text" ] && rss_text=$r
            r=$(/usr/bin/time -f %M "$KPS" --store "$W/list-$n" --json list 2>&1 >/dev/null | tail -1)
            [ "$r" -gt "$rss_json" ] && rss_json=$r
        done
        size=$(echo "$n" | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta')
        row "list, $size keypairs (max RSS $((rss_text / 1024)) MiB)" "list$n" "list"
        row "list --json, $size keypairs (max RSS $((rss_json / 1024)) MiB)" "list$n" "list --json"
        row "show, $size keypairs" "list$n" "show"
        row "export --format public, $size keypairs" "list$n" "export public"
    done
fi

# --- agent signatures -------------------------------------------------------

if want agent; then
    # 1,000 Ed25519 signatures through `kps agent` and through OpenSSH's
    # `ssh-agent`, holding the same key, driven by the same client
    # (bench/agent-sign.py: a new connection per signature, as each ssh makes).
    # Both agents are started once and serve every run.
    log "agents"
    "$KPS" --store "$W/agent-store" --passphrase-file "$W/pass" create sig -t ed25519 -q
    "$KPS" --store "$W/agent-store" --passphrase-file "$W/pass" export sig -o "$W/agent-key" -q
    "$KPS" --store "$W/agent-store" --passphrase-file "$W/pass" agent -D -a "$W/kps-agent.sock" -q >/dev/null &
    AGENT_PIDS+=($!)
    ssh-agent -D -a "$W/ssh-agent.sock" >/dev/null &
    AGENT_PIDS+=($!)
    for _ in $(seq 100); do
        [ -S "$W/kps-agent.sock" ] && [ -S "$W/ssh-agent.sock" ] && break
        sleep 0.1
    done
    SSH_AUTH_SOCK="$W/ssh-agent.sock" ssh-add -q "$W/agent-key" 2>/dev/null
    SIGN="python3 $ROOT/bench/agent-sign.py"
    add agent "kps agent" "" "$SIGN $W/kps-agent.sock 1000"
    add agent "ssh-agent" "" "$SIGN $W/ssh-agent.sock 1000"
    run_set agent "$RUNS"
    row "1,000 Ed25519 signatures through the agent" agent "kps agent" "ssh-agent"
fi

# --- kps ssh over ssh -i, to a throwaway sshd on 127.0.0.1 -----------------
# The same Ed25519 key, logged in with `true` as the remote command: kps ssh
# (its own agent, the store unlocked once) against ssh -i with the key in a
# file. The token-KDF store shows kps ssh's cost apart from the unlock
# (target: at most +20 ms over ssh -i).

SSHD=$(command -v sshd || true)
[ -n "$SSHD" ] || { [ -x /usr/sbin/sshd ] && SSHD=/usr/sbin/sshd; } || true
if want ssh && [ -n "$SSHD" ]; then
    log "throwaway sshd"
    # The stores of the read section, when it did not run (SECTIONS).
    [ -d "$W/default" ] || kps_pw --store "$W/default" init >/dev/null
    [ -d "$W/cheap" ] || kps_pw --store "$W/cheap" init --kdf-memory 19456 --kdf-passes 2 >/dev/null
    kps_pw --store "$W/default" create login -t ed25519 >/dev/null
    kps_pw --store "$W/default" export login --format openssh -o "$W/login.key" >/dev/null 2>&1
    chmod 600 "$W/login.key"
    kps_pw --store "$W/cheap" import login --private-key "$W/login.key" >/dev/null
    kps_pw --store "$W/default" export login --format public >"$W/sshd_authorized_keys"
    ssh-keygen -q -t ed25519 -N '' -f "$W/sshd_host_key"
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    mkdir -p /run/sshd 2>/dev/null || true
    cat >"$W/sshd_config" <<CONF
Port $port
ListenAddress 127.0.0.1
HostKey $W/sshd_host_key
PidFile $W/sshd.pid
AuthorizedKeysFile $W/sshd_authorized_keys
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
MaxStartups 200
CONF
    "$SSHD" -D -e -f "$W/sshd_config" 2>"$W/sshd.log" &
    SSHD_PID=$!
    for _ in $(seq 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
        sleep 0.05
    done
    opts="-F /dev/null -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -p $port $(id -un)@127.0.0.1 true"
    # shellcheck disable=SC2086 # $opts is split into words on purpose
    ssh -o IdentitiesOnly=yes -i "$W/login.key" $opts || {
        cat "$W/sshd.log" >&2
        echo "bench: ssh -i cannot log in to the throwaway sshd" >&2
        exit 1
    }
    add sshlogin "kps ssh, default KDF" "" "$KPS --store $W/default --passphrase-file $W/pass ssh login $opts"
    add sshlogin "kps ssh, token KDF" "" "$KPS --store $W/cheap --passphrase-file $W/pass ssh login $opts"
    add sshlogin "ssh -i" "" "ssh -o IdentitiesOnly=yes -i $W/login.key $opts"
    # What opening the key costs on the floor store, without ssh: a private
    # export less a public one (no unlock).
    add sshlogin "export private, floor KDF" "" "$KPS --store $W/cheap --passphrase-file $W/pass export login --format openssh -o -"
    add sshlogin "export public" "" "$KPS --store $W/cheap export login --format public"
    run_set sshlogin "$RUNS"
    row "ssh login Ed25519 (store KDF 64 MiB, 3 passes)" sshlogin "kps ssh, default KDF" "ssh -i"
    row "ssh login Ed25519 (store KDF 19 MiB, 2 passes: the floor)" sshlogin "kps ssh, token KDF" "ssh -i"
    d=$(LC_ALL=C awk -v a="$(median_ms sshlogin "kps ssh, default KDF")" -v b="$(median_ms sshlogin "kps ssh, token KDF")" \
        'BEGIN { printf "%.1f", a - b }')
    ROWS+=("| kps ssh: the default KDF over the floor | $d | | | | | the difference of the two rows above | |")
    row "export openssh Ed25519 (store KDF 19 MiB, 2 passes: the floor)" sshlogin "export private, floor KDF"
    row "export --format public Ed25519 (no unlock)" sshlogin "export public"
    d=$(LC_ALL=C awk -v k="$(median_ms sshlogin "kps ssh, token KDF")" -v s="$(median_ms sshlogin "ssh -i")" \
        -v p="$(median_ms sshlogin "export private, floor KDF")" -v q="$(median_ms sshlogin "export public")" \
        'BEGIN { printf "%.1f", (k - s) - (p - q) }')
    ROWS+=("| kps ssh over ssh -i, apart from opening the key (target: at most 20) | $d | | | | | (kps ssh floor - ssh -i) - (export private - export public) | |")
elif want ssh; then
    log "no sshd (package openssh-server): kps ssh is not measured"
fi

# --- kps bind over ssh-copy-id, to servers in mount namespaces -------------

if want bind && [ -n "$SSHD" ] && unshare -m --propagation private true 2>/dev/null; then
    log "$BIND_SERVERS namespace sshd servers"
    B=$W/bind
    mkdir -p "$B/srv"
    mkdir -p /run/sshd 2>/dev/null || true
    # The bootstrap key: a plain key file, also imported into kps. The key
    # bound: kps's "web", exported for ssh-copy-id (which needs the private
    # half to check whether the key is already there).
    ssh-keygen -q -t ed25519 -N '' -C bootstrap -f "$B/bootstrap"
    kps_pw --store "$B/store" init >/dev/null
    kps_pw --store "$B/store" import bootstrap --private-key "$B/bootstrap" >/dev/null
    kps_pw --store "$B/store" create web -t ed25519 >/dev/null
    kps_pw --store "$B/store" export web --format openssh -o "$B/web" >/dev/null 2>&1
    chmod 600 "$B/web"
    kps_pw --store "$B/store" export web --format public >"$B/web.pub"
    ports=$(python3 -c "
import socket
ss = [socket.socket() for _ in range($BIND_SERVERS)]
for s in ss: s.bind(('127.0.0.1', 0))
print(' '.join(str(s.getsockname()[1]) for s in ss))")
    : >"$B/known_hosts"
    : >"$B/hosts"
    i=0
    for port in $ports; do
        i=$((i + 1))
        d=$B/srv/$i
        # Ubuntu's layout: the machine's sshd_config (Include first) and
        # cloud-init's drop-in saying yes to passwords.
        mkdir -p "$d/etc_ssh/sshd_config.d" "$d/root/.ssh"
        chmod 700 "$d/root" "$d/root/.ssh"
        cp /etc/ssh/sshd_config "$d/etc_ssh/"
        printf 'PasswordAuthentication yes\n' >"$d/etc_ssh/sshd_config.d/50-cloud-init.conf"
        printf 'Port %s\nListenAddress 127.0.0.1\nPermitRootLogin yes\nHostKey /etc/ssh/host_ed25519\nPidFile /etc/ssh/sshd.pid\nMaxStartups 100\n' \
            "$port" >"$d/etc_ssh/sshd_config.d/10-bench.conf"
        ssh-keygen -q -t ed25519 -N '' -f "$d/etc_ssh/host_ed25519"
        echo "[127.0.0.1]:$port $(cut -d' ' -f1-2 "$d/etc_ssh/host_ed25519.pub")" >>"$B/known_hosts"
        echo "root@127.0.0.1:$port" >>"$B/hosts"
        echo "$port" >"$d/port"
        cp "$B/bootstrap.pub" "$d/root/.ssh/authorized_keys"
        # shellcheck disable=SC2016 # expanded by the inner sh
        unshare -m --propagation private sh -ec \
            'mount --bind "$1/etc_ssh" /etc/ssh; mount --bind "$1/root" /root; shift; exec "$@"' \
            sh "$d" "$SSHD" -D -e 2>"$d/sshd.log" &
        BIND_PIDS+=($!)
        echo $! >"$d/pid"
    done
    # ssh finds ~ in the passwd entry, not $HOME: the known_hosts of these
    # servers reach both tools through -F (kps: an ssh wrapper, KPS_SSH).
    printf 'UserKnownHostsFile %s\nStrictHostKeyChecking yes\nBatchMode yes\n' "$B/known_hosts" >"$B/ssh_config"
    printf '#!/bin/sh\nexec ssh -F %s "$@"\n' "$B/ssh_config" >"$B/sshw"
    chmod 755 "$B/sshw"
    # reset.sh [N]: every server's (or server N's) authorized_keys back to
    # the bootstrap key alone; with N also kps's drop-in removed and sshd
    # reloaded (HUP), so password login is on again; then wait for sshd.
    cat >"$B/reset.sh" <<'SH'
B=$(dirname "$0")
for d in "$B"/srv/${1:-*}; do
    cp "$B/bootstrap.pub" "$d/root/.ssh/authorized_keys"
    port=$(cat "$d/port")
    if [ -n "${1:-}" ] && [ -e "$d/etc_ssh/sshd_config.d/00-kps.conf" ]; then
        rm -f "$d/etc_ssh/sshd_config.d/00-kps.conf"
        kill -HUP "$(cat "$d/pid")"
        # Until the reloaded sshd offers passwords again.
        for _ in $(seq 200); do
            ssh -F "$B/ssh_config" -o PreferredAuthentications=none -p "$port" root@127.0.0.1 true 2>&1 |
                grep -q password && break
            sleep 0.05
        done
    fi
    for _ in $(seq 200); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port" && IFS= read -r -t 2 banner <&3 && [ "${banner#SSH-}" != "$banner" ]) 2>/dev/null &&
            break
        sleep 0.02
    done
done
SH
    bash "$B/reset.sh"
    first=${ports%% *}
    # A loop of ssh-copy-id with the bootstrap key in an ssh-agent (as a
    # user has it); each ssh-copy-id makes three connections: the version
    # probe, a login with the new key (is it there already?) and the install.
    ssh-agent -D -a "$B/agent.sock" >/dev/null &
    AGENT_PIDS+=($!)
    for _ in $(seq 100); do
        [ -S "$B/agent.sock" ] && break
        sleep 0.1
    done
    SSH_AUTH_SOCK="$B/agent.sock" ssh-add -q "$B/bootstrap" 2>/dev/null
    copy_id="ssh-copy-id -F $B/ssh_config -i $B/web.pub"
    kps_bind="$KPS --store $B/store --passphrase-file $W/pass bind web --ssh $B/sshw --auth-keypair bootstrap"
    login="ssh -F none -o UserKnownHostsFile=$B/known_hosts -o BatchMode=yes -o IdentitiesOnly=yes -i $B/bootstrap -p $first root@127.0.0.1 echo ok"
    # Both work before anything is timed (and bind puts the key on each).
    # shellcheck disable=SC2086 # command lines split into words on purpose
    $login >/dev/null || {
        cat "$B/srv/1/sshd.log" >&2
        echo "bench: ssh -i cannot log in to a namespace sshd" >&2
        exit 1
    }
    # shellcheck disable=SC2086
    $kps_bind --hosts-file "$B/hosts" --parallel 10 --json >"$B/bind.json" || {
        cat "$B/bind.json" >&2
        exit 1
    }
    for d in "$B"/srv/*; do
        grep -qF "$(cut -d' ' -f1-2 "$B/web.pub")" "$d/root/.ssh/authorized_keys" || {
            echo "bench: kps bind did not install the key in $d" >&2
            exit 1
        }
    done
    bash "$B/reset.sh"
    SSH_AUTH_SOCK="$B/agent.sock" $copy_id -p "$first" root@127.0.0.1 >/dev/null 2>&1
    grep -qF "$(cut -d' ' -f1-2 "$B/web.pub")" "$B/srv/1/root/.ssh/authorized_keys" || {
        echo "bench: ssh-copy-id did not install the key" >&2
        exit 1
    }

    n=$BIND_SERVERS
    add "bind$n" "kps bind" "bash $B/reset.sh" "$kps_bind --hosts-file $B/hosts --parallel 10"
    add "bind$n" "ssh-copy-id loop" "bash $B/reset.sh" \
        "env SSH_AUTH_SOCK=$B/agent.sock sh -c 'for p in \$(cat $B/ports); do $copy_id -p \$p root@127.0.0.1 || exit 1; done'"
    echo "$ports" >"$B/ports"
    run_set "bind$n" "$BIND_RUNS"
    row "bind an Ed25519 key to $n servers, --parallel 10 (store KDF 64 MiB, 3 passes; target: at most 0.3)" \
        "bind$n" "kps bind" "ssh-copy-id loop"

    # CPU (user + system, ms) of one run of each: on this side (kps or the
    # loop, and every ssh under them) and in the servers (each sshd and
    # everything under it: its children's times once it has reaped them).
    # Both sides share this machine's cores, so their sum over the number
    # of cores bounds how fast --parallel can go here.
    sshd_ticks() {
        local t=0 pid
        for pid in "${BIND_PIDS[@]}"; do
            t=$((t + $(awk '{ print $14 + $15 + $16 + $17 }' "/proc/$pid/stat")))
        done
        echo "$t"
    }
    hz=$(getconf CLK_TCK)
    for label in "kps bind" "ssh-copy-id loop"; do
        bash "$B/reset.sh"
        before=$(sshd_ticks)
        /usr/bin/time -o "$B/cpu" -f '%U %S' sh -c "${COMMANDS[bind$n/$label]}" >/dev/null 2>&1
        sleep 1
        after=$(sshd_ticks)
        CPU_HERE[$label]=$(awk '{ printf "%.0f", ($1 + $2) * 1000 }' "$B/cpu")
        CPU_SERVERS[$label]=$(((after - before) * 1000 / hz))
    done
    ROWS+=("| CPU of one bind to $n servers, here (kps or the loop, and their ssh) | ${CPU_HERE[kps bind]} | ssh-copy-id loop | ${CPU_HERE[ssh-copy-id loop]} | $(ratio "${CPU_HERE[kps bind]}" "${CPU_HERE[ssh-copy-id loop]}") | 1 | user + system of the command above | |")
    ROWS+=("| CPU of one bind to $n servers, in the $n sshd (and all under them) | ${CPU_SERVERS[kps bind]} | ssh-copy-id loop | ${CPU_SERVERS[ssh-copy-id loop]} | $(ratio "${CPU_SERVERS[kps bind]}" "${CPU_SERVERS[ssh-copy-id loop]}") | 1 | the servers' user + system during that run | |")

    # The proofs, on the first server: one fresh key-only login alone, and
    # bind with and without --disable-password-login (which adds sshd -t,
    # sshd -T, the drop-in, a reload, the methods probe and a second login).
    add bind1 "fresh login" "" "$login"
    add bind1 "kps bind" "bash $B/reset.sh 1" "$kps_bind root@127.0.0.1:$first"
    add bind1 "kps bind --disable-password-login" "bash $B/reset.sh 1" \
        "$kps_bind root@127.0.0.1:$first --disable-password-login"
    add bind1 ssh-copy-id "bash $B/reset.sh 1" "env SSH_AUTH_SOCK=$B/agent.sock $copy_id -p $first root@127.0.0.1"
    run_set bind1 "$BIND_RUNS"
    row "one fresh key-only login (the proof's connection)" bind1 "fresh login"
    row "bind to 1 server (store KDF 64 MiB, 3 passes)" bind1 "kps bind" ssh-copy-id
    row "bind to 1 server, --disable-password-login" bind1 "kps bind --disable-password-login"
    d=$(LC_ALL=C awk -v a="$(median_ms bind1 "kps bind --disable-password-login")" -v b="$(median_ms bind1 "kps bind")" \
        'BEGIN { printf "%.1f", a - b }')
    ROWS+=("| --disable-password-login alone (sshd -t, sshd -T, reload, methods probe, second login) | $d | | | | | the difference of the two rows above | |")
elif want bind; then
    log "no sshd or no \`unshare -m\` (needs root): kps bind is not measured"
fi

# --- start-up -------------------------------------------------------------

if want start; then
    add start "kps --version" "" "$KPS --version"
    add start true "" true
    run_set start "$((FAST_RUNS * 3))"
    row "start-up" start "kps --version" "true"
fi

# --- the table --------------------------------------------------------------

LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
echo "Made by \`bash bench/peers.sh\` on $(date -u +%Y-%m-%d) at kps $commit: $(nproc) cores ($cpu), load average $LOAD_START at the start and $LOAD_END at the end; hyperfine $(hyperfine --version | cut -d' ' -f2), $(ssh -V 2>&1 | cut -d, -f1), puttygen $(puttygen --version | sed -n 's/^puttygen: Release //p'), $(openssl version | cut -d' ' -f1-2). Medians over $ROUNDS alternating rounds; \`\$W\` is the temporary directory."
echo
echo "| Work | kps (ms) | Peer | Peer (ms) | kps/peer | Runs | kps command | Peer command |"
echo "|---|--:|---|--:|--:|--:|---|---|"
printf '%s\n' "${ROWS[@]}"
