//! `kps identity`: this store's public identity, the line a sender seals a
//! bundle to (`kps export-bundle --to`).

use super::{Context, write_keys};
use crate::output;
use kps::bundle::Recipient;
use kps::store::KdfParams;
use serde_json::json;

pub fn run(ctx: &Context) -> anyhow::Result<()> {
    let store = ctx.open_store()?;
    store.refuse_team("kps identity")?;
    if !store.is_initialised()? {
        return Err(kps::Error::NotInitialised.into());
    }
    // Only an identity proven with the passphrase on this machine (its pin,
    // or an unlock now) is handed out: someone who can write the store must
    // not get bundles sealed to a key of theirs.
    let keys = write_keys(ctx, &store, true, KdfParams::default())?;
    let wrapped = keys.identity.ok_or(kps::Error::NotInitialised)?;
    let line = Recipient::from_public_key(&wrapped.public_key)?.to_string();
    if ctx.json {
        output::print_json(&json!({ "identity": line }))?;
    } else {
        output::print_text(&line)?;
    }
    Ok(())
}
