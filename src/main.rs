//! The `kps` binary: parse, dispatch, print. The work is in the `kps` library.
#![forbid(unsafe_code)]

mod cli;
mod commands;
mod docs;
mod output;
mod passphrase;
mod progress;
mod report;

use clap::FromArgMatches;
use std::process::ExitCode;

fn main() -> ExitCode {
    let parsed = docs::grouped_command()
        .try_get_matches()
        .and_then(|m| cli::Cli::from_arg_matches(&m));
    let cli = match parsed {
        Ok(cli) => cli,
        Err(e) => {
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
