//! A throwaway sshd on 127.0.0.1 for login tests (kps's exports, plink,
//! the agent), and the helpers that drive ssh against it.

use super::{free_port, have_tool, sshd_says_listening, tool_ok};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Is sshd installed (and ssh, ssh-keygen)? As [`have_tool`]: under
/// `KPS_TEST_REQUIRE_TOOLS=1` its absence fails the test, else it skips.
pub fn have_sshd() -> bool {
    if !have_tool("ssh") || !have_tool("ssh-keygen") {
        return false;
    }
    if find_program("sshd").is_none() {
        if std::env::var("KPS_TEST_REQUIRE_TOOLS").as_deref() == Ok("1") {
            panic!("sshd is required (KPS_TEST_REQUIRE_TOOLS=1) but not found");
        }
        eprintln!("SKIP: sshd not found (package openssh-server)");
        return false;
    }
    true
}

pub fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// A throwaway sshd on 127.0.0.1, stopped when dropped, whatever happens.
pub struct Sshd {
    child: Child,
    pub port: u16,
    pub host_fingerprint: String,
    log: PathBuf,
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Sshd {
    pub fn start(dir: &Path, authorized_keys: &str) -> Sshd {
        Sshd::start_with(dir, authorized_keys, "PubkeyAcceptedAlgorithms +ssh-rsa\n")
    }

    /// With `extra` sshd_config lines (each ending in a newline).
    pub fn start_with(dir: &Path, authorized_keys: &str, extra: &str) -> Sshd {
        let sshd = find_program("sshd").expect("sshd");
        let out = Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-f"])
            .arg(dir.join("host_key"))
            .output()
            .unwrap();
        assert!(out.status.success());
        std::fs::write(dir.join("authorized_keys"), authorized_keys).unwrap();
        // sshd insists on its privilege separation directory.
        let _ = std::fs::create_dir_all("/run/sshd");
        let fp = tool_ok(
            "ssh-keygen",
            &[&"-l", &"-E", &"sha256", &"-f", &dir.join("host_key.pub")],
        );
        let host_fingerprint = fp.split_whitespace().nth(1).unwrap().to_string();
        let config = dir.join("sshd_config");
        let log = dir.join("sshd.log");
        // Another test process can take the free port before sshd binds it:
        // then sshd exits saying so, and another port is tried.
        for _attempt in 0..5 {
            let port = free_port();
            std::fs::write(
                &config,
                format!(
                    "Port {port}\nListenAddress 127.0.0.1\nHostKey {host}\nPidFile {dir}/sshd.pid\n\
                     AuthorizedKeysFile {dir}/authorized_keys\nStrictModes no\nUsePAM no\n\
                     PasswordAuthentication no\nKbdInteractiveAuthentication no\n\
                     PubkeyAuthentication yes\nPermitRootLogin prohibit-password\n\
                     MaxStartups 200\nLogLevel VERBOSE\n{extra}",
                    host = dir.join("host_key").display(),
                    dir = dir.display(),
                ),
            )
            .unwrap();
            let child = Command::new(&sshd)
                .args(["-D", "-e", "-f"])
                .arg(&config)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(&log).unwrap())
                .spawn()
                .unwrap();
            let mut sshd = Sshd {
                child,
                port,
                host_fingerprint: host_fingerprint.clone(),
                log: log.clone(),
            };
            let start = Instant::now();
            let exited = loop {
                if sshd_says_listening(&sshd.log, port) {
                    return sshd;
                }
                if let Ok(Some(status)) = sshd.child.try_wait() {
                    break status;
                }
                assert!(
                    start.elapsed() < Duration::from_secs(20),
                    "sshd did not start: {}",
                    sshd.log_text()
                );
                std::thread::sleep(Duration::from_millis(50));
            };
            if !sshd.log_text().contains("Address already in use") {
                panic!("sshd exited ({exited}): {}", sshd.log_text());
            }
        }
        panic!("sshd found no free port in 5 tries")
    }

    /// `plink -batch ... USER@127.0.0.1 echo ok` with `key`, this server's
    /// host key pinned: success, stdout, stderr.
    pub fn plink(&self, key: &Path, user: &str) -> (bool, String, String) {
        let mut plink = Command::new("plink");
        plink
            .args(["-batch", "-ssh", "-P", &self.port.to_string()])
            .args(["-hostkey", &self.host_fingerprint, "-i"])
            .arg(key)
            .arg(format!("{user}@127.0.0.1"))
            .args(["echo", "ok"]);
        run_with_timeout(plink)
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// What every ssh run against a throwaway [`Sshd`] needs: no user config,
/// no prompt, its host key accepted and not remembered, only errors said.
pub const THROWAWAY_SSH_OPTIONS: &[&str] = &[
    "-F",
    "/dev/null",
    "-o",
    "BatchMode=yes",
    "-o",
    "StrictHostKeyChecking=no",
    "-o",
    "UserKnownHostsFile=/dev/null",
    "-o",
    "LogLevel=ERROR",
];

pub fn user() -> String {
    String::from_utf8(Command::new("id").arg("-un").output().unwrap().stdout)
        .unwrap()
        .trim()
        .to_string()
}

pub fn run_with_timeout(mut cmd: Command) -> (bool, String, String) {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
