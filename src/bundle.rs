//! Bundles: chosen keypairs moved between stores in one encrypted file
//! (`kps export-bundle`, `kps import --bundle`), sealed under a passphrase
//! of their own (Argon2id, then ChaCha20-Poly1305) or to a store's public
//! identity (HPKE). The layout is in `docs/bundle-format.md`; what comes out
//! of a bundle is untrusted input and is checked as any import is.

use crate::secret::Passphrase;
use crate::store::{Identity, KdfParams};
use crate::{Error, Result, algorithm, parse};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use hmac::Mac;
use hpke::aead::ChaCha20Poly1305 as HpkeChaCha;
use hpke::kdf::HkdfSha256;
use hpke::kem::X25519HkdfSha256;
use hpke::{Deserializable, OpModeR, OpModeS, Serializable};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use ssh_key::{PrivateKey, PublicKey};
use std::fmt;
use zeroize::Zeroizing;

type Kem = X25519HkdfSha256;
type KemPublicKey = <Kem as hpke::Kem>::PublicKey;
type EncappedKey = <Kem as hpke::Kem>::EncappedKey;

/// The first 8 bytes of every bundle.
pub const MAGIC: &[u8; 8] = b"KPSBUNDL";
/// The one format version this kps writes and reads.
pub const VERSION: u8 = 1;
const MODE_PASSPHRASE: u8 = 1;
const MODE_RECIPIENT: u8 = 2;
/// RFC 9180 suite ids of recipient mode (as the store's envelopes).
const KEM_ID: u16 = 0x0020;
const KDF_ID: u16 = 0x0001;
const AEAD_ID: u16 = 0x0003;
const HPKE_INFO: &[u8] = b"kps bundle v1";
const KEY_LABEL: &[u8] = b"kps bundle key v1";
const CHECK_LABEL: &[u8] = b"kps bundle check v1";

/// The largest bundle read or written: about 4,000 RSA 4096 keypairs. A
/// file claiming more is refused before anything is allocated for it.
pub const MAX_BUNDLE: usize = 16 * 1024 * 1024;
/// The most keypairs in one bundle.
pub const MAX_KEYPAIRS: usize = 10_000;

/// Header lengths up to and including the ciphertext length field.
const PASSPHRASE_HEADER: usize = 8 + 1 + 1 + 12 + 16 + 16 + 12 + 4;
const RECIPIENT_HEADER: usize = 8 + 1 + 1 + 6 + 32 + 32 + 4;

/// One keypair as a bundle carries it (the plaintext is a JSON document
/// `{"keypairs": [...]}` of these).
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub name: String,
    pub algorithm: String,
    pub comment: String,
    pub description: Option<String>,
    pub user_id: Option<String>,
    /// RFC 3339, UTC, whole seconds: `2026-11-29T19:46:41Z`.
    pub create_time: String,
    /// The authorized_keys line.
    pub public_key: String,
    /// The unencrypted OpenSSH private key; `None` for a public-key-only keypair.
    pub private_key: Option<Zeroizing<String>>,
}

impl fmt::Debug for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Entry")
            .field("name", &self.name)
            .field("algorithm", &self.algorithm)
            .field(
                "private_key",
                &self.private_key.as_ref().map(|_| "<redacted>"),
            )
            .finish_non_exhaustive()
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Plaintext {
    keypairs: Vec<Entry>,
}

/// A store's public identity as a line to hand to whoever sends a bundle:
/// `kps-identity-v1:` and the base64 of the X25519 public key followed by
/// the first 4 bytes of its SHA-256, so that a mistyped or cut line is
/// refused instead of sealing to a key no one holds.
#[derive(Clone, PartialEq, Eq)]
pub struct Recipient {
    public_key: [u8; 32],
}

const IDENTITY_PREFIX: &str = "kps-identity-v1:";

impl Recipient {
    pub fn from_public_key(bytes: &[u8]) -> Result<Recipient> {
        let public_key: [u8; 32] = bytes
            .try_into()
            .map_err(|_| Error::invalid("a store identity is a 32-byte X25519 public key"))?;
        KemPublicKey::from_bytes(&public_key)
            .map_err(|_| Error::invalid("not an X25519 public key"))?;
        Ok(Recipient { public_key })
    }

    /// Parse `kps-identity-v1:...` as `kps identity` prints it.
    pub fn parse(text: &str) -> Result<Recipient> {
        use base64ct::{Base64, Encoding};
        let hint = "give the line 'kps identity' prints on the receiving machine, \
                    kps-identity-v1: and 48 more characters";
        let bad = |why: &str| Error::invalid_with_hint(format!("--to: {why}"), hint);
        let body = text
            .trim()
            .strip_prefix(IDENTITY_PREFIX)
            .ok_or_else(|| bad("not a kps identity (it starts with kps-identity-v1:)"))?;
        let raw = Base64::decode_vec(body).map_err(|_| bad("the identity is not valid base64"))?;
        if raw.len() != 36 {
            return Err(bad("the identity has the wrong length (cut short?)"));
        }
        if Sha256::digest(&raw[..32])[..4] != raw[32..] {
            return Err(bad("the identity's checksum does not match (mistyped?)"));
        }
        Recipient::from_public_key(&raw[..32]).map_err(|e| bad(&e.to_string()))
    }

    pub fn public_key(&self) -> &[u8; 32] {
        &self.public_key
    }
}

impl fmt::Display for Recipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use base64ct::{Base64, Encoding};
        let mut raw = self.public_key.to_vec();
        raw.extend_from_slice(&Sha256::digest(self.public_key)[..4]);
        write!(f, "{IDENTITY_PREFIX}{}", Base64::encode_string(&raw))
    }
}

fn encrypt_failed(what: &str) -> Error {
    Error::EncryptFailed(format!("sealing the bundle: {what}"))
}

fn corrupt(why: impl Into<String>) -> Error {
    Error::BundleCorrupt(why.into())
}

fn plaintext_of(entries: Vec<Entry>) -> Result<Zeroizing<Vec<u8>>> {
    if entries.is_empty() || entries.len() > MAX_KEYPAIRS {
        return Err(Error::invalid(format!(
            "a bundle holds 1 to {MAX_KEYPAIRS} keypairs"
        )));
    }
    let doc = Plaintext { keypairs: entries };
    let bytes = serde_json::to_vec(&doc).map_err(|e| encrypt_failed(&e.to_string()))?;
    Ok(Zeroizing::new(bytes))
}

fn finish(mut header: Vec<u8>, ciphertext: Vec<u8>) -> Result<Vec<u8>> {
    header.extend_from_slice(&ciphertext);
    if header.len() > MAX_BUNDLE {
        return Err(Error::invalid(format!(
            "the bundle would be {} bytes, more than kps reads ({MAX_BUNDLE}): export fewer keypairs at a time",
            header.len()
        )));
    }
    Ok(header)
}

/// The AEAD key and the passphrase check, from the Argon2id output.
fn passphrase_keys(
    passphrase: &Passphrase,
    kdf: &KdfParams,
    salt: &[u8],
) -> Result<(Zeroizing<[u8; 32]>, [u8; 16])> {
    let master = kdf.derive(passphrase, salt)?;
    let prf = |label: &[u8]| {
        let mut mac = <hmac::Hmac<Sha256>>::new_from_slice(&master[..])
            .map_err(|_| encrypt_failed("HMAC key"))?;
        mac.update(label);
        Ok::<_, Error>(mac.finalize().into_bytes())
    };
    let mut key = Zeroizing::new([0u8; 32]);
    key.copy_from_slice(&prf(KEY_LABEL)?);
    let mut check = [0u8; 16];
    check.copy_from_slice(&prf(CHECK_LABEL)?[..16]);
    Ok((key, check))
}

fn random<const N: usize>() -> Result<[u8; N]> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| encrypt_failed(&e.to_string()))?;
    Ok(bytes)
}

/// Seal `entries` under a passphrase: Argon2id at `kdf` (within the
/// store's floor and ceiling), ChaCha20-Poly1305 under a key used once.
pub fn seal_with_passphrase(
    entries: Vec<Entry>,
    passphrase: &Passphrase,
    kdf: KdfParams,
) -> Result<Vec<u8>> {
    kdf.validate()?;
    if passphrase.is_empty() {
        return Err(Error::invalid("the bundle passphrase is empty"));
    }
    let plaintext = plaintext_of(entries)?;
    let salt: [u8; 16] = random()?;
    let nonce: [u8; 12] = random()?;
    let (key, check) = passphrase_keys(passphrase, &kdf, &salt)?;
    let mut header = Vec::with_capacity(PASSPHRASE_HEADER);
    header.extend_from_slice(MAGIC);
    header.extend_from_slice(&[VERSION, MODE_PASSPHRASE]);
    for v in [kdf.memory_kib, kdf.passes, kdf.parallelism] {
        header.extend_from_slice(&v.to_be_bytes());
    }
    header.extend_from_slice(&salt);
    header.extend_from_slice(&check);
    header.extend_from_slice(&nonce);
    header.extend_from_slice(&ciphertext_len(plaintext.len())?);
    let ciphertext = ChaCha20Poly1305::new(&Key::from(*key))
        .encrypt(
            &Nonce::from(nonce),
            Payload {
                msg: &plaintext,
                aad: &header,
            },
        )
        .map_err(|_| encrypt_failed("ChaCha20-Poly1305"))?;
    finish(header, ciphertext)
}

/// Seal `entries` to a store's identity with HPKE (base mode, single shot,
/// DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20-Poly1305).
pub fn seal_to(entries: Vec<Entry>, recipient: &Recipient) -> Result<Vec<u8>> {
    let plaintext = plaintext_of(entries)?;
    let public = KemPublicKey::from_bytes(&recipient.public_key)
        .map_err(|_| encrypt_failed("recipient key"))?;
    // The encapsulated key is part of the header, and the header is the
    // associated data: encapsulate first, then seal with the context.
    let (encapped, mut context) =
        hpke::setup_sender::<HpkeChaCha, HkdfSha256, Kem>(&OpModeS::Base, &public, HPKE_INFO)
            .map_err(|_| encrypt_failed("HPKE"))?;
    let mut header = Vec::with_capacity(RECIPIENT_HEADER);
    header.extend_from_slice(MAGIC);
    header.extend_from_slice(&[VERSION, MODE_RECIPIENT]);
    for id in [KEM_ID, KDF_ID, AEAD_ID] {
        header.extend_from_slice(&id.to_be_bytes());
    }
    header.extend_from_slice(&recipient.public_key);
    header.extend_from_slice(&encapped.to_bytes());
    header.extend_from_slice(&ciphertext_len(plaintext.len())?);
    let ciphertext = context
        .seal(&plaintext, &header)
        .map_err(|_| encrypt_failed("HPKE"))?;
    finish(header, ciphertext)
}

/// The ciphertext's length field: the plaintext and the 16-byte tag.
fn ciphertext_len(plaintext: usize) -> Result<[u8; 4]> {
    u32::try_from(plaintext + 16)
        .map(u32::to_be_bytes)
        .map_err(|_| Error::invalid("the bundle is too large"))
}

/// How a bundle is locked, as its header says.
#[derive(Debug)]
pub enum Lock {
    Passphrase {
        kdf: KdfParams,
        salt: [u8; 16],
        check: [u8; 16],
        nonce: [u8; 12],
    },
    Recipient {
        recipient: Recipient,
        encapped: [u8; 32],
    },
}

/// A bundle whose header has been read and checked; nothing is decrypted yet.
pub struct Sealed<'a> {
    header: &'a [u8],
    ciphertext: &'a [u8],
    pub lock: Lock,
}

impl fmt::Debug for Recipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Recipient({self})")
    }
}

fn take<'a>(bytes: &'a [u8], at: &mut usize, n: usize) -> Result<&'a [u8]> {
    let end = at.checked_add(n).filter(|end| *end <= bytes.len());
    match end {
        Some(end) => {
            let part = &bytes[*at..end];
            *at = end;
            Ok(part)
        }
        None => Err(corrupt("the bundle is cut short")),
    }
}

fn array<const N: usize>(part: &[u8]) -> [u8; N] {
    let mut a = [0u8; N];
    a.copy_from_slice(part);
    a
}

/// Read a bundle's header: the magic, a version this kps reads, the lock
/// (a KDF cost within the store's ceiling, checked before Argon2 allocates
/// anything; a known HPKE suite) and a ciphertext that fills the rest of
/// the file exactly.
pub fn parse(bytes: &[u8]) -> Result<Sealed<'_>> {
    if bytes.len() > MAX_BUNDLE {
        return Err(corrupt(format!(
            "the file is larger than a bundle can be ({MAX_BUNDLE} bytes)"
        )));
    }
    let mut at = 0;
    if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
        return Err(corrupt("not a kps bundle (no KPSBUNDL header)"));
    }
    at += MAGIC.len();
    let version = take(bytes, &mut at, 1)?[0];
    if version != VERSION {
        return Err(Error::BundleCorrupt(format!(
            "bundle format version {version}: this kps reads version {VERSION} only (made by a newer kps?)"
        )));
    }
    let mode = take(bytes, &mut at, 1)?[0];
    let lock = match mode {
        MODE_PASSPHRASE => {
            let mut u32_at = || take(bytes, &mut at, 4).map(|b| u32::from_be_bytes(array(b)));
            let kdf = KdfParams {
                memory_kib: u32_at()?,
                passes: u32_at()?,
                parallelism: u32_at()?,
            };
            if let Some(why) = kdf.above_ceiling() {
                return Err(corrupt(format!("the bundle asks for too much work: {why}")));
            }
            Lock::Passphrase {
                kdf,
                salt: array(take(bytes, &mut at, 16)?),
                check: array(take(bytes, &mut at, 16)?),
                nonce: array(take(bytes, &mut at, 12)?),
            }
        }
        MODE_RECIPIENT => {
            let suite = take(bytes, &mut at, 6)?;
            let id = |i: usize| u16::from_be_bytes([suite[i], suite[i + 1]]);
            if (id(0), id(2), id(4)) != (KEM_ID, KDF_ID, AEAD_ID) {
                return Err(corrupt(
                    "the bundle is sealed with an HPKE suite this kps does not know (made by a newer kps?)",
                ));
            }
            let recipient = Recipient::from_public_key(take(bytes, &mut at, 32)?)
                .map_err(|_| corrupt("the bundle's recipient key is malformed"))?;
            Lock::Recipient {
                recipient,
                encapped: array(take(bytes, &mut at, 32)?),
            }
        }
        other => {
            return Err(corrupt(format!(
                "the bundle is locked in a way this kps does not know (mode {other})"
            )));
        }
    };
    let len = u32::from_be_bytes(array(take(bytes, &mut at, 4)?)) as usize;
    let header = &bytes[..at];
    let ciphertext = take(bytes, &mut at, len)?;
    if at != bytes.len() {
        return Err(corrupt("the bundle has bytes after its end"));
    }
    if len < 16 {
        return Err(corrupt("the bundle's ciphertext is too short"));
    }
    Ok(Sealed {
        header,
        ciphertext,
        lock,
    })
}

impl Sealed<'_> {
    /// Open a passphrase bundle. A passphrase that does not give the
    /// header's check value is wrong (nothing else is tried); one that does,
    /// on a ciphertext that does not authenticate, means the file was
    /// altered.
    pub fn open_with_passphrase(&self, passphrase: &Passphrase) -> Result<Vec<Entry>> {
        let Lock::Passphrase {
            kdf,
            salt,
            check,
            nonce,
        } = &self.lock
        else {
            return Err(Error::invalid("this bundle is sealed to a store identity"));
        };
        let (key, expected) = passphrase_keys(passphrase, kdf, salt)?;
        // Not secret-dependent timing worth guarding: the check is public.
        if expected != *check {
            return Err(Error::BundleWrongPassphrase);
        }
        let plaintext = ChaCha20Poly1305::new(&Key::from(*key))
            .decrypt(
                &Nonce::from(*nonce),
                Payload {
                    msg: self.ciphertext,
                    aad: self.header,
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| altered())?;
        entries_of(&plaintext)
    }

    /// Open a bundle sealed to `identity`; one sealed to another identity
    /// is refused naming it.
    pub fn open_with_identity(&self, identity: &Identity) -> Result<Vec<Entry>> {
        let Lock::Recipient {
            recipient,
            encapped,
        } = &self.lock
        else {
            return Err(Error::invalid("this bundle is sealed with a passphrase"));
        };
        if recipient.public_key[..] != identity.public.to_bytes()[..] {
            return Err(Error::BundleNotForThisStore {
                recipient: recipient.to_string(),
            });
        }
        let encapped = EncappedKey::from_bytes(encapped).map_err(|_| altered())?;
        let plaintext = hpke::single_shot_open::<HpkeChaCha, HkdfSha256, Kem>(
            &OpModeR::Base,
            &identity.secret,
            &encapped,
            HPKE_INFO,
            self.ciphertext,
            self.header,
        )
        .map(Zeroizing::new)
        .map_err(|_| altered())?;
        entries_of(&plaintext)
    }
}

fn altered() -> Error {
    corrupt("the bundle does not authenticate: it was damaged or altered")
}

fn entries_of(plaintext: &[u8]) -> Result<Vec<Entry>> {
    // Authenticated, so written by someone holding the passphrase or
    // sealing to this store: still only as trusted as that someone.
    let doc: Plaintext = serde_json::from_slice(plaintext)
        .map_err(|e| corrupt(format!("the bundle's contents are malformed: {e}")))?;
    if doc.keypairs.is_empty() || doc.keypairs.len() > MAX_KEYPAIRS {
        return Err(corrupt(format!(
            "a bundle holds 1 to {MAX_KEYPAIRS} keypairs, this one {}",
            doc.keypairs.len()
        )));
    }
    Ok(doc.keypairs)
}

/// A keypair from a bundle, checked as any import is.
pub struct Incoming {
    pub name: String,
    pub description: Option<String>,
    pub user_id: Option<String>,
    pub create_time: String,
    pub key: IncomingKey,
    pub warnings: Vec<String>,
}

pub enum IncomingKey {
    Private(Box<PrivateKey>),
    Public(PublicKey),
}

/// Check every entry as an import checks its input: names by the service's
/// rule and unique, free text without line breaks or terminal controls, a
/// creation time of kps's own shape, keys of allowed kinds whose parts
/// agree, and an algorithm field that says what the key is. The first
/// failure refuses the whole bundle.
pub fn check(entries: Vec<Entry>) -> Result<Vec<Incoming>> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(entries.len());
    for (i, entry) in entries.into_iter().enumerate() {
        let label = format!("keypair {} of the bundle", i + 1);
        crate::name::validate(&entry.name).map_err(|e| Error::bad_key(format!("{label}: {e}")))?;
        let label = format!("keypair '{}' of the bundle", entry.name);
        if !seen.insert(entry.name.clone()) {
            return Err(Error::bad_key(format!(
                "the bundle holds '{}' twice",
                entry.name
            )));
        }
        for (field, value) in [
            ("comment", Some(entry.comment.as_str())),
            ("description", entry.description.as_deref()),
            ("user_id", entry.user_id.as_deref()),
            ("create_time", Some(entry.create_time.as_str())),
        ] {
            crate::text::check_optional(field, value)
                .map_err(|e| Error::bad_key(format!("{label}: {e}")))?;
        }
        check_time(&entry.create_time)
            .map_err(|why| Error::bad_key(format!("{label}: create_time {why}")))?;
        let (mut public, mut warnings) = parse::public_key(entry.public_key.as_bytes())
            .map_err(|e| Error::bad_key(format!("{label}: public key: {e}")))?;
        let (alg, _) = algorithm::describe(public.key_data())?;
        if alg != entry.algorithm {
            return Err(Error::bad_key(format!(
                "{label}: its algorithm field says {:?} but its key is {alg}",
                entry.algorithm
            )));
        }
        public.set_comment(entry.comment.as_str());
        let key = match &entry.private_key {
            None => IncomingKey::Public(public),
            Some(text) => {
                let parsed = parse::private_key(text.as_bytes(), None)
                    .map_err(|e| Error::bad_key(format!("{label}: private key: {e}")))?;
                if parsed.key.public_key().key_data() != public.key_data() {
                    return Err(Error::KeyMismatch(format!(
                        "{label}: its private key does not belong to its public key"
                    )));
                }
                warnings = parsed.warnings;
                let mut key = parsed.key;
                key.set_comment(entry.comment.as_str());
                IncomingKey::Private(Box::new(key))
            }
        };
        out.push(Incoming {
            name: entry.name,
            description: entry.description,
            user_id: entry.user_id,
            create_time: entry.create_time,
            key,
            warnings,
        });
    }
    Ok(out)
}

/// `YYYY-MM-DDTHH:MM:SSZ`, a real date and time: what kps writes.
fn check_time(t: &str) -> std::result::Result<(), &'static str> {
    let b = t.as_bytes();
    let shape = b.len() == 20
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            13 | 16 => *c == b':',
            19 => *c == b'Z',
            _ => c.is_ascii_digit(),
        });
    if !shape {
        return Err("is not of the form YYYY-MM-DDTHH:MM:SSZ");
    }
    let n = |r: std::ops::Range<usize>| t[r].parse::<u16>().unwrap_or(u16::MAX);
    let month = time::Month::try_from(n(5..7) as u8).map_err(|_| "is not a date")?;
    time::Date::from_calendar_date(i32::from(n(0..4)), month, n(8..10) as u8)
        .map_err(|_| "is not a date")?;
    time::Time::from_hms(n(11..13) as u8, n(14..16) as u8, n(17..19) as u8)
        .map_err(|_| "is not a time of day")?;
    Ok(())
}

/// The entry for a stored keypair (its private key, when it has one, in
/// the clear: the bundle's encryption is what protects it).
pub fn entry(keypair: &crate::keypair::Keypair, private: Option<&PrivateKey>) -> Result<Entry> {
    let private_key = match private {
        Some(key) => Some(
            key.to_openssh(ssh_key::LineEnding::LF)
                .map_err(|e| Error::bad_key(format!("cannot encode key: {e}")))?,
        ),
        None => None,
    };
    Ok(Entry {
        name: keypair.name.clone(),
        algorithm: keypair.algorithm.clone(),
        comment: keypair.comment().to_string(),
        description: keypair.description.clone(),
        user_id: keypair.user_id.clone(),
        create_time: keypair.create_time.clone(),
        public_key: keypair.public_line.clone(),
        private_key,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHEAP: KdfParams = KdfParams {
        memory_kib: KdfParams::MIN_MEMORY_KIB,
        passes: KdfParams::MIN_PASSES,
        parallelism: 1,
    };

    fn sample() -> Vec<Entry> {
        vec![Entry {
            name: "a".into(),
            algorithm: "ssh-ed25519".into(),
            comment: "c".into(),
            description: None,
            user_id: None,
            create_time: "2026-11-29T19:46:41Z".into(),
            public_key: "ssh-ed25519 AAAA".into(),
            private_key: Some(Zeroizing::new("secret text".into())),
        }]
    }

    #[test]
    fn passphrase_round_trip_and_every_cut_and_flip_refused() {
        let pass = Passphrase::new(b"bundle pass".to_vec());
        let bytes = seal_with_passphrase(sample(), &pass, CHEAP).unwrap();
        let back = parse(&bytes).unwrap().open_with_passphrase(&pass).unwrap();
        assert_eq!(back[0].name, "a");
        assert_eq!(
            back[0].private_key.as_deref().map(|s| s.as_str()),
            Some("secret text")
        );
        assert!(matches!(
            parse(&bytes)
                .unwrap()
                .open_with_passphrase(&Passphrase::new(b"other".to_vec())),
            Err(Error::BundleWrongPassphrase)
        ));
        for cut in 0..bytes.len() {
            assert!(parse(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        // Flips in the header past the KDF cost, and in the ciphertext
        // (the KDF runs once per flip: a sample of positions).
        for at in (22..bytes.len()).step_by(7) {
            let mut b = bytes.clone();
            b[at] ^= 0x01;
            let opened = parse(&b).and_then(|s| s.open_with_passphrase(&pass));
            assert!(opened.is_err(), "flip at {at}");
        }
    }

    #[test]
    fn recipient_round_trip_and_another_identity_refused() {
        let id = Identity::generate();
        let recipient = Recipient::from_public_key(&id.public.to_bytes()).unwrap();
        let line = recipient.to_string();
        assert_eq!(Recipient::parse(&line).unwrap(), recipient);
        let bytes = seal_to(sample(), &recipient).unwrap();
        let back = parse(&bytes).unwrap().open_with_identity(&id).unwrap();
        assert_eq!(back[0].name, "a");
        let other = Identity::generate();
        assert!(matches!(
            parse(&bytes).unwrap().open_with_identity(&other),
            Err(Error::BundleNotForThisStore { .. })
        ));
        for at in 0..bytes.len() {
            let mut b = bytes.clone();
            b[at] ^= 0x80;
            let opened = parse(&b).and_then(|s| s.open_with_identity(&id));
            assert!(opened.is_err(), "flip at {at}");
        }
    }

    #[test]
    fn identity_lines_are_checked() {
        let id = Identity::generate();
        let line = Recipient::from_public_key(&id.public.to_bytes())
            .unwrap()
            .to_string();
        assert!(line.starts_with("kps-identity-v1:"));
        assert_eq!(line.len(), "kps-identity-v1:".len() + 48);
        let mut typo = line.clone().into_bytes();
        let last = typo.len() - 10;
        typo[last] = if typo[last] == b'A' { b'B' } else { b'A' };
        for bad in [
            String::from_utf8(typo).unwrap(),
            line[..line.len() - 4].to_string(),
            line.replace("kps-identity-v1:", "kps-identity-v2:"),
            String::new(),
        ] {
            assert!(Recipient::parse(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn times_of_kps_shape_only() {
        assert!(check_time("2026-11-29T19:46:41Z").is_ok());
        assert!(check_time("2024-02-29T00:00:00Z").is_ok());
        for bad in [
            "2026-11-29 19:46:41Z",
            "2026-13-29T19:46:41Z",
            "2025-02-29T19:46:41Z",
            "2026-11-29T24:00:00Z",
            "2026-11-29T19:46:41+00:00",
            "",
        ] {
            assert!(check_time(bad).is_err(), "{bad}");
        }
    }
}
