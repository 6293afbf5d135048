//! A small harness for running the real `kps` binary on a throwaway store.
#![allow(dead_code)]

pub mod hsm;
pub mod nssshd;
pub mod pg;
pub mod port;
pub mod sshd;
pub mod team;

pub use port::free_port;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub const PASSPHRASE: &str = "correct horse battery staple";

/// Every secret the suite hands kps (store passphrase, key-file and .ppk
/// passphrases, the token PIN). No failing command may print any of them.
pub const SECRETS: &[&str] = &[
    PASSPHRASE,
    "ppk pass phrase",
    "ppk secret",
    "key pass",
    "246810",
    "not it",
];

/// The cheapest KDF settings kps accepts (OWASP's Argon2id minimum, 19 MiB
/// and 2 passes), so that tests spend their time on what they test.
pub const CHEAP_KDF: [&str; 4] = ["--kdf-memory", "19456", "--kdf-passes", "2"];

/// Has sshd, logging to `log` (`-e`, LogLevel INFO or more), said that it
/// listens on 127.0.0.1:`port`? A banner on the port is not proof: another
/// sshd may hold it.
pub fn sshd_says_listening(log: &Path, port: u16) -> bool {
    std::fs::read_to_string(log)
        .is_ok_and(|t| t.contains(&format!("Server listening on 127.0.0.1 port {port}.")))
}

/// Is `tool` on PATH? When it is not: under `KPS_TEST_REQUIRE_TOOLS=1` (set by
/// `.ci/run`) the test fails; otherwise it prints why it skips.
pub fn have_tool(tool: &str) -> bool {
    let found = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|d| d.join(tool).is_file()))
        .unwrap_or(false);
    if !found {
        if std::env::var("KPS_TEST_REQUIRE_TOOLS").as_deref() == Ok("1") {
            panic!("{tool} is required (KPS_TEST_REQUIRE_TOOLS=1) but not on PATH");
        }
        eprintln!("SKIP: {tool} not found on PATH; install it to run this test");
    }
    found
}

pub struct Kps {
    pub dir: tempfile::TempDir,
    pub store: PathBuf,
    pub pass_file: PathBuf,
}

pub struct Run {
    pub output: Output,
}

impl Run {
    pub fn code(&self) -> i32 {
        self.output.status.code().unwrap_or(-1)
    }
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.output.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", self.stdout()))
    }
    pub fn error_json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.output.stderr)
            .unwrap_or_else(|e| panic!("stderr is not JSON ({e}): {}", self.stderr()))
    }
    /// Assert the exit status, showing the output when it is not the one expected.
    pub fn expect(self, code: i32) -> Self {
        assert_eq!(
            self.code(),
            code,
            "unexpected exit status\nstdout: {}\nstderr: {}",
            self.stdout(),
            self.stderr()
        );
        self
    }
    pub fn ok(self) -> Self {
        self.expect(0)
    }
}

/// A failing command's output holds no secret and no private key.
pub fn assert_no_secrets(run: &Run) {
    let all = format!("{}{}", run.stdout(), run.stderr());
    for secret in SECRETS {
        assert!(
            !all.contains(secret),
            "a failing command printed a secret: {all}"
        );
    }
    assert!(
        !all.contains("PRIVATE KEY-----"),
        "a failing command printed a key: {all}"
    );
    assert_ne!(run.code(), 101, "kps panicked: {all}");
}

/// The kps under test: this build's, or the binary `KPS_TEST_BIN` names, to
/// run a test file against another build (the attack tests against the kps
/// from before their fixes, to see each one fail there).
pub fn bin() -> &'static str {
    static BIN: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    BIN.get_or_init(|| {
        std::env::var("KPS_TEST_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_kps").to_string())
    })
}

impl Kps {
    /// A new store directory (not yet set up) and a passphrase file.
    pub fn empty() -> Kps {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = dir.path().join("store");
        let pass_file = dir.path().join("pass");
        std::fs::write(&pass_file, format!("{PASSPHRASE}\n")).unwrap();
        Kps {
            dir,
            store,
            pass_file,
        }
    }

    /// A store that has been set up with the test passphrase.
    pub fn new() -> Kps {
        let kps = Kps::empty();
        let mut args = vec!["init"];
        args.extend(CHEAP_KDF);
        kps.run(&args).ok();
        kps
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// kps's config directory for this test (store pins, KMS settings):
    /// `XDG_CONFIG_HOME` points inside the test's temporary directory.
    pub fn config_home(&self) -> PathBuf {
        self.dir.path().join("xdg-config")
    }

    /// A command with no KPS_* from the environment, no terminal on stdin,
    /// the store given by --store, the passphrase by KPS_PASSPHRASE_FILE and
    /// the config directory inside the test's own temporary directory.
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(bin());
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("KPS_") {
                cmd.env_remove(&k);
            }
        }
        cmd.env_remove("NO_COLOR")
            .arg("--store")
            .arg(&self.store)
            .env("KPS_PASSPHRASE_FILE", &self.pass_file)
            .env("XDG_CONFIG_HOME", self.config_home())
            .current_dir(self.dir.path())
            .stdin(Stdio::null());
        cmd
    }

    pub fn run<S: AsRef<OsStr>>(&self, args: &[S]) -> Run {
        self.run_with(args, |_| {})
    }

    pub fn run_with<S: AsRef<OsStr>>(&self, args: &[S], f: impl FnOnce(&mut Command)) -> Run {
        let mut cmd = self.command();
        cmd.args(args);
        f(&mut cmd);
        let run = Run {
            output: cmd.output().expect("run kps"),
        };
        if !run.output.status.success() {
            assert_no_secrets(&run);
        }
        run
    }

    pub fn create(&self, name: &str, extra: &[&str]) -> serde_json::Value {
        let mut args = vec!["--json", "create", name];
        args.extend(extra);
        self.run(&args).ok().json()
    }

    /// Use a copy of the store an older kps wrote (schema version 3, no
    /// row MACs; tests/fixtures/legacy-store/make.sh): keypairs `k` (ECDSA,
    /// from before the AWS fingerprints), `e` (Ed25519, described) and
    /// `pub` (public key only), passphrase [`PASSPHRASE`].
    pub fn use_legacy_store(&mut self) {
        use std::os::unix::fs::PermissionsExt;
        let copy = self.path("legacy.db");
        std::fs::copy(
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/fixtures/legacy-store/store-v3.db"
            ),
            &copy,
        )
        .unwrap();
        std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o600)).unwrap();
        self.store = copy;
    }

    pub fn db(&self) -> PathBuf {
        if self.store.is_file() {
            self.store.clone()
        } else {
            self.store.join("kps.db")
        }
    }
}

/// Run an outside tool, returning its output; panics if it cannot start.
pub fn tool(program: &str, args: &[&dyn AsRef<OsStr>]) -> Output {
    let mut cmd = Command::new(program);
    for a in args {
        cmd.arg(a.as_ref());
    }
    cmd.stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"))
}

pub fn tool_ok(program: &str, args: &[&dyn AsRef<OsStr>]) -> String {
    let out = tool(program, args);
    assert!(
        out.status.success(),
        "{program} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn mode_of(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// The first two fields of an authorized_keys line (algorithm and key).
pub fn key_fields(line: &str) -> String {
    line.split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Run a shell script in `dir` (to make test keys with the real tools);
/// its stdout.
pub fn sh(script: &str, dir: &Path) -> String {
    let out = Command::new("sh")
        .arg("-ec")
        .arg(script)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
