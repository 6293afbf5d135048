use super::Context;
use crate::cli::RestoreArgs;
use crate::output;
use kps::store::{Backup, Store};
use kps::text::escape;
use serde_json::json;

/// Check the backup whole (a kps store, its passphrase, every row and
/// private key), then replace the store with it in one transaction and pin
/// its identity. Without a store, this makes one: the backup's.
pub fn run(ctx: &Context, args: RestoreArgs) -> anyhow::Result<()> {
    // A store made here is removed again if the restore fails.
    ctx.with_new_or_existing_store(|store| restore(ctx, &args, store))
}

fn restore(ctx: &Context, args: &RestoreArgs, store: &Store) -> anyhow::Result<()> {
    if ctx.store_target.is_some() {
        return Err(kps::Error::NotForTeamStore {
            what: "kps restore".into(),
            hint: "a PostgreSQL store is restored whole with pg_restore (from pg_dump); keypairs come out of a 'kps backup' file with 'kps store copy --from FILE --to STORE'".into(),
        }
        .into());
    }
    store.refuse_team("kps restore")?;
    // The copy is opened and checked before the passphrase is asked for.
    let backup = Backup::open(&args.file, store.db_path())?;
    let verified = ctx.passphrases.open_with(|p| backup.verify(p))?;
    let restored = store.restore(backup, verified, args.force)?;
    if ctx.json {
        output::print_json(&json!({
            "store": ctx.store_dir,
            "restored_from": args.file,
            "keypairs": restored.keypairs,
            "private_keys_opened": restored.private_keys_opened,
            "removed": restored.removed,
        }))?;
    } else {
        let mut text = format!(
            "Restored the store {} from {}: {} keypair(s), {} private key(s) opened and checked; its identity is pinned on this machine",
            escape(&ctx.store_dir.display().to_string()),
            escape(&args.file.display().to_string()),
            restored.keypairs,
            restored.private_keys_opened
        );
        if !restored.removed.is_empty() {
            let names: Vec<String> = restored
                .removed
                .iter()
                .map(|n| escape(n).into_owned())
                .collect();
            text.push_str(&format!(
                "\nRemoved {} keypair(s) that the backup does not hold: {}",
                names.len(),
                names.join(", ")
            ));
        }
        ctx.status(&text)?;
    }
    Ok(())
}
