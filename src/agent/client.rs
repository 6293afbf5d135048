//! The client side of the protocol: hand keys to a running agent (OpenSSH's
//! `ssh-agent` or any other, at `SSH_AUTH_SOCK`) and take them back, for
//! `kps ssh-add`. Every reply is read through [`proto`]'s decoders, capped
//! at its message limit like anything else that comes from outside.

use super::proto::{self, Constraint, Identity, Response};
use crate::{Error, Result};
use ssh_key::PrivateKey;
use ssh_key::public::KeyData;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// An agent that waits longer than this for its user (a `-c` confirmation
/// is asked at signing time, not here) is taken as hung.
const REPLY_TIMEOUT: Duration = Duration::from_secs(30);

/// A connection to an agent.
#[derive(Debug)]
pub struct AgentClient {
    stream: UnixStream,
    path: PathBuf,
}

impl AgentClient {
    /// The agent `SSH_AUTH_SOCK` names.
    pub fn from_env() -> Result<AgentClient> {
        match std::env::var_os("SSH_AUTH_SOCK") {
            Some(path) if !path.is_empty() => AgentClient::connect(Path::new(&path)),
            _ => Err(Error::NoAgent),
        }
    }

    pub fn connect(path: &Path) -> Result<AgentClient> {
        let stream = UnixStream::connect(path).map_err(|e| unreachable(path, e.to_string()))?;
        let _ = stream.set_read_timeout(Some(REPLY_TIMEOUT));
        let _ = stream.set_write_timeout(Some(REPLY_TIMEOUT));
        Ok(AgentClient {
            stream,
            path: path.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Add `key` under `comment` (the keypair name) with `constraints`.
    /// The message holding the private key is zeroized once sent.
    pub fn add(
        &mut self,
        key: &PrivateKey,
        comment: &str,
        constraints: &[Constraint],
    ) -> Result<()> {
        let message = proto::add_identity(key, comment, constraints)
            .map_err(|e| Error::bad_key(format!("keypair '{comment}': {e}")))?;
        self.expect_success(&message, "add", comment)
    }

    /// Remove the key with this public key; `name` is for the error.
    pub fn remove(&mut self, key: &KeyData, name: &str) -> Result<()> {
        let message = proto::remove_identity(key)
            .map_err(|e| Error::bad_key(format!("keypair '{name}': {e}")))?;
        self.expect_success(&message, "remove", name)
    }

    /// The keys the agent holds.
    pub fn identities(&mut self) -> Result<Vec<Identity>> {
        match self.call(&proto::request_identities())? {
            Response::Identities(ids) => Ok(ids),
            _ => Err(unreachable(
                &self.path,
                "it did not answer the request for its keys".into(),
            )),
        }
    }

    fn expect_success(&mut self, message: &[u8], action: &'static str, name: &str) -> Result<()> {
        match self.call(message)? {
            Response::Success => Ok(()),
            Response::Failure => Err(Error::AgentRefused {
                path: self.path.clone(),
                action,
                name: name.to_string(),
            }),
            _ => Err(unreachable(
                &self.path,
                format!("it answered the request to {action} a key with another message"),
            )),
        }
    }

    fn call(&mut self, message: &[u8]) -> Result<Response> {
        proto::write_message(&mut self.stream, message)
            .map_err(|e| unreachable(&self.path, e.to_string()))?;
        let reply = proto::read_message(&mut self.stream)
            .map_err(|e| unreachable(&self.path, e.to_string()))?
            .ok_or_else(|| unreachable(&self.path, "it closed the connection".into()))?;
        proto::decode_response(&reply).map_err(|e| unreachable(&self.path, e.to_string()))
    }
}

fn unreachable(path: &Path, why: String) -> Error {
    Error::AgentUnreachable {
        path: path.to_path_buf(),
        why,
    }
}
