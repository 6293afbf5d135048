//! PEM private keys: OpenSSH, PKCS#1, PKCS#8 (plain and PBES2-encrypted),
//! SEC1 and OpenSSL's traditional DSA, each turned into ssh-key's types.

use super::encrypted;
use crate::secret::Passphrase;
use crate::{Error, Result};
use der::Decode;
use der::asn1::{ObjectIdentifier as Oid, UintRef};
use ssh_key::private::{
    DsaKeypair, DsaPrivateKey, EcdsaKeypair, Ed25519Keypair, KeypairData, RsaKeypair,
};
use ssh_key::public::{DsaPublicKey, EcdsaPublicKey};
use ssh_key::{Mpint, PrivateKey};
use zeroize::Zeroizing;

const OPENSSH: &str = "OPENSSH PRIVATE KEY";
const PKCS1: &str = "RSA PRIVATE KEY";
const PKCS8: &str = "PRIVATE KEY";
const PKCS8_ENCRYPTED: &str = "ENCRYPTED PRIVATE KEY";
const SEC1: &str = "EC PRIVATE KEY";
const DSA: &str = "DSA PRIVATE KEY";

const OID_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.1");
const OID_EC: Oid = Oid::new_unwrap("1.2.840.10045.2.1");
const OID_DSA: Oid = Oid::new_unwrap("1.2.840.10040.4.1");
const OID_ED25519: Oid = Oid::new_unwrap("1.3.101.112");
const OID_X25519: Oid = Oid::new_unwrap("1.3.101.110");
const OID_X448: Oid = Oid::new_unwrap("1.3.101.111");
const OID_ED448: Oid = Oid::new_unwrap("1.3.101.113");
const OID_P256: Oid = Oid::new_unwrap("1.2.840.10045.3.1.7");
const OID_P384: Oid = Oid::new_unwrap("1.3.132.0.34");
const OID_P521: Oid = Oid::new_unwrap("1.3.132.0.35");
const OID_P224: Oid = Oid::new_unwrap("1.3.132.0.33");
const OID_P192: Oid = Oid::new_unwrap("1.2.840.10045.3.1.1");
const OID_SECP256K1: Oid = Oid::new_unwrap("1.3.132.0.10");

pub(super) fn is_private_label(label: &str) -> bool {
    [OPENSSH, PKCS1, PKCS8, PKCS8_ENCRYPTED, SEC1, DSA].contains(&label)
}

pub(super) fn is_public_label(label: &str) -> bool {
    matches!(label, "PUBLIC KEY" | "RSA PUBLIC KEY" | "SSH2 PUBLIC KEY")
}

/// The label of the first `-----BEGIN ...-----` line, if any, passing over
/// parameter blocks (`openssl ecparam -genkey` writes `EC PARAMETERS` first).
pub(super) fn first_label(text: &str) -> Option<&str> {
    text.lines().find_map(begin_label)
}

fn begin_label(line: &str) -> Option<&str> {
    line.strip_prefix("-----BEGIN ")?
        .strip_suffix("-----")
        .filter(|label| !label.ends_with(" PARAMETERS"))
}

/// The one PEM block in `text`: several keys in one file are refused, and so
/// is a block without its END line. Text around the block (OpenSSL's "Bag
/// Attributes", say) is ignored.
fn single_block(text: &str) -> Result<&str> {
    let begins = text.lines().filter(|l| begin_label(l).is_some()).count();
    if begins > 1 {
        return Err(Error::bad_key_with_hint(
            format!("the input holds {begins} PEM blocks; kps imports one key per file"),
            "split the file so that each key is in a file of its own",
        ));
    }
    let start = text
        .match_indices("-----BEGIN ")
        .map(|(i, _)| i)
        .find(|i| begin_label(text[*i..].lines().next().unwrap_or_default()).is_some())
        .unwrap_or(0);
    let rest = &text[start..];
    let end = rest
        .find("-----END ")
        .ok_or_else(|| Error::bad_key("the PEM block has no END line: the file is truncated"))?;
    let tail = &rest[end..];
    let end_len = tail.find('\n').unwrap_or(tail.len());
    Ok(&rest[..end + end_len])
}

fn decode_block(block: &str) -> Result<Zeroizing<Vec<u8>>> {
    let (_, der_bytes) = pem_rfc7468::decode_vec(block.as_bytes()).map_err(|e| {
        Error::bad_key(format!(
            "the PEM block is corrupt (bad base64 or framing): {e}"
        ))
    })?;
    Ok(Zeroizing::new(der_bytes))
}

fn corrupt(what: &str) -> impl Fn(der::Error) -> Error + '_ {
    move |e| Error::bad_key(format!("the {what} structure is corrupt: {e}"))
}

pub(super) fn private_key(
    text: &str,
    label: &str,
    passphrase: Option<&Passphrase>,
) -> Result<(PrivateKey, &'static str)> {
    let block = single_block(text)?;
    if block.contains("\nProc-Type: 4,ENCRYPTED") {
        return Err(Error::KeyEncrypted {
            what: format!("the {label} (legacy PEM encryption)"),
            hint: "kps does not read legacy PEM encryption; decrypt it first: \
                   ssh-keygen -p -N '' -f FILE, or openssl pkey -in FILE -out PLAIN"
                .into(),
        });
    }
    let (data, format) = match label {
        // parse::private_key sends these to parse::openssh first; one that
        // gets here anyway is read there too.
        OPENSSH => {
            return super::openssh::private_key(text, passphrase).map(|k| (k, "openssh"));
        }
        PKCS1 => (rsa_pkcs1(&decode_block(block)?)?, "pkcs1"),
        PKCS8 => (pkcs8(&decode_block(block)?)?, "pkcs8"),
        PKCS8_ENCRYPTED => {
            let der_bytes = decode_block(block)?;
            // A scheme kps does not read is named before any passphrase is
            // asked for: the passphrase would not help.
            let info = encrypted_pkcs8(&der_bytes)?;
            let Some(pass) = passphrase else {
                return Err(encrypted("the PKCS#8 key (ENCRYPTED PRIVATE KEY)"));
            };
            let plain = decrypt_pkcs8(&info, pass)?;
            // A wrong passphrase passes the CBC padding check about once in
            // 256 tries and yields noise: that is still a wrong passphrase.
            if pkcs8::PrivateKeyInfoRef::from_der(plain.as_bytes()).is_err() {
                return Err(Error::WrongKeyPassphrase);
            }
            (pkcs8(plain.as_bytes())?, "pkcs8")
        }
        SEC1 => (sec1(&decode_block(block)?, None)?, "sec1"),
        DSA => (dsa_traditional(&decode_block(block)?)?, "dsa"),
        "PUBLIC KEY" | "RSA PUBLIC KEY" | "SSH2 PUBLIC KEY" => {
            return Err(Error::bad_key_with_hint(
                "this is a public key, not a private key",
                "import it with --public-key, or give the private key file",
            ));
        }
        other => {
            return Err(Error::bad_key(format!(
                "PEM label \"{other}\" is not a private key kps knows \
                 (RSA PRIVATE KEY, PRIVATE KEY, ENCRYPTED PRIVATE KEY, EC PRIVATE KEY, \
                 DSA PRIVATE KEY, OPENSSH PRIVATE KEY)"
            )));
        }
    };
    let key =
        PrivateKey::new(data, "").map_err(|e| Error::bad_key(format!("unusable key: {e}")))?;
    Ok((key, format))
}

/// PBES1 schemes, by OID: the PKCS#12 ones (Java keytool, OpenSSL 1.x
/// `-v1 PBE-SHA1-3DES`, and PKCS#12 files' default before OpenSSL 3) and the
/// PKCS#5 v1.5 ones. None is read: the PKCS#12 key derivation is in no crate
/// kps builds on, the rest are single DES or RC2, and one openssl command
/// turns any of them into PBES2 (`TO_PBES2`).
const PBES1_SCHEMES: &[(&str, &str)] = &[
    (
        "1.2.840.113549.1.12.1.1",
        "PKCS#12 PBE with SHA-1 and RC4-128",
    ),
    (
        "1.2.840.113549.1.12.1.2",
        "PKCS#12 PBE with SHA-1 and RC4-40",
    ),
    (
        "1.2.840.113549.1.12.1.3",
        "PKCS#12 PBE with SHA-1 and 3-key 3DES",
    ),
    (
        "1.2.840.113549.1.12.1.4",
        "PKCS#12 PBE with SHA-1 and 2-key 3DES",
    ),
    (
        "1.2.840.113549.1.12.1.5",
        "PKCS#12 PBE with SHA-1 and RC2-128",
    ),
    (
        "1.2.840.113549.1.12.1.6",
        "PKCS#12 PBE with SHA-1 and RC2-40",
    ),
    ("1.2.840.113549.1.5.1", "PKCS#5 PBES1 with MD2 and DES"),
    ("1.2.840.113549.1.5.3", "PKCS#5 PBES1 with MD5 and DES"),
    ("1.2.840.113549.1.5.4", "PKCS#5 PBES1 with MD2 and RC2"),
    ("1.2.840.113549.1.5.6", "PKCS#5 PBES1 with MD5 and RC2"),
    ("1.2.840.113549.1.5.10", "PKCS#5 PBES1 with SHA-1 and DES"),
    ("1.2.840.113549.1.5.11", "PKCS#5 PBES1 with SHA-1 and RC2"),
];
const OID_PBES2: &str = "1.2.840.113549.1.5.13";

/// The command that re-encrypts a legacy-encrypted PKCS#8 file as PBES2
/// (OpenSSL 3 needs its legacy provider for the RC2, RC4 and DES schemes).
const TO_PBES2: &str = "convert it with: openssl pkcs8 -topk8 -v2 aes-256-cbc -in FILE -out NEW \
     (add -provider legacy -provider default if OpenSSL 3 cannot read it)";

/// The outer algorithm OID of an `EncryptedPrivateKeyInfo`, read without
/// knowing the scheme, so that an unreadable scheme is named, not "corrupt".
fn encryption_oid(der_bytes: &[u8]) -> Option<Oid> {
    use der::Reader;
    let mut reader = der::SliceReader::new(der_bytes).ok()?;
    reader
        .sequence(|r| {
            let oid = r.sequence(|alg| {
                let oid = alg.decode::<Oid>()?;
                alg.read_slice(alg.remaining_len())?;
                Ok::<_, der::Error>(oid)
            })?;
            r.read_slice(r.remaining_len())?;
            Ok::<_, der::Error>(oid)
        })
        .ok()
}

/// An `ENCRYPTED PRIVATE KEY` kps can decrypt: PBES2 with PBKDF2 (HMAC-SHA-1
/// or SHA-2) or scrypt, at a bounded cost, and AES-CBC, AES-GCM or 3DES-CBC.
/// Every other scheme is refused by name with the command that converts it,
/// so that a wrong passphrase is only ever reported for a scheme kps reads.
fn encrypted_pkcs8(der_bytes: &[u8]) -> Result<pkcs8::EncryptedPrivateKeyInfoRef<'_>> {
    let oid = encryption_oid(der_bytes);
    if let Some(oid) = oid
        && let Some((_, name)) = PBES1_SCHEMES
            .iter()
            .find(|(dotted, _)| oid.to_string() == *dotted)
    {
        return Err(Error::bad_key_with_hint(
            format!("the PKCS#8 key is encrypted with {name}, a legacy scheme kps does not read"),
            TO_PBES2,
        ));
    }
    let info = pkcs8::EncryptedPrivateKeyInfoRef::from_der(der_bytes).map_err(|e| match oid {
        // PBES2 with a cipher or PRF outside pkcs5's list (RC2, single DES...).
        Some(oid) if oid.to_string() == OID_PBES2 => Error::bad_key_with_hint(
            format!(
                "the PKCS#8 key is encrypted with a PBES2 cipher or PRF kps does not read ({e})"
            ),
            TO_PBES2,
        ),
        Some(oid) => Error::bad_key_with_hint(
            format!("the PKCS#8 key is encrypted with an unknown scheme (OID {oid})"),
            TO_PBES2,
        ),
        None => corrupt("encrypted PKCS#8")(e),
    })?;
    let Some(pbes2) = info.encryption_algorithm.pbes2() else {
        return Err(Error::bad_key_with_hint(
            "the PKCS#8 key is encrypted with a legacy PBES1 scheme, which kps does not read",
            TO_PBES2,
        ));
    };
    check_pbes2_cost(pbes2)?;
    Ok(info)
}

fn decrypt_pkcs8(
    info: &pkcs8::EncryptedPrivateKeyInfoRef<'_>,
    pass: &Passphrase,
) -> Result<pkcs8::SecretDocument> {
    info.decrypt(pass.as_bytes()).map_err(|e| match e {
        pkcs8::Error::EncryptedPrivateKey(
            e @ (pkcs5::Error::UnsupportedAlgorithm { .. }
            | pkcs5::Error::AlgorithmParametersInvalid { .. }),
        ) => Error::bad_key_with_hint(
            format!("the PKCS#8 key is encrypted with a PBES2 variant kps does not read: {e}"),
            TO_PBES2,
        ),
        // A bad padding is what a wrong passphrase gives with CBC, a failed
        // tag with GCM; anything else the decoder says is as likely the same.
        _ => Error::WrongKeyPassphrase,
    })
}

/// The key-derivation work an encrypted key file asks for.
pub(super) enum KeyKdf {
    Bcrypt { rounds: u32 },
    Pbkdf2 { iterations: u32 },
    Scrypt { bytes: u64 },
}

/// What opening the key in `text` would cost, read from the file without
/// doing the work (for `import --from-dir`'s budget); `None` if it is not
/// encrypted or cannot be read (decoding it reports why).
pub(super) fn kdf_of(text: &str, label: &str) -> Option<KeyKdf> {
    let block = single_block(text).ok()?;
    match label {
        OPENSSH => {
            let key = PrivateKey::from_openssh(block).ok()?;
            match key.kdf() {
                ssh_key::Kdf::Bcrypt { rounds, .. } if key.is_encrypted() => {
                    Some(KeyKdf::Bcrypt { rounds: *rounds })
                }
                _ => None,
            }
        }
        PKCS8_ENCRYPTED => {
            let der_bytes = decode_block(block).ok()?;
            let info = pkcs8::EncryptedPrivateKeyInfoRef::from_der(&der_bytes).ok()?;
            let pbes2 = info.encryption_algorithm.pbes2()?;
            if let Some(p) = pbes2.kdf.pbkdf2() {
                Some(KeyKdf::Pbkdf2 {
                    iterations: p.iteration_count,
                })
            } else {
                pbes2.kdf.scrypt().map(|s| KeyKdf::Scrypt {
                    bytes: scrypt_bytes(s),
                })
            }
        }
        _ => None,
    }
}

/// The public key an encrypted OpenSSH key file shows in the clear, read
/// without the passphrase (not verified: only decrypting proves it).
pub(super) fn openssh_public(text: &str) -> Option<ssh_key::PublicKey> {
    if first_label(text)? != OPENSSH {
        return None;
    }
    let key = PrivateKey::from_openssh(single_block(text).ok()?).ok()?;
    Some(key.public_key().clone())
}

fn scrypt_bytes(s: &pkcs5::pbes2::ScryptParams) -> u64 {
    128u64
        .saturating_mul(s.cost_parameter)
        .saturating_mul(u64::from(s.block_size))
        .saturating_mul(u64::from(s.parallelization.max(1)))
}

/// A hostile file could name a KDF cost that takes hours or all memory.
/// These bounds are far above what the tools write (OpenSSL: PBKDF2 2048 or
/// scrypt N=2^14; ssh-keygen: 16 bcrypt rounds, -a 100 for the careful).
const MAX_PBKDF2_ITERATIONS: u32 = 10_000_000;
const MAX_SCRYPT_BYTES: u64 = 1 << 30;

fn too_costly(what: String) -> Error {
    Error::bad_key_with_hint(
        format!("the key file asks for {what}: refused as unreasonable"),
        "re-encrypt it with the tool's defaults, or decrypt it first",
    )
}

fn check_pbes2_cost(params: &pkcs5::pbes2::Parameters) -> Result<()> {
    if let Some(p) = params.kdf.pbkdf2()
        && p.iteration_count > MAX_PBKDF2_ITERATIONS
    {
        return Err(too_costly(format!(
            "{} PBKDF2 iterations",
            p.iteration_count
        )));
    }
    if let Some(s) = params.kdf.scrypt() {
        let bytes = scrypt_bytes(s);
        if bytes > MAX_SCRYPT_BYTES {
            return Err(too_costly(format!("{} MiB of scrypt memory", bytes >> 20)));
        }
    }
    Ok(())
}

/// PKCS#1 `RSAPrivateKey`. The size is checked on the raw modulus first, so
/// an 8192-bit key is named as such rather than failing deep in the rsa crate.
fn rsa_pkcs1(der_bytes: &[u8]) -> Result<KeypairData> {
    use rsa::pkcs1::DecodeRsaPrivateKey;
    let raw = pkcs1::RsaPrivateKeyRef::from_der(der_bytes).map_err(corrupt("PKCS#1 RSA"))?;
    if raw.other_prime_infos.is_some() {
        return Err(Error::bad_key("multi-prime RSA keys are not supported"));
    }
    let bits = uint_bits(raw.modulus.as_bytes());
    if !crate::algorithm::RSA_BITS.contains(&bits) {
        return Err(Error::bad_key_with_hint(
            format!("RSA key of {bits} bits: only 2048, 3072 and 4096 are allowed"),
            "kps accepts Ed25519, ECDSA P-256/384/521, RSA 2048/3072/4096 and DSA 1024 (ssh-dss)",
        ));
    }
    // from_components (behind from_pkcs1_der) validates n = p*q and d: a
    // key that fails here is wrong, not merely stored oddly.
    let key = rsa::PrivateKey::from_pkcs1_der(der_bytes)
        .map_err(|e| Error::KeyMismatch(format!("RSA key components are inconsistent: {e}")))?;
    // dP and dQ exist only in PKCS#1 and are recomputed from p, q and d. The
    // file's qInv is kept, so that it is judged (and recomputed when it is
    // p^-1 mod q or otherwise off) by keycheck::with_own_crt, as for every
    // other format.
    let pair =
        RsaKeypair::try_from(&key).map_err(|e| Error::bad_key(format!("unusable RSA key: {e}")))?;
    let private = ssh_key::private::RsaPrivateKey::new(
        pair.private().d().clone(),
        mpint(raw.coefficient.as_bytes()),
        pair.private().p().clone(),
        pair.private().q().clone(),
    )
    .and_then(|private| RsaKeypair::new(pair.public().clone(), private))
    .map_err(|e| Error::bad_key(format!("unusable RSA key: {e}")))?;
    Ok(KeypairData::Rsa(private))
}

fn uint_bits(bytes: &[u8]) -> u32 {
    match bytes.iter().position(|b| *b != 0) {
        None => 0,
        Some(i) => (bytes.len() - i) as u32 * 8 - bytes[i].leading_zeros(),
    }
}

fn pkcs8(der_bytes: &[u8]) -> Result<KeypairData> {
    let info = pkcs8::PrivateKeyInfoRef::from_der(der_bytes).map_err(corrupt("PKCS#8"))?;
    let oid = info.algorithm.oid;
    let key_bytes = info.private_key.as_bytes();
    match oid {
        OID_RSA => rsa_pkcs1(key_bytes),
        OID_EC => {
            let curve = info
                .algorithm
                .parameters
                .and_then(|p| p.decode_as::<Oid>().ok())
                .ok_or_else(|| Error::bad_key("the EC key names no curve"))?;
            sec1(key_bytes, Some(curve))
        }
        OID_ED25519 => {
            let seed = <&der::asn1::OctetStringRef>::from_der(key_bytes)
                .map_err(corrupt("Ed25519 PKCS#8"))?;
            let seed: [u8; 32] = seed
                .as_bytes()
                .try_into()
                .map_err(|_| Error::bad_key("the Ed25519 private key is not 32 bytes"))?;
            let seed = Zeroizing::new(seed);
            let kp = Ed25519Keypair::from_seed(&seed);
            // PKCS#8 v2 may carry the public key: it must be this seed's.
            if let Some(public) = info.public_key
                && public.raw_bytes() != kp.public.as_ref()
            {
                return Err(Error::KeyMismatch(
                    "the Ed25519 public key in the file does not match its seed".into(),
                ));
            }
            Ok(KeypairData::Ed25519(kp))
        }
        OID_DSA => dsa_pkcs8(&info),
        OID_X25519 | OID_X448 => Err(unsupported_kind(
            "an X25519/X448 key is for key agreement, not SSH",
        )),
        OID_ED448 => Err(unsupported_kind(
            "Ed448 keys are not supported by SSH tools",
        )),
        other => Err(unsupported_kind(&format!(
            "key algorithm OID {other} is not supported"
        ))),
    }
}

fn unsupported_kind(message: &str) -> Error {
    Error::bad_key_with_hint(
        message,
        "kps accepts Ed25519, ECDSA P-256/384/521, RSA 2048/3072/4096 and DSA 1024 (ssh-dss)",
    )
}

fn curve_name(oid: Oid) -> String {
    match oid {
        OID_P256 => "P-256".into(),
        OID_P384 => "P-384".into(),
        OID_P521 => "P-521".into(),
        other => format!("OID {other}"),
    }
}

/// SEC1 `ECPrivateKey`; `outer` is the curve the PKCS#8 wrapper names, when
/// there is one. The wrapper and the key inside must agree, as OpenSSL and
/// pyca require: a key read as another curve than the one it was made on is
/// a different key.
fn sec1(der_bytes: &[u8], outer: Option<Oid>) -> Result<KeypairData> {
    let ec = sec1::EcPrivateKey::from_der(der_bytes).map_err(corrupt("SEC1 EC"))?;
    let inner = match ec.parameters {
        None => None,
        Some(p) => Some(
            p.named_curve()
                .ok_or_else(|| Error::bad_key("the EC key's parameters are not a named curve"))?,
        ),
    };
    let curve = match (outer, inner) {
        (Some(o), Some(i)) if o != i => {
            return Err(Error::bad_key(format!(
                "the PKCS#8 algorithm names curve {} but the EC key inside names {}",
                curve_name(o),
                curve_name(i)
            )));
        }
        (Some(c), _) | (None, Some(c)) => c,
        (None, None) => return Err(Error::bad_key("the EC key names no curve")),
    };
    // SEC1 writes the scalar at the curve's size; older OpenSSL dropped
    // leading zero bytes, so shorter is fine, but longer is another curve's.
    let size = match curve {
        OID_P256 => 32,
        OID_P384 => 48,
        OID_P521 => 66,
        _ => usize::MAX,
    };
    // puttygen's `-O private-openssh` writes the scalar as an SSH mpint does:
    // a zero byte before a set top bit (33 bytes for P-256, about half of
    // its keys). OpenSSL reads those; so does kps. Only zero bytes are
    // dropped: a longer scalar is still another curve's.
    let mut scalar = ec.private_key;
    while scalar.len() > size && scalar.first() == Some(&0) {
        scalar = &scalar[1..];
    }
    if scalar.len() > size {
        return Err(Error::bad_key(format!(
            "the EC private key is {} bytes, too long for curve {} ({size} bytes): \
             the key inside is of another curve than the one named",
            ec.private_key.len(),
            curve_name(curve)
        )));
    }
    let bad_scalar = |_| Error::bad_key("the EC private scalar is out of range for its curve");
    let keypair = match curve {
        OID_P256 => {
            let sk = p256::SecretKey::from_slice(scalar).map_err(bad_scalar)?;
            EcdsaKeypair::NistP256 {
                public: p256::ecdsa::VerifyingKey::from(sk.public_key()).into(),
                private: sk.into(),
            }
        }
        OID_P384 => {
            let sk = p384::SecretKey::from_slice(scalar).map_err(bad_scalar)?;
            EcdsaKeypair::NistP384 {
                public: p384::ecdsa::VerifyingKey::from(sk.public_key()).into(),
                private: sk.into(),
            }
        }
        OID_P521 => {
            let sk = p521::SecretKey::from_slice(scalar).map_err(bad_scalar)?;
            EcdsaKeypair::NistP521 {
                public: p521::ecdsa::VerifyingKey::from(sk.public_key()).into(),
                private: sk.into(),
            }
        }
        OID_SECP256K1 => return Err(unsupported_kind("curve secp256k1 is not allowed")),
        OID_P224 => return Err(unsupported_kind("curve P-224 (secp224r1) is not allowed")),
        OID_P192 => return Err(unsupported_kind("curve P-192 is not allowed")),
        other => {
            return Err(unsupported_kind(&format!(
                "curve OID {other} is not allowed"
            )));
        }
    };
    // The file's public point, where it has one, must be the derived one.
    if let Some(point) = ec.public_key {
        let stated = EcdsaPublicKey::from_sec1_bytes(point)
            .map_err(|_| Error::bad_key("the EC public point in the file is malformed"))?;
        if stated.curve() != EcdsaPublicKey::from(&keypair).curve() {
            return Err(Error::bad_key(format!(
                "the EC public point in the file is on {}, not on curve {}",
                stated.curve(),
                curve_name(curve)
            )));
        }
        if stated != EcdsaPublicKey::from(&keypair) {
            return Err(Error::KeyMismatch(
                "the EC public key in the file does not match its private scalar".into(),
            ));
        }
    }
    Ok(KeypairData::Ecdsa(keypair))
}

fn mpint(bytes: &[u8]) -> Mpint {
    Mpint::from_positive_bytes(bytes)
}

fn dsa_keypair(p: &[u8], q: &[u8], g: &[u8], y: &[u8], x: &[u8]) -> Result<KeypairData> {
    let bad = |_| Error::bad_key("the DSA key components are malformed");
    let public = DsaPublicKey::new(mpint(p), mpint(q), mpint(g), mpint(y)).map_err(bad)?;
    let private = DsaPrivateKey::new(mpint(x)).map_err(bad)?;
    let pair = DsaKeypair::new(public, private).map_err(bad)?;
    Ok(KeypairData::Dsa(pair))
}

/// OpenSSL's traditional `DSA PRIVATE KEY`: `SEQUENCE { 0, p, q, g, y, x }`,
/// which no crate reads.
fn dsa_traditional(der_bytes: &[u8]) -> Result<KeypairData> {
    use der::Reader;
    let mut reader = der::SliceReader::new(der_bytes).map_err(corrupt("DSA"))?;
    let ints: Vec<UintRef<'_>> = reader
        .sequence(|r| (0..6).map(|_| r.decode::<UintRef<'_>>()).collect())
        .map_err(corrupt("DSA"))?;
    reader.finish().map_err(corrupt("DSA"))?;
    if ints[0].as_bytes() != [0] {
        return Err(Error::bad_key("the DSA key has an unknown version"));
    }
    let b = |i: usize| ints[i].as_bytes();
    dsa_keypair(b(1), b(2), b(3), b(4), b(5))
}

/// PKCS#8 DSA: parameters `SEQUENCE { p, q, g }`, private key `INTEGER x`;
/// the public y is not in the file and is computed as g^x mod p.
fn dsa_pkcs8(info: &pkcs8::PrivateKeyInfoRef<'_>) -> Result<KeypairData> {
    use der::Reader;
    let params = info
        .algorithm
        .parameters
        .ok_or_else(|| Error::bad_key("the DSA key has no parameters"))?;
    let params_der = der::Encode::to_der(&params).map_err(corrupt("DSA parameters"))?;
    let mut reader = der::SliceReader::new(&params_der).map_err(corrupt("DSA parameters"))?;
    let pqg: Vec<UintRef<'_>> = reader
        .sequence(|r| (0..3).map(|_| r.decode::<UintRef<'_>>()).collect())
        .map_err(corrupt("DSA parameters"))?;
    let x = UintRef::from_der(info.private_key.as_bytes()).map_err(corrupt("DSA"))?;
    let y = crate::keycheck::dsa_public_y(pqg[0].as_bytes(), pqg[2].as_bytes(), x.as_bytes())?;
    dsa_keypair(
        pqg[0].as_bytes(),
        pqg[1].as_bytes(),
        pqg[2].as_bytes(),
        &y,
        x.as_bytes(),
    )
}
