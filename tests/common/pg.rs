//! A private PostgreSQL cluster for the team-store tests (issue 18): Debian's
//! server binaries (`/usr/lib/postgresql/<newest>/bin`), a data directory in
//! a temp directory, run as the `postgres` system user when the tests run as
//! root (initdb and postgres refuse root), as the test's own user otherwise.
//! The cluster listens on a Unix socket in its temp directory and on
//! 127.0.0.1 at a free port, never on any other address; TCP logins need a
//! password (scram-sha-256), over TLS only for [`Pg::start_tls`]. Dropping
//! a [`Pg`] stops the server (`pg_ctl stop -m immediate`, then SIGKILL for
//! whatever is left) and removes every file of it, whatever the test did.
//!
//! Startup cost: `initdb` runs once per machine and PostgreSQL version (a
//! template data directory kept in cargo's `target/tmp`, built in a temp
//! directory and renamed into place, so concurrent test binaries never see a
//! half-made one); each cluster is a `cp -a` of it (about 40 MB, well under
//! 0.1 s) and a server start. One cluster per test rather than one per test
//! binary: a cluster held in a static is never dropped, so it would outlive
//! the test binary, and the crash tests restart their cluster, which would
//! break every other test sharing it.
//!
//! The postmaster is this process's child (spawned directly, not through
//! `pg_ctl start`), so it is reaped and its pid is known exactly. It is not
//! tied to the spawning thread (no PR_SET_PDEATHSIG, which fires when that
//! thread ends), so a [`Pg`] can be shared between threads; the price is that
//! a test binary killed by SIGKILL leaves its cluster running, as it leaves
//! its sshd.

use super::have_tool;
use super::port::free_port;
use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt, chown};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The cluster superuser's name and its password for TCP logins (the
/// harness itself uses the Unix socket, where `postgres` is trusted).
pub const SUPERUSER: &str = "postgres";
pub const SUPERUSER_PASSWORD: &str = "kps-pg-superuser-9c41e7";

/// Bumped whenever the template's initdb options change, so that a template
/// from an older harness in target/tmp is not reused.
const TEMPLATE_FORMAT: u32 = 1;

/// How long a server start (including crash recovery) may take.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// Is a PostgreSQL server installed (initdb, postgres, pg_ctl and psql under
/// `/usr/lib/postgresql/*/bin`), and, when running as root, the `postgres`
/// user and `setpriv` to run it as? As [`have_tool`]: under
/// `KPS_TEST_REQUIRE_TOOLS=1` a no fails the test, else it prints why the
/// test skips.
pub fn have_postgres() -> bool {
    let problem = match (server(), is_root()) {
        (Err(e), _) => Some(e.clone()),
        (Ok(_), true) if !have_tool("setpriv") => return false,
        (Ok(_), true) if user_ids(SUPERUSER).is_none() => Some(
            "running as root and there is no `postgres` system user to run the server as \
             (the postgresql package creates it)"
                .to_string(),
        ),
        _ => None,
    };
    if let Some(problem) = problem {
        if std::env::var("KPS_TEST_REQUIRE_TOOLS").as_deref() == Ok("1") {
            panic!("PostgreSQL is required (KPS_TEST_REQUIRE_TOOLS=1): {problem}");
        }
        eprintln!("SKIP: {problem}");
        return false;
    }
    true
}

/// The server binaries found, once per test binary.
struct Server {
    bin: PathBuf,
    /// `postgres --version`'s number ("15.14"), part of the template's name.
    version: String,
}

fn server() -> &'static Result<Server, String> {
    static SERVER: OnceLock<Result<Server, String>> = OnceLock::new();
    SERVER.get_or_init(find_server)
}

/// The newest `/usr/lib/postgresql/<major>/bin` holding every program the
/// harness runs.
fn find_server() -> Result<Server, String> {
    let root = Path::new("/usr/lib/postgresql");
    let mut majors: Vec<(u32, PathBuf)> = std::fs::read_dir(root)
        .map_err(|_| {
            "PostgreSQL server not installed: no /usr/lib/postgresql (package postgresql)"
                .to_string()
        })?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let major = e.file_name().to_str()?.parse::<u32>().ok()?;
            Some((major, e.path().join("bin")))
        })
        .filter(|(_, bin)| {
            ["initdb", "postgres", "pg_ctl", "psql"]
                .iter()
                .all(|p| bin.join(p).is_file())
        })
        .collect();
    majors.sort();
    let (_, bin) = majors.pop().ok_or_else(|| {
        "no /usr/lib/postgresql/*/bin with initdb, postgres, pg_ctl and psql (package postgresql)"
            .to_string()
    })?;
    let out = Command::new(bin.join("postgres"))
        .arg("--version")
        .output()
        .map_err(|e| format!("cannot run {}/postgres: {e}", bin.display()))?;
    // "postgres (PostgreSQL) 15.14 (Debian 15.14-0+deb12u1)"
    let text = String::from_utf8_lossy(&out.stdout);
    let version = text
        .split_whitespace()
        .nth(2)
        .filter(|v| v.chars().all(|c| c.is_ascii_digit() || c == '.'))
        .ok_or_else(|| format!("unexpected `postgres --version` output: {text}"))?
        .to_string();
    Ok(Server { bin, version })
}

fn is_root() -> bool {
    std::fs::metadata("/proc/self").map(|m| m.uid()).ok() == Some(0)
}

/// uid and gid of a system user (`id -u`, `id -g`).
fn user_ids(user: &str) -> Option<(u32, u32)> {
    let id = |flag: &str| -> Option<u32> {
        let out = Command::new("id").args([flag, user]).output().ok()?;
        if !out.status.success() {
            return None;
        }
        String::from_utf8(out.stdout).ok()?.trim().parse().ok()
    };
    Some((id("-u")?, id("-g")?))
}

/// Who the server runs as: the `postgres` user under root, else ourselves
/// (None: no change of user).
fn server_user() -> Option<(u32, u32)> {
    if is_root() {
        Some(user_ids(SUPERUSER).expect("the postgres user (checked by have_postgres)"))
    } else {
        None
    }
}

/// The uid owning the server's files.
fn server_uid() -> u32 {
    server_user().map(|(u, _)| u).unwrap_or_else(|| {
        std::fs::metadata("/proc/self")
            .map(|m| m.uid())
            .expect("own uid")
    })
}

/// A server program (initdb, postgres, pg_ctl) as the server's user, with a
/// clean environment (no PG* from the developer's shell, C messages so that
/// tests can match them), in `cwd` (the server user must be able to enter it).
fn server_command(program: &str, cwd: &Path) -> Command {
    let bin = &server().as_ref().expect("have_postgres").bin;
    let mut cmd = match server_user() {
        Some(_) => {
            let mut c = Command::new("setpriv");
            c.args([
                &format!("--reuid={SUPERUSER}"),
                &format!("--regid={SUPERUSER}"),
                "--init-groups",
                "--",
            ])
            .arg(bin.join(program));
            c
        }
        None => Command::new(bin.join(program)),
    };
    cmd.env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("LC_ALL", "C")
        .current_dir(cwd)
        .stdin(Stdio::null());
    cmd
}

/// A directory the server's user owns, mode 0700.
fn give_to_server(path: &Path) {
    if let Some((uid, gid)) = server_user() {
        chown(path, Some(uid), Some(gid)).unwrap();
    }
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700)).unwrap();
}

fn run_ok(mut cmd: Command, what: &str) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The template data directory: made once per machine and version in
/// cargo's target/tmp (see the module comment), rebuilt when it is not owned
/// by the server's user (a CI cache from another machine).
fn template() -> &'static Path {
    static TEMPLATE: OnceLock<PathBuf> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let server = server().as_ref().expect("have_postgres");
        // CARGO_TARGET_TMPDIR is set for integration tests only; the
        // crate's unit tests (src/store/backend/conformance.rs) use the same
        // directory under the default target dir.
        let cache = Path::new(
            option_env!("CARGO_TARGET_TMPDIR")
                .unwrap_or(concat!(env!("CARGO_MANIFEST_DIR"), "/target/tmp")),
        );
        let path = cache.join(format!("pg-template-{}-f{TEMPLATE_FORMAT}", server.version));
        let usable = std::fs::metadata(path.join("PG_VERSION"))
            .map(|m| m.uid() == server_uid())
            .unwrap_or(false);
        if usable {
            return path;
        }
        let _ = std::fs::remove_dir_all(&path);
        let started = Instant::now();
        // initdb in a temp directory the server's user owns (it may not be
        // able to enter the checkout's target/), then copied next to the
        // final name and renamed: another test binary doing the same at the
        // same time loses the rename and uses the winner's.
        let work = tempfile::Builder::new()
            .prefix("kps-pg-initdb-")
            .tempdir()
            .unwrap();
        give_to_server(work.path());
        let pwfile = work.path().join("pw");
        std::fs::write(&pwfile, format!("{SUPERUSER_PASSWORD}\n")).unwrap();
        if let Some((uid, gid)) = server_user() {
            chown(&pwfile, Some(uid), Some(gid)).unwrap();
        }
        let data = work.path().join("data");
        let mut initdb = server_command("initdb", work.path());
        initdb
            .arg("-D")
            .arg(&data)
            .args(["-U", SUPERUSER, "-E", "UTF8", "--locale=C"])
            .arg(format!("--pwfile={}", pwfile.display()))
            .args([
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "--no-sync",
                "--no-instructions",
            ]);
        run_ok(initdb, "initdb");
        std::fs::create_dir_all(cache).unwrap();
        let staging = cache.join(format!(
            "pg-template-{}-f{TEMPLATE_FORMAT}.partial-{}",
            server.version,
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&staging);
        copy_tree(&data, &staging);
        if std::fs::rename(&staging, &path).is_err() {
            let _ = std::fs::remove_dir_all(&staging);
            assert!(
                path.join("PG_VERSION").is_file(),
                "cannot put the PostgreSQL template data directory at {}",
                path.display()
            );
        }
        eprintln!(
            "made the PostgreSQL {} template data directory {} in {:?}",
            server.version,
            path.display(),
            started.elapsed()
        );
        path
    })
}

/// `cp -a`: keeps owners (we may be root copying the postgres user's files)
/// and modes (the server wants its data directory 0700).
fn copy_tree(from: &Path, to: &Path) {
    let mut cp = Command::new("cp");
    cp.arg("-a").arg(from).arg(to);
    run_ok(cp, "cp -a (the PostgreSQL template)");
}

/// The TLS material of a [`Pg::start_tls`] cluster, made with the openssl CLI.
struct Tls {
    ca: PathBuf,
    other_ca: PathBuf,
}

/// A running private cluster. See the module comment.
pub struct Pg {
    /// Owned by the server's user, 0700: the data directory, the socket,
    /// the server's log, the TLS files. Removed on drop.
    dir: tempfile::TempDir,
    data: PathBuf,
    port: u16,
    tls: Option<Tls>,
    /// The postmaster (replaced by `restart_immediate`).
    postmaster: Mutex<Child>,
}

impl Drop for Pg {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Pg {
    /// A cluster with plain TCP (password over scram-sha-256).
    pub fn start() -> Pg {
        Pg::start_with(false)
    }

    /// A cluster whose TCP logins must use TLS (`hostssl` only), with a
    /// server certificate for 127.0.0.1 and localhost from a throwaway CA
    /// ([`Pg::ca_file`]); [`Pg::other_ca_file`] is an unrelated CA with the
    /// same name, for the wrong-CA test. Needs the openssl CLI.
    pub fn start_tls() -> Pg {
        Pg::start_with(true)
    }

    fn start_with(tls: bool) -> Pg {
        let template = template();
        let dir = tempfile::Builder::new()
            .prefix("kps-pg-")
            .tempdir()
            .unwrap();
        give_to_server(dir.path());
        // The socket's path (dir/.s.PGSQL.PORT) must fit sun_path.
        assert!(
            dir.path().as_os_str().len() < 90,
            "temp directory path too long for a Unix socket: {} (set TMPDIR shorter)",
            dir.path().display()
        );
        let data = dir.path().join("data");
        copy_tree(template, &data);
        let tls = tls.then(|| make_tls(dir.path()));
        let hba = if tls.is_some() {
            "hostssl all all 127.0.0.1/32 scram-sha-256\n"
        } else {
            "host all all 127.0.0.1/32 scram-sha-256\n"
        };
        // Only the superuser is trusted on the socket (the harness); every
        // other role needs its password there too, as over TCP. Nothing
        // matches ::1 or any other address: refused.
        std::fs::write(
            data.join("pg_hba.conf"),
            format!("local all {SUPERUSER} trust\nlocal all all scram-sha-256\n{hba}"),
        )
        .unwrap();
        let mut conf = std::fs::OpenOptions::new()
            .append(true)
            .open(data.join("postgresql.conf"))
            .unwrap();
        writeln!(conf, "\n# kps tests (tests/common/pg.rs)").unwrap();
        writeln!(conf, "include 'kps-test.conf'").unwrap();
        let mut pg = None;
        // The free port is found by binding port 0 and letting go: another
        // test can take it before the server binds it. Then try another.
        for attempt in 0.. {
            let port = free_port();
            write_settings(&data, dir.path(), port, tls.is_some());
            match spawn_postmaster(&data, dir.path()) {
                Ok(child) => {
                    pg = Some(Pg {
                        postmaster: Mutex::new(child),
                        dir,
                        data,
                        port,
                        tls,
                    });
                    break;
                }
                Err(log) if attempt < 5 && log.contains("could not bind") => continue,
                Err(log) => panic!("PostgreSQL did not start:\n{log}"),
            }
        }
        pg.unwrap()
    }

    /// The TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The directory holding the Unix socket (`.s.PGSQL.<port>`).
    pub fn socket_dir(&self) -> &Path {
        self.dir.path()
    }

    /// The cluster's temp directory (removed on drop).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The superuser over TCP with its password, database `postgres`.
    pub fn superuser_url(&self) -> String {
        format!(
            "postgres://{SUPERUSER}:{SUPERUSER_PASSWORD}@127.0.0.1:{}/postgres",
            self.port
        )
    }

    /// A fresh database `name` (lowercase letters, digits, `_`) and a fresh
    /// role `kps_<name>` owning it, with a random password; returns
    /// `postgres://kps_<name>:<password>@127.0.0.1:<port>/<name>` (add
    /// `?sslmode=verify-full&sslrootcert=...` on a TLS cluster).
    ///
    /// The role is what kps will need and no more. kps creates and migrates
    /// its own tables on first use, so the role owns the database: it can
    /// create, alter and drop its tables, read and write them, and take
    /// advisory locks (granted to PUBLIC), all kps does. It is not a
    /// superuser and cannot create databases or roles, replicate, or bypass
    /// row security; it is granted no role. It keeps the default INHERIT:
    /// on PostgreSQL 15 the `public` schema belongs to `pg_database_owner`,
    /// a role every database owner is implicitly a member of, and with
    /// NOINHERIT the owner could not create a table in its own database.
    /// Other roles are kept out of the database (CONNECT and TEMPORARY
    /// revoked from PUBLIC), so a second role on the same cluster cannot
    /// even connect to it. Only a superuser (the DBA of the threat model)
    /// gets in; the tests play that DBA through [`Pg::psql_in`].
    pub fn new_database(&self, name: &str) -> String {
        assert!(
            !name.is_empty()
                && name.len() <= 40
                && name.starts_with(|c: char| c.is_ascii_lowercase())
                && name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
            "database name {name:?}: use [a-z][a-z0-9_]*, at most 40 characters"
        );
        let role = format!("kps_{name}");
        let password = random_hex(16);
        self.psql(&format!(
            "CREATE ROLE \"{role}\" LOGIN PASSWORD '{password}' NOSUPERUSER NOCREATEDB \
             NOCREATEROLE NOREPLICATION NOBYPASSRLS;\n\
             CREATE DATABASE \"{name}\" OWNER \"{role}\";\n\
             REVOKE ALL ON DATABASE \"{name}\" FROM PUBLIC;\n"
        ));
        format!(
            "postgres://{role}:{password}@127.0.0.1:{}/{name}",
            self.port
        )
    }

    /// Run `sql` as the superuser in database `postgres` (over the socket);
    /// its output as `psql -At` prints it (unaligned, `|` between columns,
    /// no headers). Panics, with the server's log, when a statement fails.
    pub fn psql(&self, sql: &str) -> String {
        self.psql_in("postgres", sql)
    }

    /// As [`Pg::psql`], in database `db` (a test's database, to play the
    /// malicious DBA on kps's tables).
    pub fn psql_in(&self, db: &str, sql: &str) -> String {
        self.try_psql_in(db, sql)
            .unwrap_or_else(|e| panic!("psql as superuser in {db} failed: {e}\nSQL: {sql}"))
    }

    /// As [`Pg::psql_in`], the error (psql's stderr) instead of a panic.
    pub fn try_psql_in(&self, db: &str, sql: &str) -> Result<String, String> {
        let mut cmd = psql_command();
        cmd.arg("-h").arg(self.socket_dir()).args([
            "-p",
            &self.port.to_string(),
            "-U",
            SUPERUSER,
            "-d",
            db,
        ]);
        run_psql(cmd, sql)
    }

    /// `ssl_ca_file` of a TLS cluster: the CA that signed its certificate.
    pub fn ca_file(&self) -> &Path {
        &self
            .tls
            .as_ref()
            .expect("not a TLS cluster (Pg::start_tls)")
            .ca
    }

    /// A CA unrelated to the cluster's, with the same subject name.
    pub fn other_ca_file(&self) -> &Path {
        &self
            .tls
            .as_ref()
            .expect("not a TLS cluster (Pg::start_tls)")
            .other_ca
    }

    /// `pg_ctl restart -m immediate`, for the crash tests: the postmaster
    /// and every backend get SIGQUIT and exit at once, with no checkpoint
    /// (open transactions are lost, committed ones must survive crash
    /// recovery), then a new postmaster starts on the same port and socket
    /// and this returns once it accepts connections. Done as `pg_ctl stop -m
    /// immediate` and a start of our own, so the new postmaster is again our
    /// child. Can be called from another thread while clients are writing.
    pub fn restart_immediate(&self) {
        let mut postmaster = self.postmaster.lock().unwrap_or_else(|e| e.into_inner());
        self.pg_ctl_stop();
        wait_or_kill(&mut postmaster, Duration::from_secs(30));
        // The port must stay the same (tests hold URLs naming it). In the
        // moment it was free, another test's free_port() may have been
        // handed it: wait for that one to let go.
        let mut attempt = 0;
        *postmaster = loop {
            match spawn_postmaster(&self.data, self.dir.path()) {
                Ok(child) => break child,
                Err(log) if attempt < 50 && log.contains("could not bind") => {
                    attempt += 1;
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(log) => panic!("PostgreSQL did not restart:\n{log}"),
            }
        };
    }

    /// The postmaster's pid and its children's (the backends and auxiliary
    /// processes) at this moment.
    pub fn pids(&self) -> Vec<u32> {
        let pid = self
            .postmaster
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .id();
        let mut pids = vec![pid];
        pids.extend(children_of(pid));
        pids
    }

    /// The server's log (stderr of every postmaster of this cluster).
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("postgres.log")).unwrap_or_default()
    }

    fn pg_ctl_stop(&self) {
        let mut cmd = server_command("pg_ctl", self.dir.path());
        cmd.arg("stop")
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "immediate", "-w", "-t", "20"])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let _ = cmd.status();
    }

    /// `pg_ctl stop -m immediate`, then SIGKILL to the postmaster and to any
    /// of its children still there; the temp directory goes with `dir`.
    fn stop(&mut self) {
        let postmaster = self.postmaster.get_mut().unwrap_or_else(|e| e.into_inner());
        let pid = postmaster.id();
        let children: Vec<(u32, u64)> = children_of(pid)
            .into_iter()
            .filter_map(|c| Some((c, start_time(c)?)))
            .collect();
        self.pg_ctl_stop();
        let postmaster = self.postmaster.get_mut().unwrap_or_else(|e| e.into_inner());
        wait_or_kill(postmaster, Duration::from_secs(10));
        // The backends notice the postmaster's death by themselves; make
        // sure (same pid and same start time: the same process).
        // A process that even SIGKILL does not end within 20 s (stuck in
        // the kernel) is left for the tests' own checks to report.
        let deadline = Instant::now() + Duration::from_secs(10);
        let give_up = deadline + Duration::from_secs(10);
        for (child, started) in children {
            while start_time(child) == Some(started) && Instant::now() < give_up {
                if Instant::now() > deadline {
                    let _ = Command::new("kill")
                        .args(["-KILL", &child.to_string()])
                        .status();
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
}

fn wait_or_kill(child: &mut Child, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    while let Ok(None) = child.try_wait() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The cluster's own settings, included at the end of postgresql.conf (so
/// they beat the template's). fsync off: a test cluster survives a process
/// crash without it (the data is in the kernel's page cache), which is all
/// `restart_immediate` does; synchronous_commit stays on, or a commit
/// acknowledged just before the crash could be lost and the crash tests
/// would see a kps bug that is not one. full_page_writes stays on too: a
/// backend SIGKILLed in the middle of writing an 8 kB page could leave half
/// of it, and these are the tests that must never see a false failure. The
/// server's log goes to its
/// stderr, which is `postgres.log` in the cluster's directory.
fn write_settings(data: &Path, dir: &Path, port: u16, tls: bool) {
    let mut text = format!(
        "port = {port}\n\
         listen_addresses = '127.0.0.1'\n\
         unix_socket_directories = '{dir}'\n\
         unix_socket_permissions = 0700\n\
         fsync = off\n\
         shared_buffers = 16MB\n\
         max_connections = 100\n\
         logging_collector = off\n",
        dir = dir.display()
    );
    if tls {
        text.push_str(&format!(
            "ssl = on\nssl_cert_file = '{d}/tls/server.crt'\nssl_key_file = '{d}/tls/server.key'\n\
             ssl_min_protocol_version = 'TLSv1.2'\n",
            d = dir.display()
        ));
    }
    let path = data.join("kps-test.conf");
    std::fs::write(&path, text).unwrap();
    if let Some((uid, gid)) = server_user() {
        chown(&path, Some(uid), Some(gid)).unwrap();
    }
}

/// Start `postgres -D data` as our child, its stderr appended to
/// `dir/postgres.log`, and wait until postmaster.pid says "ready". On
/// failure, the log.
fn spawn_postmaster(data: &Path, dir: &Path) -> Result<Child, String> {
    let log_path = dir.join("postgres.log");
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .unwrap();
    let log_start = log.metadata().map(|m| m.len()).unwrap_or(0);
    let log_text = || {
        let all = std::fs::read(&log_path).unwrap_or_default();
        String::from_utf8_lossy(&all[(log_start as usize).min(all.len())..]).into_owned()
    };
    let mut cmd = server_command("postgres", dir);
    cmd.arg("-D").arg(data).stdout(Stdio::null()).stderr(log);
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot run postgres: {e}"))?;
    let pid = child.id().to_string();
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("postgres exited ({status}):\n{}", log_text()));
        }
        // postmaster.pid: line 1 the pid, line 8 the state ("ready" once it
        // accepts connections, after any crash recovery).
        let pidfile = std::fs::read_to_string(data.join("postmaster.pid")).unwrap_or_default();
        let lines: Vec<&str> = pidfile.lines().collect();
        if lines.first() == Some(&pid.as_str()) && lines.get(7).map(|s| s.trim()) == Some("ready") {
            return Ok(child);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "postgres not ready after {START_TIMEOUT:?}:\n{}",
                log_text()
            ));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The pids whose parent is `pid` (from /proc/*/stat).
fn children_of(pid: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&p| stat_fields(p).and_then(|f| f.get(1)?.parse::<u32>().ok()) == Some(pid))
        .collect()
}

/// A process's start time (clock ticks since boot), None when it is gone or
/// a zombie: with the pid, it names one process even if pids are reused.
pub fn start_time(pid: u32) -> Option<u64> {
    let f = stat_fields(pid)?;
    if f.first().map(|s| s.as_str()) == Some("Z") {
        return None;
    }
    f.get(19)?.parse().ok()
}

/// /proc/PID/stat after the command name: state, ppid, ... (field 3 on).
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    Some(rest.split_whitespace().map(str::to_string).collect())
}

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).unwrap();
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

/// The throwaway CA, the server's certificate and key (0600, owned by the
/// server's user, as PostgreSQL demands), and an unrelated CA with the same
/// subject (so only the signature can tell them apart), in `dir/tls`.
fn make_tls(dir: &Path) -> Tls {
    let tls = dir.join("tls");
    std::fs::create_dir(&tls).unwrap();
    let openssl = |args: &[&str]| {
        let mut cmd = Command::new("openssl");
        cmd.args(args).current_dir(&tls).stdin(Stdio::null());
        run_ok(cmd, &format!("openssl {}", args.join(" ")));
    };
    let new_ca = |name: &str| {
        openssl(&[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.crt"),
            "-days",
            "2",
            "-subj",
            "/CN=kps test CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ]);
    };
    new_ca("ca");
    new_ca("other-ca");
    openssl(&[
        "req",
        "-new",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=localhost",
    ]);
    std::fs::write(
        tls.join("server.ext"),
        "subjectAltName = IP:127.0.0.1, DNS:localhost\n\
         basicConstraints = critical, CA:FALSE\n\
         keyUsage = critical, digitalSignature\n\
         extendedKeyUsage = serverAuth\n",
    )
    .unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "server.ext",
        "-out",
        "server.crt",
    ]);
    for file in ["server.key", "server.crt"] {
        let path = tls.join(file);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        if let Some((uid, gid)) = server_user() {
            chown(&path, Some(uid), Some(gid)).unwrap();
        }
    }
    // The server's user must enter tls/ to read its key.
    if let Some((uid, gid)) = server_user() {
        chown(&tls, Some(uid), Some(gid)).unwrap();
    }
    Tls {
        ca: tls.join("ca.crt"),
        other_ca: tls.join("other-ca.crt"),
    }
}

/// psql from the server's bin directory, with no PG* variables, no psqlrc,
/// no password file and no prompt (`-w`): only what the caller passes.
fn psql_command() -> Command {
    let bin = &server().as_ref().expect("have_postgres").bin;
    let mut cmd = Command::new(bin.join("psql"));
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("PG") {
            cmd.env_remove(&k);
        }
    }
    cmd.env("PGPASSFILE", "/nonexistent/kps-test-pgpass")
        .env("PGCONNECT_TIMEOUT", "10")
        .env("PGCLIENTENCODING", "UTF8")
        .env("LC_ALL", "C")
        .args(["-X", "-w", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"]);
    cmd
}

/// Run `sql` (on stdin, never in argv) through `cmd`; stdout, or stderr on
/// failure.
fn run_psql(mut cmd: Command, sql: &str) -> Result<String, String> {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run psql: {e}"))?;
    let mut stdin = child.stdin.take().unwrap();
    let sql = sql.to_string();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(sql.as_bytes());
    });
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    let _ = writer.join();
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// Run `sql` with psql connected to `url` (a `postgres://` URL, with its
/// query parameters such as `sslmode` and `sslrootcert`), as a client of
/// the cluster would: the password is taken out of the URL and handed over
/// in PGPASSWORD, so it is in no process's argv (a test that looks for
/// kps's password in `ps` finds only kps). stdout, or psql's stderr.
pub fn psql_url(url: &str, sql: &str) -> Result<String, String> {
    let (url, password) = split_password(url);
    let mut cmd = psql_command();
    if let Some(password) = password {
        cmd.env("PGPASSWORD", password);
    }
    cmd.args(["-d", &url]);
    run_psql(cmd, sql)
}

/// `postgres://user:pass@host...` -> (`postgres://user@host...`, pass),
/// the password percent-decoded.
pub fn split_password(url: &str) -> (String, Option<String>) {
    let Some((scheme, rest)) = url.split_once("://") else {
        return (url.to_string(), None);
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let Some((userinfo, host)) = authority.rsplit_once('@') else {
        return (url.to_string(), None);
    };
    let Some((user, password)) = userinfo.split_once(':') else {
        return (url.to_string(), None);
    };
    (
        format!("{scheme}://{user}@{host}{tail}"),
        Some(percent_decode(password)),
    )
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Some(b) = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
