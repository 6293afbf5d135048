//! `kps bindings`, `kps show`'s servers and `kps delete` of a bound keypair,
//! on stores whose bindings are recorded through the library as `kps bind`
//! records them (tests/bind.rs goes through `kps bind` itself).

mod common;

use common::*;
use kps::store::{Binding, KdfParams, PasswordLogin, Store};
use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;

/// The environment variable that tells this test binary, run again as a
/// child, which bindings to record in which store.
const CHILD: &str = "KPS_TEST_RECORD_BINDINGS";

/// One binding to record: keypair, user, host, port, authorized_keys path,
/// password login.
type Spec<'a> = (&'a str, &'a str, &'a str, u16, &'a str, &'a str);

/// Record `bindings` in `kps`'s store with `Store::record_binding`, as
/// `kps bind` does. It runs in a child process (this test binary again,
/// running only [`record_child`]) whose config directory is the test's own,
/// so that the store's pin there gives the row key and nothing is read from
/// or written to the real user's config directory.
fn record(kps: &Kps, bindings: &[Spec<'_>]) {
    let spec = json!({
        "store": kps.store,
        "bindings": bindings
            .iter()
            .map(|(keypair, user, host, port, path, login)| json!({
                "keypair": keypair, "user": user, "host": host, "port": port,
                "path": path, "login": login,
            }))
            .collect::<Vec<_>>(),
    });
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["record_child", "--exact", "--test-threads=1", "--nocapture"])
        .env(CHILD, spec.to_string())
        .env("XDG_CONFIG_HOME", kps.config_home())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "recording failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The child's side of [`record`]; does nothing in an ordinary test run.
#[test]
fn record_child() {
    let Ok(spec) = std::env::var(CHILD) else {
        return;
    };
    let spec: Value = serde_json::from_str(&spec).unwrap();
    let store = Store::open_required(Path::new(spec["store"].as_str().unwrap())).unwrap();
    // The store is pinned in this process's config directory (the test's):
    // the row key comes from the pin, no passphrase.
    let keys = store
        .write_keys(
            false,
            KdfParams::default(),
            |_| Err(kps::Error::NotInitialised),
            || Err(kps::Error::NotInitialised),
        )
        .unwrap();
    assert!(keys.row_key.is_some(), "the store is pinned here");
    for b in spec["bindings"].as_array().unwrap() {
        let text = |k: &str| b[k].as_str().unwrap().to_string();
        store
            .record_binding(
                keys.row_key.as_ref(),
                &Binding {
                    keypair: text("keypair"),
                    host: text("host"),
                    port: b["port"].as_u64().unwrap() as u16,
                    user: text("user"),
                    host_key_fingerprint: "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s"
                        .into(),
                    authorized_keys_path: text("path"),
                    password_login: PasswordLogin::parse(&text("login")).unwrap(),
                    create_time: String::new(),
                    update_time: String::new(),
                },
            )
            .unwrap();
    }
}

/// A store with keypairs `web`, `db` and `free`; `web` bound to two
/// servers, `db` to one of them, `free` to none.
fn bound_store() -> Kps {
    let kps = Kps::new();
    for name in ["web", "db", "free"] {
        kps.create(name, &[]);
    }
    record(
        &kps,
        &[
            (
                "web",
                "root",
                "web01.example",
                22,
                "/root/.ssh/authorized_keys",
                "disabled",
            ),
            (
                "web",
                "admin",
                "::1",
                2222,
                "/home/admin/.ssh/authorized_keys",
                "unchanged",
            ),
            (
                "db",
                "root",
                "web01.example",
                22,
                "/root/.ssh/authorized_keys",
                "unchanged",
            ),
        ],
    );
    kps
}

fn servers(doc: &Value) -> Vec<String> {
    doc.as_array()
        .unwrap()
        .iter()
        .map(|b| {
            format!(
                "{} {}@{}:{}",
                b["keypair_name"].as_str().unwrap(),
                b["user"].as_str().unwrap(),
                b["host"].as_str().unwrap(),
                b["port"]
            )
        })
        .collect()
}

fn db(kps: &Kps) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(kps.db()).unwrap();
    conn.execute_batch("PRAGMA foreign_keys = OFF").unwrap();
    conn
}

#[test]
fn bindings_lists_every_record_as_json_and_as_a_table() {
    let kps = bound_store();
    let doc = kps.run(&["--json", "bindings"]).ok().json();
    let list = &doc["bindings"];
    assert_eq!(
        servers(list),
        [
            "db root@web01.example:22",
            "web admin@::1:2222",
            "web root@web01.example:22"
        ]
    );
    let web = &list[2];
    let fields: Vec<&str> = web
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        fields,
        [
            "keypair_name",
            "host",
            "port",
            "user",
            "host_key_fingerprint",
            "authorized_keys_path",
            "password_login",
            "create_time",
            "update_time"
        ]
    );
    assert_eq!(web["port"], 22);
    assert_eq!(web["password_login"], "disabled");
    assert_eq!(web["authorized_keys_path"], "/root/.ssh/authorized_keys");
    assert_eq!(
        web["host_key_fingerprint"],
        "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s"
    );
    assert!(web["create_time"].as_str().unwrap().ends_with('Z'));

    let table = kps.run(&["bindings"]).ok().stdout();
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 4, "{table}");
    assert!(lines[0].starts_with("KEYPAIR"), "{table}");
    for header in ["SERVER", "PASSWORD LOGIN", "HOST KEY", "AUTHORIZED_KEYS"] {
        assert!(lines[0].contains(header), "{table}");
    }
    assert!(lines[2].contains("admin@[::1]:2222"), "{table}");
    assert!(
        lines[3].starts_with("web ") && lines[3].contains("root@web01.example:22  disabled"),
        "{table}"
    );

    // --host, in any case, an IPv6 address with or without brackets.
    for (host, want) in [
        ("WEB01.example", 2),
        ("web01.example", 2),
        ("[::1]", 1),
        ("::1", 1),
        ("other.example", 0),
    ] {
        let doc = kps.run(&["--json", "bindings", "--host", host]).ok().json();
        assert_eq!(doc["bindings"].as_array().unwrap().len(), want, "{host}");
    }
    let none = kps.run(&["bindings", "--host", "other.example"]).ok();
    assert!(
        none.stdout().contains("No keypair is bound"),
        "{}",
        none.stdout()
    );
    assert!(
        kps.run(&["-q", "bindings", "--host", "other.example"])
            .ok()
            .stdout()
            .is_empty()
    );

    // A new store has none (and V5 migrated an old one: see the unit tests).
    let empty = Kps::new();
    assert_eq!(
        empty.run(&["--json", "bindings"]).ok().json(),
        json!({ "bindings": [] })
    );
}

#[test]
fn show_lists_the_keypairs_servers() {
    let kps = bound_store();
    let doc = kps.run(&["--json", "show", "web"]).ok().json();
    assert_eq!(doc["keypair"]["name"], "web");
    assert_eq!(
        servers(&doc["servers"]),
        ["web admin@::1:2222", "web root@web01.example:22"]
    );
    let text = kps.run(&["show", "web"]).ok().stdout();
    let at = text.find("Servers:").expect(&text);
    let after = &text[at..];
    assert!(after.contains("root@web01.example:22"), "{text}");
    assert!(after.contains("admin@[::1]:2222"), "{text}");
    assert!(
        !after.contains("KEYPAIR"),
        "its own name is not repeated: {text}"
    );

    let free = kps.run(&["--json", "show", "free"]).ok().json();
    assert_eq!(free["servers"], json!([]));
    assert!(
        kps.run(&["show", "free"])
            .ok()
            .stdout()
            .contains("none recorded")
    );
    // --public stays the line alone.
    let public = kps.run(&["show", "web", "--public"]).ok().stdout();
    assert_eq!(public.lines().count(), 1);
}

#[test]
fn delete_of_a_bound_keypair_needs_force_and_names_the_servers() {
    let kps = bound_store();
    let run = kps.run(&["--json", "delete", "web", "--yes"]).expect(1);
    let err = run.error_json();
    assert_eq!(err["error_code"], "KPS.7069");
    let msg = err["error_msg"].as_str().unwrap();
    assert!(
        msg.contains("root@web01.example:22") && msg.contains("admin@[::1]:2222"),
        "{msg}"
    );
    let run = kps.run(&["delete", "web", "--yes"]).expect(1);
    assert!(run.stderr().contains("--force"), "{}", run.stderr());
    // Nothing changed.
    kps.run(&["show", "web"]).ok();
    assert_eq!(
        kps.run(&["--json", "bindings"]).ok().json()["bindings"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    // Without --yes and without a terminal it still asks for confirmation.
    kps.run(&["delete", "web", "--force"]).expect(2);

    let run = kps
        .run(&["--json", "delete", "web", "--yes", "--force"])
        .ok();
    let doc = run.json();
    assert_eq!(doc["deleted"], true);
    assert_eq!(
        servers(&doc["servers"]),
        ["web admin@::1:2222", "web root@web01.example:22"]
    );
    let warning = run.stderr();
    assert!(
        warning.contains("warning") && warning.contains("root@web01.example:22"),
        "{warning}"
    );
    kps.run(&["show", "web"]).expect(3);
    assert_eq!(
        servers(&kps.run(&["--json", "bindings"]).ok().json()["bindings"]),
        ["db root@web01.example:22"]
    );
    // A keypair bound nowhere needs no --force.
    kps.run(&["delete", "free", "--yes"]).ok();
}

#[test]
fn rename_keeps_the_bindings() {
    let kps = bound_store();
    kps.run(&["rename", "web", "www"]).ok();
    assert_eq!(
        servers(&kps.run(&["--json", "bindings"]).ok().json()["bindings"]),
        [
            "db root@web01.example:22",
            "www admin@::1:2222",
            "www root@web01.example:22"
        ]
    );
    kps.run(&["verify"]).ok();
}

/// Hosts, users and paths come from a command line or a server: whatever
/// they hold, no human output acts on the terminal, and JSON keeps them.
#[test]
fn hostile_hosts_users_and_paths_are_escaped() {
    let kps = Kps::new();
    kps.create("web", &[]);
    let host = "evil.example\u{1b}]0;pwned\u{7}";
    let user = "root\nssh-ed25519 AAAA attacker";
    let path = "/tmp/\u{1b}[2J\u{202e}keys";
    record(&kps, &[("web", user, host, 22, path, "unchanged")]);
    for args in [
        &["bindings"][..],
        &["show", "web"],
        &["delete", "web", "--yes"],
    ] {
        let run = kps.run(args);
        for text in [run.stdout(), run.stderr()] {
            assert!(
                !text
                    .chars()
                    .any(|c| c != '\n' && kps::text::is_forbidden(c)),
                "{args:?}: {text:?}"
            );
        }
        let all = run.stdout() + &run.stderr();
        assert!(all.contains(r"\x1b]0;pwned\x07"), "{args:?}: {all}");
    }
    // One line a record: the user's line feed added none.
    assert_eq!(kps.run(&["bindings"]).ok().stdout().lines().count(), 2);
    let doc = kps.run(&["--json", "bindings"]).ok().json();
    assert_eq!(doc["bindings"][0]["host"], host);
    assert_eq!(doc["bindings"][0]["user"], user);
    assert_eq!(doc["bindings"][0]["authorized_keys_path"], path);
}

/// Someone who can write the store edits a record (here: "password login
/// disabled" where kps changed nothing): every command that reads it
/// refuses it, and `delete --force` is the way out.
#[test]
fn a_tampered_record_is_refused() {
    let kps = bound_store();
    db(&kps)
        .execute(
            "UPDATE bindings SET password_login = 'disabled', authorized_keys_path = '/etc/passwd'
             WHERE user = 'admin'",
            [],
        )
        .unwrap();
    for args in [
        &["--json", "bindings"][..],
        &["--json", "show", "web"],
        &["--json", "delete", "web", "--yes"],
        &["--json", "verify"],
    ] {
        let run = kps.run(args).expect(7);
        let err = run.error_json();
        assert_eq!(err["error_code"], "KPS.6011", "{args:?}");
        assert!(
            err["error_msg"]
                .as_str()
                .unwrap()
                .contains("admin@[::1]:2222"),
            "{args:?}: {err}"
        );
    }
    // The records that verify can still be listed.
    assert_eq!(
        servers(
            &kps.run(&["--json", "bindings", "--host", "web01.example"])
                .ok()
                .json()["bindings"]
        ),
        ["db root@web01.example:22", "web root@web01.example:22"]
    );
    kps.run(&["--json", "show", "db"]).ok();
    let run = kps.run(&["delete", "web", "--yes", "--force"]).ok();
    assert!(
        run.stderr().contains("failed verification"),
        "{}",
        run.stderr()
    );
    kps.run(&["verify"]).ok();
    assert_eq!(
        servers(&kps.run(&["--json", "bindings"]).ok().json()["bindings"]),
        ["db root@web01.example:22"]
    );
}
