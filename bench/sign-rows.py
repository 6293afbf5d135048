#!/usr/bin/env python3
"""Give rows copied into a benchmark store the MACs kps would have written.

bench/peers.sh fills stores of up to 100,000 keypairs by copying three real
rows with sqlite3; `list` refuses rows without a valid MAC, as it should. This
does, for the benchmark, what kps does at a write on a pinned store: it takes
the row key from the template store's pin, pins the new store with the same
identity (it is the same store key), and MACs every row that has none, with
the encoding of docs/store-format.md ("Row authentication"). Written from the
document, not from the Rust code: a second implementation of the format.

usage: sign-rows.py STORE_DB TEMPLATE_DB   (XDG_CONFIG_HOME as kps sees it)
"""
import hashlib
import hmac
import os
import sqlite3
import struct
import sys


def pin_path(db):
    config = os.environ.get("XDG_CONFIG_HOME") or os.path.expanduser("~/.config")
    digest = hashlib.sha256(os.path.realpath(db).encode()).hexdigest()[:32]
    return os.path.join(config, "kps", "stores", digest + ".pin")


def field(value):
    if value is None:
        return b"\x00"
    if isinstance(value, str):
        value = value.encode()
    return b"\x01" + struct.pack(">Q", len(value)) + value


def main(db, template):
    with open(pin_path(template)) as f:
        text = f.read()
    row_key = bytes.fromhex(
        next(l.split()[1] for l in text.splitlines() if l.startswith("row-key "))
    )
    dest = pin_path(db)
    fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    conn = sqlite3.connect(db)
    rows = conn.execute(
        """SELECT id, name, algorithm, bits, public_key, fingerprint_sha256,
                  fingerprint_md5, fingerprint_aws_created, fingerprint_aws_imported,
                  description, user_id, create_time, update_time, encryption_type,
                  kms_key_name, kms_key_id, private_key IS NOT NULL
           FROM keypairs WHERE mac IS NULL"""
    ).fetchall()
    updates = []
    for (rid, name, alg, bits, line, fp, md5, aws_c, aws_i, desc, user,
         ctime, utime, enc, kname, kid, has_private) in rows:
        if enc != "kms":
            kname = kid = None
        msg = b"kps keypair row v1\x00" + b"".join(
            field(v)
            for v in (name, alg, struct.pack(">I", bits), line, fp, md5, aws_c,
                      aws_i, desc, user, ctime, utime, enc, kname, kid,
                      b"1" if has_private else b"0")
        )
        updates.append((hmac.new(row_key, msg, hashlib.sha256).digest(), rid))
    conn.executemany("UPDATE keypairs SET mac = ? WHERE id = ?", updates)
    conn.commit()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
