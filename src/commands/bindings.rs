use super::Context;
use crate::cli::BindingsArgs;
use crate::output;
use serde_json::json;

/// The servers keypairs are bound to, as the store recorded them (each
/// record's MAC checked); `--host` takes `[::1]` as well as `::1`.
pub fn run(ctx: &Context, args: BindingsArgs) -> anyhow::Result<()> {
    let host = args.host.as_deref().map(|h| {
        h.strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(h)
    });
    let store = ctx.open_store()?;
    let bindings = store.bindings(None, host)?;
    if ctx.json {
        let list: Vec<_> = bindings.iter().map(output::binding_json).collect();
        output::print_json(&json!({ "bindings": list }))?;
    } else if bindings.is_empty() {
        let what = match host {
            Some(h) => format!("No keypair is bound to {}", kps::text::escape(h)),
            None => "No keypair is bound to a server".to_string(),
        };
        ctx.status(&what)?;
    } else {
        output::write_bindings(
            std::io::BufWriter::new(std::io::stdout().lock()),
            &bindings,
            "",
            true,
        )?;
    }
    Ok(())
}
