use super::{Context, deliver, private_key_of, refuse_existing};
use crate::cli::{ExportPpkArgs, PpkVersionArg};
use crate::output;
use crate::passphrase;
use crate::report::CliError;
use kps::ppk::{PpkError, PpkKdf, PpkVersion};
use serde_json::json;
use std::path::PathBuf;

/// `memory=KIB,passes=N,parallelism=N`, any subset, over the defaults.
fn parse_kdf(spec: &str) -> Result<PpkKdf, CliError> {
    let mut kdf = PpkKdf::default();
    let bad = |what: &str| {
        CliError::usage(
            format!("--ppk-kdf: {what}"),
            "write it as memory=KIB,passes=N,parallelism=N, e.g. memory=8192,passes=32,parallelism=1",
        )
    };
    for part in spec.split(',').filter(|p| !p.is_empty()) {
        let (key, value) = part
            .split_once('=')
            .ok_or_else(|| bad(&format!("{part:?} is not key=value")))?;
        let value: u32 = value
            .trim()
            .parse()
            .map_err(|_| bad(&format!("{value:?} is not a whole number")))?;
        match key.trim() {
            "memory" => kdf.memory_kib = value,
            "passes" => kdf.passes = value,
            "parallelism" => kdf.parallelism = value,
            other => return Err(bad(&format!("unknown parameter {other:?}"))),
        }
    }
    Ok(kdf)
}

fn ppk_error(e: PpkError) -> anyhow::Error {
    match e {
        PpkError::Unsupported(m) => kps::Error::invalid(m).into(),
        PpkError::InconsistentKey(m) => kps::Error::KeyMismatch(m).into(),
        other => anyhow::anyhow!("cannot write the .ppk file: {other}"),
    }
}

pub fn run(ctx: &Context, args: ExportPpkArgs) -> anyhow::Result<()> {
    if let Some(c) = &args.comment {
        kps::text::check_field("--comment", c)?;
    }
    let version = match args.ppk_version {
        PpkVersionArg::V3 => PpkVersion::V3,
        PpkVersionArg::V2 => PpkVersion::V2,
    };
    let kdf = match &args.ppk_kdf {
        Some(spec) => {
            if version == PpkVersion::V2 {
                return Err(CliError::usage(
                    "--ppk-kdf applies to version 3 files only",
                    "version 2 derives its key with SHA-1 and has no cost to set",
                )
                .into());
            }
            parse_kdf(spec)?
        }
        None => PpkKdf::default(),
    };
    // Everything the user chose is checked before the store is unlocked.
    let ppk_pass = match (&args.ppk_passphrase_file, args.ask_ppk_passphrase) {
        (Some(path), _) => Some(passphrase::read_file(path)?),
        (None, true) => Some(passphrase::prompt_new("New .ppk passphrase")?),
        (None, false) => None,
    };
    let store = ctx.open_store()?;
    let keypair = store.get(&args.name)?;
    let path = args
        .output
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("{}.ppk", keypair.name)));
    refuse_existing(&path, args.force)?;
    let key = private_key_of(ctx, &store, &keypair)?;
    store.record_read(kps::team::Action::ExportPpk, &keypair.name)?;
    let comment = match &args.comment {
        Some(c) => c.clone(),
        None if !keypair.comment().is_empty() => keypair.comment().to_string(),
        None => keypair.name.clone(),
    };
    // An empty passphrase means an unencrypted file, as in puttygen.
    let encryption = ppk_pass
        .as_ref()
        .filter(|p| !p.is_empty())
        .map(|p| (p.as_bytes(), &kdf));
    let text = kps::ppk::encode(&key, &comment, version, encryption).map_err(ppk_error)?;
    let version_number = match version {
        PpkVersion::V3 => 3,
        PpkVersion::V2 => 2,
    };
    if path.as_os_str() == "-" && ctx.json {
        // One JSON document on stdout, as export does: the file inside it.
        output::print_json(&json!({
            "name": keypair.name,
            "format": "ppk",
            "ppk_version": version_number,
            "encrypted": encryption.is_some(),
            "key": text.as_str(),
        }))?;
        return Ok(());
    }
    deliver(&path, text.as_bytes(), 0o600, args.force)?;
    if path.as_os_str() == "-" {
        return Ok(());
    }
    if ctx.json {
        output::print_json(&json!({
            "name": keypair.name,
            "format": "ppk",
            "ppk_version": version_number,
            "encrypted": encryption.is_some(),
            "file": path,
        }))?;
    } else {
        ctx.status(&format!(
            "Wrote {} (PuTTY key file v{version_number}{})",
            path.display(),
            if encryption.is_some() {
                ", encrypted"
            } else {
                ""
            }
        ))?;
    }
    Ok(())
}
