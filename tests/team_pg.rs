//! The team store on PostgreSQL under load and faults (issue 18): many
//! writers and readers at once, writers killed and the server restarted in
//! the middle of writes, TLS verification, and the connection's secrets.

mod common;

use common::team::{Backend, Member, Place, Team};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

fn names(m: &Member) -> BTreeSet<String> {
    m.run(&["--json", "list"]).ok().json()["keypairs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["keypair"]["name"].as_str().unwrap().to_string())
        .collect()
}

/// 16 writers (4 members x 4) x 50 creates, and 4 readers listing all the
/// while: every create succeeds, every reader's list verifies, all 800 are
/// there, and the audit log is one unbroken chain.
#[test]
fn sixteen_writers_and_four_readers() {
    let Some(t) = Team::new(Backend::Postgres) else {
        return;
    };
    let members = Arc::new(vec![t.add("bob"), t.add("carol"), t.add("dave")]);
    let admin = Arc::new(t.admin);
    let done = Arc::new(AtomicBool::new(false));
    let failures = Arc::new(Mutex::new(Vec::<String>::new()));
    std::thread::scope(|scope| {
        let mut writers = Vec::new();
        for w in 0..16 {
            let (admin, members, failures) = (admin.clone(), members.clone(), failures.clone());
            writers.push(scope.spawn(move || {
                let m: &Member = if w % 4 == 0 {
                    &admin
                } else {
                    &members[w % 4 - 1]
                };
                for i in 0..50 {
                    let run = m.run(&["--json", "create", &format!("w{w:02}-{i:02}")]);
                    if run.code() != 0 {
                        failures.lock().unwrap().push(run.stderr());
                    }
                }
            }));
        }
        for r in 0..4 {
            let (admin, members, failures, done) = (
                admin.clone(),
                members.clone(),
                failures.clone(),
                done.clone(),
            );
            scope.spawn(move || {
                let m: &Member = if r == 0 { &admin } else { &members[r - 1] };
                let mut reads = 0;
                while !done.load(Ordering::SeqCst) || reads == 0 {
                    let run = m.run(&["--json", "list"]);
                    if run.code() != 0 {
                        failures.lock().unwrap().push(run.stderr());
                    }
                    reads += 1;
                }
            });
        }
        for w in writers {
            w.join().unwrap();
        }
        done.store(true, Ordering::SeqCst);
    });
    let failures = failures.lock().unwrap();
    assert!(
        failures.is_empty(),
        "{} failed: {:?}",
        failures.len(),
        &failures[..failures.len().min(3)]
    );
    assert_eq!(names(&members[1]).len(), 800);
    let log = admin.run(&["--json", "team", "log"]).ok().json();
    assert_eq!(log["unverified"], 0);
    assert_eq!(
        log["entries"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["action"] == "create")
            .count(),
        800
    );
}

/// Writers killed with SIGKILL, and the server restarted (`pg_ctl restart
/// -m immediate`) while writes are in flight: every create that reported
/// success is there and opens, nothing half-written is, and the store and
/// its log verify.
#[test]
fn killed_writers_and_a_crash_restart_leave_every_acknowledged_keypair() {
    let Some(t) = Team::new(Backend::Postgres) else {
        return;
    };
    let bob = Arc::new(t.add("bob"));
    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let other_failures = Arc::new(Mutex::new(Vec::<String>::new()));
    std::thread::scope(|scope| {
        for w in 0..4 {
            let (bob, acknowledged, stop, other) = (
                bob.clone(),
                acknowledged.clone(),
                stop.clone(),
                other_failures.clone(),
            );
            scope.spawn(move || {
                let mut i = 0;
                while !stop.load(Ordering::SeqCst) {
                    let name = format!("k{w}-{i:03}");
                    i += 1;
                    let mut child = bob
                        .command()
                        .args(["--json", "create", &name])
                        .stdout(std::process::Stdio::piped())
                        .stderr(std::process::Stdio::piped())
                        .spawn()
                        .unwrap();
                    // Every fifth write is killed a moment after it starts.
                    if i % 5 == 0 {
                        std::thread::sleep(std::time::Duration::from_millis(15 + (i % 7) * 5));
                        let _ = child.kill();
                    }
                    let out = child.wait_with_output().unwrap();
                    match out.status.code() {
                        Some(0) => acknowledged.lock().unwrap().push(name),
                        // Killed, or the server went away (exit 7, KPS.7090).
                        None => {}
                        Some(7) if String::from_utf8_lossy(&out.stderr).contains("KPS.7090") => {}
                        Some(_) => other
                            .lock()
                            .unwrap()
                            .push(String::from_utf8_lossy(&out.stderr).into_owned()),
                    }
                }
            });
        }
        std::thread::sleep(std::time::Duration::from_secs(2));
        t.place.pg().restart_immediate();
        std::thread::sleep(std::time::Duration::from_secs(2));
        stop.store(true, Ordering::SeqCst);
    });
    let other = other_failures.lock().unwrap();
    assert!(other.is_empty(), "unexpected failures: {other:?}");
    let acknowledged = acknowledged.lock().unwrap();
    assert!(
        acknowledged.len() > 10,
        "only {} writes went through",
        acknowledged.len()
    );
    let present = names(&t.admin);
    for name in acknowledged.iter() {
        assert!(
            present.contains(name),
            "{name} was acknowledged and is gone"
        );
    }
    // Every row there verifies and every key opens; the log is whole.
    let verified = t.admin.run(&["--json", "verify"]).ok().json();
    assert_eq!(verified["keypairs"], present.len());
    let log = t.admin.run(&["--json", "team", "log"]).ok().json();
    assert_eq!(log["unverified"], 0);
}

#[test]
fn tls_verify_full_with_the_right_ca_and_refused_with_another() {
    let Some(place) = Place::postgres_tls() else {
        return;
    };
    let other_ca = place.pg().other_ca_file().to_path_buf();
    let good = place.arg().into_string().unwrap();
    let Some(t) = Team::at(place) else { return };
    t.admin.create("over-tls");
    let bad = good.replace(
        &t.place.pg().ca_file().display().to_string(),
        &other_ca.display().to_string(),
    );
    let run = t
        .admin
        .run_with(&["--json", "list"], |c| {
            c.env("KPS_STORE", &bad);
        })
        .expect(7);
    let err = run.error_json();
    assert_eq!(err["error_code"], "KPS.7090");
    let msg = err["error_msg"].as_str().unwrap();
    assert!(msg.contains("certificate"), "{msg}");
    let password = good.split(':').nth(2).unwrap().split('@').next().unwrap();
    assert!(!run.stderr().contains(password), "{}", run.stderr());
    // Without TLS the server refuses (hostssl only), and says so.
    let plain = good.split('?').next().unwrap().to_string() + "?sslmode=disable";
    let run = t
        .admin
        .run_with(&["--json", "list"], |c| {
            c.env("KPS_STORE", &plain);
        })
        .expect(7);
    assert_eq!(run.error_json()["error_code"], "KPS.7090");
    assert!(!run.stderr().contains(password));
}

/// A password never shows: not in JSON, errors, or the command line (a URL
/// with a password given to --store is refused: ps would show it).
#[test]
fn the_database_password_never_shows() {
    let Some(t) = Team::new(Backend::Postgres) else {
        return;
    };
    let url = t.place.arg().into_string().unwrap();
    let password = url
        .split(':')
        .nth(2)
        .unwrap()
        .split('@')
        .next()
        .unwrap()
        .to_string();
    for args in [
        vec!["--json", "create", "web"],
        vec!["--json", "list"],
        vec!["--json", "team", "members"],
        vec!["--json", "show", "nope"],
    ] {
        let run = t.admin.run(&args);
        let all = format!("{}{}", run.stdout(), run.stderr());
        assert!(!all.contains(&password), "{args:?}: {all}");
    }
    let run = t
        .admin
        .run_with(&["--json", "--store", &url, "list"], |c| {
            c.env_remove("KPS_STORE");
        })
        .expect(2);
    assert!(!run.stderr().contains(&password), "{}", run.stderr());
    // Also as --store=URL, and when KPS_STORE holds the same URL: it is
    // the command line that ps shows.
    let joined = format!("--store={url}");
    t.admin
        .run_with(&["--json", &joined, "list"], |c| {
            c.env_remove("KPS_STORE");
        })
        .expect(2);
    t.admin.run(&["--json", "--store", &url, "list"]).expect(2);
    // The password from PGPASSWORD, the URL without it: fine on argv.
    let bare = url.replace(&format!(":{password}@"), "@");
    let run = t
        .admin
        .run_with(&["--json", "--store", &bare, "list"], |c| {
            c.env_remove("KPS_STORE").env("PGPASSWORD", &password);
        })
        .ok();
    assert_eq!(run.json()["keypairs"].as_array().unwrap().len(), 1);
    // A stopped server: a clear error within the connect timeout.
    let port = t.place.pg().port();
    let stopped = bare.replace(&format!("127.0.0.1:{port}"), "127.0.0.1:9") + "?connect_timeout=2";
    let run = t
        .admin
        .run_with(&["--json", "--store", &stopped, "list"], |c| {
            c.env_remove("KPS_STORE").env("PGPASSWORD", &password);
        })
        .expect(7);
    assert_eq!(run.error_json()["error_code"], "KPS.7090");
}

/// A transaction that PostgreSQL ends for a deadlock is tried again: a
/// superuser session holds the keypair's row and then asks for the team's
/// lock while `kps delete` holds that lock and waits for the row. The
/// server picks kps's transaction as the victim (its deadlock check runs
/// first); kps runs it again and the delete goes through.
#[test]
fn a_deadlocked_write_is_tried_again() {
    let Some(t) = Team::new(Backend::Postgres) else {
        return;
    };
    t.admin.create("victim");
    let team_lock = 0x5a1c_2f0e_8d3b_7a61_u64 as i64;
    let sql = format!(
        "SET deadlock_timeout = '20s';
         BEGIN;
         UPDATE keypairs SET description = description WHERE name = 'victim';
         DO $$ BEGIN
           FOR i IN 1..400 LOOP
             EXIT WHEN EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory'
                               AND granted AND pid <> pg_backend_pid());
             PERFORM pg_sleep(0.05);
           END LOOP;
         END $$;
         SELECT pg_advisory_xact_lock({team_lock});
         COMMIT;"
    );
    let Place::Postgres { pg, db, .. } = &t.place else {
        unreachable!()
    };
    std::thread::scope(|scope| {
        let session = scope.spawn(|| pg.try_psql_in(db, &sql));
        std::thread::sleep(std::time::Duration::from_millis(500));
        t.admin.run(&["--json", "delete", "victim", "--yes"]).ok();
        session
            .join()
            .unwrap()
            .expect("the superuser's session commits");
    });
    assert!(
        pg.log_text().contains("deadlock detected"),
        "no deadlock happened, so nothing was retried"
    );
    assert!(names(&t.admin).is_empty());
    let log = t.admin.run(&["--json", "team", "log"]).ok().json();
    assert_eq!(log["unverified"], 0);
}

/// A backup whose read fails part way (here the last table read, the
/// audit log, has a column a superuser changed to a type kps does not
/// store) is a clear error and leaves no file, whole or partial, and
/// nothing of its work beside the target.
#[test]
fn a_backup_that_fails_part_way_leaves_no_file() {
    let Some(t) = Team::new(Backend::Postgres) else {
        return;
    };
    t.admin.create("kept");
    t.place
        .sql("ALTER TABLE team_audit ALTER COLUMN at_micros TYPE numeric");
    let dir = t.admin.own.path("backups");
    std::fs::create_dir(&dir).unwrap();
    let file = dir.join("team.db");
    let run = t
        .admin
        .run(&["--json", "backup", file.to_str().unwrap()])
        .expect(7);
    let error = run.error_json();
    assert!(
        error["error_msg"].as_str().unwrap().contains("at_micros"),
        "{error}"
    );
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        0,
        "left in {dir:?}"
    );
}

/// `kps restore` replaces a store file: on PostgreSQL it points at
/// pg_restore and `store copy`, and changes nothing. (`kps backup` works on
/// both backends: tests/team.rs.)
#[test]
fn restore_points_at_pg_restore() {
    let Some(t) = Team::new(Backend::Postgres) else {
        return;
    };
    t.admin.create("kept");
    let personal_backup = t.admin.own.path("own-backup.db");
    t.admin
        .own
        .run(&["backup", personal_backup.to_str().unwrap()])
        .ok();
    let run = t
        .admin
        .run(&["--json", "restore", personal_backup.to_str().unwrap()])
        .expect(1);
    assert_eq!(run.error_json()["error_code"], "KPS.7086");
    let run = t
        .admin
        .run(&["restore", personal_backup.to_str().unwrap()])
        .expect(1);
    assert!(run.stderr().contains("pg_restore"), "{}", run.stderr());
    assert!(run.stderr().contains("store copy"), "{}", run.stderr());
    assert_eq!(names(&t.admin).into_iter().collect::<Vec<_>>(), ["kept"]);
}

/// A statement timeout (here: a create waiting for the team's lock, held by
/// a superuser's session, longer than the role's statement_timeout) is
/// KPS.7090, exit 7, saying so; nothing of the create is written.
#[test]
fn a_statement_timeout_is_a_clear_error_and_writes_nothing() {
    let Some(t) = Team::new(Backend::Postgres) else {
        return;
    };
    t.admin.create("before");
    let Place::Postgres { pg, db, .. } = &t.place else {
        unreachable!()
    };
    pg.psql_in(db, "ALTER ROLE kps_team SET statement_timeout = '700ms'");
    let team_lock = 0x5a1c_2f0e_8d3b_7a61_u64 as i64;
    std::thread::scope(|scope| {
        let holder = scope.spawn(|| {
            pg.try_psql_in(
                db,
                &format!(
                    "BEGIN; SELECT pg_advisory_xact_lock({team_lock}); SELECT pg_sleep(3); COMMIT;"
                ),
            )
        });
        std::thread::sleep(std::time::Duration::from_millis(500));
        let run = t.admin.run(&["--json", "create", "during"]).expect(7);
        let err = run.error_json();
        assert_eq!(err["error_code"], "KPS.7090");
        assert!(
            err["error_msg"]
                .as_str()
                .unwrap()
                .contains("statement timeout"),
            "{err}"
        );
        holder.join().unwrap().unwrap();
    });
    assert_eq!(names(&t.admin).into_iter().collect::<Vec<_>>(), ["before"]);
    assert_eq!(
        t.place
            .sql("SELECT count(*) FROM team_audit WHERE target = 'during'"),
        "0"
    );
}

/// The keypairs table moved (by the superuser) onto a 512 KiB tmpfs, then
/// the disk filled: the create that finds no space is KPS.7090, exit 7,
/// saying so, and writes nothing; every keypair made before still opens,
/// and once space is freed creates work again.
#[test]
fn a_full_disk_is_a_clear_error_and_writes_nothing() {
    if !rustix::process::geteuid().is_root() {
        assert!(
            std::env::var("KPS_TEST_REQUIRE_TOOLS").as_deref() != Ok("1"),
            "mounting a small tmpfs needs root"
        );
        eprintln!("SKIP: mounting a small tmpfs for the full disk needs root");
        return;
    }
    let Some(t) = Team::new(Backend::Postgres) else {
        return;
    };
    t.admin.create("before");
    let dir = tempfile::tempdir().unwrap();
    let tiny = dir.path().join("tiny");
    std::fs::create_dir(&tiny).unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=512k,mode=0700", "tmpfs"])
        .arg(&tiny)
        .status()
        .unwrap();
    assert!(mounted.success(), "mount a tmpfs");
    struct Unmount(std::path::PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount")
                .arg("-l")
                .arg(&self.0)
                .status();
        }
    }
    let _unmount = Unmount(tiny.clone());
    common::tool_ok("chown", &[&"postgres:postgres", &tiny]);
    let Place::Postgres { pg, db, .. } = &t.place else {
        unreachable!()
    };
    pg.psql_in(
        db,
        &format!("CREATE TABLESPACE tiny LOCATION '{}'", tiny.display()),
    );
    pg.psql_in(db, "ALTER TABLE keypairs SET TABLESPACE tiny");
    pg.psql_in(
        db,
        "CREATE TABLE filler (b text) TABLESPACE tiny;
         ALTER TABLE filler ALTER COLUMN b SET STORAGE EXTERNAL",
    );
    // Filler until the disk is full (each row 32 KiB of hex).
    for _ in 0..64 {
        if pg
            .try_psql_in(
                db,
                "INSERT INTO filler SELECT string_agg(md5(random()::text), '') FROM generate_series(1, 1024)",
            )
            .is_err()
        {
            break;
        }
    }
    let mut acknowledged = vec!["before".to_string()];
    let mut full = None;
    for i in 0..200 {
        let name = format!("k{i:03}");
        let run = t.admin.run(&["--json", "create", &name]);
        if run.code() == 0 {
            acknowledged.push(name);
        } else {
            full = Some((name, run));
            break;
        }
    }
    let (name, run) = full.expect("the disk never filled");
    assert_eq!(run.code(), 7, "{}", run.stderr());
    let err = run.error_json();
    assert_eq!(err["error_code"], "KPS.7090");
    let msg = err["error_msg"].as_str().unwrap();
    assert!(
        msg.contains("No space left") || msg.contains("53100"),
        "{msg}"
    );
    let present = names(&t.admin);
    assert!(!present.contains(&name));
    for k in &acknowledged {
        assert!(present.contains(k), "{k} is gone");
    }
    pg.psql_in(db, "DROP TABLE filler");
    t.admin.create("after");
    let verified = t.admin.run(&["--json", "verify"]).ok().json();
    assert_eq!(verified["keypairs"], acknowledged.len() + 1);
    // The tablespace goes before the cluster (and the tmpfs) do.
    pg.psql_in(db, "ALTER TABLE keypairs SET TABLESPACE pg_default");
    pg.psql_in(db, "DROP TABLESPACE tiny");
}
