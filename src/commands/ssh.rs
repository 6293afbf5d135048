//! `kps ssh NAME [SSH ARGS...]`: run ssh with one keypair, served by a
//! private agent in this process that lives as long as the ssh run.

use super::Context;
use crate::cli::SshArgs;
use crate::report::CliError;
use kps::agent::oneshot::{self, OneShot};
use kps::agent::server::{self, HeldKey};
use serde_json::json;
use std::ffi::OsString;

pub fn run(ctx: &Context, args: SshArgs) -> anyhow::Result<()> {
    let (name, ssh_args) = split(&args.name_and_ssh_args)?;
    let program: OsString = match &args.ssh {
        Some(program) => program.into(),
        None => std::env::var_os("KPS_SSH")
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| "ssh".into()),
    };
    let store = ctx.open_store()?;
    let keypair = store.get(&name)?;
    if !keypair.has_private_key {
        return Err(kps::Error::NoPrivateKey(keypair.name).into());
    }
    if !server::servable_algorithm(&keypair.algorithm) {
        return Err(server::unservable(&keypair.name, &keypair.algorithm).into());
    }
    if args.print_command {
        return print_command(ctx, &program, &ssh_args);
    }
    let key = super::private_key_of(ctx, &store, &keypair)?;
    let held = HeldKey::new(keypair.name, key)?;
    drop(store);
    let code = {
        let agent = OneShot::start(held)?;
        // Stopped before ssh runs: clean up and exit as a cancelled prompt.
        crate::interrupt::on_stop_exiting(agent.stopper(), 130);
        let mut child = oneshot::ssh_command(&program, agent.socket(), &ssh_args)
            .spawn()
            .map_err(|source| kps::Error::SshNotRun {
                program: program.clone().into(),
                source,
            })?;
        // From now on a SIGINT, SIGTERM or SIGHUP is ssh's to act on; kps
        // waits for it to end, then cleans up.
        crate::interrupt::forward_to(Some(child.id()));
        let status = child.wait();
        crate::interrupt::forward_to(None);
        agent.stop();
        oneshot::exit_code(status?)
    };
    // ssh's own status, whatever it is: ssh has said what went wrong.
    std::process::exit(code);
}

/// The command line, quoted for a POSIX shell; the socket as a pattern,
/// since it is made fresh for each run.
fn print_command(ctx: &Context, program: &OsString, ssh_args: &[OsString]) -> anyhow::Result<()> {
    let socket = oneshot::socket_pattern();
    let mut argv = vec![program.clone()];
    argv.extend(oneshot::ssh_arguments(&socket, ssh_args));
    let line = argv
        .iter()
        .map(|a| kps::text::shell_word(&a.to_string_lossy()))
        .collect::<Vec<_>>()
        .join(" ");
    if ctx.json {
        let words: Vec<String> = argv
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        crate::output::print_json(&json!({ "command": words, "line": line }))?;
    } else {
        // Quoted, but an argument may still hold a control character in
        // its quotes: escaped for the terminal.
        crate::output::print_text(&kps::text::escape(&line))?;
    }
    Ok(())
}

/// NAME and ssh's arguments; a `--` right after NAME only marks where
/// ssh's begin (as it did before kps took everything after NAME for ssh),
/// and is not passed on: ssh would read the options after it as the host.
fn split(words: &[OsString]) -> anyhow::Result<(String, Vec<OsString>)> {
    let (name, rest) = words
        .split_first()
        .ok_or_else(|| CliError::usage("kps ssh needs NAME", "kps ssh NAME [SSH ARGS...]"))?;
    let name = name.to_str().ok_or_else(|| {
        CliError::usage(
            "the keypair name is not UTF-8",
            "see 'kps list' for the names",
        )
    })?;
    let rest = match rest.split_first() {
        Some((first, after)) if first == "--" => after,
        _ => rest,
    };
    Ok((name.to_string(), rest.to_vec()))
}
