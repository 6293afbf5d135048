//! `kps agent` without `-D`: the agent re-run as its own background child,
//! its secrets handed over a pipe (never argv or the environment).

use super::*;

/// The start line the background agent sends to the `kps agent` that
/// started it.
#[derive(serde::Deserialize)]
pub(super) struct StartLine {
    socket: PathBuf,
    pid: u32,
    keys: Vec<String>,
}

/// Start the agent in the background and report where it listens; if it
/// fails to start, its error is this command's.
pub(super) fn start_background(
    ctx: &Context,
    args: &AgentArgs,
    keypairs: &[Keypair],
    socket: Option<PathBuf>,
    secrets: Secrets,
) -> anyhow::Result<()> {
    let mut cmd = Command::new(std::env::current_exe()?);
    if ctx.store_target.is_some() {
        // A URL may hold a password: through the environment, not argv.
        cmd.env("KPS_STORE", &ctx.store_dir);
    } else {
        cmd.arg("--store").arg(std::path::absolute(&ctx.store_dir)?);
    }
    if let Some(identity) = &ctx.identity_store {
        cmd.arg("--identity-store")
            .arg(std::path::absolute(identity)?);
    }
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
pub(super) fn background_child(
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
pub(super) fn encode_secrets(secrets: &Secrets) -> Zeroizing<Vec<u8>> {
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

pub(super) fn read_secrets(input: &mut impl Read) -> anyhow::Result<Secrets> {
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
