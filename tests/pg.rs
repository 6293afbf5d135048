//! Self-tests of the PostgreSQL harness (tests/common/pg.rs) the team store
//! (issue 18) will be tested on, through psql only (kps has no PostgreSQL
//! backend yet): the role logs in with its password and nothing else, TLS
//! verify-full trusts the cluster's CA and no other, a crash restart keeps
//! committed rows, clusters side by side do not meet, and a dropped cluster
//! leaves no process and no file, even when its test panics.

mod common;
use common::mode_of;
use common::pg::{Pg, have_postgres, psql_url, split_password, start_time};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// `url` with its password replaced.
fn with_password(url: &str, password: &str) -> String {
    let (no_password, _) = split_password(url);
    let (scheme, rest) = no_password.split_once("://").unwrap();
    let (user, host) = rest.split_once('@').unwrap();
    format!("{scheme}://{user}:{password}@{host}")
}

fn user_of(url: &str) -> String {
    let (no_password, _) = split_password(url);
    let rest = no_password.split_once("://").unwrap().1;
    rest.split_once('@').unwrap().0.to_string()
}

fn expect_refused(result: Result<String, String>, needle: &str) {
    match result {
        Ok(out) => panic!("connected, but should have been refused ({needle}): {out}"),
        Err(e) => assert!(e.contains(needle), "expected {needle:?} in: {e}"),
    }
}

/// Every process of the cluster with its start time, to tell it apart from
/// a later process that reuses its pid.
fn processes(pg: &Pg) -> Vec<(u32, u64)> {
    pg.pids()
        .into_iter()
        .filter_map(|p| Some((p, start_time(p)?)))
        .collect()
}

/// No process from `before` is alive and no process mentions `dir` in its
/// command line; `dir` is gone.
fn assert_all_gone(before: &[(u32, u64)], dir: &Path) {
    for &(pid, started) in before {
        assert_ne!(
            start_time(pid),
            Some(started),
            "process {pid} of the cluster is still running"
        );
    }
    let needle = dir.to_string_lossy().into_owned();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        assert!(
            !cmdline.contains(&needle),
            "a process still names the cluster's directory: {cmdline}"
        );
    }
    assert!(!dir.exists(), "{} was left behind", dir.display());
}

#[test]
fn the_role_logs_in_over_tcp_with_its_password_and_has_no_more_rights_than_kps_needs() {
    if !have_postgres() {
        return;
    }
    let started = Instant::now();
    let pg = Pg::start();
    eprintln!("Pg::start: {:?}", started.elapsed());
    let url = pg.new_database("store");
    assert!(url.starts_with("postgres://kps_store:"), "{url}");
    assert!(
        url.ends_with(&format!("@127.0.0.1:{}/store", pg.port())),
        "{url}"
    );

    // The server listens where the harness says and nowhere else, and is
    // the cheap test configuration.
    assert_eq!(pg.psql("SHOW listen_addresses"), "127.0.0.1\n");
    assert_eq!(pg.psql("SHOW port"), format!("{}\n", pg.port()));
    assert_eq!(pg.psql("SHOW fsync"), "off\n");
    assert_eq!(pg.psql("SHOW ssl"), "off\n");
    assert_eq!(mode_of(pg.socket_dir()), 0o700);
    assert!(
        pg.socket_dir()
            .join(format!(".s.PGSQL.{}", pg.port()))
            .exists()
    );

    // Over TCP with its password: the role, in its database, able to do
    // what kps does (its tables, a transaction with FOR UPDATE, an advisory
    // lock).
    assert_eq!(
        psql_url(
            &url,
            "SELECT current_user, current_database(), inet_server_addr()"
        )
        .unwrap(),
        "kps_store|store|127.0.0.1\n"
    );
    let out = psql_url(
        &url,
        "CREATE TABLE keypairs (name text PRIMARY KEY, body bytea NOT NULL);\n\
         BEGIN;\n\
         SELECT pg_advisory_xact_lock(18);\n\
         INSERT INTO keypairs VALUES ('a', '\\x00ff');\n\
         SELECT name FROM keypairs WHERE name = 'a' FOR UPDATE;\n\
         COMMIT;\n\
         SELECT count(*) FROM keypairs;",
    )
    .unwrap();
    assert!(out.ends_with("a\n1\n"), "{out}");
    assert_eq!(
        pg.psql(
            "SELECT rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls, \
             rolcanlogin FROM pg_roles WHERE rolname = 'kps_store'"
        ),
        "f|f|f|f|f|t\n"
    );
    assert_eq!(
        pg.psql(
            "SELECT count(*) FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.member \
             WHERE r.rolname = 'kps_store'"
        ),
        "0\n",
        "the role is granted no other role"
    );
    expect_refused(psql_url(&url, "CREATE DATABASE other"), "permission denied");
    expect_refused(psql_url(&url, "CREATE ROLE eve"), "permission denied");
    expect_refused(
        psql_url(&url, "SELECT rolpassword FROM pg_authid"),
        "permission denied",
    );

    // A wrong password, a near miss, an empty one (libpq sends none), none
    // at all: refused.
    let password = split_password(&url).1.unwrap();
    for bad in ["wrong", &password[1..], &password.to_uppercase()] {
        expect_refused(
            psql_url(&with_password(&url, bad), "SELECT 1"),
            "password authentication failed",
        );
    }
    expect_refused(
        psql_url(&with_password(&url, ""), "SELECT 1"),
        "no password supplied",
    );
    let (no_password, _) = split_password(&url);
    expect_refused(psql_url(&no_password, "SELECT 1"), "no password supplied");
    // The socket trusts the superuser only: the role needs its password
    // there too.
    let socket = format!(
        "host={} port={} user=kps_store dbname=store",
        pg.socket_dir().display(),
        pg.port()
    );
    expect_refused(psql_url(&socket, "SELECT 1"), "no password supplied");

    // Another test role on the same cluster cannot even connect to this
    // database.
    let other = pg.new_database("other");
    let intruder = other.replace("/other", "/store");
    assert_eq!(user_of(&intruder), "kps_other");
    expect_refused(
        psql_url(&intruder, "SELECT 1"),
        "permission denied for database",
    );

    // The superuser over TCP with the known password; the harness's psql
    // (the malicious DBA) in the role's database sees its tables.
    assert_eq!(
        psql_url(&pg.superuser_url(), "SHOW is_superuser").unwrap(),
        "on\n"
    );
    assert_eq!(
        pg.psql_in("store", "SELECT name, body FROM keypairs"),
        "a|\\x00ff\n"
    );
    assert!(
        pg.try_psql_in("store", "SELECT * FROM missing").is_err(),
        "a failing statement is an error"
    );
}

#[test]
fn tls_verify_full_trusts_the_cluster_ca_and_refuses_another_with_the_same_name() {
    if !have_postgres() || !common::have_tool("openssl") {
        return;
    }
    let started = Instant::now();
    let pg = Pg::start_tls();
    eprintln!("Pg::start_tls: {:?}", started.elapsed());
    let url = pg.new_database("store");
    let verify = |ca: &Path| format!("{url}?sslmode=verify-full&sslrootcert={}", ca.display());
    assert_eq!(
        psql_url(
            &verify(pg.ca_file()),
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
        )
        .unwrap(),
        "t\n"
    );
    expect_refused(
        psql_url(&verify(pg.other_ca_file()), "SELECT 1"),
        "certificate verify failed",
    );
    // The certificate names 127.0.0.1 and localhost, not another address.
    let wrong_host = verify(pg.ca_file()).replace("@127.0.0.1:", "@127.0.0.2:");
    assert!(psql_url(&wrong_host, "SELECT 1").is_err());
    // TCP without TLS: no pg_hba.conf line lets it in.
    expect_refused(
        psql_url(&format!("{url}?sslmode=disable"), "SELECT 1"),
        "no encryption",
    );
    // The key as PostgreSQL demands it, owned by the server's user.
    let key = pg.dir().join("tls/server.key");
    assert_eq!(mode_of(&key), 0o600);
    assert_eq!(pg.psql("SHOW ssl"), "on\n");
    assert_eq!(pg.psql("SHOW ssl_key_file"), format!("{}\n", key.display()));
}

#[test]
fn restart_immediate_keeps_committed_rows_and_the_cluster_comes_back() {
    if !have_postgres() {
        return;
    }
    let pg = Pg::start();
    let url = pg.new_database("crash");
    psql_url(
        &url,
        "CREATE TABLE t (n int PRIMARY KEY);\n\
         INSERT INTO t SELECT generate_series(1, 1000);",
    )
    .unwrap();
    let before = processes(&pg);
    let started = Instant::now();
    pg.restart_immediate();
    eprintln!("Pg::restart_immediate: {:?}", started.elapsed());
    // A new postmaster and new backends: nothing of the old one is left.
    for &(pid, started) in &before {
        assert_ne!(start_time(pid), Some(started), "{pid} survived the restart");
    }
    // It went through crash recovery, and lost no committed row.
    let log = pg.log_text();
    assert!(
        log.contains("not properly shut down; automatic recovery in progress"),
        "{log}"
    );
    assert_eq!(psql_url(&url, "SELECT count(*) FROM t").unwrap(), "1000\n");
    // Again, from another thread while a client is connected.
    let client = {
        let url = url.clone();
        std::thread::spawn(move || psql_url(&url, "SELECT pg_sleep(60)"))
    };
    wait_for(|| {
        pg.psql("SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep%'")
            == "1\n"
    });
    std::thread::scope(|s| {
        s.spawn(|| pg.restart_immediate());
    });
    let result = client.join().unwrap();
    assert!(result.is_err(), "the client's session survived: {result:?}");
    assert_eq!(psql_url(&url, "SELECT count(*) FROM t").unwrap(), "1000\n");
}

fn wait_for(mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn two_clusters_at_once_do_not_collide() {
    if !have_postgres() {
        return;
    }
    // Started at the same time, so that they race for the template, the
    // ports and the temp directories.
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(Pg::start);
        let b = s.spawn(Pg::start);
        (a.join().unwrap(), b.join().unwrap())
    });
    assert_ne!(a.port(), b.port());
    assert_ne!(a.socket_dir(), b.socket_dir());
    // The same database and role names on each: two separate clusters.
    let url_a = a.new_database("same");
    let url_b = b.new_database("same");
    assert_ne!(split_password(&url_a).1, split_password(&url_b).1);
    psql_url(&url_a, "CREATE TABLE t (n int); INSERT INTO t VALUES (1);").unwrap();
    expect_refused(psql_url(&url_b, "SELECT * FROM t"), "does not exist");
    // a's password does not open b.
    let a_password = split_password(&url_a).1.unwrap();
    expect_refused(
        psql_url(&with_password(&url_b, &a_password), "SELECT 1"),
        "password authentication failed",
    );
    let a_dir = a.dir().to_path_buf();
    let a_processes = processes(&a);
    drop(a);
    assert_all_gone(&a_processes, &a_dir);
    // b is untouched by a's end.
    assert_eq!(psql_url(&url_b, "SELECT 1").unwrap(), "1\n");
}

#[test]
fn drop_stops_every_process_and_removes_the_directory_even_with_a_client_connected() {
    if !have_postgres() {
        return;
    }
    let pg = Pg::start();
    let url = pg.new_database("gone");
    let client = {
        let url = url.clone();
        std::thread::spawn(move || psql_url(&url, "SELECT pg_sleep(60)"))
    };
    wait_for(|| {
        pg.psql("SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep%'")
            == "1\n"
    });
    let before = processes(&pg);
    // The postmaster and its auxiliary processes and the sleeping backend.
    assert!(before.len() >= 5, "{before:?}");
    let dir = pg.dir().to_path_buf();
    let started = Instant::now();
    drop(pg);
    eprintln!("Pg drop: {:?}", started.elapsed());
    assert_all_gone(&before, &dir);
    let result = client.join().unwrap();
    assert!(result.is_err(), "{result:?}");
}

#[test]
fn a_test_that_panics_still_leaves_nothing_behind() {
    if !have_postgres() {
        return;
    }
    let (tx, rx) = std::sync::mpsc::channel::<(Vec<(u32, u64)>, PathBuf)>();
    let test = std::thread::spawn(move || {
        let pg = Pg::start();
        pg.new_database("doomed");
        tx.send((processes(&pg), pg.dir().to_path_buf())).unwrap();
        panic!("the test fails with its cluster running");
    });
    assert!(test.join().is_err());
    let (before, dir) = rx.recv().unwrap();
    assert_all_gone(&before, &dir);
}
