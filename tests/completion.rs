//! Completion in real shells (item 16 of issue 15): the scripts in
//! completions/ registered in bash, zsh and fish as the README says, TAB
//! pressed (or the shell's own completion query run), and the keypair names
//! of the store offered, for every argument that takes an existing keypair.
mod common;
use common::*;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Every subcommand whose NAME is an existing keypair.
const TAKES_A_STORED_KEYPAIR: &[&str] = &[
    "show",
    "export",
    "export-ppk",
    "get-win-password",
    "set-encryption",
    "delete",
    "export-bundle",
    "rename",
    "set",
    "agent",
    "ssh",
    "ssh-add",
    "bind",
    "unbind",
    "replace",
];

/// A store with three keypairs and a PATH whose `kps` is the one under test.
struct Setup {
    kps: Kps,
    bin_dir: PathBuf,
}

fn setup() -> Setup {
    let kps = Kps::new();
    for name in ["web01", "web02", "db"] {
        kps.create(name, &[]);
    }
    let bin_dir = kps.path("bin");
    std::fs::create_dir(&bin_dir).unwrap();
    std::os::unix::fs::symlink(bin(), bin_dir.join("kps")).unwrap();
    Setup { kps, bin_dir }
}

impl Setup {
    fn path_var(&self) -> String {
        format!("{}:/usr/bin:/bin", self.bin_dir.display())
    }

    /// A shell with nothing of the developer's: its own HOME, the store in
    /// KPS_STORE, no other KPS_ variable.
    fn shell(&self, program: &str) -> Command {
        let mut cmd = Command::new(program);
        cmd.env_clear()
            .env("HOME", self.kps.path("home"))
            .env("PATH", self.path_var())
            .env("KPS_STORE", &self.kps.store)
            .env("XDG_CONFIG_HOME", self.kps.config_home())
            .env("TERM", "xterm")
            .stdin(Stdio::null());
        cmd
    }
}

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("completions")
        .join(name)
}

fn lines(out: std::process::Output) -> Vec<String> {
    assert!(
        out.status.success(),
        "shell failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.split('\t').next().unwrap_or("").to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

/// What bash's completion function, as completions/kps.bash registers it,
/// puts in COMPREPLY for the words given (the last one being completed).
fn bash_complete(s: &Setup, words: &[&str]) -> Vec<String> {
    let words_array = words
        .iter()
        .map(|w| format!("'{w}'"))
        .collect::<Vec<_>>()
        .join(" ");
    let program = format!(
        r#"source "$1"
func=$(complete -p kps | sed -n 's/.*-F \([^ ]*\) kps$/\1/p')
[ -n "$func" ] || {{ echo "kps is not registered" >&2; exit 1; }}
COMP_WORDS=({words_array})
COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))
COMP_LINE="${{COMP_WORDS[*]}}"
COMP_POINT=${{#COMP_LINE}}
COMP_TYPE=9
"$func" kps "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD-1]}}"
printf '%s\n' "${{COMPREPLY[@]}}""#
    );
    lines(
        s.shell("bash")
            .arg("-c")
            .arg(program)
            .arg("bash")
            .arg(script("kps.bash"))
            .output()
            .unwrap(),
    )
}

fn fish_complete(s: &Setup, line: &str) -> Vec<String> {
    lines(
        s.shell("fish")
            .arg("--no-config")
            .arg("-c")
            .arg("source $argv[1]; complete --do-complete $argv[2]")
            .arg(script("kps.fish"))
            .arg(line)
            .output()
            .unwrap(),
    )
}

#[test]
fn bash_completes_keypair_names_for_every_command_that_takes_one() {
    if !have_tool("bash") {
        return;
    }
    let s = setup();
    for sub in TAKES_A_STORED_KEYPAIR {
        assert_eq!(
            bash_complete(&s, &["kps", sub, "w"]),
            ["web01", "web02"],
            "kps {sub} w<TAB>"
        );
    }
    // Subcommands and flags come from the same binary.
    assert_eq!(
        bash_complete(&s, &["kps", "exp"]),
        ["export", "export-ppk", "export-bundle"]
    );
    assert!(bash_complete(&s, &["kps", "show", "--pu"]).contains(&"--public".to_string()));
    // A new keypair's name is not completed from the store.
    assert!(!bash_complete(&s, &["kps", "create", "w"]).contains(&"web01".to_string()));
}

#[test]
fn fish_completes_keypair_names_with_their_algorithm() {
    if !have_tool("fish") {
        return;
    }
    let s = setup();
    for sub in TAKES_A_STORED_KEYPAIR {
        let offered = fish_complete(&s, &format!("kps {sub} "));
        let names: Vec<&String> = offered.iter().filter(|c| !c.starts_with('-')).collect();
        assert_eq!(names, ["db", "web01", "web02"], "kps {sub} <TAB>");
    }
    let out = s
        .shell("fish")
        .args([
            "--no-config",
            "-c",
            "source $argv[1]; complete --do-complete 'kps show d'",
        ])
        .arg(script("kps.fish"))
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "db\tssh-ed25519 256\n"
    );
}

#[test]
fn the_store_on_the_command_line_is_the_one_completed() {
    if !have_tool("bash") {
        return;
    }
    let s = setup();
    let other = Kps::new();
    other.create("wiki", &[]);
    let store = other.store.display().to_string();
    assert_eq!(
        bash_complete(&s, &["kps", "--store", &store, "show", "w"]),
        ["wiki"]
    );
    // No store there: nothing offered, nothing printed, no store made.
    let missing = s.kps.path("no-store").display().to_string();
    assert_eq!(
        bash_complete(&s, &["kps", "--store", &missing, "show", "w"]),
        [""; 0]
    );
    assert!(!Path::new(&missing).exists());
    // A PostgreSQL store: nothing offered, and no connection tried (one
    // to an address that never answers would wait the 10 s connect
    // timeout).
    let started = std::time::Instant::now();
    assert_eq!(
        bash_complete(
            &s,
            &[
                "kps",
                "--store",
                "postgres://kps@10.255.255.1/kps",
                "show",
                "w"
            ]
        ),
        [""; 0]
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

#[test]
fn names_a_writer_planted_are_not_offered() {
    if !have_tool("bash") {
        return;
    }
    let s = setup();
    // Someone who can write the store adds a row whose name would put an
    // escape sequence and a second word into the shell's line editor.
    let conn = rusqlite::Connection::open(s.kps.db()).unwrap();
    conn.execute_batch(
        "CREATE TEMP TABLE planted AS SELECT * FROM keypairs WHERE name = 'web01';
         UPDATE planted SET id = NULL, name = 'w' || char(27) || ']0;x' || char(7) || ' rm';
         INSERT INTO keypairs SELECT * FROM planted;",
    )
    .unwrap();
    drop(conn);
    let offered = bash_complete(&s, &["kps", "show", "w"]);
    assert!(
        offered.iter().all(|n| n == "web01" || n == "web02"),
        "{offered:?}"
    );
}

/// zsh completes only in an interactive line editor: run it in a private
/// tmux server, set up as the README's line does, type, press TAB, read
/// the screen.
#[test]
fn zsh_completes_keypair_names_at_the_prompt() {
    if !have_tool("zsh") || !have_tool("tmux") {
        return;
    }
    let s = setup();
    let home = s.kps.path("home");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::write(
        home.join(".zshrc"),
        format!(
            "autoload -Uz compinit && compinit -u && source {}\nPS1='zsh-ready> '\n",
            script("_kps").display()
        ),
    )
    .unwrap();
    let socket = s.kps.path("tmux.sock");
    let tmux = |args: &[&str]| {
        let out = Command::new("tmux")
            .arg("-S")
            .arg(&socket)
            .arg("-f")
            .arg("/dev/null")
            .args(args)
            .env_remove("TMUX")
            .output()
            .unwrap();
        assert!(out.status.success(), "tmux {args:?}: {out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let store = s.kps.store.display().to_string();
    let home_s = home.display().to_string();
    let path = s.path_var();
    tmux(&[
        "new-session",
        "-d",
        "-x",
        "120",
        "-y",
        "20",
        "-s",
        "z",
        "env",
        "-i",
        &format!("HOME={home_s}"),
        &format!("PATH={path}"),
        &format!("KPS_STORE={store}"),
        "TERM=xterm",
        "zsh",
        "-i",
    ]);
    struct Kill<'a>(&'a dyn Fn(&[&str]) -> String);
    impl Drop for Kill<'_> {
        fn drop(&mut self) {
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                (self.0)(&["kill-server"])
            }));
        }
    }
    let _kill = Kill(&tmux);
    let wait_for = |want: &dyn Fn(&str) -> bool| -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let screen = tmux(&["capture-pane", "-p", "-t", "z"]);
            if want(&screen) {
                return screen;
            }
            assert!(Instant::now() < deadline, "timed out; screen:\n{screen}");
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    wait_for(&|s| s.contains("zsh-ready>"));
    tmux(&["send-keys", "-t", "z", "kps show w", "Tab"]);
    // Two candidates: zsh inserts their common prefix, and a second TAB lists them.
    wait_for(&|s| s.contains("kps show web0"));
    tmux(&["send-keys", "-t", "z", "Tab"]);
    let screen =
        wait_for(&|s| s.contains("web01") && s.contains("web02") && s.contains("ssh-ed25519"));
    assert!(!screen.contains("db"), "{screen}");
}
