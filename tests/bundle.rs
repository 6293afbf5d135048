//! `kps export-bundle` / `kps import --bundle` / `kps identity`: keypairs
//! moved between two stores, and every way a bundle can be wrong. Crafted
//! bundles are built here from docs/bundle-format.md alone, as an attacker
//! (or another implementation) would.

mod common;
use common::hsm::*;
use common::*;
use serde_json::{Value, json};

const BUNDLE_PASS: &str = "bundle secret phrase";

/// Two stores: `from` with one keypair of each kind, `to` empty but set up.
fn two_stores() -> (Kps, Kps) {
    let from = Kps::new();
    from.create(
        "ed",
        &[
            "-C",
            "ed@example",
            "--description",
            "the ed key",
            "--user-id",
            "u-1",
        ],
    );
    from.create("p384", &["-t", "ecdsa", "-b", "384"]);
    from.create("rsa", &["-t", "rsa", "-b", "2048", "-C", "rsa comment"]);
    let line = from.run(&["show", "ed", "--public"]).ok().stdout();
    std::fs::write(from.path("ed.pub"), line).unwrap();
    from.run(&[
        "import",
        "pubonly",
        "--public-key",
        "ed.pub",
        "-C",
        "just public",
    ])
    .ok();
    std::fs::write(from.path("bpass"), format!("{BUNDLE_PASS}\n")).unwrap();
    let to = Kps::new();
    std::fs::write(to.path("bpass"), format!("{BUNDLE_PASS}\n")).unwrap();
    (from, to)
}

const NAMES: [&str; 4] = ["ed", "p384", "rsa", "pubonly"];

fn export_bundle(from: &Kps, file: &str) {
    let mut args = vec!["export-bundle"];
    args.extend(NAMES);
    args.extend(["-o", file, "--bundle-passphrase-file", "bpass"]);
    args.extend(CHEAP_KDF);
    from.run(&args).ok();
}

fn keypair(kps: &Kps, name: &str) -> Value {
    kps.run(&["--json", "show", name]).ok().json()["keypair"].clone()
}

fn list(kps: &Kps) -> Value {
    kps.run(&["--json", "list"]).ok().json()
}

/// `to` imports the bundle at `file` (a path in `from`'s directory).
fn import(to: &Kps, file: &std::path::Path, extra: &[&str]) -> Run {
    let mut args = vec!["--json", "import", "--bundle", file.to_str().unwrap()];
    args.extend(extra);
    to.run(&args)
}

fn assert_same_keypairs(from: &Kps, to: &Kps) {
    for name in NAMES {
        let (a, b) = (keypair(from, name), keypair(to, name));
        for field in [
            "algorithm",
            "bits",
            "public_key",
            "fingerprint",
            "fingerprint_md5",
            "fingerprint_aws_created",
            "fingerprint_aws_imported",
            "comment",
            "description",
            "user_id",
            "create_time",
            "is_key_protection",
        ] {
            assert_eq!(a[field], b[field], "{name}: {field}");
        }
        if name != "pubonly" {
            for format in ["openssh", "pkcs8"] {
                let x = from
                    .run(&["export", name, "--format", format, "-o", "-"])
                    .ok();
                let y = to
                    .run(&["export", name, "--format", format, "-o", "-"])
                    .ok();
                assert_eq!(x.stdout(), y.stdout(), "{name} {format}");
            }
        }
    }
    to.run(&["export", "pubonly", "-o", "-"]).expect(5);
}

#[test]
fn passphrase_bundle_round_trips_between_two_stores() {
    let (from, to) = two_stores();
    export_bundle(&from, "keys.bundle");
    let file = from.path("keys.bundle");
    assert_eq!(mode_of(&file), 0o600);
    let doc = import(&to, &file, &["--bundle-passphrase-file", "bpass"])
        .ok()
        .json();
    let imported: Vec<&str> = doc["keypairs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["keypair"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(imported, NAMES);
    assert_same_keypairs(&from, &to);
    // The imported rows are as sound as any: verify opens every key.
    to.run(&["verify"]).ok();

    // Into a store that does not exist yet: made, as import makes one.
    let fresh = Kps::empty();
    std::fs::write(fresh.path("bpass"), format!("{BUNDLE_PASS}\n")).unwrap();
    let mut args = vec!["import", "--bundle", file.to_str().unwrap()];
    args.extend(["--bundle-passphrase-file", "bpass"]);
    args.extend(CHEAP_KDF);
    fresh.run(&args).ok();
    assert_same_keypairs(&from, &fresh);
}

#[test]
fn recipient_bundle_round_trips_and_opens_only_for_its_store() {
    let (from, to) = two_stores();
    let identity = to.run(&["identity"]).ok().stdout().trim().to_string();
    assert!(identity.starts_with("kps-identity-v1:"), "{identity}");
    let json = to.run(&["--json", "identity"]).ok().json();
    assert_eq!(json["identity"], identity.as_str());
    // Without a passphrase once pinned; the same line every time.
    let no_pass = to.run_with(&["identity"], |c| {
        c.env_remove("KPS_PASSPHRASE_FILE");
    });
    assert_eq!(no_pass.ok().stdout().trim(), identity);

    let mut args = vec!["--json", "export-bundle"];
    args.extend(NAMES);
    args.extend(["-o", "sealed.bundle", "--to", &identity]);
    let doc = from.run(&args).ok().json();
    assert_eq!(doc["sealed"], "identity");
    assert_eq!(doc["to"], identity.as_str());
    let file = from.path("sealed.bundle");
    assert_eq!(mode_of(&file), 0o600);

    // Another store cannot open it, and says so before asking anything.
    let other = Kps::new();
    let before = std::fs::read(other.db()).unwrap();
    let run = other.run_with(
        &["--json", "import", "--bundle", file.to_str().unwrap()],
        |c| {
            c.env_remove("KPS_PASSPHRASE_FILE");
        },
    );
    let err = run.expect(6).error_json();
    assert_eq!(err["error_code"], "KPS.7052");
    assert!(err["error_msg"].as_str().unwrap().contains(&identity));
    assert_eq!(std::fs::read(other.db()).unwrap(), before);
    assert_eq!(list(&other)["keypairs"], json!([]));

    // The right store opens it with its own unlock; no bundle passphrase.
    import(&to, &file, &[]).ok();
    assert_same_keypairs(&from, &to);
}

#[test]
fn a_wrong_passphrase_leaves_the_store_as_it_was() {
    let (from, to) = two_stores();
    export_bundle(&from, "keys.bundle");
    to.create("mine", &[]);
    let before = list(&to);
    std::fs::write(to.path("wrong"), "not it\n").unwrap();
    let run = import(
        &to,
        &from.path("keys.bundle"),
        &["--bundle-passphrase-file", "wrong"],
    );
    assert_eq!(run.expect(6).error_json()["error_code"], "KPS.7051");
    assert_eq!(list(&to), before);
    // No store is made for a bundle that does not open.
    let fresh = Kps::empty();
    std::fs::write(fresh.path("wrong"), "not it\n").unwrap();
    fresh
        .run(&[
            "import",
            "--bundle",
            from.path("keys.bundle").to_str().unwrap(),
            "--bundle-passphrase-file",
            "wrong",
        ])
        .expect(6);
    assert!(!fresh.store.exists());
    // Without a passphrase file and no terminal: refused, not waiting.
    import(&to, &from.path("keys.bundle"), &[]).expect(2);
}

#[test]
fn one_byte_flipped_anywhere_is_refused() {
    let (from, to) = two_stores();
    export_bundle(&from, "keys.bundle");
    let good = std::fs::read(from.path("keys.bundle")).unwrap();
    let before = list(&to);
    // Every byte of the header, then a spread of the ciphertext.
    let mut positions: Vec<usize> = (0..70).collect();
    positions.extend((70..good.len()).step_by(good.len() / 40));
    positions.push(good.len() - 1);
    let bad = to.path("flipped.bundle");
    for at in positions {
        let mut bytes = good.clone();
        bytes[at] ^= 0x04;
        std::fs::write(&bad, &bytes).unwrap();
        let run = import(&to, &bad, &["--bundle-passphrase-file", "bpass"]);
        let code = run.code();
        // A changed KDF cost, salt or check value reads as a wrong
        // passphrase (6); anything else as a damaged bundle (5).
        assert!(
            code == 5 || code == 6,
            "flip at {at}: exit {code}: {}",
            run.stderr()
        );
        let err = run.error_json();
        assert!(
            ["KPS.7050", "KPS.7051"].contains(&err["error_code"].as_str().unwrap()),
            "flip at {at}: {err}"
        );
    }
    assert_eq!(list(&to), before);
    // And the original still opens.
    import(
        &to,
        &from.path("keys.bundle"),
        &["--bundle-passphrase-file", "bpass"],
    )
    .ok();
}

#[test]
fn truncated_extended_foreign_and_future_bundles_are_refused() {
    let (from, to) = two_stores();
    export_bundle(&from, "keys.bundle");
    let good = std::fs::read(from.path("keys.bundle")).unwrap();
    let file = to.path("bad.bundle");
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (Vec::new(), "not a kps bundle"),
        (good[..7].to_vec(), "not a kps bundle"),
        (good[..9].to_vec(), "cut short"),
        (good[..69].to_vec(), "cut short"),
        (good[..good.len() / 2].to_vec(), "cut short"),
        (good[..good.len() - 1].to_vec(), "cut short"),
        ([&good[..], b"x"].concat(), "after its end"),
        (
            b"-----BEGIN OPENSSH PRIVATE KEY-----\n".to_vec(),
            "not a kps bundle",
        ),
        (
            {
                let mut b = good.clone();
                b[8] = 2;
                b
            },
            "version 2",
        ),
        (
            {
                let mut b = good.clone();
                b[9] = 9;
                b
            },
            "mode 9",
        ),
        // A KDF cost past the store's ceiling: refused before Argon2 runs.
        (
            {
                let mut b = good.clone();
                b[10..14].copy_from_slice(&(4u32 * 1024 * 1024).to_be_bytes());
                b
            },
            "too much work",
        ),
    ];
    for (bytes, needle) in cases {
        std::fs::write(&file, &bytes).unwrap();
        let run = import(&to, &file, &["--bundle-passphrase-file", "bpass"]).expect(5);
        let err = run.error_json();
        assert_eq!(err["error_code"], "KPS.7050");
        assert!(
            err["error_msg"].as_str().unwrap().contains(needle),
            "{needle}: {err}"
        );
    }
    assert_eq!(list(&to)["keypairs"], json!([]));
}

#[test]
fn a_name_clash_refuses_the_whole_bundle() {
    let (from, to) = two_stores();
    export_bundle(&from, "keys.bundle");
    to.create("rsa", &[]);
    to.create("pubonly", &[]);
    let before = list(&to);
    let run = import(
        &to,
        &from.path("keys.bundle"),
        &["--bundle-passphrase-file", "bpass"],
    );
    let err = run.expect(4).error_json();
    assert_eq!(err["error_code"], "KPS.7001");
    let msg = err["error_msg"].as_str().unwrap();
    assert!(msg.contains("rsa") && msg.contains("pubonly"), "{msg}");
    assert_eq!(list(&to), before, "nothing of the bundle was imported");
    // The dry run says the same, and writes nothing.
    import(
        &to,
        &from.path("keys.bundle"),
        &["--bundle-passphrase-file", "bpass", "--dry-run"],
    )
    .expect(4);
}

#[test]
fn dry_run_prints_and_stores_nothing() {
    let (from, to) = two_stores();
    export_bundle(&from, "keys.bundle");
    let doc = import(
        &to,
        &from.path("keys.bundle"),
        &["--bundle-passphrase-file", "bpass", "--dry-run"],
    )
    .ok()
    .json();
    assert_eq!(doc["dry_run"], true);
    assert_eq!(doc["keypairs"].as_array().unwrap().len(), 4);
    assert_eq!(
        doc["keypairs"][0]["keypair"]["create_time"],
        keypair(&from, "ed")["create_time"]
    );
    assert_eq!(list(&to)["keypairs"], json!([]));
}

#[test]
fn no_private_key_is_in_the_clear_in_a_bundle() {
    let (from, to) = two_stores();
    export_bundle(&from, "pass.bundle");
    let identity = to.run(&["identity"]).ok().stdout().trim().to_string();
    let mut args = vec!["export-bundle"];
    args.extend(NAMES);
    args.extend(["-o", "sealed.bundle", "--to", &identity]);
    from.run(&args).ok();
    for file in ["pass.bundle", "sealed.bundle"] {
        let bytes = std::fs::read(from.path(file)).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        for needle in [
            "PRIVATE KEY",
            "b3BlbnNzaC1rZXktdjE",
            "openssh-key-v1",
            "ed@example",
            "ssh-",
        ] {
            assert!(!text.contains(needle), "{file} holds {needle:?}");
        }
        for name in ["ed", "p384", "rsa"] {
            let key = from.run(&["export", name, "-o", "-"]).ok().stdout();
            // Every line of the key's base64, and the raw key bytes.
            for line in key.lines().filter(|l| !l.starts_with("-----")) {
                assert!(!text.contains(line), "{file}: a line of {name}'s key");
            }
            let der = from
                .run(&["export", name, "--format", "pkcs8", "-o", "-"])
                .ok()
                .stdout();
            let body: String = der.lines().filter(|l| !l.starts_with("-----")).collect();
            let raw = base64_decode(&body);
            // The last 32 bytes hold secret material in every algorithm's PKCS#8.
            let tail = &raw[raw.len() - 32..];
            assert!(
                !bytes.windows(32).any(|w| w == tail),
                "{file}: {name}'s key bytes"
            );
        }
    }
}

#[test]
fn export_bundle_refusals() {
    let (from, _to) = two_stores();
    std::fs::write(from.path("empty"), "").unwrap();
    let cases: &[(&[&str], i32, &str)] = &[
        (&["export-bundle", "-o", "b"], 2, "required"),
        (
            &[
                "export-bundle",
                "ed",
                "nope",
                "-o",
                "b",
                "--bundle-passphrase-file",
                "bpass",
            ],
            3,
            "nope",
        ),
        (
            &[
                "export-bundle",
                "ed",
                "ed",
                "-o",
                "b",
                "--bundle-passphrase-file",
                "bpass",
            ],
            2,
            "more than once",
        ),
        (
            &[
                "export-bundle",
                "ed",
                "-o",
                "b",
                "--bundle-passphrase-file",
                "empty",
            ],
            2,
            "empty",
        ),
        (&["export-bundle", "ed", "-o", "b"], 2, "terminal"),
        (
            &[
                "export-bundle",
                "ed",
                "-o",
                "b",
                "--bundle-passphrase-file",
                "bpass",
                "--kdf-memory",
                "1024",
            ],
            2,
            "floor",
        ),
        (
            &[
                "export-bundle",
                "ed",
                "-o",
                "b",
                "--to",
                "kps-identity-v1:AAAA",
            ],
            2,
            "--to",
        ),
        (
            &["export-bundle", "ed", "-o", "b", "--to", "ssh-ed25519 AAAA"],
            2,
            "--to",
        ),
        (
            &[
                "--json",
                "export-bundle",
                "ed",
                "-o",
                "-",
                "--bundle-passphrase-file",
                "bpass",
            ],
            2,
            "--json",
        ),
        (
            &["export-bundle", "ed", "-o", "b", "--bundle-passphrase", "x"],
            2,
            "unexpected",
        ),
    ];
    for (args, code, needle) in cases {
        let run = from.run(args).expect(*code);
        assert!(run.stderr().contains(needle), "{args:?}: {}", run.stderr());
        assert!(!from.path("b").exists(), "{args:?} wrote a file");
    }
    // An existing output is refused before any passphrase is read.
    std::fs::write(from.path("b"), "mine").unwrap();
    from.run(&["export-bundle", "ed", "-o", "b"]).expect(1);
    assert_eq!(std::fs::read_to_string(from.path("b")).unwrap(), "mine");
    // To stdout: the same bytes a file gets, and `-` on the import side.
    let mut args = vec![
        "export-bundle",
        "ed",
        "-o",
        "-",
        "--bundle-passphrase-file",
        "bpass",
    ];
    args.extend(CHEAP_KDF);
    let out = from.run(&args).ok().output.stdout;
    assert!(out.starts_with(b"KPSBUNDL\x01\x01"));
    let other = Kps::new();
    std::fs::write(other.path("bpass"), format!("{BUNDLE_PASS}\n")).unwrap();
    let mut cmd = other.command();
    cmd.args([
        "import",
        "--bundle",
        "-",
        "--bundle-passphrase-file",
        "bpass",
    ])
    .stdin(std::process::Stdio::piped())
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(&out).unwrap();
    assert!(child.wait_with_output().unwrap().status.success());
    assert_eq!(
        keypair(&other, "ed")["fingerprint"],
        keypair(&from, "ed")["fingerprint"]
    );
    // identity on a store without a passphrase yet, or without a store.
    Kps::empty().run(&["identity"]).expect(7);
}

#[test]
fn kms_keypairs_travel_too_and_take_the_importers_protection() {
    if !have_softhsm() {
        return;
    }
    let (from, to) = two_stores();
    let hsm = Hsm::new(&from.path("hsm"));
    std::fs::write(from.path("pin"), format!("{PIN}\n")).unwrap();
    let with_token = |c: &mut std::process::Command| {
        c.env("SOFTHSM2_CONF", &hsm.conf)
            .env("KPS_PKCS11_PIN_FILE", from.path("pin"));
    };
    hsm.set_up_kms(&from, with_token);
    from.run_with(
        &[
            "create",
            "hsmkey",
            "--encryption",
            "kms",
            "--kms-key-name",
            "kps/default",
        ],
        with_token,
    )
    .ok();
    let mut args = vec!["export-bundle", "hsmkey", "ed", "-o", "kms.bundle"];
    args.extend(["--bundle-passphrase-file", "bpass"]);
    args.extend(CHEAP_KDF);
    from.run_with(&args, with_token).ok();
    let doc = import(
        &to,
        &from.path("kms.bundle"),
        &["--bundle-passphrase-file", "bpass"],
    )
    .ok()
    .json();
    assert_eq!(
        doc["keypairs"][0]["keypair"]["key_protection"]["encryption"]["type"],
        "default"
    );
    let theirs = from
        .run_with(&["export", "hsmkey", "-o", "-"], with_token)
        .ok()
        .stdout();
    let ours = to.run(&["export", "hsmkey", "-o", "-"]).ok().stdout();
    assert_eq!(theirs, ours);
}

// ---- Bundles crafted from docs/bundle-format.md ----

/// A passphrase bundle built by hand from the documented layout.
fn craft(plaintext: &[u8], passphrase: &str) -> Vec<u8> {
    use chacha20poly1305::aead::{Aead, KeyInit, Payload};
    use hmac::Mac;
    let (memory, passes, lanes) = (19456u32, 2u32, 1u32);
    let salt = [7u8; 16];
    let nonce = [9u8; 12];
    let mut master = [0u8; 32];
    argon2::Argon2::new(
        argon2::Algorithm::Argon2id,
        argon2::Version::V0x13,
        argon2::Params::new(memory, passes, lanes, Some(32)).unwrap(),
    )
    .hash_password_into(passphrase.as_bytes(), &salt, &mut master)
    .unwrap();
    let prf = |label: &[u8]| {
        let mut mac = <hmac::Hmac<sha2::Sha256> as hmac::KeyInit>::new_from_slice(&master).unwrap();
        mac.update(label);
        mac.finalize().into_bytes()
    };
    let key = prf(b"kps bundle key v1");
    let check = prf(b"kps bundle check v1");
    let mut header = b"KPSBUNDL".to_vec();
    header.extend_from_slice(&[1, 1]);
    for v in [memory, passes, lanes] {
        header.extend_from_slice(&v.to_be_bytes());
    }
    header.extend_from_slice(&salt);
    header.extend_from_slice(&check[..16]);
    header.extend_from_slice(&nonce);
    header.extend_from_slice(&((plaintext.len() + 16) as u32).to_be_bytes());
    let ciphertext = chacha20poly1305::ChaCha20Poly1305::new_from_slice(&key)
        .unwrap()
        .encrypt(
            &nonce.into(),
            Payload {
                msg: plaintext,
                aad: &header,
            },
        )
        .unwrap();
    header.extend_from_slice(&ciphertext);
    header
}

fn crafted_entry(from: &Kps, name: &str) -> Value {
    let shown = keypair(from, name);
    json!({
        "name": name,
        "algorithm": shown["algorithm"],
        "comment": shown["comment"],
        "description": shown["description"],
        "user_id": shown["user_id"],
        "create_time": shown["create_time"],
        "public_key": shown["public_key"],
        "private_key": from.run(&["export", name, "-o", "-"]).ok().stdout(),
    })
}

#[test]
fn a_bundle_crafted_from_the_documented_format_opens() {
    let (from, to) = two_stores();
    let doc = json!({ "keypairs": [crafted_entry(&from, "ed"), crafted_entry(&from, "rsa")] });
    std::fs::write(
        to.path("crafted.bundle"),
        craft(doc.to_string().as_bytes(), BUNDLE_PASS),
    )
    .unwrap();
    import(
        &to,
        &to.path("crafted.bundle"),
        &["--bundle-passphrase-file", "bpass"],
    )
    .ok();
    for name in ["ed", "rsa"] {
        assert_eq!(
            keypair(&to, name)["fingerprint"],
            keypair(&from, name)["fingerprint"]
        );
        assert_eq!(
            keypair(&to, name)["create_time"],
            keypair(&from, name)["create_time"]
        );
    }
}

#[test]
fn crafted_bundles_with_hostile_text_are_refused() {
    let (from, to) = two_stores();
    let good = crafted_entry(&from, "ed");
    let other_key = from.run(&["export", "rsa", "-o", "-"]).ok().stdout();
    let pub_line = keypair(&from, "ed")["public_key"]
        .as_str()
        .unwrap()
        .to_string();
    let edits: Vec<(&str, Value, &str)> = vec![
        ("name", json!("ed\u{1b}]0;pwned\u{7}"), "name"),
        ("name", json!("../../etc"), "name"),
        ("name", json!(""), "name"),
        (
            "comment",
            json!("x\nssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE3 attacker"),
            "line feed",
        ),
        ("comment", json!("\u{1b}]52;c;cGF3bmVk\u{7}"), "escape"),
        ("comment", json!("\u{202e}evil"), "bidi"),
        ("description", json!("\u{1b}[2J cleared"), "escape"),
        ("user_id", json!("u\r\n"), "carriage return"),
        (
            "create_time",
            json!("2026-11-29T19:46:41Z\u{1b}[31m"),
            "escape",
        ),
        ("create_time", json!("yesterday"), "create_time"),
        ("algorithm", json!("ssh-rsa"), "algorithm"),
        ("private_key", json!(other_key), "does not belong"),
        (
            "public_key",
            json!(format!("{pub_line}\nssh-ed25519 AAAA x")),
            "public key",
        ),
        (
            "private_key",
            json!("-----BEGIN RSA PRIVATE KEY-----\nnot a key\n-----END RSA PRIVATE KEY-----\n"),
            "private key",
        ),
    ];
    let file = to.path("hostile.bundle");
    for (field, value, needle) in edits {
        let mut entry = good.clone();
        entry[field] = value.clone();
        let doc = json!({ "keypairs": [entry] });
        std::fs::write(&file, craft(doc.to_string().as_bytes(), BUNDLE_PASS)).unwrap();
        let run = to.run(&[
            "import",
            "--bundle",
            file.to_str().unwrap(),
            "--bundle-passphrase-file",
            "bpass",
        ]);
        assert_eq!(run.code(), 5, "{field}={value}: {}", run.stderr());
        let stderr = run.stderr();
        assert!(
            stderr.to_lowercase().contains(needle),
            "{field}={value}: {stderr}"
        );
        // Nothing reaches the terminal raw.
        assert!(
            !stderr
                .chars()
                .any(|c| c != '\n' && kps::text::is_forbidden(c)),
            "{field}: raw control in {stderr:?}"
        );
    }
    // Structure: two of one name, unknown fields, no keypairs, not JSON.
    let plaintexts: Vec<(Vec<u8>, &str)> = vec![
        (
            json!({ "keypairs": [good.clone(), good.clone()] })
                .to_string()
                .into_bytes(),
            "twice",
        ),
        (
            json!({ "keypairs": [good.clone()], "extra": 1 })
                .to_string()
                .into_bytes(),
            "malformed",
        ),
        (json!({ "keypairs": [] }).to_string().into_bytes(), "1 to"),
        (b"\x1b[2J not json".to_vec(), "malformed"),
    ];
    for (plaintext, needle) in plaintexts {
        std::fs::write(&file, craft(&plaintext, BUNDLE_PASS)).unwrap();
        let run = to.run(&[
            "import",
            "--bundle",
            file.to_str().unwrap(),
            "--bundle-passphrase-file",
            "bpass",
        ]);
        assert_eq!(run.code(), 5, "{needle}: {}", run.stderr());
        assert!(run.stderr().contains(needle), "{needle}: {}", run.stderr());
    }
    assert_eq!(list(&to)["keypairs"], json!([]));
}

/// Standard base64.
fn base64_decode(s: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let mut acc = 0u32;
    let mut bits = 0;
    for c in s.bytes().filter(|c| *c != b'=') {
        let v = ALPHABET.iter().position(|a| *a == c).unwrap() as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}
