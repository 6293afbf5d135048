//! `kps import --from-dir` on a directory like a real ~/.ssh: keypair names
//! made from file names by the documented rule, clashes and encrypted files
//! left out (exit 8) while the rest is imported, `--skip-existing`, and the
//! warning for a key already stored under another name (single imports too).

mod common;
use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// A directory `name` under the test's directory, with `script` run in it.
fn dir_with(kps: &Kps, name: &str, script: &str) -> PathBuf {
    let dir = kps.path(name);
    std::fs::create_dir(&dir).unwrap();
    sh(script, &dir);
    dir
}

/// The fingerprint ssh-keygen gives a key file.
fn fingerprint(path: &Path) -> String {
    tool_ok("ssh-keygen", &[&"-l", &"-E", &"sha256", &"-f", &path])
        .split_whitespace()
        .nth(1)
        .unwrap()
        .to_string()
}

fn file_name(v: &Value) -> String {
    Path::new(v["file"].as_str().unwrap())
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

/// The names of the keypairs a --from-dir document lists as imported.
fn imported(doc: &Value) -> Vec<String> {
    doc["keypairs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["keypair"]["name"].as_str().unwrap().to_string())
        .collect()
}

/// (file name, error code) of each left-out entry.
fn left_out(doc: &Value) -> Vec<(String, String)> {
    doc["left_out"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (file_name(l), l["error_code"].as_str().unwrap().to_string()))
        .collect()
}

fn names(kps: &Kps) -> Vec<String> {
    kps.run(&["list", "--names"])
        .ok()
        .stdout()
        .lines()
        .map(str::to_string)
        .collect()
}

fn fingerprint_of(kps: &Kps, name: &str) -> String {
    kps.run(&["--json", "show", name]).ok().json()["keypair"]["fingerprint"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn names_come_from_file_names_by_the_documented_rule() {
    if !have_tool("ssh-keygen") {
        return;
    }
    let kps = Kps::new();
    let dir = dir_with(
        &kps,
        "dotssh",
        "ssh-keygen -q -t ed25519 -N '' -f github.com.key
         ssh-keygen -q -t ed25519 -N '' -f 'aws prod.pem'
         ssh-keygen -q -t ed25519 -N '' -f deploy@ci
         ssh-keygen -q -t ed25519 -N '' -f id_ed25519
         ssh-keygen -q -t ed25519 -N '' -f WEB.PPK.key
         ssh-keygen -q -t ed25519 -N '' -f @@@
         ssh-keygen -q -t ed25519 -N '' -f \"$(printf 'x%.0s' $(seq 80))\"",
    );
    let run = kps
        .run(&["--json", "import", "--from-dir", dir.to_str().unwrap()])
        .expect(8);
    let doc = run.json();
    let long = "x".repeat(64);
    assert_eq!(
        imported(&doc),
        // In file name order, byte by byte.
        [
            "WEB_PPK",
            "aws_prod",
            "deploy_ci",
            "github_com",
            "id_ed25519",
            long.as_str()
        ]
    );
    // The file whose name has nothing usable is left out, named.
    assert_eq!(
        left_out(&doc),
        [("@@@".to_string(), "KPS.0002".to_string())]
    );
    assert!(
        doc["left_out"][0]["error_msg"]
            .as_str()
            .unwrap()
            .contains("gives no keypair name"),
        "{doc}"
    );
    // Each keypair holds the key of its file.
    for (file, name) in [
        ("github.com.key", "github_com"),
        ("aws prod.pem", "aws_prod"),
        ("deploy@ci", "deploy_ci"),
    ] {
        assert_eq!(fingerprint_of(&kps, name), fingerprint(&dir.join(file)));
    }
    let err = run.error_json();
    assert_eq!(err["error_code"], "KPS.7034", "{err}");
}

#[test]
fn clashes_are_left_out_and_the_rest_is_imported() {
    if !have_tool("ssh-keygen") {
        return;
    }
    let kps = Kps::new();
    kps.create("web", &[]);
    let web_before = fingerprint_of(&kps, "web");
    let dir = dir_with(
        &kps,
        "keys",
        "ssh-keygen -q -t ed25519 -N '' -f deploy@ci
         ssh-keygen -q -t ed25519 -N '' -f deploy_ci
         ssh-keygen -q -t ed25519 -N '' -f web.pem
         ssh-keygen -q -t ecdsa -N '' -f ok",
    );
    let run = kps
        .run(&["--json", "import", "--from-dir", dir.to_str().unwrap()])
        .expect(8);
    let doc = run.json();
    assert_eq!(imported(&doc), ["deploy_ci", "ok"]);
    assert_eq!(
        left_out(&doc),
        [
            ("deploy_ci".to_string(), "KPS.7001".to_string()),
            ("web.pem".to_string(), "KPS.7001".to_string())
        ]
    );
    let entries = doc["left_out"].as_array().unwrap();
    for entry in entries {
        let keys: Vec<&str> = entry
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.as_str())
            .collect();
        assert_eq!(keys, ["file", "error_code", "error_msg", "hint"], "{entry}");
        assert!(
            entry["hint"]
                .as_str()
                .unwrap()
                .contains("kps import NAME --private-key FILE")
        );
    }
    assert!(
        entries[0]["error_msg"]
            .as_str()
            .unwrap()
            .contains("taken by the key file")
            && entries[0]["error_msg"]
                .as_str()
                .unwrap()
                .contains("deploy@ci"),
        "{doc}"
    );
    assert!(
        entries[1]["error_msg"]
            .as_str()
            .unwrap()
            .contains("taken by a keypair in the store"),
        "{doc}"
    );
    // The first file in name order has the name; the stored keypair is untouched.
    assert_eq!(
        fingerprint_of(&kps, "deploy_ci"),
        fingerprint(&dir.join("deploy@ci"))
    );
    assert_eq!(fingerprint_of(&kps, "web"), web_before);
    assert_eq!(names(&kps), ["deploy_ci", "ok", "web"]);

    // The error on stderr lists the same files, for scripts that read it.
    let err = run.error_json();
    assert_eq!(err["error_code"], "KPS.7034");
    let failures: Vec<String> = err["failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(file_name)
        .collect();
    assert_eq!(failures, ["deploy_ci", "web.pem"]);

    // As text: the imported on stdout; each left-out file with its hint on
    // stderr, and the exit status says something was left out.
    let other = Kps::new();
    other.create("web", &[]);
    let run = other
        .run(&["import", "--from-dir", dir.to_str().unwrap()])
        .expect(8);
    assert!(
        run.stdout().contains("Imported keypair deploy_ci"),
        "{}",
        run.stdout()
    );
    assert!(
        run.stdout().contains("Imported keypair ok"),
        "{}",
        run.stdout()
    );
    let stderr = run.stderr();
    assert!(
        stderr.starts_with("error: 2 key files left out; 2 keys imported"),
        "{stderr}"
    );
    for file in ["deploy_ci: keypair name", "web.pem: keypair name"] {
        assert!(stderr.contains(file), "{stderr}");
    }
    assert!(stderr.contains("    hint: rename the file"), "{stderr}");

    // Nothing left out: exit 0.
    let clean = dir_with(&kps, "clean", "ssh-keygen -q -t ed25519 -N '' -f fresh");
    kps.run(&["import", "--from-dir", clean.to_str().unwrap()])
        .ok();
}

#[test]
fn a_refused_key_still_fails_the_whole_batch_listing_clashes_too() {
    if !(have_tool("ssh-keygen") && have_tool("openssl")) {
        return;
    }
    let kps = Kps::new();
    let dir = dir_with(
        &kps,
        "keys",
        "ssh-keygen -q -t ed25519 -N '' -f a@b
         ssh-keygen -q -t ed25519 -N '' -f a_b
         openssl genrsa -traditional -out weak.pem 1024 2>/dev/null",
    );
    let err = kps
        .run(&["--json", "import", "--from-dir", dir.to_str().unwrap()])
        .expect(5)
        .error_json();
    assert_eq!(err["error_code"], "KPS.7018");
    let failures: Vec<(String, String)> = err["failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (file_name(f), f["error_code"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(
        failures,
        [
            ("a_b".to_string(), "KPS.7001".to_string()),
            ("weak.pem".to_string(), "KPS.6009".to_string())
        ]
    );
    assert!(names(&kps).is_empty());
}

#[test]
fn skip_existing_skips_keys_stored_under_any_name() {
    if !have_tool("ssh-keygen") {
        return;
    }
    let kps = Kps::new();
    let dir = dir_with(
        &kps,
        "keys",
        "ssh-keygen -q -t ed25519 -N '' -f one
         ssh-keygen -q -t ed25519 -N '' -f two
         ssh-keygen -q -t ed25519 -N '' -f three",
    );
    // `three` is stored already under another name.
    kps.run(&[
        "import",
        "elsewhere",
        "--private-key",
        dir.join("three").to_str().unwrap(),
    ])
    .ok();
    let dir_arg = dir.to_str().unwrap();
    let doc = kps
        .run(&["--json", "import", "--from-dir", dir_arg, "--skip-existing"])
        .ok()
        .json();
    assert_eq!(imported(&doc), ["one", "two"]);
    let skipped: Vec<&Value> = doc["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s.get("stored_as").is_some())
        .collect();
    assert_eq!(skipped.len(), 1, "{doc}");
    assert_eq!(file_name(skipped[0]), "three");
    assert_eq!(skipped[0]["stored_as"], "elsewhere");
    assert_eq!(skipped[0]["reason"], "already stored as elsewhere");
    assert!(doc["left_out"].as_array().unwrap().is_empty());
    assert_eq!(names(&kps), ["elsewhere", "one", "two"]);

    // Run again: everything is stored, nothing changes, exit 0.
    let run = kps
        .run(&["import", "--from-dir", dir_arg, "--skip-existing"])
        .ok();
    for line in [
        "Skipped DIR/one: already stored as one",
        "Skipped DIR/three: already stored as elsewhere",
        "Skipped DIR/two: already stored as two",
    ] {
        let line = line.replace("DIR", dir_arg);
        assert!(run.stdout().contains(&line), "{line}: {}", run.stdout());
    }
    assert!(!run.stdout().contains("Imported"), "{}", run.stdout());
    assert_eq!(names(&kps), ["elsewhere", "one", "two"]);

    // Without it, files whose names are taken are left out: the same key
    // under its own name says so.
    let doc = kps
        .run(&["--json", "import", "--from-dir", dir_arg])
        .expect(8)
        .json();
    assert_eq!(imported(&doc), ["three"]);
    let one = &doc["left_out"][0];
    assert_eq!(file_name(one), "one");
    assert!(
        one["error_msg"]
            .as_str()
            .unwrap()
            .contains("the same key, already stored under it (--skip-existing skips it)"),
        "{doc}"
    );
    // `three` is imported again under its own name, with a warning.
    assert_eq!(
        doc["warnings"],
        serde_json::json!([
            "three: already stored as elsewhere (the same key; imported again under this name)"
        ])
    );
    assert_eq!(names(&kps), ["elsewhere", "one", "three", "two"]);
}

#[test]
fn skip_existing_and_the_duplicate_warning_for_single_imports() {
    if !have_tool("ssh-keygen") {
        return;
    }
    let kps = Kps::new();
    sh("ssh-keygen -q -t ed25519 -N '' -f k", kps.dir.path());
    let first = kps
        .run(&["--json", "import", "first", "--private-key", "k"])
        .ok()
        .json();
    assert!(first.get("warnings").is_none(), "{first}");

    // Already stored: exit 0, nothing new, the stored keypair shown.
    let doc = kps
        .run(&[
            "--json",
            "import",
            "second",
            "--private-key",
            "k",
            "--skip-existing",
        ])
        .ok()
        .json();
    assert_eq!(doc["imported"], false);
    assert_eq!(doc["stored_as"], "first");
    assert_eq!(doc["keypair"]["name"], "first");
    assert_eq!(
        doc["keypair"]["fingerprint"],
        first["keypair"]["fingerprint"]
    );
    let run = kps
        .run(&[
            "import",
            "second",
            "--public-key",
            "k.pub",
            "--skip-existing",
        ])
        .ok();
    assert!(
        run.stdout()
            .starts_with("Already stored as keypair first (ssh-ed25519 256)"),
        "{}",
        run.stdout()
    );
    assert_eq!(names(&kps), ["first"]);

    // Without --skip-existing: imported, with a warning on stderr (text) or
    // in the document's warnings (JSON).
    let run = kps.run(&["import", "second", "--private-key", "k"]).ok();
    assert!(
        run.stderr()
            .contains("warning: second: already stored as first (the same key; imported again under this name)"),
        "{}",
        run.stderr()
    );
    let doc = kps
        .run(&["--json", "import", "third", "--public-key", "k.pub"])
        .ok()
        .json();
    assert_eq!(
        doc["warnings"],
        serde_json::json!([
            "third: already stored as first, second (the same key; imported again under this name)"
        ])
    );
    assert_eq!(names(&kps), ["first", "second", "third"]);

    // The name taken by another key: still exit 4, with or without the flag.
    sh("ssh-keygen -q -t ed25519 -N '' -f other", kps.dir.path());
    for extra in [&[][..], &["--skip-existing"]] {
        let mut args = vec!["--json", "import", "first", "--private-key", "other"];
        args.extend(extra);
        let err = kps.run(&args).expect(4).error_json();
        assert_eq!(err["error_code"], "KPS.7001");
    }
    // The same name and key without the flag: exit 4 as before.
    kps.run(&["import", "first", "--private-key", "k"])
        .expect(4);
    kps.run(&[
        "import",
        "first",
        "--private-key",
        "k",
        "--skip-existing",
        "--dry-run",
    ])
    .ok();
}

#[test]
fn two_files_with_one_key_are_both_imported_with_a_warning_or_one_skipped() {
    if !have_tool("ssh-keygen") {
        return;
    }
    let kps = Kps::new();
    let dir = dir_with(
        &kps,
        "keys",
        "ssh-keygen -q -t ed25519 -N '' -f a && cp a b",
    );
    let doc = kps
        .run(&[
            "--json",
            "import",
            "--from-dir",
            dir.to_str().unwrap(),
            "--dry-run",
        ])
        .ok()
        .json();
    assert_eq!(imported(&doc), ["a", "b"]);
    assert_eq!(
        doc["warnings"],
        serde_json::json!(["b: the same key as a in this import (imported under both names)"])
    );
    let doc = kps
        .run(&[
            "--json",
            "import",
            "--from-dir",
            dir.to_str().unwrap(),
            "--skip-existing",
        ])
        .ok()
        .json();
    assert_eq!(imported(&doc), ["a"]);
    assert_eq!(names(&kps), ["a"]);
}

#[test]
fn encrypted_files_are_left_out_without_a_terminal_or_a_fitting_passphrase() {
    if !have_tool("ssh-keygen") {
        return;
    }
    let kps = Kps::new();
    let dir = dir_with(
        &kps,
        "keys",
        "ssh-keygen -q -t ed25519 -N 'key pass' -f locked1
         ssh-keygen -q -t ed25519 -N 'not it' -f locked2
         ssh-keygen -q -t ed25519 -N '' -f plain",
    );
    let dir_arg = dir.to_str().unwrap();
    // No terminal, no passphrase: both encrypted files left out, not asked for.
    let run = kps
        .run(&["--json", "import", "--from-dir", dir_arg, "--dry-run"])
        .expect(8);
    let doc = run.json();
    assert_eq!(imported(&doc), ["plain"]);
    assert_eq!(
        left_out(&doc),
        [
            ("locked1".to_string(), "KPS.7015".to_string()),
            ("locked2".to_string(), "KPS.7015".to_string())
        ]
    );
    assert!(
        doc["left_out"][0]["hint"]
            .as_str()
            .unwrap()
            .contains("--key-passphrase-file"),
        "{doc}"
    );
    // One passphrase for all: the file it opens is imported, the other left
    // out with the same hint as a single import.
    let pass = kps.path("key-pass");
    std::fs::write(&pass, "key pass\n").unwrap();
    let run = kps
        .run(&[
            "--json",
            "import",
            "--from-dir",
            dir_arg,
            "--key-passphrase-file",
            pass.to_str().unwrap(),
        ])
        .expect(8);
    let doc = run.json();
    assert_eq!(imported(&doc), ["locked1", "plain"]);
    assert_eq!(
        left_out(&doc),
        [("locked2".to_string(), "KPS.7016".to_string())]
    );
    assert_eq!(
        doc["left_out"][0]["hint"],
        "check --key-passphrase-file; nothing was stored"
    );
    assert_eq!(
        fingerprint_of(&kps, "locked1"),
        fingerprint(&dir.join("locked1.pub"))
    );
    assert_no_secrets(&run);
}

#[test]
fn a_planted_row_cannot_make_skip_existing_skip_a_key() {
    if !have_tool("ssh-keygen") {
        return;
    }
    let kps = Kps::new();
    sh("ssh-keygen -q -t ed25519 -N '' -f k", kps.dir.path());
    kps.run(&["import", "victim", "--private-key", "k"]).ok();
    // Someone who can write the store renames the row: it no longer carries
    // a MAC that kps made, yet holds the fingerprint of the key.
    let conn = rusqlite::Connection::open(kps.db()).unwrap();
    conn.execute(
        "UPDATE keypairs SET name = 'planted', mac = NULL WHERE name = 'victim'",
        [],
    )
    .unwrap();
    drop(conn);
    let err = kps
        .run(&[
            "--json",
            "import",
            "victim",
            "--private-key",
            "k",
            "--skip-existing",
        ])
        .expect(7)
        .error_json();
    assert_eq!(err["error_code"], "KPS.6011", "{err}");
}

/// A .ppk v2 derives its key without a KDF kps prices: it is encrypted all
/// the same, and opened with the passphrase given.
#[test]
fn encrypted_ppk_v2_and_v3_files_open_with_the_one_passphrase() {
    if !have_tool("puttygen") {
        return;
    }
    let kps = Kps::new();
    let dir = dir_with(
        &kps,
        "keys",
        "printf 'key pass\\n' > ../key-pass
         puttygen -q -t ed25519 -o v2.ppk --new-passphrase ../key-pass --ppk-param version=2
         puttygen -q -t ed25519 -o v3.ppk --new-passphrase ../key-pass",
    );
    let doc = kps
        .run(&[
            "--json",
            "import",
            "--from-dir",
            dir.to_str().unwrap(),
            "--key-passphrase-file",
            kps.path("key-pass").to_str().unwrap(),
        ])
        .ok()
        .json();
    assert_eq!(imported(&doc), ["v2", "v3"]);
    // Stored now: without the passphrase, and without a terminal, the
    // public key each file shows in the clear settles it (a re-run in CI).
    let dir_arg = dir.to_str().unwrap();
    let doc = kps
        .run(&["--json", "import", "--from-dir", dir_arg, "--skip-existing"])
        .ok()
        .json();
    assert!(imported(&doc).is_empty());
    let stored_as: Vec<&str> = doc["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["stored_as"].as_str())
        .collect();
    assert_eq!(stored_as, ["v2", "v3"]);
    // Without the flag their names are taken: left out, saying so.
    let doc = kps
        .run(&["--json", "import", "--from-dir", dir_arg, "--dry-run"])
        .expect(8)
        .json();
    assert_eq!(
        left_out(&doc),
        [
            ("v2.ppk".to_string(), "KPS.7001".to_string()),
            ("v3.ppk".to_string(), "KPS.7001".to_string())
        ]
    );
}

/// A copy of a key under a file name that clashes with the original's
/// (`deploy_ci` beside `deploy@ci`): left out on the first run, and on a
/// re-run with --skip-existing skipped as already stored, not left out
/// again, so the re-run exits 0.
#[test]
fn a_copy_under_a_clashing_file_name_is_skipped_on_a_rerun() {
    if !have_tool("ssh-keygen") {
        return;
    }
    let kps = Kps::new();
    let dir = dir_with(
        &kps,
        "ssh",
        "ssh-keygen -q -t ed25519 -N '' -f deploy@ci && cp deploy@ci deploy_ci",
    );
    let first = kps.run(&["--json", "import", "--from-dir", dir.to_str().unwrap()]);
    let doc = first.expect(8).json();
    assert_eq!(imported(&doc), ["deploy_ci"]);
    assert_eq!(
        left_out(&doc),
        [("deploy_ci".to_string(), "KPS.7001".to_string())]
    );

    let again = kps.run(&[
        "--json",
        "import",
        "--from-dir",
        dir.to_str().unwrap(),
        "--skip-existing",
    ]);
    let doc = again.ok().json();
    assert!(imported(&doc).is_empty(), "{doc}");
    assert!(left_out(&doc).is_empty(), "{doc}");
    let skipped: Vec<String> = doc["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["stored_as"] == "deploy_ci")
        .map(file_name)
        .collect();
    assert_eq!(skipped, ["deploy@ci", "deploy_ci"], "{doc}");
    assert_eq!(names(&kps), ["deploy_ci"]);
}
