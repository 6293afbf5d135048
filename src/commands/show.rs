use super::Context;
use crate::cli::ShowArgs;
use crate::output;
use serde_json::json;

pub fn run(ctx: &Context, args: ShowArgs) -> anyhow::Result<()> {
    let store = ctx.open_store()?;
    let keypair = store.get(&args.name)?;
    // Store::get refused a damaged line (a control character in it), so
    // every form may show it.
    let line = keypair.public_line.as_str();
    if args.public && ctx.json {
        // --json always means one JSON document.
        output::print_json(&json!({ "name": keypair.name, "public_key": line.trim_end() }))?;
    } else if args.public {
        output::print_text(line)?;
    } else {
        let servers = store.bindings(Some(&keypair.name), None)?;
        if ctx.json {
            let servers: Vec<_> = servers.iter().map(output::binding_json).collect();
            output::print_json(&json!({
                "keypair": output::keypair_json(&keypair),
                "servers": servers,
            }))?;
        } else {
            output::print_keypair(&keypair)?;
            output::print_servers(&servers)?;
        }
    }
    Ok(())
}
