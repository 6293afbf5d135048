//! Encryption type kms against a real token: SoftHSM2, one throwaway token
//! per test in its own temporary directory (its own SOFTHSM2_CONF), so
//! nothing outside the temp dir is touched.

mod common;
use common::hsm::*;
use common::*;
use std::path::PathBuf;
use std::process::Command;

/// A kps store wired to its own token, with the PIN in a file.
struct Setup {
    kps: Kps,
    hsm: Hsm,
    pin_file: PathBuf,
}

impl Setup {
    fn new() -> Setup {
        let kps = Kps::new();
        let hsm = Hsm::new(&kps.path("hsm"));
        let pin_file = kps.path("pin");
        std::fs::write(&pin_file, format!("{PIN}\n")).unwrap();
        let s = Setup { kps, hsm, pin_file };
        s.run(&[
            "kms",
            "configure",
            "--module",
            softhsm_module().unwrap().to_str().unwrap(),
            "--token",
            TOKEN,
        ])
        .ok();
        s.run(&["kms", "create-key", "kps/default"]).ok();
        s
    }

    fn run(&self, args: &[&str]) -> Run {
        self.kps.run_with(args, |c| {
            c.env("SOFTHSM2_CONF", &self.hsm.conf)
                .env("KPS_PKCS11_PIN_FILE", &self.pin_file);
        })
    }

    /// Only the PIN: no store passphrase anywhere.
    fn run_pin_only(&self, args: &[&str]) -> Run {
        self.kps.run_with(args, |c| {
            c.env("SOFTHSM2_CONF", &self.hsm.conf)
                .env("KPS_PKCS11_PIN_FILE", &self.pin_file)
                .env_remove("KPS_PASSPHRASE_FILE");
        })
    }
}

#[test]
fn kms_keys_are_made_listed_and_named() {
    if !have_softhsm() {
        return;
    }
    let s = Setup::new();
    let made = s
        .run(&["--json", "kms", "create-key", "team/web"])
        .ok()
        .json();
    let id = made["key"]["kms_key_id"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 32);
    let listed = s.run(&["--json", "kms", "list-keys"]).ok().json();
    let names: Vec<&str> = listed["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kms_key_name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["kps/default", "team/web"]);
    // A second key of the same name is refused.
    s.run(&["kms", "create-key", "team/web"]).expect(2);
    // Keypairs name the master key by name or by id; the row records both.
    let by_id = s
        .run(&[
            "--json",
            "create",
            "a",
            "--encryption",
            "kms",
            "--kms-key-id",
            &id,
        ])
        .ok()
        .json();
    let enc = &by_id["keypair"]["key_protection"]["encryption"];
    assert_eq!(enc["type"], "kms");
    assert_eq!(enc["kms_key_name"], "team/web");
    assert_eq!(enc["kms_key_id"], id.as_str());
    let shown = s.run(&["show", "a"]).ok().stdout();
    assert!(
        shown.contains("kms key name team/web") && shown.contains(&id),
        "{shown}"
    );
}

#[test]
fn every_algorithm_round_trips_under_kms_with_only_the_pin() {
    if !have_softhsm()
        || !have_tool("ssh-keygen")
        || !have_tool("puttygen")
        || !have_tool("openssl")
    {
        return;
    }
    let s = Setup::new();
    let kms = ["--encryption", "kms", "--kms-key-name", "kps/default"];
    let mut names = Vec::new();
    for (name, extra) in [
        ("ed", &["-t", "ed25519"][..]),
        ("p256", &["-t", "ecdsa"]),
        ("p384", &["-t", "ecdsa", "-b", "384"]),
        ("p521", &["-t", "ecdsa", "-b", "521"]),
        ("rsa", &["-t", "rsa", "-b", "2048"]),
    ] {
        let mut args = vec!["create", name];
        args.extend(extra);
        args.extend(kms);
        // A new kms keypair needs the PIN, not the store passphrase.
        s.run_pin_only(&args).ok();
        names.push(name);
    }
    let dir = s.kps.dir.path();
    let out = Command::new("sh")
        .arg("-ec")
        .arg("ssh-keygen -q -t dsa -N '' -f dsa_src; openssl genrsa -traditional -out rsa_src.pem 3072 2>/dev/null")
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(out.status.success());
    let mut import = vec!["import", "dsa", "--private-key", "dsa_src"];
    import.extend(kms);
    s.run_pin_only(&import).ok();
    let pem = std::fs::read_to_string(s.kps.path("rsa_src.pem")).unwrap();
    std::fs::write(
        s.kps.path("req.json"),
        serde_json::json!({"keypair": {"name": "req", "key_protection": {"private_key": pem,
            "encryption": {"type": "kms", "kms_key_name": "kps/default"}}}})
        .to_string(),
    )
    .unwrap();
    s.run_pin_only(&["import", "--request", "req.json"]).ok();
    names.extend(["dsa", "req"]);

    for name in &names {
        let shown = s.run(&["--json", "show", name]).ok().json();
        assert_eq!(
            shown["keypair"]["key_protection"]["encryption"]["type"],
            "kms"
        );
        let public = shown["keypair"]["public_key"].as_str().unwrap().to_string();
        for format in ["openssh", "pem", "pkcs8"] {
            if *name == "ed" && format == "pem" {
                continue;
            }
            let path = s.kps.path(&format!("{name}.{format}"));
            s.run_pin_only(&[
                "export",
                name,
                "--format",
                format,
                "-o",
                path.to_str().unwrap(),
            ])
            .ok();
            if !(format == "pkcs8" && (*name == "ed" || *name == "dsa")) {
                let derived = tool_ok("ssh-keygen", &[&"-y", &"-f", &path]);
                assert_eq!(key_fields(&derived), key_fields(&public), "{name} {format}");
            }
        }
        let ppk = s.kps.path(&format!("{name}.ppk"));
        s.run_pin_only(&["export-ppk", name, "-o", ppk.to_str().unwrap()])
            .ok();
        let theirs = tool_ok("puttygen", &[&ppk, &"-O", &"public-openssh"]);
        assert_eq!(key_fields(&theirs), key_fields(&public), "{name} ppk");
    }

    // get-win-password with a kms RSA keypair.
    let line = s
        .run(&["export", "rsa", "--format", "public"])
        .ok()
        .stdout();
    std::fs::write(s.kps.path("rsa.pub"), line).unwrap();
    let spki = tool_ok(
        "ssh-keygen",
        &[&"-e", &"-m", &"PKCS8", &"-f", &s.kps.path("rsa.pub")],
    );
    std::fs::write(s.kps.path("rsa.spki"), spki).unwrap();
    let out = Command::new("sh")
        .arg("-ec")
        .arg("printf %s 'Kms-Win-Passw0rd' | openssl pkeyutl -encrypt -pubin -inkey rsa.spki -pkeyopt rsa_padding_mode:pkcs1 | base64 -w0")
        .current_dir(dir)
        .output()
        .unwrap();
    let data = String::from_utf8(out.stdout).unwrap();
    let run = s
        .run_pin_only(&["get-win-password", "rsa", "--password-data", &data])
        .ok();
    assert_eq!(run.stdout(), "Kms-Win-Passw0rd\n");

    // set-encryption both ways, the key unchanged throughout.
    let before = s.run_pin_only(&["export", "p384", "-o", "-"]).ok().stdout();
    s.run(&["set-encryption", "p384", "--encryption", "default"])
        .ok();
    let shown = s.run(&["--json", "show", "p384"]).ok().json();
    assert_eq!(
        shown["keypair"]["key_protection"]["encryption"],
        serde_json::json!({"type": "default"})
    );
    // Now the store passphrase opens it and the PIN alone does not.
    s.run_pin_only(&["export", "p384", "-o", "-"]).expect(6);
    assert_eq!(s.run(&["export", "p384", "-o", "-"]).ok().stdout(), before);
    s.run(&[
        "set-encryption",
        "p384",
        "--encryption",
        "kms",
        "--kms-key-name",
        "kps/default",
    ])
    .ok();
    assert_eq!(
        s.run_pin_only(&["export", "p384", "-o", "-"]).ok().stdout(),
        before
    );
}

fn refuse(run: Run, exit: i32, code: &str) -> String {
    let run = run.expect(exit);
    assert!(run.stdout().is_empty());
    assert!(
        !run.stderr().contains(PIN),
        "the PIN leaked: {}",
        run.stderr()
    );
    let err = run.error_json();
    assert_eq!(err["error_code"], code, "{err}");
    err["error_msg"].as_str().unwrap().to_string()
}

#[test]
fn kms_errors_are_clear_and_distinct() {
    if !have_softhsm() {
        return;
    }
    let s = Setup::new();
    let list = || s.run(&["--json", "list"]).ok().json();
    // Module path missing, or not a PKCS#11 module.
    let msg = refuse(
        s.run(&[
            "--json",
            "kms",
            "configure",
            "--module",
            "/nonexistent/lib.so",
            "--token",
            TOKEN,
        ]),
        1,
        "KPS.7022",
    );
    assert!(msg.contains("does not exist"));
    std::fs::write(s.kps.path("not-a-module.so"), "plain text").unwrap();
    let msg = refuse(
        s.run(&[
            "--json",
            "kms",
            "configure",
            "--module",
            "not-a-module.so",
            "--token",
            TOKEN,
        ]),
        1,
        "KPS.7022",
    );
    assert!(msg.contains("not a PKCS#11 module"), "{msg}");
    // Token label not found.
    let msg = refuse(
        s.run(&[
            "--json",
            "kms",
            "configure",
            "--module",
            softhsm_module().unwrap().to_str().unwrap(),
            "--token",
            "nope",
        ]),
        1,
        "KPS.7023",
    );
    assert!(msg.contains("nope") && msg.contains(TOKEN), "{msg}");
    // Wrong PIN: exit 6, nothing stored.
    let before = list();
    std::fs::write(s.kps.path("wrong-pin"), "000000\n").unwrap();
    let run = s.kps.run_with(
        &[
            "--json",
            "create",
            "x",
            "--encryption",
            "kms",
            "--kms-key-name",
            "kps/default",
        ],
        |c| {
            c.env("SOFTHSM2_CONF", &s.hsm.conf)
                .env("KPS_PKCS11_PIN_FILE", s.kps.path("wrong-pin"));
        },
    );
    refuse(run, 6, "KPS.7024");
    // The hint names where the PIN came from.
    let text = s
        .kps
        .run_with(
            &[
                "create",
                "x",
                "--encryption",
                "kms",
                "--kms-key-name",
                "kps/default",
            ],
            |c| {
                c.env("SOFTHSM2_CONF", &s.hsm.conf)
                    .env("KPS_PKCS11_PIN_FILE", s.kps.path("wrong-pin"));
            },
        )
        .expect(6)
        .stderr();
    assert!(
        text.contains(&format!(
            "hint: nothing was changed; check the file {} (KPS_PKCS11_PIN_FILE)",
            s.kps.path("wrong-pin").display()
        )),
        "{text}"
    );
    // No PIN and no terminal: fails at once.
    let run = s.kps.run_with(
        &[
            "--json",
            "create",
            "x",
            "--encryption",
            "kms",
            "--kms-key-name",
            "kps/default",
        ],
        |c| {
            c.env("SOFTHSM2_CONF", &s.hsm.conf);
        },
    );
    refuse(run, 6, "KPS.7003");
    // A key name or id that is not on the token.
    let msg = refuse(
        s.run(&[
            "--json",
            "create",
            "x",
            "--encryption",
            "kms",
            "--kms-key-name",
            "absent",
        ]),
        1,
        "KPS.7025",
    );
    assert!(msg.contains("absent"));
    refuse(
        s.run(&[
            "--json",
            "create",
            "x",
            "--encryption",
            "kms",
            "--kms-key-id",
            "00112233",
        ]),
        1,
        "KPS.7025",
    );
    refuse(
        s.run(&[
            "--json",
            "create",
            "x",
            "--encryption",
            "kms",
            "--kms-key-id",
            "xyz",
        ]),
        2,
        "KPS.0002",
    );
    assert_eq!(list(), before);
}

#[test]
fn kms_needs_configuring_first() {
    let kps = Kps::new();
    let run = kps.run(&[
        "--json",
        "create",
        "x",
        "--encryption",
        "kms",
        "--kms-key-name",
        "kps/default",
    ]);
    let msg = refuse(run, 1, "KPS.7010");
    assert!(msg.contains("no KMS is configured"));
    let run = kps.run(&["--json", "kms", "list-keys"]);
    refuse(run, 1, "KPS.7010");
}

#[test]
fn a_deleted_master_key_leaves_the_keypair_stored_but_sealed() {
    if !have_softhsm() {
        return;
    }
    let s = Setup::new();
    s.run(&[
        "create",
        "k",
        "--encryption",
        "kms",
        "--kms-key-name",
        "kps/default",
    ])
    .ok();
    s.hsm.replace_token();
    // Still listed and shown, public key still exportable.
    s.run(&["show", "k"]).ok();
    s.run(&["export", "k", "--format", "public"]).ok();
    // Reading the private key names the missing master key.
    let msg = refuse(s.run(&["--json", "export", "k", "-o", "-"]), 1, "KPS.7025");
    assert!(msg.contains("kps/default") || msg.contains("id "), "{msg}");
    assert!(msg.contains("'k'"), "{msg}");
}

#[test]
fn a_store_copied_without_its_token_gives_up_nothing() {
    if !have_softhsm() {
        return;
    }
    let s = Setup::new();
    s.run(&[
        "create",
        "k",
        "--encryption",
        "kms",
        "--kms-key-name",
        "kps/default",
    ])
    .ok();
    // Copy the store elsewhere; the other machine has no such token at all...
    let elsewhere = Kps::empty();
    let copy_status = Command::new("cp")
        .arg("-a")
        .arg(&s.kps.store)
        .arg(&elsewhere.store)
        .status()
        .unwrap();
    assert!(copy_status.success());
    let other_hsm = elsewhere.path("otherhsm");
    std::fs::create_dir_all(other_hsm.join("tokens")).unwrap();
    std::fs::write(
        other_hsm.join("softhsm2.conf"),
        format!(
            "directories.tokendir = {}/tokens\nobjectstore.backend = file\n",
            other_hsm.display()
        ),
    )
    .unwrap();
    // The KMS settings stay with the user, not the store: the other user
    // has none until they name a module and token of their own.
    let run = elsewhere.run_with(&["--json", "export", "k", "-o", "-"], |c| {
        c.env("SOFTHSM2_CONF", other_hsm.join("softhsm2.conf"))
            .env("KPS_PKCS11_PIN_FILE", &s.pin_file);
    });
    refuse(run, 1, "KPS.7010");
    let run = elsewhere.run_with(&["--json", "export", "k", "-o", "-"], |c| {
        c.env("SOFTHSM2_CONF", other_hsm.join("softhsm2.conf"))
            .env("KPS_PKCS11_MODULE", softhsm_module().unwrap())
            .env("KPS_PKCS11_TOKEN", TOKEN)
            .env("KPS_PKCS11_PIN_FILE", &s.pin_file);
    });
    refuse(run, 1, "KPS.7023");
    // ...or a token of the same name and PIN that never held the master key.
    let hsm2 = Hsm::new(&elsewhere.path("hsm2"));
    let run = elsewhere.run_with(&["--json", "export", "k", "-o", "-"], |c| {
        c.env("SOFTHSM2_CONF", &hsm2.conf)
            .env("KPS_PKCS11_MODULE", softhsm_module().unwrap())
            .env("KPS_PKCS11_TOKEN", TOKEN)
            .env("KPS_PKCS11_PIN_FILE", &s.pin_file);
    });
    refuse(run, 1, "KPS.7025");
}

#[test]
fn environment_variables_override_the_configuration_file() {
    if !have_softhsm() {
        return;
    }
    let kps = Kps::new();
    let hsm = Hsm::new(&kps.path("hsm"));
    let run = |args: &[&str]| {
        kps.run_with(args, |c| {
            c.env("SOFTHSM2_CONF", &hsm.conf)
                .env("KPS_PKCS11_MODULE", softhsm_module().unwrap())
                .env("KPS_PKCS11_TOKEN", TOKEN)
                .env("KPS_PKCS11_PIN", PIN);
        })
    };
    // Never configured: the variables alone are enough.
    run(&["kms", "create-key", "env-key"]).ok();
    run(&[
        "create",
        "k",
        "--encryption",
        "kms",
        "--kms-key-name",
        "env-key",
    ])
    .ok();
    run(&["export", "k", "-o", "-"]).ok();
    // Configured for a token that does not exist: the variables still win,
    // each on its own.
    kps.run_with(
        &[
            "kms",
            "configure",
            "--module",
            softhsm_module().unwrap().to_str().unwrap(),
            "--token",
            TOKEN,
        ],
        |c| {
            c.env("SOFTHSM2_CONF", &hsm.conf);
        },
    )
    .ok();
    let conf = kps.config_home().join("kps/kms.conf");
    let text = std::fs::read_to_string(&conf).unwrap();
    std::fs::write(
        &conf,
        text.replace(&format!("token = {TOKEN}"), "token = elsewhere"),
    )
    .unwrap();
    let msg = refuse(
        kps.run_with(&["--json", "export", "k", "-o", "-"], |c| {
            c.env("SOFTHSM2_CONF", &hsm.conf).env("KPS_PKCS11_PIN", PIN);
        }),
        1,
        "KPS.7023",
    );
    assert!(msg.contains("elsewhere"), "{msg}");
    kps.run_with(&["export", "k", "-o", "-"], |c| {
        c.env("SOFTHSM2_CONF", &hsm.conf)
            .env("KPS_PKCS11_TOKEN", TOKEN)
            .env("KPS_PKCS11_PIN", PIN);
    })
    .ok();
}

#[test]
fn a_store_configured_by_an_earlier_kps_asks_for_configuring_again() {
    let kps = Kps::new();
    // What `kps kms configure` recorded in the store before kps took the
    // module from the user's config directory only.
    let conn = rusqlite::Connection::open(kps.db()).unwrap();
    conn.execute(
        "INSERT INTO settings (key, value) VALUES ('kms.module', ?1), ('kms.token', ?2)",
        ["/usr/lib/softhsm/libsofthsm2.so", TOKEN],
    )
    .unwrap();
    let run = kps.run(&["kms", "list-keys"]).expect(1);
    assert!(
        run.stderr()
            .contains("no longer takes the PKCS#11 module from the store"),
        "{}",
        run.stderr()
    );
    refuse(kps.run(&["--json", "kms", "list-keys"]), 1, "KPS.7010");
}
