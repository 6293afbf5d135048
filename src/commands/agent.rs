//! `kps agent`: serve keypairs to ssh over the SSH agent protocol.
//!
//! Without -D the agent goes to the background as ssh-agent does, but not by
//! fork(): a Rust process may not fork once it could have threads (the
//! prompt's signal thread, a PKCS#11 module's), and kps forbids unsafe code.
//! Instead this process gathers the passphrase and PIN (prompting at the
//! terminal if need be), starts `kps agent --background-child` with them on
//! an inherited pipe (never argv, environment or disk), reads the child's
//! start line, prints the shell lines and exits. The child unlocks the store
//! itself, so the private keys only ever exist in the agent's memory.

use super::Context;
use crate::cli::AgentArgs;
use crate::report::CliError;
use kps::agent::server::{self, Agent, Approve, HeldKey, Options, Question};
use kps::agent::socket::Socket;
use kps::keypair::{Encryption, Keypair};
use kps::secret::Passphrase;
use kps::store::{Openers, Store};
use kps::text::escape;
use serde_json::json;
use std::io::{BufRead, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;
use zeroize::Zeroizing;

pub fn run(ctx: &Context, args: AgentArgs) -> anyhow::Result<()> {
    let lifetime = args
        .lifetime
        .as_deref()
        .map(kps::agent::parse_lifetime)
        .transpose()?;
    let socket = args.socket.as_deref().map(socket_path).transpose()?;
    let options = Options {
        allow_sha1: args.allow_sha1,
    };
    // Settled before anything is asked for: an agent that cannot ask
    // must not start as if it would.
    let asker = match args.confirm {
        true => Some(choose_asker(args.foreground && !args.background_child)?),
        false => None,
    };
    let store = ctx.open_store()?;
    let keypairs = chosen(&store, &args.names)?;
    if args.background_child {
        return background_child(ctx, &store, &keypairs, socket, lifetime, options, asker);
    }
    let secrets = gather(ctx, &store, &keypairs)?;
    if !args.foreground {
        return start_background(ctx, &args, &keypairs, socket, secrets);
    }
    let keys = load(ctx, &store, &keypairs, secrets)?;
    let socket = Socket::bind(socket.as_deref())?;
    if let (Some(asker), false) = (&asker, ctx.quiet || ctx.json) {
        eprintln!("kps agent: {}", asker.describe());
    }
    let agent = new_agent(keys, options, asker);
    announce(
        ctx,
        &args,
        socket.path(),
        std::process::id(),
        &agent.names(),
    )?;
    serve(agent, socket, lifetime)
}

/// How long an approval waits for its answer: nobody answering is a no.
/// (ssh-agent waits for ever; but approvals are asked one at a time, so an
/// unanswered one would hold up every other signature, and the client's
/// login would hang with it.)
const APPROVAL_TIMEOUT: Duration = Duration::from_secs(60);

/// Where `--confirm` asks.
#[derive(Debug)]
enum Asker {
    /// The terminal `kps agent -D` runs at (`/dev/tty`).
    Terminal,
    /// `$SSH_ASKPASS` (or ssh's default askpass), as ssh-agent runs it.
    Askpass(PathBuf),
}

impl Asker {
    fn describe(&self) -> String {
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
const DEFAULT_ASKPASS: &str = "/usr/bin/ssh-askpass";

/// Choose as OpenSSH's `read_passphrase` does for ssh-agent's confirm
/// prompts: askpass is allowed with a display (`DISPLAY` or
/// `WAYLAND_DISPLAY`); `SSH_ASKPASS_REQUIRE=force` uses it regardless,
/// `prefer` uses it over the terminal when allowed, `never` forbids it.
/// The terminal is there for an agent in the foreground only.
fn choose_asker(foreground: bool) -> anyhow::Result<Asker> {
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
fn askpass_program() -> anyhow::Result<PathBuf> {
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

fn new_agent(keys: Vec<HeldKey>, options: Options, asker: Option<Asker>) -> Arc<Agent> {
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
struct TerminalAsk;

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
struct AskpassAsk {
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

/// The socket path as given: printed for a shell to evaluate, so no
/// control character; absolute, since the background agent runs in `/`;
/// and not there yet.
fn socket_path(path: &Path) -> anyhow::Result<PathBuf> {
    let refuse =
        |why: &str| CliError::usage(format!("-a: {why}"), "give another path for the socket");
    let Some(text) = path.to_str() else {
        return Err(refuse("the socket path is not UTF-8").into());
    };
    if kps::text::forbidden_char(text).is_some() {
        return Err(refuse("the socket path holds a control character").into());
    }
    let path = std::path::absolute(path)?;
    if path.symlink_metadata().is_ok() {
        return Err(kps::Error::AgentSocket {
            path,
            source: std::io::Error::from(std::io::ErrorKind::AlreadyExists),
        }
        .into());
    }
    Ok(path)
}

/// The keypairs to serve: those named (each must exist and hold a private
/// key of a kind the agent signs with), else every such keypair.
fn chosen(store: &Store, names: &[String]) -> anyhow::Result<Vec<Keypair>> {
    let mut keypairs: Vec<Keypair> = Vec::new();
    if names.is_empty() {
        store.each(|k| -> kps::Result<()> {
            if k.has_private_key && server::servable_algorithm(&k.algorithm) {
                keypairs.push(k);
            }
            Ok(())
        })?;
        if keypairs.is_empty() {
            return Err(kps::Error::invalid_with_hint(
                "the store has no keypair with an Ed25519, ECDSA or RSA private key to serve",
                "'kps create NAME' makes one",
            )
            .into());
        }
        return Ok(keypairs);
    }
    for name in names {
        if keypairs.iter().any(|k| &k.name == name) {
            continue;
        }
        let keypair = store.get(name)?;
        if !keypair.has_private_key {
            return Err(kps::Error::NoPrivateKey(keypair.name).into());
        }
        if !server::servable_algorithm(&keypair.algorithm) {
            return Err(server::unservable(&keypair.name, &keypair.algorithm).into());
        }
        keypairs.push(keypair);
    }
    Ok(keypairs)
}

/// What unlocks the chosen keypairs: the store passphrase if one of them is
/// sealed to the store, the token PIN if one is under the KMS.
struct Secrets {
    passphrase: Option<Passphrase>,
    pin: Option<Passphrase>,
}

fn gather(ctx: &Context, store: &Store, keypairs: &[Keypair]) -> anyhow::Result<Secrets> {
    let needs = |kms: bool| {
        keypairs
            .iter()
            .any(|k| matches!(k.encryption, Encryption::Kms { .. }) == kms)
    };
    let pin = if needs(true) {
        // The module is checked before its PIN is asked for.
        let config = ctx.kms_config()?.ok_or(kps::Error::KmsNotConfigured)?;
        kps::kms::trusted_module(&config.module)?;
        Some(crate::passphrase::pin(ctx.pin_file.as_deref(), &config.token)?.0)
    } else {
        None
    };
    let passphrase = if needs(false) {
        // Checked here, so that one mistyped at the prompt is asked again
        // (three tries) before the agent starts; the agent then unlocks
        // with it once more, which costs one more key derivation at start.
        Some(
            ctx.passphrases
                .open_with(|p| store.unlock(p).map(|_| p.clone()))?,
        )
    } else {
        None
    };
    Ok(Secrets { passphrase, pin })
}

/// Open every chosen private key, the store and the token unlocked once;
/// what unlocked them is dropped (zeroized) on return.
fn load(
    ctx: &Context,
    store: &Store,
    keypairs: &[Keypair],
    secrets: Secrets,
) -> anyhow::Result<Vec<HeldKey>> {
    let identity = secrets
        .passphrase
        .as_ref()
        .map(|p| store.unlock(p))
        .transpose()?;
    let kms = match &secrets.pin {
        Some(pin) => {
            let config = ctx.kms_config()?.ok_or(kps::Error::KmsNotConfigured)?;
            kps::kms::trusted_module(&config.module)?;
            Some(kps::kms::Kms::open(&config, pin)?)
        }
        None => None,
    };
    let openers = Openers {
        identity: identity.as_ref(),
        kms: kms.as_ref(),
    };
    let mut keys = Vec::with_capacity(keypairs.len());
    for k in keypairs {
        let key = store.private_key(&k.name, openers)?;
        keys.push(HeldKey::new(k.name.clone(), key)?);
    }
    Ok(keys)
}

/// Serve until stopped: SIGTERM, SIGINT or SIGHUP forget the keys, remove
/// the socket and exit 0.
fn serve(agent: Arc<Agent>, socket: Socket, lifetime: Option<Duration>) -> anyhow::Result<()> {
    let socket = Arc::new(socket);
    {
        let (agent, socket) = (Arc::clone(&agent), Arc::clone(&socket));
        crate::interrupt::on_stop(move || {
            agent.forget_keys();
            socket.remove();
        });
    }
    if let Some(lifetime) = lifetime {
        server::expire_after(&agent, lifetime);
    }
    let failed = agent.serve(&socket.listener);
    agent.forget_keys();
    socket.remove();
    let source = match failed {
        Err(e) => e,
        Ok(()) => std::io::Error::other("the listener stopped"),
    };
    Err(kps::Error::AgentSocket {
        path: socket.path().to_path_buf(),
        source,
    }
    .into())
}

/// What the agent prints once it listens: the JSON start line, or the
/// shell lines ssh-agent prints, for `eval`.
fn announce(
    ctx: &Context,
    args: &AgentArgs,
    socket: &Path,
    pid: u32,
    names: &[String],
) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    if ctx.json {
        let doc = json!({ "socket": socket, "pid": pid, "keys": names });
        writeln!(out, "{}", crate::output::json_line(&doc))?;
        out.flush()?;
        return Ok(());
    }
    let csh = args.csh
        || (!args.sh
            && std::env::var_os("SHELL").is_some_and(|s| s.to_string_lossy().ends_with("csh")));
    // The path holds no control character ([`socket_path`]).
    let sock = kps::text::shell_word(&socket.to_string_lossy());
    let text = if csh {
        format!(
            "setenv SSH_AUTH_SOCK {sock};\nsetenv SSH_AGENT_PID {pid};\necho Agent pid {pid};\n"
        )
    } else {
        format!(
            "SSH_AUTH_SOCK={sock}; export SSH_AUTH_SOCK;\nSSH_AGENT_PID={pid}; export SSH_AGENT_PID;\necho Agent pid {pid};\n"
        )
    };
    out.write_all(text.as_bytes())?;
    out.flush()?;
    if !ctx.quiet {
        let names: Vec<_> = names.iter().map(|n| escape(n).into_owned()).collect();
        eprintln!("kps agent: serving {}", names.join(", "));
    }
    Ok(())
}

/// The start line the background agent sends to the `kps agent` that
/// started it.
#[derive(serde::Deserialize)]
struct StartLine {
    socket: PathBuf,
    pid: u32,
    keys: Vec<String>,
}

/// Start the agent in the background and report where it listens; if it
/// fails to start, its error is this command's.
fn start_background(
    ctx: &Context,
    args: &AgentArgs,
    keypairs: &[Keypair],
    socket: Option<PathBuf>,
    secrets: Secrets,
) -> anyhow::Result<()> {
    let mut cmd = Command::new(std::env::current_exe()?);
    cmd.arg("--store").arg(std::path::absolute(&ctx.store_dir)?);
    if ctx.json {
        cmd.arg("--json");
    }
    cmd.args(["agent", "--background-child"]);
    if let Some(socket) = &socket {
        cmd.arg("-a").arg(socket);
    }
    if let Some(lifetime) = &args.lifetime {
        cmd.args(["--lifetime", lifetime]);
    }
    if args.allow_sha1 {
        cmd.arg("--allow-sha1");
    }
    if args.confirm {
        cmd.arg("--confirm");
    }
    cmd.arg("--").args(keypairs.iter().map(|k| &k.name));
    // The secrets go through the pipe: none stays in the long-lived
    // agent's environment, where /proc/PID/environ would show it.
    for var in [
        crate::passphrase::ENV_PASSPHRASE,
        "KPS_PASSPHRASE_FILE",
        "KPS_PKCS11_PIN",
        "KPS_PKCS11_PIN_FILE",
        "KPS_STORE",
    ] {
        cmd.env_remove(var);
    }
    let mut child = cmd
        .current_dir("/")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    if let Some(mut pipe) = child.stdin.take() {
        // A child that died at once closed its end: its error is read below.
        let _ = pipe.write_all(&encode_secrets(&secrets));
    }
    drop(secrets);
    let mut line = String::new();
    if let Some(stdout) = child.stdout.take() {
        let _ = std::io::BufReader::new(stdout).read_line(&mut line);
    }
    if let Ok(start) = serde_json::from_str::<StartLine>(&line) {
        return announce(ctx, args, &start.socket, start.pid, &start.keys);
    }
    // It failed, and said why on its stderr, in this command's format
    // (text or --json): pass that on with its exit status.
    let mut message = Vec::new();
    if let Some(mut stderr) = child.stderr.take() {
        let _ = stderr.read_to_end(&mut message);
    }
    let status = child.wait()?;
    let _ = std::io::stderr().write_all(&message);
    // The error was reported by the child already, in full; main's
    // reporting would print a second, vaguer one.
    std::process::exit(status.code().unwrap_or(1));
}

/// The background agent: takes its secrets from the pipe, unlocks, listens,
/// sends the start line, then lets go of the parent's pipes and serves.
fn background_child(
    ctx: &Context,
    store: &Store,
    keypairs: &[Keypair],
    socket: Option<PathBuf>,
    lifetime: Option<Duration>,
    options: Options,
    asker: Option<Asker>,
) -> anyhow::Result<()> {
    // A session of its own: the terminal's hangup and Ctrl-C are no
    // longer its business.
    let _ = rustix::process::setsid();
    let secrets = read_secrets(&mut std::io::stdin().lock())?;
    let keys = load(ctx, store, keypairs, secrets)?;
    let socket = Socket::bind(socket.as_deref())?;
    let agent = new_agent(keys, options, asker);
    let null = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")?;
    rustix::stdio::dup2_stderr(&null)?;
    let doc = json!({ "socket": socket.path(), "pid": std::process::id(), "keys": agent.names() });
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{}", crate::output::json_line(&doc))?;
        out.flush()?;
    }
    rustix::stdio::dup2_stdout(&null)?;
    rustix::stdio::dup2_stdin(&null)?;
    serve(agent, socket, lifetime)
}

/// The secrets on the pipe to the background agent: for the passphrase,
/// then the PIN, a byte 1 and a uint32-prefixed value, or a byte 0.
fn encode_secrets(secrets: &Secrets) -> Zeroizing<Vec<u8>> {
    let len = |s: &Option<Passphrase>| s.as_ref().map_or(1, |p| 5 + p.as_bytes().len());
    let mut out = Zeroizing::new(Vec::with_capacity(
        len(&secrets.passphrase) + len(&secrets.pin),
    ));
    for secret in [&secrets.passphrase, &secrets.pin] {
        match secret {
            Some(p) => {
                out.push(1);
                out.extend_from_slice(&(p.as_bytes().len() as u32).to_be_bytes());
                out.extend_from_slice(p.as_bytes());
            }
            None => out.push(0),
        }
    }
    out
}

fn read_secrets(input: &mut impl Read) -> anyhow::Result<Secrets> {
    const MAX: usize = 64 * 1024;
    let mut read_one = || -> anyhow::Result<Option<Passphrase>> {
        let mut present = [0u8; 1];
        input.read_exact(&mut present)?;
        if present[0] == 0 {
            return Ok(None);
        }
        let mut len = [0u8; 4];
        input.read_exact(&mut len)?;
        let len = u32::from_be_bytes(len) as usize;
        if len > MAX {
            return Err(CliError::usage(
                "--background-child: a secret over 64 KiB",
                "run kps agent without --background-child",
            )
            .into());
        }
        let mut bytes = Zeroizing::new(vec![0u8; len]);
        input.read_exact(&mut bytes)?;
        Ok(Some(Passphrase::new(std::mem::take(&mut *bytes))))
    };
    let passphrase = read_one()?;
    let pin = read_one()?;
    Ok(Secrets { passphrase, pin })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_survive_the_pipe() {
        let secrets = Secrets {
            passphrase: Some(Passphrase::new(b"pass\nword".to_vec())),
            pin: None,
        };
        let bytes = encode_secrets(&secrets);
        let back = read_secrets(&mut bytes.as_slice()).unwrap();
        assert_eq!(back.passphrase.unwrap().as_bytes(), b"pass\nword");
        assert!(back.pin.is_none());
        assert!(read_secrets(&mut &bytes[..3]).is_err());
    }
}
