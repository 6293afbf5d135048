use super::{Context, deliver, private_key_of, refuse_existing};
use crate::cli::{ExportArgs, ExportFormat};
use crate::output;
use crate::report::CliError;
use kps::export::{self, Format};
use kps::text::escape;
use serde_json::json;
use std::io::Write;
use std::path::Path;
use zeroize::Zeroizing;

fn format_of(f: ExportFormat) -> Format {
    match f {
        ExportFormat::Openssh => Format::OpenSsh,
        ExportFormat::Pem => Format::Pem,
        ExportFormat::Pkcs8 => Format::Pkcs8,
        ExportFormat::Public => Format::Public,
    }
}

pub fn run(ctx: &Context, args: ExportArgs) -> anyhow::Result<()> {
    let format = format_of(args.format);
    let to_stdout = match args.output.as_deref() {
        None if format.is_private() => {
            return Err(CliError::usage(
                "a private key format needs -o FILE (or -o - to write it to stdout)",
                "kps export NAME -o FILE, or --format public for the public key",
            )
            .into());
        }
        None => true,
        Some(p) => p == Path::new("-"),
    };
    let store = ctx.open_store()?;
    let keypair = store.get(&args.name)?;
    if let Some(path) = args.output.as_deref() {
        refuse_existing(path, args.force)?;
    }
    let text: Zeroizing<String> = if format.is_private() {
        if format == Format::Pem && keypair.algorithm == "ssh-ed25519" {
            // Refused before the passphrase is asked for.
            return Err(export::private_pem_unsupported(&keypair.algorithm).into());
        }
        let key = private_key_of(ctx, &store, &keypair)?;
        export::private_pem(&key, format)?
    } else {
        // Store::get refused a line holding a control character: it is
        // never written where an authorized_keys line goes.
        Zeroizing::new(format!("{}\n", keypair.public_line))
    };

    if to_stdout {
        if ctx.json {
            output::print_json(&json!({
                "name": keypair.name,
                "format": format_name(args.format),
                "key": text.as_str(),
            }))?;
        } else {
            deliver(Path::new("-"), text.as_bytes(), 0, false)?;
        }
        return Ok(());
    }
    let path = args.output.as_deref().unwrap_or(Path::new("-"));
    let mode = if format.is_private() { 0o600 } else { 0o644 };
    deliver(path, text.as_bytes(), mode, args.force)?;
    if ctx.json {
        output::print_json(&json!({
            "name": keypair.name,
            "format": format_name(args.format),
            "file": path,
        }))?;
    } else {
        if !ctx.quiet {
            let _ = writeln!(
                std::io::stderr(),
                "Wrote {} key of {} to {}",
                format_name(args.format),
                escape(&keypair.name),
                escape(&path.display().to_string())
            );
        }
    }
    Ok(())
}

fn format_name(f: ExportFormat) -> &'static str {
    match f {
        ExportFormat::Openssh => "openssh",
        ExportFormat::Pem => "pem",
        ExportFormat::Pkcs8 => "pkcs8",
        ExportFormat::Public => "public",
    }
}
