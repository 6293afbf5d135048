//! The PostgreSQL backend: the same rows as sqlite.rs, in a PostgreSQL
//! database, over one connection per store (the `postgres` crate, TLS in
//! postgres_tls.rs). It reads and writes rows and maps PostgreSQL's errors
//! to kps's; what a row means, and whether it can be trusted, is decided
//! above it.
//!
//! Transactions. A write is `BEGIN ISOLATION LEVEL READ COMMITTED` on the
//! client, `COMMIT` on [`WriteTx::commit`], `ROLLBACK` when the guard is
//! dropped; every row method called meanwhile runs in it (one connection).
//! READ COMMITTED is enough because each method that decides on what it
//! read does so in one statement (`UPDATE ... WHERE private_key = $old`,
//! `INSERT ... ON CONFLICT`), which PostgreSQL re-checks against the row
//! as committed; and inside a write transaction every keypair or binding
//! row read is locked (`SELECT ... FOR UPDATE`), so that what the store
//! checks before it writes (`set_details`, `record_binding`) cannot change
//! under it, as SQLite's write lock guarantees. On SQLite a failed
//! statement leaves the transaction usable; on PostgreSQL it aborts it.
//! The one failure the store goes on from, a name taken, is therefore
//! found without an error (`ON CONFLICT DO NOTHING` on insert) or inside a
//! savepoint (rename); any other failed statement makes the commit fail.
//!
//! Errors: a name taken is [`Error::AlreadyExists`]; a serialization
//! failure or deadlock [`Error::StoreConflict`] (the store may retry);
//! no connection, a lost one, a login or TLS failure and the server's
//! "cannot finish" states (shutdown, recovery, disk full, timeouts, too
//! many connections, read-only) [`Error::StoreUnreachable`]; anything else
//! [`Error::StoreCorrupt`] with the SQLSTATE. Messages name the store by
//! its display form and never hold the password.
//!
//! The checkpoint methods do nothing: there is no local log to truncate.

use super::postgres_schema as schema;
use super::postgres_tls::{self, MakeRustls};
use super::snapshot::{self, Value};
use super::{AuditRow, BindingFilter, BindingRow, IdentityRow, KeypairRow, MembershipRow};
use crate::keypair::Keypair;
use crate::store::location::{PgHost, PgTarget, SslMode};
use crate::store::{Binding, WrappedIdentity};
use crate::{Error, Result};
use postgres::types::{FromSql, ToSql, Type};
use postgres::{Client, Row, Statement};
use std::cell::{Cell, RefCell, RefMut};
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;
use zeroize::Zeroizing;

/// TCP keepalive idle time: a server that vanished (a cable, a failover)
/// is noticed within about a minute and a half instead of two hours.
const KEEPALIVE_IDLE: Duration = Duration::from_secs(60);

/// The keypair columns [`Postgres::read_keypair`] reads, in its order.
macro_rules! columns {
    () => {
        "name, algorithm, bits, public_key, fingerprint_sha256, fingerprint_md5, description,
         user_id, create_time, update_time, encryption_type, kms_key_name, kms_key_id,
         private_key IS NOT NULL, fingerprint_aws_created, fingerprint_aws_imported, mac"
    };
}

macro_rules! select_bindings {
    () => {
        r#"SELECT b.id, b.keypair_id, k.name, k.public_key, b.host, b.port, b."user",
            b.host_key_fingerprint, b.authorized_keys_path, b.password_login, b.create_time,
            b.update_time, b.mac
         FROM bindings b JOIN keypairs k ON k.id = b.keypair_id"#
    };
}

type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

/// Parameters with their types, for the statements every create or list
/// runs: sent as one unnamed statement (parse, bind and execute in one
/// round trip) instead of a prepare and then an execute. A kps process
/// runs each statement once or twice on its own connection, so a prepared
/// statement saves nothing and costs a round trip.
type Typed<'a> = &'a [(&'a (dyn ToSql + Sync), Type)];

/// One connection to a store database.
pub(crate) struct Postgres {
    client: RefCell<Client>,
    /// Prepared once per connection: a statement is one round trip, not two.
    statements: RefCell<HashMap<&'static str, Statement>>,
    /// The display form, for messages.
    store: String,
    /// Only to make sure no message carries it.
    password: Option<Zeroizing<String>>,
    in_tx: Cell<bool>,
    /// A statement failed in the open transaction: PostgreSQL has aborted
    /// it, and a COMMIT would silently roll it back.
    tx_failed: Cell<bool>,
}

/// A write transaction; rolled back when dropped without [`WriteTx::commit`].
pub(crate) struct WriteTx<'a> {
    db: &'a Postgres,
    open: bool,
}

impl WriteTx<'_> {
    pub(crate) fn commit(mut self) -> Result<()> {
        self.open = false;
        self.db.in_tx.set(false);
        if self.db.tx_failed.replace(false) {
            let _ = self.db.run(|c| c.batch_execute("ROLLBACK"));
            return Err(self
                .db
                .corrupt("a statement of the transaction failed; nothing of it was written"));
        }
        self.db.batch("COMMIT")
    }
}

impl Drop for WriteTx<'_> {
    fn drop(&mut self) {
        if self.open {
            self.db.in_tx.set(false);
            self.db.tx_failed.set(false);
            // A lost connection has rolled it back already.
            let _ = self.db.run(|c| c.batch_execute("ROLLBACK"));
        }
    }
}

/// SQLSTATEs meaning "the server could not be used or could not finish":
/// classes 08 (connection), 28 (authorization), 53 (insufficient
/// resources: disk full, out of memory, too many connections), 57
/// (operator intervention: admin shutdown, crash recovery, cannot connect
/// now, statement timeout), 58 (system error: I/O); and a read-only
/// standby (25006), an idle-in-transaction timeout (25P03), a database
/// that does not exist (3D000) and a lock timeout (55P03).
fn is_unreachable_state(code: &str) -> bool {
    matches!(code.get(..2), Some("08" | "28" | "53" | "57" | "58"))
        || matches!(code, "25006" | "25P03" | "3D000" | "55P03")
}

/// What went wrong, in words, without the password: PostgreSQL's message
/// and SQLSTATE, or the connection's error and its causes.
fn describe(e: &postgres::Error, password: Option<&str>) -> String {
    let text = match e.as_db_error() {
        Some(db) => format!("{} (SQLSTATE {})", db.message(), db.code().code()),
        None => {
            // tokio-postgres's own text is the kind of failure ("error
            // performing TLS handshake"); the why is in its sources.
            let mut text = e.to_string();
            let mut source = std::error::Error::source(e);
            while let Some(cause) = source {
                let cause_text = cause.to_string();
                if !text.contains(&cause_text) {
                    text.push_str(": ");
                    text.push_str(&cause_text);
                }
                source = cause.source();
            }
            text
        }
    };
    scrub(text, password)
}

/// Take the password out of `text`, should a server or library ever echo
/// it. (Very short passwords are left: replacing every "a" would make the
/// message unreadable and hides nothing worth hiding.)
fn scrub(text: String, password: Option<&str>) -> String {
    match password {
        Some(p) if p.len() >= 3 && text.contains(p) => text.replace(p, "<password>"),
        _ => text,
    }
}

/// PostgreSQL's error as kps's (see the module comment). While
/// `connecting`, every failure is "could not be reached".
fn map_error(store: &str, password: Option<&str>, e: &postgres::Error, connecting: bool) -> Error {
    let detail = describe(e, password);
    match e.code().map(|c| c.code()) {
        Some("40001" | "40P01") if !connecting => Error::StoreConflict {
            store: store.to_string(),
            detail,
        },
        Some(code) if !connecting && !is_unreachable_state(code) => Error::StoreCorrupt {
            path: PathBuf::from(store),
            detail,
        },
        // A server state, or no SQLSTATE at all: I/O, a closed
        // connection, TLS, a timeout, the protocol.
        _ => Error::StoreUnreachable {
            store: store.to_string(),
            detail,
        },
    }
}

impl Postgres {
    /// Connect to `target` (within its connect timeout: the socket, TLS and
    /// the login together).
    pub(crate) fn open(target: &PgTarget) -> Result<Postgres> {
        let store = target.to_string();
        let password = target.password.as_ref().map(|p| p.as_str());
        let unreachable = |detail: String| {
            let mut detail = scrub(detail, password);
            for warning in target.warnings() {
                detail.push_str(&format!("; note: {warning}"));
            }
            Error::StoreUnreachable {
                store: store.clone(),
                detail,
            }
        };
        let socket = matches!(target.host, PgHost::Socket(_));
        let tls = if socket {
            None
        } else {
            postgres_tls::client_config(target.sslmode, &target.sslrootcert).map_err(unreachable)?
        };
        let mut config = postgres::Config::new();
        match &target.host {
            PgHost::Tcp(host) => config.host(host),
            PgHost::Socket(dir) => config.host_path(dir),
        };
        if let Some(addr) = target.hostaddr {
            config.hostaddr(addr);
        }
        config
            .port(target.port)
            .user(&target.user)
            .dbname(&target.dbname)
            .application_name(&target.application_name)
            .keepalives_idle(KEEPALIVE_IDLE)
            .ssl_mode(match target.sslmode {
                _ if socket => postgres::config::SslMode::Disable,
                SslMode::Disable => postgres::config::SslMode::Disable,
                SslMode::Allow | SslMode::Prefer => postgres::config::SslMode::Prefer,
                SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => {
                    postgres::config::SslMode::Require
                }
            });
        if let Some(p) = &target.password {
            config.password(p.as_bytes());
        }
        if let Some(timeout) = target.connect_timeout {
            config.connect_timeout(timeout);
        }
        let client =
            connect_within(config, MakeRustls(tls), target.connect_timeout).map_err(|failure| {
                match failure {
                    ConnectFailure::Postgres(e) => {
                        let detail = describe(&e, password);
                        unreachable(detail)
                    }
                    ConnectFailure::TimedOut(t) => unreachable(format!(
                        "no connection within the connect timeout ({} s)",
                        t.as_secs_f64()
                    )),
                    ConnectFailure::Thread(e) => {
                        unreachable(format!("cannot start connecting: {e}"))
                    }
                }
            })?;
        Ok(Postgres {
            client: RefCell::new(client),
            statements: RefCell::new(HashMap::new()),
            store,
            password: target.password.clone(),
            in_tx: Cell::new(false),
            tx_failed: Cell::new(false),
        })
    }

    /// The store's display form (the URL without the password).
    pub(crate) fn describe(&self) -> &str {
        &self.store
    }

    fn corrupt(&self, detail: impl Into<String>) -> Error {
        Error::StoreCorrupt {
            path: PathBuf::from(&self.store),
            detail: detail.into(),
        }
    }

    fn err(&self, e: postgres::Error) -> Error {
        if self.in_tx.get() {
            self.tx_failed.set(true);
        }
        // A statement prepared before someone changed the schema fails
        // ("cached plan must not change result type"): prepare afresh.
        if let Ok(mut statements) = self.statements.try_borrow_mut() {
            statements.clear();
        }
        map_error(
            &self.store,
            self.password.as_ref().map(|p| p.as_str()),
            &e,
            false,
        )
    }

    fn client(&self) -> Result<RefMut<'_, Client>> {
        // Only `each_keypair` holds the connection across a call out; a
        // callback that used the store then gets an error, not a panic.
        self.client.try_borrow_mut().map_err(|_| {
            self.corrupt("internal: the connection was used while a query on it was being read")
        })
    }

    /// `f` on the connection, its error left as PostgreSQL's.
    fn run<T>(
        &self,
        f: impl FnOnce(&mut Client) -> std::result::Result<T, postgres::Error>,
    ) -> Result<std::result::Result<T, postgres::Error>> {
        let mut client = self.client()?;
        Ok(f(&mut client))
    }

    fn statement(
        &self,
        client: &mut Client,
        sql: &'static str,
    ) -> std::result::Result<Statement, postgres::Error> {
        if let Some(s) = self.statements.borrow().get(sql) {
            return Ok(s.clone());
        }
        let s = client.prepare(sql)?;
        self.statements.borrow_mut().insert(sql, s.clone());
        Ok(s)
    }

    fn batch(&self, sql: &str) -> Result<()> {
        self.run(|c| c.batch_execute(sql))?.map_err(|e| self.err(e))
    }

    fn execute_raw(
        &self,
        sql: &'static str,
        params: Params<'_>,
    ) -> Result<std::result::Result<u64, postgres::Error>> {
        self.run(|c| {
            let s = self.statement(c, sql)?;
            c.execute(&s, params)
        })
    }

    /// Rows changed.
    fn execute(&self, sql: &'static str, params: Params<'_>) -> Result<usize> {
        self.execute_raw(sql, params)?
            .map(|n| n as usize)
            .map_err(|e| self.err(e))
    }

    fn query(&self, sql: &'static str, params: Params<'_>) -> Result<Vec<Row>> {
        self.run(|c| {
            let s = self.statement(c, sql)?;
            c.query(&s, params)
        })?
        .map_err(|e| self.err(e))
    }

    fn query_opt(&self, sql: &'static str, params: Params<'_>) -> Result<Option<Row>> {
        self.run(|c| {
            let s = self.statement(c, sql)?;
            c.query_opt(&s, params)
        })?
        .map_err(|e| self.err(e))
    }

    fn query_one(&self, sql: &'static str, params: Params<'_>) -> Result<Row> {
        self.run(|c| {
            let s = self.statement(c, sql)?;
            c.query_one(&s, params)
        })?
        .map_err(|e| self.err(e))
    }

    /// Column `idx` of `row`; a value of the wrong type is a corrupt store.
    fn get<'r, T: FromSql<'r>>(&self, row: &'r Row, idx: usize) -> Result<T> {
        row.try_get(idx).map_err(|e| {
            let name = row.columns().get(idx).map(|c| c.name()).unwrap_or("?");
            self.corrupt(format!("column {name}: {e}"))
        })
    }

    fn get_u32(&self, row: &Row, idx: usize) -> Result<u32> {
        let v: i64 = self.get(row, idx)?;
        u32::try_from(v).map_err(|_| self.corrupt(format!("column {idx}: {v} is out of range")))
    }

    /// Inside a write transaction, the variant of a read that locks its rows.
    fn query_typed(&self, sql: &str, params: Typed<'_>) -> Result<Vec<Row>> {
        self.run(|c| c.query_typed(sql, params))?
            .map_err(|e| self.err(e))
    }

    fn query_typed_opt(&self, sql: &str, params: Typed<'_>) -> Result<Option<Row>> {
        self.run(|c| c.query_typed_opt(sql, params))?
            .map_err(|e| self.err(e))
    }

    /// Rows changed.
    fn execute_typed(&self, sql: &str, params: Typed<'_>) -> Result<usize> {
        self.run(|c| c.execute_typed(sql, params))?
            .map(|n| n as usize)
            .map_err(|e| self.err(e))
    }

    fn locking(&self, plain: &'static str, for_update: &'static str) -> &'static str {
        if self.in_tx.get() { for_update } else { plain }
    }

    /// Bring the schema to [`schema::CURRENT_VERSION`]; `check` refuses a
    /// version this kps cannot migrate from. The usual case is one read;
    /// otherwise the version table is made and the migrations run in one
    /// transaction under an advisory lock, the version read again under it
    /// (two first users of a new database: one migrates, the other then
    /// finds it done).
    pub(crate) fn migrate(&self, check: impl Fn(i64) -> Result<()>) -> Result<()> {
        let seen = self.run(|c| c.query_typed_opt("SELECT version FROM kps_schema", &[]))?;
        match seen {
            Ok(Some(row)) => {
                let version: i64 = self.get(&row, 0)?;
                if version == schema::CURRENT_VERSION {
                    return Ok(());
                }
                self.check_version(version)?;
                check(version)?;
            }
            Ok(None) => {}
            // No version table yet: a new database.
            Err(e) if e.code().map(|c| c.code()) == Some("42P01") => {}
            Err(e) => return Err(self.err(e)),
        }
        let tx = self.begin_write()?;
        self.execute(
            "SELECT pg_advisory_xact_lock($1)",
            &[&schema::MIGRATION_LOCK],
        )?;
        self.batch(schema::VERSION_TABLE)?;
        let version = match self.query_opt("SELECT version FROM kps_schema", &[])? {
            Some(row) => self.get::<i64>(&row, 0)?,
            None => 0,
        };
        self.check_version(version)?;
        check(version)?;
        if version == schema::CURRENT_VERSION {
            return tx.commit();
        }
        for sql in schema::MIGRATIONS.iter().skip(version as usize) {
            self.batch(sql)?;
        }
        self.execute(
            "INSERT INTO kps_schema (version) VALUES ($1)
             ON CONFLICT (one) DO UPDATE SET version = EXCLUDED.version",
            &[&schema::CURRENT_VERSION],
        )?;
        tx.commit()
    }

    fn check_version(&self, version: i64) -> Result<()> {
        if version > schema::CURRENT_VERSION {
            return Err(Error::StoreTooNew {
                path: PathBuf::from(&self.store),
                found: version,
                supported: schema::CURRENT_VERSION,
            });
        }
        if version < 0 {
            return Err(self.corrupt(format!("schema version {version}")));
        }
        Ok(())
    }

    pub(crate) fn begin_write(&self) -> Result<WriteTx<'_>> {
        if self.in_tx.get() {
            return Err(self.corrupt("internal: a write transaction is already open"));
        }
        self.batch("BEGIN ISOLATION LEVEL READ COMMITTED")?;
        self.in_tx.set(true);
        self.tx_failed.set(false);
        Ok(WriteTx {
            db: self,
            open: true,
        })
    }

    // The identity row.

    pub(crate) fn identity(&self) -> Result<Option<IdentityRow>> {
        let Some(r) = self.query_opt(
            "SELECT public_key, kdf_memory_kib, kdf_passes, kdf_parallelism, kdf_salt,
                    wrap_nonce, wrapped_secret, suite, kdf
             FROM identity WHERE id = 1",
            &[],
        )?
        else {
            return Ok(None);
        };
        Ok(Some(IdentityRow {
            wrapped: WrappedIdentity {
                public_key: self.get(&r, 0)?,
                kdf: crate::store::KdfParams {
                    memory_kib: self.get_u32(&r, 1)?,
                    passes: self.get_u32(&r, 2)?,
                    parallelism: self.get_u32(&r, 3)?,
                },
                salt: self.get(&r, 4)?,
                nonce: self.get(&r, 5)?,
                wrapped_secret: self.get(&r, 6)?,
            },
            suite: self.get(&r, 7)?,
            kdf: self.get(&r, 8)?,
        }))
    }

    pub(crate) fn insert_identity(&self, row: &IdentityRow, now: &str) -> Result<bool> {
        let w = &row.wrapped;
        let n = self.execute(
            "INSERT INTO identity (id, suite, public_key, kdf, kdf_memory_kib, kdf_passes,
                kdf_parallelism, kdf_salt, wrap_nonce, wrapped_secret, create_time, update_time)
             VALUES (1, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)
             ON CONFLICT (id) DO NOTHING",
            &[
                &row.suite,
                &w.public_key,
                &row.kdf,
                &i64::from(w.kdf.memory_kib),
                &i64::from(w.kdf.passes),
                &i64::from(w.kdf.parallelism),
                &w.salt,
                &w.nonce,
                &w.wrapped_secret,
                &now,
            ],
        )?;
        Ok(n == 1)
    }

    pub(crate) fn rewrap_identity(
        &self,
        old: &WrappedIdentity,
        new: &WrappedIdentity,
    ) -> Result<bool> {
        let n = self.execute(
            "UPDATE identity SET wrap_nonce = $1, wrapped_secret = $2
             WHERE id = 1 AND public_key = $3 AND wrapped_secret = $4",
            &[
                &new.nonce,
                &new.wrapped_secret,
                &old.public_key,
                &old.wrapped_secret,
            ],
        )?;
        Ok(n == 1)
    }

    pub(crate) fn replace_identity(
        &self,
        w: &WrappedIdentity,
        expected: &[u8],
        now: &str,
    ) -> Result<bool> {
        let n = self.execute(
            "UPDATE identity SET public_key = $1, kdf_memory_kib = $2, kdf_passes = $3,
                kdf_parallelism = $4, kdf_salt = $5, wrap_nonce = $6, wrapped_secret = $7,
                update_time = $8
             WHERE id = 1 AND public_key = $9",
            &[
                &w.public_key,
                &i64::from(w.kdf.memory_kib),
                &i64::from(w.kdf.passes),
                &i64::from(w.kdf.parallelism),
                &w.salt,
                &w.nonce,
                &w.wrapped_secret,
                &now,
                &expected,
            ],
        )?;
        Ok(n == 1)
    }

    // Keypair rows.

    fn read_keypair(&self, r: &Row) -> Result<KeypairRow> {
        let encryption_type: String = self.get(r, 10)?;
        // The kms columns mean something only for a kms keypair.
        let (kms_key_name, kms_key_id) = if encryption_type == "default" {
            (None, None)
        } else {
            (self.get(r, 11)?, self.get(r, 12)?)
        };
        Ok(KeypairRow {
            name: self.get(r, 0)?,
            algorithm: self.get(r, 1)?,
            bits: self.get_u32(r, 2)?,
            public_line: self.get(r, 3)?,
            fingerprint_sha256: self.get(r, 4)?,
            fingerprint_md5: self.get(r, 5)?,
            description: self.get(r, 6)?,
            user_id: self.get(r, 7)?,
            create_time: self.get(r, 8)?,
            update_time: self.get(r, 9)?,
            encryption_type,
            kms_key_name,
            kms_key_id,
            has_private_key: self.get(r, 13)?,
            fingerprint_aws_created: self.get(r, 14)?,
            fingerprint_aws_imported: self.get(r, 15)?,
            mac: self.get(r, 16)?,
        })
    }

    fn keypair_rows(&self, sql: &'static str, params: Params<'_>) -> Result<Vec<KeypairRow>> {
        self.query(sql, params)?
            .iter()
            .map(|r| self.read_keypair(r))
            .collect()
    }

    pub(crate) fn keypair(&self, name: &str) -> Result<Option<KeypairRow>> {
        let sql = self.locking(
            concat!("SELECT ", columns!(), " FROM keypairs WHERE name = $1"),
            concat!(
                "SELECT ",
                columns!(),
                " FROM keypairs WHERE name = $1 FOR UPDATE"
            ),
        );
        self.query_typed_opt(sql, &[(&name, Type::TEXT)])?
            .map(|r| self.read_keypair(&r))
            .transpose()
    }

    pub(crate) fn keypair_with_envelope(
        &self,
        name: &str,
    ) -> Result<Option<(KeypairRow, Option<Vec<u8>>)>> {
        let sql = self.locking(
            concat!(
                "SELECT ",
                columns!(),
                ", private_key FROM keypairs WHERE name = $1"
            ),
            concat!(
                "SELECT ",
                columns!(),
                ", private_key FROM keypairs WHERE name = $1 FOR UPDATE"
            ),
        );
        match self.query_opt(sql, &[&name])? {
            Some(r) => Ok(Some((self.read_keypair(&r)?, self.get(&r, 17)?))),
            None => Ok(None),
        }
    }

    pub(crate) fn keypairs_with_envelopes(&self) -> Result<Vec<(KeypairRow, Option<Vec<u8>>)>> {
        let sql = self.locking(
            concat!(
                "SELECT ",
                columns!(),
                ", private_key FROM keypairs ORDER BY name"
            ),
            concat!(
                "SELECT ",
                columns!(),
                ", private_key FROM keypairs ORDER BY name FOR UPDATE"
            ),
        );
        self.query(sql, &[])?
            .iter()
            .map(|r| Ok((self.read_keypair(r)?, self.get(r, 17)?)))
            .collect()
    }

    /// Every keypair, by name, handed to `f` one at a time as it is read
    /// (a portal: the rows come from the server as `f` takes them). The
    /// connection is busy meanwhile: `f` must not use this store.
    pub(crate) fn each_keypair<E: From<Error>>(
        &self,
        mut f: impl FnMut(KeypairRow) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        use postgres::fallible_iterator::FallibleIterator;
        const SQL: &str = concat!("SELECT ", columns!(), " FROM keypairs ORDER BY name");
        let mut client = self.client()?;
        let failure = (|| {
            let statement = self.statement(&mut client, SQL)?;
            let mut rows =
                client.query_raw(&statement, std::iter::empty::<&(dyn ToSql + Sync)>())?;
            while let Some(row) = rows.next()? {
                if let Err(e) = self.read_keypair(&row).map_err(E::from).and_then(&mut f) {
                    return Ok(Err(e));
                }
            }
            Ok(Ok(()))
        })();
        drop(client);
        match failure {
            Ok(outcome) => outcome,
            Err(e) => Err(self.err(e).into()),
        }
    }

    pub(crate) fn keypairs_with_fingerprint(&self, fingerprint: &str) -> Result<Vec<KeypairRow>> {
        self.keypair_rows(
            concat!(
                "SELECT ",
                columns!(),
                " FROM keypairs WHERE fingerprint_sha256 = $1 ORDER BY name"
            ),
            &[&fingerprint],
        )
    }

    pub(crate) fn keypairs_without_mac(&self) -> Result<Vec<KeypairRow>> {
        let sql = self.locking(
            concat!("SELECT ", columns!(), " FROM keypairs WHERE mac IS NULL"),
            concat!(
                "SELECT ",
                columns!(),
                " FROM keypairs WHERE mac IS NULL FOR UPDATE"
            ),
        );
        self.keypair_rows(sql, &[])
    }

    pub(crate) fn count_keypairs(&self) -> Result<i64> {
        let r = self.query_one("SELECT count(*) FROM keypairs", &[])?;
        self.get(&r, 0)
    }

    pub(crate) fn count_sealed_to_identity(&self) -> Result<i64> {
        let r = self.query_one(
            "SELECT count(*) FROM keypairs
             WHERE encryption_type = 'default' AND private_key IS NOT NULL",
            &[],
        )?;
        self.get(&r, 0)
    }

    pub(crate) fn longest_name(&self) -> Result<usize> {
        let r = self.query_one(
            "SELECT coalesce(max(octet_length(name)), 0)::bigint FROM keypairs",
            &[],
        )?;
        let n: i64 = self.get(&r, 0)?;
        usize::try_from(n).map_err(|_| self.corrupt(format!("name length {n}")))
    }

    /// Insert keypair `record`; the name taken (also by a writer that
    /// commits meanwhile) is [`Error::AlreadyExists`], found by `ON
    /// CONFLICT` so that the transaction stays usable, as on SQLite.
    pub(crate) fn insert_keypair(
        &self,
        record: &Keypair,
        envelope: Option<&[u8]>,
        mac: Option<&[u8]>,
    ) -> Result<()> {
        let n = self.execute_typed(
            "INSERT INTO keypairs (name, algorithm, bits, public_key, fingerprint_sha256,
                fingerprint_md5, comment, description, user_id, create_time, update_time,
                encryption_type, kms_key_name, kms_key_id, private_key, fingerprint_aws_created,
                fingerprint_aws_imported, mac)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
                $18)
             ON CONFLICT (name) DO NOTHING",
            &[
                (&record.name, Type::TEXT),
                (&record.algorithm, Type::TEXT),
                (&i64::from(record.bits), Type::INT8),
                (&record.public_line, Type::TEXT),
                (&record.fingerprint, Type::TEXT),
                (&record.fingerprint_md5, Type::TEXT),
                (&record.comment(), Type::TEXT),
                (&record.description, Type::TEXT),
                (&record.user_id, Type::TEXT),
                (&record.create_time, Type::TEXT),
                (&record.update_time, Type::TEXT),
                (&record.encryption.type_name(), Type::TEXT),
                (&record.encryption.kms_key_name(), Type::TEXT),
                (&record.encryption.kms_key_id(), Type::TEXT),
                (&envelope, Type::BYTEA),
                (&record.fingerprint_aws_created, Type::TEXT),
                (&record.fingerprint_aws_imported, Type::TEXT),
                (&mac, Type::BYTEA),
            ],
        )?;
        if n == 0 {
            return Err(Error::AlreadyExists(record.name.clone()));
        }
        Ok(())
    }

    pub(crate) fn set_keypair_mac(&self, name: &str, mac: &[u8]) -> Result<()> {
        self.execute(
            "UPDATE keypairs SET mac = $1 WHERE name = $2",
            &[&mac, &name],
        )
        .map(|_| ())
    }

    pub(crate) fn set_keypair_envelope(
        &self,
        name: &str,
        envelope: Option<&[u8]>,
        mac: &[u8],
    ) -> Result<()> {
        self.execute(
            "UPDATE keypairs SET private_key = $1, mac = $2 WHERE name = $3",
            &[&envelope, &mac, &name],
        )
        .map(|_| ())
    }

    pub(crate) fn fill_aws_created(&self, name: &str, fingerprint: &str, mac: &[u8]) -> Result<()> {
        self.execute(
            "UPDATE keypairs SET fingerprint_aws_created = $1, mac = $2
             WHERE name = $3 AND fingerprint_aws_created IS NULL",
            &[&fingerprint, &mac, &name],
        )
        .map(|_| ())
    }

    pub(crate) fn set_keypair_encryption(
        &self,
        keypair: &Keypair,
        envelope: &[u8],
        mac: Option<&[u8]>,
        old: &[u8],
    ) -> Result<usize> {
        self.execute(
            "UPDATE keypairs SET encryption_type = $1, kms_key_name = $2, kms_key_id = $3,
                private_key = $4, update_time = $5, mac = $6
             WHERE name = $7 AND private_key = $8",
            &[
                &keypair.encryption.type_name(),
                &keypair.encryption.kms_key_name(),
                &keypair.encryption.kms_key_id(),
                &envelope,
                &keypair.update_time,
                &mac,
                &keypair.name,
                &old,
            ],
        )
    }

    /// The new name taken is [`Error::AlreadyExists`]; inside a write
    /// transaction the statement runs in a savepoint, so that the
    /// transaction stays usable after it, as on SQLite.
    pub(crate) fn rename_keypair(
        &self,
        old: &str,
        old_envelope: Option<&[u8]>,
        keypair: &Keypair,
        envelope: Option<&[u8]>,
        mac: Option<&[u8]>,
    ) -> Result<usize> {
        let in_tx = self.in_tx.get();
        if in_tx {
            self.batch("SAVEPOINT kps_rename")?;
        }
        let result = self.execute_raw(
            "UPDATE keypairs SET name = $1, private_key = $2, encryption_type = $3,
                kms_key_name = $4, kms_key_id = $5, update_time = $6, mac = $7
             WHERE name = $8 AND private_key IS NOT DISTINCT FROM $9",
            &[
                &keypair.name,
                &envelope,
                &keypair.encryption.type_name(),
                &keypair.encryption.kms_key_name(),
                &keypair.encryption.kms_key_id(),
                &keypair.update_time,
                &mac,
                &old,
                &old_envelope,
            ],
        )?;
        match result {
            Ok(n) => {
                if in_tx {
                    self.batch("RELEASE SAVEPOINT kps_rename")?;
                }
                Ok(n as usize)
            }
            Err(e) if e.code().map(|c| c.code()) == Some("23505") => {
                if in_tx {
                    self.batch("ROLLBACK TO SAVEPOINT kps_rename; RELEASE SAVEPOINT kps_rename")?;
                }
                Err(Error::AlreadyExists(keypair.name.clone()))
            }
            Err(e) => Err(self.err(e)),
        }
    }

    pub(crate) fn set_keypair_details(&self, keypair: &Keypair, mac: Option<&[u8]>) -> Result<()> {
        self.execute(
            "UPDATE keypairs SET public_key = $1, comment = $2, description = $3, user_id = $4,
                update_time = $5, mac = $6
             WHERE name = $7",
            &[
                &keypair.public_line,
                &keypair.comment(),
                &keypair.description,
                &keypair.user_id,
                &keypair.update_time,
                &mac,
                &keypair.name,
            ],
        )
        .map(|_| ())
    }

    /// Delete keypair `name` (and, by the foreign key, its bindings).
    pub(crate) fn delete_keypair(&self, name: &str) -> Result<usize> {
        self.execute("DELETE FROM keypairs WHERE name = $1", &[&name])
    }

    // Settings.

    pub(crate) fn setting(&self, key: &str) -> Result<Option<String>> {
        self.query_opt("SELECT value FROM settings WHERE key = $1", &[&key])?
            .map(|r| self.get(&r, 0))
            .transpose()
    }

    pub(crate) fn set_setting(&self, key: &str, value: &str) -> Result<()> {
        self.execute(
            "INSERT INTO settings (key, value) VALUES ($1, $2)
             ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
            &[&key, &value],
        )
        .map(|_| ())
    }

    // Binding rows.

    pub(crate) fn bindings(&self, filter: BindingFilter<'_>) -> Result<Vec<BindingRow>> {
        let rows = match filter {
            BindingFilter::Matching { keypair, host } => self.query(
                self.locking(
                    concat!(
                        select_bindings!(),
                        r#" WHERE ($1::text IS NULL OR k.name = $1)
                              AND ($2::text IS NULL OR lower(b.host) = lower($2::text COLLATE "C"))
                            ORDER BY k.name, lower(b.host), b.port, b."user""#
                    ),
                    concat!(
                        select_bindings!(),
                        r#" WHERE ($1::text IS NULL OR k.name = $1)
                              AND ($2::text IS NULL OR lower(b.host) = lower($2::text COLLATE "C"))
                            ORDER BY k.name, lower(b.host), b.port, b."user" FOR UPDATE"#
                    ),
                ),
                &[&keypair, &host],
            )?,
            BindingFilter::WithoutMac => self.query(
                self.locking(
                    concat!(select_bindings!(), " WHERE b.mac IS NULL"),
                    concat!(select_bindings!(), " WHERE b.mac IS NULL FOR UPDATE"),
                ),
                &[],
            )?,
        };
        rows.iter()
            .map(|r| {
                Ok(BindingRow {
                    id: self.get(r, 0)?,
                    keypair_id: self.get(r, 1)?,
                    keypair: self.get(r, 2)?,
                    public_line: self.get(r, 3)?,
                    host: self.get(r, 4)?,
                    port: i64::from(self.get::<i32>(r, 5)?),
                    user: self.get(r, 6)?,
                    host_key_fingerprint: self.get(r, 7)?,
                    authorized_keys_path: self.get(r, 8)?,
                    password_login: self.get(r, 9)?,
                    create_time: self.get(r, 10)?,
                    update_time: self.get(r, 11)?,
                    mac: self.get(r, 12)?,
                })
            })
            .collect()
    }

    pub(crate) fn keypair_id(&self, name: &str) -> Result<Option<i64>> {
        let sql = self.locking(
            "SELECT id FROM keypairs WHERE name = $1",
            "SELECT id FROM keypairs WHERE name = $1 FOR UPDATE",
        );
        self.query_opt(sql, &[&name])?
            .map(|r| self.get(&r, 0))
            .transpose()
    }

    pub(crate) fn binding_create_time(
        &self,
        keypair_id: i64,
        host: &str,
        port: u16,
        user: &str,
    ) -> Result<Option<String>> {
        let sql = self.locking(
            r#"SELECT create_time FROM bindings
               WHERE keypair_id = $1 AND lower(host) = lower($2::text COLLATE "C") AND port = $3
                 AND "user" = $4"#,
            r#"SELECT create_time FROM bindings
               WHERE keypair_id = $1 AND lower(host) = lower($2::text COLLATE "C") AND port = $3
                 AND "user" = $4 FOR UPDATE"#,
        );
        self.query_opt(sql, &[&keypair_id, &host, &i32::from(port), &user])?
            .map(|r| self.get(&r, 0))
            .transpose()
    }

    pub(crate) fn upsert_binding(
        &self,
        keypair_id: i64,
        b: &Binding,
        mac: Option<&[u8]>,
    ) -> Result<()> {
        self.execute(
            r#"INSERT INTO bindings (keypair_id, host, port, "user", host_key_fingerprint,
                authorized_keys_path, password_login, create_time, update_time, mac)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             ON CONFLICT (keypair_id, lower(host), port, "user") DO UPDATE SET
                host = EXCLUDED.host, host_key_fingerprint = EXCLUDED.host_key_fingerprint,
                authorized_keys_path = EXCLUDED.authorized_keys_path,
                password_login = EXCLUDED.password_login,
                create_time = EXCLUDED.create_time, update_time = EXCLUDED.update_time,
                mac = EXCLUDED.mac"#,
            &[
                &keypair_id,
                &b.host,
                &i32::from(b.port),
                &b.user,
                &b.host_key_fingerprint,
                &b.authorized_keys_path,
                &b.password_login.as_str(),
                &b.create_time,
                &b.update_time,
                &mac,
            ],
        )
        .map(|_| ())
    }

    pub(crate) fn delete_binding(
        &self,
        keypair: &str,
        host: &str,
        port: u16,
        user: &str,
    ) -> Result<usize> {
        self.execute(
            r#"DELETE FROM bindings
               WHERE keypair_id = (SELECT id FROM keypairs WHERE name = $1)
                 AND lower(host) = lower($2::text COLLATE "C") AND port = $3 AND "user" = $4"#,
            &[&keypair, &host, &i32::from(port), &user],
        )
    }

    pub(crate) fn set_binding_mac(&self, id: i64, mac: &[u8]) -> Result<()> {
        self.execute("UPDATE bindings SET mac = $1 WHERE id = $2", &[&mac, &id])
            .map(|_| ())
    }

    /// Tests: the first column of each row of `sql`, as text.
    #[cfg(test)]
    pub(crate) fn query_text(&self, sql: &str) -> Result<Vec<String>> {
        let messages = self
            .run(|c| c.simple_query(sql))?
            .map_err(|e| self.err(e))?;
        Ok(messages
            .iter()
            .filter_map(|m| match m {
                postgres::SimpleQueryMessage::Row(r) => Some(r.get(0).unwrap_or("").to_string()),
                _ => None,
            })
            .collect())
    }

    // No local log: the checkpoints have nothing to do.

    // A team store's membership statements and audit log.

    pub(crate) fn membership_chain(&self) -> Result<Vec<MembershipRow>> {
        self.query_typed(
            "SELECT epoch, statement, signer, signature FROM team_membership ORDER BY epoch",
            &[],
        )?
        .iter()
        .map(|r| {
            Ok(MembershipRow {
                epoch: self.get(r, 0)?,
                statement: self.get(r, 1)?,
                signer: self.get(r, 2)?,
                signature: self.get(r, 3)?,
            })
        })
        .collect()
    }

    pub(crate) fn newest_membership_epoch(&self) -> Result<Option<i64>> {
        let row = self.query_typed("SELECT max(epoch) FROM team_membership", &[])?;
        match row.first() {
            Some(r) => self.get(r, 0),
            None => Ok(None),
        }
    }

    /// A statement at an epoch already taken is [`Error::AlreadyExists`].
    pub(crate) fn insert_membership(&self, row: &MembershipRow) -> Result<()> {
        let n = self.execute(
            "INSERT INTO team_membership (epoch, statement, signer, signature)
             VALUES ($1, $2, $3, $4) ON CONFLICT (epoch) DO NOTHING",
            &[&row.epoch, &row.statement, &row.signer, &row.signature],
        )?;
        if n == 0 {
            return Err(Error::AlreadyExists(format!(
                "membership epoch {}",
                row.epoch
            )));
        }
        Ok(())
    }

    /// Inside a write transaction: wait for the other writers of the team's
    /// chains (released at commit or rollback).
    pub(crate) fn lock_team(&self) -> Result<()> {
        self.query_typed(
            "SELECT pg_advisory_xact_lock($1)",
            &[(&schema::TEAM_LOCK, Type::INT8)],
        )
        .map(|_| ())
    }

    pub(crate) fn audit_entries(&self) -> Result<Vec<AuditRow>> {
        self.query(
            "SELECT id, team_id, prev, at_micros, epoch, member, action, target, signature
             FROM team_audit ORDER BY id",
            &[],
        )?
        .iter()
        .map(|r| self.audit_row(r))
        .collect()
    }

    pub(crate) fn last_audit_entry(&self) -> Result<Option<AuditRow>> {
        self.query_typed_opt(
            "SELECT id, team_id, prev, at_micros, epoch, member, action, target, signature
             FROM team_audit ORDER BY id DESC LIMIT 1",
            &[],
        )?
        .map(|r| self.audit_row(&r))
        .transpose()
    }

    fn audit_row(&self, r: &Row) -> Result<AuditRow> {
        Ok(AuditRow {
            id: self.get(r, 0)?,
            team_id: self.get(r, 1)?,
            prev: self.get(r, 2)?,
            at_micros: self.get(r, 3)?,
            epoch: self.get(r, 4)?,
            member: self.get(r, 5)?,
            action: self.get(r, 6)?,
            target: self.get(r, 7)?,
            signature: self.get(r, 8)?,
        })
    }

    pub(crate) fn insert_audit(&self, row: &AuditRow) -> Result<()> {
        self.execute_typed(
            "INSERT INTO team_audit (team_id, prev, at_micros, epoch, member, action, target, signature)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &[
                (&row.team_id, Type::BYTEA),
                (&row.prev, Type::BYTEA),
                (&row.at_micros, Type::INT8),
                (&row.epoch, Type::INT8),
                (&row.member, Type::TEXT),
                (&row.action, Type::TEXT),
                (&row.target, Type::TEXT),
                (&row.signature, Type::BYTEA),
            ],
        )
        .map(|_| ())
    }

    /// Every row of each of `tables` (name and columns), handed to
    /// `f(table index, row)` as it arrives, read in one read-only
    /// REPEATABLE READ transaction: one snapshot of the database, whatever
    /// other members write meanwhile (they are not waited for). Rows come
    /// in no particular order (ids are copied, so none is needed); what is
    /// held in memory does not grow with the store. An error of `f` stops
    /// the read and is returned.
    pub(crate) fn snapshot(
        &self,
        tables: &[(&str, &[&str])],
        mut f: impl FnMut(usize, &[Value]) -> Result<()>,
    ) -> Result<()> {
        use postgres::fallible_iterator::FallibleIterator;
        if self.in_tx.get() {
            return Err(self.corrupt("internal: a snapshot inside a write transaction"));
        }
        self.batch("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")?;
        let mut read = || -> Result<()> {
            for (i, (table, columns)) in tables.iter().enumerate() {
                let sql = format!(
                    "SELECT {} FROM {table}",
                    snapshot::column_list(columns.iter().copied())
                );
                let mut client = self.client()?;
                let mut rows = client
                    .query_raw(sql.as_str(), std::iter::empty::<&(dyn ToSql + Sync)>())
                    .map_err(|e| self.err(e))?;
                while let Some(row) = rows.next().map_err(|e| self.err(e))? {
                    let values = (0..columns.len())
                        .map(|c| self.value(&row, c))
                        .collect::<Result<Vec<Value>>>()?;
                    f(i, &values)?;
                }
            }
            Ok(())
        };
        let read = read();
        // Only read: ending it either way changes nothing.
        let end = self.batch(if read.is_ok() { "COMMIT" } else { "ROLLBACK" });
        read?;
        end
    }

    /// Column `idx` of `row` by its PostgreSQL type.
    fn value(&self, row: &Row, idx: usize) -> Result<Value> {
        Ok(match row.columns()[idx].type_() {
            &Type::INT8 => self.get::<Option<i64>>(row, idx)?.map(Value::Int),
            &Type::INT4 => self
                .get::<Option<i32>>(row, idx)?
                .map(|v| Value::Int(v.into())),
            &Type::INT2 => self
                .get::<Option<i16>>(row, idx)?
                .map(|v| Value::Int(v.into())),
            &Type::TEXT | &Type::VARCHAR => self.get::<Option<String>>(row, idx)?.map(Value::Text),
            &Type::BYTEA => self.get::<Option<Vec<u8>>>(row, idx)?.map(Value::Blob),
            other => {
                let name = row.columns()[idx].name();
                return Err(self.corrupt(format!("column {name} has the unexpected type {other}")));
            }
        }
        .unwrap_or(Value::Null))
    }

    pub(crate) fn checkpoint(&self) {}

    pub(crate) fn checkpoint_fully(&self) -> Result<()> {
        Ok(())
    }

    pub(crate) fn checkpoint_if_large(&self) {}
}

enum ConnectFailure {
    Postgres(postgres::Error),
    TimedOut(Duration),
    Thread(std::io::Error),
}

/// `config.connect(tls)` within `timeout` in all (tokio-postgres bounds
/// only the socket's connect; a server that accepts and then says nothing
/// would hold the TLS handshake or the login forever). On a timeout the
/// connecting thread is left to fail by itself; nothing waits for it.
fn connect_within(
    config: postgres::Config,
    tls: MakeRustls,
    timeout: Option<Duration>,
) -> std::result::Result<Client, ConnectFailure> {
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    std::thread::Builder::new()
        .name("kps-pg-connect".into())
        .spawn(move || {
            let _ = tx.send(config.connect(tls));
        })
        .map_err(ConnectFailure::Thread)?;
    let result = match timeout {
        Some(t) => rx
            .recv_timeout(t)
            .map_err(|_| ConnectFailure::TimedOut(t))?,
        None => rx.recv().map_err(|_| {
            ConnectFailure::Thread(std::io::Error::other("the connecting thread ended"))
        })?,
    };
    result.map_err(ConnectFailure::Postgres)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlstates_map_to_kps_errors() {
        for code in [
            "08006", "08001", "28P01", "28000", "53100", "53300", "57P01", "57P03", "57014",
            "58030", "25006", "3D000",
        ] {
            assert!(is_unreachable_state(code), "{code}");
        }
        for code in ["23505", "42501", "42P01", "XX000", "40001", "22001"] {
            assert!(!is_unreachable_state(code), "{code}");
        }
    }

    #[test]
    fn scrub_takes_the_password_out() {
        assert_eq!(
            scrub(
                "auth for secret-pw failed: secret-pw".into(),
                Some("secret-pw")
            ),
            "auth for <password> failed: <password>"
        );
        assert_eq!(scrub("no".into(), None), "no");
        assert_eq!(scrub("a b a".into(), Some("a")), "a b a");
    }
}
