//! Envelope version 2, for encryption type `kms`: a fresh random data key
//! encrypts the private key (ChaCha20-Poly1305); the token encrypts the data
//! key under the master key (AES-GCM inside the token). Both bind the same
//! associated data as version 1 (the keypair's name and public key blob).
//!
//! Layout (integers big-endian):
//!   u8  envelope version (2)
//!   u16 length of the wrapped data key, then the wrapped data key
//!       (the token's 12-byte IV || AES-GCM ciphertext || 16-byte tag)
//!   12-byte nonce
//!   the ChaCha20-Poly1305 ciphertext with its tag

use super::seal::{Body, associated_data, decrypt_body, encrypt_body};
use crate::kms::Kms;
use crate::{Error, Result};
use cryptoki::object::ObjectHandle;
use zeroize::Zeroizing;

pub(crate) const ENVELOPE_VERSION: u8 = 2;

pub(crate) fn seal(
    kms: &Kms,
    master: ObjectHandle,
    name: &str,
    public_blob: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>> {
    let aad = associated_data(name, public_blob);
    let Body {
        key: data_key,
        nonce,
        ciphertext,
    } = encrypt_body(plaintext, &aad)?;
    let wrapped = kms.wrap(master, &data_key[..], &aad)?;
    let wrapped_len = u16::try_from(wrapped.len())
        .map_err(|_| Error::EncryptFailed("wrapped data key too long".into()))?;
    let mut out = Vec::with_capacity(3 + wrapped.len() + 12 + ciphertext.len());
    out.push(ENVELOPE_VERSION);
    out.extend_from_slice(&wrapped_len.to_be_bytes());
    out.extend_from_slice(&wrapped);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ciphertext);
    Ok(out)
}

/// Why a version-2 envelope did not open.
pub(crate) enum OpenError {
    /// The envelope is not well formed, or the data key did not decrypt it.
    Damaged,
    /// The token refused or failed (missing key, wrong key, token error).
    Token(Error),
}

pub(crate) fn open(
    kms: &Kms,
    master: ObjectHandle,
    name: &str,
    public_blob: &[u8],
    envelope: &[u8],
) -> std::result::Result<Zeroizing<Vec<u8>>, OpenError> {
    let aad = associated_data(name, public_blob);
    if envelope.first() != Some(&ENVELOPE_VERSION) || envelope.len() < 3 {
        return Err(OpenError::Damaged);
    }
    let wrapped_len = u16::from_be_bytes([envelope[1], envelope[2]]) as usize;
    let wrapped = envelope.get(3..3 + wrapped_len).ok_or(OpenError::Damaged)?;
    let nonce = envelope
        .get(3 + wrapped_len..15 + wrapped_len)
        .ok_or(OpenError::Damaged)?;
    let ciphertext = &envelope[15 + wrapped_len..];
    let data_key = kms
        .unwrap(master, wrapped, &aad)
        .map_err(OpenError::Token)?;
    let key: [u8; 32] = data_key[..].try_into().map_err(|_| OpenError::Damaged)?;
    let key = Zeroizing::new(key);
    let nonce: [u8; 12] = nonce.try_into().map_err(|_| OpenError::Damaged)?;
    decrypt_body(&key, &nonce, ciphertext, &aad).ok_or(OpenError::Damaged)
}
