//! Where a store is: what `--store` / `KPS_STORE` give, parsed into a path
//! (the SQLite store, as always) or a PostgreSQL database (a team store,
//! issue 18), with the connection filled in the way libpq fills it.
//!
//! A `postgres://` or `postgresql://` argument is libpq's URI syntax:
//! `postgres://[user[:password]@][host][:port][/dbname][?param=value&...]`,
//! every part percent-decoded, the host a name, an IPv4 address, `[IPv6]`
//! or a percent-encoded Unix socket directory (`%2Fvar%2Frun%2Fpostgresql`).
//! Of libpq's query parameters kps honours `host`, `hostaddr`, `port`,
//! `user`, `password`, `dbname`, `sslmode`, `sslrootcert`,
//! `connect_timeout` and `application_name`; any other is refused, named,
//! rather than silently ignored (a `sslcert` that was not used would be a
//! surprise). One host only: libpq's comma-separated host lists are refused.
//!
//! What the URL leaves out comes from the `PG*` variables libpq reads
//! (`PGHOST`, `PGHOSTADDR`, `PGPORT`, `PGUSER`, `PGPASSWORD`,
//! `PGDATABASE`, `PGSSLMODE`, `PGSSLROOTCERT`, `PGCONNECT_TIMEOUT`,
//! `PGAPPNAME`), the password last from the password file (`PGPASSFILE`,
//! else `~/.pgpass`, with libpq's matching and its rule that a file others
//! can read is ignored), then libpq's defaults: the login name as user,
//! the user as database, the socket directory `/var/run/postgresql` when
//! there is one (else `localhost`), port 5432, `sslmode=prefer`,
//! `~/.postgresql/root.crt`. Only the connect timeout differs: 10 s, where
//! libpq waits forever.
//!
//! Parsing is pure: the environment comes in as a [`PgEnv`] (the process's
//! from [`PgEnv::from_process`]), so that tests give their own. The
//! password is held in a zeroizing string and never shown: not by
//! [`PgTarget`]'s display form (what messages and `--json` name the store
//! by), not by its `Debug`.

use crate::{Error, Result};
use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use zeroize::Zeroizing;

/// libpq's default port.
pub const DEFAULT_PORT: u16 = 5432;

/// How long a connection may take to be made (the socket, TLS and the
/// login) when neither the URL nor `PGCONNECT_TIMEOUT` says.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The socket directory Debian's libpq (and the server package) use.
const DEFAULT_SOCKET_DIR: &str = "/var/run/postgresql";

/// What a session is called on the server (`pg_stat_activity`) unless
/// `application_name` or `PGAPPNAME` says otherwise.
const DEFAULT_APPLICATION_NAME: &str = "kps";

/// The query parameters kps honours, in the order the error lists them.
const PARAMETERS: [&str; 10] = [
    "host",
    "hostaddr",
    "port",
    "user",
    "password",
    "dbname",
    "sslmode",
    "sslrootcert",
    "connect_timeout",
    "application_name",
];

/// The variables [`PgEnv::from_process`] takes from the environment.
const VARIABLES: [&str; 12] = [
    "PGHOST",
    "PGHOSTADDR",
    "PGPORT",
    "PGUSER",
    "PGPASSWORD",
    "PGDATABASE",
    "PGSSLMODE",
    "PGSSLROOTCERT",
    "PGCONNECT_TIMEOUT",
    "PGAPPNAME",
    "PGPASSFILE",
    "HOME",
];

/// Where a store is.
#[derive(Debug)]
pub enum Location {
    /// A store directory or a single store file (SQLite).
    Path(PathBuf),
    /// A PostgreSQL database (a team store).
    Postgres(PgTarget),
}

impl Location {
    /// `arg` as `--store` / `KPS_STORE` give it: a `postgres://` or
    /// `postgresql://` URL, else a path.
    pub fn parse(arg: &OsStr, env: &PgEnv) -> Result<Location> {
        let bytes = arg.as_encoded_bytes();
        let is_url = ["postgres://", "postgresql://"].iter().any(|scheme| {
            bytes.len() >= scheme.len()
                && bytes[..scheme.len()].eq_ignore_ascii_case(scheme.as_bytes())
        });
        if !is_url {
            return Ok(Location::Path(PathBuf::from(arg)));
        }
        let url = arg.to_str().ok_or_else(|| {
            Error::invalid(
                "the PostgreSQL URL is not valid UTF-8 (percent-encode what is not ASCII)",
            )
        })?;
        PgTarget::from_url(url, env).map(Location::Postgres)
    }
}

/// The environment a [`PgTarget`] is completed from: the `PG*` variables
/// and `HOME`, the login name, and whether libpq's default socket
/// directory exists.
#[derive(Clone, Default)]
pub struct PgEnv {
    vars: BTreeMap<String, OsString>,
    login_name: Option<String>,
    default_socket_dir: Option<PathBuf>,
}

impl fmt::Debug for PgEnv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // PGPASSWORD is a secret: names only.
        f.debug_struct("PgEnv")
            .field("vars", &self.vars.keys().collect::<Vec<_>>())
            .field("login_name", &self.login_name)
            .field("default_socket_dir", &self.default_socket_dir)
            .finish()
    }
}

impl PgEnv {
    /// The process's: its `PG*` variables and `HOME`, the login name of its
    /// effective user, `/var/run/postgresql` if that is a directory.
    pub fn from_process() -> PgEnv {
        let vars = VARIABLES
            .iter()
            .filter_map(|&name| Some((name.to_string(), std::env::var_os(name)?)))
            .collect();
        PgEnv {
            vars,
            login_name: whoami::username().ok(),
            default_socket_dir: Path::new(DEFAULT_SOCKET_DIR)
                .is_dir()
                .then(|| PathBuf::from(DEFAULT_SOCKET_DIR)),
        }
    }

    /// An environment of the given variables (`PGHOST`, ..., `HOME`), login
    /// name and default socket directory (`None`: there is none, so the
    /// default host is `localhost`).
    pub fn new(
        vars: impl IntoIterator<Item = (String, OsString)>,
        login_name: Option<String>,
        default_socket_dir: Option<PathBuf>,
    ) -> PgEnv {
        PgEnv {
            vars: vars.into_iter().collect(),
            login_name,
            default_socket_dir,
        }
    }

    /// A variable's value; an empty one counts as unset.
    fn var(&self, name: &str) -> Option<&OsStr> {
        self.vars
            .get(name)
            .map(OsString::as_os_str)
            .filter(|v| !v.is_empty())
    }

    /// A variable that must be UTF-8 (everything but the paths).
    fn text(&self, name: &str) -> Result<Option<String>> {
        self.var(name)
            .map(|v| {
                v.to_str()
                    .map(str::to_string)
                    .ok_or_else(|| Error::invalid(format!("{name} is not valid UTF-8")))
            })
            .transpose()
    }

    fn home(&self) -> Option<PathBuf> {
        self.var("HOME").map(PathBuf::from)
    }
}

/// libpq's `sslmode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SslMode {
    /// No TLS.
    Disable,
    /// libpq tries without TLS first, then with; kps treats it as
    /// [`SslMode::Prefer`] (tokio-postgres has no "allow").
    Allow,
    /// TLS if the server offers it, not verified; else in the clear.
    Prefer,
    /// TLS, not verified, unless a root certificate is at hand: then as
    /// [`SslMode::VerifyCa`] (libpq's rule).
    Require,
    /// TLS, the server's certificate chain verified against the root
    /// certificate; its name is not checked.
    VerifyCa,
    /// TLS, the chain and the host name (or IP address) verified.
    VerifyFull,
}

impl SslMode {
    fn parse(value: &str) -> Result<SslMode> {
        Ok(match value {
            "disable" => SslMode::Disable,
            "allow" => SslMode::Allow,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            _ => {
                return Err(Error::invalid_with_hint(
                    format!("invalid sslmode '{}'", crate::text::escape(value)),
                    "use disable, allow, prefer, require, verify-ca or verify-full",
                ));
            }
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Allow => "allow",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }

    /// Whether the server's certificate must verify whatever else is known.
    pub fn verifies(self) -> bool {
        matches!(self, SslMode::VerifyCa | SslMode::VerifyFull)
    }
}

/// The root certificates a server's certificate is checked against.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RootCert {
    /// `sslrootcert` or `PGSSLROOTCERT`: a PEM file, which must exist.
    File(PathBuf),
    /// libpq's default `~/.postgresql/root.crt`: used when it exists
    /// (`require` then verifies the chain, as libpq); the verify modes
    /// need it.
    Default(PathBuf),
    /// No file named and no home directory to find the default in.
    None,
}

/// The server: a host name or IP address, or a Unix socket directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PgHost {
    Tcp(String),
    Socket(PathBuf),
}

/// Where the password came from, for messages and for the warning about a
/// password on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PasswordSource {
    /// The URL (its user info or `password=`).
    Url,
    /// `PGPASSWORD`.
    Variable,
    /// The password file.
    PassFile,
}

/// A PostgreSQL database, every connection parameter resolved. Its display
/// form (`postgres://user@host:port/dbname`) is how messages and `--json`
/// name the store; it never holds the password, nor does `Debug`.
#[derive(Clone)]
pub struct PgTarget {
    pub(crate) host: PgHost,
    pub(crate) hostaddr: Option<IpAddr>,
    pub(crate) port: u16,
    pub(crate) user: String,
    pub(crate) password: Option<Zeroizing<String>>,
    pub(crate) password_source: Option<PasswordSource>,
    pub(crate) dbname: String,
    pub(crate) sslmode: SslMode,
    pub(crate) sslrootcert: RootCert,
    pub(crate) connect_timeout: Option<Duration>,
    pub(crate) application_name: String,
    /// What libpq would have printed as a warning (a password file that
    /// was ignored), for the command to show and for a failed login's
    /// message.
    pub(crate) warnings: Vec<String>,
}

impl fmt::Display for PgTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "postgres://{}@", encode(&self.user, false))?;
        let mut query = Vec::new();
        match &self.host {
            PgHost::Tcp(h) if h.contains(':') => write!(f, "[{h}]:{}", self.port)?,
            PgHost::Tcp(h) => write!(f, "{}:{}", encode(h, false), self.port)?,
            PgHost::Socket(dir) => {
                query.push(format!("host={}", encode(&dir.to_string_lossy(), true)));
                query.push(format!("port={}", self.port));
            }
        }
        write!(f, "/{}", encode(&self.dbname, false))?;
        if let Some(addr) = self.hostaddr {
            query.push(format!("hostaddr={addr}"));
        }
        if !query.is_empty() {
            write!(f, "?{}", query.join("&"))?;
        }
        Ok(())
    }
}

impl fmt::Debug for PgTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgTarget")
            .field("url", &self.to_string())
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("password_source", &self.password_source)
            .field("sslmode", &self.sslmode)
            .field("sslrootcert", &self.sslrootcert)
            .field("connect_timeout", &self.connect_timeout)
            .field("application_name", &self.application_name)
            .finish()
    }
}

/// Percent-encode all but RFC 3986's unreserved characters (and `/` in a
/// query value, where it is allowed and a socket path reads better).
fn encode(s: &str, slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) || (slash && b == b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Percent-decode one part of the URL (`what` names it in errors). A `%00`
/// is refused, as libpq refuses it: no parameter can hold a NUL.
fn decode(s: &str, what: &str) -> Result<String> {
    let bad = |why: &str| Error::invalid(format!("the PostgreSQL URL's {what} {why}"));
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| {
                    bad("has a bad percent-encoding (% not followed by two hex digits)")
                })?;
            if hex == 0 {
                return Err(bad("holds %00"));
            }
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| bad("is not UTF-8 once percent-decoded"))
}

/// The parameters as given, before the environment and defaults.
#[derive(Default)]
struct Given {
    host: Option<String>,
    hostaddr: Option<String>,
    port: Option<String>,
    user: Option<String>,
    password: Option<Zeroizing<String>>,
    dbname: Option<String>,
    sslmode: Option<String>,
    sslrootcert: Option<String>,
    connect_timeout: Option<String>,
    application_name: Option<String>,
}

impl Given {
    /// Set a query parameter; an unknown one is refused, named.
    fn set(&mut self, key: &str, value: String) -> Result<()> {
        let slot = match key {
            "host" => &mut self.host,
            "hostaddr" => &mut self.hostaddr,
            "port" => &mut self.port,
            "user" => &mut self.user,
            "password" => {
                self.password = Some(Zeroizing::new(value));
                return Ok(());
            }
            "dbname" => &mut self.dbname,
            "sslmode" => &mut self.sslmode,
            "sslrootcert" => &mut self.sslrootcert,
            "connect_timeout" => &mut self.connect_timeout,
            "application_name" => &mut self.application_name,
            _ => {
                return Err(Error::invalid_with_hint(
                    format!(
                        "the PostgreSQL URL has the parameter '{}', which kps does not honour",
                        crate::text::escape(key)
                    ),
                    format!("kps takes: {}", PARAMETERS.join(", ")),
                ));
            }
        };
        *slot = Some(value);
        Ok(())
    }
}

impl PgTarget {
    /// Parse a `postgres://` / `postgresql://` URL and complete it from
    /// `env` (see the module comment).
    pub fn from_url(url: &str, env: &PgEnv) -> Result<PgTarget> {
        let rest = ["postgresql://", "postgres://"]
            .iter()
            .find_map(|scheme| {
                url.get(..scheme.len())
                    .filter(|s| s.eq_ignore_ascii_case(scheme))
                    .map(|_| &url[scheme.len()..])
            })
            .ok_or_else(|| Error::invalid("not a postgres:// or postgresql:// URL"))?;
        let given = parse_url(rest)?;
        resolve(given, env)
    }

    /// Whether the password is in the URL itself: on the command line it
    /// is visible to every user of the machine (`ps`), which the caller
    /// may warn about.
    pub fn password_in_url(&self) -> bool {
        self.password_source == Some(PasswordSource::Url)
    }

    /// Warnings libpq would have printed (a password file ignored because
    /// others can read it, or because it is not a plain file).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    pub fn sslmode(&self) -> SslMode {
        self.sslmode
    }
}

/// Split `user:pw@host:port/db?query` into its parts, percent-decoded.
fn parse_url(rest: &str) -> Result<Given> {
    let mut given = Given::default();
    let (before_query, query) = match rest.split_once('?') {
        Some((a, q)) => (a, Some(q)),
        None => (rest, None),
    };
    let (netloc, path) = match before_query.split_once('/') {
        Some((n, p)) => (n, Some(p)),
        None => (before_query, None),
    };
    // The last '@': a password holding an unencoded '@' still parses.
    let hostspec = match netloc.rsplit_once('@') {
        Some((userinfo, hostspec)) => {
            let (user, password) = match userinfo.split_once(':') {
                Some((u, p)) => (u, Some(p)),
                None => (userinfo, None),
            };
            if !user.is_empty() {
                given.user = Some(decode(user, "user")?);
            }
            if let Some(p) = password {
                // Zeroizing from the start: the decoded password is a secret.
                let decoded = Zeroizing::new(decode(p, "password")?);
                if !decoded.is_empty() {
                    given.password = Some(decoded);
                }
            }
            hostspec
        }
        None => netloc,
    };
    if hostspec.contains(',') {
        return Err(Error::invalid_with_hint(
            "the PostgreSQL URL names several hosts; kps connects to one",
            "give one host (for high availability, a name or proxy that follows the primary)",
        ));
    }
    let (host, port) = if let Some(bracketed) = hostspec.strip_prefix('[') {
        let (addr, after) = bracketed.split_once(']').ok_or_else(|| {
            Error::invalid("the PostgreSQL URL's IPv6 address has no closing ']'")
        })?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':').ok_or_else(|| {
                Error::invalid("the PostgreSQL URL has something other than :port after ']'")
            })?),
        };
        (addr.to_string(), port)
    } else {
        match hostspec.rsplit_once(':') {
            Some((h, p)) => (decode(h, "host")?, Some(p)),
            None => (decode(hostspec, "host")?, None),
        }
    };
    if !host.is_empty() {
        given.host = Some(host);
    }
    if let Some(p) = port.filter(|p| !p.is_empty()) {
        given.port = Some(p.to_string());
    }
    if let Some(db) = path.filter(|p| !p.is_empty()) {
        given.dbname = Some(decode(db, "database name")?);
    }
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').ok_or_else(|| {
            Error::invalid(format!(
                "the PostgreSQL URL's parameter '{}' has no '=value'",
                crate::text::escape(pair)
            ))
        })?;
        let key = decode(key, "parameter name")?;
        let value = decode(value, &format!("parameter {key}"))?;
        given.set(&key, value)?;
    }
    Ok(given)
}

fn parse_port(value: &str, from: &str) -> Result<u16> {
    value
        .parse::<u16>()
        .ok()
        .filter(|&p| p != 0)
        .ok_or_else(|| {
            Error::invalid(format!(
                "invalid port '{}' ({from}): a number from 1 to 65535",
                crate::text::escape(value)
            ))
        })
}

/// libpq's `connect_timeout`: whole seconds; 0 waits as long as it takes.
fn parse_timeout(value: &str, from: &str) -> Result<Option<Duration>> {
    match value.trim().parse::<u64>() {
        Ok(0) => Ok(None),
        Ok(s) => Ok(Some(Duration::from_secs(s))),
        Err(_) => Err(Error::invalid(format!(
            "invalid connect_timeout '{}' ({from}): whole seconds (0: no limit)",
            crate::text::escape(value)
        ))),
    }
}

/// Complete `given` from the environment and libpq's defaults.
fn resolve(given: Given, env: &PgEnv) -> Result<PgTarget> {
    let hostaddr = match given.hostaddr {
        Some(a) => Some((a, "hostaddr")),
        None => env.text("PGHOSTADDR")?.map(|a| (a, "PGHOSTADDR")),
    }
    .map(|(a, from)| {
        a.parse::<IpAddr>().map_err(|_| {
            Error::invalid(format!(
                "invalid hostaddr '{}' ({from}): an IPv4 or IPv6 address",
                crate::text::escape(&a)
            ))
        })
    })
    .transpose()?;
    let host_text = match given.host {
        Some(h) => Some(h),
        None => match env.var("PGHOST") {
            Some(h) => Some(
                h.to_str()
                    .ok_or_else(|| Error::invalid("PGHOST is not valid UTF-8"))?
                    .to_string(),
            ),
            None => None,
        },
    };
    if host_text.as_deref().is_some_and(|h| h.contains(',')) {
        return Err(Error::invalid_with_hint(
            "several hosts given (host or PGHOST); kps connects to one",
            "give one host",
        ));
    }
    let host = match host_text {
        Some(h) if h.starts_with('/') => PgHost::Socket(PathBuf::from(h)),
        Some(h) => PgHost::Tcp(h),
        // hostaddr alone: the address is also the name TLS checks.
        None => match (hostaddr, &env.default_socket_dir) {
            (Some(addr), _) => PgHost::Tcp(addr.to_string()),
            (None, Some(dir)) => PgHost::Socket(dir.clone()),
            (None, None) => PgHost::Tcp("localhost".into()),
        },
    };
    if matches!(&host, PgHost::Tcp(h) if h.is_empty() || h.chars().any(char::is_control)) {
        return Err(Error::invalid(
            "the PostgreSQL host name is empty or holds a control character",
        ));
    }
    let port = match given.port {
        Some(p) => parse_port(&p, "in the URL")?,
        None => match env.text("PGPORT")? {
            Some(p) => parse_port(&p, "PGPORT")?,
            None => DEFAULT_PORT,
        },
    };
    let user = match given.user {
        Some(u) => u,
        None => match env.text("PGUSER")? {
            Some(u) => u,
            None => env.login_name.clone().ok_or_else(|| {
                Error::invalid_with_hint(
                    "no PostgreSQL user: none in the URL, no PGUSER, and the login name is unknown",
                    "give one: postgres://USER@HOST/DBNAME",
                )
            })?,
        },
    };
    let dbname = match given.dbname {
        Some(d) => d,
        None => env.text("PGDATABASE")?.unwrap_or_else(|| user.clone()),
    };
    let sslmode = match given.sslmode {
        Some(m) => SslMode::parse(&m)?,
        None => match env.text("PGSSLMODE")? {
            Some(m) => SslMode::parse(&m)?,
            None => SslMode::Prefer,
        },
    };
    let root_named = match given.sslrootcert {
        Some(r) => Some(OsString::from(r)),
        None => env.var("PGSSLROOTCERT").map(OsStr::to_os_string),
    };
    let sslrootcert = match root_named {
        Some(r) if r == "system" => {
            return Err(Error::invalid_with_hint(
                "sslrootcert=system (the operating system's trusted CAs) is not supported by kps",
                "give the PEM file of the CA that signed the server's certificate: sslrootcert=FILE",
            ));
        }
        Some(r) => RootCert::File(PathBuf::from(r)),
        None => match env.home() {
            Some(home) => RootCert::Default(home.join(".postgresql").join("root.crt")),
            None => RootCert::None,
        },
    };
    let connect_timeout = match given.connect_timeout {
        Some(t) => parse_timeout(&t, "in the URL")?,
        None => match env.text("PGCONNECT_TIMEOUT")? {
            Some(t) => parse_timeout(&t, "PGCONNECT_TIMEOUT")?,
            None => Some(DEFAULT_CONNECT_TIMEOUT),
        },
    };
    let application_name = match given.application_name {
        Some(a) => a,
        None => env
            .text("PGAPPNAME")?
            .unwrap_or_else(|| DEFAULT_APPLICATION_NAME.into()),
    };
    let mut warnings = Vec::new();
    let (password, password_source) = match given.password {
        Some(p) => (Some(p), Some(PasswordSource::Url)),
        None => match env.var("PGPASSWORD") {
            Some(p) => (
                Some(Zeroizing::new(
                    p.to_str()
                        .ok_or_else(|| Error::invalid("PGPASSWORD is not valid UTF-8"))?
                        .to_string(),
                )),
                Some(PasswordSource::Variable),
            ),
            None => {
                let file = match env.var("PGPASSFILE") {
                    Some(f) => Some(PathBuf::from(f)),
                    None => env.home().map(|h| h.join(".pgpass")),
                };
                let pw_host = match (&host, hostaddr) {
                    (PgHost::Tcp(h), _) => h.clone(),
                    (PgHost::Socket(dir), _) => {
                        // libpq: the default socket directory counts as
                        // "localhost"; any other is matched as its path.
                        if dir == Path::new(DEFAULT_SOCKET_DIR) {
                            "localhost".to_string()
                        } else {
                            dir.to_string_lossy().into_owned()
                        }
                    }
                };
                let found = match file {
                    Some(f) => pgpass::lookup(
                        &f,
                        &pgpass::Wanted {
                            host: &pw_host,
                            port,
                            dbname: &dbname,
                            user: &user,
                        },
                        &mut warnings,
                    ),
                    None => None,
                };
                let source = found.as_ref().map(|_| PasswordSource::PassFile);
                (found, source)
            }
        },
    };
    for (what, value) in [("user", &user), ("database name", &dbname)] {
        if value.is_empty() {
            return Err(Error::invalid(format!("the PostgreSQL {what} is empty")));
        }
    }
    Ok(PgTarget {
        host,
        hostaddr,
        port,
        user,
        password,
        password_source,
        dbname,
        sslmode,
        sslrootcert,
        connect_timeout,
        application_name,
        warnings,
    })
}

/// The password file, as libpq reads it (`hostname:port:database:username:password`).
mod pgpass {
    use std::os::unix::fs::PermissionsExt;
    use std::path::Path;
    use zeroize::Zeroizing;

    pub(super) struct Wanted<'a> {
        pub host: &'a str,
        pub port: u16,
        pub dbname: &'a str,
        pub user: &'a str,
    }

    /// The password of the first line of `file` matching `wanted`. A file
    /// that is missing gives none; one that is not a plain file, or that
    /// group or others can read or write, is ignored with a warning, as
    /// libpq ignores it.
    pub(super) fn lookup(
        file: &Path,
        wanted: &Wanted<'_>,
        warnings: &mut Vec<String>,
    ) -> Option<Zeroizing<String>> {
        let meta = std::fs::metadata(file).ok()?;
        if !meta.is_file() {
            warnings.push(format!(
                "password file {} is not a plain file: ignored",
                file.display()
            ));
            return None;
        }
        if meta.permissions().mode() & 0o077 != 0 {
            warnings.push(format!(
                "password file {} has group or world access: ignored (permissions should be \
                 u=rw (0600) or less: chmod 0600 {})",
                file.display(),
                file.display()
            ));
            return None;
        }
        let bytes = Zeroizing::new(std::fs::read(file).ok()?);
        let text = std::str::from_utf8(&bytes).ok()?;
        find(text, wanted)
    }

    /// The first matching line's password.
    pub(super) fn find(text: &str, wanted: &Wanted<'_>) -> Option<Zeroizing<String>> {
        let port = wanted.port.to_string();
        let fields = [wanted.host, port.as_str(), wanted.dbname, wanted.user];
        for line in text.lines() {
            let line = line.strip_suffix('\r').unwrap_or(line);
            if line.starts_with('#') {
                continue;
            }
            let mut rest = line;
            let matched = fields.iter().all(|want| match field_matches(rest, want) {
                Some(after) => {
                    rest = after;
                    true
                }
                None => false,
            });
            if matched {
                return Some(unescape_password(rest));
            }
        }
        None
    }

    /// If the field at the start of `line` is `*` or equals `want` (with
    /// `\` escaping the next character), what follows its ':'.
    fn field_matches<'a>(line: &'a str, want: &str) -> Option<&'a str> {
        if let Some(after) = line.strip_prefix("*:") {
            return Some(after);
        }
        let mut want = want.chars();
        let mut chars = line.char_indices();
        while let Some((i, c)) = chars.next() {
            let c = match c {
                ':' => {
                    return want.next().is_none().then(|| &line[i + 1..]);
                }
                '\\' => match chars.next() {
                    Some((_, escaped)) => escaped,
                    None => '\\',
                },
                c => c,
            };
            if want.next() != Some(c) {
                return None;
            }
        }
        None
    }

    /// The password field: up to an unescaped ':' or the end, `\` escaping.
    fn unescape_password(field: &str) -> Zeroizing<String> {
        let mut out = Zeroizing::new(String::with_capacity(field.len()));
        let mut chars = field.chars();
        while let Some(c) = chars.next() {
            match c {
                ':' => break,
                '\\' => match chars.next() {
                    Some(escaped) => out.push(escaped),
                    None => out.push('\\'),
                },
                c => out.push(c),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn env(vars: &[(&str, &str)]) -> PgEnv {
        PgEnv::new(
            vars.iter().map(|(k, v)| (k.to_string(), OsString::from(v))),
            Some("alice".into()),
            None,
        )
    }

    fn target(url: &str, env: &PgEnv) -> PgTarget {
        match Location::parse(OsStr::new(url), env).unwrap() {
            Location::Postgres(t) => t,
            Location::Path(p) => panic!("{url} parsed as the path {}", p.display()),
        }
    }

    fn refused(url: &str, env: &PgEnv) -> String {
        match Location::parse(OsStr::new(url), env) {
            Err(e @ Error::InvalidParameter { .. }) => {
                let hint = match &e {
                    Error::InvalidParameter { hint, .. } => hint.clone().unwrap_or_default(),
                    _ => unreachable!(),
                };
                format!("{e} / {hint}")
            }
            other => panic!("{url}: expected a refusal, got {other:?}"),
        }
    }

    fn password(t: &PgTarget) -> Option<&str> {
        t.password.as_ref().map(|p| p.as_str())
    }

    #[test]
    fn a_path_is_a_path_whatever_it_holds() {
        for p in [
            "/srv/kps",
            "kps.db",
            "./postgres:/x",
            "postgres",
            "postgres:/x",
            "http://x",
        ] {
            match Location::parse(OsStr::new(p), &env(&[])).unwrap() {
                Location::Path(path) => assert_eq!(path, Path::new(p)),
                other => panic!("{p}: {other:?}"),
            }
        }
        // Not UTF-8: still a path.
        use std::os::unix::ffi::OsStrExt;
        let raw = OsStr::from_bytes(b"/tmp/\xff");
        assert!(matches!(
            Location::parse(raw, &env(&[])).unwrap(),
            Location::Path(_)
        ));
    }

    #[test]
    fn a_full_url_gives_every_part_percent_decoded() {
        let t = target(
            "postgresql://kps%40ops:p%3Ass%40w%2Frd@db.example.com:6543/team%20store\
             ?sslmode=verify-full&sslrootcert=/etc/ca%20file.pem&connect_timeout=3\
             &application_name=ci%26co",
            &env(&[("PGUSER", "ignored"), ("PGPASSWORD", "ignored")]),
        );
        assert_eq!(t.host, PgHost::Tcp("db.example.com".into()));
        assert_eq!(t.port, 6543);
        assert_eq!(t.user, "kps@ops");
        assert_eq!(password(&t), Some("p:ss@w/rd"));
        assert!(t.password_in_url());
        assert_eq!(t.dbname, "team store");
        assert_eq!(t.sslmode, SslMode::VerifyFull);
        assert_eq!(t.sslrootcert, RootCert::File("/etc/ca file.pem".into()));
        assert_eq!(t.connect_timeout, Some(Duration::from_secs(3)));
        assert_eq!(t.application_name, "ci&co");
        assert_eq!(
            t.to_string(),
            "postgres://kps%40ops@db.example.com:6543/team%20store"
        );
        // The scheme is case-insensitive, as libpq's.
        assert_eq!(target("POSTGRES://u@h/d", &env(&[])).user, "u");
    }

    #[test]
    fn ipv6_and_socket_directories() {
        let t = target("postgres://u@[::1]:5433/db", &env(&[]));
        assert_eq!(t.host, PgHost::Tcp("::1".into()));
        assert_eq!(t.port, 5433);
        assert_eq!(t.to_string(), "postgres://u@[::1]:5433/db");
        let t = target("postgres://u@[fe80::1]/db", &env(&[]));
        assert_eq!(t.host, PgHost::Tcp("fe80::1".into()));
        assert_eq!(t.port, DEFAULT_PORT);

        let t = target("postgres://u@%2Ftmp%2Fpg%20sock:5999/db", &env(&[]));
        assert_eq!(t.host, PgHost::Socket("/tmp/pg sock".into()));
        assert_eq!(t.port, 5999);
        assert_eq!(
            t.to_string(),
            "postgres://u@/db?host=/tmp/pg%20sock&port=5999"
        );
        // The display form parses back to the same target.
        let again = target(&t.to_string(), &env(&[]));
        assert_eq!((again.host, again.port), (t.host, t.port));

        // As a query parameter, and overriding the URL's host as in libpq.
        let t = target("postgres://u@ignored/db?host=/run/pg", &env(&[]));
        assert_eq!(t.host, PgHost::Socket("/run/pg".into()));

        for bad in ["postgres://u@[::1/db", "postgres://u@[::1]x/db"] {
            refused(bad, &env(&[]));
        }
    }

    #[test]
    fn what_the_url_leaves_out_comes_from_the_pg_variables() {
        let e = env(&[
            ("PGHOST", "pg.internal"),
            ("PGPORT", "6000"),
            ("PGUSER", "bob"),
            ("PGPASSWORD", "from-env"),
            ("PGDATABASE", "keys"),
            ("PGSSLMODE", "require"),
            ("PGSSLROOTCERT", "/etc/pg/ca.pem"),
            ("PGCONNECT_TIMEOUT", "4"),
            ("PGAPPNAME", "nightly"),
        ]);
        let t = target("postgres://", &e);
        assert_eq!(t.host, PgHost::Tcp("pg.internal".into()));
        assert_eq!(t.port, 6000);
        assert_eq!(t.user, "bob");
        assert_eq!(password(&t), Some("from-env"));
        assert_eq!(t.password_source, Some(PasswordSource::Variable));
        assert!(!t.password_in_url());
        assert_eq!(t.dbname, "keys");
        assert_eq!(t.sslmode, SslMode::Require);
        assert_eq!(t.sslrootcert, RootCert::File("/etc/pg/ca.pem".into()));
        assert_eq!(t.connect_timeout, Some(Duration::from_secs(4)));
        assert_eq!(t.application_name, "nightly");
        // The URL wins over each of them.
        let t = target("postgresql://carol:pw@h2:7000/other?sslmode=disable", &e);
        assert_eq!(
            (t.user.as_str(), t.port, t.dbname.as_str(), t.sslmode),
            ("carol", 7000, "other", SslMode::Disable)
        );
        assert_eq!(password(&t), Some("pw"));
        // PGHOSTADDR: the address connected to; with no host, also its name.
        let t = target("postgres://u@/d", &env(&[("PGHOSTADDR", "10.0.0.7")]));
        assert_eq!(t.hostaddr, Some("10.0.0.7".parse().unwrap()));
        assert_eq!(t.host, PgHost::Tcp("10.0.0.7".into()));
        // An empty variable counts as unset.
        let t = target("postgres://", &env(&[("PGUSER", ""), ("PGPORT", "")]));
        assert_eq!((t.user.as_str(), t.port), ("alice", DEFAULT_PORT));
    }

    #[test]
    fn libpq_defaults_fill_the_rest() {
        let t = target("postgres://", &env(&[]));
        assert_eq!(t.host, PgHost::Tcp("localhost".into()));
        assert_eq!(t.port, DEFAULT_PORT);
        assert_eq!(t.user, "alice");
        assert_eq!(t.dbname, "alice");
        assert_eq!(t.password, None);
        assert_eq!(t.sslmode, SslMode::Prefer);
        assert_eq!(t.sslrootcert, RootCert::None);
        assert_eq!(t.connect_timeout, Some(DEFAULT_CONNECT_TIMEOUT));
        assert_eq!(t.application_name, "kps");
        assert_eq!(t.to_string(), "postgres://alice@localhost:5432/alice");
        // With the default socket directory present, and a home.
        let e = PgEnv::new(
            [("HOME".to_string(), OsString::from("/home/alice"))],
            Some("alice".into()),
            Some(PathBuf::from(DEFAULT_SOCKET_DIR)),
        );
        let t = target("postgres:///keys", &e);
        assert_eq!(t.host, PgHost::Socket(DEFAULT_SOCKET_DIR.into()));
        assert_eq!(t.dbname, "keys");
        assert_eq!(
            t.sslrootcert,
            RootCert::Default("/home/alice/.postgresql/root.crt".into())
        );
        // The user's database defaults to a user given in the URL.
        assert_eq!(target("postgres://ci@h", &env(&[])).dbname, "ci");
        // No user anywhere: refused, saying how to give one.
        let none = PgEnv::new([], None, None);
        assert!(refused("postgres://h/db", &none).contains("no PostgreSQL user"));
        // connect_timeout=0 is libpq's "no limit".
        assert_eq!(
            target("postgres://h?connect_timeout=0", &env(&[])).connect_timeout,
            None
        );
    }

    #[test]
    fn what_kps_does_not_honour_is_refused_by_name() {
        let e = env(&[]);
        for (url, says) in [
            ("postgres://h/db?sslcert=/x.crt", "'sslcert'"),
            (
                "postgres://h/db?target_session_attrs=read-write",
                "'target_session_attrs'",
            ),
            ("postgres://h/db?bogus=1", "'bogus'"),
            ("postgres://h/db?sslmode", "has no '=value'"),
            ("postgres://h/db?sslmode=verify", "invalid sslmode 'verify'"),
            ("postgres://h/db?sslrootcert=system", "sslrootcert=system"),
            ("postgres://h:0/db", "invalid port '0'"),
            ("postgres://h:99999/db", "invalid port"),
            ("postgres://h:x/db", "invalid port 'x'"),
            (
                "postgres://h/db?connect_timeout=-1",
                "invalid connect_timeout",
            ),
            ("postgres://h/db?hostaddr=not-an-ip", "invalid hostaddr"),
            ("postgres://a,b/db", "several hosts"),
            ("postgres://h/d%zz", "bad percent-encoding"),
            ("postgres://h/d%00", "holds %00"),
            ("postgres://h/d%ff", "not UTF-8"),
            ("postgres://h/db?host=a,b", "several hosts"),
            ("postgres://h%0a/db", "control character"),
        ] {
            let msg = refused(url, &e);
            assert!(msg.contains(says), "{url}: {msg}");
        }
        // The refusal lists what kps takes.
        assert!(refused("postgres://h/db?sslcert=x", &e).contains("kps takes: host, hostaddr"));
        let msg = refused("postgres://h/db", &env(&[("PGPORT", "nope")]));
        assert!(msg.contains("PGPORT"), "{msg}");
        let msg = refused("postgres://h/db", &env(&[("PGSSLMODE", "on")]));
        assert!(msg.contains("invalid sslmode"), "{msg}");
    }

    #[test]
    fn the_password_is_never_shown() {
        let secret = "Sup3r-s3cret";
        let t = target(
            &format!("postgres://u:{secret}@h/db?sslmode=require"),
            &env(&[]),
        );
        assert_eq!(password(&t), Some(secret));
        for shown in [
            t.to_string(),
            format!("{t:?}"),
            format!("{:?}", Location::Postgres(t.clone())),
        ] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert!(format!("{t:?}").contains("<redacted>"));
        let t = target("postgres://u@h/db?password=xyzzy-pw", &env(&[]));
        assert_eq!(password(&t), Some("xyzzy-pw"));
        assert!(!format!("{t} {t:?}").contains("xyzzy"));
        let e = env(&[("PGPASSWORD", "env-secret-1")]);
        assert!(!format!("{e:?}").contains("env-secret"));
        // An empty password is none (libpq then looks in the password file).
        assert_eq!(target("postgres://u:@h/db", &env(&[])).password, None);
    }

    fn pgpass_env(dir: &Path, text: &str, mode: u32) -> PgEnv {
        let file = dir.join("pgpass");
        std::fs::write(&file, text).unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode)).unwrap();
        PgEnv::new(
            [("PGPASSFILE".to_string(), file.into_os_string())],
            Some("alice".into()),
            None,
        )
    }

    #[test]
    fn the_password_file_matches_as_libpq() {
        let dir = tempfile::tempdir().unwrap();
        let text = "# comment:*:*:*:nope\n\
                    other:5432:*:*:wrong-host\n\
                    db.example.com:6543:keys:ci:exact\n\
                    db.example.com:*:*:ci:any-port\n\
                    h\\:colon:5432:*:*:escaped\\:pw\\\\x:trailing\n\
                    localhost:5432:*:*:local\r\n\
                    /tmp/sock:5432:*:*:sockdir\n\
                    *:*:*:*:fallback\n";
        let e = pgpass_env(dir.path(), text, 0o600);
        let pw = |url: &str| {
            let t = target(url, &e);
            assert!(t.warnings.is_empty(), "{:?}", t.warnings);
            t.password.map(|p| p.to_string())
        };
        assert_eq!(
            pw("postgres://ci@db.example.com:6543/keys").as_deref(),
            Some("exact")
        );
        assert_eq!(
            pw("postgres://ci@db.example.com:6543/other").as_deref(),
            Some("any-port")
        );
        assert_eq!(
            pw("postgres://bob@db.example.com:6543/keys").as_deref(),
            Some("fallback")
        );
        assert_eq!(
            pw("postgres://u@h%3Acolon/db").as_deref(),
            Some("escaped:pw\\x")
        );
        // localhost also matches the default socket directory; another
        // socket directory is matched as its path.
        assert_eq!(pw("postgres://u@localhost/db").as_deref(), Some("local"));
        assert_eq!(
            pw("postgres://u@/db?host=/var/run/postgresql").as_deref(),
            Some("local")
        );
        assert_eq!(
            pw("postgres://u@/db?host=/tmp/sock").as_deref(),
            Some("sockdir")
        );
        let t = target("postgres://ci@db.example.com:6543/keys", &e);
        assert_eq!(t.password_source, Some(PasswordSource::PassFile));
        // A password given otherwise wins over the file.
        assert_eq!(
            pw("postgres://ci:given@db.example.com:6543/keys").as_deref(),
            Some("given")
        );

        // No match, no password.
        let e = pgpass_env(dir.path(), "a:1:b:c:d\nshort:line\n", 0o600);
        assert_eq!(target("postgres://u@h/db", &e).password, None);

        // Readable by others: ignored, with libpq's warning.
        for mode in [0o644, 0o640, 0o604, 0o660] {
            let e = pgpass_env(dir.path(), "*:*:*:*:leaked\n", mode);
            let t = target("postgres://u@h/db", &e);
            assert_eq!(t.password, None, "mode {mode:o}");
            assert_eq!(t.warnings.len(), 1);
            assert!(
                t.warnings[0].contains("group or world access"),
                "{:?}",
                t.warnings
            );
        }
        let e = pgpass_env(dir.path(), "*:*:*:*:ok\n", 0o400);
        assert_eq!(
            target("postgres://u@h/db", &e)
                .password
                .as_deref()
                .map(|s| s.as_str()),
            Some("ok")
        );
        // A directory is not a password file; a missing file is no warning.
        let e = PgEnv::new(
            [("PGPASSFILE".to_string(), dir.path().as_os_str().to_owned())],
            Some("u".into()),
            None,
        );
        let t = target("postgres://u@h/db", &e);
        assert!(
            t.warnings[0].contains("not a plain file"),
            "{:?}",
            t.warnings
        );
        let e = PgEnv::new(
            [(
                "HOME".to_string(),
                dir.path().join("nohome").into_os_string(),
            )],
            Some("u".into()),
            None,
        );
        let t = target("postgres://u@h/db", &e);
        assert!(t.warnings.is_empty() && t.password.is_none());
        // ~/.pgpass by default.
        std::fs::write(dir.path().join(".pgpass"), "*:*:*:*:from-home\n").unwrap();
        std::fs::set_permissions(
            dir.path().join(".pgpass"),
            std::fs::Permissions::from_mode(0o600),
        )
        .unwrap();
        let e = PgEnv::new(
            [("HOME".to_string(), dir.path().as_os_str().to_owned())],
            Some("u".into()),
            None,
        );
        assert_eq!(
            target("postgres://u@h/db", &e)
                .password
                .as_deref()
                .map(|s| s.as_str()),
            Some("from-home")
        );
    }
}
