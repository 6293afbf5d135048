//! Fingerprints in the forms operators compare: OpenSSH's `SHA256:` (base64,
//! unpadded, exactly as `ssh-keygen -l` prints it) and the colon MD5 form that
//! cloud consoles and `ssh-keygen -E md5` show.

use md5::{Digest, Md5};
use ssh_key::{HashAlg, public::KeyData};

pub fn sha256(key: &KeyData) -> String {
    key.fingerprint(HashAlg::Sha256).to_string()
}

pub fn md5(key: &KeyData) -> String {
    // Encoding a public key we already hold in memory cannot fail.
    let blob = ssh_key::PublicKey::from(key.clone())
        .to_bytes()
        .unwrap_or_default();
    let digest = Md5::digest(&blob);
    let hex: Vec<String> = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("MD5:{}", hex.join(":"))
}

fn hex_colons(bytes: &[u8]) -> String {
    let hex: Vec<String> = bytes.iter().map(|b| format!("{b:02x}")).collect();
    hex.join(":")
}

/// What the AWS console shows for a key pair it created: SHA-1 of the DER
/// PKCS#8 private key, hex with colons. Needs the private key, so kps
/// computes it when the key is at hand and stores it.
pub fn aws_created(key: &ssh_key::PrivateKey) -> crate::Result<String> {
    use sha1::{Digest as _, Sha1};
    let der = crate::export::private_pkcs8_der(key)?;
    Ok(hex_colons(&Sha1::digest(&der[..])))
}

/// What the AWS console shows for an imported key pair: MD5 of the DER
/// public key (SubjectPublicKeyInfo), hex with colons.
pub fn aws_imported(key: &KeyData) -> Option<String> {
    let der = crate::export::public_spki_der(key).ok()?;
    Some(hex_colons(&Md5::digest(&der)))
}

/// A fingerprint as a user may paste it, in any of the forms above.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Query {
    /// OpenSSH SHA256, base64 without padding (case matters).
    Sha256(String),
    /// 16 bytes in lower-case hex: OpenSSH MD5 or AWS's MD5 of the public key.
    Md5(String),
    /// 20 bytes in lower-case hex: AWS's SHA-1 of the private key.
    Sha1(String),
}

impl Query {
    /// Read `SHA256:...`, `MD5:aa:bb:...`, bare hex with or without colons
    /// (any case), or bare SHA256 base64.
    pub fn parse(text: &str) -> Option<Query> {
        let text = text.trim();
        let (prefix, rest) = match text.split_once(':') {
            Some((p, r)) if p.eq_ignore_ascii_case("sha256") => (Some("sha256"), r),
            Some((p, r)) if p.eq_ignore_ascii_case("md5") => (Some("md5"), r),
            Some((p, r)) if p.eq_ignore_ascii_case("sha1") => (Some("sha1"), r),
            _ => (None, text),
        };
        let hex: String = rest.chars().filter(|c| *c != ':').collect();
        let is_hex = !hex.is_empty() && hex.chars().all(|c| c.is_ascii_hexdigit());
        match prefix {
            Some("sha256") => Some(Query::Sha256(rest.trim_end_matches('=').to_string())),
            Some("md5") if is_hex && hex.len() == 32 => Some(Query::Md5(hex.to_ascii_lowercase())),
            Some("sha1") if is_hex && hex.len() == 40 => {
                Some(Query::Sha1(hex.to_ascii_lowercase()))
            }
            Some(_) => None,
            None if is_hex && hex.len() == 32 => Some(Query::Md5(hex.to_ascii_lowercase())),
            None if is_hex && hex.len() == 40 => Some(Query::Sha1(hex.to_ascii_lowercase())),
            None if rest.trim_end_matches('=').len() == 43 => {
                Some(Query::Sha256(rest.trim_end_matches('=').to_string()))
            }
            None => None,
        }
    }

    /// Does a keypair with these fingerprints match?
    pub fn matches(
        &self,
        sha256: &str,
        md5: &str,
        aws_created: Option<&str>,
        aws_imported: Option<&str>,
    ) -> bool {
        let bare = |s: &str| s.replace(':', "");
        match self {
            Query::Sha256(b64) => sha256.strip_prefix("SHA256:") == Some(b64.as_str()),
            Query::Md5(h) => {
                md5.strip_prefix("MD5:").map(bare).as_deref() == Some(h.as_str())
                    || aws_imported.map(bare).as_deref() == Some(h.as_str())
            }
            Query::Sha1(h) => aws_created.map(bare).as_deref() == Some(h.as_str()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Query;

    #[test]
    fn reads_every_form_users_paste() {
        let sha = "ZqrlGE0mFtWm8YFjj+d0mVELvIeYN7YJIbexU//+thU";
        assert_eq!(
            Query::parse(&format!("SHA256:{sha}")),
            Some(Query::Sha256(sha.into()))
        );
        assert_eq!(
            Query::parse(&format!("sha256:{sha}")),
            Some(Query::Sha256(sha.into()))
        );
        assert_eq!(Query::parse(sha), Some(Query::Sha256(sha.into())));
        let md5 = "d3:77:b2:92:61:e3:f5:63:5d:f6:17:40:4c:db:fe:06";
        let want = Some(Query::Md5("d377b29261e3f5635df617404cdbfe06".into()));
        assert_eq!(Query::parse(&format!("MD5:{md5}")), want);
        assert_eq!(Query::parse(&md5.to_uppercase()), want);
        assert_eq!(Query::parse(&md5.replace(':', "")), want);
        let sha1 = "1f:51:ae:28:bf:89:e9:d8:1f:25:5d:37:2d:57:5c:1b:08:31:b7:c6";
        assert!(matches!(Query::parse(sha1), Some(Query::Sha1(_))));
        for junk in ["", "MD5:xyz", "hello", "SHA1:abcd"] {
            assert_eq!(Query::parse(junk), None, "{junk}");
        }
    }
}
