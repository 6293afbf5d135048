//! One file per subcommand: gather inputs, call the core, render the result.

mod create;
mod delete;
mod export;
mod export_ppk;
mod get_win_password;
mod import;
mod init;
mod list;
mod passwd;
mod show;

use crate::cli::{Cli, Command, EncryptionType, KdfArgs, ProtectionArgs};
use crate::passphrase::Sources;
use crate::report::CliError;
use kps::keypair::Encryption;
use kps::keypair::Keypair;
use kps::store::{KdfParams, Store};
use ssh_key::PrivateKey;
use std::io::Write;
use std::path::{Path, PathBuf};

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
        Command::ExportPpk(args) => export_ppk::run(&ctx, args),
        Command::GetWinPassword(args) => get_win_password::run(&ctx, args),
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

/// Keypair `name` and its private key. A public-key-only keypair is refused
/// before the passphrase is asked for; the store is unlocked once.
pub fn private_key_of(
    ctx: &Context,
    store: &Store,
    keypair: &Keypair,
) -> anyhow::Result<PrivateKey> {
    if !keypair.has_private_key {
        return Err(kps::Error::NoPrivateKey(keypair.name.clone()).into());
    }
    let identity = store.unlock(&ctx.passphrases.current()?)?;
    Ok(store.private_key(&keypair.name, &identity)?)
}

/// Where exported key text goes: stdout for `-o -`, else a file written
/// atomically with `mode` (refused if it exists, unless `force`).
pub fn deliver(path: &Path, text: &[u8], mode: u32, force: bool) -> anyhow::Result<()> {
    if path == Path::new("-") {
        let mut out = std::io::stdout().lock();
        out.write_all(text)?;
        out.flush()?;
    } else {
        kps::outfile::write_atomic(path, text, mode, force)?;
    }
    Ok(())
}
