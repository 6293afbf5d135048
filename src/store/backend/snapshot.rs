//! `kps backup` of a PostgreSQL store: every row of the store, read in one
//! snapshot of the database, written as they are into a new SQLite store
//! file. Nothing is opened, sealed again or signed again: the file holds
//! the same sealed keys, signatures, member statements and audit chain, so
//! it is the same team store, read with `--store FILE` by the same members
//! from the same pins.
//!
//! Both schemas hold the tables and columns of [`TABLES`] (PostgreSQL's
//! version 2 is SQLite's 6; a test checks both against this list, so a
//! migration that adds a column to one must add it here too).

use super::{Postgres, Sqlite};
use crate::Result;
use std::path::Path;

/// A column's value as either backend holds it.
#[derive(Debug)]
pub(crate) enum Value {
    Null,
    Int(i64),
    Text(String),
    Blob(Vec<u8>),
}

/// A table and the columns a snapshot copies, in the order the tables are
/// written (a binding after its keypair). Ids are kept: a binding names
/// its keypair's id, and `kps team log` names entries by theirs. SQLite's
/// bindings have no id column (the rowid), so none is copied; a binding's
/// MAC does not cover it.
pub(crate) const TABLES: &[(&str, &[&str])] = &[
    (
        "identity",
        &[
            "id",
            "suite",
            "public_key",
            "kdf",
            "kdf_memory_kib",
            "kdf_passes",
            "kdf_parallelism",
            "kdf_salt",
            "wrap_nonce",
            "wrapped_secret",
            "create_time",
            "update_time",
        ],
    ),
    ("settings", &["key", "value"]),
    (
        "keypairs",
        &[
            "id",
            "name",
            "algorithm",
            "bits",
            "public_key",
            "fingerprint_sha256",
            "fingerprint_md5",
            "comment",
            "description",
            "user_id",
            "create_time",
            "update_time",
            "encryption_type",
            "kms_key_name",
            "kms_key_id",
            "private_key",
            "fingerprint_aws_created",
            "fingerprint_aws_imported",
            "mac",
        ],
    ),
    (
        "bindings",
        &[
            "keypair_id",
            "host",
            "port",
            "user",
            "host_key_fingerprint",
            "authorized_keys_path",
            "password_login",
            "create_time",
            "update_time",
            "mac",
        ],
    ),
    (
        "team_membership",
        &["epoch", "statement", "signer", "signature"],
    ),
    (
        "team_audit",
        &[
            "id",
            "team_id",
            "prev",
            "at_micros",
            "epoch",
            "member",
            "action",
            "target",
            "signature",
        ],
    ),
];

/// Column names, double-quoted (`user` is a keyword in PostgreSQL; a
/// quote in a name doubled) and comma-separated, for both backends' SQL.
pub(crate) fn column_list<'a>(columns: impl IntoIterator<Item = &'a str>) -> String {
    columns
        .into_iter()
        .map(|c| format!("\"{}\"", c.replace('"', "\"\"")))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Copy every row of `from`, read in one snapshot, into the new, empty
/// file `file` as a store file at this kps's schema, in one transaction,
/// leaving one self-contained file (no WAL beside it). The outer error is
/// the store's (it could not be read); the inner one the file's, as a
/// message for the caller to report against its target.
pub(crate) fn copy(from: &Postgres, file: &Path) -> Result<std::result::Result<(), String>> {
    // A new file, at version 0: every migration runs. (`fill` refuses
    // a file that holds rows.)
    let db = Sqlite::open(file, false).and_then(|db| db.migrate(|_| Ok(())).map(|()| db));
    let db = match db {
        Ok(db) => db,
        Err(e) => return Ok(Err(e.to_string())),
    };
    // Whose error ends the copy: the file's (an insert, or the
    // transaction around them) or the store's (the snapshot's read).
    let mut store_failed = false;
    let filled = db.fill(TABLES, |insert| {
        let mut insert_failed = false;
        let read = from.snapshot(TABLES, |table, row| {
            let written = insert(table, row);
            insert_failed |= written.is_err();
            written
        });
        store_failed = read.is_err() && !insert_failed;
        read
    });
    match filled {
        Ok(()) => Ok(Ok(())),
        Err(e) if store_failed => Err(e),
        Err(e) => Ok(Err(e.to_string())),
    }
}
