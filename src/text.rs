//! Free text that people and other programs see: comments, descriptions,
//! user ids, file names, error details. Two rules, each kept here once.
//!
//! * Input: such a field may not hold a character that can break a line-based
//!   file (a line feed in a comment becomes a second key in
//!   `authorized_keys`) or drive a terminal (ESC, CSI, ...) or reorder what
//!   is shown ("Trojan Source" bidi controls). [`check_field`] and
//!   [`check_key_comment`] refuse them, naming the field and the character.
//! * Output: whatever reaches a terminal goes through [`escape`], which shows
//!   each such character as a visible escape (`\n`, `\x1b`, `\u{202e}`), so
//!   text that got into the store some other way still cannot act on the
//!   operator's terminal.

use crate::{Error, Result};
use std::borrow::Cow;
use std::fmt::Write;

/// The characters no free-text field may hold and no human output prints
/// raw: every control character (C0 including tab and line feed, DEL, and
/// C1 such as U+009B CSI and U+0085 NEL), the Unicode bidirectional controls
/// (embeddings, overrides, isolates and the implicit marks), and the line
/// and paragraph separators, which some programs treat as line breaks.
pub fn is_forbidden(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}'
                | '\u{200E}'
                | '\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2066}'..='\u{2069}'
                | '\u{2028}'
                | '\u{2029}'
        )
}

/// The first forbidden character of `s` and its byte offset, if any.
pub fn forbidden_char(s: &str) -> Option<(usize, char)> {
    // Nearly everything kps reads (`list` checks every row's public key
    // line) is printable ASCII: a byte loop the compiler vectorises settles
    // that, and only other text is decoded char by char.
    if s.bytes().all(|b| b.wrapping_sub(0x20) < 0x5f) {
        return None;
    }
    s.char_indices().find(|(_, c)| is_forbidden(*c))
}

/// `s` for a terminal: unchanged (and not copied) when it holds nothing
/// forbidden, else with each forbidden character written as a visible escape
/// in Rust's style: `\n`, `\r`, `\t`, `\x1b` below U+0080, `\u{9b}` above.
/// Backslashes are left alone: ordinary text (a Windows path) keeps its look,
/// and a fake escape typed by someone is only text.
pub fn escape(s: &str) -> Cow<'_, str> {
    let Some((start, _)) = forbidden_char(s) else {
        return Cow::Borrowed(s);
    };
    let mut out = String::with_capacity(s.len() + 8);
    out.push_str(&s[..start]);
    for c in s[start..].chars() {
        push_escaped(&mut out, c);
    }
    Cow::Owned(out)
}

fn push_escaped(out: &mut String, c: char) {
    if !is_forbidden(c) {
        out.push(c);
        return;
    }
    // Writing to a String cannot fail.
    let _ = match c {
        '\n' => write!(out, "\\n"),
        '\r' => write!(out, "\\r"),
        '\t' => write!(out, "\\t"),
        c if (c as u32) < 0x80 => write!(out, "\\x{:02x}", c as u32),
        c => write!(out, "\\u{{{:x}}}", c as u32),
    };
}

/// [`escape`] for text of several lines: each line escaped, the line feeds
/// between them kept. For whole messages whose pieces were escaped already
/// (escaping is idempotent): a safety net, not a substitute.
pub fn escape_lines(s: &str) -> Cow<'_, str> {
    if !s.chars().any(|c| c != '\n' && is_forbidden(c)) {
        return Cow::Borrowed(s);
    }
    let lines: Vec<Cow<'_, str>> = s.split('\n').map(escape).collect();
    Cow::Owned(lines.join("\n"))
}

/// A name for a forbidden character, for error messages.
fn describe(c: char) -> String {
    let what = match c {
        '\n' => "a line feed",
        '\r' => "a carriage return",
        '\t' => "a tab",
        '\u{1b}' => "an escape character",
        '\u{7f}' => "a delete character",
        '\u{85}' => "a next-line character",
        '\u{9b}' => "a control sequence introducer",
        '\u{2028}' => "a line separator",
        '\u{2029}' => "a paragraph separator",
        c if c.is_control() => "a control character",
        _ => "a bidirectional text control",
    };
    format!("{what} (U+{:04X})", c as u32)
}

/// Where and what: "holds a line feed (U+000A) at character 3".
fn finding(value: &str) -> Option<String> {
    let (at, c) = forbidden_char(value)?;
    let position = value[..at].chars().count() + 1;
    Some(format!("holds {} at character {position}", describe(c)))
}

const WHY: &str = "line breaks and control or bidi characters could add keys to \
                   authorized_keys or act on a terminal";

/// Refuse a forbidden character in a field the user gave (`--comment`,
/// `--description`, a request's `user_id`): a parameter error naming the
/// field and the character.
pub fn check_field(field: &str, value: &str) -> Result<()> {
    match finding(value) {
        None => Ok(()),
        Some(what) => Err(Error::invalid_with_hint(
            format!("{field} {what}"),
            format!("give {field} as printable text on one line: {WHY}"),
        )),
    }
}

/// [`check_field`] for a field that may be absent.
pub fn check_optional(field: &str, value: Option<&str>) -> Result<()> {
    value.map_or(Ok(()), |v| check_field(field, v))
}

/// Refuse a key read from a file whose comment holds a forbidden character:
/// a bad-key error (the file is what must change, not an option).
pub fn check_key_comment(comment: &str) -> Result<()> {
    match finding(comment) {
        None => Ok(()),
        Some(what) => Err(Error::bad_key_with_hint(
            format!("the key file's comment {what}"),
            format!(
                "change the comment first (ssh-keygen -c -C NEW -f FILE, or in puttygen), \
                 then import it again: {WHY}"
            ),
        )),
    }
}

/// `word` in single quotes for a POSIX shell (csh reads it the same way
/// when it holds no `!` or line break), each `'` written as `'\''`: for
/// hints and command lines a user may paste.
pub fn single_quoted(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

/// `word` as a shell reads it back: as it is when nothing in it is
/// special, else [`single_quoted`].
pub fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+:@%,=".contains(c));
    if plain {
        word.to_string()
    } else {
        single_quoted(word)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_text_is_borrowed_unchanged() {
        for s in [
            "",
            "alice@laptop",
            "ünïcödé, 日本語, emoji 🔑",
            r"C:\Users\a b\id_rsa",
            "quotes \"and\" 'these'",
        ] {
            assert!(matches!(escape(s), Cow::Borrowed(b) if b == s), "{s}");
            assert_eq!(forbidden_char(s), None, "{s}");
            check_field("--comment", s).unwrap();
            check_key_comment(s).unwrap();
        }
    }

    #[test]
    fn every_forbidden_character_is_shown_visibly() {
        let cases = [
            ("a\nb", r"a\nb"),
            ("a\r\tb", r"a\r\tb"),
            ("\x1b]0;pwned\x07", r"\x1b]0;pwned\x07"),
            ("\x1b]52;c;aGk=\x07", r"\x1b]52;c;aGk=\x07"),
            ("\x1b[2J", r"\x1b[2J"),
            ("del\x7f", r"del\x7f"),
            ("\u{9b}2J", r"\u{9b}2J"),
            ("nel\u{85}", r"nel\u{85}"),
            ("x\0y", r"x\x00y"),
            ("abc\u{202e}fed", r"abc\u{202e}fed"),
            ("\u{2066}\u{2069}", r"\u{2066}\u{2069}"),
            ("\u{200e}\u{200f}\u{61c}", r"\u{200e}\u{200f}\u{61c}"),
            ("\u{2028}\u{2029}", r"\u{2028}\u{2029}"),
            ("ü\nü", r"ü\nü"),
        ];
        for (raw, shown) in cases {
            let out = escape(raw);
            assert_eq!(out, shown, "{raw:?}");
            assert!(forbidden_char(&out).is_none(), "{out}");
        }
    }

    #[test]
    fn escaping_is_idempotent_and_keeps_line_feeds_between_lines() {
        let raw = "one \x1b[2J\ntwo \u{9b}\r\n";
        let once = escape_lines(raw);
        assert_eq!(once, "one \\x1b[2J\ntwo \\u{9b}\\r\n");
        assert_eq!(escape_lines(&once), once);
        assert_eq!(escape(&escape(raw)), escape(raw));
        assert!(matches!(escape_lines("a\nb\n"), Cow::Borrowed(_)));
    }

    #[test]
    fn the_whole_ranges_are_forbidden() {
        for c in (0u32..0x20).chain(0x7f..0xa0) {
            assert!(is_forbidden(char::from_u32(c).unwrap()), "{c:#x}");
        }
        for c in (0x202a..=0x202e).chain(0x2066..=0x2069) {
            assert!(is_forbidden(char::from_u32(c).unwrap()), "{c:#x}");
        }
        for c in [' ', '~', '\u{a0}', 'é', '\u{200b}', '\u{2030}'] {
            assert!(!is_forbidden(c), "{c:?}");
        }
    }

    #[test]
    fn refusals_name_the_field_and_the_character() {
        let e = check_field("--description", "ok\u{1b}[2J").unwrap_err();
        assert!(matches!(e, Error::InvalidParameter { .. }));
        let msg = e.to_string();
        assert!(msg.contains("--description"), "{msg}");
        assert!(msg.contains("(U+001B) at character 3"), "{msg}");
        assert!(forbidden_char(&msg).is_none(), "{msg:?}");

        let e = check_key_comment("a\nssh-ed25519 AAAA attacker").unwrap_err();
        assert!(matches!(e, Error::InvalidKey { .. }));
        assert!(
            e.to_string()
                .contains("comment holds a line feed (U+000A) at character 2")
        );

        let e = check_optional("user_id", Some("é\u{202e}")).unwrap_err();
        assert!(e.to_string().contains("user_id holds"), "{e}");
        assert!(e.to_string().contains("(U+202E) at character 2"), "{e}");
        check_optional("user_id", None).unwrap();
    }

    #[test]
    fn words_quoted_only_when_the_shell_would_read_them_otherwise() {
        assert_eq!(shell_word("IdentityFile=none"), "IdentityFile=none");
        assert_eq!(shell_word("root@127.0.0.1"), "root@127.0.0.1");
        assert_eq!(
            shell_word("/run/user/1000/kps-agent.ab12/agent.7"),
            "/run/user/1000/kps-agent.ab12/agent.7"
        );
        assert_eq!(shell_word(""), "''");
        assert_eq!(shell_word("exit 7"), "'exit 7'");
        assert_eq!(shell_word("a'b;$(x)"), r"'a'\''b;$(x)'");
        assert_eq!(shell_word("~/x"), "'~/x'");
        assert_eq!(single_quoted("/it's"), r"'/it'\''s'");
    }
}
