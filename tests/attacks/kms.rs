//! Attacks on encryption type kms: whoever can write the store must not be
//! able to choose the PKCS#11 module kps loads (finding 2), and a module file
//! or config file that someone else could have replaced is never used.

use crate::common::hsm::*;
use crate::common::*;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// The attacker's shared library: loading it at all (dlopen runs its
/// constructor, before any PKCS#11 call) creates `marker`. Built in its own
/// directory `dir`, which the caller may then loosen.
fn planted_module(dir: &Path, marker: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let source = dir.join("evil.c");
    std::fs::write(
        &source,
        format!(
            "#include <stdio.h>\n\
             __attribute__((constructor)) static void planted(void) {{\n\
             FILE *f = fopen({:?}, \"w\");\n\
             if (f) {{ fputs(\"loaded\\n\", f); fclose(f); }}\n\
             }}\n",
            marker.to_str().unwrap()
        ),
    )
    .unwrap();
    let lib = dir.join("evil.so");
    tool_ok("cc", &[&"-shared", &"-fPIC", &"-o", &lib, &source]);
    std::fs::set_permissions(&lib, std::fs::Permissions::from_mode(0o755)).unwrap();
    lib
}

fn set_mode(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Give `path` to user 65534 (nobody); false (and a printed reason) when the
/// tests do not run as root and cannot.
fn give_away(path: &Path) -> bool {
    match std::os::unix::fs::chown(path, Some(65534), None) {
        Ok(()) => true,
        Err(e) => {
            eprintln!("SKIP (part): cannot chown {} to 65534: {e}", path.display());
            false
        }
    }
}

/// The user's KMS config file, written as `kps kms configure` would.
fn write_kms_conf(kps: &Kps, module: &Path, token: &str) -> PathBuf {
    let dir = kps.config_home().join("kps");
    std::fs::create_dir_all(&dir).unwrap();
    set_mode(&dir, 0o700);
    let conf = dir.join("kms.conf");
    std::fs::write(
        &conf,
        format!("module = {}\ntoken = {token}\n", module.display()),
    )
    .unwrap();
    set_mode(&conf, 0o600);
    conf
}

fn run_with_pin(kps: &Kps, args: &[&str]) -> Run {
    let pin_file = kps.path("pin");
    std::fs::write(&pin_file, format!("{PIN}\n")).unwrap();
    kps.run_with(args, |c| {
        c.env("KPS_PKCS11_PIN_FILE", &pin_file);
    })
}

fn error_code(run: &Run) -> String {
    run.error_json()["error_code"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn finding_2_the_store_cannot_name_a_module_for_kps_to_load() {
    if !have_tool("cc") {
        return;
    }
    let kps = Kps::new();
    kps.create("victim", &["-t", "ed25519"]);
    let marker = kps.path("loaded");
    let evil = planted_module(&kps.path("evil"), &marker);
    // The attacker writes the store: a module of theirs in the settings, as
    // `kps kms configure` used to record it, and the user's keypair flipped
    // to kms so that reading it goes down the PKCS#11 path.
    {
        let conn = rusqlite::Connection::open(kps.db()).unwrap();
        conn.execute(
            "INSERT OR REPLACE INTO settings (key, value) VALUES ('kms.module', ?1), ('kms.token', ?2)",
            [evil.to_str().unwrap(), TOKEN],
        )
        .unwrap();
        conn.execute(
            "UPDATE keypairs SET encryption_type = 'kms', kms_key_name = 'kps/default' WHERE name = 'victim'",
            [],
        )
        .unwrap();
    }
    // Where the store is pinned, the flipped row fails its MAC before any
    // KMS is looked for.
    let run = run_with_pin(&kps, &["--json", "export", "victim", "-o", "-"]);
    assert!(!marker.exists(), "export loaded the store's module");
    assert_eq!(error_code(&run.expect(7)), "KPS.6011");
    // A machine with no pin for this store (a copied store): the row cannot
    // be authenticated there, so the KMS path is reached, and still loads
    // nothing the store names.
    std::fs::remove_dir_all(kps.config_home().join("kps/stores")).unwrap();
    // The user never configured kms; they would type a PIN at the prompt
    // (here, a PIN file), which the old kps handed to the planted module.
    let run = run_with_pin(&kps, &["--json", "export", "victim", "-o", "-"]);
    assert!(!marker.exists(), "export loaded the store's module");
    assert_eq!(error_code(&run.expect(1)), "KPS.7010");
    for args in [
        &["--json", "export-ppk", "victim", "-o", "-"][..],
        &[
            "--json",
            "set-encryption",
            "victim",
            "--encryption",
            "default",
        ],
        &["--json", "kms", "list-keys"],
        &["--json", "kms", "create-key", "x"],
    ] {
        let run = run_with_pin(&kps, args);
        assert!(!marker.exists(), "{args:?} loaded the store's module");
        assert_eq!(error_code(&run.expect(1)), "KPS.7010", "{args:?}");
    }
    // Reading the public side never needed a module and still works.
    run_with_pin(&kps, &["show", "victim"]).ok();
    run_with_pin(&kps, &["list"]).ok();
    assert!(!marker.exists(), "show or list loaded the store's module");
    // The hint says why the store's setting no longer counts, and never
    // repeats the store's path (copying it into `kps kms configure` is
    // exactly what the attacker wants).
    let run = run_with_pin(&kps, &["export", "victim", "-o", "-"]).expect(1);
    let text = run.stderr();
    assert!(
        text.contains("no longer") && text.contains("kps kms configure"),
        "{text}"
    );
    assert!(!text.contains(evil.to_str().unwrap()), "{text}");
    assert!(!marker.exists());
}

#[test]
fn finding_2_a_module_others_could_have_replaced_is_never_loaded() {
    if !have_tool("cc") {
        return;
    }
    let kps = Kps::new();
    let marker = kps.path("loaded");
    let dir = kps.path("modules");
    let evil = planted_module(&dir, &marker);
    write_kms_conf(&kps, &evil, TOKEN);
    let refused = |what: &str, offender: &Path| {
        for args in [&["--json", "kms", "list-keys"][..], &["kms", "list-keys"]] {
            let run = run_with_pin(&kps, args).expect(1);
            if args[0] == "--json" {
                let err = run.error_json();
                assert_eq!(err["error_code"], "KPS.7030", "{what}: {err}");
                let msg = err["error_msg"].as_str().unwrap();
                assert!(
                    msg.contains(offender.to_str().unwrap()),
                    "{what}: the message names {}: {msg}",
                    offender.display()
                );
            } else {
                assert!(run.stderr().contains("chmod"), "{what}: {}", run.stderr());
            }
            assert!(!marker.exists(), "{what}: the module was loaded");
        }
        // Named in the environment instead: the same check.
        let run = kps
            .run_with(&["--json", "kms", "list-keys"], |c| {
                c.env("KPS_PKCS11_MODULE", &evil)
                    .env("KPS_PKCS11_TOKEN", TOKEN)
                    .env("KPS_PKCS11_PIN", PIN);
            })
            .expect(1);
        assert_eq!(error_code(&run), "KPS.7030", "{what} (environment)");
        assert!(
            !marker.exists(),
            "{what} (environment): the module was loaded"
        );
    };

    set_mode(&evil, 0o666);
    refused("module 0666", &evil);
    set_mode(&evil, 0o775);
    refused("module 0775", &evil);
    set_mode(&evil, 0o755);
    // A directory above it that others can write (no sticky bit): they
    // could rename the module away and put theirs in its place.
    set_mode(&dir, 0o777);
    refused("directory 0777", &dir);
    set_mode(&dir, 0o755);
    // Through a symlink: the real file is what is checked.
    let link = kps.path("link.so");
    std::os::unix::fs::symlink(&evil, &link).unwrap();
    write_kms_conf(&kps, &link, TOKEN);
    set_mode(&evil, 0o666);
    refused("symlink to a module 0666", &evil);
    set_mode(&evil, 0o755);
    if give_away(&evil) {
        refused("module owned by 65534", &evil);
    }
    // `kps kms configure` refuses it too, and records nothing.
    std::fs::remove_file(kps.config_home().join("kps/kms.conf")).unwrap();
    let run = run_with_pin(
        &kps,
        &[
            "--json",
            "kms",
            "configure",
            "--module",
            evil.to_str().unwrap(),
            "--token",
            TOKEN,
        ],
    )
    .expect(1);
    assert_eq!(error_code(&run), "KPS.7030");
    assert!(!kps.config_home().join("kps/kms.conf").exists());
    assert!(!marker.exists(), "configure loaded the module");
    // The control: the same file, once only root can write it, is loaded
    // (and found not to be a PKCS#11 module), so the marker is real.
    std::os::unix::fs::chown(&evil, Some(rustix::process::geteuid().as_raw()), None).unwrap();
    let run = run_with_pin(
        &kps,
        &[
            "--json",
            "kms",
            "configure",
            "--module",
            evil.to_str().unwrap(),
            "--token",
            TOKEN,
        ],
    )
    .expect(1);
    assert_eq!(error_code(&run), "KPS.7022");
    assert!(marker.exists(), "the control did not load the module");
}

#[test]
fn finding_2_a_copied_softhsm_module_is_checked_like_any_other() {
    if !have_softhsm() {
        return;
    }
    let kps = Kps::new();
    let conf = Hsm::new(&kps.path("hsm")).conf;
    // A copy in a directory of the test's own, under the sticky /tmp: the
    // sticky bit lets no one else rename an entry they do not own, so it is
    // accepted as an ancestor.
    let dir = kps.path("lib");
    std::fs::create_dir_all(&dir).unwrap();
    let copy = dir.join("libsofthsm2.so");
    std::fs::copy(softhsm_module().unwrap(), &copy).unwrap();
    let configure = |module: &Path| {
        kps.run_with(
            &[
                "--json",
                "kms",
                "configure",
                "--module",
                module.to_str().unwrap(),
                "--token",
                TOKEN,
            ],
            |c| {
                c.env("SOFTHSM2_CONF", &conf);
            },
        )
    };
    set_mode(&copy, 0o664);
    assert_eq!(error_code(&configure(&copy).expect(1)), "KPS.7030");
    set_mode(&copy, 0o646);
    assert_eq!(error_code(&configure(&copy).expect(1)), "KPS.7030");
    set_mode(&copy, 0o644);
    configure(&copy).ok();
    // Debian's own module passes as installed.
    configure(&softhsm_module().unwrap()).ok();
    if give_away(&copy) {
        assert_eq!(error_code(&configure(&copy).expect(1)), "KPS.7030");
    }
}

#[test]
fn finding_2_a_config_file_others_could_write_is_refused() {
    if !have_tool("cc") {
        return;
    }
    let kps = Kps::new();
    let marker = kps.path("loaded");
    let evil = planted_module(&kps.path("evil"), &marker);
    let conf = write_kms_conf(&kps, &evil, TOKEN);
    let expect_refused = |what: &str| {
        let run = run_with_pin(&kps, &["--json", "kms", "list-keys"]).expect(7);
        assert_eq!(error_code(&run), "KPS.7027", "{what}: {}", run.stderr());
        let msg = run.error_json()["error_msg"].to_string();
        assert!(
            msg.contains("kms.conf") || msg.contains("kps"),
            "{what}: {msg}"
        );
        assert!(!marker.exists(), "{what}: the module it names was loaded");
    };
    set_mode(&conf, 0o666);
    expect_refused("config file 0666");
    set_mode(&conf, 0o620);
    expect_refused("config file 0620");
    set_mode(&conf, 0o600);
    if give_away(&conf) {
        expect_refused("config file owned by 65534");
    }
    std::os::unix::fs::chown(&conf, Some(rustix::process::geteuid().as_raw()), None).ok();
    // The directory holding it, writable by others.
    set_mode(conf.parent().unwrap(), 0o777);
    expect_refused("config directory 0777");
}

#[test]
fn finding_2_configure_writes_the_users_config_file_not_the_store() {
    if !have_softhsm() {
        return;
    }
    let kps = Kps::new();
    let hsm_conf = Hsm::new(&kps.path("hsm")).conf;
    let settings_before = store_settings(&kps);
    let module = softhsm_module().unwrap();
    let run = |args: &[&str]| {
        let pin_file = kps.path("pin");
        std::fs::write(&pin_file, format!("{PIN}\n")).unwrap();
        kps.run_with(args, |c| {
            c.env("SOFTHSM2_CONF", &hsm_conf)
                .env("KPS_PKCS11_PIN_FILE", &pin_file);
        })
    };
    run(&[
        "kms",
        "configure",
        "--module",
        module.to_str().unwrap(),
        "--token",
        TOKEN,
    ])
    .ok();
    let conf = kps.config_home().join("kps/kms.conf");
    assert_eq!(mode_of(&conf), 0o600);
    assert_eq!(mode_of(conf.parent().unwrap()), 0o700);
    let text = std::fs::read_to_string(&conf).unwrap();
    assert!(
        text.lines()
            .any(|l| l == format!("module = {}", module.display())),
        "{text}"
    );
    assert!(
        text.lines().any(|l| l == format!("token = {TOKEN}")),
        "{text}"
    );
    // Nothing module-related went into the store.
    assert_eq!(store_settings(&kps), settings_before);
    assert!(
        !store_settings(&kps)
            .iter()
            .any(|(k, _)| k.starts_with("kms.")),
        "{:?}",
        store_settings(&kps)
    );
    // The file alone is the configuration the other commands use.
    run(&["kms", "create-key", "kps/default"]).ok();
    run(&[
        "create",
        "k",
        "--encryption",
        "kms",
        "--kms-key-name",
        "kps/default",
    ])
    .ok();
    run(&["export", "k", "-o", "-"]).ok();
    assert!(
        !store_settings(&kps)
            .iter()
            .any(|(k, _)| k.starts_with("kms.")),
        "{:?}",
        store_settings(&kps)
    );
}

fn store_settings(kps: &Kps) -> Vec<(String, String)> {
    let conn = rusqlite::Connection::open(kps.db()).unwrap();
    let mut stmt = conn
        .prepare("SELECT key, value FROM settings ORDER BY key")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}
