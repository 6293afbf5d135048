#!/usr/bin/env bash
# kps in a CI pipeline: no terminal, the passphrase from a secret file, every
# step safe to re-run, every exit status checked. README "Use in CI".
set -uo pipefail

fail() { echo "ci.sh: $*" >&2; exit 1; }
step() {                       # step EXPECTED_STATUS command...
    local want=$1; shift
    "$@"; local got=$?
    [ "$got" -eq "$want" ] || fail "'$*' exited $got, expected $want"
}

: "${KPS_STORE:?set KPS_STORE to the store directory}"
: "${KPS_PASSPHRASE_FILE:?set KPS_PASSPHRASE_FILE to a file holding the passphrase (a CI secret)}"
work=${WORK_DIR:-.}

# A new store takes its passphrase from KPS_PASSPHRASE_FILE (init once; a
# second init would exit 1, so only when the store has no passphrase yet).
if [ ! -e "$KPS_STORE/kps.db" ]; then
    step 0 kps init -q
fi

# Idempotent creation: the second run finds the same keypair and succeeds.
step 0 kps create deploy -t ed25519 -C deploy@ci --if-not-exists -q
step 0 kps create deploy -t ed25519 -C deploy@ci --if-not-exists -q
# The same name with another kind is an error, not a silent replacement.
step 4 kps create deploy -t rsa -b 3072 --if-not-exists -q

# Bring in a key made elsewhere.
step 0 kps import legacy --private-key "$work/legacy.pem" -q

# Inventory as JSON, parsed with jq.
names=$(kps list --json | jq -r '.keypairs[].keypair.name') || fail "kps list failed"
[ "$names" = "$(printf 'deploy\nlegacy')" ] || fail "unexpected keypairs: $names"

# Hand out the public key (once: a re-run must not add it again) and a
# PuTTY file for the Windows jump host.
key=$(kps show deploy --public) || fail "kps show failed"
grep -qxF "$key" "$work/authorized_keys" 2>/dev/null ||
    printf '%s\n' "$key" >> "$work/authorized_keys"
step 0 kps export-ppk deploy -o "$work/deploy.ppk" --force -q

# Clean up what is no longer needed; no prompt without a terminal.
step 0 kps delete legacy --yes -q
step 3 kps delete legacy --yes -q

echo "ci.sh: ok" >&2
