//! The SQLite backend: every SQL statement and every rusqlite call of the
//! store. It reads and writes rows and maps SQLite's errors to kps's;
//! what a row means, and whether it can be trusted, is decided above it.
//!
//! What only a store file has lives here too and has no counterpart in
//! another backend: the connection's pragmas (WAL, `trusted_schema`,
//! defensive mode), the refusal of triggers and views, WAL checkpoints,
//! the online backup, and `restore`'s integrity check and ATTACH.

use super::snapshot::{self, Value};
use super::sqlite_schema as schema;
use super::{AuditRow, BindingFilter, BindingRow, IdentityRow, KeypairRow, MembershipRow};
use crate::keypair::Keypair;
use crate::store::{Binding, WrappedIdentity};
use crate::{Error, Result};
use rusqlite::config::DbConfig;
use rusqlite::{
    Connection, ErrorCode, OpenFlags, OptionalExtension, Transaction, TransactionBehavior, params,
};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// WAL size past which a write copies the WAL into the database and
/// truncates it: every command's first read of the store goes through the
/// WAL, and a keypair adds 3 to 4 pages of 4 KiB, so one create in about 20
/// pays for a checkpoint.
const WAL_MAX_BYTES: u64 = 64 * 4096;

/// How long a command waits for another process's write to finish before it
/// reports the store as busy. Writes are a single short transaction each.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

const COLUMNS: &str = "name, algorithm, bits, public_key, fingerprint_sha256,
        fingerprint_md5, description, user_id, create_time, update_time, encryption_type,
        kms_key_name, kms_key_id, private_key IS NOT NULL, fingerprint_aws_created,
        fingerprint_aws_imported, mac";

const SELECT_BINDINGS: &str = "SELECT b.rowid, b.keypair_id, k.name, k.public_key, b.host, b.port,
        b.user, b.host_key_fingerprint, b.authorized_keys_path, b.password_login, b.create_time,
        b.update_time, b.mac
    FROM bindings b JOIN keypairs k ON k.id = b.keypair_id";

/// A restore that would lose keypairs: what `Error::RestoreWouldRemove`
/// lists, also used for `--force`'s report.
const LOST_SQL: &str = "SELECT k.name FROM main.keypairs k WHERE NOT EXISTS (
        SELECT 1 FROM backup.keypairs b
        WHERE b.name = k.name AND b.fingerprint_sha256 = k.fingerprint_sha256)
    ORDER BY k.name";

/// The tables a store holds, every column copied by a restore. The
/// bindings come after the keypairs they refer to (deleting the keypairs
/// has already deleted the store's own bindings).
const TABLES: [&str; 4] = ["identity", "keypairs", "bindings", "settings"];

/// One connection to a store database file.
pub(crate) struct Sqlite {
    conn: Connection,
    db_path: PathBuf,
}

/// A write transaction (`BEGIN IMMEDIATE`: the write lock is taken at
/// once); rolled back when dropped without [`WriteTx::commit`].
pub(crate) struct WriteTx<'a> {
    tx: Transaction<'a>,
    db_path: &'a Path,
}

impl WriteTx<'_> {
    pub(crate) fn commit(self) -> Result<()> {
        self.tx.commit().map_err(|e| sql_error(self.db_path, e))
    }
}

impl Sqlite {
    /// Open the database file `db_path` (which exists, its permissions
    /// checked by the caller) and set the connection up. `keep_wal`: a store
    /// directory, whose WAL stays between commands (see below); a single
    /// file (a backup given as `--store`) stays one self-contained file.
    pub(crate) fn open(db_path: &Path, keep_wal: bool) -> Result<Sqlite> {
        let conn = Connection::open_with_flags(
            db_path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| sql_error(db_path, e))?;
        let db = Sqlite {
            conn,
            db_path: db_path.to_path_buf(),
        };
        db.configure()?;
        if keep_wal {
            // SQLite's last connection to close copies the WAL into the
            // database and deletes it: two more fsyncs and an unlink per
            // command, then a new WAL (fsync of it and of the directory) at
            // the next write; a quarter of `create`'s time. In a store
            // directory the WAL stays between commands. But the first
            // process to open the store reads the whole WAL to rebuild its
            // index (0.3 ms at 350 pages) and forgets what was checkpointed,
            // so SQLite's automatic checkpoint would copy the whole WAL again
            // at every write past its threshold without ever restarting it.
            // kps checkpoints and truncates it itself instead: after a write
            // that leaves it over WAL_MAX_BYTES, and after the commands that
            // remove sealed data (see checkpoint).
            db.conn
                .set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true)
                .map_err(|e| db.err(e))?;
            db.conn
                .pragma_update(None, "wal_autocheckpoint", 0)
                .map_err(|e| db.err(e))?;
        }
        Ok(db)
    }

    /// The database file.
    pub(crate) fn path(&self) -> &Path {
        &self.db_path
    }

    fn err(&self, e: rusqlite::Error) -> Error {
        sql_error(&self.db_path, e)
    }

    fn corrupt(&self, detail: impl Into<String>) -> Error {
        Error::StoreCorrupt {
            path: self.db_path.clone(),
            detail: detail.into(),
        }
    }

    fn configure(&self) -> Result<()> {
        self.conn
            .busy_timeout(BUSY_TIMEOUT)
            .map_err(|e| self.err(e))?;
        // WAL lets readers go on while one process writes. Switching a new
        // database to WAL takes an exclusive lock and SQLite does not call
        // the busy handler for it: processes that open a new store at the
        // same moment got "busy" at once (about one race in six with eight
        // creators). Retry within the busy timeout instead.
        let deadline = std::time::Instant::now() + BUSY_TIMEOUT;
        let mode: String = loop {
            match self
                .conn
                .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            {
                Ok(mode) => break mode,
                Err(rusqlite::Error::SqliteFailure(f, _))
                    if f.code == ErrorCode::DatabaseBusy
                        && std::time::Instant::now() < deadline =>
                {
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(e) => return Err(self.err(e)),
            }
        };
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(self.corrupt(format!("cannot use WAL journal (got {mode})")));
        }
        self.conn
            .execute_batch(
                // secure_delete: a deleted keypair's sealed key and a replaced
                // identity wrapping are overwritten, not left in free pages.
                // trusted_schema off: SQL in the schema (which whoever writes
                // the file chooses) may not call functions with side effects.
                "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA secure_delete = ON;
                 PRAGMA trusted_schema = OFF;",
            )
            .map_err(|e| self.err(e))?;
        // Defensive mode: no writable_schema, no journal_mode=OFF, no
        // direct edits of the schema table by anything kps runs.
        self.conn
            .set_db_config(DbConfig::SQLITE_DBCONFIG_DEFENSIVE, true)
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    /// kps creates tables and one index, never a trigger or a view. Someone
    /// who can write the store could add a trigger that runs inside kps's
    /// own writes (blank every new sealed key, keep a copy of each replaced
    /// identity wrapping in a table of theirs): such a store is refused.
    fn refuse_foreign_schema(&self) -> Result<()> {
        let foreign: Option<(String, String)> = self
            .conn
            .query_row(
                "SELECT type, name FROM sqlite_schema WHERE type IN ('trigger', 'view') LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(|e| self.err(e))?;
        match foreign {
            Some((kind, name)) => Err(self.corrupt(format!(
                "it holds a {kind} ('{}'), which kps never creates: someone else wrote the schema",
                crate::text::escape(&name)
            ))),
            None => Ok(()),
        }
    }

    fn user_version(conn: &Connection) -> rusqlite::Result<i64> {
        conn.query_row("PRAGMA user_version", [], |r| r.get(0))
    }

    /// Bring the schema to [`schema::CURRENT_VERSION`]; `check` refuses a
    /// version this kps cannot migrate from (looked at again under the
    /// write lock: another process may be migrating too).
    pub(crate) fn migrate(&self, check: impl Fn(i64) -> Result<()>) -> Result<()> {
        self.refuse_foreign_schema()?;
        let version = Self::user_version(&self.conn).map_err(|e| self.err(e))?;
        if version == schema::CURRENT_VERSION {
            return Ok(());
        }
        check(version)?;
        let tx = Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)
            .map_err(|e| self.err(e))?;
        let version = Self::user_version(&tx).map_err(|e| self.err(e))?;
        check(version)?;
        for (i, sql) in schema::MIGRATIONS.iter().enumerate().skip(version as usize) {
            tx.execute_batch(sql).map_err(|e| self.err(e))?;
            tx.pragma_update(None, "user_version", i as i64 + 1)
                .map_err(|e| self.err(e))?;
        }
        tx.commit().map_err(|e| self.err(e))
    }

    pub(crate) fn begin_write(&self) -> Result<WriteTx<'_>> {
        let tx = Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)
            .map_err(|e| self.err(e))?;
        Ok(WriteTx {
            tx,
            db_path: &self.db_path,
        })
    }

    // The identity row.

    pub(crate) fn identity(&self) -> Result<Option<IdentityRow>> {
        self.conn
            .query_row(
                "SELECT public_key, kdf_memory_kib, kdf_passes, kdf_parallelism, kdf_salt,
                        wrap_nonce, wrapped_secret, suite, kdf
                 FROM identity WHERE id = 1",
                [],
                |r| {
                    Ok(IdentityRow {
                        wrapped: WrappedIdentity {
                            public_key: r.get(0)?,
                            kdf: crate::store::KdfParams {
                                memory_kib: r.get(1)?,
                                passes: r.get(2)?,
                                parallelism: r.get(3)?,
                            },
                            salt: r.get(4)?,
                            nonce: r.get(5)?,
                            wrapped_secret: r.get(6)?,
                        },
                        suite: r.get(7)?,
                        kdf: r.get(8)?,
                    })
                },
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Insert the identity row unless there is one; true if inserted.
    pub(crate) fn insert_identity(&self, row: &IdentityRow, now: &str) -> Result<bool> {
        let w = &row.wrapped;
        let n = self
            .conn
            .execute(
                "INSERT OR IGNORE INTO identity (id, suite, public_key, kdf, kdf_memory_kib,
                    kdf_passes, kdf_parallelism, kdf_salt, wrap_nonce, wrapped_secret,
                    create_time, update_time)
                 VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10)",
                params![
                    row.suite,
                    w.public_key,
                    row.kdf,
                    w.kdf.memory_kib,
                    w.kdf.passes,
                    w.kdf.parallelism,
                    w.salt,
                    w.nonce,
                    w.wrapped_secret,
                    now
                ],
            )
            .map_err(|e| self.err(e))?;
        Ok(n == 1)
    }

    /// Replace the wrapping (nonce and wrapped secret) of the identity row
    /// that is `old`; false if the row is no longer `old`.
    pub(crate) fn rewrap_identity(
        &self,
        old: &WrappedIdentity,
        new: &WrappedIdentity,
    ) -> Result<bool> {
        let n = self
            .conn
            .execute(
                "UPDATE identity SET wrap_nonce = ?1, wrapped_secret = ?2
                 WHERE id = 1 AND public_key = ?3 AND wrapped_secret = ?4",
                params![
                    new.nonce,
                    new.wrapped_secret,
                    old.public_key,
                    old.wrapped_secret
                ],
            )
            .map_err(|e| self.err(e))?;
        Ok(n == 1)
    }

    /// Write `w` over the identity row whose public key is `expected`;
    /// false if there is no such row.
    pub(crate) fn replace_identity(
        &self,
        w: &WrappedIdentity,
        expected: &[u8],
        now: &str,
    ) -> Result<bool> {
        let n = self
            .conn
            .execute(
                "UPDATE identity SET public_key = ?1, kdf_memory_kib = ?2, kdf_passes = ?3,
                    kdf_parallelism = ?4, kdf_salt = ?5, wrap_nonce = ?6, wrapped_secret = ?7,
                    update_time = ?8
                 WHERE id = 1 AND public_key = ?9",
                params![
                    w.public_key,
                    w.kdf.memory_kib,
                    w.kdf.passes,
                    w.kdf.parallelism,
                    w.salt,
                    w.nonce,
                    w.wrapped_secret,
                    now,
                    expected
                ],
            )
            .map_err(|e| self.err(e))?;
        Ok(n == 1)
    }

    // Keypair rows.

    fn read_keypair(r: &rusqlite::Row<'_>) -> rusqlite::Result<KeypairRow> {
        let encryption_type: String = r.get(10)?;
        // The kms columns mean something only for a kms keypair.
        let (kms_key_name, kms_key_id) = if encryption_type == "default" {
            (None, None)
        } else {
            (r.get(11)?, r.get(12)?)
        };
        Ok(KeypairRow {
            name: r.get(0)?,
            algorithm: r.get(1)?,
            bits: r.get(2)?,
            public_line: r.get(3)?,
            fingerprint_sha256: r.get(4)?,
            fingerprint_md5: r.get(5)?,
            description: r.get(6)?,
            user_id: r.get(7)?,
            create_time: r.get(8)?,
            update_time: r.get(9)?,
            encryption_type,
            kms_key_name,
            kms_key_id,
            has_private_key: r.get(13)?,
            fingerprint_aws_created: r.get(14)?,
            fingerprint_aws_imported: r.get(15)?,
            mac: r.get(16)?,
        })
    }

    /// Rows of `SELECT {COLUMNS} ... ` handed to `f` one at a time as they
    /// are read. Stops at the first error.
    fn each_row<E: From<Error>>(
        &self,
        sql: &str,
        args: impl rusqlite::Params,
        mut f: impl FnMut(KeypairRow) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        let mut stmt = self.conn.prepare(sql).map_err(|e| self.err(e))?;
        let mut rows = stmt.query(args).map_err(|e| self.err(e))?;
        while let Some(row) = rows.next().map_err(|e| self.err(e))? {
            f(Self::read_keypair(row).map_err(|e| self.err(e))?)?;
        }
        Ok(())
    }

    pub(crate) fn keypair(&self, name: &str) -> Result<Option<KeypairRow>> {
        self.conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM keypairs WHERE name = ?1"),
                [name],
                Self::read_keypair,
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Keypair `name` with its sealed private key, if it has one.
    pub(crate) fn keypair_with_envelope(
        &self,
        name: &str,
    ) -> Result<Option<(KeypairRow, Option<Vec<u8>>)>> {
        self.conn
            .query_row(
                &format!("SELECT {COLUMNS}, private_key FROM keypairs WHERE name = ?1"),
                [name],
                |r| Ok((Self::read_keypair(r)?, r.get(17)?)),
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Every keypair with its sealed private key, by name.
    pub(crate) fn keypairs_with_envelopes(&self) -> Result<Vec<(KeypairRow, Option<Vec<u8>>)>> {
        let sql = format!("SELECT {COLUMNS}, private_key FROM keypairs ORDER BY name");
        let mut stmt = self.conn.prepare(&sql).map_err(|e| self.err(e))?;
        let mut rows = stmt.query([]).map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        while let Some(r) = rows.next().map_err(|e| self.err(e))? {
            let k = Self::read_keypair(r).map_err(|e| self.err(e))?;
            let envelope: Option<Vec<u8>> = r.get(17).map_err(|e| self.err(e))?;
            out.push((k, envelope));
        }
        Ok(out)
    }

    /// Every keypair, by name, handed to `f` one at a time as it is read.
    pub(crate) fn each_keypair<E: From<Error>>(
        &self,
        f: impl FnMut(KeypairRow) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        self.each_row(
            &format!("SELECT {COLUMNS} FROM keypairs ORDER BY name"),
            [],
            f,
        )
    }

    /// The keypairs whose SHA256 fingerprint column is `fingerprint`, by name.
    pub(crate) fn keypairs_with_fingerprint(&self, fingerprint: &str) -> Result<Vec<KeypairRow>> {
        let mut out = Vec::new();
        self.each_row(
            &format!("SELECT {COLUMNS} FROM keypairs WHERE fingerprint_sha256 = ?1 ORDER BY name"),
            [fingerprint],
            |k| {
                out.push(k);
                Ok::<(), Error>(())
            },
        )?;
        Ok(out)
    }

    /// The keypairs whose rows have no MAC.
    pub(crate) fn keypairs_without_mac(&self) -> Result<Vec<KeypairRow>> {
        let mut out = Vec::new();
        self.each_row(
            &format!("SELECT {COLUMNS} FROM keypairs WHERE mac IS NULL"),
            [],
            |k| {
                out.push(k);
                Ok::<(), Error>(())
            },
        )?;
        Ok(out)
    }

    pub(crate) fn count_keypairs(&self) -> Result<i64> {
        self.conn
            .query_row("SELECT count(*) FROM keypairs", [], |r| r.get(0))
            .map_err(|e| self.err(e))
    }

    /// How many `default` keypairs hold a sealed private key.
    pub(crate) fn count_sealed_to_identity(&self) -> Result<i64> {
        self.conn
            .query_row(
                "SELECT count(*) FROM keypairs
                 WHERE encryption_type = 'default' AND private_key IS NOT NULL",
                [],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))
    }

    /// The length in bytes of the longest keypair name (0 for none).
    pub(crate) fn longest_name(&self) -> Result<usize> {
        self.conn
            .query_row(
                "SELECT coalesce(max(length(CAST(name AS BLOB))), 0) FROM keypairs",
                [],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n as usize)
            .map_err(|e| self.err(e))
    }

    /// Insert keypair `record`. Any constraint violation (the UNIQUE name
    /// decides between racing writers) is [`Error::AlreadyExists`].
    pub(crate) fn insert_keypair(
        &self,
        record: &Keypair,
        envelope: Option<&[u8]>,
        mac: Option<&[u8]>,
    ) -> Result<()> {
        let result = self.conn.execute(
            "INSERT INTO keypairs (name, algorithm, bits, public_key, fingerprint_sha256,
                fingerprint_md5, comment, description, user_id, create_time, update_time,
                encryption_type, kms_key_name, kms_key_id, private_key, fingerprint_aws_created,
                fingerprint_aws_imported, mac)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,
                ?18)",
            params![
                record.name,
                record.algorithm,
                record.bits,
                record.public_line,
                record.fingerprint,
                record.fingerprint_md5,
                record.comment(),
                record.description,
                record.user_id,
                record.create_time,
                record.update_time,
                record.encryption.type_name(),
                record.encryption.kms_key_name(),
                record.encryption.kms_key_id(),
                envelope,
                record.fingerprint_aws_created,
                record.fingerprint_aws_imported,
                mac,
            ],
        );
        match result {
            Ok(_) => Ok(()),
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == ErrorCode::ConstraintViolation =>
            {
                Err(Error::AlreadyExists(record.name.clone()))
            }
            Err(e) => Err(self.err(e)),
        }
    }

    pub(crate) fn set_keypair_mac(&self, name: &str, mac: &[u8]) -> Result<()> {
        self.conn
            .execute(
                "UPDATE keypairs SET mac = ?1 WHERE name = ?2",
                params![mac, name],
            )
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    pub(crate) fn set_keypair_envelope(
        &self,
        name: &str,
        envelope: Option<&[u8]>,
        mac: &[u8],
    ) -> Result<()> {
        self.conn
            .execute(
                "UPDATE keypairs SET private_key = ?1, mac = ?2 WHERE name = ?3",
                params![envelope, mac, name],
            )
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    /// Fill in the AWS "created" fingerprint of a row that has none yet.
    pub(crate) fn fill_aws_created(&self, name: &str, fingerprint: &str, mac: &[u8]) -> Result<()> {
        self.conn
            .execute(
                "UPDATE keypairs SET fingerprint_aws_created = ?1, mac = ?2 WHERE name = ?3
                   AND fingerprint_aws_created IS NULL",
                params![fingerprint, mac, name],
            )
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    /// Write `keypair`'s encryption, envelope, update time and MAC over the
    /// row named `keypair.name` whose envelope is still `old`; how many
    /// rows changed (0: another process changed it).
    pub(crate) fn set_keypair_encryption(
        &self,
        keypair: &Keypair,
        envelope: &[u8],
        mac: Option<&[u8]>,
        old: &[u8],
    ) -> Result<usize> {
        self.conn
            .execute(
                "UPDATE keypairs SET encryption_type = ?1, kms_key_name = ?2, kms_key_id = ?3,
                    private_key = ?4, update_time = ?5, mac = ?6
                 WHERE name = ?7 AND private_key = ?8",
                params![
                    keypair.encryption.type_name(),
                    keypair.encryption.kms_key_name(),
                    keypair.encryption.kms_key_id(),
                    envelope,
                    keypair.update_time,
                    mac,
                    keypair.name,
                    old
                ],
            )
            .map_err(|e| self.err(e))
    }

    /// Write `keypair` (its new name, encryption, update time), `envelope`
    /// and `mac` over the row `old` whose envelope is still `old_envelope`;
    /// how many rows changed. The new name taken is
    /// [`Error::AlreadyExists`].
    pub(crate) fn rename_keypair(
        &self,
        old: &str,
        old_envelope: Option<&[u8]>,
        keypair: &Keypair,
        envelope: Option<&[u8]>,
        mac: Option<&[u8]>,
    ) -> Result<usize> {
        let result = self.conn.execute(
            "UPDATE keypairs SET name = ?1, private_key = ?2, encryption_type = ?3,
                kms_key_name = ?4, kms_key_id = ?5, update_time = ?6, mac = ?7
             WHERE name = ?8 AND private_key IS ?9",
            params![
                keypair.name,
                envelope,
                keypair.encryption.type_name(),
                keypair.encryption.kms_key_name(),
                keypair.encryption.kms_key_id(),
                keypair.update_time,
                mac,
                old,
                old_envelope
            ],
        );
        match result {
            Ok(n) => Ok(n),
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == ErrorCode::ConstraintViolation =>
            {
                Err(Error::AlreadyExists(keypair.name.clone()))
            }
            Err(e) => Err(self.err(e)),
        }
    }

    /// Write `keypair`'s public key line, comment, description, user id,
    /// update time and `mac` over its row.
    pub(crate) fn set_keypair_details(&self, keypair: &Keypair, mac: Option<&[u8]>) -> Result<()> {
        self.conn
            .execute(
                "UPDATE keypairs SET public_key = ?1, comment = ?2, description = ?3, user_id = ?4,
                    update_time = ?5, mac = ?6
                 WHERE name = ?7",
                params![
                    keypair.public_line,
                    keypair.comment(),
                    keypair.description,
                    keypair.user_id,
                    keypair.update_time,
                    mac,
                    keypair.name
                ],
            )
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    /// Delete keypair `name` (and, by the foreign key, its bindings); how
    /// many rows went.
    pub(crate) fn delete_keypair(&self, name: &str) -> Result<usize> {
        self.conn
            .execute("DELETE FROM keypairs WHERE name = ?1", [name])
            .map_err(|e| self.err(e))
    }

    // Settings.

    pub(crate) fn setting(&self, key: &str) -> Result<Option<String>> {
        self.conn
            .query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()
            .map_err(|e| self.err(e))
    }

    pub(crate) fn set_setting(&self, key: &str, value: &str) -> Result<()> {
        self.conn
            .execute(
                "INSERT INTO settings (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [key, value],
            )
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    // A team store's membership statements and audit log.

    pub(crate) fn membership_chain(&self) -> Result<Vec<MembershipRow>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT epoch, statement, signer, signature FROM team_membership ORDER BY epoch",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(MembershipRow {
                    epoch: r.get(0)?,
                    statement: r.get(1)?,
                    signer: r.get(2)?,
                    signature: r.get(3)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.err(e))
    }

    pub(crate) fn newest_membership_epoch(&self) -> Result<Option<i64>> {
        self.conn
            .query_row("SELECT max(epoch) FROM team_membership", [], |r| r.get(0))
            .map_err(|e| self.err(e))
    }

    /// A statement at an epoch already taken is [`Error::AlreadyExists`].
    pub(crate) fn insert_membership(&self, row: &MembershipRow) -> Result<()> {
        self.conn
            .execute(
                "INSERT INTO team_membership (epoch, statement, signer, signature)
                 VALUES (?1, ?2, ?3, ?4)",
                params![row.epoch, row.statement, row.signer, row.signature],
            )
            .map(|_| ())
            .map_err(|e| match e {
                rusqlite::Error::SqliteFailure(f, _)
                    if f.code == ErrorCode::ConstraintViolation =>
                {
                    Error::AlreadyExists(format!("membership epoch {}", row.epoch))
                }
                e => self.err(e),
            })
    }

    /// Serialise appends to the audit chain: nothing to do here, where a
    /// write transaction already holds the database's one write lock.
    pub(crate) fn lock_team(&self) -> Result<()> {
        Ok(())
    }

    pub(crate) fn audit_entries(&self) -> Result<Vec<AuditRow>> {
        self.audit_query(
            "SELECT id, team_id, prev, at_micros, epoch, member, action, target, signature
             FROM team_audit ORDER BY id",
        )
    }

    pub(crate) fn last_audit_entry(&self) -> Result<Option<AuditRow>> {
        Ok(self
            .audit_query(
                "SELECT id, team_id, prev, at_micros, epoch, member, action, target, signature
                 FROM team_audit ORDER BY id DESC LIMIT 1",
            )?
            .pop())
    }

    fn audit_query(&self, sql: &str) -> Result<Vec<AuditRow>> {
        let mut stmt = self.conn.prepare(sql).map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(AuditRow {
                    id: r.get(0)?,
                    team_id: r.get(1)?,
                    prev: r.get(2)?,
                    at_micros: r.get(3)?,
                    epoch: r.get(4)?,
                    member: r.get(5)?,
                    action: r.get(6)?,
                    target: r.get(7)?,
                    signature: r.get(8)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.err(e))
    }

    pub(crate) fn insert_audit(&self, row: &AuditRow) -> Result<()> {
        self.conn
            .execute(
                "INSERT INTO team_audit (team_id, prev, at_micros, epoch, member, action, target, signature)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    row.team_id,
                    row.prev,
                    row.at_micros,
                    row.epoch,
                    row.member,
                    row.action,
                    row.target,
                    row.signature
                ],
            )
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    // Binding rows.

    /// The binding rows `filter` selects, with their keypair's name and
    /// public key line.
    pub(crate) fn bindings(&self, filter: BindingFilter<'_>) -> Result<Vec<BindingRow>> {
        match filter {
            BindingFilter::Matching { keypair, host } => self.binding_rows(
                &format!(
                    "{SELECT_BINDINGS} WHERE (?1 IS NULL OR k.name = ?1) AND (?2 IS NULL OR b.host = ?2)
                     ORDER BY k.name, b.host, b.port, b.user"
                ),
                params![keypair, host],
            ),
            BindingFilter::WithoutMac => {
                self.binding_rows(&format!("{SELECT_BINDINGS} WHERE b.mac IS NULL"), [])
            }
        }
    }

    fn binding_rows(&self, sql: &str, args: impl rusqlite::Params) -> Result<Vec<BindingRow>> {
        let mut stmt = self.conn.prepare(sql).map_err(|e| self.err(e))?;
        let mut rows = stmt.query(args).map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        while let Some(r) = rows.next().map_err(|e| self.err(e))? {
            let get = |e| self.err(e);
            out.push(BindingRow {
                id: r.get(0).map_err(get)?,
                keypair_id: r.get(1).map_err(get)?,
                keypair: r.get(2).map_err(get)?,
                public_line: r.get(3).map_err(get)?,
                host: r.get(4).map_err(get)?,
                port: r.get(5).map_err(get)?,
                user: r.get(6).map_err(get)?,
                host_key_fingerprint: r.get(7).map_err(get)?,
                authorized_keys_path: r.get(8).map_err(get)?,
                password_login: r.get(9).map_err(get)?,
                create_time: r.get(10).map_err(get)?,
                update_time: r.get(11).map_err(get)?,
                mac: r.get(12).map_err(get)?,
            });
        }
        Ok(out)
    }

    /// The row id of keypair `name`, which bindings refer to.
    pub(crate) fn keypair_id(&self, name: &str) -> Result<Option<i64>> {
        self.conn
            .query_row("SELECT id FROM keypairs WHERE name = ?1", [name], |r| {
                r.get(0)
            })
            .optional()
            .map_err(|e| self.err(e))
    }

    /// When the binding of keypair row `keypair_id` to `user@host:port`
    /// was made, if there is one.
    pub(crate) fn binding_create_time(
        &self,
        keypair_id: i64,
        host: &str,
        port: u16,
        user: &str,
    ) -> Result<Option<String>> {
        self.conn
            .query_row(
                "SELECT create_time FROM bindings
                 WHERE keypair_id = ?1 AND host = ?2 AND port = ?3 AND user = ?4",
                params![keypair_id, host, port, user],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Insert binding `b` of keypair row `keypair_id` (its `keypair` name
    /// is not used), or overwrite the one of the same keypair, host, port
    /// and user.
    pub(crate) fn upsert_binding(
        &self,
        keypair_id: i64,
        b: &Binding,
        mac: Option<&[u8]>,
    ) -> Result<()> {
        self.conn
            .execute(
                "INSERT INTO bindings (keypair_id, host, port, user, host_key_fingerprint,
                    authorized_keys_path, password_login, create_time, update_time, mac)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                 ON CONFLICT (keypair_id, host, port, user) DO UPDATE SET
                    host = excluded.host, host_key_fingerprint = excluded.host_key_fingerprint,
                    authorized_keys_path = excluded.authorized_keys_path,
                    password_login = excluded.password_login,
                    create_time = excluded.create_time, update_time = excluded.update_time,
                    mac = excluded.mac",
                params![
                    keypair_id,
                    b.host,
                    b.port,
                    b.user,
                    b.host_key_fingerprint,
                    b.authorized_keys_path,
                    b.password_login.as_str(),
                    b.create_time,
                    b.update_time,
                    mac
                ],
            )
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    /// Delete the binding of keypair `keypair` to `user@host:port`; how
    /// many rows went.
    pub(crate) fn delete_binding(
        &self,
        keypair: &str,
        host: &str,
        port: u16,
        user: &str,
    ) -> Result<usize> {
        self.conn
            .execute(
                "DELETE FROM bindings
                 WHERE keypair_id = (SELECT id FROM keypairs WHERE name = ?1)
                   AND host = ?2 AND port = ?3 AND user = ?4",
                params![keypair, host, port, user],
            )
            .map_err(|e| self.err(e))
    }

    pub(crate) fn set_binding_mac(&self, id: i64, mac: &[u8]) -> Result<()> {
        self.conn
            .execute(
                "UPDATE bindings SET mac = ?1 WHERE rowid = ?2",
                params![mac, id],
            )
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    // What only a store file has.

    /// Copy the WAL into the database and truncate it: after a write that
    /// removed sealed data (a deleted keypair, a replaced envelope or
    /// identity wrapping), so that the old bytes, which secure_delete
    /// overwrites in the database, do not linger in `kps.db-wal`; and after
    /// the identity is made. Best effort and without waiting: the change is
    /// committed already, and with another process reading or writing
    /// meanwhile SQLite copies what it can (as a passive checkpoint) and a
    /// later command finishes the job.
    pub(crate) fn checkpoint(&self) {
        if self.conn.busy_timeout(Duration::ZERO).is_ok() {
            let _ = self
                .conn
                .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
        }
        let _ = self.conn.busy_timeout(BUSY_TIMEOUT);
    }

    /// Copy the WAL into the database and truncate it, waiting for readers
    /// (up to the busy timeout): for `passwd`, which promises that the old
    /// wrapping is gone from both files when it returns.
    pub(crate) fn checkpoint_fully(&self) -> Result<()> {
        let (busy, _, _): (i64, i64, i64) = self
            .conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .map_err(|e| self.err(e))?;
        if busy != 0 {
            return Err(Error::StoreBusy {
                path: self.db_path.clone(),
            });
        }
        Ok(())
    }

    /// [`Sqlite::checkpoint`] when the WAL has grown past WAL_MAX_BYTES.
    pub(crate) fn checkpoint_if_large(&self) {
        let mut wal = self.db_path.clone().into_os_string();
        wal.push("-wal");
        if fs::metadata(wal).is_ok_and(|m| m.len() > WAL_MAX_BYTES) {
            self.checkpoint();
        }
    }

    /// Write a consistent copy of the database to the new, empty file `tmp`
    /// with SQLite's online backup (other processes may keep writing
    /// meanwhile), as one self-contained file (no WAL beside it). Errors
    /// are SQLite's message, for the caller to report against its target.
    pub(crate) fn backup_to(&self, tmp: &Path) -> std::result::Result<(), String> {
        let sql_err = |e: rusqlite::Error| e.to_string();
        let mut dest = Connection::open(tmp).map_err(sql_err)?;
        {
            let backup = rusqlite::backup::Backup::new(&self.conn, &mut dest).map_err(sql_err)?;
            backup
                .run_to_completion(256, Duration::from_millis(10), None)
                .map_err(sql_err)?;
        }
        dest.execute_batch("PRAGMA journal_mode = DELETE;")
            .map_err(sql_err)?;
        dest.close().map_err(|(_, e)| sql_err(e))
    }

    /// Fill this new, empty store file in one transaction: `read` is
    /// given a function that writes a row into table `tables[i]` (name
    /// and columns), and calls it for every row. The file leaves WAL mode
    /// first, so that it is self-contained and its rows are written once,
    /// not into the WAL and then again into the file. A store that already
    /// holds rows is refused (a snapshot is copied only into a file made
    /// for it).
    pub(crate) fn fill(
        &self,
        tables: &[(&str, &[&str])],
        read: impl FnOnce(&mut dyn FnMut(usize, &[Value]) -> Result<()>) -> Result<()>,
    ) -> Result<()> {
        self.make_self_contained()?;
        let tx = Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)
            .map_err(|e| self.err(e))?;
        let mut inserts = Vec::with_capacity(tables.len());
        for (table, columns) in tables {
            let held: i64 = tx
                .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
                .map_err(|e| self.err(e))?;
            if held != 0 {
                return Err(self.corrupt(format!(
                    "internal: a snapshot into a store whose {table} is not empty"
                )));
            }
            let marks = vec!["?"; columns.len()].join(", ");
            let sql = format!(
                "INSERT INTO {table} ({}) VALUES ({marks})",
                snapshot::column_list(columns.iter().copied())
            );
            inserts.push(tx.prepare(&sql).map_err(|e| self.err(e))?);
        }
        read(&mut |table, row| {
            let stmt = inserts
                .get_mut(table)
                .ok_or_else(|| self.corrupt("internal: a row of no table"))?;
            stmt.execute(rusqlite::params_from_iter(row.iter()))
                .map(|_| ())
                .map_err(|e| self.err(e))
        })?;
        drop(inserts);
        tx.commit().map_err(|e| self.err(e))
    }

    /// SQLite's integrity check: `ok`, or the first problem found.
    pub(crate) fn integrity_check(&self) -> Result<String> {
        self.conn
            .query_row("PRAGMA integrity_check(1)", [], |r| r.get(0))
            .map_err(|e| self.err(e))
    }

    /// Leave WAL mode: what is in the WAL goes into the database file,
    /// which is then self-contained.
    pub(crate) fn make_self_contained(&self) -> Result<()> {
        self.conn
            .query_row("PRAGMA journal_mode = DELETE", [], |_| Ok(()))
            .map_err(|e| self.err(e))
    }

    /// Replace every table's rows with those of the store file `copy`
    /// (same schema version), in one write transaction with the file
    /// attached. The keypairs this store holds that `copy` lacks (by name
    /// and fingerprint) are returned; if there are some and not `force`,
    /// [`Error::RestoreWouldRemove`] and nothing changes. `copy` must have
    /// one identity row, else it changed since it was checked.
    pub(crate) fn replace_from_file(&self, copy: &Path, force: bool) -> Result<Vec<String>> {
        // Bound as text: a path that is not UTF-8 is refused rather than
        // changed into another (where ATTACH would make a new, empty file).
        let copy = copy.to_str().ok_or_else(|| Error::StoreIo {
            path: copy.to_path_buf(),
            source: std::io::Error::other("the store's path is not UTF-8"),
        })?;
        self.conn
            .execute("ATTACH DATABASE ?1 AS backup", [copy])
            .map_err(|e| self.err(e))?;
        let result = self.replace_from_attached(force);
        // The attachment goes whatever happened; a failure to detach is
        // only reported if the restore itself went well.
        let detached = self
            .conn
            .execute("DETACH DATABASE backup", [])
            .map_err(|e| self.err(e));
        let removed = result?;
        detached?;
        Ok(removed)
    }

    fn replace_from_attached(&self, force: bool) -> Result<Vec<String>> {
        let tx = Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)
            .map_err(|e| self.err(e))?;
        // What is attached is the checked copy, identity and all.
        let identities: i64 = tx
            .query_row("SELECT count(*) FROM backup.identity", [], |r| r.get(0))
            .map_err(|e| self.err(e))?;
        if identities != 1 {
            return Err(self.corrupt("the backup's copy changed while it was restored"));
        }
        let lost: Vec<String> = {
            let mut stmt = tx.prepare(LOST_SQL).map_err(|e| self.err(e))?;
            stmt.query_map([], |r| r.get(0))
                .and_then(|rows| rows.collect())
                .map_err(|e| self.err(e))?
        };
        if !lost.is_empty() && !force {
            return Err(Error::RestoreWouldRemove { names: lost });
        }
        for table in TABLES {
            let columns = self.columns(table)?;
            tx.execute(&format!("DELETE FROM main.{table}"), [])
                .map_err(|e| self.err(e))?;
            tx.execute(
                &format!(
                    "INSERT INTO main.{table} ({columns}) SELECT {columns} FROM backup.{table}"
                ),
                [],
            )
            .map_err(|e| self.err(e))?;
        }
        tx.commit().map_err(|e| self.err(e))?;
        Ok(lost)
    }

    /// The columns of `table` in this store, quoted and comma-separated.
    /// The backup was migrated to the same schema version when its copy
    /// was opened, so it has the same ones.
    fn columns(&self, table: &str) -> Result<String> {
        let mut stmt = self
            .conn
            .prepare(&format!("PRAGMA main.table_info({table})"))
            .map_err(|e| self.err(e))?;
        let names: Vec<String> = stmt
            .query_map([], |r| r.get::<_, String>(1))
            .and_then(|rows| rows.collect())
            .map_err(|e| self.err(e))?;
        if names.is_empty() {
            return Err(self.corrupt(format!("it has no table {table}")));
        }
        Ok(snapshot::column_list(names.iter().map(String::as_str)))
    }
}

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(ToSqlOutput::Borrowed(match self {
            Value::Null => ValueRef::Null,
            Value::Int(v) => ValueRef::Integer(*v),
            Value::Text(v) => ValueRef::Text(v.as_bytes()),
            Value::Blob(v) => ValueRef::Blob(v),
        }))
    }
}

/// SQLite's errors as kps's: busy or locked is [`Error::StoreBusy`], a
/// read-only file [`Error::StoreReadOnly`], anything else (not a database,
/// a malformed file, a column of the wrong type) [`Error::StoreCorrupt`].
pub(crate) fn sql_error(path: &Path, e: rusqlite::Error) -> Error {
    match &e {
        rusqlite::Error::SqliteFailure(f, _) => match f.code {
            ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => Error::StoreBusy {
                path: path.to_path_buf(),
            },
            ErrorCode::ReadOnly => Error::StoreReadOnly {
                path: path.to_path_buf(),
                detail: e.to_string(),
            },
            ErrorCode::NotADatabase => Error::StoreCorrupt {
                path: path.to_path_buf(),
                detail: "not a kps store (not an SQLite database)".into(),
            },
            _ => Error::StoreCorrupt {
                path: path.to_path_buf(),
                detail: e.to_string(),
            },
        },
        _ => Error::StoreCorrupt {
            path: path.to_path_buf(),
            detail: e.to_string(),
        },
    }
}
