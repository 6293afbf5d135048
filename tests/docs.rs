//! The committed completions and man pages are exactly what the clap
//! definition generates: a flag added without regenerating fails here.

mod common;
use common::*;
use std::collections::BTreeMap;
use std::path::Path;

fn files_under(root: &Path, dirs: &[&str]) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
            continue;
        };
        for e in entries {
            let e = e.unwrap();
            out.insert(
                format!("{dir}/{}", e.file_name().to_string_lossy()),
                std::fs::read(e.path()).unwrap(),
            );
        }
    }
    out
}

#[test]
fn committed_completions_and_man_pages_are_current() {
    let dir = tempfile::tempdir().unwrap();
    tool_ok(bin(), &[&"generate-docs", &"--dir", &dir.path()]);
    let fresh = files_under(dir.path(), &["completions", "man"]);
    let committed = files_under(
        Path::new(env!("CARGO_MANIFEST_DIR")),
        &["completions", "man"],
    );
    let stale: Vec<&String> = fresh
        .keys()
        .chain(committed.keys())
        .filter(|k| fresh.get(*k) != committed.get(*k))
        .collect();
    assert!(
        stale.is_empty(),
        "out of date: {stale:?}\nrun `cargo run -- generate-docs` and commit completions/ and man/"
    );
    for shell_file in ["kps.bash", "_kps", "kps.fish", "kps.elv", "_kps.ps1"] {
        assert!(fresh.contains_key(&format!("completions/{shell_file}")));
    }
    assert!(fresh.contains_key("man/kps.1") && fresh.contains_key("man/kps-export-ppk.1"));
}

#[test]
fn every_subcommand_has_help_with_examples() {
    let top = std::process::Command::new(bin())
        .arg("--help")
        .output()
        .unwrap();
    let top = String::from_utf8(top.stdout).unwrap();
    for sub in [
        "init",
        "create",
        "import",
        "list",
        "show",
        "find",
        "export",
        "export-ppk",
        "get-win-password",
        "set-encryption",
        "kms",
        "delete",
        "passwd",
    ] {
        assert!(top.contains(&format!("  {sub} ")), "kps --help lacks {sub}");
        let out = std::process::Command::new(bin())
            .args([sub, "--help"])
            .output()
            .unwrap();
        let help = String::from_utf8(out.stdout).unwrap();
        assert!(out.status.success());
        if sub != "kms" {
            assert!(
                help.contains("Examples:"),
                "kps {sub} --help has no examples"
            );
        }
    }
    assert!(!top.contains("generate-docs"), "the generator is hidden");
}
