//! How keypairs look on stdout: the JSON contract (the Key Pair Service's
//! field names) and the human text.

use kps::keypair::Keypair;
use serde_json::{Value, json};
use std::io::Write;

/// One keypair in the service's shape (the inside of `{"keypair": ...}`).
pub fn keypair_json(k: &Keypair) -> Value {
    let mut encryption = json!({ "type": k.encryption.type_name() });
    if let Some(n) = k.encryption.kms_key_name() {
        encryption["kms_key_name"] = json!(n);
    }
    if let Some(id) = k.encryption.kms_key_id() {
        encryption["kms_key_id"] = json!(id);
    }
    json!({
        "name": k.name,
        "type": "ssh",
        "algorithm": k.algorithm,
        "bits": k.bits,
        "public_key": k.public_line(),
        "fingerprint": k.fingerprint,
        "fingerprint_md5": k.fingerprint_md5,
        "fingerprint_aws_created": k.fingerprint_aws_created,
        "fingerprint_aws_imported": k.fingerprint_aws_imported,
        "comment": k.comment(),
        "description": k.description,
        "user_id": k.user_id,
        "create_time": k.create_time,
        "update_time": k.update_time,
        "is_key_protection": k.has_private_key,
        "key_protection": { "encryption": encryption },
    })
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
    let _ = writeln!(std::io::stderr(), "{on}warning{off}: {message}");
}

pub fn print_json(doc: &Value) -> std::io::Result<()> {
    // Buffered: stdout is line-buffered, and a large list would otherwise
    // cost one write call per line.
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    serde_json::to_writer_pretty(&mut out, doc)?;
    writeln!(out)?;
    out.flush()
}

pub fn print_keypair(k: &Keypair) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
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
        ("public key", k.public_line()),
    ] {
        writeln!(out, "{:<16} {value}", format!("{label}:"))?;
    }
    out.flush()
}

pub fn print_table(keypairs: &[Keypair]) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let width = keypairs
        .iter()
        .map(|k| k.name.len())
        .max()
        .unwrap_or(0)
        .max(4);
    writeln!(
        out,
        "{:<width$}  {:<19}  {:>4}  {:<50}  {:<10}  CREATED",
        "NAME", "ALGORITHM", "BITS", "FINGERPRINT", "ENCRYPTION"
    )?;
    for k in keypairs {
        writeln!(
            out,
            "{:<width$}  {:<19}  {:>4}  {:<50}  {:<10}  {}",
            k.name,
            k.algorithm,
            k.bits,
            k.fingerprint,
            k.encryption.type_name(),
            k.create_time
        )?;
    }
    out.flush()
}
