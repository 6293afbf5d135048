//! Self-tests of tests/common/nssshd.rs: the servers kps bind is tested
//! against must really be what they claim (a password gets in where the
//! layout says so, the probes tell the truth), and must leave the machine's
//! own /etc/ssh, /root and account files alone.

mod common;

use common::nssshd::*;
use common::tool_ok;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn host_state() -> BTreeMap<PathBuf, Vec<u8>> {
    let mut all = snapshot(Path::new("/etc/ssh"));
    // Only /root/.ssh: the rest of /root (cargo's caches) changes under us.
    all.extend(snapshot(Path::new("/root/.ssh")));
    for f in ["/etc/passwd", "/etc/group", "/etc/shadow", "/run/sshd.pid"] {
        all.insert(PathBuf::from(f), std::fs::read(f).unwrap_or_default());
    }
    all
}

#[test]
fn ubuntu_layout_lets_a_password_in_and_sshd_t_in_the_namespace_agrees() {
    if !have_unshare() {
        return;
    }
    let s = NsSshd::new(Layout::Ubuntu);
    let effective = s.sshd_t(None);
    assert!(
        effective.lines().any(|l| l == "passwordauthentication yes"),
        "{effective}"
    );
    assert!(effective.lines().any(|l| l == "usepam yes"), "{effective}");
    assert!(
        effective.lines().any(|l| l == format!("port {}", s.port())),
        "sshd -T in the namespace reads the test's files: {effective}"
    );
    let ci = std::fs::read_to_string(s.etc_ssh().join("sshd_config.d/50-cloud-init.conf")).unwrap();
    assert_eq!(ci, "PasswordAuthentication yes\n");
    let main = std::fs::read_to_string(s.etc_ssh().join("sshd_config")).unwrap();
    assert_eq!(
        main, DEBIAN12_SSHD_CONFIG,
        "the Debian main file, unchanged"
    );
    assert_eq!(s.methods_offered("root"), "publickey,password");
    assert!(s.password_login_works("root", ROOT_PASSWORD));
    assert!(!s.password_login_works("root", "not the password"));
    assert!(s.log_text().contains("Accepted password for root"));
    assert!(s.password_was_tried());
}

#[test]
fn kpsuser_exists_inside_and_logs_in_with_a_password_with_and_without_pam() {
    if !have_unshare() {
        return;
    }
    for pam in [true, false] {
        let s = NsSshd::builder(Layout::Debian).use_pam(pam).start();
        let id = s.run_in_ns("id kpsuser; echo ~kpsuser");
        assert!(id.status.success());
        let id = String::from_utf8_lossy(&id.stdout).into_owned();
        assert!(
            id.contains("uid=4242(kpsuser) gid=4242(kpsuser)") && id.contains("/home/kpsuser"),
            "{id}"
        );
        let effective = s.sshd_t(Some("user=kpsuser,host=localhost,addr=127.0.0.1"));
        let want = if pam { "usepam yes" } else { "usepam no" };
        assert!(effective.lines().any(|l| l == want), "{effective}");
        assert!(
            s.password_login_works(USER, USER_PASSWORD),
            "UsePAM {pam}: {}",
            s.log_text()
        );
        assert!(
            s.password_login_works("root", ROOT_PASSWORD),
            "UsePAM {pam}"
        );
        assert!(!s.password_login_works(USER, ROOT_PASSWORD), "UsePAM {pam}");
    }
    // Another root password for one server only.
    let s = NsSshd::builder(Layout::Debian)
        .root_password("another one")
        .start();
    assert!(s.password_login_works("root", "another one"));
    assert!(!s.password_login_works("root", ROOT_PASSWORD));
}

#[test]
fn writes_inside_land_in_the_temp_dirs_and_the_host_is_untouched() {
    if !have_unshare() {
        return;
    }
    let before = host_state();
    let s = NsSshd::new(Layout::Debian);
    let pid = s.pid().unwrap();
    assert_eq!(
        std::fs::read_to_string(s.run_dir().join("sshd.pid"))
            .unwrap()
            .trim(),
        pid.to_string(),
        "the default PidFile /run/sshd.pid is the test's"
    );
    // What a remote script does as root: a key, a drop-in, then a HUP.
    let key_dir = tempfile::tempdir().unwrap();
    let key = key_dir.path().join("id");
    tool_ok(
        "ssh-keygen",
        &[&"-q", &"-t", &"ed25519", &"-N", &"", &"-f", &key],
    );
    let public = std::fs::read_to_string(key.with_extension("pub")).unwrap();
    assert!(!s.key_login_works("root", &key));
    let out = s.run_in_ns(&format!(
        "set -e; umask 077; mkdir -p /root/.ssh; printf '%s' '{public}' > /root/.ssh/authorized_keys; \
         printf 'PasswordAuthentication no\\n' > /etc/ssh/sshd_config.d/00-probe.conf; \
         /usr/sbin/sshd -t; kill -HUP \"$(cat /run/sshd.pid)\""
    ));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(s.is_listening(), "{}", s.log_text());
    assert_eq!(s.pid(), Some(pid));
    assert_eq!(
        std::fs::read_to_string(s.root_home().join(".ssh/authorized_keys")).unwrap(),
        public
    );
    assert!(s.etc_ssh().join("sshd_config.d/00-probe.conf").is_file());
    assert_eq!(
        s.methods_offered("root"),
        "publickey",
        "the HUP re-read the test's files"
    );
    assert!(!s.password_login_works("root", ROOT_PASSWORD));
    assert!(s.key_login_works("root", &key));
    // Our own reload: the same pid answers again.
    s.reload();
    assert_eq!(s.pid(), Some(pid));
    assert!(s.key_login_works("root", &key));
    drop(s);
    assert_eq!(host_state(), before, "the machine's own files changed");
    assert!(!Path::new("/etc/ssh/sshd_config.d/00-probe.conf").exists());
}

#[test]
fn layouts_without_include_and_ending_in_match() {
    if !have_unshare() {
        return;
    }
    let s = NsSshd::builder(Layout::NoInclude)
        .main_extra("ClientAliveInterval 77")
        .start();
    let main = std::fs::read_to_string(s.etc_ssh().join("sshd_config")).unwrap();
    assert!(!main.contains("Include"), "{main}");
    assert!(main.starts_with("# nssshd test settings\nPort "), "{main}");
    assert!(main.lines().any(|l| l == "PasswordAuthentication yes"));
    assert!(main.ends_with("ClientAliveInterval 77\n"));
    assert!(!s.etc_ssh().join("sshd_config.d/10-test.conf").exists());
    assert!(
        s.sshd_t(None)
            .lines()
            .any(|l| l == "clientaliveinterval 77")
    );
    assert!(s.password_login_works("root", ROOT_PASSWORD));

    let s = NsSshd::builder(Layout::EndsInMatch)
        .main_extra("ClientAliveInterval 78\n")
        .start();
    let main = std::fs::read_to_string(s.etc_ssh().join("sshd_config")).unwrap();
    assert!(
        main.ends_with(&format!("ClientAliveInterval 78\n{ENDING_MATCH_BLOCK}")),
        "{main}"
    );
    let nobody = s.sshd_t(Some("user=nobody,host=localhost,addr=127.0.0.1"));
    assert!(nobody.lines().any(|l| l == "x11forwarding no"), "{nobody}");
    let root = s.sshd_t(Some("user=root,host=localhost,addr=127.0.0.1"));
    assert!(root.lines().any(|l| l == "x11forwarding yes"), "{root}");
    assert_eq!(s.methods_offered("root"), "publickey,password");
}

#[test]
fn dropins_count_and_the_probe_sees_keyboard_interactive() {
    if !have_unshare() {
        return;
    }
    let s = NsSshd::builder(Layout::Debian)
        .dropin("20-kbd.conf", "KbdInteractiveAuthentication yes\n")
        .start();
    assert_eq!(
        s.methods_offered("root"),
        "publickey,password,keyboard-interactive"
    );
    let mut s = s;
    s.stop();
    assert!(!s.is_listening());
}
