//! Shell completion, done by kps itself (clap_complete's dynamic engine):
//! the scripts in completions/ only hand the words typed so far to
//! `KPS_COMPLETE=<shell> kps -- WORDS`, so subcommands, flags and the names
//! of the keypairs in the store all come from this binary and cannot drift
//! from it.

use clap_complete::engine::{ArgValueCandidates, CompletionCandidate};
use clap_complete::env::{Bash, Elvish, EnvCompleter, Fish, Powershell, Zsh};
use std::ffi::OsString;
use std::path::PathBuf;

/// The variable that switches kps into completion mode. Not clap's default
/// `COMPLETE`: a variable of that name left in a CI job's environment would
/// turn every kps call into a completion request.
pub const VAR: &str = "KPS_COMPLETE";

/// Answer a completion request and exit, if this process is one.
pub fn serve() {
    clap_complete::CompleteEnv::with_factory(crate::docs::grouped_command)
        .var(VAR)
        .complete();
}

/// Attached to every argument that names an existing keypair.
pub fn keypair_names() -> ArgValueCandidates {
    ArgValueCandidates::new(stored_names)
}

/// The stored keypairs' names, with their algorithm as the description
/// (zsh and fish show it). Anything that goes wrong (no store, a store
/// being written, one that fails its checks) completes nothing: a TAB
/// must never print an error into the command line being typed.
fn stored_names() -> Vec<CompletionCandidate> {
    let Some(dir) = store_dir(std::env::args_os()) else {
        return Vec::new();
    };
    // A TAB does not wait on a network: no names from a PostgreSQL store
    // (its member list would have to be checked, with a connection that
    // may take up to the connect timeout).
    if !matches!(kps::store::postgres_target(&dir), Ok(None)) {
        return Vec::new();
    }
    let Ok(store) = kps::store::Store::open_required_at(&dir, None) else {
        return Vec::new();
    };
    let mut names = Vec::new();
    let _ = store.each(|k| -> kps::Result<()> {
        // Names are checked when stored; a store written by someone else
        // could hold anything, and a candidate with a newline or an escape
        // sequence would reach the shell's line editor.
        if kps::name::validate(&k.name).is_ok() {
            names.push(
                CompletionCandidate::new(k.name.clone())
                    .help(Some(format!("{} {}", k.algorithm, k.bits).into())),
            );
        }
        Ok(())
    });
    names
}

/// The store the command being completed will use: its `--store DIR`
/// (`--store=DIR`), else `KPS_STORE`, else the default. The words typed so
/// far follow `--` in this process's arguments.
fn store_dir(args: impl Iterator<Item = OsString>) -> Option<PathBuf> {
    let words: Vec<OsString> = args.skip_while(|a| a != "--").skip(1).collect();
    let mut from_words = None;
    for (i, word) in words.iter().enumerate() {
        if word == "--store" {
            from_words = words.get(i + 1).map(PathBuf::from);
        } else if let Some(dir) = word.to_str().and_then(|w| w.strip_prefix("--store=")) {
            from_words = Some(PathBuf::from(dir));
        }
    }
    from_words
        .filter(|d| !d.as_os_str().is_empty())
        .or_else(|| std::env::var_os("KPS_STORE").map(PathBuf::from))
        .or_else(kps::store::default_dir)
}

/// The scripts committed in completions/, one per shell: each registers
/// `kps` with its shell and calls `kps` from PATH when TAB is pressed.
pub fn scripts() -> std::io::Result<Vec<(&'static str, Vec<u8>)>> {
    let shells: [(&str, &dyn EnvCompleter); 5] = [
        ("kps.bash", &Bash),
        ("_kps", &Zsh),
        ("kps.fish", &Fish),
        ("kps.elv", &Elvish),
        ("_kps.ps1", &Powershell),
    ];
    let mut out = Vec::new();
    for (file, shell) in shells {
        let mut buf = Vec::new();
        shell.write_registration(VAR, "kps", "kps", "kps", &mut buf)?;
        out.push((file, buf));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(words: &[&str]) -> Option<PathBuf> {
        store_dir(words.iter().map(OsString::from))
    }

    #[test]
    fn the_store_comes_from_the_words_typed() {
        let words = ["kps", "--", "kps", "--store", "/s", "show", ""];
        assert_eq!(dir(&words), Some(PathBuf::from("/s")));
        let words = ["kps", "--", "kps", "show", "--store=/t", ""];
        assert_eq!(dir(&words), Some(PathBuf::from("/t")));
        // kps's own arguments before `--` are not the command being typed.
        let words = ["kps", "--store", "/x", "--", "kps", "--store", "/y", ""];
        assert_eq!(dir(&words), Some(PathBuf::from("/y")));
    }
}
