//! The `kps` binary: parse, dispatch, print. The work is in the `kps` library.
#![forbid(unsafe_code)]

mod askpass;
mod cli;
mod commands;
mod complete;
mod docs;
mod interrupt;
mod output;
mod passphrase;
mod progress;
mod report;

use clap::FromArgMatches;
use std::process::ExitCode;

fn main() -> ExitCode {
    harden();
    askpass::serve();
    complete::serve();
    let parsed = docs::grouped_command()
        .try_get_matches()
        .and_then(|m| cli::Cli::from_arg_matches(&m));
    let cli = match parsed {
        Ok(cli) => cli,
        Err(e) => {
            let e = cli::error_without_env(e, docs::grouped_command());
            // clap stops before it knows the flags, so look for --json by hand.
            let json = std::env::args_os().skip(1).any(|a| a == "--json");
            return report::clap_error(e, json);
        }
    };
    let json = cli.json;
    match commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => report::failure(&e, json),
    }
}

/// No core dump may carry a passphrase or a private key out of this process,
/// and other processes of the same user may not ptrace it (as ssh-agent does).
/// Failing to set either is not fatal: kps still works, with the OS default.
fn harden() {
    use rustix::process::{DumpableBehavior, Resource, Rlimit, set_dumpable_behavior, setrlimit};
    let _ = setrlimit(
        Resource::Core,
        Rlimit {
            current: Some(0),
            maximum: Some(0),
        },
    );
    let _ = set_dumpable_behavior(DumpableBehavior::NotDumpable);
}
