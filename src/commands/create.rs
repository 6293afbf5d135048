use super::{Context, kdf_params};
use crate::cli::{CreateArgs, EncryptionType, ProtectionArgs};
use crate::output;
use crate::progress::Spinner;
use crate::report::CliError;
use kps::algorithm::KeySpec;
use kps::keypair::{Encryption, NewKeypair};
use serde_json::json;

/// The `--encryption` options as the service validates them: `kms` needs a
/// key name or id; the kms options mean nothing without `kms`.
pub fn encryption(args: &ProtectionArgs) -> Result<Encryption, CliError> {
    match args.encryption {
        EncryptionType::Default => {
            if args.kms_key_name.is_some() || args.kms_key_id.is_some() {
                return Err(CliError::usage(
                    "--kms-key-name and --kms-key-id apply only with --encryption kms",
                    "add --encryption kms, or drop the kms options",
                ));
            }
            Ok(Encryption::Default)
        }
        EncryptionType::Kms => {
            if args.kms_key_name.is_none() && args.kms_key_id.is_none() {
                return Err(CliError::usage(
                    "--encryption kms needs --kms-key-name or --kms-key-id",
                    "for example --kms-key-name kps/default",
                ));
            }
            Ok(Encryption::Kms {
                key_name: args.kms_key_name.clone(),
                key_id: args.kms_key_id.clone(),
            })
        }
    }
}

pub fn run(ctx: &Context, args: CreateArgs) -> anyhow::Result<()> {
    // Everything that can be refused is refused before any work is done.
    kps::name::validate(&args.name)?;
    let spec = KeySpec::parse(Some(&args.key_type), args.bits)?;
    let encryption = encryption(&args.protection)?;
    let kdf = kdf_params(&args.kdf, Default::default())?;
    let store = ctx.open_store()?;
    store.check_encryption(&encryption)?;
    match store.get(&args.name) {
        Ok(_) => return Err(kps::Error::AlreadyExists(args.name).into()),
        Err(kps::Error::NotFound(_)) => {}
        Err(e) => return Err(e.into()),
    }
    let sealing = store.ensure_initialised(kdf, || {
        ctx.passphrases.new_store().map_err(anyhow::Error::from)
    })?;

    let comment = args.comment.clone().unwrap_or_else(|| args.name.clone());
    let key = {
        let _spinner = matches!(spec, KeySpec::Rsa(_))
            .then(|| Spinner::start(format!("generating RSA {} key", spec.bits()), ctx.json));
        kps::keygen::generate(spec, &comment)?
    };
    let meta = NewKeypair {
        name: args.name,
        description: args.description,
        user_id: args.user_id,
        encryption,
    };
    let keypair = store.insert(&meta, &key, &sealing)?;
    if ctx.json {
        output::print_json(&json!({ "keypair": output::keypair_json(&keypair) }))?;
    } else {
        output::print_text(&format!(
            "Created keypair {} ({} {})
{}
{}",
            keypair.name,
            keypair.algorithm,
            keypair.bits,
            keypair.fingerprint,
            keypair.public_line()
        ))?;
    }
    Ok(())
}
