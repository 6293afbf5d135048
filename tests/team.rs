//! Team stores (issue 18): members with their own local stores creating and
//! reading each other's keys, removal, the audit log, and a database
//! superuser (or, for SQLite, whoever can write the file) attacking the
//! member list, the rows and the log. Every test runs on SQLite and on
//! PostgreSQL (a private cluster per test, common/pg.rs).

mod common;

use common::team::{Backend, Member, Place, Team, unhex};
use serde_json::Value;

/// Each test body once per backend.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $( #[test] fn $name() { super::$name(super::Backend::Sqlite) } )*
        }
        mod postgres {
            $( #[test] fn $name() { super::$name(super::Backend::Postgres) } )*
        }
    };
}

on_both_backends!(
    three_members_create_and_read_each_others_keys,
    a_removed_member_opens_nothing_made_or_resealed_after,
    membership_changes_are_refused_when_they_would_break_the_team,
    someone_who_has_not_joined_is_told_so,
    personal_store_commands_are_refused_on_a_team_store,
    a_statement_from_another_team_is_refused,
    a_swapped_member_key_is_refused,
    a_statement_signed_by_a_non_admin_is_refused,
    an_old_member_list_restored_is_refused,
    edited_or_planted_keypair_rows_are_refused,
    the_audit_log_records_and_flags,
    every_command_works_on_a_team_store,
    store_copy_moves_keypairs_in_and_out_whole,
    a_backup_is_the_team_store_in_one_file,
    kms_keypairs_work_for_every_member,
    the_agent_serves_a_team_key,
    bind_and_unbind_work_on_a_team_store,
);

fn team(backend: Backend) -> Option<Team> {
    Team::new(backend)
}

fn exported(m: &Member, name: &str) -> String {
    m.private(name).ok().stdout()
}

fn three_members_create_and_read_each_others_keys(backend: Backend) {
    let Some(t) = team(backend) else { return };
    let bob = t.add("bob");
    let carol = t.add("carol");
    let members = [&t.admin, &bob, &carol];
    for m in members {
        m.create(&format!("key-of-{}", m.name));
    }
    for name in ["key-of-alice", "key-of-bob", "key-of-carol"] {
        let keys: Vec<String> = members.iter().map(|m| exported(m, name)).collect();
        assert!(keys[0].contains("BEGIN OPENSSH PRIVATE KEY"));
        assert!(
            keys.iter().all(|k| k == &keys[0]),
            "every member opens the same {name}"
        );
    }
    let list = carol.run(&["--json", "list"]).ok().json();
    let names: Vec<&str> = list["keypairs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["keypair"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["key-of-alice", "key-of-bob", "key-of-carol"]);
    let members = bob.run(&["--json", "team", "members"]).ok().json();
    assert_eq!(members["epoch"], 3);
    let roles: Vec<(String, String, bool)> = members["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["name"].as_str().unwrap().to_string(),
                m["role"].as_str().unwrap().to_string(),
                m["you"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        roles,
        [
            ("alice".into(), "admin".into(), false),
            ("bob".into(), "member".into(), true),
            ("carol".into(), "member".into(), false)
        ]
    );
    // Nothing that opens a key is in the store: no identity row, and each
    // private key sealed to the three members.
    assert_eq!(t.place.sql("SELECT count(*) FROM identity"), "0");
    for cell in t.place.sql("SELECT private_key FROM keypairs").lines() {
        assert_eq!(seals_of(&unhex(cell)), ["alice", "bob", "carol"]);
    }
}

/// The member names of a team envelope (version 3: docs/store-format.md).
fn seals_of(envelope: &[u8]) -> Vec<String> {
    assert_eq!(envelope[0], 3, "a team envelope");
    let count = u16::from_be_bytes([envelope[1], envelope[2]]);
    let mut at = 3;
    let mut names = Vec::new();
    for _ in 0..count {
        let len = envelope[at] as usize;
        names.push(String::from_utf8(envelope[at + 1..at + 1 + len].to_vec()).unwrap());
        at += 1 + len;
        let seal = u16::from_be_bytes([envelope[at], envelope[at + 1]]) as usize;
        at += 2 + seal;
    }
    names
}

/// The ciphertext of a team envelope (after the seals and the nonce).
fn body_of(envelope: &[u8]) -> Vec<u8> {
    let count = u16::from_be_bytes([envelope[1], envelope[2]]);
    let mut at = 3;
    for _ in 0..count {
        at += 1 + envelope[at] as usize;
        at += 2 + u16::from_be_bytes([envelope[at], envelope[at + 1]]) as usize;
    }
    envelope[at..].to_vec()
}

fn envelope(place: &Place, name: &str) -> Vec<u8> {
    unhex(&place.sql(&format!(
        "SELECT private_key FROM keypairs WHERE name = '{name}'"
    )))
}

fn a_removed_member_opens_nothing_made_or_resealed_after(backend: Backend) {
    let Some(t) = team(backend) else { return };
    let bob = t.add("bob");
    let carol = t.add("carol");
    t.admin.create("before");
    let old = envelope(&t.place, "before");
    assert_eq!(seals_of(&old), ["alice", "bob", "carol"]);
    assert!(exported(&bob, "before").contains("PRIVATE KEY"));
    let out = t
        .admin
        .run(&["--json", "team", "remove", "bob"])
        .ok()
        .json();
    assert_eq!(out["removed"], "bob");
    assert_eq!(out["epoch"], 4);
    // Re-sealed: a fresh data key (another body), no seal for bob.
    let new = envelope(&t.place, "before");
    assert_eq!(seals_of(&new), ["alice", "carol"]);
    assert_ne!(
        body_of(&old),
        body_of(&new),
        "a removal gives every key a new data key"
    );
    carol.create("after");
    assert_eq!(seals_of(&envelope(&t.place, "after")), ["alice", "carol"]);
    // Bob's kps refuses him everything: reads, writes, the member list.
    for args in [
        vec!["--json", "export", "before", "-o", "-"],
        vec!["--json", "export", "after", "-o", "-"],
        vec!["--json", "create", "bobs"],
        vec!["--json", "list"],
    ] {
        let run = bob.run(&args).expect(6);
        assert_eq!(run.error_json()["error_code"], "KPS.7085", "{args:?}");
    }
    // Carol still opens both, and they are the same keys as before.
    assert!(exported(&carol, "before").contains("PRIVATE KEY"));
    assert_eq!(exported(&carol, "after"), exported(&t.admin, "after"));
}

fn membership_changes_are_refused_when_they_would_break_the_team(backend: Backend) {
    let Some(t) = team(backend) else { return };
    let bob = t.add("bob");
    // The last admin cannot go.
    let run = t
        .admin
        .run(&["--json", "team", "remove", "alice"])
        .expect(1);
    assert_eq!(run.error_json()["error_code"], "KPS.7082");
    // A member is no admin.
    let carol = Member::new("carol", &t.place);
    let run = bob
        .run(&["--json", "team", "invite", &carol.line()])
        .expect(1);
    assert_eq!(run.error_json()["error_code"], "KPS.7082");
    let run = bob.run(&["--json", "team", "remove", "alice"]).expect(1);
    assert_eq!(run.error_json()["error_code"], "KPS.7082");
    // A name, or a key, already there.
    let again = Member::new("bob", &t.place);
    let run = t
        .admin
        .run(&["--json", "team", "invite", &again.line()])
        .expect(1);
    assert_eq!(run.error_json()["error_code"], "KPS.7082");
    let bob_line = bob.line().replace(" bob ", " bobby ");
    let run = t
        .admin
        .run(&["--json", "team", "invite", &bob_line])
        .expect(1);
    assert_eq!(run.error_json()["error_code"], "KPS.7082");
    // A line that is no member line, or holds a line break.
    let run = t
        .admin
        .run(&["--json", "team", "invite", "kps-member-v1 x\nmallory"])
        .expect(5);
    assert_eq!(run.error_json()["error_code"], "KPS.7080");
    // Nothing changed.
    let members = t.admin.run(&["--json", "team", "members"]).ok().json();
    assert_eq!(members["epoch"], 2);
    assert_eq!(members["members"].as_array().unwrap().len(), 2);
    // A second admin may remove the first.
    let dave = t.add_as("dave", true);
    dave.run(&["team", "remove", "alice"]).ok();
    let members = dave.run(&["--json", "team", "members"]).ok().json();
    let names: Vec<&str> = members["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["bob", "dave"]);
    // The lines can come on standard input ('-'), as from a file or mail.
    let erin = Member::new("erin", &t.place);
    let line_file = erin.own.path("erin.member");
    std::fs::write(&line_file, format!("{}\n", erin.line())).unwrap();
    let invitation = dave
        .run_with(&["team", "invite", "-"], |c| {
            c.stdin(std::fs::File::open(&line_file).unwrap());
        })
        .ok()
        .stdout();
    let invitation_file = erin.own.path("invitation");
    std::fs::write(&invitation_file, invitation).unwrap();
    erin.run_with(&["team", "join", "erin", "--invitation", "-"], |c| {
        c.stdin(std::fs::File::open(&invitation_file).unwrap());
    })
    .ok();
    assert_eq!(
        erin.run(&["--json", "team", "members"]).ok().json()["epoch"],
        5
    );
}

fn someone_who_has_not_joined_is_told_so(backend: Backend) {
    let Some(t) = team(backend) else { return };
    t.admin.create("web");
    let mallory = Member::new("mallory", &t.place);
    for args in [
        vec!["--json", "list"],
        vec!["--json", "export", "web", "-o", "-"],
        vec!["--json", "create", "x"],
    ] {
        let run = mallory.run(&args).expect(6);
        assert_eq!(run.error_json()["error_code"], "KPS.7084", "{args:?}");
    }
    // Invited but not joined yet: still not.
    t.admin.run(&["team", "invite", &mallory.line()]).ok();
    let run = mallory.run(&["--json", "list"]).expect(6);
    assert_eq!(run.error_json()["error_code"], "KPS.7084");
    // An invitation for another key (or epoch) does not let them in.
    let forged = format!(
        "kps-team-invite-v1 {} 2 {}",
        t.admin.run(&["--json", "team", "members"]).ok().json()["team_id"]
            .as_str()
            .unwrap(),
        "O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik="
    );
    let run = mallory
        .run(&["--json", "team", "join", "mallory", "--invitation", &forged])
        .expect(7);
    assert_eq!(run.error_json()["error_code"], "KPS.7081");
}

fn personal_store_commands_are_refused_on_a_team_store(backend: Backend) {
    let Some(t) = team(backend) else { return };
    for args in [
        vec!["--json", "init"],
        vec!["--json", "passwd"],
        vec!["--json", "identity"],
    ] {
        let run = t.admin.run(&args).expect(1);
        assert_eq!(run.error_json()["error_code"], "KPS.7086", "{args:?}");
    }
    // A second init of the team is refused too.
    let run = t.admin.run(&["--json", "team", "init", "alice"]).expect(1);
    assert_eq!(run.error_json()["error_code"], "KPS.7082");
}

/// Every member's command on the team store is refused as KPS.7081 (the
/// member list does not verify) and writes nothing.
fn refused_by_everyone(t: &Team, members: &[&Member]) {
    let before = t.place.sql("SELECT count(*) FROM keypairs");
    for m in members {
        for args in [
            vec!["--json", "list"],
            vec!["--json", "create", "after-attack"],
        ] {
            let run = m.run(&args).expect(7);
            assert_eq!(
                run.error_json()["error_code"],
                "KPS.7081",
                "{} {args:?}: {}",
                m.name,
                run.stderr()
            );
        }
    }
    assert_eq!(t.place.sql("SELECT count(*) FROM keypairs"), before);
}

fn a_statement_from_another_team_is_refused(backend: Backend) {
    let Some(t) = team(backend) else { return };
    let bob = t.add("bob");
    // Mallory runs her own team, in which she added the real members'
    // keys, and the DBA copies her statements over the real ones.
    let Some(other) = Team::new(backend) else {
        return;
    };
    let stolen = other
        .place
        .sql("SELECT epoch, statement, signer, signature FROM team_membership ORDER BY epoch");
    t.place.sql("DELETE FROM team_membership");
    for row in stolen.lines() {
        let cells: Vec<&str> = row.split('|').collect();
        t.place.insert_statement(
            cells[0].parse().unwrap(),
            &unhex(cells[1]),
            &unhex(cells[2]),
            &unhex(cells[3]),
        );
    }
    // The store now says it is another team, which no one here joined.
    for m in [&t.admin, &bob] {
        let run = m.run(&["--json", "list"]).expect(6);
        assert_eq!(run.error_json()["error_code"], "KPS.7084");
    }
}

/// The newest statement, as stored.
fn newest(place: &Place) -> (i64, Vec<u8>, Vec<u8>, Vec<u8>) {
    let row = place.sql(
        "SELECT epoch, statement, signer, signature FROM team_membership ORDER BY epoch DESC LIMIT 1",
    );
    let cells: Vec<&str> = row.split('|').collect();
    (
        cells[0].parse().unwrap(),
        unhex(cells[1]),
        unhex(cells[2]),
        unhex(cells[3]),
    )
}

fn x25519_of(line: &str) -> Vec<u8> {
    use base64ct::Encoding;
    let field = line.split(' ').nth(2).unwrap();
    base64ct::Base64::decode_vec(field).unwrap()
}

fn a_swapped_member_key_is_refused(backend: Backend) {
    let Some(t) = team(backend) else { return };
    let bob = t.add("bob");
    let mallory = Member::new("bob", &t.place);
    // The DBA puts Mallory's sealing key where Bob's is, keeping the
    // admin's signature.
    let (epoch, mut statement, _, _) = newest(&t.place);
    let bobs = x25519_of(&bob.line());
    let at = statement
        .windows(32)
        .position(|w| w == bobs.as_slice())
        .expect("bob's key is in the statement");
    statement[at..at + 32].copy_from_slice(&x25519_of(&mallory.line()));
    t.place.sql(&format!(
        "UPDATE team_membership SET statement = {} WHERE epoch = {epoch}",
        t.place.blob(&statement)
    ));
    refused_by_everyone(&t, &[&t.admin, &bob]);
}

fn a_statement_signed_by_a_non_admin_is_refused(backend: Backend) {
    use ed25519_dalek::Signer;
    let Some(t) = team(backend) else { return };
    let bob = t.add("bob");
    // The DBA adds a statement one epoch on that lists their own key,
    // signed with a key of their own (they have no admin's).
    let (epoch, mut statement, _, _) = newest(&t.place);
    let label = b"kps team membership v1\0".len() + 16;
    statement[label..label + 8].copy_from_slice(&((epoch + 1) as u64).to_be_bytes());
    let at = statement
        .windows(32)
        .position(|w| w == x25519_of(&bob.line()).as_slice())
        .unwrap();
    let mallory = Member::new("mallory", &t.place);
    statement[at..at + 32].copy_from_slice(&x25519_of(&mallory.line()));
    let key = ed25519_dalek::SigningKey::from_bytes(&[9u8; 32]);
    let signature = key.sign(&statement).to_bytes();
    t.place.insert_statement(
        epoch + 1,
        &statement,
        &key.verifying_key().to_bytes(),
        &signature,
    );
    refused_by_everyone(&t, &[&t.admin, &bob]);
}

fn an_old_member_list_restored_is_refused(backend: Backend) {
    let Some(t) = team(backend) else { return };
    let bob = t.add("bob");
    t.admin.create("shared");
    t.admin.run(&["team", "remove", "bob"]).ok();
    // The DBA restores the list from before Bob's removal.
    t.place.sql("DELETE FROM team_membership WHERE epoch = 3");
    // Alice's kps saw epoch 3: it refuses the store, and writes nothing.
    let before = t.place.sql("SELECT count(*) FROM keypairs");
    for args in [vec!["--json", "list"], vec!["--json", "create", "x"]] {
        let run = t.admin.run(&args).expect(7);
        assert_eq!(run.error_json()["error_code"], "KPS.7081", "{args:?}");
    }
    assert_eq!(t.place.sql("SELECT count(*) FROM keypairs"), before);
    // Bob's kps never saw epoch 3 and takes the old list, but the key was
    // sealed again without him: he opens nothing.
    let run = bob
        .run(&["--json", "export", "shared", "-o", "-"])
        .expect(7);
    assert_eq!(run.error_json()["error_code"], "KPS.6011");
    assert!(
        run.stderr().contains("not sealed to you"),
        "{}",
        run.stderr()
    );
}

fn edited_or_planted_keypair_rows_are_refused(backend: Backend) {
    let Some(t) = team(backend) else { return };
    let bob = t.add("bob");
    bob.create("web");
    bob.create("db");
    // Alice lists them once: her kps keeps the rows it verified
    // (docs/store-format.md, "Verified rows"), which must not let an edited
    // row through.
    t.admin.run(&["list"]).ok();
    let cache = std::fs::read_dir(t.admin.own.config_home().join("kps/teams"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "verified"))
        .expect("a verified-rows file");
    assert_eq!(common::mode_of(&cache) & 0o777, 0o600);
    // An edited column: the signature no longer verifies.
    t.place
        .sql("UPDATE keypairs SET description = 'edited' WHERE name = 'web'");
    let run = t.admin.run(&["--json", "show", "web"]).expect(7);
    assert_eq!(run.error_json()["error_code"], "KPS.6011");
    // A row signed by someone who is not a member: the DBA's own.
    t.place
        .sql("UPDATE keypairs SET description = NULL WHERE name = 'web'");
    t.admin.run(&["--json", "show", "web"]).ok();
    let mac = unhex(&t.place.sql("SELECT mac FROM keypairs WHERE name = 'db'"));
    let mut forged = mac.clone();
    forged[2..5].copy_from_slice(b"eve");
    t.place.set_keypair_blob("db", "mac", &forged);
    let run = t
        .admin
        .run(&["--json", "export", "db", "-o", "-"])
        .expect(7);
    assert_eq!(run.error_json()["error_code"], "KPS.6011");
    // Put back, the row verifies again.
    t.place.set_keypair_blob("db", "mac", &mac);
    t.admin.run(&["show", "db"]).ok();
    // Web's sealed key (sealed to every member) moved into db's row: its
    // data key and body are bound to web's name and public key.
    let web = envelope(&t.place, "web");
    t.place.set_keypair_blob("db", "private_key", &web);
    let run = t
        .admin
        .run(&["--json", "export", "db", "-o", "-"])
        .expect(7);
    assert_eq!(run.error_json()["error_code"], "KPS.6011");
    assert!(exported(&t.admin, "web").contains("PRIVATE KEY"));
}

fn the_audit_log_records_and_flags(backend: Backend) {
    let Some(t) = team(backend) else { return };
    let bob = t.add("bob");
    bob.create("web");
    exported(&t.admin, "web");
    t.admin.run(&["export-ppk", "web", "-o", "web.ppk"]).ok();
    bob.run(&["--json", "delete", "web", "--yes"]).ok();
    let log = t.admin.run(&["--json", "team", "log"]).ok().json();
    let entries: Vec<(String, String, String, bool)> = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["member"].as_str().unwrap().into(),
                e["action"].as_str().unwrap().into(),
                e["target"].as_str().unwrap().into(),
                e["verified"].as_bool().unwrap(),
            )
        })
        .collect();
    let t4 = |m: &str, a: &str, x: &str| (m.to_string(), a.to_string(), x.to_string(), true);
    assert_eq!(
        entries,
        [
            t4("alice", "team-init", "alice"),
            t4("alice", "member-add", "bob"),
            t4("bob", "create", "web"),
            t4("alice", "export", "web"),
            t4("alice", "export-ppk", "web"),
            t4("bob", "delete", "web"),
        ]
    );
    assert_eq!(log["unverified"], 0);
    assert_eq!(log["missing_head"], Value::Null);
    // The DBA cuts the newest entry (Bob's delete): Alice's kps saw it.
    let last = log["entries"].as_array().unwrap().last().unwrap()["id"].clone();
    t.place
        .sql(&format!("DELETE FROM team_audit WHERE id = {last}"));
    let cut = t.admin.run(&["--json", "team", "log"]).ok().json();
    assert_eq!(cut["missing_head"], last);
    assert_eq!(cut["unverified"], 0, "what is left still verifies");
    let run = t.admin.run(&["team", "log"]).ok();
    assert!(
        run.stderr().contains("removed from its end"),
        "{}",
        run.stderr()
    );
    // Bob never listed the log: nothing to compare with.
    assert_eq!(
        bob.run(&["--json", "team", "log"]).ok().json()["missing_head"],
        Value::Null
    );
    bob.run(&["--json", "create", "again"]).ok();
    let only = bob
        .run(&["--json", "team", "log", "--keypair", "web"])
        .ok()
        .json();
    assert_eq!(only["entries"].as_array().unwrap().len(), 3);
    // The DBA rewrites who exported the key, and removes the creation.
    t.place
        .sql("UPDATE team_audit SET member = 'bob' WHERE action = 'export'");
    t.place
        .sql("DELETE FROM team_audit WHERE action = 'create'");
    let run = t.admin.run(&["--json", "team", "log"]).ok();
    let log = run.json();
    assert_eq!(log["unverified"], 2);
    let flagged: Vec<&Value> = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| !e["verified"].as_bool().unwrap())
        .collect();
    assert_eq!(flagged[0]["action"], "export");
    assert!(
        flagged[0]["problems"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p.as_str().unwrap().contains("does not follow")),
        "{flagged:?}"
    );
    assert!(
        flagged[0]["problems"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p.as_str().unwrap().contains("signature")),
        "{flagged:?}"
    );
    // A planted member name holding escape sequences is shown escaped.
    t.place.sql(&format!(
        "INSERT INTO team_audit (team_id, prev, at_micros, epoch, member, action, target, signature) \
         VALUES ({}, NULL, 0, 1, 'x\u{1b}[31m', 'create', 'y', {})",
        t.place.blob(&[0; 16]),
        t.place.blob(&[0; 64])
    ));
    let run = t.admin.run(&["team", "log"]).ok();
    assert!(!run.stdout().contains('\u{1b}'), "{}", run.stdout());
    assert!(run.stdout().contains("UNVERIFIED"));
}

fn every_command_works_on_a_team_store(backend: Backend) {
    let Some(t) = team(backend) else { return };
    let bob = t.add("bob");
    let a = &t.admin;
    let created = a.create("web");
    assert_eq!(created["keypair"]["name"], "web");
    a.run(&["--json", "create", "rsa", "--type", "rsa", "--bits", "2048"])
        .ok();
    // Import a key file made by this kps's export.
    let pem = exported(a, "web");
    let file = a.own.path("id_import");
    std::fs::write(&file, &pem).unwrap();
    let imported = bob
        .run(&[
            "--json",
            "import",
            "copied",
            "--private-key",
            file.to_str().unwrap(),
        ])
        .ok()
        .json();
    assert_eq!(
        imported["keypair"]["fingerprint"],
        created["keypair"]["fingerprint"]
    );
    let shown = bob.run(&["--json", "show", "web"]).ok().json();
    assert_eq!(
        shown["keypair"]["fingerprint"],
        created["keypair"]["fingerprint"]
    );
    let found = bob
        .run(&[
            "--json",
            "find",
            created["keypair"]["fingerprint"].as_str().unwrap(),
        ])
        .ok()
        .json();
    assert_eq!(found["keypairs"].as_array().unwrap().len(), 2);
    bob.run(&["--json", "export", "web", "--format", "public"])
        .ok();
    bob.run(&["--json", "export-ppk", "web", "-o", "web.ppk"])
        .ok();
    bob.run(&["--json", "rename", "copied", "moved"]).ok();
    bob.run(&["--json", "set", "moved", "--description", "by bob"])
        .ok();
    let shown = a.run(&["--json", "show", "moved"]).ok().json();
    assert_eq!(shown["keypair"]["description"], "by bob");
    assert_eq!(exported(a, "moved"), exported(&bob, "moved"));
    // get-win-password: a password encrypted to the RSA key as a cloud
    // does (PKCS#1 v1.5), decrypted by another member.
    if common::have_tool("openssl") && common::have_tool("ssh-keygen") {
        let line = a
            .run(&["export", "rsa", "--format", "public"])
            .ok()
            .stdout();
        let public = a.own.path("rsa.pub");
        std::fs::write(&public, line).unwrap();
        let spki = common::tool_ok("ssh-keygen", &[&"-e", &"-m", &"PKCS8", &"-f", &public]);
        let spki_file = a.own.path("rsa.spki");
        std::fs::write(&spki_file, spki).unwrap();
        let pw_file = a.own.path("pw");
        std::fs::write(&pw_file, "Winter-2026!").unwrap();
        let out = std::process::Command::new("openssl")
            .args(["pkeyutl", "-encrypt", "-pubin", "-inkey"])
            .arg(&spki_file)
            .args(["-pkeyopt", "rsa_padding_mode:pkcs1", "-in"])
            .arg(&pw_file)
            .output()
            .unwrap();
        assert!(out.status.success());
        use base64ct::Encoding;
        let data = base64ct::Base64::encode_string(&out.stdout);
        let got = bob
            .run(&[
                "--json",
                "get-win-password",
                "rsa",
                "--password-data",
                &data,
            ])
            .ok()
            .json();
        assert_eq!(got["password"], "Winter-2026!");
    }
    bob.run(&["--json", "verify"]).ok();
    a.run(&["--json", "delete", "moved", "--yes"]).ok();
    let list = bob.run(&["--json", "list"]).ok().json();
    let names: Vec<&str> = list["keypairs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["keypair"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["rsa", "web"]);
}

fn fingerprints(list: &Value) -> Vec<(String, String)> {
    list["keypairs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            (
                k["keypair"]["name"].as_str().unwrap().to_string(),
                k["keypair"]["fingerprint"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// `kps store copy` by `m` from `from` into a new personal store (made by
/// the copy, with the passphrase in its `pass_file`); the copy's JSON and
/// that store.
fn copy_to_new_store(
    m: &Member,
    from: &std::ffi::OsStr,
    env: impl FnOnce(&mut std::process::Command),
) -> (Value, common::Kps) {
    let out = common::Kps::empty();
    let args: Vec<std::ffi::OsString> = vec![
        "--json".into(),
        "store".into(),
        "copy".into(),
        "--from".into(),
        from.to_owned(),
        "--to".into(),
        out.store.clone().into(),
        "--to-passphrase-file".into(),
        out.pass_file.clone().into(),
    ];
    let copied = m.run_with(&args, env).ok().json();
    (copied, out)
}

fn store_copy_moves_keypairs_in_and_out_whole(backend: Backend) {
    let Some(t) = team(backend) else { return };
    let bob = t.add("bob");
    let a = &t.admin;
    // Alice's own store holds keypairs of every kind.
    a.own.run(&["create", "ed"]).ok();
    a.own
        .run(&[
            "create",
            "ec",
            "--type",
            "ecdsa",
            "--bits",
            "384",
            "--description",
            "d",
        ])
        .ok();
    std::fs::write(
        a.own.path("pub.pub"),
        a.own
            .run(&["export", "ed", "--format", "public"])
            .ok()
            .stdout(),
    )
    .unwrap();
    a.own
        .run(&[
            "import",
            "pubonly",
            "--public-key",
            a.own.path("pub.pub").to_str().unwrap(),
        ])
        .ok();
    let own: &std::path::Path = &a.own.store;
    let personal = fingerprints(&a.own.run(&["--json", "list"]).ok().json());
    // --from and --to are on the command line: a URL there must not hold
    // the password (ps would show it), which goes in PGPASSWORD instead.
    let full = t.place.arg().into_string().unwrap();
    let (team_arg, password): (std::ffi::OsString, Option<String>) =
        match full.strip_prefix("postgres://") {
            Some(rest) => {
                let (userinfo, host) = rest.split_once('@').unwrap();
                let (user, password) = userinfo.split_once(':').unwrap();
                let run = a
                    .run(&[
                        "--json",
                        "store",
                        "copy",
                        "--from",
                        own.to_str().unwrap(),
                        "--to",
                        &full,
                    ])
                    .expect(2);
                assert!(!run.stderr().contains(password), "{}", run.stderr());
                (
                    format!("postgres://{user}@{host}").into(),
                    Some(password.to_string()),
                )
            }
            None => (full.into(), None),
        };
    let with_password = |c: &mut std::process::Command| {
        if let Some(p) = &password {
            c.env("PGPASSWORD", p);
        }
    };
    let mut args: Vec<std::ffi::OsString> = vec!["--json".into(), "store".into(), "copy".into()];
    args.extend([
        "--from".into(),
        own.as_os_str().to_owned(),
        "--to".into(),
        team_arg.clone(),
    ]);
    let copied = a.run_with(&args, with_password).ok().json();
    assert_eq!(copied["copied"], 3);
    assert_eq!(
        fingerprints(&bob.run(&["--json", "list"]).ok().json()),
        personal
    );
    // Bob opens what came from Alice's own store, the same key.
    assert_eq!(
        exported(&bob, "ed"),
        a.own.run(&["export", "ed", "-o", "-"]).ok().stdout()
    );
    // Again: every name is taken, nothing is half-copied.
    let run = a.run_with(&args, with_password).expect(4);
    assert_eq!(run.error_json()["error_code"], "KPS.7001");
    assert_eq!(
        bob.run(&["--json", "list"]).ok().json()["keypairs"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    // Out again, by Bob, into a new personal store of his.
    let (copied, out) = copy_to_new_store(&bob, &team_arg, with_password);
    assert_eq!(copied["copied"], 3);
    assert_eq!(
        fingerprints(&out.run(&["--json", "list"]).ok().json()),
        personal
    );
    assert_eq!(
        out.run(&["export", "ec", "-o", "-"]).ok().stdout(),
        a.own.run(&["export", "ec", "-o", "-"]).ok().stdout()
    );
    let shown = out.run(&["--json", "show", "ec"]).ok().json();
    assert_eq!(shown["keypair"]["description"], "d");
    // The team's log has each key copied in, and each private key read out
    // (Bob's export of ed above, then ed and ec by the copy).
    let log = bob.run(&["--json", "team", "log"]).ok().json();
    let actions: Vec<&str> = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions.iter().filter(|a| **a == "import").count(), 3);
    assert_eq!(actions.iter().filter(|a| **a == "export").count(), 3);
}

/// `kps backup FILE` of a team store (a PostgreSQL database or a store
/// directory) writes one store file holding the same sealed keys, member
/// statements and audit log: members read it with `--store FILE` from the
/// pins they have, and `store copy` takes keys out of it.
fn a_backup_is_the_team_store_in_one_file(backend: Backend) {
    let Some(t) = team(backend) else { return };
    let bob = t.add("bob");
    let a = &t.admin;
    a.create("web");
    bob.run(&["--json", "create", "rsa", "--type", "rsa", "--bits", "2048"])
        .ok();
    let listed = fingerprints(&bob.run(&["--json", "list"]).ok().json());
    let members = bob.run(&["--json", "team", "members"]).ok().json();
    let log = bob.run(&["--json", "team", "log"]).ok().json();
    let file = bob.own.path("team-backup.db");
    let file_arg = file.to_str().unwrap();
    let done = bob.run(&["--json", "backup", file_arg]).ok().json();
    assert_eq!(done["backup"], file_arg);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    assert!(!bob.own.path("team-backup.db-wal").exists());
    // Written after the backup: not in it.
    a.create("later");
    a.run(&["--json", "delete", "rsa", "--yes"]).ok();
    let from_file = |m: &Member, args: &[&str]| {
        let mut all = vec!["--store", file_arg];
        all.extend(args);
        m.run(&all)
    };
    assert_eq!(
        fingerprints(&from_file(&bob, &["--json", "list"]).ok().json()),
        listed
    );
    assert_eq!(
        from_file(&bob, &["--json", "team", "members"]).ok().json()["members"],
        members["members"]
    );
    assert_eq!(from_file(&bob, &["--json", "team", "log"]).ok().json(), log);
    // Each member opens their own seal in the file: the same keys.
    let web = from_file(a, &["export", "web", "-o", "-"]).ok().stdout();
    assert!(web.contains("PRIVATE KEY"));
    assert_eq!(web, exported(&bob, "web"));
    assert_eq!(
        from_file(&bob, &["export", "rsa", "-o", "-"]).ok().stdout(),
        from_file(a, &["export", "rsa", "-o", "-"]).ok().stdout()
    );
    // Someone who never joined gets nothing out of it.
    let mallory = Member::new("mallory", &t.place);
    let run = from_file(&mallory, &["--json", "export", "web", "-o", "-"]);
    assert_ne!(run.code(), 0);
    assert!(!run.stdout().contains("PRIVATE KEY"));
    // Keys come back out of it with store copy, here into a new personal store.
    let (copied, out) = copy_to_new_store(&bob, file.as_os_str(), |_| {});
    assert_eq!(copied["copied"], 2);
    assert_eq!(
        fingerprints(&out.run(&["--json", "list"]).ok().json()),
        listed
    );
    assert_eq!(out.run(&["export", "web", "-o", "-"]).ok().stdout(), web);
}

/// Encryption type kms in a team store: a keypair moved to the token is
/// opened by any member who can log in to it, and moved back it is sealed
/// to every member again.
fn kms_keypairs_work_for_every_member(backend: Backend) {
    if !common::hsm::have_softhsm() {
        return;
    }
    let Some(t) = team(backend) else { return };
    let bob = t.add("bob");
    let dir = tempfile::tempdir().unwrap();
    let hsm = common::hsm::Hsm::new(dir.path());
    let pin_file = dir.path().join("pin");
    std::fs::write(&pin_file, format!("{}\n", common::hsm::PIN)).unwrap();
    let token = |c: &mut std::process::Command| {
        c.env("SOFTHSM2_CONF", &hsm.conf)
            .env("KPS_PKCS11_PIN_FILE", &pin_file);
    };
    hsm.set_up_kms(&t.admin.own, token);
    let module = common::hsm::softhsm_module().unwrap();
    bob.own
        .run_with(
            &[
                "kms",
                "configure",
                "--module",
                module.to_str().unwrap(),
                "--token",
                common::hsm::TOKEN,
            ],
            token,
        )
        .ok();
    t.admin.create("web");
    let before = exported(&bob, "web");
    let moved = t
        .admin
        .run_with(
            &[
                "--json",
                "set-encryption",
                "web",
                "--encryption",
                "kms",
                "--kms-key-name",
                "kps/default",
            ],
            token,
        )
        .ok()
        .json();
    assert_eq!(
        moved["keypair"]["key_protection"]["encryption"]["type"],
        "kms"
    );
    assert_eq!(envelope(&t.place, "web")[0], 2, "a token envelope");
    let via_token = bob
        .run_with(&["export", "web", "-o", "-"], token)
        .ok()
        .stdout();
    assert_eq!(via_token, before);
    bob.run_with(
        &["--json", "set-encryption", "web", "--encryption", "default"],
        token,
    )
    .ok();
    assert_eq!(seals_of(&envelope(&t.place, "web")), ["alice", "bob"]);
    assert_eq!(exported(&t.admin, "web"), before);
    let log = t
        .admin
        .run(&["--json", "team", "log", "--keypair", "web"])
        .ok()
        .json();
    let actions: Vec<&str> = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "create",
            "export",
            "set-encryption",
            "export",
            "set-encryption",
            "export"
        ]
    );
}

/// `kps agent` serves a team store's key to ssh-add, opened with the
/// member's own passphrase.
fn the_agent_serves_a_team_key(backend: Backend) {
    use std::io::BufRead;
    if !common::have_tool("ssh-add") {
        return;
    }
    let Some(t) = team(backend) else { return };
    let bob = t.add("bob");
    let fingerprint = t.admin.create("web")["keypair"]["fingerprint"]
        .as_str()
        .unwrap()
        .to_string();
    let mut child = bob
        .command()
        .args(["--json", "agent", "-D", "web"])
        .env("XDG_RUNTIME_DIR", bob.own.dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let doc: Value = serde_json::from_str(&line).expect("the agent's start line");
    let out = std::process::Command::new("ssh-add")
        .arg("-l")
        .env("SSH_AUTH_SOCK", doc["socket"].as_str().unwrap())
        .output()
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(listed.contains(&fingerprint), "{listed}");
}

/// The server commands on a team store: Bob binds Alice's keypair to a
/// real sshd (in a mount namespace, tests/common/nssshd.rs) with password
/// login turned off; Alice sees the binding (a row Bob signed), a delete is
/// refused while it is bound, and Alice unbinds it, logging in with the key.
fn bind_and_unbind_work_on_a_team_store(backend: Backend) {
    use common::nssshd::{KpsClient, Layout, NsSshd, have_unshare, results};
    if !have_unshare() {
        return;
    }
    let Some(t) = team(backend) else { return };
    let bob = t.add("bob");
    t.admin.create("web");
    // ssh's home, known_hosts and wrapper (the server's host key trusted).
    let client = KpsClient::new();
    let s = NsSshd::new(Layout::Ubuntu);
    client.trust(&s);
    let with_ssh = |c: &mut std::process::Command| {
        c.env("HOME", client.home())
            .env("TMPDIR", client.tmp())
            .env("XDG_RUNTIME_DIR", client.runtime())
            .env("KPS_SSH", client.ssh_program())
            .env_remove("SSH_AUTH_SOCK")
            .env_remove("SSH_ASKPASS")
            .env_remove("DISPLAY");
    };
    let target = s.target("root");
    let pw = client.root_password_file();
    let run = bob
        .run_with(
            &[
                "--json",
                "bind",
                "web",
                &target,
                "--password-file",
                &pw,
                "--disable-password-login",
            ],
            with_ssh,
        )
        .ok();
    assert_eq!(results(&run)[0]["status"], "SUCCESS", "{}", run.stdout());
    assert_eq!(s.methods_offered("root"), "publickey");
    let key_file = t.admin.own.path("web.key");
    t.admin
        .run(&["export", "web", "-o", key_file.to_str().unwrap()])
        .ok();
    assert!(s.key_login_works("root", &key_file));
    // Alice's kps checks the binding row Bob signed.
    let bindings = t.admin.run(&["--json", "bindings"]).ok().json();
    let listed = bindings["bindings"].as_array().unwrap();
    assert_eq!(listed.len(), 1, "{bindings}");
    assert_eq!(listed[0]["password_login"], "disabled");
    let run = t.admin.run(&["--json", "delete", "web", "--yes"]).expect(1);
    assert_eq!(run.error_json()["error_code"], "KPS.7069");
    let run = t
        .admin
        .run_with(
            &[
                "--json",
                "unbind",
                "web",
                &target,
                "--enable-password-login",
            ],
            with_ssh,
        )
        .ok();
    assert_eq!(results(&run)[0]["status"], "SUCCESS", "{}", run.stdout());
    assert!(!s.key_login_works("root", &key_file));
    assert!(
        t.admin.run(&["--json", "bindings"]).ok().json()["bindings"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}
