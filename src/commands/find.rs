use super::Context;
use crate::cli::FindArgs;
use crate::output;
use kps::fingerprint::Query;

pub fn run(ctx: &Context, args: FindArgs) -> anyhow::Result<()> {
    let query = Query::parse(&args.fingerprint).ok_or_else(|| {
        kps::Error::invalid_with_hint(
            format!("{:?} is not a fingerprint kps knows", args.fingerprint),
            "give SHA256:<base64>, MD5:<hex>, or hex of 16 bytes (MD5) or 20 bytes (AWS SHA-1)",
        )
    })?;
    let mut found = Vec::new();
    ctx.open_store()?.each(|k| {
        if query.matches(
            &k.fingerprint,
            &k.fingerprint_md5,
            k.fingerprint_aws_created.as_deref(),
            k.fingerprint_aws_imported.as_deref(),
        ) {
            found.push(k);
        }
        Ok::<_, kps::Error>(())
    })?;
    if found.is_empty() {
        return Err(kps::Error::NoMatch(args.fingerprint.trim().to_string()).into());
    }
    if ctx.json {
        let mut list = output::JsonList::start(std::io::BufWriter::new(std::io::stdout().lock()))?;
        for k in &found {
            list.push(k)?;
        }
        list.finish()?;
    } else {
        output::print_table(&found)?;
    }
    Ok(())
}
