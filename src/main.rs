//! The `kps` binary: parse, dispatch, print. The work is in the `kps` library.
#![forbid(unsafe_code)]

mod cli;
mod commands;
mod output;
mod passphrase;
mod progress;
mod report;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
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
