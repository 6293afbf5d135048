//! kps as ssh's askpass helper, for `kps bind --password-file` and
//! `--ask-password`: ssh runs `kps PROMPT` with [`SOCKET_VARIABLE`] set by
//! the kps that started it; this asks that kps over its socket and prints
//! the answer for ssh. The password never passes through argv or the
//! environment, only this pipe to ssh.

use kps::remote::askpass::{self, SOCKET_VARIABLE};
use std::io::Write;

/// If this run is ssh asking (the socket variable set, ssh's askpass mode
/// on, one argument that is a prompt, not a subcommand), answer and exit.
pub fn serve() {
    let Some(socket) = std::env::var_os(SOCKET_VARIABLE) else {
        return;
    };
    let args: Vec<_> = std::env::args_os().skip(1).collect();
    let [prompt] = args.as_slice() else { return };
    let prompt = prompt.to_string_lossy();
    if std::env::var_os("SSH_ASKPASS_REQUIRE").is_none() || !prompt.contains([' ', ':', '?']) {
        return;
    }
    // ssh asks "confirm" questions (a key use, a host key) the same way:
    // never answered with a password.
    let confirm = std::env::var("SSH_ASKPASS_PROMPT").is_ok_and(|p| p == "confirm");
    let code = match askpass::ask(std::path::Path::new(&socket), &prompt) {
        Ok(answer) if !confirm && !answer.is_empty() => {
            let mut out = std::io::stdout().lock();
            let written = out
                .write_all(answer.as_bytes())
                .and_then(|()| out.write_all(b"\n"))
                .and_then(|()| out.flush());
            i32::from(written.is_err())
        }
        _ => 1,
    };
    std::process::exit(code);
}
