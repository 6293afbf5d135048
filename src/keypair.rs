//! A stored keypair's public record: everything but the private key.

use ssh_key::PublicKey;

/// How a keypair's private key is protected at rest (the service's
/// `key_protection.encryption`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Encryption {
    /// Sealed to the store identity, which the store passphrase unlocks.
    Default,
    /// Under a master key in a KMS or HSM, named by name or id.
    Kms {
        key_name: Option<String>,
        key_id: Option<String>,
    },
}

impl Encryption {
    pub fn type_name(&self) -> &'static str {
        match self {
            Encryption::Default => "default",
            Encryption::Kms { .. } => "kms",
        }
    }

    pub fn kms_key_name(&self) -> Option<&str> {
        match self {
            Encryption::Kms { key_name, .. } => key_name.as_deref(),
            Encryption::Default => None,
        }
    }

    pub fn kms_key_id(&self) -> Option<&str> {
        match self {
            Encryption::Kms { key_id, .. } => key_id.as_deref(),
            Encryption::Default => None,
        }
    }
}

/// What the caller decides about a new keypair besides its key.
#[derive(Clone, Debug)]
pub struct NewKeypair {
    pub name: String,
    pub description: Option<String>,
    pub user_id: Option<String>,
    pub encryption: Encryption,
}

/// How far a row read from the store is known to be the owner's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Integrity {
    /// Its MAC verifies with the store's row key (from this machine's pin
    /// or the unlocked identity). Rows that fail are never handed out.
    Verified,
    /// It has a MAC, but this machine has no key to check it with (no pin
    /// for this store yet: the next unlock pins it).
    Unverified,
    /// Written by a kps that did not authenticate rows, and not yet
    /// endorsed: the store's next unlock does that.
    NotEndorsed,
}

impl Integrity {
    pub fn as_str(&self) -> &'static str {
        match self {
            Integrity::Verified => "verified",
            Integrity::Unverified => "unverified",
            Integrity::NotEndorsed => "not-endorsed",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Keypair {
    pub name: String,
    /// SSH algorithm name: `ssh-ed25519`, `ecdsa-sha2-nistp256`, `ssh-rsa`, ...
    pub algorithm: String,
    pub bits: u32,
    /// The public key as an authorized_keys line (`algorithm base64
    /// comment`), exactly as stored; [`Keypair::public_key`] parses it.
    pub public_line: String,
    /// `SHA256:...` as `ssh-keygen -l` prints it.
    pub fingerprint: String,
    /// `MD5:aa:bb:...`
    pub fingerprint_md5: String,
    /// AWS's form for keys it created: SHA-1 of the DER PKCS#8 private key
    /// (hex, colons). Unknown for public-key-only keypairs, and for keypairs
    /// stored by an older kps until their private key is next read.
    pub fingerprint_aws_created: Option<String>,
    /// AWS's form for imported keys: MD5 of the DER public key (hex, colons).
    pub fingerprint_aws_imported: Option<String>,
    pub description: Option<String>,
    pub user_id: Option<String>,
    /// RFC 3339, UTC.
    pub create_time: String,
    pub update_time: String,
    pub encryption: Encryption,
    pub has_private_key: bool,
    pub integrity: Integrity,
}

impl Keypair {
    /// The public key's comment: what follows the key on its line.
    pub fn comment(&self) -> &str {
        self.public_line.splitn(3, ' ').nth(2).unwrap_or("")
    }

    /// The public key, parsed from its line. Listing keypairs never needs
    /// it (a third of `list`'s time went into decoding every key); the
    /// store parses it, and reports a malformed line, wherever one keypair
    /// is read or its private key is opened.
    pub fn public_key(&self) -> ssh_key::Result<PublicKey> {
        PublicKey::from_openssh(&self.public_line)
    }
}
