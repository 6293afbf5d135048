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

mod approve;
mod background;

use approve::*;
use background::*;

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
