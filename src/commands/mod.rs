//! One file per subcommand: gather inputs, call the core, render the result.

mod create;
mod delete;
mod export;
mod import;
mod init;
mod list;
mod passwd;
mod show;

use crate::cli::{Cli, Command, EncryptionType, KdfArgs, ProtectionArgs};
use crate::passphrase::Sources;
use crate::report::CliError;
use kps::keypair::Encryption;
use kps::store::{KdfParams, Store};
use std::path::PathBuf;

/// What every subcommand may need from the global options.
pub struct Context {
    pub store_dir: PathBuf,
    pub json: bool,
    pub passphrases: Sources,
}

impl Context {
    pub fn open_store(&self) -> anyhow::Result<Store> {
        Ok(Store::open(&self.store_dir)?)
    }
}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    let store_dir = match cli.store {
        Some(dir) => dir,
        None => kps::store::default_dir().ok_or_else(|| {
            CliError::usage(
                "cannot find a home directory for the default store",
                "give --store DIR or set KPS_STORE",
            )
        })?,
    };
    let ctx = Context {
        store_dir,
        json: cli.json,
        passphrases: Sources {
            file: cli.passphrase_file,
        },
    };
    match cli.command {
        Command::Init(args) => init::run(&ctx, args),
        Command::Create(args) => create::run(&ctx, args),
        Command::Import(args) => import::run(&ctx, args),
        Command::List => list::run(&ctx),
        Command::Show(args) => show::run(&ctx, args),
        Command::Export(args) => export::run(&ctx, args),
        Command::Delete(args) => delete::run(&ctx, args),
        Command::Passwd(args) => passwd::run(&ctx, args),
    }
}

/// KDF cost from the command line, over `base` where a flag is absent.
pub fn kdf_params(args: &KdfArgs, base: KdfParams) -> anyhow::Result<KdfParams> {
    let params = KdfParams {
        memory_kib: args.kdf_memory.unwrap_or(base.memory_kib),
        passes: args.kdf_passes.unwrap_or(base.passes),
        parallelism: args.kdf_parallelism.unwrap_or(base.parallelism),
    };
    params.validate()?;
    Ok(params)
}

/// The `--encryption` options as the service validates them: `kms` needs a
/// key name or id; the kms options mean nothing without `kms`.
pub fn protection(args: &ProtectionArgs) -> Result<Encryption, CliError> {
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
