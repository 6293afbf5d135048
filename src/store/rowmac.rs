//! Authenticating keypair rows: an HMAC-SHA-256 over every column kps shows
//! or acts on, with a key derived from the store identity's secret. A row
//! that someone without the passphrase planted or edited does not verify.
//!
//! The key is derived from the identity secret (so only the passphrase's
//! holder can make it) and a copy is kept in the store's pin in the user's
//! config directory, so that `create` and `import` can authenticate their
//! rows without asking for the passphrase, and `list` and `show` can check
//! rows without it.

use crate::keypair::Keypair;
use hmac::{KeyInit, Mac};
use std::fmt;
use zeroize::Zeroizing;

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// The row-authentication key. Not a key that opens anything: whoever has
/// it can forge rows, not read private keys.
#[derive(Clone)]
pub struct RowKey(Zeroizing<[u8; 32]>);

impl fmt::Debug for RowKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RowKey(<redacted>)")
    }
}

impl PartialEq for RowKey {
    fn eq(&self, other: &Self) -> bool {
        // Compared only to decide whether a pin needs rewriting.
        self.0[..] == other.0[..]
    }
}

const KEY_LABEL: &[u8] = b"kps row key v1";
const ROW_LABEL: &[u8] = b"kps keypair row v1\0";
const BINDING_LABEL: &[u8] = b"kps binding row v1\0";

impl RowKey {
    /// HMAC-SHA-256(identity secret, label): a PRF output, as HKDF-Expand
    /// with a single block would give.
    pub(crate) fn derive(identity_secret: &[u8]) -> RowKey {
        let mut mac = <HmacSha256 as KeyInit>::new_from_slice(identity_secret)
            .expect("HMAC takes keys of any length");
        mac.update(KEY_LABEL);
        let mut key = Zeroizing::new([0u8; 32]);
        key.copy_from_slice(&mac.finalize().into_bytes());
        RowKey(key)
    }

    pub(crate) fn from_bytes(bytes: [u8; 32]) -> RowKey {
        RowKey(Zeroizing::new(bytes))
    }

    pub(crate) fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    fn hmac(&self, keypair: &Keypair) -> HmacSha256 {
        let bits = keypair.bits.to_be_bytes();
        self.hmac_over(ROW_LABEL, &fields(keypair, &bits))
    }

    /// HMAC over `label` and `fields`, each length-prefixed, and absent
    /// (NULL) told apart from empty: no two rows encode to the same bytes.
    fn hmac_over(&self, label: &[u8], fields: &[Option<&[u8]>]) -> HmacSha256 {
        let mut mac = <HmacSha256 as KeyInit>::new_from_slice(&self.0[..])
            .expect("HMAC takes keys of any length");
        mac.update(label);
        for field in fields {
            match field {
                None => mac.update(&[0]),
                Some(bytes) => {
                    mac.update(&[1]);
                    mac.update(&(bytes.len() as u64).to_be_bytes());
                    mac.update(bytes);
                }
            }
        }
        mac
    }

    /// The MAC of a binding row (bindings.rs): over every column, the
    /// keypair given both as its row id (what the column holds) and as the
    /// SHA-256 fingerprint of its public key, so that the record cannot be
    /// moved to another keypair by renumbering keypair rows.
    pub(crate) fn binding_tag(&self, fields: &[Option<&[u8]>]) -> Vec<u8> {
        self.hmac_over(BINDING_LABEL, fields)
            .finalize()
            .into_bytes()
            .to_vec()
    }

    /// Does `tag` authenticate this binding row? (Constant-time comparison.)
    pub(crate) fn binding_verifies(&self, fields: &[Option<&[u8]>], tag: &[u8]) -> bool {
        self.hmac_over(BINDING_LABEL, fields)
            .verify_slice(tag)
            .is_ok()
    }

    /// The MAC of a keypair row as it is stored.
    pub(crate) fn tag(&self, keypair: &Keypair) -> Vec<u8> {
        self.hmac(keypair).finalize().into_bytes().to_vec()
    }

    /// Does `tag` authenticate this row? (Constant-time comparison.)
    pub(crate) fn verifies(&self, keypair: &Keypair, tag: &[u8]) -> bool {
        self.hmac(keypair).verify_slice(tag).is_ok()
    }
}

/// Every column of a row that kps shows or acts on, in a fixed order
/// (`bits` is the row's size, big-endian). The sealed private key itself is
/// authenticated by its own envelope (its associated data binds the name
/// and the public key, and what opens must match the public key); here only
/// whether there is one.
fn fields<'a>(k: &'a Keypair, bits: &'a [u8; 4]) -> [Option<&'a [u8]>; 16] {
    let has_private: &[u8] = if k.has_private_key { b"1" } else { b"0" };
    [
        Some(k.name.as_bytes()),
        Some(k.algorithm.as_bytes()),
        Some(&bits[..]),
        Some(k.public_line.as_bytes()),
        Some(k.fingerprint.as_bytes()),
        Some(k.fingerprint_md5.as_bytes()),
        k.fingerprint_aws_created.as_deref().map(str::as_bytes),
        k.fingerprint_aws_imported.as_deref().map(str::as_bytes),
        k.description.as_deref().map(str::as_bytes),
        k.user_id.as_deref().map(str::as_bytes),
        Some(k.create_time.as_bytes()),
        Some(k.update_time.as_bytes()),
        Some(k.encryption.type_name().as_bytes()),
        k.encryption.kms_key_name().map(str::as_bytes),
        k.encryption.kms_key_id().map(str::as_bytes),
        Some(has_private),
    ]
}
