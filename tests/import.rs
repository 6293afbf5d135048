//! `kps import`: a corpus made at test time by the real tools (ssh-keygen,
//! openssl; puttygen in tests/import_ppk.rs), each file imported and checked
//! against what the tools say of the original, and every refusal checked for
//! its exit code, error code, and an unchanged store.

mod common;
use common::*;
use std::path::{Path, PathBuf};

/// The fingerprint `ssh-keygen -l` gives for a key file (private or public).
fn ssh_fingerprint(path: &Path) -> Option<String> {
    let out = tool("ssh-keygen", &[&"-l", &"-E", &"sha256", &"-f", &path]);
    out.status.success().then(|| {
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .nth(1)
            .unwrap_or_default()
            .to_string()
    })
}

/// Files made by ssh-keygen and openssl: (file name, algorithm, bits).
fn make_corpus(dir: &Path) -> Vec<(&'static str, &'static str, u32)> {
    sh(
        "ssh-keygen -q -t ed25519 -N '' -C ed@corpus -f ssh_ed25519
         ssh-keygen -q -t ecdsa -b 256 -N '' -f ssh_p256
         ssh-keygen -q -t ecdsa -b 384 -N '' -m PEM -f ssh_p384_pem
         ssh-keygen -q -t ecdsa -b 521 -N '' -m PKCS8 -f ssh_p521_pkcs8
         ssh-keygen -q -t rsa -b 2048 -N '' -f ssh_rsa2048
         ssh-keygen -q -t rsa -b 3072 -N '' -m PEM -f ssh_rsa3072_pem
         ssh-keygen -q -t rsa -b 2048 -N '' -m PKCS8 -f ssh_rsa2048_pkcs8
         ssh-keygen -q -t dsa -N '' -f ssh_dsa
         ssh-keygen -q -t dsa -N '' -m PEM -f ssh_dsa_pem
         openssl genpkey -algorithm ed25519 -out ossl_ed25519_pkcs8.pem
         openssl ecparam -name prime256v1 -genkey -noout -out ossl_p256_sec1.pem
         openssl ecparam -name secp384r1 -genkey -out ossl_p384_sec1_params.pem
         openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-521 -out ossl_p521_pkcs8.pem
         openssl genrsa -traditional -out ossl_rsa2048_pkcs1.pem 2048 2>/dev/null
         openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out ossl_rsa2048_pkcs8.pem
         openssl genpkey -genparam -algorithm DSA -pkeyopt dsa_paramgen_bits:1024 \
             -pkeyopt dsa_paramgen_q_bits:160 -out dsa160.params
         openssl genpkey -paramfile dsa160.params -out ossl_dsa_pkcs8.pem
         openssl pkey -in ossl_dsa_pkcs8.pem -traditional -out ossl_dsa_traditional.pem",
        dir,
    );
    vec![
        ("ssh_ed25519", "ssh-ed25519", 256),
        ("ssh_p256", "ecdsa-sha2-nistp256", 256),
        ("ssh_p384_pem", "ecdsa-sha2-nistp384", 384),
        ("ssh_p521_pkcs8", "ecdsa-sha2-nistp521", 521),
        ("ssh_rsa2048", "ssh-rsa", 2048),
        ("ssh_rsa3072_pem", "ssh-rsa", 3072),
        ("ssh_rsa2048_pkcs8", "ssh-rsa", 2048),
        ("ssh_dsa", "ssh-dss", 1024),
        ("ssh_dsa_pem", "ssh-dss", 1024),
        ("ossl_ed25519_pkcs8.pem", "ssh-ed25519", 256),
        ("ossl_p256_sec1.pem", "ecdsa-sha2-nistp256", 256),
        ("ossl_p384_sec1_params.pem", "ecdsa-sha2-nistp384", 384),
        ("ossl_p521_pkcs8.pem", "ecdsa-sha2-nistp521", 521),
        ("ossl_rsa2048_pkcs1.pem", "ssh-rsa", 2048),
        ("ossl_rsa2048_pkcs8.pem", "ssh-rsa", 2048),
        ("ossl_dsa_pkcs8.pem", "ssh-dss", 1024),
        ("ossl_dsa_traditional.pem", "ssh-dss", 1024),
    ]
}

fn corpus_tools() -> bool {
    have_tool("ssh-keygen") && have_tool("openssl")
}

#[test]
fn every_corpus_file_imports_and_matches_the_tools() {
    if !corpus_tools() {
        return;
    }
    let kps = Kps::new();
    let corpus = make_corpus(kps.dir.path());
    for (file, alg, bits) in corpus {
        let path = kps.path(file);
        let name = file.replace('.', "-");
        let doc = kps
            .run(&[
                "--json",
                "import",
                &name,
                "--private-key",
                path.to_str().unwrap(),
            ])
            .ok()
            .json();
        let k = &doc["keypair"];
        assert_eq!(k["algorithm"], alg, "{file}");
        assert_eq!(k["bits"], bits, "{file}");
        if alg == "ssh-dss" {
            assert!(doc["warnings"][0].as_str().unwrap().contains("deprecated"));
        }
        // kps's export and the original have the same fingerprint for ssh-keygen.
        let exported = kps.path(&format!("{name}.export"));
        kps.run(&["export", &name, "-o", exported.to_str().unwrap()])
            .ok();
        let ours = ssh_fingerprint(&exported).expect("ssh-keygen reads kps's export");
        assert_eq!(ours, k["fingerprint"], "{file}");
        // OpenSSH 9.2 cannot read PKCS#8 Ed25519 or DSA, nor a key after an
        // EC PARAMETERS block; openssl vouches for those below.
        if let Some(theirs) = ssh_fingerprint(&path) {
            assert_eq!(theirs, ours, "{file}");
        } else {
            assert!(
                file.starts_with("ossl_ed25519")
                    || file.starts_with("ossl_dsa")
                    || file.ends_with("_params.pem"),
                "ssh-keygen could not read {file}"
            );
            // Compare the public key openssl derives from the original with
            // the one openssl derives from kps's PKCS#8 export.
            let pkcs8 = kps.path(&format!("{name}.p8"));
            kps.run(&[
                "export",
                &name,
                "--format",
                "pkcs8",
                "-o",
                pkcs8.to_str().unwrap(),
            ])
            .ok();
            let a = tool_ok("openssl", &[&"pkey", &"-in", &path, &"-pubout"]);
            let b = tool_ok("openssl", &[&"pkey", &"-in", &pkcs8, &"-pubout"]);
            assert_eq!(a, b, "{file}");
        }
    }
    // The comment: the file's where it has one, else the name.
    let shown = kps.run(&["--json", "show", "ssh_ed25519"]).ok().json();
    assert_eq!(shown["keypair"]["comment"], "ed@corpus");
    let shown = kps
        .run(&["--json", "show", "ossl_p256_sec1-pem"])
        .ok()
        .json();
    assert_eq!(shown["keypair"]["comment"], "ossl_p256_sec1-pem");
}

#[test]
fn stdin_crlf_bom_and_trailing_whitespace_are_fine() {
    if !corpus_tools() {
        return;
    }
    let kps = Kps::new();
    sh("ssh-keygen -q -t ecdsa -N '' -m PEM -f k", kps.dir.path());
    let pem = std::fs::read_to_string(kps.path("k")).unwrap();
    let mangled = format!(
        "\u{feff}{}",
        pem.lines()
            .map(|l| format!("{l}  \r\n"))
            .collect::<String>()
    );
    let mut child = kps
        .command()
        .args(["--json", "import", "viastdin", "--private-key", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(mangled.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        Some(doc["keypair"]["fingerprint"].as_str().unwrap().to_string()),
        ssh_fingerprint(&kps.path("k"))
    );
}

#[test]
fn encrypted_inputs_open_with_their_passphrase() {
    if !corpus_tools() {
        return;
    }
    let kps = Kps::new();
    sh(
        "ssh-keygen -q -t ed25519 -N 'key pass' -f enc_openssh
         openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out plain.pem
         openssl pkcs8 -topk8 -v2 aes-256-cbc -passout 'pass:key pass' -in plain.pem -out enc_pkcs8.pem
         printf 'key pass\\n' > keypass
         printf 'nope\\n' > wrongpass",
        kps.dir.path(),
    );
    for file in ["enc_openssh", "enc_pkcs8.pem"] {
        let path = kps.path(file);
        let name = file.replace('.', "-");
        let p = path.to_str().unwrap();
        // Without the passphrase: refused, saying so and how to proceed.
        let run = kps
            .run(&["--json", "import", &name, "--private-key", p])
            .expect(5);
        let err = run.error_json();
        assert_eq!(err["error_code"], "KPS.7015", "{file}");
        assert!(err["error_msg"].as_str().unwrap().contains("encrypted"));
        let text = kps
            .run(&["import", &name, "--private-key", p])
            .expect(5)
            .stderr();
        assert!(
            text.contains("hint: give its passphrase with --key-passphrase-file"),
            "{text}"
        );
        // The wrong one: its own error.
        let run = kps
            .run(&[
                "--json",
                "import",
                &name,
                "--private-key",
                p,
                "--key-passphrase-file",
                "wrongpass",
            ])
            .expect(5);
        assert_eq!(run.error_json()["error_code"], "KPS.7016", "{file}");
        // The right one: imported, and the export matches the original.
        let doc = kps
            .run(&[
                "--json",
                "import",
                &name,
                "--private-key",
                p,
                "--key-passphrase-file",
                "keypass",
            ])
            .ok()
            .json();
        let expected = tool_ok("ssh-keygen", &[&"-y", &"-P", &"key pass", &"-f", &path]);
        assert_eq!(
            key_fields(doc["keypair"]["public_key"].as_str().unwrap()),
            key_fields(&expected),
            "{file}"
        );
    }
}

/// The store's state as a user and as the database see it.
fn store_state(kps: &Kps) -> (serde_json::Value, Vec<u8>) {
    (
        kps.run(&["--json", "list"]).ok().json(),
        std::fs::read(kps.db()).unwrap(),
    )
}

fn refuse(kps: &Kps, args: &[&str], exit: i32, code: &str, says: &str) {
    let before = store_state(kps);
    let mut full = vec!["--json", "import"];
    full.extend(args);
    let run = kps.run(&full).expect(exit);
    let err = run.error_json();
    assert_eq!(err["error_code"], code, "{args:?}: {err}");
    let msg = err["error_msg"].as_str().unwrap().to_lowercase();
    assert!(
        msg.contains(&says.to_lowercase()),
        "{args:?}: {msg} (wanted {says})"
    );
    assert!(run.stdout().is_empty());
    assert_eq!(store_state(kps), before, "{args:?} changed the store");
    // The text form says the same in one line, with no panic.
    let mut text = vec!["import"];
    text.extend(args);
    let run = kps.run(&text).expect(exit);
    assert!(run.stderr().starts_with("error: "), "{}", run.stderr());
}

#[test]
fn refusals_name_the_problem_and_leave_the_store_alone() {
    if !corpus_tools() {
        return;
    }
    let kps = Kps::new();
    kps.create("taken", &[]);
    sh(
        "ssh-keygen -q -t rsa -b 2048 -N 'secret' -m PEM -f legacy_enc.pem
         ssh-keygen -q -t ed25519 -N 'secret' -f openssh_enc
         openssl genpkey -algorithm ed25519 | openssl pkcs8 -topk8 -v2 aes-256-cbc -passout pass:pw -out pkcs8_enc.pem
         openssl genrsa -traditional -out rsa1024.pem 1024 2>/dev/null
         openssl genrsa -traditional -out rsa2047.pem 2047 2>/dev/null
         openssl genrsa -traditional -out rsa1536.pem 1536 2>/dev/null
         openssl dsaparam -out dsa224.params 1024 2>/dev/null
         openssl gendsa -out dsa224.pem dsa224.params 2>/dev/null
         openssl ecparam -name secp256k1 -genkey -noout -out k1.pem
         openssl ecparam -name secp224r1 -genkey -noout -out p224.pem
         openssl genpkey -algorithm ed448 -out ed448.pem
         openssl genpkey -algorithm x25519 -out x25519.pem
         ssh-keygen -q -t ed25519 -N '' -f user
         ssh-keygen -q -t ed25519 -N '' -f ca
         ssh-keygen -q -s ca -I id -n u user.pub
         : > empty
         head -c 1100000 /dev/zero | tr '\\0' 'A' > huge
         printf 'abc\\000def' > binary
         head -c 300 user > truncated
         sed '3s/./!/' user > corrupt
         cat user rsa1024.pem > two_keys
         openssl req -x509 -newkey ed25519 -nodes -keyout /dev/null -subj /CN=x -out cert.pem 2>/dev/null
         printf 'Host example\\n  User me\\n' > config",
        kps.dir.path(),
    );
    let cases: &[(&[&str], i32, &str, &str)] = &[
        (
            &["a", "--private-key", "legacy_enc.pem"],
            5,
            "KPS.7015",
            "legacy PEM encryption",
        ),
        (
            &["a", "--private-key", "openssh_enc"],
            5,
            "KPS.7015",
            "encrypted",
        ),
        (
            &["a", "--private-key", "pkcs8_enc.pem"],
            5,
            "KPS.7015",
            "encrypted",
        ),
        (
            &["a", "--private-key", "rsa1024.pem"],
            5,
            "KPS.6009",
            "1024 bits",
        ),
        (
            &["a", "--private-key", "rsa2047.pem"],
            5,
            "KPS.6009",
            "2047 bits",
        ),
        (
            &["a", "--private-key", "rsa1536.pem"],
            5,
            "KPS.6009",
            "1536 bits",
        ),
        (
            &["a", "--private-key", "dsa224.pem"],
            5,
            "KPS.6009",
            "224-bit q",
        ),
        (
            &["a", "--private-key", "k1.pem"],
            5,
            "KPS.6009",
            "secp256k1",
        ),
        (&["a", "--private-key", "p224.pem"], 5, "KPS.6009", "P-224"),
        (&["a", "--private-key", "ed448.pem"], 5, "KPS.6009", "Ed448"),
        (
            &["a", "--private-key", "x25519.pem"],
            5,
            "KPS.6009",
            "X25519",
        ),
        (
            &["a", "--private-key", "user.pub"],
            5,
            "KPS.6009",
            "public key, not a private key",
        ),
        (
            &["a", "--private-key", "user-cert.pub"],
            5,
            "KPS.6009",
            "public key",
        ),
        (
            &["a", "--public-key", "user-cert.pub"],
            5,
            "KPS.6009",
            "certificate",
        ),
        (
            &["a", "--public-key", "user"],
            5,
            "KPS.6009",
            "private key, not a public key",
        ),
        (&["a", "--private-key", "empty"], 5, "KPS.6009", "empty"),
        (&["a", "--private-key", "huge"], 5, "KPS.6009", "1 MiB"),
        (
            &["a", "--private-key", "binary"],
            5,
            "KPS.6009",
            "not a key file",
        ),
        (
            &["a", "--private-key", "truncated"],
            5,
            "KPS.6009",
            "truncated",
        ),
        (&["a", "--private-key", "corrupt"], 5, "KPS.6009", "corrupt"),
        (
            &["a", "--private-key", "two_keys"],
            5,
            "KPS.6009",
            "2 PEM blocks",
        ),
        (
            &["a", "--private-key", "cert.pem"],
            5,
            "KPS.6009",
            "\"CERTIFICATE\"",
        ),
        (
            &["a", "--private-key", "config"],
            5,
            "KPS.6009",
            "not a private key",
        ),
        (
            &["a", "--private-key", "no-such-file"],
            1,
            "KPS.7017",
            "no-such-file",
        ),
        (
            &["taken", "--private-key", "user"],
            4,
            "KPS.7001",
            "already exists",
        ),
        (
            &["bad name", "--private-key", "user"],
            2,
            "KPS.0002",
            "contains ' '",
        ),
        (
            &["--private-key", "user"],
            2,
            "KPS.0002",
            "NAME is required",
        ),
    ];
    for (args, exit, code, says) in cases {
        refuse(&kps, args, *exit, code, says);
    }
    // A FIDO security-key public key (crafted: no token here).
    let blob = {
        let mut b = Vec::new();
        for part in [&b"sk-ssh-ed25519@openssh.com"[..], &[7u8; 32], b"ssh:"] {
            b.extend_from_slice(&(part.len() as u32).to_be_bytes());
            b.extend_from_slice(part);
        }
        b
    };
    use base64ct::Encoding;
    let line = format!(
        "sk-ssh-ed25519@openssh.com {} fido",
        base64ct::Base64::encode_string(&blob)
    );
    std::fs::write(kps.path("sk.pub"), line).unwrap();
    refuse(
        &kps,
        &["a", "--public-key", "sk.pub"],
        5,
        "KPS.6009",
        "FIDO",
    );
}

/// PEM text of a SEC1 key whose public point is another key's.
fn mismatched_sec1() -> String {
    use sec1::der::Encode;
    let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
    let p256 = ssh_key::Algorithm::Ecdsa {
        curve: ssh_key::EcdsaCurve::NistP256,
    };
    let a = ssh_key::PrivateKey::random(&mut rng, p256.clone()).unwrap();
    let b = ssh_key::PrivateKey::random(&mut rng, p256).unwrap();
    let (Some(a), Some(b)) = (a.key_data().ecdsa(), b.key_data().ecdsa()) else {
        unreachable!()
    };
    let scalar = a.private_key_bytes().to_vec();
    let point = b.public_key_bytes().to_vec();
    let ec = sec1::EcPrivateKey {
        private_key: &scalar,
        parameters: Some(sec1::EcParameters::NamedCurve(
            "1.2.840.10045.3.1.7".parse().unwrap(),
        )),
        public_key: Some(&point),
    };
    pem_rfc7468::encode_string(
        "EC PRIVATE KEY",
        pem_rfc7468::LineEnding::LF,
        &ec.to_der().unwrap(),
    )
    .unwrap()
}

#[test]
fn inconsistent_keys_are_refused_with_kps_6011() {
    let kps = Kps::new();
    std::fs::write(kps.path("ec.pem"), mismatched_sec1()).unwrap();
    refuse(
        &kps,
        &["a", "--private-key", "ec.pem"],
        5,
        "KPS.6011",
        "does not match",
    );
    if !have_tool("openssl") {
        return;
    }
    // An RSA key whose d was altered: n is still p*q, but d no longer
    // inverts e. (A wrong CRT coefficient alone is recomputed, not refused:
    // tests/import_pem.rs.)
    sh(
        "openssl genrsa -traditional -out rsa.pem 2048 2>/dev/null",
        kps.dir.path(),
    );
    let pem = std::fs::read_to_string(kps.path("rsa.pem")).unwrap();
    let (_, der_bytes) = pem_rfc7468::decode_vec(pem.as_bytes()).unwrap();
    use pkcs1::der::{Decode, Encode};
    let mut key = pkcs1::RsaPrivateKeyOwned::from_der(&der_bytes).unwrap();
    key.private_exponent = key.exponent1.clone();
    let bad = pem_rfc7468::encode_string(
        "RSA PRIVATE KEY",
        pem_rfc7468::LineEnding::LF,
        &key.to_der().unwrap(),
    )
    .unwrap();
    std::fs::write(kps.path("rsa_bad.pem"), bad).unwrap();
    refuse(
        &kps,
        &["a", "--private-key", "rsa_bad.pem"],
        5,
        "KPS.6011",
        "inconsistent",
    );
    // A garbage CRT coefficient with p, q and d right: imported, with the
    // coefficient recomputed and a warning saying so.
    let mut key = pkcs1::RsaPrivateKeyOwned::from_der(&der_bytes).unwrap();
    key.coefficient = key.exponent1.clone();
    let odd = pem_rfc7468::encode_string(
        "RSA PRIVATE KEY",
        pem_rfc7468::LineEnding::LF,
        &key.to_der().unwrap(),
    )
    .unwrap();
    std::fs::write(kps.path("rsa_odd_crt.pem"), odd).unwrap();
    let out = kps
        .run(&["--json", "import", "b", "--private-key", "rsa_odd_crt.pem"])
        .ok()
        .json();
    assert!(out["warnings"].to_string().contains("recomputed"), "{out}");
}

#[test]
fn public_key_only_keypairs_list_and_export_their_public_key() {
    if !corpus_tools() {
        return;
    }
    let kps = Kps::new();
    sh(
        "ssh-keygen -q -t ecdsa -N '' -C bastion@site -f b
         ssh-keygen -e -f b.pub > b.rfc4716
         openssl pkey -in b -pubout -out b.spki.pem 2>/dev/null || ssh-keygen -e -m PKCS8 -f b.pub > b.spki.pem",
        kps.dir.path(),
    );
    let expected = std::fs::read_to_string(kps.path("b.pub")).unwrap();
    for (name, file) in [
        ("line", "b.pub"),
        ("rfc", "b.rfc4716"),
        ("spki", "b.spki.pem"),
    ] {
        let doc = kps
            .run(&["--json", "import", name, "--public-key", file])
            .ok()
            .json();
        let k = &doc["keypair"];
        assert_eq!(k["is_key_protection"], false, "{file}");
        assert_eq!(
            key_fields(k["public_key"].as_str().unwrap()),
            key_fields(&expected)
        );
        let out = kps
            .run(&["export", name, "--format", "public"])
            .ok()
            .stdout();
        assert_eq!(key_fields(&out), key_fields(&expected));
        let run = kps.run(&["--json", "export", name, "-o", "-"]).expect(5);
        assert_eq!(run.error_json()["error_code"], "KPS.6005");
    }
    // The authorized_keys comment survives; RFC 4716 carries its own.
    let shown = kps.run(&["--json", "show", "line"]).ok().json();
    assert_eq!(shown["keypair"]["comment"], "bastion@site");
    // Nothing here needed the store passphrase.
    let listed = kps
        .run_with(&["--json", "list"], |c| {
            c.env_remove("KPS_PASSPHRASE_FILE");
        })
        .ok()
        .json();
    assert_eq!(listed["keypairs"].as_array().unwrap().len(), 3);
}

#[test]
fn a_service_import_request_is_read_with_the_service_rules() {
    if !corpus_tools() {
        return;
    }
    let kps = Kps::new();
    sh(
        "openssl genrsa -traditional -out k.pem 2048 2>/dev/null",
        kps.dir.path(),
    );
    let pem = std::fs::read_to_string(kps.path("k.pem")).unwrap();
    let body = |v: serde_json::Value| {
        let path = kps.path("req.json");
        std::fs::write(&path, v.to_string()).unwrap();
        path
    };
    let good = body(
        serde_json::json!({"keypair": {"name": "demo2", "user_id": "u-1",
        "key_protection": {"private_key": pem, "encryption": {"type": "default"}}}}),
    );
    let doc = kps
        .run(&["--json", "import", "--request", good.to_str().unwrap()])
        .ok()
        .json();
    assert_eq!(doc["keypair"]["name"], "demo2");
    assert_eq!(doc["keypair"]["user_id"], "u-1");
    assert_eq!(doc["keypair"]["bits"], 2048);
    let cases = [
        (
            serde_json::json!({"keypair": {"key_protection": {"private_key": pem,
            "encryption": {"type": "default"}}}}),
            2,
            "KPS.0002",
            "missing field `name`",
        ),
        (
            serde_json::json!({"keypair": {"name": "x"}}),
            2,
            "KPS.0002",
            "key_protection",
        ),
        (
            serde_json::json!({"keypair": {"name": "x", "key_protection": {
            "encryption": {"type": "default"}}}}),
            2,
            "KPS.0002",
            "private_key",
        ),
        (
            serde_json::json!({"keypair": {"name": "x", "key_protection": {"private_key": pem,
            "encryption": {"type": "plain"}}}}),
            2,
            "KPS.0002",
            "\"kms\" or \"default\"",
        ),
        (
            serde_json::json!({"keypair": {"name": "x", "key_protection": {"private_key": pem,
            "encryption": {"type": "kms"}}}}),
            2,
            "KPS.0002",
            "kms_key_name or kms_key_id",
        ),
        (
            serde_json::json!({"keypair": {"name": "x", "scope": "user", "key_protection": {
            "private_key": pem, "encryption": {"type": "default"}}}}),
            2,
            "KPS.0002",
            "`scope`",
        ),
        (
            serde_json::json!({"keypair": {"name": "x", "key_protection": {"private_key": pem,
            "encryption": {"type": "kms", "kms_key_name": "kps/default"}}}}),
            1,
            "KPS.7010",
            "kms",
        ),
        (
            serde_json::json!({"keypair": {"name": "demo2", "key_protection": {"private_key": pem,
            "encryption": {"type": "default"}}}}),
            4,
            "KPS.7001",
            "already exists",
        ),
    ];
    for (v, exit, code, says) in cases {
        let path = body(v);
        refuse(
            &kps,
            &["--request", path.to_str().unwrap()],
            exit,
            code,
            says,
        );
    }
    // Errors never quote the private key.
    let path = body(serde_json::json!({"keypair": {"name": "x", "key_protection": pem}}));
    let run = kps
        .run(&["--json", "import", "--request", path.to_str().unwrap()])
        .expect(2);
    assert!(!run.stderr().contains("PRIVATE KEY"), "{}", run.stderr());
}

fn dot_ssh(kps: &Kps) -> PathBuf {
    let dir = kps.path("dotssh");
    std::fs::create_dir(&dir).unwrap();
    sh(
        "ssh-keygen -q -t ed25519 -N '' -f id_ed25519
         ssh-keygen -q -t rsa -b 2048 -m PEM -N '' -f id_rsa
         openssl ecparam -name prime256v1 -genkey -noout -out deploy.pem
         printf 'Host *\\n  IdentitiesOnly yes\\n' > config
         ssh-keygen -q -t ed25519 -N '' -f other && cat other.pub > authorized_keys && rm other other.pub
         printf '[127.0.0.1]:22 ' > known_hosts && cat id_ed25519.pub >> known_hosts
         mkdir sub",
        &dir,
    );
    dir
}

#[test]
fn from_dir_imports_what_a_user_means() {
    if !corpus_tools() {
        return;
    }
    let kps = Kps::new();
    let dir = dot_ssh(&kps);
    let doc = kps
        .run(&["--json", "import", "--from-dir", dir.to_str().unwrap()])
        .ok()
        .json();
    let mut names: Vec<&str> = doc["keypairs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["keypair"]["name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["deploy", "id_ed25519", "id_rsa"]);
    let skipped: Vec<String> = doc["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            format!(
                "{} {}",
                Path::new(s["file"].as_str().unwrap())
                    .file_name()
                    .unwrap()
                    .to_string_lossy(),
                s["reason"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(skipped.len(), 5, "{skipped:?}");
    for (file, why) in [
        ("authorized_keys", "public key only"),
        ("config", "holds no key"),
        ("id_ed25519.pub", "public key of"),
        ("id_rsa.pub", "public key of"),
        ("known_hosts", "holds no key"),
    ] {
        assert!(
            skipped
                .iter()
                .any(|s| s.starts_with(file) && s.contains(why)),
            "{file}: {skipped:?}"
        );
    }
}

#[test]
fn from_dir_is_all_or_nothing_and_reports_every_failure() {
    if !corpus_tools() {
        return;
    }
    let kps = Kps::new();
    let dir = dot_ssh(&kps);
    sh(
        "openssl genrsa -traditional -out weak.pem 1024 2>/dev/null
         ssh-keygen -q -t ed25519 -N 'secret' -f locked",
        &dir,
    );
    let before = store_state(&kps);
    let run = kps
        .run(&["--json", "import", "--from-dir", dir.to_str().unwrap()])
        .expect(5);
    let err = run.error_json();
    let failures = err["failures"].as_array().unwrap();
    let files: Vec<&str> = failures
        .iter()
        .map(|f| f["file"].as_str().unwrap().rsplit('/').next().unwrap())
        .collect();
    assert_eq!(files, ["locked", "weak.pem"], "{err}");
    assert_eq!(failures[0]["error_code"], "KPS.7015");
    assert_eq!(failures[1]["error_code"], "KPS.6009");
    assert_eq!(store_state(&kps), before);
    // The text form lists each file on its own line.
    let text = kps
        .run(&["import", "--from-dir", dir.to_str().unwrap()])
        .expect(5)
        .stderr();
    assert!(
        text.contains("locked: ") && text.contains("weak.pem: "),
        "{text}"
    );
}

#[test]
fn dry_run_prints_the_same_and_writes_nothing() {
    if !corpus_tools() {
        return;
    }
    let kps = Kps::empty();
    sh("ssh-keygen -q -t ed25519 -N '' -C me -f k", kps.dir.path());
    let run = kps.run_with(
        &["--json", "import", "k", "--private-key", "k", "--dry-run"],
        |c| {
            c.env_remove("KPS_PASSPHRASE_FILE");
        },
    );
    let dry = run.ok().json();
    assert_eq!(dry["dry_run"], true);
    assert!(!kps.store.exists(), "a dry run created the store");
    let real = kps
        .run(&[
            "--json",
            "import",
            "k",
            "--private-key",
            "k",
            "--kdf-memory",
            "19456",
            "--kdf-passes",
            "2",
        ])
        .ok()
        .json();
    for field in [
        "name",
        "algorithm",
        "bits",
        "public_key",
        "fingerprint",
        "fingerprint_md5",
        "comment",
    ] {
        assert_eq!(dry["keypair"][field], real["keypair"][field], "{field}");
    }
    // Once the name is taken, the dry run says so too.
    kps.run(&["import", "k", "--private-key", "k", "--dry-run"])
        .expect(4);
}

#[test]
fn two_processes_importing_one_name_one_wins() {
    if !have_tool("ssh-keygen") {
        return;
    }
    let kps = Kps::new();
    sh("ssh-keygen -q -t ed25519 -N '' -f k", kps.dir.path());
    let spawn = || {
        kps.command()
            .args(["import", "same", "--private-key", "k"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    let (mut a, mut b) = (spawn(), spawn());
    let mut codes = [a.wait().unwrap().code(), b.wait().unwrap().code()];
    codes.sort();
    assert_eq!(codes, [Some(0), Some(4)]);
}

#[test]
fn puttygen_files_import_in_every_version_and_protection() {
    if !have_tool("puttygen") || !have_tool("ssh-keygen") {
        return;
    }
    let kps = Kps::new();
    sh(
        "printf 'ppk secret\\n' > ppkpass
         : > nopass
         for t in ed25519 ecdsa rsa dsa; do
           case $t in rsa) b='-b 2048';; dsa) b='-b 1024';; ecdsa) b='-b 384';; *) b='';; esac
           puttygen -q -t $t $b -C \"$t@putty\" -o $t-v3.ppk --new-passphrase nopass
           puttygen -q $t-v3.ppk -o $t-v2.ppk --ppk-param version=2 -P --old-passphrase nopass --new-passphrase nopass
           puttygen -q $t-v3.ppk -o $t-v3-enc.ppk -P --old-passphrase nopass --new-passphrase ppkpass
           puttygen -q $t-v2.ppk -o $t-v2-enc.ppk --ppk-param version=2 -P --old-passphrase nopass --new-passphrase ppkpass
         done",
        kps.dir.path(),
    );
    for t in ["ed25519", "ecdsa", "rsa", "dsa"] {
        let theirs = tool_ok(
            "puttygen",
            &[&"-l", &"-E", &"sha256", &kps.path(&format!("{t}-v3.ppk"))],
        );
        let theirs = theirs.split_whitespace().nth(2).unwrap().to_string();
        for variant in ["v3", "v2", "v3-enc", "v2-enc"] {
            let file = format!("{t}-{variant}.ppk");
            let name = format!("{t}-{variant}");
            let mut args = vec!["--json", "import", &name, "--private-key", &file];
            if variant.ends_with("enc") {
                kps.run(&args).expect(5);
                args.extend(["--key-passphrase-file", "ppkpass"]);
            }
            let doc = kps.run(&args).ok().json();
            assert_eq!(doc["keypair"]["fingerprint"], theirs.as_str(), "{file}");
            assert_eq!(doc["keypair"]["comment"], format!("{t}@putty"), "{file}");
            let exported = kps.path(&format!("{name}.key"));
            kps.run(&["export", &name, "-o", exported.to_str().unwrap()])
                .ok();
            assert_eq!(
                ssh_fingerprint(&exported).as_deref(),
                Some(theirs.as_str()),
                "{file}"
            );
        }
    }
}

#[test]
fn ed25519_ppk_with_a_zero_led_seed_imports() {
    // ssh-key's own .ppk reader fails on these (about 1 Ed25519 key in 512).
    if !have_tool("puttygen") || !have_tool("ssh-keygen") {
        return;
    }
    let kps = Kps::new();
    let mut seed = [0u8; 32];
    loop {
        getrandom::fill(&mut seed).unwrap();
        seed[0] = 0;
        if seed[1] < 0x80 {
            break;
        }
    }
    let key = ssh_key::PrivateKey::from(ssh_key::private::Ed25519Keypair::from_seed(&seed));
    for version in [kps::ppk::PpkVersion::V3, kps::ppk::PpkVersion::V2] {
        let text = kps::ppk::encode(&key, "zero-led", version, None).unwrap();
        let file = kps.path(&format!("zero-{version:?}.ppk"));
        std::fs::write(&file, text.as_bytes()).unwrap();
        // PuTTY's own tool agrees that the file is good.
        let theirs = tool_ok("puttygen", &[&"-l", &"-E", &"sha256", &file]);
        let name = format!("zero-{version:?}");
        let doc = kps
            .run(&[
                "--json",
                "import",
                &name,
                "--private-key",
                file.to_str().unwrap(),
            ])
            .ok()
            .json();
        assert_eq!(
            doc["keypair"]["fingerprint"],
            theirs.split_whitespace().nth(2).unwrap()
        );
    }
}
