//! `kps get-win-password` against password data that OpenSSL encrypts the
//! way cloudbase-init does (RSAES-PKCS1-v1_5 to the keypair's public key).

mod common;
use common::*;
use std::io::Write;
use std::process::Stdio;

const PASSWORDS: [&str; 3] = [
    "Abcdefgh12345678",
    r##"!"#$%&'()*+,-./:;<=>?@[\]^_`{|}~ x"##,
    "Pässwörd-日本語-Ünïcödé",
];

/// What the cloud API returns: base64 of the password encrypted to `name`'s key.
fn encrypt_for(kps: &Kps, name: &str, password: &str) -> String {
    let public = kps.path(&format!("{name}.pub"));
    let spki = kps.path(&format!("{name}.spki.pem"));
    if !spki.exists() {
        let line = kps
            .run(&["export", name, "--format", "public"])
            .ok()
            .stdout();
        std::fs::write(&public, line).unwrap();
        let pem = tool_ok("ssh-keygen", &[&"-e", &"-m", &"PKCS8", &"-f", &public]);
        std::fs::write(&spki, pem).unwrap();
    }
    let mut child = std::process::Command::new("openssl")
        .args(["pkeyutl", "-encrypt", "-pubin", "-inkey"])
        .arg(&spki)
        .args(["-pkeyopt", "rsa_padding_mode:pkcs1"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(password.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    use base64ct::Encoding;
    base64ct::Base64::encode_string(&out.stdout)
}

fn run_stdin(kps: &Kps, args: &[&str], input: &str) -> Run {
    let mut child = kps
        .command()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    Run {
        output: child.wait_with_output().unwrap(),
    }
}

fn tools() -> bool {
    have_tool("openssl") && have_tool("ssh-keygen")
}

#[test]
fn every_form_of_password_data_for_every_rsa_size() {
    if !tools() {
        return;
    }
    let kps = Kps::new();
    kps.create("rsa2048", &["-t", "rsa", "-b", "2048"]);
    kps.create("rsa3072", &["-t", "rsa", "-b", "3072"]);
    kps.create("rsa4096", &["-t", "rsa", "-b", "4096"]);
    let out = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "rsa", "-b", "2048", "-N", "", "-f"])
        .arg(kps.path("from-ssh-keygen"))
        .output()
        .unwrap();
    assert!(out.status.success());
    kps.run(&["import", "imported", "--private-key", "from-ssh-keygen"])
        .ok();
    for name in ["rsa2048", "rsa3072", "rsa4096", "imported"] {
        for password in PASSWORDS {
            let b64 = encrypt_for(&kps, name, password);
            let expected = format!("{password}\n");
            // Bare, as an argument.
            let run = kps
                .run(&["get-win-password", name, "--password-data", &b64])
                .ok();
            assert_eq!(run.stdout(), expected);
            assert!(run.stderr().is_empty());
            // Wrapped at 64 columns with a trailing newline, from a file.
            let wrapped: String = b64
                .as_bytes()
                .chunks(64)
                .map(|c| format!("{}\n", std::str::from_utf8(c).unwrap()))
                .collect();
            std::fs::write(kps.path("wrapped.txt"), &wrapped).unwrap();
            let run = kps
                .run(&["get-win-password", name, "--password-data", "@wrapped.txt"])
                .ok();
            assert_eq!(run.stdout(), expected);
            // Huawei Cloud ECS's answer, piped in.
            let huawei = format!("{{\"password\": \"{b64}\"}}");
            assert_eq!(
                run_stdin(&kps, &["get-win-password", name], &huawei)
                    .ok()
                    .stdout(),
                expected
            );
            // AWS get-password-data's answer, with --password-data -.
            let aws = format!(
                "{{\"InstanceId\": \"i-0abc\", \"Timestamp\": \"2026-11-29T12:00:00+00:00\", \
                 \"PasswordData\": \"\\r\\n{b64}\\r\\n\"}}"
            );
            let run = run_stdin(
                &kps,
                &["get-win-password", name, "--password-data", "-"],
                &aws,
            );
            assert_eq!(run.ok().stdout(), expected);
            // JSON output.
            let doc = kps
                .run(&["--json", "get-win-password", name, "--password-data", &b64])
                .ok()
                .json();
            assert_eq!(doc, serde_json::json!({ "password": password }));
        }
    }
}

#[test]
fn a_key_file_on_disk_works_without_the_store() {
    if !tools() {
        return;
    }
    let kps = Kps::new();
    kps.create("win", &["-t", "rsa", "-b", "2048"]);
    let b64 = encrypt_for(&kps, "win", PASSWORDS[0]);
    kps.run(&["export", "win", "--format", "pem", "-o", "win.pem"])
        .ok();
    std::fs::write(kps.path("ppkpass"), "ppk secret\n").unwrap();
    kps.run(&[
        "export-ppk",
        "win",
        "-o",
        "win.ppk",
        "--ppk-passphrase-file",
        "ppkpass",
    ])
    .ok();
    let elsewhere = Kps::empty();
    std::fs::copy(kps.path("win.pem"), elsewhere.path("win.pem")).unwrap();
    std::fs::copy(kps.path("win.ppk"), elsewhere.path("win.ppk")).unwrap();
    std::fs::copy(kps.path("ppkpass"), elsewhere.path("ppkpass")).unwrap();
    let run = elsewhere
        .run(&[
            "get-win-password",
            "--private-key",
            "win.pem",
            "--password-data",
            &b64,
        ])
        .ok();
    assert_eq!(run.stdout(), format!("{}\n", PASSWORDS[0]));
    let run = elsewhere
        .run(&[
            "get-win-password",
            "--private-key",
            "win.ppk",
            "--key-passphrase-file",
            "ppkpass",
            "--password-data",
            &b64,
        ])
        .ok();
    assert_eq!(run.stdout(), format!("{}\n", PASSWORDS[0]));
    // The key from stdin, the data from an argument.
    let pem = std::fs::read_to_string(kps.path("win.pem")).unwrap();
    let run = run_stdin(
        &elsewhere,
        &[
            "get-win-password",
            "--private-key",
            "-",
            "--password-data",
            &b64,
        ],
        &pem,
    );
    assert_eq!(run.ok().stdout(), format!("{}\n", PASSWORDS[0]));
    assert!(!elsewhere.store.exists(), "a key file needs no store");
}

/// Every failure: its exit code and error code, nothing on stdout, and the
/// password nowhere in what kps printed.
fn refuse(kps: &Kps, args: &[&str], stdin: Option<&str>, exit: i32, code: &str) -> String {
    let mut full = vec!["--json"];
    full.extend(args);
    let run = match stdin {
        Some(input) => run_stdin(kps, &full, input),
        None => kps.run(&full),
    };
    let run = run.expect(exit);
    assert!(run.stdout().is_empty(), "{args:?}");
    for password in PASSWORDS {
        assert!(
            !run.stderr().contains(password),
            "{args:?} leaked the password"
        );
    }
    let err = run.error_json();
    assert_eq!(err["error_code"], code, "{args:?}: {err}");
    err["error_msg"].as_str().unwrap().to_string()
}

#[test]
fn failures_are_clear_and_print_no_password() {
    if !tools() {
        return;
    }
    let kps = Kps::new();
    kps.create("win", &["-t", "rsa", "-b", "2048"]);
    kps.create("other", &["-t", "rsa", "-b", "2048"]);
    kps.create("big", &["-t", "rsa", "-b", "3072"]);
    kps.create("ed", &[]);
    kps.create("ec", &["-t", "ecdsa"]);
    let public = kps
        .run(&["export", "win", "--format", "public"])
        .ok()
        .stdout();
    std::fs::write(kps.path("win-only.pub"), public).unwrap();
    kps.run(&["import", "pubonly", "--public-key", "win-only.pub"])
        .ok();
    let b64 = encrypt_for(&kps, "win", PASSWORDS[0]);

    let msg = refuse(
        &kps,
        &["get-win-password", "other", "--password-data", &b64],
        None,
        5,
        "KPS.7021",
    );
    assert!(msg.contains("not encrypted for keypair 'other'"), "{msg}");
    let msg = refuse(
        &kps,
        &["get-win-password", "big", "--password-data", &b64],
        None,
        5,
        "KPS.7020",
    );
    assert!(msg.contains("256 bytes"), "{msg}");
    for name in ["ed", "ec"] {
        let msg = refuse(
            &kps,
            &["get-win-password", name, "--password-data", &b64],
            None,
            5,
            "KPS.7021",
        );
        assert!(msg.contains("needs the RSA keypair"), "{msg}");
    }
    refuse(
        &kps,
        &["get-win-password", "pubonly", "--password-data", &b64],
        None,
        5,
        "KPS.6005",
    );
    refuse(
        &kps,
        &["get-win-password", "nope", "--password-data", &b64],
        None,
        3,
        "KPS.4016",
    );
    let aws_empty =
        r#"{"InstanceId": "i-0abc", "Timestamp": "2026-11-29T12:00:00+00:00", "PasswordData": ""}"#;
    let msg = refuse(
        &kps,
        &["get-win-password", "win"],
        Some(aws_empty),
        1,
        "KPS.7019",
    );
    assert!(msg.contains("not available yet"));
    refuse(
        &kps,
        &["get-win-password", "win", "--password-data", ""],
        None,
        1,
        "KPS.7019",
    );
    let msg = refuse(
        &kps,
        &[
            "get-win-password",
            "win",
            "--password-data",
            "%%%not base64%%%",
        ],
        None,
        5,
        "KPS.7020",
    );
    assert!(msg.contains("base64"));
    let truncated = &b64[..b64.len() - 8];
    refuse(
        &kps,
        &["get-win-password", "win", "--password-data", truncated],
        None,
        5,
        "KPS.7020",
    );
    let msg = refuse(
        &kps,
        &["get-win-password", "win"],
        Some(r#"{"InstanceId": "i-0abc"}"#),
        5,
        "KPS.7020",
    );
    assert!(msg.contains("no password field"));
    refuse(
        &kps,
        &[
            "get-win-password",
            "win",
            "--password-data",
            "@missing.json",
        ],
        None,
        1,
        "KPS.7017",
    );
    // No data and a terminal-less stdin that is empty: no data given (as at
    // a terminal), not a hang and not "try again later".
    refuse(&kps, &["get-win-password", "win"], Some(""), 2, "KPS.0002");
}

#[test]
fn a_hundred_wrong_keys_never_yield_a_password() {
    if !tools() {
        return;
    }
    // The ciphertext, made by OpenSSL for one key.
    let kps = Kps::new();
    kps.create("win", &["-t", "rsa", "-b", "2048"]);
    let b64 = encrypt_for(&kps, "win", PASSWORDS[0]);
    let ciphertext = kps::winpass::ciphertext(b64.as_bytes()).unwrap();
    // rsa decrypts with implicit rejection: a wrong key gives Ok(random
    // bytes). kps must turn each of those into an error.
    let spec = kps::algorithm::KeySpec::Rsa(2048);
    let workers: Vec<_> = (0..2)
        .map(|_| {
            let ciphertext = ciphertext.clone();
            std::thread::spawn(move || {
                for i in 0..50 {
                    let key = kps::keygen::generate(spec, "wrong").unwrap();
                    match kps::winpass::decrypt(&key, &ciphertext, "wrong") {
                        Err(kps::Error::NotForWindowsPassword(_)) => {}
                        Ok(p) => panic!("wrong key {i} gave a password: {:?}", p.as_str()),
                        Err(other) => panic!("wrong key {i}: unexpected {other}"),
                    }
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
}
