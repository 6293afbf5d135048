//! The store under pressure: passphrases right and wrong, no passphrase and no
//! terminal, tampered rows, and many processes writing at once.

mod common;
use common::*;
use std::time::{Duration, Instant};

fn export_stdout(kps: &Kps, name: &str) -> Run {
    kps.run(&["--json", "export", name, "-o", "-"])
}

/// Everything a user can see of the store, to compare before and after.
fn snapshot(kps: &Kps) -> serde_json::Value {
    kps.run(&["--json", "list"]).ok().json()
}

#[test]
fn create_list_show_delete_need_no_passphrase() {
    let kps = Kps::new();
    let no_pass = |args: &[&str]| {
        kps.run_with(args, |c| {
            c.env_remove("KPS_PASSPHRASE_FILE");
        })
    };
    no_pass(&["create", "k"]).ok();
    no_pass(&["list"]).ok();
    no_pass(&["show", "k"]).ok();
    no_pass(&["export", "k", "--format", "public"]).ok();
    // Reading the private key does need it, and fails at once without a terminal.
    let run = no_pass(&["--json", "export", "k", "-o", "-"]).expect(6);
    assert_eq!(run.error_json()["error_code"], "KPS.7003");
    no_pass(&["delete", "k", "--yes"]).ok();
}

#[test]
fn wrong_passphrase_exits_6_and_changes_nothing() {
    let kps = Kps::new();
    kps.create("k", &[]);
    let before = snapshot(&kps);
    let db_before = std::fs::read(kps.db()).unwrap();
    let wrong = kps.path("wrong");
    std::fs::write(&wrong, "not it\n").unwrap();
    for args in [
        &["--json", "export", "k", "-o", "-"][..],
        &["--json", "passwd", "--new-passphrase-file", "/dev/null"],
    ] {
        let run = kps.run_with(args, |c| {
            c.env("KPS_PASSPHRASE_FILE", &wrong);
        });
        let run = run.expect(6);
        assert_eq!(run.error_json()["error_code"], "KPS.7002");
        assert!(run.stdout().is_empty());
    }
    assert_eq!(snapshot(&kps), before);
    assert_eq!(std::fs::read(kps.db()).unwrap(), db_before);
    export_stdout(&kps, "k").ok();
}

#[test]
fn passphrase_sources_in_order() {
    let kps = Kps::new();
    kps.create("k", &[]);
    let wrong = kps.path("wrong");
    std::fs::write(&wrong, "nope").unwrap();
    // --passphrase-file beats KPS_PASSPHRASE_FILE beats KPS_PASSPHRASE.
    let run = kps.run_with(
        &[
            "export",
            "k",
            "-o",
            "-",
            "--passphrase-file",
            kps.pass_file.to_str().unwrap(),
        ],
        |c| {
            c.env("KPS_PASSPHRASE_FILE", &wrong)
                .env("KPS_PASSPHRASE", "nope");
        },
    );
    run.ok();
    let run = kps.run_with(&["export", "k", "-o", "-"], |c| {
        c.env("KPS_PASSPHRASE", "nope");
    });
    run.ok();
    kps.run_with(&["export", "k", "-o", "-"], |c| {
        c.env_remove("KPS_PASSPHRASE_FILE")
            .env("KPS_PASSPHRASE", PASSPHRASE);
    })
    .ok();
    kps.run_with(&["export", "k", "-o", "-"], |c| {
        c.env_remove("KPS_PASSPHRASE_FILE")
            .env("KPS_PASSPHRASE", "nope");
    })
    .expect(6);
    // CRLF in a passphrase file is a line ending, not part of the passphrase.
    let crlf = kps.path("crlf");
    std::fs::write(&crlf, format!("{PASSPHRASE}\r\n")).unwrap();
    kps.run_with(&["export", "k", "-o", "-"], |c| {
        c.env("KPS_PASSPHRASE_FILE", &crlf);
    })
    .ok();
}

#[test]
fn no_source_and_no_terminal_fails_fast_even_on_a_new_store() {
    let kps = Kps::empty();
    let start = Instant::now();
    let mut child = kps
        .command()
        .env_remove("KPS_PASSPHRASE_FILE")
        .args(["--json", "create", "k"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Generous bound: the point is that it does not wait for input forever.
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > Duration::from_secs(60) {
            child.kill().unwrap();
            panic!("kps waited for a passphrase with no terminal");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let out = child.wait_with_output().unwrap();
    assert_eq!(status.code(), Some(6));
    let err: serde_json::Value = serde_json::from_slice(&out.stderr).unwrap();
    assert_eq!(err["error_code"], "KPS.7003");
}

#[test]
fn empty_passphrase_is_refused_when_setting_one() {
    let kps = Kps::empty();
    let empty = kps.path("empty");
    std::fs::write(&empty, "\n").unwrap();
    let run = kps.run_with(&["init"], |c| {
        c.env("KPS_PASSPHRASE_FILE", &empty);
    });
    run.expect(2);
    kps.run(&["init", "--kdf-memory", "19456", "--kdf-passes", "2"])
        .ok();
    kps.run(&["init"]).expect(1);
}

#[test]
fn passwd_rewraps_and_only_the_new_passphrase_opens() {
    let kps = Kps::new();
    kps.create("a", &["-t", "ecdsa"]);
    kps.create("b", &[]);
    let a_before = export_stdout(&kps, "a").ok().json();
    let new = kps.path("new");
    std::fs::write(&new, "a new passphrase\n").unwrap();
    kps.run(&["passwd", "--new-passphrase-file", new.to_str().unwrap()])
        .ok();
    export_stdout(&kps, "a").expect(6);
    let a_after = kps
        .run_with(&["--json", "export", "a", "-o", "-"], |c| {
            c.env("KPS_PASSPHRASE_FILE", &new);
        })
        .ok()
        .json();
    assert_eq!(a_before, a_after);
    // passwd without a new source and no terminal fails fast, changing nothing.
    kps.run_with(&["passwd"], |c| {
        c.env("KPS_PASSPHRASE_FILE", &new);
    })
    .expect(6);
}

/// Open the store's database directly, as an attacker with the file would.
fn db(kps: &Kps) -> rusqlite::Connection {
    rusqlite::Connection::open(kps.db()).unwrap()
}

fn assert_integrity_failure(kps: &Kps, name: &str) {
    let run = export_stdout(kps, name).expect(7);
    assert_eq!(run.error_json()["error_code"], "KPS.6011", "{name}");
    assert!(run.stdout().is_empty(), "no key may be printed");
}

#[test]
fn tampered_rows_give_errors_never_wrong_keys() {
    let kps = Kps::new();
    for name in ["a", "b", "c", "d"] {
        kps.create(name, &[]);
    }
    kps.create("r", &["-t", "rsa", "-b", "2048"]);
    let conn = db(&kps);
    // A flipped byte in a's sealed key.
    let mut blob: Vec<u8> = conn
        .query_row("SELECT private_key FROM keypairs WHERE name='a'", [], |r| {
            r.get(0)
        })
        .unwrap();
    let last = blob.len() - 20;
    blob[last] ^= 0x01;
    conn.execute("UPDATE keypairs SET private_key=?1 WHERE name='a'", [&blob])
        .unwrap();
    // b and c swap their sealed keys.
    conn.execute_batch(
        "UPDATE keypairs SET private_key = (SELECT private_key FROM keypairs WHERE name='c')
           WHERE name='b';
         UPDATE keypairs SET private_key = (SELECT private_key FROM keypairs WHERE name='a')
           WHERE name='c';",
    )
    .unwrap();
    // d's public key is replaced by r's (a valid key, just not d's).
    conn.execute(
        "UPDATE keypairs SET public_key = (SELECT public_key FROM keypairs WHERE name='r')
           WHERE name='d'",
        [],
    )
    .unwrap();
    drop(conn);
    for name in ["a", "b", "c", "d"] {
        assert_integrity_failure(&kps, name);
    }
    // The untouched keypair still exports.
    export_stdout(&kps, "r").ok();
}

#[test]
fn a_flipped_character_in_a_stored_public_key_is_caught() {
    let kps = Kps::new();
    kps.create("a", &[]);
    let conn = db(&kps);
    let line: String = conn
        .query_row("SELECT public_key FROM keypairs WHERE name='a'", [], |r| {
            r.get(0)
        })
        .unwrap();
    // Change one base64 character inside the key itself (past the algorithm name).
    let mut bytes = line.into_bytes();
    let at = 60;
    bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(bytes).unwrap();
    conn.execute(
        "UPDATE keypairs SET public_key=?1 WHERE name='a'",
        [&flipped],
    )
    .unwrap();
    drop(conn);
    let run = export_stdout(&kps, "a").expect(7);
    let code = run.error_json()["error_code"].as_str().unwrap().to_string();
    assert!(code == "KPS.6011" || code == "KPS.7004", "{code}");
    assert!(run.stdout().is_empty());
}

#[test]
fn a_malformed_public_key_row_is_a_store_error() {
    let kps = Kps::new();
    kps.create("a", &[]);
    db(&kps)
        .execute(
            "UPDATE keypairs SET public_key='ssh-ed25519 AAAA!!' WHERE name='a'",
            [],
        )
        .unwrap();
    // The row's MAC catches the edit first; where the store is not pinned
    // (no row key), the line itself is found malformed.
    let run = kps.run(&["--json", "show", "a"]).expect(7);
    assert_eq!(run.error_json()["error_code"], "KPS.6011");
    let unpinned = kps.dir.path().join("other-machine");
    let run = kps
        .run_with(&["--json", "show", "a"], |c| {
            c.env("XDG_CONFIG_HOME", &unpinned);
        })
        .expect(7);
    assert_eq!(run.error_json()["error_code"], "KPS.7004");
}

#[test]
fn a_tampered_identity_opens_nothing() {
    let kps = Kps::new();
    kps.create("a", &[]);
    db(&kps)
        .execute(
            "UPDATE identity SET wrapped_secret = zeroblob(length(wrapped_secret))",
            [],
        )
        .unwrap();
    export_stdout(&kps, "a").expect(6);
}

#[test]
fn files_that_are_not_a_store_are_refused() {
    let kps = Kps::empty();
    std::fs::create_dir_all(&kps.store).unwrap();
    std::fs::write(kps.db(), vec![0x42u8; 8192]).unwrap();
    // Private, as a store must be, so that what is refused is the content.
    std::fs::set_permissions(
        kps.db(),
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    let run = kps.run(&["--json", "list"]).expect(7);
    assert_eq!(run.error_json()["error_code"], "KPS.7004");

    let newer = Kps::new();
    db(&newer).pragma_update(None, "user_version", 99).unwrap();
    let run = newer.run(&["--json", "list"]).expect(7);
    assert!(
        run.error_json()["error_msg"]
            .as_str()
            .unwrap()
            .contains("newer")
    );
}

#[test]
fn eight_processes_creating_at_once_lose_nothing() {
    // A fresh store: the first writers also race to set it up.
    let kps = Kps::empty();
    let threads: Vec<_> = (0..8)
        .map(|p| {
            let store = kps.store.clone();
            let config = kps.config_home();
            let pass = kps.pass_file.clone();
            std::thread::spawn(move || {
                for i in 0..25 {
                    let out = std::process::Command::new(bin())
                        .args(["--store"])
                        .arg(&store)
                        .env("XDG_CONFIG_HOME", &config)
                        .args(["create", &format!("p{p}-k{i:02}")])
                        .args(CHEAP_KDF)
                        .env("KPS_PASSPHRASE_FILE", &pass)
                        .env_remove("KPS_PASSPHRASE")
                        .stdin(std::process::Stdio::null())
                        .output()
                        .unwrap();
                    assert!(
                        out.status.success(),
                        "p{p} k{i}: {}",
                        String::from_utf8_lossy(&out.stderr)
                    );
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let list = snapshot(&kps);
    assert_eq!(list["keypairs"].as_array().unwrap().len(), 200);
    // One identity: every key opens with the one passphrase.
    export_stdout(&kps, "p0-k00").ok();
    export_stdout(&kps, "p7-k24").ok();
}

#[test]
fn racing_creators_of_one_name_get_one_success() {
    let kps = Kps::new();
    let threads: Vec<_> = (0..6)
        .map(|_| {
            let store = kps.store.clone();
            let config = kps.config_home();
            std::thread::spawn(move || {
                std::process::Command::new(bin())
                    .arg("--store")
                    .arg(&store)
                    .env("XDG_CONFIG_HOME", &config)
                    .args(["create", "same"])
                    .stdin(std::process::Stdio::null())
                    .output()
                    .unwrap()
                    .status
                    .code()
            })
        })
        .collect();
    let mut codes: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    codes.sort();
    assert_eq!(
        codes,
        [Some(0), Some(4), Some(4), Some(4), Some(4), Some(4)]
    );
}

/// The WAL stays between commands (no checkpoint at every exit), but what
/// `delete`, `passwd` and `set-encryption` remove does not linger in it: they
/// checkpoint into the database (where secure_delete overwrote the old
/// cells) and truncate the WAL. The identity goes into kps.db at once.
#[test]
fn removed_secrets_do_not_linger_in_the_wal() {
    let kps = Kps::new();
    let wal = kps.path("store/kps.db-wal");
    let both_files = || {
        let mut bytes = std::fs::read(kps.db()).unwrap();
        bytes.extend(std::fs::read(&wal).unwrap_or_default());
        bytes
    };
    let holds = |bytes: &[u8], needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
    // `Kps::new` made the store with its passphrase: the identity row is in
    // the database file itself and the WAL is empty.
    assert_eq!(std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0), 0);

    for name in ["a", "b"] {
        kps.create(name, &[]);
    }
    // Read as kps does, without the checkpoint SQLite makes when its last
    // connection closes.
    let conn = db(&kps);
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE,
        true,
    )
    .unwrap();
    let envelope: Vec<u8> = conn
        .query_row("SELECT private_key FROM keypairs WHERE name='a'", [], |r| {
            r.get(0)
        })
        .unwrap();
    drop(conn);
    let tail = &envelope[envelope.len() - 32..];
    assert!(holds(&both_files(), tail));
    // Creating left it in the WAL (that is the point: no checkpoint per command).
    assert!(std::fs::metadata(&wal).unwrap().len() > 0);

    kps.run(&["delete", "a", "--yes"]).ok();
    assert_eq!(std::fs::metadata(&wal).unwrap().len(), 0);
    assert!(
        !holds(&both_files(), tail),
        "a deleted sealed key is still on file"
    );
    assert_eq!(kps.run(&["list", "--names"]).ok().stdout(), "b\n");

    // Every command reads the WAL when it opens the store: kps keeps it
    // small (truncated past 256 KiB) instead of SQLite's 4 MiB.
    let mut largest = 0;
    for i in 0..40 {
        kps.create(&format!("k{i}"), &[]);
        largest = largest.max(std::fs::metadata(&wal).unwrap().len());
    }
    assert!(
        largest <= 256 * 1024 + 64 * 1024,
        "WAL grew to {largest} bytes"
    );
    assert_eq!(
        kps.run(&["list", "--names"]).ok().stdout().lines().count(),
        41
    );
}
