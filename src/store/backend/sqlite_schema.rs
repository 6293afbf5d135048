//! The store's SQLite schema and its migrations (run by sqlite.rs). `PRAGMA user_version` is the
//! schema version; each migration moves it up by one inside a transaction.

/// Migrations in order: `MIGRATIONS[i]` takes version `i` to `i + 1`.
pub(crate) const MIGRATIONS: &[&str] = &[V1, V2, V3, V4, V5, V6];

pub(crate) const CURRENT_VERSION: i64 = MIGRATIONS.len() as i64;

const V1: &str = "
CREATE TABLE identity (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    suite TEXT NOT NULL,
    public_key BLOB NOT NULL,
    kdf TEXT NOT NULL,
    kdf_memory_kib INTEGER NOT NULL,
    kdf_passes INTEGER NOT NULL,
    kdf_parallelism INTEGER NOT NULL,
    kdf_salt BLOB NOT NULL,
    wrap_nonce BLOB NOT NULL,
    wrapped_secret BLOB NOT NULL,
    create_time TEXT NOT NULL,
    update_time TEXT NOT NULL
);
CREATE TABLE keypairs (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    algorithm TEXT NOT NULL,
    bits INTEGER NOT NULL,
    public_key TEXT NOT NULL,
    fingerprint_sha256 TEXT NOT NULL,
    fingerprint_md5 TEXT NOT NULL,
    comment TEXT NOT NULL DEFAULT '',
    description TEXT,
    user_id TEXT,
    create_time TEXT NOT NULL,
    update_time TEXT NOT NULL,
    encryption_type TEXT NOT NULL CHECK (encryption_type IN ('default', 'kms')),
    kms_key_name TEXT,
    kms_key_id TEXT,
    private_key BLOB
);
CREATE INDEX keypairs_fingerprint_sha256 ON keypairs (fingerprint_sha256);
";

/// Store-wide settings, such as the KMS (PKCS#11 module and token).
const V2: &str = "
CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
";

/// The fingerprints AWS shows: for key pairs it created, SHA-1 of the PKCS#8
/// private key (rows from before fill it in at their next unlock); for
/// imported ones, MD5 of the DER public key (computed on read while NULL).
const V3: &str = "
ALTER TABLE keypairs ADD COLUMN fingerprint_aws_created TEXT;
ALTER TABLE keypairs ADD COLUMN fingerprint_aws_imported TEXT;
";

/// Each keypair row's MAC (rowmac.rs), NULL until the row is endorsed: rows
/// written before this version get theirs at the store's first unlock.
const V4: &str = "
ALTER TABLE keypairs ADD COLUMN mac BLOB;
";

/// The servers each keypair is bound to (bindings.rs). A binding refers to
/// its keypair's row id, not its name: a rename leaves it alone (and its
/// MAC valid), and deleting the keypair deletes its bindings in the same
/// statement (foreign keys are on for every kps connection). The host
/// compares without case, as DNS names do.
const V5: &str = "
CREATE TABLE bindings (
    keypair_id INTEGER NOT NULL REFERENCES keypairs (id) ON DELETE CASCADE,
    host TEXT NOT NULL COLLATE NOCASE,
    port INTEGER NOT NULL CHECK (port BETWEEN 1 AND 65535),
    user TEXT NOT NULL,
    host_key_fingerprint TEXT NOT NULL,
    authorized_keys_path TEXT NOT NULL,
    password_login TEXT NOT NULL CHECK (password_login IN ('disabled', 'enabled', 'unchanged')),
    create_time TEXT NOT NULL,
    update_time TEXT NOT NULL,
    mac BLOB,
    UNIQUE (keypair_id, host, port, user)
);
CREATE INDEX bindings_host ON bindings (host);
";

/// A team store's trust (issue 18; docs/store-format.md, "Team stores"):
/// the admin-signed membership statements, kept by epoch (a reader walks
/// them from the one it pinned), and the signed, hash-chained audit log.
/// Empty in a personal store. Nothing in them is secret.
const V6: &str = "
CREATE TABLE team_membership (
    epoch INTEGER PRIMARY KEY CHECK (epoch >= 1),
    statement BLOB NOT NULL,
    signer BLOB NOT NULL,
    signature BLOB NOT NULL
);
CREATE TABLE team_audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    team_id BLOB NOT NULL,
    prev BLOB,
    at_micros INTEGER NOT NULL,
    epoch INTEGER NOT NULL,
    member TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    signature BLOB NOT NULL
);
";
