//! The content of an `authorized_keys` file, read and changed as sshd(8)
//! reads it ("AUTHORIZED_KEYS FILE FORMAT"), on raw bytes.
//!
//! The file belongs to the server's user, not to kps: it may hold CRLF line
//! endings, comments in any encoding, options kps does not know and lines no
//! parser understands. So every function here keeps each byte it does not
//! have to change, and a key is identified by its decoded blob only, never by
//! its comment or options. No I/O: the remote side sends the file's bytes and
//! writes back what [`add`] or [`remove`] computed.

use base64ct::{Base64, Encoding};

/// Key types sshd accepts in `authorized_keys` (OpenSSH's sshkey.c names).
const KEY_TYPES: &[&str] = &[
    "ssh-ed25519",
    "ssh-rsa",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "ssh-dss",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
    "ssh-ed25519-cert-v01@openssh.com",
    "ssh-rsa-cert-v01@openssh.com",
    "ecdsa-sha2-nistp256-cert-v01@openssh.com",
    "ecdsa-sha2-nistp384-cert-v01@openssh.com",
    "ecdsa-sha2-nistp521-cert-v01@openssh.com",
    "ssh-dss-cert-v01@openssh.com",
    "sk-ssh-ed25519-cert-v01@openssh.com",
    "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com",
];

const CERT_SUFFIX: &str = "-cert-v01@openssh.com";

/// One key line of the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// 1-based line number.
    pub line: usize,
    /// The options field as written (`no-pty,command="..."`), if any.
    pub options: Option<String>,
    pub algorithm: String,
    /// The decoded key blob: what identifies the key.
    pub blob: Vec<u8>,
}

impl Entry {
    /// A `cert-authority` line trusts certificates signed by this key; it
    /// does not let the key itself log in, so it is a different thing from a
    /// key line with the same blob.
    pub fn is_cert_authority(&self) -> bool {
        self.has_option("cert-authority")
    }

    /// A `command="..."` line runs that command instead of a shell
    /// (cloud-init's "Please login as the user ..." wrapper exits 142).
    pub fn has_forced_command(&self) -> bool {
        self.has_option("command")
    }

    fn has_option(&self, name: &str) -> bool {
        self.options
            .as_deref()
            .is_some_and(|o| option_names(o).any(|n| n.eq_ignore_ascii_case(name)))
    }
}

/// The result of [`add`] or [`remove`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// The whole new file.
    pub content: Vec<u8>,
    pub changed: bool,
    pub lines_added: usize,
    pub lines_removed: usize,
}

/// The key lines of `content`, in order. Comments, blank lines and lines
/// that do not parse are not entries (and are never errors).
pub fn entries(content: &[u8]) -> Vec<Entry> {
    lines(content)
        .enumerate()
        .filter_map(|(i, raw)| parse_line(text_of(raw), i + 1))
        .collect()
}

/// `content` with `key_line` appended (plus "\n"), unless a line with the
/// same key blob is already there (whatever its options or comment). A
/// `cert-authority` line with that blob does not count: it trusts
/// certificates the key signed and does not let the key itself in.
///
/// When the last line has no line terminator, a "\n" goes in first, and only
/// "\n" even in a CRLF file: sshd strips the "\n" alone, so a "\r" would
/// become part of that line's text (the end of a comment-less key's blob)
/// and change how sshd reads a line kps has no business changing. kps's own
/// line ends in "\n" for the same reason; sshd does not mind mixed endings.
///
/// Refuses a `key_line` that is not one parsable key line (holds a line
/// break or NUL, or has no key that decodes).
pub fn add(content: &[u8], key_line: &str) -> Result<Change, String> {
    if let Some(c) = key_line.chars().find(|c| matches!(c, '\n' | '\r' | '\0')) {
        return Err(format!(
            "the key line to add holds a {} character; it must be exactly one line",
            crate::text::escape(&c.to_string())
        ));
    }
    let new = parse_line(key_line.as_bytes(), 0)
        .ok_or_else(|| "the key line to add is not an OpenSSH public key line".to_string())?;
    let present = entries(content)
        .iter()
        .any(|e| e.blob == new.blob && e.is_cert_authority() == new.is_cert_authority());
    if present {
        return Ok(unchanged(content));
    }
    let mut out = Vec::with_capacity(content.len() + key_line.len() + 2);
    out.extend_from_slice(content);
    if !content.is_empty() && !content.ends_with(b"\n") {
        out.push(b'\n');
    }
    out.extend_from_slice(key_line.as_bytes());
    out.push(b'\n');
    Ok(Change {
        content: out,
        changed: true,
        lines_added: 1,
        lines_removed: 0,
    })
}

/// `content` without every line (LF or CRLF terminated, or the last line
/// without a terminator) whose key blob is `blob`, `cert-authority` lines
/// excepted; every other byte as it was.
///
/// Lines with the same blob but other options (a `from=` restriction, a
/// forced command) are the same key: leaving any of them would let the key
/// keep logging in, and the point of removing it is that it stops working.
pub fn remove(content: &[u8], blob: &[u8]) -> Change {
    let mut out = Vec::with_capacity(content.len());
    let mut removed = 0;
    for (i, raw) in lines(content).enumerate() {
        match parse_line(text_of(raw), i + 1) {
            Some(e) if e.blob == blob && !e.is_cert_authority() => removed += 1,
            _ => out.extend_from_slice(raw),
        }
    }
    Change {
        content: out,
        changed: removed > 0,
        lines_added: 0,
        lines_removed: removed,
    }
}

/// How many key lines that could still let someone log in remain besides
/// `blob` (unbind's "would this leave no way in" check). Not counted, so the
/// check errs on the side of refusing: `cert-authority` lines (they let in
/// only holders of a certificate, which kps cannot know of), certificates
/// (sshd matches a plain key only against a plain key line, and a
/// certificate only against a `cert-authority` line: a certificate line lets
/// nobody in) and lines with a forced `command=` (it replaces the shell:
/// cloud-init's root wrapper only prints "Please login as the user ..." and
/// exits).
pub fn other_keys(content: &[u8], blob: &[u8]) -> usize {
    entries(content)
        .iter()
        .filter(|e| {
            e.blob != blob
                && !e.is_cert_authority()
                && !e.algorithm.ends_with(CERT_SUFFIX)
                && !e.has_forced_command()
        })
        .count()
}

/// Refuses content the remote side cannot write: it is sent in a shell
/// here-document, which cannot carry a NUL byte.
pub fn validate_for_write(content: &[u8]) -> Result<(), String> {
    match content.iter().position(|&b| b == 0) {
        Some(at) => {
            let line = content[..at].iter().filter(|&&b| b == b'\n').count() + 1;
            Err(format!(
                "the authorized_keys content holds a NUL byte (line {line}); \
                 kps sends the file as text and will not write it"
            ))
        }
        None => Ok(()),
    }
}

fn unchanged(content: &[u8]) -> Change {
    Change {
        content: content.to_vec(),
        changed: false,
        lines_added: 0,
        lines_removed: 0,
    }
}

/// The lines of `content`, each with its terminator ("\n" or "\r\n"; none
/// for a last line without one).
fn lines(content: &[u8]) -> impl Iterator<Item = &[u8]> {
    content.split_inclusive(|&b| b == b'\n')
}

/// A line without its terminator: sshd reads up to "\n"; a "\r" before it is
/// whitespace to sshd's base64 decoder and goes too.
fn text_of(raw: &[u8]) -> &[u8] {
    let raw = raw.strip_suffix(b"\n").unwrap_or(raw);
    raw.strip_suffix(b"\r").unwrap_or(raw)
}

fn is_blank(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

fn skip_blanks(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|&&b| is_blank(b)).count();
    &s[n..]
}

/// As sshd's auth_check_authkey_line: first try the line as `type blob`,
/// then skip an options field and try again.
fn parse_line(text: &[u8], line: usize) -> Option<Entry> {
    let text = skip_blanks(text);
    if text.is_empty() || text[0] == b'#' {
        return None;
    }
    if let Some((algorithm, blob)) = parse_key(text) {
        return Some(Entry {
            line,
            options: None,
            algorithm,
            blob,
        });
    }
    let end = options_end(text)?;
    let (algorithm, blob) = parse_key(skip_blanks(&text[end..]))?;
    Some(Entry {
        line,
        options: Some(String::from_utf8_lossy(&text[..end]).into_owned()),
        algorithm,
        blob,
    })
}

/// `type base64 [comment]`: a known type followed by blanks, a blob that
/// decodes and names that same type inside (sshd rejects a mismatch).
fn parse_key(text: &[u8]) -> Option<(String, Vec<u8>)> {
    let type_end = text.iter().position(|&b| is_blank(b))?;
    let algorithm = std::str::from_utf8(&text[..type_end]).ok()?;
    if !KEY_TYPES.contains(&algorithm) {
        return None;
    }
    let rest = skip_blanks(&text[type_end..]);
    let blob_end = rest.iter().position(|&b| is_blank(b)).unwrap_or(rest.len());
    let blob = Base64::decode_vec(std::str::from_utf8(&rest[..blob_end]).ok()?).ok()?;
    (embedded_type(&blob)? == algorithm.as_bytes()).then(|| (algorithm.to_string(), blob))
}

/// The key type string a blob starts with (SSH wire format: u32 length, name).
fn embedded_type(blob: &[u8]) -> Option<&[u8]> {
    let len = u32::from_be_bytes(blob.get(..4)?.try_into().ok()?) as usize;
    blob.get(4..4 + len)
}

/// The end of the options field, as sshkey_advance_past_options: the first
/// blank outside double quotes, where `\"` never opens or closes a quote.
/// None for an unterminated quote.
fn options_end(text: &[u8]) -> Option<usize> {
    let mut quoted = false;
    let mut i = 0;
    while i < text.len() && (quoted || !is_blank(text[i])) {
        if text[i] == b'\\' && text.get(i + 1) == Some(&b'"') {
            i += 1;
        } else if text[i] == b'"' {
            quoted = !quoted;
        }
        i += 1;
    }
    (!quoted).then_some(i)
}

/// The option names of an options field (`command` of `command="a, b"`):
/// commas inside double quotes do not separate options.
fn option_names(options: &str) -> impl Iterator<Item = &str> {
    let mut parts = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, c) in options.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => quoted = !quoted,
            ',' if !quoted => {
                parts.push(&options[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&options[start..]);
    parts
        .into_iter()
        .map(|p| p.split_once('=').map_or(p, |(name, _)| name).trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    // Made with `ssh-keygen -q -t ed25519 -N '' -C alice@laptop -f ed1` (and
    // ed2/bob, `-t ecdsa -b 256` ec1/ops, `-t rsa -b 1024` rsa1, a CA `ca`,
    // and `ssh-keygen -s ca -I cert1 -n root ed2.pub` for the certificate).
    const ALICE: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINj7ad/Zudpswe01PM3Bd4WtaDD96JG5PgqZuhi76b4N alice@laptop";
    const BOB: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIH07vLPTXL+WrTJauzz8FcsyANgSBmd5ND5+YidPlfyz bob";
    const OPS: &str = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBPicATsx3QzVvgjkqn80FaL8pzqwuP57dcq8MCCUFBQNrl+E/o0Q8stmbZwA5mYfttAncaoCeoBgZjZnwxJ/5jE= ops";
    const RSA: &str = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQC3HFfQ1He7V8LDEAkL/mi+FzXmrEtdQrrpkxr+T6FWU62VALOe5uBBkFt+0+ccsuV/U7zntbQq2VGNeL6Oqx4b/HRcfedRi6Qe/eskY7bPv3mCFt8fJRN8ora7J8TyJbspRLaEB7AKg8SQwb+Pylruo7yq1c6uV8tVNx2dUXphGQ== rsa-small";
    const CA: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDugzgOl93f2Lqi2mzt376tfm3X2LEfo5q0GOkkXXJVL ca";
    const BOB_CERT: &str = "ssh-ed25519-cert-v01@openssh.com AAAAIHNzaC1lZDI1NTE5LWNlcnQtdjAxQG9wZW5zc2guY29tAAAAIEmqKSsPeCPiNzY8rvXMwksb5lf4mkqZxKN0F06alormAAAAIH07vLPTXL+WrTJauzz8FcsyANgSBmd5ND5+YidPlfyzAAAAAAAAAAAAAAABAAAABWNlcnQxAAAACAAAAARyb290AAAAAAAAAAD//////////wAAAAAAAACCAAAAFXBlcm1pdC1YMTEtZm9yd2FyZGluZwAAAAAAAAAXcGVybWl0LWFnZW50LWZvcndhcmRpbmcAAAAAAAAAFnBlcm1pdC1wb3J0LWZvcndhcmRpbmcAAAAAAAAACnBlcm1pdC1wdHkAAAAAAAAADnBlcm1pdC11c2VyLXJjAAAAAAAAAAAAAAAzAAAAC3NzaC1lZDI1NTE5AAAAIDugzgOl93f2Lqi2mzt376tfm3X2LEfo5q0GOkkXXJVLAAAAUwAAAAtzc2gtZWQyNTUxOQAAAECEpyFf12QgTa4ZwL8e57sTyO8/o9rCDpJ64aCxQSzXvjF70jAXH55nEvjKK6//xPJgaTOqRNq6oTfaNpODVNYI bob";

    fn blob(line: &str) -> Vec<u8> {
        parse_line(line.as_bytes(), 1).expect("a key line").blob
    }

    /// cloud-init's disable_root wrapper (cloudinit/config/cc_ssh.py).
    fn cloud_init_wrapper(key: &str) -> String {
        format!(
            "no-port-forwarding,no-agent-forwarding,no-X11-forwarding,command=\"echo 'Please login as \
             the user \\\"debian\\\" rather than the user \\\"root\\\".';echo;sleep 10;exit 142\" {key}"
        )
    }

    #[test]
    fn parses_every_kind_of_line() {
        let file = format!(
            "# keys\n\n   \n{ALICE}\n  \t{OPS}\r\nfrom=\"10.0.0.1\" {RSA}\n{BOB_CERT}\nnot a key at all\n\
             ssh-ed25519 !!!notbase64 x\n"
        );
        let got = entries(file.as_bytes());
        let summary: Vec<_> = got
            .iter()
            .map(|e| (e.line, e.algorithm.as_str(), e.options.as_deref()))
            .collect();
        assert_eq!(
            summary,
            [
                (4, "ssh-ed25519", None),
                (5, "ecdsa-sha2-nistp256", None),
                (6, "ssh-rsa", Some("from=\"10.0.0.1\"")),
                (7, "ssh-ed25519-cert-v01@openssh.com", None),
            ]
        );
        assert_eq!(got[0].blob, blob(ALICE));
        assert_eq!(&got[0].blob[..15], b"\0\0\0\x0bssh-ed25519");
    }

    #[test]
    fn options_with_quoted_commas_spaces_and_escaped_quotes() {
        let line = format!("command=\"echo a, b\",from=\"10.0.0.1\" {ALICE}");
        let e = &entries(line.as_bytes())[0];
        assert_eq!(
            e.options.as_deref(),
            Some("command=\"echo a, b\",from=\"10.0.0.1\"")
        );
        assert_eq!(e.blob, blob(ALICE));
        assert!(e.has_forced_command() && !e.is_cert_authority());

        let wrapper = cloud_init_wrapper(ALICE);
        let e = &entries(wrapper.as_bytes())[0];
        assert_eq!(e.blob, blob(ALICE));
        assert!(e.options.as_deref().unwrap().ends_with("exit 142\""));
        assert!(e.has_forced_command());
        let names: Vec<_> = option_names(e.options.as_deref().unwrap()).collect();
        assert_eq!(
            names,
            [
                "no-port-forwarding",
                "no-agent-forwarding",
                "no-X11-forwarding",
                "command"
            ]
        );

        // An unterminated quote makes the line unparsable, for sshd as here.
        let broken = format!("command=\"echo {ALICE}");
        assert!(entries(broken.as_bytes()).is_empty());
        // `cert-authority` spelt in capitals is still the flag (sshd compares
        // option names without case), but inside a quoted value it is not.
        let ca = format!("Cert-Authority,principals=\"root\" {CA}");
        assert!(entries(ca.as_bytes())[0].is_cert_authority());
        let quoted = format!("command=\"cert-authority\" {CA}");
        assert!(!entries(quoted.as_bytes())[0].is_cert_authority());
    }

    #[test]
    fn a_blob_of_another_type_is_not_a_key() {
        // sshd refuses `ssh-rsa <ed25519 blob>`; so do we.
        let forged = ALICE.replace("ssh-ed25519", "ssh-rsa");
        assert!(entries(forged.as_bytes()).is_empty());
        // A type that is not a key type, a blob that is not base64, a key
        // type with nothing after it.
        for line in [
            "rsa-sha2-256 AAAAC3NzaC1lZDI1NTE5AAAAINj7ad/Zudpswe01PM3Bd4WtaDD96JG5PgqZuhi76b4N",
            "ssh-ed25519 AAAA%%%",
            "ssh-ed25519",
            "ssh-ed25519 ",
        ] {
            assert!(entries(line.as_bytes()).is_empty(), "{line}");
        }
    }

    #[test]
    fn add_to_empty_and_newline_only_files() {
        let c = add(b"", ALICE).unwrap();
        assert_eq!(c.content, format!("{ALICE}\n").as_bytes());
        assert!(c.changed);
        assert_eq!((c.lines_added, c.lines_removed), (1, 0));

        let c = add(b"\n", ALICE).unwrap();
        assert_eq!(c.content, format!("\n{ALICE}\n").as_bytes());
    }

    #[test]
    fn add_is_idempotent() {
        let once = add(format!("{BOB}\n").as_bytes(), ALICE).unwrap();
        let twice = add(&once.content, ALICE).unwrap();
        assert!(!twice.changed);
        assert_eq!(twice.content, once.content);
        assert_eq!((twice.lines_added, twice.lines_removed), (0, 0));
        // The same key under another comment or options is already there.
        let other_comment = ALICE.replace("alice@laptop", "someone else");
        assert!(!add(&once.content, &other_comment).unwrap().changed);
        let restricted = format!("from=\"10.0.0.0/8\",no-pty {ALICE}\n");
        assert!(!add(restricted.as_bytes(), ALICE).unwrap().changed);
        // So is a key whose line is in cloud-init's wrapper: kps does not
        // rewrite the user's lines (the login proof shows it gives no shell).
        let wrapped = format!("{}\n", cloud_init_wrapper(ALICE));
        assert!(!add(wrapped.as_bytes(), ALICE).unwrap().changed);
    }

    #[test]
    fn add_after_a_last_line_without_newline() {
        let c = add(BOB.as_bytes(), ALICE).unwrap();
        assert_eq!(c.content, format!("{BOB}\n{ALICE}\n").as_bytes());
        // In a CRLF file too: only "\n", so the last line's text stays what
        // sshd read before.
        let crlf = format!("# mine\r\n{BOB}");
        let c = add(crlf.as_bytes(), ALICE).unwrap();
        assert_eq!(c.content, format!("# mine\r\n{BOB}\n{ALICE}\n").as_bytes());
        // A last line that ends in a lone "\r" gets its "\n".
        let c = add(format!("{BOB}\r").as_bytes(), ALICE).unwrap();
        assert_eq!(c.content, format!("{BOB}\r\n{ALICE}\n").as_bytes());
    }

    #[test]
    fn add_keeps_every_other_byte() {
        let mut file = Vec::new();
        file.extend_from_slice(b"# caf\xe9 \xff\xfe comment in Latin-1\r\n");
        file.extend_from_slice(format!("{BOB} bob\x1b[31m@evil\x07\r\n").as_bytes());
        file.extend_from_slice(b"garbage line \x00 with a NUL?\n");
        file.extend_from_slice(format!("{OPS} ").as_bytes());
        file.extend_from_slice(b"\xc3\x28 bad utf8\n");
        let c = add(&file, ALICE).unwrap();
        assert!(c.content.starts_with(&file));
        assert_eq!(&c.content[file.len()..], format!("{ALICE}\n").as_bytes());
        // The lines with odd bytes still parse as keys.
        let got = entries(&c.content);
        assert_eq!(got.len(), 3);
        assert_eq!(got[0].blob, blob(BOB));
        assert_eq!(got[1].blob, blob(OPS));
    }

    #[test]
    fn add_a_key_whose_blob_is_only_a_cert_authority_line() {
        let file = format!("cert-authority {ALICE}\n");
        let c = add(file.as_bytes(), ALICE).unwrap();
        assert!(c.changed);
        assert_eq!(c.content, format!("{file}{ALICE}\n").as_bytes());
        // A certificate of bob is not bob's key.
        assert!(
            add(format!("{BOB_CERT}\n").as_bytes(), BOB)
                .unwrap()
                .changed
        );
    }

    #[test]
    fn add_refuses_what_is_not_one_key_line() {
        for bad in [
            format!("{ALICE}\n{BOB}"),
            format!("{ALICE}\r"),
            format!("{ALICE}\0"),
            "ssh-ed25519 notakey".to_string(),
            String::new(),
        ] {
            assert!(add(b"", &bad).is_err(), "{bad:?}");
        }
        let err = add(b"", &format!("{ALICE}\nx")).unwrap_err();
        assert!(err.contains("\\n"), "{err}");
    }

    #[test]
    fn remove_takes_every_line_of_the_key_and_nothing_else() {
        let file = format!(
            "# top\r\n{BOB}\r\nfrom=\"10.0.0.1\" {ALICE}\r\n{OPS}\n\
             command=\"echo a, b\",from=\"10.0.0.1\" {ALICE}\ncert-authority {ALICE}\n\
             # {ALICE}\n{}\n{RSA}",
            cloud_init_wrapper(ALICE)
        );
        let c = remove(file.as_bytes(), &blob(ALICE));
        assert!(c.changed);
        assert_eq!((c.lines_added, c.lines_removed), (0, 3));
        assert_eq!(
            String::from_utf8(c.content).unwrap(),
            format!("# top\r\n{BOB}\r\n{OPS}\ncert-authority {ALICE}\n# {ALICE}\n{RSA}")
        );
    }

    #[test]
    fn remove_the_last_line_without_newline_and_crlf_lines() {
        let file = format!("{BOB}\r\n{ALICE}");
        let c = remove(file.as_bytes(), &blob(ALICE));
        assert_eq!(c.content, format!("{BOB}\r\n").as_bytes());
        let file = format!("{ALICE}\r\n{BOB}");
        let c = remove(file.as_bytes(), &blob(ALICE));
        assert_eq!(c.content, BOB.as_bytes());
        // Only the key: the file ends up empty.
        let c = remove(format!("{ALICE}\n").as_bytes(), &blob(ALICE));
        assert_eq!((c.content.as_slice(), c.lines_removed), (&b""[..], 1));
    }

    #[test]
    fn remove_of_an_absent_key_changes_nothing() {
        for file in [&b""[..], b"\n", b"# only\r\n", BOB.as_bytes()] {
            let c = remove(file, &blob(ALICE));
            assert_eq!(c, unchanged(file));
        }
    }

    #[test]
    fn add_then_remove_gives_back_the_file() {
        // The last line, without newline, is not UTF-8.
        let file = [format!("# a\r\n{BOB}\r\n").as_bytes(), b"\xff"].concat();
        let file = file.as_slice();
        let added = add(file, ALICE).unwrap();
        let removed = remove(&added.content, &blob(ALICE));
        // The "\n" add put after the last line stays: that line was not ours.
        assert_eq!(removed.content, [file, b"\n"].concat());
    }

    #[test]
    fn escape_sequences_in_a_comment_stay_bytes() {
        let evil = format!("{ALICE} \x1b]0;pwned\x07\x1b[2J\r\n");
        let got = entries(evil.as_bytes());
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].blob, blob(ALICE));
        assert_eq!(remove(evil.as_bytes(), &blob(ALICE)).content, b"");
        assert!(!add(evil.as_bytes(), ALICE).unwrap().changed);
    }

    #[test]
    fn other_keys_counts_what_still_lets_someone_in() {
        let file = format!(
            "{ALICE}\nfrom=\"10.0.0.1\" {ALICE}\ncert-authority {CA}\n{}\n# {BOB}\n",
            cloud_init_wrapper(BOB)
        );
        assert_eq!(other_keys(file.as_bytes(), &blob(ALICE)), 0);
        // A certificate line lets nobody in; a plain key does.
        let more = format!("{file}{BOB_CERT}\n");
        assert_eq!(other_keys(more.as_bytes(), &blob(ALICE)), 0);
        let more = format!("{more}{OPS}\r\nno-pty {RSA}");
        assert_eq!(other_keys(more.as_bytes(), &blob(ALICE)), 2);
        assert_eq!(other_keys(b"", &blob(ALICE)), 0);
    }

    #[test]
    fn validate_for_write_refuses_nul() {
        assert!(validate_for_write(b"").is_ok());
        assert!(validate_for_write(&[ALICE.as_bytes(), b"\r\n\xff\n"].concat()).is_ok());
        let err = validate_for_write(b"a\nb\n\0c").unwrap_err();
        assert!(err.contains("NUL") && err.contains("line 3"), "{err}");
    }
}
