//! SoftHSM2 for the KMS tests: the module, a token of the test's own.

use std::path::{Path, PathBuf};
use std::process::Command;

pub const TOKEN: &str = "kps-test";
pub const PIN: &str = "246810";

pub fn softhsm_module() -> Option<PathBuf> {
    [
        "/usr/lib/softhsm/libsofthsm2.so",
        "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
        "/usr/lib64/pkcs11/libsofthsm2.so",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.is_file())
}

pub fn have_softhsm() -> bool {
    if !super::have_tool("softhsm2-util") {
        return false;
    }
    if softhsm_module().is_none() {
        if std::env::var("KPS_TEST_REQUIRE_TOOLS").as_deref() == Ok("1") {
            panic!("libsofthsm2.so is required (KPS_TEST_REQUIRE_TOOLS=1) but not found");
        }
        eprintln!("SKIP: libsofthsm2.so not found (package softhsm2)");
        return false;
    }
    true
}

/// A SoftHSM2 configuration with its own token directory.
pub struct Hsm {
    pub conf: PathBuf,
}

impl Hsm {
    /// Point `kps` at this token (`kps kms configure`) and create the
    /// master key `kps/default` on it; `with_token` gives each command the
    /// token's environment (SOFTHSM2_CONF and a PIN source).
    pub fn set_up_kms(&self, kps: &super::Kps, with_token: impl Fn(&mut Command)) {
        let module = softhsm_module().unwrap();
        let module = module.to_str().unwrap();
        let configure = ["kms", "configure", "--module", module, "--token", TOKEN];
        kps.run_with(&configure, &with_token).ok();
        kps.run_with(&["kms", "create-key", "kps/default"], &with_token)
            .ok();
    }

    pub fn new(dir: &Path) -> Hsm {
        let tokens = dir.join("tokens");
        std::fs::create_dir_all(&tokens).unwrap();
        let conf = dir.join("softhsm2.conf");
        std::fs::write(
            &conf,
            format!(
                "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
                tokens.display()
            ),
        )
        .unwrap();
        let hsm = Hsm { conf };
        hsm.init_token();
        hsm
    }

    pub fn util(&self, args: &[&str]) {
        let out = Command::new("softhsm2-util")
            .args(args)
            .env("SOFTHSM2_CONF", &self.conf)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "softhsm2-util {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn init_token(&self) {
        self.util(&[
            "--init-token",
            "--free",
            "--label",
            TOKEN,
            "--pin",
            PIN,
            "--so-pin",
            "13579",
        ]);
    }

    /// The token and every key on it gone, a new empty token under the same label.
    pub fn replace_token(&self) {
        self.util(&["--delete-token", "--token", TOKEN]);
        self.init_token();
    }
}
