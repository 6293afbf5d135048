//! The formats a stored key is handed out in: OpenSSH, the algorithm's
//! traditional PEM (PKCS#1 for RSA, SEC1 for ECDSA), PKCS#8, and the public
//! authorized_keys line.

use crate::secret::Passphrase;
use crate::{Error, Result};
use ssh_key::private::{EcdsaKeypair, KeypairData};
use ssh_key::{LineEnding, PrivateKey};
use zeroize::Zeroizing;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    OpenSsh,
    Pem,
    Pkcs8,
    Public,
}

impl Format {
    pub fn is_private(self) -> bool {
        self != Format::Public
    }
}

/// The private key in `format` (any but [`Format::Public`]), as PEM text.
pub fn private_pem(key: &PrivateKey, format: Format) -> Result<Zeroizing<String>> {
    let lf = LineEnding::LF;
    let failed = |e: &dyn std::fmt::Display| Error::bad_key(format!("cannot encode key: {e}"));
    match format {
        Format::OpenSsh => key.to_openssh(lf).map_err(|e| failed(&e)),
        Format::Public => Err(Error::invalid("the public format holds no private key")),
        Format::Pem => match key.key_data() {
            KeypairData::Rsa(kp) => {
                use rsa::pkcs1::EncodeRsaPrivateKey;
                let rsa = rsa::PrivateKey::try_from(kp).map_err(|e| failed(&e))?;
                rsa.to_pkcs1_pem(lf).map_err(|e| failed(&e))
            }
            KeypairData::Ecdsa(kp) => ecdsa_sec1_pem(kp),
            KeypairData::Ed25519(_) => Err(private_pem_unsupported("ssh-ed25519")),
            KeypairData::Dsa(kp) => dsa_traditional_pem(kp),
            _ => Err(Error::bad_key("unsupported key algorithm")),
        },
        Format::Pkcs8 => {
            let der_bytes = private_pkcs8_der(key)?;
            pem_rfc7468::encode_string("PRIVATE KEY", lf, &der_bytes)
                .map(Zeroizing::new)
                .map_err(|e| failed(&e))
        }
    }
}

/// PBKDF2-HMAC-SHA-256 iterations of an encrypted PKCS#8 export: OWASP's
/// current figure for that PRF (600,000; the pkcs5 crate's own default too).
/// OpenSSL's `pkcs8 -topk8 -v2` writes 2048, which an offline guesser
/// shrugs off; 600,000 costs about a fifth of a second here, once per use,
/// and stays far below the 10,000,000 kps (and OpenSSL) accept on reading.
pub const PKCS8_PBKDF2_ITERATIONS: u32 = 600_000;

/// The private key in `format`, encrypted with a passphrase of its own:
/// OpenSSH as ssh-keygen writes it (aes256-ctr, bcrypt-pbkdf with 16
/// rounds, ssh-keygen's `-a` default), PKCS#8 as PBES2 with
/// PBKDF2-HMAC-SHA-256 and AES-256-CBC (what OpenSSL 1.1/3 and Java read).
/// Traditional PEM's `Proc-Type: 4,ENCRYPTED` derives its key with one MD5
/// and is refused; so is an empty passphrase, which would only look like
/// protection.
pub fn private_pem_encrypted(
    key: &PrivateKey,
    format: Format,
    passphrase: &Passphrase,
) -> Result<Zeroizing<String>> {
    if passphrase.is_empty() {
        return Err(empty_key_passphrase());
    }
    let failed = |e: &dyn std::fmt::Display| Error::bad_key(format!("cannot encrypt key: {e}"));
    match format {
        Format::OpenSsh => key
            .encrypt(&mut getrandom::SysRng, passphrase.as_bytes())
            .and_then(|k| k.to_openssh(LineEnding::LF))
            .map_err(|e| failed(&e)),
        Format::Pkcs8 => {
            use der::Encode as _;
            use pkcs8::pkcs5::pbes2;
            let der_bytes = private_pkcs8_der(key)?;
            let mut salt = [0u8; 16];
            let mut iv = [0u8; 16];
            getrandom::fill(&mut salt)
                .and_then(|()| getrandom::fill(&mut iv))
                .map_err(|e| failed(&e))?;
            let params = pbes2::Parameters::generate_pbkdf2_sha256_aes256cbc(
                PKCS8_PBKDF2_ITERATIONS,
                &salt,
                iv,
            )
            .map_err(|e| failed(&e))?;
            let ciphertext = params
                .encrypt(passphrase.as_bytes(), &der_bytes)
                .map_err(|e| failed(&e))?;
            let info = pkcs8::EncryptedPrivateKeyInfoRef {
                encryption_algorithm: params.into(),
                encrypted_data: der::asn1::OctetStringRef::new(&ciphertext)
                    .map_err(|e| failed(&e))?,
            };
            let encoded = info.to_der().map_err(|e| failed(&e))?;
            pem_rfc7468::encode_string("ENCRYPTED PRIVATE KEY", LineEnding::LF, &encoded)
                .map(Zeroizing::new)
                .map_err(|e| failed(&e))
        }
        Format::Pem => Err(encrypted_pem_refused()),
        Format::Public => Err(Error::invalid("the public format holds no private key")),
    }
}

/// Traditional PEM encryption: the key is one MD5 of passphrase and salt.
pub fn encrypted_pem_refused() -> Error {
    Error::invalid_with_hint(
        "traditional PEM encryption (Proc-Type: 4,ENCRYPTED) derives its key with a single MD5: kps does not write it",
        "use --format pkcs8 (PEM 'ENCRYPTED PRIVATE KEY', which OpenSSL reads) or --format openssh",
    )
}

/// An empty key passphrase: refused rather than taken to mean "no
/// encryption", so that an empty secret file in CI cannot turn an
/// encrypted export into a clear one unnoticed.
pub fn empty_key_passphrase() -> Error {
    Error::invalid_with_hint(
        "the passphrase for the exported key is empty",
        "give a passphrase that is not empty, or leave out --key-passphrase-file and --ask-key-passphrase for an unencrypted file",
    )
}

/// The private key as DER PKCS#8 (`PrivateKeyInfo`), as `--format pkcs8`
/// writes it (PEM-wrapped) and as AWS fingerprints keys it created.
pub fn private_pkcs8_der(key: &PrivateKey) -> Result<Zeroizing<Vec<u8>>> {
    use pkcs8::EncodePrivateKey;
    let failed = |e: &dyn std::fmt::Display| Error::bad_key(format!("cannot encode key: {e}"));
    let doc = match key.key_data() {
        KeypairData::Rsa(kp) => rsa::PrivateKey::try_from(kp)
            .map_err(|e| failed(&e))?
            .to_pkcs8_der(),
        KeypairData::Ecdsa(kp) => return ecdsa_der(kp, EcdsaForm::Pkcs8),
        KeypairData::Ed25519(kp) => return Ok(ed25519_pkcs8_v1_der(&kp.private.to_bytes())),
        KeypairData::Dsa(kp) => dsa::SigningKey::try_from(kp)
            .map_err(|e| failed(&e))?
            .to_pkcs8_der(),
        _ => return Err(Error::bad_key("unsupported key algorithm")),
    }
    .map_err(|e| failed(&e))?;
    Ok(Zeroizing::new(doc.as_bytes().to_vec()))
}

/// The public key as DER `SubjectPublicKeyInfo`, as `openssl pkey -pubout
/// -outform DER` writes it (AWS fingerprints imported keys by its MD5).
pub fn public_spki_der(key: &ssh_key::public::KeyData) -> Result<Vec<u8>> {
    use pkcs8::EncodePublicKey;
    use ssh_key::public::KeyData;
    let failed = |e: &dyn std::fmt::Display| Error::bad_key(format!("cannot encode key: {e}"));
    let doc = match key {
        KeyData::Rsa(k) => rsa::PublicKey::try_from(k)
            .map_err(|e| failed(&e))?
            .to_public_key_der(),
        KeyData::Ecdsa(k) => match k {
            ssh_key::public::EcdsaPublicKey::NistP256(p) => {
                p256::PublicKey::from_sec1_bytes(p.as_bytes())
                    .map_err(|e| failed(&e))?
                    .to_public_key_der()
            }
            ssh_key::public::EcdsaPublicKey::NistP384(p) => {
                p384::PublicKey::from_sec1_bytes(p.as_bytes())
                    .map_err(|e| failed(&e))?
                    .to_public_key_der()
            }
            ssh_key::public::EcdsaPublicKey::NistP521(p) => {
                p521::PublicKey::from_sec1_bytes(p.as_bytes())
                    .map_err(|e| failed(&e))?
                    .to_public_key_der()
            }
        },
        KeyData::Ed25519(k) => ed25519_dalek::VerifyingKey::try_from(k)
            .map_err(|e| failed(&e))?
            .to_public_key_der(),
        KeyData::Dsa(k) => dsa::VerifyingKey::try_from(k)
            .map_err(|e| failed(&e))?
            .to_public_key_der(),
        _ => return Err(Error::bad_key("unsupported key algorithm")),
    }
    .map_err(|e| failed(&e))?;
    Ok(doc.as_bytes().to_vec())
}

fn ecdsa_sec1_pem(kp: &EcdsaKeypair) -> Result<Zeroizing<String>> {
    let der_bytes = ecdsa_der(kp, EcdsaForm::Sec1)?;
    der::SecretDocument::try_from(der_bytes.as_slice())
        .and_then(|doc| doc.to_pem("EC PRIVATE KEY", LineEnding::LF))
        .map_err(|e| Error::bad_key(format!("cannot encode key: {e}")))
}

#[derive(Clone, Copy)]
enum EcdsaForm {
    /// SEC1 `ECPrivateKey` with the curve named in it (`EC PRIVATE KEY`).
    Sec1,
    /// PKCS#8 `PrivateKeyInfo` naming the curve, around an `ECPrivateKey`
    /// without it.
    Pkcs8,
}

/// An ECDSA key in DER, byte for byte what the `p256`/`p384`/`p521`
/// encoders write (and OpenSSL: the public point uncompressed, inside), but
/// with the public point the keypair already holds. Those encoders compute
/// it again from the scalar, a whole scalar multiplication (0.2-0.7 ms
/// without precomputed tables) per encoding; the store checks the point
/// against the scalar whenever it opens a private key, and keygen made it.
fn ecdsa_der(kp: &EcdsaKeypair, form: EcdsaForm) -> Result<Zeroizing<Vec<u8>>> {
    use der::Encode as _;
    let failed = |e: &dyn std::fmt::Display| Error::bad_key(format!("cannot encode key: {e}"));
    let (private, curve) = match kp {
        EcdsaKeypair::NistP256 { private, .. } => scalar::<p256::NistP256>(private.as_slice()),
        EcdsaKeypair::NistP384 { private, .. } => scalar::<p384::NistP384>(private.as_slice()),
        EcdsaKeypair::NistP521 { private, .. } => scalar::<p521::NistP521>(private.as_slice()),
    }
    .map_err(|e| failed(&e))?;
    let public = kp.public_key_bytes();
    let ec_private_key = |parameters| {
        sec1::EcPrivateKey {
            private_key: &private,
            parameters,
            public_key: Some(public),
        }
        .to_der()
        .map(Zeroizing::new)
    };
    match form {
        EcdsaForm::Sec1 => ec_private_key(Some(sec1::EcParameters::NamedCurve(curve))),
        EcdsaForm::Pkcs8 => {
            let inner = ec_private_key(None).map_err(|e| failed(&e))?;
            pkcs8::PrivateKeyInfoRef::new(
                pkcs8::AlgorithmIdentifierRef {
                    oid: EC_PUBLIC_KEY_OID,
                    parameters: Some((&curve).into()),
                },
                der::asn1::OctetStringRef::new(&inner).map_err(|e| failed(&e))?,
            )
            .to_der()
            .map(Zeroizing::new)
        }
    }
    .map_err(|e| failed(&e))
}

/// The private scalar at the curve's field size, and the curve's OID.
/// `from_slice` checks the scalar (0 < d < n).
fn scalar<C>(
    d: &[u8],
) -> p256::elliptic_curve::Result<(Zeroizing<Vec<u8>>, pkcs8::ObjectIdentifier)>
where
    C: p256::elliptic_curve::Curve + pkcs8::AssociatedOid,
{
    let key = p256::elliptic_curve::SecretKey::<C>::from_slice(d)?;
    Ok((Zeroizing::new(key.to_bytes().to_vec()), C::OID))
}

/// id-ecPublicKey (RFC 5480), the algorithm of every EC key in PKCS#8.
const EC_PUBLIC_KEY_OID: pkcs8::ObjectIdentifier =
    pkcs8::ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");

/// RFC 8410 PKCS#8 v1 for an Ed25519 seed: a fixed 16-byte DER prefix
/// (`SEQUENCE { INTEGER 0, SEQUENCE { OID 1.3.101.112 }, OCTET STRING {
/// OCTET STRING (32 bytes) } }`) and the seed. ed25519-dalek writes v2 (with the
/// public key), which OpenSSL 3.0 and OpenSSH 9.2 refuse to load; v1 is what
/// `openssl genpkey -algorithm ed25519` writes and every reader accepts.
fn ed25519_pkcs8_v1_der(seed: &[u8; 32]) -> Zeroizing<Vec<u8>> {
    const PREFIX: [u8; 16] = [
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    let mut der_bytes = Zeroizing::new(Vec::with_capacity(48));
    der_bytes.extend_from_slice(&PREFIX);
    der_bytes.extend_from_slice(seed);
    der_bytes
}

/// The error for a traditional PEM of an algorithm that has none (Ed25519).
pub fn private_pem_unsupported(algorithm: &str) -> Error {
    Error::invalid_with_hint(
        format!("{algorithm} keys have no traditional PEM form"),
        "use --format pkcs8 (PEM 'PRIVATE KEY') or --format openssh",
    )
}

/// OpenSSL's traditional `DSA PRIVATE KEY`: `SEQUENCE { 0, p, q, g, y, x }`.
fn dsa_traditional_pem(kp: &ssh_key::private::DsaKeypair) -> Result<Zeroizing<String>> {
    use der::{Encode, asn1::UintRef};
    let public = kp.public();
    let bad = || Error::bad_key("cannot encode DSA key");
    use crate::keycheck::mpint_bytes as field;
    let ints = [
        &[0u8][..],
        field(public.p())?,
        field(public.q())?,
        field(public.g())?,
        field(public.y())?,
        field(kp.private().as_mpint())?,
    ];
    let mut body = Zeroizing::new(Vec::new());
    for bytes in ints {
        UintRef::new(bytes)
            .map_err(|_| bad())?
            .encode_to_vec(&mut body)
            .map_err(|_| bad())?;
    }
    let mut der_bytes = Zeroizing::new(Vec::new());
    der::Header::new(
        der::Tag::Sequence,
        der::Length::try_from(body.len()).map_err(|_| bad())?,
    )
    .encode_to_vec(&mut der_bytes)
    .map_err(|_| bad())?;
    der_bytes.extend_from_slice(&body);
    let pem = pem_rfc7468::encode_string("DSA PRIVATE KEY", LineEnding::LF, &der_bytes)
        .map_err(|_| bad())?;
    Ok(Zeroizing::new(pem))
}

/// The authorized_keys line: `algorithm base64 comment`.
pub fn public_line(key: &ssh_key::PublicKey) -> Result<String> {
    key.to_openssh()
        .map_err(|e| Error::bad_key(format!("cannot encode public key: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ssh_key::Algorithm;

    /// The hand-built ECDSA encodings are byte for byte what the curve
    /// crates' own encoders write (which compute the public point again).
    #[test]
    fn ecdsa_encodings_match_the_curve_crates() {
        use pkcs8::EncodePrivateKey;
        use ssh_key::EcdsaCurve;
        let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
        for curve in [
            EcdsaCurve::NistP256,
            EcdsaCurve::NistP384,
            EcdsaCurve::NistP521,
        ] {
            for _ in 0..8 {
                let key = PrivateKey::random(&mut rng, Algorithm::Ecdsa { curve }).unwrap();
                let KeypairData::Ecdsa(kp) = key.key_data() else {
                    unreachable!()
                };
                let d = kp.private_key_bytes();
                let (sec1, pkcs8) = match curve {
                    EcdsaCurve::NistP256 => {
                        let k = p256::SecretKey::from_slice(d).unwrap();
                        (k.to_sec1_der().unwrap(), k.to_pkcs8_der().unwrap())
                    }
                    EcdsaCurve::NistP384 => {
                        let k = p384::SecretKey::from_slice(d).unwrap();
                        (k.to_sec1_der().unwrap(), k.to_pkcs8_der().unwrap())
                    }
                    EcdsaCurve::NistP521 => {
                        let k = p521::SecretKey::from_slice(d).unwrap();
                        (k.to_sec1_der().unwrap(), k.to_pkcs8_der().unwrap())
                    }
                };
                assert_eq!(*ecdsa_der(kp, EcdsaForm::Sec1).unwrap(), *sec1);
                assert_eq!(*ecdsa_der(kp, EcdsaForm::Pkcs8).unwrap(), pkcs8.as_bytes());
                assert_eq!(*private_pkcs8_der(&key).unwrap(), pkcs8.as_bytes());
            }
        }
    }

    #[test]
    fn dsa_exports_in_traditional_and_pkcs8_pem() {
        let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
        let key = PrivateKey::random(&mut rng, Algorithm::Dsa).unwrap();
        let pem = private_pem(&key, Format::Pem).unwrap();
        assert!(pem.starts_with("-----BEGIN DSA PRIVATE KEY-----\n"));
        // The DER body is SEQUENCE { 0, p, q, g, y, x }: six INTEGERs.
        let (_, der_bytes) = pem_rfc7468::decode_vec(pem.as_bytes()).unwrap();
        let mut reader = der::SliceReader::new(&der_bytes).unwrap();
        use der::Reader;
        let ints: Vec<Vec<u8>> = reader
            .sequence(|r| {
                (0..6)
                    .map(|_| {
                        r.decode::<der::asn1::UintRef<'_>>()
                            .map(|u| u.as_bytes().to_vec())
                    })
                    .collect()
            })
            .unwrap();
        let KeypairData::Dsa(kp) = key.key_data() else {
            unreachable!()
        };
        assert_eq!(ints[0], [0]);
        assert_eq!(ints[4], kp.public().y().as_positive_bytes().unwrap());
        assert_eq!(
            ints[5],
            kp.private().as_mpint().as_positive_bytes().unwrap()
        );
        assert!(
            private_pem(&key, Format::Pkcs8)
                .unwrap()
                .starts_with("-----BEGIN PRIVATE KEY-----\n")
        );
    }
}
