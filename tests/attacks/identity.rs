//! Attacks on the store identity and on keypair rows by someone who can
//! write the store's files but does not know its passphrase (findings 1, 5,
//! 6, 9 and 10).

use crate::common::*;
use hpke::aead::ChaCha20Poly1305;
use hpke::kdf::HkdfSha256;
use hpke::kem::X25519HkdfSha256;
use hpke::{Deserializable, Kem, OpModeR, OpModeS, Serializable};
use rusqlite::{Connection, params};
use std::path::Path;

const INFO: &[u8] = b"kps private key v1";

/// The envelope's associated data, as docs/store-format.md gives it.
fn aad(name: &str, blob: &[u8]) -> Vec<u8> {
    let mut a = b"kps keypair\0".to_vec();
    a.extend_from_slice(&(name.len() as u32).to_be_bytes());
    a.extend_from_slice(name.as_bytes());
    a.extend_from_slice(&(blob.len() as u32).to_be_bytes());
    a.extend_from_slice(blob);
    a
}

/// The SSH wire form of an authorized_keys line's key.
fn blob_of(line: &str) -> Vec<u8> {
    let b64 = line.split_whitespace().nth(1).unwrap();
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("printf %s '{b64}' | base64 -d"))
        .output()
        .unwrap();
    out.stdout
}

/// Seal `plaintext` to `recipient` exactly as kps does (envelope version 1).
fn attacker_seal(recipient: &[u8], name: &str, blob: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let pk = <X25519HkdfSha256 as Kem>::PublicKey::from_bytes(recipient).unwrap();
    let (enc, ct) = hpke::single_shot_seal::<ChaCha20Poly1305, HkdfSha256, X25519HkdfSha256>(
        &OpModeS::Base,
        &pk,
        INFO,
        plaintext,
        &aad(name, blob),
    )
    .unwrap();
    let enc = enc.to_bytes();
    let mut out = vec![1, 0x00, 0x20, 0x00, 0x01, 0x00, 0x03];
    out.extend_from_slice(&(enc.len() as u16).to_be_bytes());
    out.extend_from_slice(&enc);
    out.extend_from_slice(&ct);
    out
}

/// Try to open an envelope with the attacker's own identity secret.
fn attacker_opens(
    sk: &<X25519HkdfSha256 as Kem>::PrivateKey,
    name: &str,
    blob: &[u8],
    envelope: &[u8],
) -> bool {
    if envelope.len() < 9 || envelope[0] != 1 {
        return false;
    }
    let n = u16::from_be_bytes([envelope[7], envelope[8]]) as usize;
    let Some(enc) = envelope.get(9..9 + n) else {
        return false;
    };
    let Ok(enc) = <X25519HkdfSha256 as Kem>::EncappedKey::from_bytes(enc) else {
        return false;
    };
    hpke::single_shot_open::<ChaCha20Poly1305, HkdfSha256, X25519HkdfSha256>(
        &OpModeR::Base,
        sk,
        &enc,
        INFO,
        &envelope[9 + n..],
        &aad(name, blob),
    )
    .is_ok()
}

fn db(kps: &Kps) -> Connection {
    Connection::open(kps.db()).unwrap()
}

fn count_rows(kps: &Kps) -> i64 {
    db(kps)
        .query_row("SELECT count(*) FROM keypairs", [], |r| r.get(0))
        .unwrap()
}

/// Every sealed envelope in the store, with its row's name and public line.
fn envelopes(kps: &Kps) -> Vec<(String, String, Vec<u8>)> {
    let conn = db(kps);
    let mut stmt = conn
        .prepare("SELECT name, public_key, private_key FROM keypairs WHERE private_key IS NOT NULL")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn swap_identity_public_key(kps: &Kps, public: &[u8]) -> Vec<u8> {
    let conn = db(kps);
    let real: Vec<u8> = conn
        .query_row("SELECT public_key FROM identity", [], |r| r.get(0))
        .unwrap();
    conn.execute("UPDATE identity SET public_key = ?1", [public])
        .unwrap();
    real
}

fn error_code(run: &Run) -> String {
    run.error_json()["error_code"].as_str().unwrap().to_string()
}

/// Finding 1: the attacker replaces the identity public key and waits for
/// a create. The create is refused (the pin made at init says otherwise),
/// and nothing in the store opens with the attacker's secret.
#[test]
fn finding_1_create_after_identity_swap_seals_nothing_for_the_attacker() {
    let kps = Kps::new();
    kps.create("before", &["-t", "ed25519"]);
    let (sk, pk) = X25519HkdfSha256::gen_keypair();
    let real = swap_identity_public_key(&kps, &pk.to_bytes());

    let run = kps
        .run(&["--json", "create", "after", "-t", "ed25519"])
        .expect(7);
    assert_eq!(error_code(&run), "KPS.7028");
    if have_tool("ssh-keygen") {
        sh("ssh-keygen -q -t ed25519 -N '' -f mine", kps.dir.path());
        let run = kps
            .run(&["--json", "import", "mine", "--private-key", "mine"])
            .expect(7);
        assert_eq!(error_code(&run), "KPS.7028");
    }
    assert_eq!(count_rows(&kps), 1, "nothing was written");
    // The passphrase does not open the swapped key: said as what it is.
    let run = kps.run(&["--json", "verify"]).expect(7);
    assert_eq!(error_code(&run), "KPS.7028");
    assert!(run.stderr().contains("replaced"), "{}", run.stderr());
    for (name, line, envelope) in envelopes(&kps) {
        assert!(
            !attacker_opens(&sk, &name, &blob_of(&line), &envelope),
            "the attacker opened {name}"
        );
    }

    // On a machine with no pin for this store (a copied store), the write
    // unlocks first: the swapped key does not open, and nothing is sealed.
    let fresh = kps.dir.path().join("other-machine");
    let run = kps
        .run_with(&["--json", "create", "after", "-t", "ed25519"], |c| {
            c.env("XDG_CONFIG_HOME", &fresh);
        })
        .expect(6);
    assert_eq!(error_code(&run), "KPS.7002");
    assert_eq!(count_rows(&kps), 1);

    // The real key put back: writes go on as before.
    swap_identity_public_key(&kps, &real);
    kps.create("after", &["-t", "ed25519"]);
    for (name, line, envelope) in envelopes(&kps) {
        assert!(!attacker_opens(&sk, &name, &blob_of(&line), &envelope));
    }
}

/// The keypair fields `kps import --dry-run --json` gives for `key`: what
/// the attacker needs to forge a row (kps computes them for anyone).
fn fields_for(key: &Path) -> serde_json::Value {
    let other = Kps::empty();
    let run = other
        .run(&[
            "--json",
            "import",
            "x",
            "--private-key",
            key.to_str().unwrap(),
            "--dry-run",
        ])
        .ok();
    run.json()["keypair"].clone()
}

/// Finding 5, whole row: the attacker replaces keypair `a` with their own
/// key, sealed to the real identity (sealing needs only its public key),
/// with every column computed as kps would. It is not handed out.
#[test]
fn finding_5_planted_row_is_not_handed_out() {
    if !have_tool("ssh-keygen") {
        return;
    }
    let kps = Kps::new();
    kps.create("a", &["-t", "ed25519"]);
    sh(
        "ssh-keygen -q -t ed25519 -N '' -C a -f evil",
        kps.dir.path(),
    );
    let f = fields_for(&kps.path("evil"));
    let plaintext = sh(
        "sed '1d;$d' evil | base64 -d | od -An -v -tx1",
        kps.dir.path(),
    );
    let plaintext: Vec<u8> = plaintext
        .split_whitespace()
        .map(|h| u8::from_str_radix(h, 16).unwrap())
        .collect();
    let line = f["public_key"].as_str().unwrap();
    let conn = db(&kps);
    let identity: Vec<u8> = conn
        .query_row("SELECT public_key FROM identity", [], |r| r.get(0))
        .unwrap();
    let envelope = attacker_seal(&identity, "a", &blob_of(line), &plaintext);
    conn.execute(
        "UPDATE keypairs SET public_key = ?1, fingerprint_sha256 = ?2, fingerprint_md5 = ?3,
            fingerprint_aws_created = ?4, fingerprint_aws_imported = ?5, private_key = ?6
         WHERE name = 'a'",
        params![
            line,
            f["fingerprint"].as_str(),
            f["fingerprint_md5"].as_str(),
            f["fingerprint_aws_created"].as_str(),
            f["fingerprint_aws_imported"].as_str(),
            envelope
        ],
    )
    .unwrap();
    drop(conn);
    for args in [
        &["--json", "export", "a", "--format", "public", "-o", "-"][..],
        &["--json", "export", "a", "--format", "openssh", "-o", "-"][..],
        &["--json", "show", "a"][..],
        &["--json", "list"][..],
    ] {
        let run = kps.run(args).expect(7);
        assert_eq!(error_code(&run), "KPS.6011", "{args:?}");
        assert!(!run.stdout().contains(line.split(' ').nth(1).unwrap()));
    }
    // delete still works: the way out.
    kps.run(&["delete", "a", "--yes"]).ok();
}

/// Finding 5, one column: only `public_key` edited. `show` used to print
/// the old fingerprint while `export` handed out the attacker's key.
#[test]
fn finding_5_edited_public_key_is_caught_and_never_shown_as_genuine() {
    let kps = Kps::new();
    let genuine = kps.create("a", &["-t", "ed25519"])["keypair"]["public_key"]
        .as_str()
        .unwrap()
        .to_string();
    let evil = Kps::new().create("e", &["-t", "ed25519"])["keypair"].clone();
    let evil_line = evil["public_key"].as_str().unwrap().replace(" e", " a");
    db(&kps)
        .execute(
            "UPDATE keypairs SET public_key = ?1 WHERE name = 'a'",
            [&evil_line],
        )
        .unwrap();
    let run = kps
        .run(&["--json", "export", "a", "--format", "public", "-o", "-"])
        .expect(7);
    assert_eq!(error_code(&run), "KPS.6011");
    assert!(run.stdout().is_empty());
    kps.run(&["--json", "show", "a"]).expect(7);

    // On a machine without this store's pin, rows cannot be authenticated;
    // what is shown is then computed from the public key itself, and the
    // row is marked as not verified.
    let fresh = kps.dir.path().join("other-machine");
    let run = kps
        .run_with(&["--json", "show", "a"], |c| {
            c.env("XDG_CONFIG_HOME", &fresh);
        })
        .ok();
    let shown = &run.json()["keypair"];
    assert_eq!(shown["fingerprint"], evil["fingerprint"]);
    assert_eq!(shown["integrity"], "unverified");
    assert_ne!(shown["public_key"].as_str().unwrap(), genuine);
    // and unlocking there (the passphrase proves the identity) pins it, after
    // which the edited row is refused there too.
    let run = kps
        .run_with(&["--json", "verify"], |c| {
            c.env("XDG_CONFIG_HOME", &fresh);
        })
        .expect(7);
    assert_eq!(error_code(&run), "KPS.6011");
}

/// Finding 5, metadata: bits, algorithm, encryption type, description or
/// a row's MAC copied from another row: each is caught.
#[test]
fn finding_5_edited_metadata_is_caught() {
    for edit in [
        "UPDATE keypairs SET bits = 4096 WHERE name = 'a'",
        "UPDATE keypairs SET algorithm = 'ssh-rsa' WHERE name = 'a'",
        "UPDATE keypairs SET description = 'db' WHERE name = 'a'",
        "UPDATE keypairs SET encryption_type = 'kms', kms_key_id = 'ab' WHERE name = 'a'",
        "UPDATE keypairs SET mac = (SELECT mac FROM keypairs WHERE name = 'b') WHERE name = 'a'",
        "UPDATE keypairs SET mac = NULL WHERE name = 'a'",
    ] {
        let kps = Kps::new();
        kps.create("a", &["-t", "ed25519", "--description", "web"]);
        kps.create("b", &["-t", "ed25519"]);
        kps.run(&["show", "a"]).ok();
        db(&kps).execute(edit, []).unwrap();
        let run = kps.run(&["--json", "show", "a"]).expect(7);
        assert_eq!(error_code(&run), "KPS.6011", "{edit}");
        kps.run(&["show", "b"]).ok();
    }
}

/// Finding 6: after `passwd`, the old wrapping is in neither `kps.db` nor
/// `kps.db-wal`, so a copy of the files and the old passphrase open nothing.
#[test]
fn finding_6_passwd_leaves_no_old_wrapping() {
    let kps = Kps::new();
    kps.create("a", &["-t", "ed25519"]);
    let (old_secret, old_salt): (Vec<u8>, Vec<u8>) = db(&kps)
        .query_row("SELECT wrapped_secret, kdf_salt FROM identity", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    let new_pass = kps.path("new-pass");
    std::fs::write(&new_pass, "a new and longer passphrase\n").unwrap();
    kps.run(&[
        "passwd",
        "--new-passphrase-file",
        new_pass.to_str().unwrap(),
    ])
    .ok();
    let mut files = std::fs::read(kps.db()).unwrap();
    let wal = kps.store.join("kps.db-wal");
    if let Ok(w) = std::fs::read(&wal) {
        files.extend(w);
    }
    for (what, old) in [("wrapped secret", &old_secret), ("salt", &old_salt)] {
        assert!(
            !files.windows(old.len()).any(|w| w == &old[..]),
            "the old {what} is still in kps.db or kps.db-wal"
        );
    }
    // A copy of kps.db taken now, with the old passphrase, on the
    // attacker's machine: nothing opens.
    let mut attacker = Kps::empty();
    attacker.store = attacker.path("copy.db");
    std::fs::copy(kps.db(), &attacker.store).unwrap();
    let run = attacker
        .run(&["--json", "export", "a", "--format", "openssh", "-o", "-"])
        .expect(6);
    assert_eq!(error_code(&run), "KPS.7002");
}

/// Finding 6, `--rekey`: an old copy of the store (its identity opened
/// with the old passphrase) joined with today's envelopes opens nothing,
/// where a plain `passwd` leaves the same identity behind both.
#[test]
fn finding_6_rekey_leaves_an_old_copy_nothing_to_open() {
    for rekey in [false, true] {
        let kps = Kps::new();
        kps.create("a", &["-t", "ed25519"]);
        let old_copy = kps.path("old.db");
        kps.run(&["backup", old_copy.to_str().unwrap()]).ok();
        let new_pass = kps.path("new-pass");
        std::fs::write(&new_pass, "a new and longer passphrase\n").unwrap();
        let mut args = vec![
            "passwd",
            "--new-passphrase-file",
            new_pass.to_str().unwrap(),
        ];
        if rekey {
            args.push("--rekey");
        }
        kps.run(&args).ok();
        kps.run_with(&["create", "b", "-t", "ed25519"], |c| {
            c.env("KPS_PASSPHRASE_FILE", &new_pass);
        })
        .ok();
        // The attacker: today's envelopes into the old copy, whose identity
        // the old (leaked) passphrase opens, read where no pin exists.
        let today: Vec<(String, Vec<u8>)> = envelopes(&kps)
            .into_iter()
            .map(|(n, _, e)| (n, e))
            .collect();
        let old = Connection::open(&old_copy).unwrap();
        old.execute("DELETE FROM keypairs", []).unwrap();
        old.execute("ATTACH DATABASE ?1 AS today", [kps.db().to_str().unwrap()])
            .unwrap();
        old.execute("INSERT INTO keypairs SELECT * FROM today.keypairs", [])
            .unwrap();
        old.execute("DETACH DATABASE today", []).unwrap();
        drop(old);
        assert_eq!(today.len(), 2);
        // The attacker's machine: no pin, the old passphrase.
        let mut attacker = Kps::empty();
        attacker.store = attacker.path("old.db");
        std::fs::copy(&old_copy, &attacker.store).unwrap();
        for name in ["a", "b"] {
            let run = attacker.run(&["--json", "export", name, "--format", "openssh", "-o", "-"]);
            if rekey {
                run.expect(7);
            } else {
                // What --rekey is for: without it the old identity opens
                // even keypairs made after the passphrase change.
                assert!(run.ok().stdout().contains("OPENSSH PRIVATE KEY"));
            }
        }
    }
}

/// Finding 9: the identity row removed while sealed keypairs remain. A
/// create used to set up a new identity silently; now it is refused.
#[test]
fn finding_9_missing_identity_is_not_replaced() {
    let kps = Kps::new();
    kps.create("a", &["-t", "ed25519"]);
    db(&kps).execute("DELETE FROM identity", []).unwrap();
    for args in [
        &["--json", "create", "b", "-t", "ed25519"][..],
        &["--json", "init"][..],
    ] {
        let run = kps.run(args).expect(7);
        assert_eq!(error_code(&run), "KPS.7029", "{args:?}");
    }
    let identities: i64 = db(&kps)
        .query_row("SELECT count(*) FROM identity", [], |r| r.get(0))
        .unwrap();
    assert_eq!((identities, count_rows(&kps)), (0, 1));

    // Even with no sealed keypair left (the attacker deleted them too), a
    // store pinned on this machine keeps its other keypairs from being
    // re-keyed under a new passphrase unnoticed.
    if !have_tool("ssh-keygen") {
        return;
    }
    let kps = Kps::new();
    sh("ssh-keygen -q -t ed25519 -N '' -f k", kps.dir.path());
    kps.run(&[
        "import",
        "p",
        "--public-key",
        kps.path("k.pub").to_str().unwrap(),
    ])
    .ok();
    db(&kps).execute("DELETE FROM identity", []).unwrap();
    let run = kps
        .run(&["--json", "create", "b", "-t", "ed25519"])
        .expect(7);
    assert_eq!(error_code(&run), "KPS.7029");
}

/// Finding 10: KDF costs bounded both ways.
#[test]
fn finding_10_kdf_costs_are_bounded() {
    let kps = Kps::empty();
    let run = kps
        .run(&["--json", "init", "--kdf-memory", "8", "--kdf-passes", "1"])
        .expect(2);
    assert_eq!(error_code(&run), "KPS.0002");
    kps.run(&["--json", "init", "--kdf-memory", "8388608"])
        .expect(2);
    assert!(!kps.store.join("kps.db").exists() || count_rows(&kps) == 0);

    // A stored cost of 4 GiB x 100 passes: refused before Argon2 allocates.
    let kps = Kps::new();
    kps.create("a", &["-t", "ed25519"]);
    db(&kps)
        .execute(
            "UPDATE identity SET kdf_memory_kib = 4194304, kdf_passes = 100",
            [],
        )
        .unwrap();
    let run = kps
        .run(&["--json", "export", "a", "--format", "openssh", "-o", "-"])
        .expect(7);
    assert_eq!(error_code(&run), "KPS.7004");
    assert!(run.stderr().contains("ceiling"), "{}", run.stderr());

    // A short passphrase: accepted with a warning.
    let short = Kps::empty();
    std::fs::write(&short.pass_file, "abc\n").unwrap();
    let mut args = vec!["init"];
    args.extend(CHEAP_KDF);
    let run = short.run(&args).ok();
    assert!(run.stderr().contains("warning"), "{}", run.stderr());
}

/// A store written before rows were authenticated: its rows are shown as
/// not endorsed until its first unlock, which endorses them once, moves the
/// identity wrapping to version 2 and pins it. A row planted after that,
/// with no MAC, is refused, here and on a machine with no pin.
#[test]
fn older_store_is_endorsed_once_then_planted_rows_are_refused() {
    let mut kps = Kps::empty();
    kps.use_legacy_store();
    let list = kps.run(&["--json", "list"]).ok().json();
    for item in list["keypairs"].as_array().unwrap() {
        assert_eq!(item["keypair"]["integrity"], "not-endorsed");
    }
    kps.run(&["verify"]).ok();
    let list = kps.run(&["--json", "list"]).ok().json();
    assert_eq!(list["keypairs"].as_array().unwrap().len(), 3);
    for item in list["keypairs"].as_array().unwrap() {
        assert_eq!(item["keypair"]["integrity"], "verified");
    }
    // The attacker copies row `e` under a new name, without a MAC (they
    // cannot make one), hoping for another endorsement.
    db(&kps)
        .execute_batch(
            "CREATE TEMP TABLE t AS SELECT * FROM keypairs WHERE name = 'e';
             UPDATE t SET name = 'planted', id = NULL, mac = NULL;
             INSERT INTO keypairs SELECT * FROM t;",
        )
        .unwrap();
    let run = kps.run(&["--json", "show", "planted"]).expect(7);
    assert_eq!(error_code(&run), "KPS.6011");
    kps.run(&["--json", "list"]).expect(7);
    // On a machine with no pin, the unlock sees wrapping version 2: no
    // second endorsement.
    let fresh = kps.dir.path().join("other-machine");
    let run = kps
        .run_with(&["--json", "verify"], |c| {
            c.env("XDG_CONFIG_HOME", &fresh);
        })
        .expect(7);
    assert_eq!(error_code(&run), "KPS.6011");
    kps.run(&["delete", "planted", "--yes"]).ok();
    kps.run(&["verify"]).ok();
}

/// The pin holds the row key: a pin others can read, or a forged one, is
/// refused rather than trusted.
#[test]
fn pin_files_are_private_and_checked() {
    use std::os::unix::fs::PermissionsExt;
    let kps = Kps::new();
    kps.create("a", &["-t", "ed25519"]);
    let stores = kps.config_home().join("kps/stores");
    let pin = std::fs::read_dir(&stores)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    assert_eq!(mode_of(&pin), 0o600);
    std::fs::set_permissions(&pin, std::fs::Permissions::from_mode(0o644)).unwrap();
    let run = kps.run(&["--json", "list"]).expect(7);
    assert_eq!(error_code(&run), "KPS.7027");
    assert!(kps.run(&["list"]).expect(7).stderr().contains("chmod 600"));
    std::fs::set_permissions(&pin, std::fs::Permissions::from_mode(0o600)).unwrap();
    // Someone who can write the config directory is the user (out of
    // scope), but a damaged pin is an error, not an empty trust.
    std::fs::write(&pin, "kps store pin v1\nidentity zz\n").unwrap();
    let run = kps.run(&["--json", "create", "b"]).expect(7);
    assert_eq!(error_code(&run), "KPS.7028");
}

/// An attack the issue did not list: SQL planted in the schema. A trigger
/// runs inside kps's own writes (here: it blanks every new sealed key; it
/// could as well keep each replaced identity wrapping in a table of the
/// attacker's). kps creates no triggers or views and refuses a store that
/// has one, before writing anything.
#[test]
fn planted_triggers_and_views_are_refused() {
    for plant in [
        "CREATE TRIGGER blank AFTER INSERT ON keypairs
         BEGIN UPDATE keypairs SET private_key = NULL WHERE id = new.id; END",
        "CREATE TABLE stash (w BLOB);
         CREATE TRIGGER keep AFTER UPDATE ON identity
         BEGIN INSERT INTO stash VALUES (old.wrapped_secret); END",
        "CREATE VIEW v AS SELECT name FROM keypairs",
    ] {
        let kps = Kps::new();
        kps.create("a", &["-t", "ed25519"]);
        db(&kps).execute_batch(plant).unwrap();
        for args in [
            &["--json", "create", "b", "-t", "ed25519"][..],
            &["--json", "list"][..],
        ] {
            let run = kps.run(args).expect(7);
            assert_eq!(error_code(&run), "KPS.7004", "{plant}");
            assert!(
                run.error_json()["error_msg"]
                    .as_str()
                    .unwrap()
                    .contains("never creates")
            );
        }
        assert_eq!(count_rows(&kps), 1, "{plant}");
    }
}
