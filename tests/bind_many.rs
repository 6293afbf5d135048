//! `kps bind --parallel 10 --hosts-file F` against 20 real sshd servers
//! (tests/common/nssshd.rs), three of which fail each in its own way: one
//! is stopped, one has another root password, one has a host key the user
//! does not know. One failure must not stop the others; the JSON names every
//! server; the exit status says "some servers failed" (9).

mod common;

use common::nssshd::*;
use std::collections::BTreeMap;

const SERVERS: usize = 20;
const STOPPED: usize = 17;
const OTHER_PASSWORD: usize = 18;
const UNKNOWN_HOST_KEY: usize = 19;

#[test]
fn twenty_servers_three_failing_differently() {
    if !have_unshare() {
        return;
    }
    let c = KpsClient::new();
    c.create("fleet", &[]);
    // Started side by side: each start is a keygen, two hashes and a spawn.
    let mut servers: Vec<NsSshd> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..SERVERS)
            .map(|i| {
                scope.spawn(move || {
                    let b = NsSshd::builder(Layout::Debian);
                    if i == OTHER_PASSWORD {
                        b.root_password("this server's own root password").start()
                    } else {
                        b.start()
                    }
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (i, s) in servers.iter().enumerate() {
        if i != UNKNOWN_HOST_KEY {
            c.trust(s);
        }
    }
    servers[STOPPED].stop();
    assert!(!servers[STOPPED].is_listening());

    let hosts = c.kps.path("hosts");
    let mut list = String::from("# the fleet\n\n");
    for s in &servers {
        list.push_str(&s.target("root"));
        list.push('\n');
    }
    std::fs::write(&hosts, list).unwrap();

    let run = c.run(&[
        "--json",
        "bind",
        "fleet",
        "--parallel",
        "10",
        "--hosts-file",
        hosts.to_str().unwrap(),
        "--password-file",
        &c.root_password_file(),
    ]);
    assert_eq!(run.code(), 9, "{}\n{}", run.stdout(), run.stderr());
    assert_eq!(run.json()["keypair_name"], "fleet");
    let by_port: BTreeMap<u64, serde_json::Value> = results(&run)
        .into_iter()
        .map(|r| (r["port"].as_u64().expect("port"), r))
        .collect();
    assert_eq!(by_port.len(), SERVERS, "{}", run.stdout());

    let key = c.private_key_file("fleet");
    let mut failed = 0;
    for (i, s) in servers.iter().enumerate() {
        let r = &by_port[&u64::from(s.port())];
        assert_eq!(r["host"], "127.0.0.1");
        assert_eq!(r["user"], "root");
        let want = match i {
            STOPPED => Some("KPS.7060"),
            OTHER_PASSWORD => Some("KPS.7060"),
            UNKNOWN_HOST_KEY => Some("KPS.7061"),
            _ => None,
        };
        match want {
            Some(code) => {
                failed += 1;
                assert_eq!(r["status"], "FAILED", "server {i}: {r}");
                assert_eq!(r["error_code"], code, "server {i}: {r}");
                assert!(
                    r["error_msg"].as_str().is_some_and(|m| !m.is_empty()),
                    "{r}"
                );
            }
            None => {
                assert_eq!(r["status"], "SUCCESS", "server {i}: {r}");
                assert!(r["error_code"].is_null(), "{r}");
            }
        }
    }
    assert_eq!(failed, 3);
    // The 17 prove it from outside, side by side; the other two never got it.
    let logins: Vec<bool> = std::thread::scope(|scope| {
        let key = &key;
        let handles: Vec<_> = servers
            .iter()
            .map(|s| scope.spawn(move || s.is_listening() && s.key_login_works("root", key)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (i, works) in logins.into_iter().enumerate() {
        assert_eq!(
            works,
            ![STOPPED, OTHER_PASSWORD, UNKNOWN_HOST_KEY].contains(&i),
            "server {i}"
        );
    }
    assert!(!servers[UNKNOWN_HOST_KEY].password_was_tried());
    assert!(
        !servers[OTHER_PASSWORD]
            .root_home()
            .join(".ssh/authorized_keys")
            .exists()
    );
}
