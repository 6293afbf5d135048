//! The one remote script (`remote.sh`) and the lines it answers with.
//!
//! A run is `set -- OP VALUES...` (each value single-quoted by
//! [`crate::text::single_quoted`], the only way a value reaches the shell),
//! the script's functions, and the call; for `write`, the new content
//! follows in a here-document. The answer is read back line by line: only
//! lines starting with this run's random tag count, so a login banner or a
//! noisy shell rc file (even one printing `KPS done`) cannot be mistaken
//! for an answer.

use std::collections::BTreeMap;

/// The script, as committed: read it there.
pub const SCRIPT: &str = include_str!("remote.sh");

/// A script to send and the tag its answer lines carry.
pub struct Run {
    pub text: Vec<u8>,
    pub tag: String,
}

/// The text to send for `op` with `args`, and `data` for a `write`. `None`
/// when a value cannot be sent: it holds a NUL byte, which no shell
/// argument or here-document can carry.
pub fn build(op: &str, args: &[&str], data: Option<&[u8]>) -> Option<Run> {
    let mut random = [0u8; 16];
    // Unpredictable is better, but what makes the tag and the delimiter
    // safe is that kps checks them against what it sends: a counter alone
    // would do for the delimiter; for the tag, a shell rc file would have
    // to guess it.
    let _ = getrandom::fill(&mut random);
    let tag = format!("KPS-{}", crate::hex::encode(&random[..8]));
    let mut text = format!("KPS_TAG={tag}\nset -- ");
    text.push_str(op);
    for arg in args {
        if arg.contains('\0') {
            return None;
        }
        text.push(' ');
        text.push_str(&crate::text::single_quoted(arg));
    }
    text.push('\n');
    text.push_str(SCRIPT);
    let mut out = text.into_bytes();
    match data {
        None => out.extend_from_slice(b"main \"$@\" < /dev/null\n"),
        Some(data) => {
            if data.contains(&0) {
                return None;
            }
            // The here-document gives back what is between its lines, and
            // always ends it with a newline: content that does not end in
            // one cannot be sent this way. kps only writes files that do.
            if !data.is_empty() && !data.ends_with(b"\n") {
                return None;
            }
            let mut n = 0u64;
            let delimiter = loop {
                n += 1;
                let word = format!("KPS_END_{}_{n}", crate::hex::encode(&random));
                if !data
                    .split(|b| *b == b'\n')
                    .any(|line| line == word.as_bytes() || line == format!("{word}\r").as_bytes())
                {
                    break word;
                }
            };
            out.extend_from_slice(format!("main \"$@\" <<'{delimiter}'\n").as_bytes());
            out.extend_from_slice(data);
            out.extend_from_slice(delimiter.as_bytes());
            out.push(b'\n');
        }
    }
    Some(Run { text: out, tag })
}

/// The tagged lines of an answer, in order.
#[derive(Debug, Default)]
pub struct Answer {
    pub lines: Vec<(String, String)>,
}

impl Answer {
    pub fn parse(stdout: &[u8], tag: &str) -> Answer {
        let text = String::from_utf8_lossy(stdout);
        let prefix = format!("{tag} ");
        let lines = text
            .lines()
            .filter_map(|l| l.strip_prefix(prefix.as_str()))
            .map(|l| match l.split_once(' ') {
                Some((k, v)) => (k.to_string(), v.to_string()),
                None => (l.to_string(), String::new()),
            })
            .collect();
        Answer { lines }
    }

    /// The first value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.lines
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The first value of `key`, decoded from hex.
    pub fn bytes(&self, key: &str) -> Option<Vec<u8>> {
        self.get(key).and_then(|v| crate::hex::decode(v.trim()))
    }

    /// The first value of `key`, decoded from hex, as text (lossy).
    pub fn text(&self, key: &str) -> Option<String> {
        self.bytes(key)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
    }

    /// Did the script run to its end?
    pub fn done(&self) -> bool {
        self.lines.iter().any(|(k, _)| k == "done")
    }

    /// The script's own refusal: what failed and on which path.
    pub fn error(&self) -> Option<(String, String)> {
        self.get("error").map(|v| {
            let (what, path) = v.split_once(' ').unwrap_or((v, ""));
            let path = crate::hex::decode(path)
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default();
            (what.to_string(), path)
        })
    }

    /// `sshd -T` lines (`KPS T key value`) as sshd printed them.
    pub fn sshd_t(&self) -> String {
        let mut out = String::new();
        for (k, v) in &self.lines {
            if k == "T" {
                out.push_str(v);
                out.push('\n');
            }
        }
        out
    }

    /// The state and content of each file the script read after a
    /// `MARKER PATH` line (`config` for sshd's files, `keys-file` for
    /// authorized_keys): that line names the file the next
    /// `file`/`content` lines are about.
    pub fn files(&self, marker: &str) -> BTreeMap<String, FileState> {
        let mut files = BTreeMap::new();
        let mut current: Option<String> = None;
        for (k, v) in &self.lines {
            match k.as_str() {
                // Any marker starts another file; only ours are kept.
                "config" | "keys-file" => {
                    current = (k == marker)
                        .then(|| crate::hex::decode(v))
                        .flatten()
                        .map(|b| String::from_utf8_lossy(&b).into_owned())
                }
                "file" | "content" => {
                    if let Some(path) = &current {
                        let state = files.entry(path.clone()).or_insert(FileState::Missing);
                        state.take(k, v);
                    }
                }
                _ => {}
            }
        }
        files
    }

    /// The one file a `read` was about.
    pub fn file(&self) -> FileState {
        let mut state = FileState::Missing;
        for (k, v) in &self.lines {
            if k == "file" || k == "content" {
                state.take(k, v);
            }
        }
        state
    }
}

/// A remote file as the script found it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileState {
    Missing,
    Symlink,
    /// A directory, fifo or device.
    Other,
    Immutable,
    Unreadable,
    /// A regular file: its `cksum` and content.
    Regular {
        sum: String,
        content: Vec<u8>,
    },
}

impl FileState {
    fn take(&mut self, key: &str, value: &str) {
        match (key, value.split_once(' ').unwrap_or((value, ""))) {
            ("file", ("missing", _)) => *self = FileState::Missing,
            ("file", ("symlink", _)) => *self = FileState::Symlink,
            ("file", ("other", _)) => *self = FileState::Other,
            ("file", ("immutable", _)) => *self = FileState::Immutable,
            ("file", ("unreadable", _)) => *self = FileState::Unreadable,
            ("file", ("regular", sum)) => {
                *self = FileState::Regular {
                    sum: sum.to_string(),
                    content: Vec::new(),
                }
            }
            ("content", _) => {
                if let FileState::Regular { content, .. } = self {
                    *content = crate::hex::decode(value.trim()).unwrap_or_default();
                }
            }
            _ => {}
        }
    }

    /// The checksum a write must find: `none` for no file.
    pub fn sum(&self) -> &str {
        match self {
            FileState::Regular { sum, .. } => sum,
            _ => "none",
        }
    }

    pub fn content(&self) -> Option<&[u8]> {
        match self {
            FileState::Regular { content, .. } => Some(content),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::{Command, Stdio};

    fn me() -> String {
        rustix::process::getuid().as_raw().to_string()
    }

    /// Run the script here, in a POSIX sh, as the server would.
    fn run(op: &str, args: &[&str], data: Option<&[u8]>) -> Answer {
        use std::io::Write;
        let run = build(op, args, data).unwrap();
        let mut child = Command::new("sh")
            .arg("-s")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(&run.text).unwrap();
        let out = child.wait_with_output().unwrap();
        Answer::parse(&out.stdout, &run.tag)
    }

    #[test]
    fn values_reach_the_script_as_they_are() {
        let dir = tempfile::tempdir().unwrap();
        let odd = dir.path().join("a 'b' $(touch x) \"c\"\nd");
        let content = b"line one\r\n$(id) `id` \\ 'q'\nKPS_END_x\n";
        let a = run(
            "write",
            &[odd.to_str().unwrap(), "600", &me(), "none", "no", "-"],
            Some(content),
        );
        assert!(a.done(), "{a:?}");
        assert_eq!(std::fs::read(&odd).unwrap(), content);
        assert!(!dir.path().join("x").exists() && !std::path::Path::new("x").exists());
        let r = run("read", &[odd.to_str().unwrap()], None);
        assert_eq!(r.file().content(), Some(&content[..]));
    }

    #[test]
    fn a_write_refuses_a_file_changed_since_it_was_read() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("f");
        std::fs::write(&f, "old\n").unwrap();
        let read = run("read", &[f.to_str().unwrap()], None).file();
        std::fs::write(&f, "someone else\n").unwrap();
        let a = run(
            "write",
            &[f.to_str().unwrap(), "600", &me(), read.sum(), "no", "-"],
            Some(b"new\n"),
        );
        assert_eq!(a.error().unwrap().0, "changed");
        assert_eq!(std::fs::read(&f).unwrap(), b"someone else\n");
    }

    #[test]
    fn symlinks_are_never_written_through() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target");
        std::fs::write(&target, "t\n").unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert_eq!(
            run("read", &[link.to_str().unwrap()], None).file(),
            FileState::Symlink
        );
        let a = run(
            "write",
            &[link.to_str().unwrap(), "600", &me(), "none", "no", "-"],
            Some(b"x\n"),
        );
        assert_eq!(a.error().unwrap().0, "symlink");
        assert_eq!(std::fs::read(&target).unwrap(), b"t\n");
    }

    #[test]
    fn content_a_here_document_cannot_carry_is_not_sent() {
        assert!(build("write", &["f"], Some(b"a\0b\n")).is_none());
        assert!(build("write", &["f"], Some(b"no newline")).is_none());
        assert!(build("read", &["a\0"], None).is_none());
    }

    #[test]
    fn only_lines_with_the_runs_tag_count() {
        let a = Answer::parse(
            b"Welcome!\nKPS error symlink 2f\nKPS-abc uid 0\nKPS-abc error changed 2f66\nKPS-abc done\n",
            "KPS-abc",
        );
        assert_eq!(a.get("uid"), Some("0"));
        assert_eq!(a.error(), Some(("changed".into(), "/f".into())));
        assert!(a.done());
    }
}
