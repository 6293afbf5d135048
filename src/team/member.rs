//! A member's public identity (name, X25519 sealing key, Ed25519 signing
//! key), the line a member hands to an admin, and the member's own signing
//! key, derived from the local store identity so that no new secret is kept.

use crate::store::{Identity, RowKey};
use crate::{Error, Result};
use base64ct::{Base64, Base64Unpadded, Encoding};
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use hmac::{KeyInit, Mac};
use hpke::Serializable;
use sha2::{Digest, Sha256};
use std::fmt;
use zeroize::Zeroizing;

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// The label of the signing key's derivation from the row key: its own, so
/// the signing key and the row key are different keys.
const SIGNING_KEY_LABEL: &[u8] = b"kps member signing key v1";
/// The first word of a member line; a later format gets a new word.
pub const LINE_TAG: &str = "kps-member-v1";
const FINGERPRINT_LABEL: &[u8] = b"kps member keys v1\0";
pub const MAX_NAME_LEN: usize = 64;

/// Member names follow the keypair-name rule (src/name.rs): 1 to 64 ASCII
/// letters, digits, `_` and `-`. No space (the member line is split on
/// spaces), nothing a terminal interprets, the same on every system.
pub fn validate_name(name: &str) -> std::result::Result<(), String> {
    if name.is_empty() {
        return Err("the member name is empty".into());
    }
    if name.len() > MAX_NAME_LEN {
        return Err(format!(
            "the member name is {} bytes long, more than {MAX_NAME_LEN}",
            name.len()
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'))
    {
        return Err(format!(
            "the member name contains {:?} (names are letters, digits, '_' and '-')",
            c
        ));
    }
    Ok(())
}

/// Is this 32-byte string an Ed25519 public key kps accepts? A point that
/// decodes and is not of small order (a small-order key verifies forged
/// signatures under lax rules; `verify_strict` refuses it anyway).
pub(crate) fn verifying_key(bytes: &[u8; 32]) -> Option<VerifyingKey> {
    VerifyingKey::from_bytes(bytes)
        .ok()
        .filter(|k| !k.is_weak())
}

/// A member's public identity: what an admin puts into a membership
/// statement. Nothing in it is secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    pub name: String,
    /// The member's local store identity (X25519): data keys are sealed to it.
    pub x25519: [u8; 32],
    /// The member's signing key (Ed25519): statements and audit entries.
    pub ed25519: [u8; 32],
}

impl Member {
    /// A member from its parts, checked as a parsed line is.
    pub fn new(name: &str, x25519: [u8; 32], ed25519: [u8; 32]) -> Result<Member> {
        validate_name(name).map_err(Error::invalid)?;
        check_keys(&x25519, &ed25519).map_err(Error::invalid)?;
        Ok(Member {
            name: name.to_string(),
            x25519,
            ed25519,
        })
    }

    /// This machine's member identity under `name`: the local store
    /// identity's public key and the signing key derived from its secret.
    pub fn of(name: &str, identity: &Identity) -> Result<Member> {
        let signing = MemberSigningKey::derive(identity);
        let x25519: [u8; 32] = identity
            .public
            .to_bytes()
            .as_slice()
            .try_into()
            .map_err(|_| Error::invalid("the store identity's public key is not 32 bytes"))?;
        Member::new(name, x25519, signing.public())
    }

    /// `kps-member-v1 NAME X25519-BASE64 ED25519-BASE64`, standard base64
    /// with padding (44 characters each).
    pub fn line(&self) -> String {
        format!(
            "{LINE_TAG} {} {} {}",
            self.name,
            Base64::encode_string(&self.x25519),
            Base64::encode_string(&self.ed25519)
        )
    }

    /// Parses a member line strictly: the tag, then exactly three fields
    /// separated by single spaces, canonical padded base64 of 32 bytes each.
    /// One line ending (`\n` or `\r\n`) is allowed, nothing else around it.
    pub fn parse_line(line: &str) -> Result<Member> {
        let bad = |why: String| Error::BadMemberLine(why);
        let body = line
            .strip_suffix('\n')
            .map(|l| l.strip_suffix('\r').unwrap_or(l))
            .unwrap_or(line);
        if let Some(c) = body.chars().find(|c| c.is_control()) {
            return Err(bad(format!("it contains the control character {c:?}")));
        }
        let parts: Vec<&str> = body.split(' ').collect();
        if parts.first() != Some(&LINE_TAG) {
            return Err(bad(format!("it does not start with '{LINE_TAG} '")));
        }
        let [_, name, x, ed] = parts[..] else {
            return Err(bad(format!(
                "it has {} space-separated fields after '{LINE_TAG}', not 3 (name, X25519 key, Ed25519 key), or more than one space between them",
                parts.len() - 1
            )));
        };
        validate_name(name).map_err(bad)?;
        let x25519 = decode_key(x).ok_or_else(|| {
            bad("the X25519 key is not 32 bytes of canonical padded base64".into())
        })?;
        let ed25519 = decode_key(ed).ok_or_else(|| {
            bad("the Ed25519 key is not 32 bytes of canonical padded base64".into())
        })?;
        check_keys(&x25519, &ed25519).map_err(bad)?;
        Ok(Member {
            name: name.to_string(),
            x25519,
            ed25519,
        })
    }

    /// `SHA256:` and the unpadded base64 of SHA-256("kps member keys v1\0"
    /// || x25519 || ed25519): both keys, not the name, so that two people
    /// reading it to each other compare what the line's holder can prove.
    pub fn fingerprint(&self) -> String {
        let mut h = Sha256::new();
        h.update(FINGERPRINT_LABEL);
        h.update(self.x25519);
        h.update(self.ed25519);
        format!("SHA256:{}", Base64Unpadded::encode_string(&h.finalize()))
    }
}

fn decode_key(text: &str) -> Option<[u8; 32]> {
    // Padded base64 of 32 bytes is 44 characters; base64ct refuses
    // non-canonical trailing bits, so each key has one spelling.
    if text.len() != 44 {
        return None;
    }
    let mut buf = [0u8; 32];
    let decoded = Base64::decode(text, &mut buf).ok()?;
    (decoded.len() == 32).then_some(buf)
}

fn check_keys(x25519: &[u8; 32], ed25519: &[u8; 32]) -> std::result::Result<(), String> {
    // The all-zero X25519 key is the one small-order point kps can refuse
    // without doing a Diffie-Hellman; HPKE refuses the others at sealing
    // (an all-zero shared secret), so nothing is ever sealed to one.
    if x25519 == &[0u8; 32] {
        return Err("the X25519 key is all zeros".into());
    }
    if verifying_key(ed25519).is_none() {
        return Err("the Ed25519 key is not a valid public key (or is of small order)".into());
    }
    Ok(())
}

/// The member's Ed25519 signing key: the seed is HMAC-SHA-256(row key,
/// "kps member signing key v1"), where the row key is HMAC-SHA-256(identity
/// secret, "kps row key v1") (rowmac.rs): a PRF chain from the identity
/// secret that a pinned local store can follow without its passphrase. Zeroized on drop (ed25519-dalek's `zeroize` feature);
/// Debug shows the public key only.
pub struct MemberSigningKey(SigningKey);

impl fmt::Debug for MemberSigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "MemberSigningKey(public {}, secret <redacted>)",
            Base64::encode_string(&self.public())
        )
    }
}

impl MemberSigningKey {
    pub fn derive(identity: &Identity) -> MemberSigningKey {
        Self::from_row_key(&identity.row_key())
            .expect("a local store identity's row key is an HMAC key")
    }

    /// From the local store's row key (what its pin keeps), so that a
    /// member writes to a team store without their passphrase once their
    /// local store is pinned, as they write to it. `None` for a team
    /// store's row key, which is no HMAC key.
    pub(crate) fn from_row_key(row_key: &RowKey) -> Option<MemberSigningKey> {
        row_key.as_bytes().map(|k| Self::derive_from(&k[..]))
    }

    fn derive_from(row_key: &[u8]) -> MemberSigningKey {
        let mut mac = <HmacSha256 as KeyInit>::new_from_slice(row_key)
            .expect("HMAC takes keys of any length");
        mac.update(SIGNING_KEY_LABEL);
        let mut seed = Zeroizing::new([0u8; 32]);
        seed.copy_from_slice(&mac.finalize().into_bytes());
        MemberSigningKey(SigningKey::from_bytes(&seed))
    }

    pub fn public(&self) -> [u8; 32] {
        self.0.verifying_key().to_bytes()
    }

    pub(crate) fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.0.sign(message).to_bytes()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A member with a fresh identity, and its signing key.
    pub(crate) fn fresh(name: &str) -> (Member, MemberSigningKey) {
        let id = Identity::generate();
        (
            Member::of(name, &id).unwrap(),
            MemberSigningKey::derive(&id),
        )
    }

    #[test]
    fn signing_key_is_derived_from_the_identity_and_nothing_else() {
        let id = Identity::generate();
        let a = MemberSigningKey::derive(&id);
        let b = MemberSigningKey::derive(&id);
        assert_eq!(a.public(), b.public(), "same identity, same signing key");
        assert_ne!(
            a.public(),
            MemberSigningKey::derive(&Identity::generate()).public()
        );
        // Not the row key: each label gives its own key.
        assert_ne!(Some(&a.0.to_bytes()), id.row_key().as_bytes());
        let m = Member::of("alice", &id).unwrap();
        assert_eq!(m.ed25519, a.public());
        assert_eq!(&m.x25519[..], &id.public.to_bytes()[..]);
    }

    /// The derivation is the documented one (docs/design/team-store.md),
    /// so another implementation can compute the same key.
    #[test]
    fn signing_key_derivation_is_the_documented_one() {
        let secret = [7u8; 32];
        let mut row = <HmacSha256 as KeyInit>::new_from_slice(&secret).unwrap();
        row.update(b"kps row key v1");
        let row_key: [u8; 32] = row.finalize().into_bytes().into();
        let mut mac = <HmacSha256 as KeyInit>::new_from_slice(&row_key).unwrap();
        mac.update(b"kps member signing key v1");
        let seed: [u8; 32] = mac.finalize().into_bytes().into();
        assert_eq!(
            MemberSigningKey::from_row_key(&RowKey::derive(&secret))
                .unwrap()
                .public(),
            SigningKey::from_bytes(&seed).verifying_key().to_bytes()
        );
    }

    #[test]
    fn debug_shows_no_secret() {
        let id = Identity::generate();
        let key = MemberSigningKey::derive(&id);
        let shown = format!("{key:?}");
        let secret = key.0.to_bytes();
        assert!(shown.contains("redacted"));
        assert!(!shown.contains(&Base64::encode_string(&secret)));
        assert!(!shown.contains(&format!("{secret:?}")));
        assert!(!shown.contains(&crate::hex::encode(&secret)));
    }

    #[test]
    fn line_round_trips() {
        let (m, _) = fresh("alice-ops_2");
        let line = m.line();
        assert!(line.starts_with("kps-member-v1 alice-ops_2 "));
        assert_eq!(Member::parse_line(&line).unwrap(), m);
        assert_eq!(Member::parse_line(&format!("{line}\n")).unwrap(), m);
        assert_eq!(Member::parse_line(&format!("{line}\r\n")).unwrap(), m);
        assert_eq!(line.len(), "kps-member-v1 alice-ops_2 ".len() + 44 + 1 + 44);
    }

    #[test]
    fn parse_is_strict() {
        let (m, _) = fresh("bob");
        let x = Base64::encode_string(&m.x25519);
        let e = Base64::encode_string(&m.ed25519);
        let mut flipped = e.clone().into_bytes();
        // Non-canonical: the last character before '=' carries 2 unused bits.
        let last = flipped.len() - 2;
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let pos = alphabet.iter().position(|c| *c == flipped[last]).unwrap();
        flipped[last] = alphabet[pos ^ 1];
        let noncanonical = String::from_utf8(flipped).unwrap();
        let small_order = Base64::encode_string(&[0u8; 32]); // the identity point, order 1
        let bad = [
            String::new(),
            format!("kps-member-v2 bob {x} {e}"),
            format!("kps-member-v1 bob {x}"),
            format!("kps-member-v1 bob {x} {e} extra"),
            format!("kps-member-v1  bob {x} {e}"),
            format!("kps-member-v1 bob {x} {e} "),
            format!(" kps-member-v1 bob {x} {e}"),
            format!("kps-member-v1\tbob {x} {e}"),
            format!("kps-member-v1 bob {x} {e}\n\n"),
            format!("kps-member-v1 b\u{1b}[2Job {x} {e}"),
            format!("kps-member-v1 bob\u{7f} {x} {e}"),
            format!("kps-member-v1 bo.b {x} {e}"),
            format!("kps-member-v1 b\u{e9}b {x} {e}"),
            format!("kps-member-v1 {} {x} {e}", "x".repeat(65)),
            format!("kps-member-v1 bob {} {e}", x.trim_end_matches('=')),
            format!("kps-member-v1 bob {x} {noncanonical}"),
            format!(
                "kps-member-v1 bob {x} {}",
                Base64::encode_string(&[1u8; 33])
            ),
            format!(
                "kps-member-v1 bob {} {e}",
                Base64::encode_string(&[0u8; 32])
            ),
            format!("kps-member-v1 bob {x} {small_order}"),
            format!("kps-member-v1 bob -{} {e}", &x[1..]),
        ];
        for line in &bad {
            match Member::parse_line(line) {
                Err(Error::BadMemberLine(why)) => {
                    assert!(
                        !why.contains('\u{1b}'),
                        "{why:?} echoes a control character"
                    )
                }
                Err(e) => panic!("{line:?}: {e:?}"),
                Ok(m) => panic!("{line:?} parsed as {m:?}"),
            }
        }
    }

    #[test]
    fn fingerprint_covers_both_keys_not_the_name() {
        let (m, _) = fresh("carol");
        let fp = m.fingerprint();
        assert!(fp.starts_with("SHA256:") && fp.len() == 7 + 43, "{fp}");
        let renamed = Member {
            name: "carole".into(),
            ..m.clone()
        };
        assert_eq!(renamed.fingerprint(), fp);
        let (other, _) = fresh("carol");
        let swapped_x = Member {
            x25519: other.x25519,
            ..m.clone()
        };
        let swapped_ed = Member {
            ed25519: other.ed25519,
            ..m.clone()
        };
        assert_ne!(swapped_x.fingerprint(), fp);
        assert_ne!(swapped_ed.fingerprint(), fp);
    }

    #[test]
    fn names_follow_the_keypair_rule() {
        for ok in ["a", "alice", "ci-runner_7", &"x".repeat(64)] {
            assert!(validate_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "a b", "a.b", "ä", "a/b", "a\n", &"x".repeat(65)] {
            assert!(validate_name(bad).is_err(), "{bad:?}");
        }
    }
}
