//! Proof that a private key is whole: the public half is recomputed from the
//! secret parts and compared, so a damaged or swapped key is never handed out.

use crate::{Error, Result};
use ssh_key::private::{EcdsaKeypair, KeypairData};
use ssh_key::public::{EcdsaPublicKey, Ed25519PublicKey, KeyData};

/// The public key that the secret parts of `keypair` determine.
pub fn derived_public(keypair: &KeypairData) -> Result<KeyData> {
    match keypair {
        KeypairData::Ed25519(kp) => {
            let signing = ed25519_dalek::SigningKey::from_bytes(&kp.private.to_bytes());
            Ok(KeyData::Ed25519(Ed25519PublicKey::from(
                signing.verifying_key(),
            )))
        }
        KeypairData::Ecdsa(kp) => {
            let bad = |_| Error::InvalidKey("ECDSA private scalar is out of range".into());
            let public = match kp {
                EcdsaKeypair::NistP256 { private, .. } => {
                    let sk = p256::SecretKey::from_slice(private.as_slice()).map_err(bad)?;
                    EcdsaPublicKey::from(p256::ecdsa::VerifyingKey::from(sk.public_key()))
                }
                EcdsaKeypair::NistP384 { private, .. } => {
                    let sk = p384::SecretKey::from_slice(private.as_slice()).map_err(bad)?;
                    EcdsaPublicKey::from(p384::ecdsa::VerifyingKey::from(sk.public_key()))
                }
                EcdsaKeypair::NistP521 { private, .. } => {
                    let sk = p521::SecretKey::from_slice(private.as_slice()).map_err(bad)?;
                    EcdsaPublicKey::from(p521::ecdsa::VerifyingKey::from(sk.public_key()))
                }
            };
            Ok(KeyData::Ecdsa(public))
        }
        KeypairData::Rsa(kp) => {
            let bad = |what: &str| Error::InvalidKey(format!("RSA key is inconsistent: {what}"));
            let key = rsa::PrivateKey::try_from(kp).map_err(|_| bad("components"))?;
            key.validate().map_err(|_| bad("n, e, d, p, q"))?;
            // OpenSSH and PuTTY use iqmp directly; a wrong one breaks signing there.
            let iqmp = key
                .crt_coefficient()
                .ok_or_else(|| bad("no CRT coefficient"))?;
            let stored = rsa::BoxedUint::try_from(kp.private().iqmp()).map_err(|_| bad("iqmp"))?;
            if iqmp != stored {
                return Err(bad("iqmp is not q^-1 mod p"));
            }
            let public = ssh_key::public::RsaPublicKey::try_from(rsa::PublicKey::from(&key))
                .map_err(|_| bad("public part"))?;
            Ok(KeyData::Rsa(public))
        }
        KeypairData::Dsa(kp) => {
            let signing = dsa::SigningKey::try_from(kp)
                .map_err(|_| Error::InvalidKey("DSA key is inconsistent".into()))?;
            Ok(KeyData::Dsa(
                ssh_key::public::DsaPublicKey::try_from(signing.verifying_key())
                    .map_err(|_| Error::InvalidKey("DSA key is inconsistent".into()))?,
            ))
        }
        other => Err(Error::InvalidKey(format!(
            "unsupported key algorithm {}",
            other
                .algorithm()
                .map(|a| a.as_str().to_string())
                .unwrap_or_else(|_| "unknown".into())
        ))),
    }
}

/// Check that the secret parts of `keypair` belong to `public`.
pub fn matches(keypair: &KeypairData, public: &KeyData) -> Result<bool> {
    Ok(&derived_public(keypair)? == public)
}
