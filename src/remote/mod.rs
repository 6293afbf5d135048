//! Keys on servers: `kps bind`, `unbind` and `replace`, over the system
//! OpenSSH client, with every change proved from outside and undone when a
//! proof fails.
//!
//! - [`target`]: which servers (`[USER@]HOST[:PORT]`, hosts files);
//! - [`ssh`]: the transport (a kept master connection, fresh proof
//!   connections, host keys, `ssh -G`);
//! - [`askpass`]: a login password handed to ssh without argv, environment
//!   or file;
//! - [`script`]: the one POSIX shell script that runs on the server, and
//!   its answers;
//! - [`authorized_keys`], [`sshd_config`]: every decision about the
//!   server's files, made here on text kps read, and tested here;
//! - [`operation`]: the steps of bind, unbind and replace on one server,
//!   and their rollback.

pub mod askpass;
pub mod authorized_keys;
pub mod operation;
pub mod script;
pub mod ssh;
pub mod sshd_config;
pub mod target;

/// What went wrong on a server, for the error code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// ssh could not connect or log in, or the connection was lost.
    Connect,
    /// The host key is not in known_hosts (and no --host-key).
    HostKeyUnknown,
    /// The host key differs from known_hosts or from --host-key.
    HostKeyChanged,
    /// The server cannot take the key, or kps cannot do this there.
    Unsupported,
    /// A proof failed; the change was rolled back.
    ProofFailed,
    /// The change could not be rolled back: the message says what is left.
    RollbackFailed,
    /// The new sshd config does not validate; nothing was reloaded.
    InvalidConfig,
    /// Unbind would leave no way in.
    NoWayIn,
    /// Stopped by the user (Ctrl-C) between steps; what was done is undone.
    Interrupted,
}
