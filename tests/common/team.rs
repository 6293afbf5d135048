//! Team stores for the tests (issue 18): a team store on SQLite (a path)
//! or on the private PostgreSQL cluster (common/pg.rs), and its members,
//! each with their own local store, passphrase and config directory (so
//! their pins are their own, as on separate machines).

use super::pg::{Pg, have_postgres};
use super::{CHEAP_KDF, Kps, Run};
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::Command;

/// Where a team store is.
pub enum Place {
    Sqlite {
        dir: tempfile::TempDir,
        path: PathBuf,
    },
    Postgres {
        pg: Pg,
        db: String,
        url: String,
    },
}

/// Which backend a test runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Place {
    /// A place for a new team store on `backend`; `None` (the test skips,
    /// having said why) where PostgreSQL is not installed, unless
    /// KPS_TEST_REQUIRE_TOOLS=1, where it fails.
    pub fn new(backend: Backend) -> Option<Place> {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().unwrap();
                let path = dir.path().join("team");
                Some(Place::Sqlite { dir, path })
            }
            Backend::Postgres => {
                if !have_postgres() {
                    return None;
                }
                let pg = Pg::start();
                let db = "team".to_string();
                let url = pg.new_database(&db);
                Some(Place::Postgres { pg, db, url })
            }
        }
    }

    /// A team store on a PostgreSQL cluster whose TCP logins need TLS, its
    /// URL asking for `sslmode=verify-full` with the cluster's CA.
    pub fn postgres_tls() -> Option<Place> {
        if !have_postgres() || !super::have_tool("openssl") {
            return None;
        }
        let pg = Pg::start_tls();
        let db = "team".to_string();
        let url = format!(
            "{}?sslmode=verify-full&sslrootcert={}",
            pg.new_database(&db),
            pg.ca_file().display()
        );
        Some(Place::Postgres { pg, db, url })
    }

    /// The cluster, for a PostgreSQL place.
    pub fn pg(&self) -> &Pg {
        match self {
            Place::Postgres { pg, .. } => pg,
            Place::Sqlite { .. } => panic!("not a PostgreSQL store"),
        }
    }

    /// What `--store` (or KPS_STORE) is given.
    pub fn arg(&self) -> OsString {
        match self {
            Place::Sqlite { path, .. } => path.clone().into(),
            Place::Postgres { url, .. } => url.into(),
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            Place::Sqlite { .. } => Backend::Sqlite,
            Place::Postgres { .. } => Backend::Postgres,
        }
    }

    /// Run SQL on the store as whoever can write it outside kps (the
    /// database superuser; for SQLite, whoever can write the file). The
    /// output of a query as `psql -At` prints it: one row per line,
    /// columns separated by `|`.
    pub fn sql(&self, sql: &str) -> String {
        match self {
            Place::Postgres { pg, db, .. } => pg.psql_in(db, sql).trim_end().to_string(),
            Place::Sqlite { path, .. } => {
                let conn = rusqlite::Connection::open(path.join("kps.db")).unwrap();
                let mut out = Vec::new();
                for statement in sql.split(';').map(str::trim).filter(|s| !s.is_empty()) {
                    let mut stmt = conn.prepare(statement).unwrap();
                    let columns = stmt.column_count();
                    let mut rows = stmt.query([]).unwrap();
                    while let Some(row) = rows.next().unwrap() {
                        let cells: Vec<String> = (0..columns)
                            .map(|i| match row.get_ref(i).unwrap() {
                                rusqlite::types::ValueRef::Null => String::new(),
                                rusqlite::types::ValueRef::Integer(n) => n.to_string(),
                                rusqlite::types::ValueRef::Real(f) => f.to_string(),
                                rusqlite::types::ValueRef::Text(t) => {
                                    String::from_utf8_lossy(t).into_owned()
                                }
                                rusqlite::types::ValueRef::Blob(b) => {
                                    let hex: String =
                                        b.iter().map(|x| format!("{x:02x}")).collect();
                                    format!("\\x{hex}")
                                }
                            })
                            .collect();
                        out.push(cells.join("|"));
                    }
                }
                out.join("\n")
            }
        }
    }

    /// Set the blob column `column` of keypair `name` (as the attacker).
    pub fn set_keypair_blob(&self, name: &str, column: &str, bytes: &[u8]) {
        self.sql(&format!(
            "UPDATE keypairs SET {column} = {} WHERE name = '{name}'",
            self.blob(bytes)
        ));
    }

    /// Insert a membership statement row as given (as the attacker).
    pub fn insert_statement(&self, epoch: i64, statement: &[u8], signer: &[u8], signature: &[u8]) {
        self.sql(&format!(
            "INSERT INTO team_membership (epoch, statement, signer, signature) VALUES ({epoch}, {}, {}, {})",
            self.blob(statement),
            self.blob(signer),
            self.blob(signature)
        ));
    }

    /// A blob literal in this backend's SQL.
    pub fn blob(&self, bytes: &[u8]) -> String {
        let hex: String = bytes.iter().map(|x| format!("{x:02x}")).collect();
        match self {
            Place::Postgres { .. } => format!("'\\x{hex}'::bytea"),
            Place::Sqlite { .. } => format!("x'{hex}'"),
        }
    }
}

/// Bytes from the `\x...` form [`Place::sql`] prints blobs in.
pub fn unhex(cell: &str) -> Vec<u8> {
    let hex = cell.trim().trim_start_matches("\\x");
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

/// One member: their own local store (set up with its own passphrase) and
/// config directory, and the team store they use.
pub struct Member {
    pub name: String,
    pub own: Kps,
    pub team: OsString,
}

impl Member {
    /// A person with a new local store, not yet in any team.
    pub fn new(name: &str, team: &Place) -> Member {
        let own = Kps::empty();
        std::fs::write(&own.pass_file, format!("passphrase of {name}\n")).unwrap();
        let mut args = vec!["init"];
        args.extend(CHEAP_KDF);
        own.run(&args).ok();
        Member {
            name: name.to_string(),
            own,
            team: team.arg(),
        }
    }

    /// kps on the team store, as this member (their local store as
    /// --identity-store, their passphrase file, their config directory).
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(super::bin());
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("KPS_") || k.to_string_lossy().starts_with("PG") {
                cmd.env_remove(&k);
            }
        }
        cmd.env("KPS_STORE", &self.team)
            .env("KPS_IDENTITY_STORE", &self.own.store)
            .env("KPS_PASSPHRASE_FILE", &self.own.pass_file)
            .env("XDG_CONFIG_HOME", self.own.config_home())
            .current_dir(self.own.dir.path())
            .stdin(std::process::Stdio::null());
        cmd
    }

    pub fn run<S: AsRef<std::ffi::OsStr>>(&self, args: &[S]) -> Run {
        self.run_with(args, |_| {})
    }

    pub fn run_with<S: AsRef<std::ffi::OsStr>>(
        &self,
        args: &[S],
        f: impl FnOnce(&mut Command),
    ) -> Run {
        let mut cmd = self.command();
        cmd.args(args);
        f(&mut cmd);
        let run = Run {
            output: cmd.output().expect("run kps"),
        };
        if !run.output.status.success() {
            super::assert_no_secrets(&run);
            let all = format!("{}{}", run.stdout(), run.stderr());
            assert!(
                !all.contains(&format!("passphrase of {}", self.name)),
                "a failing command printed a passphrase: {all}"
            );
        }
        run
    }

    /// `create NAME --json`, which must succeed.
    pub fn create(&self, name: &str) -> serde_json::Value {
        self.run(&["--json", "create", name]).ok().json()
    }

    /// The OpenSSH private key of `name`, exported to stdout.
    pub fn private(&self, name: &str) -> Run {
        self.run(&["export", name, "-o", "-"])
    }

    /// This member's line (`kps team join NAME`).
    pub fn line(&self) -> String {
        self.run(&["team", "join", &self.name])
            .ok()
            .stdout()
            .trim()
            .to_string()
    }
}

/// A team store with its first admin.
pub struct Team {
    pub place: Place,
    pub admin: Member,
}

impl Team {
    /// A new team on `backend` whose first admin is `alice`; `None` where
    /// the backend is not installed (see [`Place::new`]).
    pub fn new(backend: Backend) -> Option<Team> {
        Team::at(Place::new(backend)?)
    }

    /// A new team at `place`, `alice` its first admin.
    pub fn at(place: Place) -> Option<Team> {
        let admin = Member::new("alice", &place);
        admin.run(&["team", "init", "alice"]).ok();
        Some(Team { place, admin })
    }

    /// A new member `name`, invited by the admin and joined.
    pub fn add(&self, name: &str) -> Member {
        self.add_as(name, false)
    }

    pub fn add_as(&self, name: &str, admin: bool) -> Member {
        let m = Member::new(name, &self.place);
        let mut args = vec!["team".to_string(), "invite".into(), m.line()];
        if admin {
            args.push("--admin".into());
        }
        let invitation = self.admin.run(&args).ok().stdout().trim().to_string();
        m.run(&["team", "join", name, "--invitation", &invitation])
            .ok();
        m
    }
}
