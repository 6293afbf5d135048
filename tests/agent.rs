//! `kps agent` against real OpenSSH: ssh-add lists its keys, ssh-keygen
//! signs through it, ssh logs in to a throwaway sshd with every algorithm;
//! and what an attacker or a broken client does to it: another uid, SHA-1,
//! malformed frames, many clients at once.

mod common;
use common::sshd::*;
use common::*;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A `kps agent -D --json` in the foreground, stopped with SIGTERM when
/// dropped (as systemd stops it).
struct Agent {
    child: Child,
    socket: PathBuf,
    keys: Vec<String>,
}

impl Agent {
    fn start(kps: &Kps, extra: &[&str]) -> Agent {
        Agent::start_with(kps, extra, |_| {})
    }

    fn start_with(kps: &Kps, extra: &[&str], f: impl FnOnce(&mut Command)) -> Agent {
        let mut cmd = kps.command();
        cmd.args(["--json", "agent", "-D"])
            .args(extra)
            .env("XDG_RUNTIME_DIR", kps.dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        f(&mut cmd);
        let mut child = cmd.spawn().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        if line.is_empty() {
            let mut err = String::new();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            panic!("kps agent did not start: {err}");
        }
        let doc: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(doc["pid"], child.id());
        Agent {
            child,
            socket: PathBuf::from(doc["socket"].as_str().unwrap()),
            keys: doc["keys"]
                .as_array()
                .unwrap()
                .iter()
                .map(|k| k.as_str().unwrap().to_string())
                .collect(),
        }
    }

    /// An OpenSSH tool with SSH_AUTH_SOCK set to this agent.
    fn tool(&self, program: &str, args: &[&str]) -> std::process::Output {
        Command::new(program)
            .args(args)
            .env("SSH_AUTH_SOCK", &self.socket)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    fn connect(&self) -> UnixStream {
        let s = UnixStream::connect(&self.socket).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        term(self.child.id());
        let _ = self.child.wait();
    }
}

fn term(pid: u32) {
    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
}

/// A framed message: uint32 length, then `body` (type byte first).
fn frame(body: &[u8]) -> Vec<u8> {
    let mut out = (body.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(body);
    out
}

fn string(bytes: &[u8]) -> Vec<u8> {
    frame(bytes)
}

/// Send a message, read the reply's type byte and body.
fn exchange(stream: &mut UnixStream, framed: &[u8]) -> Option<Vec<u8>> {
    stream.write_all(framed).ok()?;
    let mut len = [0u8; 4];
    stream.read_exact(&mut len).ok()?;
    let mut body = vec![0u8; u32::from_be_bytes(len) as usize];
    stream.read_exact(&mut body).ok()?;
    Some(body)
}

/// Has the agent closed this connection (EOF or reset, not a timeout)?
fn closed(stream: &mut UnixStream) -> bool {
    let mut byte = [0u8; 1];
    match stream.read(&mut byte) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => !matches!(
            e.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ),
    }
}

/// The key blob of an authorized_keys line (its base64 field).
fn blob_of(public_line: &str) -> Vec<u8> {
    let b64 = public_line.split_whitespace().nth(1).unwrap();
    let out = Command::new("base64")
        .arg("-d")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            c.stdin.take().unwrap().write_all(b64.as_bytes())?;
            c.wait_with_output()
        })
        .unwrap();
    out.stdout
}

fn sign_request(blob: &[u8], data: &[u8], flags: u32) -> Vec<u8> {
    let mut body = vec![13u8];
    body.extend(string(blob));
    body.extend(string(data));
    body.extend(flags.to_be_bytes());
    frame(&body)
}

fn public_line(kps: &Kps, name: &str) -> String {
    kps.run(&["export", name, "--format", "public"])
        .ok()
        .stdout()
}

/// Every algorithm the agent serves, plus what it must leave out by
/// default: a public-key-only keypair and a DSA key.
fn make_keys(kps: &Kps, rsa4096: bool) -> Vec<&'static str> {
    kps.create("ed", &[]);
    kps.create("p256", &["-t", "ecdsa"]);
    kps.create("p384", &["-t", "ecdsa", "-b", "384"]);
    kps.create("p521", &["-t", "ecdsa", "-b", "521"]);
    kps.create("rsa2048", &["-t", "rsa", "-b", "2048"]);
    let mut names = vec!["ed", "p256", "p384", "p521", "rsa2048"];
    if rsa4096 {
        kps.create("rsa4096", &["-t", "rsa", "-b", "4096"]);
        names.push("rsa4096");
    }
    names
}

#[test]
fn ssh_add_lists_the_served_keys_with_kps_show_fingerprints() {
    if !have_tool("ssh-add") || !have_tool("ssh-keygen") {
        return;
    }
    let kps = Kps::new();
    let names = make_keys(&kps, false);
    sh("ssh-keygen -q -t dsa -N '' -f dsa", kps.dir.path());
    kps.run(&["import", "dsa", "--private-key", "dsa"]).ok();
    std::fs::write(kps.path("ed.pub"), public_line(&kps, "ed")).unwrap();
    kps.run(&["import", "pubonly", "--public-key", "ed.pub"])
        .ok();

    let agent = Agent::start(&kps, &[]);
    // By default every keypair it can sign with, by name; not DSA, not a
    // public key alone.
    assert_eq!(agent.keys, names);
    let meta = std::fs::symlink_metadata(&agent.socket).unwrap();
    assert_eq!(mode_of(&agent.socket), 0o600);
    assert!(std::os::unix::fs::FileTypeExt::is_socket(&meta.file_type()));
    assert_eq!(mode_of(agent.socket.parent().unwrap()), 0o700);
    assert!(agent.socket.starts_with(kps.dir.path()));

    let out = agent.tool("ssh-add", &["-l", "-E", "sha256"]);
    assert!(out.status.success());
    let listed = String::from_utf8(out.stdout).unwrap();
    assert_eq!(listed.lines().count(), names.len(), "{listed}");
    for (line, name) in listed.lines().zip(&names) {
        let shown = kps.run(&["--json", "show", name]).ok().json();
        let fingerprint = shown["keypair"]["fingerprint"].as_str().unwrap();
        let fields: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(fields[1], fingerprint, "{line}");
        assert_eq!(fields[2], *name, "the comment is the keypair name: {line}");
    }
    // ssh-add -L gives the public keys kps exports.
    let out = agent.tool("ssh-add", &["-L"]);
    let lines = String::from_utf8(out.stdout).unwrap();
    for name in &names {
        assert!(lines.contains(&key_fields(&public_line(&kps, name))));
    }

    // Stopped with SIGTERM: the socket and its directory are gone.
    let dir = agent.socket.parent().unwrap().to_path_buf();
    drop(agent);
    assert!(!dir.exists());
}

#[test]
fn ssh_keygen_signs_through_the_agent_and_verifies() {
    if !have_tool("ssh-keygen") {
        return;
    }
    let kps = Kps::new();
    let names = make_keys(&kps, false);
    let agent = Agent::start(&kps, &[]);
    std::fs::write(kps.path("msg"), "a message to sign\n").unwrap();
    for name in names {
        let public = public_line(&kps, name);
        let pub_file = kps.path(&format!("{name}.pub"));
        std::fs::write(&pub_file, &public).unwrap();
        std::fs::write(
            kps.path("allowed"),
            format!("signer@example {}\n", key_fields(&public)),
        )
        .unwrap();
        let _ = std::fs::remove_file(kps.path("msg.sig"));
        let out = Command::new("ssh-keygen")
            .args(["-Y", "sign", "-n", "file", "-f"])
            .arg(&pub_file)
            .arg(kps.path("msg"))
            .env("SSH_AUTH_SOCK", &agent.socket)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let verified = sh(
            "ssh-keygen -Y verify -f allowed -I signer@example -n file -s msg.sig < msg",
            kps.dir.path(),
        );
        assert!(verified.contains("Good \"file\" signature"), "{verified}");
    }
}

/// `ssh -o IdentityAgent=SOCK` offering just the key of `pub_file`.
fn ssh_login(sshd: &Sshd, socket: &Path, pub_file: &Path, extra: &[&str]) -> (bool, String) {
    let mut ssh = Command::new("ssh");
    ssh.args(THROWAWAY_SSH_OPTIONS)
        .args(["-o", "IdentitiesOnly=yes", "-o"])
        .arg(format!("IdentityAgent={}", socket.display()))
        .arg("-o")
        .arg(format!("IdentityFile={}", pub_file.display()))
        .args(extra)
        .args(["-p", &sshd.port.to_string()])
        .arg(format!("{}@127.0.0.1", user()))
        .args(["echo", "ok"])
        .env_remove("SSH_AUTH_SOCK");
    let (ok, stdout, stderr) = run_with_timeout(ssh);
    (ok && stdout.trim() == "ok", stderr)
}

#[test]
fn ssh_logs_in_with_every_algorithm_and_both_rsa_hashes() {
    if !have_sshd() {
        return;
    }
    let kps = Kps::new();
    let names = make_keys(&kps, true);
    let mut authorized = String::new();
    for name in &names {
        let line = public_line(&kps, name);
        std::fs::write(kps.path(&format!("{name}.pub")), &line).unwrap();
        authorized.push_str(&line);
    }
    let agent = Agent::start(&kps, &[]);
    for (run, algorithms) in [("sha256", "rsa-sha2-256"), ("sha512", "rsa-sha2-512")] {
        let dir = kps.path(&format!("sshd-{run}"));
        std::fs::create_dir(&dir).unwrap();
        let accepted = format!(
            "ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,{algorithms}"
        );
        let sshd = Sshd::start_with(
            &dir,
            &authorized,
            &format!("PubkeyAcceptedAlgorithms {accepted}\n"),
        );
        let client = format!("PubkeyAcceptedAlgorithms={accepted}");
        for name in &names {
            let (ok, stderr) = ssh_login(
                &sshd,
                &agent.socket,
                &kps.path(&format!("{name}.pub")),
                &["-o", &client],
            );
            assert!(ok, "{name} with {run}: {stderr}\nsshd: {}", sshd.log_text());
        }
        // The test can fail: a key the server does not list is refused.
        kps.run(&["create", "stranger", "--if-not-exists"]).ok();
        std::fs::write(kps.path("stranger.pub"), public_line(&kps, "stranger")).unwrap();
        let (ok, _) = ssh_login(&sshd, &agent.socket, &kps.path("stranger.pub"), &[]);
        assert!(!ok, "a key the agent does not serve logged in");
    }
}

#[test]
fn sha1_ssh_rsa_is_refused_unless_allowed() {
    if !have_sshd() {
        return;
    }
    let kps = Kps::new();
    kps.create("rsa", &["-t", "rsa", "-b", "2048"]);
    let line = public_line(&kps, "rsa");
    std::fs::write(kps.path("rsa.pub"), &line).unwrap();
    let dir = kps.path("sshd");
    std::fs::create_dir(&dir).unwrap();
    let sshd = Sshd::start_with(&dir, &line, "PubkeyAcceptedAlgorithms ssh-rsa\n");
    let client = ["-o", "PubkeyAcceptedAlgorithms=ssh-rsa"];

    let strict = Agent::start(&kps, &[]);
    // On the wire: an RSA sign request without a SHA-2 flag gets FAILURE,
    // and the connection stays usable.
    let mut conn = strict.connect();
    let blob = blob_of(&line);
    assert_eq!(
        exchange(&mut conn, &sign_request(&blob, b"x", 0)),
        Some(vec![5])
    );
    let reply = exchange(&mut conn, &sign_request(&blob, b"x", 4)).unwrap();
    assert_eq!(reply[0], 14);
    assert!(
        reply.windows(12).any(|w| w == b"rsa-sha2-512"),
        "the reply names its algorithm"
    );
    let (ok, _) = ssh_login(&sshd, &strict.socket, &kps.path("rsa.pub"), &client);
    assert!(
        !ok,
        "a SHA-1 ssh-rsa login went through without --allow-sha1"
    );
    drop(strict);

    let lenient = Agent::start(&kps, &["--allow-sha1"]);
    let (ok, stderr) = ssh_login(&sshd, &lenient.socket, &kps.path("rsa.pub"), &client);
    assert!(
        ok,
        "ssh-rsa with --allow-sha1: {stderr}\nsshd: {}",
        sshd.log_text()
    );
}

#[test]
fn another_user_is_refused_by_the_uid_check() {
    if !have_tool("ssh-add") || !have_tool("setpriv") {
        return;
    }
    if !rustix_is_root() {
        eprintln!("SKIP: needs root to run a client as nobody");
        return;
    }
    let kps = Kps::new();
    kps.create("ed", &[]);
    // The socket where nobody can reach it: a directory others may enter
    // and a socket others may write (as a careless chmod would leave it),
    // so that the agent's own uid check is all that stands in the way.
    let open_dir = kps.path("open");
    std::fs::create_dir(&open_dir).unwrap();
    sh("chmod 0711 . open", kps.dir.path());
    let socket = open_dir.join("agent.sock");
    let agent = Agent::start(&kps, &["-a", socket.to_str().unwrap()]);
    assert_eq!(mode_of(&socket), 0o600);
    sh("chmod 0666 open/agent.sock", kps.dir.path());

    let out = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "ssh-add",
            "-l",
        ])
        .env("SSH_AUTH_SOCK", &socket)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "nobody used the agent");
    assert!(
        !stderr.contains("Could not open a connection"),
        "nobody could not even connect, so the uid check was not tested: {stderr}"
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains("SHA256:"));
    // The owner still can.
    let out = agent.tool("ssh-add", &["-l"]);
    assert!(out.status.success());
}

fn rustix_is_root() -> bool {
    String::from_utf8(Command::new("id").arg("-u").output().unwrap().stdout)
        .unwrap()
        .trim()
        == "0"
}

#[test]
fn fifty_concurrent_logins_through_one_agent() {
    if !have_sshd() {
        return;
    }
    let kps = Kps::new();
    kps.create("ed", &[]);
    let line = public_line(&kps, "ed");
    std::fs::write(kps.path("ed.pub"), &line).unwrap();
    let dir = kps.path("sshd");
    std::fs::create_dir(&dir).unwrap();
    let sshd = Sshd::start_with(&dir, &line, "");
    let agent = Agent::start(&kps, &[]);
    let results: Vec<(bool, String)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..50)
            .map(|_| s.spawn(|| ssh_login(&sshd, &agent.socket, &kps.path("ed.pub"), &[])))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let failed: Vec<_> = results.iter().filter(|(ok, _)| !ok).collect();
    assert!(
        failed.is_empty(),
        "{} of 50 failed: {:?}",
        failed.len(),
        failed.first()
    );
}

#[test]
fn malformed_frames_close_only_their_own_connection() {
    let kps = Kps::new();
    kps.create("ed", &[]);
    let line = public_line(&kps, "ed");
    let blob = blob_of(&line);
    let agent = Agent::start(&kps, &[]);
    // A client that stays connected throughout.
    let mut steady = agent.connect();
    assert_eq!(exchange(&mut steady, &frame(&[11])).unwrap()[0], 12);

    let mut bad_blob = vec![0, 0, 0, 11];
    bad_blob.extend_from_slice(b"ssh-ed25519");
    bad_blob.extend(string(&[7u8; 10]));
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("length 0", vec![0, 0, 0, 0]),
        ("over 256 KiB", (256 * 1024 + 1u32).to_be_bytes().to_vec()),
        ("truncated", {
            let mut m = 100u32.to_be_bytes().to_vec();
            m.extend_from_slice(&[13; 10]);
            m
        }),
        ("unknown type", frame(&[99])),
        ("bad key blob", sign_request(&bad_blob, b"x", 0)),
        ("trailing bytes", frame(&[11, 0])),
    ];
    for (what, bytes) in cases {
        let mut conn = agent.connect();
        conn.write_all(&bytes).unwrap();
        if what == "truncated" {
            conn.shutdown(std::net::Shutdown::Write).unwrap();
        }
        assert!(closed(&mut conn), "{what}: the connection stayed open");
        // The steady client and a new one are served as before.
        let reply = exchange(&mut steady, &sign_request(&blob, b"data", 0)).unwrap();
        assert_eq!(reply[0], 14, "{what}: the steady client lost its agent");
        let mut fresh = agent.connect();
        assert_eq!(
            exchange(&mut fresh, &frame(&[11])).unwrap()[0],
            12,
            "{what}"
        );
    }

    // What the protocol defines and kps does not serve: FAILURE, connection kept.
    let mut session_bind = vec![27u8];
    session_bind.extend(string(b"session-bind@openssh.com"));
    session_bind.extend(string(b"host key"));
    for (what, body) in [
        ("session-bind", session_bind),
        ("add identity", vec![17u8, 0, 0, 0, 0]),
        ("remove all", vec![19u8]),
        ("lock", vec![22u8]),
    ] {
        assert_eq!(
            exchange(&mut steady, &frame(&body)),
            Some(vec![5]),
            "{what}"
        );
    }
    // A key it does not hold: FAILURE.
    let mut other = blob.clone();
    let last = other.len() - 1;
    other[last] ^= 1;
    assert_eq!(
        exchange(&mut steady, &sign_request(&other, b"x", 0)),
        Some(vec![5])
    );
    assert_eq!(exchange(&mut steady, &frame(&[11])).unwrap()[0], 12);
}

#[test]
fn lifetime_forgets_the_keys() {
    if !have_tool("ssh-add") {
        return;
    }
    let kps = Kps::new();
    kps.create("ed", &[]);
    let agent = Agent::start(&kps, &["--lifetime", "2s"]);
    let out = agent.tool("ssh-add", &["-l"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains(" ed (ED25519)"));
    std::thread::sleep(Duration::from_secs(3));
    let out = agent.tool("ssh-add", &["-l"]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("The agent has no identities"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let mut conn = agent.connect();
    let blob = blob_of(&public_line(&kps, "ed"));
    assert_eq!(
        exchange(&mut conn, &sign_request(&blob, b"x", 0)),
        Some(vec![5])
    );
}

/// Every file under `dir`, recursively, with its type.
fn walk(dir: &Path, found: &mut Vec<(PathBuf, std::fs::FileType)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let t = e.file_type().unwrap();
        found.push((e.path(), t));
        if t.is_dir() {
            walk(&e.path(), found);
        }
    }
}

#[test]
fn in_the_background_no_secret_on_disk_in_argv_or_environment() {
    if !have_tool("ssh-add") {
        return;
    }
    let kps = Kps::new();
    kps.create("ed", &[]);
    let export = kps.run(&["export", "ed", "-o", "-"]).ok().stdout();
    let runtime = kps.path("runtime");
    let tmp = kps.path("tmp");
    std::fs::create_dir(&runtime).unwrap();
    std::fs::create_dir(&tmp).unwrap();
    // The passphrase in the environment this time: the agent must not keep it.
    let run = kps.run_with(&["agent", "-s"], |c| {
        c.env_remove("KPS_PASSPHRASE_FILE")
            .env("KPS_PASSPHRASE", PASSPHRASE)
            .env("XDG_RUNTIME_DIR", &runtime)
            .env("TMPDIR", &tmp)
            .env("SHELL", "/bin/bash");
    });
    let run = run.ok();
    let script = run.stdout();
    assert!(script.starts_with("SSH_AUTH_SOCK="), "{script}");
    assert!(run.stderr().contains("serving ed"), "{}", run.stderr());
    let sock = script
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("SSH_AUTH_SOCK=");
    let pid: u32 = script
        .lines()
        .find_map(|l| l.strip_prefix("SSH_AGENT_PID="))
        .and_then(|l| l.split(';').next())
        .unwrap()
        .parse()
        .unwrap();
    struct Stop(u32);
    impl Drop for Stop {
        fn drop(&mut self) {
            term(self.0);
        }
    }
    let stop = Stop(pid);
    // The eval'd lines work: ssh-add finds the agent through them.
    let listed = sh(&format!("{script}\nssh-add -l"), kps.dir.path());
    assert!(listed.contains(" ed (ED25519)"), "{listed}");

    // Nothing of the key or the passphrase in its argv or environment.
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap();
    let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap();
    let key_body: String = export.lines().nth(1).unwrap().to_string();
    for (what, bytes) in [("argv", &cmdline), ("environment", &environ)] {
        let text = String::from_utf8_lossy(bytes);
        assert!(
            !text.contains(PASSPHRASE),
            "the passphrase is in the agent's {what}"
        );
        assert!(
            !text.contains(&key_body),
            "the key is in the agent's {what}"
        );
        assert!(!text.contains("KPS_PASSPHRASE"), "{what}: {text}");
    }
    // On disk: the socket in its own directory, and nothing else anywhere.
    let mut found = Vec::new();
    walk(&runtime, &mut found);
    walk(&tmp, &mut found);
    let files: Vec<_> = found
        .iter()
        .filter(|(_, t)| !t.is_dir() && !std::os::unix::fs::FileTypeExt::is_socket(t))
        .collect();
    assert!(files.is_empty(), "files left by the agent: {files:?}");
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(Path::new(sock).starts_with(&runtime));

    drop(stop);
    for _ in 0..50 {
        if !Path::new(sock).exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut left = Vec::new();
    walk(&runtime, &mut left);
    assert!(left.is_empty(), "after SIGTERM: {left:?}");
}

#[test]
fn csh_lines_and_start_failures() {
    let kps = Kps::new();
    kps.create("ed", &[]);
    let socket = kps.path("a b.sock");
    let run = kps
        .run_with(&["agent", "-c", "-a", socket.to_str().unwrap()], |c| {
            c.env("XDG_RUNTIME_DIR", kps.dir.path());
        })
        .ok();
    let script = run.stdout();
    let quoted = format!("setenv SSH_AUTH_SOCK '{}';\n", socket.display());
    assert!(script.starts_with(&quoted), "{script}");
    let pid = script
        .lines()
        .find_map(|l| l.strip_prefix("setenv SSH_AGENT_PID "))
        .unwrap()
        .trim_end_matches(';')
        .to_string();
    // The path is taken now: a second agent there is refused, and the
    // first one's socket is left alone.
    let run = kps
        .run(&["--json", "agent", "-a", socket.to_str().unwrap()])
        .expect(1);
    assert_eq!(run.error_json()["error_code"], "KPS.7040");
    assert!(socket.exists());
    term(pid.parse().unwrap());

    // A wrong passphrase, reported by the background agent through the
    // command that started it, with its exit status.
    std::fs::write(kps.path("wrong"), "not it\n").unwrap();
    let run = kps
        .run_with(&["--json", "agent"], |c| {
            c.env("KPS_PASSPHRASE_FILE", kps.path("wrong"))
                .env("XDG_RUNTIME_DIR", kps.dir.path());
        })
        .expect(6);
    assert_eq!(run.error_json()["error_code"], "KPS.7002");
    let run = kps
        .run_with(&["agent", "-D"], |c| {
            c.env("KPS_PASSPHRASE_FILE", kps.path("wrong"));
        })
        .expect(6);
    assert!(run.stderr().contains("wrong store passphrase"));

    // Refused before anything is unlocked.
    std::fs::write(kps.path("ed.pub"), public_line(&kps, "ed")).unwrap();
    kps.run(&["import", "pubonly", "--public-key", "ed.pub"])
        .ok();
    for (args, code, error) in [
        (vec!["agent", "pubonly"], 5, "KPS.6005"),
        (vec!["agent", "nosuch"], 3, "KPS.4016"),
        (vec!["agent", "--lifetime", "soon"], 2, "KPS.0002"),
        (vec!["agent", "--lifetime", "0"], 2, "KPS.0002"),
        (vec!["agent", "-s", "-c"], 2, "KPS.0002"),
    ] {
        let mut all = vec!["--json"];
        all.extend(&args);
        let run = kps.run(&all).expect(code);
        assert_eq!(run.error_json()["error_code"], error, "{args:?}");
    }
    let bad = kps.path("bad\nname");
    let run = kps
        .run(&["--json", "agent", "-a", bad.to_str().unwrap()])
        .expect(2);
    assert_eq!(run.error_json()["error_code"], "KPS.0002");
}

#[test]
fn kms_keypairs_are_served_with_the_pin_only() {
    use common::hsm::*;
    if !have_softhsm() || !have_tool("ssh-add") {
        return;
    }
    let kps = Kps::new();
    let hsm = Hsm::new(&kps.path("hsm"));
    let pin_file = kps.path("pin");
    std::fs::write(&pin_file, format!("{PIN}\n")).unwrap();
    let with_token = |c: &mut Command| {
        c.env("SOFTHSM2_CONF", &hsm.conf)
            .env("KPS_PKCS11_PIN_FILE", &pin_file);
    };
    hsm.set_up_kms(&kps, with_token);
    kps.run_with(
        &[
            "create",
            "hsmkey",
            "--encryption",
            "kms",
            "--kms-key-name",
            "kps/default",
        ],
        with_token,
    )
    .ok();
    // In the background: the PIN goes to the agent through the pipe (its
    // environment no longer names the PIN file), and no store passphrase
    // is needed at all.
    let run = kps
        .run_with(&["--json", "agent", "hsmkey"], |c| {
            with_token(c);
            c.env_remove("KPS_PASSPHRASE_FILE")
                .env("XDG_RUNTIME_DIR", kps.dir.path());
        })
        .ok();
    let doc = run.json();
    assert_eq!(doc["keys"], serde_json::json!(["hsmkey"]));
    let pid = doc["pid"].as_u64().unwrap() as u32;
    let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap();
    assert!(!String::from_utf8_lossy(&environ).contains("KPS_PKCS11_PIN"));
    let out = Command::new("ssh-add")
        .arg("-l")
        .env("SSH_AUTH_SOCK", doc["socket"].as_str().unwrap())
        .output()
        .unwrap();
    term(pid);
    assert!(String::from_utf8_lossy(&out.stdout).contains(" hsmkey (ED25519)"));
    // A wrong PIN is the command's error, with its status.
    std::fs::write(&pin_file, "not it\n").unwrap();
    let run = kps
        .run_with(&["--json", "agent", "hsmkey"], |c| {
            with_token(c);
            c.env("XDG_RUNTIME_DIR", kps.dir.path());
        })
        .expect(6);
    assert_eq!(run.error_json()["error_code"], "KPS.7024");
}

/// An SSH_ASKPASS script that records what it was asked (the
/// SSH_ASKPASS_PROMPT hint, then its argument) in `asked`, and answers as
/// the file `answer` says: `yes` prints yes and exits 0, `empty` prints
/// nothing and exits 0 (also yes, as for ssh-agent), `no` exits 1, `other`
/// prints "no" and exits 0 (not yes).
fn askpass_script(kps: &Kps) -> PathBuf {
    let script = kps.path("askpass.sh");
    let dir = kps.dir.path().display();
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nprintf '%s|%s\\n--\\n' \"$SSH_ASKPASS_PROMPT\" \"$1\" >> '{dir}/asked'\n\
             case $(cat '{dir}/answer') in\n  yes) echo yes ;;\n  empty) ;;\n  no) exit 1 ;;\n  *) echo no ;;\nesac\n"
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    script
}

fn sign_file(kps: &Kps, agent: &Agent, pub_file: &Path) -> bool {
    let _ = std::fs::remove_file(kps.path("msg.sig"));
    Command::new("ssh-keygen")
        .args(["-Y", "sign", "-n", "file", "-f"])
        .arg(pub_file)
        .arg(kps.path("msg"))
        .env("SSH_AUTH_SOCK", &agent.socket)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap()
        .success()
        && kps.path("msg.sig").exists()
}

#[test]
fn confirm_through_askpass_yes_and_no_names_the_key_and_the_host() {
    if !have_tool("ssh-keygen") {
        return;
    }
    let kps = Kps::new();
    kps.create("ed", &[]);
    let public = public_line(&kps, "ed");
    let pub_file = kps.path("ed.pub");
    std::fs::write(&pub_file, &public).unwrap();
    std::fs::write(kps.path("msg"), "a message\n").unwrap();
    let script = askpass_script(&kps);
    let agent = Agent::start_with(&kps, &["--confirm"], |c| {
        c.env("SSH_ASKPASS", &script)
            .env("SSH_ASKPASS_REQUIRE", "force")
            .env_remove("DISPLAY")
            .env_remove("WAYLAND_DISPLAY");
    });
    let key_fp = kps.run(&["--json", "show", "ed"]).ok().json()["keypair"]["fingerprint"]
        .as_str()
        .unwrap()
        .to_string();
    let asked = || std::fs::read_to_string(kps.path("asked")).unwrap_or_default();
    for (answer, signed) in [
        ("yes", true),
        ("empty", true),
        ("no", false),
        ("other", false),
    ] {
        std::fs::write(kps.path("answer"), answer).unwrap();
        let before = asked().matches("--\n").count();
        assert_eq!(
            sign_file(&kps, &agent, &pub_file),
            signed,
            "answer {answer}"
        );
        assert_eq!(
            asked().matches("--\n").count(),
            before + 1,
            "answer {answer}"
        );
    }
    // Listing the keys asks nothing.
    let listed = agent.tool("ssh-add", &["-l"]);
    assert!(listed.status.success());
    assert_eq!(asked().matches("--\n").count(), 4);
    let text = asked();
    let first = text.split("--\n").next().unwrap();
    assert!(
        first.starts_with("confirm|Allow use of key ed (SHA256:"),
        "{first}"
    );
    assert!(first.contains(&key_fp), "{first} lacks {key_fp}");
    // ssh-keygen binds no session: the question says so.
    assert!(first.contains("no session-bind"), "{first}");

    // An ssh login sends session-bind: the question names the server's
    // host key, as ssh-keygen -lf prints it; with "no" the login fails.
    if !have_sshd() {
        return;
    }
    let dir = kps.path("sshd");
    std::fs::create_dir(&dir).unwrap();
    let sshd = Sshd::start(&dir, &public);
    std::fs::write(kps.path("answer"), "yes").unwrap();
    let (ok, stderr) = ssh_login(&sshd, &agent.socket, &pub_file, &[]);
    assert!(ok, "{stderr}\nsshd: {}", sshd.log_text());
    let text = asked();
    let last = text.trim_end_matches("--\n").rsplit("--\n").next().unwrap();
    let host_line = format!("Host key {}.", sshd.host_fingerprint);
    assert!(last.contains(&host_line), "{last} lacks {host_line}");
    assert!(last.contains("Allow use of key ed "), "{last}");
    std::fs::write(kps.path("answer"), "no").unwrap();
    let (ok, _) = ssh_login(&sshd, &agent.socket, &pub_file, &[]);
    assert!(!ok, "a refused signature logged in");
}

#[test]
fn confirm_with_no_way_to_ask_is_refused_at_start() {
    let kps = Kps::new();
    kps.create("ed", &[]);
    let script = askpass_script(&kps);
    let no_display = |c: &mut Command| {
        c.env_remove("DISPLAY")
            .env_remove("WAYLAND_DISPLAY")
            .env_remove("SSH_ASKPASS_REQUIRE")
            .env("XDG_RUNTIME_DIR", kps.dir.path());
    };
    // In the background there is no terminal; no display, so no askpass.
    let run = kps
        .run_with(&["--json", "agent", "--confirm"], no_display)
        .expect(1);
    assert_eq!(run.error_json()["error_code"], "KPS.7045");
    assert!(run.stdout().is_empty(), "{}", run.stdout());
    // Askpass forbidden, in the foreground without a terminal (stdin and
    // stdout are pipes; setsid leaves no controlling terminal).
    if have_tool("setsid") {
        let run = kps
            .run_with(&["--json", "agent", "-D", "--confirm"], |c| {
                no_display(c);
                c.env("SSH_ASKPASS_REQUIRE", "never")
                    .env("SSH_ASKPASS", &script)
                    .env("DISPLAY", ":0");
                let args: Vec<_> = c.get_args().map(|a| a.to_owned()).collect();
                let program = c.get_program().to_owned();
                let envs: Vec<_> = c
                    .get_envs()
                    .map(|(k, v)| (k.to_owned(), v.map(|v| v.to_owned())))
                    .collect();
                *c = Command::new("setsid");
                c.arg("-w").arg(program).args(args);
                for (k, v) in envs {
                    match v {
                        Some(v) => c.env(k, v),
                        None => c.env_remove(k),
                    };
                }
            })
            .expect(1);
        assert_eq!(run.error_json()["error_code"], "KPS.7045");
        assert!(
            run.error_json()["error_msg"]
                .as_str()
                .unwrap()
                .contains("SSH_ASKPASS_REQUIRE=never")
        );
    }
    // Forced, but the program is not there: refused now, not at the first
    // signature. The message escapes the name it quotes.
    let run = kps
        .run_with(&["--json", "agent", "--confirm"], |c| {
            no_display(c);
            c.env("SSH_ASKPASS_REQUIRE", "force")
                .env("SSH_ASKPASS", kps.path("no\x1bsuch"));
        })
        .expect(1);
    assert_eq!(run.error_json()["error_code"], "KPS.7045");
    assert!(!run.stderr().contains('\x1b'));
    // Nothing was left listening.
    let leftover: Vec<_> = std::fs::read_dir(kps.dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("kps-agent"))
        .collect();
    assert!(leftover.is_empty(), "{leftover:?}");
}

/// A private tmux server (socket in the test's directory) running one
/// command in a pane; killed when dropped. tests/terminal.rs has the full
/// driver; this is what the agent's terminal approval needs.
struct Tmux {
    socket: PathBuf,
}

impl Tmux {
    fn run(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .args(["-f", "/dev/null"])
            .args(args)
            .env_remove("TMUX")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-J", "-S", "-", "-t", "kps"])
    }

    fn wait_for(&self, text: &str, n: usize) -> String {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            let screen = self.screen();
            if screen.matches(text).count() >= n {
                return screen;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no {text:?} (x{n}) on the screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .arg("kill-server")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

#[test]
fn confirm_in_the_foreground_asks_at_the_terminal() {
    if !(have_tool("tmux") && have_tool("ssh-keygen")) {
        return;
    }
    let kps = Kps::new();
    kps.create("ed", &[]);
    let pub_file = kps.path("ed.pub");
    std::fs::write(&pub_file, public_line(&kps, "ed")).unwrap();
    std::fs::write(kps.path("msg"), "a message\n").unwrap();
    let socket = kps.path("agent.sock");
    let tmux = Tmux {
        socket: kps.path("tmux.sock"),
    };
    // No display, no askpass: the terminal is the only way to ask.
    tmux.run(&[
        "new-session",
        "-d",
        "-s",
        "kps",
        "-x",
        "200",
        "-y",
        "50",
        "--",
        "env",
        "-i",
        "PATH=/usr/bin:/bin",
        "TERM=xterm",
        &format!("KPS_STORE={}", kps.store.display()),
        &format!("KPS_PASSPHRASE_FILE={}", kps.pass_file.display()),
        &format!("XDG_CONFIG_HOME={}", kps.config_home().display()),
        "/bin/sh",
        "-c",
        "trap : INT; \"$@\"; echo \"[kps exited $?]\"; exec sleep 600",
        "sh",
        bin(),
        "agent",
        "-D",
        "--confirm",
        "-a",
        socket.to_str().unwrap(),
    ]);
    tmux.wait_for("asked for at this terminal", 1);
    for (n, (typed, signed)) in [("y", true), ("n", false), ("yes", true), ("", false)]
        .into_iter()
        .enumerate()
    {
        let signer = {
            let kps_dir = kps.dir.path().to_path_buf();
            let (pub_file, socket) = (pub_file.clone(), socket.clone());
            std::thread::spawn(move || {
                let _ = std::fs::remove_file(kps_dir.join("msg.sig"));
                Command::new("ssh-keygen")
                    .args(["-Y", "sign", "-n", "file", "-f"])
                    .arg(&pub_file)
                    .arg(kps_dir.join("msg"))
                    .env("SSH_AUTH_SOCK", &socket)
                    .stdin(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .unwrap()
                    .success()
            })
        };
        let screen = tmux.wait_for("sign? [y/N]", n + 1);
        assert!(screen.contains("Allow use of key ed (SHA256:"), "{screen}");
        if !typed.is_empty() {
            tmux.run(&["send-keys", "-t", "kps", "-l", "--", typed]);
        }
        tmux.run(&["send-keys", "-t", "kps", "Enter"]);
        assert_eq!(
            signer.join().unwrap(),
            signed,
            "typed {typed:?}:\n{}",
            tmux.screen()
        );
        assert_eq!(kps.path("msg.sig").exists(), signed);
    }
    let screen = tmux.screen();
    assert_eq!(screen.matches("kps agent: signed").count(), 2, "{screen}");
    assert_eq!(screen.matches("kps agent: refused").count(), 2, "{screen}");
    // Ctrl-C stops the agent, which removes its socket.
    tmux.run(&["send-keys", "-t", "kps", "C-c"]);
    tmux.wait_for("[kps exited", 1);
    assert!(!socket.exists());
}
