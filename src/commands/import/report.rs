//! What `import` prints: the keypairs stored, the keys already stored
//! (`--skip-existing`), the files skipped and left out, and the warnings;
//! one JSON document with `--json`.

use super::Outcome;
use crate::commands::Context;
use crate::output;
use kps::text::escape;
use serde_json::{Value, json};

pub(super) fn print(ctx: &Context, outcome: &Outcome, dry_run: bool) -> anyhow::Result<()> {
    let Outcome {
        batch,
        records,
        already,
        skipped,
        left_out,
        warnings,
    } = outcome;
    if ctx.json {
        let mut doc = if *batch {
            let mut skipped: Vec<Value> = skipped
                .iter()
                .map(|(p, why)| json!({ "file": p, "reason": why }))
                .collect();
            skipped.extend(already.iter().map(|(p, name, _)| {
                json!({ "file": p, "reason": format!("already stored as {name}"), "stored_as": name })
            }));
            json!({
                "keypairs": records.iter()
                    .map(|k| json!({ "keypair": output::keypair_json(k) }))
                    .collect::<Vec<Value>>(),
                "skipped": skipped,
                "left_out": left_out.iter().map(|(p, e)| {
                    let (code, hint) = crate::report::code_and_hint(e);
                    json!({ "file": p, "error_code": code, "error_msg": e.to_string(), "hint": hint })
                }).collect::<Vec<Value>>(),
            })
        } else if let Some((_, name, stored)) = already.first() {
            json!({
                "keypair": stored.as_ref().map(output::keypair_json),
                "imported": false,
                "stored_as": name,
            })
        } else {
            json!({ "keypair": records.first().map(output::keypair_json) })
        };
        if !warnings.is_empty() {
            doc["warnings"] = json!(warnings);
        }
        if dry_run {
            doc["dry_run"] = json!(true);
        }
        output::print_json(&doc)?;
        return Ok(());
    }
    for w in warnings {
        output::warn(w);
    }
    let verb = if dry_run { "Would import" } else { "Imported" };
    let mut text = String::new();
    // File names come from the directory, whoever wrote it: escaped.
    for k in records {
        text.push_str(&format!(
            "{verb} keypair {} ({} {})\n{}\n",
            escape(&k.name),
            escape(&k.algorithm),
            k.bits,
            escape(&k.fingerprint)
        ));
        if !batch {
            // Built from the key just read, whose comment was checked.
            text.push_str(&format!("{}\n", escape(&k.public_line)));
        }
    }
    for (file, name, stored) in already {
        match (file, stored) {
            (Some(p), _) => text.push_str(&format!(
                "Skipped {}: already stored as {}\n",
                escape(&p.display().to_string()),
                escape(name)
            )),
            (None, Some(k)) => text.push_str(&format!(
                "Already stored as keypair {} ({} {})\n{}\n",
                escape(&k.name),
                escape(&k.algorithm),
                k.bits,
                escape(&k.fingerprint)
            )),
            (None, None) => {}
        }
    }
    for (p, why) in skipped {
        text.push_str(&format!(
            "Skipped {}: {}\n",
            escape(&p.display().to_string()),
            escape(why)
        ));
    }
    if *batch && records.is_empty() && already.is_empty() && left_out.is_empty() {
        text.push_str("No private keys found\n");
    }
    ctx.status(&text)?;
    Ok(())
}
