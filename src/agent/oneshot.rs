//! `kps ssh`: a private agent that serves one key for the time of one `ssh`
//! run, in this process, on a socket in a fresh 0700 directory; and the
//! `ssh` command that uses it and nothing else.

use super::server::{Agent, HeldKey, Options};
use super::socket::Socket;
use crate::{Error, Result};
use std::ffi::{OsStr, OsString};
use std::path::Path;
use std::process::{Command, ExitStatus};
use std::sync::Arc;

/// Variables that may hold or point at a kps secret: never passed to ssh
/// (nor to what ssh runs, a ProxyCommand or LocalCommand).
pub const SECRET_VARIABLES: &[&str] = &[
    "KPS_PASSPHRASE",
    "KPS_PASSPHRASE_FILE",
    "KPS_PKCS11_PIN",
    "KPS_PKCS11_PIN_FILE",
];

/// The running agent; dropping it forgets the key and removes the socket
/// and its directory.
pub struct OneShot {
    agent: Arc<Agent>,
    socket: Arc<Socket>,
}

impl OneShot {
    /// Listen on a fresh socket and serve `key` on a thread of its own.
    pub fn start(key: HeldKey) -> Result<OneShot> {
        let socket = Arc::new(Socket::bind(None)?);
        // ssh reads IdentityAgent as a config value: it splits it at blanks
        // and expands `~`, `%` and `${...}` in it. The path is kps's own
        // choice under $XDG_RUNTIME_DIR or the temp dir; one that ssh would
        // read differently is refused rather than quoted for it.
        if !ssh_safe(socket.path()) {
            return Err(Error::AgentSocket {
                path: socket.path().to_path_buf(),
                source: std::io::Error::other(
                    "ssh would not read this path as it is (a blank, %, $ or ~ in it): set XDG_RUNTIME_DIR or TMPDIR to a plain directory",
                ),
            });
        }
        let agent = Agent::new(vec![key], Options::default());
        {
            let (agent, listening) = (Arc::clone(&agent), Arc::clone(&socket));
            std::thread::Builder::new()
                .name("kps-ssh-agent".into())
                .spawn(move || {
                    // It ends with the process; an accept error only
                    // means ssh sees no agent and says so.
                    let _ = agent.serve(&listening.listener);
                })
                .map_err(|source| Error::AgentSocket {
                    path: socket.path().to_path_buf(),
                    source,
                })?;
        }
        Ok(OneShot { agent, socket })
    }

    pub fn socket(&self) -> &Path {
        self.socket.path()
    }

    /// Forget the key and remove the socket and its directory (once; also
    /// done on drop).
    pub fn stop(&self) {
        self.agent.forget_keys();
        self.socket.remove();
    }

    /// [`OneShot::stop`] for a signal handler to run.
    pub fn stopper(&self) -> impl FnOnce() + Send + 'static {
        let (agent, socket) = (Arc::clone(&self.agent), Arc::clone(&self.socket));
        move || {
            agent.forget_keys();
            socket.remove();
        }
    }
}

/// Where [`OneShot::start`] would put its socket, the random part and the
/// process id as X's and PID (`kps ssh --print-command`).
pub fn socket_pattern() -> std::path::PathBuf {
    super::socket::runtime_dir()
        .join("kps-agent.XXXXXXXXXXXX")
        .join("agent.PID")
}

impl Drop for OneShot {
    fn drop(&mut self) {
        self.stop();
    }
}

fn ssh_safe(path: &Path) -> bool {
    path.to_str().is_some_and(|p| {
        p.starts_with('/')
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || "/._-+:@,=".contains(c))
    })
}

/// The arguments kps puts before the user's: the agent at `socket` and no
/// key file, so ssh offers exactly the one key the agent serves. Not
/// `IdentitiesOnly=yes`: with `IdentityFile=none` that makes ssh offer no
/// key at all (OpenSSH 9.2).
pub fn ssh_arguments(socket: &Path, user_args: &[OsString]) -> Vec<OsString> {
    let mut agent = OsString::from("IdentityAgent=");
    agent.push(socket);
    let mut args: Vec<OsString> = vec!["-o".into(), agent, "-o".into(), "IdentityFile=none".into()];
    args.extend(user_args.iter().cloned());
    args
}

/// `program` with [`ssh_arguments`], the secret variables removed from its
/// environment.
pub fn ssh_command(program: &OsStr, socket: &Path, user_args: &[OsString]) -> Command {
    let mut cmd = Command::new(program);
    cmd.args(ssh_arguments(socket, user_args));
    for var in SECRET_VARIABLES {
        cmd.env_remove(var);
    }
    cmd
}

/// The exit status to pass on: ssh's own, or 128 + the signal that ended
/// it, as a shell reports it.
pub fn exit_code(status: ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => code,
        (None, Some(signal)) => 128 + signal,
        (None, None) => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_paths_ssh_reads_as_they_are() {
        assert!(ssh_safe(Path::new("/run/user/1000/kps-agent.Ab12/agent.7")));
        for bad in ["/tmp/a b/s", "/tmp/%d/s", "/tmp/${HOME}/s", "~/s", "rel/s"] {
            assert!(!ssh_safe(Path::new(bad)), "{bad}");
        }
    }

    #[test]
    fn the_agent_and_no_key_file_come_first() {
        let args = ssh_arguments(
            Path::new("/run/a/s"),
            &["-p".into(), "22".into(), "h".into()],
        );
        assert_eq!(
            args,
            [
                "-o",
                "IdentityAgent=/run/a/s",
                "-o",
                "IdentityFile=none",
                "-p",
                "22",
                "h"
            ]
            .map(OsString::from)
        );
    }
}
