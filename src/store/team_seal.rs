//! Envelope version 3, for `default` keypairs of a team store (issue 18): a
//! fresh random data key encrypts the private key once (ChaCha20-Poly1305);
//! the data key is sealed (HPKE, as version 1, under its own `info`) to
//! every member of the verified member list. Every part binds the same
//! associated data as versions 1 and 2 (the keypair's name and public key
//! blob), so no part can be moved to another keypair.
//!
//! Layout (integers big-endian):
//!   u8  envelope version (3)
//!   u16 number of seals (1 to 4096), then for each, sorted by member name:
//!       u8 length of the member's name, the name,
//!       u16 length of the seal, the seal (a version 1 envelope of the
//!       32-byte data key to the member's X25519 key, HPKE info
//!       "kps team data key v1")
//!   12-byte nonce
//!   the ChaCha20-Poly1305 ciphertext of the private key with its tag
//!
//! A member's seal names them only so that their kps finds it without
//! trying every seal; a seal under the wrong name opens for no one else.

use super::seal::{self, KemPrivateKey, KemPublicKey, associated_data};
use crate::team::membership::MAX_MEMBERS;
use crate::{Error, Result};
use hpke::Deserializable;
use zeroize::Zeroizing;

pub(crate) const ENVELOPE_VERSION: u8 = 3;
const INFO: &[u8] = b"kps team data key v1";

/// Who a data key is sealed to: a member's name and X25519 key.
pub(crate) type Recipient = (String, [u8; 32]);

/// Why a version 3 envelope did not open.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum OpenError {
    /// Not a well-formed envelope.
    Malformed,
    /// No seal for this member: sealed before they joined and not re-sealed
    /// since, or after they were removed.
    NotSealedToYou,
    /// The seal or the body does not authenticate: damaged, moved, or not
    /// this member's key.
    Inauthentic,
}

struct Parsed<'a> {
    seals: Vec<(&'a str, &'a [u8])>,
    nonce: [u8; 12],
    body: &'a [u8],
}

fn parse(envelope: &[u8]) -> std::result::Result<Parsed<'_>, OpenError> {
    let mut rest = envelope;
    let mut take = |n: usize| -> std::result::Result<&[u8], OpenError> {
        if rest.len() < n {
            return Err(OpenError::Malformed);
        }
        let (head, tail) = rest.split_at(n);
        rest = tail;
        Ok(head)
    };
    if take(1)? != [ENVELOPE_VERSION] {
        return Err(OpenError::Malformed);
    }
    let count = u16::from_be_bytes(take(2)?.try_into().map_err(|_| OpenError::Malformed)?);
    if count == 0 || u32::from(count) > MAX_MEMBERS {
        return Err(OpenError::Malformed);
    }
    let mut seals: Vec<(&str, &[u8])> = Vec::with_capacity(usize::from(count));
    for _ in 0..count {
        let len = take(1)?[0];
        let name =
            std::str::from_utf8(take(usize::from(len))?).map_err(|_| OpenError::Malformed)?;
        let len = u16::from_be_bytes(take(2)?.try_into().map_err(|_| OpenError::Malformed)?);
        let sealed = take(usize::from(len))?;
        if seals.last().is_some_and(|(last, _)| *last >= name) {
            // Sorted and no name twice: one member, one seal.
            return Err(OpenError::Malformed);
        }
        seals.push((name, sealed));
    }
    let nonce: [u8; 12] = take(12)?.try_into().map_err(|_| OpenError::Malformed)?;
    Ok(Parsed {
        seals,
        nonce,
        body: rest,
    })
}

fn encode(seals: &[(String, Vec<u8>)], nonce: &[u8; 12], body: &[u8]) -> Result<Vec<u8>> {
    let too_many = || Error::EncryptFailed("too many members to seal to".into());
    let count = u16::try_from(seals.len()).map_err(|_| too_many())?;
    if count == 0 || u32::from(count) > MAX_MEMBERS {
        return Err(too_many());
    }
    let mut out = vec![ENVELOPE_VERSION];
    out.extend_from_slice(&count.to_be_bytes());
    for (name, sealed) in seals {
        let name_len = u8::try_from(name.len())
            .map_err(|_| Error::EncryptFailed("member name too long".into()))?;
        let sealed_len = u16::try_from(sealed.len())
            .map_err(|_| Error::EncryptFailed("seal too long".into()))?;
        out.push(name_len);
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(&sealed_len.to_be_bytes());
        out.extend_from_slice(sealed);
    }
    out.extend_from_slice(nonce);
    out.extend_from_slice(body);
    Ok(out)
}

fn seal_key(
    recipients: &[Recipient],
    name: &str,
    public_blob: &[u8],
    data_key: &[u8; 32],
) -> Result<Vec<(String, Vec<u8>)>> {
    let mut seals = Vec::with_capacity(recipients.len());
    for (member, x25519) in recipients {
        let public = KemPublicKey::from_bytes(x25519)
            .map_err(|_| Error::EncryptFailed(format!("member '{member}' has no valid key")))?;
        let sealed = seal::seal_with(INFO, &public, name, public_blob, data_key)
            .map_err(|_| Error::EncryptFailed(format!("sealing to member '{member}' failed")))?;
        seals.push((member.clone(), sealed));
    }
    seals.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(seals)
}

/// Encrypt `plaintext` (keypair `name`, public key `public_blob`) once under
/// a fresh data key and seal that key to every recipient.
pub(crate) fn seal(
    recipients: &[Recipient],
    name: &str,
    public_blob: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>> {
    let body = seal::encrypt_body(plaintext, &associated_data(name, public_blob))?;
    let seals = seal_key(recipients, name, public_blob, &body.key)?;
    encode(&seals, &body.nonce, &body.ciphertext)
}

/// The data key, opened from `member`'s seal with their identity secret.
fn data_key(
    parsed: &Parsed<'_>,
    member: &str,
    secret: &KemPrivateKey,
    name: &str,
    public_blob: &[u8],
) -> std::result::Result<Zeroizing<[u8; 32]>, OpenError> {
    let (_, sealed) = parsed
        .seals
        .iter()
        .find(|(m, _)| *m == member)
        .ok_or(OpenError::NotSealedToYou)?;
    let opened = seal::open_with(INFO, secret, name, public_blob, sealed)
        .map_err(|_| OpenError::Inauthentic)?;
    let key: [u8; 32] = opened[..].try_into().map_err(|_| OpenError::Inauthentic)?;
    Ok(Zeroizing::new(key))
}

/// The private key sealed in `envelope`, opened as `member`.
pub(crate) fn open(
    member: &str,
    secret: &KemPrivateKey,
    name: &str,
    public_blob: &[u8],
    envelope: &[u8],
) -> std::result::Result<Zeroizing<Vec<u8>>, OpenError> {
    let parsed = parse(envelope)?;
    let key = data_key(&parsed, member, secret, name, public_blob)?;
    seal::decrypt_body(
        &key,
        &parsed.nonce,
        parsed.body,
        &associated_data(name, public_blob),
    )
    .ok_or(OpenError::Inauthentic)
}

/// The same envelope with the data key also sealed to `added` (a new
/// member): opened as `member`, nothing else changed. The private key is
/// not re-encrypted.
pub(crate) fn add_recipients(
    envelope: &[u8],
    member: &str,
    secret: &KemPrivateKey,
    name: &str,
    public_blob: &[u8],
    added: &[Recipient],
) -> std::result::Result<Vec<u8>, OpenError> {
    let parsed = parse(envelope)?;
    let key = data_key(&parsed, member, secret, name, public_blob)?;
    let mut seals: Vec<(String, Vec<u8>)> = parsed
        .seals
        .iter()
        .filter(|(m, _)| !added.iter().any(|(a, _)| a == m))
        .map(|(m, s)| (m.to_string(), s.to_vec()))
        .collect();
    seals.extend(seal_key(added, name, public_blob, &key).map_err(|_| OpenError::Malformed)?);
    seals.sort_by(|a, b| a.0.cmp(&b.0));
    encode(&seals, &parsed.nonce, parsed.body).map_err(|_| OpenError::Malformed)
}

/// The names the data key is sealed to.
#[cfg(test)]
pub(crate) fn sealed_to(envelope: &[u8]) -> Option<Vec<String>> {
    parse(envelope)
        .ok()
        .map(|p| p.seals.iter().map(|(m, _)| m.to_string()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use hpke::Serializable;

    fn member(name: &str) -> (Recipient, KemPrivateKey) {
        let (secret, public) = seal::generate_identity();
        let key: [u8; 32] = public.to_bytes().as_slice().try_into().unwrap();
        ((name.to_string(), key), secret)
    }

    #[test]
    fn every_member_opens_and_nothing_else_does() {
        let (a, a_secret) = member("alice");
        let (b, b_secret) = member("bob");
        let (_, c_secret) = member("carol");
        let env = seal(&[b.clone(), a.clone()], "web", b"blob", b"private").unwrap();
        assert_eq!(sealed_to(&env).unwrap(), vec!["alice", "bob"]);
        assert_eq!(
            &open("alice", &a_secret, "web", b"blob", &env).unwrap()[..],
            b"private"
        );
        assert_eq!(
            &open("bob", &b_secret, "web", b"blob", &env).unwrap()[..],
            b"private"
        );
        assert_eq!(
            open("carol", &c_secret, "web", b"blob", &env),
            Err(OpenError::NotSealedToYou)
        );
        // Carol claiming Alice's seal: it is not hers to open.
        assert_eq!(
            open("alice", &c_secret, "web", b"blob", &env),
            Err(OpenError::Inauthentic)
        );
        // Moved to another keypair (name or public key): refused.
        assert_eq!(
            open("alice", &a_secret, "db", b"blob", &env),
            Err(OpenError::Inauthentic)
        );
        assert_eq!(
            open("alice", &a_secret, "web", b"other", &env),
            Err(OpenError::Inauthentic)
        );
    }

    #[test]
    fn adding_a_member_keeps_the_body() {
        let (a, a_secret) = member("alice");
        let (c, c_secret) = member("carol");
        let env = seal(std::slice::from_ref(&a), "web", b"blob", b"private").unwrap();
        let more = add_recipients(&env, "alice", &a_secret, "web", b"blob", &[c]).unwrap();
        assert_eq!(sealed_to(&more).unwrap(), vec!["alice", "carol"]);
        assert_eq!(
            &open("carol", &c_secret, "web", b"blob", &more).unwrap()[..],
            b"private"
        );
        assert!(
            more.ends_with(&env[env.len() - 12 - 7 - 16..]),
            "same nonce and body"
        );
    }

    #[test]
    fn malformed_envelopes_are_refused_without_panicking() {
        let (a, a_secret) = member("alice");
        let env = seal(&[a], "web", b"blob", b"private").unwrap();
        for cut in 0..env.len() {
            assert!(open("alice", &a_secret, "web", b"blob", &env[..cut]).is_err());
        }
        let mut flipped = env.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        assert_eq!(
            open("alice", &a_secret, "web", b"blob", &flipped),
            Err(OpenError::Inauthentic)
        );
        // No seals at all, or the same member twice.
        assert!(parse(&[3, 0, 0]).is_err());
        let mut twice = vec![3, 0, 2];
        for _ in 0..2 {
            twice.extend_from_slice(&[1, b'a', 0, 1, 0]);
        }
        twice.extend_from_slice(&[0; 12]);
        assert_eq!(parse(&twice).err(), Some(OpenError::Malformed));
    }
}
