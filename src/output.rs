//! How keypairs look on stdout: the JSON contract (the Key Pair Service's
//! field names) and the human text.
//!
//! Nothing from the store or from a file reaches the terminal raw: human text
//! goes through `kps::text::escape`, and the JSON writers escape what
//! serde_json would leave raw (DEL, C1 controls such as U+009B CSI, bidi
//! controls, U+2028/U+2029) as `\uXXXX`.

use kps::keypair::{Integrity, Keypair};
use kps::store::Binding;
use kps::text::{escape, escape_lines};
use serde::Serialize;
use serde_json::{Value, json};
use std::io::Write;

/// One keypair in the service's shape (the inside of `{"keypair": ...}`),
/// serialised straight from the keypair's fields: `list --json` writes
/// thousands of these without building a JSON tree for any of them.
#[derive(Serialize)]
pub struct KeypairView<'a> {
    name: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    algorithm: &'a str,
    bits: u32,
    public_key: &'a str,
    fingerprint: &'a str,
    fingerprint_md5: &'a str,
    fingerprint_aws_created: Option<&'a str>,
    fingerprint_aws_imported: Option<&'a str>,
    comment: &'a str,
    description: Option<&'a str>,
    user_id: Option<&'a str>,
    create_time: &'a str,
    update_time: &'a str,
    is_key_protection: bool,
    /// `null` for a public-key-only keypair: there is no private key to
    /// protect, and `{"type": "default"}` there would claim one.
    key_protection: Option<ProtectionView<'a>>,
    /// kps's own: whether the row is authenticated (see docs/store-format.md).
    integrity: &'static str,
}

#[derive(Serialize)]
struct ProtectionView<'a> {
    encryption: EncryptionView<'a>,
}

#[derive(Serialize)]
struct EncryptionView<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    kms_key_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    kms_key_id: Option<&'a str>,
}

impl<'a> KeypairView<'a> {
    pub fn of(k: &'a Keypair) -> Self {
        KeypairView {
            name: &k.name,
            kind: "ssh",
            algorithm: &k.algorithm,
            bits: k.bits,
            public_key: &k.public_line,
            fingerprint: &k.fingerprint,
            fingerprint_md5: &k.fingerprint_md5,
            fingerprint_aws_created: k.fingerprint_aws_created.as_deref(),
            fingerprint_aws_imported: k.fingerprint_aws_imported.as_deref(),
            comment: k.comment(),
            description: k.description.as_deref(),
            user_id: k.user_id.as_deref(),
            create_time: &k.create_time,
            update_time: &k.update_time,
            is_key_protection: k.has_private_key,
            key_protection: k.has_private_key.then(|| ProtectionView {
                encryption: EncryptionView {
                    kind: k.encryption.type_name(),
                    kms_key_name: k.encryption.kms_key_name(),
                    kms_key_id: k.encryption.kms_key_id(),
                },
            }),
            integrity: k.integrity.as_str(),
        }
    }
}

/// One keypair as a JSON value, for documents that hold one or a few.
pub fn keypair_json(k: &Keypair) -> Value {
    // Plain structs of strings, numbers and booleans always serialise.
    serde_json::to_value(KeypairView::of(k)).unwrap_or_default()
}

/// `{"keypairs": [{"keypair": ...}, ...]}` written as the keypairs come,
/// laid out exactly as [`print_json`] lays out the whole document. If the
/// store fails halfway, stdout holds an unfinished document and the command
/// exits non-zero with the error.
pub struct JsonList<W: Write> {
    out: W,
    count: usize,
}

impl<W: Write> JsonList<W> {
    pub fn start(out: W) -> std::io::Result<Self> {
        Self::start_named(out, "keypairs")
    }

    /// `{"<key>": [...]}`, for lists of other things (`list --names`).
    pub fn start_named(mut out: W, key: &'static str) -> std::io::Result<Self> {
        write!(out, "{{\n  \"{key}\": [")?;
        Ok(JsonList { out, count: 0 })
    }

    pub fn push(&mut self, k: &Keypair) -> std::io::Result<()> {
        #[derive(Serialize)]
        struct Item<'a> {
            keypair: KeypairView<'a>,
        }
        self.push_item(&Item {
            keypair: KeypairView::of(k),
        })
    }

    pub fn push_item(&mut self, item: &impl Serialize) -> std::io::Result<()> {
        self.out.write_all(if self.count == 0 {
            b"\n    "
        } else {
            b",\n    "
        })?;
        // Two levels deep: inside the document and its array.
        let mut ser = serde_json::Serializer::with_formatter(&mut self.out, Pretty::at(2));
        item.serialize(&mut ser)?;
        self.count += 1;
        Ok(())
    }

    pub fn finish(mut self) -> std::io::Result<()> {
        self.out.write_all(if self.count == 0 {
            b"]\n}\n"
        } else {
            b"\n  ]\n}\n"
        })?;
        self.out.flush()
    }
}

/// What `init` and `passwd` report: the store and the KDF cost it now has.
pub fn store_json(store: &std::path::Path, kdf: &kps::store::KdfParams) -> Value {
    json!({
        "store": store,
        "kdf": {
            "algorithm": "argon2id",
            "memory_kib": kdf.memory_kib,
            "passes": kdf.passes,
            "parallelism": kdf.parallelism,
        },
    })
}

/// Human text on stdout. A closed stdout comes back as an error (BrokenPipe),
/// which the caller treats as success, where `println!` would panic.
pub fn print_text(text: &str) -> std::io::Result<()> {
    let text = escape_lines(text);
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    if !text.ends_with('\n') {
        out.write_all(b"\n")?;
    }
    out.flush()
}

/// A warning on stderr (yellow at a terminal unless NO_COLOR).
pub fn warn(message: &str) {
    let (on, off) = if crate::report::stderr_color() {
        ("\x1b[1;33m", "\x1b[0m")
    } else {
        ("", "")
    };
    let message = escape(message);
    let _ = writeln!(std::io::stderr(), "{on}warning{off}: {message}");
}

pub fn print_json(doc: &Value) -> std::io::Result<()> {
    // Buffered: stdout is line-buffered, and a large list would otherwise
    // cost one write call per line.
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    // Laid out as serde_json's to_writer_pretty, with the extra escapes.
    doc.serialize(&mut serde_json::Serializer::with_formatter(
        &mut out,
        Pretty::at(0),
    ))?;
    writeln!(out)?;
    out.flush()
}

/// `doc` on one line (serde_json's compact layout) with the extra escapes:
/// for JSON errors on stderr.
pub fn json_line(doc: &Value) -> String {
    let mut out = Vec::new();
    // Writing a Value to a Vec cannot fail.
    let _ = doc.serialize(&mut serde_json::Serializer::with_formatter(
        &mut out, Compact,
    ));
    String::from_utf8(out).unwrap_or_default()
}

/// A run of string text serde_json would write as it is: the characters
/// `kps::text` forbids become `\uXXXX` (all of them are in the Basic
/// Multilingual Plane; serde_json escapes C0 itself, before this is called).
/// Ordinary text is written in one piece, byte for byte as before.
fn write_fragment<W: ?Sized + Write>(w: &mut W, fragment: &str) -> std::io::Result<()> {
    let mut rest = fragment;
    while let Some((at, c)) = kps::text::forbidden_char(rest) {
        w.write_all(&rest.as_bytes()[..at])?;
        write!(w, "\\u{:04x}", c as u32)?;
        rest = &rest[at + c.len_utf8()..];
    }
    w.write_all(rest.as_bytes())
}

/// serde_json's compact layout with [`write_fragment`].
struct Compact;

impl serde_json::ser::Formatter for Compact {
    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        write_fragment(w, fragment)
    }
}

pub fn print_keypair(k: &Keypair) -> std::io::Result<()> {
    write_keypair(std::io::stdout().lock(), k)
}

/// `show`'s layout: one field a line, each value escaped.
fn write_keypair(mut out: impl Write, k: &Keypair) -> std::io::Result<()> {
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    let protection = match (&k.has_private_key, k.encryption.type_name()) {
        (false, _) => "none (public key only)".to_string(),
        (true, t) => {
            let mut s = format!("encrypted, type {t}");
            if let Some(n) = k.encryption.kms_key_name() {
                s.push_str(&format!(", kms key name {n}"));
            }
            if let Some(id) = k.encryption.kms_key_id() {
                s.push_str(&format!(", kms key id {id}"));
            }
            s
        }
    };
    for (label, value) in [
        ("name", k.name.clone()),
        ("algorithm", k.algorithm.clone()),
        ("bits", k.bits.to_string()),
        ("fingerprint", k.fingerprint.clone()),
        ("fingerprint md5", k.fingerprint_md5.clone()),
        (
            "aws (created)",
            match &k.fingerprint_aws_created {
                Some(f) => format!("{f}  (SHA-1 of the PKCS#8 private key)"),
                None if k.has_private_key => {
                    "not yet known: shown after the next private-key read".into()
                }
                None => "none (no private key)".into(),
            },
        ),
        (
            "aws (imported)",
            k.fingerprint_aws_imported
                .as_ref()
                .map(|f| format!("{f}  (MD5 of the DER public key)"))
                .unwrap_or_default(),
        ),
        ("comment", k.comment().to_string()),
        ("description", opt(&k.description)),
        ("user id", opt(&k.user_id)),
        ("created", k.create_time.clone()),
        ("updated", k.update_time.clone()),
        ("private key", protection),
        (
            "integrity",
            match k.integrity {
                Integrity::Verified => "verified (authenticated with this store's key)".into(),
                Integrity::Unverified => {
                    "not verified: this store is not pinned on this machine yet ('kps verify' pins it)"
                        .to_string()
                }
                Integrity::NotEndorsed => {
                    "not endorsed yet: written by an older kps; the store's next unlock endorses it"
                        .to_string()
                }
            },
        ),
        ("public key", k.public_line.clone()),
    ] {
        writeln!(out, "{:<16} {}", format!("{label}:"), escape(&value))?;
    }
    out.flush()
}

/// One binding as `kps bindings --json` lists it and `show --json` gives
/// it under `servers`.
pub fn binding_json(b: &Binding) -> Value {
    json!({
        "keypair_name": b.keypair,
        "host": b.host,
        "port": b.port,
        "user": b.user,
        "host_key_fingerprint": b.host_key_fingerprint,
        "authorized_keys_path": b.authorized_keys_path,
        "password_login": b.password_login.as_str(),
        "create_time": b.create_time,
        "update_time": b.update_time,
    })
}

/// The bindings as a table, each line starting with `indent`; with the
/// keypair's name in the first column unless `show` lists its own. Every
/// value is escaped: hosts, users and paths came from a command line or a
/// server.
pub fn write_bindings(
    mut out: impl Write,
    bindings: &[Binding],
    indent: &str,
    with_keypair: bool,
) -> std::io::Result<()> {
    let rows: Vec<[String; 6]> = bindings
        .iter()
        .map(|b| {
            [
                escape(&b.keypair).into_owned(),
                escape(&b.target()).into_owned(),
                b.password_login.as_str().to_string(),
                escape(&b.host_key_fingerprint).into_owned(),
                escape(&b.authorized_keys_path).into_owned(),
                escape(&b.update_time).into_owned(),
            ]
        })
        .collect();
    let header = [
        "KEYPAIR",
        "SERVER",
        "PASSWORD LOGIN",
        "HOST KEY",
        "AUTHORIZED_KEYS",
        "UPDATED",
    ];
    let first = if with_keypair { 0 } else { 1 };
    let widths: Vec<usize> = (0..6)
        .map(|i| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([header[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: [&str; 6]| {
        let mut text = indent.to_string();
        for i in first..6 {
            if i == 5 {
                text.push_str(cells[i]);
            } else {
                let pad = widths[i].saturating_sub(cells[i].chars().count());
                text.push_str(cells[i]);
                text.push_str(&" ".repeat(pad + 2));
            }
        }
        text
    };
    writeln!(out, "{}", line(header))?;
    for r in &rows {
        writeln!(out, "{}", line([&r[0], &r[1], &r[2], &r[3], &r[4], &r[5]]))?;
    }
    out.flush()
}

/// `show`'s list of the keypair's servers, after its fields.
pub fn print_servers(bindings: &[Binding]) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    if bindings.is_empty() {
        writeln!(out, "{:<16} none recorded", "Servers:")?;
        return out.flush();
    }
    writeln!(out, "Servers:")?;
    write_bindings(out, bindings, "  ", false)
}

/// serde_json's `PrettyFormatter` (two spaces a level) starting `depth`
/// levels in, for a value written inside a document that is being streamed.
/// The same eight methods as PrettyFormatter; the rest are the defaults it
/// uses too, but for string text ([`write_fragment`]).
struct Pretty {
    depth: usize,
    has_value: bool,
}

impl Pretty {
    fn at(depth: usize) -> Self {
        Pretty {
            depth,
            has_value: false,
        }
    }

    fn open<W: ?Sized + Write>(&mut self, w: &mut W, bracket: &[u8]) -> std::io::Result<()> {
        self.depth += 1;
        self.has_value = false;
        w.write_all(bracket)
    }

    fn close<W: ?Sized + Write>(&mut self, w: &mut W, bracket: &[u8]) -> std::io::Result<()> {
        self.depth -= 1;
        if self.has_value {
            self.newline(w, false)?;
        }
        w.write_all(bracket)
    }

    fn newline<W: ?Sized + Write>(&self, w: &mut W, comma: bool) -> std::io::Result<()> {
        w.write_all(if comma { b",\n" } else { b"\n" })?;
        for _ in 0..self.depth {
            w.write_all(b"  ")?;
        }
        Ok(())
    }
}

impl serde_json::ser::Formatter for Pretty {
    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.open(w, b"[")
    }

    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.close(w, b"]")
    }

    fn begin_array_value<W: ?Sized + Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.newline(w, !first)
    }

    fn end_array_value<W: ?Sized + Write>(&mut self, _: &mut W) -> std::io::Result<()> {
        self.has_value = true;
        Ok(())
    }

    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.open(w, b"{")
    }

    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.close(w, b"}")
    }

    fn begin_object_key<W: ?Sized + Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.newline(w, !first)
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        w.write_all(b": ")
    }

    fn end_object_value<W: ?Sized + Write>(&mut self, _: &mut W) -> std::io::Result<()> {
        self.has_value = true;
        Ok(())
    }

    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        write_fragment(w, fragment)
    }
}

pub fn print_table(keypairs: &[Keypair]) -> std::io::Result<()> {
    let width = keypairs.iter().map(|k| k.name.len()).max().unwrap_or(0);
    let mut table = Table::start(std::io::BufWriter::new(std::io::stdout().lock()), width)?;
    for k in keypairs {
        table.row(k)?;
    }
    table.finish()
}

/// The human table, printed row by row; `longest_name` is known beforehand
/// (Store::longest_name) so that the columns line up.
pub struct Table<W: Write> {
    out: W,
    width: usize,
}

impl<W: Write> Table<W> {
    pub fn start(mut out: W, longest_name: usize) -> std::io::Result<Self> {
        let width = longest_name.max(4);
        writeln!(
            out,
            "{:<width$}  {:<19}  {:>4}  {:<50}  {:<11}  CREATED",
            "NAME", "ALGORITHM", "BITS", "FINGERPRINT", "ENCRYPTION"
        )?;
        Ok(Table { out, width })
    }

    pub fn row(&mut self, k: &Keypair) -> std::io::Result<()> {
        let width = self.width;
        writeln!(
            self.out,
            "{:<width$}  {:<19}  {:>4}  {:<50}  {:<11}  {}",
            escape(&k.name),
            escape(&k.algorithm),
            k.bits,
            escape(&k.fingerprint),
            // The stored encryption type of a public-only row is a default
            // that protects nothing.
            if k.has_private_key {
                k.encryption.type_name()
            } else {
                "public-only"
            },
            escape(&k.create_time)
        )
    }

    pub fn finish(mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kps::keypair::Encryption;

    /// A keypair whose every free-text field holds what an attacker with
    /// write access to the store could plant.
    fn planted() -> Keypair {
        Keypair {
            name: "n\u{1b}[2J".into(),
            algorithm: "ssh-ed25519\u{9b}2J".into(),
            bits: 256,
            public_line: "ssh-ed25519 AAAA c\nssh-ed25519 BBBB attacker".into(),
            fingerprint: "SHA256:x\u{7}".into(),
            fingerprint_md5: "MD5:00".into(),
            fingerprint_aws_created: None,
            fingerprint_aws_imported: None,
            description: Some("\u{1b}]0;pwned\u{7}".into()),
            user_id: Some("\u{1b}]52;c;aGk=\u{7} \u{202e}txt.exe".into()),
            create_time: "2024\u{7f}".into(),
            update_time: "2024\u{2028}".into(),
            encryption: Encryption::Kms {
                key_name: Some("k\r".into()),
                key_id: Some("\u{85}".into()),
            },
            has_private_key: true,
            integrity: Integrity::Verified,
        }
    }

    fn assert_inert(bytes: &[u8]) {
        let text = std::str::from_utf8(bytes).unwrap();
        for line in text.lines() {
            assert_eq!(kps::text::forbidden_char(line), None, "{line:?}");
        }
    }

    #[test]
    fn show_and_table_layouts_escape_every_field() {
        let k = planted();
        let mut shown = Vec::new();
        write_keypair(&mut shown, &k).unwrap();
        assert_inert(&shown);
        let shown = String::from_utf8(shown).unwrap();
        assert!(shown.contains(r"\x1b]0;pwned\x07"), "{shown}");
        assert!(shown.contains(r"\u{202e}txt.exe"), "{shown}");
        // One line a field: the planted line feed did not add one.
        assert_eq!(shown.lines().count(), 15, "{shown}");

        let mut table = Table::start(Vec::new(), k.name.len()).unwrap();
        table.row(&k).unwrap();
        assert_inert(&table.out);
        assert_eq!(table.out.iter().filter(|b| **b == b'\n').count(), 2);
    }

    #[test]
    fn json_escapes_what_serde_json_leaves_raw() {
        let doc = json!({ "s": "del\u{7f} csi\u{9b} rlo\u{202e} ls\u{2028} esc\u{1b} ü 日本" });
        let line = json_line(&doc);
        assert_eq!(
            line,
            r#"{"s":"del\u007f csi\u009b rlo\u202e ls\u2028 esc\u001b ü 日本"}"#
        );
        assert_eq!(serde_json::from_str::<Value>(&line).unwrap(), doc);
        assert!(list_bytes_are_inert(&planted()));
    }

    fn list_bytes_are_inert(k: &Keypair) -> bool {
        let mut out = Vec::new();
        let mut list = JsonList::start(&mut out).unwrap();
        list.push(k).unwrap();
        list.finish().unwrap();
        let text = String::from_utf8(out).unwrap();
        let back: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back["keypairs"][0]["keypair"]["user_id"], json!(k.user_id));
        !text
            .chars()
            .any(|c| c != '\n' && kps::text::is_forbidden(c))
    }

    #[test]
    fn ordinary_documents_are_laid_out_as_serde_json_does() {
        let doc = json!({ "a": [1, {"b": "ü \\ \"q\" 日本"}, []], "c": {}, "d": null });
        let mut ours = Vec::new();
        doc.serialize(&mut serde_json::Serializer::with_formatter(
            &mut ours,
            Pretty::at(0),
        ))
        .unwrap();
        assert_eq!(
            String::from_utf8(ours).unwrap(),
            serde_json::to_string_pretty(&doc).unwrap()
        );
        assert_eq!(json_line(&doc), doc.to_string());
    }
}
