//! The backend conformance test: one sequence of row operations run on a
//! SQLite file and on a PostgreSQL database (a private cluster, started by
//! tests/common/pg.rs), each observation written to a transcript; the two
//! transcripts must be the same, and each step is also checked against
//! what it must be. Row ids are left out of the transcript (SQLite reuses
//! them, PostgreSQL's identity columns do not).
//!
//! PostgreSQL's own behaviour (TLS, faults, the migration race) is tested
//! in pg_tests.rs, with the same cluster harness ([`pg`]).

use super::{Backend, BindingFilter, BindingRow, IdentityRow, KeypairRow};
use crate::keypair::{Encryption, Integrity, Keypair};
use crate::store::location::{PgEnv, PgTarget};
use crate::store::{Binding, KdfParams, PasswordLogin, WrappedIdentity};
use crate::{Error, Result};
use std::ffi::OsString;
use std::path::Path;

// The harness the integration tests use, shared rather than copied.
#[allow(dead_code, clippy::all)]
#[path = "../../../tests/common/pg.rs"]
pub(super) mod pg;
#[allow(dead_code)]
#[path = "../../../tests/common/port.rs"]
mod port;

/// As tests/common's: is `tool` on PATH? Under `KPS_TEST_REQUIRE_TOOLS=1`
/// a missing tool fails the test; otherwise it skips, saying why.
pub(super) fn have_tool(tool: &str) -> bool {
    let found = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|d| d.join(tool).is_file()))
        .unwrap_or(false);
    if !found {
        if std::env::var("KPS_TEST_REQUIRE_TOOLS").as_deref() == Ok("1") {
            panic!("{tool} is required (KPS_TEST_REQUIRE_TOOLS=1) but not on PATH");
        }
        eprintln!("SKIP: {tool} not found on PATH; install it to run this test");
    }
    found
}

/// A PostgreSQL target for `url`, completed from an environment with a
/// home directory `home` (no password file, no root.crt unless the test
/// puts one there) and nothing else of the machine's.
pub(super) fn target(url: &str, home: &Path) -> PgTarget {
    let env = PgEnv::new(
        [("HOME".to_string(), OsString::from(home))],
        Some("nobody".into()),
        None,
    );
    PgTarget::from_url(url, &env).unwrap()
}

/// A migrated PostgreSQL backend on a fresh database `name` of `pg`.
pub(super) fn pg_backend(pg: &pg::Pg, name: &str, home: &Path) -> Backend {
    let url = pg.new_database(name);
    let b = Backend::open_postgres(&target(&format!("{url}?connect_timeout=10"), home)).unwrap();
    b.migrate(|_| Ok(())).unwrap();
    b
}

fn sqlite_backend(dir: &Path) -> Backend {
    let path = dir.join("kps.db");
    std::fs::File::create(&path).unwrap();
    let b = super::open_sqlite(&path, true).unwrap();
    b.migrate(|_| Ok(())).unwrap();
    b
}

pub(super) fn keypair(name: &str, fingerprint: &str) -> Keypair {
    Keypair {
        name: name.to_string(),
        algorithm: "ssh-ed25519".into(),
        bits: 256,
        public_line: format!("ssh-ed25519 AAAA{name} comment of {name}"),
        fingerprint: fingerprint.to_string(),
        fingerprint_md5: "MD5:00".into(),
        fingerprint_aws_created: None,
        fingerprint_aws_imported: Some("aa:bb".into()),
        description: Some(format!("about {name}")),
        user_id: None,
        create_time: "2026-01-02T03:04:05Z".into(),
        update_time: "2026-01-02T03:04:05Z".into(),
        encryption: Encryption::Default,
        has_private_key: true,
        integrity: Integrity::NotEndorsed,
    }
}

fn binding(host: &str, port: u16, user: &str, at: &str) -> Binding {
    Binding {
        keypair: String::new(),
        host: host.to_string(),
        port,
        user: user.to_string(),
        host_key_fingerprint: "SHA256:host".into(),
        authorized_keys_path: "/root/.ssh/authorized_keys".into(),
        password_login: PasswordLogin::Disabled,
        create_time: at.to_string(),
        update_time: at.to_string(),
    }
}

fn wrapped(tag: u8) -> WrappedIdentity {
    WrappedIdentity {
        public_key: vec![tag; 32],
        kdf: KdfParams {
            memory_kib: u32::MAX,
            passes: 3,
            parallelism: 1,
        },
        salt: vec![tag ^ 1; 16],
        nonce: vec![tag ^ 2; 12],
        wrapped_secret: vec![tag ^ 3; 48],
    }
}

/// A keypair row as the transcript shows it.
fn show(k: &KeypairRow) -> String {
    format!("{k:?}")
}

/// A binding row without its ids.
fn show_binding(b: &BindingRow) -> String {
    let mut b = b.clone();
    b.id = 0;
    b.keypair_id = 0;
    format!("{b:?}")
}

fn show_err<T: std::fmt::Debug>(r: &Result<T>) -> String {
    match r {
        Ok(v) => format!("Ok({v:?})"),
        Err(Error::AlreadyExists(name)) => format!("AlreadyExists({name})"),
        Err(e) => panic!("unexpected error: {e} ({e:?})"),
    }
}

/// The sequence; each observation is pushed to the transcript and the
/// important ones asserted on the spot.
fn run(b: &Backend) -> Vec<String> {
    let mut t = Vec::new();
    let mut note = |s: String| t.push(s);

    // The identity row.
    assert!(b.identity().unwrap().is_none());
    let row = IdentityRow {
        wrapped: wrapped(7),
        suite: "suite-a".into(),
        kdf: "kdf-a".into(),
    };
    assert!(b.insert_identity(&row, "t0").unwrap());
    assert!(!b.insert_identity(&row, "t1").unwrap(), "one identity row");
    let got = b.identity().unwrap().unwrap();
    assert_eq!(got.wrapped.kdf.memory_kib, u32::MAX);
    assert_eq!(got.wrapped.wrapped_secret, vec![7 ^ 3; 48]);
    note(format!("{got:?}"));
    let rewrapped = WrappedIdentity {
        nonce: vec![9; 12],
        wrapped_secret: vec![9; 48],
        ..wrapped(7)
    };
    assert!(b.rewrap_identity(&wrapped(7), &rewrapped).unwrap());
    assert!(
        !b.rewrap_identity(&wrapped(7), &rewrapped).unwrap(),
        "no longer old"
    );
    assert!(!b.replace_identity(&wrapped(8), &[1; 32], "t2").unwrap());
    assert!(b.replace_identity(&wrapped(8), &[7; 32], "t2").unwrap());
    note(format!("{:?}", b.identity().unwrap()));

    // Keypair rows: names in an order where bytewise and a locale's
    // order differ, and one that is not ASCII.
    let names = ["beta", "alpha", "Gamma", "_x", "zé"];
    for (i, name) in names.iter().enumerate() {
        let envelope = [1, i as u8, 2];
        let mac = (i != 1).then_some([0xaa, i as u8]);
        b.insert_keypair(
            &keypair(name, &format!("SHA256:{}", i % 2)),
            Some(&envelope),
            mac.as_ref().map(|m| &m[..]),
        )
        .unwrap();
    }
    let mut public_only = keypair("public-only", "SHA256:9");
    public_only.has_private_key = false;
    b.insert_keypair(&public_only, None, Some(&[1])).unwrap();
    let mut kms = keypair("on-token", "SHA256:8");
    kms.encryption = Encryption::Kms {
        key_name: Some("master".into()),
        key_id: Some("01ab".into()),
    };
    b.insert_keypair(&kms, Some(&[2, 0]), None).unwrap();
    let again = b.insert_keypair(&keypair("alpha", "SHA256:x"), Some(&[0]), None);
    assert!(matches!(&again, Err(Error::AlreadyExists(n)) if n == "alpha"));
    note(show_err(&again));

    let alpha = b.keypair("alpha").unwrap().unwrap();
    assert_eq!(alpha.description.as_deref(), Some("about alpha"));
    assert_eq!(alpha.mac, None);
    assert!(alpha.has_private_key);
    note(show(&alpha));
    assert!(b.keypair("nope").unwrap().is_none());
    assert!(!b.keypair("public-only").unwrap().unwrap().has_private_key);
    let token = b.keypair("on-token").unwrap().unwrap();
    assert_eq!(
        (token.kms_key_name.as_deref(), token.kms_key_id.as_deref()),
        (Some("master"), Some("01ab"))
    );
    let (row, envelope) = b.keypair_with_envelope("beta").unwrap().unwrap();
    assert_eq!(envelope, Some(vec![1, 0, 2]));
    note(format!("{} {envelope:?}", show(&row)));
    assert_eq!(
        b.keypair_with_envelope("public-only").unwrap().unwrap().1,
        None
    );
    assert!(b.keypair_with_envelope("nope").unwrap().is_none());

    let order = |rows: Vec<String>| rows;
    let listed: Vec<String> = b
        .keypairs_with_envelopes()
        .unwrap()
        .iter()
        .map(|(k, _)| k.name.clone())
        .collect();
    let expected = [
        "Gamma",
        "_x",
        "alpha",
        "beta",
        "on-token",
        "public-only",
        "zé",
    ];
    assert_eq!(listed, expected, "bytewise order");
    let mut streamed = Vec::new();
    b.each_keypair(|k| {
        streamed.push(k.name);
        Ok::<(), Error>(())
    })
    .unwrap();
    assert_eq!(streamed, expected);
    // An error from the callback stops the stream and comes back as is.
    let mut seen = 0;
    let stopped = b.each_keypair(|_| {
        seen += 1;
        if seen == 2 {
            Err(Error::NotFound("stop".into()))
        } else {
            Ok(())
        }
    });
    assert!(matches!(stopped, Err(Error::NotFound(_))) && seen == 2);
    // The connection is usable after a stream cut short.
    assert_eq!(b.count_keypairs().unwrap(), 7);
    note(format!("{:?}", order(streamed)));
    let with_fp: Vec<String> = b
        .keypairs_with_fingerprint("SHA256:1")
        .unwrap()
        .iter()
        .map(|k| k.name.clone())
        .collect();
    assert_eq!(with_fp, ["_x", "alpha"]);
    let mut without_mac: Vec<String> = b
        .keypairs_without_mac()
        .unwrap()
        .into_iter()
        .map(|k| k.name)
        .collect();
    without_mac.sort();
    assert_eq!(without_mac, ["alpha", "on-token"]);
    assert_eq!(b.count_sealed_to_identity().unwrap(), 5);
    assert_eq!(b.longest_name().unwrap(), "public-only".len());

    b.set_keypair_mac("alpha", &[5, 5]).unwrap();
    assert_eq!(b.keypair("alpha").unwrap().unwrap().mac, Some(vec![5, 5]));
    b.set_keypair_envelope("alpha", Some(&[7, 7]), &[6])
        .unwrap();
    assert_eq!(
        b.keypair_with_envelope("alpha").unwrap().unwrap().1,
        Some(vec![7, 7])
    );
    b.fill_aws_created("alpha", "11:22", &[8]).unwrap();
    b.fill_aws_created("alpha", "33:44", &[9]).unwrap();
    let alpha = b.keypair("alpha").unwrap().unwrap();
    assert_eq!(
        alpha.fingerprint_aws_created.as_deref(),
        Some("11:22"),
        "only once"
    );
    assert_eq!(alpha.mac, Some(vec![8]));
    note(show(&alpha));

    // Compare-and-set of the envelope.
    let mut moved = keypair("beta", "SHA256:0");
    moved.encryption = Encryption::Kms {
        key_name: None,
        key_id: Some("02".into()),
    };
    moved.update_time = "2026-02-02T00:00:00Z".into();
    assert_eq!(
        b.set_keypair_encryption(&moved, &[3, 3], Some(&[4]), &[9, 9])
            .unwrap(),
        0,
        "envelope no longer the old one"
    );
    assert_eq!(
        b.set_keypair_encryption(&moved, &[3, 3], Some(&[4]), &[1, 0, 2])
            .unwrap(),
        1
    );
    note(show(&b.keypair("beta").unwrap().unwrap()));

    // Rename: a name taken, an envelope changed meanwhile, then for real
    // (also of a keypair without an envelope).
    let mut renamed = keypair("delta", "SHA256:0");
    renamed.update_time = "2026-03-03T00:00:00Z".into();
    let mut onto_taken = renamed.clone();
    onto_taken.name = "alpha".into();
    let taken = b.rename_keypair("beta", Some(&[3, 3]), &onto_taken, Some(&[3, 3]), None);
    assert!(matches!(&taken, Err(Error::AlreadyExists(n)) if n == "alpha"));
    note(show_err(&taken));
    assert_eq!(
        b.rename_keypair("beta", Some(&[0]), &renamed, Some(&[3, 3]), Some(&[1]))
            .unwrap(),
        0
    );
    assert_eq!(
        b.rename_keypair("beta", Some(&[3, 3]), &renamed, Some(&[3, 3]), Some(&[1]))
            .unwrap(),
        1
    );
    assert!(b.keypair("beta").unwrap().is_none());
    note(show(&b.keypair("delta").unwrap().unwrap()));
    let mut public_renamed = public_only.clone();
    public_renamed.name = "public-two".into();
    assert_eq!(
        b.rename_keypair("public-only", None, &public_renamed, None, None)
            .unwrap(),
        1
    );

    let mut detailed = keypair("delta", "SHA256:0");
    detailed.public_line = "ssh-ed25519 AAAAdelta new comment".into();
    detailed.description = None;
    detailed.user_id = Some("ops".into());
    detailed.update_time = "2026-04-04T00:00:00Z".into();
    b.set_keypair_details(&detailed, Some(&[2])).unwrap();
    let delta = b.keypair("delta").unwrap().unwrap();
    assert_eq!(delta.user_id.as_deref(), Some("ops"));
    assert_eq!(delta.description, None);
    note(show(&delta));

    assert_eq!(b.delete_keypair("zé").unwrap(), 1);
    assert_eq!(b.delete_keypair("zé").unwrap(), 0);

    // Settings.
    assert_eq!(b.setting("kms.token").unwrap(), None);
    b.set_setting("kms.token", "one").unwrap();
    b.set_setting("kms.token", "two").unwrap();
    assert_eq!(b.setting("kms.token").unwrap().as_deref(), Some("two"));

    // Bindings: the host compares without ASCII case; a second upsert of
    // the same keypair, host, port and user replaces the first.
    let alpha_id = b.keypair_id("alpha").unwrap().unwrap();
    let delta_id = b.keypair_id("delta").unwrap().unwrap();
    assert_eq!(b.keypair_id("nope").unwrap(), None);
    b.upsert_binding(alpha_id, &binding("Web.Example", 22, "root", "t1"), None)
        .unwrap();
    b.upsert_binding(
        alpha_id,
        &binding("web.example", 22, "root", "t2"),
        Some(&[1]),
    )
    .unwrap();
    b.upsert_binding(
        alpha_id,
        &binding("web.example", 2222, "root", "t3"),
        Some(&[2]),
    )
    .unwrap();
    b.upsert_binding(delta_id, &binding("db.example", 22, "admin", "t4"), None)
        .unwrap();
    let all = b
        .bindings(BindingFilter::Matching {
            keypair: None,
            host: None,
        })
        .unwrap();
    let shown: Vec<(String, String, i64)> = all
        .iter()
        .map(|b| (b.keypair.clone(), b.host.clone(), b.port))
        .collect();
    assert_eq!(
        shown,
        [
            ("alpha".to_string(), "web.example".to_string(), 22),
            ("alpha".to_string(), "web.example".to_string(), 2222),
            ("delta".to_string(), "db.example".to_string(), 22),
        ]
    );
    for row in &all {
        note(show_binding(row));
    }
    let on_host = b
        .bindings(BindingFilter::Matching {
            keypair: None,
            host: Some("WEB.example"),
        })
        .unwrap();
    assert_eq!(on_host.len(), 2);
    let of_delta = b
        .bindings(BindingFilter::Matching {
            keypair: Some("delta"),
            host: None,
        })
        .unwrap();
    assert_eq!(of_delta.len(), 1);
    assert_eq!(of_delta[0].public_line, "ssh-ed25519 AAAAdelta new comment");
    assert_eq!(
        b.binding_create_time(alpha_id, "WEB.EXAMPLE", 22, "root")
            .unwrap()
            .as_deref(),
        Some("t2")
    );
    assert_eq!(
        b.binding_create_time(alpha_id, "web.example", 23, "root")
            .unwrap(),
        None
    );
    let unmacced = b.bindings(BindingFilter::WithoutMac).unwrap();
    assert_eq!(unmacced.len(), 1);
    b.set_binding_mac(unmacced[0].id, &[3]).unwrap();
    assert!(b.bindings(BindingFilter::WithoutMac).unwrap().is_empty());
    assert_eq!(
        b.delete_binding("alpha", "Web.Example", 2222, "root")
            .unwrap(),
        1
    );
    assert_eq!(
        b.delete_binding("alpha", "web.example", 2222, "root")
            .unwrap(),
        0
    );
    // Deleting a keypair deletes its bindings.
    assert_eq!(b.delete_keypair("alpha").unwrap(), 1);
    let left = b
        .bindings(BindingFilter::Matching {
            keypair: None,
            host: None,
        })
        .unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].keypair, "delta");

    // Transactions: dropped is rolled back; a name taken inside one
    // leaves it usable (the store reports it and goes on or gives up);
    // committed is there; reads inside see the transaction's writes.
    {
        let tx = b.begin_write().unwrap();
        tx.insert_keypair(&keypair("rolled-back", "SHA256:r"), None, None)
            .unwrap();
        assert!(tx.keypair("rolled-back").unwrap().is_some());
        tx.set_setting("kms.token", "three").unwrap();
    }
    assert!(b.keypair("rolled-back").unwrap().is_none());
    assert_eq!(b.setting("kms.token").unwrap().as_deref(), Some("two"));
    {
        let tx = b.begin_write().unwrap();
        let dup = tx.insert_keypair(&keypair("delta", "SHA256:d"), None, None);
        assert!(matches!(dup, Err(Error::AlreadyExists(_))));
        tx.insert_keypair(&keypair("kept", "SHA256:k"), None, None)
            .unwrap();
        let mut onto = keypair("delta", "SHA256:k");
        onto.update_time = "t".into();
        let clash = tx.rename_keypair("kept", None, &onto, None, None);
        assert!(matches!(clash, Err(Error::AlreadyExists(_))));
        let locked = tx.keypair("delta").unwrap().unwrap();
        assert_eq!(locked.name, "delta");
        tx.commit().unwrap();
    }
    assert!(b.keypair("kept").unwrap().is_some());
    note(format!("count {}", b.count_keypairs().unwrap()));
    let mut names = Vec::new();
    b.each_keypair(|k| {
        names.push(k.name);
        Ok::<(), Error>(())
    })
    .unwrap();
    assert_eq!(
        names,
        ["Gamma", "_x", "delta", "kept", "on-token", "public-two"]
    );
    note(format!("{names:?}"));

    // Nothing to do, and no error, on either.
    b.checkpoint();
    b.checkpoint_if_large();
    b.checkpoint_fully().unwrap();
    t
}

#[test]
fn sqlite_and_postgres_give_the_same_results() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = run(&sqlite_backend(dir.path()));
    if !pg::have_postgres() {
        return;
    }
    let pg = pg::Pg::start();
    let postgres = run(&pg_backend(&pg, "conformance", dir.path()));
    assert_eq!(sqlite.len(), postgres.len());
    for (s, p) in sqlite.iter().zip(&postgres) {
        assert_eq!(s, p, "SQLite and PostgreSQL differ");
    }
}

/// What a backup copies (snapshot.rs's table list) is every table and
/// column of both schemas, and a PostgreSQL store's backup file reads back
/// row for row through the SQLite backend.
#[test]
fn a_postgres_backup_holds_every_row_and_column() {
    use super::snapshot::TABLES;
    use super::{AuditRow, MembershipRow};
    let dir = tempfile::tempdir().unwrap();
    let sqlite = sqlite_backend(dir.path());
    drop(sqlite);
    let conn = rusqlite::Connection::open(dir.path().join("kps.db")).unwrap();
    let listed = |sql: &str| -> Vec<String> {
        let mut stmt = conn.prepare(sql).unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    };
    let mut tables = listed(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name <> 'sqlite_sequence' ORDER BY name",
    );
    let mut expected: Vec<String> = TABLES.iter().map(|(t, _)| t.to_string()).collect();
    expected.sort();
    assert_eq!(tables, expected, "SQLite's tables");
    for (table, columns) in TABLES {
        let have = listed(&format!(
            "SELECT name FROM pragma_table_info('{table}') ORDER BY cid"
        ));
        assert_eq!(have, *columns, "SQLite's columns of {table}");
    }
    if !pg::have_postgres() {
        return;
    }
    let pg = pg::Pg::start();
    let b = pg_backend(&pg, "snapshot", dir.path());
    let Backend::Postgres(db) = &b else {
        unreachable!()
    };
    tables = db
        .query_text(
            "SELECT table_name FROM information_schema.tables
             WHERE table_schema = current_schema() AND table_name <> 'kps_schema' ORDER BY table_name",
        )
        .unwrap();
    assert_eq!(tables, expected, "PostgreSQL's tables");
    for (table, columns) in TABLES {
        let have = db
            .query_text(&format!(
                "SELECT column_name FROM information_schema.columns
                 WHERE table_schema = current_schema() AND table_name = '{table}'
                 AND NOT (table_name = 'bindings' AND column_name = 'id')
                 ORDER BY ordinal_position"
            ))
            .unwrap();
        assert_eq!(have, *columns, "PostgreSQL's columns of {table}");
    }

    // Rows in every table (the conformance sequence leaves keypairs with
    // and without envelopes, bindings, settings and the identity), plus
    // team statements and audit entries.
    run(&b);
    for epoch in 1..=2 {
        b.insert_membership(&MembershipRow {
            epoch,
            statement: vec![epoch as u8; 40],
            signer: vec![7; 32],
            signature: vec![9; 64],
        })
        .unwrap();
    }
    for (i, prev) in [None, Some(vec![1u8; 32])].into_iter().enumerate() {
        b.insert_audit(&AuditRow {
            id: 0,
            team_id: vec![3; 16],
            prev,
            at_micros: 1_700_000_000_000_000 + i as i64,
            epoch: 2,
            member: "alice".into(),
            action: "create".into(),
            target: format!("k{i}"),
            signature: vec![i as u8; 64],
        })
        .unwrap();
    }
    let file = dir.path().join("backup.db");
    std::fs::File::create(&file).unwrap();
    b.backup_to(&file).unwrap().unwrap();
    assert!(
        !dir.path().join("backup.db-wal").exists(),
        "the backup is one file"
    );
    let copy = super::open_sqlite(&file, false).unwrap();
    copy.migrate(|v| panic!("the backup is at version {v}"))
        .unwrap();
    let rows = |b: &Backend| -> Vec<String> {
        let mut bindings = b
            .bindings(BindingFilter::Matching {
                keypair: None,
                host: None,
            })
            .unwrap();
        bindings.iter_mut().for_each(|r| r.id = 0);
        vec![
            format!("{:?}", b.identity().unwrap()),
            format!("{:?}", b.keypairs_with_envelopes().unwrap()),
            format!("{bindings:?}"),
            format!("{:?}", b.setting("kms.token").unwrap()),
            format!("{:?}", b.membership_chain().unwrap()),
            format!("{:?}", b.audit_entries().unwrap()),
        ]
    };
    let (from, to) = (rows(&b), rows(&copy));
    assert!(from[1].contains("Some(["), "keypairs with envelopes");
    assert!(from[2].len() > 10 && from[5].contains("alice"));
    assert_eq!(from, to);
    // The copy's ids were kept: its bindings still name their keypairs,
    // and the keypairs' ids are the source's.
    for (k, _) in b.keypairs_with_envelopes().unwrap() {
        let id = b.keypair_id(&k.name).unwrap();
        assert!(id.is_some());
        assert_eq!(id, copy.keypair_id(&k.name).unwrap());
    }
}
