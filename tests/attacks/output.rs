//! Attacks on what kps prints: a line break in a comment that adds a key to
//! `authorized_keys` (finding 3), and terminal escape sequences that reach
//! the operator through stored text, key files, file names and error
//! messages (finding 4), with the Unicode bidi controls ("Trojan Source")
//! and line separators the issue left out.

use crate::common::*;
use base64ct::{Base64, Encoding};
use std::path::Path;

/// What no output line may hold raw: control characters (C0 but the line
/// feed between lines, DEL, C1), bidi controls and the line and paragraph
/// separators.
fn forbidden(c: char) -> bool {
    (c.is_control() && c != '\n')
        || matches!(
            c,
            '\u{061C}'
                | '\u{200E}'
                | '\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2066}'..='\u{2069}'
                | '\u{2028}'
                | '\u{2029}'
        )
}

/// Neither stdout nor stderr holds a character that acts on a terminal,
/// whatever the exit status.
fn assert_inert(what: &str, run: &Run) {
    for (stream, bytes) in [
        ("stdout", &run.output.stdout),
        ("stderr", &run.output.stderr),
    ] {
        let text = String::from_utf8_lossy(bytes);
        if let Some(c) = text.chars().find(|c| forbidden(*c)) {
            panic!("{what}: {stream} holds {c:?} raw: {text:?}");
        }
    }
}

fn names(kps: &Kps) -> String {
    kps.run(&["list", "--names"]).ok().stdout()
}

fn plant(kps: &Kps, sql: &str, params: impl rusqlite::Params) {
    let conn = rusqlite::Connection::open(kps.db()).unwrap();
    assert_eq!(conn.execute(sql, params).unwrap(), 1, "{sql}");
}

/// Values that would break a line or act on a terminal, one of each kind.
const HOSTILE: [&str; 7] = [
    "a\nssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGr2r+XNAe0AL/RFgCkTbL6CtVT97jAg0CUd6Gwaqcd0 attacker",
    "cr\rhidden",
    "\x1b]0;pwned\x07",
    "\x1b]52;c;cm0gLXJmIH4K\x07",
    "del\x7f",
    "csi\u{9b}2J",
    "nel\u{85}",
];

/// The bidi controls and separators, refused and escaped as control characters are.
const BIDI: [char; 14] = [
    '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}', '\u{2066}', '\u{2067}', '\u{2068}',
    '\u{2069}', '\u{200E}', '\u{200F}', '\u{061C}', '\u{2028}', '\u{2029}',
];

/// The old kps stored the comment of an imported key as it was, and
/// `export --format public` printed it: a comment of "a\n<another key>"
/// gave two authorized_keys lines, both listed by `ssh-keygen -lf`.
#[test]
fn finding_3_key_file_comment_with_a_line_break_is_refused() {
    if !have_tool("ssh-keygen") {
        return;
    }
    let kps = Kps::new();
    let dir = kps.path("keys");
    std::fs::create_dir(&dir).unwrap();
    sh(
        "ssh-keygen -q -t ed25519 -N '' -C attacker -f atk
         ssh-keygen -q -t ed25519 -N '' -C \"$(printf 'a\\n'; cat atk.pub)\" -f victim
         ssh-keygen -q -t ed25519 -N '' -C \"$(printf 'x\\033]0;pwned\\007')\" -f esc
         rm atk.pub",
        &dir,
    );
    // What the attacker relies on: ssh-keygen wrote the comment as two lines.
    let exported = std::fs::read_to_string(dir.join("victim.pub")).unwrap();
    assert_eq!(exported.lines().count(), 2, "{exported}");

    for file in ["victim", "esc"] {
        let path = dir.join(file);
        for extra in [&[][..], &["-C", "clean"][..]] {
            let mut args = vec![
                "--json",
                "import",
                "v",
                "--private-key",
                path.to_str().unwrap(),
            ];
            args.extend(extra);
            let run = kps.run(&args).expect(5);
            let err = run.error_json();
            assert_eq!(err["error_code"], "KPS.6009", "{err}");
            assert!(
                err["error_msg"].as_str().unwrap().contains("comment holds"),
                "{err}"
            );
            assert_inert(
                file,
                &kps.run(&["import", "v", "--private-key", path.to_str().unwrap()]),
            );
        }
    }

    // --from-dir names both files among its failures and stores nothing,
    // not even the sound key beside them.
    let run = kps
        .run(&["--json", "import", "--from-dir", dir.to_str().unwrap()])
        .expect(5);
    let err = run.error_json();
    let failures = err["failures"].as_array().unwrap();
    for file in ["esc", "victim"] {
        let f = failures
            .iter()
            .find(|f| f["file"].as_str().unwrap().ends_with(file))
            .unwrap_or_else(|| panic!("{file} not among the failures: {err}"));
        assert_eq!(f["error_code"], "KPS.6009", "{err}");
        assert!(
            f["error_msg"].as_str().unwrap().contains("comment"),
            "{err}"
        );
    }
    assert_inert(
        "from-dir",
        &kps.run(&["import", "--from-dir", dir.to_str().unwrap()]),
    );
    assert_eq!(names(&kps), "");
}

/// An unencrypted .ppk v3 made by kps, with its Comment header replaced and
/// its MAC (HMAC-SHA-256 under an empty key, over the SSH strings of the
/// algorithm, encryption, comment and both blobs) made again with openssl.
fn ppk_with_comment(kps: &Kps, comment: &str) -> std::path::PathBuf {
    let made = kps.path("made.ppk");
    kps.run(&[
        "export-ppk",
        "source",
        "-o",
        made.to_str().unwrap(),
        "--force",
    ])
    .ok();
    let text = std::fs::read_to_string(&made).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let header = |name: &str| {
        lines
            .iter()
            .position(|l| l.starts_with(&format!("{name}: ")))
            .unwrap()
    };
    let blob = |name: &str| {
        let at = header(name);
        let n: usize = lines[at].split(": ").nth(1).unwrap().parse().unwrap();
        Base64::decode_vec(&lines[at + 1..at + 1 + n].concat()).unwrap()
    };
    let alg = lines[0].split(": ").nth(1).unwrap();
    let mut mac_input = Vec::new();
    for part in [
        alg.as_bytes(),
        b"none",
        comment.as_bytes(),
        &blob("Public-Lines"),
        &blob("Private-Lines"),
    ] {
        mac_input.extend((part.len() as u32).to_be_bytes());
        mac_input.extend(part);
    }
    std::fs::write(kps.path("mac-input"), mac_input).unwrap();
    let mac = sh(
        "openssl dgst -sha256 -mac HMAC -macopt hexkey:00 mac-input | awk '{print $NF}'",
        kps.dir.path(),
    );
    let mut out = String::new();
    for line in &lines {
        if line.starts_with("Comment: ") {
            out.push_str(&format!("Comment: {comment}\n"));
        } else if line.starts_with("Private-MAC: ") {
            out.push_str(&format!("Private-MAC: {}\n", mac.trim()));
        } else {
            out.push_str(&format!("{line}\n"));
        }
    }
    let path = kps.path("crafted.ppk");
    std::fs::write(&path, out).unwrap();
    path
}

/// The comment of every format that carries one: an authorized_keys line,
/// an RFC 4716 `Comment:` header, a .ppk `Comment:` header. The line-based
/// formats cannot hold a line feed, but a tab, a bidi control or U+2028
/// gets as far as the stored line.
#[test]
fn finding_3_public_key_and_ppk_comments_are_refused() {
    if !have_tool("ssh-keygen") || !have_tool("openssl") {
        return;
    }
    let kps = Kps::new();
    let source = kps.create("source", &["-C", "plain"]);
    let line = source["keypair"]["public_key"]
        .as_str()
        .unwrap()
        .to_string();
    let blob64 = line.split(' ').nth(1).unwrap();

    let ppk = ppk_with_comment(&kps, "plain");
    // The crafting is sound: the same file with an ordinary comment imports.
    kps.run(&["import", "ppk-ok", "--private-key", ppk.to_str().unwrap()])
        .ok();
    kps.run(&["delete", "ppk-ok", "--yes"]).ok();

    let authorized = kps.path("line.pub");
    let rfc4716 = kps.path("rfc.pub");
    // Other control characters (ESC, C1) in a key file's text were refused
    // before, as "not a key file"; a tab and these were not.
    for bad in [
        "tab\there",
        "rlo\u{202E}gnp.exe",
        "ls\u{2028}x",
        "lrm\u{200E}",
    ] {
        std::fs::write(&authorized, format!("ssh-ed25519 {blob64} {bad}\n")).unwrap();
        std::fs::write(
            &rfc4716,
            format!(
                "---- BEGIN SSH2 PUBLIC KEY ----\nComment: \"{bad}\"\n{blob64}\n---- END SSH2 PUBLIC KEY ----\n"
            ),
        )
        .unwrap();
        let mut cases = vec![
            ("--public-key", authorized.clone()),
            ("--public-key", rfc4716.clone()),
        ];
        // key_text already refuses C0 controls in a key file's text.
        if !bad.contains('\t') {
            cases.push(("--private-key", ppk_with_comment(&kps, bad)));
        }
        for (flag, file) in cases {
            let run = kps
                .run(&["--json", "import", "v", flag, file.to_str().unwrap()])
                .expect(5);
            let err = run.error_json();
            assert_eq!(err["error_code"], "KPS.6009", "{bad:?} {err}");
            assert!(
                err["error_msg"].as_str().unwrap().contains("comment holds"),
                "{bad:?} {err}"
            );
            assert_inert(bad, &run);
        }
    }
    assert_eq!(names(&kps), "source\n");
}

/// `-C`, `--description`, `--user-id` of create and import, export-ppk's
/// `-C`, `--kms-key-name`, and the request's user_id and kms_key_name: each
/// went into the store (and the comment into every exported line) as given.
#[test]
fn finding_3_flags_and_request_fields_with_line_breaks_or_controls_are_refused() {
    let kps = Kps::new();
    kps.create("kept", &[]);
    let key = kps.path("key.pem");
    kps.run(&[
        "export",
        "kept",
        "--format",
        "pkcs8",
        "-o",
        key.to_str().unwrap(),
    ])
    .ok();
    let key_path = key.to_str().unwrap();
    let request = kps.path("request.json");
    for value in HOSTILE {
        let mut cases: Vec<(Vec<&str>, &str)> = Vec::new();
        for flag in ["-C", "--description", "--user-id"] {
            let field = if flag == "-C" { "--comment" } else { flag };
            cases.push((vec!["create", "new", flag, value], field));
            cases.push((
                vec!["import", "new", "--private-key", key_path, flag, value],
                field,
            ));
        }
        cases.push((
            vec!["export-ppk", "kept", "-o", "x.ppk", "-C", value],
            "--comment",
        ));
        cases.push((
            vec![
                "create",
                "new",
                "--encryption",
                "kms",
                "--kms-key-name",
                value,
            ],
            "--kms-key-name",
        ));
        for (args, field) in cases {
            let mut full = vec!["--json"];
            full.extend(&args);
            let err = kps.run(&full).expect(2).error_json();
            assert_eq!(err["error_code"], "KPS.0002", "{args:?} {err}");
            let msg = err["error_msg"].as_str().unwrap();
            assert!(msg.contains(&format!("{field} holds")), "{args:?}: {msg}");
            assert_inert(field, &kps.run(&args));
        }
        for field in ["user_id", "kms_key_name"] {
            let mut body = serde_json::json!({"keypair": {"name": "new",
                "key_protection": {"private_key": std::fs::read_to_string(&key).unwrap(),
                "encryption": {"type": "kms", "kms_key_name": "kps/default"}}}});
            match field {
                "user_id" => body["keypair"]["user_id"] = value.into(),
                _ => body["keypair"]["key_protection"]["encryption"]["kms_key_name"] = value.into(),
            }
            std::fs::write(&request, body.to_string()).unwrap();
            let run = kps.run(&["--json", "import", "--request", request.to_str().unwrap()]);
            let err = run.expect(2).error_json();
            assert_eq!(err["error_code"], "KPS.0002", "{err}");
            assert!(
                err["error_msg"]
                    .as_str()
                    .unwrap()
                    .contains(&format!("field {field} holds")),
                "{err}"
            );
        }
    }
    assert!(!kps.path("x.ppk").exists());
    assert_eq!(names(&kps), "kept\n");
}

/// Someone who can write the store's file appends a second key to a stored
/// public key line. The old kps printed the row as it was: two keys in
/// `export --format public`, both accepted by sshd from authorized_keys.
/// Whatever catches it (this check, or the row's MAC), no key line is printed
/// and the exit status says the store is damaged.
#[test]
fn finding_3_a_planted_public_key_line_is_never_printed() {
    let kps = Kps::new();
    let victim = kps.create("victim", &[]);
    let attacker = kps.create("attacker", &["-C", "attacker@evil"]);
    let attacker_line = attacker["keypair"]["public_key"].as_str().unwrap();
    let victim_line = victim["keypair"]["public_key"].as_str().unwrap();
    plant(
        &kps,
        "UPDATE keypairs SET public_key = ?1 WHERE name = 'victim'",
        [format!("{victim_line}\n{attacker_line}")],
    );
    let out = kps.path("authorized_keys");
    for args in [
        &["export", "victim", "--format", "public"][..],
        &[
            "export",
            "victim",
            "--format",
            "public",
            "-o",
            out.to_str().unwrap(),
        ],
        &["--json", "export", "victim", "--format", "public"],
        &["show", "victim", "--public"],
        &["show", "victim"],
        &["--json", "show", "victim"],
        &["export-ppk", "victim", "-o", "victim.ppk"],
    ] {
        let run = kps.run(args).expect(7);
        let stdout = run.stdout();
        assert!(
            !stdout.contains("ssh-ed25519"),
            "{args:?} printed a key: {stdout}"
        );
        assert!(
            !stdout.contains(&key_fields(attacker_line)),
            "{args:?}: {stdout}"
        );
        assert_inert("planted line", &run);
    }
    assert!(!out.exists());
    assert!(!kps.path("victim.ppk").exists());
}

/// Terminal sequences planted in the store's text columns (the CLI refuses
/// them now, so the attacker writes the file): OSC 0 sets the window title,
/// OSC 52 writes the clipboard, CSI 2J (also as the one-byte C1 CSI) clears
/// the screen, U+202E reverses what follows. The old kps printed them raw in
/// `show`, `list` and `find`; whether or not the row is now refused, none of
/// them may reach the terminal.
#[test]
fn finding_4_planted_terminal_sequences_never_reach_the_terminal() {
    let kps = Kps::new();
    let victim = kps.create("victim", &[]);
    kps.create("other", &[]);
    let fingerprint = victim["keypair"]["fingerprint"].as_str().unwrap();
    plant(
        &kps,
        "UPDATE keypairs SET description = ?1, user_id = ?2 WHERE name = 'victim'",
        [
            "\x1b]0;pwned\x07\x1b[2J\u{9b}2J",
            "\x1b]52;c;cm0gLXJmIH4K\x07 \u{202E}txt.exe\x7f",
        ],
    );
    plant(
        &kps,
        "UPDATE keypairs SET name = ?1 WHERE name = 'other'",
        ["o\x1b[2J\u{9b}H"],
    );
    let mut ran_show = false;
    for args in [
        &["show", "victim"][..],
        &["--json", "show", "victim"],
        &["list"],
        &["list", "--names"],
        &["--json", "list"],
        &["find", fingerprint],
        &["--json", "find", fingerprint],
        &["show", "o\x1b[2J\u{9b}H"],
        &["delete", "o\x1b[2J\u{9b}H"],
    ] {
        let run = kps.run(args);
        assert_inert(&format!("{args:?}"), &run);
        if args == ["show", "victim"] && run.code() == 0 {
            // If the row is still shown, the sequences are there, made visible.
            assert!(
                run.stdout().contains(r"\x1b]0;pwned\x07"),
                "{}",
                run.stdout()
            );
            assert!(
                run.stdout().contains(r"\u{202e}txt.exe"),
                "{}",
                run.stdout()
            );
            ran_show = true;
        }
    }
    eprintln!("show printed the row: {ran_show}");
}

/// An SSH2 public key file whose key blob names the algorithm `alg`.
fn rfc4716_with_algorithm(path: &Path, alg: &[u8]) {
    let mut blob = Vec::new();
    for part in [alg, &[7u8; 32][..]] {
        blob.extend((part.len() as u32).to_be_bytes());
        blob.extend(part);
    }
    std::fs::write(
        path,
        format!(
            "---- BEGIN SSH2 PUBLIC KEY ----\n{}\n---- END SSH2 PUBLIC KEY ----\n",
            Base64::encode_string(&blob)
        ),
    )
    .unwrap();
}

/// Text an attacker controls that ends up in kps's own messages: the
/// algorithm name inside a crafted key (quoted in "unsupported key
/// algorithm ..."), and the names of files in a directory given to
/// `import --from-dir` (quoted in failures and "Skipped" lines).
#[test]
fn finding_4_crafted_algorithm_names_and_file_names_are_escaped() {
    if !have_tool("ssh-keygen") {
        return;
    }
    let kps = Kps::new();
    let crafted = kps.path("crafted.pub");
    for alg in [
        &b"\x1b]0;pwned\x07@example.com"[..],
        "x\u{9b}2J@example.com".as_bytes(),
    ] {
        rfc4716_with_algorithm(&crafted, alg);
        for json in [false, true] {
            let mut args = vec!["import", "c", "--public-key", crafted.to_str().unwrap()];
            if json {
                args.insert(0, "--json");
            }
            let run = kps.run(&args).expect(5);
            assert_inert("crafted algorithm", &run);
            if json {
                run.error_json();
            }
        }
    }

    // Private keys under file names that are no keypair names: one gets a
    // clean name by the naming rule; the file whose name gives the same one,
    // and one whose name gives none, are left out, their names quoted.
    let bad = kps.path("bad");
    std::fs::create_dir(&bad).unwrap();
    sh(
        "ssh-keygen -q -t ed25519 -N '' -f \"$(printf 'k\\033]0;pwned\\007')\"
         ssh-keygen -q -t ed25519 -N '' -f k_0_pwned
         ssh-keygen -q -t ed25519 -N '' -f \"$(printf '\\033[2J\\007')\"",
        &bad,
    );
    for args in [
        &["import", "--dry-run", "--from-dir"][..],
        &["--json", "import", "--dry-run", "--from-dir"],
    ] {
        let mut args = args.to_vec();
        args.push(bad.to_str().unwrap());
        let run = kps.run(&args).expect(8);
        assert_inert("from-dir left out", &run);
        assert!(run.stderr().contains("k_0_pwned"), "{}", run.stderr());
    }

    // A public key under such a name beside a sound key: skipped, and said so.
    let good = kps.path("good");
    std::fs::create_dir(&good).unwrap();
    sh(
        "ssh-keygen -q -t ed25519 -N '' -f good
         mv good.pub \"$(printf 'p\\033[2J\\302\\233H')\"",
        &good,
    );
    let run = kps
        .run(&["import", "--dry-run", "--from-dir", good.to_str().unwrap()])
        .ok();
    assert!(run.stdout().contains(r"Skipped "), "{}", run.stdout());
    assert!(
        run.stdout().contains(r"p\x1b[2J\u{9b}H"),
        "{}",
        run.stdout()
    );
    assert_inert("from-dir skipped", &run);
    assert_eq!(names(&kps), "");
}

/// Unicode bidi controls ("Trojan Source") and the line and paragraph
/// separators: refused in every free-text flag like control characters,
/// and shown escaped if they are in the store anyway.
#[test]
fn finding_3_4_bidi_controls_and_line_separators_are_refused_and_escaped() {
    let kps = Kps::new();
    for c in BIDI {
        let value = format!("admin{c}nimda");
        for flag in ["-C", "--description", "--user-id"] {
            let err = kps
                .run(&["--json", "create", "new", flag, &value])
                .expect(2)
                .error_json();
            assert_eq!(err["error_code"], "KPS.0002", "{c:?} {err}");
            assert!(
                err["error_msg"]
                    .as_str()
                    .unwrap()
                    .contains(&format!("U+{:04X}", c as u32)),
                "{err}"
            );
        }
    }
    assert_eq!(names(&kps), "");

    kps.create("victim", &[]);
    let planted: String = BIDI.iter().collect();
    plant(
        &kps,
        "UPDATE keypairs SET user_id = ?1 WHERE name = 'victim'",
        [planted.as_str()],
    );
    for args in [
        &["show", "victim"][..],
        &["--json", "show", "victim"],
        &["--json", "list"],
    ] {
        let run = kps.run(args);
        assert_inert(&format!("{args:?}"), &run);
        if run.code() == 0 && args[0] == "show" {
            assert!(run.stdout().contains(r"\u{202e}"), "{}", run.stdout());
        }
    }
}
