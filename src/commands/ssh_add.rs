//! `kps ssh-add NAME... [-t DURATION] [-c]`, `kps ssh-add -d NAME...`: hand
//! keypairs to the agent at SSH_AUTH_SOCK, or take them back.

use super::Context;
use crate::cli::SshAddArgs;
use kps::agent::client::AgentClient;
use kps::agent::proto::Constraint;
use kps::agent::server;
use kps::keypair::Keypair;
use kps::store::Store;
use kps::text::escape;
use serde_json::json;

pub fn run(ctx: &Context, args: SshAddArgs) -> anyhow::Result<()> {
    let mut constraints = Vec::new();
    let lifetime = match args.lifetime.as_deref() {
        Some(text) => {
            let secs = kps::agent::parse_lifetime(text)?.as_secs();
            // parse_lifetime caps it at what the constraint carries.
            let secs = u32::try_from(secs).unwrap_or(u32::MAX);
            constraints.push(Constraint::Lifetime(secs));
            Some(secs)
        }
        None => None,
    };
    if args.confirm {
        constraints.push(Constraint::Confirm);
    }
    let store = ctx.open_store()?;
    let keypairs = chosen(&store, &args.names, !args.delete)?;
    // The agent is checked before any passphrase is asked for.
    let mut agent = AgentClient::from_env()?;
    if args.delete {
        for k in &keypairs {
            agent.remove(public_key(k)?.key_data(), &k.name)?;
            if !ctx.json {
                ctx.status(&format!("Identity removed: {}", escape(&k.name)))?;
            }
        }
        let names: Vec<&str> = keypairs.iter().map(|k| k.name.as_str()).collect();
        if ctx.json {
            crate::output::print_json(&json!({ "removed": names }))?;
        }
        return Ok(());
    }
    add_all(ctx, &store, &mut agent, &keypairs, &constraints)?;
    if ctx.json {
        let added: Vec<_> = keypairs
            .iter()
            .map(|k| json!({ "name": k.name, "fingerprint": k.fingerprint }))
            .collect();
        crate::output::print_json(&json!({
            "added": added,
            "lifetime_seconds": lifetime,
            "confirm": args.confirm,
        }))?;
    } else {
        for k in &keypairs {
            ctx.status(&format!(
                "Identity added: {} ({})",
                escape(&k.name),
                k.fingerprint
            ))?;
        }
    }
    Ok(())
}

/// Each named keypair once; to add, each must hold a private key of a kind
/// an agent signs with.
fn chosen(store: &Store, names: &[String], adding: bool) -> anyhow::Result<Vec<Keypair>> {
    let mut keypairs: Vec<Keypair> = Vec::new();
    for name in names {
        if keypairs.iter().any(|k| &k.name == name) {
            continue;
        }
        let keypair = store.get(name)?;
        if adding && !keypair.has_private_key {
            return Err(kps::Error::NoPrivateKey(keypair.name).into());
        }
        if adding && !server::servable_algorithm(&keypair.algorithm) {
            return Err(server::unservable(&keypair.name, &keypair.algorithm).into());
        }
        keypairs.push(keypair);
    }
    Ok(keypairs)
}

/// Unlock the store (and the token) once, add every key; if the agent
/// refuses one, take back those added before it, so that the command adds
/// all or none.
fn add_all(
    ctx: &Context,
    store: &Store,
    agent: &mut AgentClient,
    keypairs: &[Keypair],
    constraints: &[Constraint],
) -> anyhow::Result<()> {
    super::with_openers_for(ctx, store, keypairs, |openers| {
        for (i, k) in keypairs.iter().enumerate() {
            // ssh-key zeroizes the private key when it is dropped, at the end
            // of each turn; the message that carries it is zeroized in add().
            let key = store.private_key(&k.name, openers)?;
            if let Err(e) = agent.add(&key, &k.name, constraints) {
                for earlier in &keypairs[..i] {
                    if let Ok(public) = public_key(earlier) {
                        let _ = agent.remove(public.key_data(), &earlier.name);
                    }
                }
                return Err(e.into());
            }
        }
        Ok(())
    })
}

fn public_key(k: &Keypair) -> kps::Result<ssh_key::PublicKey> {
    k.public_key().map_err(|_| {
        kps::Error::bad_key(format!(
            "keypair '{}': its public key does not parse",
            k.name
        ))
    })
}
