//! The steps of `bind`, `unbind` and `replace` on one server, each change
//! followed by its proof, and undone over the kept connection when a proof
//! fails. The server is only read and written through the remote script;
//! what to write is decided by [`authorized_keys`] and [`sshd_config`].

use super::Failure;
use super::authorized_keys;
use super::script::{Answer, FileState};
use super::ssh::{Login, Resolved, Session, Ssh, remote};
use super::sshd_config::{self, DisablePlan, Effective};
use super::target::Target;
use crate::{Error, Result};
use std::collections::BTreeMap;
use std::path::Path;

const MAIN_CONFIG: &str = "/etc/ssh/sshd_config";
const DROP_IN: &str = "/etc/ssh/sshd_config.d/00-kps.conf";
const CLOUD_INIT: &str = "/etc/ssh/sshd_config.d/50-cloud-init.conf";

/// A keypair as the operations need it: its public key, the line to
/// install, and a one-shot agent serving its private key (for proofs).
pub struct ServedKey<'a> {
    pub name: &'a str,
    pub public_key: &'a ssh_key::PublicKey,
    /// `TYPE BASE64 COMMENT`, the comment free of control characters.
    pub line: &'a str,
    pub agent: Option<&'a Path>,
}

static CANCELLED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Ask every running operation to stop at its next step and undo what it
/// did (Ctrl-C): none is cut off between a change and its rollback.
pub fn cancel() {
    CANCELLED.store(true, std::sync::atomic::Ordering::SeqCst);
}

fn cancelled() -> bool {
    CANCELLED.load(std::sync::atomic::Ordering::SeqCst)
}

/// What a server's password login became (as the store records it).
pub use crate::store::PasswordLogin;

#[derive(Clone, Copy, Debug, Default)]
pub struct BindOptions {
    pub disable_password_login: bool,
    pub fix_cloud_init: bool,
}

#[derive(Clone, Copy, Debug, Default)]
pub struct UnbindOptions {
    pub force: bool,
    pub enable_password_login: bool,
}

/// One server's successful result.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub resolved: Resolved,
    pub host_key_fingerprint: String,
    pub authorized_keys_path: String,
    pub password_login: PasswordLogin,
    /// Findings people must know (a Match block turning passwords back on,
    /// an AuthorizedKeysCommand...), one line each.
    pub warnings: Vec<String>,
}

/// A logged-in server and what kps learned about it.
struct Server {
    session: Session,
    uid: u32,
    user: String,
    home: String,
    /// How to act as root: None (cannot), Some(false) (is root),
    /// Some(true) (through sudo -n).
    root: Option<bool>,
    spec: String,
    effective: Option<Effective>,
    configs: BTreeMap<String, FileState>,
    /// authorized_keys files already read (by the survey): a write still
    /// refuses one that changed since.
    keys_files: BTreeMap<String, FileState>,
    /// sshd's complaint when its config did not validate before kps
    /// changed anything (`sshd -T` failed).
    config_error: Option<String>,
    warnings: Vec<String>,
}

impl Server {
    fn connect(ssh: &Ssh, target: &Target, login: Login<'_>) -> Result<Server> {
        if cancelled() {
            return Err(remote(
                Failure::Interrupted,
                target,
                "interrupted before kps connected: nothing was changed".into(),
            ));
        }
        let session = Session::open(ssh, target, login)?;
        // Who kps is, and for root what sshd says and the default
        // authorized_keys, in one round trip.
        let who = session.run("survey", &[], None, false)?;
        check(&session, &who)?;
        let uid = who
            .get("uid")
            .and_then(|u| u.trim().parse().ok())
            .ok_or_else(|| {
                remote(
                    Failure::Unsupported,
                    target,
                    "the server did not say who kps is logged in as".into(),
                )
            })?;
        let root = match who.get("root") {
            Some("yes") => Some(false),
            Some("sudo") => Some(true),
            _ => None,
        };
        let mut server = Server {
            uid,
            user: who.text("user").unwrap_or_default(),
            home: who.text("home").unwrap_or_default(),
            root,
            spec: who.text("spec").unwrap_or_default(),
            effective: None,
            configs: BTreeMap::new(),
            keys_files: who.files("keys-file"),
            config_error: None,
            warnings: Vec::new(),
            session,
        };
        let inspected = match root {
            Some(false) => Some(who),
            Some(true) => {
                let answer = server.session.run("inspect", &[&server.spec], None, true)?;
                check(&server.session, &answer)?;
                Some(answer)
            }
            None => None,
        };
        if let Some(inspect) = inspected {
            match inspect.text("T-failed") {
                Some(out) => server.config_error = Some(one_line(&out)),
                None => server.effective = Some(sshd_config::effective(&inspect.sshd_t())),
            }
            server.configs = inspect.files("config");
            server.note_findings();
        }
        Ok(server)
    }

    fn target(&self) -> &Target {
        &self.session.target
    }

    /// Before each change: stop here if the user asked to.
    fn go_on(&self) -> Result<()> {
        if cancelled() {
            return Err(self.fail(Failure::Interrupted, "interrupted"));
        }
        Ok(())
    }

    fn fail(&self, kind: Failure, message: impl Into<String>) -> Error {
        remote(kind, self.target(), message.into())
    }

    fn note_findings(&mut self) {
        let text = |state: &FileState| {
            state
                .content()
                .map(|c| String::from_utf8_lossy(c).into_owned())
        };
        let Some(main) = self.configs.get(MAIN_CONFIG).and_then(text) else {
            return;
        };
        // Every other config file, in the order the glob would list them
        // (the map is sorted): findings() reads each where an Include
        // takes it in, and as sshd would, none that no Include names.
        let dropins: Vec<(String, String)> = self
            .configs
            .iter()
            .filter(|(path, _)| path.as_str() != MAIN_CONFIG)
            .filter_map(|(path, state)| text(state).map(|t| (path.clone(), t)))
            .collect();
        for finding in sshd_config::findings((MAIN_CONFIG, &main), &dropins) {
            self.warnings
                .push(crate::text::escape(&finding.to_string()).into_owned());
        }
    }

    /// A key kps cannot serve (DSA) cannot be proved to log in: refused.
    fn provable(&self, key: &ServedKey<'_>) -> Result<()> {
        if key.agent.is_none() {
            return Err(self.fail(
                Failure::Unsupported,
                format!(
                    "kps cannot prove that a {} key logs in (its agent serves Ed25519, ECDSA and RSA keys); nothing was changed",
                    key.public_key.algorithm()
                ),
            ));
        }
        Ok(())
    }

    /// Refuse before touching anything when sshd will not take this key.
    fn preflight(&self, key: &ServedKey<'_>) -> Result<()> {
        let Some(effective) = &self.effective else {
            return self.provable(key);
        };
        if effective.get("pubkeyauthentication") == Some("no") {
            return Err(self.fail(
                Failure::Unsupported,
                "sshd has PubkeyAuthentication no: no key can log in",
            ));
        }
        let algorithm = key.public_key.algorithm().to_string();
        if !sshd_config::accepts_algorithm(effective, &algorithm) {
            return Err(self.fail(
                Failure::Unsupported,
                format!("sshd does not accept {algorithm} keys (PubkeyAcceptedAlgorithms); nothing was changed"),
            ));
        }
        Ok(())
    }

    /// The authorized_keys files sshd reads for the login user, the first
    /// being where kps installs.
    fn authorized_keys_files(&self) -> Vec<String> {
        let files = match &self.effective {
            Some(e) => sshd_config::authorized_keys_files(e, &self.user, &self.home, self.uid),
            None => Vec::new(),
        };
        if files.is_empty() {
            vec![format!(
                "{}/.ssh/authorized_keys",
                self.home.trim_end_matches('/')
            )]
        } else {
            files
        }
    }

    /// Files outside the login user's home are written as root.
    fn sudo_for(&self, path: &str) -> Result<bool> {
        let home = format!("{}/", self.home.trim_end_matches('/'));
        if self.uid == 0 || path.starts_with(&home) {
            return Ok(false);
        }
        match self.root {
            Some(sudo) => Ok(sudo),
            None => Err(self.fail(
                Failure::Unsupported,
                format!("{} is outside the login user's home and kps cannot act as root there (no passwordless sudo)", crate::text::escape(path)),
            )),
        }
    }

    fn root(&self, what: &str) -> Result<bool> {
        self.root.ok_or_else(|| {
            self.fail(
                Failure::Unsupported,
                format!("{what} needs root: log in as root, or as a user with passwordless sudo"),
            )
        })
    }

    fn read(&self, path: &str, sudo: bool) -> Result<FileState> {
        let state = match self.keys_files.get(path) {
            Some(state) => state.clone(),
            None => {
                let answer = self.session.run("read", &[path], None, sudo)?;
                check(&self.session, &answer)?;
                answer.file()
            }
        };
        let shown = crate::text::escape(path);
        match state {
            FileState::Symlink => Err(self.fail(
                Failure::Unsupported,
                format!("{shown} is a symbolic link: kps does not write through one"),
            )),
            FileState::Immutable => Err(self.fail(
                Failure::Unsupported,
                format!("{shown} is immutable (chattr +i)"),
            )),
            FileState::Other => Err(self.fail(
                Failure::Unsupported,
                format!("{shown} is not a regular file"),
            )),
            FileState::Unreadable => {
                Err(self.fail(Failure::Unsupported, format!("{shown} cannot be read")))
            }
            state => Ok(state),
        }
    }

    /// Write `content` to `path` if it still is `before`, placed as `how`
    /// says.
    fn write(
        &self,
        path: &str,
        before: &FileState,
        content: &[u8],
        how: Placement<'_>,
    ) -> Result<FileState> {
        let Placement {
            mode,
            owner,
            backup,
            sudo,
        } = how;
        let answer = self.session.run(
            "write",
            &[
                path,
                mode,
                owner,
                before.sum(),
                "yes",
                backup.unwrap_or("-"),
            ],
            Some(content),
            sudo,
        )?;
        check(&self.session, &answer)?;
        let sum = answer.get("wrote").unwrap_or("none").to_string();
        Ok(FileState::Regular {
            sum,
            content: content.to_vec(),
        })
    }

    fn remove(&self, path: &str, before: &FileState, sudo: bool) -> Result<()> {
        let answer = self
            .session
            .run("remove", &[path, before.sum()], None, sudo)?;
        check(&self.session, &answer)
    }

    /// An authorized_keys file: 0600, the login user's.
    fn write_authorized_keys(
        &self,
        path: &str,
        before: &FileState,
        content: &[u8],
        sudo: bool,
    ) -> Result<FileState> {
        self.write(
            path,
            before,
            content,
            Placement {
                mode: "600",
                owner: &self.uid.to_string(),
                backup: None,
                sudo,
            },
        )
    }

    /// Put `path` back as `original` was (written, or removed when there
    /// was no file), if it is still `now`.
    fn restore(
        &self,
        path: &str,
        now: &FileState,
        original: &FileState,
        mode: &str,
        owner: &str,
        sudo: bool,
    ) -> Result<()> {
        match original.content() {
            Some(content) => self
                .write(
                    path,
                    now,
                    content,
                    Placement {
                        mode,
                        owner,
                        backup: None,
                        sudo,
                    },
                )
                .map(|_| ()),
            None => self.remove(path, now, sudo),
        }
    }

    /// `sshd -t`, then the effective settings; None and sshd's complaint
    /// when the config does not validate.
    fn check_config(&self, sudo: bool) -> Result<std::result::Result<Effective, String>> {
        let answer = self.session.run("check", &[&self.spec], None, sudo)?;
        check(&self.session, &answer)?;
        if let Some(why) = answer.text("invalid") {
            return Ok(Err(one_line(&why)));
        }
        Ok(Ok(sshd_config::effective(&answer.sshd_t())))
    }

    fn reload(&self, sudo: bool) -> Result<()> {
        let answer = self.session.run("reload", &[], None, sudo)?;
        check(&self.session, &answer)
    }
}

/// How a written file is placed: its mode ("-" keeps the file's own mode
/// and owner), owner, backup copy, and whether through sudo.
struct Placement<'a> {
    mode: &'a str,
    owner: &'a str,
    backup: Option<&'a str>,
    sudo: bool,
}

/// The script's own refusal, as an error.
fn check(session: &Session, answer: &Answer) -> Result<()> {
    match answer.error() {
        None => Ok(()),
        Some((what, path)) => {
            let path = crate::text::escape(&path).into_owned();
            let (kind, message) = match what.as_str() {
                "changed" => (
                    Failure::Unsupported,
                    format!(
                        "{path} changed while kps was working on it; nothing of it was written"
                    ),
                ),
                "symlink" => (
                    Failure::Unsupported,
                    format!("{path} is a symbolic link: kps does not write through one"),
                ),
                "not-regular" => (
                    Failure::Unsupported,
                    format!("{path} is not a regular file"),
                ),
                "no-sshd" => (
                    Failure::Unsupported,
                    "sshd is not on the server's PATH".to_string(),
                ),
                "reload" => (
                    Failure::Unsupported,
                    "kps found no way to make sshd reload (systemctl, HUP, service)".to_string(),
                ),
                other => (
                    Failure::Unsupported,
                    format!("the server refused '{other}' on {path}"),
                ),
            };
            Err(remote(kind, &session.target, message))
        }
    }
}

/// An error's own message, without the host in front (for an error that
/// is part of another one about the same host).
fn message(e: &Error) -> String {
    match e {
        Error::Remote { message, .. } => message.clone(),
        other => other.to_string(),
    }
}

/// sshd's complaint on one line, safe to print.
fn one_line(text: &str) -> String {
    let joined: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    crate::text::escape(&joined.join("; ")).into_owned()
}

/// The public key's blob, as authorized_keys holds it.
fn blob(key: &ssh_key::PublicKey) -> Vec<u8> {
    use ssh_key::encoding::Encode;
    key.key_data().encode_vec().unwrap_or_default()
}

/// What was installed, for a rollback.
struct Installed {
    path: String,
    sudo: bool,
    original: FileState,
    now: FileState,
}

impl Server {
    /// Install `key` in the first authorized_keys file; None when it was
    /// already there.
    fn install(&self, key: &ServedKey<'_>) -> Result<(String, Option<Installed>)> {
        let path = self.authorized_keys_files().remove(0);
        let sudo = self.sudo_for(&path)?;
        let before = self.read(&path, sudo)?;
        let change = authorized_keys::add(before.content().unwrap_or_default(), key.line)
            .map_err(|why| self.fail(Failure::Unsupported, why))?;
        if !change.changed {
            return Ok((path, None));
        }
        self.go_on()?;
        authorized_keys::validate_for_write(&change.content).map_err(|why| {
            self.fail(
                Failure::Unsupported,
                format!("{}: {why}", crate::text::escape(&path)),
            )
        })?;
        let now = self.write_authorized_keys(&path, &before, &change.content, sudo)?;
        Ok((
            path.clone(),
            Some(Installed {
                path,
                sudo,
                original: before,
                now,
            }),
        ))
    }

    fn undo(&self, installed: Option<Installed>, what_failed: Error) -> Error {
        let Some(i) = installed else {
            return what_failed;
        };
        match self.restore(
            &i.path,
            &i.now,
            &i.original,
            "600",
            &self.uid.to_string(),
            i.sudo,
        ) {
            Ok(()) => what_failed,
            Err(e) => self.fail(
                Failure::RollbackFailed,
                format!(
                    "{}; and putting {} back failed ({}): it still holds kps's change",
                    message(&what_failed),
                    crate::text::escape(&i.path),
                    message(&e)
                ),
            ),
        }
    }

    /// Prove `key` logs in on a fresh connection.
    fn prove_login(&self, ssh: &Ssh, key: &ServedKey<'_>) -> Result<bool> {
        match key.agent {
            Some(agent) => {
                ssh.key_logs_in(self.target(), &self.session.resolved, agent, key.public_key)
            }
            None => Ok(true),
        }
    }
}

/// Files changed to turn password login off or on, for a rollback.
struct ConfigChange {
    files: Vec<(String, FileState, FileState)>,
    sudo: bool,
    /// Whether sshd was reloaded with the change: only then does a
    /// rollback reload it again.
    reloaded: bool,
}

impl Server {
    /// Refuse to change a config that does not validate as it is: kps
    /// could neither check its own change nor reload.
    fn config_valid(&self) -> Result<()> {
        match &self.config_error {
            Some(why) => Err(self.fail(
                Failure::InvalidConfig,
                format!("sshd's config does not validate as it is, before any change by kps, so kps changes and reloads nothing: {why}"),
            )),
            None => Ok(()),
        }
    }

    fn main_config(&self) -> Result<(FileState, String)> {
        let state = self
            .configs
            .get(MAIN_CONFIG)
            .cloned()
            .unwrap_or(FileState::Missing);
        let text = match state.content() {
            Some(c) => String::from_utf8(c.to_vec()).map_err(|_| {
                self.fail(
                    Failure::Unsupported,
                    format!("{MAIN_CONFIG} is not UTF-8 text: kps does not edit it"),
                )
            })?,
            None => {
                return Err(self.fail(
                    Failure::Unsupported,
                    format!("kps cannot read {MAIN_CONFIG}"),
                ));
            }
        };
        Ok((state, text))
    }

    /// A config file's text; one that is not UTF-8 is not edited (a lossy
    /// reading would change bytes kps does not mean to touch).
    fn config_text(&self, path: &str) -> Result<Option<String>> {
        match self.config_file(path).content() {
            None => Ok(None),
            Some(c) => String::from_utf8(c.to_vec()).map(Some).map_err(|_| {
                self.fail(
                    Failure::Unsupported,
                    format!("{path} is not UTF-8 text: kps does not edit it"),
                )
            }),
        }
    }

    fn config_file(&self, path: &str) -> FileState {
        self.configs
            .get(path)
            .cloned()
            .unwrap_or(FileState::Missing)
    }

    /// Write the config changes `plan` lists, each as (path, new content or
    /// None to remove).
    fn apply(&self, plan: Vec<(String, Option<String>)>, sudo: bool) -> Result<ConfigChange> {
        self.go_on()?;
        let mut change = ConfigChange {
            files: Vec::new(),
            sudo,
            reloaded: false,
        };
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        for (path, content) in plan {
            let before = self.config_file(&path);
            let result = match &content {
                Some(text) => {
                    let (mode, backup) = match before {
                        FileState::Missing => ("600", None),
                        _ => ("-", Some(format!("{path}.kps-backup-{stamp}"))),
                    };
                    self.write(
                        &path,
                        &before,
                        text.as_bytes(),
                        Placement {
                            mode,
                            owner: "0",
                            backup: backup.as_deref(),
                            sudo,
                        },
                    )
                }
                None => self
                    .remove(&path, &before, sudo)
                    .map(|()| FileState::Missing),
            };
            match result {
                Ok(now) => change.files.push((path, before, now)),
                Err(e) => return Err(self.roll_back_config(change, e)),
            }
        }
        Ok(change)
    }

    /// Put every changed file back, validate, reload; `failed` is the
    /// error to report (with what could not be undone, if anything).
    fn roll_back_config(&self, change: ConfigChange, failed: Error) -> Error {
        let mut left = Vec::new();
        for (path, before, now) in change.files.iter().rev() {
            if self
                .restore(path, now, before, "-", "0", change.sudo)
                .is_err()
            {
                left.push(crate::text::escape(path).into_owned());
            }
        }
        let reloaded =
            matches!(self.check_config(change.sudo), Ok(Ok(_))) && self.reload(change.sudo).is_ok();
        if left.is_empty() && reloaded {
            return failed;
        }
        let mut what = Vec::new();
        if !left.is_empty() {
            what.push(format!("could not put back {}", left.join(", ")));
        }
        if !reloaded {
            what.push("could not reload sshd after putting the files back".to_string());
        }
        self.fail(
            Failure::RollbackFailed,
            format!(
                "{}; and rolling back failed: {}",
                message(&failed),
                what.join("; ")
            ),
        )
    }

    /// Validate, check the result with `ok`, reload, then run the outside
    /// proof `prove`; roll back on any failure.
    fn commit_config(
        &self,
        mut change: ConfigChange,
        ok: impl Fn(&Effective) -> std::result::Result<(), String>,
        prove: impl Fn() -> Result<()>,
    ) -> Result<()> {
        let sudo = change.sudo;
        let effective = match self.check_config(sudo) {
            Ok(Ok(effective)) => effective,
            Ok(Err(why)) => {
                let e = self.fail(
                    Failure::InvalidConfig,
                    format!(
                        "the new sshd config does not validate, so sshd was not reloaded: {why}"
                    ),
                );
                return Err(self.roll_back_config(change, e));
            }
            Err(e) => return Err(self.roll_back_config(change, e)),
        };
        if let Err(why) = ok(&effective) {
            let e = self.fail(Failure::ProofFailed, why);
            return Err(self.roll_back_config(change, e));
        }
        if let Err(e) = self.go_on() {
            return Err(self.roll_back_config(change, e));
        }
        // From here on the daemon may run the new config: a rollback
        // reloads it again. (A failed reload may also have reloaded.)
        change.reloaded = true;
        if let Err(e) = self.reload(sudo) {
            return Err(self.roll_back_config(change, e));
        }
        if let Err(e) = prove() {
            return Err(self.roll_back_config(change, e));
        }
        Ok(())
    }

    /// Turn password (and keyboard-interactive) login off, prove it from
    /// outside, and prove `key` still logs in.
    fn disable_passwords(
        &self,
        ssh: &Ssh,
        key: &ServedKey<'_>,
        fix_cloud_init: bool,
    ) -> Result<PasswordLogin> {
        let sudo = self.root("--disable-password-login")?;
        self.config_valid()?;
        let (_, main) = self.main_config()?;
        let mut plan = Vec::new();
        match sshd_config::plan_disable(&main, MAIN_CONFIG) {
            DisablePlan::DropIn { path, content } => {
                if self.config_file(&path).content() != Some(content.as_bytes()) {
                    plan.push((path, Some(content)));
                }
            }
            DisablePlan::EditMain { content } => {
                if content != main {
                    plan.push((MAIN_CONFIG.to_string(), Some(content)));
                }
            }
        }
        if fix_cloud_init
            && let Some(text) = self.config_text(CLOUD_INIT)?
            && let Some(fixed) = sshd_config::fix_cloud_init(&text)
        {
            plan.push((CLOUD_INIT.to_string(), Some(fixed)));
        }
        let already_off = self
            .effective
            .as_ref()
            .is_some_and(sshd_config::password_login_off);
        if plan.is_empty() && already_off {
            self.prove_password_off(ssh)?;
            return Ok(PasswordLogin::Unchanged);
        }
        let change = self.apply(plan, sudo)?;
        self.commit_config(
            change,
            |effective| {
                if sshd_config::password_login_off(effective) {
                    Ok(())
                } else {
                    Err("sshd -T still shows password or keyboard-interactive login on after kps's change (an earlier setting wins)".into())
                }
            },
            || {
                self.prove_password_off(ssh)?;
                if !self.prove_login(ssh, key)? {
                    return Err(self.fail(Failure::ProofFailed, format!("keypair '{}' no longer logs in after the reload", key.name)));
                }
                Ok(())
            },
        )?;
        Ok(PasswordLogin::Disabled)
    }

    fn prove_password_off(&self, ssh: &Ssh) -> Result<()> {
        let methods = ssh.methods_offered(self.target(), &self.session.resolved)?;
        let open: Vec<&str> = methods
            .iter()
            .map(String::as_str)
            .filter(|m| matches!(*m, "password" | "keyboard-interactive" | "none"))
            .collect();
        if open.is_empty() {
            Ok(())
        } else {
            Err(self.fail(
                Failure::ProofFailed,
                format!(
                    "the server still offers {} to a new client after the reload",
                    open.join(" and ")
                ),
            ))
        }
    }

    /// Undo kps's password change: remove the drop-in, put back the main
    /// file's marked lines and cloud-init's; validate, reload, prove a
    /// password is offered again.
    fn enable_passwords(&self, ssh: &Ssh) -> Result<PasswordLogin> {
        let sudo = self.root("--enable-password-login")?;
        self.config_valid()?;
        let (_, main) = self.main_config()?;
        let mut plan = Vec::new();
        if self.config_file(DROP_IN) != FileState::Missing {
            plan.push((DROP_IN.to_string(), None));
        }
        if let Some(restored) = sshd_config::plan_enable(&main) {
            plan.push((MAIN_CONFIG.to_string(), Some(restored)));
        }
        if let Some(text) = self.config_text(CLOUD_INIT)?
            && let Some(restored) = sshd_config::unfix_cloud_init(&text)
        {
            plan.push((CLOUD_INIT.to_string(), Some(restored)));
        }
        if plan.is_empty() {
            return Ok(PasswordLogin::Unchanged);
        }
        let change = self.apply(plan, sudo)?;
        self.commit_config(
            change,
            |effective| {
                if effective.get("passwordauthentication") == Some("yes") {
                    Ok(())
                } else {
                    Err("sshd -T still shows password login off once kps's change is gone: another setting turns it off".into())
                }
            },
            || {
                let methods = ssh.methods_offered(self.target(), &self.session.resolved)?;
                if methods.iter().any(|m| m == "password" || m == "keyboard-interactive") {
                    Ok(())
                } else {
                    Err(self.fail(Failure::ProofFailed, "the server still offers no password login to a new client after the reload"))
                }
            },
        )?;
        Ok(PasswordLogin::Enabled)
    }
}

fn host_key_fingerprint(session: &Session) -> String {
    session.host_key_fingerprint().unwrap_or_default()
}

/// `kps bind` on one server.
pub fn bind(
    ssh: &Ssh,
    target: &Target,
    login: Login<'_>,
    key: &ServedKey<'_>,
    opts: BindOptions,
) -> Result<Outcome> {
    let server = Server::connect(ssh, target, login)?;
    server.preflight(key)?;
    let (path, installed) = server.install(key)?;
    match server.prove_login(ssh, key) {
        Ok(true) => {}
        Ok(false) => {
            let e = server.fail(
                Failure::ProofFailed,
                format!("keypair '{}' does not log in after it was installed in {}; the file was put back as it was", key.name, crate::text::escape(&path)),
            );
            return Err(server.undo(installed, e));
        }
        Err(e) => return Err(server.undo(installed, e)),
    }
    let password_login = if opts.disable_password_login {
        match server.disable_passwords(ssh, key, opts.fix_cloud_init) {
            Ok(p) => p,
            Err(e) => return Err(server.undo(installed, e)),
        }
    } else {
        PasswordLogin::Unchanged
    };
    Ok(server.finish(path, password_login))
}

/// `kps unbind` on one server: remove the key's lines from every
/// authorized_keys file sshd reads for the user, prove it no longer logs in.
pub fn unbind(
    ssh: &Ssh,
    target: &Target,
    login: Login<'_>,
    key: &ServedKey<'_>,
    opts: UnbindOptions,
) -> Result<Outcome> {
    let server = Server::connect(ssh, target, login)?;
    let blob = blob(key.public_key);
    let mut found = Vec::new();
    let mut others = 0;
    for path in server.authorized_keys_files() {
        let sudo = server.sudo_for(&path)?;
        let state = match server.read(&path, sudo) {
            Ok(state) => state,
            Err(_) if found.is_empty() => continue,
            Err(e) => return Err(e),
        };
        let content = state.content().unwrap_or_default().to_vec();
        others += authorized_keys::other_keys(&content, &blob);
        let change = authorized_keys::remove(&content, &blob);
        if change.changed {
            found.push((path, sudo, state, change.content));
        }
    }
    let password_off = match &server.effective {
        Some(effective) => sshd_config::password_login_off(effective),
        // Not root, so no `sshd -T`: ask the daemon itself what it offers.
        None => !ssh
            .methods_offered(target, &server.session.resolved)?
            .iter()
            .any(|m| m == "password" || m == "keyboard-interactive"),
    };
    if others == 0 && password_off && !opts.force && !opts.enable_password_login {
        return Err(server.fail(
            Failure::NoWayIn,
            format!("removing keypair '{}' would leave no way in: no other authorized key and password login is off", key.name),
        ));
    }
    let password_login = if opts.enable_password_login {
        server.enable_passwords(ssh)?
    } else {
        PasswordLogin::Unchanged
    };
    let first = found
        .first()
        .map(|(p, ..)| p.clone())
        .unwrap_or_else(|| server.authorized_keys_files().remove(0));
    let removed = (|| -> Result<()> {
        server.go_on()?;
        let mut written: Vec<Installed> = Vec::new();
        for (path, sudo, before, content) in found {
            match server.write_authorized_keys(&path, &before, &content, sudo) {
                Ok(now) => written.push(Installed {
                    path,
                    sudo,
                    original: before,
                    now,
                }),
                Err(e) => return Err(server.undo_all(written, e)),
            }
        }
        match server.prove_login(ssh, key) {
            Ok(false) => {}
            Ok(true) if key.agent.is_none() => {}
            Ok(true) => {
                let e = server.fail(
                    Failure::ProofFailed,
                    format!("keypair '{}' still logs in after its lines were removed (sshd finds it elsewhere: AuthorizedKeysCommand or another file); put back as it was", key.name),
                );
                return Err(server.undo_all(written, e));
            }
            Err(e) => return Err(server.undo_all(written, e)),
        }
        Ok(())
    })();
    if let Err(e) = removed {
        // The password change, done first so that no step can lock the
        // user out, is not taken back: it is what they asked for.
        return Err(match (password_login, e) {
            (
                PasswordLogin::Enabled,
                Error::Remote {
                    kind,
                    host,
                    message,
                },
            ) => Error::Remote {
                kind,
                host,
                message: format!(
                    "{message}; password login had been turned back on before this, and stays on"
                ),
            },
            (_, e) => e,
        });
    }
    Ok(server.finish(first, password_login))
}

/// `kps replace` on one server: install NEW, prove it, remove OLD, prove
/// OLD no longer logs in; on any failure the file goes back as it was.
pub fn replace(
    ssh: &Ssh,
    target: &Target,
    login: Login<'_>,
    old: &ServedKey<'_>,
    new: &ServedKey<'_>,
) -> Result<Outcome> {
    let server = Server::connect(ssh, target, login)?;
    server.preflight(new)?;
    let path = server.authorized_keys_files().remove(0);
    let sudo = server.sudo_for(&path)?;
    let before = server.read(&path, sudo)?;
    let content = before.content().unwrap_or_default().to_vec();
    server.go_on()?;
    let added = authorized_keys::add(&content, new.line)
        .map_err(|why| server.fail(Failure::Unsupported, why))?;
    let now = server.write_authorized_keys(&path, &before, &added.content, sudo)?;
    let installed = Installed {
        path: path.clone(),
        sudo,
        original: before,
        now,
    };
    match server.prove_login(ssh, new) {
        Ok(true) => {}
        Ok(false) => {
            let e = server.fail(
                Failure::ProofFailed,
                format!(
                    "keypair '{}' does not log in once installed; the server is as it was",
                    new.name
                ),
            );
            return Err(server.undo(Some(installed), e));
        }
        Err(e) => return Err(server.undo(Some(installed), e)),
    }
    if let Err(e) = server.go_on() {
        return Err(server.undo(Some(installed), e));
    }
    let removed = authorized_keys::remove(&added.content, &blob(old.public_key));
    let now = match server.write_authorized_keys(&path, &installed.now, &removed.content, sudo) {
        Ok(now) => now,
        Err(e) => return Err(server.undo(Some(installed), e)),
    };
    let installed = Installed { now, ..installed };
    match server.prove_login(ssh, old) {
        Ok(false) => {}
        Ok(true) => {
            let e = server.fail(
                Failure::ProofFailed,
                format!("keypair '{}' still logs in after its lines were removed (sshd finds it elsewhere); the server is as it was", old.name),
            );
            return Err(server.undo(Some(installed), e));
        }
        Err(e) => return Err(server.undo(Some(installed), e)),
    }
    Ok(server.finish(path, PasswordLogin::Unchanged))
}

impl Server {
    fn undo_all(&self, written: Vec<Installed>, failed: Error) -> Error {
        written
            .into_iter()
            .rev()
            .fold(failed, |e, i| self.undo(Some(i), e))
    }

    fn finish(self, authorized_keys_path: String, password_login: PasswordLogin) -> Outcome {
        let outcome = Outcome {
            resolved: self.session.resolved.clone(),
            host_key_fingerprint: host_key_fingerprint(&self.session),
            authorized_keys_path,
            password_login,
            warnings: self.warnings,
        };
        self.session.close();
        outcome
    }
}

/// Run `f` on every target, at most `parallel` at once, calling `progress`
/// with (done, total) as each ends; the results in the targets' order. One
/// server's failure does not stop the others.
pub fn on_each<T: Send>(
    targets: &[Target],
    parallel: usize,
    f: impl Fn(&Target) -> T + Sync,
    progress: impl Fn(usize, usize) + Sync,
) -> Vec<T> {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<T>>> = Mutex::new(targets.iter().map(|_| None).collect());
    progress(0, targets.len());
    std::thread::scope(|scope| {
        for _ in 0..parallel.clamp(1, targets.len().max(1)) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(target) = targets.get(i) else { break };
                    let result = f(target);
                    results.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(result);
                    progress(done.fetch_add(1, Ordering::SeqCst) + 1, targets.len());
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .flatten()
        .collect()
}
