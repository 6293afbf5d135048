//! The store's PostgreSQL schema and its migrations (run by postgres.rs).
//! The version is the one row of `kps_schema`, numbered on its own (not
//! SQLite's `user_version`); each migration runs with the version's update
//! in one transaction, under an advisory lock (see `Postgres::migrate`).
//!
//! The same tables and columns as SQLite's (sqlite_schema.rs at version
//! 5): bytea for blobs, bigint identity ids, text timestamps as kps writes
//! them. Names, keys and users are `COLLATE "C"`, so that uniqueness and
//! the order of `list` are bytewise, as on SQLite, whatever the database's
//! locale. A binding's host compares without ASCII case through
//! `lower(host)` (under "C", lower() folds ASCII only: SQLite's NOCASE).

/// Migrations in order: `MIGRATIONS[i]` takes version `i` to `i + 1`.
/// A new one goes at the end; never edit one that has shipped.
pub(crate) const MIGRATIONS: &[&str] = &[V1, V2];

pub(crate) const CURRENT_VERSION: i64 = MIGRATIONS.len() as i64;

/// Made (if missing) under the advisory lock before any migration.
pub(crate) const VERSION_TABLE: &str = "
CREATE TABLE IF NOT EXISTS kps_schema (
    one boolean PRIMARY KEY DEFAULT true CHECK (one),
    version bigint NOT NULL
)";

/// The advisory lock migrations run under: the first eight bytes of
/// SHA-256("kps schema"), so that it does not collide with another
/// application's lock by accident.
pub(crate) const MIGRATION_LOCK: i64 = 0x9b0d_83a3_185c_5483_u64 as i64;

/// Everything SQLite's versions 1 to 5 made.
const V1: &str = r#"
CREATE TABLE identity (
    id integer PRIMARY KEY CHECK (id = 1),
    suite text NOT NULL,
    public_key bytea NOT NULL,
    kdf text NOT NULL,
    kdf_memory_kib bigint NOT NULL,
    kdf_passes bigint NOT NULL,
    kdf_parallelism bigint NOT NULL,
    kdf_salt bytea NOT NULL,
    wrap_nonce bytea NOT NULL,
    wrapped_secret bytea NOT NULL,
    create_time text NOT NULL,
    update_time text NOT NULL
);
CREATE TABLE keypairs (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text COLLATE "C" NOT NULL UNIQUE,
    algorithm text NOT NULL,
    bits bigint NOT NULL,
    public_key text NOT NULL,
    fingerprint_sha256 text NOT NULL,
    fingerprint_md5 text NOT NULL,
    comment text NOT NULL DEFAULT '',
    description text,
    user_id text,
    create_time text NOT NULL,
    update_time text NOT NULL,
    encryption_type text NOT NULL CHECK (encryption_type IN ('default', 'kms')),
    kms_key_name text,
    kms_key_id text,
    private_key bytea,
    fingerprint_aws_created text,
    fingerprint_aws_imported text,
    mac bytea
);
CREATE INDEX keypairs_fingerprint_sha256 ON keypairs (fingerprint_sha256);
CREATE TABLE settings (
    key text COLLATE "C" PRIMARY KEY,
    value text NOT NULL
);
CREATE TABLE bindings (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    keypair_id bigint NOT NULL REFERENCES keypairs (id) ON DELETE CASCADE,
    host text COLLATE "C" NOT NULL,
    port integer NOT NULL CHECK (port BETWEEN 1 AND 65535),
    "user" text COLLATE "C" NOT NULL,
    host_key_fingerprint text NOT NULL,
    authorized_keys_path text NOT NULL,
    password_login text NOT NULL CHECK (password_login IN ('disabled', 'enabled', 'unchanged')),
    create_time text NOT NULL,
    update_time text NOT NULL,
    mac bytea
);
CREATE UNIQUE INDEX bindings_unique ON bindings (keypair_id, lower(host), port, "user");
CREATE INDEX bindings_host ON bindings (lower(host));
"#;

/// A team store's trust (SQLite's version 6): the admin-signed membership
/// statements by epoch, and the signed, hash-chained audit log (appends
/// serialised by `TEAM_LOCK`). docs/store-format.md, "Team stores".
const V2: &str = r#"
CREATE TABLE team_membership (
    epoch bigint PRIMARY KEY CHECK (epoch >= 1),
    statement bytea NOT NULL,
    signer bytea NOT NULL,
    signature bytea NOT NULL
);
CREATE TABLE team_audit (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    team_id bytea NOT NULL,
    prev bytea,
    at_micros bigint NOT NULL,
    epoch bigint NOT NULL,
    member text COLLATE "C" NOT NULL,
    action text COLLATE "C" NOT NULL,
    target text COLLATE "C" NOT NULL,
    signature bytea NOT NULL
);
"#;

/// The advisory lock a team store's writes take (inside their transaction)
/// to append to the audit chain and to change the member list one at a
/// time: the first eight bytes of SHA-256("kps team").
pub(crate) const TEAM_LOCK: i64 = 0x5a1c_2f0e_8d3b_7a61_u64 as i64;
