//! Attacks on the store's files and on the files kps writes: a hot journal
//! planted beside a single-file store (finding 7), backups' predictable
//! temporary names (8), a store others can read (11), `--force` over a link
//! or a fifo (12), and key files that cost too much to open in bulk (13).

use crate::common::*;
use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn set_mode(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// Run kps on `store` (a directory or a single store file) instead of the
/// harness's own store.
fn on_store(kps: &Kps, store: &Path, args: &[&str]) -> Run {
    let output = Command::new(bin())
        .arg("--store")
        .arg(store)
        .args(args)
        .env("KPS_PASSPHRASE_FILE", &kps.pass_file)
        .env("XDG_CONFIG_HOME", kps.config_home())
        .env_remove("KPS_STORE")
        .current_dir(kps.dir.path())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let run = Run { output };
    assert_no_secrets(&run);
    run
}

/// A store with two keypairs backed up to `DIR/backups/copy.db` (the
/// directory 0700 for now): the single-file store the attacker goes after.
fn single_file_store() -> (Kps, PathBuf) {
    let kps = Kps::new();
    kps.create("alpha", &[]);
    kps.create("beta", &[]);
    let dir = kps.path("backups");
    fs::create_dir(&dir).unwrap();
    set_mode(&dir, 0o700);
    let copy = dir.join("copy.db");
    kps.run(&["backup", copy.to_str().unwrap()]).ok();
    (kps, copy)
}

/// A real hot journal that turns `victim` into a store the attacker chose:
/// the attacker copies the victim, renames keypair `alpha` to `mallory` in
/// the copy, then starts a transaction on the copy big enough to spill to
/// disk, which writes a synced journal of the copy's original pages; that
/// journal, taken while the transaction is open, is what SQLite replays
/// into whichever database it finds it beside.
fn attacker_journal(work: &Path, victim: &Path) -> Vec<u8> {
    let forged = work.join("forged.db");
    fs::copy(victim, &forged).unwrap();
    let conn = rusqlite::Connection::open(&forged).unwrap();
    conn.execute_batch(
        "PRAGMA journal_mode = DELETE;
         UPDATE keypairs SET name = 'mallory' WHERE name = 'alpha';",
    )
    .unwrap();
    conn.execute_batch(
        "PRAGMA cache_size = 10;
         BEGIN;
         UPDATE keypairs SET name = name || '_', description = 'x';
         CREATE TABLE pad (x BLOB);
         INSERT INTO pad VALUES (zeroblob(2000000));",
    )
    .unwrap();
    let journal = fs::read(work.join("forged.db-journal")).unwrap();
    conn.execute_batch("ROLLBACK").unwrap();
    journal
}

#[test]
fn finding_7_hot_journal_planted_beside_a_single_file_store_is_refused() {
    let (kps, copy) = single_file_store();
    let dir = copy.parent().unwrap().to_path_buf();
    let journal = attacker_journal(kps.dir.path(), &copy);
    let before = fs::read(&copy).unwrap();
    let planted = dir.join("copy.db-journal");

    // The victim's backup directory is group/other-writable (0777, then a
    // sticky 1777 like /tmp): the attacker plants the journal in it.
    for mode in [0o777, 0o1777] {
        set_mode(&dir, mode);
        fs::write(&planted, &journal).unwrap();
        let run = on_store(&kps, &copy, &["list", "--names"]).expect(7);
        assert!(run.stdout().is_empty(), "{}", run.stdout());
        let err = on_store(&kps, &copy, &["--json", "list"])
            .expect(7)
            .error_json();
        assert_eq!(err["error_code"], "KPS.7027");
        let msg = err["error_msg"].as_str().unwrap();
        assert!(msg.contains(&dir.display().to_string()), "{msg}");
        assert!(msg.contains(&format!("mode {mode:03o}")), "{msg}");
        // The hint is the fix: chmod for a directory of one's own, moving
        // the file out of a shared sticky one (never chmod of /tmp).
        let stderr = run.stderr();
        if mode == 0o777 {
            assert!(
                stderr.contains(&format!("hint: chmod go-w '{}'", dir.display())),
                "{stderr}"
            );
        } else {
            assert!(!stderr.contains("chmod"), "{stderr}");
            assert!(
                stderr.contains(&format!("move '{}'", copy.display())),
                "{stderr}"
            );
        }
        // Nothing was replayed: the store and the journal are as they were.
        assert_eq!(fs::read(&copy).unwrap(), before);
        assert_eq!(fs::read(&planted).unwrap(), journal);
    }

    // The directory is private again but the journal is still there, and
    // another user's (or readable by all): refused too.
    set_mode(&dir, 0o700);
    set_mode(&planted, 0o644);
    let run = on_store(&kps, &copy, &["list", "--names"]).expect(7);
    assert!(
        run.stderr()
            .contains(&format!("chmod 600 '{}'", planted.display())),
        "{}",
        run.stderr()
    );
    if is_root() {
        set_mode(&planted, 0o600);
        std::os::unix::fs::chown(&planted, Some(65534), None).unwrap();
        let err = on_store(&kps, &copy, &["--json", "list"])
            .expect(7)
            .error_json();
        assert!(
            err["error_msg"]
                .as_str()
                .unwrap()
                .contains("belongs to user id 65534"),
            "{err}"
        );
    } else {
        eprintln!("SKIP (foreign journal): chown needs root");
    }
    // A journal that is a link to somewhere else is refused as well.
    fs::remove_file(&planted).unwrap();
    let elsewhere = kps.path("elsewhere");
    fs::write(&elsewhere, &journal).unwrap();
    set_mode(&elsewhere, 0o600);
    symlink(&elsewhere, &planted).unwrap();
    let err = on_store(&kps, &copy, &["--json", "list"])
        .expect(7)
        .error_json();
    assert!(
        err["error_msg"].as_str().unwrap().contains("symbolic link"),
        "{err}"
    );
    assert_eq!(fs::read(&copy).unwrap(), before);

    // The journal was real: with it gone the store opens as it was, and
    // planted in a private directory by the owner it would have renamed
    // alpha (what every check above kept from happening).
    fs::remove_file(&planted).unwrap();
    let names = on_store(&kps, &copy, &["list", "--names"]).ok().stdout();
    assert_eq!(names.lines().collect::<Vec<_>>(), ["alpha", "beta"]);
    let replayed = kps.path("replayed.db");
    fs::copy(&copy, &replayed).unwrap();
    fs::write(kps.path("replayed.db-journal"), &journal).unwrap();
    let conn = rusqlite::Connection::open(&replayed).unwrap();
    let mallory: i64 = conn
        .query_row(
            "SELECT count(*) FROM keypairs WHERE name = 'mallory'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(mallory, 1, "the forged journal did not replay");
}

/// The next process ids the kernel will hand out, as an attacker reads them.
fn next_pids(count: u32) -> Vec<u32> {
    let last: u32 = fs::read_to_string("/proc/sys/kernel/ns_last_pid")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(1);
    (1..=count).map(|i| last + i).collect()
}

#[test]
fn finding_8_backup_temporary_names_cannot_be_predicted_or_planted() {
    let kps = Kps::new();
    kps.create("alpha", &[]);
    let dir = kps.path("backups");
    fs::create_dir(&dir).unwrap();
    let target = dir.join("copy.db");
    // The attacker plants files at the names kps used to use
    // (TARGET.PID.tmp and SQLite's side files of it) for the next process
    // ids, each holding their own bytes.
    let mut planted = Vec::new();
    for pid in next_pids(300) {
        for suffix in ["", "-journal"] {
            let path = dir.join(format!("copy.db.{pid}.tmp{suffix}"));
            fs::write(&path, b"attacker's file").unwrap();
            set_mode(&path, 0o666);
            planted.push(path);
        }
    }
    let entries_before = fs::read_dir(&dir).unwrap().count();
    kps.run(&["backup", target.to_str().unwrap()]).ok();
    for path in &planted {
        assert_eq!(
            fs::read(path).unwrap(),
            b"attacker's file",
            "{}",
            path.display()
        );
    }
    // The backup is there, private, and nothing else was left behind.
    assert_eq!(mode_of(&target), 0o600);
    assert_eq!(fs::read_dir(&dir).unwrap().count(), entries_before + 1);
    let names = on_store(&kps, &target, &["list", "--names"]).ok().stdout();
    assert_eq!(names.trim(), "alpha");

    // A backup that cannot be written is an error about the target (exit
    // 1, KPS.7009), never about the store, and leaves nothing behind.
    let blocked = kps.path("not-a-dir");
    fs::write(&blocked, b"a file").unwrap();
    let bad_target = blocked.join("copy.db");
    let err = kps
        .run(&["--json", "backup", bad_target.to_str().unwrap()])
        .expect(1)
        .error_json();
    assert_eq!(err["error_code"], "KPS.7009");
    assert!(
        err["error_msg"]
            .as_str()
            .unwrap()
            .contains(&bad_target.display().to_string()),
        "{err}"
    );
    // Replacing with --force works and still leaves only the target.
    kps.create("beta", &[]);
    kps.run(&["backup", target.to_str().unwrap(), "--force"])
        .ok();
    assert_eq!(fs::read_dir(&dir).unwrap().count(), entries_before + 1);
    let names = on_store(&kps, &target, &["list", "--names"]).ok().stdout();
    assert_eq!(names.lines().collect::<Vec<_>>(), ["alpha", "beta"]);
    // Whatever the umask, the backup is 0600.
    let umasked = dir.join("umask.db");
    sh(
        &format!(
            "umask 000; '{}' --store '{}' backup '{}'",
            bin(),
            kps.store.display(),
            umasked.display()
        ),
        kps.dir.path(),
    );
    assert_eq!(mode_of(&umasked), 0o600);
}

#[test]
fn finding_11_store_readable_by_others_is_refused_with_the_chmod() {
    let kps = Kps::new();
    kps.create("alpha", &[]);
    let db = kps.db();
    for mode in [0o644, 0o640, 0o604] {
        set_mode(&db, mode);
        let run = kps.run(&["list", "--names"]).expect(7);
        assert!(run.stdout().is_empty(), "{}", run.stdout());
        let stderr = run.stderr();
        assert!(
            stderr.contains(&format!("hint: chmod 600 '{}'", db.display())),
            "{stderr}"
        );
        let err = kps.run(&["--json", "list"]).expect(7).error_json();
        assert_eq!(err["error_code"], "KPS.7027");
        assert!(
            err["error_msg"]
                .as_str()
                .unwrap()
                .contains(&format!("mode {mode:03o}")),
            "{err}"
        );
        // Nothing that reads keys runs either.
        kps.run(&["export", "alpha", "-o", "-"]).expect(7);
    }
    set_mode(&db, 0o600);
    // The WAL holds the latest rows: readable by others, refused the same.
    let wal = PathBuf::from(format!("{}-wal", db.display()));
    assert!(wal.exists(), "a store directory keeps its WAL");
    set_mode(&wal, 0o644);
    let run = kps.run(&["list"]).expect(7);
    assert!(
        run.stderr()
            .contains(&format!("chmod 600 '{}'", wal.display())),
        "{}",
        run.stderr()
    );
    set_mode(&wal, 0o600);
    // A world-readable store directory over private files is fine (like a
    // 0755 ~/.ssh over a 0600 key); a writable one is not.
    set_mode(&kps.store, 0o755);
    kps.run(&["list", "--names"]).ok();
    set_mode(&kps.store, 0o775);
    let run = kps.run(&["list"]).expect(7);
    assert!(
        run.stderr()
            .contains(&format!("chmod go-w '{}'", kps.store.display())),
        "{}",
        run.stderr()
    );
    set_mode(&kps.store, 0o700);
    // A backup is held to the same rules when opened as a store.
    let copy = kps.path("copy.db");
    kps.run(&["backup", copy.to_str().unwrap()]).ok();
    set_mode(&copy, 0o644);
    on_store(&kps, &copy, &["list"]).expect(7);
    // The hint quotes a path the shell would otherwise split or expand.
    let odd = kps.path("it's $HOME");
    fs::create_dir(&odd).unwrap();
    set_mode(&odd, 0o700);
    let odd_copy = odd.join("copy.db");
    kps.run(&["backup", odd_copy.to_str().unwrap()]).ok();
    set_mode(&odd_copy, 0o644);
    let stderr = on_store(&kps, &odd_copy, &["list"]).expect(7).stderr();
    let quoted = format!(
        "'{}'",
        odd_copy.display().to_string().replace('\'', r"'\''")
    );
    assert!(stderr.contains(&format!("chmod 600 {quoted}")), "{stderr}");
    sh(&format!("chmod 600 {quoted}"), kps.dir.path());
    on_store(&kps, &odd_copy, &["list"]).ok();
}

#[test]
fn finding_12_force_never_replaces_a_link_or_a_fifo() {
    let kps = Kps::new();
    kps.create("alpha", &[]);
    let victim = kps.path("victim");
    fs::write(&victim, b"someone else's file\n").unwrap();
    let link = kps.path("link");
    symlink(&victim, &link).unwrap();
    let fifo = kps.path("fifo");
    sh("mkfifo fifo", kps.dir.path());
    let commands: [&[&str]; 3] = [
        &["export", "alpha", "-o"],
        &["export-ppk", "alpha", "-o"],
        &["backup"],
    ];
    for path in [&link, &fifo] {
        for command in commands {
            for force in [true, false] {
                let mut args = vec!["--json"];
                args.extend(command);
                args.push(path.to_str().unwrap());
                if force {
                    args.push("--force");
                }
                let run = kps.run(&args).expect(1);
                let err = run.error_json();
                assert_eq!(err["error_code"], "KPS.7031", "{args:?}: {err}");
                // Without --json the hint points to standard output.
                args.remove(0);
                let stderr = kps.run(&args).expect(1).stderr();
                assert!(stderr.contains("-o -"), "{stderr}");
            }
        }
    }
    assert_eq!(
        fs::read_link(&link).unwrap(),
        victim,
        "the link was replaced"
    );
    assert_eq!(fs::read(&victim).unwrap(), b"someone else's file\n");
    assert!(std::os::unix::fs::FileTypeExt::is_fifo(
        &fs::symlink_metadata(&fifo).unwrap().file_type()
    ));
    // A regular file is still replaced with --force, and -o - still works.
    let regular = kps.path("regular");
    fs::write(&regular, b"old").unwrap();
    kps.run(&[
        "export",
        "alpha",
        "-o",
        regular.to_str().unwrap(),
        "--force",
    ])
    .ok();
    assert!(
        fs::read_to_string(&regular)
            .unwrap()
            .contains("OPENSSH PRIVATE KEY")
    );
    assert!(
        kps.run(&["export", "alpha", "-o", "-"])
            .ok()
            .stdout()
            .contains("OPENSSH PRIVATE KEY")
    );
}

#[test]
fn finding_13_a_directory_of_costly_keys_is_refused_before_any_is_opened() {
    if !have_tool("ssh-keygen") {
        return;
    }
    let kps = Kps::new();
    let dir = kps.path("keys");
    fs::create_dir(&dir).unwrap();
    let pass = kps.path("key-pass");
    fs::write(&pass, "key pass\n").unwrap();
    // One key at 20 bcrypt rounds (priced 0.24 s, far under the per-file
    // cap) copied under 130 names: 31.2 s in all, over the directory's 30 s.
    // (The attacker's files would each ask for the cap, 1000 rounds; the
    // test keeps making them cheap.)
    sh(
        "ssh-keygen -q -t ed25519 -a 20 -N 'key pass' -C costly -f costly",
        kps.dir.path(),
    );
    for i in 1..=130 {
        fs::copy(kps.path("costly"), dir.join(format!("k{i:03}"))).unwrap();
    }
    let puttygen = have_tool("puttygen");
    if puttygen {
        // And a .ppk asking 16 MiB x 16 Argon2 passes (priced 0.1 s).
        sh(
            "puttygen -q -t ed25519 -o z.ppk --new-passphrase key-pass \
             --ppk-param memory=16384,passes=16,parallelism=1",
            kps.dir.path(),
        );
        fs::rename(kps.path("z.ppk"), dir.join("z.ppk")).unwrap();
    }
    let started = std::time::Instant::now();
    let run = kps
        .run(&[
            "--json",
            "import",
            "--from-dir",
            dir.to_str().unwrap(),
            "--key-passphrase-file",
            pass.to_str().unwrap(),
        ])
        .expect(5);
    let elapsed = started.elapsed();
    let err = run.error_json();
    assert_eq!(err["error_code"], "KPS.7018");
    let failures = err["failures"].as_array().unwrap();
    let failed: Vec<String> = failures
        .iter()
        .map(|f| {
            let file = f["file"].as_str().unwrap();
            Path::new(file)
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    // 125 keys fit (125 x 0.24 s = 30 s); the ones after them are named.
    let mut expected: Vec<String> = (126..=130).map(|i| format!("k{i:03}")).collect();
    if puttygen {
        expected.push("z.ppk".into());
    }
    assert_eq!(failed, expected, "{err}");
    for f in failures {
        assert_eq!(f["error_code"], "KPS.6009", "{f}");
        let msg = f["error_msg"].as_str().unwrap();
        assert!(msg.contains("30.0 s"), "{msg}");
        if f["file"].as_str().unwrap().ends_with("z.ppk") {
            assert!(msg.contains("Argon2 with 16384 KiB x 16 passes"), "{msg}");
        } else {
            assert!(msg.contains("20 bcrypt rounds"), "{msg}");
        }
    }
    // No key was opened: 130 of them would take over half a minute.
    assert!(
        elapsed < std::time::Duration::from_secs(15),
        "took {elapsed:?}: keys were decrypted"
    );
    assert!(kps.run(&["list", "--names"]).ok().stdout().is_empty());

    // A directory within the budget imports as before.
    let few = kps.path("few");
    fs::create_dir(&few).unwrap();
    for i in 1..=2 {
        fs::copy(kps.path("costly"), few.join(format!("k{i}"))).unwrap();
    }
    kps.run(&[
        "import",
        "--from-dir",
        few.to_str().unwrap(),
        "--key-passphrase-file",
        pass.to_str().unwrap(),
    ])
    .ok();
    let names = kps.run(&["list", "--names"]).ok().stdout();
    assert_eq!(names.lines().collect::<Vec<_>>(), ["k1", "k2"]);
}
