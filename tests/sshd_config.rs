//! kps::remote::sshd_config's reasoning checked against the real sshd: each
//! plan is written to a temporary configuration and `sshd -T -f` (with `-C`
//! for Match blocks) must agree that password login is off, that the undo
//! gives back the same effective configuration, and that what `findings`
//! reports is what sshd does.

mod common;
use common::sshd::{find_program, have_sshd};
use kps::remote::sshd_config::{self as conf, DisablePlan, FindingKind};
use std::path::PathBuf;
use std::process::Command;

const DEBIAN12: &str = include_str!("fixtures/sshd/debian12_sshd_config");

/// A configuration directory of its own: `sshd_config`, `sshd_config.d/`
/// and a host key (given with `-o HostKey=`, so the files hold only what
/// the test puts there).
struct Conf {
    dir: tempfile::TempDir,
}

impl Conf {
    fn new() -> Conf {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sshd_config.d")).unwrap();
        let out = Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-f"])
            .arg(dir.path().join("host_key"))
            .output()
            .unwrap();
        assert!(out.status.success());
        Conf { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn dir(&self) -> String {
        self.dir.path().display().to_string()
    }

    fn main_path(&self) -> String {
        self.path("sshd_config").display().to_string()
    }

    fn write(&self, name: &str, text: &str) {
        std::fs::write(self.path(name), text).unwrap();
    }

    fn main(&self) -> String {
        std::fs::read_to_string(self.path("sshd_config")).unwrap()
    }

    /// `sshd -T`, with `-C` when `connection` is given (Match blocks apply).
    fn sshd_t(&self, connection: Option<&str>) -> String {
        let (ok, out, err) = self.try_sshd_t(connection);
        assert!(
            ok,
            "sshd -T failed: {err}\n--- sshd_config:\n{}",
            self.main()
        );
        out
    }

    fn try_sshd_t(&self, connection: Option<&str>) -> (bool, String, String) {
        let mut cmd = Command::new(find_program("sshd").unwrap());
        cmd.arg("-T").arg("-f").arg(self.path("sshd_config"));
        cmd.arg("-o")
            .arg(format!("HostKey={}", self.path("host_key").display()));
        if let Some(c) = connection {
            cmd.args(["-C", c]);
        }
        let out = cmd.output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    fn effective(&self, connection: Option<&str>) -> conf::Effective {
        conf::effective(&self.sshd_t(connection))
    }

    fn off_for(&self, user: &str) -> bool {
        let c = format!("user={user},host=client.example,addr=192.0.2.7");
        conf::password_login_off(&self.effective(Some(&c)))
    }

    /// The drop-ins the main file's Includes take in, in sshd's order
    /// (lexical within one pattern, as glob(3)).
    fn dropins(&self) -> Vec<(String, String)> {
        let mut names: Vec<_> = std::fs::read_dir(self.path("sshd_config.d"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.ends_with(".conf"))
            .collect();
        names.sort();
        names
            .into_iter()
            .map(|n| {
                let p = self.path("sshd_config.d").join(n);
                (
                    p.display().to_string(),
                    std::fs::read_to_string(&p).unwrap(),
                )
            })
            .collect()
    }

    fn findings(&self) -> Vec<conf::Finding> {
        conf::findings((&self.main_path(), &self.main()), &self.dropins())
    }

    /// plan_disable applied as the remote side would.
    fn disable(&self) -> DisablePlan {
        let plan = conf::plan_disable(&self.main(), &self.main_path());
        match &plan {
            DisablePlan::DropIn { path, content } => std::fs::write(path, content).unwrap(),
            DisablePlan::EditMain { content } => self.write("sshd_config", content),
        }
        plan
    }
}

/// sshd present and able to run `-T` here (it needs its privilege
/// separation user; as root it always can).
fn can_run() -> bool {
    if !have_sshd() {
        return false;
    }
    let c = Conf::new();
    c.write("sshd_config", "");
    let (ok, _, err) = c.try_sshd_t(None);
    if !ok {
        if std::env::var("KPS_TEST_REQUIRE_TOOLS").as_deref() == Ok("1") {
            panic!("sshd -T is required (KPS_TEST_REQUIRE_TOOLS=1) but fails: {err}");
        }
        eprintln!("SKIP: sshd -T does not run here: {err}");
    }
    ok
}

/// Debian's file with its Include pointed at the test's directory.
fn debian(c: &Conf) -> String {
    DEBIAN12.replace(
        "Include /etc/ssh/sshd_config.d/*.conf",
        &format!("Include {}/sshd_config.d/*.conf", c.dir()),
    )
}

#[test]
fn ubuntu_layout_with_cloud_init_saying_yes() {
    if !can_run() {
        return;
    }
    let c = Conf::new();
    c.write("sshd_config", &debian(&c));
    c.write(
        "sshd_config.d/50-cloud-init.conf",
        "PasswordAuthentication yes\n",
    );
    // The state Huawei's documentation admits to: the drop-in wins.
    assert_eq!(c.effective(None).get("passwordauthentication"), Some("yes"));
    assert!(!c.off_for("root"));

    let DisablePlan::DropIn { path, .. } = c.disable() else {
        panic!("Debian's layout takes a drop-in");
    };
    assert_eq!(path, format!("{}/sshd_config.d/00-kps.conf", c.dir()));
    assert_eq!(c.main(), debian(&c), "the main file is not touched");
    assert!(c.off_for("root") && c.off_for("alice"));
    let e = c.effective(None);
    assert_eq!(e.get("kbdinteractiveauthentication"), Some("no"));
    assert!(conf::password_login_off(&e));
    assert!(c.findings().is_empty());

    // --fix-cloud-init, then removing kps's drop-in: still off.
    let cloud = c.path("sshd_config.d/50-cloud-init.conf");
    let fixed = conf::fix_cloud_init(&std::fs::read_to_string(&cloud).unwrap()).unwrap();
    std::fs::write(&cloud, &fixed).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert!(c.off_for("root"));
    std::fs::write(&cloud, conf::unfix_cloud_init(&fixed).unwrap()).unwrap();
    assert!(!c.off_for("root"));
}

#[test]
fn edits_of_the_main_file_win_and_undo_exactly() {
    if !can_run() {
        return;
    }
    let cases: &[(&str, &str)] = &[
        (
            "no Include",
            "UsePAM yes\nPasswordAuthentication yes\nX11Forwarding yes\n",
        ),
        ("commented", "#PasswordAuthentication yes\nUsePAM yes\n"),
        ("= spelling", "passwordauthentication=yes\nusepam yes\n"),
        (
            "alias",
            "ChallengeResponseAuthentication yes\nUsePAM yes\nPasswordAuthentication yes\n",
        ),
        (
            "CRLF",
            "UsePAM yes\r\nPasswordAuthentication yes\r\nPrintMotd no\r\n",
        ),
        ("no final newline", "UsePAM yes\nPasswordAuthentication yes"),
        (
            "ends in a Match",
            "UsePAM yes\nMatch User backup\n  ForceCommand internal-sftp\n",
        ),
        (
            "Include not first",
            "UsePAM yes\nInclude DIR/sshd_config.d/*.conf\nPasswordAuthentication no\n",
        ),
        (
            "Include first, of another directory",
            "Include DIR/elsewhere/*.conf\nUsePAM yes\n",
        ),
    ];
    for (what, main) in cases {
        let c = Conf::new();
        let main = main.replace("DIR", &c.dir());
        c.write("sshd_config", &main);
        // A drop-in turning passwords on, where an Include reads it.
        c.write(
            "sshd_config.d/50-cloud-init.conf",
            "PasswordAuthentication yes\n",
        );
        let before = c.sshd_t(None);
        assert!(!c.off_for("backup"), "{what}: on to begin with");

        let DisablePlan::EditMain { content } = c.disable() else {
            panic!("{what}: expected an edit of the main file");
        };
        for user in ["root", "backup", "alice"] {
            assert!(c.off_for(user), "{what}: still on for {user}:\n{content}");
        }
        assert!(
            !c.findings()
                .iter()
                .any(|f| f.kind == FindingKind::PamKeyboardInteractive),
            "{what}"
        );

        let restored = conf::plan_enable(&content).unwrap();
        assert_eq!(restored, main, "{what}");
        c.write("sshd_config", &restored);
        assert_eq!(c.sshd_t(None), before, "{what}");
    }
}

#[test]
fn match_user_turning_passwords_back_on() {
    if !can_run() {
        return;
    }
    let c = Conf::new();
    c.write(
        "sshd_config",
        &format!(
            "Include {}/sshd_config.d/*.conf\nUsePAM no\nMatch User alice\n  PasswordAuthentication yes\n",
            c.dir()
        ),
    );
    c.disable();
    // What findings reports is what sshd does: off for everyone but alice.
    assert!(c.off_for("root"));
    assert!(!c.off_for("alice"));
    let found = c.findings();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].kind, FindingKind::MatchEnablesPassword);
    assert_eq!(
        found[0].to_string(),
        format!(
            "{}:3: Match User alice turns password login back on",
            c.main_path()
        )
    );
}

#[test]
fn pam_finding_agrees_with_sshd() {
    if !can_run() {
        return;
    }
    // (main, drop-in, expected): whether sshd ends with usepam yes and
    // kbdinteractiveauthentication yes must be whether findings says so.
    let cases: &[(&str, &str, bool)] = &[
        ("UsePAM yes\n", "", true),
        ("UsePAM yes\nKbdInteractiveAuthentication no\n", "", false),
        // The drop-in's alias is read first and wins over the main file.
        (
            "Include DIR/sshd_config.d/*.conf\nUsePAM yes\nKbdInteractiveAuthentication no\n",
            "ChallengeResponseAuthentication yes\n",
            true,
        ),
        (
            "Include DIR/sshd_config.d/*.conf\nUsePAM yes\nKbdInteractiveAuthentication yes\n",
            "kbdinteractiveauthentication=no\n",
            false,
        ),
        (
            "Include DIR/sshd_config.d/*.conf\nKbdInteractiveAuthentication yes\nUsePAM yes\n",
            "UsePAM no\n",
            false,
        ),
        // A Match in the drop-in ends with it: the main file's UsePAM after
        // the Include is global.
        (
            "Include DIR/sshd_config.d/*.conf\nUsePAM yes\n",
            "Match User x\nKbdInteractiveAuthentication no\n",
            true,
        ),
    ];
    for (main, dropin, expected) in cases {
        let c = Conf::new();
        c.write("sshd_config", &main.replace("DIR", &c.dir()));
        c.write("sshd_config.d/10-test.conf", dropin);
        let e = c.effective(None);
        let sshd_says =
            e.get("usepam") == Some("yes") && e.get("kbdinteractiveauthentication") == Some("yes");
        assert_eq!(
            sshd_says, *expected,
            "sshd: main {main:?} drop-in {dropin:?}"
        );
        let found = c
            .findings()
            .iter()
            .any(|f| f.kind == FindingKind::PamKeyboardInteractive);
        assert_eq!(found, sshd_says, "main {main:?} drop-in {dropin:?}");
    }
}

#[test]
fn authorized_keys_files_and_algorithms_from_real_sshd_t() {
    if !can_run() {
        return;
    }
    let c = Conf::new();
    c.write(
        "sshd_config",
        "AuthorizedKeysFile %h/.ssh/k_%u .ssh/other /etc/keys/%U/%%x\n",
    );
    let e = c.effective(None);
    assert_eq!(
        conf::authorized_keys_files(&e, "alice", "/home/alice", 1001),
        [
            "/home/alice/.ssh/k_alice",
            "/home/alice/.ssh/other",
            "/etc/keys/1001/%x"
        ]
    );
    c.write("sshd_config", "");
    let e = c.effective(None);
    assert_eq!(
        conf::authorized_keys_files(&e, "root", "/root", 0),
        ["/root/.ssh/authorized_keys", "/root/.ssh/authorized_keys2"]
    );
    // Current OpenSSH: RSA through rsa-sha2-*, no DSA.
    assert!(conf::accepts_algorithm(&e, "ssh-ed25519"));
    assert!(conf::accepts_algorithm(&e, "ssh-rsa"));
    assert!(conf::accepts_algorithm(&e, "ecdsa-sha2-nistp384"));
    assert!(!conf::accepts_algorithm(&e, "ssh-dss"));
    c.write("sshd_config", "PubkeyAcceptedAlgorithms -rsa-sha2-*\n");
    assert!(!conf::accepts_algorithm(&c.effective(None), "ssh-rsa"));
    c.write("sshd_config", "PubkeyAcceptedAlgorithms +ssh-dss\n");
    let (ok, out, _) = c.try_sshd_t(None);
    // DSA may be compiled out (OpenSSH 10); where sshd takes it, so do we.
    if ok && out.contains("ssh-dss") {
        assert!(conf::accepts_algorithm(&conf::effective(&out), "ssh-dss"));
    }
}

#[test]
fn a_file_kps_wrote_parses_for_sshd() {
    if !can_run() {
        return;
    }
    // Debian's file without its Include (as on a system where the admin
    // removed it): the edit lands in place and `sshd -T` reads it.
    let c = Conf::new();
    let main = DEBIAN12.replace("Include /etc/ssh/sshd_config.d/*.conf\n", "");
    c.write("sshd_config", &main);
    let DisablePlan::EditMain { content } = c.disable() else {
        panic!("no Include: an edit");
    };
    // Its KbdInteractiveAuthentication already says no; the commented
    // PasswordAuthentication is no setting, so one is added (no Match: at the end).
    assert!(!content.contains("# kps: was:"));
    assert_eq!(
        content,
        format!("{main}# kps: added\nPasswordAuthentication no\n")
    );
    assert!(c.off_for("root"));
    assert_eq!(conf::plan_enable(&content).unwrap(), main);
}
