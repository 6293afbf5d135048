//! Sealing private keys to the store's public key with HPKE (RFC 9180, base
//! mode, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20-Poly1305).
//!
//! Envelope layout (all integers big-endian):
//!   u8  envelope version (1)
//!   u16 kem id, u16 kdf id, u16 aead id   (the RFC 9180 suite identifiers)
//!   u16 length of the encapsulated key, then the encapsulated key
//!   the AEAD ciphertext with its tag
//! The suite travels with every ciphertext, so a store can move to another KEM
//! (X-Wing, post-quantum hybrid) key by key, without a flag day.
//!
//! Associated data binds the keypair's name and public key blob: a ciphertext
//! copied into another row does not open.

use hpke::aead::ChaCha20Poly1305;
use hpke::kdf::HkdfSha256;
use hpke::kem::X25519HkdfSha256;
use hpke::{Deserializable, Kem as _, OpModeR, OpModeS, Serializable};
use zeroize::Zeroizing;

pub(crate) type Kem = X25519HkdfSha256;
pub(crate) type KemPublicKey = <Kem as hpke::Kem>::PublicKey;
pub(crate) type KemPrivateKey = <Kem as hpke::Kem>::PrivateKey;

const ENVELOPE_VERSION: u8 = 1;
const KEM_ID: u16 = 0x0020;
const KDF_ID: u16 = 0x0001;
const AEAD_ID: u16 = 0x0003;
const INFO: &[u8] = b"kps private key v1";

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum SealError {
    /// The envelope names a suite this kps does not implement.
    UnknownSuite,
    /// Truncated or otherwise not an envelope.
    Malformed,
    /// Authentication failed: wrong identity, moved or altered ciphertext.
    Inauthentic,
    Encrypt,
}

pub(crate) fn associated_data(name: &str, public_blob: &[u8]) -> Vec<u8> {
    let mut aad = Vec::with_capacity(32 + name.len() + public_blob.len());
    aad.extend_from_slice(b"kps keypair\0");
    aad.extend_from_slice(&(name.len() as u32).to_be_bytes());
    aad.extend_from_slice(name.as_bytes());
    aad.extend_from_slice(&(public_blob.len() as u32).to_be_bytes());
    aad.extend_from_slice(public_blob);
    aad
}

pub(crate) fn seal(
    recipient: &KemPublicKey,
    name: &str,
    public_blob: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, SealError> {
    seal_with(INFO, recipient, name, public_blob, plaintext)
}

/// [`seal`] under another HPKE `info`: what a team store seals its data
/// keys with (store/team_seal.rs), so that a sealed data key is never taken
/// for a sealed private key, nor the other way round.
pub(crate) fn seal_with(
    info: &[u8],
    recipient: &KemPublicKey,
    name: &str,
    public_blob: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, SealError> {
    let aad = associated_data(name, public_blob);
    let (encapped, ciphertext) = hpke::single_shot_seal::<ChaCha20Poly1305, HkdfSha256, Kem>(
        &OpModeS::Base,
        recipient,
        info,
        plaintext,
        &aad,
    )
    .map_err(|_| SealError::Encrypt)?;
    let enc = encapped.to_bytes();
    let mut out = Vec::with_capacity(9 + enc.len() + ciphertext.len());
    out.push(ENVELOPE_VERSION);
    for id in [KEM_ID, KDF_ID, AEAD_ID] {
        out.extend_from_slice(&id.to_be_bytes());
    }
    out.extend_from_slice(&(enc.len() as u16).to_be_bytes());
    out.extend_from_slice(&enc);
    out.extend_from_slice(&ciphertext);
    Ok(out)
}

pub(crate) fn open(
    identity: &KemPrivateKey,
    name: &str,
    public_blob: &[u8],
    envelope: &[u8],
) -> Result<Zeroizing<Vec<u8>>, SealError> {
    open_with(INFO, identity, name, public_blob, envelope)
}

/// [`open`] under another HPKE `info` ([`seal_with`]).
pub(crate) fn open_with(
    info: &[u8],
    identity: &KemPrivateKey,
    name: &str,
    public_blob: &[u8],
    envelope: &[u8],
) -> Result<Zeroizing<Vec<u8>>, SealError> {
    let header = envelope.get(..9).ok_or(SealError::Malformed)?;
    if header[0] != ENVELOPE_VERSION {
        return Err(SealError::UnknownSuite);
    }
    let id = |i: usize| u16::from_be_bytes([header[i], header[i + 1]]);
    if (id(1), id(3), id(5)) != (KEM_ID, KDF_ID, AEAD_ID) {
        return Err(SealError::UnknownSuite);
    }
    let enc_len = id(7) as usize;
    let enc = envelope.get(9..9 + enc_len).ok_or(SealError::Malformed)?;
    let ciphertext = &envelope[9 + enc_len..];
    let encapped =
        <Kem as hpke::Kem>::EncappedKey::from_bytes(enc).map_err(|_| SealError::Malformed)?;
    let aad = associated_data(name, public_blob);
    hpke::single_shot_open::<ChaCha20Poly1305, HkdfSha256, Kem>(
        &OpModeR::Base,
        identity,
        &encapped,
        info,
        ciphertext,
        &aad,
    )
    .map(Zeroizing::new)
    .map_err(|_| SealError::Inauthentic)
}

/// A private key encrypted once under a fresh data key (envelopes 2 and
/// 3: the token, or every member of a team, then gets the data key).
pub(crate) struct Body {
    pub key: Zeroizing<[u8; 32]>,
    pub nonce: [u8; 12],
    pub ciphertext: Vec<u8>,
}

/// `plaintext` under a fresh random data key and nonce (ChaCha20-Poly1305),
/// bound to `aad`.
pub(crate) fn encrypt_body(plaintext: &[u8], aad: &[u8]) -> crate::Result<Body> {
    let failed = |why: String| crate::Error::EncryptFailed(why);
    let mut key = Zeroizing::new([0u8; 32]);
    let mut nonce = [0u8; 12];
    getrandom::fill(&mut key[..]).map_err(|e| failed(e.to_string()))?;
    getrandom::fill(&mut nonce).map_err(|e| failed(e.to_string()))?;
    use chacha20poly1305::aead::{Aead, KeyInit};
    let ciphertext = chacha20poly1305::ChaCha20Poly1305::new(&chacha20poly1305::Key::from(*key))
        .encrypt(
            &chacha20poly1305::Nonce::from(nonce),
            chacha20poly1305::aead::Payload {
                msg: plaintext,
                aad,
            },
        )
        .map_err(|_| failed("encrypting with the data key".into()))?;
    Ok(Body {
        key,
        nonce,
        ciphertext,
    })
}

/// What [`encrypt_body`] encrypted, if `key`, `nonce` and `aad` are its.
pub(crate) fn decrypt_body(
    key: &[u8; 32],
    nonce: &[u8; 12],
    ciphertext: &[u8],
    aad: &[u8],
) -> Option<Zeroizing<Vec<u8>>> {
    use chacha20poly1305::aead::{Aead, KeyInit};
    chacha20poly1305::ChaCha20Poly1305::new(&chacha20poly1305::Key::from(*key))
        .decrypt(
            &chacha20poly1305::Nonce::from(*nonce),
            chacha20poly1305::aead::Payload {
                msg: ciphertext,
                aad,
            },
        )
        .ok()
        .map(Zeroizing::new)
}

pub(crate) fn generate_identity() -> (KemPrivateKey, KemPublicKey) {
    Kem::gen_keypair()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// RFC 9180 appendix A.2.1 (base mode, this exact suite), encryption 0:
    /// pins the suite kps records to the standard's bytes.
    #[test]
    fn rfc9180_a_2_1_vector_opens() {
        let sk = KemPrivateKey::from_bytes(&hex(
            "8057991eef8f1f1af18f4a9491d16a1ce333f695d4db8e38da75975c4478e0fb",
        ))
        .unwrap();
        let enc = <Kem as hpke::Kem>::EncappedKey::from_bytes(&hex(
            "1afa08d3dec047a643885163f1180476fa7ddb54c6a8029ea33f95796bf2ac4a",
        ))
        .unwrap();
        let pt = hpke::single_shot_open::<ChaCha20Poly1305, HkdfSha256, Kem>(
            &OpModeR::Base,
            &sk,
            &enc,
            &hex("4f6465206f6e2061204772656369616e2055726e"),
            &hex("1c5250d8034ec2b784ba2cfd69dbdb8af406cfe3ff938e131f0def8c8b60b4db21993c62ce81883d2dd1b51a28"),
            &hex("436f756e742d30"),
        )
        .unwrap();
        assert_eq!(pt, b"Beauty is truth, truth beauty");
    }

    #[test]
    fn round_trip_and_binding() {
        let (sk, pk) = generate_identity();
        let env = seal(&pk, "a", b"pub", b"secret").unwrap();
        assert_eq!(&open(&sk, "a", b"pub", &env).unwrap()[..], b"secret");
        assert_eq!(open(&sk, "b", b"pub", &env), Err(SealError::Inauthentic));
        assert_eq!(open(&sk, "a", b"puB", &env), Err(SealError::Inauthentic));
        let (other, _) = generate_identity();
        assert_eq!(open(&other, "a", b"pub", &env), Err(SealError::Inauthentic));
        for cut in 0..env.len() {
            assert!(open(&sk, "a", b"pub", &env[..cut]).is_err());
        }
        let mut flipped = env.clone();
        flipped[1] ^= 1;
        assert_eq!(
            open(&sk, "a", b"pub", &flipped),
            Err(SealError::UnknownSuite)
        );
    }
}
