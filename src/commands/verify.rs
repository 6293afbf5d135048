use super::Context;
use crate::cli::VerifyArgs;
use crate::output;
use kps::store::Openers;
use serde_json::json;

/// Unlock the store, which proves its identity and pins it on this
/// machine (endorsing the rows of a store written by an older kps), then
/// check every row's MAC and open every private key sealed to the identity.
pub fn run(ctx: &Context, _args: VerifyArgs) -> anyhow::Result<()> {
    let store = ctx.open_store()?;
    let identity = ctx.unlock(&store)?;
    let (keypairs, opened) = store.verify_all(Openers {
        identity: Some(&identity),
        kms: None,
    })?;
    if ctx.json {
        output::print_json(&json!({
            "store": ctx.store_display(),
            "keypairs": keypairs,
            "private_keys_opened": opened,
        }))?;
    } else {
        ctx.status(&format!(
            "Store {} verified: {keypairs} keypair(s) authenticated, {opened} private key(s) opened and checked; its identity is pinned on this machine",
            kps::text::escape(&ctx.store_display())
        ))?;
    }
    Ok(())
}
