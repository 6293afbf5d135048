//! `kps agent --confirm`: asking whoever runs the agent before each
//! signature, at its terminal or through `SSH_ASKPASS`, as ssh-agent does.

use super::*;

/// How long an approval waits for its answer: nobody answering is a no.
/// (ssh-agent waits for ever; but approvals are asked one at a time, so an
/// unanswered one would hold up every other signature, and the client's
/// login would hang with it.)
pub(super) const APPROVAL_TIMEOUT: Duration = Duration::from_secs(60);

/// Where `--confirm` asks.
#[derive(Debug)]
pub(super) enum Asker {
    /// The terminal `kps agent -D` runs at (`/dev/tty`).
    Terminal,
    /// `$SSH_ASKPASS` (or ssh's default askpass), as ssh-agent runs it.
    Askpass(PathBuf),
}

impl Asker {
    pub(super) fn describe(&self) -> String {
        match self {
            Asker::Terminal => "each signature is asked for at this terminal".into(),
            Asker::Askpass(program) => format!(
                "each signature is asked for through {}",
                escape(&program.to_string_lossy())
            ),
        }
    }
}

/// ssh's askpass when `SSH_ASKPASS` is not set (Debian's and Fedora's
/// path; OpenSSH's own default is under /usr/X11R6).
pub(super) const DEFAULT_ASKPASS: &str = "/usr/bin/ssh-askpass";

/// Choose as OpenSSH's `read_passphrase` does for ssh-agent's confirm
/// prompts: askpass is allowed with a display (`DISPLAY` or
/// `WAYLAND_DISPLAY`); `SSH_ASKPASS_REQUIRE=force` uses it regardless,
/// `prefer` uses it over the terminal when allowed, `never` forbids it.
/// The terminal is there for an agent in the foreground only.
pub(super) fn choose_asker(foreground: bool) -> anyhow::Result<Asker> {
    let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
    let display = set("DISPLAY") || set("WAYLAND_DISPLAY");
    let require = std::env::var("SSH_ASKPASS_REQUIRE")
        .unwrap_or_default()
        .to_ascii_lowercase();
    let (prefer_askpass, allow_askpass) = match require.as_str() {
        "force" => (true, true),
        "prefer" => (display, display),
        "never" => (false, false),
        _ => (false, display),
    };
    let terminal = foreground
        && std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/tty")
            .is_ok();
    if terminal && !prefer_askpass {
        return Ok(Asker::Terminal);
    }
    if allow_askpass {
        return askpass_program().map(Asker::Askpass);
    }
    let no_terminal = if foreground {
        "it has no terminal"
    } else {
        "in the background it has no terminal (-D at a terminal asks there)"
    };
    let no_askpass = if require == "never" {
        "SSH_ASKPASS_REQUIRE=never"
    } else {
        "neither DISPLAY nor WAYLAND_DISPLAY is set for SSH_ASKPASS"
    };
    Err(kps::Error::AgentConfirmUnavailable(format!("{no_terminal}, and {no_askpass}")).into())
}

/// `$SSH_ASKPASS` or the default, which must be there and executable now
/// rather than fail at the first signature.
pub(super) fn askpass_program() -> anyhow::Result<PathBuf> {
    let program = std::env::var_os("SSH_ASKPASS")
        .filter(|v| !v.is_empty())
        .map_or_else(|| PathBuf::from(DEFAULT_ASKPASS), PathBuf::from);
    let executable = |p: &Path| {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    let found = if program.components().count() > 1 || program.is_absolute() {
        executable(&program)
            .then(|| std::path::absolute(&program).ok())
            .flatten()
    } else {
        std::env::var_os("PATH").and_then(|path| {
            std::env::split_paths(&path)
                .map(|dir| dir.join(&program))
                .find(|p| p.is_absolute() && executable(p))
        })
    };
    found.ok_or_else(|| {
        kps::Error::AgentConfirmUnavailable(format!(
            "the askpass program {} is not there or not executable",
            escape(&program.to_string_lossy())
        ))
        .into()
    })
}

pub(super) fn new_agent(keys: Vec<HeldKey>, options: Options, asker: Option<Asker>) -> Arc<Agent> {
    match asker {
        None => Agent::new(keys, options),
        Some(Asker::Terminal) => Agent::confirming(keys, options, Box::new(TerminalAsk)),
        Some(Asker::Askpass(program)) => {
            Agent::confirming(keys, options, Box::new(AskpassAsk { program }))
        }
    }
}

/// Asks at `/dev/tty`: y or yes approves; anything else, or no answer
/// within [`APPROVAL_TIMEOUT`], refuses.
pub(super) struct TerminalAsk;

impl Approve for TerminalAsk {
    fn approve(&self, question: &Question) -> bool {
        use std::os::unix::fs::OpenOptionsExt;
        let Ok(mut tty) = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32)
            .open("/dev/tty")
        else {
            return false;
        };
        // What was typed before the question is no answer to it.
        let _ = rustix::termios::tcflush(&tty, rustix::termios::QueueSelector::IFlush);
        let mut text = String::from("\n");
        for line in question.lines() {
            text.push_str("kps agent: ");
            text.push_str(&line);
            text.push('\n');
        }
        text.push_str("kps agent: sign? [y/N] ");
        if tty
            .write_all(text.as_bytes())
            .and_then(|()| tty.flush())
            .is_err()
        {
            return false;
        }
        let deadline = std::time::Instant::now() + APPROVAL_TIMEOUT;
        let mut answer = Vec::new();
        let mut buf = [0u8; 64];
        while !answer.contains(&b'\n') {
            match tty.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => answer.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    if std::time::Instant::now() > deadline {
                        let _ = tty.write_all(b"\nkps agent: no answer in time: refused\n");
                        return false;
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => return false,
            }
            if answer.len() > 256 {
                break;
            }
        }
        let line = String::from_utf8_lossy(&answer);
        let yes = matches!(line.trim().to_ascii_lowercase().as_str(), "y" | "yes");
        let verdict: &[u8] = if yes {
            b"kps agent: signed\n"
        } else {
            b"kps agent: refused\n"
        };
        let _ = tty.write_all(verdict);
        yes
    }
}

/// Runs `$SSH_ASKPASS "QUESTION"` with `SSH_ASKPASS_PROMPT=confirm`, as
/// ssh-agent does (OpenSSH's `ask_permission`): approved when it exits 0
/// and prints nothing or "yes" (before the first line end, any case).
/// Killed, and refused, after [`APPROVAL_TIMEOUT`].
pub(super) struct AskpassAsk {
    program: PathBuf,
}

impl Approve for AskpassAsk {
    fn approve(&self, question: &Question) -> bool {
        let child = Command::new(&self.program)
            .arg(question.lines().join("\n"))
            .env("SSH_ASKPASS_PROMPT", "confirm")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn();
        let Ok(mut child) = child else {
            return false;
        };
        let deadline = std::time::Instant::now() + APPROVAL_TIMEOUT;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return false;
                }
            }
        };
        let mut out = Vec::new();
        if let Some(stdout) = child.stdout.take() {
            let _ = stdout.take(4096).read_to_end(&mut out);
        }
        let first = out
            .split(|&b| b == b'\r' || b == b'\n')
            .next()
            .unwrap_or(&[]);
        status.success() && (first.is_empty() || first.eq_ignore_ascii_case(b"yes"))
    }
}
