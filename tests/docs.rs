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

/// The README's lines for man pages and completions, run as written on a
/// new account (an empty HOME, PATH as rustup leaves it, `kps` in
/// ~/.cargo/bin where `cargo install` puts it): then `man kps-show` shows
/// the page and each shell has kps's completion.
#[test]
fn readme_install_lines_work_on_a_fresh_home() {
    for tool in ["man", "bash", "zsh", "fish"] {
        if !have_tool(tool) {
            return;
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    assert!(
        readme.contains("cargo install --locked --path .   # builds kps into ~/.cargo/bin"),
        "the README says where cargo install puts kps"
    );
    let block = readme
        .split_once("<!-- install-extras")
        .and_then(|(_, rest)| rest.split_once("```sh\n"))
        .and_then(|(_, rest)| rest.split_once("```"))
        .map(|(block, _)| block)
        .expect("the README's install-extras block");
    let home = tempfile::tempdir().unwrap();
    let cargo_bin = home.path().join(".cargo/bin");
    std::fs::create_dir_all(&cargo_bin).unwrap();
    std::os::unix::fs::symlink(bin(), cargo_bin.join("kps")).unwrap();
    let path = format!("{}:/usr/local/bin:/usr/bin:/bin", cargo_bin.display());
    let run = |program: &str, args: &[&str]| {
        let out = std::process::Command::new(program)
            .args(args)
            .current_dir(root)
            .env_clear()
            .env("HOME", home.path())
            .env("PATH", &path)
            .env("TERM", "dumb")
            .env("MANWIDTH", "80")
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{program} {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let lines: Vec<&str> = block.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 4, "{block}");
    for line in lines {
        run("bash", &["-ec", line]);
    }

    let page = run("man", &["-w", "kps-show"]);
    assert!(
        page.starts_with(&home.path().display().to_string()),
        "{page}"
    );
    let text = run("man", &["kps-show"]);
    assert!(text.contains("Everything but the private key"), "{text}");
    assert!(run("man", &["kps"]).contains("kps-export-ppk(1)"));

    assert!(run("bash", &["-ic", "complete -p kps"]).contains("kps"));
    assert!(run("zsh", &["-ic", "whence -w _clap_dynamic_completer_kps"]).contains("function"));
    assert!(run("fish", &["-c", "complete --do-complete 'kps sh'"]).starts_with("show\t"));
}

#[test]
fn man_pages_carry_the_readme_and_list_only_real_pages() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let kps_page = std::fs::read_to_string(root.join("man/kps.1")).unwrap();
    // Every kps-X(1) that kps(1) names exists.
    for name in kps_page.split("kps\\-").skip(1) {
        let sub: String = name
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || *c == '\\' || *c == '-')
            .collect::<String>()
            .replace("\\-", "-");
        let sub = sub.trim_end_matches('-');
        if kps_page.contains(&format!("kps\\-{}(1)", sub.replace('-', "\\-"))) {
            assert!(
                root.join(format!("man/kps-{sub}.1")).exists(),
                "kps(1) names kps-{sub}(1), which does not exist"
            );
        }
    }
    assert!(!kps_page.contains("kps\\-help"));
    // Each subcommand's page has more than its one-line summary: the README's words.
    for (page, words) in [
        ("kps-import.1", "Detection is by content, not file name"),
        ("kps-export-ppk.1", "too new"),
        ("kps-backup.1", "A lost store is lost keys"),
        ("kps-set-encryption.1", "never leaves an HSM"),
    ] {
        let text = std::fs::read_to_string(root.join("man").join(page)).unwrap();
        assert!(text.contains(words), "{page} lacks the README's {words:?}");
    }
}

#[test]
fn long_help_is_the_readme_section_and_short_help_the_summary() {
    let help = |flag: &str| {
        let out = std::process::Command::new(bin())
            .args(["export-ppk", flag])
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    assert!(help("--help").contains("Writes a PuTTY private key file"));
    assert!(!help("-h").contains("Writes a PuTTY private key file"));
}

/// Every subcommand `kps --help` lists has a README section, which its
/// long help (and so its man page) carries.
#[test]
fn every_listed_subcommand_has_its_readme_section() {
    let run = |args: &[&str]| {
        let out = std::process::Command::new(bin())
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "kps {args:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    let top = run(&["--help"]);
    let subs: Vec<&str> = top
        .lines()
        .take_while(|l| !l.starts_with("Options:"))
        .filter_map(|l| l.strip_prefix("  "))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(subs.len() >= 20, "{subs:?}");
    for sub in subs {
        let long = run(&[sub, "--help"]);
        let short = run(&[sub, "-h"]);
        let short_lines: Vec<&str> = short.lines().collect();
        assert!(
            long.lines()
                .any(|l| l.len() > 30 && !short_lines.contains(&l) && !l.starts_with(' ')),
            "kps {sub} --help carries no README section (add a heading naming `kps {sub}`)"
        );
    }
}

/// Every error code kps can print is in the README's table, which is one
/// table (a blank line inside it splits it in two when rendered), in order.
#[test]
fn the_readme_error_table_lists_every_code_once_in_order() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let report = std::fs::read_to_string(root.join("src/report.rs")).unwrap();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let codes_in = |text: &str| -> Vec<String> {
        text.match_indices("\"KPS.")
            .map(|(i, _)| text[i + 1..i + 9].to_string())
            .filter(|c| c[4..].chars().all(|d| d.is_ascii_digit()))
            .collect()
    };
    let section = readme
        .split_once("## Error codes")
        .and_then(|(_, rest)| rest.split_once("\n## "))
        .map(|(s, _)| s)
        .unwrap();
    let table: Vec<&str> = section
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .collect();
    let listed: Vec<String> = table
        .iter()
        .skip(2)
        .map(|row| row.split('|').nth(1).unwrap().trim().to_string())
        .collect();
    let mut sorted = listed.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(
        listed, sorted,
        "the table is not in order, or lists a code twice"
    );
    for code in codes_in(&report) {
        assert!(
            listed.contains(&code),
            "{code} is not in the README's table"
        );
    }
}
