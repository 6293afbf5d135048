//! A keypair's life after it is made: `rename` (the key sealed again under
//! its new name), `set` (comment, description, user id) and `restore` (a
//! backup put back, checked whole first). Each failure leaves the store
//! exactly as it was.

mod common;
use common::hsm::*;
use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Everything a failed command must leave as it was: the database and its
/// WAL byte for byte, what is in the store directory, and what kps lists.
#[derive(Debug, PartialEq)]
struct Snapshot {
    db: Vec<u8>,
    wal: Option<Vec<u8>>,
    entries: Vec<String>,
    listed: String,
}

fn snapshot(kps: &Kps) -> Snapshot {
    let wal = {
        let mut p = kps.db().into_os_string();
        p.push("-wal");
        std::fs::read(PathBuf::from(p)).ok()
    };
    let mut entries: Vec<String> = std::fs::read_dir(kps.db().parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.ends_with("-shm"))
        .collect();
    entries.sort();
    Snapshot {
        db: std::fs::read(kps.db()).unwrap(),
        wal,
        entries,
        listed: kps.run(&["--json", "list"]).ok().stdout(),
    }
}

/// The private key of `name` as an OpenSSH file.
fn private_key(kps: &Kps, name: &str) -> String {
    kps.run(&["export", name, "-o", "-"]).ok().stdout()
}

fn names(kps: &Kps) -> Vec<String> {
    kps.run(&["list", "--names"])
        .ok()
        .stdout()
        .lines()
        .map(str::to_string)
        .collect()
}

/// Refused with `exit` and `code`; the error message, for more checks.
fn refused(run: Run, exit: i32, code: &str) -> String {
    let run = run.expect(exit);
    let err = run.error_json();
    assert_eq!(err["error_code"], code, "{err}");
    assert!(run.stdout().is_empty(), "{}", run.stdout());
    err["error_msg"].as_str().unwrap().to_string()
}

fn sql(db: &Path, statement: &str) {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.execute_batch(statement).unwrap();
}

// ---------------------------------------------------------------- rename

#[test]
fn rename_keeps_the_key_and_its_fingerprints() {
    let kps = Kps::new();
    let made = kps.create("web01", &["-t", "ecdsa", "-C", "web@example"]);
    let before = private_key(&kps, "web01");
    let run = kps.run(&["--json", "rename", "web01", "web02"]).ok();
    let doc = run.json();
    assert_eq!(doc["renamed_from"], "web01");
    let k = &doc["keypair"];
    assert_eq!(k["name"], "web02");
    assert_eq!(k["integrity"], "verified");
    for field in [
        "fingerprint",
        "fingerprint_md5",
        "fingerprint_aws_created",
        "public_key",
    ] {
        assert_eq!(k[field], made["keypair"][field], "{field}");
    }
    assert_eq!(k["comment"], "web@example", "a rename keeps the comment");
    assert_eq!(private_key(&kps, "web02"), before, "the same private key");
    assert_eq!(names(&kps), ["web02"]);
    refused(kps.run(&["--json", "show", "web01"]), 3, "KPS.4016");
    // The re-sealed key opens under its new name and the row verifies.
    let v = kps.run(&["--json", "verify"]).ok().json();
    assert_eq!(v["private_keys_opened"], 1);
    // Human output names both.
    let out = kps.run(&["rename", "web02", "web03"]).ok().stdout();
    assert!(out.contains("Renamed keypair web02 to web03"), "{out}");
    assert!(
        kps.run(&["-q", "rename", "web03", "web04"])
            .ok()
            .stdout()
            .is_empty()
    );
}

#[test]
fn rename_refusals_change_nothing() {
    let kps = Kps::new();
    kps.create("a", &[]);
    kps.create("b", &[]);
    let before = snapshot(&kps);
    refused(kps.run(&["--json", "rename", "a", "b"]), 4, "KPS.7001");
    refused(kps.run(&["--json", "rename", "a", "a"]), 4, "KPS.7001");
    refused(kps.run(&["--json", "rename", "nope", "c"]), 3, "KPS.4016");
    for bad in ["", "a b", "a/b", "x\u{1b}[2J", &"x".repeat(65)] {
        refused(kps.run(&["--json", "rename", "a", bad]), 2, "KPS.0002");
    }
    // A default keypair's private key is sealed again: that needs the
    // passphrase, and without one nothing is written.
    let msg = refused(
        kps.run_with(&["--json", "rename", "a", "c"], |c| {
            c.env_remove("KPS_PASSPHRASE_FILE");
        }),
        6,
        "KPS.7003",
    );
    assert!(msg.contains("passphrase"), "{msg}");
    std::fs::write(kps.path("wrong"), "not it\n").unwrap();
    refused(
        kps.run(&[
            "--json",
            "--passphrase-file",
            kps.path("wrong").to_str().unwrap(),
            "rename",
            "a",
            "c",
        ]),
        6,
        "KPS.7002",
    );
    assert_eq!(snapshot(&kps), before);
}

#[test]
fn a_public_only_keypair_is_renamed_with_its_row_mac() {
    let kps = Kps::new();
    kps.create("src", &[]);
    let line = kps.run(&["show", "src", "--public"]).ok().stdout();
    std::fs::write(kps.path("k.pub"), &line).unwrap();
    kps.run(&["import", "bastion", "--public-key", "k.pub"])
        .ok();
    // No private key: no passphrase needed on a store pinned here.
    let doc = kps
        .run_with(&["--json", "rename", "bastion", "jump"], |c| {
            c.env_remove("KPS_PASSPHRASE_FILE");
        })
        .ok()
        .json();
    assert_eq!(doc["keypair"]["name"], "jump");
    assert_eq!(doc["keypair"]["is_key_protection"], false);
    let shown = kps.run(&["--json", "show", "jump"]).ok().json();
    assert_eq!(shown["keypair"]["integrity"], "verified");
    assert_eq!(shown["keypair"]["public_key"], line.trim_end());
    refused(kps.run(&["--json", "show", "bastion"]), 3, "KPS.4016");
}

#[test]
fn a_row_renamed_by_hand_is_refused() {
    let kps = Kps::new();
    kps.create("a", &[]);
    kps.create("b", &[]);
    // What someone who can write the file but has no passphrase does: the
    // name column changed, the MAC left as it was.
    sql(
        &kps.db(),
        "UPDATE keypairs SET name = 'renamed' WHERE name = 'a'",
    );
    let msg = refused(kps.run(&["--json", "show", "renamed"]), 7, "KPS.6011");
    assert!(msg.contains("MAC"), "{msg}");
    refused(
        kps.run(&["--json", "export", "renamed", "-o", "-"]),
        7,
        "KPS.6011",
    );
    // Swapping two rows' envelopes: each is bound to its own name.
    sql(
        &kps.db(),
        "UPDATE keypairs SET name = 'a' WHERE name = 'renamed';
         UPDATE keypairs SET private_key = (SELECT private_key FROM keypairs WHERE name = 'b')
         WHERE name = 'a'",
    );
    refused(
        kps.run(&["--json", "export", "a", "-o", "-"]),
        7,
        "KPS.6011",
    );
    // kps's own rename of the untouched row still works.
    kps.run(&["rename", "b", "c"]).ok();
    assert!(private_key(&kps, "c").contains("OPENSSH PRIVATE KEY"));
}

#[test]
fn a_kms_keypair_is_renamed_with_the_pin_only() {
    if !have_softhsm() {
        return;
    }
    let kps = Kps::new();
    let hsm = Hsm::new(&kps.path("hsm"));
    let pin_file = kps.path("pin");
    std::fs::write(&pin_file, format!("{PIN}\n")).unwrap();
    let with_pin = |args: &[&str]| {
        kps.run_with(args, |c| {
            c.env("SOFTHSM2_CONF", &hsm.conf)
                .env("KPS_PKCS11_PIN_FILE", &pin_file)
                .env_remove("KPS_PASSPHRASE_FILE");
        })
    };
    let module = softhsm_module().unwrap();
    with_pin(&[
        "kms",
        "configure",
        "--module",
        module.to_str().unwrap(),
        "--token",
        TOKEN,
    ])
    .ok();
    with_pin(&["kms", "create-key", "kps/default"]).ok();
    with_pin(&[
        "create",
        "db01",
        "--encryption",
        "kms",
        "--kms-key-name",
        "kps/default",
    ])
    .ok();
    let before = with_pin(&["export", "db01", "-o", "-"]).ok().stdout();
    // Without the PIN (and no terminal) nothing changes.
    let snap = snapshot(&kps);
    refused(
        kps.run_with(&["--json", "rename", "db01", "db02"], |c| {
            c.env("SOFTHSM2_CONF", &hsm.conf);
        }),
        6,
        "KPS.7003",
    );
    assert_eq!(snapshot(&kps), snap);
    let doc = with_pin(&["--json", "rename", "db01", "db02"]).ok().json();
    let encryption = &doc["keypair"]["key_protection"]["encryption"];
    assert_eq!(encryption["type"], "kms");
    assert_eq!(encryption["kms_key_name"], "kps/default");
    assert_eq!(
        with_pin(&["export", "db02", "-o", "-"]).ok().stdout(),
        before
    );
    assert_eq!(names(&kps), ["db02"]);
}

// ---------------------------------------------------------------- set

#[test]
fn set_changes_what_every_output_carries() {
    let kps = Kps::new();
    kps.create(
        "web",
        &[
            "-C",
            "old@example",
            "--description",
            "old",
            "--user-id",
            "bob",
        ],
    );
    let key_before = kps.run(&["--json", "show", "web"]).ok().json();
    let doc = kps
        .run(&[
            "--json",
            "set",
            "web",
            "-C",
            "new@example",
            "--description",
            "web tier",
            "--user-id",
            "alice",
        ])
        .ok()
        .json();
    let k = &doc["keypair"];
    assert_eq!(k["comment"], "new@example");
    assert_eq!(k["description"], "web tier");
    assert_eq!(k["user_id"], "alice");
    assert_eq!(k["integrity"], "verified");
    assert_eq!(k["fingerprint"], key_before["keypair"]["fingerprint"]);
    let line = kps.run(&["show", "web", "--public"]).ok().stdout();
    assert!(line.trim_end().ends_with(" new@example"), "{line}");
    assert_eq!(
        key_fields(&line),
        key_fields(key_before["keypair"]["public_key"].as_str().unwrap())
    );
    assert_eq!(
        kps.run(&["export", "web", "--format", "public"])
            .ok()
            .stdout(),
        line
    );
    let shown = kps.run(&["show", "web"]).ok().stdout();
    for want in ["new@example", "web tier", "alice"] {
        assert!(shown.contains(want), "{shown}");
    }
    // The private key file and the .ppk carry the new comment.
    let ppk = kps.run(&["export-ppk", "web", "-o", "-"]).ok().stdout();
    assert!(ppk.contains("\nComment: new@example\n"), "{ppk}");
    kps.run(&["export", "web", "-o", "web.key"]).ok();
    kps.run(&["import", "again", "--private-key", "web.key"])
        .ok();
    let again = kps.run(&["--json", "show", "again"]).ok().json();
    assert_eq!(again["keypair"]["comment"], "new@example");
    if have_tool("ssh-keygen") {
        let derived = tool_ok("ssh-keygen", &[&"-y", &"-f", &kps.path("web.key")]);
        assert_eq!(derived.trim_end(), line.trim_end());
    }
    // Empty clears the description and user id; an empty comment leaves
    // the line with the key alone.
    let doc = kps
        .run(&[
            "--json",
            "set",
            "web",
            "--description",
            "",
            "--user-id",
            "",
            "-C",
            "",
        ])
        .ok()
        .json();
    assert_eq!(doc["keypair"]["description"], Value::Null);
    assert_eq!(doc["keypair"]["user_id"], Value::Null);
    assert_eq!(doc["keypair"]["comment"], "");
    let line = kps.run(&["show", "web", "--public"]).ok().stdout();
    assert_eq!(line.trim_end(), key_fields(&line), "{line:?}");
    // Only what is given changes.
    kps.run(&["set", "web", "--description", "only this"]).ok();
    let k = kps.run(&["--json", "show", "web"]).ok().json();
    assert_eq!(k["keypair"]["description"], "only this");
    assert_eq!(k["keypair"]["user_id"], Value::Null);
    // Every row still verifies and the key still opens.
    kps.run(&["verify"]).ok();
}

#[test]
fn set_refusals_change_nothing() {
    let kps = Kps::new();
    kps.create("k", &[]);
    let before = snapshot(&kps);
    refused(kps.run(&["--json", "set", "k"]), 2, "KPS.0002");
    for (flag, value) in [
        ("-C", "evil\nssh-ed25519 AAAA attacker"),
        ("--description", "\u{1b}]52;c;aGk=\u{7}"),
        ("--user-id", "a\u{202e}b"),
        ("--comment", "tab\there"),
    ] {
        let msg = refused(kps.run(&["--json", "set", "k", flag, value]), 2, "KPS.0002");
        assert!(msg.contains("holds"), "{msg}");
    }
    refused(
        kps.run(&["--json", "set", "nope", "-C", "x"]),
        3,
        "KPS.4016",
    );
    assert_eq!(snapshot(&kps), before);
    // The human error shows the attempt escaped, never raw.
    let run = kps
        .run(&["set", "k", "--description", "x\u{1b}[2Jy"])
        .expect(2);
    assert!(!run.stderr().contains('\u{1b}'), "{}", run.stderr());
}

#[test]
fn a_description_set_by_hand_is_refused() {
    let kps = Kps::new();
    kps.create("k", &[]);
    kps.run(&["set", "k", "--description", "mine"]).ok();
    sql(
        &kps.db(),
        "UPDATE keypairs SET description = 'theirs' WHERE name = 'k'",
    );
    refused(kps.run(&["--json", "show", "k"]), 7, "KPS.6011");
}

#[test]
fn set_on_a_store_not_pinned_here_unlocks_it_once() {
    let kps = Kps::new();
    kps.create("k", &[]);
    std::fs::remove_dir_all(kps.config_home().join("kps").join("stores")).unwrap();
    let before = snapshot(&kps);
    refused(
        kps.run_with(&["--json", "set", "k", "-C", "x"], |c| {
            c.env_remove("KPS_PASSPHRASE_FILE");
        }),
        6,
        "KPS.7003",
    );
    assert_eq!(snapshot(&kps), before);
    kps.run(&["set", "k", "-C", "x"]).ok();
    let k = kps.run(&["--json", "show", "k"]).ok().json();
    assert_eq!(k["keypair"]["integrity"], "verified");
    assert_eq!(k["keypair"]["comment"], "x");
}

// ---------------------------------------------------------------- restore

#[test]
fn restore_brings_back_a_deleted_keypair() {
    let kps = Kps::new();
    kps.create("a", &[]);
    kps.create("b", &["-t", "ecdsa", "-b", "384"]);
    let b_key = private_key(&kps, "b");
    kps.run(&["backup", "bk.db"]).ok();
    kps.run(&["delete", "b", "--yes"]).ok();
    let doc = kps.run(&["--json", "restore", "bk.db"]).ok().json();
    assert_eq!(doc["keypairs"], 2);
    assert_eq!(doc["private_keys_opened"], 2);
    assert_eq!(doc["removed"], serde_json::json!([]));
    assert_eq!(doc["restored_from"], "bk.db");
    assert_eq!(names(&kps), ["a", "b"]);
    assert_eq!(private_key(&kps, "b"), b_key);
    // Pinned: a write needs no passphrase, and every row verifies.
    kps.run_with(&["create", "c"], |c| {
        c.env_remove("KPS_PASSPHRASE_FILE");
    })
    .ok();
    let shown = kps.run(&["--json", "show", "b"]).ok().json();
    assert_eq!(shown["keypair"]["integrity"], "verified");
    kps.run(&["verify"]).ok();
    // The backup file itself is left as it was, and nothing is left beside
    // the store.
    let entries: Vec<String> = std::fs::read_dir(&kps.store)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with("kps.db"))
        .collect();
    assert!(entries.is_empty(), "{entries:?}");
    assert_eq!(mode_of(&kps.db()), 0o600);
}

#[test]
fn restore_refuses_to_lose_keypairs_unless_forced() {
    let kps = Kps::new();
    kps.create("a", &[]);
    kps.create("keep", &[]);
    kps.run(&["backup", "bk.db"]).ok();
    kps.create("new1", &[]);
    kps.create("new2", &[]);
    // The same name, another key: the one in the store would be lost too.
    kps.run(&["delete", "keep", "--yes"]).ok();
    kps.create("keep", &[]);
    let keep_now = private_key(&kps, "keep");
    let before = snapshot(&kps);
    let msg = refused(kps.run(&["--json", "restore", "bk.db"]), 1, "KPS.7035");
    assert!(
        msg.contains("3 keypair(s)") && msg.contains("keep, new1, new2"),
        "{msg}"
    );
    let run = kps.run(&["restore", "bk.db"]).expect(1);
    assert!(run.stderr().contains("--force"), "{}", run.stderr());
    assert_eq!(snapshot(&kps), before);
    assert_eq!(private_key(&kps, "keep"), keep_now);

    let doc = kps
        .run(&["--json", "restore", "bk.db", "--force"])
        .ok()
        .json();
    assert_eq!(doc["removed"], serde_json::json!(["keep", "new1", "new2"]));
    assert_eq!(names(&kps), ["a", "keep"]);
    assert_ne!(private_key(&kps, "keep"), keep_now);
    let out = kps.run(&["restore", "bk.db", "--force"]).ok().stdout();
    assert!(out.contains("Restored the store"), "{out}");
}

#[test]
fn restore_with_the_wrong_passphrase_changes_nothing() {
    let kps = Kps::new();
    kps.create("a", &[]);
    kps.run(&["backup", "bk.db"]).ok();
    kps.run(&["delete", "a", "--yes"]).ok();
    kps.create("b", &[]);
    let pins = std::fs::read_dir(kps.config_home().join("kps/stores"))
        .unwrap()
        .count();
    let before = snapshot(&kps);
    std::fs::write(kps.path("wrong"), "not it\n").unwrap();
    let wrong = kps.path("wrong");
    for force in [false, true] {
        let mut args = vec![
            "--json",
            "--passphrase-file",
            wrong.to_str().unwrap(),
            "restore",
            "bk.db",
        ];
        if force {
            args.push("--force");
        }
        refused(kps.run(&args), 6, "KPS.7002");
        refused(
            kps.run_with(&["--json", "restore", "bk.db", "--force"], |c| {
                c.env_remove("KPS_PASSPHRASE_FILE");
            }),
            6,
            "KPS.7003",
        );
    }
    assert_eq!(snapshot(&kps), before);
    let pins_after = std::fs::read_dir(kps.config_home().join("kps/stores"))
        .unwrap()
        .count();
    assert_eq!(pins_after, pins, "no pin for the backup's private copy");
}

#[test]
fn restore_refuses_what_is_not_a_checked_kps_store() {
    let kps = Kps::new();
    kps.create("a", &[]);
    kps.run(&["backup", "good.db"]).ok();
    let before = snapshot(&kps);
    let bad = |file: &str, exit: i32, code: &str| {
        let msg = refused(kps.run(&["--json", "restore", file, "--force"]), exit, code);
        assert_eq!(snapshot(&kps), before, "{file}");
        msg
    };
    std::fs::write(kps.path("text.db"), "hello, not a store\n").unwrap();
    let msg = bad("text.db", 7, "KPS.7004");
    assert!(msg.contains("not an SQLite database"), "{msg}");
    std::fs::write(kps.path("empty.db"), "").unwrap();
    let msg = bad("empty.db", 7, "KPS.7004");
    assert!(msg.contains("no store identity"), "{msg}");
    // Another SQLite database.
    sql(
        &kps.path("other.db"),
        "CREATE TABLE t (x); INSERT INTO t VALUES (1);",
    );
    bad("other.db", 7, "KPS.7004");
    bad("missing.db", 1, "KPS.7017");
    std::os::unix::fs::symlink(kps.path("good.db"), kps.path("link.db")).unwrap();
    let msg = bad("link.db", 1, "KPS.7017");
    assert!(msg.contains("symbolic link"), "{msg}");
    std::fs::create_dir(kps.path("dir.db")).unwrap();
    bad("dir.db", 1, "KPS.7017");
    // A row edited in the backup (its MAC no longer verifies).
    std::fs::copy(kps.path("good.db"), kps.path("edited.db")).unwrap();
    sql(
        &kps.path("edited.db"),
        "UPDATE keypairs SET description = 'theirs'",
    );
    let msg = bad("edited.db", 7, "KPS.7004");
    assert!(msg.contains("failed verification"), "{msg}");
    // A planted trigger.
    std::fs::copy(kps.path("good.db"), kps.path("trigger.db")).unwrap();
    sql(
        &kps.path("trigger.db"),
        "CREATE TRIGGER t AFTER INSERT ON keypairs BEGIN DELETE FROM keypairs; END;",
    );
    let msg = bad("trigger.db", 7, "KPS.7004");
    assert!(msg.contains("trigger"), "{msg}");
    // A store in use, its latest changes in the WAL beside it.
    let live = Kps::new();
    live.create("x", &[]);
    let msg = bad(live.db().to_str().unwrap(), 7, "KPS.7004");
    assert!(msg.contains("kps.db-wal"), "{msg}");
    // The good one still restores.
    kps.run(&["restore", "good.db"]).ok();
}

#[test]
fn restore_replaces_a_stale_wal_which_copying_by_hand_replays() {
    let kps = Kps::new();
    kps.create("a", &[]);
    kps.run(&["backup", "bk.db"]).ok();
    kps.create("b", &[]);
    kps.create("c", &[]);
    let mut wal = kps.db().into_os_string();
    wal.push("-wal");
    let wal = PathBuf::from(wal);
    assert!(
        std::fs::metadata(&wal).unwrap().len() > 0,
        "b and c are in the WAL"
    );

    // What the README warns against, on a copy of the store: the backup
    // copied over kps.db with the old kps.db-wal beside it.
    let dir = tempfile::tempdir().unwrap();
    let by_hand = Kps {
        store: dir.path().join("store"),
        dir,
        pass_file: kps.pass_file.clone(),
    };
    std::fs::create_dir(&by_hand.store).unwrap();
    std::fs::set_permissions(
        &by_hand.store,
        std::os::unix::fs::PermissionsExt::from_mode(0o700),
    )
    .unwrap();
    for f in ["kps.db", "kps.db-wal"] {
        std::fs::copy(kps.store.join(f), by_hand.store.join(f)).unwrap();
    }
    std::fs::copy(kps.path("bk.db"), by_hand.store.join("kps.db")).unwrap();
    let run = by_hand.run(&["list", "--names"]);
    assert!(
        run.code() != 0 || run.stdout() != "a\n",
        "copying by hand gave the backup's content: {}",
        run.stdout()
    );

    kps.run(&["restore", "bk.db", "--force"]).ok();
    assert_eq!(names(&kps), ["a"]);
    // Again, from a fresh process: the old WAL frames are gone for good.
    assert_eq!(names(&kps), ["a"]);
    kps.run(&["verify"]).ok();
    refused(kps.run(&["--json", "show", "b"]), 3, "KPS.4016");
}

#[test]
fn restore_makes_a_missing_store_and_a_failed_one_leaves_none() {
    let kps = Kps::new();
    kps.create("a", &[]);
    kps.run(&["backup", "bk.db"]).ok();
    let fresh = Kps::empty();
    let bk = kps.path("bk.db");
    std::fs::write(fresh.path("wrong"), "not it\n").unwrap();
    refused(
        fresh.run(&[
            "--json",
            "--passphrase-file",
            fresh.path("wrong").to_str().unwrap(),
            "restore",
            bk.to_str().unwrap(),
        ]),
        6,
        "KPS.7002",
    );
    assert!(!fresh.store.exists(), "a failed restore left a store");
    refused(
        fresh.run(&["--json", "restore", "nothing-here.db"]),
        1,
        "KPS.7017",
    );
    assert!(!fresh.store.exists());

    let run = fresh.run(&["restore", bk.to_str().unwrap()]).ok();
    assert!(
        run.stderr().contains("created a new store"),
        "{}",
        run.stderr()
    );
    assert_eq!(mode_of(&fresh.store), 0o700);
    assert_eq!(mode_of(&fresh.db()), 0o600);
    assert_eq!(names(&fresh), ["a"]);
    assert_eq!(private_key(&fresh, "a"), private_key(&kps, "a"));
}

#[test]
fn restore_takes_the_backups_passphrase_and_pins_its_identity() {
    // Two stores with different passphrases: restoring one's backup over
    // the other makes the backup's identity the one pinned here.
    let theirs = Kps::new();
    theirs.create("t", &[]);
    theirs.run(&["backup", "bk.db"]).ok();
    let mine = Kps::empty();
    std::fs::write(&mine.pass_file, "another passphrase entirely\n").unwrap();
    let mut args = vec!["init"];
    args.extend(CHEAP_KDF);
    mine.run(&args).ok();
    mine.create("m", &[]);
    let bk = theirs.path("bk.db");
    refused(
        mine.run(&["--json", "restore", bk.to_str().unwrap(), "--force"]),
        6,
        "KPS.7002",
    );
    mine.run(&[
        "--passphrase-file",
        theirs.pass_file.to_str().unwrap(),
        "restore",
        bk.to_str().unwrap(),
        "--force",
    ])
    .ok();
    // Writes seal to the backup's identity without asking; reads need the
    // backup's passphrase.
    mine.run_with(&["create", "n"], |c| {
        c.env_remove("KPS_PASSPHRASE_FILE");
    })
    .ok();
    refused(
        mine.run(&["--json", "export", "n", "-o", "-"]),
        6,
        "KPS.7002",
    );
    let opened = mine
        .run(&[
            "--passphrase-file",
            theirs.pass_file.to_str().unwrap(),
            "export",
            "t",
            "-o",
            "-",
        ])
        .ok()
        .stdout();
    assert_eq!(opened, private_key(&theirs, "t"));
}

#[test]
fn restore_takes_a_backup_an_older_kps_wrote() {
    // Schema version 3, no row MACs, identity wrapped the old way: the
    // private copy is migrated and its rows endorsed by the unlock, and the
    // file given is left as it was.
    let mut old = Kps::empty();
    old.use_legacy_store();
    let original = std::fs::read(&old.store).unwrap();
    let kps = Kps::empty();
    let doc = kps
        .run(&["--json", "restore", old.store.to_str().unwrap()])
        .ok()
        .json();
    assert_eq!(doc["keypairs"], 3);
    assert_eq!(doc["private_keys_opened"], 2);
    assert_eq!(names(&kps), ["e", "k", "pub"]);
    let shown = kps.run(&["--json", "show", "e"]).ok().json();
    assert_eq!(shown["keypair"]["integrity"], "verified");
    assert_eq!(std::fs::read(&old.store).unwrap(), original);
    kps.run(&["verify"]).ok();
}

#[test]
fn readers_during_a_restore_see_the_old_store_or_the_new_one() {
    let kps = Kps::new();
    for name in ["a", "b"] {
        kps.create(name, &[]);
    }
    kps.run(&["backup", "bk.db"]).ok();
    for name in ["c", "d", "e"] {
        kps.create(name, &[]);
    }
    let old = "a\nb\nc\nd\ne\n";
    let restored = "a\nb\n";
    std::thread::scope(|s| {
        let reader = s.spawn(|| {
            let mut seen = Vec::new();
            for _ in 0..40 {
                seen.push(kps.run(&["list", "--names"]).ok().stdout());
            }
            seen
        });
        kps.run(&["restore", "bk.db", "--force"]).ok();
        for listed in reader.join().unwrap() {
            assert!(listed == old || listed == restored, "{listed:?}");
        }
    });
    assert_eq!(names(&kps), ["a", "b"]);
}
