//! `kps import` of the OpenSSH and .ppk shapes issue 14 found refused or
//! misjudged, from fixtures the real tools made (tests/fixtures/import-openssh,
//! make.sh there): ECDSA scalars and Ed25519 seeds with leading zero bytes,
//! every cipher ssh-keygen encrypts with, and RSA moduli a few bits short of
//! 2048. Each file is imported by the real binary and checked against what
//! ssh-keygen says of the same key.

mod common;
use common::*;
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/import-openssh")
        .join(name)
}

fn passphrase_file() -> PathBuf {
    fixture("passphrase.txt")
}

/// `ssh-keygen -l -E sha256` of a key file: (bits, fingerprint).
fn ssh_keygen_says(path: &Path) -> (u32, String) {
    let line = tool_ok("ssh-keygen", &[&"-l", &"-E", &"sha256", &"-f", &path]);
    let mut fields = line.split_whitespace();
    let bits = fields.next().unwrap().parse().unwrap();
    (bits, fields.next().unwrap().to_string())
}

/// Import `file` (with the fixtures' passphrase when `encrypted`) and return
/// the keypair record.
fn import(kps: &Kps, name: &str, file: &str, encrypted: bool) -> serde_json::Value {
    let path = fixture(file);
    let mut args = vec![
        "--json".to_string(),
        "import".into(),
        name.into(),
        "--private-key".into(),
        path.to_str().unwrap().into(),
    ];
    if encrypted {
        args.push("--key-passphrase-file".into());
        args.push(passphrase_file().to_str().unwrap().into());
    }
    let run = kps.run(&args);
    assert_eq!(
        run.code(),
        0,
        "{file} was not imported: {}",
        run.stderr().trim()
    );
    run.json()["keypair"].clone()
}

/// Import `file`, check it against `pub_file` as ssh-keygen reads it, and
/// check that kps's export opens in ssh-keygen as the same key.
fn import_and_compare(kps: &Kps, file: &str, pub_file: &str, encrypted: bool) {
    let name = file.replace('.', "-");
    let k = import(kps, &name, file, encrypted);
    let (bits, fingerprint) = ssh_keygen_says(&fixture(pub_file));
    assert_eq!(k["fingerprint"], fingerprint.as_str(), "{file}");
    assert_eq!(k["bits"], bits, "{file}");
    let exported = kps.path(&format!("{name}.export"));
    kps.run(&["export", &name, "-o", exported.to_str().unwrap()])
        .ok();
    let derived = tool_ok("ssh-keygen", &[&"-y", &"-f", &exported]);
    let original = std::fs::read_to_string(fixture(pub_file)).unwrap();
    assert_eq!(key_fields(&derived), key_fields(&original), "{file}");
}

/// Standard base64 (the body of a PEM block), for checking fixture shapes.
fn base64_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut acc, mut n) = (0u32, 0);
    for c in text
        .bytes()
        .filter(|c| !c.is_ascii_whitespace() && *c != b'=')
    {
        let v = ALPHABET.iter().position(|a| *a == c).expect("base64") as u32;
        acc = acc << 6 | v;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((acc >> n) as u8);
        }
    }
    out
}

/// Field `index` of the private section of an unencrypted OpenSSH key file
/// (after the two checkints), as the file holds it.
fn openssh_private_field(path: &Path, index: usize) -> Vec<u8> {
    let text = std::fs::read_to_string(path).unwrap();
    let body: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
    let data = base64_decode(&body);
    let mut rest = &data[b"openssh-key-v1\0".len()..];
    fn string<'a>(rest: &mut &'a [u8]) -> &'a [u8] {
        let len = u32::from_be_bytes(rest[..4].try_into().unwrap()) as usize;
        let value = &rest[4..4 + len];
        *rest = &rest[4 + len..];
        value
    }
    for _ in 0..3 {
        string(&mut rest); // cipher, KDF, KDF options
    }
    rest = &rest[4..]; // number of keys
    string(&mut rest); // public key
    let mut private = &string(&mut rest)[8..];
    for _ in 0..index {
        string(&mut private);
    }
    string(&mut private).to_vec()
}

/// The .ppk private blob's first field, as the file holds it (unencrypted).
fn ppk_private_field(path: &Path) -> Vec<u8> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let count: usize = lines
        .by_ref()
        .find_map(|l| l.strip_prefix("Private-Lines: "))
        .unwrap()
        .parse()
        .unwrap();
    let blob = base64_decode(&lines.take(count).collect::<String>());
    let len = u32::from_be_bytes(blob[..4].try_into().unwrap()) as usize;
    blob[4..4 + len].to_vec()
}

#[test]
fn the_fixtures_have_the_rare_shapes() {
    // OpenSSH's ECDSA key fields: type, curve, point, scalar (3).
    assert_eq!(
        openssh_private_field(&fixture("p256-short.key"), 3).len(),
        31
    );
    assert_eq!(
        openssh_private_field(&fixture("p384-short.key"), 3).len(),
        47
    );
    assert_eq!(
        openssh_private_field(&fixture("p521-short.key"), 3).len(),
        65
    );
    // PuTTY writes the scalar as a minimal mpint too.
    assert_eq!(
        openssh_private_field(&fixture("p256-short.putty.key"), 3).len(),
        31
    );
    assert_eq!(ppk_private_field(&fixture("p256-short.ppk")).len(), 31);
    assert_eq!(ppk_private_field(&fixture("p384-short.ppk")).len(), 47);
    assert_eq!(ppk_private_field(&fixture("p521-short.ppk")).len(), 65);
    // Ed25519: type, public key, seed || public key (2). The seed starts
    // 0x00 then a byte below 0x80: read as an mpint, it would lose a byte.
    let seed = &openssh_private_field(&fixture("ed25519-zero.key"), 2)[..32];
    assert!(seed[0] == 0 && seed[1] < 0x80, "{seed:02x?}");
    let ppk_seed = ppk_private_field(&fixture("ed25519-zero.ppk"));
    assert_eq!(ppk_seed, seed, "PuTTY writes the whole 32-byte seed");
}

/// Issue 14, item 1: about 1 in 512 P-256 keys from ssh-keygen has a 31-byte
/// scalar mpint; kps said "corrupt: length invalid" (and "wrong passphrase"
/// when the file was encrypted).
#[test]
fn p256_with_a_31_byte_scalar_imports_in_every_form() {
    if !have_tool("ssh-keygen") {
        return;
    }
    let kps = Kps::new();
    import_and_compare(&kps, "p256-short.key", "p256-short.pub", false);
    import_and_compare(&kps, "p256-short-enc.key", "p256-short.pub", true);
    import_and_compare(&kps, "p256-short.ppk", "p256-short.pub", false);
    import_and_compare(&kps, "p256-short.pem", "p256-short.pub", false);
    import_and_compare(&kps, "p256-short.putty.key", "p256-short.pub", false);
}

/// The other curves' short scalars and Ed25519's zero-led seed, through both
/// the OpenSSH and the .ppk reader.
#[test]
fn short_p384_and_p521_scalars_and_zero_led_ed25519_seeds_import() {
    if !have_tool("ssh-keygen") {
        return;
    }
    let kps = Kps::new();
    for stem in ["p384-short", "p521-short", "ed25519-zero"] {
        import_and_compare(&kps, &format!("{stem}.key"), &format!("{stem}.pub"), false);
        import_and_compare(&kps, &format!("{stem}.ppk"), &format!("{stem}.pub"), false);
    }
}

/// Issue 14, item 2: `ssh-keygen -Z 3des-cbc` files were refused as "wrong
/// passphrase" with the right one. Every cipher `ssh -Q cipher` lists.
#[test]
fn every_cipher_ssh_keygen_offers_opens_with_the_right_passphrase() {
    if !have_tool("ssh-keygen") {
        return;
    }
    let kps = Kps::new();
    let ciphers = [
        "3des-cbc",
        "aes128-cbc",
        "aes192-cbc",
        "aes256-cbc",
        "aes128-ctr",
        "aes192-ctr",
        "aes256-ctr",
        "aes128-gcm",
        "aes256-gcm",
        "chacha20-poly1305",
    ];
    let wrong = kps.path("wrong");
    std::fs::write(&wrong, "not it\n").unwrap();
    for cipher in ciphers {
        let file = format!("enc-{cipher}.key");
        // The fixture really is encrypted with that cipher.
        let text = std::fs::read_to_string(fixture(&file)).unwrap();
        let body: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
        let data = base64_decode(&body);
        let name = &data[b"openssh-key-v1\0".len() + 4..];
        assert!(name.starts_with(cipher.as_bytes()), "{file}");
        // The wrong passphrase is named as such, and nothing is stored.
        let run = kps.run(&[
            "--json",
            "import",
            "w",
            "--private-key",
            fixture(&file).to_str().unwrap(),
            "--key-passphrase-file",
            wrong.to_str().unwrap(),
        ]);
        let run = run.expect(5);
        assert_eq!(run.error_json()["error_code"], "KPS.7016", "{file}");
        import_and_compare(&kps, &file, "enc.pub", true);
    }
    let list = kps.run(&["--json", "list"]).ok().json();
    assert_eq!(list["keypairs"].as_array().unwrap().len(), ciphers.len());
}

/// Issue 14, item 3: outside PEM the RSA size was the modulus's length in
/// whole bytes, so 2041..2047-bit keys passed for 2048. Every form of the same
/// key is now refused with the PEM forms' reason, and a real 2048 accepted.
#[test]
fn rsa_size_is_the_modulus_bit_length_in_every_format() {
    let kps = Kps::new();
    for bits in [2047, 2041] {
        if have_tool("ssh-keygen") {
            let (told, _) = ssh_keygen_says(&fixture(&format!("rsa{bits}.pub")));
            assert_eq!(told, bits, "ssh-keygen counts bits too");
        }
        let reason = format!("RSA key of {bits} bits: only 2048, 3072 and 4096 are allowed");
        for (file, flag) in [
            (format!("rsa{bits}.pkcs1.pem"), "--private-key"),
            (format!("rsa{bits}.pkcs8.pem"), "--private-key"),
            (format!("rsa{bits}.key"), "--private-key"),
            (format!("rsa{bits}.ppk"), "--private-key"),
            (format!("rsa{bits}.pub"), "--public-key"),
        ] {
            let run = kps
                .run(&[
                    "--json",
                    "import",
                    "short",
                    flag,
                    fixture(&file).to_str().unwrap(),
                ])
                .expect(5);
            let err = run.error_json();
            assert_eq!(err["error_code"], "KPS.6009", "{file}: {err}");
            assert_eq!(err["error_msg"], reason.as_str(), "{file}");
        }
    }
    let list = kps.run(&["--json", "list"]).ok().json();
    assert_eq!(list["keypairs"].as_array().unwrap().len(), 0);
    for file in [
        "rsa2048.pkcs1.pem",
        "rsa2048.pkcs8.pem",
        "rsa2048.key",
        "rsa2048.ppk",
    ] {
        let k = import(&kps, &file.replace('.', "-"), file, false);
        assert_eq!(k["algorithm"], "ssh-rsa", "{file}");
        assert_eq!(k["bits"], 2048, "{file}");
    }
    let run = kps
        .run(&[
            "--json",
            "import",
            "rsa2048-pub",
            "--public-key",
            fixture("rsa2048.pub").to_str().unwrap(),
        ])
        .ok();
    assert_eq!(run.json()["keypair"]["bits"], 2048);
}

/// The wider sweep of issue 14: 600 P-256 and 600 Ed25519 keys from
/// ssh-keygen, each also converted to .ppk by puttygen, all imported in one
/// `import --from-dir --dry-run` and checked against ssh-keygen's
/// fingerprints; the rare shapes among them (short scalar, zero-led seed:
/// about 1 in 512 each, so a run usually meets one or two) are also stored
/// and exported, and the exports read back by ssh-keygen and puttygen.
/// Run with `cargo test --test import_openssh -- --ignored`.
#[test]
#[ignore = "about a minute: generates 1,200 keys"]
fn sweep_of_ssh_keygen_keys_in_openssh_and_ppk_form() {
    if !(have_tool("ssh-keygen") && have_tool("puttygen")) {
        return;
    }
    let kps = Kps::new();
    let dir = kps.path("sweep");
    std::fs::create_dir(&dir).unwrap();
    // Fingerprints from the .pub files, then the .pub files out of the way
    // (--from-dir skips them anyway).
    let listing = sh(
        "for i in $(seq 600); do
             ssh-keygen -q -t ecdsa -b 256 -N '' -C p256-$i -f p256-$i
             ssh-keygen -q -t ed25519 -N '' -C ed-$i -f ed-$i
         done
         for k in p256-* ed-*; do
             case $k in *.pub) continue ;; esac
             puttygen $k -O private -o $k-ppk.ppk
         done
         for p in *.pub; do
             printf '%s %s\\n' ${p%.pub} $(ssh-keygen -l -E sha256 -f $p | awk '{print $2}')
         done
         mkdir ../sweep-pub && mv *.pub ../sweep-pub/",
        &dir,
    );
    let expected: std::collections::HashMap<&str, &str> =
        listing.lines().filter_map(|l| l.split_once(' ')).collect();
    assert_eq!(expected.len(), 1200);
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
    let imported = doc["keypairs"].as_array().unwrap();
    assert_eq!(imported.len(), 2400);
    for entry in imported {
        let k = &entry["keypair"];
        let name = k["name"].as_str().unwrap();
        let original = name.strip_suffix("-ppk").unwrap_or(name);
        assert_eq!(k["fingerprint"], expected[original], "{name}");
    }
    // The rare shapes, stored and exported in both forms.
    let mut rare = 0;
    for (stem, short) in [("p256", 31usize), ("ed", 0)] {
        for i in 1..=600 {
            let name = format!("{stem}-{i}");
            let path = dir.join(&name);
            let is_rare = if stem == "ed" {
                let seed = openssh_private_field(&path, 2);
                seed[0] == 0 && seed[1] < 0x80
            } else {
                openssh_private_field(&path, 3).len() == short
            };
            if !is_rare {
                continue;
            }
            rare += 1;
            for (file, stored) in [
                (name.clone(), name.clone()),
                (format!("{name}-ppk.ppk"), format!("{name}-ppk")),
            ] {
                kps.run(&[
                    "import",
                    &stored,
                    "--private-key",
                    dir.join(&file).to_str().unwrap(),
                ])
                .ok();
                let openssh = kps.path(&format!("{stored}.out"));
                let ppk = kps.path(&format!("{stored}.out.ppk"));
                kps.run(&["export", &stored, "-o", openssh.to_str().unwrap()])
                    .ok();
                kps.run(&["export-ppk", &stored, "-o", ppk.to_str().unwrap()])
                    .ok();
                let from_ssh = tool_ok("ssh-keygen", &[&"-l", &"-E", &"sha256", &"-f", &openssh]);
                assert_eq!(
                    from_ssh.split_whitespace().nth(1),
                    Some(expected[name.as_str()])
                );
                let from_putty = tool_ok("puttygen", &[&ppk, &"-L"]);
                let original =
                    std::fs::read_to_string(kps.path("sweep-pub").join(format!("{name}.pub")))
                        .unwrap();
                assert_eq!(key_fields(&from_putty), key_fields(&original), "{file}");
            }
        }
    }
    eprintln!("sweep: 2400 files imported, {rare} rare shapes stored and exported");
}
