use super::{Context, check_free_text, write_keys};
use crate::cli::SetArgs;
use crate::output;
use kps::store::{Details, KdfParams};
use kps::text::escape;
use serde_json::json;

/// Change the text that goes with a keypair. The row gets a new MAC, so the
/// store's row key is needed (its pin here, else the passphrase once); the
/// private key is not touched, so no PIN for a kms keypair.
pub fn run(ctx: &Context, args: SetArgs) -> anyhow::Result<()> {
    check_free_text(&args.comment, &args.description, &args.user_id)?;
    let details = Details {
        comment: args.comment,
        description: args.description,
        user_id: args.user_id,
    };
    let store = ctx.open_store()?;
    let before = store.get(&args.name)?;
    let keys = write_keys(ctx, &store, false, KdfParams::default())?;
    let updated = store.set_details(&before.name, &details, keys.row_key.as_ref())?;
    if ctx.json {
        output::print_json(&json!({ "keypair": output::keypair_json(&updated) }))?;
    } else {
        let mut changed = Vec::new();
        if details.comment.is_some() {
            changed.push(match updated.comment() {
                "" => "comment removed".into(),
                c => format!("comment '{}'", escape(c)),
            });
        }
        if details.description.is_some() {
            changed.push(match &updated.description {
                Some(d) => format!("description '{}'", escape(d)),
                None => "description cleared".into(),
            });
        }
        if details.user_id.is_some() {
            changed.push(match &updated.user_id {
                Some(u) => format!("user id '{}'", escape(u)),
                None => "user id cleared".into(),
            });
        }
        ctx.status(&format!(
            "Updated keypair {}: {}",
            escape(&updated.name),
            changed.join(", ")
        ))?;
    }
    Ok(())
}
