use super::Context;
use crate::cli::DeleteArgs;
use crate::output;
use crate::passphrase::interactive;
use crate::report::CliError;
use kps::text::escape;
use serde_json::json;

pub fn run(ctx: &Context, args: DeleteArgs) -> anyhow::Result<()> {
    let store = ctx.open_store()?;
    // A row that fails verification (planted or edited by someone else) can
    // still be deleted: that is the way out of it.
    let what = match store.get(&args.name) {
        Ok(k) => format!("{} {}", k.algorithm, k.fingerprint),
        Err(kps::Error::IntegrityFailure { .. }) => "which failed verification".to_string(),
        Err(e) => return Err(e.into()),
    };
    // A keypair bound to servers stays on them after the delete: refused
    // unless forced, before the prompt. Records that fail verification do
    // not keep --force from deleting them with the keypair.
    let servers = match store.bindings(Some(&args.name), None) {
        Ok(b) => b,
        Err(e @ kps::Error::IntegrityFailure { .. }) if args.force => {
            output::warn(&format!("{e}; deleting it with the keypair"));
            Vec::new()
        }
        Err(e) => return Err(e.into()),
    };
    let targets: Vec<String> = servers.iter().map(|b| b.target()).collect();
    if !targets.is_empty() && !args.force {
        return Err(kps::Error::KeypairBound {
            name: args.name,
            servers: targets,
        }
        .into());
    }
    let keypair = DeleteTarget { name: args.name };
    if !args.yes {
        if !interactive() {
            return Err(CliError::usage(
                format!(
                    "refusing to delete keypair '{}' without confirmation",
                    keypair.name
                ),
                "add --yes to delete without a terminal",
            )
            .into());
        }
        crate::interrupt::guard_terminal();
        let confirmed = dialoguer::Confirm::new()
            .with_prompt(format!(
                "Delete keypair '{}' ({})? Its private key cannot be recovered{}",
                escape(&keypair.name),
                escape(&what),
                if targets.is_empty() {
                    String::new()
                } else {
                    format!(
                        ", and its public key stays on {}",
                        escape(&targets.join(", "))
                    )
                }
            ))
            .default(false)
            .interact()
            .map_err(|_| CliError::Cancelled)?;
        if !confirmed {
            return Err(
                CliError::Declined(format!("Not deleted: keypair {}", keypair.name)).into(),
            );
        }
    }
    store.delete(&keypair.name)?;
    if !targets.is_empty() {
        output::warn(&format!(
            "keypair {} was bound to {} server(s) and its public key is still in their authorized_keys: {}",
            keypair.name,
            targets.len(),
            targets.join(", ")
        ));
    }
    if ctx.json {
        let servers: Vec<_> = servers.iter().map(output::binding_json).collect();
        output::print_json(&json!({ "name": keypair.name, "deleted": true, "servers": servers }))?;
    } else {
        ctx.status(&format!("Deleted keypair {}", escape(&keypair.name)))?;
    }
    Ok(())
}

struct DeleteTarget {
    name: String,
}
