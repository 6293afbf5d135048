use super::{Context, kdf_params};
use crate::cli::InitArgs;
use crate::output;

pub fn run(ctx: &Context, args: InitArgs) -> anyhow::Result<()> {
    let kdf = kdf_params(&args.kdf, Default::default())?;
    ctx.with_new_or_existing_store(|store| {
        if store.is_initialised()? {
            return Err(kps::Error::AlreadyInitialised.into());
        }
        store.refuse_team("kps init")?;
        let passphrase = ctx.passphrases.new_store()?;
        store.initialise(&passphrase, kdf)?;
        if ctx.json {
            output::print_json(&output::store_json(&ctx.store_dir, &kdf))?;
        } else {
            ctx.status(&format!("Initialised store {}", ctx.store_display()))?;
        }
        Ok(())
    })
}
