//! The command line as a contract: parameter checks, exit codes, JSON errors,
//! prompts refused without a terminal, and output that survives a closed pipe.

mod common;
use common::*;

fn names(kps: &Kps) -> Vec<String> {
    kps.run(&["--json", "list"]).ok().json()["keypairs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["keypair"]["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn json_fields_follow_the_service() {
    let kps = Kps::new();
    let doc = kps.create(
        "web01",
        &[
            "-C",
            "ops@example",
            "--description",
            "web tier",
            "--user-id",
            "u-42",
        ],
    );
    let k = &doc["keypair"];
    assert_eq!(k["name"], "web01");
    assert_eq!(k["type"], "ssh");
    assert_eq!(k["comment"], "ops@example");
    assert_eq!(k["description"], "web tier");
    assert_eq!(k["user_id"], "u-42");
    assert_eq!(k["is_key_protection"], true);
    assert_eq!(k["key_protection"]["encryption"]["type"], "default");
    assert!(k["fingerprint"].as_str().unwrap().starts_with("SHA256:"));
    let md5 = k["fingerprint_md5"].as_str().unwrap();
    assert!(
        md5.starts_with("MD5:") && md5.matches(':').count() == 16,
        "{md5}"
    );
    // RFC 3339 in UTC.
    let t = k["create_time"].as_str().unwrap();
    assert!(
        t.len() == 20 && t.ends_with('Z') && &t[10..11] == "T",
        "{t}"
    );

    let list = kps.run(&["--json", "list"]).ok().json();
    assert_eq!(list["keypairs"][0]["keypair"], *k);
}

/// `list --json` is written row by row; it must still be one document laid
/// out as every other JSON output (serde_json's pretty form), empty or not.
#[test]
fn streamed_list_json_is_one_pretty_document() {
    let kps = Kps::new();
    let pretty = |run: Run| {
        let text = run.stdout();
        let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(text, serde_json::to_string_pretty(&doc).unwrap() + "\n");
        doc
    };
    let empty = pretty(kps.run(&["--json", "list"]).ok());
    assert_eq!(empty, serde_json::json!({ "keypairs": [] }));
    // Control characters are refused in descriptions; quotes, backslashes
    // and non-ASCII text are what JSON must still escape or carry.
    kps.create("b", &["--description", "two \\ lines \"quoted\" é"]);
    kps.create("a", &["-t", "ecdsa"]);
    let doc = pretty(kps.run(&["--json", "list"]).ok());
    assert_eq!(doc["keypairs"].as_array().unwrap().len(), 2);
    assert_eq!(
        doc["keypairs"][1]["keypair"]["description"],
        "two \\ lines \"quoted\" é"
    );
    let fp = doc["keypairs"][0]["keypair"]["fingerprint"]
        .as_str()
        .unwrap();
    pretty(kps.run(&["--json", "find", fp]).ok());
}

#[test]
fn list_text_is_a_table() {
    let kps = Kps::new();
    kps.create("b", &[]);
    kps.create("a", &["-t", "ecdsa"]);
    let out = kps.run(&["list"]).ok().stdout();
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("NAME"), "{out}");
    assert!(lines[1].starts_with("a ") && lines[1].contains("ecdsa-sha2-nistp256"));
    assert!(lines[2].starts_with("b ") && lines[2].contains("ssh-ed25519"));
    assert!(lines[1].contains("SHA256:") && lines[1].contains("default"));
}

#[test]
fn bad_names_are_parameter_errors_and_write_nothing() {
    let kps = Kps::new();
    for bad in [
        "",
        "has space",
        "dot.name",
        "slash/name",
        "ünïcode",
        &"x".repeat(65),
    ] {
        let run = kps.run(&["--json", "create", bad]).expect(2);
        assert_eq!(run.error_json()["error_code"], "KPS.0002", "{bad:?}");
        assert!(run.stdout().is_empty());
    }
    assert!(names(&kps).is_empty());
    kps.create(&"x".repeat(64), &[]);
    kps.create("A-b_9", &[]);
    assert_eq!(names(&kps).len(), 2);
}

#[test]
fn unsupported_types_and_sizes_list_what_is_allowed() {
    let kps = Kps::new();
    for args in [
        &["-t", "rsa", "-b", "1024"][..],
        &["-t", "rsa", "-b", "8192"],
        &["-t", "dsa"],
        &["-t", "ecdsa", "-b", "224"],
        &["-t", "ed448"],
    ] {
        let mut full = vec!["create", "k"];
        full.extend(args);
        let run = kps.run(&full).expect(2);
        let err = run.stderr();
        assert!(err.starts_with("error: "), "{err}");
        assert!(
            err.contains("hint: kps creates ed25519, ecdsa"),
            "{args:?}: {err}"
        );
    }
    assert!(names(&kps).is_empty());
}

#[test]
fn duplicate_name_exits_4_and_keeps_the_first() {
    let kps = Kps::new();
    let first = kps.create("dup", &[]);
    let run = kps
        .run(&["--json", "create", "dup", "-t", "ecdsa"])
        .expect(4);
    assert_eq!(run.error_json()["error_code"], "KPS.7001");
    let shown = kps.run(&["--json", "show", "dup"]).ok().json();
    assert_eq!(shown["keypair"], first["keypair"]);
    // show's document also lists the keypair's servers (tests/bindings.rs).
    assert_eq!(shown["servers"], serde_json::json!([]));
}

#[test]
fn kms_is_validated_then_refused_without_a_kms() {
    let kps = Kps::new();
    let run = kps
        .run(&["--json", "create", "k", "--encryption", "kms"])
        .expect(2);
    assert_eq!(run.error_json()["error_code"], "KPS.0002");
    let run = kps
        .run(&["--json", "create", "k", "--kms-key-name", "kps/default"])
        .expect(2);
    assert_eq!(run.error_json()["error_code"], "KPS.0002");
    let run = kps
        .run(&[
            "--json",
            "create",
            "k",
            "--encryption",
            "kms",
            "--kms-key-name",
            "kps/default",
        ])
        .expect(1);
    let err = run.error_json();
    assert_eq!(err["error_code"], "KPS.7010");
    assert!(
        err["error_msg"]
            .as_str()
            .unwrap()
            .contains("no KMS is configured")
    );
    assert!(names(&kps).is_empty());
}

#[test]
fn missing_keypairs_exit_3() {
    let kps = Kps::new();
    for args in [
        &["show", "nope"][..],
        &["export", "nope", "--format", "public"],
        &["export", "nope", "-o", "-"],
        &["delete", "nope", "--yes"],
    ] {
        let mut full = vec!["--json"];
        full.extend(args);
        let run = kps.run(&full).expect(3);
        assert_eq!(run.error_json()["error_code"], "KPS.4016", "{args:?}");
    }
}

#[test]
fn private_export_needs_an_explicit_destination() {
    let kps = Kps::new();
    kps.create("k", &[]);
    let run = kps.run(&["export", "k"]).expect(2);
    assert!(run.stdout().is_empty());
    assert!(run.stderr().contains("-o FILE"), "{}", run.stderr());
    // Explicit stdout is allowed.
    let out = kps.run(&["export", "k", "-o", "-"]).ok().stdout();
    assert!(out.starts_with("-----BEGIN OPENSSH PRIVATE KEY-----\n"));
    // Public goes to stdout by default.
    let out = kps
        .run(&["export", "k", "--format", "public"])
        .ok()
        .stdout();
    assert!(out.starts_with("ssh-ed25519 "));
}

#[test]
fn export_refuses_to_overwrite_without_force() {
    let kps = Kps::new();
    kps.create("k", &[]);
    let path = kps.path("k.key");
    std::fs::write(&path, "precious").unwrap();
    let run = kps
        .run(&["--json", "export", "k", "-o", path.to_str().unwrap()])
        .expect(1);
    assert_eq!(run.error_json()["error_code"], "KPS.7008");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "precious");
    kps.run(&["export", "k", "-o", path.to_str().unwrap(), "--force"])
        .ok();
    assert!(
        std::fs::read_to_string(&path)
            .unwrap()
            .contains("OPENSSH PRIVATE KEY")
    );
    assert_eq!(mode_of(&path), 0o600);
    // Nothing but the one file is left in the directory's export area.
    let leftovers: Vec<_> = std::fs::read_dir(kps.dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn ed25519_has_no_traditional_pem() {
    let kps = Kps::new();
    kps.create("k", &[]);
    let run = kps
        .run(&["--json", "export", "k", "--format", "pem", "-o", "-"])
        .expect(2);
    let err = run.error_json();
    assert_eq!(err["error_code"], "KPS.0002");
    assert!(
        err["error_msg"]
            .as_str()
            .unwrap()
            .contains("no traditional PEM")
    );
    let run = kps
        .run(&["export", "k", "--format", "pem", "-o", "-"])
        .expect(2);
    assert!(
        run.stderr().contains("hint: use --format pkcs8"),
        "{}",
        run.stderr()
    );
}

#[test]
fn delete_needs_yes_without_a_terminal() {
    let kps = Kps::new();
    kps.create("k", &[]);
    let run = kps.run(&["delete", "k"]).expect(2);
    assert!(run.stderr().contains("--yes"), "{}", run.stderr());
    assert_eq!(names(&kps), ["k"]);
    let run = kps.run(&["--json", "delete", "k", "--yes"]).ok();
    assert_eq!(run.json()["deleted"], true);
    assert!(names(&kps).is_empty());
}

#[test]
fn a_closed_stdout_is_not_an_error() {
    let kps = Kps::new();
    for i in 0..40 {
        kps.create(&format!("k{i:02}"), &[]);
    }
    // `kps list | head -1`: the reader goes away before kps has written all.
    use std::io::Read;
    let mut child = kps
        .command()
        .args(["list"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let status = child.wait().unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert_eq!(status.code(), Some(0), "{err}");
    assert!(err.is_empty(), "{err}");
}

#[test]
fn clap_usage_errors_are_json_with_json() {
    let kps = Kps::new();
    let run = kps.run(&["--json", "create"]).expect(2);
    assert_eq!(run.error_json()["error_code"], "KPS.0002");
    let run = kps
        .run(&["--json", "export", "k", "--format", "der"])
        .expect(2);
    assert_eq!(run.error_json()["error_code"], "KPS.0002");
    kps.run(&["frobnicate"]).expect(2);
    kps.run(&["--help"]).ok();
    assert!(kps.run(&["--version"]).ok().stdout().starts_with("kps "));
}

#[test]
fn store_directory_and_database_are_private_whatever_the_umask() {
    let kps = Kps::empty();
    sh(
        &format!(
            "umask 000; KPS_PASSPHRASE=x XDG_CONFIG_HOME='{}' '{}' --store '{}' create k --kdf-memory 19456 --kdf-passes 2",
            kps.config_home().display(),
            bin(),
            kps.store.display()
        ),
        kps.dir.path(),
    );
    assert_eq!(mode_of(&kps.store), 0o700);
    for entry in std::fs::read_dir(&kps.store).unwrap() {
        let p = entry.unwrap().path();
        assert_eq!(mode_of(&p), 0o600, "{}", p.display());
    }
}

#[test]
fn kps_store_environment_variable_selects_the_store() {
    let kps = Kps::new();
    kps.create("k", &[]);
    let out = std::process::Command::new(bin())
        .args(["list", "--json"])
        .env("KPS_STORE", &kps.store)
        .env("XDG_CONFIG_HOME", kps.config_home())
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"k\""));
}

#[test]
fn every_subcommand_speaks_json() {
    let kps = Kps::new();
    let runs: &[&[&str]] = &[
        &["create", "j"],
        &["list"],
        &["show", "j"],
        &["find", "MD5:00000000000000000000000000000000"],
        &["export", "j", "--format", "public"],
        &["export", "j", "-o", "-"],
        &["export-ppk", "j", "-o", "-"],
        &["export-ppk", "j", "-o", "j.ppk"],
        &["backup", "copy.db"],
        &["delete", "j", "--yes"],
    ];
    for args in runs {
        let mut full = vec!["--json"];
        full.extend(*args);
        let run = kps.run(&full);
        if run.code() == 0 {
            let doc = run.json();
            assert!(doc.is_object(), "{args:?}: {doc}");
        } else {
            // Failures are JSON too, on stderr.
            assert!(run.error_json()["error_code"].is_string(), "{args:?}");
            assert!(run.stdout().is_empty());
        }
    }
}
