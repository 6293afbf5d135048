//! `kps import` of PEM, PKCS#8 and the odd keys other tools write (issue 14):
//! one error code for a key whose parts disagree, in every container; RSA
//! keys whose CRT coefficient is the other way round; PKCS#8 whose curve
//! disagrees with the key inside; encrypted PKCS#8 from older tools; and the
//! OS error printed once. Fixtures: tests/fixtures/import-pem (make.sh).

mod common;
use common::*;
use std::path::PathBuf;

fn fixture(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/import-pem")
        .join(name)
        .to_str()
        .unwrap()
        .to_string()
}

/// The store's listing and bytes, to show that a refusal changed nothing.
fn store_state(kps: &Kps) -> (serde_json::Value, Vec<u8>) {
    (
        kps.run(&["--json", "list"]).ok().json(),
        std::fs::read(kps.db()).unwrap(),
    )
}

/// Import `args`, expect the refusal `code` with exit 5 and a message that
/// says each of `says`, and an unchanged store; gives the error JSON.
fn refuse(kps: &Kps, args: &[&str], code: &str, says: &[&str]) -> serde_json::Value {
    let before = store_state(kps);
    let mut full = vec!["--json", "import", "k"];
    full.extend(args);
    let run = kps.run(&full).expect(5);
    assert_no_secrets(&run);
    let err = run.error_json();
    assert_eq!(err["error_code"], code, "{args:?}: {err}");
    let msg = err["error_msg"].as_str().unwrap();
    for word in says {
        assert!(msg.contains(word), "{args:?}: {msg} (wanted {word})");
    }
    assert_eq!(store_state(kps), before, "{args:?} changed the store");
    err
}

/// The "type base64" part of an authorized_keys line.
fn key_part(line: &str) -> String {
    line.split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn a_key_whose_parts_disagree_is_kps_6011_in_every_format() {
    let kps = Kps::new();
    // (file, what the message says). Each was made from a real key by
    // craft.py: RSA with d + 2 (n is still p*q), DSA with y + 1, Ed25519 and
    // P-256 with another key's public half.
    let cases = [
        ("rsa-bad-d.pem", "RSA"),
        ("rsa-bad-d.p8", "RSA"),
        ("rsa-bad-d.key", "RSA"),
        ("rsa-bad-d.ppk", "RSA"),
        ("dsa-bad-y.pem", "g^x"),
        ("dsa-bad-y.key", "g^x"),
        ("dsa-bad-y.ppk", "g^x"),
        ("ed25519-bad-public.key", "do not match"),
        ("ed25519-bad-public.p8", "does not match"),
        ("ed25519-bad-public.ppk", "different public key"),
        ("p256-bad-point.key", "does not match"),
        ("p256-bad-point.ppk", "different public key"),
        ("p256-foreign-point.p8", "does not match"),
    ];
    for (file, says) in cases {
        refuse(
            &kps,
            &["--private-key", &fixture(file)],
            "KPS.6011",
            &[says],
        );
    }
}

#[test]
fn rsa_with_the_crt_coefficient_the_other_way_round_is_imported_and_exported_whole() {
    if !have_tool("ssh-keygen") || !have_tool("openssl") {
        return;
    }
    let kps = Kps::new();
    // The public key ssh-keygen reads from the PEM (all three files hold
    // the same key). A copy: ssh-keygen reads only a private key file kept
    // 0600, which git does not record.
    let pem = kps.path("swapped.pem");
    std::fs::copy(fixture("rsa-swapped-crt.pem"), &pem).unwrap();
    std::fs::set_permissions(&pem, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let want = tool_ok("ssh-keygen", &[&"-y", &"-f", &pem]);
    for (name, file) in [
        ("pkcs1", "rsa-swapped-crt.pem"),
        ("openssh", "rsa-swapped-crt.key"),
        ("ppk", "rsa-swapped-crt.ppk"),
    ] {
        let out = kps
            .run(&["--json", "import", name, "--private-key", &fixture(file)])
            .ok()
            .json();
        // The .ppk reader recomputes it silently, as PuTTY does.
        if name != "ppk" {
            let warnings = out["warnings"].to_string();
            assert!(warnings.contains("recomputed"), "{name}: {out}");
        }
        let got = kps
            .run(&["export", name, "--format", "public"])
            .ok()
            .stdout();
        assert_eq!(key_part(&got), key_part(&want), "{name}");
        // What kps hands out is consistent: OpenSSL's full check passes on
        // the PEM, and ssh-keygen derives the same public key from the
        // OpenSSH export.
        let pem = kps.path(&format!("{name}.pem"));
        let pem_s = pem.to_str().unwrap();
        kps.run(&["export", name, "--format", "pem", "-o", pem_s])
            .ok();
        let check = tool("openssl", &[&"rsa", &"-check", &"-noout", &"-in", &pem]);
        assert!(
            check.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&check.stderr)
        );
        let ossh = kps.path(&format!("{name}.openssh"));
        let ossh_s = ossh.to_str().unwrap();
        kps.run(&["export", name, "-o", ossh_s]).ok();
        let derived = tool_ok("ssh-keygen", &[&"-y", &"-f", &ossh]);
        assert_eq!(key_part(&derived), key_part(&want), "{name}");
    }
}

#[test]
fn pkcs8_whose_curve_disagrees_with_the_key_inside_is_refused() {
    let kps = Kps::new();
    // The outer algorithm says P-256; inside, a whole P-384 key, and a
    // P-256 key whose own parameters name P-384.
    for file in ["p256-outer-p384-inner.p8", "p256-inner-names-p384.p8"] {
        refuse(
            &kps,
            &["--private-key", &fixture(file)],
            "KPS.6009",
            &["P-256", "P-384"],
        );
    }
}

fn write_pass(kps: &Kps, name: &str, text: &str) -> String {
    let path = kps.path(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn encrypted_pkcs8_from_older_tools_is_read() {
    let kps = Kps::new();
    let pass = write_pass(&kps, "keypass", "key pass\n");
    let wrong = write_pass(&kps, "wrongpass", "not it\n");
    let want = std::fs::read_to_string(fixture("encrypted.pub")).unwrap();
    // PBES2 with des-ede3-cbc (HMAC-SHA-256 and HMAC-SHA-1), and AES-128
    // with the HMAC-SHA-1 PRF, as `openssl pkcs8 -topk8 -v2 ...` made them.
    for (i, file) in [
        "pbes2-des3.p8",
        "pbes2-des3-hmacsha1.p8",
        "pbes2-aes128-hmacsha1.p8",
    ]
    .into_iter()
    .enumerate()
    {
        let path = fixture(file);
        // The wrong passphrase is named as such, and only for these.
        refuse(
            &kps,
            &["--private-key", &path, "--key-passphrase-file", &wrong],
            "KPS.7016",
            &["wrong passphrase"],
        );
        let name = format!("k{i}");
        kps.run(&[
            "--json",
            "import",
            &name,
            "--private-key",
            &path,
            "--key-passphrase-file",
            &pass,
        ])
        .ok();
        let got = kps
            .run(&["export", &name, "--format", "public"])
            .ok()
            .stdout();
        assert_eq!(key_part(&got), key_part(&want), "{file}");
    }
}

#[test]
fn legacy_pbes1_pkcs8_is_refused_by_name_with_a_command_that_converts_it() {
    let kps = Kps::new();
    let pass = write_pass(&kps, "keypass", "key pass\n");
    for (file, scheme) in [
        (
            "pbes1-sha1-3des.p8",
            "PKCS#12 PBE with SHA-1 and 3-key 3DES",
        ),
        ("pbes1-md5-des.p8", "PKCS#5 PBES1 with MD5 and DES"),
    ] {
        let path = fixture(file);
        refuse(
            &kps,
            &["--private-key", &path, "--key-passphrase-file", &pass],
            "KPS.6009",
            &[scheme],
        );
        // Said before any passphrase is asked for: one would not help.
        refuse(&kps, &["--private-key", &path], "KPS.6009", &[scheme]);
        let hint = kps
            .run(&[
                "import",
                "k",
                "--private-key",
                &path,
                "--key-passphrase-file",
                &pass,
            ])
            .expect(5)
            .stderr();
        assert!(
            hint.contains("hint: convert it with: openssl pkcs8 -topk8 -v2 aes-256-cbc"),
            "{file}: {hint}"
        );
    }
    if !have_tool("openssl") {
        return;
    }
    // The advice works: the command from the hint, then the import.
    let converted = kps.path("converted.p8");
    tool_ok(
        "openssl",
        &[
            &"pkcs8",
            &"-topk8",
            &"-v2",
            &"aes-256-cbc",
            &"-in",
            &fixture("pbes1-sha1-3des.p8"),
            &"-passin",
            &format!("file:{pass}"),
            &"-passout",
            // openssl cannot read one file for both.
            &format!("file:{}", write_pass(&kps, "keypass2", "key pass\n")),
            &"-out",
            &converted,
        ],
    );
    kps.run(&[
        "import",
        "converted",
        "--private-key",
        converted.to_str().unwrap(),
        "--key-passphrase-file",
        &pass,
    ])
    .ok();
}

#[test]
fn an_unreadable_file_names_the_os_error_once() {
    let kps = Kps::new();
    let missing = kps.path("no-such-key");
    let missing = missing.to_str().unwrap();
    let text = kps
        .run(&["import", "k", "--private-key", missing])
        .expect(1)
        .stderr();
    assert!(text.contains(&format!("cannot read {missing}")), "{text}");
    assert_eq!(text.matches("os error 2").count(), 1, "{text}");
    let err = kps
        .run(&["--json", "import", "k", "--private-key", missing])
        .expect(1)
        .error_json();
    assert_eq!(err["error_code"], "KPS.7017");
    let msg = err["error_msg"].as_str().unwrap();
    assert_eq!(msg.matches("os error 2").count(), 1, "{msg}");
    // The store passphrase file goes through the same chain (opening a
    // private key is what needs it).
    kps.create("k", &[]);
    let text = kps
        .run_with(&["export", "k", "-o", "-"], |cmd| {
            cmd.env("KPS_PASSPHRASE_FILE", missing);
        })
        .expect(6)
        .stderr();
    assert!(text.contains("cannot read passphrase file"), "{text}");
    assert_eq!(text.matches("os error 2").count(), 1, "{text}");
}

/// puttygen's `-O private-openssh` writes a P-256 scalar with its top bit
/// set as 33 bytes, a zero first (as an SSH mpint): about half its keys.
/// OpenSSL reads them (`openssl ec -check`: valid); so does kps, with the
/// fingerprint puttygen gives. Found by tests/import_sweep.rs.
#[test]
fn puttygen_sec1_with_an_mpint_scalar_is_read() {
    let kps = Kps::new();
    let run = kps
        .run(&[
            "--json",
            "import",
            "p",
            "--private-key",
            &fixture("puttygen-p256-mpint-scalar.pem"),
        ])
        .ok();
    let want = std::fs::read_to_string(fixture("puttygen-p256-mpint-scalar.pub")).unwrap();
    assert_eq!(
        key_part(run.json()["keypair"]["public_key"].as_str().unwrap()),
        key_part(&want)
    );
}
