//! Where the store's rows live: the one small row interface the store's
//! policy and crypto (`src/store/`) are written against, and its two
//! implementations: a local SQLite file (sqlite.rs, schema in
//! sqlite_schema.rs) and a PostgreSQL database (postgres.rs, schema in
//! postgres_schema.rs, TLS in postgres_tls.rs). conformance.rs runs one
//! sequence of row operations on both and checks they agree.
//!
//! A backend only reads and writes rows and maps its errors to kps's: a
//! name taken is [`Error::AlreadyExists`], a busy store
//! [`Error::StoreBusy`], a read-only one [`Error::StoreReadOnly`], anything
//! else [`Error::StoreCorrupt`]. It never decides whether a row can be
//! trusted (MACs, fingerprints recomputed, suites checked): that is done
//! once, above it. Rows are plain structs ([`KeypairRow`], [`IdentityRow`],
//! [`BindingRow`]; writes take the store's own [`Keypair`] and [`Binding`])
//! so that a PostgreSQL backend (issue 18) can meet the same interface.
//!
//! [`Backend`] is an enum, not a trait object: a closed set of backends,
//! no dynamic dispatch, and `Store` stays `Send` for the agent.
//!
//! A write transaction is a guard ([`WriteTx`], from
//! [`Backend::begin_write`]): every row method called on the backend while
//! it is open, through the guard or not, is part of the transaction, and
//! dropping it without [`WriteTx::commit`] rolls it back. (The store's
//! checks read rows inside its writes; a backend holds one connection, in
//! the transaction while the guard lives.)
//!
//! Some of SQLite's machinery has no counterpart elsewhere and is only
//! SQLite's: WAL checkpoints, the integrity check and the attached-file
//! restore. They are reached through [`Backend::sqlite`], which refuses a
//! PostgreSQL store (restored with `pg_restore`). The checkpoint methods do
//! nothing on PostgreSQL. A backup is a store file from either:
//! [`Backend::backup_to`] (SQLite's online backup, or snapshot.rs).

#[cfg(test)]
mod conformance;
#[cfg(test)]
mod pg_tests;
mod postgres;
pub(crate) mod postgres_schema;
mod postgres_tls;
pub(crate) mod snapshot;
mod sqlite;
pub(crate) mod sqlite_schema;

pub(crate) use postgres::Postgres;
pub(crate) use sqlite::Sqlite;

use crate::Error;
use crate::Result;
use crate::keypair::Keypair;
use crate::store::location::PgTarget;
use crate::store::{Binding, WrappedIdentity};
use std::path::Path;

/// A keypair row as stored, nothing checked or recomputed yet.
#[derive(Clone, Debug)]
pub(crate) struct KeypairRow {
    pub name: String,
    pub algorithm: String,
    pub bits: u32,
    pub public_line: String,
    pub fingerprint_sha256: String,
    pub fingerprint_md5: String,
    pub description: Option<String>,
    pub user_id: Option<String>,
    pub create_time: String,
    pub update_time: String,
    /// `default` or `kms`.
    pub encryption_type: String,
    /// Read only for a kms keypair; `None` for a `default` one.
    pub kms_key_name: Option<String>,
    pub kms_key_id: Option<String>,
    pub has_private_key: bool,
    pub fingerprint_aws_created: Option<String>,
    /// `None` in rows stored by an older kps.
    pub fingerprint_aws_imported: Option<String>,
    pub mac: Option<Vec<u8>>,
}

/// The identity row: the wrapped identity and the names of the suite and
/// KDF it was made with.
#[derive(Clone, Debug)]
pub(crate) struct IdentityRow {
    pub wrapped: WrappedIdentity,
    pub suite: String,
    pub kdf: String,
}

/// A binding row as stored, with its keypair's name and public key line
/// (what its MAC is checked against).
#[derive(Clone, Debug)]
pub(crate) struct BindingRow {
    /// The row's own id, for [`Backend::set_binding_mac`].
    pub id: i64,
    pub keypair_id: i64,
    pub keypair: String,
    pub public_line: String,
    pub host: String,
    /// As stored: range-checked above.
    pub port: i64,
    pub user: String,
    pub host_key_fingerprint: String,
    pub authorized_keys_path: String,
    /// As stored: parsed above.
    pub password_login: String,
    pub create_time: String,
    pub update_time: String,
    pub mac: Option<Vec<u8>>,
}

/// A membership statement as stored (src/team/membership.rs): nothing
/// checked, lengths included.
#[derive(Clone, Debug)]
pub(crate) struct MembershipRow {
    pub epoch: i64,
    pub statement: Vec<u8>,
    pub signer: Vec<u8>,
    pub signature: Vec<u8>,
}

/// An audit entry as stored (src/team/audit.rs): nothing checked.
#[derive(Clone, Debug)]
pub(crate) struct AuditRow {
    /// Its place in the log (assigned by the database on insert).
    pub id: i64,
    pub team_id: Vec<u8>,
    pub prev: Option<Vec<u8>>,
    pub at_micros: i64,
    pub epoch: i64,
    pub member: String,
    pub action: String,
    pub target: String,
    pub signature: Vec<u8>,
}

/// Which binding rows to read.
#[derive(Clone, Copy, Debug)]
pub(crate) enum BindingFilter<'a> {
    /// Of one keypair and/or on one host (compared without case), or all;
    /// by keypair name, host, port and user.
    Matching {
        keypair: Option<&'a str>,
        host: Option<&'a str>,
    },
    /// Those without a MAC, in no particular order.
    WithoutMac,
}

/// The store's rows, in one of the places they can live.
pub(crate) enum Backend {
    Sqlite(Sqlite),
    // Boxed: a client, its runtime and its statement cache are four times
    // the size of an SQLite connection.
    Postgres(Box<Postgres>),
}

/// Which kind of backend a store is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BackendKind {
    Sqlite,
    Postgres,
}

/// An open write transaction ([`Backend::begin_write`]). It dereferences
/// to the backend, whose row methods it runs in.
pub(crate) struct WriteTx<'a> {
    backend: &'a Backend,
    inner: WriteTxInner<'a>,
}

enum WriteTxInner<'a> {
    Sqlite(sqlite::WriteTx<'a>),
    Postgres(postgres::WriteTx<'a>),
}

impl WriteTx<'_> {
    pub(crate) fn commit(self) -> Result<()> {
        match self.inner {
            WriteTxInner::Sqlite(tx) => tx.commit(),
            WriteTxInner::Postgres(tx) => tx.commit(),
        }
    }
}

impl std::ops::Deref for WriteTx<'_> {
    type Target = Backend;
    fn deref(&self) -> &Backend {
        self.backend
    }
}

/// Each method the same on every backend: one match arm per backend.
macro_rules! forward {
    ($( $(#[$meta:meta])* fn $name:ident(&self $(, $arg:ident: $ty:ty)*) -> $ret:ty; )*) => {
        $(
            $(#[$meta])*
            pub(crate) fn $name(&self $(, $arg: $ty)*) -> $ret {
                match self {
                    Backend::Sqlite(db) => db.$name($($arg),*),
                    Backend::Postgres(db) => db.$name($($arg),*),
                }
            }
        )*
    };
}

impl Backend {
    /// Bring the schema up to date; `check` refuses a version this kps
    /// cannot migrate from.
    pub(crate) fn migrate(&self, check: impl Fn(i64) -> Result<()>) -> Result<()> {
        match self {
            Backend::Sqlite(db) => db.migrate(check),
            Backend::Postgres(db) => db.migrate(check),
        }
    }

    /// Begin a write transaction, waiting (within the backend's busy
    /// timeout) for other writers.
    pub(crate) fn begin_write(&self) -> Result<WriteTx<'_>> {
        let inner = match self {
            Backend::Sqlite(db) => WriteTxInner::Sqlite(db.begin_write()?),
            Backend::Postgres(db) => WriteTxInner::Postgres(db.begin_write()?),
        };
        Ok(WriteTx {
            backend: self,
            inner,
        })
    }

    /// Every keypair row, by name, handed to `f` one at a time as it is
    /// read: what `list` holds in memory does not grow with the store.
    pub(crate) fn each_keypair<E: From<Error>>(
        &self,
        f: impl FnMut(KeypairRow) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        match self {
            Backend::Sqlite(db) => db.each_keypair(f),
            Backend::Postgres(db) => db.each_keypair(f),
        }
    }

    /// The SQLite file behind the store, for what only a file has
    /// (restore); a PostgreSQL store is refused, pointing at `pg_restore`.
    pub(crate) fn sqlite(&self) -> Result<&Sqlite> {
        match self {
            Backend::Sqlite(db) => Ok(db),
            Backend::Postgres(db) => Err(Error::invalid_with_hint(
                format!(
                    "kps restore works on a store file, not on the PostgreSQL store {}",
                    db.describe()
                ),
                "restore the database with pg_restore (from pg_dump), or take keypairs out of a 'kps backup' file with 'kps store copy --from FILE'",
            )),
        }
    }

    /// Write a consistent copy of the store into the new, empty file
    /// `file`, as one self-contained store file: SQLite's online backup,
    /// or every row of one snapshot of a PostgreSQL store (snapshot.rs);
    /// other writers go on meanwhile. The outer error is the store's (it
    /// could not be read); the inner one the file's, as a message for the
    /// caller to report against its target.
    pub(crate) fn backup_to(&self, file: &Path) -> Result<std::result::Result<(), String>> {
        match self {
            Backend::Sqlite(db) => Ok(db.backup_to(file)),
            Backend::Postgres(db) => snapshot::copy(db, file),
        }
    }

    /// The schema version this kps writes, in this backend's numbering.
    pub(crate) fn current_version(&self) -> i64 {
        match self {
            Backend::Sqlite(_) => sqlite_schema::CURRENT_VERSION,
            Backend::Postgres(_) => postgres_schema::CURRENT_VERSION,
        }
    }

    /// Which kind of store this is.
    pub(crate) fn kind(&self) -> BackendKind {
        match self {
            Backend::Sqlite(_) => BackendKind::Sqlite,
            Backend::Postgres(_) => BackendKind::Postgres,
        }
    }

    /// The store as messages name it: the database file's path, or the
    /// PostgreSQL URL without its password.
    pub(crate) fn describe(&self) -> String {
        match self {
            Backend::Sqlite(db) => db.path().display().to_string(),
            Backend::Postgres(db) => db.describe().to_string(),
        }
    }

    forward! {
        // The identity row.
        fn identity(&self) -> Result<Option<IdentityRow>>;
        /// Insert the identity row unless there is one; true if inserted.
        fn insert_identity(&self, row: &IdentityRow, now: &str) -> Result<bool>;
        /// Replace the wrapping of the identity row that is `old`; false if
        /// it is no longer `old`.
        fn rewrap_identity(&self, old: &WrappedIdentity, new: &WrappedIdentity) -> Result<bool>;
        /// Write `w` over the identity row whose public key is `expected`;
        /// false if there is none.
        fn replace_identity(&self, w: &WrappedIdentity, expected: &[u8], now: &str) -> Result<bool>;

        // Keypair rows.
        fn keypair(&self, name: &str) -> Result<Option<KeypairRow>>;
        fn keypair_with_envelope(&self, name: &str) -> Result<Option<(KeypairRow, Option<Vec<u8>>)>>;
        fn keypairs_with_envelopes(&self) -> Result<Vec<(KeypairRow, Option<Vec<u8>>)>>;
        fn keypairs_with_fingerprint(&self, fingerprint: &str) -> Result<Vec<KeypairRow>>;
        fn keypairs_without_mac(&self) -> Result<Vec<KeypairRow>>;
        fn count_keypairs(&self) -> Result<i64>;
        fn count_sealed_to_identity(&self) -> Result<i64>;
        fn longest_name(&self) -> Result<usize>;
        /// A name taken is [`Error::AlreadyExists`].
        fn insert_keypair(&self, record: &Keypair, envelope: Option<&[u8]>, mac: Option<&[u8]>) -> Result<()>;
        fn set_keypair_mac(&self, name: &str, mac: &[u8]) -> Result<()>;
        fn set_keypair_envelope(&self, name: &str, envelope: Option<&[u8]>, mac: &[u8]) -> Result<()>;
        fn fill_aws_created(&self, name: &str, fingerprint: &str, mac: &[u8]) -> Result<()>;
        /// How many rows changed: 0 if the envelope is no longer `old`.
        fn set_keypair_encryption(&self, keypair: &Keypair, envelope: &[u8], mac: Option<&[u8]>, old: &[u8]) -> Result<usize>;
        /// How many rows changed: 0 if the envelope is no longer
        /// `old_envelope`. The new name taken is [`Error::AlreadyExists`].
        fn rename_keypair(&self, old: &str, old_envelope: Option<&[u8]>, keypair: &Keypair, envelope: Option<&[u8]>, mac: Option<&[u8]>) -> Result<usize>;
        fn set_keypair_details(&self, keypair: &Keypair, mac: Option<&[u8]>) -> Result<()>;
        /// Also deletes the keypair's bindings.
        fn delete_keypair(&self, name: &str) -> Result<usize>;

        // Settings.
        fn setting(&self, key: &str) -> Result<Option<String>>;
        fn set_setting(&self, key: &str, value: &str) -> Result<()>;

        // Binding rows.
        fn bindings(&self, filter: BindingFilter<'_>) -> Result<Vec<BindingRow>>;
        fn keypair_id(&self, name: &str) -> Result<Option<i64>>;
        fn binding_create_time(&self, keypair_id: i64, host: &str, port: u16, user: &str) -> Result<Option<String>>;
        fn upsert_binding(&self, keypair_id: i64, b: &Binding, mac: Option<&[u8]>) -> Result<()>;
        fn delete_binding(&self, keypair: &str, host: &str, port: u16, user: &str) -> Result<usize>;
        fn set_binding_mac(&self, id: i64, mac: &[u8]) -> Result<()>;

        // A team store's statements (by epoch) and audit log (in order).
        fn membership_chain(&self) -> Result<Vec<MembershipRow>>;
        /// The newest statement's epoch; `None` in a store with none.
        fn newest_membership_epoch(&self) -> Result<Option<i64>>;
        /// An epoch already taken is [`Error::AlreadyExists`].
        fn insert_membership(&self, row: &MembershipRow) -> Result<()>;
        /// Inside a write: wait for other writers of the team's chains.
        fn lock_team(&self) -> Result<()>;
        fn audit_entries(&self) -> Result<Vec<AuditRow>>;
        fn last_audit_entry(&self) -> Result<Option<AuditRow>>;
        fn insert_audit(&self, row: &AuditRow) -> Result<()>;

        // After writes. SQLite: WAL checkpoints (see sqlite.rs), so that
        // removed sealed data does not linger in `kps.db-wal`.
        /// Best effort, without waiting.
        fn checkpoint(&self) -> ();
        /// Waiting for readers; [`Error::StoreBusy`] if it could not finish.
        fn checkpoint_fully(&self) -> Result<()>;
        /// Only when the log has grown large.
        fn checkpoint_if_large(&self) -> ();
    }
}

/// Open the SQLite store file `db_path` (see [`Sqlite::open`]).
pub(crate) fn open_sqlite(db_path: &Path, keep_wal: bool) -> Result<Backend> {
    Sqlite::open(db_path, keep_wal).map(Backend::Sqlite)
}

impl Backend {
    /// Connect to the PostgreSQL database `target` (see
    /// [`Postgres::open`]); [`Backend::migrate`] then makes or updates its
    /// tables.
    pub(crate) fn open_postgres(target: &PgTarget) -> Result<Backend> {
        Postgres::open(target).map(|db| Backend::Postgres(Box::new(db)))
    }
}
