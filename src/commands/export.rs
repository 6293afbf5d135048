use super::{Context, deliver, private_key_of, refuse_existing};
use crate::cli::{ExportArgs, ExportFormat};
use crate::output;
use crate::passphrase;
use crate::report::CliError;
use kps::export::{self, Format};
use kps::secret::Passphrase;
use kps::text::escape;
use serde_json::json;
use std::io::Write;
use std::path::{Path, PathBuf};
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
    let encrypt = args.key_passphrase_file.is_some() || args.ask_key_passphrase;
    if encrypt && !format.is_private() {
        return Err(CliError::usage(
            "--format public holds no private key to encrypt",
            "leave out --key-passphrase-file and --ask-key-passphrase, or choose --format openssh or pkcs8",
        )
        .into());
    }
    if encrypt && format == Format::Pem {
        return Err(export::encrypted_pem_refused().into());
    }
    let public_path = public_path_of(&args, format)?;
    let store = ctx.open_store()?;
    let keypair = store.get(&args.name)?;
    if let Some(path) = args.output.as_deref() {
        refuse_existing(path, args.force)?;
    }
    if let Some(path) = public_path.as_deref() {
        refuse_existing(path, args.force)?;
    }
    let text: Zeroizing<String> = if format.is_private() {
        if format == Format::Pem && keypair.algorithm == "ssh-ed25519" {
            // Refused before the passphrase is asked for.
            return Err(export::private_pem_unsupported(&keypair.algorithm).into());
        }
        // The key's own passphrase first, then the store's: nothing is
        // unlocked for a passphrase that is then refused.
        let key_pass = key_passphrase(&args)?;
        let key = private_key_of(ctx, &store, &keypair)?;
        store.record_read(kps::team::Action::Export, &keypair.name)?;
        match &key_pass {
            Some(pass) => export::private_pem_encrypted(&key, format, pass)?,
            None => export::private_pem(&key, format)?,
        }
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
    if let Some(public_path) = public_path.as_deref() {
        // 0644 like ssh-keygen's: a public key is for handing out. Store::get
        // refused a line holding a control character.
        let line = format!("{}\n", keypair.public_line);
        deliver(public_path, line.as_bytes(), 0o644, args.force)?;
    }
    if ctx.json {
        let mut doc = json!({
            "name": keypair.name,
            "format": format_name(args.format),
            "file": path,
        });
        if encrypt {
            doc["encrypted"] = json!(true);
        }
        if let Some(public_path) = &public_path {
            doc["public_file"] = json!(public_path);
        }
        output::print_json(&doc)?;
    } else {
        if !ctx.quiet {
            let _ = writeln!(
                std::io::stderr(),
                "Wrote {}{} key of {} to {}",
                if encrypt { "encrypted " } else { "" },
                format_name(args.format),
                escape(&keypair.name),
                escape(&path.display().to_string())
            );
            if let Some(public_path) = &public_path {
                let _ = writeln!(
                    std::io::stderr(),
                    "Wrote its public key to {}",
                    escape(&public_path.display().to_string())
                );
            }
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

/// The passphrase the exported key is encrypted with, if one was asked for:
/// from its file, or typed twice at the terminal. Empty is refused.
fn key_passphrase(args: &ExportArgs) -> anyhow::Result<Option<Passphrase>> {
    let pass = match (&args.key_passphrase_file, args.ask_key_passphrase) {
        (Some(path), _) => passphrase::read_file(path)?,
        (None, true) => passphrase::prompt_new("New key passphrase")?,
        (None, false) => return Ok(None),
    };
    if pass.is_empty() {
        return Err(export::empty_key_passphrase().into());
    }
    Ok(Some(pass))
}

/// `FILE.pub` for `--with-public`, which needs a private key going to a file.
fn public_path_of(args: &ExportArgs, format: Format) -> anyhow::Result<Option<PathBuf>> {
    if !args.with_public {
        return Ok(None);
    }
    if !format.is_private() {
        return Err(CliError::usage(
            "--with-public writes the public key beside a private key file",
            "--format public already writes the public key: leave --with-public out",
        )
        .into());
    }
    match args.output.as_deref() {
        Some(path) if path != Path::new("-") => {
            let mut name = path.as_os_str().to_owned();
            name.push(".pub");
            Ok(Some(PathBuf::from(name)))
        }
        _ => Err(CliError::usage(
            "--with-public needs -o FILE: the public key goes to FILE.pub",
            "kps export NAME -o FILE --with-public",
        )
        .into()),
    }
}
