use super::Context;
use crate::cli::ListArgs;
use crate::output;
use serde_json::json;

pub fn run(ctx: &Context, args: ListArgs) -> anyhow::Result<()> {
    let keypairs = ctx.open_store()?.list()?;
    if args.names {
        let mut text = String::new();
        for k in &keypairs {
            text.push_str(&k.name);
            text.push('\n');
        }
        if !text.is_empty() {
            output::print_text(&text)?;
        }
    } else if ctx.json {
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
