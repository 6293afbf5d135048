//! Public keys: an authorized_keys line, RFC 4716 (`---- BEGIN SSH2 PUBLIC
//! KEY ----`), or PEM (`PUBLIC KEY` as SPKI, `RSA PUBLIC KEY` as PKCS#1).

use crate::{Error, Result};
use der::Decode;
use der::asn1::ObjectIdentifier as Oid;
use ssh_key::PublicKey;
use ssh_key::public::{DsaPublicKey, EcdsaPublicKey, Ed25519PublicKey, KeyData, RsaPublicKey};

const RFC4716_BEGIN: &str = "---- BEGIN SSH2 PUBLIC KEY ----";
const RFC4716_END: &str = "---- END SSH2 PUBLIC KEY ----";

/// Does this look like a public key (without checking it)?
pub(super) fn looks_public(text: &str) -> bool {
    let first = text.lines().next().unwrap_or_default();
    first.starts_with(RFC4716_BEGIN)
        || PublicKey::from_openssh(first.trim()).is_ok()
        || is_certificate(first)
}

fn is_certificate(line: &str) -> bool {
    line.split_whitespace()
        .next()
        .is_some_and(|alg| alg.ends_with("-cert-v01@openssh.com"))
}

/// An authorized_keys line (one key, no options) or an RFC 4716 block.
pub(super) fn from_text(text: &str) -> Result<PublicKey> {
    if text.starts_with(RFC4716_BEGIN) {
        return rfc4716(text);
    }
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .collect();
    if lines.len() > 1 {
        return Err(Error::bad_key_with_hint(
            format!(
                "the input holds {} lines; kps imports one key per file",
                lines.len()
            ),
            "give a file with a single public key line",
        ));
    }
    let line = lines.first().copied().unwrap_or_default().trim();
    if is_certificate(line) {
        return Err(Error::bad_key(
            "this is an SSH certificate, not a key; import the key it certifies",
        ));
    }
    PublicKey::from_openssh(line).map_err(|e| {
        Error::bad_key(format!(
            "not a public key line (algorithm base64 [comment]): {e}"
        ))
    })
}

fn rfc4716(text: &str) -> Result<PublicKey> {
    let body_end = text
        .find(RFC4716_END)
        .ok_or_else(|| Error::bad_key("the SSH2 public key block has no END line"))?;
    let body = &text[RFC4716_BEGIN.len()..body_end];
    let mut comment = String::new();
    let mut base64 = String::new();
    let mut lines = body.lines().peekable();
    while let Some(line) = lines.next() {
        let line = line.trim();
        if let Some((tag, value)) = line.split_once(':')
            && !tag.contains(' ')
            && base64.is_empty()
        {
            // Headers may continue on the next line after a trailing backslash.
            let mut value = value.trim().to_string();
            while value.ends_with('\\') {
                value.pop();
                value.push_str(lines.next().unwrap_or_default().trim());
            }
            if tag.eq_ignore_ascii_case("Comment") {
                comment = value.trim_matches('"').to_string();
            }
            continue;
        }
        base64.push_str(line);
    }
    let blob = <base64ct::Base64 as base64ct::Encoding>::decode_vec(&base64)
        .map_err(|_| Error::bad_key("the SSH2 public key has corrupt base64"))?;
    let mut key = PublicKey::from_bytes(&blob)
        .map_err(|e| Error::bad_key(format!("the SSH2 public key is malformed: {e}")))?;
    key.set_comment(comment);
    Ok(key)
}

const OID_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.1");
const OID_EC: Oid = Oid::new_unwrap("1.2.840.10045.2.1");
const OID_DSA: Oid = Oid::new_unwrap("1.2.840.10040.4.1");
const OID_ED25519: Oid = Oid::new_unwrap("1.3.101.112");
const OID_P256: Oid = Oid::new_unwrap("1.2.840.10045.3.1.7");
const OID_P384: Oid = Oid::new_unwrap("1.3.132.0.34");
const OID_P521: Oid = Oid::new_unwrap("1.3.132.0.35");

/// PEM `PUBLIC KEY` (SPKI) or `RSA PUBLIC KEY` (PKCS#1).
pub(super) fn from_pem(text: &str, label: &str) -> Result<PublicKey> {
    let begins = text
        .lines()
        .filter(|l| l.starts_with("-----BEGIN "))
        .count();
    if begins > 1 {
        return Err(Error::bad_key(format!(
            "the input holds {begins} PEM blocks; kps imports one key per file"
        )));
    }
    let start = text.find("-----BEGIN ").unwrap_or(0);
    let (_, der_bytes) = pem_rfc7468::decode_vec(&text.as_bytes()[start..])
        .map_err(|e| Error::bad_key(format!("the PEM block is corrupt: {e}")))?;
    let corrupt = |e: der::Error| Error::bad_key(format!("the public key is corrupt: {e}"));
    let data = match label {
        "RSA PUBLIC KEY" => rsa_pkcs1(&der_bytes)?,
        "PUBLIC KEY" => {
            let spki = spki::SubjectPublicKeyInfoRef::from_der(&der_bytes).map_err(corrupt)?;
            let bits = spki.subject_public_key.raw_bytes();
            match spki.algorithm.oid {
                OID_RSA => rsa_pkcs1(bits)?,
                OID_ED25519 => KeyData::Ed25519(
                    Ed25519PublicKey::try_from(bits)
                        .map_err(|_| Error::bad_key("the Ed25519 public key is not 32 bytes"))?,
                ),
                OID_EC => {
                    let curve = spki
                        .algorithm
                        .parameters
                        .and_then(|p| p.decode_as::<Oid>().ok());
                    match curve {
                        Some(OID_P256) | Some(OID_P384) | Some(OID_P521) => KeyData::Ecdsa(
                            EcdsaPublicKey::from_sec1_bytes(bits)
                                .map_err(|_| Error::bad_key("the EC public point is malformed"))?,
                        ),
                        Some(other) => {
                            return Err(Error::bad_key(format!(
                                "curve OID {other} is not allowed (P-256, P-384, P-521 are)"
                            )));
                        }
                        None => return Err(Error::bad_key("the EC key names no curve")),
                    }
                }
                OID_DSA => dsa_spki(&spki)?,
                other => {
                    return Err(Error::bad_key(format!(
                        "key algorithm OID {other} is not supported"
                    )));
                }
            }
        }
        other => {
            return Err(Error::bad_key(format!(
                "PEM label \"{other}\" is not a public key kps knows (PUBLIC KEY, RSA PUBLIC KEY)"
            )));
        }
    };
    Ok(PublicKey::new(data, ""))
}

fn rsa_pkcs1(der_bytes: &[u8]) -> Result<KeyData> {
    let key = pkcs1::RsaPublicKeyRef::from_der(der_bytes)
        .map_err(|e| Error::bad_key(format!("the RSA public key is corrupt: {e}")))?;
    let public = RsaPublicKey::new(
        ssh_key::Mpint::from_positive_bytes(key.public_exponent.as_bytes()),
        ssh_key::Mpint::from_positive_bytes(key.modulus.as_bytes()),
    )
    .map_err(|e| Error::bad_key(format!("the RSA public key is unusable: {e}")))?;
    Ok(KeyData::Rsa(public))
}

fn dsa_spki(spki: &spki::SubjectPublicKeyInfoRef<'_>) -> Result<KeyData> {
    use der::Reader;
    use der::asn1::UintRef;
    let corrupt = |e: der::Error| Error::bad_key(format!("the DSA public key is corrupt: {e}"));
    let params = spki
        .algorithm
        .parameters
        .ok_or_else(|| Error::bad_key("the DSA key has no parameters"))?;
    let params_der = der::Encode::to_der(&params).map_err(corrupt)?;
    let mut reader = der::SliceReader::new(&params_der).map_err(corrupt)?;
    let pqg: Vec<UintRef<'_>> = reader
        .sequence(|r| (0..3).map(|_| r.decode::<UintRef<'_>>()).collect())
        .map_err(corrupt)?;
    let y = UintRef::from_der(spki.subject_public_key.raw_bytes()).map_err(corrupt)?;
    let m = |u: &UintRef<'_>| ssh_key::Mpint::from_positive_bytes(u.as_bytes());
    DsaPublicKey::new(m(&pqg[0]), m(&pqg[1]), m(&pqg[2]), m(&y))
        .map(KeyData::Dsa)
        .map_err(|e| Error::bad_key(format!("the DSA public key is unusable: {e}")))
}
