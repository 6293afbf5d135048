use super::{Context, Protection, check_free_text, kdf_params, protection, require_kms_config};
use crate::cli::CreateArgs;
use crate::output;
use crate::progress::Spinner;
use kps::algorithm::KeySpec;
use kps::keypair::NewKeypair;
use kps::store::{Material, Store};
use kps::text::escape;
use serde_json::json;

pub fn run(ctx: &Context, args: CreateArgs) -> anyhow::Result<()> {
    // Everything that can be refused is refused before any work is done.
    kps::name::validate(&args.name)?;
    check_free_text(&args.comment, &args.description, &args.user_id)?;
    let spec = KeySpec::parse(Some(&args.key_type), args.bits)?;
    let encryption = protection(args.protection.encryption, &args.protection.kms_key)?;
    let kdf = kdf_params(&args.kdf, Default::default())?;
    ctx.with_new_or_existing_store(|store| create(ctx, args, spec, encryption, kdf, store))
}

/// The rest of `run`, on the store (made by `run` if there was none).
fn create(
    ctx: &Context,
    args: CreateArgs,
    spec: KeySpec,
    encryption: kps::keypair::Encryption,
    kdf: kps::store::KdfParams,
    store: &Store,
) -> anyhow::Result<()> {
    require_kms_config(ctx, Some(store), &encryption)?;
    match store.get(&args.name) {
        // Re-run pipelines: the same kind of keypair is already there.
        Ok(existing)
            if args.if_not_exists
                && existing.algorithm == spec.ssh_algorithm()
                && existing.bits == spec.bits() =>
        {
            return report(ctx, &existing, false);
        }
        Ok(existing) if args.if_not_exists => return Err(other_kind(&existing, spec)),
        Ok(_) => return Err(kps::Error::AlreadyExists(args.name).into()),
        Err(kps::Error::NotFound(_)) => {}
        Err(e) => return Err(e.into()),
    }
    let protection_for = Protection::gather(ctx, store, [&encryption], kdf)?;

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
    match store.insert(&meta, Material::Private(&key), protection_for.sealers()) {
        Ok(keypair) => report(ctx, &keypair, true),
        // Another process created it meanwhile: for --if-not-exists that is
        // fine when it is of the same kind.
        Err(kps::Error::AlreadyExists(name)) if args.if_not_exists => {
            let existing = store.get(&name)?;
            if existing.algorithm == spec.ssh_algorithm() && existing.bits == spec.bits() {
                report(ctx, &existing, false)
            } else {
                Err(other_kind(&existing, spec))
            }
        }
        Err(e) => Err(e.into()),
    }
}

/// `--if-not-exists` met a keypair of another kind under the name.
fn other_kind(existing: &kps::keypair::Keypair, asked: KeySpec) -> anyhow::Error {
    crate::report::CliError::ExistsAsOther {
        name: existing.name.clone(),
        existing: format!("{} {}", existing.algorithm, existing.bits),
        asked: format!("{} {}", asked.ssh_algorithm(), asked.bits()),
    }
    .into()
}

fn report(ctx: &Context, keypair: &kps::keypair::Keypair, created: bool) -> anyhow::Result<()> {
    let line = &keypair.public_line;
    if ctx.json {
        let mut doc = json!({ "keypair": output::keypair_json(keypair) });
        if !created {
            // Only --if-not-exists gets here: say that nothing was made.
            doc["created"] = json!(false);
        }
        output::print_json(&doc)?;
    } else {
        ctx.status(&format!(
            "{} keypair {} ({} {})\n{}\n{}",
            if created {
                "Created"
            } else {
                "Keypair exists:"
            },
            escape(&keypair.name),
            escape(&keypair.algorithm),
            keypair.bits,
            escape(&keypair.fingerprint),
            line
        ))?;
    }
    Ok(())
}
