#!/bin/sh
# Seed the fuzz corpora with the committed key fixtures: the rare shapes
# and odd schemes of issue 14 (short ECDSA scalars, zero-led Ed25519 seeds,
# every OpenSSH cipher, RSA 2041/2047, PKCS#8 curve mismatches, swapped CRT
# values, PBES1/PBES2 variants) and the .ppk files. Run from the repository
# root before `cargo +nightly fuzz run TARGET`; cargo-fuzz reads
# fuzz/corpus/TARGET by default.
set -eu
cd "$(dirname "$0")/.."
mkdir -p fuzz/corpus/parse_key fuzz/corpus/ppk
for f in tests/fixtures/import-openssh/* tests/fixtures/import-pem/* tests/fixtures/ppk/*; do
    case $f in *.sh | *.py | *.txt) continue ;; esac
    cp "$f" fuzz/corpus/parse_key/
    case $f in *.ppk) cp "$f" fuzz/corpus/ppk/ ;; esac
done
# The agent protocol: one request of each kind kps serves, as OpenSSH sends them.
mkdir -p fuzz/corpus/agent_proto
printf '\000\000\000\001\013' > fuzz/corpus/agent_proto/request_identities
printf '\000\000\000\100\015\000\000\000\063\000\000\000\013ssh-ed25519\000\000\000\040%032d\000\000\000\000\000\000\000\004' 0 \
    > fuzz/corpus/agent_proto/sign_request
# session-bind@openssh.com as ssh sends it after the key exchange (zero key and
# signature: it parses, and fails verification).
printf '\000\000\000\320\033\000\000\000\030session-bind@openssh.com\000\000\0003\000\000\000\013ssh-ed25519\000\000\000\040\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\040\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000S\000\000\000\013ssh-ed25519\000\000\000@\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000' > fuzz/corpus/agent_proto/session_bind
echo "seeded: $(ls fuzz/corpus/parse_key | wc -l) parse_key, $(ls fuzz/corpus/ppk | wc -l) ppk"
