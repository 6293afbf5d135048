use super::Context;
use crate::cli::ListArgs;
use crate::output::{JsonList, Table};
use kps::text::escape;
use std::io::{BufWriter, Write};

/// Rows go to stdout as SQLite reads them: memory stays flat however many
/// keypairs the store holds.
pub fn run(ctx: &Context, args: ListArgs) -> anyhow::Result<()> {
    let store = ctx.open_store()?;
    let out = BufWriter::new(std::io::stdout().lock());
    if args.names && ctx.json {
        // --json always means one JSON document: the names as an array.
        let mut list = JsonList::start_named(out, "names")?;
        store.each(|k| list.push_item(&k.name).map_err(anyhow::Error::from))?;
        list.finish()?;
    } else if args.names {
        let mut out = out;
        store.each(|k| -> anyhow::Result<()> {
            out.write_all(escape(&k.name).as_bytes())?;
            out.write_all(b"\n")?;
            Ok(())
        })?;
        out.flush()?;
    } else if ctx.json {
        let mut list = JsonList::start(out)?;
        store.each(|k| list.push(&k).map_err(anyhow::Error::from))?;
        list.finish()?;
    } else {
        let mut table = Table::start(out, store.longest_name()?)?;
        store.each(|k| table.row(&k).map_err(anyhow::Error::from))?;
        table.finish()?;
    }
    Ok(())
}
