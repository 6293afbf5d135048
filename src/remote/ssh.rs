//! The transport: the system OpenSSH client, as ssh-copy-id, Ansible and git
//! use it, with the user's own config, ProxyJump and known_hosts.
//!
//! One master connection per server and operation (`ControlMaster` on a
//! socket in a fresh 0700 directory) carries every step, and stays open
//! until the end: if a change locks new logins out, it is undone over this
//! connection. Proofs are the opposite: fresh connections (`ControlPath
//! none`, the key to prove offered first and checked by name in ssh -v's
//! account), so that what they show is what a new client gets.

use super::Failure;
use super::askpass::{self, AskpassServer};
use super::script::{self, Answer};
use super::target::Target;
use crate::agent::oneshot::SECRET_VARIABLES;
use crate::outfile::PrivateDir;
use crate::secret::Passphrase;
use crate::{Error, Result};
use std::ffi::OsString;
use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a login may take (ssh's ConnectTimeout covers the TCP part).
const LOGIN_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a reloaded sshd may take to listen again.
const RELOAD_GRACE: Duration = Duration::from_secs(10);
/// How long one step of the remote script may take.
const STEP_TIMEOUT: Duration = Duration::from_secs(120);

/// The ssh program and how host keys are checked.
#[derive(Clone, Debug)]
pub struct Ssh {
    pub program: OsString,
    pub host_keys: HostKeys,
    /// Where this user's ssh looks for `kps-askpass` answers: kps itself.
    pub askpass_program: PathBuf,
}

/// How the server's host key is trusted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostKeys {
    /// Only a key already in known_hosts.
    Known,
    /// A key whose SHA-256 fingerprint is this (`SHA256:...`), as a cloud
    /// console prints it; written to known_hosts once the login worked.
    Fingerprint(String),
    /// Trust on first use (`StrictHostKeyChecking=accept-new`).
    AcceptNew,
}

/// How the kept connection logs in.
pub enum Login<'a> {
    /// The user's own ssh setup: their agent, their keys, their config.
    UserSetup,
    /// Only the key served by a kps one-shot agent at this socket.
    Agent(&'a Path),
    /// A password, given to ssh by an askpass server of the session's own
    /// that answers only this server's prompt, once.
    Password(&'a Arc<Passphrase>),
}

/// What ssh will actually use for a target (`ssh -G`).
#[derive(Clone, Debug, Default)]
pub struct Resolved {
    pub hostname: String,
    pub port: u16,
    pub user: String,
    /// Whether the user's config sets ConnectTimeout (else kps sets 10 s).
    pub has_connect_timeout: bool,
    pub known_hosts_files: Vec<String>,
    pub host_key_alias: Option<String>,
}

impl Ssh {
    fn command(&self) -> Command {
        let mut cmd = Command::new(&self.program);
        for var in SECRET_VARIABLES {
            cmd.env_remove(var);
        }
        for var in [
            "SSH_ASKPASS",
            "SSH_ASKPASS_REQUIRE",
            askpass::SOCKET_VARIABLE,
        ] {
            cmd.env_remove(var);
        }
        cmd.stdin(Stdio::null());
        // Out of the terminal's process group: Ctrl-C goes to kps alone,
        // which then stops between steps and undoes what it did, over
        // connections that are still there to do it.
        cmd.process_group(0);
        cmd
    }

    fn target_args(cmd: &mut Command, target: &Target) {
        if let Some(port) = target.port {
            cmd.arg("-p").arg(port.to_string());
        }
        cmd.arg("--").arg(target.destination());
    }

    /// `ssh -G`: the host, port and user ssh will use, and the settings
    /// that say how it gets there.
    pub fn resolve(&self, target: &Target) -> Result<Resolved> {
        let mut cmd = self.command();
        cmd.arg("-G");
        Ssh::target_args(&mut cmd, target);
        let out = cmd.output().map_err(|source| Error::SshNotRun {
            program: self.program.clone().into(),
            source,
        })?;
        if !out.status.success() {
            return Err(remote(
                Failure::Connect,
                target,
                format!("ssh -G failed: {}", last_line(&out.stderr)),
            ));
        }
        let mut r = Resolved::default();
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let (key, value) = line.split_once(' ').unwrap_or((line, ""));
            match key {
                "hostname" => r.hostname = value.to_string(),
                "port" => r.port = value.parse().unwrap_or(22),
                "user" => r.user = value.to_string(),
                "userknownhostsfile" => {
                    r.known_hosts_files = value.split_whitespace().map(str::to_string).collect()
                }
                "hostkeyalias" => r.host_key_alias = Some(value.to_string()),
                "connecttimeout" if value != "none" => r.has_connect_timeout = true,
                _ => {}
            }
        }
        if r.hostname.is_empty() || r.user.is_empty() {
            return Err(remote(
                Failure::Connect,
                target,
                "ssh -G gave no host or user".into(),
            ));
        }
        Ok(r)
    }

    /// A fresh connection: the user's own config (so an alias, ProxyJump
    /// or ProxyCommand reaches the server as it does for them), but never
    /// the kept master, never a prompt, and the host key checked.
    /// The caller adds its options, then [`Ssh::target_args`] and the
    /// remote command.
    fn fresh(&self, r: &Resolved) -> Command {
        let mut cmd = self.command();
        cmd.arg("-T");
        if !r.has_connect_timeout {
            cmd.args(["-o", "ConnectTimeout=10"]);
        }
        cmd.args([
            "-o",
            "ControlMaster=no",
            "-o",
            "ControlPath=none",
            "-o",
            "BatchMode=yes",
            "-o",
            "StrictHostKeyChecking=yes",
            "-o",
            "UpdateHostKeys=no",
        ]);
        cmd
    }

    /// Run a fresh connection; while sshd re-executes itself after a
    /// reload, it refuses or drops connections for a moment: those are
    /// tried again for up to [`RELOAD_GRACE`].
    fn run_fresh(&self, cmd: Command) -> Result<std::process::Output> {
        let start = Instant::now();
        loop {
            let out = run(clone_command(&cmd), None, LOGIN_TIMEOUT, &self.program)?;
            let stderr = String::from_utf8_lossy(&out.stderr);
            let restarting = out.status.code() == Some(255)
                && [
                    "Connection refused",
                    "Connection reset",
                    "Connection closed by",
                    "kex_exchange_identification",
                ]
                .iter()
                .any(|m| stderr.contains(m));
            if !restarting || start.elapsed() > RELOAD_GRACE {
                return Ok(out);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Does `key`, served by the agent at `agent`, log in to a shell on a
    /// new connection? Its public key is the first identity ssh offers
    /// (`IdentityFile` on the command line comes before any from the
    /// user's config), and the answer is whether the server accepted
    /// *that* key (ssh -v names it): another key of the user's that logs in
    /// after it was refused proves nothing for it.
    pub fn key_logs_in(
        &self,
        target: &Target,
        r: &Resolved,
        agent: &Path,
        key: &ssh_key::PublicKey,
    ) -> Result<bool> {
        let dir = private_dir(target)?;
        let public = dir.path().join("key.pub");
        let line = key
            .to_openssh()
            .map_err(|e| remote(Failure::Unsupported, target, e.to_string()))?;
        std::fs::write(&public, format!("{line}\n")).map_err(|e| {
            remote(
                Failure::Connect,
                target,
                format!("cannot write {}: {e}", public.display()),
            )
        })?;
        let mut cmd = self.fresh(r);
        cmd.arg("-v");
        cmd.arg("-o").arg(option("IdentityAgent", agent));
        cmd.arg("-o").arg(option("IdentityFile", &public));
        cmd.args([
            "-o",
            "IdentitiesOnly=yes",
            "-o",
            "PreferredAuthentications=publickey",
            "-o",
            "PasswordAuthentication=no",
            "-o",
            "KbdInteractiveAuthentication=no",
        ]);
        Ssh::target_args(&mut cmd, target);
        cmd.arg("echo kps-login-proved");
        let out = self.run_fresh(cmd)?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let fingerprint = key.fingerprint(ssh_key::HashAlg::Sha256).to_string();
        let accepted = stderr.lines().any(|l| {
            l.contains("Server accepts key:") && l.split_whitespace().any(|w| w == fingerprint)
        });
        if !accepted {
            if out.status.success() || stderr.contains("Permission denied") {
                return Ok(false);
            }
            return Err(classify(target, &out.stderr));
        }
        if out.status.success() && stdout.lines().any(|l| l == "kps-login-proved") {
            return Ok(true);
        }
        if out.status.code() != Some(255) {
            // Logged in, but a forced command (command= in authorized_keys,
            // ForceCommand) ran instead of a shell.
            return Err(remote(
                Failure::ProofFailed,
                target,
                "the key logs in, but a forced command runs instead of a shell".into(),
            ));
        }
        Err(classify(target, &out.stderr))
    }

    /// The methods a new client is offered (`publickey`,
    /// `password`, `keyboard-interactive`...): what the running daemon
    /// says, however its config was built.
    pub fn methods_offered(&self, target: &Target, r: &Resolved) -> Result<Vec<String>> {
        let mut cmd = self.fresh(r);
        cmd.args([
            "-o",
            "PreferredAuthentications=none",
            "-o",
            "IdentitiesOnly=yes",
            "-o",
            "IdentityAgent=none",
            "-o",
            "IdentityFile=none",
        ]);
        Ssh::target_args(&mut cmd, target);
        cmd.arg("true");
        let out = self.run_fresh(cmd)?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        if let Some(list) = stderr
            .lines()
            .find_map(|l| l.split_once("Permission denied (").map(|(_, rest)| rest))
        {
            let list = list.trim_end_matches(['.', ')']).trim_end_matches(')');
            return Ok(list.split(',').map(str::to_string).collect());
        }
        if out.status.success() {
            // The server let us in with no authentication at all.
            return Ok(vec!["none".to_string()]);
        }
        Err(classify(target, &out.stderr))
    }
}

/// The kept connection to one server.
pub struct Session {
    ssh: Ssh,
    pub target: Target,
    pub resolved: Resolved,
    dir: PrivateDir,
    control: PathBuf,
    master: Child,
    /// The login's askpass server (password logins): it lives as long as
    /// the session and removes its socket when dropped.
    _askpass: Option<AskpassServer>,
}

impl Session {
    /// Log in and keep the connection. Host keys are checked as `ssh.host_keys`
    /// says; a password is only ever sent to a host whose key was verified.
    pub fn open(ssh: &Ssh, target: &Target, login: Login<'_>) -> Result<Session> {
        let resolved = ssh.resolve(target)?;
        let dir = private_dir(target)?;
        let control = dir.path().join("master");
        let mut cmd = ssh.command();
        cmd.args([
            "-M",
            "-N",
            "-T",
            "-o",
            "ControlMaster=yes",
            "-o",
            "ControlPersist=no",
        ]);
        cmd.arg("-o").arg(option("ControlPath", &control));
        // -v: the log then names the host key the server showed, for the
        // binding's record.
        cmd.args([
            "-v",
            "-o",
            "ServerAliveInterval=15",
            "-o",
            "UpdateHostKeys=no",
        ]);
        if !resolved.has_connect_timeout {
            cmd.args(["-o", "ConnectTimeout=10"]);
        }
        let mut host_keys = ssh.host_keys.clone();
        if let (Login::Password(_), HostKeys::AcceptNew) = (&login, &host_keys) {
            // A password goes only to a verified host: a known one is
            // checked as usual, an unknown one is not contacted at all.
            if !host_known(ssh, &resolved) {
                return Err(Error::invalid_with_hint(
                    format!(
                        "{target}: a password is only sent to a server whose host key is verified, and the server is not in known_hosts (--accept-new-host-key verifies nothing)"
                    ),
                    "give the server's key with --host-key SHA256:..., or log in once with a key (--auth-keypair) to add it",
                ));
            }
            host_keys = HostKeys::Known;
        }
        match &host_keys {
            HostKeys::Known => {
                cmd.args(["-o", "StrictHostKeyChecking=yes"]);
            }
            HostKeys::AcceptNew => {
                cmd.args(["-o", "StrictHostKeyChecking=accept-new"]);
            }
            HostKeys::Fingerprint(fp) => {
                let extra = scan_host_key(ssh, target, &resolved, fp, dir.path())?;
                let mut files = resolved.known_hosts_files.join(" ");
                files.push(' ');
                files.push_str(&extra.to_string_lossy());
                cmd.args(["-o", "StrictHostKeyChecking=yes"]);
                cmd.arg("-o").arg(format!("UserKnownHostsFile={files}"));
            }
        }
        let mut askpass = None;
        match login {
            Login::UserSetup => {
                cmd.args(["-o", "BatchMode=yes"]);
            }
            Login::Agent(socket) => {
                cmd.arg("-o").arg(option("IdentityAgent", socket));
                cmd.args([
                    "-o",
                    "IdentityFile=none",
                    "-o",
                    "BatchMode=yes",
                    "-o",
                    "PreferredAuthentications=publickey",
                ]);
            }
            Login::Password(password) => {
                let server = AskpassServer::start(
                    Arc::clone(password),
                    format!("{}@{}", resolved.user, resolved.hostname),
                    1,
                )?;
                cmd.args([
                    "-o",
                    "BatchMode=no",
                    "-o",
                    "PreferredAuthentications=password,keyboard-interactive",
                    "-o",
                    "PubkeyAuthentication=no",
                    "-o",
                    "NumberOfPasswordPrompts=1",
                ]);
                cmd.env("SSH_ASKPASS", &ssh.askpass_program);
                cmd.env("SSH_ASKPASS_REQUIRE", "force");
                cmd.env(askpass::SOCKET_VARIABLE, server.socket());
                askpass = Some(server);
            }
        }
        Ssh::target_args(&mut cmd, target);
        let log = dir.path().join("master.log");
        let log_file = std::fs::File::create(&log).map_err(|e| {
            remote(
                Failure::Connect,
                target,
                format!("cannot make a log file: {e}"),
            )
        })?;
        cmd.stdout(Stdio::null()).stderr(log_file);
        let mut master = cmd.spawn().map_err(|source| Error::SshNotRun {
            program: ssh.program.clone().into(),
            source,
        })?;
        let start = Instant::now();
        loop {
            if control.exists() {
                break;
            }
            if let Ok(Some(_)) = master.try_wait() {
                let stderr = std::fs::read(&log).unwrap_or_default();
                return Err(classify(target, &stderr));
            }
            if start.elapsed() > LOGIN_TIMEOUT {
                let _ = master.kill();
                let _ = master.wait();
                return Err(remote(
                    Failure::Connect,
                    target,
                    "the login did not finish in 60 s".into(),
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let session = Session {
            ssh: ssh.clone(),
            target: target.clone(),
            resolved,
            dir,
            control,
            master,
            _askpass: askpass,
        };
        if let HostKeys::Fingerprint(_) = &ssh.host_keys {
            session.remember_host_key();
        }
        Ok(session)
    }

    /// Run one operation of the remote script over the kept connection;
    /// `as_root` through `sudo -n` when the login user is not root.
    pub fn run(&self, op: &str, args: &[&str], data: Option<&[u8]>, sudo: bool) -> Result<Answer> {
        let script = script::build(op, args, data).ok_or_else(|| {
            remote(
                Failure::Unsupported,
                &self.target,
                "a value holds a byte no shell can carry (NUL), or content without a final newline"
                    .into(),
            )
        })?;
        let mut cmd = self.ssh.command();
        cmd.arg("-o").arg(option("ControlPath", &self.control));
        // Never a new login if the master is gone: fail instead.
        cmd.args([
            "-o",
            "ControlMaster=no",
            "-o",
            "BatchMode=yes",
            "-o",
            "PreferredAuthentications=none",
            "-T",
        ]);
        Ssh::target_args(&mut cmd, &self.target);
        cmd.arg(if sudo {
            "exec sudo -n sh -s"
        } else {
            "exec sh -s"
        });
        let out = run(cmd, Some(&script.text), STEP_TIMEOUT, &self.ssh.program)?;
        let answer = Answer::parse(&out.stdout, &script.tag);
        if answer.done() || answer.error().is_some() {
            return Ok(answer);
        }
        if out.status.code() == Some(255) {
            return Err(remote(
                Failure::Connect,
                &self.target,
                format!("the connection was lost: {}", last_line(&out.stderr)),
            ));
        }
        Err(remote(
            Failure::Unsupported,
            &self.target,
            format!(
                "the remote step '{op}' did not run (is there a POSIX sh{}?): {}",
                if sudo { " and passwordless sudo" } else { "" },
                last_line(&out.stderr)
            ),
        ))
    }

    /// Add the key `--host-key` verified to the user's known_hosts, as
    /// accept-new would, so that later commands know the server.
    fn remember_host_key(&self) {
        let extra = self.dir.path().join("known_hosts");
        let (Ok(line), Some(file)) = (
            std::fs::read_to_string(&extra),
            self.resolved.known_hosts_files.first(),
        ) else {
            return;
        };
        let path = expand_home(file);
        if let Some(parent) = path.parent() {
            use std::os::unix::fs::DirBuilderExt;
            let _ = std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(parent);
        }
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
        {
            let _ = f.write_all(line.as_bytes());
        }
    }

    /// The SHA-256 fingerprint of the host key this connection checked.
    pub fn host_key_fingerprint(&self) -> Option<String> {
        let log = std::fs::read(self.dir.path().join("master.log")).ok()?;
        String::from_utf8_lossy(&log).lines().find_map(|l| {
            let rest = l.split_once("Server host key: ")?.1;
            rest.split_whitespace()
                .find(|w| w.starts_with("SHA256:"))
                .map(str::to_string)
        })
    }

    /// End the kept connection.
    pub fn close(mut self) {
        self.stop();
    }

    /// SIGTERM: the master closes the connection and removes its socket
    /// (what `ssh -O exit` asks for, without a process to ask).
    fn stop(&mut self) {
        let pid = i32::try_from(self.master.id())
            .ok()
            .and_then(rustix::process::Pid::from_raw);
        match pid {
            Some(pid) => {
                let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
            }
            None => {
                let _ = self.master.kill();
            }
        }
        let _ = self.master.wait();
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if let Ok(None) = self.master.try_wait() {
            self.stop();
        }
    }
}

/// `-o KEY=PATH` for ssh, the path as it is (not through UTF-8).
fn option(key: &str, path: &Path) -> OsString {
    let mut option = OsString::from(key);
    option.push("=");
    option.push(path);
    option
}

/// `ssh-keyscan` the server and keep the key whose fingerprint is `fp`, in
/// a known_hosts file of this operation's own.
fn scan_host_key(
    ssh: &Ssh,
    target: &Target,
    r: &Resolved,
    fp: &str,
    dir: &Path,
) -> Result<PathBuf> {
    let keyscan = sibling(&ssh.program, "ssh-keyscan");
    let mut cmd = Command::new(&keyscan);
    cmd.args(["-T", "10", "-p", &r.port.to_string(), "--", &r.hostname]);
    cmd.stdin(Stdio::null());
    let out = run(cmd, None, LOGIN_TIMEOUT, keyscan.as_os_str())?;
    let name = known_hosts_name(r);
    let mut found = None;
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let mut words = line.split_whitespace();
        let (Some(_host), Some(algorithm), Some(blob)) = (words.next(), words.next(), words.next())
        else {
            continue;
        };
        let Ok(key) = ssh_key::PublicKey::from_openssh(&format!("{algorithm} {blob}")) else {
            continue;
        };
        if key.fingerprint(ssh_key::HashAlg::Sha256).to_string() == fp {
            found = Some(format!("{name} {algorithm} {blob}\n"));
        }
    }
    let Some(line) = found else {
        return Err(remote(
            Failure::HostKeyChanged,
            target,
            format!(
                "the server's host key is not {fp} (ssh-keyscan found no key with that fingerprint)"
            ),
        ));
    };
    let path = dir.join("known_hosts");
    std::fs::write(&path, line).map_err(|e| {
        remote(
            Failure::Connect,
            target,
            format!("cannot write a known_hosts file: {e}"),
        )
    })?;
    Ok(path)
}

/// Is the server in one of the known_hosts files ssh will read?
fn host_known(ssh: &Ssh, r: &Resolved) -> bool {
    let keygen = sibling(&ssh.program, "ssh-keygen");
    let name = known_hosts_name(r);
    r.known_hosts_files.iter().any(|file| {
        Path::new(file).is_file()
            && Command::new(&keygen)
                .args(["-F", &name, "-f", file])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
    })
}

/// A private directory for a session or a proof (see [`PrivateDir`]).
fn private_dir(target: &Target) -> Result<PrivateDir> {
    PrivateDir::new(&crate::agent::socket::runtime_dir(), "kps-ssh").map_err(|e| {
        remote(
            Failure::Connect,
            target,
            format!("cannot make a private directory: {e}"),
        )
    })
}

/// How known_hosts names the server: its HostKeyAlias, else the host,
/// in brackets with the port when that is not 22.
fn known_hosts_name(r: &Resolved) -> String {
    let host = r
        .host_key_alias
        .clone()
        .unwrap_or_else(|| r.hostname.clone());
    if r.port == 22 {
        host
    } else {
        format!("[{host}]:{}", r.port)
    }
}

/// `ssh-keyscan` beside the ssh kps runs (a test's or the user's choice of
/// ssh comes with its own), else from PATH.
fn sibling(program: &OsString, name: &str) -> PathBuf {
    let p = Path::new(program);
    match p.parent() {
        Some(dir) if !dir.as_os_str().is_empty() && dir.join(name).is_file() => dir.join(name),
        _ => PathBuf::from(name),
    }
}

fn expand_home(path: &str) -> PathBuf {
    match path.strip_prefix("~/") {
        Some(rest) => std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_default()
            .join(rest),
        None => PathBuf::from(path),
    }
}

/// The same program, arguments and environment changes, to run again.
fn clone_command(cmd: &Command) -> Command {
    let mut again = Command::new(cmd.get_program());
    again.args(cmd.get_args());
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => again.env(k, v),
            None => again.env_remove(k),
        };
    }
    again.stdin(Stdio::null());
    again
}

/// ssh's failure, from what it said.
fn classify(target: &Target, stderr: &[u8]) -> Error {
    let text = String::from_utf8_lossy(stderr);
    let kind = if text.contains("IDENTIFICATION HAS CHANGED")
        || text.contains("has changed and you have requested strict")
    {
        Failure::HostKeyChanged
    } else if text.contains("host key is known for")
        || text.contains("Host key verification failed")
    {
        Failure::HostKeyUnknown
    } else {
        Failure::Connect
    };
    let message = match kind {
        Failure::HostKeyChanged => {
            "the server's host key is not the one known_hosts holds for it".to_string()
        }
        Failure::HostKeyUnknown => "the server's host key is not in known_hosts".to_string(),
        _ => format!("cannot log in: {}", last_line(stderr)),
    };
    remote(kind, target, message)
}

/// ssh's last line of complaint, made safe to print.
pub(crate) fn last_line(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let line = text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty() && !l.starts_with("debug"))
        .unwrap_or("ssh failed")
        .trim();
    crate::text::escape(line).into_owned()
}

pub(crate) fn remote(kind: Failure, target: &Target, message: String) -> Error {
    Error::Remote {
        kind,
        host: target.to_string(),
        message,
    }
}

/// Run `cmd` with `input` on stdin, collecting both outputs, killing it
/// after `timeout`.
fn run(
    mut cmd: Command,
    input: Option<&[u8]>,
    timeout: Duration,
    program: &std::ffi::OsStr,
) -> Result<std::process::Output> {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    if input.is_some() {
        cmd.stdin(Stdio::piped());
    }
    let mut child = cmd.spawn().map_err(|source| Error::SshNotRun {
        program: program.into(),
        source,
    })?;
    let stdout = child.stdout.take().map(reader);
    let stderr = child.stderr.take().map(reader);
    if let (Some(input), Some(mut stdin)) = (input, child.stdin.take()) {
        // A server that stops reading early is answered by its output.
        let _ = stdin.write_all(input);
    }
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| Error::SshNotRun {
            program: program.into(),
            source: e,
        })? {
            break status;
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            break child.wait().map_err(|e| Error::SshNotRun {
                program: program.into(),
                source: e,
            })?;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let collect = |h: Option<std::thread::JoinHandle<Vec<u8>>>| {
        h.and_then(|h| h.join().ok()).unwrap_or_default()
    };
    Ok(std::process::Output {
        status,
        stdout: collect(stdout),
        stderr: collect(stderr),
    })
}

/// What kps keeps of one step's output: an authorized_keys file or an
/// sshd config is far smaller; a server that sends more is cut off there
/// (and the step's answer is then incomplete, so it fails).
const MAX_OUTPUT: u64 = 64 * 1024 * 1024;

fn reader(r: impl Read + Send + 'static) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let mut limited = r.take(MAX_OUTPUT);
        let _ = limited.read_to_end(&mut buf);
        // Drain the rest so the child is not blocked writing it.
        let _ = std::io::copy(&mut limited.into_inner(), &mut std::io::sink());
        buf
    })
}
