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
                "Delete keypair '{}' ({})? Its private key cannot be recovered",
                escape(&keypair.name),
                escape(&what)
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
    if ctx.json {
        output::print_json(&json!({ "name": keypair.name, "deleted": true }))?;
    } else {
        ctx.status(&format!("Deleted keypair {}", escape(&keypair.name)))?;
    }
    Ok(())
}

struct DeleteTarget {
    name: String,
}
