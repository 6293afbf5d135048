//! The key types kps knows, by the service's rules: what `create` may make and
//! how a stored key's algorithm and size are named.

use crate::{Error, Result};
use ssh_key::{Algorithm, EcdsaCurve, public::KeyData};

/// RSA modulus sizes the service allows, for created and imported keys alike.
pub const RSA_BITS: [u32; 3] = [2048, 3072, 4096];
pub const DEFAULT_RSA_BITS: u32 = 3072;

/// What `kps create` can generate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeySpec {
    Ed25519,
    Ecdsa(EcdsaCurve),
    Rsa(u32),
}

const ALLOWED: &str = "ed25519, ecdsa with -b 256|384|521, rsa with -b 2048|3072|4096";

impl KeySpec {
    /// Interpret `-t TYPE` and `-b BITS` as ssh-keygen users write them; the
    /// SSH algorithm names (`ssh-rsa`, `ecdsa-sha2-nistp384`, ...) work too.
    pub fn parse(key_type: Option<&str>, bits: Option<u32>) -> Result<KeySpec> {
        let t = key_type.unwrap_or("ed25519").to_ascii_lowercase();
        let unsupported = |what: String| {
            Error::invalid_with_hint(
                format!("unsupported key type: {what}"),
                format!("kps creates {ALLOWED}"),
            )
        };
        let curve_for = |b: u32| match b {
            256 => Ok(EcdsaCurve::NistP256),
            384 => Ok(EcdsaCurve::NistP384),
            521 => Ok(EcdsaCurve::NistP521),
            other => Err(unsupported(format!("ecdsa with {other} bits"))),
        };
        let fixed_curve = |curve: EcdsaCurve, size: u32| match bits {
            None => Ok(KeySpec::Ecdsa(curve)),
            Some(b) if b == size => Ok(KeySpec::Ecdsa(curve)),
            Some(b) => Err(Error::invalid(format!(
                "-t {t} is a {size}-bit curve, but -b {b} was given"
            ))),
        };
        match t.as_str() {
            "ed25519" | "ssh-ed25519" => match bits {
                None | Some(256) => Ok(KeySpec::Ed25519),
                Some(b) => Err(Error::invalid(format!(
                    "ed25519 keys have a fixed size; -b {b} does not apply"
                ))),
            },
            "ecdsa" => Ok(KeySpec::Ecdsa(curve_for(bits.unwrap_or(256))?)),
            "ecdsa-sha2-nistp256" => fixed_curve(EcdsaCurve::NistP256, 256),
            "ecdsa-sha2-nistp384" => fixed_curve(EcdsaCurve::NistP384, 384),
            "ecdsa-sha2-nistp521" => fixed_curve(EcdsaCurve::NistP521, 521),
            "rsa" | "ssh-rsa" => {
                let b = bits.unwrap_or(DEFAULT_RSA_BITS);
                if RSA_BITS.contains(&b) {
                    Ok(KeySpec::Rsa(b))
                } else {
                    Err(unsupported(format!("rsa with {b} bits")))
                }
            }
            "dsa" | "ssh-dss" => Err(Error::invalid_with_hint(
                "DSA keys cannot be created: the service accepts DSA only for imported keys",
                format!("kps creates {ALLOWED}"),
            )),
            other => Err(unsupported(other.to_string())),
        }
    }

    pub fn ssh_algorithm(self) -> &'static str {
        match self {
            KeySpec::Ed25519 => "ssh-ed25519",
            KeySpec::Ecdsa(curve) => ecdsa_name(curve),
            KeySpec::Rsa(_) => "ssh-rsa",
        }
    }

    pub fn bits(self) -> u32 {
        match self {
            KeySpec::Ed25519 => 256,
            KeySpec::Ecdsa(curve) => curve_bits(curve),
            KeySpec::Rsa(b) => b,
        }
    }
}

fn ecdsa_name(curve: EcdsaCurve) -> &'static str {
    match curve {
        EcdsaCurve::NistP256 => "ecdsa-sha2-nistp256",
        EcdsaCurve::NistP384 => "ecdsa-sha2-nistp384",
        EcdsaCurve::NistP521 => "ecdsa-sha2-nistp521",
    }
}

fn curve_bits(curve: EcdsaCurve) -> u32 {
    match curve {
        EcdsaCurve::NistP256 => 256,
        EcdsaCurve::NistP384 => 384,
        EcdsaCurve::NistP521 => 521,
    }
}

/// The algorithm name and size of a public key, as `ssh-keygen -l` reports them.
/// Only the kinds the service allows are named; anything else is an error.
pub fn describe(key: &KeyData) -> Result<(&'static str, u32)> {
    match key.algorithm() {
        Algorithm::Ed25519 => Ok(("ssh-ed25519", 256)),
        Algorithm::Ecdsa { curve } => Ok((ecdsa_name(curve), curve_bits(curve))),
        Algorithm::Rsa { .. } => {
            let rsa = key
                .rsa()
                .ok_or_else(|| Error::bad_key("malformed RSA public key"))?;
            // The modulus's bit length, as OpenSSL and ssh-keygen count it:
            // ssh-key's `key_size` counts whole bytes, so a 2041-bit modulus
            // would pass for 2048.
            let bits = mpint_bits(rsa.n().as_positive_bytes().unwrap_or_default());
            Ok(("ssh-rsa", bits))
        }
        Algorithm::Dsa => {
            let dsa = key
                .dsa()
                .ok_or_else(|| Error::bad_key("malformed DSA public key"))?;
            let bits = mpint_bits(dsa.p().as_positive_bytes().unwrap_or_default());
            Ok(("ssh-dss", bits))
        }
        other => Err(Error::bad_key(format!(
            "unsupported key algorithm {}",
            other.as_str()
        ))),
    }
}

/// The size kps recorded for an RSA key before it counted bits: the modulus
/// in whole bytes, so a 2041..2047-bit key imported from an OpenSSH or .ppk
/// file was stored as 2048. Such a row is still the one kps wrote, not a
/// tampered one, and its key still opens.
pub fn bits_before_issue_14(key: &KeyData) -> Option<u32> {
    // ssh-key's `key_size` is exactly that count.
    key.rsa().map(|rsa| rsa.key_size())
}

/// What the service accepts for an imported key: Ed25519, ECDSA P-256/384/521,
/// RSA of exactly 2048/3072/4096 bits, and DSA with a 1024-bit p and 160-bit q
/// (SSH-DSS as OpenSSH makes it), the last with a warning. Returns the warnings.
pub fn check_importable(key: &KeyData) -> Result<Vec<String>> {
    let allowed =
        "kps accepts Ed25519, ECDSA P-256/384/521, RSA 2048/3072/4096 and DSA 1024 (ssh-dss)";
    match key.algorithm() {
        Algorithm::SkEd25519 | Algorithm::SkEcdsaSha2NistP256 => {
            return Err(Error::bad_key_with_hint(
                format!(
                    "{} is a FIDO security-key (sk-) key: its private half stays on the token",
                    key.algorithm().as_str()
                ),
                allowed,
            ));
        }
        Algorithm::Ed25519 | Algorithm::Ecdsa { .. } => {}
        Algorithm::Rsa { .. } => {
            let (_, bits) = describe(key)?;
            if !RSA_BITS.contains(&bits) {
                return Err(Error::bad_key_with_hint(
                    format!("RSA key of {bits} bits: only 2048, 3072 and 4096 are allowed"),
                    allowed,
                ));
            }
        }
        Algorithm::Dsa => {
            let dsa = key
                .dsa()
                .ok_or_else(|| Error::bad_key("malformed DSA public key"))?;
            let p = mpint_bits(dsa.p().as_positive_bytes().unwrap_or_default());
            let q = mpint_bits(dsa.q().as_positive_bytes().unwrap_or_default());
            if (p, q) != (1024, 160) {
                return Err(Error::bad_key_with_hint(
                    format!(
                        "DSA key with a {p}-bit p and {q}-bit q: SSH-DSS needs a 1024-bit p and 160-bit q"
                    ),
                    allowed,
                ));
            }
            return Ok(vec![
                "DSA (ssh-dss) is deprecated and disabled in current OpenSSH; \
                 replace this key with Ed25519 or RSA when you can"
                    .to_string(),
            ]);
        }
        other => {
            return Err(Error::bad_key_with_hint(
                format!("unsupported key algorithm {}", other.as_str()),
                allowed,
            ));
        }
    }
    Ok(Vec::new())
}

/// The bit length of a big-endian magnitude (leading zero bytes allowed).
pub(crate) fn mpint_bits(bytes: &[u8]) -> u32 {
    match bytes.iter().position(|b| *b != 0) {
        None => 0,
        Some(i) => (bytes.len() - i) as u32 * 8 - bytes[i].leading_zeros(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_issue() {
        assert_eq!(KeySpec::parse(None, None).unwrap(), KeySpec::Ed25519);
        assert_eq!(
            KeySpec::parse(Some("ecdsa"), None).unwrap(),
            KeySpec::Ecdsa(EcdsaCurve::NistP256)
        );
        assert_eq!(
            KeySpec::parse(Some("rsa"), None).unwrap(),
            KeySpec::Rsa(3072)
        );
    }

    #[test]
    fn ssh_names_are_accepted_in_any_case() {
        assert_eq!(
            KeySpec::parse(Some("ECDSA-SHA2-NISTP384"), None).unwrap(),
            KeySpec::Ecdsa(EcdsaCurve::NistP384)
        );
        assert_eq!(
            KeySpec::parse(Some("SSH-RSA"), Some(4096)).unwrap(),
            KeySpec::Rsa(4096)
        );
    }

    #[test]
    fn refuses_what_the_service_refuses() {
        for (t, b) in [
            ("rsa", Some(1024)),
            ("rsa", Some(2047)),
            ("rsa", Some(8192)),
            ("ecdsa", Some(224)),
            ("dsa", None),
            ("ed448", None),
            ("ecdsa-sha2-nistp256", Some(384)),
            ("ed25519", Some(512)),
        ] {
            assert!(KeySpec::parse(Some(t), b).is_err(), "{t} {b:?}");
        }
    }

    #[test]
    fn counts_mpint_bits() {
        assert_eq!(mpint_bits(&[0x00, 0x80, 0x00]), 16);
        assert_eq!(mpint_bits(&[0x01]), 1);
        assert_eq!(mpint_bits(&[]), 0);
    }
}
