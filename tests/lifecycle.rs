//! The store's life: which commands may make one, what a first use says,
//! what a failed first use leaves behind, and a store kps cannot write to.

mod common;
use common::*;

/// Every command that only uses a store, with arguments that get it as far
/// as opening one.
const USERS: &[&[&str]] = &[
    &["list"],
    &["show", "k"],
    &["find", "SHA256:ggnom8k0/fBMRKqjSlH4wotS2F4KKSHfzbZUvMxVso0"],
    &["export", "k", "-o", "-"],
    &["export-ppk", "k", "-o", "-"],
    &["get-win-password", "k", "--password-data", "Zm9v"],
    &["set-encryption", "k", "--encryption", "default"],
    &["delete", "k", "--yes"],
    &["passwd"],
    &["verify"],
    &["backup", "copy.db"],
    &["rename", "k", "k2"],
    &["set", "k", "--comment", "c"],
];

#[test]
fn a_missing_store_is_an_error_and_is_not_made() {
    let kps = Kps::empty();
    for args in USERS {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let run = kps.run(&all).expect(7);
        let err = run.error_json();
        assert_eq!(err["error_code"], "KPS.7032", "{args:?}: {err}");
        assert!(
            err["error_msg"]
                .as_str()
                .unwrap()
                .contains(&format!("no store at {}", kps.store.display())),
            "{args:?}: {err}"
        );
        assert!(run.stdout().is_empty(), "{args:?}: {}", run.stdout());
        assert!(!kps.store.exists(), "{args:?} made the store");
    }
    let run = kps.run(&["list"]).expect(7);
    assert!(
        run.stderr()
            .contains("hint: check --store and KPS_STORE; 'kps init'")
    );
}

#[test]
fn a_mistyped_kps_store_is_an_error_too() {
    let kps = Kps::new();
    kps.create("k", &[]);
    let typo = kps.path("kps-typo.db");
    // KPS_STORE, not --store: the harness's --store is overridden by a
    // second one, so run the binary without it.
    let out = std::process::Command::new(bin())
        .args(["--json", "list"])
        .env("KPS_STORE", &typo)
        .env("XDG_CONFIG_HOME", kps.config_home())
        .env_remove("KPS_PASSPHRASE_FILE")
        .env_remove("KPS_PASSPHRASE")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(7));
    let err: serde_json::Value = serde_json::from_slice(&out.stderr).unwrap();
    assert_eq!(err["error_code"], "KPS.7032", "{err}");
    assert!(!typo.exists());
    // A directory that exists but holds no store is not one either.
    std::fs::create_dir(&typo).unwrap();
    kps.run_with(&["list"], |c| {
        c.arg("--store").arg(&typo);
    })
    .expect(7);
    assert!(!typo.join("kps.db").exists());
}

#[test]
fn a_failed_first_create_or_import_leaves_no_store_behind() {
    let kps = Kps::empty();
    let no_passphrase = |c: &mut std::process::Command| {
        c.env_remove("KPS_PASSPHRASE_FILE");
    };
    kps.run_with(&["create", "k"], no_passphrase).expect(6);
    assert!(!kps.store.exists(), "a failed first create left a store");

    let key = kps.path("id");
    let made = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&key)
        .status();
    if made.map(|s| s.success()).unwrap_or(false) {
        kps.run_with(&["import", "--private-key", "id", "k"], no_passphrase)
            .expect(6);
        assert!(!kps.store.exists(), "a failed first import left a store");
    } else {
        assert!(!have_tool("ssh-keygen"), "ssh-keygen failed");
    }

    // A directory made beforehand stays; only the database goes.
    std::fs::create_dir(&kps.store).unwrap();
    kps.run_with(&["create", "k"], no_passphrase).expect(6);
    let left: Vec<_> = std::fs::read_dir(&kps.store).unwrap().collect();
    assert!(left.is_empty(), "{left:?}");

    // And the next command still finds no store.
    kps.run(&["list"]).expect(7);
    // A failed `create` on a store that exists leaves it alone.
    let kps = Kps::new();
    kps.run_with(&["create", "k"], |c| {
        c.arg("--kdf-memory").arg("1");
    })
    .expect(2);
    kps.run(&["list"]).ok();
}

#[test]
fn a_first_create_says_it_made_the_store_and_the_passphrase_cannot_be_recovered() {
    let kps = Kps::empty();
    let mut args = vec!["--json", "-q", "create", "k"];
    args.extend(CHEAP_KDF);
    let run = kps.run(&args).ok();
    // stdout stays one JSON document; the note is on stderr, even with -q.
    assert_eq!(run.json()["keypair"]["name"], "k");
    let err = run.stderr();
    let store = kps.store.display().to_string();
    assert!(
        err.contains(&format!("note: created a new store at {store}")),
        "{err}"
    );
    assert!(err.contains("cannot be recovered"), "{err}");

    // Said once.
    let run = kps.run(&["create", "k2"]).ok();
    assert!(!run.stderr().contains("note:"), "{}", run.stderr());
}

#[test]
fn a_public_only_first_import_makes_the_store_without_a_passphrase_note() {
    if !have_tool("ssh-keygen") {
        return;
    }
    let kps = Kps::empty();
    let key = kps.path("id");
    assert!(
        std::process::Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-f"])
            .arg(&key)
            .status()
            .unwrap()
            .success()
    );
    let run = kps.run(&["import", "--public-key", "id.pub", "p"]).ok();
    let err = run.stderr();
    assert!(err.contains("note: created a new store at"), "{err}");
    assert!(!err.contains("cannot be recovered"), "{err}");
    // The first keypair with a private key sets the passphrase: said then.
    let mut args = vec!["create", "k"];
    args.extend(CHEAP_KDF);
    let err = kps.run(&args).ok().stderr();
    assert!(!err.contains("created a new store"), "{err}");
    assert!(err.contains("cannot be recovered"), "{err}");
}

/// Run kps with the store directory bind-mounted read-only in a mount
/// namespace of its own, or None where this system does not allow that.
fn run_read_only(kps: &Kps, args: &[&str]) -> Option<Run> {
    if !have_tool("unshare") || !have_tool("mount") {
        return None;
    }
    let probe = std::process::Command::new("unshare")
        .args(["-m", "true"])
        .output()
        .ok()?;
    if !probe.status.success() {
        eprintln!("SKIP: unshare -m is not allowed here");
        return None;
    }
    let store = kps.store.to_str().unwrap();
    // As Kps::command sets kps up, with unshare in front.
    let mut cmd = std::process::Command::new("unshare");
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("KPS_") {
            cmd.env_remove(&k);
        }
    }
    let output = cmd
        .args([
            "-m",
            "sh",
            "-c",
            r#"mount --bind -o ro "$0" "$0" && exec "$@""#,
        ])
        .arg(store)
        .arg(bin())
        .arg("--store")
        .arg(store)
        .args(args)
        .env("KPS_PASSPHRASE_FILE", &kps.pass_file)
        .env("XDG_CONFIG_HOME", kps.config_home())
        .current_dir(kps.dir.path())
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    Some(Run { output })
}

#[test]
fn a_read_only_store_is_said_to_be_read_only() {
    let kps = Kps::new();
    kps.create("k", &[]);
    let Some(run) = run_read_only(&kps, &["--json", "create", "k2"]) else {
        return;
    };
    let err = run.error_json();
    assert_eq!(run.code(), 7, "{err}");
    assert_eq!(err["error_code"], "KPS.7033", "{err}");
    let msg = err["error_msg"].as_str().unwrap();
    assert!(msg.contains("is read-only"), "{msg}");
    assert!(!msg.contains("corrupt"), "{msg}");
    let run = run_read_only(&kps, &["create", "k2"]).unwrap();
    assert!(run.stderr().contains("hint: "), "{}", run.stderr());
}
