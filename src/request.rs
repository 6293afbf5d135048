//! The Key Pair Service's import request body, read with the service's rules:
//! `name`, `key_protection`, `private_key` and `encryption.type` required;
//! `type` is `kms` or `default`; `kms` needs `kms_key_name` or `kms_key_id`;
//! any field the service does not define is an error that names it.

use crate::keypair::Encryption;
use crate::{Error, Result};
use serde::Deserialize;
use std::fmt;
use zeroize::Zeroizing;

/// Requests carry a PEM key, so allow a little more than a key file.
pub const MAX_REQUEST: usize = 2 * 1024 * 1024;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    keypair: RequestKeypair,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RequestKeypair {
    name: String,
    #[serde(default)]
    user_id: Option<String>,
    key_protection: KeyProtection,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyProtection {
    private_key: Zeroizing<String>,
    encryption: RequestEncryption,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RequestEncryption {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    kms_key_name: Option<String>,
    #[serde(default)]
    kms_key_id: Option<String>,
}

/// A validated import request. The private key is still unparsed text.
pub struct ImportRequest {
    pub name: String,
    pub user_id: Option<String>,
    pub private_key: Zeroizing<String>,
    pub encryption: Encryption,
}

impl fmt::Debug for ImportRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImportRequest")
            .field("name", &self.name)
            .field("user_id", &self.user_id)
            .field("private_key", &"<redacted>")
            .field("encryption", &self.encryption)
            .finish()
    }
}

/// serde_json quotes a string it did not expect ("invalid type: string
/// \"-----BEGIN ...\""): that string may be the private key, so it is cut.
fn redact(message: &str) -> String {
    for kind in ["invalid type: string ", "invalid value: string "] {
        if let (Some(i), Some(j)) = (message.find(kind), message.rfind(", expected"))
            && j >= i + kind.len()
        {
            let label = kind.trim_end_matches("string ");
            return format!("{}{label}a string{}", &message[..i], &message[j..]);
        }
    }
    message.to_string()
}

pub fn parse(bytes: &[u8]) -> Result<ImportRequest> {
    if bytes.len() > MAX_REQUEST {
        return Err(Error::invalid("the import request is larger than 2 MiB"));
    }
    let body: Body = serde_json::from_slice(bytes)
        .map_err(|e| Error::invalid(format!("import request: {}", redact(&e.to_string()))))?;
    let k = body.keypair;
    crate::name::validate(&k.name)?;
    let e = k.key_protection.encryption;
    // The free-text fields are stored and printed as `--user-id` and
    // `--kms-key-name` are, under the same rule.
    for (field, value) in [
        ("user_id", &k.user_id),
        ("kms_key_name", &e.kms_key_name),
        ("kms_key_id", &e.kms_key_id),
    ] {
        crate::text::check_optional(&format!("import request field {field}"), value.as_deref())?;
    }
    let encryption = match e.kind.as_str() {
        "default" => Encryption::Default,
        "kms" => {
            if e.kms_key_name.is_none() && e.kms_key_id.is_none() {
                return Err(Error::invalid(
                    "import request: encryption type kms needs kms_key_name or kms_key_id",
                ));
            }
            Encryption::Kms {
                key_name: e.kms_key_name,
                key_id: e.kms_key_id,
            }
        }
        other => {
            return Err(Error::invalid(format!(
                "import request: encryption type must be \"kms\" or \"default\", not {other:?}"
            )));
        }
    };
    Ok(ImportRequest {
        name: k.name,
        user_id: k.user_id,
        private_key: k.key_protection.private_key,
        encryption,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(v: serde_json::Value) -> Result<ImportRequest> {
        parse(v.to_string().as_bytes())
    }

    #[test]
    fn follows_the_service_rules() {
        let ok = req(
            serde_json::json!({"keypair": {"name": "demo2", "user_id": "u",
            "key_protection": {"private_key": "PEM", "encryption": {"type": "kms",
            "kms_key_name": "kps/default"}}}}),
        )
        .unwrap();
        assert_eq!(ok.name, "demo2");
        assert_eq!(
            ok.encryption,
            Encryption::Kms {
                key_name: Some("kps/default".into()),
                key_id: None
            }
        );
        let cases = [
            (
                serde_json::json!({"keypair": {"key_protection": {"private_key": "x",
                "encryption": {"type": "default"}}}}),
                "missing field `name`",
            ),
            (
                serde_json::json!({"keypair": {"name": "a"}}),
                "missing field `key_protection`",
            ),
            (
                serde_json::json!({"keypair": {"name": "a", "key_protection": {
                "encryption": {"type": "default"}}}}),
                "missing field `private_key`",
            ),
            (
                serde_json::json!({"keypair": {"name": "a", "key_protection": {
                "private_key": "x", "encryption": {}}}}),
                "missing field `type`",
            ),
            (
                serde_json::json!({"keypair": {"name": "a", "key_protection": {
                "private_key": "x", "encryption": {"type": "aes"}}}}),
                "\"kms\" or \"default\"",
            ),
            (
                serde_json::json!({"keypair": {"name": "a", "key_protection": {
                "private_key": "x", "encryption": {"type": "kms"}}}}),
                "kms_key_name or kms_key_id",
            ),
            (
                serde_json::json!({"keypair": {"name": "a", "colour": "red", "key_protection": {
                "private_key": "x", "encryption": {"type": "default"}}}}),
                "unknown field `colour`",
            ),
            (
                serde_json::json!({"keypair": {"name": "a b", "key_protection": {
                "private_key": "x", "encryption": {"type": "default"}}}}),
                "contains ' '",
            ),
        ];
        for (body, expected) in cases {
            let err = req(body).unwrap_err().to_string();
            assert!(err.contains(expected), "{err} should mention {expected}");
        }
        assert!(parse(b"not json").is_err());
    }

    #[test]
    fn free_text_fields_hold_no_line_breaks_or_controls() {
        for (user_id, kms_key_name) in
            [("a\nb", "k"), ("u", "k\u{1b}]0;x\u{7}"), ("\u{202e}u", "k")]
        {
            let err = req(
                serde_json::json!({"keypair": {"name": "a", "user_id": user_id,
                "key_protection": {"private_key": "x", "encryption": {"type": "kms",
                "kms_key_name": kms_key_name}}}}),
            )
            .unwrap_err();
            assert!(matches!(err, Error::InvalidParameter { .. }), "{err}");
            assert!(
                err.to_string().starts_with("import request field "),
                "{err}"
            );
        }
    }

    #[test]
    fn errors_do_not_echo_string_values() {
        let err = req(serde_json::json!({"keypair": {"name": "a",
            "key_protection": "-----BEGIN SECRET-----"}}))
        .unwrap_err()
        .to_string();
        assert!(!err.contains("SECRET"), "{err}");
        assert!(err.contains("invalid type: a string, expected"), "{err}");
    }

    #[test]
    fn debug_hides_the_key() {
        let r = req(
            serde_json::json!({"keypair": {"name": "a", "key_protection": {
            "private_key": "SECRETPEM", "encryption": {"type": "default"}}}}),
        )
        .unwrap();
        assert!(!format!("{r:?}").contains("SECRETPEM"));
    }
}
