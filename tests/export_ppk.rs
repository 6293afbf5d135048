//! `kps export-ppk` against the real PuTTY tools, and a real login: a
//! throwaway sshd on 127.0.0.1 accepts plink with kps's .ppk files and ssh
//! with kps's OpenSSH exports.

mod common;
use common::sshd::*;
use common::*;
use std::path::PathBuf;
use std::process::Command;

/// The keypairs under test: every algorithm kps holds (DSA only by import).
fn make_keys(kps: &Kps) -> Vec<&'static str> {
    kps.create("ed", &["-C", "ed comment"]);
    kps.create("p256", &["-t", "ecdsa"]);
    kps.create("p384", &["-t", "ecdsa", "-b", "384"]);
    kps.create("p521", &["-t", "ecdsa", "-b", "521"]);
    kps.create("rsa", &["-t", "rsa", "-b", "2048"]);
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "dsa", "-N", "", "-f"])
        .arg(kps.path("dsa-src"))
        .output()
        .unwrap();
    assert!(out.status.success());
    kps.run(&[
        "import",
        "dsa",
        "-C",
        "dsa",
        "--private-key",
        kps.path("dsa-src").to_str().unwrap(),
    ])
    .ok();
    vec!["ed", "p256", "p384", "p521", "rsa", "dsa"]
}

#[test]
fn puttygen_reads_every_algorithm_version_and_protection() {
    if !have_tool("puttygen") || !have_tool("ssh-keygen") {
        return;
    }
    let kps = Kps::new();
    let names = make_keys(&kps);
    std::fs::write(kps.path("ppkpass"), "ppk pass phrase\n").unwrap();
    std::fs::write(kps.path("empty"), "").unwrap();
    for name in names {
        let shown = kps.run(&["--json", "show", name]).ok().json();
        let public = shown["keypair"]["public_key"].as_str().unwrap().to_string();
        let fingerprint = shown["keypair"]["fingerprint"]
            .as_str()
            .unwrap()
            .to_string();
        for version in ["3", "2"] {
            for encrypted in [false, true] {
                let file = kps.path(&format!("{name}-v{version}-{encrypted}.ppk"));
                let mut args = vec![
                    "export-ppk",
                    name,
                    "--ppk-version",
                    version,
                    "-o",
                    file.to_str().unwrap(),
                ];
                if encrypted {
                    args.extend(["--ppk-passphrase-file", "ppkpass"]);
                }
                kps.run(&args).ok();
                assert_eq!(mode_of(&file), 0o600);
                let text = std::fs::read_to_string(&file).unwrap();
                assert!(text.starts_with(&format!("PuTTY-User-Key-File-{version}: ")));
                let enc_line = if encrypted { "aes256-cbc" } else { "none" };
                assert!(
                    text.contains(&format!("\nEncryption: {enc_line}\n")),
                    "{text}"
                );
                assert!(!text.contains('\r'));
                // Public half and fingerprint as puttygen sees them.
                let theirs = tool_ok("puttygen", &[&file, &"-O", &"public-openssh"]);
                assert_eq!(
                    key_fields(&theirs),
                    key_fields(&public),
                    "{name} v{version}"
                );
                let comment = if name == "ed" { "ed comment" } else { name };
                assert!(theirs.trim_end().ends_with(comment), "{theirs}");
                let fp = tool_ok("puttygen", &[&"-l", &"-E", &"sha256", &file]);
                assert_eq!(fp.split_whitespace().nth(2), Some(fingerprint.as_str()));
                // The private half: puttygen decrypts it (MAC checked) and
                // ssh-keygen recomputes the same public key from its export.
                let plain = kps.path("from-puttygen");
                let _ = std::fs::remove_file(&plain);
                let pass: PathBuf = kps.path(if encrypted { "ppkpass" } else { "empty" });
                tool_ok(
                    "puttygen",
                    &[
                        &file,
                        &"-O",
                        &"private-openssh",
                        &"-o",
                        &plain,
                        &"--old-passphrase",
                        &pass,
                        &"-P",
                        &"--new-passphrase",
                        &kps.path("empty"),
                    ],
                );
                let derived = tool_ok("ssh-keygen", &[&"-y", &"-f", &plain]);
                assert_eq!(
                    key_fields(&derived),
                    key_fields(&public),
                    "{name} v{version}"
                );
            }
        }
    }
}

#[test]
fn defaults_overwrites_and_refusals() {
    let kps = Kps::new();
    kps.create("web01", &[]);
    // Default: NAME.ppk in the current directory, v3, unencrypted, 0600.
    kps.run(&["export-ppk", "web01"]).ok();
    let file = kps.path("web01.ppk");
    assert_eq!(mode_of(&file), 0o600);
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.starts_with("PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\nComment: web01\n")
    );
    // Refused if it exists, replaced with --force.
    let run = kps.run(&["--json", "export-ppk", "web01"]).expect(1);
    assert_eq!(run.error_json()["error_code"], "KPS.7008");
    kps.run(&["export-ppk", "web01", "-C", "new comment", "--force"])
        .ok();
    assert!(
        std::fs::read_to_string(&file)
            .unwrap()
            .contains("\nComment: new comment\n")
    );
    // Stdout, and nothing else on it.
    let out = kps.run(&["export-ppk", "web01", "-o", "-"]).ok().stdout();
    assert!(out.starts_with("PuTTY-User-Key-File-3: ") && out.ends_with("\n"));
    // KDF settings: parsed, bounded, and only for v3.
    std::fs::write(kps.path("pp"), "x\n").unwrap();
    let run = kps.run(&[
        "export-ppk",
        "web01",
        "-o",
        "k.ppk",
        "--ppk-passphrase-file",
        "pp",
        "--ppk-kdf",
        "memory=16384,passes=2,parallelism=2",
    ]);
    run.ok();
    let text = std::fs::read_to_string(kps.path("k.ppk")).unwrap();
    assert!(text.contains("\nKey-Derivation: Argon2id\nArgon2-Memory: 16384\nArgon2-Passes: 2\nArgon2-Parallelism: 2\n"), "{text}");
    for bad in ["memory=lots", "colour=red", "passes", "memory=99999999"] {
        kps.run(&[
            "export-ppk",
            "web01",
            "-o",
            "x.ppk",
            "--ppk-passphrase-file",
            "pp",
            "--ppk-kdf",
            bad,
        ])
        .expect(2);
    }
    kps.run(&[
        "export-ppk",
        "web01",
        "-o",
        "x.ppk",
        "--ppk-version",
        "2",
        "--ppk-kdf",
        "passes=3",
    ])
    .expect(2);
    assert!(!kps.path("x.ppk").exists());
    // A public-key-only keypair has nothing to export.
    let public = kps
        .run(&["export", "web01", "--format", "public"])
        .ok()
        .stdout();
    std::fs::write(kps.path("only.pub"), public).unwrap();
    kps.run(&["import", "only", "--public-key", "only.pub"])
        .ok();
    let run = kps.run(&["--json", "export-ppk", "only"]).expect(5);
    assert_eq!(run.error_json()["error_code"], "KPS.6005");
    // A wrong store passphrase leaves no file behind.
    std::fs::write(kps.path("wrong"), "wrong\n").unwrap();
    kps.run_with(&["export-ppk", "web01", "-o", "never.ppk"], |c| {
        c.env("KPS_PASSPHRASE_FILE", kps.path("wrong"));
    })
    .expect(6);
    assert!(!kps.path("never.ppk").exists());
    let leftovers: Vec<_> = std::fs::read_dir(kps.dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn plink_and_ssh_log_in_with_kps_keys() {
    for tool in ["plink", "ssh", "ssh-keygen"] {
        if !have_tool(tool) {
            return;
        }
    }
    if !have_sshd() {
        return;
    }
    let kps = Kps::new();
    kps.create("ed", &[]);
    kps.create("ecdsa", &["-t", "ecdsa"]);
    kps.create("rsa", &["-t", "rsa", "-b", "2048"]);
    let names = ["ed", "ecdsa", "rsa"];
    let mut authorized = String::new();
    for name in names {
        authorized.push_str(
            &kps.run(&["export", name, "--format", "public"])
                .ok()
                .stdout(),
        );
    }
    let sshd_dir = kps.path("sshd");
    std::fs::create_dir(&sshd_dir).unwrap();
    let sshd = Sshd::start(&sshd_dir, &authorized);
    let user = user();
    let port = sshd.port.to_string();
    for name in names {
        for version in ["3", "2"] {
            let ppk = kps.path(&format!("{name}-v{version}.ppk"));
            kps.run(&[
                "export-ppk",
                name,
                "--ppk-version",
                version,
                "-o",
                ppk.to_str().unwrap(),
            ])
            .ok();
            let (ok, stdout, stderr) = sshd.plink(&ppk, &user);
            assert!(
                ok && stdout.trim() == "ok",
                "plink {name} v{version}: {stdout} {stderr}\nsshd: {}",
                sshd.log_text()
            );
        }
        let key = kps.path(&format!("{name}.openssh"));
        kps.run(&["export", name, "-o", key.to_str().unwrap()]).ok();
        let mut ssh = Command::new("ssh");
        ssh.args(THROWAWAY_SSH_OPTIONS)
            .args(["-o", "IdentitiesOnly=yes", "-p", &port, "-i"])
            .arg(&key)
            .arg(format!("{user}@127.0.0.1"))
            .args(["echo", "ok"]);
        let (ok, stdout, stderr) = run_with_timeout(ssh);
        assert!(
            ok && stdout.trim() == "ok",
            "ssh {name}: {stdout} {stderr}\nsshd: {}",
            sshd.log_text()
        );
    }
    // A key the server does not know is turned away: the test can fail.
    kps.create("stranger", &[]);
    let ppk = kps.path("stranger.ppk");
    kps.run(&["export-ppk", "stranger", "-o", ppk.to_str().unwrap()])
        .ok();
    let (ok, stdout, _) = sshd.plink(&ppk, &user);
    assert!(!ok && stdout.trim() != "ok");
}
