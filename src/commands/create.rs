use super::{Context, Protection, kdf_params, protection, require_kms_config};
use crate::cli::CreateArgs;
use crate::output;
use crate::progress::Spinner;
use kps::algorithm::KeySpec;
use kps::keypair::NewKeypair;
use kps::store::Material;
use serde_json::json;

pub fn run(ctx: &Context, args: CreateArgs) -> anyhow::Result<()> {
    // Everything that can be refused is refused before any work is done.
    kps::name::validate(&args.name)?;
    let spec = KeySpec::parse(Some(&args.key_type), args.bits)?;
    let encryption = protection(&args.protection)?;
    let kdf = kdf_params(&args.kdf, Default::default())?;
    let store = ctx.open_store()?;
    require_kms_config(ctx, Some(&store), &encryption)?;
    match store.get(&args.name) {
        Ok(_) => return Err(kps::Error::AlreadyExists(args.name).into()),
        Err(kps::Error::NotFound(_)) => {}
        Err(e) => return Err(e.into()),
    }
    let protection_for = Protection::gather(ctx, &store, [&encryption], kdf)?;

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
    let keypair = store.insert(&meta, Material::Private(&key), protection_for.sealers())?;
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
