use super::Context;
use crate::cli::KmsCommand;
use crate::output;
use kps::kms::{Kms, KmsConfig, absolute_module};
use kps::text::escape;
use serde_json::json;

pub fn run(ctx: &Context, command: KmsCommand) -> anyhow::Result<()> {
    match command {
        KmsCommand::Configure { module, token } => {
            let config = KmsConfig {
                module: absolute_module(&module),
                token,
            };
            // Prove the module loads and has the token before recording it;
            // logging in is left to the commands that use a key.
            Kms::probe(&config)?;
            let file = kps::kms_config::save(&config.module, &config.token)?;
            if ctx.json {
                output::print_json(&json!({
                    "kms": { "module": config.module, "token": config.token, "file": file },
                }))?;
            } else {
                ctx.status(&format!(
                    "KMS configured: token '{}' in {} (recorded in {})",
                    config.token,
                    config.module.display(),
                    file.display()
                ))?;
            }
        }
        KmsCommand::CreateKey { name } => {
            // The store only for the hint about a module it names: a
            // missing one is neither an error nor made here.
            let store = ctx.existing_store()?;
            let kms = ctx.open_kms(store.as_ref())?;
            let key = kms.create_key(&name)?;
            if ctx.json {
                output::print_json(&json!({
                    "key": { "kms_key_name": key.label, "kms_key_id": key.id },
                    "token": kms.token(),
                }))?;
            } else {
                ctx.status(&format!(
                    "Created KMS key '{}' (id {}) on token '{}'",
                    key.label,
                    key.id,
                    kms.token()
                ))?;
            }
        }
        KmsCommand::ListKeys => {
            // The store only for the hint about a module it names: a
            // missing one is neither an error nor made here.
            let store = ctx.existing_store()?;
            let kms = ctx.open_kms(store.as_ref())?;
            let keys = kms.list_keys()?;
            if ctx.json {
                output::print_json(&json!({
                    "keys": keys
                        .iter()
                        .map(|k| json!({ "kms_key_name": k.label, "kms_key_id": k.id }))
                        .collect::<Vec<_>>(),
                    "token": kms.token(),
                }))?;
            } else {
                let mut text = format!("{:<32}  ID\n", "NAME");
                for k in &keys {
                    text.push_str(&format!("{:<32}  {}\n", escape(&k.label), escape(&k.id)));
                }
                ctx.status(&text)?;
            }
        }
    }
    Ok(())
}
