//! Every algorithm kps creates, exported in every format and checked with the
//! peers operators use: ssh-keygen and openssl.

mod common;
use common::*;

const SPECS: &[(&str, &[&str], &str, u32)] = &[
    ("ed", &["-t", "ed25519"], "ssh-ed25519", 256),
    ("p256", &["-t", "ecdsa"], "ecdsa-sha2-nistp256", 256),
    (
        "p384",
        &["-t", "ecdsa", "-b", "384"],
        "ecdsa-sha2-nistp384",
        384,
    ),
    (
        "p521",
        &["-t", "ecdsa-sha2-nistp521"],
        "ecdsa-sha2-nistp521",
        521,
    ),
    ("rsa2048", &["-t", "rsa", "-b", "2048"], "ssh-rsa", 2048),
    ("rsa3072", &["-t", "rsa"], "ssh-rsa", 3072),
    ("rsa4096", &["-t", "ssh-rsa", "-b", "4096"], "ssh-rsa", 4096),
];

#[test]
fn every_algorithm_round_trips_through_ssh_keygen() {
    if !have_tool("ssh-keygen") {
        return;
    }
    let kps = Kps::new();
    for (name, args, alg, bits) in SPECS {
        let created = kps.create(name, args);
        let k = &created["keypair"];
        assert_eq!(k["algorithm"], *alg, "{name}");
        assert_eq!(k["bits"], *bits, "{name}");
        let public = k["public_key"].as_str().unwrap().to_string();
        assert!(public.starts_with(alg), "{public}");
        assert!(
            public.ends_with(&format!(" {name}")),
            "default comment is the name"
        );

        // The public export is the stored line; ssh-keygen's fingerprints match ours.
        let pub_path = kps.path(&format!("{name}.pub"));
        let out = kps.run(&["export", name, "--format", "public"]).ok();
        assert_eq!(out.stdout().trim_end(), public);
        std::fs::write(&pub_path, out.stdout()).unwrap();
        let sha = tool_ok("ssh-keygen", &[&"-l", &"-E", &"sha256", &"-f", &pub_path]);
        let fields: Vec<&str> = sha.split_whitespace().collect();
        assert_eq!(fields[0], bits.to_string(), "{name}: {sha}");
        assert_eq!(fields[1], k["fingerprint"], "{name}");
        let md5 = tool_ok("ssh-keygen", &[&"-l", &"-E", &"md5", &"-f", &pub_path]);
        assert_eq!(
            md5.split_whitespace().nth(1).unwrap(),
            k["fingerprint_md5"],
            "{name}"
        );

        // show agrees with create.
        let shown = kps.run(&["--json", "show", name]).ok().json();
        assert_eq!(shown["keypair"], created["keypair"]);

        // Each private format: ssh-keygen -y recomputes the stored public key.
        for format in ["openssh", "pem", "pkcs8"] {
            let path = kps.path(&format!("{name}.{format}"));
            let run = kps.run(&[
                "export",
                name,
                "--format",
                format,
                "-o",
                path.to_str().unwrap(),
            ]);
            if *alg == "ssh-ed25519" && format == "pem" {
                run.expect(2);
                assert!(!path.exists());
                continue;
            }
            run.ok();
            assert_eq!(mode_of(&path), 0o600, "{name} {format}");
            let pem = std::fs::read_to_string(&path).unwrap();
            let label = match (format, *alg) {
                ("openssh", _) => "OPENSSH PRIVATE KEY",
                ("pkcs8", _) => "PRIVATE KEY",
                ("pem", "ssh-rsa") => "RSA PRIVATE KEY",
                ("pem", _) => "EC PRIVATE KEY",
                _ => unreachable!(),
            };
            assert!(
                pem.starts_with(&format!("-----BEGIN {label}-----\n")),
                "{name} {format}: {pem:.40}"
            );
            // OpenSSH 9.2 reads no PKCS#8 Ed25519; openssl checks that one below.
            if !(*alg == "ssh-ed25519" && format == "pkcs8") {
                let derived = tool_ok("ssh-keygen", &[&"-y", &"-f", &path]);
                assert_eq!(key_fields(&derived), key_fields(&public), "{name} {format}");
            }
        }
    }
}

#[test]
fn pem_and_pkcs8_exports_load_in_openssl() {
    if !have_tool("openssl") || !have_tool("ssh-keygen") {
        return;
    }
    let kps = Kps::new();
    for (name, args, alg, _) in SPECS
        .iter()
        .filter(|s| s.0 != "rsa4096" && s.0 != "rsa3072")
    {
        kps.create(name, args);
        let pub_path = kps.path(&format!("{name}.pub"));
        kps.run(&[
            "export",
            name,
            "--format",
            "public",
            "-o",
            pub_path.to_str().unwrap(),
        ])
        .ok();
        // ssh-keygen's PKCS#8 public key, as openssl would print it.
        let expected_spki = if *alg == "ssh-ed25519" {
            None
        } else {
            Some(tool_ok(
                "ssh-keygen",
                &[&"-e", &"-m", &"PKCS8", &"-f", &pub_path],
            ))
        };
        for format in ["pem", "pkcs8"] {
            if *alg == "ssh-ed25519" && format == "pem" {
                continue;
            }
            let path = kps.path(&format!("{name}.{format}.key"));
            kps.run(&[
                "export",
                name,
                "--format",
                format,
                "-o",
                path.to_str().unwrap(),
            ])
            .ok();
            tool_ok("openssl", &[&"pkey", &"-in", &path, &"-check", &"-noout"]);
            let spki = tool_ok("openssl", &[&"pkey", &"-in", &path, &"-pubout"]);
            match &expected_spki {
                Some(expected) => assert_eq!(&spki, expected, "{name} {format}"),
                None => {
                    // Ed25519: the raw public key is the last 32 bytes of both encodings.
                    let der = tool(
                        "openssl",
                        &[&"pkey", &"-in", &path, &"-pubout", &"-outform", &"DER"],
                    )
                    .stdout;
                    let line = std::fs::read_to_string(&pub_path).unwrap();
                    let blob = base64_decode(line.split_whitespace().nth(1).unwrap());
                    assert_eq!(der[der.len() - 32..], blob[blob.len() - 32..], "{name}");
                }
            }
        }
    }
}

fn base64_decode(s: &str) -> Vec<u8> {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = Vec::new();
    for c in s.bytes().filter(|c| *c != b'=') {
        let v = alphabet.iter().position(|a| *a == c).unwrap() as u32;
        bits = (bits << 6) | v;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
        }
    }
    out
}

#[test]
fn exported_openssh_key_signs_like_the_original() {
    // A key that loads is not yet a key that works: sign with the export and
    // verify against the stored public key with ssh-keygen -Y.
    if !have_tool("ssh-keygen") {
        return;
    }
    let kps = Kps::new();
    for (name, args, _, _) in SPECS.iter().filter(|s| s.0 != "rsa4096") {
        kps.create(name, args);
        let key = kps.path(name);
        kps.run(&["export", name, "-o", key.to_str().unwrap()]).ok();
        let public = kps
            .run(&["export", name, "--format", "public"])
            .ok()
            .stdout();
        let signers = kps.path("allowed_signers");
        std::fs::write(&signers, format!("me@example {public}")).unwrap();
        let msg = kps.path("msg");
        std::fs::write(&msg, b"hello").unwrap();
        tool_ok(
            "ssh-keygen",
            &[&"-Y", &"sign", &"-f", &key, &"-n", &"file", &msg],
        );
        let sig = kps.path("msg.sig");
        let out = std::process::Command::new("ssh-keygen")
            .args(["-Y", "verify", "-f"])
            .arg(&signers)
            .args(["-I", "me@example", "-n", "file", "-s"])
            .arg(&sig)
            .stdin(std::fs::File::open(&msg).unwrap())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::remove_file(&sig).unwrap();
    }
}
