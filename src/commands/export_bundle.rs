//! `kps export-bundle NAME... -o FILE`: chosen keypairs, private keys
//! included, in one encrypted file for `kps import --bundle`.

use super::{Context, deliver, kdf_params, refuse_existing};
use crate::cli::ExportBundleArgs;
use crate::output;
use crate::passphrase;
use crate::report::CliError;
use kps::bundle::{self, Recipient};
use kps::keypair::Encryption;
use kps::store::{KdfParams, Openers};
use kps::text::escape;
use serde_json::json;
use std::path::Path;

pub fn run(ctx: &Context, args: ExportBundleArgs) -> anyhow::Result<()> {
    for name in &args.names {
        kps::name::validate(name)?;
    }
    let mut unique = args.names.clone();
    unique.sort();
    unique.dedup();
    if unique.len() != args.names.len() {
        return Err(CliError::usage(
            "a keypair is named more than once",
            "name each keypair once",
        )
        .into());
    }
    let to_stdout = args.output == Path::new("-");
    if to_stdout && ctx.json {
        return Err(CliError::usage(
            "--json prints a JSON document on stdout, so the bundle cannot go there too",
            "give -o FILE, or leave out --json",
        )
        .into());
    }
    // Everything the user chose is checked before anything is asked for.
    let recipient = args.to.as_deref().map(Recipient::parse).transpose()?;
    let kdf = match recipient {
        Some(_) => KdfParams::default(),
        None => kdf_params(&args.kdf, KdfParams::default())?,
    };
    let store = ctx.open_store()?;
    let keypairs = args
        .names
        .iter()
        .map(|name| store.get(name))
        .collect::<Result<Vec<_>, _>>()?;
    refuse_existing(&args.output, args.force)?;
    let bundle_pass = match (&recipient, &args.bundle_passphrase_file) {
        (Some(_), _) => None,
        (None, Some(path)) => Some(passphrase::read_file(path)?),
        (None, None) => Some(passphrase::prompt_new("New bundle passphrase")?),
    };
    if bundle_pass.as_ref().is_some_and(|p| p.is_empty()) {
        return Err(CliError::usage(
            "the bundle passphrase is empty",
            "the bundle holds private keys: give it a passphrase, or seal it with --to IDENTITY",
        )
        .into());
    }

    // One unlock of each protection the keypairs use, not one per keypair.
    let needs = |f: fn(&Encryption) -> bool| {
        keypairs
            .iter()
            .any(|k| k.has_private_key && f(&k.encryption))
    };
    let identity = if needs(|e| *e == Encryption::Default) {
        Some(ctx.unlock(&store)?)
    } else {
        None
    };
    let kms = if needs(|e| *e != Encryption::Default) {
        Some(ctx.open_kms(Some(&store))?)
    } else {
        None
    };
    let openers = Openers {
        identity: identity.as_ref(),
        kms: kms.as_ref(),
    };
    let mut entries = Vec::with_capacity(keypairs.len());
    for keypair in &keypairs {
        let private = if keypair.has_private_key {
            Some(store.private_key(&keypair.name, openers)?)
        } else {
            None
        };
        entries.push(bundle::entry(keypair, private.as_ref())?);
    }
    let bytes = match (&recipient, &bundle_pass) {
        (Some(to), _) => bundle::seal_to(entries, to)?,
        (None, Some(pass)) => bundle::seal_with_passphrase(entries, pass, kdf)?,
        (None, None) => unreachable!("a passphrase was read above when there is no recipient"),
    };
    deliver(&args.output, &bytes, 0o600, args.force)?;
    if to_stdout {
        return Ok(());
    }
    let names: Vec<&str> = keypairs.iter().map(|k| k.name.as_str()).collect();
    if ctx.json {
        let mut doc = json!({
            "bundle": args.output,
            "keypairs": names,
            "sealed": if recipient.is_some() { "identity" } else { "passphrase" },
        });
        if let Some(to) = &recipient {
            doc["to"] = json!(to.to_string());
        }
        output::print_json(&doc)?;
    } else {
        ctx.status(&format!(
            "Wrote {} keypair(s) to {} ({}): {}",
            names.len(),
            escape(&args.output.display().to_string()),
            match &recipient {
                Some(to) => format!("sealed to {to}"),
                None => "sealed with its passphrase".to_string(),
            },
            names.join(", ")
        ))?;
    }
    Ok(())
}
