//! A login password for ssh without argv, environment or file: kps runs
//! ssh with `SSH_ASKPASS` set to kps itself and `SSH_ASKPASS_REQUIRE=force`;
//! ssh starts that helper with its prompt as the one argument; the helper
//! (the `kps` binary, seeing [`SOCKET_VARIABLE`]) asks this server over a
//! socket in a fresh 0700 directory, which answers only a password prompt,
//! only to this user's processes and only as many times as it was told.
//! The variable holds the socket's path, never the password.

use crate::Result;
use crate::agent::socket::Socket;
use crate::secret::Passphrase;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Set on ssh's environment: where the helper asks.
pub const SOCKET_VARIABLE: &str = "KPS_ASKPASS_SOCKET";

/// The longest prompt read from a helper.
const MAX_PROMPT: u64 = 4096;

pub struct AskpassServer {
    socket: Arc<Socket>,
    answered: Arc<AtomicUsize>,
}

impl AskpassServer {
    /// Serve `password` to at most `answers` password prompts, and only to
    /// prompts for `expect` (`user@host`, as ssh words its prompt): a jump
    /// host on the way, or any other server, gets nothing.
    pub fn start(
        password: Arc<Passphrase>,
        expect: String,
        answers: usize,
    ) -> Result<AskpassServer> {
        let socket = Arc::new(Socket::bind(None)?);
        let answered = Arc::new(AtomicUsize::new(0));
        let (listening, count) = (Arc::clone(&socket), Arc::clone(&answered));
        let me = rustix::process::geteuid();
        std::thread::Builder::new()
            .name("kps-askpass".into())
            .spawn(move || {
                for stream in listening.listener.incoming() {
                    let Ok(mut stream) = stream else { continue };
                    let allowed = rustix::net::sockopt::socket_peercred(&stream)
                        .is_ok_and(|cred| cred.uid == me);
                    let mut prompt = Vec::new();
                    if !allowed
                        || (&mut stream)
                            .take(MAX_PROMPT)
                            .read_to_end(&mut prompt)
                            .is_err()
                    {
                        continue;
                    }
                    let prompt = String::from_utf8_lossy(&prompt);
                    if is_password_prompt(&prompt)
                        && prompt.contains(&expect)
                        && count.fetch_add(1, Ordering::SeqCst) < answers
                    {
                        let _ = stream.write_all(password.as_bytes());
                    }
                    // Anything else gets no answer: the helper fails, and
                    // ssh gives up on that question.
                }
            })
            .map_err(|source| crate::Error::AgentSocket {
                path: socket.path().to_path_buf(),
                source,
            })?;
        Ok(AskpassServer { socket, answered })
    }

    pub fn socket(&self) -> &Path {
        self.socket.path()
    }

    /// How many password prompts came, answered or not: more than allowed
    /// means the server turned the password down.
    pub fn asked(&self) -> usize {
        self.answered.load(Ordering::SeqCst)
    }
}

impl Drop for AskpassServer {
    fn drop(&mut self) {
        self.socket.remove();
    }
}

/// ssh's password prompt (`user@host's password: `) or PAM's through
/// keyboard-interactive (`(user@host) Password: `); not a host key
/// question, a key passphrase, a new password or a one-time code.
pub fn is_password_prompt(prompt: &str) -> bool {
    let p = prompt.trim().to_ascii_lowercase();
    p.ends_with("password:")
        && ![
            "passphrase",
            "yes/no",
            "fingerprint",
            "new password",
            "retype",
            "verification",
            "code",
        ]
        .iter()
        .any(|w| p.contains(w))
}

/// The helper's side: send `prompt` to the server at `socket`, and give
/// back its answer (empty when it gave none).
pub fn ask(socket: &Path, prompt: &str) -> std::io::Result<Passphrase> {
    let mut stream = UnixStream::connect(socket)?;
    stream.write_all(prompt.as_bytes())?;
    stream.shutdown(std::net::Shutdown::Write)?;
    let mut answer = Vec::new();
    stream.take(MAX_PROMPT).read_to_end(&mut answer)?;
    Ok(Passphrase::new(answer))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_password_prompts_get_the_password() {
        for yes in [
            "root@10.0.0.1's password: ",
            "(root@h) Password: ",
            "Password:",
        ] {
            assert!(is_password_prompt(yes), "{yes}");
        }
        for no in [
            "Are you sure you want to continue connecting (yes/no/[fingerprint])? ",
            "Enter passphrase for key '/root/.ssh/id_ed25519': ",
            "New password: ",
            "Retype new password: ",
            "Verification code: ",
            "Allow use of key? ",
        ] {
            assert!(!is_password_prompt(no), "{no}");
        }
    }

    #[test]
    fn the_password_is_given_as_many_times_as_allowed_and_no_more() {
        let server = AskpassServer::start(
            Arc::new(Passphrase::new(b"s3cret".to_vec())),
            "root@h".into(),
            1,
        )
        .unwrap();
        let host_key = ask(server.socket(), "Are you sure (yes/no)? ").unwrap();
        assert!(host_key.is_empty());
        // Another host's prompt (a jump host on the way) gets nothing.
        assert!(
            ask(server.socket(), "root@jump's password: ")
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            ask(server.socket(), "root@h's password: ")
                .unwrap()
                .as_bytes(),
            b"s3cret"
        );
        assert!(
            ask(server.socket(), "root@h's password: ")
                .unwrap()
                .is_empty()
        );
        assert_eq!(server.asked(), 2);
    }
}
