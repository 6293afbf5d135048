//! The core's error type: one variant per thing a user can act on.

use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Errors of the kps core. Messages never contain secret material.
///
/// A variant that wraps another error gives it as its `source` and leaves it
/// out of its own message: the report walks the chain (`{:#}`), so naming it
/// in both printed the OS error twice.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A parameter the caller gave is not acceptable (bad name, unsupported size...).
    #[error("{message}")]
    InvalidParameter {
        message: String,
        hint: Option<String>,
    },

    #[error("keypair '{0}' does not exist")]
    NotFound(String),

    #[error("no keypair has fingerprint {0}")]
    NoMatch(String),

    #[error("keypair '{0}' already exists")]
    AlreadyExists(String),

    #[error("keypair '{0}' has no private key in the store")]
    NoPrivateKey(String),

    #[error("wrong store passphrase")]
    WrongPassphrase,

    #[error("the store has no passphrase yet")]
    NotInitialised,

    #[error("the store already has a passphrase")]
    AlreadyInitialised,

    /// Another process set up the store while this one was asking for a
    /// passphrase, and the passphrase given here does not open it.
    #[error("the store was set up by another process with a different passphrase")]
    InitialisedConcurrently,

    /// A command that needs a store was given a path where there is none.
    #[error("no store at {path}")]
    NoStore { path: PathBuf },

    /// The store's file system or files do not let kps write; SQLite says
    /// "attempt to write a readonly database".
    #[error("the store at {path} is read-only: {detail}")]
    StoreReadOnly { path: PathBuf, detail: String },

    #[error("the store at {path} is busy: another kps process held it too long")]
    StoreBusy { path: PathBuf },

    #[error("the store at {path} is unreadable or corrupt: {detail}")]
    StoreCorrupt { path: PathBuf, detail: String },

    #[error(
        "the store at {path} has schema version {found}, newer than this kps supports ({supported})"
    )]
    StoreTooNew {
        path: PathBuf,
        found: i64,
        supported: i64,
    },

    /// The store's identity public key is not the one whose passphrase was
    /// last proven on this machine: it was replaced, or the store was
    /// re-keyed elsewhere. Nothing is sealed to it.
    #[error(
        "the store at {path} has a different identity from the one pinned on this machine ({pin}): its public key was replaced, or the store was re-keyed elsewhere"
    )]
    PinMismatch { path: PathBuf, pin: PathBuf },

    /// The identity differs from its pin and the passphrase does not open
    /// it: most likely the public key was swapped.
    #[error(
        "the store at {path} has a different identity from the one pinned on this machine, and the passphrase does not open it: its public key was most likely replaced (or the passphrase is wrong)"
    )]
    IdentityReplaced { path: PathBuf },

    #[error("the store pin {path} is malformed")]
    BadPin { path: PathBuf },

    /// The identity row is gone but the store still needs it.
    #[error("the store at {path} has no identity, but {why}")]
    IdentityMissing { path: PathBuf, why: String },

    /// `fix` is the command (or step) that makes it safe, for the hint.
    #[error("refusing to use {path}: {why}")]
    StoreInsecure {
        path: PathBuf,
        why: String,
        fix: String,
    },

    /// `kps restore` was given a file that is not a kps store it can
    /// check (not SQLite, damaged, no identity, a row that does not verify).
    #[error("{path} is not a kps store backup that can be restored: {detail}")]
    BackupInvalid { path: PathBuf, detail: String },

    /// `kps restore` without `--force` on a store holding keypairs that
    /// the backup does not (by name, or another key under the same name).
    #[error(
        "the store holds {} keypair(s) that the backup does not: {}",
        names.len(),
        names.join(", ")
    )]
    RestoreWouldRemove { names: Vec<String> },

    #[error("cannot open the store at {path}")]
    StoreIo {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The stored private key of a keypair cannot be opened, or what it opens
    /// to is not the key the row says: damage or tampering, never a wrong key.
    #[error("keypair '{name}' failed verification: {detail}")]
    IntegrityFailure { name: String, detail: String },

    #[error("encryption type kms is not available: no KMS is configured")]
    KmsNotConfigured,

    /// No KMS is configured, and the store names a PKCS#11 module as earlier
    /// kps versions recorded it: no longer used, since whoever can write the
    /// store must not choose code for kps to load.
    #[error(
        "encryption type kms is not available: no KMS is configured (the module this store names is no longer used)"
    )]
    KmsConfiguredOnlyInStore,

    /// A PKCS#11 module that someone other than root or the user could have
    /// written or replaced: `path` is the file or directory at fault.
    #[error("refusing to load the PKCS#11 module {module}: {path} {why}")]
    KmsModuleInsecure {
        module: PathBuf,
        path: PathBuf,
        why: String,
    },

    #[error("KMS module: {0}")]
    KmsModule(String),

    #[error("no token labelled '{token}' (tokens found: {})", if available.is_empty() { "none".to_string() } else { available.join(", ") })]
    KmsTokenNotFound {
        token: String,
        available: Vec<String>,
    },

    #[error("wrong PIN for token '{token}'")]
    WrongPin { token: String },

    #[error("KMS key {key} is not on token '{token}'")]
    KmsKeyNotFound { key: String, token: String },

    #[error("creating the KMS key failed: {0}")]
    KmsKeyCreation(String),

    #[error("KMS: {0}")]
    Kms(String),

    #[error("saving keypair '{name}' failed: {detail}")]
    SaveFailed { name: String, detail: String },

    #[error("key generation failed: {0}")]
    KeyGeneration(String),

    #[error("encrypting the private key failed: {0}")]
    EncryptFailed(String),

    /// Key material that is not a sound key of an allowed kind.
    #[error("{message}")]
    InvalidKey {
        message: String,
        hint: Option<String>,
    },

    /// The secret parts of a key do not belong to its public part.
    #[error("{0}")]
    KeyMismatch(String),

    /// Encrypted key input and no key passphrase to open it.
    #[error("{what} is encrypted")]
    KeyEncrypted { what: String, hint: String },

    #[error("wrong passphrase for the key file")]
    WrongKeyPassphrase,

    /// The key file's passphrase was typed at the prompt and wrong every time.
    #[error("wrong passphrase for the key file ({tries} tries)")]
    WrongKeyPassphraseTyped { tries: u32 },

    /// Several inputs failed together (`import --from-dir`): nothing was stored.
    #[error("{} of the key files failed; nothing was imported", failures.len())]
    BatchFailed { failures: Vec<(String, Error)> },

    /// `import --from-dir`: the keypair name a key file's name gives is
    /// taken by `by` (an earlier file of the directory, or a keypair in the
    /// store); the file is left out and the rest imported.
    #[error("keypair name '{name}' is taken by {by}")]
    NameTaken { name: String, by: String },

    #[error("cannot read {path}")]
    InputIo {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// AWS returns empty password data for the first minutes after launch.
    #[error("the password is not available yet: the password data is empty")]
    PasswordNotAvailable,

    #[error("{0}")]
    BadPasswordData(String),

    /// Not an RSA keypair, or not the one the data was encrypted for.
    #[error("{0}")]
    NotForWindowsPassword(String),

    #[error("{path} already exists")]
    OutputExists { path: PathBuf },

    /// `--force` replaces only regular files: never a link, device or fifo.
    #[error("{path} is {what}, not a regular file: kps does not replace it")]
    OutputNotRegular { path: PathBuf, what: String },

    /// The agent's socket (or its directory) cannot be made: the path is
    /// taken, too long for a socket, or not writable.
    #[error("cannot listen on {path}")]
    AgentSocket {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// `kps agent --confirm` with no way to ask: no terminal in the
    /// foreground, no usable `SSH_ASKPASS` (or `SSH_ASKPASS_REQUIRE=never`).
    #[error("kps agent --confirm cannot ask for approval: {0}")]
    AgentConfirmUnavailable(String),

    /// `kps ssh-add`: no agent to add to (SSH_AUTH_SOCK unset or empty).
    #[error("no SSH agent: SSH_AUTH_SOCK is not set, or empty")]
    NoAgent,

    /// `kps ssh-add`: the agent at SSH_AUTH_SOCK cannot be reached, or its
    /// answer is no agent protocol.
    #[error("cannot use the SSH agent at {path}: {why}")]
    AgentUnreachable { path: PathBuf, why: String },

    /// `kps ssh-add`: the agent answered FAILURE.
    #[error("the SSH agent at {path} refused to {action} keypair '{name}'")]
    AgentRefused {
        path: PathBuf,
        action: &'static str,
        name: String,
    },

    /// `kps ssh`: the ssh program cannot be started.
    #[error("cannot run {program}")]
    SshNotRun {
        program: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// `kps bind`, `unbind`, `replace`: one server's failure.
    #[error("{host}: {message}")]
    Remote {
        kind: crate::remote::Failure,
        host: String,
        message: String,
    },

    /// Several servers, and not all of them failed the same way.
    #[error("{failed} of {total} servers failed")]
    SomeServersFailed { failed: usize, total: usize },

    #[error("cannot write {path}")]
    OutputIo {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// Not a bundle, cut short, altered, or of a version or suite this kps
    /// does not read (`kps import --bundle`).
    #[error("{0}")]
    BundleCorrupt(String),

    #[error("wrong passphrase for the bundle")]
    BundleWrongPassphrase,

    /// A bundle sealed to another store's identity.
    #[error("the bundle is sealed to another store's identity ({recipient}), not to this store's")]
    BundleNotForThisStore { recipient: String },

    /// `kps delete` of a keypair the store records as bound to servers,
    /// without `--force`: its key stays on them after the delete.
    #[error(
        "keypair '{name}' is bound to {} server(s): {}",
        servers.len(),
        servers.join(", ")
    )]
    KeypairBound { name: String, servers: Vec<String> },

    /// Keypairs of a bundle whose names the store already has: nothing is imported.
    #[error("{} of the bundle's keypairs already exist in the store: {}; nothing was imported", names.len(), names.join(", "))]
    BundleClash { names: Vec<String> },

    /// A team member line (`kps-member-v1 NAME X25519 ED25519`) that does
    /// not parse, or whose keys are not acceptable.
    #[error("not a kps member line: {0}")]
    BadMemberLine(String),

    /// A team's membership statement (or chain of them) that does not verify
    /// against what this machine pinned: nothing may be sealed to its members.
    #[error("the team's member list does not verify: {0}")]
    MembershipRejected(crate::team::MembershipFault),

    /// A membership change that would leave the team in a state kps refuses
    /// (no admin left, a name or key twice, a member that is not there).
    #[error("membership change refused: {0}")]
    MembershipChangeRefused(String),

    /// A team store (a PostgreSQL store, or any store with a member list)
    /// that has no member list yet.
    #[error("the team store {store} has not been set up")]
    TeamNotSetUp { store: String },

    /// A team store whose team this machine has not joined (no pin for it
    /// with this identity).
    #[error("this machine has not joined team {team} of {store} with the identity of {identity}")]
    TeamNotJoined {
        team: String,
        store: String,
        identity: String,
    },

    /// This identity is not in the team's verified member list (removed,
    /// or never added).
    #[error("the identity of {identity} is not a member of team {team} (epoch {epoch})")]
    NotATeamMember {
        team: String,
        epoch: u64,
        identity: String,
    },

    /// A command that only a personal store has (its passphrase, its
    /// identity, its file).
    #[error("{what} is not for a team store")]
    NotForTeamStore { what: String, hint: String },

    /// A command that only a team store has.
    #[error("{store} is not a team store")]
    NotATeamStore { store: String },

    /// A PostgreSQL store that could not be reached (refused, lost, timed
    /// out, login or TLS verification failed), or whose server ended the
    /// command's transaction (shut down, recovering, disk full, statement
    /// timeout, too many connections, a read-only standby). `store` is its
    /// display form and `detail` what PostgreSQL or the connection said:
    /// never the password.
    #[error(
        "the store at {store} could not be reached, or did not finish the command's transaction: {detail}"
    )]
    StoreUnreachable { store: String, detail: String },

    /// A PostgreSQL transaction that lost to a concurrent one (serialization
    /// failure 40001, deadlock 40P01): retried by the store a bounded
    /// number of times, reported when the retries ran out.
    #[error(
        "the store at {store} refused the command's transaction because of concurrent writes: {detail}"
    )]
    StoreConflict { store: String, detail: String },
}

impl Error {
    pub fn invalid(message: impl Into<String>) -> Self {
        Error::InvalidParameter {
            message: message.into(),
            hint: None,
        }
    }

    pub fn bad_key(message: impl Into<String>) -> Self {
        Error::InvalidKey {
            message: message.into(),
            hint: None,
        }
    }

    pub fn bad_key_with_hint(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Error::InvalidKey {
            message: message.into(),
            hint: Some(hint.into()),
        }
    }

    pub fn invalid_with_hint(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Error::InvalidParameter {
            message: message.into(),
            hint: Some(hint.into()),
        }
    }
}
