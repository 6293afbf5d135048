//! Issue 15's message fixes: what `list`, `show`, `create --if-not-exists`,
//! `import` and `get-win-password` say, and that `--json` always means JSON.
mod common;
use common::*;

/// A store with `full` (a generated Ed25519 keypair) and `pub` (its public
/// key only, imported).
fn store_with_public_only() -> Kps {
    let kps = Kps::new();
    kps.create("full", &[]);
    let line = kps.run(&["show", "full", "--public"]).ok().stdout();
    std::fs::write(kps.path("k.pub"), line).unwrap();
    kps.run(&["import", "pub", "--public-key", "k.pub"]).ok();
    kps
}

#[test]
fn list_marks_public_only_keypairs() {
    let kps = store_with_public_only();
    let table = kps.run(&["list"]).ok().stdout();
    let row = |name: &str| {
        table
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("no row {name}: {table}"))
            .to_string()
    };
    assert!(row("pub").contains("public-only"), "{table}");
    assert!(!row("pub").contains("default"), "{table}");
    assert!(row("full").contains("default"), "{table}");
    // The columns still line up: CREATED starts where the header says.
    let header = table.lines().next().unwrap();
    let at = header.find("CREATED").unwrap();
    for name in ["pub", "full"] {
        assert!(
            row(name)[at..].starts_with("20"),
            "{name} misaligned: {table}"
        );
    }

    // JSON: no encryption type is claimed for a private key that is not there.
    let doc = kps.run(&["--json", "list"]).ok().json();
    let by_name = |name: &str| {
        doc["keypairs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| &k["keypair"])
            .find(|k| k["name"] == name)
            .unwrap()
            .clone()
    };
    let public = by_name("pub");
    assert_eq!(public["is_key_protection"], false);
    assert!(public["key_protection"].is_null(), "{public}");
    let full = by_name("full");
    assert_eq!(full["is_key_protection"], true);
    assert_eq!(full["key_protection"]["encryption"]["type"], "default");
    let shown = kps.run(&["--json", "show", "pub"]).ok().json();
    assert!(shown["keypair"]["key_protection"].is_null(), "{shown}");
}

#[test]
fn if_not_exists_says_what_exists_and_what_was_asked() {
    let kps = Kps::new();
    kps.create("x", &["--type", "ed25519"]);
    let run = kps
        .run(&[
            "create",
            "x",
            "--type",
            "rsa",
            "--bits",
            "3072",
            "--if-not-exists",
        ])
        .expect(4);
    assert!(
        run.stderr()
            .contains("keypair 'x' exists as ssh-ed25519 256; asked for ssh-rsa 3072"),
        "{}",
        run.stderr()
    );
    let err = kps
        .run(&["--json", "create", "x", "--type", "rsa", "--if-not-exists"])
        .expect(4)
        .error_json();
    assert_eq!(err["error_code"], "KPS.7001");
    assert!(
        err["error_msg"]
            .as_str()
            .unwrap()
            .contains("exists as ssh-ed25519 256; asked for ssh-rsa"),
        "{err}"
    );
    // The same kind is still fine, and without the flag the message is as before.
    kps.run(&["create", "x", "--type", "ed25519", "--if-not-exists"])
        .ok();
    let plain = kps.run(&["create", "x", "--type", "rsa"]).expect(4);
    assert!(
        plain.stderr().contains("already exists"),
        "{}",
        plain.stderr()
    );
}

#[test]
fn an_encrypted_ppk_gets_puttygen_advice_that_works() {
    if !have_tool("puttygen") {
        return;
    }
    let kps = Kps::new();
    sh(
        "printf 'ppk pass phrase\\n' > ppkpass
         puttygen -q -t ed25519 -o k.ppk --new-passphrase ppkpass",
        kps.dir.path(),
    );
    let run = kps
        .run(&["import", "k", "--private-key", "k.ppk"])
        .expect(5);
    let err = run.stderr();
    assert!(
        !err.contains("ssh-keygen"),
        "ssh-keygen cannot read .ppk: {err}"
    );
    assert!(err.contains("--key-passphrase-file"), "{err}");
    let advice = err
        .split("decrypt it first: ")
        .nth(1)
        .unwrap_or_else(|| panic!("no puttygen advice: {err}"))
        .trim();
    assert!(advice.starts_with("puttygen "), "{err}");
    // The advice, with its placeholders filled in, gives a file kps imports.
    let command = advice
        .replace("FILE.ppk", "k.ppk")
        .replace("PASSFILE", "ppkpass");
    sh(&command, kps.dir.path());
    kps.run(&["import", "k", "--private-key", "PLAIN.ppk"]).ok();
    let json = kps
        .run(&["--json", "import", "j", "--private-key", "k.ppk"])
        .expect(5)
        .error_json();
    assert_eq!(json["error_code"], "KPS.7015");
}

#[test]
fn from_dir_gives_each_failed_file_its_hint() {
    if !have_tool("ssh-keygen") {
        return;
    }
    let kps = Kps::new();
    let dir = kps.path("keys");
    std::fs::create_dir(&dir).unwrap();
    sh(
        "ssh-keygen -q -t ed25519 -N 'secret' -f locked
         ssh-keygen -q -t ed25519 -N '' -f plain",
        &dir,
    );
    // The encrypted file is left out (exit 8), the plain one imported.
    let text = kps
        .run(&["import", "--from-dir", dir.to_str().unwrap()])
        .expect(8)
        .stderr();
    let after = text
        .split("locked: ")
        .nth(1)
        .unwrap_or_else(|| panic!("{text}"));
    let next_line = after.lines().nth(1).unwrap_or_default();
    assert!(
        next_line.trim_start().starts_with("hint: ") && next_line.contains("--key-passphrase-file"),
        "{text}"
    );
    let err = kps
        .run(&[
            "--json",
            "import",
            "--from-dir",
            dir.to_str().unwrap(),
            "--dry-run",
        ])
        .expect(8)
        .error_json();
    let failure = &err["failures"][0];
    assert_eq!(failure["error_code"], "KPS.7015", "{err}");
    assert!(
        failure["hint"]
            .as_str()
            .is_some_and(|h| h.contains("--key-passphrase-file")),
        "{err}"
    );
}

#[test]
fn get_win_password_with_empty_stdin_is_no_data_not_try_later() {
    let kps = Kps::new();
    kps.create("win", &["--type", "rsa", "--bits", "2048"]);
    // Stdin is /dev/null: not a terminal, and empty.
    let run = kps.run(&["get-win-password", "win"]).expect(2);
    assert!(
        run.stderr().contains("no password data given"),
        "{}",
        run.stderr()
    );
    assert!(!run.stderr().contains("not available"), "{}", run.stderr());
    let err = kps
        .run(&["--json", "get-win-password", "win", "--password-data", "-"])
        .expect(2)
        .error_json();
    assert_eq!(err["error_code"], "KPS.0002");
    // AWS's answer before the password is ready is still "not available yet".
    let aws_empty = r#"{"InstanceId": "i-0abc", "PasswordData": ""}"#;
    let err = kps
        .run_with(&["--json", "get-win-password", "win"], |c| {
            c.stdin(std::fs::File::open(write(&kps, "aws.json", aws_empty)).unwrap());
        })
        .expect(1)
        .error_json();
    assert_eq!(err["error_code"], "KPS.7019");
    assert!(
        err["error_msg"]
            .as_str()
            .unwrap()
            .contains("not available yet")
    );
    // So is the blank line `aws ec2 get-password-data --output text` prints then.
    let err = kps
        .run_with(&["--json", "get-win-password", "win"], |c| {
            c.stdin(std::fs::File::open(write(&kps, "blank.txt", "\n")).unwrap());
        })
        .expect(1)
        .error_json();
    assert_eq!(err["error_code"], "KPS.7019");
}

fn write(kps: &Kps, name: &str, text: &str) -> std::path::PathBuf {
    let path = kps.path(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn json_means_one_json_document_for_every_list_and_show_form() {
    let kps = Kps::new();
    // Empty store: still a document.
    let doc = kps.run(&["--json", "list", "--names"]).ok().json();
    assert_eq!(doc, serde_json::json!({ "names": [] }));
    let created = kps.create("b", &[]);
    kps.create("a", &[]);
    let line = created["keypair"]["public_key"]
        .as_str()
        .unwrap()
        .to_string();

    // list: every combination of --json and --names.
    let plain = kps.run(&["list"]).ok().stdout();
    assert!(plain.starts_with("NAME"), "{plain}");
    let names = kps.run(&["list", "--names"]).ok().stdout();
    assert_eq!(names, "a\nb\n");
    let doc = kps.run(&["--json", "list"]).ok().json();
    assert_eq!(doc["keypairs"].as_array().unwrap().len(), 2, "{doc}");
    let doc = kps.run(&["--json", "list", "--names"]).ok().json();
    assert_eq!(doc, serde_json::json!({ "names": ["a", "b"] }));
    // The flag after the subcommand too.
    let doc = kps.run(&["list", "--names", "--json"]).ok().json();
    assert_eq!(doc, serde_json::json!({ "names": ["a", "b"] }));

    // show: every combination of --json and --public.
    let text = kps.run(&["show", "b"]).ok().stdout();
    assert!(text.contains("fingerprint"), "{text}");
    let public = kps.run(&["show", "b", "--public"]).ok().stdout();
    assert_eq!(public.trim_end(), line);
    let doc = kps.run(&["--json", "show", "b"]).ok().json();
    assert_eq!(doc["keypair"]["name"], "b");
    let doc = kps.run(&["--json", "show", "b", "--public"]).ok().json();
    assert_eq!(doc, serde_json::json!({ "name": "b", "public_key": line }));
    let doc = kps.run(&["show", "--public", "b", "--json"]).ok().json();
    assert_eq!(doc["public_key"], line.as_str());
}

#[test]
fn usage_lines_do_not_list_flags_the_environment_gave() {
    let kps = Kps::new();
    for args in [
        &["show"][..],
        &["export"],
        &["create"],
        &["import", "x", "--private-key", "a", "--public-key", "b"],
    ] {
        let out = std::process::Command::new(bin())
            .args(args)
            .env("KPS_PASSPHRASE_FILE", &kps.pass_file)
            .env("KPS_STORE", &kps.store)
            .env("KPS_PKCS11_PIN_FILE", kps.path("pin"))
            .env("XDG_CONFIG_HOME", kps.config_home())
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        let usage = err
            .lines()
            .find(|l| l.starts_with("Usage: "))
            .unwrap_or_else(|| panic!("{args:?}: no usage line: {err}"));
        for flag in ["--passphrase-file", "--store", "--pin-file"] {
            assert!(!usage.contains(flag), "{args:?}: {usage}");
        }
    }
    // With the environment as the harness sets it: the bare usage.
    let out = kps.run(&["show"]).expect(2);
    assert!(
        out.stderr().contains("Usage: kps show <NAME>\n"),
        "{}",
        out.stderr()
    );
}
