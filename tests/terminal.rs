//! kps's interactive side, driven for real at a terminal: each test runs kps
//! in a fixed-size pane of its own private tmux server, types into it with
//! `send-keys`, and checks what the screen shows with `capture-pane`. This is
//! what the other tests cannot see: hidden passphrase prompts, the delete
//! confirmation, the RSA spinner and colour in error messages.
mod common;
use common::*;

use std::ffi::{OsStr, OsString};
use std::marker::PhantomData;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// How long any one expected thing may take to reach the screen. Generous, so
/// that a loaded machine (parallel tests, debug builds) is slow, not red.
const DEADLINE: Duration = Duration::from_secs(20);

/// How often the screen is read while waiting. Each read starts a tmux
/// client, so this is not made smaller than it needs to be.
const POLL: Duration = Duration::from_millis(50);

/// Printed by the shell that runs kps in the pane, after kps exits. The
/// shell then stays alive: tmux can drop the last output of a pane whose
/// process exits at once, and the marker says when kps is done and how.
const EXITED: &str = "[kps exited ";

const COLS: u32 = 200;
const ROWS: u32 = 50;

/// One tmux server, private to a test (its socket is in the test's store
/// directory), with one pane running one kps command. Dropping it kills the
/// server and everything in it, whatever the outcome of the test; it borrows
/// the `Kps` so that this happens before the directory is removed.
struct Terminal<'a> {
    socket: PathBuf,
    tty: String,
    server_pid: Option<u32>,
    _dir: PhantomData<&'a Kps>,
}

impl Drop for Terminal<'_> {
    fn drop(&mut self) {
        let _ = tmux_command(&self.socket)
            .arg("kill-server")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        // kill-server only asks; wait (briefly, never panicking here) until
        // the server is gone, so that no test leaves one behind.
        let Some(pid) = self.server_pid else { return };
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
                // The state follows the parenthesised command name; a zombie
                // is gone as far as the test is concerned.
                Ok(stat) if !stat.rsplit(')').next().unwrap_or("").starts_with(" Z") => {}
                _ => return,
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

fn tmux_command(socket: &std::path::Path) -> Command {
    let mut cmd = Command::new("tmux");
    // No user config, and no idea of being nested in the developer's tmux.
    cmd.arg("-S")
        .arg(socket)
        .arg("-f")
        .arg("/dev/null")
        .env_remove("TMUX")
        .stdin(Stdio::null());
    cmd
}

fn env_pair(key: &str, value: impl AsRef<OsStr>) -> OsString {
    let mut pair = OsString::from(key);
    pair.push("=");
    pair.push(value);
    pair
}

impl<'a> Terminal<'a> {
    /// Start `kps ARGS` in a new pane, with a clean environment: only PATH,
    /// HOME, TERM, KPS_STORE and `env`. Secrets never go here; they are typed.
    fn start(kps: &'a Kps, env: &[(&str, &OsStr)], args: &[&str]) -> Terminal<'a> {
        // A new socket for every server: a new server on the socket of one
        // being killed can reach the dying one ("server exited unexpectedly").
        static SERVERS: AtomicUsize = AtomicUsize::new(0);
        let n = SERVERS.fetch_add(1, Ordering::Relaxed);
        let mut term = Terminal {
            socket: kps.path(&format!("tmux-{n}.sock")),
            tty: String::new(),
            server_pid: None,
            _dir: PhantomData,
        };
        let mut cmd = tmux_command(&term.socket);
        cmd.args(["new-session", "-d", "-s", "kps", "-x"])
            .arg(COLS.to_string())
            .arg("-y")
            .arg(ROWS.to_string())
            .arg("--")
            .args(["env", "-i", "PATH=/usr/bin:/bin", "TERM=xterm"])
            .arg(env_pair("HOME", kps.dir.path()))
            .arg(env_pair("KPS_STORE", &kps.store));
        for (k, v) in env {
            cmd.arg(env_pair(k, v));
        }
        // `trap : INT` keeps the shell (not kps: a handler is reset by exec)
        // alive if kps is interrupted, so the marker is still printed.
        cmd.args([
            "/bin/sh",
            "-c",
            "trap : INT; \"$@\"; echo \"[kps exited $?]\"; exec sleep 600",
            "sh",
            bin(),
        ])
        .args(args);
        let out = cmd.output().expect("run tmux");
        assert!(
            out.status.success(),
            "tmux new-session failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        term.server_pid = term
            .tmux(&["display-message", "-p", "-t", "kps", "#{pid}"])
            .parse()
            .ok();
        term.tty = term.tmux(&["display-message", "-p", "-t", "kps", "#{pane_tty}"]);
        assert!(term.tty.starts_with("/dev/"), "pane tty: {:?}", term.tty);
        term
    }

    fn tmux(&self, args: &[&str]) -> String {
        let out = tmux_command(&self.socket)
            .args(args)
            .output()
            .expect("run tmux");
        assert!(
            out.status.success(),
            "tmux {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim_end().to_string()
    }

    /// Everything the pane has shown, history included, wrapped lines joined.
    fn screen(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-J", "-S", "-", "-t", "kps"])
    }

    /// The same with the escape sequences for colours and attributes.
    fn screen_with_escapes(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-e", "-J", "-S", "-", "-t", "kps"])
    }

    /// Read the screen every `every` until `ok` holds; fail at once if kps
    /// exits first, and after `DEADLINE` otherwise, showing the screen.
    fn wait_until_every(&self, what: &str, every: Duration, ok: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let screen = self.screen();
            if ok(&screen) {
                return screen;
            }
            if screen.contains(EXITED) {
                panic!("kps exited before the screen showed {what}; it shows:\n{screen}");
            }
            if Instant::now() > deadline {
                panic!("no {what} on the screen after {DEADLINE:?}; it shows:\n{screen}");
            }
            std::thread::sleep(every);
        }
    }

    fn wait_for(&self, text: &str) -> String {
        self.wait_for_nth(text, 1)
    }

    /// Wait until `text` is on the screen `n` times (a prompt asked again).
    fn wait_for_nth(&self, text: &str, n: usize) -> String {
        self.wait_until_every(&format!("{text:?} (x{n})"), POLL, |s| {
            s.matches(text).count() >= n
        })
    }

    /// Wait until kps reads the terminal with echo off (a hidden prompt, or
    /// the raw mode of a confirmation). Prompts are printed just before the
    /// terminal is switched; what is typed before the switch is echoed, and
    /// at a passphrase prompt also thrown away (TCSAFLUSH), so typing on
    /// sight of the prompt alone would race with kps.
    fn wait_for_hidden_input(&self) {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let out = Command::new("stty")
                .arg("-F")
                .arg(&self.tty)
                .arg("-a")
                .stdin(Stdio::null())
                .output()
                .expect("run stty");
            let settings = String::from_utf8_lossy(&out.stdout);
            if settings.split_whitespace().any(|flag| flag == "-echo") {
                return;
            }
            if Instant::now() > deadline {
                panic!(
                    "the terminal never had echo off ({settings}); the screen shows:\n{}",
                    self.screen()
                );
            }
            std::thread::sleep(POLL);
        }
    }

    /// Type `text` (literally, no key names) without pressing Enter.
    fn type_text(&self, text: &str) {
        self.tmux(&["send-keys", "-t", "kps", "-l", "--", text]);
    }

    fn enter(&self) {
        self.tmux(&["send-keys", "-t", "kps", "Enter"]);
    }

    /// Wait for kps to exit; its exit status and the final screen.
    fn finish(&self) -> (i32, String) {
        let screen = self.wait_until_every("the exit of kps", POLL, |s| s.contains(EXITED));
        let rest = &screen[screen.find(EXITED).unwrap() + EXITED.len()..];
        let code = rest[..rest.find(']').expect("end of the exit marker")]
            .parse()
            .expect("exit status");
        (code, screen)
    }

    /// Is the cursor shown? (Prompts that hide it must give it back.)
    fn cursor_visible(&self) -> bool {
        self.tmux(&["display-message", "-p", "-t", "kps", "#{cursor_flag}"]) == "1"
    }
}

fn assert_hidden(screen: &str, secrets: &[&str]) {
    for secret in secrets {
        assert!(
            !screen.contains(secret),
            "the typed passphrase {secret:?} is on the screen:\n{screen}"
        );
    }
}

/// Type a passphrase at a hidden prompt, once kps reads with echo off, and
/// press Enter.
fn type_secret(term: &Terminal, secret: &str) {
    term.wait_for_hidden_input();
    term.type_text(secret);
    term.enter();
}

#[test]
fn first_create_asks_for_a_new_passphrase_twice_without_echo() {
    if !have_tool("tmux") {
        return;
    }
    let kps = Kps::empty();
    let first = "Qx7-mango-first";
    let mismatch = "Qx7-kiwi-mismatch";
    let typed = "Qx7-plum typed at the terminal";
    let secrets = [first, mismatch, typed];
    let mut args = vec!["create", "demo"];
    args.extend(CHEAP_KDF);
    let term = Terminal::start(&kps, &[], &args);

    assert_hidden(&term.wait_for("New store passphrase:"), &secrets);
    type_secret(&term, first);
    assert_hidden(&term.wait_for("Repeat passphrase:"), &secrets);
    type_secret(&term, mismatch);
    let screen = term.wait_for_nth("New store passphrase:", 2);
    assert!(
        screen.contains("error: Passphrases do not match, try again"),
        "{screen}"
    );
    assert_hidden(&screen, &secrets);

    type_secret(&term, typed);
    assert_hidden(&term.wait_for_nth("Repeat passphrase:", 2), &secrets);
    type_secret(&term, typed);
    let (code, screen) = term.finish();
    assert_eq!(code, 0, "{screen}");
    assert!(
        screen.contains("New store passphrase: [hidden]"),
        "{screen}"
    );
    assert!(
        screen.contains("Created keypair demo (ssh-ed25519 256)"),
        "{screen}"
    );
    assert_hidden(&screen, &secrets);
    drop(term);

    // The passphrase typed twice is the store's; the one before the
    // mismatch was thrown away.
    let typed_file = kps.path("typed");
    std::fs::write(&typed_file, format!("{typed}\n")).unwrap();
    let out = kps
        .run_with(&["export", "demo", "-o", "-"], |c| {
            c.env("KPS_PASSPHRASE_FILE", &typed_file);
        })
        .ok();
    assert!(
        out.stdout()
            .starts_with("-----BEGIN OPENSSH PRIVATE KEY-----"),
        "{}",
        out.stdout()
    );
    let first_file = kps.path("first");
    std::fs::write(&first_file, first).unwrap();
    kps.run_with(&["export", "demo", "-o", "-"], |c| {
        c.env("KPS_PASSPHRASE_FILE", &first_file);
    })
    .expect(6);
}

#[test]
fn an_empty_new_passphrase_gets_a_message_and_the_first_create_a_note() {
    if !have_tool("tmux") {
        return;
    }
    let kps = Kps::empty();
    let typed = "Qx7-plum typed after an empty line";
    let mut args = vec!["create", "demo"];
    args.extend(CHEAP_KDF);
    let term = Terminal::start(&kps, &[], &args);
    term.wait_for("New store passphrase:");
    term.wait_for_hidden_input();
    term.enter();
    let screen = term.wait_for_nth("New store passphrase:", 2);
    assert!(
        screen.contains("the store passphrase cannot be empty"),
        "{screen}"
    );
    assert!(!screen.contains("Repeat passphrase"), "{screen}");
    type_secret(&term, typed);
    term.wait_for("Repeat passphrase:");
    type_secret(&term, typed);
    let (code, screen) = term.finish();
    assert_eq!(code, 0, "{screen}");
    assert!(
        screen.contains(&format!(
            "note: created a new store at {}",
            kps.store.display()
        )),
        "{screen}"
    );
    assert!(screen.contains("cannot be recovered"), "{screen}");
    assert_hidden(&screen, &[typed]);
}

#[test]
fn export_asks_for_the_store_passphrase_without_echo() {
    if !have_tool("tmux") {
        return;
    }
    let kps = Kps::new();
    kps.create("demo", &[]);
    let key = kps.run(&["export", "demo", "-o", "-"]).ok().stdout();

    let term = Terminal::start(&kps, &[], &["export", "demo", "-o", "-"]);
    term.wait_for("Store passphrase:");
    type_secret(&term, PASSPHRASE);
    let (code, screen) = term.finish();
    assert_eq!(code, 0, "{screen}");
    assert!(screen.contains("Store passphrase: [hidden]"), "{screen}");
    for line in key.lines() {
        assert!(
            screen.contains(line),
            "{line:?} is not on the screen:\n{screen}"
        );
    }
    assert_hidden(&screen, &[PASSPHRASE]);
    drop(term);

    // Wrong three times, as ssh allows: asked again twice, then exit 6, and
    // no hint about passphrase files or variables (none was used).
    let wrong = "Qx7-not the passphrase";
    let term = Terminal::start(&kps, &[], &["export", "demo", "-o", "-"]);
    for n in 1..=3 {
        term.wait_for_nth("Store passphrase:", n);
        type_secret(&term, wrong);
        if n < 3 {
            term.wait_for_nth("Wrong passphrase, try again.", n);
        }
    }
    let (code, screen) = term.finish();
    assert_eq!(code, 6, "{screen}");
    assert!(
        screen.contains("error: wrong store passphrase (3 tries)"),
        "{screen}"
    );
    assert!(screen.contains("hint: nothing was changed"), "{screen}");
    for source in ["--passphrase-file", "KPS_PASSPHRASE"] {
        assert!(!screen.contains(source), "{screen}");
    }
    assert_eq!(screen.matches("Store passphrase:").count(), 3, "{screen}");
    assert!(!screen.contains("PRIVATE KEY"), "{screen}");
    assert_hidden(&screen, &[wrong]);
}

#[test]
fn a_mistyped_store_passphrase_is_asked_for_again() {
    if !have_tool("tmux") {
        return;
    }
    let kps = Kps::new();
    kps.create("demo", &[]);
    let wrong = ["Qx7-first typo", "Qx7-second typo"];
    let term = Terminal::start(&kps, &[], &["export", "demo", "-o", "-"]);
    for (n, typed) in wrong.iter().enumerate() {
        term.wait_for_nth("Store passphrase:", n + 1);
        type_secret(&term, typed);
        term.wait_for_nth("Wrong passphrase, try again.", n + 1);
    }
    term.wait_for_nth("Store passphrase:", 3);
    type_secret(&term, PASSPHRASE);
    let (code, screen) = term.finish();
    assert_eq!(code, 0, "{screen}");
    assert!(
        screen.contains("-----BEGIN OPENSSH PRIVATE KEY-----"),
        "{screen}"
    );
    let mut secrets = wrong.to_vec();
    secrets.push(PASSPHRASE);
    assert_hidden(&screen, &secrets);
}

#[test]
fn a_wrong_passphrase_file_is_not_retried_and_the_hint_names_it() {
    if !have_tool("tmux") {
        return;
    }
    let kps = Kps::new();
    kps.create("demo", &[]);
    let wrong = kps.path("wrong-pass");
    std::fs::write(&wrong, "Qx7-not the passphrase\n").unwrap();
    let term = Terminal::start(
        &kps,
        &[("KPS_PASSPHRASE_FILE", wrong.as_os_str())],
        &["export", "demo", "-o", "-"],
    );
    let (code, screen) = term.finish();
    assert_eq!(code, 6, "{screen}");
    assert!(!screen.contains("Store passphrase:"), "{screen}");
    assert!(screen.contains("error: wrong store passphrase"), "{screen}");
    assert!(
        screen.contains(&format!(
            "hint: nothing was changed; check the file {} (KPS_PASSPHRASE_FILE)",
            wrong.display()
        )),
        "{screen}"
    );
}

#[test]
fn import_from_dir_asks_for_each_encrypted_files_passphrase() {
    if !(have_tool("tmux") && have_tool("ssh-keygen")) {
        return;
    }
    let kps = Kps::new();
    let dir = kps.path("dotssh");
    std::fs::create_dir(&dir).unwrap();
    let (first, second, typo) = ("Qx7-first key", "Qx7-second key", "Qx7-typo");
    sh(
        &format!(
            "ssh-keygen -q -t ed25519 -N '{first}' -f a_locked
             ssh-keygen -q -t ed25519 -N '{second}' -f b_locked
             ssh-keygen -q -t ed25519 -N 'Qx7-never typed' -f c_skipped
             ssh-keygen -q -t ed25519 -N '' -f plain"
        ),
        &dir,
    );
    let term = Terminal::start(
        &kps,
        &[("KPS_PASSPHRASE_FILE", kps.pass_file.as_os_str())],
        &["import", "--from-dir", dir.to_str().unwrap()],
    );
    let prompt = |file: &str| {
        format!(
            "Passphrase for {} (empty: leave it out):",
            dir.join(file).display()
        )
    };
    term.wait_for(&prompt("a_locked"));
    type_secret(&term, typo);
    term.wait_for("Wrong passphrase, try again.");
    term.wait_for_nth(&prompt("a_locked"), 2);
    type_secret(&term, first);
    term.wait_for(&prompt("b_locked"));
    type_secret(&term, second);
    // An empty answer leaves the file out.
    term.wait_for(&prompt("c_skipped"));
    term.wait_for_hidden_input();
    term.enter();
    let (code, screen) = term.finish();
    assert_eq!(code, 8, "{screen}");
    for name in ["a_locked", "b_locked", "plain"] {
        assert!(
            screen.contains(&format!("Imported keypair {name} (ssh-ed25519 256)")),
            "{screen}"
        );
    }
    assert!(
        screen.contains("error: 1 key file left out; 3 keys imported"),
        "{screen}"
    );
    assert!(
        screen.contains("c_skipped: the key file is encrypted"),
        "{screen}"
    );
    assert!(
        screen.contains("no passphrase was typed for it"),
        "{screen}"
    );
    assert_hidden(&screen, &[first, second, typo]);
    drop(term);
    let names = kps.run(&["list", "--names"]).ok().stdout();
    assert_eq!(
        names.lines().collect::<Vec<_>>(),
        ["a_locked", "b_locked", "plain"]
    );
}

#[test]
fn ask_key_passphrase_gives_three_tries() {
    if !(have_tool("tmux") && have_tool("ssh-keygen")) {
        return;
    }
    let kps = Kps::new();
    sh(
        "ssh-keygen -q -t ed25519 -N 'Qx7-right' -f k",
        kps.dir.path(),
    );
    let wrong = "Qx7-wrong";
    let term = Terminal::start(
        &kps,
        &[("KPS_PASSPHRASE_FILE", kps.pass_file.as_os_str())],
        &[
            "import",
            "k",
            "--private-key",
            kps.path("k").to_str().unwrap(),
            "--ask-key-passphrase",
        ],
    );
    for n in 1..=3 {
        term.wait_for_nth("Key file passphrase:", n);
        type_secret(&term, wrong);
    }
    let (code, screen) = term.finish();
    assert_eq!(code, 5, "{screen}");
    assert_eq!(
        screen.matches("Wrong passphrase, try again.").count(),
        2,
        "{screen}"
    );
    assert!(
        screen.contains("error: wrong passphrase for the key file (3 tries)"),
        "{screen}"
    );
    assert!(
        screen.contains("hint: nothing was stored from it"),
        "{screen}"
    );
    assert!(!screen.contains("--key-passphrase-file"), "{screen}");
    assert_hidden(&screen, &[wrong]);
    drop(term);
    assert!(kps.run(&["list", "--names"]).ok().stdout().is_empty());
}

#[test]
fn delete_asks_for_confirmation_naming_the_keypair() {
    if !have_tool("tmux") {
        return;
    }
    let kps = Kps::new();
    let created = kps.create("demo", &[]);
    let fingerprint = created["keypair"]["fingerprint"].as_str().unwrap();
    let question = format!(
        "Delete keypair 'demo' (ssh-ed25519 {fingerprint})? Its private key cannot be recovered"
    );
    let names = |kps: &Kps| -> Vec<String> {
        kps.run(&["--json", "list"]).ok().json()["keypairs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["keypair"]["name"].as_str().unwrap().to_string())
            .collect()
    };

    // A single key answers; no Enter.
    let term = Terminal::start(&kps, &[], &["delete", "demo"]);
    term.wait_for(&format!("{question} [y/N]"));
    term.wait_for_hidden_input();
    term.type_text("n");
    let (code, screen) = term.finish();
    assert_eq!(code, 1, "{screen}");
    assert!(screen.contains(&format!("{question} no")), "{screen}");
    // Exit 1 for scripts, but a plain line: answering no is not an error.
    assert!(screen.contains("Not deleted: keypair demo"), "{screen}");
    assert!(!screen.contains("error"), "{screen}");
    assert!(term.cursor_visible(), "the cursor is left hidden");
    drop(term);
    assert_eq!(names(&kps), ["demo"]);

    // With --json every failure is a JSON document on stderr: so is this.
    let term = Terminal::start(&kps, &[], &["--json", "delete", "demo"]);
    term.wait_for(&format!("{question} [y/N]"));
    term.wait_for_hidden_input();
    term.type_text("n");
    let (code, screen) = term.finish();
    assert_eq!(code, 1, "{screen}");
    assert!(
        screen.contains(r#"{"error_code":"KPS.7011","error_msg":"Not deleted: keypair demo"}"#),
        "{screen}"
    );
    drop(term);
    assert_eq!(names(&kps), ["demo"]);

    let term = Terminal::start(&kps, &[], &["delete", "demo"]);
    term.wait_for(&format!("{question} [y/N]"));
    term.wait_for_hidden_input();
    term.type_text("y");
    let (code, screen) = term.finish();
    assert_eq!(code, 0, "{screen}");
    assert!(screen.contains(&format!("{question} yes")), "{screen}");
    assert!(screen.contains("Deleted keypair demo"), "{screen}");
    assert!(term.cursor_visible(), "the cursor is left hidden");
    drop(term);
    assert!(names(&kps).is_empty());
}

/// Does `screen` show the spinner for an RSA 4096 generation, with a time
/// such as `1.3s` after it?
fn spinner_shown(screen: &str) -> bool {
    const TEXT: &str = "generating RSA 4096 key ";
    screen.match_indices(TEXT).any(|(at, _)| {
        let rest = &screen[at + TEXT.len()..];
        let time = rest.split_whitespace().next().unwrap_or("");
        time.strip_suffix('s')
            .and_then(|t| t.split_once('.'))
            .is_some_and(|(whole, tenth)| {
                !whole.is_empty()
                    && whole.bytes().all(|b| b.is_ascii_digit())
                    && tenth.len() == 1
                    && tenth.bytes().all(|b| b.is_ascii_digit())
            })
    })
}

#[test]
fn rsa_generation_shows_a_spinner_only_at_a_terminal() {
    if !have_tool("tmux") {
        return;
    }
    let kps = Kps::new();
    let args = ["create", "big", "-t", "rsa", "-b", "4096"];
    let term = Terminal::start(
        &kps,
        &[("KPS_PASSPHRASE_FILE", kps.pass_file.as_os_str())],
        &args,
    );
    // RSA 4096 takes from a few hundred milliseconds to seconds; the spinner
    // redraws every 100 ms, so reading the screen every 20 ms sees it.
    let during = term.wait_until_every(
        "the spinner with its elapsed time",
        Duration::from_millis(20),
        spinner_shown,
    );
    let (code, screen) = term.finish();
    assert_eq!(code, 0, "{screen}");
    assert!(
        screen.contains("Created keypair big (ssh-rsa 4096)"),
        "{screen}"
    );
    // The spinner cleans up after itself.
    assert!(
        !screen.contains("generating RSA"),
        "the spinner line is left on the screen:\n{screen}\n(while running:\n{during})"
    );
    drop(term);

    // Not at a terminal: nothing on stderr at all.
    let piped = Kps::new();
    let out = piped.run(&args).ok();
    assert_eq!(out.stderr(), "", "stderr is not a terminal");
    assert!(
        out.stdout()
            .starts_with("Created keypair big (ssh-rsa 4096)")
    );
}

/// `kps show missing` at a terminal: exit status and the screen with escapes.
fn show_missing(kps: &Kps, env: &[(&str, &OsStr)]) -> String {
    let term = Terminal::start(kps, env, &["show", "missing"]);
    let (code, _) = term.finish();
    assert_eq!(code, 3);
    let screen = term.screen_with_escapes();
    assert!(
        screen.contains("keypair 'missing' does not exist"),
        "{screen:?}"
    );
    screen
}

fn error_line(screen: &str) -> &str {
    screen
        .lines()
        .find(|l| l.contains("keypair 'missing' does not exist"))
        .unwrap()
}

#[test]
fn errors_are_coloured_at_a_terminal_unless_no_color() {
    if !have_tool("tmux") {
        return;
    }
    let kps = Kps::new();

    for env in [&[][..], &[("NO_COLOR", OsStr::new(""))][..]] {
        let screen = show_missing(&kps, env);
        let line = error_line(&screen);
        let before = &line[..line.find("error").unwrap()];
        // Bold red, as tmux re-renders it.
        assert!(
            before.contains("\x1b[") && before.contains("31m"),
            "no colour before \"error\" ({env:?}): {line:?}"
        );
    }

    let screen = show_missing(&kps, &[("NO_COLOR", OsStr::new("1"))]);
    assert!(
        error_line(&screen).starts_with("error: keypair 'missing' does not exist"),
        "{screen:?}"
    );
    assert!(screen.contains("hint: see 'kps list'"), "{screen:?}");
    assert!(
        !screen.contains('\x1b'),
        "an escape sequence with NO_COLOR=1: {screen:?}"
    );
}

/// Does the pane's terminal echo input? (`stty -a` lists `echo` or `-echo`.)
fn echo_on(term: &Terminal) -> bool {
    let out = Command::new("stty")
        .arg("-F")
        .arg(&term.tty)
        .arg("-a")
        .stdin(Stdio::null())
        .output()
        .expect("run stty");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .any(|flag| flag == "echo")
}

#[test]
fn ctrl_c_at_a_prompt_gives_the_terminal_back() {
    if !have_tool("tmux") {
        return;
    }
    let kps = Kps::empty();
    let mut args = vec!["create", "demo"];
    args.extend(CHEAP_KDF);
    let term = Terminal::start(&kps, &[], &args);
    term.wait_for("New store passphrase:");
    term.wait_for_hidden_input();
    term.tmux(&["send-keys", "-t", "kps", "C-c"]);
    let (code, screen) = term.finish();
    assert_eq!(code, 130, "{screen}");
    assert!(screen.contains("error: cancelled"), "{screen}");
    assert!(echo_on(&term), "echo is still off after Ctrl-C");
    assert!(
        term.cursor_visible(),
        "the cursor is still hidden after Ctrl-C"
    );
    drop(term);
    // Nothing was stored.
    assert!(!kps.db().exists() || kps.run(&["list", "--names"]).ok().stdout().is_empty());
}

#[test]
fn bundle_and_key_passphrases_are_asked_without_echo() {
    if !have_tool("tmux") {
        return;
    }
    let kps = Kps::new();
    kps.create("demo", &[]);
    let env = [("KPS_PASSPHRASE_FILE", kps.pass_file.as_os_str())];
    let file = kps.path("demo.bundle");
    let bundle_pass = "Zq9 bundle words";
    // A new bundle passphrase is asked twice; the store's comes from its file.
    let term = Terminal::start(
        &kps,
        &env,
        &[
            "export-bundle",
            "demo",
            "-o",
            file.to_str().unwrap(),
            "--kdf-memory",
            "19456",
            "--kdf-passes",
            "2",
        ],
    );
    term.wait_for("New bundle passphrase:");
    type_secret(&term, bundle_pass);
    term.wait_for("Repeat passphrase:");
    type_secret(&term, bundle_pass);
    let (code, screen) = term.finish();
    assert_eq!(code, 0, "{screen}");
    assert_hidden(&screen, &[bundle_pass]);
    drop(term);

    // Another store takes it in, asking for the bundle passphrase once.
    let other = Kps::new();
    let other_env = [("KPS_PASSPHRASE_FILE", other.pass_file.as_os_str())];
    let term = Terminal::start(
        &other,
        &other_env,
        &["import", "--bundle", file.to_str().unwrap()],
    );
    term.wait_for("Bundle passphrase:");
    type_secret(&term, bundle_pass);
    let (code, screen) = term.finish();
    assert_eq!(code, 0, "{screen}");
    assert!(screen.contains("Imported keypair demo"), "{screen}");
    assert_hidden(&screen, &[bundle_pass]);
    drop(term);

    // export --ask-key-passphrase: typed twice, hidden, and it opens the file.
    let key_file = kps.path("demo.key");
    let key_pass = "Zq9 key words";
    let term = Terminal::start(
        &kps,
        &env,
        &[
            "export",
            "demo",
            "-o",
            key_file.to_str().unwrap(),
            "--ask-key-passphrase",
        ],
    );
    term.wait_for("New key passphrase:");
    type_secret(&term, key_pass);
    term.wait_for("Repeat passphrase:");
    type_secret(&term, key_pass);
    let (code, screen) = term.finish();
    assert_eq!(code, 0, "{screen}");
    assert_hidden(&screen, &[key_pass]);
    if have_tool("ssh-keygen") {
        let derived = tool_ok("ssh-keygen", &[&"-y", &"-P", &key_pass, &"-f", &key_file]);
        let public = kps.run(&["show", "demo", "--public"]).ok().stdout();
        assert_eq!(key_fields(&derived), key_fields(&public));
    }
}

/// `kps bind --ask-password`: the store passphrase, then the servers' login
/// password, both hidden; the password reaches the server (through kps's
/// askpass, not the terminal: ssh runs outside the terminal's process
/// group) and is never on the screen.
#[test]
fn bind_asks_for_the_login_password_without_echo() {
    if !have_tool("tmux") || !nssshd::have_unshare() {
        return;
    }
    let c = nssshd::KpsClient::new();
    let s = nssshd::NsSshd::new(nssshd::Layout::Ubuntu);
    c.trust(&s);
    c.create("web", &[]);
    let ssh = c.ssh_program();
    let runtime = c.runtime();
    let term = Terminal::start(
        &c.kps,
        &[
            ("KPS_SSH", ssh.as_os_str()),
            ("XDG_RUNTIME_DIR", runtime.as_os_str()),
        ],
        &[
            "bind",
            "web",
            &s.target("root"),
            "--ask-password",
            "--disable-password-login",
        ],
    );
    term.wait_for("Store passphrase:");
    type_secret(&term, PASSPHRASE);
    term.wait_for("Login password for the servers:");
    type_secret(&term, nssshd::ROOT_PASSWORD);
    let (code, screen) = term.finish();
    assert_eq!(code, 0, "{screen}");
    assert!(screen.contains("SUCCESS"), "{screen}");
    assert!(
        s.log_text().contains("Accepted password for root"),
        "{}",
        s.log_text()
    );
    assert_eq!(s.methods_offered("root"), "publickey");
    assert_hidden(&screen, &[PASSPHRASE, nssshd::ROOT_PASSWORD]);
}
