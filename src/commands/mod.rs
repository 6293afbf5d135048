//! One file per subcommand: gather inputs, call the core, render the result.

mod agent;
mod bind;
mod bindings;
mod create;
mod delete;
mod export;
mod export_bundle;
mod export_ppk;
mod find;
mod get_win_password;
mod identity;
mod import;
mod init;
mod kms;
mod list;
mod passwd;
mod rename;
mod restore;
mod set;
mod set_encryption;
mod show;
mod ssh;
mod ssh_add;
mod store_copy;
mod team;
mod verify;

use crate::cli::{Cli, Command, EncryptionType, KdfArgs, KmsKeyArgs};
use crate::passphrase::Sources;
use crate::report::CliError;
use kps::keypair::Encryption;
use kps::keypair::Keypair;
use kps::kms::{Kms, KmsConfig};
use kps::store::location::PgTarget;
use kps::store::{Identity, KdfParams, Openers, Sealers, Store, WriteKeys};
use ssh_key::PrivateKey;
use std::io::Write;
use std::path::{Path, PathBuf};

/// What every subcommand may need from the global options.
pub struct Context {
    pub store_dir: PathBuf,
    /// `store_dir` resolved once: the PostgreSQL database it names, if it
    /// is a `postgres://` URL (with the `PG*` variables and password file
    /// read then), else `None` for a store directory or file.
    pub store_target: Option<PgTarget>,
    pub json: bool,
    pub quiet: bool,
    pub passphrases: Sources,
    pub pin_file: Option<PathBuf>,
    /// `--identity-store`: the user's own local store, who they are in a
    /// team store (by default the default store).
    pub identity_store: Option<PathBuf>,
}

impl Context {
    /// A status line for people ("Created keypair ..."): not with -q.
    pub fn status(&self, text: &str) -> std::io::Result<()> {
        if self.quiet {
            Ok(())
        } else {
            crate::output::print_text(text)
        }
    }

    /// The store, which must exist (KPS.7032 if not): only `init`,
    /// `create` and `import` make one ([`Context::with_new_or_existing_store`]).
    pub fn open_store(&self) -> anyhow::Result<Store> {
        let mut store = Store::open_required_at(&self.store_dir, self.store_target.as_ref())?;
        self.join_team(&mut store)?;
        Ok(store)
    }

    /// A team store is used as one of its members: the member list checked
    /// against this machine's pin, this user found in it.
    fn join_team(&self, store: &mut Store) -> anyhow::Result<()> {
        if store.is_team()? {
            store.join_as(&self.identity_dir()?)?;
        }
        Ok(())
    }

    /// The store as messages and JSON name it: its path, or its URL
    /// without the password.
    pub fn store_display(&self) -> String {
        match &self.store_target {
            Some(target) => target.to_string(),
            None => self.store_dir.display().to_string(),
        }
    }

    /// The store if there is one, as it is (no member list checked): for
    /// what only asks whether names are taken or a module is recorded.
    pub fn existing_store(&self) -> anyhow::Result<Option<Store>> {
        Ok(Store::open_existing_at(
            &self.store_dir,
            self.store_target.as_ref(),
        )?)
    }

    /// The user's own local store (`--identity-store`, else the default).
    pub fn identity_dir(&self) -> anyhow::Result<PathBuf> {
        match &self.identity_store {
            Some(dir) => Ok(dir.clone()),
            None => kps::store::default_dir().ok_or_else(|| {
                CliError::usage(
                    "cannot find a home directory for your own store",
                    "give --identity-store DIR or set KPS_IDENTITY_STORE",
                )
                .into()
            }),
        }
    }

    /// Run `f` on the store, making it first if there is none. A store made
    /// here is removed again if `f` fails and left it empty (a first
    /// `create` in CI without a passphrase leaves nothing behind). On
    /// success, the first use is noted on stderr, even with -q (stdout
    /// stays clean): where the store is, and that its passphrase, if one
    /// was set now, cannot be recovered.
    pub fn with_new_or_existing_store(
        &self,
        f: impl FnOnce(&Store) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        let (mut store, made) =
            Store::open_or_create_at(&self.store_dir, self.store_target.as_ref())?;
        if made.is_none() {
            self.join_team(&mut store)?;
        }
        // A team store has no passphrase of its own to note (and asking
        // would cost a PostgreSQL store a round trip).
        let personal = made.is_some() || !store.is_team()?;
        let had_passphrase = personal && store.is_initialised()?;
        match f(&store) {
            Ok(()) => {
                let set_now = personal && !had_passphrase && store.is_initialised()?;
                first_use_note(&self.store_dir, made.is_some(), set_now);
                Ok(())
            }
            Err(e) => {
                if let Some(made) = made {
                    // The command's own failure is what the user needs to
                    // see; a store left behind is only litter.
                    let _ = store.discard_new(made);
                }
                Err(e)
            }
        }
    }

    /// The KMS to use: `KPS_PKCS11_MODULE` and `KPS_PKCS11_TOKEN` over the
    /// user's kms.conf (`kps kms configure`). Never the store: a module is
    /// code that kps loads and gives the PIN to.
    pub fn kms_config(&self) -> anyhow::Result<Option<KmsConfig>> {
        let module = std::env::var_os("KPS_PKCS11_MODULE").map(PathBuf::from);
        let token = std::env::var("KPS_PKCS11_TOKEN").ok();
        // The file is read (and its permissions checked) only when the
        // environment leaves something to it.
        let file = if module.is_none() || token.is_none() {
            kps::kms_config::load()?
        } else {
            Default::default()
        };
        Ok(match (module.or(file.module), token.or(file.token)) {
            (Some(module), Some(token)) => Some(KmsConfig { module, token }),
            _ => None,
        })
    }

    /// Log in to the configured token (the PIN from its sources). The module
    /// file is checked before the PIN is asked for.
    pub fn open_kms(&self, store: Option<&Store>) -> anyhow::Result<Kms> {
        let config = self
            .kms_config()?
            .ok_or_else(|| kms_not_configured(store))?;
        kps::kms::trusted_module(&config.module)?;
        let (pin, origin) = crate::passphrase::pin(self.pin_file.as_deref(), &config.token)?;
        match Kms::open(&config, &pin) {
            Err(kps::Error::WrongPin { token }) => Err(CliError::Wrong {
                secret: crate::report::Secret::Pin { token },
                origin,
            }
            .into()),
            result => Ok(result?),
        }
    }

    /// Unlock the store with its passphrase (asked again at a prompt when
    /// it is wrong, three tries in all).
    pub fn unlock(&self, store: &Store) -> anyhow::Result<Identity> {
        self.passphrases.open_with(|p| store.unlock(p))
    }
}

/// Tell the user about a store made, or given its passphrase, just now.
fn first_use_note(dir: &Path, made: bool, passphrase_set: bool) {
    let dir = kps::text::escape(&dir.display().to_string()).into_owned();
    let mut lines = Vec::new();
    if made {
        lines.push(format!("note: created a new store at {dir}"));
    }
    if passphrase_set {
        lines.push(format!(
            "note: the passphrase of the store at {dir} cannot be recovered: without it no private key in the store can be used; keep it safe, and back the store up with 'kps backup'"
        ));
    }
    if !lines.is_empty() {
        eprintln!("{}", lines.join("\n"));
    }
}

/// No KMS configured; a store that names a module (as earlier kps versions
/// recorded it) gets a hint that kps no longer takes it from there.
fn kms_not_configured(store: Option<&Store>) -> anyhow::Error {
    match store.map(Store::names_kms_module) {
        Some(Ok(true)) => kps::Error::KmsConfiguredOnlyInStore.into(),
        _ => kps::Error::KmsNotConfigured.into(),
    }
}

/// What writing keypairs with some encryptions needs, gathered once: the
/// store identity (set up first on a new store) for `default`, a logged-in
/// token for `kms`, where every named master key must exist, and the key
/// that authenticates the rows. Nothing is asked for that is not used: the
/// passphrase only on a new store, or on one not yet pinned on this machine.
pub struct Protection {
    keys: WriteKeys,
    kms: Option<Kms>,
}

impl Protection {
    pub fn gather<'e>(
        ctx: &Context,
        store: &Store,
        encryptions: impl IntoIterator<Item = &'e Encryption>,
        kdf: KdfParams,
    ) -> anyhow::Result<Protection> {
        let encryptions: Vec<&Encryption> = encryptions.into_iter().collect();
        let mut protection = Protection {
            keys: WriteKeys::default(),
            kms: None,
        };
        if encryptions.iter().any(|e| **e != Encryption::Default) {
            let kms = ctx.open_kms(Some(store))?;
            for e in &encryptions {
                if let Encryption::Kms { key_name, key_id } = e {
                    kms.key(key_name.as_deref(), key_id.as_deref())?;
                }
            }
            protection.kms = Some(kms);
        }
        let need_identity = encryptions.iter().any(|e| **e == Encryption::Default);
        protection.keys = write_keys(ctx, store, need_identity, kdf)?;
        Ok(protection)
    }

    pub fn sealers(&self) -> Sealers<'_> {
        Sealers {
            identity: self.keys.identity.as_ref(),
            kms: self.kms.as_ref(),
            row_key: self.keys.row_key.as_ref(),
        }
    }
}

/// The store's [`WriteKeys`], with the passphrase from its sources when
/// the store must be unlocked (not pinned here) or set up.
pub fn write_keys(
    ctx: &Context,
    store: &Store,
    need_identity: bool,
    kdf: KdfParams,
) -> anyhow::Result<WriteKeys> {
    store.write_keys(
        need_identity,
        kdf,
        |store| ctx.unlock(store),
        || ctx.passphrases.new_store().map_err(anyhow::Error::from),
    )
}

/// Fail early, before a key is generated or a passphrase asked for, when
/// `kms` is asked for and no KMS is configured.
pub fn require_kms_config(
    ctx: &Context,
    store: Option<&Store>,
    encryption: &Encryption,
) -> anyhow::Result<()> {
    if *encryption != Encryption::Default && ctx.kms_config()?.is_none() {
        return Err(kms_not_configured(store));
    }
    Ok(())
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
    let store_target = kps::store::postgres_target(&store_dir)?;
    refuse_password_on_command_line(&store_dir, store_target.as_ref(), "--store")?;
    let ctx = Context {
        store_dir,
        store_target,
        json: cli.json,
        quiet: cli.quiet,
        passphrases: Sources {
            file: cli.passphrase_file,
        },
        pin_file: cli.pin_file,
        identity_store: cli.identity_store,
    };
    match cli.command {
        Command::Init(args) => init::run(&ctx, args),
        Command::Create(args) => create::run(&ctx, args),
        Command::Import(args) => import::run(&ctx, args),
        Command::List(args) => list::run(&ctx, args),
        Command::Show(args) => show::run(&ctx, args),
        Command::Find(args) => find::run(&ctx, args),
        Command::Export(args) => export::run(&ctx, args),
        Command::ExportPpk(args) => export_ppk::run(&ctx, args),
        Command::ExportBundle(args) => export_bundle::run(&ctx, args),
        Command::Identity(_) => identity::run(&ctx),
        Command::GetWinPassword(args) => get_win_password::run(&ctx, args),
        Command::SetEncryption(args) => set_encryption::run(&ctx, args),
        Command::Kms(command) => kms::run(&ctx, command),
        Command::Team(command) => team::run(&ctx, command),
        Command::Store(command) => store_copy::run(&ctx, command),
        Command::Delete(args) => delete::run(&ctx, args),
        Command::Passwd(args) => passwd::run(&ctx, args),
        Command::Verify(args) => verify::run(&ctx, args),
        Command::Agent(args) => agent::run(&ctx, args),
        Command::Ssh(args) => ssh::run(&ctx, args),
        Command::SshAdd(args) => ssh_add::run(&ctx, args),
        Command::Bind(args) => bind::bind(&ctx, args),
        Command::Unbind(args) => bind::unbind(&ctx, args),
        Command::Replace(args) => bind::replace(&ctx, args),
        Command::Bindings(args) => bindings::run(&ctx, args),
        Command::Backup(args) => {
            ctx.open_store()?.backup(&args.file, args.force)?;
            if ctx.json {
                crate::output::print_json(&serde_json::json!({ "backup": args.file }))?;
            } else {
                ctx.status(&format!("Backed up the store to {}", args.file.display()))?;
            }
            Ok(())
        }
        Command::GenerateDocs { dir } => crate::docs::write_all(&dir),
        Command::Rename(args) => rename::run(&ctx, args),
        Command::Set(args) => set::run(&ctx, args),
        Command::Restore(args) => restore::run(&ctx, args),
    }
}

/// A PostgreSQL URL holding a password, given on the command line as the
/// value of `flag` (`--store`, or `store copy`'s `--from` and `--to`),
/// would show in `ps` (to every user) for as long as kps runs: it is
/// refused, pointing at the places a password can be given unseen. The same
/// URL in `KPS_STORE` is fine (a process's environment is its owner's).
/// What the URL's target warns about (an ignored password file) is said
/// here, once.
pub fn refuse_password_on_command_line(
    store: &Path,
    target: Option<&PgTarget>,
    flag: &str,
) -> anyhow::Result<()> {
    let Some(target) = target else {
        return Ok(());
    };
    let value = store.as_os_str().as_encoded_bytes();
    let joined = [flag.as_bytes(), b"=", value].concat();
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let on_command_line = args.iter().enumerate().any(|(i, arg)| {
        let arg = arg.as_encoded_bytes();
        arg == joined.as_slice()
            || (arg == value && i > 0 && args[i - 1].as_encoded_bytes() == flag.as_bytes())
    });
    if target.password_in_url() && on_command_line {
        return Err(CliError::usage(
            format!(
                "the {flag} URL for {target} holds a password, which any user could read in 'ps' while kps runs"
            ),
            format!(
                "put the password in PGPASSWORD or ~/.pgpass (PGPASSFILE){}, and leave it out of {flag}",
                if flag == "--store" { ", or the URL in KPS_STORE" } else { "" }
            ),
        )
        .into());
    }
    for warning in target.warnings() {
        crate::output::warn(warning);
    }
    Ok(())
}

/// KDF cost from the command line, over `base` where a flag is absent.
pub fn kdf_params(args: &KdfArgs, base: KdfParams) -> anyhow::Result<KdfParams> {
    // A store made by an older kps may have a cost below today's floor:
    // what is not given then comes from the default, not from it.
    let base = if base.validate().is_ok() {
        base
    } else {
        KdfParams::default()
    };
    let params = KdfParams {
        memory_kib: args.kdf_memory.unwrap_or(base.memory_kib),
        passes: args.kdf_passes.unwrap_or(base.passes),
        parallelism: args.kdf_parallelism.unwrap_or(base.parallelism),
    };
    params.validate()?;
    Ok(params)
}

/// The free-text options of `create` and `import`: stored, printed, and (the
/// comment) written into every public key line, so none may hold a line
/// break or a terminal control.
pub fn check_free_text(
    comment: &Option<String>,
    description: &Option<String>,
    user_id: &Option<String>,
) -> kps::Result<()> {
    kps::text::check_optional("--comment", comment.as_deref())?;
    kps::text::check_optional("--description", description.as_deref())?;
    kps::text::check_optional("--user-id", user_id.as_deref())
}

/// The `--encryption` options as the service validates them: `kms` needs a
/// key name or id; the kms options mean nothing without `kms`.
pub fn protection(encryption: EncryptionType, kms: &KmsKeyArgs) -> Result<Encryption, CliError> {
    match encryption {
        EncryptionType::Default => {
            if kms.kms_key_name.is_some() || kms.kms_key_id.is_some() {
                return Err(CliError::usage(
                    "--kms-key-name and --kms-key-id apply only with --encryption kms",
                    "add --encryption kms, or drop the kms options",
                ));
            }
            Ok(Encryption::Default)
        }
        EncryptionType::Kms => {
            if kms.kms_key_name.is_none() && kms.kms_key_id.is_none() {
                return Err(CliError::usage(
                    "--encryption kms needs --kms-key-name or --kms-key-id",
                    "for example --kms-key-name kps/default",
                ));
            }
            // Stored with the keypair and shown by `show`.
            kps::text::check_optional("--kms-key-name", kms.kms_key_name.as_deref())
                .and_then(|()| kps::text::check_optional("--kms-key-id", kms.kms_key_id.as_deref()))
                .map_err(|e| {
                    CliError::usage(
                        e.to_string(),
                        "give the key's name or id as printed by 'kps kms list-keys'",
                    )
                })?;
            Ok(Encryption::Kms {
                key_name: kms.kms_key_name.clone(),
                key_id: kms.kms_key_id.clone(),
            })
        }
    }
}

/// The private key of `keypair`. A public-key-only keypair is refused before
/// anything is asked for; the store (or the token) is unlocked once.
pub fn private_key_of(
    ctx: &Context,
    store: &Store,
    keypair: &Keypair,
) -> anyhow::Result<PrivateKey> {
    if !keypair.has_private_key {
        return Err(kps::Error::NoPrivateKey(keypair.name.clone()).into());
    }
    with_openers(ctx, store, &keypair.encryption, |openers| {
        Ok(store.private_key(&keypair.name, openers)?)
    })
}

/// Run `f` with what opens a private key protected by `encryption`: the
/// store unlocked with its passphrase, or the token logged in with its PIN.
pub fn with_openers<T>(
    ctx: &Context,
    store: &Store,
    encryption: &Encryption,
    f: impl FnOnce(Openers<'_>) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    match encryption {
        Encryption::Default => {
            let identity = ctx.unlock(store)?;
            f(Openers {
                identity: Some(&identity),
                kms: None,
            })
        }
        Encryption::Kms { .. } => {
            let kms = ctx.open_kms(Some(store))?;
            f(Openers {
                identity: None,
                kms: Some(&kms),
            })
        }
    }
}

/// Run `f` with what opens every one of `keypairs`: the store unlocked
/// once if any is sealed to it, the token logged in once if any is under
/// the KMS.
pub fn with_openers_for<T>(
    ctx: &Context,
    store: &Store,
    keypairs: &[Keypair],
    f: impl FnOnce(Openers<'_>) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let is_kms = |k: &Keypair| matches!(k.encryption, Encryption::Kms { .. });
    let identity = match keypairs.iter().any(|k| !is_kms(k)) {
        true => Some(ctx.unlock(store)?),
        false => None,
    };
    let kms = match keypairs.iter().any(is_kms) {
        true => Some(ctx.open_kms(Some(store))?),
        false => None,
    };
    f(Openers {
        identity: identity.as_ref(),
        kms: kms.as_ref(),
    })
}

/// Refuse an existing output file before any passphrase or PIN is asked
/// for; [`deliver`] checks again, atomically, when it writes.
/// Anything but a regular file (a link, device, fifo) is refused even with
/// `force`.
pub fn refuse_existing(path: &Path, force: bool) -> anyhow::Result<()> {
    if path != Path::new("-") {
        kps::outfile::check_target(path, force)?;
    }
    Ok(())
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
