//! The PostgreSQL backend against a real server (tests/common/pg.rs): TLS
//! in each sslmode, logins refused, a server gone or silent, a crash in
//! the middle of a write, the server's "cannot finish" states, and two
//! first users migrating one database at once. What both backends share is
//! in conformance.rs.

use super::conformance::{have_tool, keypair, pg, pg_backend, target};
use super::{Backend, postgres_schema};
use crate::Error;
use std::path::Path;
use std::time::{Duration, Instant};

fn open(url: &str, home: &Path) -> crate::Result<Backend> {
    Backend::open_postgres(&target(url, home))
}

fn db(b: &Backend) -> &super::Postgres {
    match b {
        Backend::Postgres(db) => db,
        Backend::Sqlite(_) => unreachable!("a PostgreSQL backend"),
    }
}

/// The detail of a [`Error::StoreUnreachable`], and its whole message,
/// which must not hold `secrets`.
fn unreachable<T>(r: crate::Result<T>, secrets: &[&str]) -> String {
    match r {
        Err(e @ Error::StoreUnreachable { .. }) => {
            let shown = format!("{e} {e:?}");
            for s in secrets {
                assert!(!shown.contains(s), "the message holds a secret: {shown}");
            }
            eprintln!("{e}");
            shown
        }
        Err(e) => panic!("expected KPS.7090 (StoreUnreachable), got {e} ({e:?})"),
        Ok(_) => panic!("expected KPS.7090 (StoreUnreachable), got success"),
    }
}

/// The URL's password (`postgres://user:PASSWORD@...`).
fn password_of(url: &str) -> &str {
    let userinfo = &url["postgres://".len()..url.find('@').unwrap()];
    userinfo.split_once(':').unwrap().1
}

fn ssl_in_use(b: &Backend) -> String {
    db(b)
        .query_text("SELECT ssl::text FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .unwrap()
        .concat()
}

#[test]
fn tls_modes_verify_as_libpq() {
    if !pg::have_postgres() || !have_tool("openssl") {
        return;
    }
    let pg = pg::Pg::start_tls();
    let home = tempfile::tempdir().unwrap();
    let url = pg.new_database("store");
    let password = password_of(&url).to_string();
    let ca = pg.ca_file().display().to_string();
    let other = pg.other_ca_file().display().to_string();

    // verify-full with the CA that signed the server's certificate.
    let b = open(
        &format!("{url}?sslmode=verify-full&sslrootcert={ca}"),
        home.path(),
    )
    .unwrap();
    b.migrate(|_| Ok(())).unwrap();
    assert_eq!(ssl_in_use(&b), "true");
    // An unrelated CA with the same name: refused, naming the problem.
    let msg = unreachable(
        open(
            &format!("{url}?sslmode=verify-full&sslrootcert={other}"),
            home.path(),
        ),
        &[&password],
    );
    assert!(msg.contains("certificate"), "{msg}");
    assert!(
        msg.contains(&format!(
            "postgres://kps_store@127.0.0.1:{}/store",
            pg.port()
        )),
        "{msg}"
    );
    let msg = unreachable(
        open(
            &format!("{url}?sslmode=verify-ca&sslrootcert={other}"),
            home.path(),
        ),
        &[&password],
    );
    assert!(msg.contains("certificate"), "{msg}");

    // The certificate names 127.0.0.1 and localhost: another name for the
    // same address fails verify-full, and passes verify-ca (chain only).
    let renamed = url.replace("@127.0.0.1:", "@wrong.example:");
    let msg = unreachable(
        open(
            &format!("{renamed}?sslmode=verify-full&sslrootcert={ca}&hostaddr=127.0.0.1"),
            home.path(),
        ),
        &[&password],
    );
    assert!(msg.contains("certificate"), "{msg}");
    let b = open(
        &format!("{renamed}?sslmode=verify-ca&sslrootcert={ca}&hostaddr=127.0.0.1"),
        home.path(),
    )
    .unwrap();
    assert_eq!(ssl_in_use(&b), "true");

    // require with no root certificate at hand: encrypted, not verified;
    // prefer likewise when the server offers TLS.
    for mode in ["require", "prefer", "allow"] {
        let b = open(&format!("{url}?sslmode={mode}"), home.path()).unwrap();
        assert_eq!(ssl_in_use(&b), "true", "{mode}");
    }
    // require with ~/.postgresql/root.crt present verifies against it
    // (libpq's rule): the other CA there is refused.
    std::fs::create_dir(home.path().join(".postgresql")).unwrap();
    std::fs::copy(pg.other_ca_file(), home.path().join(".postgresql/root.crt")).unwrap();
    let msg = unreachable(
        open(&format!("{url}?sslmode=require"), home.path()),
        &[&password],
    );
    assert!(msg.contains("certificate"), "{msg}");
    std::fs::copy(pg.ca_file(), home.path().join(".postgresql/root.crt")).unwrap();
    assert_eq!(
        ssl_in_use(&open(&format!("{url}?sslmode=verify-full"), home.path()).unwrap()),
        "true"
    );

    // verify-full with no root certificate anywhere: refused before
    // connecting, naming the file it looked for.
    let empty = tempfile::tempdir().unwrap();
    let msg = unreachable(
        open(&format!("{url}?sslmode=verify-full"), empty.path()),
        &[],
    );
    assert!(
        msg.contains("root.crt") && msg.contains("does not exist"),
        "{msg}"
    );
    let not_pem = empty.path().join("ca.pem");
    std::fs::write(&not_pem, "not a certificate\n").unwrap();
    let msg = unreachable(
        open(
            &format!(
                "{url}?sslmode=verify-full&sslrootcert={}",
                not_pem.display()
            ),
            empty.path(),
        ),
        &[],
    );
    assert!(msg.contains("no PEM certificate"), "{msg}");
    // This cluster takes TCP logins over TLS only.
    let msg = unreachable(
        open(&format!("{url}?sslmode=disable"), home.path()),
        &[&password],
    );
    assert!(msg.contains("28000"), "{msg}");
}

#[test]
fn a_refused_login_never_shows_the_password() {
    if !pg::have_postgres() {
        return;
    }
    let pg = pg::Pg::start();
    let home = tempfile::tempdir().unwrap();
    let url = pg.new_database("login");
    let right = password_of(&url).to_string();
    let wrong = "Wr0ng-but-close-password";
    let msg = unreachable(
        open(&url.replace(&right, wrong), home.path()),
        &[wrong, &right],
    );
    assert!(msg.contains("password authentication failed"), "{msg}");
    assert!(msg.contains("28P01"), "{msg}");
    // A database that is not there.
    let msg = unreachable(
        open(&url.replace("/login", "/nothere"), home.path()),
        &[&right],
    );
    assert!(msg.contains("3D000"), "{msg}");
    // No password at all; a password file others can read is ignored, and
    // the message says so.
    let no_password = url.replace(&format!(":{right}@"), "@");
    std::fs::write(home.path().join(".pgpass"), format!("*:*:*:*:{right}\n")).unwrap();
    let msg = unreachable(open(&no_password, home.path()), &[&right]);
    assert!(msg.contains("group or world access"), "{msg}");
    // At 0600 it is used.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        home.path().join(".pgpass"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    open(&no_password, home.path()).unwrap();
}

#[test]
fn a_server_that_is_gone_or_silent_fails_within_the_connect_timeout() {
    let home = tempfile::tempdir().unwrap();
    // Accepts TCP (the kernel's backlog) and never says a word: the
    // startup waits on it, and the connect timeout ends the wait.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let started = Instant::now();
    let msg = unreachable(
        open(
            &format!(
                "postgres://u:pw-secret@127.0.0.1:{port}/db?connect_timeout=1&sslmode=disable"
            ),
            home.path(),
        ),
        &["pw-secret"],
    );
    let took = started.elapsed();
    assert!(msg.contains("connect timeout (1 s)"), "{msg}");
    assert!(
        took >= Duration::from_secs(1) && took < Duration::from_secs(3),
        "{took:?}"
    );
    drop(silent);

    if !pg::have_postgres() {
        return;
    }
    // A server stopped: nothing listens on its port any more.
    let pg = pg::Pg::start();
    let url = pg.new_database("gone");
    drop(pg);
    let started = Instant::now();
    let msg = unreachable(open(&format!("{url}?connect_timeout=1"), home.path()), &[]);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert!(msg.contains("error connecting"), "{msg}");
}

#[test]
fn a_crash_in_the_middle_of_a_write_leaves_nothing_of_it() {
    if !pg::have_postgres() {
        return;
    }
    let pg = pg::Pg::start();
    let home = tempfile::tempdir().unwrap();
    let b = pg_backend(&pg, "crash", home.path());
    b.insert_keypair(&keypair("before", "SHA256:b"), Some(&[1]), None)
        .unwrap();
    let url = format!("postgres://kps_crash@127.0.0.1:{}/crash", pg.port());
    let tx = b.begin_write().unwrap();
    tx.insert_keypair(&keypair("during", "SHA256:d"), Some(&[2]), None)
        .unwrap();
    tx.set_setting("half", "written").unwrap();
    pg.restart_immediate();
    let msg = unreachable(tx.commit(), &[]);
    assert!(msg.contains(&url), "{msg}");
    // The connection is gone for good: every later use says so.
    unreachable(b.count_keypairs(), &[]);
    // A new connection: the committed row is there, nothing of the
    // interrupted transaction.
    let again = pg.psql_in(
        "crash",
        "SELECT string_agg(name, ','), (SELECT count(*) FROM settings) FROM keypairs",
    );
    assert_eq!(again, "before|0\n");
}

#[test]
fn two_first_users_migrate_one_database_once() {
    if !pg::have_postgres() {
        return;
    }
    let pg = pg::Pg::start();
    let home = tempfile::tempdir().unwrap();
    let url = pg.new_database("race");
    let users = 4;
    let barrier = std::sync::Barrier::new(users);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..users)
            .map(|_| {
                s.spawn(|| {
                    let b = open(&url, home.path()).unwrap();
                    barrier.wait();
                    b.migrate(|_| Ok(())).unwrap();
                    b.insert_keypair(
                        &keypair(&format!("k{:?}", std::thread::current().id()), "SHA256:r"),
                        None,
                        None,
                    )
                    .unwrap();
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
    });
    assert_eq!(
        pg.psql_in("race", "SELECT version FROM kps_schema"),
        format!("{}\n", postgres_schema::CURRENT_VERSION)
    );
    assert_eq!(
        pg.psql_in("race", "SELECT count(*) FROM keypairs"),
        format!("{users}\n")
    );
    // A schema newer than this kps knows is refused, not touched.
    pg.psql_in("race", "UPDATE kps_schema SET version = 99");
    let b = open(&url, home.path()).unwrap();
    match b.migrate(|_| Ok(())) {
        Err(Error::StoreTooNew {
            found: 99,
            supported,
            ..
        }) => assert_eq!(supported, postgres_schema::CURRENT_VERSION),
        other => panic!("{other:?}"),
    }
}

#[test]
fn server_states_map_to_kps_errors() {
    if !pg::have_postgres() {
        return;
    }
    let pg = pg::Pg::start();
    let home = tempfile::tempdir().unwrap();

    // Terminated by the administrator (57P01).
    let b = pg_backend(&pg, "terminated", home.path());
    let pid = db(&b)
        .query_text("SELECT pg_backend_pid()")
        .unwrap()
        .concat();
    pg.psql(&format!("SELECT pg_terminate_backend({pid})"));
    unreachable(b.count_keypairs(), &[]);

    // A statement timeout (57014): waiting on another writer's row.
    let url = pg.new_database("slow");
    pg.psql("ALTER ROLE kps_slow SET statement_timeout = '200ms'");
    let a = open(&url, home.path()).unwrap();
    a.migrate(|_| Ok(())).unwrap();
    let other = open(&url, home.path()).unwrap();
    let tx = a.begin_write().unwrap();
    tx.set_setting("k", "a").unwrap();
    let msg = unreachable(other.set_setting("k", "b"), &[]);
    assert!(msg.contains("57014"), "{msg}");
    drop(tx);
    other.set_setting("k", "b").unwrap();

    // A deadlock (40P01): one of the two writers loses, as a conflict the
    // store may retry.
    let url = pg.new_database("deadlock");
    pg.psql("ALTER DATABASE deadlock SET deadlock_timeout = '50ms'");
    open(&url, home.path())
        .unwrap()
        .migrate(|_| Ok(()))
        .unwrap();
    let barrier = std::sync::Barrier::new(2);
    let results: Vec<crate::Result<()>> = std::thread::scope(|s| {
        let writer = |first: &'static str, second: &'static str| {
            let (url, home, barrier) = (&url, home.path(), &barrier);
            s.spawn(move || {
                let b = open(url, home).unwrap();
                let tx = b.begin_write().unwrap();
                tx.set_setting(first, "x").unwrap();
                barrier.wait();
                let r = tx.set_setting(second, "y");
                drop(tx);
                r
            })
        };
        let one = writer("x", "y");
        let two = writer("y", "x");
        vec![one.join().unwrap(), two.join().unwrap()]
    });
    let conflicts: Vec<String> = results
        .iter()
        .filter_map(|r| match r {
            Err(e @ Error::StoreConflict { .. }) => Some(e.to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(conflicts.len(), 1, "{results:?}");
    assert!(conflicts[0].contains("40P01"), "{}", conflicts[0]);

    // A read-only database, as on a standby (25006).
    let url = pg.new_database("standby");
    open(&url, home.path())
        .unwrap()
        .migrate(|_| Ok(()))
        .unwrap();
    pg.psql("ALTER DATABASE standby SET default_transaction_read_only = on");
    let b = open(&url, home.path()).unwrap();
    b.migrate(|_| Ok(())).unwrap();
    let msg = unreachable(b.set_setting("k", "v"), &[password_of(&url)]);
    assert!(msg.contains("25006"), "{msg}");

    // Too many connections for the role (53300).
    let url = pg.new_database("crowded");
    pg.psql("ALTER ROLE kps_crowded CONNECTION LIMIT 1");
    let _first = open(&url, home.path()).unwrap();
    let msg = unreachable(open(&url, home.path()), &[]);
    assert!(msg.contains("53300"), "{msg}");

    // Anything else is a store kps cannot use as it is, with the SQLSTATE.
    let b = pg_backend(&pg, "revoked", home.path());
    pg.psql_in("revoked", "REVOKE SELECT ON keypairs FROM kps_revoked");
    match b.count_keypairs() {
        Err(Error::StoreCorrupt { detail, .. }) => assert!(detail.contains("42501"), "{detail}"),
        other => panic!("{other:?}"),
    }
}
