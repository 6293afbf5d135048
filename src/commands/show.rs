use super::Context;
use crate::cli::ShowArgs;
use crate::output;
use serde_json::json;

pub fn run(ctx: &Context, args: ShowArgs) -> anyhow::Result<()> {
    let keypair = ctx.open_store()?.get(&args.name)?;
    if args.public {
        output::print_text(&keypair.public_line)?;
    } else if ctx.json {
        output::print_json(&json!({ "keypair": output::keypair_json(&keypair) }))?;
    } else {
        output::print_keypair(&keypair)?;
    }
    Ok(())
}
