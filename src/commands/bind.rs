//! `kps bind`, `kps unbind`, `kps replace`: gather the servers, the keys
//! and the login, run the operation on every server (kps::remote does the
//! work), record the bindings, report one result per server.

use super::Context;
use crate::cli::{BindArgs, LoginArgs, ReplaceArgs, ServerArgs, UnbindArgs};
use crate::report::CliError;
use kps::agent::oneshot::OneShot;
use kps::agent::server::{self, HeldKey};
use kps::keypair::Keypair;
use kps::remote::operation::{self, Outcome, ServedKey};
use kps::remote::ssh::{HostKeys, Login, Ssh};
use kps::remote::target::Target;
use kps::secret::Passphrase;
use kps::store::{Binding, KdfParams, PasswordLogin, Store};
use serde_json::json;
use std::sync::Arc;

/// A keypair ready for the operations: its public key and line, and its
/// private key on a one-shot agent for the proofs (and for logging in).
struct Loaded {
    name: String,
    public_key: ssh_key::PublicKey,
    line: String,
    /// None for a key kps's agent does not serve (DSA): it can be neither
    /// logged in with nor proved, so the operations refuse it.
    agent: Option<OneShot>,
}

impl Loaded {
    fn served(&self) -> ServedKey<'_> {
        ServedKey {
            name: &self.name,
            public_key: &self.public_key,
            line: &self.line,
            agent: self.agent.as_ref().map(|a| a.socket()),
        }
    }
}

/// How the kept connection logs in, owning what it needs.
enum LoginWith {
    UserSetup,
    Keypair(usize),
    Password(Arc<Passphrase>),
}

pub fn bind(ctx: &Context, args: BindArgs) -> anyhow::Result<()> {
    let mut names = vec![args.name.clone()];
    names.extend(args.login.auth_keypair.clone());
    let Work {
        targets,
        store,
        keys,
        ssh,
    } = prepare(ctx, &args.servers, &names)?;
    // The row key for the records, got before any server is touched (the
    // unlock just made needs no second passphrase).
    let write = super::write_keys(ctx, &store, false, KdfParams::default())?;
    let login = login_with(&args.login, 1)?;
    let opts = operation::BindOptions {
        disable_password_login: args.disable_password_login,
        fix_cloud_init: args.fix_cloud_init,
    };
    let key = keys[0].served();
    let results = each(ctx, &targets, args.servers.parallel, "bound", |t| {
        operation::bind(&ssh, t, as_login(&login, &keys), &key, opts)
    });
    let recorded = results.iter().flatten().try_for_each(|o| {
        let mut b = binding(&args.name, o);
        if o.password_login == PasswordLogin::Unchanged {
            // Bound again without touching password login: what kps did
            // there before still stands.
            b.password_login = earlier(&store, &args.name, &b).unwrap_or(b.password_login);
        }
        store.record_binding(write.row_key.as_ref(), &b)
    });
    report(ctx, &args.name, &targets, results)?;
    Ok(recorded?)
}

pub fn unbind(ctx: &Context, args: UnbindArgs) -> anyhow::Result<()> {
    let mut names = vec![args.name.clone()];
    names.extend(args.login.auth_keypair.clone());
    let Work {
        targets,
        store,
        keys,
        ssh,
    } = prepare(ctx, &args.servers, &names)?;
    // Unbind logs in with the keypair itself unless told otherwise, as the
    // service does: it is the key known to work there.
    let login = match login_with(&args.login, 1)? {
        LoginWith::UserSetup => LoginWith::Keypair(0),
        other => other,
    };
    let opts = operation::UnbindOptions {
        force: args.force,
        enable_password_login: args.enable_password_login,
    };
    let key = keys[0].served();
    let results = each(ctx, &targets, args.servers.parallel, "unbound", |t| {
        operation::unbind(&ssh, t, as_login(&login, &keys), &key, opts)
    });
    let recorded = results.iter().flatten().try_for_each(|o| {
        let r = &o.resolved;
        store
            .remove_binding(&args.name, &r.hostname, r.port, &r.user)
            .map(|_| ())
    });
    report(ctx, &args.name, &targets, results)?;
    Ok(recorded?)
}

pub fn replace(ctx: &Context, args: ReplaceArgs) -> anyhow::Result<()> {
    if args.old == args.new {
        return Err(CliError::usage(
            "OLD and NEW are the same keypair",
            "kps replace OLD NEW HOST...",
        )
        .into());
    }
    let names = [args.old.clone(), args.new.clone()];
    let Work {
        targets,
        store,
        keys,
        ssh,
    } = prepare(ctx, &args.servers, &names)?;
    let write = super::write_keys(ctx, &store, false, KdfParams::default())?;
    if keys[0].agent.is_none() {
        let algorithm = keys[0].public_key.algorithm().to_string();
        return Err(server::unservable(&args.old, &algorithm).into());
    }
    let login = LoginWith::Keypair(0);
    let (old, new) = (keys[0].served(), keys[1].served());
    let results = each(ctx, &targets, args.servers.parallel, "replaced", |t| {
        operation::replace(&ssh, t, as_login(&login, &keys), &old, &new)
    });
    let recorded = results.iter().flatten().try_for_each(|o| {
        let mut b = binding(&args.new, o);
        // The server's password login is as OLD's binding left it.
        let mut was = b.clone();
        was.keypair = args.old.clone();
        b.password_login = earlier(&store, &args.old, &was).unwrap_or(b.password_login);
        store
            .replace_binding(write.row_key.as_ref(), &args.old, &b)
            .map(|_| ())
    });
    report(ctx, &args.new, &targets, results)?;
    Ok(recorded?)
}

/// What each of the three commands needs: the servers, the store, the
/// keypairs loaded and served, and the ssh to run.
struct Work {
    targets: Vec<Target>,
    store: Store,
    keys: Vec<Loaded>,
    ssh: Ssh,
}

/// The servers first (a usage error before any passphrase is asked for),
/// then the keypairs.
fn prepare(ctx: &Context, servers: &ServerArgs, names: &[String]) -> anyhow::Result<Work> {
    let targets = targets(servers)?;
    let ssh = ssh(servers)?;
    let store = ctx.open_store()?;
    let keys = load(ctx, &store, names)?;
    Ok(Work {
        targets,
        store,
        keys,
        ssh,
    })
}

/// The record of a server's binding (the store sets its times).
fn binding(name: &str, o: &Outcome) -> Binding {
    Binding {
        keypair: name.to_string(),
        host: o.resolved.hostname.clone(),
        port: o.resolved.port,
        user: o.resolved.user.clone(),
        host_key_fingerprint: o.host_key_fingerprint.clone(),
        authorized_keys_path: o.authorized_keys_path.clone(),
        password_login: o.password_login,
        create_time: String::new(),
        update_time: String::new(),
    }
}

/// What an earlier record of `name` on the same server says of its
/// password login.
fn earlier(store: &Store, name: &str, b: &Binding) -> Option<PasswordLogin> {
    store
        .bindings(Some(name), Some(&b.host))
        .ok()?
        .into_iter()
        .find(|e| e.port == b.port && e.user == b.user)
        .map(|e| e.password_login)
}

/// The servers from the command line and `--hosts-file`, in that order.
fn targets(args: &ServerArgs) -> anyhow::Result<Vec<Target>> {
    let mut targets = args
        .hosts
        .iter()
        .map(|h| Target::parse(h))
        .collect::<kps::Result<Vec<_>>>()?;
    if let Some(file) = &args.hosts_file {
        let text = std::fs::read_to_string(file).map_err(|source| kps::Error::InputIo {
            path: file.clone(),
            source,
        })?;
        targets.extend(Target::parse_list(&text, &file.display().to_string())?);
    }
    if targets.is_empty() {
        return Err(CliError::usage(
            "no server given",
            "name servers as [USER@]HOST[:PORT], or give --hosts-file FILE",
        )
        .into());
    }
    Ok(targets)
}

/// Open the keypairs' private keys (the store and the token unlocked once)
/// and serve each on a one-shot agent of its own.
fn load(ctx: &Context, store: &Store, names: &[String]) -> anyhow::Result<Vec<Loaded>> {
    let keypairs = names
        .iter()
        .map(|n| store.get(n))
        .collect::<kps::Result<Vec<Keypair>>>()?;
    for (i, k) in keypairs.iter().enumerate() {
        if !k.has_private_key {
            return Err(kps::Error::NoPrivateKey(k.name.clone()).into());
        }
        // The keypair to bind may be one sshd refuses (DSA): the server
        // says so (KPS.7063) before anything changes. One to log in with
        // must be servable.
        if i > 0 && !server::servable_algorithm(&k.algorithm) {
            return Err(server::unservable(&k.name, &k.algorithm).into());
        }
    }
    super::with_openers_for(ctx, store, &keypairs, |openers| {
        let mut loaded = Vec::new();
        for k in &keypairs {
            let private = store.private_key(&k.name, openers)?;
            let mut public_key = private.public_key().clone();
            // The comment is checked when stored; escaped again for the line
            // all the same: a server file gets no control character from kps.
            let comment = public_key.comment().to_string();
            public_key.set_comment(kps::text::escape(&comment).as_ref());
            let line = public_key.to_openssh()?;
            let agent = match server::servable_algorithm(&k.algorithm) {
                true => Some(OneShot::start(HeldKey::new(k.name.clone(), private)?)?),
                false => None,
            };
            loaded.push(Loaded {
                name: k.name.clone(),
                public_key,
                line,
                agent,
            });
        }
        Ok(loaded)
    })
}

fn login_with(args: &LoginArgs, keypair_index: usize) -> anyhow::Result<LoginWith> {
    if args.auth_keypair.is_some() {
        return Ok(LoginWith::Keypair(keypair_index));
    }
    let password: Option<Passphrase> = if let Some(file) = &args.password_file {
        Some(crate::passphrase::read_file(file)?)
    } else if args.ask_password {
        Some(crate::passphrase::prompt_login_password()?)
    } else {
        None
    };
    match password {
        // Each server's kept connection gets one answer, to its own prompt:
        // a wrong password is not tried again (servers lock accounts out).
        Some(p) => Ok(LoginWith::Password(Arc::new(p))),
        None => Ok(LoginWith::UserSetup),
    }
}

fn as_login<'a>(login: &'a LoginWith, keys: &'a [Loaded]) -> Login<'a> {
    match login {
        LoginWith::UserSetup => Login::UserSetup,
        LoginWith::Keypair(i) => match &keys[*i].agent {
            Some(agent) => Login::Agent(agent.socket()),
            None => Login::UserSetup,
        },
        LoginWith::Password(password) => Login::Password(password),
    }
}

fn ssh(args: &ServerArgs) -> anyhow::Result<Ssh> {
    let program = match &args.ssh {
        Some(p) => p.clone().into_os_string(),
        None => std::env::var_os("KPS_SSH")
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| "ssh".into()),
    };
    let host_keys = match (&args.host_key, args.accept_new_host_key) {
        (Some(fp), _) => {
            if !fp.starts_with("SHA256:") || fp.len() != 50 {
                return Err(CliError::usage(
                    format!("--host-key {} is not a SHA-256 fingerprint", kps::text::escape(fp)),
                    "give it as ssh-keygen -l and cloud consoles print it: SHA256: and 43 characters",
                )
                .into());
            }
            HostKeys::Fingerprint(fp.clone())
        }
        (None, true) => HostKeys::AcceptNew,
        (None, false) => HostKeys::Known,
    };
    Ok(Ssh {
        program,
        host_keys,
        askpass_program: std::env::current_exe()?,
    })
}

/// Run `f` on every server, `parallel` at a time, a bar at a terminal.
fn each(
    ctx: &Context,
    targets: &[Target],
    parallel: u16,
    done_label: &str,
    f: impl Fn(&Target) -> kps::Result<Outcome> + Sync,
) -> Vec<kps::Result<Outcome>> {
    let bar = crate::progress::Bar::new(&format!("servers {done_label}"), ctx.json);
    crate::interrupt::divert_to(Some(kps::remote::operation::cancel));
    let results =
        kps::remote::operation::on_each(targets, usize::from(parallel), f, |done, total| {
            bar.set(done, total)
        });
    crate::interrupt::divert_to(None);
    results
}

fn report(
    ctx: &Context,
    name: &str,
    targets: &[Target],
    results: Vec<kps::Result<Outcome>>,
) -> anyhow::Result<()> {
    let mut rows = Vec::new();
    let mut failures = Vec::new();
    for (target, result) in targets.iter().zip(results) {
        let (host, port, user) = match &result {
            Ok(o) => (
                o.resolved.hostname.clone(),
                o.resolved.port,
                Some(o.resolved.user.clone()),
            ),
            // As written; the user is null when ssh would have chosen it.
            Err(_) => (
                target.host.clone(),
                target.port.unwrap_or(22),
                target.user.clone(),
            ),
        };
        let row = match &result {
            Ok(o) => json!({
                "host": host, "port": port, "user": user, "status": "SUCCESS",
                "error_code": null, "error_msg": null,
                "password_login": o.password_login.as_str(),
                "warnings": o.warnings,
            }),
            Err(e) => {
                let (code, _) = crate::report::code_and_hint(e);
                json!({
                    "host": host, "port": port, "user": user, "status": "FAILED",
                    "error_code": code, "error_msg": e.to_string(),
                    "password_login": "unchanged",
                    "warnings": [],
                })
            }
        };
        // The table has the host in a column of its own.
        let short = match &result {
            Ok(_) => String::new(),
            Err(kps::Error::Remote { message, .. }) => message.clone(),
            Err(other) => other.to_string(),
        };
        if let Err(e) = result {
            failures.push(e);
        }
        rows.push((target, row, short));
    }
    if ctx.json {
        let results: Vec<_> = rows.iter().map(|(_, r, _)| r.clone()).collect();
        crate::output::print_json(&json!({ "keypair_name": name, "results": results }))?;
    } else {
        for (_, row, _) in &rows {
            for w in row["warnings"].as_array().into_iter().flatten() {
                crate::output::warn(&format!(
                    "{}: {}",
                    row["host"].as_str().unwrap_or(""),
                    w.as_str().unwrap_or("")
                ));
            }
        }
        if !ctx.quiet || !failures.is_empty() {
            let width = rows
                .iter()
                .map(|(t, _, _)| t.to_string().len())
                .max()
                .unwrap_or(0)
                .max(4);
            let mut table = format!(
                "{:<width$}  {:<7}  {:<14}  ERROR\n",
                "HOST", "RESULT", "PASSWORD LOGIN"
            );
            for (target, row, short) in &rows {
                table.push_str(&format!(
                    "{:<width$}  {:<7}  {:<14}  {}\n",
                    target.to_string(),
                    row["status"].as_str().unwrap_or(""),
                    row["password_login"].as_str().unwrap_or(""),
                    short
                ));
            }
            crate::output::print_text(&table)?;
        }
    }
    let total = targets.len();
    let failed = failures.len();
    let same = failures
        .windows(2)
        .all(|w| crate::report::code_and_hint(&w[0]).0 == crate::report::code_and_hint(&w[1]).0);
    match failures.into_iter().next() {
        None => Ok(()),
        // One server, or every one failing the same way: that error.
        Some(first) if failed == total && same => Err(first.into()),
        Some(_) => Err(kps::Error::SomeServersFailed { failed, total }.into()),
    }
}
