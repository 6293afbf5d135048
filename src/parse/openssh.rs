//! OpenSSH private key files (`openssh-key-v1`, OpenSSH's PROTOCOL.key).
//!
//! ssh-key decodes the key itself, but kps opens the container first:
//! decrypting here lets a failure to decrypt (wrong passphrase) be told apart
//! from a key that decrypts and then does not parse (a corrupt file), and
//! lets the private part be put in the form ssh-key reads before it sees it.
//! That form differs from OpenSSH's in one place: OpenSSH writes the ECDSA
//! scalar as a minimal mpint, so a P-256 scalar below 2^248 (about 1 key in
//! 512) takes 31 bytes, and ssh-key refuses anything under 32 ("length
//! invalid"). The scalar is widened to the curve's width here; everything
//! else reaches ssh-key as the file holds it, with all of ssh-key's checks
//! (checkints, padding, private part against public key).

use super::encrypted;
use crate::secret::Passphrase;
use crate::{Error, Result};
use ssh_key::encoding::{Decode, Encode};
use ssh_key::{Cipher, Kdf, PrivateKey};
use zeroize::Zeroizing;

pub(super) const LABEL: &str = "OPENSSH PRIVATE KEY";

const MAGIC: &[u8] = b"openssh-key-v1\0";

/// ssh-keygen uses 16 bcrypt rounds (`-a 100` for the careful); a hostile
/// file could ask for hours of work.
const MAX_BCRYPT_ROUNDS: u32 = 1000;

/// The longest padding ssh-key accepts (and so the most `1u8..` is drawn).
const MAX_PADDING: usize = 16;

/// Read an OpenSSH private key file's text, decrypting it with `passphrase`.
pub(super) fn private_key(text: &str, passphrase: Option<&Passphrase>) -> Result<PrivateKey> {
    let binary = decode_pem(text)?;
    let file = Container::parse(&binary)?;
    let plain = if file.cipher.is_none() {
        if !file.kdf.is_none() {
            return Err(corrupt("it names a KDF but no cipher"));
        }
        Zeroizing::new(file.private.to_vec())
    } else {
        let Some(pass) = passphrase else {
            return Err(encrypted("the OpenSSH private key"));
        };
        file.decrypt(pass)?
    };
    let plain = widen_ecdsa_scalar(plain)?;
    // The same container, unencrypted, for ssh-key to decode and check.
    // Writing into a Vec fails only on lengths over 4 GiB, which a 1 MiB
    // input cannot produce.
    let rebuilt =
        unencrypted_container(file.public, &plain).map_err(|e| corrupt(&e.to_string()))?;
    PrivateKey::from_bytes(&rebuilt).map_err(|e| match e {
        ssh_key::Error::PublicKey => Error::KeyMismatch(
            "the OpenSSH private key's private part does not match the public key stored with it"
                .into(),
        ),
        // The check values were compared when it was decrypted (or are the
        // same in a plain file): what ssh-key still calls a crypto error is
        // an Ed25519 seed whose public key is not the one in the file.
        ssh_key::Error::Crypto => Error::KeyMismatch(
            "the OpenSSH private key is inconsistent: its public and private halves do not match"
                .into(),
        ),
        other => corrupt(&other.to_string()),
    })
}

fn unencrypted_container(
    public: &[u8],
    private: &[u8],
) -> std::result::Result<Zeroizing<Vec<u8>>, ssh_key::encoding::Error> {
    let mut out = Zeroizing::new(Vec::with_capacity(private.len() + public.len() + 64));
    out.extend_from_slice(MAGIC);
    "none".encode(&mut *out)?;
    "none".encode(&mut *out)?;
    b"".as_slice().encode(&mut *out)?;
    1u32.encode(&mut *out)?;
    public.encode(&mut *out)?;
    private.encode(&mut *out)?;
    Ok(out)
}

fn corrupt(what: &str) -> Error {
    Error::bad_key(format!("the OpenSSH private key is corrupt: {what}"))
}

/// The binary container inside the one `OPENSSH PRIVATE KEY` block of `text`.
/// Line width is not checked: ssh-keygen writes 70 columns, other tools 64.
fn decode_pem(text: &str) -> Result<Zeroizing<Vec<u8>>> {
    let begins = text
        .lines()
        .filter(|l| l.starts_with("-----BEGIN ") && !l.ends_with(" PARAMETERS-----"))
        .count();
    if begins > 1 {
        return Err(Error::bad_key_with_hint(
            format!("the input holds {begins} PEM blocks; kps imports one key per file"),
            "split the file so that each key is in a file of its own",
        ));
    }
    let begin = format!("-----BEGIN {LABEL}-----");
    let end = format!("-----END {LABEL}-----");
    let start = text
        .find(&begin)
        .ok_or_else(|| Error::bad_key("no OpenSSH private key block found"))?;
    let rest = &text[start..];
    let stop = rest
        .find(&end)
        .ok_or_else(|| Error::bad_key("the PEM block has no END line: the file is truncated"))?;
    let block = &rest[..stop + end.len()];
    let mut decoder = pem_rfc7468::Decoder::new_detect_wrap(block.as_bytes())
        .map_err(|e| corrupt(&format!("bad base64 or framing: {e}")))?;
    let mut out = Zeroizing::new(Vec::new());
    decoder
        .decode_to_end(&mut out)
        .map_err(|e| corrupt(&format!("bad base64: {e}")))?;
    Ok(out)
}

/// The parts of `openssh-key-v1` that come before the private key.
struct Container<'a> {
    cipher: Cipher,
    kdf: Kdf,
    public: &'a [u8],
    /// The private section: ciphertext if `cipher` is not `none`.
    private: &'a [u8],
    tag: Option<ssh_key::cipher::Tag>,
}

impl<'a> Container<'a> {
    fn parse(bytes: &'a [u8]) -> Result<Container<'a>> {
        let mut rest = bytes
            .strip_prefix(MAGIC)
            .ok_or_else(|| corrupt("it does not start with openssh-key-v1"))?;
        let cipher_name = take_string(&mut rest)?;
        let cipher = std::str::from_utf8(cipher_name)
            .ok()
            .and_then(|name| name.parse::<Cipher>().ok())
            .ok_or_else(|| {
                Error::bad_key_with_hint(
                    format!(
                        "the OpenSSH private key is encrypted with \"{}\", a cipher kps does not know",
                        crate::text::escape(&String::from_utf8_lossy(cipher_name))
                    ),
                    "re-encrypt it with a current cipher: ssh-keygen -p -Z aes256-ctr -f FILE",
                )
            })?;
        let kdf_name = take_string(&mut rest)?;
        let kdf_options = take_string(&mut rest)?;
        let kdf = {
            let mut kdf_bytes = Vec::with_capacity(kdf_name.len() + kdf_options.len() + 8);
            kdf_name
                .encode(&mut kdf_bytes)
                .and_then(|()| kdf_options.encode(&mut kdf_bytes))
                .map_err(|e| corrupt(&e.to_string()))?;
            Kdf::decode(&mut kdf_bytes.as_slice()).map_err(|_| {
                Error::bad_key(format!(
                    "the OpenSSH private key uses the key derivation \"{}\", which kps does not know \
                     (OpenSSH writes bcrypt)",
                    crate::text::escape(&String::from_utf8_lossy(kdf_name))
                ))
            })?
        };
        let count = take_u32(&mut rest)?;
        if count != 1 {
            return Err(Error::bad_key(format!(
                "the OpenSSH key file holds {count} keys; kps imports one key per file"
            )));
        }
        let public = take_string(&mut rest)?;
        let private = take_string(&mut rest)?;
        let tag = if cipher.has_tag() {
            let (tag, tail) = rest
                .split_first_chunk::<16>()
                .ok_or_else(|| corrupt("the authentication tag is missing"))?;
            rest = tail;
            Some(ssh_key::cipher::Tag::from(*tag))
        } else {
            None
        };
        if !rest.is_empty() {
            return Err(corrupt("there are bytes after the private key"));
        }
        if private.len() % cipher.block_size() != 0 {
            return Err(corrupt(
                "the private section is not a whole number of cipher blocks",
            ));
        }
        Ok(Container {
            cipher,
            kdf,
            public,
            private,
            tag,
        })
    }

    /// The private section in clear. Only a wrong passphrase makes the
    /// checkints differ (or the AEAD tag fail); anything wrong after that is
    /// the file's fault and is reported as such by the caller.
    fn decrypt(&self, pass: &Passphrase) -> Result<Zeroizing<Vec<u8>>> {
        if let Kdf::Bcrypt { rounds, .. } = &self.kdf
            && *rounds > MAX_BCRYPT_ROUNDS
        {
            return Err(Error::bad_key_with_hint(
                format!("the key file asks for {rounds} bcrypt rounds: refused as unreasonable"),
                "re-encrypt it with the tool's defaults, or decrypt it first",
            ));
        }
        if self.kdf.is_none() {
            return Err(corrupt("it is encrypted but names no KDF"));
        }
        let (key, iv) = self
            .kdf
            .derive_key_and_iv(self.cipher, pass.as_bytes())
            .map_err(|e| corrupt(&format!("cannot derive the key: {e}")))?;
        let mut buffer = Zeroizing::new(self.private.to_vec());
        self.cipher
            .decrypt(&key, &iv, &mut buffer, self.tag)
            .map_err(|_| Error::WrongKeyPassphrase)?;
        let mut check = buffer.as_slice();
        let (a, b) = (take_u32(&mut check)?, take_u32(&mut check)?);
        if a != b {
            return Err(Error::WrongKeyPassphrase);
        }
        Ok(buffer)
    }
}

/// The private section with an ECDSA scalar at the curve's full width (a
/// leading zero byte added when its top bit is set, as an mpint needs),
/// padding recomputed for the unencrypted container. Other keys are
/// returned unchanged.
fn widen_ecdsa_scalar(plain: Zeroizing<Vec<u8>>) -> Result<Zeroizing<Vec<u8>>> {
    let mut rest = plain.as_slice();
    let checkints = take_fixed::<8>(&mut rest)?;
    let key_type = take_string(&mut rest)?;
    let width: usize = match key_type {
        b"ecdsa-sha2-nistp256" => 32,
        b"ecdsa-sha2-nistp384" => 48,
        b"ecdsa-sha2-nistp521" => 66,
        _ => return Ok(plain),
    };
    let curve = take_string(&mut rest)?;
    let point = take_string(&mut rest)?;
    let scalar = take_string(&mut rest)?;
    let comment = take_string(&mut rest)?;
    // OpenSSH's padding is 1, 2, 3, ... short of a cipher block (PuTTY's
    // unencrypted files: up to 16); it checks it, and so does ssh-key, which
    // will not see this one.
    if rest.len() > MAX_PADDING || rest.iter().zip(1u8..).any(|(b, i)| *b != i) {
        return Err(corrupt("the padding after the private key is wrong"));
    }
    let magnitude = match scalar.iter().position(|b| *b != 0) {
        Some(start) => &scalar[start..],
        None => scalar,
    };
    // Too long a scalar is left for ssh-key to refuse, as it does.
    let padded = match width.checked_sub(magnitude.len()) {
        Some(zeros) => {
            let mut out = Zeroizing::new(vec![0u8; zeros]);
            out.extend_from_slice(magnitude);
            if out.first().is_some_and(|b| b & 0x80 != 0) {
                out.insert(0, 0);
            }
            out
        }
        None => Zeroizing::new(scalar.to_vec()),
    };
    let mut out = Zeroizing::new(Vec::with_capacity(plain.len() + 16));
    out.extend_from_slice(checkints);
    let encode = |out: &mut Vec<u8>| -> std::result::Result<(), ssh_key::encoding::Error> {
        for field in [key_type, curve, point, padded.as_slice(), comment] {
            field.encode(out)?;
        }
        Ok(())
    };
    encode(&mut out).map_err(|e| corrupt(&e.to_string()))?;
    let block = Cipher::None.block_size();
    let padding = (block - out.len() % block) % block;
    out.extend((1u8..).take(padding));
    Ok(out)
}

fn take_fixed<'a, const N: usize>(rest: &mut &'a [u8]) -> Result<&'a [u8; N]> {
    let (head, tail) = rest
        .split_first_chunk::<N>()
        .ok_or_else(|| corrupt("it is truncated"))?;
    *rest = tail;
    Ok(head)
}

fn take_u32(rest: &mut &[u8]) -> Result<u32> {
    take_fixed::<4>(rest).map(|b| u32::from_be_bytes(*b))
}

/// An SSH string (u32 length, then that many bytes) from the front of `rest`.
fn take_string<'a>(rest: &mut &'a [u8]) -> Result<&'a [u8]> {
    let len = usize::try_from(take_u32(rest)?).map_err(|_| corrupt("it is truncated"))?;
    if rest.len() < len {
        return Err(corrupt("it is truncated"));
    }
    let (value, tail) = rest.split_at(len);
    *rest = tail;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ssh_key::private::{EcdsaKeypair, KeypairData};
    use ssh_key::public::KeyData;
    use ssh_key::{Algorithm, EcdsaCurve, LineEnding};

    fn rng() -> rand_core::UnwrapErr<getrandom::SysRng> {
        rand_core::UnwrapErr(getrandom::SysRng)
    }

    /// ssh-key's own OpenSSH text of `key`, with the scalar rewritten as
    /// OpenSSH writes it: a minimal mpint.
    fn as_openssh_writes_it(key: &PrivateKey) -> String {
        let text = key.to_openssh(LineEnding::LF).unwrap();
        let binary = decode_pem(&text).unwrap();
        let file = Container::parse(&binary).unwrap();
        let mut rest = file.private;
        let checkints = take_fixed::<8>(&mut rest).unwrap();
        let fields: Vec<&[u8]> = (0..5).map(|_| take_string(&mut rest).unwrap()).collect();
        let start = fields[3].iter().position(|b| *b != 0).unwrap();
        let mut minimal = fields[3][start..].to_vec();
        if minimal[0] & 0x80 != 0 {
            minimal.insert(0, 0);
        }
        let mut private = checkints.to_vec();
        for f in [fields[0], fields[1], fields[2], &minimal, fields[4]] {
            f.encode(&mut private).unwrap();
        }
        private.extend((1u8..).take((8 - private.len() % 8) % 8));
        let out = unencrypted_container(file.public, &private).unwrap();
        pem_rfc7468::encode_string(LABEL, pem_rfc7468::LineEnding::LF, &out).unwrap()
    }

    /// A keypair of `like`'s curve from a public point and a scalar.
    fn rebuilt(like: &EcdsaKeypair, point: &[u8], scalar: &[u8]) -> EcdsaKeypair {
        use ssh_key::private::EcdsaPrivateKey;
        use ssh_key::sec1::EncodedPoint;
        match like {
            EcdsaKeypair::NistP256 { .. } => EcdsaKeypair::NistP256 {
                public: EncodedPoint::from_bytes(point).unwrap(),
                private: EcdsaPrivateKey::from(<[u8; 32]>::try_from(scalar).unwrap()),
            },
            EcdsaKeypair::NistP384 { .. } => EcdsaKeypair::NistP384 {
                public: EncodedPoint::from_bytes(point).unwrap(),
                private: EcdsaPrivateKey::from(<[u8; 48]>::try_from(scalar).unwrap()),
            },
            EcdsaKeypair::NistP521 { .. } => EcdsaKeypair::NistP521 {
                public: EncodedPoint::from_bytes(point).unwrap(),
                private: EcdsaPrivateKey::from(<[u8; 66]>::try_from(scalar).unwrap()),
            },
        }
    }

    #[test]
    fn scalars_with_leading_zero_bytes_on_every_curve() {
        for (curve, width) in [
            (EcdsaCurve::NistP256, 32usize),
            (EcdsaCurve::NistP384, 48),
            (EcdsaCurve::NistP521, 66),
        ] {
            // Zero top bytes down to a 20-byte scalar: far rarer than 1 in
            // 512, and still a valid key.
            for zeros in [1, 2, width - 20] {
                let key = loop {
                    let key = PrivateKey::random(&mut rng(), Algorithm::Ecdsa { curve }).unwrap();
                    let KeypairData::Ecdsa(kp) = key.key_data() else {
                        unreachable!()
                    };
                    let mut scalar = kp.private_key_bytes().to_vec();
                    scalar[..zeros].fill(0);
                    // The scalar under the old public key, then under its own.
                    let mixed = rebuilt(kp, kp.public_key_bytes(), &scalar);
                    let Ok(KeyData::Ecdsa(public)) =
                        crate::keycheck::derived_public(&KeypairData::Ecdsa(mixed))
                    else {
                        continue;
                    };
                    let kp = rebuilt(kp, public.as_sec1_bytes(), &scalar);
                    break PrivateKey::new(KeypairData::Ecdsa(kp), "short").unwrap();
                };
                let text = as_openssh_writes_it(&key);
                let read = private_key(&text, None).unwrap();
                assert_eq!(read.key_data(), key.key_data(), "{curve:?} {zeros}");
                assert_eq!(read.comment().as_str_lossy(), "short");
            }
        }
    }

    #[test]
    fn encrypted_keys_open_only_with_their_passphrase() {
        let key = PrivateKey::random(&mut rng(), Algorithm::Ed25519).unwrap();
        let pass = Passphrase::new(b"right".to_vec());
        let text = key
            .encrypt(&mut rng(), pass.as_bytes())
            .unwrap()
            .to_openssh(LineEnding::LF)
            .unwrap();
        let read = private_key(&text, Some(&pass)).unwrap();
        assert_eq!(read.key_data(), key.key_data());
        let wrong = Passphrase::new(b"wrong".to_vec());
        assert!(matches!(
            private_key(&text, Some(&wrong)),
            Err(Error::WrongKeyPassphrase)
        ));
        assert!(matches!(
            private_key(&text, None),
            Err(Error::KeyEncrypted { .. })
        ));
    }

    fn binary_of(text: &str) -> Vec<u8> {
        decode_pem(text).unwrap().to_vec()
    }

    fn text_of(binary: &[u8]) -> String {
        pem_rfc7468::encode_string(LABEL, pem_rfc7468::LineEnding::LF, binary).unwrap()
    }

    #[test]
    fn truncated_or_altered_files_are_refused_without_panic() {
        let key = PrivateKey::random(
            &mut rng(),
            Algorithm::Ecdsa {
                curve: EcdsaCurve::NistP256,
            },
        )
        .unwrap();
        let binary = binary_of(&as_openssh_writes_it(&key));
        for len in 0..binary.len() {
            assert!(
                private_key(&text_of(&binary[..len]), None).is_err(),
                "{len}"
            );
        }
        for i in 0..binary.len() {
            for flip in [0x01, 0x80, 0xff] {
                let mut altered = binary.clone();
                altered[i] ^= flip;
                // Some bytes (the checkints, the comment) may change freely;
                // the point is that nothing panics.
                let _ = private_key(&text_of(&altered), None);
            }
        }
    }

    #[test]
    fn a_private_part_under_another_public_key_is_a_mismatch() {
        let curve = EcdsaCurve::NistP256;
        let a = PrivateKey::random(&mut rng(), Algorithm::Ecdsa { curve }).unwrap();
        let b = PrivateKey::random(&mut rng(), Algorithm::Ecdsa { curve }).unwrap();
        let (a, b) = (
            binary_of(&as_openssh_writes_it(&a)),
            binary_of(&as_openssh_writes_it(&b)),
        );
        let (fa, fb) = (Container::parse(&a).unwrap(), Container::parse(&b).unwrap());
        let swapped = unencrypted_container(fb.public, fa.private).unwrap();
        assert!(matches!(
            private_key(&text_of(&swapped), None),
            Err(Error::KeyMismatch(_))
        ));
    }

    #[test]
    fn an_unknown_cipher_or_kdf_is_named() {
        let key = PrivateKey::random(&mut rng(), Algorithm::Ed25519).unwrap();
        let binary = binary_of(&key.to_openssh(LineEnding::LF).unwrap());
        let file = Container::parse(&binary).unwrap();
        let with = |cipher: &str, kdf: &str| {
            let mut out = MAGIC.to_vec();
            cipher.encode(&mut out).unwrap();
            kdf.encode(&mut out).unwrap();
            b"".as_slice().encode(&mut out).unwrap();
            1u32.encode(&mut out).unwrap();
            file.public.encode(&mut out).unwrap();
            file.private.encode(&mut out).unwrap();
            let pass = Passphrase::new(b"x".to_vec());
            match private_key(&text_of(&out), Some(&pass)) {
                Err(Error::InvalidKey { message, .. }) => message,
                other => panic!("{other:?}"),
            }
        };
        assert!(with("blowfish-cbc", "bcrypt").contains("\"blowfish-cbc\""));
        assert!(with("none", "scrypt").contains("\"scrypt\""));
    }
}
