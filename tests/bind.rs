//! `kps bind`, `unbind` and `replace` end to end (issue 17), against real
//! sshd servers in mount namespaces (tests/common/nssshd.rs) that hold the
//! layouts real machines have. Each test proves its outcome from outside, as
//! an attacker or the user would see it: which methods the running daemon
//! offers, whether the password still gets in, whether the key does, and the
//! exact bytes of the files kps touched.

mod common;

use common::nssshd::*;
use common::{key_fields, mode_of};
use serde_json::Value;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

fn client() -> Option<KpsClient> {
    have_unshare().then(KpsClient::new)
}

/// `kps --json bind NAME USER@127.0.0.1:PORT EXTRA...`
fn bind(c: &KpsClient, name: &str, s: &NsSshd, user: &str, extra: &[&str]) -> common::Run {
    let target = s.target(user);
    let mut args = vec!["--json", "bind", name, &target];
    args.extend(extra);
    c.run(&args)
}

/// Bind as root with root's password (the first login on a new server).
fn bind_pw(c: &KpsClient, name: &str, s: &NsSshd, extra: &[&str]) -> common::Run {
    let pw = c.root_password_file();
    let mut args = vec!["--password-file", pw.as_str()];
    args.extend(extra);
    bind(c, name, s, "root", &args)
}

/// From outside: root is offered keys only, its password is refused, and
/// `name`'s key logs in.
fn assert_password_off_for_root(c: &KpsClient, s: &NsSshd, name: &str) {
    assert_eq!(s.methods_offered("root"), "publickey");
    assert!(!s.password_login_works("root", ROOT_PASSWORD));
    assert!(s.key_login_works("root", &c.private_key_file(name)));
}

/// The one result of a successful one-host run, checked field by field.
fn success(run: &common::Run, s: &NsSshd, user: &str) -> Value {
    assert_eq!(
        run.code(),
        0,
        "stdout: {}\nstderr: {}",
        run.stdout(),
        run.stderr()
    );
    let r = results(run);
    assert_eq!(r.len(), 1, "{}", run.stdout());
    let r = r[0].clone();
    assert_eq!(r["status"], "SUCCESS", "{r}");
    assert_eq!(r["host"], "127.0.0.1", "{r}");
    assert_eq!(r["port"], s.port(), "{r}");
    assert_eq!(r["user"], user, "{r}");
    assert!(r["error_code"].is_null() && r["error_msg"].is_null(), "{r}");
    r
}

/// A one-host failure: exit 10 and `code`.
fn failure(run: &common::Run, code: &str) {
    assert_eq!(
        (run.code(), error_code(run).as_str()),
        (10, code),
        "stdout: {}\nstderr: {}",
        run.stdout(),
        run.stderr()
    );
    if let Ok(v) = serde_json::from_slice::<Value>(&run.output.stdout)
        && let Some(r) = v["results"].as_array()
    {
        assert_eq!(r[0]["status"], "FAILED", "{v}");
    }
}

/// Settings in sshd_config text, lowercased keyword and value, with their
/// 1-based line numbers; `global_only` stops at the first Match.
fn settings(text: &str, global_only: bool) -> Vec<(usize, String, String)> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut parts = line.splitn(2, |c: char| c.is_whitespace() || c == '=');
        let key = parts.next().unwrap_or("").to_ascii_lowercase();
        let value = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        if global_only && key == "match" {
            break;
        }
        out.push((i + 1, key, value));
    }
    out
}

/// The first value of `key` in the text's settings.
fn first_value(text: &str, key: &str, global_only: bool) -> Option<String> {
    settings(text, global_only)
        .into_iter()
        .find(|(_, k, _)| k == key)
        .map(|(_, _, v)| v)
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn root_keys(s: &NsSshd) -> PathBuf {
    s.root_home().join(".ssh/authorized_keys")
}

/// Plant root's authorized_keys (`.ssh` 0700, file 0600) with these bytes.
fn plant_root_keys(s: &NsSshd, bytes: &[u8]) {
    use std::os::unix::fs::PermissionsExt;
    let ssh = s.root_home().join(".ssh");
    std::fs::create_dir_all(&ssh).unwrap();
    std::fs::set_permissions(&ssh, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::write(root_keys(s), bytes).unwrap();
    std::fs::set_permissions(root_keys(s), std::fs::Permissions::from_mode(0o600)).unwrap();
}

/// The bindings `kps bindings --json` lists for keypair `name` on `s`.
fn bindings_of(c: &KpsClient, name: &str, s: &NsSshd) -> Vec<Value> {
    let all = c.run(&["--json", "bindings"]).ok().json();
    all["bindings"]
        .as_array()
        .unwrap_or_else(|| panic!("no bindings array: {all}"))
        .iter()
        .filter(|b| b["keypair_name"] == name && b["port"] == s.port())
        .cloned()
        .collect()
}

/// `after` is `before` with exactly one line added for `public` (after a
/// newline kps had to add when `before` lacked one): every old byte kept,
/// the key once, no control byte in the new line.
fn assert_appended_once(before: &[u8], after: &[u8], public: &str) {
    assert!(
        after.starts_with(before),
        "old bytes not kept:\nbefore {:?}\nafter  {:?}",
        String::from_utf8_lossy(before),
        String::from_utf8_lossy(after)
    );
    let mut rest = &after[before.len()..];
    if !before.is_empty() && !before.ends_with(b"\n") {
        assert_eq!(
            rest.first(),
            Some(&b'\n'),
            "no newline added before the key"
        );
        rest = &rest[1..];
    }
    let rest = String::from_utf8(rest.to_vec()).unwrap();
    let line = rest
        .strip_suffix("\r\n")
        .or_else(|| rest.strip_suffix('\n'))
        .unwrap_or_else(|| panic!("the added line does not end in a newline: {rest:?}"));
    assert!(
        !line.bytes().any(|b| b < 0x20 || b == 0x7f),
        "control bytes in the added line: {line:?}"
    );
    assert_eq!(key_fields(line), key_fields(public), "added: {line:?}");
    let blob = public.split_whitespace().nth(1).unwrap();
    assert_eq!(
        String::from_utf8_lossy(after).matches(blob).count(),
        1,
        "the key is not there exactly once"
    );
}

/// `.ssh` 0700 and the file 0600, both owned by `uid`.
fn assert_modes(file: &Path, uid: u32) {
    let dir = file.parent().unwrap();
    assert_eq!(mode_of(file), 0o600, "{}", file.display());
    assert_eq!(mode_of(dir), 0o700, "{}", dir.display());
    assert_eq!(std::fs::metadata(file).unwrap().uid(), uid);
    assert_eq!(std::fs::metadata(dir).unwrap().uid(), uid);
    assert_eq!(std::fs::metadata(file).unwrap().gid(), uid);
}

/// Another key's authorized_keys line, made by kps (the "other lines").
fn other_key(c: &KpsClient, name: &str) -> String {
    c.create(name, &[]);
    c.public_line(name)
}

// ---------------------------------------------------------------- password off

#[test]
fn ubuntu_cloud_init_yes_password_login_disabled_and_proved_from_outside() {
    let Some(c) = client() else { return };
    let s = NsSshd::new(Layout::Ubuntu);
    c.trust(&s);
    c.create("web", &[]);
    let ci = s.etc_ssh().join("sshd_config.d/50-cloud-init.conf");
    let ci_before = std::fs::read(&ci).unwrap();
    assert_eq!(s.methods_offered("root"), "publickey,password");

    let run = bind_pw(&c, "web", &s, &["--disable-password-login"]);
    let r = success(&run, &s, "root");
    assert_eq!(run.json()["keypair_name"], "web");
    assert_eq!(r["password_login"], "disabled", "{r}");

    // From outside: the running daemon offers keys only, the password is
    // refused, the new key logs in.
    assert_password_off_for_root(&c, &s, "web");
    // On disk: kps's drop-in sorts first; cloud-init's file left alone.
    let dropin = read(&s.etc_ssh().join("sshd_config.d/00-kps.conf"));
    assert_eq!(
        first_value(&dropin, "passwordauthentication", false).as_deref(),
        Some("no"),
        "{dropin}"
    );
    assert_eq!(
        first_value(&dropin, "kbdinteractiveauthentication", false).as_deref(),
        Some("no"),
        "{dropin}"
    );
    assert_eq!(
        std::fs::read(&ci).unwrap(),
        ci_before,
        "50-cloud-init.conf changed"
    );
    let effective = s.sshd_t(Some("user=root,host=localhost,addr=127.0.0.1"));
    assert!(effective.lines().any(|l| l == "passwordauthentication no"));
    assert_appended_once(
        b"",
        &std::fs::read(root_keys(&s)).unwrap(),
        &c.public_line("web"),
    );
    assert_modes(&root_keys(&s), 0);

    let b = bindings_of(&c, "web", &s);
    assert_eq!(b.len(), 1, "{b:?}");
    assert_eq!(b[0]["host"], "127.0.0.1");
    assert_eq!(b[0]["user"], "root");
    assert_eq!(b[0]["password_login"], "disabled");
    assert_eq!(b[0]["host_key_fingerprint"], s.host_fingerprint());
}

#[test]
fn fix_cloud_init_flips_50_cloud_init_too() {
    let Some(c) = client() else { return };
    let s = NsSshd::new(Layout::Ubuntu);
    c.trust(&s);
    c.create("web", &[]);
    let run = bind_pw(
        &c,
        "web",
        &s,
        &["--disable-password-login", "--fix-cloud-init"],
    );
    assert_eq!(success(&run, &s, "root")["password_login"], "disabled");
    let ci = read(&s.etc_ssh().join("sshd_config.d/50-cloud-init.conf"));
    let values: Vec<_> = settings(&ci, false)
        .into_iter()
        .filter(|(_, k, _)| k == "passwordauthentication")
        .map(|(_, _, v)| v)
        .collect();
    assert_eq!(values, ["no"], "50-cloud-init.conf: {ci}");
    assert_password_off_for_root(&c, &s, "web");
}

#[test]
fn no_include_main_file_edited_in_place_with_a_backup() {
    let Some(c) = client() else { return };
    let s = NsSshd::new(Layout::NoInclude);
    c.trust(&s);
    c.create("web", &[]);
    let main_path = s.etc_ssh().join("sshd_config");
    let before = read(&main_path);
    let run = bind_pw(&c, "web", &s, &["--disable-password-login"]);
    assert_eq!(success(&run, &s, "root")["password_login"], "disabled");

    let after = read(&main_path);
    assert_eq!(
        first_value(&after, "passwordauthentication", true).as_deref(),
        Some("no"),
        "{after}"
    );
    assert!(
        !settings(&after, true)
            .iter()
            .any(|(_, k, v)| k == "passwordauthentication" && v == "yes"),
        "a global `PasswordAuthentication yes` is left: {after}"
    );
    assert!(
        after
            .lines()
            .any(|l| l.trim_start().starts_with('#') && l.contains("kps")),
        "no marker comment naming kps: {after}"
    );
    // The backup: some other file under /etc/ssh holding the old bytes.
    let backups: Vec<_> = snapshot(&s.etc_ssh())
        .into_iter()
        .filter(|(p, bytes)| *p != main_path && bytes.starts_with(before.as_bytes()))
        .collect();
    assert!(
        !backups.is_empty(),
        "no backup of sshd_config under /etc/ssh"
    );
    assert_password_off_for_root(&c, &s, "web");
}

#[test]
fn file_ending_in_match_gets_the_setting_before_the_match_block() {
    let Some(c) = client() else { return };
    let s = NsSshd::new(Layout::EndsInMatch);
    c.trust(&s);
    c.create("web", &[]);
    let run = bind_pw(&c, "web", &s, &["--disable-password-login"]);
    assert_eq!(success(&run, &s, "root")["password_login"], "disabled");

    let after = read(&s.etc_ssh().join("sshd_config"));
    let match_line = after
        .lines()
        .position(|l| l == "Match User nobody")
        .expect("the Match block is gone")
        + 1;
    let no_lines: Vec<_> = settings(&after, false)
        .into_iter()
        .filter(|(_, k, v)| k == "passwordauthentication" && v == "no")
        .map(|(n, _, _)| n)
        .collect();
    assert!(
        !no_lines.is_empty() && no_lines.iter().all(|n| *n < match_line),
        "PasswordAuthentication no not (only) before line {match_line}: {after}"
    );
    assert!(
        after.ends_with(ENDING_MATCH_BLOCK),
        "the Match block changed: {after}"
    );
    assert_eq!(
        first_value(&after, "passwordauthentication", true).as_deref(),
        Some("no")
    );
    assert_password_off_for_root(&c, &s, "web");
}

#[test]
fn match_block_turning_passwords_back_on_is_named_in_a_warning() {
    let Some(c) = client() else { return };
    let s = NsSshd::builder(Layout::Debian)
        .main_extra("Match User kpsuser\n\tPasswordAuthentication yes\n")
        .start();
    c.trust(&s);
    c.create("web", &[]);
    let main = read(&s.etc_ssh().join("sshd_config"));
    let match_line = main
        .lines()
        .position(|l| l == "Match User kpsuser")
        .unwrap()
        + 1;

    let run = bind_pw(&c, "web", &s, &["--disable-password-login"]);
    let r = success(&run, &s, "root");
    assert_eq!(r["password_login"], "disabled");
    let warnings = r["warnings"].as_array().cloned().unwrap_or_default();
    let named = warnings.iter().filter_map(|w| w.as_str()).any(|w| {
        w.contains("sshd_config")
            && (w.contains(&format!(":{match_line}"))
                || w.contains(&format!(":{}", match_line + 1))
                || w.contains(&format!("line {match_line}"))
                || w.contains(&format!("line {}", match_line + 1)))
    });
    assert!(
        named,
        "no warning naming /etc/ssh/sshd_config line {match_line}: {warnings:?}"
    );
    // What the warning says is true: root is key-only, kpsuser's password works.
    assert_eq!(s.methods_offered("root"), "publickey");
    assert!(!s.password_login_works("root", ROOT_PASSWORD));
    assert!(s.methods_offered(USER).contains("password"));
    assert!(s.password_login_works(USER, USER_PASSWORD));
}

#[test]
fn use_pam_with_keyboard_interactive_both_turned_off() {
    let Some(c) = client() else { return };
    let s = NsSshd::builder(Layout::Debian)
        .use_pam(true)
        .dropin("20-kbd.conf", "KbdInteractiveAuthentication yes\n")
        .start();
    c.trust(&s);
    c.create("web", &[]);
    assert_eq!(
        s.methods_offered("root"),
        "publickey,password,keyboard-interactive"
    );
    let run = bind_pw(&c, "web", &s, &["--disable-password-login"]);
    assert_eq!(success(&run, &s, "root")["password_login"], "disabled");
    let dropin = read(&s.etc_ssh().join("sshd_config.d/00-kps.conf"));
    assert_eq!(
        first_value(&dropin, "kbdinteractiveauthentication", false).as_deref(),
        Some("no"),
        "{dropin}"
    );
    assert_password_off_for_root(&c, &s, "web");
}

#[test]
fn dropin_with_a_syntax_error_nothing_reloaded_kps7066() {
    let Some(c) = client() else { return };
    let s = NsSshd::new(Layout::Debian);
    c.trust(&s);
    c.create("web", &[]);
    let pid = s.pid();
    // Planted after start: sshd would not start with it (nor after a HUP).
    std::fs::write(
        s.etc_ssh().join("sshd_config.d/20-broken.conf"),
        "Bogus yes\n",
    )
    .unwrap();
    let run = bind_pw(&c, "web", &s, &["--disable-password-login"]);
    failure(&run, "KPS.7066");
    assert!(s.is_listening(), "sshd stopped answering: {}", s.log_text());
    assert_eq!(s.pid(), pid);
    assert!(!s.etc_ssh().join("sshd_config.d/00-kps.conf").exists());
    assert!(s.methods_offered("root").contains("password"));
    assert!(s.password_login_works("root", ROOT_PASSWORD));
}

/// The new key is revoked on this server (`RevokedKeys`): nothing in
/// `sshd -T` says the key will fail, so only the proof login finds out.
/// (`PubkeyAuthentication no` would be caught by the preflight as KPS.7063
/// and never reach the rollback.)
#[test]
fn new_key_that_cannot_log_in_is_rolled_back_kps7064() {
    let Some(c) = client() else { return };
    let s = NsSshd::builder(Layout::Debian)
        .dropin("05-revoked.conf", "RevokedKeys /etc/ssh/kps-test-revoked\n")
        .start();
    c.trust(&s);
    c.create("web", &[]);
    std::fs::write(
        s.etc_ssh().join("kps-test-revoked"),
        format!("{}\n", c.public_line("web")),
    )
    .unwrap();
    let other = other_key(&c, "other");
    plant_root_keys(&s, format!("{other}\n").as_bytes());
    let before = std::fs::read(root_keys(&s)).unwrap();

    let run = bind_pw(&c, "web", &s, &["--disable-password-login"]);
    failure(&run, "KPS.7064");
    assert_eq!(
        std::fs::read(root_keys(&s)).unwrap(),
        before,
        "not rolled back"
    );
    assert!(!s.etc_ssh().join("sshd_config.d/00-kps.conf").exists());
    assert!(s.methods_offered("root").contains("password"));
    assert!(s.password_login_works("root", ROOT_PASSWORD));
    assert!(bindings_of(&c, "web", &s).is_empty());
}

// ------------------------------------------------------------ authorized_keys

/// Bind `web` as root over a planted authorized_keys; the file after.
fn bind_over(c: &KpsClient, s: &NsSshd, planted: &[u8]) -> Vec<u8> {
    c.trust(s);
    plant_root_keys(s, planted);
    success(&bind_pw(c, "web", s, &[]), s, "root");
    assert!(s.key_login_works("root", &c.private_key_file("web")));
    assert_modes(&root_keys(s), 0);
    std::fs::read(root_keys(s)).unwrap()
}

#[test]
fn authorized_keys_without_a_trailing_newline() {
    let Some(c) = client() else { return };
    let s = NsSshd::new(Layout::Debian);
    c.create("web", &[]);
    let planted = format!("# hand-written\n{}", other_key(&c, "a"));
    let after = bind_over(&c, &s, planted.as_bytes());
    assert_appended_once(planted.as_bytes(), &after, &c.public_line("web"));
}

#[test]
fn authorized_keys_with_crlf_line_ends() {
    let Some(c) = client() else { return };
    let s = NsSshd::new(Layout::Debian);
    c.create("web", &[]);
    let planted = format!("{}\r\n{}\r\n", other_key(&c, "a"), other_key(&c, "b"));
    let after = bind_over(&c, &s, planted.as_bytes());
    assert_appended_once(planted.as_bytes(), &after, &c.public_line("web"));
}

#[test]
fn authorized_keys_with_options_and_cloud_init_wrapper() {
    let Some(c) = client() else { return };
    let s = NsSshd::new(Layout::Debian);
    c.create("web", &[]);
    let planted = format!(
        "# comment kept\n\nfrom=\"10.0.0.0/8\",no-pty {}\n\
         no-port-forwarding,no-agent-forwarding,no-X11-forwarding,command=\"echo 'Please login as the user \\\"debian\\\" rather than the user \\\"root\\\".';echo;sleep 10;exit 142\" {}\n\
         environment=\"A=b c\" {}\n",
        other_key(&c, "a"),
        other_key(&c, "b"),
        other_key(&c, "d"),
    );
    let after = bind_over(&c, &s, planted.as_bytes());
    assert_appended_once(planted.as_bytes(), &after, &c.public_line("web"));
}

#[test]
fn authorized_keys_already_holding_the_key_is_not_duplicated() {
    let Some(c) = client() else { return };
    let s = NsSshd::new(Layout::Debian);
    c.create("web", &[]);
    let web = c.public_line("web");
    let blob = web.split_whitespace().nth(1).unwrap();
    // The same key, options and comment of its own: matched on the blob.
    let planted = format!(
        "{}\nno-agent-forwarding ssh-ed25519 {blob} put there by hand\n",
        other_key(&c, "a")
    );
    let after = bind_over(&c, &s, planted.as_bytes());
    assert_eq!(String::from_utf8(after).unwrap(), planted);
}

#[test]
fn kpsuser_gets_ssh_dir_and_file_owned_by_them() {
    let Some(c) = client() else { return };
    let s = NsSshd::new(Layout::Debian);
    c.trust(&s);
    c.create("web", &[]);
    let pw = c.user_password_file();
    let run = bind(&c, "web", &s, USER, &["--password-file", &pw]);
    success(&run, &s, USER);
    let file = s.user_home(USER).join(".ssh/authorized_keys");
    assert_appended_once(b"", &std::fs::read(&file).unwrap(), &c.public_line("web"));
    assert_modes(&file, USER_UID);
    assert!(s.key_login_works(USER, &c.private_key_file("web")));
    assert!(!root_keys(&s).exists(), "root's file touched");
}

#[test]
fn authorized_keys_symlink_refused_kps7063_nothing_changed() {
    let Some(c) = client() else { return };
    let s = NsSshd::new(Layout::Debian);
    c.trust(&s);
    c.create("web", &[]);
    std::fs::write(
        s.etc_ssh().join("kps-test-target"),
        format!("{}\n", other_key(&c, "a")),
    )
    .unwrap();
    plant_root_keys(&s, b"");
    std::fs::remove_file(root_keys(&s)).unwrap();
    std::os::unix::fs::symlink("/etc/ssh/kps-test-target", root_keys(&s)).unwrap();
    let (home, etc) = (snapshot(&s.root_home()), snapshot(&s.etc_ssh()));

    failure(&bind_pw(&c, "web", &s, &[]), "KPS.7063");
    assert_eq!(snapshot(&s.root_home()), home);
    assert_eq!(snapshot(&s.etc_ssh()), etc);
}

#[test]
fn non_default_authorized_keys_file_gets_the_key() {
    let Some(c) = client() else { return };
    let s = NsSshd::builder(Layout::Debian)
        .dropin(
            "20-akf.conf",
            "AuthorizedKeysFile /etc/ssh/authorized_keys/%u\n",
        )
        .start();
    std::fs::create_dir(s.etc_ssh().join("authorized_keys")).unwrap();
    c.trust(&s);
    c.create("web", &[]);
    success(&bind_pw(&c, "web", &s, &[]), &s, "root");
    let file = s.etc_ssh().join("authorized_keys/root");
    assert_appended_once(b"", &std::fs::read(&file).unwrap(), &c.public_line("web"));
    assert!(
        !root_keys(&s).exists(),
        "~/.ssh/authorized_keys written too"
    );
    assert!(s.key_login_works("root", &c.private_key_file("web")));
    let b = bindings_of(&c, "web", &s);
    assert_eq!(
        b[0]["authorized_keys_path"],
        "/etc/ssh/authorized_keys/root"
    );
}

// ------------------------------------------------------------------ host keys

#[test]
fn unknown_host_refused_kps7061_no_password_sent() {
    let Some(c) = client() else { return };
    let s = NsSshd::new(Layout::Debian);
    c.create("web", &[]);
    failure(&bind_pw(&c, "web", &s, &[]), "KPS.7061");
    assert!(!s.password_was_tried(), "{}", s.log_text());
    assert!(!s.root_home().join(".ssh").exists());
    let known = std::fs::read_to_string(c.known_hosts()).unwrap_or_default();
    assert!(
        !known.contains(s.host_public_key()),
        "host key learnt: {known}"
    );
}

#[test]
fn host_key_flag_right_fingerprint_works_wrong_one_kps7062() {
    let Some(c) = client() else { return };
    let s = NsSshd::new(Layout::Debian);
    c.create("web", &[]);
    let other = NsSshd::new(Layout::Debian);
    failure(
        &bind_pw(&c, "web", &s, &["--host-key", other.host_fingerprint()]),
        "KPS.7062",
    );
    assert!(!s.password_was_tried(), "{}", s.log_text());
    assert!(!s.root_home().join(".ssh").exists());

    success(
        &bind_pw(&c, "web", &s, &["--host-key", s.host_fingerprint()]),
        &s,
        "root",
    );
    assert!(s.key_login_works("root", &c.private_key_file("web")));
}

#[test]
fn changed_host_key_refused_kps7062_even_with_accept_new() {
    let Some(c) = client() else { return };
    let s = NsSshd::new(Layout::Debian);
    let impostor = NsSshd::new(Layout::Debian);
    // known_hosts remembers another key for this host and port.
    c.trust_line(&format!(
        "[127.0.0.1]:{} {}",
        s.port(),
        impostor.host_public_key()
    ));
    c.create("web", &[]);
    // A working key, so the host key is the only reason to refuse.
    let adm = other_key(&c, "adm");
    plant_root_keys(&s, format!("{adm}\n").as_bytes());
    let before = snapshot(&s.root_home());
    let run = bind(
        &c,
        "web",
        &s,
        "root",
        &["--auth-keypair", "adm", "--accept-new-host-key"],
    );
    failure(&run, "KPS.7062");
    failure(&bind_pw(&c, "web", &s, &[]), "KPS.7062");
    assert!(!s.password_was_tried(), "{}", s.log_text());
    assert_eq!(snapshot(&s.root_home()), before);
}

#[test]
fn accept_new_host_key_with_a_password_refused_unless_known() {
    let Some(c) = client() else { return };
    let s = NsSshd::new(Layout::Debian);
    c.create("web", &[]);
    c.create("web2", &[]);
    let run = bind_pw(&c, "web", &s, &["--accept-new-host-key"]);
    assert_eq!(run.code(), 2, "{} {}", run.stdout(), run.stderr());
    assert!(!s.password_was_tried(), "{}", s.log_text());
    assert!(!s.root_home().join(".ssh").exists());

    // With a key, a new host key is accepted and remembered ...
    let adm = other_key(&c, "adm");
    plant_root_keys(&s, format!("{adm}\n").as_bytes());
    let run = bind(
        &c,
        "web",
        &s,
        "root",
        &["--auth-keypair", "adm", "--accept-new-host-key"],
    );
    success(&run, &s, "root");
    let known = read(&c.known_hosts());
    assert!(known.contains(s.host_public_key()), "{known}");
    // ... and then the host is known: the password may go with the flag.
    success(
        &bind_pw(&c, "web2", &s, &["--accept-new-host-key"]),
        &s,
        "root",
    );
    assert!(s.key_login_works("root", &c.private_key_file("web2")));
}

// ------------------------------------------------------------------ password

/// Every process's argv and environment, sampled while kps runs: does any
/// hold `needle`?
fn watch_processes(needle: &'static str, stop: &std::sync::atomic::AtomicBool) -> Vec<String> {
    let mut found = Vec::new();
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        for e in std::fs::read_dir("/proc").unwrap().flatten() {
            let name = e.file_name();
            if !name.to_string_lossy().bytes().all(|b| b.is_ascii_digit()) {
                continue;
            }
            for what in ["cmdline", "environ"] {
                let bytes = std::fs::read(e.path().join(what)).unwrap_or_default();
                if String::from_utf8_lossy(&bytes).contains(needle) {
                    found.push(format!("{}/{what}", e.path().display()));
                }
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    found
}

fn files_holding(dir: &Path, needle: &str) -> Vec<PathBuf> {
    snapshot(dir)
        .into_iter()
        .filter(|(_, b)| String::from_utf8_lossy(b).contains(needle))
        .map(|(p, _)| p)
        .collect()
}

#[test]
fn password_is_in_no_argv_environment_file_or_output() {
    let Some(c) = client() else { return };
    let s = NsSshd::new(Layout::Ubuntu);
    c.trust(&s);
    c.create("web", &[]);
    // An ssh that records how kps runs it, then is the client's own.
    let ssh = c.ssh_program();
    let record = c.kps.path("ssh-calls");
    let wrapper = c.kps.path("recording-ssh");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\n{{ printf 'ARGV'; printf ' %s' \"$@\"; echo; env; echo; }} >> '{}'\nexec '{}' \"$@\"\n",
            record.display(),
            ssh.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(
        &wrapper,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();

    let stop = std::sync::atomic::AtomicBool::new(false);
    let (run, seen) = std::thread::scope(|scope| {
        let watcher = scope.spawn(|| watch_processes(ROOT_PASSWORD, &stop));
        let run = c.run_with(
            &[
                "--json",
                "bind",
                "web",
                &s.target("root"),
                "--password-file",
                &c.root_password_file(),
                "--disable-password-login",
            ],
            |cmd| {
                cmd.env("KPS_SSH", &wrapper);
            },
        );
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        (run, watcher.join().unwrap())
    });
    assert_eq!(success(&run, &s, "root")["password_login"], "disabled");
    assert!(
        s.log_text().contains("Accepted password for root"),
        "the password was not used"
    );
    let calls = read(&record);
    assert!(calls.contains("ARGV"), "kps did not run KPS_SSH");
    assert!(
        !calls.contains(ROOT_PASSWORD),
        "password in ssh's argv or environment"
    );
    assert!(
        seen.is_empty(),
        "password in a process's argv or environment: {seen:?}"
    );
    for dir in [c.home(), c.tmp(), c.runtime(), c.kps.store.clone()] {
        let leaks = files_holding(&dir, ROOT_PASSWORD);
        assert!(leaks.is_empty(), "password written to {leaks:?}");
    }
    // (c.run_with has already checked stdout and stderr.)
}

// ------------------------------------------------------------ replace, unbind

#[test]
fn replace_swaps_old_for_new_and_keeps_the_rest() {
    let Some(c) = client() else { return };
    let s = NsSshd::new(Layout::Debian);
    c.trust(&s);
    c.create("old", &[]);
    c.create("new", &[]);
    let planted = format!("{}\n# note\n{}\n", other_key(&c, "a"), other_key(&c, "b"));
    plant_root_keys(&s, planted.as_bytes());
    success(&bind_pw(&c, "old", &s, &[]), &s, "root");
    let with_old = read(&root_keys(&s));

    let run = c.run(&["--json", "replace", "old", "new", &s.target("root")]);
    success(&run, &s, "root");
    assert!(s.key_login_works("root", &c.private_key_file("new")));
    assert!(!s.key_login_works("root", &c.private_key_file("old")));
    let after = read(&root_keys(&s));
    let blob = |name: &str| {
        c.public_line(name)
            .split_whitespace()
            .nth(1)
            .unwrap()
            .to_string()
    };
    let without = |text: &str, b: &str| -> Vec<String> {
        text.lines()
            .filter(|l| !l.contains(b))
            .map(String::from)
            .collect()
    };
    assert_eq!(
        without(&after, &blob("new")),
        without(&with_old, &blob("old"))
    );
    assert_eq!(after.matches(&blob("new")).count(), 1);
    assert!(!after.contains(&blob("old")));
    assert_eq!(bindings_of(&c, "new", &s).len(), 1);
    assert!(bindings_of(&c, "old", &s).is_empty());
}

#[test]
fn replace_with_a_new_key_the_server_refuses_leaves_it_as_it_was() {
    let Some(c) = client() else { return };
    let s = NsSshd::builder(Layout::Debian)
        .dropin("20-algs.conf", "PubkeyAcceptedAlgorithms ssh-ed25519\n")
        .start();
    c.trust(&s);
    c.create("old", &[]);
    c.create("new", &["-t", "ecdsa"]);
    success(&bind_pw(&c, "old", &s, &[]), &s, "root");
    let (home, etc) = (snapshot(&s.root_home()), snapshot(&s.etc_ssh()));

    let run = c.run(&["--json", "replace", "old", "new", &s.target("root")]);
    failure(&run, "KPS.7063");
    assert_eq!(snapshot(&s.root_home()), home);
    assert_eq!(snapshot(&s.etc_ssh()), etc);
    assert!(s.key_login_works("root", &c.private_key_file("old")));
    assert!(!s.key_login_works("root", &c.private_key_file("new")));
    assert_eq!(bindings_of(&c, "old", &s).len(), 1);
    assert!(bindings_of(&c, "new", &s).is_empty());
}

#[test]
fn unbind_removes_exactly_its_line() {
    let Some(c) = client() else { return };
    let s = NsSshd::new(Layout::Debian);
    c.trust(&s);
    c.create("web", &[]);
    let planted = format!(
        "{}\r\n# kept\nno-pty {}\n",
        other_key(&c, "a"),
        other_key(&c, "b")
    );
    plant_root_keys(&s, planted.as_bytes());
    success(&bind_pw(&c, "web", &s, &[]), &s, "root");
    assert_eq!(bindings_of(&c, "web", &s).len(), 1);

    // Default auth: web's own key through kps's agent.
    let run = c.run(&["--json", "unbind", "web", &s.target("root")]);
    success(&run, &s, "root");
    assert_eq!(read(&root_keys(&s)), planted, "other lines changed");
    assert!(!s.key_login_works("root", &c.private_key_file("web")));
    assert!(s.key_login_works("root", &c.private_key_file("a")));
    assert!(bindings_of(&c, "web", &s).is_empty());
}

#[test]
fn unbind_refuses_to_leave_no_way_in_kps7067_unless_forced() {
    let Some(c) = client() else { return };
    let s = NsSshd::new(Layout::Debian);
    c.trust(&s);
    c.create("web", &[]);
    success(
        &bind_pw(&c, "web", &s, &["--disable-password-login"]),
        &s,
        "root",
    );
    let before = snapshot(&s.root_home());
    failure(
        &c.run(&["--json", "unbind", "web", &s.target("root")]),
        "KPS.7067",
    );
    assert_eq!(snapshot(&s.root_home()), before);
    assert!(s.key_login_works("root", &c.private_key_file("web")));

    let run = c.run(&["--json", "unbind", "web", &s.target("root"), "--force"]);
    success(&run, &s, "root");
    assert!(!s.key_login_works("root", &c.private_key_file("web")));
    assert!(bindings_of(&c, "web", &s).is_empty());
}

#[test]
fn unbind_enable_password_login_removes_the_dropin_and_the_password_works() {
    let Some(c) = client() else { return };
    let s = NsSshd::new(Layout::Ubuntu);
    c.trust(&s);
    c.create("web", &[]);
    let adm = other_key(&c, "adm");
    plant_root_keys(&s, format!("{adm}\n").as_bytes());
    success(
        &bind_pw(&c, "web", &s, &["--disable-password-login"]),
        &s,
        "root",
    );
    assert!(!s.password_login_works("root", ROOT_PASSWORD));

    let run = c.run(&[
        "--json",
        "unbind",
        "web",
        &s.target("root"),
        "--enable-password-login",
    ]);
    assert_eq!(success(&run, &s, "root")["password_login"], "enabled");
    assert!(!s.etc_ssh().join("sshd_config.d/00-kps.conf").exists());
    assert_eq!(s.methods_offered("root"), "publickey,password");
    assert!(s.password_login_works("root", ROOT_PASSWORD));
    assert!(!s.key_login_works("root", &c.private_key_file("web")));
    assert_eq!(read(&root_keys(&s)), format!("{adm}\n"));
}

// ------------------------------------------------------------- refused keys

#[test]
fn key_type_the_server_refuses_kps7063_before_any_change() {
    let Some(c) = client() else { return };
    let keys = tempfile::tempdir().unwrap();
    let dsa = keys.path().join("dsa");
    let made_dsa = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "dsa", "-N", "", "-f"])
        .arg(&dsa)
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    let s = if made_dsa {
        // OpenSSH turned ssh-dss off by default in 7.0.
        c.run(&["import", "web", "--private-key", dsa.to_str().unwrap()])
            .ok();
        NsSshd::new(Layout::Debian)
    } else {
        // This ssh-keygen makes no DSA keys any more: an RSA key on a
        // server that takes Ed25519 only.
        c.create("web", &["-t", "rsa", "-b", "2048"]);
        NsSshd::builder(Layout::Debian)
            .dropin("20-algs.conf", "PubkeyAcceptedAlgorithms ssh-ed25519\n")
            .start()
    };
    c.trust(&s);
    let (home, etc) = (snapshot(&s.root_home()), snapshot(&s.etc_ssh()));
    failure(
        &bind_pw(&c, "web", &s, &["--disable-password-login"]),
        "KPS.7063",
    );
    assert_eq!(snapshot(&s.root_home()), home);
    assert_eq!(snapshot(&s.etc_ssh()), etc);
    assert!(s.password_login_works("root", ROOT_PASSWORD));
}

/// kps refuses control characters in comments at every door (create -C,
/// import); what does get through (quotes, `$(...)`, backquotes, `;`) must
/// reach authorized_keys as inert text, never run on the server.
#[test]
fn comments_cannot_inject_lines_or_commands() {
    let Some(c) = client() else { return };
    let refused = c.run(&[
        "create",
        "esc",
        "-C",
        "a\x1b]0;owned\x07b\nssh-ed25519 AAAA x",
    ]);
    assert_ne!(refused.code(), 0);
    let comment =
        "x $(touch /root/pwned1) `touch /root/pwned2` ';touch /root/pwned3;' \"q\" \\ end";
    c.create("web", &["-C", comment]);
    let s = NsSshd::new(Layout::Debian);
    let after = bind_over(&c, &s, b"");
    assert_appended_once(b"", &after, &c.public_line("web"));
    let pwned: Vec<_> = std::fs::read_dir(s.root_home())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("pwned"))
        .map(|e| e.path())
        .collect();
    assert!(pwned.is_empty(), "the comment ran on the server: {pwned:?}");
}

/// A server whose config files lie: sshd runs with `-o
/// PasswordAuthentication=yes` on its own command line, which beats every
/// file and which `sshd -T` from a shell does not show. kps's change
/// validates and `sshd -T` says no, but the daemon still offers passwords:
/// only the proof from outside sees it. Everything is rolled back.
#[test]
fn a_daemon_whose_files_lie_is_caught_from_outside_and_rolled_back() {
    let Some(c) = client() else { return };
    let s = NsSshd::builder(Layout::Ubuntu)
        .daemon_option("PasswordAuthentication=yes")
        .start();
    c.trust(&s);
    c.create("web", &[]);
    let (home, etc) = (snapshot(&s.root_home()), snapshot(&s.etc_ssh()));
    let run = bind_pw(&c, "web", &s, &["--disable-password-login"]);
    failure(&run, "KPS.7064");
    let msg = results(&run)[0]["error_msg"].as_str().unwrap().to_string();
    assert!(msg.contains("password"), "{msg}");
    // The files are as they were (the key taken out again, the drop-in
    // gone), the daemon answers, the password still works.
    assert_eq!(snapshot(&s.etc_ssh()), etc);
    let keys = std::fs::read(root_keys(&s)).unwrap_or_default();
    assert_eq!(keys, home.get(&root_keys(&s)).cloned().unwrap_or_default());
    assert!(s.is_listening());
    assert!(s.password_login_works("root", ROOT_PASSWORD));
    assert!(bindings_of(&c, "web", &s).is_empty());
}

/// kps keeps only lines that start with "KPS " from the server, and a
/// login shell that prints its own (a banner in .profile, a fake "KPS done")
/// on stderr or stdout cannot make a failed step look done: the bind
/// still checks every step's own answer and proves the login.
#[test]
fn a_noisy_login_shell_does_not_fool_the_steps() {
    let Some(c) = client() else { return };
    let s = NsSshd::new(Layout::Debian);
    c.trust(&s);
    c.create("web", &[]);
    // root's shell startup prints junk, escape sequences and a fake answer.
    std::fs::write(
        s.root_home().join(".bashrc"),
        "printf 'Welcome\\033[2J\\nKPS error changed 2f\\n'\n",
    )
    .unwrap();
    std::fs::write(s.root_home().join(".profile"), "echo 'KPS done'\n").unwrap();
    let run = bind_pw(&c, "web", &s, &[]);
    success(&run, &s, "root");
    assert!(s.key_login_works("root", &c.private_key_file("web")));
    assert!(!run.stderr().contains('\u{1b}'), "{}", run.stderr());
}

/// The user's own ssh config is honoured: the server is an alias reached
/// through a ProxyJump alias whose key is in the config, and the proofs go
/// the same way (they use the config too, checking by name that the
/// server accepted the keypair's own key).
#[test]
fn a_server_behind_a_proxyjump_alias_in_the_users_config() {
    let Some(c) = client() else { return };
    let jump = NsSshd::new(Layout::Debian);
    let s = NsSshd::new(Layout::Ubuntu);
    c.trust(&jump);
    c.trust(&s);
    c.create("web", &[]);
    // The jump host lets us in with a key file named only in the config.
    c.create("hop", &[]);
    plant_root_keys(&jump, format!("{}\n", c.public_line("hop")).as_bytes());
    let hop_key = c.private_key_file("hop");
    let config = c.home().join(".ssh/config");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(&format!(
        "Host kps-jump\n  HostName 127.0.0.1\n  Port {}\n  User root\n  IdentityFile {}\n  IdentitiesOnly yes\n\
         Host kps-target\n  HostName 127.0.0.1\n  Port {}\n  User root\n  ProxyJump kps-jump\n",
        jump.port(),
        hop_key.display(),
        s.port()
    ));
    std::fs::write(&config, text).unwrap();

    let pw = c.root_password_file();
    let run = c.run(&[
        "--json",
        "bind",
        "web",
        "kps-target",
        "--password-file",
        &pw,
        "--disable-password-login",
    ]);
    assert_eq!(success(&run, &s, "root")["password_login"], "disabled");
    assert_password_off_for_root(&c, &s, "web");
    // It went through the jump host: the target saw its connections come
    // from the jump's sshd, and the jump host logged our hop key.
    assert!(
        jump.log_text().contains("Accepted publickey for root"),
        "{}",
        jump.log_text()
    );
    // The jump host is as it was: nothing was installed there.
    assert!(
        !std::fs::read_to_string(root_keys(&jump))
            .unwrap()
            .contains(&c.public_line("web"))
    );
}

/// unbind --enable-password-login turns password login back on first (so
/// no later step can lock the user out); when the unbind then fails (here:
/// sshd also gets the key from an AuthorizedKeysCommand, so it still logs
/// in once its line is gone), the error says password login stays on, and
/// it does; the key's line is put back.
#[test]
fn unbind_that_fails_after_enabling_passwords_says_they_stay_on() {
    let Some(c) = client() else { return };
    let s = NsSshd::builder(Layout::Ubuntu)
        .dropin(
            "20-akc.conf",
            "AuthorizedKeysCommand /bin/cat /etc/ssh/extra_keys\nAuthorizedKeysCommandUser root\n",
        )
        .start();
    c.trust(&s);
    c.create("web", &[]);
    std::fs::write(
        s.etc_ssh().join("extra_keys"),
        format!("{}\n", c.public_line("web")),
    )
    .unwrap();
    let run = bind_pw(&c, "web", &s, &["--disable-password-login"]);
    let r = success(&run, &s, "root");
    assert_eq!(r["password_login"], "disabled");
    // The command is reported: editing authorized_keys may not be enough.
    assert!(
        r["warnings"].to_string().contains("AuthorizedKeysCommand"),
        "{r}"
    );
    let keys_before = std::fs::read(root_keys(&s)).unwrap();

    let run = c.run(&[
        "--json",
        "unbind",
        "web",
        &s.target("root"),
        "--enable-password-login",
    ]);
    failure(&run, "KPS.7064");
    let msg = results(&run)[0]["error_msg"].as_str().unwrap().to_string();
    assert!(
        msg.contains("password login had been turned back on"),
        "{msg}"
    );
    assert!(s.password_login_works("root", ROOT_PASSWORD));
    assert_eq!(std::fs::read(root_keys(&s)).unwrap(), keys_before);
}
