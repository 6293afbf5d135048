//! sshd's configuration as kps needs it for `bind --disable-password-login`:
//! what `sshd -T` says is in effect, where to write the change so that it
//! wins, how to undo it exactly, and what in the files still lets passwords
//! in. Pure text in, text out; the remote side reads and writes the files.
//!
//! sshd takes the **first** value it reads for a keyword, reads an
//! `Include`d file at the point of the `Include`, and a `Match` block lasts
//! to the next `Match` or the end of the file it is in, its values
//! overriding the global ones for matching connections (sshd_config(5);
//! checked with `sshd -T` in /work/shared/SERVER-OPS-NOTES.md 2.1). Every
//! place below that decides where a line goes follows from those three rules.

use std::collections::BTreeMap;
use std::fmt;

/// kps's drop-in, relative to sshd's configuration directory: "00-" sorts
/// it before the distributions' files (Ubuntu's `50-cloud-init.conf`).
const DROP_IN: &str = "sshd_config.d/00-kps.conf";
const DROP_IN_CONTENT: &str = "# Written by kps (kps bind --disable-password-login) to turn password login off. \
     To undo: kps unbind NAME HOST --enable-password-login, or delete this file and reload sshd.\n\
     PasswordAuthentication no\n\
     KbdInteractiveAuthentication no\n";
/// Marks a line kps changed; the original line follows verbatim.
const WAS: &str = "# kps: was: ";
/// Marks a line kps added.
const ADDED: &str = "# kps: added";

/// `sshd -T` output: lowercase keywords, each with its values in order
/// (some keywords, such as `hostkey`, come several times).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Effective {
    values: BTreeMap<String, Vec<String>>,
}

impl Effective {
    /// The (first) value of `keyword`, compared without case.
    pub fn get(&self, keyword: &str) -> Option<&str> {
        self.get_all(keyword).first().map(String::as_str)
    }

    /// Every value of `keyword`, in `sshd -T`'s order.
    pub fn get_all(&self, keyword: &str) -> &[String] {
        self.values
            .get(&keyword.to_ascii_lowercase())
            .map_or(&[], Vec::as_slice)
    }
}

/// Reads `sshd -T` output (`keyword value...` lines).
pub fn effective(sshd_t: &str) -> Effective {
    let mut values: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in sshd_t.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let (keyword, value) = line.split_once([' ', '\t']).unwrap_or((line, ""));
        values
            .entry(keyword.to_ascii_lowercase())
            .or_default()
            .push(value.trim().to_string());
    }
    Effective { values }
}

/// Where `--disable-password-login` writes its change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DisablePlan {
    /// Create this file (`<dir of the main file>/sshd_config.d/00-kps.conf`);
    /// the main file stays as it is. Undo: delete the file.
    DropIn { path: String, content: String },
    /// Replace the main file with `content` (which may equal the original
    /// when both settings already say `no` where they win). Undo:
    /// [`plan_enable`].
    EditMain { content: String },
}

/// Plans turning password and keyboard-interactive login off.
///
/// A drop-in when the main file's first directive is an `Include` whose
/// pattern takes in kps's drop-in (Debian 12, Ubuntu, Fedora): read before
/// any setting of the main file, it wins over all of them. Relative
/// `Include` paths and the drop-in are taken under the main file's
/// directory, which is sshd's configuration directory when `main_path` is
/// the build's own config file (`/etc/ssh/sshd_config`, or
/// `/usr/local/etc/ssh/sshd_config` on a BSD).
///
/// Otherwise an edit of the main file: each setting's first occurrence in
/// the global part, if it comes before any `Include` or `Match`, is changed
/// in place to `no` under a `# kps: was: <original line>` marker; else a
/// `# kps: added` marker and the setting go in just before the first
/// `Include` or `Match` (an included file read earlier would win over a
/// value after it, and a line after `Match` belongs to that block), or at
/// the end when there is neither. Line endings and every other byte stay.
pub fn plan_disable(main: &str, main_path: &str) -> DisablePlan {
    let dir = config_dir(main_path);
    let drop_in = format!("{dir}/{DROP_IN}");
    let first = split_lines(main).iter().find_map(|l| directive(l.body));
    if let Some(d) = first
        && d.is("include")
        && d.args
            .iter()
            .any(|p| glob_matches(&resolve(&dir, p), &drop_in))
    {
        return DisablePlan::DropIn {
            path: drop_in,
            content: DROP_IN_CONTENT.to_string(),
        };
    }
    let lines = split_lines(main);
    let parsed: Vec<_> = lines.iter().map(|l| directive(l.body)).collect();
    let barrier = parsed
        .iter()
        .position(|d| d.as_ref().is_some_and(|d| d.is("include") || d.is("match")));
    let global = &parsed[..barrier.unwrap_or(parsed.len())];
    let mut replace = Vec::new();
    let mut insert = Vec::new();
    for setting in [Setting::Password, Setting::KbdInteractive] {
        let first = global
            .iter()
            .position(|d| d.as_ref().and_then(Directive::setting) == Some(setting));
        match first {
            Some(i) if parsed[i].as_ref().is_some_and(Directive::says_no) => {}
            Some(i) => replace.push((i, setting)),
            None => insert.push(setting),
        }
    }
    DisablePlan::EditMain {
        content: rewrite(main, &replace, &insert, barrier),
    }
}

/// Undoes [`plan_disable`]'s `EditMain` (and [`fix_cloud_init`]) exactly:
/// each `# kps: was:` line and the line below become the original line
/// again; each `# kps: added` line goes with the line below. None when the
/// text holds no kps marker. A marker whose line below is no longer the
/// setting kps wrote (someone edited the file since) is left alone for
/// `was:` (kps does not guess) and dropped for `added`.
pub fn plan_enable(main: &str) -> Option<String> {
    restore(main)
}

/// Flips `PasswordAuthentication` (global, not `no`) to `no` in
/// `sshd_config.d/50-cloud-init.conf`, under the same `# kps: was:` marker.
/// None when there is nothing to flip.
pub fn fix_cloud_init(text: &str) -> Option<String> {
    let lines = split_lines(text);
    let mut replace = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        match directive(l.body) {
            Some(d) if d.is("match") => break,
            Some(d) if d.setting() == Some(Setting::Password) && !d.says_no() => {
                replace.push((i, Setting::Password))
            }
            _ => {}
        }
    }
    (!replace.is_empty()).then(|| rewrite(text, &replace, &[], None))
}

/// Undoes [`fix_cloud_init`]; None when the file holds no kps marker.
pub fn unfix_cloud_init(text: &str) -> Option<String> {
    restore(text)
}

/// Something in sshd's files that kps's change does not cover.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FindingKind {
    /// A `Match` block sets PasswordAuthentication or
    /// KbdInteractiveAuthentication `yes` (the finding names the Match line).
    MatchEnablesPassword,
    /// An `AuthenticationMethods` list names password or keyboard-interactive.
    AuthenticationMethodsNeedsPassword,
    /// `UsePAM yes` while KbdInteractiveAuthentication is not `no`
    /// (first values in sshd's reading order): PAM can still ask for the
    /// password (the finding names the UsePAM line).
    PamKeyboardInteractive,
    /// Keys also come from a command: editing authorized_keys may not be
    /// what decides.
    AuthorizedKeysCommand,
}

/// One finding: where, what, and the line as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub file: String,
    /// 1-based.
    pub line: usize,
    pub kind: FindingKind,
    /// The line it is about, trimmed (for MatchEnablesPassword the Match line).
    pub text: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The files come from the server: nothing in them reaches a terminal raw.
        let file = crate::text::escape(&self.file);
        let text = crate::text::escape(&self.text);
        write!(f, "{file}:{}: ", self.line)?;
        match self.kind {
            FindingKind::MatchEnablesPassword => write!(f, "{text} turns password login back on"),
            FindingKind::AuthenticationMethodsNeedsPassword => write!(
                f,
                "{text} asks for a password or keyboard-interactive login"
            ),
            FindingKind::PamKeyboardInteractive => write!(
                f,
                "{text} with KbdInteractiveAuthentication not set to no lets PAM ask for the password"
            ),
            FindingKind::AuthorizedKeysCommand => write!(
                f,
                "{text}: keys also come from this command, so authorized_keys may not be what decides"
            ),
        }
    }
}

/// What in `main` (path, text) and the drop-ins (path, text, in the order
/// sshd reads them) lets passwords in after kps's change, or makes
/// authorized_keys not the whole story. Pass the files as they will be
/// after the change to see what remains.
///
/// Each drop-in is read at the `Include` whose pattern takes it in (inside
/// the `Match` block that `Include` sits in, if any); a drop-in no
/// `Include` names is read after the main file.
pub fn findings(main: (&str, &str), dropins: &[(String, String)]) -> Vec<Finding> {
    let (main_path, main_text) = main;
    let mut walk = Walk {
        dir: config_dir(main_path),
        dropins,
        read: vec![false; dropins.len()],
        found: Vec::new(),
        use_pam: None,
        kbd_interactive: None,
    };
    walk.file(main_path, main_text, None, 0);
    for (i, (path, text)) in dropins.iter().enumerate() {
        if !walk.read[i] {
            walk.read[i] = true;
            walk.file(path, text, None, 0);
        }
    }
    // sshd's default for KbdInteractiveAuthentication is yes.
    let kbd_on = walk.kbd_interactive.is_none_or(|no| !no);
    if let Some((at, true)) = walk.use_pam.take()
        && kbd_on
    {
        walk.push(at, FindingKind::PamKeyboardInteractive);
    }
    walk.found
}

/// The authorized_keys files sshd reads for `user` (`AuthorizedKeysFile`:
/// `%h` home, `%u` user, `%U` uid, `%%`; relative paths are under `home`).
/// An entry with an unknown `%` token is left out: sshd refuses it too.
pub fn authorized_keys_files(
    effective: &Effective,
    user: &str,
    home: &str,
    uid: u32,
) -> Vec<String> {
    let value = effective
        .get("authorizedkeysfile")
        .unwrap_or(".ssh/authorized_keys .ssh/authorized_keys2");
    value
        .split_whitespace()
        .filter(|t| !t.eq_ignore_ascii_case("none"))
        .filter_map(|t| expand_keys_file(t, user, home, uid))
        .collect()
}

/// Does the server take a key of this type (`pubkeyacceptedalgorithms`, or
/// `pubkeyacceptedkeytypes` on older sshd)? An RSA key logs in with any of
/// its three signature algorithms. True when sshd printed neither (the login
/// proof decides then).
pub fn accepts_algorithm(effective: &Effective, key_algorithm: &str) -> bool {
    let Some(list) = effective
        .get("pubkeyacceptedalgorithms")
        .or_else(|| effective.get("pubkeyacceptedkeytypes"))
    else {
        return true;
    };
    let wanted: &[&str] = match key_algorithm {
        "ssh-rsa" => &["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"],
        "ssh-rsa-cert-v01@openssh.com" => &[
            "rsa-sha2-512-cert-v01@openssh.com",
            "rsa-sha2-256-cert-v01@openssh.com",
            "ssh-rsa-cert-v01@openssh.com",
        ],
        other => &[other],
    };
    wanted.iter().any(|name| in_pattern_list(list, name))
}

/// Password login is off: `passwordauthentication no` and keyboard-
/// interactive either off or without PAM behind it. (`usepam` missing
/// means an sshd built without PAM.)
pub fn password_login_off(effective: &Effective) -> bool {
    let no = |v: Option<&str>| v.is_some_and(|v| v.eq_ignore_ascii_case("no"));
    // Before OpenSSH 8.7 both keywords were printed; the keyboard-
    // interactive method followed kbdinteractiveauthentication.
    let kbd = effective
        .get("kbdinteractiveauthentication")
        .or_else(|| effective.get("challengeresponseauthentication"));
    let pam_off = effective
        .get("usepam")
        .is_none_or(|v| v.eq_ignore_ascii_case("no"));
    no(effective.get("passwordauthentication")) && (no(kbd) || pam_off)
}

// ---------------------------------------------------------------------------
// Lines and directives, as sshd's servconf.c reads them.

/// One line: its text and its terminator ("\r\n", "\n", or "" at the end).
struct Line<'a> {
    body: &'a str,
    term: &'a str,
}

fn split_lines(text: &str) -> Vec<Line<'_>> {
    text.split_inclusive('\n')
        .map(|raw| match raw.strip_suffix('\n') {
            Some(b) => match b.strip_suffix('\r') {
                Some(body) => Line { body, term: "\r\n" },
                None => Line {
                    body: b,
                    term: "\n",
                },
            },
            None => Line {
                body: raw,
                term: "",
            },
        })
        .collect()
}

/// The terminator for lines kps inserts: the file's first one, else "\n".
fn line_style(lines: &[Line<'_>]) -> &'static str {
    match lines.iter().map(|l| l.term).find(|t| !t.is_empty()) {
        Some("\r\n") => "\r\n",
        _ => "\n",
    }
}

/// The two settings kps turns off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Setting {
    Password,
    /// Also spelt ChallengeResponseAuthentication (deprecated alias).
    KbdInteractive,
}

impl Setting {
    fn keyword(self) -> &'static str {
        match self {
            Setting::Password => "PasswordAuthentication",
            Setting::KbdInteractive => "KbdInteractiveAuthentication",
        }
    }
}

struct Directive<'a> {
    keyword: &'a str,
    args: Vec<String>,
}

impl Directive<'_> {
    fn is(&self, keyword: &str) -> bool {
        self.keyword.eq_ignore_ascii_case(keyword)
    }

    fn setting(&self) -> Option<Setting> {
        if self.is("passwordauthentication") {
            Some(Setting::Password)
        } else if self.is("kbdinteractiveauthentication")
            || self.is("challengeresponseauthentication")
        {
            Some(Setting::KbdInteractive)
        } else {
            None
        }
    }

    fn first_is(&self, value: &str) -> bool {
        self.args
            .first()
            .is_some_and(|a| a.eq_ignore_ascii_case(value))
    }

    fn says_no(&self) -> bool {
        self.first_is("no")
    }
}

const WHITESPACE: [char; 4] = [' ', '\t', '\r', '\n'];

/// A directive line: keyword, then blanks and/or one `=`, then arguments
/// split as sshd's argv_split does (quotes, backslash escapes, `#` starting
/// a word ends the line). None for blank and comment lines.
fn directive(body: &str) -> Option<Directive<'_>> {
    let s = body
        .trim_end_matches([' ', '\t', '\r', '\n', '\x0c'])
        .trim_start_matches(WHITESPACE);
    let end = s.find([' ', '\t', '\r', '\n', '=']).unwrap_or(s.len());
    let keyword = &s[..end];
    if keyword.is_empty() || keyword.starts_with('#') {
        return None;
    }
    let mut rest = s[end..].trim_start_matches(WHITESPACE);
    if let Some(r) = rest.strip_prefix('=') {
        rest = r.trim_start_matches(WHITESPACE);
    }
    Some(Directive {
        keyword,
        args: argv_split(rest),
    })
}

/// OpenSSH misc.c argv_split with terminate_on_comment.
fn argv_split(s: &str) -> Vec<String> {
    let chars: Vec<char> = s.chars().collect();
    let mut args = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == ' ' || chars[i] == '\t' {
            i += 1;
            continue;
        }
        if chars[i] == '#' {
            break;
        }
        let mut arg = String::new();
        let mut quote = None;
        while i < chars.len() {
            let c = chars[i];
            let next = chars.get(i + 1).copied();
            if c == '\\' {
                match next {
                    Some(n @ ('\'' | '"' | '\\')) => {
                        arg.push(n);
                        i += 1;
                    }
                    Some(' ') if quote.is_none() => {
                        arg.push(' ');
                        i += 1;
                    }
                    _ => arg.push('\\'),
                }
            } else if quote.is_none() && (c == ' ' || c == '\t') {
                break;
            } else if quote.is_none() && (c == '"' || c == '\'') {
                quote = Some(c);
            } else if quote == Some(c) {
                quote = None;
            } else {
                arg.push(c);
            }
            i += 1;
        }
        args.push(arg);
    }
    args
}

/// `text` with the lines at `replace` changed to `<setting> no` under a
/// `was:` marker, and `insert` added (each under an `added` marker) before
/// line `before`, or at the end when None.
fn rewrite(
    text: &str,
    replace: &[(usize, Setting)],
    insert: &[Setting],
    before: Option<usize>,
) -> String {
    let lines = split_lines(text);
    let style = line_style(&lines);
    let mut out = String::with_capacity(text.len() + 200);
    let push_added = |out: &mut String, term: &str| {
        for s in insert {
            out.push_str(&format!("{ADDED}{term}{} no{term}", s.keyword()));
        }
    };
    for (i, l) in lines.iter().enumerate() {
        let term = if l.term.is_empty() { style } else { l.term };
        if before == Some(i) {
            push_added(&mut out, term);
        }
        match replace.iter().find(|(at, _)| *at == i) {
            Some((_, setting)) => {
                let indent = &l.body[..l.body.len() - l.body.trim_start().len()];
                out.push_str(&format!("{WAS}{}{term}", l.body));
                out.push_str(&format!("{indent}{} no{}", setting.keyword(), l.term));
            }
            None => {
                out.push_str(l.body);
                out.push_str(l.term);
            }
        }
    }
    if before.is_none() && !insert.is_empty() {
        // A file without a final newline keeps its shape: the terminator
        // goes before kps's lines, and the last of them has none, so
        // restore can give back the original exactly.
        let unterminated = !text.is_empty() && !text.ends_with('\n');
        if unterminated {
            out.push_str(style);
        }
        push_added(&mut out, style);
        if unterminated {
            out.truncate(out.len() - style.len());
        }
    }
    out
}

fn restore(text: &str) -> Option<String> {
    let lines = split_lines(text);
    let mut out = String::with_capacity(text.len());
    let mut changed = false;
    let mut i = 0;
    while i < lines.len() {
        let l = &lines[i];
        let below = lines.get(i + 1);
        let below_setting = below
            .and_then(|b| directive(b.body))
            .and_then(|d| d.setting());
        if let Some(original) = l.body.strip_prefix(WAS) {
            let was = directive(original).and_then(|d| d.setting());
            if let Some(below) = below
                && was.is_some()
                && was == below_setting
            {
                out.push_str(original);
                out.push_str(below.term);
                changed = true;
                i += 2;
                continue;
            }
        } else if l.body == ADDED {
            changed = true;
            match below {
                Some(below) if below_setting.is_some() => {
                    if below.term.is_empty() {
                        // kps added the terminator before its lines at the end.
                        let t = if out.ends_with("\r\n") { 2 } else { 1 };
                        out.truncate(out.len().saturating_sub(t));
                    }
                    i += 2;
                }
                _ => i += 1,
            }
            continue;
        }
        out.push_str(l.body);
        out.push_str(l.term);
        i += 1;
    }
    changed.then_some(out)
}

// ---------------------------------------------------------------------------
// Include: paths and globs.

/// sshd's configuration directory, taken as the main file's directory.
fn config_dir(main_path: &str) -> String {
    match main_path.rsplit_once('/') {
        Some((dir, _)) if !dir.is_empty() => dir.to_string(),
        Some(_) => String::new(),
        None => "/etc/ssh".to_string(),
    }
}

/// An `Include` argument as sshd resolves it: relative = under its
/// configuration directory (`~` paths are left as they are and match none
/// of the paths kps deals in).
fn resolve(dir: &str, pattern: &str) -> String {
    if pattern.starts_with('/') || pattern.starts_with('~') {
        pattern.to_string()
    } else {
        format!("{dir}/{pattern}")
    }
}

/// glob(3) without flags: `*`, `?` and `[...]` (`!` or `^` negates, ranges,
/// a leading `]` is literal) within one path component, a backslash quotes
/// the next character, and a name starting with "." is matched only by a
/// literal ".". Repeated slashes count as one.
fn glob_matches(pattern: &str, path: &str) -> bool {
    let parts = |s: &str| -> Vec<String> {
        s.split('/')
            .filter(|p| !p.is_empty())
            .map(String::from)
            .collect()
    };
    let (pattern_parts, path_parts) = (parts(pattern), parts(path));
    pattern.starts_with('/') == path.starts_with('/')
        && pattern_parts.len() == path_parts.len()
        && pattern_parts
            .iter()
            .zip(&path_parts)
            .all(|(p, name)| component_matches(&glob_tokens(p), name))
}

enum Token {
    Literal(char),
    AnyOne,
    AnyRun,
    /// (ranges, negated)
    Class(Vec<(char, char)>, bool),
}

fn glob_tokens(pattern: &str) -> Vec<Token> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '*' => tokens.push(Token::AnyRun),
            '?' => tokens.push(Token::AnyOne),
            '\\' if i + 1 < chars.len() => {
                i += 1;
                tokens.push(Token::Literal(chars[i]));
            }
            '[' => match glob_class(&chars[i + 1..]) {
                Some((class, used)) => {
                    tokens.push(class);
                    i += used;
                }
                None => tokens.push(Token::Literal('[')),
            },
            c => tokens.push(Token::Literal(c)),
        }
        i += 1;
    }
    tokens
}

/// The class after a `[`, and how many characters it took (with the `]`);
/// None when there is no closing `]` (then `[` is a plain character).
fn glob_class(chars: &[char]) -> Option<(Token, usize)> {
    let mut i = 0;
    let negated = matches!(chars.first(), Some('!' | '^'));
    if negated {
        i += 1;
    }
    let mut ranges = Vec::new();
    let first = i;
    while i < chars.len() {
        let c = chars[i];
        if c == ']' && i > first {
            return Some((Token::Class(ranges, negated), i + 1));
        }
        if chars.get(i + 1) == Some(&'-') && chars.get(i + 2).is_some_and(|&e| e != ']') {
            ranges.push((c, chars[i + 2]));
            i += 3;
        } else {
            ranges.push((c, c));
            i += 1;
        }
    }
    None
}

fn token_matches(token: &Token, c: char) -> bool {
    match token {
        Token::Literal(l) => *l == c,
        Token::AnyOne | Token::AnyRun => true,
        Token::Class(ranges, negated) => {
            ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi) != *negated
        }
    }
}

/// Wildcard match with one backtracking point per `*`: linear in practice,
/// never exponential, whatever the (server's) pattern.
fn component_matches(tokens: &[Token], name: &str) -> bool {
    let name: Vec<char> = name.chars().collect();
    if name.first() == Some(&'.') && !matches!(tokens.first(), Some(Token::Literal('.'))) {
        return false;
    }
    wildcard(tokens, &name)
}

fn wildcard(tokens: &[Token], name: &[char]) -> bool {
    let (mut t, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        match tokens.get(t) {
            Some(Token::AnyRun) => {
                star = Some((t, n));
                t += 1;
            }
            Some(token) if token_matches(token, name[n]) => {
                t += 1;
                n += 1;
            }
            _ => match star {
                Some((st, sn)) => {
                    t = st + 1;
                    n = sn + 1;
                    star = Some((st, sn + 1));
                }
                None => return false,
            },
        }
    }
    tokens[t..].iter().all(|t| matches!(t, Token::AnyRun))
}

/// OpenSSH match_pattern_list (without case folding): a comma list of
/// `*`/`?` patterns where a matching `!pattern` refuses outright.
fn in_pattern_list(list: &str, name: &str) -> bool {
    let name: Vec<char> = name.chars().collect();
    let mut found = false;
    for pattern in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (negated, pattern) = match pattern.strip_prefix('!') {
            Some(p) => (true, p),
            None => (false, pattern),
        };
        let tokens: Vec<Token> = pattern
            .chars()
            .map(|c| match c {
                '*' => Token::AnyRun,
                '?' => Token::AnyOne,
                c => Token::Literal(c),
            })
            .collect();
        if wildcard(&tokens, &name) {
            if negated {
                return false;
            }
            found = true;
        }
    }
    found
}

fn expand_keys_file(token: &str, user: &str, home: &str, uid: u32) -> Option<String> {
    // "/home/alice/" and "/" as homes give no doubled slash ("/" becomes "").
    let home = home.trim_end_matches('/');
    let mut out = String::new();
    let mut chars = token.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next()? {
            '%' => out.push('%'),
            'h' => out.push_str(home),
            'u' => out.push_str(user),
            'U' => out.push_str(&uid.to_string()),
            _ => return None,
        }
    }
    if out.starts_with('/') {
        Some(out)
    } else {
        Some(format!("{home}/{out}"))
    }
}

// ---------------------------------------------------------------------------
// findings: one pass over the files in sshd's reading order.

/// Where a finding points: file, line, trimmed text.
type At = (String, usize, String);

struct Walk<'a> {
    dir: String,
    dropins: &'a [(String, String)],
    read: Vec<bool>,
    found: Vec<Finding>,
    /// The first global UsePAM: where, and whether it says yes.
    use_pam: Option<(At, bool)>,
    /// The first global KbdInteractiveAuthentication: whether it says no.
    kbd_interactive: Option<bool>,
}

impl<'a> Walk<'a> {
    fn push(&mut self, (file, line, text): At, kind: FindingKind) {
        let finding = Finding {
            file,
            line,
            kind,
            text,
        };
        if !self.found.contains(&finding) {
            self.found.push(finding);
        }
    }

    /// Reads one file; `block` is the Match block its `Include` sits in. A
    /// Match inside the file lasts to the file's end only.
    fn file(&mut self, path: &str, text: &str, block: Option<At>, depth: usize) {
        let mut block = block;
        for (i, l) in split_lines(text).iter().enumerate() {
            let Some(d) = directive(l.body) else {
                continue;
            };
            let at = (path.to_string(), i + 1, l.body.trim().to_string());
            if d.is("match") {
                block = Some(at);
            } else if d.is("include") {
                self.include(&d.args, &block, depth + 1);
            } else if let Some(setting) = d.setting() {
                match &block {
                    Some(m) if d.first_is("yes") => {
                        self.push(m.clone(), FindingKind::MatchEnablesPassword)
                    }
                    None if setting == Setting::KbdInteractive
                        && self.kbd_interactive.is_none() =>
                    {
                        self.kbd_interactive = Some(d.says_no())
                    }
                    _ => {}
                }
            } else if d.is("usepam") {
                if block.is_none() && self.use_pam.is_none() {
                    self.use_pam = Some((at, d.first_is("yes")));
                }
            } else if d.is("authenticationmethods") {
                let asks = d
                    .args
                    .iter()
                    .flat_map(|list| list.split(','))
                    .map(|method| method.split(':').next().unwrap_or(method))
                    .any(|m| m == "password" || m == "keyboard-interactive");
                if asks {
                    self.push(at, FindingKind::AuthenticationMethodsNeedsPassword);
                }
            } else if d.is("authorizedkeyscommand") && !d.first_is("none") {
                self.push(at, FindingKind::AuthorizedKeysCommand);
            }
        }
    }

    /// sshd refuses Includes nested deeper than 16 (servconf.c
    /// SERVCONF_MAX_DEPTH); the bound also keeps a hostile file list from
    /// recursing without end here.
    fn include(&mut self, patterns: &[String], block: &Option<At>, depth: usize) {
        if depth > 16 {
            return;
        }
        for pattern in patterns {
            let pattern = resolve(&self.dir, pattern);
            let dropins: &'a [(String, String)] = self.dropins;
            for (j, (path, text)) in dropins.iter().enumerate() {
                if !self.read[j] && glob_matches(&pattern, path) {
                    self.read[j] = true;
                    self.file(path, text, block.clone(), depth);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Debian 12's /etc/ssh/sshd_config (openssh-server 1:9.2p1-2+deb12u10),
    /// copied from the machine these tests were written on.
    const DEBIAN12: &str = include_str!("../../tests/fixtures/sshd/debian12_sshd_config");
    /// Ubuntu's cloud-init drop-in when the image allows passwords.
    const CLOUD_INIT: &str = "PasswordAuthentication yes\n";
    const MAIN: &str = "/etc/ssh/sshd_config";

    fn edit(main: &str) -> String {
        match plan_disable(main, MAIN) {
            DisablePlan::EditMain { content } => content,
            other => panic!("expected EditMain, got {other:?}"),
        }
    }

    /// plan_enable gives back exactly what plan_disable started from.
    fn edit_round_trip(main: &str) -> String {
        let edited = edit(main);
        if edited != main {
            assert_eq!(plan_enable(&edited).as_deref(), Some(main), "{edited:?}");
        }
        edited
    }

    fn dropins(files: &[(&str, &str)]) -> Vec<(String, String)> {
        files
            .iter()
            .map(|(p, t)| (p.to_string(), t.to_string()))
            .collect()
    }

    fn kinds(found: &[Finding]) -> Vec<(String, usize, FindingKind)> {
        found
            .iter()
            .map(|f| (f.file.clone(), f.line, f.kind))
            .collect()
    }

    #[test]
    fn debian_layout_gets_the_drop_in() {
        assert!(DEBIAN12.contains("\nInclude /etc/ssh/sshd_config.d/*.conf\n"));
        let DisablePlan::DropIn { path, content } = plan_disable(DEBIAN12, MAIN) else {
            panic!("expected a drop-in");
        };
        assert_eq!(path, "/etc/ssh/sshd_config.d/00-kps.conf");
        let lines: Vec<_> = content.lines().collect();
        assert!(lines[0].starts_with("# Written by kps"), "{content}");
        assert!(lines[0].contains("kps unbind") && lines[0].contains("--enable-password-login"));
        assert!(lines[0].contains("delete this file"));
        assert_eq!(
            &lines[1..],
            [
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no"
            ]
        );
        // Nothing in Debian's own file is a finding; UsePAM yes is covered by
        // its KbdInteractiveAuthentication no.
        assert!(findings((MAIN, DEBIAN12), &[]).is_empty());
        assert_eq!(plan_enable(DEBIAN12), None);
    }

    #[test]
    fn include_patterns_are_matched_as_globs() {
        let plan = |include: &str| {
            let main = format!("# top\n\n{include}\nPasswordAuthentication yes\n");
            matches!(plan_disable(&main, MAIN), DisablePlan::DropIn { .. })
        };
        for yes in [
            "Include /etc/ssh/sshd_config.d/*.conf",
            "Include sshd_config.d/*.conf",
            "include=sshd_config.d/*",
            "  Include \"/etc/ssh/sshd_config.d/*.conf\"",
            "Include /etc/ssh/other/*.conf /etc/ssh/sshd_config.d/*.conf",
            "Include /etc/ssh/sshd_config.d/[0-9]*.conf",
            "Include /etc/ssh/sshd_config.d/[!5]*.conf",
            "Include /etc/ssh/sshd_config.d/?0-*.conf",
            "Include /etc/ssh//sshd_config.d/00-kps.conf",
            "Include /etc/ssh/sshd_config.d/\\00-kps.conf",
            "Include /etc/ssh/*/*.conf",
        ] {
            assert!(plan(yes), "{yes}");
        }
        for no in [
            "Include /etc/ssh/sshd_config.d/5*.conf",
            "Include /etc/ssh/sshd_config.d/[1-9]*.conf",
            "Include /etc/ssh/sshd_config.d/*.cfg",
            "Include /etc/ssh/*.conf",
            "Include sshd_config.d",
            "Include /etc/ssh/sshd_config.d/.*",
            "Include ~/sshd_config.d/*.conf",
            "Include /etc/ssh/sshd_config.d/[0-9*.conf",
            "# Include /etc/ssh/sshd_config.d/*.conf",
        ] {
            assert!(!plan(no), "{no}");
        }
        // sshd's configuration directory elsewhere (a BSD's /usr/local/etc/ssh).
        let main = "Include sshd_config.d/*.conf\n";
        assert_eq!(
            plan_disable(main, "/usr/local/etc/ssh/sshd_config"),
            DisablePlan::DropIn {
                path: "/usr/local/etc/ssh/sshd_config.d/00-kps.conf".into(),
                content: DROP_IN_CONTENT.into()
            }
        );
    }

    #[test]
    fn glob_details() {
        let m = |p: &str, s: &str| glob_matches(p, s);
        assert!(m("/a/*", "/a/x"));
        assert!(!m("/a/*", "/a/x/y"));
        assert!(!m("a/*", "/a/x"));
        assert!(m("/a/[]x]", "/a/]"));
        assert!(m("/a/[^b]", "/a/c") && !m("/a/[^b]", "/a/b"));
        assert!(m("/a/.*", "/a/.hidden") && !m("/a/*", "/a/.hidden") && !m("/a/?x", "/a/.x"));
        assert!(m("/a/[a-c]-[x-z]?", "/a/b-y1"));
        // A pattern built to make a naive matcher explode stays fast.
        let evil = format!("/a/{}b", "*a".repeat(40));
        assert!(!m(&evil, &format!("/a/{}", "a".repeat(200))));
    }

    #[test]
    fn ubuntu_cloud_init_drop_in() {
        let dropins = dropins(&[("/etc/ssh/sshd_config.d/50-cloud-init.conf", CLOUD_INIT)]);
        assert!(matches!(
            plan_disable(DEBIAN12, MAIN),
            DisablePlan::DropIn { .. }
        ));
        assert!(findings((MAIN, DEBIAN12), &dropins).is_empty());
        let fixed = fix_cloud_init(CLOUD_INIT).unwrap();
        assert_eq!(
            fixed,
            "# kps: was: PasswordAuthentication yes\nPasswordAuthentication no\n"
        );
        assert_eq!(fix_cloud_init(&fixed), None, "fixed once is fixed");
        assert_eq!(unfix_cloud_init(&fixed).as_deref(), Some(CLOUD_INIT));
        assert_eq!(unfix_cloud_init(CLOUD_INIT), None);
        // Already no, or nothing about passwords: nothing to do.
        assert_eq!(fix_cloud_init("PasswordAuthentication no\n"), None);
        assert_eq!(fix_cloud_init(""), None);
        // CRLF and no final newline survive the round trip.
        let odd = "# cloud-init\r\npasswordauthentication=YES";
        let fixed = fix_cloud_init(odd).unwrap();
        assert_eq!(
            fixed,
            "# cloud-init\r\n# kps: was: passwordauthentication=YES\r\nPasswordAuthentication no"
        );
        assert_eq!(unfix_cloud_init(&fixed).as_deref(), Some(odd));
    }

    #[test]
    fn main_without_include_is_edited_in_place() {
        let main = "Port 22\n\n# Authentication\nPasswordAuthentication yes\nUsePAM yes\n\
                    ChallengeResponseAuthentication yes\nX11Forwarding yes\n";
        assert_eq!(
            edit_round_trip(main),
            "Port 22\n\n# Authentication\n# kps: was: PasswordAuthentication yes\n\
             PasswordAuthentication no\nUsePAM yes\n\
             # kps: was: ChallengeResponseAuthentication yes\nKbdInteractiveAuthentication no\n\
             X11Forwarding yes\n"
        );
    }

    #[test]
    fn settings_already_off_are_left_alone() {
        let main = "PasswordAuthentication no\nKbdInteractiveAuthentication No\n";
        assert_eq!(edit(main), main);
        assert_eq!(plan_enable(main), None);
        // The second run over an edited file changes nothing either.
        let once = edit("PasswordAuthentication yes\n");
        assert_eq!(edit(&once), once);
    }

    #[test]
    fn commented_and_odd_spellings() {
        // A commented line is not a setting: the setting is added at the end.
        let main = "#PasswordAuthentication yes\n# KbdInteractiveAuthentication yes\n";
        assert_eq!(
            edit_round_trip(main),
            format!(
                "{main}# kps: added\nPasswordAuthentication no\n\
                 # kps: added\nKbdInteractiveAuthentication no\n"
            )
        );
        for line in [
            "passwordauthentication=yes",
            "PasswordAuthentication = yes",
            "  PASSWORDAUTHENTICATION\tyes   # trailing comment",
            "PasswordAuthentication \"yes\"",
        ] {
            let main = format!("{line}\nKbdInteractiveAuthentication no\n");
            let indent = &line[..line.len() - line.trim_start().len()];
            assert_eq!(
                edit_round_trip(&main),
                format!(
                    "# kps: was: {line}\n{indent}PasswordAuthentication no\n\
                     KbdInteractiveAuthentication no\n"
                )
            );
        }
    }

    #[test]
    fn include_not_first_puts_the_settings_before_it() {
        // The drop-ins are read at the Include: a value after it would lose
        // to cloud-init's "yes" there.
        let main = "Port 22\nInclude /etc/ssh/sshd_config.d/*.conf\nPasswordAuthentication yes\n";
        assert_eq!(
            edit_round_trip(main),
            "Port 22\n# kps: added\nPasswordAuthentication no\n\
             # kps: added\nKbdInteractiveAuthentication no\n\
             Include /etc/ssh/sshd_config.d/*.conf\nPasswordAuthentication yes\n"
        );
        // A setting before the Include is edited in place.
        let main = "PasswordAuthentication yes\nInclude /etc/ssh/sshd_config.d/*.conf\n";
        assert_eq!(
            edit_round_trip(main),
            "# kps: was: PasswordAuthentication yes\nPasswordAuthentication no\n\
             # kps: added\nKbdInteractiveAuthentication no\n\
             Include /etc/ssh/sshd_config.d/*.conf\n"
        );
    }

    #[test]
    fn never_after_a_match() {
        // The file ends in a Match block: appending would put the settings
        // inside it (for that user only).
        let main = "UsePAM yes\nPasswordAuthentication yes\n\nMatch User backup\n\tForceCommand internal-sftp\n\
                    \tPasswordAuthentication yes\n";
        assert_eq!(
            edit_round_trip(main),
            "UsePAM yes\n# kps: was: PasswordAuthentication yes\nPasswordAuthentication no\n\n\
             # kps: added\nKbdInteractiveAuthentication no\n\
             Match User backup\n\tForceCommand internal-sftp\n\tPasswordAuthentication yes\n"
        );
        // A setting only inside a Match is not a global occurrence.
        let main = "Match Address 10.0.0.0/8\nPasswordAuthentication no\n";
        let edited = edit_round_trip(main);
        assert!(edited.starts_with(
            "# kps: added\nPasswordAuthentication no\n# kps: added\nKbdInteractiveAuthentication no\nMatch"
        ));
    }

    #[test]
    fn crlf_and_unterminated_files_round_trip() {
        let main =
            "Port 22\r\nPasswordAuthentication yes\r\nMatch User x\r\n  X11Forwarding no\r\n";
        assert_eq!(
            edit_round_trip(main),
            "Port 22\r\n# kps: was: PasswordAuthentication yes\r\nPasswordAuthentication no\r\n\
             # kps: added\r\nKbdInteractiveAuthentication no\r\nMatch User x\r\n  X11Forwarding no\r\n"
        );
        let main = "Port 22\r\nUsePAM yes";
        assert_eq!(
            edit_round_trip(main),
            "Port 22\r\nUsePAM yes\r\n# kps: added\r\nPasswordAuthentication no\r\n\
             # kps: added\r\nKbdInteractiveAuthentication no"
        );
        let main = "PasswordAuthentication yes";
        assert_eq!(
            edit_round_trip(main),
            "# kps: was: PasswordAuthentication yes\nPasswordAuthentication no\n\
             # kps: added\nKbdInteractiveAuthentication no"
        );
        for main in [
            "",
            "\n",
            "\r\n",
            "# only a comment",
            "Port 22\n",
            "UsePAM yes\r\n# end",
        ] {
            let edited = edit_round_trip(main);
            assert!(edited.contains("# kps: added"), "{main:?}");
        }
        // Non-ASCII text elsewhere stays as it was.
        let main = "# Grüße\u{202e}\nBanner /etc/issue.net\n";
        assert!(edit_round_trip(main).starts_with(main));
    }

    #[test]
    fn plan_enable_leaves_what_it_did_not_write() {
        assert_eq!(plan_enable("PasswordAuthentication no\n"), None);
        // Someone replaced kps's line by another setting: kps does not guess.
        let edited = "# kps: was: PasswordAuthentication yes\nPort 2222\n";
        assert_eq!(plan_enable(edited), None);
        // A lone "added" marker goes.
        assert_eq!(
            plan_enable("# kps: added\nPort 2222\n").as_deref(),
            Some("Port 2222\n")
        );
    }

    #[test]
    fn match_user_turning_passwords_back_on_is_found() {
        let main = "Include /etc/ssh/sshd_config.d/*.conf\nUsePAM no\n\
                    Match User alice\n    PasswordAuthentication yes\n    KbdInteractiveAuthentication yes\n\
                    Match Address 192.168.0.0/16\n    PasswordAuthentication no\n";
        let found = findings((MAIN, main), &[]);
        assert_eq!(
            kinds(&found),
            [(MAIN.into(), 3, FindingKind::MatchEnablesPassword)]
        );
        assert_eq!(found[0].text, "Match User alice");
        assert_eq!(
            found[0].to_string(),
            "/etc/ssh/sshd_config:3: Match User alice turns password login back on"
        );
    }

    #[test]
    fn findings_follow_the_include_order_and_match_scope() {
        let main = "Include /etc/ssh/sshd_config.d/*.conf\nUsePAM yes\nKbdInteractiveAuthentication no\n\
                    Match Group admins\n  Include /etc/ssh/admins.conf\n";
        let files = dropins(&[
            // Read first: its "yes" is the first value, main's "no" loses.
            (
                "/etc/ssh/sshd_config.d/10-old.conf",
                "ChallengeResponseAuthentication yes\n",
            ),
            // Its Match lasts to its own end, not into the main file.
            (
                "/etc/ssh/sshd_config.d/20-match.conf",
                "Match User bob\nPasswordAuthentication yes\n",
            ),
            // Included inside main's Match: its lines belong to that block.
            ("/etc/ssh/admins.conf", "PasswordAuthentication yes\n"),
            // Named by no Include: read last.
            (
                "/etc/ssh/stray.conf",
                "AuthorizedKeysCommand /usr/bin/fetch-keys %u\n",
            ),
        ]);
        let found = findings((MAIN, main), &files);
        assert_eq!(
            kinds(&found),
            [
                (
                    "/etc/ssh/sshd_config.d/20-match.conf".into(),
                    1,
                    FindingKind::MatchEnablesPassword
                ),
                (MAIN.into(), 4, FindingKind::MatchEnablesPassword),
                (
                    "/etc/ssh/stray.conf".into(),
                    1,
                    FindingKind::AuthorizedKeysCommand
                ),
                (MAIN.into(), 2, FindingKind::PamKeyboardInteractive),
            ]
        );
        assert_eq!(
            found[3].to_string(),
            "/etc/ssh/sshd_config:2: UsePAM yes with KbdInteractiveAuthentication not set to no \
             lets PAM ask for the password"
        );
        // Without the old drop-in, main's "no" is the first value.
        let found = findings((MAIN, main), &files[1..]);
        assert!(
            !found
                .iter()
                .any(|f| f.kind == FindingKind::PamKeyboardInteractive)
        );
    }

    #[test]
    fn nested_includes_stop_where_sshd_stops() {
        // Each file includes the next; sshd gives up past depth 16, and so
        // does findings (without recursing through every file).
        let files: Vec<(String, String)> = (0..300)
            .map(|i| {
                (
                    format!("/etc/ssh/f{i}"),
                    format!("Include /etc/ssh/f{}\nUsePAM yes\n", i + 1),
                )
            })
            .collect();
        let found = findings((MAIN, "Include /etc/ssh/f0\n"), &files);
        assert_eq!(
            kinds(&found),
            [(
                "/etc/ssh/f15".into(),
                2,
                FindingKind::PamKeyboardInteractive
            )]
        );
    }

    #[test]
    fn pam_with_keyboard_interactive_by_default() {
        let found = findings((MAIN, "UsePAM yes\nPasswordAuthentication no\n"), &[]);
        assert_eq!(
            kinds(&found),
            [(MAIN.into(), 1, FindingKind::PamKeyboardInteractive)]
        );
        assert!(findings((MAIN, "UsePAM no\n"), &[]).is_empty());
        assert!(findings((MAIN, ""), &[]).is_empty());
        // kps's own drop-in, read first, covers it.
        let dropin = [(
            "/etc/ssh/sshd_config.d/00-kps.conf".to_string(),
            DROP_IN_CONTENT.to_string(),
        )];
        let main =
            "Include /etc/ssh/sshd_config.d/*.conf\nUsePAM yes\nKbdInteractiveAuthentication yes\n";
        assert!(findings((MAIN, main), &dropin).is_empty());
    }

    #[test]
    fn authentication_methods_and_keys_command() {
        let main = "AuthenticationMethods publickey,password publickey,keyboard-interactive:pam\n\
                    AuthorizedKeysCommand none\nMatch User ci\n  AuthenticationMethods any\n\
                    Match User legacy\n  AuthenticationMethods keyboard-interactive\n\
                    AuthorizedKeysCommand /usr/share/ec2-instance-connect/eic_run_authorized_keys %u %f\n";
        let found = findings((MAIN, main), &[]);
        assert_eq!(
            kinds(&found),
            [
                (
                    MAIN.into(),
                    1,
                    FindingKind::AuthenticationMethodsNeedsPassword
                ),
                (
                    MAIN.into(),
                    6,
                    FindingKind::AuthenticationMethodsNeedsPassword
                ),
                (MAIN.into(), 7, FindingKind::AuthorizedKeysCommand),
            ]
        );
        assert!(found[1].to_string().ends_with(
            "AuthenticationMethods keyboard-interactive asks for a password or keyboard-interactive login"
        ));
        assert!(
            found[2]
                .to_string()
                .contains("authorized_keys may not be what decides")
        );
    }

    #[test]
    fn findings_escape_what_they_print() {
        let main = "Match User \x1b[2Jroot\nPasswordAuthentication yes\n";
        let found = findings(("/etc/ssh/\u{202e}x", main), &[]);
        let shown = found[0].to_string();
        assert!(
            !shown.contains('\x1b') && !shown.contains('\u{202e}'),
            "{shown}"
        );
        assert!(shown.contains("\\x1b[2Jroot"), "{shown}");
        assert_eq!(found[0].text, "Match User \x1b[2Jroot");
    }

    #[test]
    fn effective_values() {
        let t = "port 22\nhostkey /etc/ssh/a\nhostkey /etc/ssh/b\nPasswordAuthentication no\n\
                 authorizedkeysfile .ssh/authorized_keys .ssh/authorized_keys2\nbanner\n\n";
        let e = effective(t);
        assert_eq!(e.get("port"), Some("22"));
        assert_eq!(e.get("HostKey"), Some("/etc/ssh/a"));
        assert_eq!(e.get_all("hostkey"), ["/etc/ssh/a", "/etc/ssh/b"]);
        assert_eq!(e.get("passwordauthentication"), Some("no"));
        assert_eq!(e.get("banner"), Some(""));
        assert_eq!(e.get("usepam"), None);
        assert!(e.get_all("nothing").is_empty());
    }

    #[test]
    fn authorized_keys_file_expansion() {
        let files = |value: Option<&str>| {
            let e = effective(
                &value
                    .map(|v| format!("authorizedkeysfile {v}\n"))
                    .unwrap_or_default(),
            );
            authorized_keys_files(&e, "alice", "/home/alice/", 1001)
        };
        assert_eq!(
            files(None),
            [
                "/home/alice/.ssh/authorized_keys",
                "/home/alice/.ssh/authorized_keys2"
            ]
        );
        assert_eq!(
            files(Some(".ssh/authorized_keys .ssh/authorized_keys2")),
            [
                "/home/alice/.ssh/authorized_keys",
                "/home/alice/.ssh/authorized_keys2"
            ]
        );
        assert_eq!(
            files(Some(
                "/etc/ssh/keys/%u %h/.ssh/k_%U keys/100%% %x/bad none trailing%"
            )),
            [
                "/etc/ssh/keys/alice",
                "/home/alice/.ssh/k_1001",
                "/home/alice/keys/100%"
            ]
        );
        assert!(files(Some("none")).is_empty());
        let e = effective("authorizedkeysfile .ssh/authorized_keys\n");
        assert_eq!(
            authorized_keys_files(&e, "root", "/", 0),
            ["/.ssh/authorized_keys"]
        );
    }

    #[test]
    fn accepted_algorithms() {
        // OpenSSH 9.2's default list, as sshd -T prints it.
        let e = effective(
            "pubkeyacceptedalgorithms ssh-ed25519-cert-v01@openssh.com,ecdsa-sha2-nistp256-cert-v01@openssh.com,\
             sk-ssh-ed25519-cert-v01@openssh.com,rsa-sha2-512-cert-v01@openssh.com,ssh-ed25519,\
             ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,sk-ssh-ed25519@openssh.com,\
             sk-ecdsa-sha2-nistp256@openssh.com,rsa-sha2-512,rsa-sha2-256\n",
        );
        for yes in [
            "ssh-ed25519",
            "ssh-rsa",
            "ecdsa-sha2-nistp521",
            "ssh-rsa-cert-v01@openssh.com",
        ] {
            assert!(accepts_algorithm(&e, yes), "{yes}");
        }
        for no in [
            "ssh-dss",
            "ssh-dss-cert-v01@openssh.com",
            "ecdsa-sha2-nistp384-cert-v01@openssh.com",
        ] {
            assert!(!accepts_algorithm(&e, no), "{no}");
        }
        // Only SHA-1 RSA still takes an RSA key; the old keyword is read too.
        let e = effective("pubkeyacceptedkeytypes ssh-ed25519,ssh-rsa,ssh-dss\n");
        assert!(accepts_algorithm(&e, "ssh-rsa") && accepts_algorithm(&e, "ssh-dss"));
        assert!(!accepts_algorithm(&e, "ecdsa-sha2-nistp256"));
        // Patterns and negations, in case a list comes unexpanded.
        let e = effective("pubkeyacceptedalgorithms ssh-*,!ssh-dss\n");
        assert!(accepts_algorithm(&e, "ssh-ed25519") && !accepts_algorithm(&e, "ssh-dss"));
        assert!(
            accepts_algorithm(&effective(""), "ssh-dss"),
            "unknown: the login proof decides"
        );
    }

    #[test]
    fn password_login_off_needs_both() {
        let off = |t: &str| password_login_off(&effective(t));
        assert!(off(
            "passwordauthentication no\nkbdinteractiveauthentication no\nusepam yes\n"
        ));
        assert!(off(
            "passwordauthentication no\nkbdinteractiveauthentication yes\nusepam no\n"
        ));
        assert!(
            off("passwordauthentication no\nkbdinteractiveauthentication yes\n"),
            "no PAM built in"
        );
        assert!(!off(
            "passwordauthentication no\nkbdinteractiveauthentication yes\nusepam yes\n"
        ));
        assert!(!off(
            "passwordauthentication yes\nkbdinteractiveauthentication no\nusepam no\n"
        ));
        assert!(
            !off("kbdinteractiveauthentication no\nusepam no\n"),
            "default yes"
        );
        assert!(
            !off("passwordauthentication no\nusepam yes\n"),
            "kbd default yes"
        );
        // Before 8.7 sshd printed both keywords.
        assert!(off(
            "passwordauthentication no\nkbdinteractiveauthentication no\n\
             challengeresponseauthentication yes\nusepam yes\n"
        ));
        assert!(off(
            "passwordauthentication no\nchallengeresponseauthentication no\nusepam yes\n"
        ));
    }
}
