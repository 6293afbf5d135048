//! Real sshd servers that think they are the machine's own: each runs in a
//! private mount namespace (`unshare -m --propagation private`) with temp
//! directories bind-mounted over `/etc/ssh`, `/root`, `/home` and `/run`, and
//! copies of `/etc/passwd`, `/etc/group` and `/etc/shadow` (a test user
//! `kpsuser`, known passwords) over the real files. Whatever a remote script
//! does through such a server (`sshd -t`, `sshd -T`, writing
//! `/root/.ssh/authorized_keys` or `/etc/ssh/sshd_config.d/00-kps.conf`,
//! `service ssh reload` or a HUP of the pid in `/run/sshd.pid`) lands in the
//! temp directories; the machine's own files are never touched. The probes
//! (`methods_offered`, `password_login_works`, `key_login_works`) use the
//! real ssh from outside, with a throwaway HOME and this server's host key
//! pinned, so they see what the running daemon offers.

use super::sshd::{find_program, have_sshd, run_with_timeout};
use super::{free_port, have_tool, sshd_says_listening, tool_ok};
use std::net::TcpStream;
use std::os::unix::fs::{PermissionsExt, chown};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// root's password on every server unless [`NsSshdBuilder::root_password`]
/// says otherwise. Unique enough that finding it anywhere is a leak.
pub const ROOT_PASSWORD: &str = "nssshd-root-pw-7f3a9c";
/// The test user, present on every server (uid and gid 4242, /bin/sh).
pub const USER: &str = "kpsuser";
pub const USER_UID: u32 = 4242;
pub const USER_PASSWORD: &str = "nssshd-user-pw-2b61e0";

/// Debian 12's stock `/etc/ssh/sshd_config` (openssh-server 1:9.2p1-2+deb12u*),
/// `Include /etc/ssh/sshd_config.d/*.conf` first.
pub const DEBIAN12_SSHD_CONFIG: &str = include_str!("../fixtures/sshd/debian12_sshd_config");

/// What is over `/etc/ssh` when the server starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// Debian 12's stock file (Include line first), an empty `sshd_config.d`.
    Debian,
    /// Debian's, plus `sshd_config.d/50-cloud-init.conf` (0600) saying
    /// `PasswordAuthentication yes`, as cloud-init writes it on Ubuntu.
    Ubuntu,
    /// Debian's without its Include line, with `PasswordAuthentication yes`
    /// set in the main file (as a hand-configured older server has it).
    NoInclude,
    /// As `NoInclude`, the file ending in a `Match User nobody` block: a
    /// setting appended at the end would apply to `nobody` only.
    EndsInMatch,
}

/// The `Match` block `Layout::EndsInMatch` ends with.
pub const ENDING_MATCH_BLOCK: &str =
    "Match User nobody\n\tX11Forwarding no\n\tAllowTcpForwarding no\n";

impl Layout {
    /// Does the main file include `sshd_config.d`?
    pub fn includes_dropins(self) -> bool {
        matches!(self, Layout::Debian | Layout::Ubuntu)
    }
}

/// Can this process make a mount namespace (root, or a container that
/// allows it)? As `have_tool`: under `KPS_TEST_REQUIRE_TOOLS=1` a no fails
/// the test; else it prints why the test skips. Also checks for sshd, ssh,
/// ssh-keygen and openssl, which every NsSshd test needs.
pub fn have_unshare() -> bool {
    if !have_sshd() || !have_tool("openssl") {
        return false;
    }
    let works = Command::new("unshare")
        .args(["-m", "--propagation", "private", "true"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !works {
        if std::env::var("KPS_TEST_REQUIRE_TOOLS").as_deref() == Ok("1") {
            panic!("`unshare -m` is required (KPS_TEST_REQUIRE_TOOLS=1) but not permitted here");
        }
        eprintln!(
            "SKIP: `unshare -m true` fails (needs root or CAP_SYS_ADMIN); cannot run sshd in a mount namespace"
        );
    }
    works
}

/// How to build a server: `NsSshd::builder(Layout::Ubuntu).dropin(..).start()`.
#[derive(Clone, Debug)]
pub struct NsSshdBuilder {
    layout: Layout,
    dropins: Vec<(String, String)>,
    main_extra: String,
    use_pam: Option<bool>,
    root_password: String,
    daemon_options: Vec<String>,
}

impl NsSshdBuilder {
    /// A file `sshd_config.d/NAME` with `text`, written before sshd starts
    /// (the directory exists in every layout; only Debian and Ubuntu read it
    /// unless `main_extra` adds an Include).
    pub fn dropin(mut self, name: &str, text: &str) -> Self {
        self.dropins.push((name.to_string(), text.to_string()));
        self
    }

    /// Lines added to the main file's end (for `EndsInMatch`: before its
    /// final Match block). A `Match` block given here ends the file.
    pub fn main_extra(mut self, text: &str) -> Self {
        self.main_extra.push_str(text);
        if !self.main_extra.ends_with('\n') {
            self.main_extra.push('\n');
        }
        self
    }

    /// `UsePAM yes|no` in the per-test settings; unset, the layout's
    /// (Debian's `UsePAM yes`) stands.
    pub fn use_pam(mut self, yes: bool) -> Self {
        self.use_pam = Some(yes);
        self
    }

    /// `-o KEYWORD=VALUE` on sshd's own command line: it beats every file,
    /// and `sshd -T` run from a shell does not show it (EC2 Instance
    /// Connect's AuthorizedKeysCommand, a distribution's $SSHD_OPTS).
    pub fn daemon_option(mut self, option: &str) -> Self {
        self.daemon_options.push(option.to_string());
        self
    }

    /// root's password on this server (default [`ROOT_PASSWORD`]).
    pub fn root_password(mut self, password: &str) -> Self {
        self.root_password = password.to_string();
        self
    }

    pub fn start(self) -> NsSshd {
        NsSshd::start(self)
    }
}

/// A running sshd in its own mount namespace, killed when dropped.
pub struct NsSshd {
    child: Option<Child>,
    port: u16,
    host_fingerprint: String,
    host_public: String,
    dir: tempfile::TempDir,
    log: PathBuf,
}

impl Drop for NsSshd {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The hash `openssl passwd -6` makes for `password` (read on stdin, so
/// the password is in no process's argv).
fn sha512_crypt(password: &str) -> String {
    use std::io::Write;
    let mut child = Command::new("openssl")
        .args(["passwd", "-6", "-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run openssl passwd");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{password}\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "openssl passwd -6 failed");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn set_mode(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// The machine's account file with kpsuser added (any line for that name
/// dropped first) and, in shadow, root's and kpsuser's hashes set.
fn account_file(real: &str, kpsuser_line: &str, root_hash: Option<&str>) -> String {
    let text = std::fs::read_to_string(real).unwrap_or_default();
    let mut out = String::new();
    for line in text.lines() {
        if line.starts_with("kpsuser:") {
            continue;
        }
        match (root_hash, line.strip_prefix("root:")) {
            (Some(hash), Some(rest)) => {
                let after = rest.split_once(':').map(|x| x.1).unwrap_or("");
                out.push_str(&format!("root:{hash}:{after}\n"));
            }
            _ => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out.push_str(kpsuser_line);
    out.push('\n');
    out
}

impl NsSshd {
    pub fn builder(layout: Layout) -> NsSshdBuilder {
        NsSshdBuilder {
            layout,
            dropins: Vec::new(),
            main_extra: String::new(),
            use_pam: None,
            root_password: ROOT_PASSWORD.to_string(),
            daemon_options: Vec::new(),
        }
    }

    /// A server with the layout and nothing else changed.
    pub fn new(layout: Layout) -> NsSshd {
        NsSshd::builder(layout).start()
    }

    fn start(b: NsSshdBuilder) -> NsSshd {
        let dir = tempfile::tempdir().expect("tempdir");
        let base = dir.path();
        let etc_ssh = base.join("etc-ssh");
        let root_home = base.join("root");
        let home = base.join("home");
        let run = base.join("run");
        for d in [
            &etc_ssh,
            &etc_ssh.join("sshd_config.d"),
            &home,
            &run,
            &run.join("sshd"),
        ] {
            std::fs::create_dir_all(d).unwrap();
            set_mode(d, 0o755);
        }
        std::fs::create_dir_all(&root_home).unwrap();
        set_mode(&root_home, 0o700);
        let user_home = home.join(USER);
        std::fs::create_dir_all(&user_home).unwrap();
        set_mode(&user_home, 0o755);
        chown(&user_home, Some(USER_UID), Some(USER_UID)).unwrap();

        // Accounts: copies of the machine's files, kpsuser added, known hashes.
        let root_hash = sha512_crypt(&b.root_password);
        let user_hash = sha512_crypt(USER_PASSWORD);
        std::fs::write(
            base.join("passwd"),
            account_file(
                "/etc/passwd",
                &format!("{USER}:x:{USER_UID}:{USER_UID}::/home/{USER}:/bin/sh"),
                None,
            ),
        )
        .unwrap();
        std::fs::write(
            base.join("group"),
            account_file("/etc/group", &format!("{USER}:x:{USER_UID}:"), None),
        )
        .unwrap();
        std::fs::write(
            base.join("shadow"),
            account_file(
                "/etc/shadow",
                &format!("{USER}:{user_hash}:19000:0:99999:7:::"),
                Some(&root_hash),
            ),
        )
        .unwrap();
        set_mode(&base.join("passwd"), 0o644);
        set_mode(&base.join("group"), 0o644);
        set_mode(&base.join("shadow"), 0o640);

        // One fresh Ed25519 host key per server (ssh-keygen takes milliseconds).
        let host_key = etc_ssh.join("ssh_host_ed25519_key");
        tool_ok(
            "ssh-keygen",
            &[
                &"-q", &"-t", &"ed25519", &"-N", &"", &"-C", &"nssshd", &"-f", &host_key,
            ],
        );
        let host_public = std::fs::read_to_string(host_key.with_extension("pub"))
            .unwrap()
            .split_whitespace()
            .take(2)
            .collect::<Vec<_>>()
            .join(" ");
        let fp = tool_ok(
            "ssh-keygen",
            &[
                &"-l",
                &"-E",
                &"sha256",
                &"-f",
                &host_key.with_extension("pub"),
            ],
        );
        let host_fingerprint = fp.split_whitespace().nth(1).unwrap().to_string();

        for (name, text) in &b.dropins {
            std::fs::write(etc_ssh.join("sshd_config.d").join(name), text).unwrap();
        }
        if b.layout == Layout::Ubuntu {
            let ci = etc_ssh.join("sshd_config.d/50-cloud-init.conf");
            std::fs::write(&ci, "PasswordAuthentication yes\n").unwrap();
            set_mode(&ci, 0o600);
        }

        let sshd = find_program("sshd").expect("sshd");
        let log = base.join("sshd.log");
        let mut last_log = String::new();
        for _attempt in 0..5 {
            let port = free_port();
            Self::write_config(&b, &etc_ssh, port);
            // Paths go in as positional parameters, never spliced into the script.
            let script = r#"
                mount --bind "$1/etc-ssh" /etc/ssh
                mount --bind "$1/root" /root
                mount --bind "$1/home" /home
                mount --bind "$1/run" /run
                mount --bind "$1/passwd" /etc/passwd
                mount --bind "$1/group" /etc/group
                mount --bind "$1/shadow" /etc/shadow
                shift
                exec "$@"
            "#;
            let mut child = Command::new("unshare")
                .args(["-m", "--propagation", "private", "sh", "-ec", script, "sh"])
                .arg(base)
                .arg(&sshd)
                .args(["-D", "-e"])
                .args(b.daemon_options.iter().flat_map(|o| ["-o", o.as_str()]))
                .env_clear()
                .env(
                    "PATH",
                    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                )
                .env("LANG", "C")
                .current_dir("/")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(&log).unwrap())
                .spawn()
                .expect("run unshare");
            let start = Instant::now();
            loop {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                if sshd_says_listening(&log, port) && banner_of(port).is_some() {
                    return NsSshd {
                        child: Some(child),
                        port,
                        host_fingerprint,
                        host_public,
                        dir,
                        log,
                    };
                }
                if start.elapsed() > Duration::from_secs(20) {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!(
                        "sshd did not start: {}",
                        std::fs::read_to_string(&log).unwrap_or_default()
                    );
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            last_log = std::fs::read_to_string(&log).unwrap_or_default();
            // Another test took the port between our probe and sshd's bind: again.
            if !last_log.contains("Address already in use") {
                break;
            }
        }
        panic!("sshd exited at start: {last_log}");
    }

    /// The per-test settings in `10-test.conf` when the layout includes the
    /// drop-in directory, else at the top of the main file; they set no
    /// authentication method, so the layout's (Debian's) choices stand.
    fn write_config(b: &NsSshdBuilder, etc_ssh: &Path, port: u16) {
        let mut settings = format!(
            "# nssshd test settings\nPort {port}\nListenAddress 127.0.0.1\nPermitRootLogin yes\n\
             HostKey /etc/ssh/ssh_host_ed25519_key\nLogLevel DEBUG1\n"
        );
        if let Some(pam) = b.use_pam {
            settings.push_str(if pam { "UsePAM yes\n" } else { "UsePAM no\n" });
        }
        let mut main = match b.layout {
            Layout::Debian | Layout::Ubuntu => DEBIAN12_SSHD_CONFIG.to_string(),
            Layout::NoInclude | Layout::EndsInMatch => {
                let mut text = String::new();
                for line in DEBIAN12_SSHD_CONFIG.lines() {
                    if line.starts_with("Include ") {
                        continue;
                    }
                    if line == "#PasswordAuthentication yes" {
                        text.push_str("PasswordAuthentication yes\n");
                        continue;
                    }
                    text.push_str(line);
                    text.push('\n');
                }
                text
            }
        };
        main.push_str(&b.main_extra);
        if b.layout == Layout::EndsInMatch {
            main.push_str(ENDING_MATCH_BLOCK);
        }
        if b.layout.includes_dropins() {
            std::fs::write(etc_ssh.join("sshd_config.d/10-test.conf"), settings).unwrap();
        } else {
            main = format!("{settings}\n{main}");
        }
        std::fs::write(etc_ssh.join("sshd_config"), main).unwrap();
        set_mode(&etc_ssh.join("sshd_config"), 0o644);
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `SHA256:...` of the host key, as a cloud console prints it.
    pub fn host_fingerprint(&self) -> &str {
        &self.host_fingerprint
    }

    /// `ssh-ed25519 AAAA...` (no comment).
    pub fn host_public_key(&self) -> &str {
        &self.host_public
    }

    /// `[127.0.0.1]:PORT ssh-ed25519 AAAA...`, for a known_hosts file.
    pub fn known_hosts_line(&self) -> String {
        format!("[127.0.0.1]:{} {}", self.port, self.host_public)
    }

    /// `root@127.0.0.1:PORT` (or `USER@...`), as kps takes a host.
    pub fn target(&self, user: &str) -> String {
        format!("{user}@127.0.0.1:{}", self.port)
    }

    /// The directory the server sees as `/etc/ssh`.
    pub fn etc_ssh(&self) -> PathBuf {
        self.dir.path().join("etc-ssh")
    }

    /// The directory the server sees as `/root`.
    pub fn root_home(&self) -> PathBuf {
        self.dir.path().join("root")
    }

    /// The directory the server sees as `/home/NAME` (only kpsuser exists).
    pub fn user_home(&self, name: &str) -> PathBuf {
        assert_eq!(name, USER, "the servers have one test user, {USER}");
        self.dir.path().join("home").join(name)
    }

    /// The directory the server sees as `/run` (sshd.pid, sshd/).
    pub fn run_dir(&self) -> PathBuf {
        self.dir.path().join("run")
    }

    /// The listener's pid (the same after a HUP: sshd re-executes itself).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    /// Does the listener answer with an SSH banner?
    pub fn is_listening(&self) -> bool {
        banner_of(self.port).is_some()
    }

    /// Everything sshd logged (stderr, LogLevel DEBUG1), its connection
    /// children's lines included.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Did any client try a password on this server, right or wrong
    /// (`password` or `keyboard-interactive` requests in the log)?
    pub fn password_was_tried(&self) -> bool {
        let log = self.log_text();
        log.contains("method password")
            || log.contains("method keyboard-interactive")
            || log.contains("Failed password")
            || log.contains("Accepted password")
            || log.contains("Accepted keyboard-interactive")
    }

    /// SIGHUP the listener, as a reload does, and wait until it answers again.
    pub fn reload(&self) {
        let pid = self.pid().expect("sshd stopped");
        let ok = Command::new("kill")
            .args(["-HUP", &pid.to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -HUP {pid}");
        let start = Instant::now();
        std::thread::sleep(Duration::from_millis(100));
        while !self.is_listening() {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "sshd did not come back after HUP: {}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kill the listener now (its port then refuses connections); Drop
    /// does the same.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Run `script` with `sh -c` inside the server's mount namespace (it
    /// sees the server's /etc/ssh, /root, /etc/shadow ...), as root.
    pub fn run_in_ns(&self, script: &str) -> Output {
        let pid = self.pid().expect("sshd stopped");
        Command::new("nsenter")
            .args(["-m", "-t", &pid.to_string(), "sh", "-c", script])
            .stdin(Stdio::null())
            .output()
            .expect("run nsenter")
    }

    /// `sshd -T` (with `-C SPEC` when given) inside the namespace: the
    /// effective configuration of the files on "disk", lowercase keywords.
    pub fn sshd_t(&self, connection: Option<&str>) -> String {
        let script = match connection {
            Some(spec) => format!("/usr/sbin/sshd -T -C '{spec}'"),
            None => "/usr/sbin/sshd -T".to_string(),
        };
        let out = self.run_in_ns(&script);
        assert!(
            out.status.success(),
            "sshd -T failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// A throwaway HOME for one probe, holding a known_hosts with this
    /// server's line only.
    fn probe_home(&self) -> tempfile::TempDir {
        let home = tempfile::tempdir().unwrap();
        std::fs::create_dir(home.path().join(".ssh")).unwrap();
        std::fs::write(
            home.path().join(".ssh/known_hosts"),
            format!("{}\n", self.known_hosts_line()),
        )
        .unwrap();
        home
    }

    /// ssh to this server as `user`, no config file but ours, host key
    /// pinned, no agent, no multiplexing, only `identity` as a key file when
    /// given; runs `echo nssshd-ok`.
    fn probe(&self, home: &Path, user: &str, opts: &[&str], identity: Option<&Path>) -> Command {
        let mut ssh = Command::new("ssh");
        ssh.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", home)
            .args(["-F", "none", "-p", &self.port.to_string()])
            .arg("-o")
            .arg(format!(
                "UserKnownHostsFile={}",
                home.join(".ssh/known_hosts").display()
            ))
            .args([
                "-o",
                "GlobalKnownHostsFile=/dev/null",
                "-o",
                "StrictHostKeyChecking=yes",
                "-o",
                "CheckHostIP=no",
                "-o",
                "IdentityAgent=none",
                "-o",
                "ControlPath=none",
                "-o",
                "ConnectTimeout=10",
                "-o",
                "NumberOfPasswordPrompts=1",
                "-o",
                "LogLevel=ERROR",
            ])
            .args(opts.iter().flat_map(|o| ["-o", o]));
        if let Some(key) = identity {
            ssh.arg("-i").arg(key);
        }
        ssh.arg(format!("{user}@127.0.0.1"))
            .args(["echo", "nssshd-ok"]);
        ssh
    }

    /// The methods the running daemon offers `user` before any
    /// authentication: `publickey,password` from ssh's
    /// "Permission denied (publickey,password)." Panics when ssh does not
    /// get that far (server down, host key refused).
    pub fn methods_offered(&self, user: &str) -> String {
        let home = self.probe_home();
        let ssh = self.probe(
            home.path(),
            user,
            &["PreferredAuthentications=none", "BatchMode=yes"],
            None,
        );
        let (_ok, _out, err) = run_with_timeout(ssh);
        let Some(rest) = err
            .lines()
            .find_map(|l| l.split_once("Permission denied (").map(|x| x.1))
        else {
            panic!("no method list from ssh: {err}");
        };
        rest.split(')').next().unwrap_or("").to_string()
    }

    /// Does `password` log `user` in (password or keyboard-interactive)?
    /// ssh gets it through SSH_ASKPASS (a script reading a 0600 file in the
    /// probe's own throwaway directory, removed afterwards) under setsid, so
    /// there is no terminal and the password is in no argv or environment.
    pub fn password_login_works(&self, user: &str, password: &str) -> bool {
        let home = self.probe_home();
        let secret = home.path().join("password");
        std::fs::write(&secret, password).unwrap();
        set_mode(&secret, 0o600);
        let askpass = home.path().join("askpass");
        std::fs::write(
            &askpass,
            format!("#!/bin/sh\ncat '{}'\necho\n", secret.display()),
        )
        .unwrap();
        set_mode(&askpass, 0o700);
        let mut ssh = Command::new("setsid");
        ssh.arg("-w");
        let probe = self.probe(
            home.path(),
            user,
            &[
                "PreferredAuthentications=password,keyboard-interactive",
                "PubkeyAuthentication=no",
                "BatchMode=no",
            ],
            None,
        );
        ssh.arg(probe.get_program()).args(probe.get_args());
        ssh.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", home.path())
            .env("SSH_ASKPASS", &askpass)
            .env("SSH_ASKPASS_REQUIRE", "force")
            .env("DISPLAY", "nssshd:0");
        let (ok, out, _err) = run_with_timeout(ssh);
        let _ = std::fs::remove_file(&secret);
        ok && out.contains("nssshd-ok")
    }

    /// Does the private key in `private_key_file` (0600, unencrypted) log
    /// `user` in, with no other key and no other method tried?
    pub fn key_login_works(&self, user: &str, private_key_file: &Path) -> bool {
        let home = self.probe_home();
        let ssh = self.probe(
            home.path(),
            user,
            &[
                "PreferredAuthentications=publickey",
                "IdentitiesOnly=yes",
                "BatchMode=yes",
            ],
            Some(private_key_file),
        );
        let (ok, out, _err) = run_with_timeout(ssh);
        ok && out.contains("nssshd-ok")
    }
}

/// The first line a server on 127.0.0.1:`port` sends, when it is an SSH banner.
fn banner_of(port: u16) -> Option<String> {
    use std::io::Read;
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut buf = [0u8; 256];
    let mut got = Vec::new();
    while !got.contains(&b'\n') && got.len() < 256 {
        let n = s.read(&mut buf).ok()?;
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
    }
    let line = String::from_utf8_lossy(&got).lines().next()?.to_string();
    line.starts_with("SSH-").then_some(line)
}

/// kps's side of a bind test: a store (`kps`), and a HOME (with
/// `.ssh/known_hosts`), TMPDIR and XDG_RUNTIME_DIR of its own, so that what
/// kps and its ssh write can be searched afterwards; the password files live
/// beside them, outside those three.
pub struct KpsClient {
    pub kps: super::Kps,
}

impl KpsClient {
    pub fn new() -> KpsClient {
        let kps = super::Kps::new();
        for d in ["home/.ssh", "tmp", "runtime"] {
            std::fs::create_dir_all(kps.path(d)).unwrap();
        }
        for d in ["home/.ssh", "runtime"] {
            set_mode(&kps.path(d), 0o700);
        }
        let c = KpsClient { kps };
        // ssh takes `~` from the passwd entry, not $HOME: a config of this
        // client's own names its known_hosts, and kps runs ssh through a
        // wrapper that reads it (as a user's ~/.ssh/config would be read).
        let config = c.home().join(".ssh/config");
        std::fs::write(
            &config,
            format!(
                "UserKnownHostsFile {}\nGlobalKnownHostsFile /dev/null\n",
                c.known_hosts().display()
            ),
        )
        .unwrap();
        let ssh = super::sshd::find_program("ssh").expect("ssh");
        std::fs::write(
            c.ssh_program(),
            format!(
                "#!/bin/sh\nexec '{}' -F '{}' \"$@\"\n",
                ssh.display(),
                config.display()
            ),
        )
        .unwrap();
        set_mode(&c.ssh_program(), 0o755);
        c.password_file_with("root-password", ROOT_PASSWORD);
        c.password_file_with("user-password", USER_PASSWORD);
        c
    }

    pub fn home(&self) -> PathBuf {
        self.kps.path("home")
    }
    pub fn tmp(&self) -> PathBuf {
        self.kps.path("tmp")
    }
    pub fn runtime(&self) -> PathBuf {
        self.kps.path("runtime")
    }
    pub fn known_hosts(&self) -> PathBuf {
        self.kps.path("home/.ssh/known_hosts")
    }

    /// The ssh kps runs (`KPS_SSH`): the real one with this client's config.
    pub fn ssh_program(&self) -> PathBuf {
        self.kps.path("ssh")
    }

    /// A file holding [`ROOT_PASSWORD`] (one line), for `--password-file`.
    pub fn root_password_file(&self) -> String {
        self.kps.path("root-password").display().to_string()
    }

    /// A file holding [`USER_PASSWORD`], for binding as kpsuser.
    pub fn user_password_file(&self) -> String {
        self.kps.path("user-password").display().to_string()
    }

    /// A 0600 file `name` beside the store holding `password` and a newline.
    pub fn password_file_with(&self, name: &str, password: &str) -> String {
        let path = self.kps.path(name);
        std::fs::write(&path, format!("{password}\n")).unwrap();
        set_mode(&path, 0o600);
        path.display().to_string()
    }

    /// Add `s`'s host key to the HOME's known_hosts.
    pub fn trust(&self, s: &NsSshd) {
        self.trust_line(&s.known_hosts_line());
    }

    pub fn trust_line(&self, line: &str) {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.known_hosts())
            .unwrap();
        writeln!(f, "{line}").unwrap();
    }

    /// kps with this client's HOME, TMPDIR and XDG_RUNTIME_DIR and no agent
    /// of the user's; its output must never hold a test password.
    pub fn run(&self, args: &[&str]) -> super::Run {
        self.run_with(args, |_| {})
    }

    pub fn run_with(&self, args: &[&str], f: impl FnOnce(&mut Command)) -> super::Run {
        let run = self.kps.run_with(args, |cmd| {
            cmd.env("HOME", self.home())
                .env("TMPDIR", self.tmp())
                .env("XDG_RUNTIME_DIR", self.runtime())
                .env("KPS_SSH", self.ssh_program())
                .env_remove("SSH_AUTH_SOCK")
                .env_remove("SSH_ASKPASS")
                .env_remove("DISPLAY");
            f(cmd);
        });
        let all = format!("{}{}", run.stdout(), run.stderr());
        assert!(
            !all.contains(ROOT_PASSWORD) && !all.contains(USER_PASSWORD),
            "kps printed a password: {all}"
        );
        assert_ne!(run.code(), 101, "kps panicked: {all}");
        run
    }

    pub fn create(&self, name: &str, extra: &[&str]) {
        let mut args = vec!["--json", "create", name];
        args.extend(extra);
        self.run(&args).ok();
    }

    /// The keypair's authorized_keys line, from `kps export --format public`.
    pub fn public_line(&self, name: &str) -> String {
        self.run(&["export", name, "--format", "public"])
            .ok()
            .stdout()
            .trim_end()
            .to_string()
    }

    /// The keypair's private key in a 0600 OpenSSH file (for the probes).
    pub fn private_key_file(&self, name: &str) -> PathBuf {
        std::fs::create_dir_all(self.kps.path("keys")).unwrap();
        let file = self.kps.path("keys").join(name);
        if !file.exists() {
            self.run(&["export", name, "-o", file.to_str().unwrap()])
                .ok();
        }
        file
    }
}

/// The `results` array of a bind/unbind/replace `--json` run.
pub fn results(run: &super::Run) -> Vec<serde_json::Value> {
    run.json()["results"]
        .as_array()
        .unwrap_or_else(|| panic!("no results array: {}", run.stdout()))
        .clone()
}

/// The error code of a failed one-host run: the result's `error_code`
/// (stdout), else the `{"error_code"}` on stderr (errors before any host).
pub fn error_code(run: &super::Run) -> String {
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&run.output.stdout)
        && let Some(code) = v["results"][0]["error_code"].as_str()
    {
        return code.to_string();
    }
    run.error_json()["error_code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error code: {} {}", run.stdout(), run.stderr()))
        .to_string()
}

/// Every file under `dir` (recursively, symlinks not followed) with its
/// bytes, mode and owner; a symlink as its target, a directory as its mode;
/// empty when `dir` is absent. Equal snapshots mean nothing changed. What
/// vanishes while it is walked is left out.
pub fn snapshot(dir: &Path) -> std::collections::BTreeMap<PathBuf, Vec<u8>> {
    use std::os::unix::fs::MetadataExt;
    let mut out = std::collections::BTreeMap::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for p in entries.flatten().map(|e| e.path()) {
        let Ok(meta) = std::fs::symlink_metadata(&p) else {
            continue;
        };
        if meta.is_symlink() {
            let target = std::fs::read_link(&p).unwrap_or_default();
            out.insert(p, format!("<link {}>", target.display()).into_bytes());
        } else if meta.is_dir() {
            out.insert(p.clone(), format!("<dir {:o}>", meta.mode()).into_bytes());
            out.extend(snapshot(&p));
        } else if let Ok(mut bytes) = std::fs::read(&p) {
            bytes.extend(format!("<mode {:o} uid {}>", meta.mode(), meta.uid()).bytes());
            out.insert(p, bytes);
        }
    }
    out
}
