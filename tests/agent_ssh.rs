//! `kps ssh` (ssh with a private one-shot agent) and `kps ssh-add` (keys
//! handed to OpenSSH's ssh-agent) against real OpenSSH and a throwaway
//! sshd; a fake `ssh` of the test's own shows what the ssh child gets: its
//! arguments, its environment, the agent it is given and what is on disk
//! while it runs.

mod common;
use common::sshd::*;
use common::*;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn public_line(kps: &Kps, name: &str) -> String {
    kps.run(&["export", name, "--format", "public"])
        .ok()
        .stdout()
}

/// The ssh options every login here needs (the throwaway server's), its
/// port and the destination.
fn ssh_opts(sshd: &Sshd) -> Vec<String> {
    THROWAWAY_SSH_OPTIONS
        .iter()
        .map(|s| s.to_string())
        .chain(["-p".to_string(), sshd.port.to_string()])
        .chain([format!("{}@127.0.0.1", user())])
        .collect()
}

/// Runtime and temp dirs of the test's own, so that what kps leaves there
/// can be seen.
fn private_dirs(kps: &Kps) -> (PathBuf, PathBuf) {
    let runtime = kps.path("runtime");
    let tmp = kps.path("tmp");
    std::fs::create_dir_all(&runtime).unwrap();
    std::fs::create_dir_all(&tmp).unwrap();
    (runtime, tmp)
}

fn entries(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    found.sort();
    found
}

fn kps_ssh(kps: &Kps, args: &[&str], runtime: &Path, tmp: &Path) -> Run {
    let mut all = vec!["ssh"];
    all.extend(args);
    kps.run_with(&all, |c| {
        c.env("XDG_RUNTIME_DIR", runtime).env("TMPDIR", tmp);
    })
}

#[test]
fn logs_in_passes_on_the_exit_status_and_leaves_nothing_behind() {
    if !have_sshd() {
        return;
    }
    let kps = Kps::new();
    kps.create("ed", &[]);
    kps.create("stranger", &["-t", "ecdsa"]);
    let dir = tempfile::tempdir().unwrap();
    let sshd = Sshd::start(dir.path(), &public_line(&kps, "ed"));
    let (runtime, tmp) = private_dirs(&kps);
    let opts = ssh_opts(&sshd);
    let mut args: Vec<&str> = vec!["ed", "--"];
    args.extend(opts.iter().map(String::as_str));

    let mut login = args.clone();
    login.extend(["echo", "logged-in"]);
    let run = kps_ssh(&kps, &login, &runtime, &tmp).ok();
    assert_eq!(run.stdout(), "logged-in\n", "ssh's output passes through");
    assert!(
        entries(&runtime).is_empty(),
        "left behind: {:?}",
        entries(&runtime)
    );
    assert!(entries(&tmp).is_empty());

    // Without `--`: ssh's options after NAME are ssh's.
    let mut plain: Vec<&str> = vec!["ed"];
    plain.extend(opts.iter().map(String::as_str));
    plain.push("true");
    kps_ssh(&kps, &plain, &runtime, &tmp).ok();

    // The remote command's status is ssh's, and so kps's.
    let mut seven = args.clone();
    seven.push("exit 7");
    kps_ssh(&kps, &seven, &runtime, &tmp).expect(7);

    // A key the server does not know: ssh's 255, and the socket gone too.
    let mut wrong: Vec<&str> = vec!["stranger", "--"];
    wrong.extend(opts.iter().map(String::as_str));
    wrong.push("true");
    let run = kps_ssh(&kps, &wrong, &runtime, &tmp).expect(255);
    assert!(
        run.stderr().contains("Permission denied"),
        "{}",
        run.stderr()
    );
    assert!(entries(&runtime).is_empty());
}

/// A fake `ssh` that records its argv, environment, the keys of the agent
/// it is given and the files under the runtime and temp dirs, then exits
/// with $FAKE_SSH_EXIT (or kills itself with $FAKE_SSH_SIGNAL, or sleeps).
fn fake_ssh(kps: &Kps) -> PathBuf {
    let path = kps.path("fake-ssh");
    std::fs::write(
        &path,
        r#"#!/bin/sh
out="$FAKE_SSH_OUT"
for a in "$@"; do printf '%s\n' "$a"; done > "$out/argv"
env > "$out/env"
sock=$(printf '%s\n' "$@" | sed -n 's/^IdentityAgent=//p')
printf '%s\n' "$sock" > "$out/socket"
stat -c '%a %F' "$sock" "$(dirname "$sock")" > "$out/modes"
SSH_AUTH_SOCK="$sock" ssh-add -L > "$out/keys" 2>&1
find "$XDG_RUNTIME_DIR" "$TMPDIR" -mindepth 1 > "$out/files"
cat /proc/$$/cmdline > "$out/cmdline"
cat /proc/$$/environ > "$out/environ"
if [ -n "$FAKE_SSH_SLEEP" ]; then touch "$out/sleeping"; exec sleep "$FAKE_SSH_SLEEP"; fi
if [ -n "$FAKE_SSH_SIGNAL" ]; then kill -"$FAKE_SSH_SIGNAL" $$; fi
exit "${FAKE_SSH_EXIT:-0}"
"#,
    )
    .unwrap();
    sh("chmod 755 fake-ssh", kps.dir.path());
    path
}

#[test]
fn the_ssh_child_gets_the_agent_and_no_secret() {
    if !have_tool("ssh-add") {
        return;
    }
    let kps = Kps::new();
    kps.create("ed", &[]);
    kps.create("other", &[]);
    let export = kps.run(&["export", "ed", "-o", "-"]).ok().stdout();
    let fake = fake_ssh(&kps);
    let out = kps.path("out");
    std::fs::create_dir(&out).unwrap();
    let (runtime, tmp) = private_dirs(&kps);
    // The passphrase in the environment, and a PIN: neither may reach ssh.
    let run = kps.run_with(
        &[
            "ssh",
            "--ssh",
            fake.to_str().unwrap(),
            "ed",
            "-q",
            "--json",
            "-p",
            "2222",
            "host",
            "echo 'a b'",
        ],
        |c| {
            c.env_remove("KPS_PASSPHRASE_FILE")
                .env("KPS_PASSPHRASE", PASSPHRASE)
                .env("KPS_PKCS11_PIN", "246810")
                .env("KPS_PKCS11_PIN_FILE", "/nonexistent/pin")
                .env("XDG_RUNTIME_DIR", &runtime)
                .env("TMPDIR", &tmp)
                .env("FAKE_SSH_OUT", &out)
                .env("FAKE_SSH_EXIT", "7");
        },
    );
    // Everything after NAME was ssh's, -q and --json too: kps printed nothing.
    let run = run.expect(7);
    assert_eq!(run.stdout(), "");
    let read = |f: &str| std::fs::read_to_string(out.join(f)).unwrap();
    let socket = read("socket").trim().to_string();
    assert!(Path::new(&socket).starts_with(&runtime), "{socket}");
    assert_eq!(
        read("argv").lines().collect::<Vec<_>>(),
        [
            "-o",
            &format!("IdentityAgent={socket}"),
            "-o",
            "IdentityFile=none",
            "-q",
            "--json",
            "-p",
            "2222",
            "host",
            "echo 'a b'"
        ]
    );
    assert_eq!(read("modes"), "600 socket\n700 directory\n");
    // The agent serves that one key, named by its keypair.
    let keys = read("keys");
    assert_eq!(keys.lines().count(), 1, "{keys}");
    assert_eq!(
        key_fields(&keys),
        key_fields(&public_line(&kps, "ed")),
        "{keys}"
    );
    assert!(keys.trim_end().ends_with(" ed"), "{keys}");
    // On disk while ssh ran: the socket and its directory, nothing else.
    let files = read("files");
    assert_eq!(files.lines().count(), 2, "{files}");
    // Nothing secret in ssh's argv or environment.
    let key_body = export.lines().nth(1).unwrap().to_string();
    for f in ["cmdline", "environ", "env"] {
        let text = String::from_utf8_lossy(&std::fs::read(out.join(f)).unwrap()).into_owned();
        for secret in [PASSPHRASE, "246810", key_body.as_str()] {
            assert!(!text.contains(secret), "{f} holds a secret: {text}");
        }
        assert!(!text.contains("KPS_PASSPHRASE"), "{f}: {text}");
        assert!(!text.contains("KPS_PKCS11_PIN"), "{f}: {text}");
    }
    assert!(entries(&runtime).is_empty(), "{:?}", entries(&runtime));
    assert!(entries(&tmp).is_empty());

    // KPS_SSH names the program too; a signal that ends ssh is 128 + n.
    let run = kps.run_with(&["ssh", "other", "host"], |c| {
        c.env("KPS_SSH", &fake)
            .env("XDG_RUNTIME_DIR", &runtime)
            .env("FAKE_SSH_OUT", &out)
            .env("FAKE_SSH_SIGNAL", "USR1");
    });
    run.expect(128 + 10);
    assert!(read("keys").trim_end().ends_with(" other"));
    assert!(entries(&runtime).is_empty());

    // No such program: its own error, and no socket left.
    let run = kps
        .run_with(
            &["--json", "ssh", "--ssh", "/nonexistent/ssh", "ed", "host"],
            |c| {
                c.env("XDG_RUNTIME_DIR", &runtime);
            },
        )
        .expect(1);
    assert_eq!(run.error_json()["error_code"], "KPS.7043");
    assert!(entries(&runtime).is_empty());
}

#[test]
fn sigterm_is_passed_to_ssh_and_the_socket_removed() {
    if !have_tool("ssh-add") {
        return;
    }
    let kps = Kps::new();
    kps.create("ed", &[]);
    let fake = fake_ssh(&kps);
    let out = kps.path("out");
    std::fs::create_dir(&out).unwrap();
    let (runtime, _tmp) = private_dirs(&kps);
    let mut cmd = kps.command();
    cmd.args(["ssh", "--ssh"])
        .arg(&fake)
        .args(["ed", "host"])
        .env("XDG_RUNTIME_DIR", &runtime)
        .env("FAKE_SSH_OUT", &out)
        .env("FAKE_SSH_SLEEP", "30")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child: Child = cmd.spawn().unwrap();
    let start = Instant::now();
    while !out.join("sleeping").exists() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "fake ssh did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(entries(&runtime).len(), 1);
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    assert!(start.elapsed() < Duration::from_secs(20));
    // sleep was ended by the SIGTERM kps passed on: 128 + 15.
    assert_eq!(status.code(), Some(143));
    assert!(entries(&runtime).is_empty(), "{:?}", entries(&runtime));
}

#[test]
fn print_command_runs_nothing() {
    let kps = Kps::new();
    kps.create("ed", &[]);
    let fake = fake_ssh(&kps);
    let out = kps.path("out");
    std::fs::create_dir(&out).unwrap();
    let (runtime, _tmp) = private_dirs(&kps);
    let run = kps
        .run_with(
            &[
                "ssh",
                "--print-command",
                "--ssh",
                fake.to_str().unwrap(),
                "ed",
                "-p",
                "22",
                "root@h",
                "echo 'it''s' $HOME",
            ],
            |c| {
                c.env("XDG_RUNTIME_DIR", &runtime)
                    .env("FAKE_SSH_OUT", &out)
                    .env_remove("KPS_PASSPHRASE_FILE");
            },
        )
        .ok();
    let sock = runtime.join("kps-agent.XXXXXXXXXXXX/agent.PID");
    assert_eq!(
        run.stdout(),
        format!(
            "{} -o IdentityAgent={} -o IdentityFile=none -p 22 root@h 'echo '\\''it'\\'''\\''s'\\'' $HOME'\n",
            fake.display(),
            sock.display()
        )
    );
    assert!(entries(&out).is_empty(), "ssh ran");
    assert!(entries(&runtime).is_empty());
    // No passphrase was needed: nothing was unlocked.

    let run = kps
        .run(&["--json", "ssh", "--print-command", "ed", "--", "-v", "h"])
        .ok();
    let doc = run.json();
    let words: Vec<&str> = doc["command"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap())
        .collect();
    assert_eq!(words[0], "ssh");
    assert_eq!(words[3..], ["-o", "IdentityFile=none", "-v", "h"]);
    assert!(words[2].starts_with("IdentityAgent=/"));
    assert!(doc["line"].as_str().unwrap().ends_with(" -v h"));

    // A control character in an argument is escaped on the terminal.
    let run = kps
        .run(&["ssh", "--print-command", "ed", "h", "echo \x1b[31mred"])
        .ok();
    assert!(!run.stdout().contains('\x1b'), "{:?}", run.stdout());
}

#[test]
fn refused_before_anything_is_asked() {
    let kps = Kps::new();
    kps.create("ed", &[]);
    std::fs::write(kps.path("ed.pub"), public_line(&kps, "ed")).unwrap();
    kps.run(&["import", "pubonly", "--public-key", "ed.pub"])
        .ok();
    let run = kps.run(&["--json", "ssh", "nope", "h"]).expect(3);
    assert_eq!(run.error_json()["error_code"], "KPS.4016");
    let run = kps.run(&["--json", "ssh", "pubonly", "h"]).expect(5);
    assert_eq!(run.error_json()["error_code"], "KPS.6005");
    let run = kps.run(&["--json", "ssh-add", "pubonly"]).expect(5);
    assert_eq!(run.error_json()["error_code"], "KPS.6005");
    // No NAME: a usage error.
    kps.run(&["ssh"]).expect(2);
    kps.run(&["ssh-add"]).expect(2);
    kps.run(&["ssh-add", "-d", "ed", "-t", "5"]).expect(2);
}

/// OpenSSH's own `ssh-agent -D -a SOCK`, killed when dropped; `askpass`
/// answers its confirmations.
struct SshAgent {
    child: Child,
    socket: PathBuf,
}

impl SshAgent {
    fn start(dir: &Path, askpass: Option<&Path>) -> SshAgent {
        let socket = dir.join("ssh-agent.sock");
        let mut cmd = Command::new("ssh-agent");
        cmd.arg("-D")
            .arg("-a")
            .arg(&socket)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some(askpass) = askpass {
            cmd.env("SSH_ASKPASS", askpass)
                .env("SSH_ASKPASS_REQUIRE", "force")
                .env("DISPLAY", ":0");
        }
        let child = cmd.spawn().unwrap();
        let start = Instant::now();
        while !socket.exists() {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "ssh-agent did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        SshAgent { child, socket }
    }

    fn list(&self) -> String {
        let out = Command::new("ssh-add")
            .args(["-l", "-E", "sha256"])
            .env("SSH_AUTH_SOCK", &self.socket)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for SshAgent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn kps_ssh_add(kps: &Kps, agent: &SshAgent, args: &[&str]) -> Run {
    let mut all = vec!["ssh-add"];
    all.extend(args);
    kps.run_with(&all, |c| {
        c.env("SSH_AUTH_SOCK", &agent.socket);
    })
}

#[test]
fn ssh_add_into_openssh_agent_login_and_remove() {
    if !have_sshd() || !have_tool("ssh-agent") || !have_tool("ssh-add") {
        return;
    }
    let kps = Kps::new();
    kps.create("ed", &[]);
    kps.create("rsa", &["-t", "rsa", "-b", "2048"]);
    let dir = tempfile::tempdir().unwrap();
    let agent = SshAgent::start(dir.path(), None);
    assert!(agent.list().contains("no identities"), "{}", agent.list());

    let run = kps_ssh_add(&kps, &agent, &["--json", "ed", "rsa", "ed"]).ok();
    let doc = run.json();
    assert_eq!(doc["added"].as_array().unwrap().len(), 2);
    assert_eq!(doc["lifetime_seconds"], serde_json::Value::Null);
    let listed = agent.list();
    for name in ["ed", "rsa"] {
        let shown = kps.run(&["--json", "show", name]).ok().json();
        let fingerprint = shown["keypair"]["fingerprint"].as_str().unwrap();
        assert!(
            listed.contains(&format!(" {fingerprint} {name} (")),
            "{name}: {listed}"
        );
    }

    // ssh logs in through the agent with the key added.
    let sshd_dir = tempfile::tempdir().unwrap();
    let sshd = Sshd::start(sshd_dir.path(), &public_line(&kps, "rsa"));
    let mut ssh = Command::new("ssh");
    ssh.args(ssh_opts(&sshd))
        .args(["echo", "ok"])
        .env("SSH_AUTH_SOCK", &agent.socket)
        .env("HOME", kps.dir.path());
    let (ok, stdout, stderr) = run_with_timeout(ssh);
    assert!(ok && stdout.trim() == "ok", "{stderr}");

    // -d removes by public key, with no passphrase.
    let run = kps_ssh_add(&kps, &agent, &["-d", "ed"]).ok();
    assert_eq!(run.stdout(), "Identity removed: ed\n");
    let listed = agent.list();
    assert!(!listed.contains(" ed ("), "{listed}");
    assert!(listed.contains(" rsa ("), "{listed}");
    // Removing what the agent does not hold: the agent's FAILURE.
    let run = kps
        .run_with(&["--json", "ssh-add", "-d", "ed"], |c| {
            c.env("SSH_AUTH_SOCK", &agent.socket)
                .env_remove("KPS_PASSPHRASE_FILE");
        })
        .expect(1);
    assert_eq!(run.error_json()["error_code"], "KPS.7042");
}

#[test]
fn ssh_add_lifetime_and_confirm_constraints() {
    if !have_tool("ssh-agent") || !have_tool("ssh-add") || !have_tool("ssh-keygen") {
        return;
    }
    let kps = Kps::new();
    kps.create("ed", &[]);
    kps.create("careful", &["-t", "ecdsa"]);
    let askpass = kps.path("askpass-no");
    std::fs::write(&askpass, "#!/bin/sh\necho called >> \"$0.log\"\nexit 1\n").unwrap();
    sh("chmod 755 askpass-no", kps.dir.path());
    let dir = tempfile::tempdir().unwrap();
    let agent = SshAgent::start(dir.path(), Some(&askpass));

    kps_ssh_add(&kps, &agent, &["ed", "-t", "2"]).ok();
    assert!(agent.list().contains(" ed ("));
    std::thread::sleep(Duration::from_secs(3));
    assert!(!agent.list().contains(" ed ("), "{}", agent.list());

    kps_ssh_add(&kps, &agent, &["careful", "-c"]).ok();
    assert!(agent.list().contains(" careful ("));
    std::fs::write(kps.path("careful.pub"), public_line(&kps, "careful")).unwrap();
    std::fs::write(kps.path("data"), "to sign").unwrap();
    let out = Command::new("ssh-keygen")
        .args(["-Y", "sign", "-n", "file", "-f", "careful.pub", "data"])
        .current_dir(kps.dir.path())
        .env("SSH_AUTH_SOCK", &agent.socket)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success(), "signed without confirmation");
    assert!(!kps.path("data.sig").exists());
    assert!(
        kps.path("askpass-no.log").exists(),
        "the agent did not ask: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn ssh_add_without_an_agent() {
    let kps = Kps::new();
    kps.create("ed", &[]);
    for sock in [None, Some(""), Some("/nonexistent/agent.sock")] {
        let run = kps
            .run_with(&["--json", "ssh-add", "ed"], |c| {
                match sock {
                    Some(s) => c.env("SSH_AUTH_SOCK", s),
                    None => c.env_remove("SSH_AUTH_SOCK"),
                };
                // The agent is checked before the passphrase is needed.
                c.env_remove("KPS_PASSPHRASE_FILE");
            })
            .expect(1);
        assert_eq!(run.error_json()["error_code"], "KPS.7041", "{sock:?}");
    }
    // A socket that is not an agent: it hangs up without an answer.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("not-an-agent");
    let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    let server = std::thread::spawn(move || {
        let (conn, _) = listener.accept().unwrap();
        drop(conn);
    });
    let run = kps
        .run_with(&["--json", "ssh-add", "ed"], |c| {
            c.env("SSH_AUTH_SOCK", &path);
        })
        .expect(1);
    assert_eq!(run.error_json()["error_code"], "KPS.7041");
    server.join().unwrap();
}
