//! A realistic CI script (examples/ci.sh, shown in the README) end to end,
//! with no terminal: init from KPS_PASSPHRASE_FILE, create --if-not-exists
//! twice, import, list as JSON through jq, public key into authorized_keys,
//! export-ppk, delete --yes; every exit status checked by the script itself.

mod common;
use common::*;
use std::path::Path;
use std::process::{Command, Stdio};

#[test]
fn the_ci_example_runs_end_to_end_twice() {
    if !have_tool("jq") || !have_tool("ssh-keygen") {
        return;
    }
    let kps = Kps::empty();
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "rsa", "-b", "2048", "-m", "PEM", "-N", "", "-f"])
        .arg(kps.path("legacy.pem"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let bin_dir = Path::new(bin()).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/ci.sh");
    let run = || {
        let out = Command::new("bash")
            .arg(&script)
            .env_clear()
            .env("PATH", &path)
            .env("HOME", kps.dir.path())
            .env("KPS_STORE", &kps.store)
            .env("KPS_PASSPHRASE_FILE", &kps.pass_file)
            .env("WORK_DIR", kps.dir.path())
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "ci.sh failed\n{stdout}\n{stderr}");
        assert!(stderr.contains("ci.sh: ok"), "{stderr}");
        stdout
    };
    // Quiet: nothing on stdout but requested data (here: none).
    assert_eq!(run(), "");
    let first_key = kps.run(&["show", "deploy", "--public"]).ok().stdout();
    // A re-run (the pipeline retried) changes nothing: same keypair.
    assert_eq!(run(), "");
    assert_eq!(
        kps.run(&["show", "deploy", "--public"]).ok().stdout(),
        first_key
    );
    // The public key went into authorized_keys once, not once a run.
    let authorized = std::fs::read_to_string(kps.path("authorized_keys")).unwrap();
    assert_eq!(authorized, first_key);
    let ppk = std::fs::read_to_string(kps.path("deploy.ppk")).unwrap();
    assert!(ppk.starts_with("PuTTY-User-Key-File-3: ssh-ed25519\n"));
    assert_eq!(kps.run(&["list", "--names"]).ok().stdout(), "deploy\n");
}
