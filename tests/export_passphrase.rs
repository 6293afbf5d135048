//! `kps export` with a passphrase of the key's own (OpenSSH bcrypt-pbkdf,
//! PKCS#8 PBES2) and `--with-public`, checked with ssh-keygen, openssl and
//! kps's own import.

mod common;
use common::*;

const KEY_PASS: &str = "key pass";

fn setup() -> Kps {
    let kps = Kps::new();
    kps.create("ed", &["-C", "ed@example"]);
    kps.create("p256", &["-t", "ecdsa"]);
    kps.create("rsa", &["-t", "rsa", "-b", "2048"]);
    std::fs::write(kps.path("kp"), format!("{KEY_PASS}\n")).unwrap();
    kps
}

fn public_of(kps: &Kps, name: &str) -> String {
    kps.run(&["show", name, "--public"]).ok().stdout()
}

#[test]
fn openssh_export_opens_with_ssh_keygen_and_its_passphrase_only() {
    if !have_tool("ssh-keygen") {
        return;
    }
    let kps = setup();
    for name in ["ed", "p256", "rsa"] {
        let file = kps.path(&format!("{name}.key"));
        kps.run(&[
            "export",
            name,
            "-o",
            file.to_str().unwrap(),
            "--key-passphrase-file",
            "kp",
        ])
        .ok();
        assert_eq!(mode_of(&file), 0o600);
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(text.starts_with("-----BEGIN OPENSSH PRIVATE KEY-----\n"));
        // Without the passphrase ssh-keygen cannot even derive the public key
        // from the private half: it is encrypted (the cipher and KDF names
        // are in the clear header).
        let body: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
        let raw = base64_decode(&body);
        let raw_text = String::from_utf8_lossy(&raw);
        assert!(raw_text.contains("aes256-ctr"), "{name}");
        assert!(raw_text.contains("bcrypt"), "{name}");
        let derived = tool_ok("ssh-keygen", &[&"-y", &"-P", &KEY_PASS, &"-f", &file]);
        assert_eq!(key_fields(&derived), key_fields(&public_of(&kps, name)));
        let wrong = tool("ssh-keygen", &[&"-y", &"-P", &"not it", &"-f", &file]);
        assert!(
            !wrong.status.success(),
            "{name}: a wrong passphrase opened it"
        );
        let none = tool("ssh-keygen", &[&"-y", &"-P", &"", &"-f", &file]);
        assert!(
            !none.status.success(),
            "{name}: opened without a passphrase"
        );
    }
}

#[test]
fn pkcs8_export_opens_with_openssl() {
    if !have_tool("openssl") || !have_tool("ssh-keygen") {
        return;
    }
    let kps = setup();
    for name in ["ed", "p256", "rsa"] {
        let file = kps.path(&format!("{name}.p8"));
        kps.run(&[
            "export",
            name,
            "--format",
            "pkcs8",
            "-o",
            file.to_str().unwrap(),
            "--key-passphrase-file",
            "kp",
        ])
        .ok();
        assert_eq!(mode_of(&file), 0o600);
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(text.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----\n"));
        let structure = tool_ok("openssl", &[&"asn1parse", &"-in", &file]);
        for part in ["PBES2", "PBKDF2", "hmacWithSHA256", "aes-256-cbc"] {
            assert!(structure.contains(part), "{name}: {part} in {structure}");
        }
        // openssl decrypts it, and the key inside is the keypair's: the
        // same public key as kps's unencrypted PKCS#8 export of it.
        let pass_arg = format!("file:{}", kps.path("kp").display());
        let theirs = tool_ok(
            "openssl",
            &[&"pkey", &"-in", &file, &"-passin", &pass_arg, &"-pubout"],
        );
        let clear = kps.path(&format!("{name}.clear.pem"));
        kps.run(&[
            "export",
            name,
            "--format",
            "pkcs8",
            "-o",
            clear.to_str().unwrap(),
        ])
        .ok();
        let ours = tool_ok("openssl", &[&"pkey", &"-in", &clear, &"-pubout"]);
        assert!(theirs.starts_with("-----BEGIN PUBLIC KEY-----"), "{theirs}");
        assert_eq!(theirs, ours, "{name}");
        std::fs::write(kps.path("wrong"), "not it\n").unwrap();
        let wrong = tool(
            "openssl",
            &[
                &"pkey",
                &"-in",
                &file,
                &"-passin",
                &format!("file:{}", kps.path("wrong").display()),
            ],
        );
        assert!(
            !wrong.status.success(),
            "{name}: a wrong passphrase opened it"
        );
    }
}

#[test]
fn kps_imports_its_own_encrypted_exports() {
    let kps = setup();
    let other = Kps::new();
    for (name, format) in [
        ("ed", "openssh"),
        ("ed", "pkcs8"),
        ("p256", "openssh"),
        ("p256", "pkcs8"),
        ("rsa", "openssh"),
        ("rsa", "pkcs8"),
    ] {
        let file = kps.path(&format!("{name}.{format}"));
        kps.run(&[
            "export",
            name,
            "--format",
            format,
            "-o",
            file.to_str().unwrap(),
            "--key-passphrase-file",
            "kp",
        ])
        .ok();
        let original = kps.run(&["--json", "show", name]).ok().json();
        let new_name = format!("{name}-{format}");
        // Refused without the passphrase, and with a wrong one.
        let without = other.run(&[
            "--json",
            "import",
            &new_name,
            "--private-key",
            file.to_str().unwrap(),
        ]);
        assert_eq!(without.expect(5).error_json()["error_code"], "KPS.7015");
        std::fs::write(other.path("wrong"), "not it\n").unwrap();
        let wrong = other.run(&[
            "--json",
            "import",
            &new_name,
            "--private-key",
            file.to_str().unwrap(),
            "--key-passphrase-file",
            other.path("wrong").to_str().unwrap(),
        ]);
        assert_eq!(wrong.expect(5).error_json()["error_code"], "KPS.7016");
        let imported = other
            .run(&[
                "--json",
                "import",
                &new_name,
                "--private-key",
                file.to_str().unwrap(),
                "--key-passphrase-file",
                kps.path("kp").to_str().unwrap(),
            ])
            .ok()
            .json();
        for field in [
            "fingerprint",
            "fingerprint_aws_created",
            "algorithm",
            "bits",
        ] {
            assert_eq!(
                imported["keypair"][field], original["keypair"][field],
                "{name} {format}: {field}"
            );
        }
        // And the private key itself came through whole.
        let a = kps
            .run(&["export", name, "--format", "pkcs8", "-o", "-"])
            .ok()
            .stdout();
        let b = other
            .run(&["export", &new_name, "--format", "pkcs8", "-o", "-"])
            .ok()
            .stdout();
        assert_eq!(a, b, "{name} {format}");
    }
}

#[test]
fn with_public_writes_the_pub_file_beside_it() {
    let kps = setup();
    let file = kps.path("id_ed");
    let doc = kps
        .run(&[
            "--json",
            "export",
            "ed",
            "-o",
            file.to_str().unwrap(),
            "--with-public",
            "--key-passphrase-file",
            "kp",
        ])
        .ok()
        .json();
    let pub_file = kps.path("id_ed.pub");
    assert_eq!(doc["public_file"], pub_file.to_str().unwrap());
    assert_eq!(doc["encrypted"], true);
    assert_eq!(mode_of(&file), 0o600);
    assert_eq!(mode_of(&pub_file), 0o644);
    let line = std::fs::read_to_string(&pub_file).unwrap();
    assert_eq!(line, public_of(&kps, "ed"));
    assert!(line.trim_end().ends_with(" ed@example"));

    // Unencrypted exports take --with-public too.
    let plain = kps.path("plain");
    kps.run(&[
        "export",
        "rsa",
        "-o",
        plain.to_str().unwrap(),
        "--with-public",
    ])
    .ok();
    assert_eq!(
        std::fs::read_to_string(kps.path("plain.pub")).unwrap(),
        public_of(&kps, "rsa")
    );

    // An existing FILE.pub is refused like an existing FILE, before any
    // passphrase is read, and nothing is written; --force replaces both.
    let other = kps.path("other");
    std::fs::write(kps.path("other.pub"), "theirs\n").unwrap();
    let run = kps.run(&[
        "--json",
        "export",
        "ed",
        "-o",
        other.to_str().unwrap(),
        "--with-public",
    ]);
    assert_eq!(run.expect(1).error_json()["error_code"], "KPS.7008");
    assert!(!other.exists());
    assert_eq!(
        std::fs::read_to_string(kps.path("other.pub")).unwrap(),
        "theirs\n"
    );
    kps.run(&[
        "export",
        "ed",
        "-o",
        other.to_str().unwrap(),
        "--with-public",
        "--force",
    ])
    .ok();
    assert_eq!(
        std::fs::read_to_string(kps.path("other.pub")).unwrap(),
        public_of(&kps, "ed")
    );

    // A symlink where FILE.pub goes is never replaced, even with --force.
    let victim = kps.path("victim");
    std::fs::write(&victim, "victim\n").unwrap();
    std::os::unix::fs::symlink(&victim, kps.path("linked.pub")).unwrap();
    let linked = kps.path("linked");
    let run = kps.run(&[
        "--json",
        "export",
        "ed",
        "-o",
        linked.to_str().unwrap(),
        "--with-public",
        "--force",
    ]);
    assert_eq!(run.expect(1).error_json()["error_code"], "KPS.7031");
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "victim\n");
    assert!(!linked.exists());
}

#[test]
fn refusals() {
    let kps = setup();
    std::fs::write(kps.path("empty"), "").unwrap();
    std::fs::write(kps.path("newline"), "\n").unwrap();
    let cases: &[(&[&str], i32, &str)] = &[
        // Traditional PEM encryption (one MD5) is not written.
        (
            &[
                "export",
                "rsa",
                "--format",
                "pem",
                "-o",
                "x",
                "--key-passphrase-file",
                "kp",
            ],
            2,
            "MD5",
        ),
        (
            &[
                "export",
                "ed",
                "--format",
                "public",
                "--key-passphrase-file",
                "kp",
            ],
            2,
            "no private key",
        ),
        // An empty passphrase would only look like protection.
        (
            &["export", "ed", "-o", "x", "--key-passphrase-file", "empty"],
            2,
            "is empty",
        ),
        (
            &[
                "export",
                "ed",
                "-o",
                "x",
                "--key-passphrase-file",
                "newline",
            ],
            2,
            "is empty",
        ),
        (&["export", "ed", "-o", "-", "--with-public"], 2, "-o FILE"),
        (
            &[
                "export",
                "ed",
                "--format",
                "public",
                "-o",
                "x",
                "--with-public",
            ],
            2,
            "--with-public",
        ),
        // No terminal to ask at.
        (
            &["export", "ed", "-o", "x", "--ask-key-passphrase"],
            2,
            "terminal",
        ),
        (
            &[
                "export",
                "ed",
                "-o",
                "x",
                "--ask-key-passphrase",
                "--key-passphrase-file",
                "kp",
            ],
            2,
            "cannot be used with",
        ),
    ];
    for (args, code, needle) in cases {
        let run = kps.run(args).expect(*code);
        assert!(run.stderr().contains(needle), "{args:?}: {}", run.stderr());
        assert!(!kps.path("x").exists(), "{args:?} wrote a file");
    }
    // The key passphrase is never on the command line: there is no flag for it.
    let run = kps.run(&["export", "ed", "-o", "x", "--key-passphrase", "secret"]);
    run.expect(2);
}

/// Standard base64, for looking inside the OpenSSH container.
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
