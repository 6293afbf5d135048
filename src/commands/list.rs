use super::Context;
use crate::output;
use serde_json::json;

pub fn run(ctx: &Context) -> anyhow::Result<()> {
    let keypairs = ctx.open_store()?.list()?;
    if ctx.json {
        let items: Vec<_> = keypairs
            .iter()
            .map(|k| json!({ "keypair": output::keypair_json(k) }))
            .collect();
        output::print_json(&json!({ "keypairs": items }))?;
    } else {
        output::print_table(&keypairs)?;
    }
    Ok(())
}
