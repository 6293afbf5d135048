//! Proof that a private key is whole: the public half is recomputed from the
//! secret parts and compared, so a damaged or swapped key is never handed out.
//! A key whose parts disagree is `Error::KeyMismatch` (KPS.6011) whatever
//! format it came in; `Error::InvalidKey` is kept for values that are no key
//! at all (a scalar out of range, parameters that are not a DSA group).

use crate::{Error, Result};
use ssh_key::PrivateKey;
use ssh_key::private::{EcdsaKeypair, KeypairData, RsaKeypair};
use ssh_key::public::{EcdsaPublicKey, Ed25519PublicKey, KeyData};

fn inconsistent(what: &str) -> Error {
    Error::KeyMismatch(format!("the key is inconsistent: {what}"))
}

/// An RSA key with its CRT coefficient recomputed when the one it holds is
/// not q^-1 mod p, and whether it was. Twisted writes p^-1 mod q, and other
/// tools cope (ssh-keygen reads it, OpenSSL checks its CRT result and falls
/// back), but kps hands the value to OpenSSH and PuTTY as it is, so it must
/// be right. Only n = p*q and d (an inverse of e mod p-1 and q-1) are
/// required of the file; a key that fails those is refused. Other keys are
/// returned unchanged.
pub fn with_own_crt(key: PrivateKey) -> Result<(PrivateKey, bool)> {
    let Some(fresh) = own_crt(key.key_data())? else {
        return Ok((key, false));
    };
    let comment = key.comment().clone();
    let key = PrivateKey::new(fresh, comment)
        .map_err(|e| Error::bad_key(format!("unusable RSA key: {e}")))?;
    Ok((key, true))
}

/// `with_own_crt` for bare key data (the .ppk reader checks the key before
/// it has a `PrivateKey`): the key with its CRT coefficient recomputed, or
/// `None` if it needs no change.
pub fn own_crt(keypair: &KeypairData) -> Result<Option<KeypairData>> {
    let KeypairData::Rsa(kp) = keypair else {
        return Ok(None);
    };
    let full = rsa::PrivateKey::try_from(kp)
        .map_err(|_| inconsistent("the RSA modulus is not p*q, or d does not invert e"))?;
    let fresh = RsaKeypair::try_from(&full).map_err(|_| inconsistent("RSA components"))?;
    if fresh.private().iqmp() == kp.private().iqmp() {
        return Ok(None);
    }
    Ok(Some(KeypairData::Rsa(fresh)))
}

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
            let bad = |_| Error::bad_key("ECDSA private scalar is out of range");
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
            let bad = |what: &str| inconsistent(&format!("RSA {what}"));
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
            dsa_check(kp)?;
            let signing = dsa::SigningKey::try_from(kp)
                .map_err(|_| Error::bad_key("DSA key components are out of range"))?;
            Ok(KeyData::Dsa(ssh_key::public::DsaPublicKey::from(
                signing.verifying_key(),
            )))
        }
        other => Err(Error::bad_key(format!(
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

/// DSA: 1 < g < p, 0 < x < q (checked by the dsa crate) and y = g^x mod p,
/// which neither ssh-key nor the dsa crate verifies.
fn dsa_check(kp: &ssh_key::private::DsaKeypair) -> Result<()> {
    let public = kp.public();
    let y = dsa_public_y(
        mpint_bytes(public.p())?,
        mpint_bytes(public.g())?,
        mpint_bytes(kp.private().as_mpint())?,
    )?;
    if y != mpint_bytes(public.y())? {
        return Err(inconsistent("DSA y is not g^x mod p"));
    }
    Ok(())
}

/// g^x mod p, big-endian without leading zeros, for DSA parameters given as
/// big-endian magnitudes. Refuses parameters that are not a DSA group.
pub(crate) fn dsa_public_y(p: &[u8], g: &[u8], x: &[u8]) -> Result<Vec<u8>> {
    use crypto_bigint::modular::{BoxedMontyForm, BoxedMontyParams};
    use crypto_bigint::{BoxedUint, Odd};
    let bad = || Error::bad_key("DSA parameters are malformed");
    let p = BoxedUint::from_be_slice_vartime(p);
    let bits = p.bits_precision();
    let wide = |b: &[u8]| BoxedUint::from_be_slice(b, bits).map_err(|_| bad());
    let (g, x) = (wide(g)?, wide(x)?);
    let one = BoxedUint::one_with_precision(bits);
    if g <= one || g >= p || x >= p {
        return Err(bad());
    }
    let p = Option::<Odd<BoxedUint>>::from(Odd::new(p)).ok_or_else(bad)?;
    let params = BoxedMontyParams::new(p);
    let y = BoxedMontyForm::new(g, &params).pow(&x).retrieve();
    let bytes = y.to_be_bytes();
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    Ok(bytes[start..].to_vec())
}

/// The magnitude of a non-negative mpint, big-endian without sign padding.
pub(crate) fn mpint_bytes(m: &ssh_key::Mpint) -> Result<&[u8]> {
    m.as_positive_bytes()
        .ok_or_else(|| Error::bad_key("a key component is negative or zero"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ssh_key::private::DsaKeypair;
    use ssh_key::{Algorithm, EcdsaCurve, PrivateKey};

    fn rng() -> rand_core::UnwrapErr<getrandom::SysRng> {
        rand_core::UnwrapErr(getrandom::SysRng)
    }

    #[test]
    fn every_algorithm_derives_its_own_public_key() {
        let mut keys = vec![
            PrivateKey::random(&mut rng(), Algorithm::Ed25519).unwrap(),
            PrivateKey::random(&mut rng(), Algorithm::Dsa).unwrap(),
            crate::keygen::generate(crate::algorithm::KeySpec::Rsa(2048), "").unwrap(),
        ];
        for curve in [
            EcdsaCurve::NistP256,
            EcdsaCurve::NistP384,
            EcdsaCurve::NistP521,
        ] {
            keys.push(PrivateKey::random(&mut rng(), Algorithm::Ecdsa { curve }).unwrap());
        }
        for key in &keys {
            assert!(matches(key.key_data(), key.public_key().key_data()).unwrap());
        }
        // Each key against the next one's public half: never a match.
        for pair in keys.windows(2) {
            assert!(!matches(pair[0].key_data(), pair[1].public_key().key_data()).unwrap());
        }
    }

    #[test]
    fn dsa_with_a_foreign_y_is_refused() {
        let a = DsaKeypair::random(&mut rng()).unwrap();
        let b = DsaKeypair::random(&mut rng()).unwrap();
        // b's private x under a's public parameters and y.
        let mixed = DsaKeypair::new(a.public().clone(), b.private().clone()).unwrap();
        assert!(derived_public(&KeypairData::Dsa(mixed)).is_err());
        assert!(derived_public(&KeypairData::Dsa(a)).is_ok());
    }

    #[test]
    fn rsa_with_a_wrong_iqmp_is_refused() {
        let key = crate::keygen::generate(crate::algorithm::KeySpec::Rsa(2048), "").unwrap();
        let KeypairData::Rsa(kp) = key.key_data() else {
            unreachable!()
        };
        let p = kp.private();
        let bad = ssh_key::private::RsaPrivateKey::new(
            p.d().clone(),
            p.p().clone(), // not q^-1 mod p
            p.p().clone(),
            p.q().clone(),
        )
        .unwrap();
        let broken = ssh_key::private::RsaKeypair::new(kp.public().clone(), bad).unwrap();
        assert!(derived_public(&KeypairData::Rsa(broken)).is_err());
    }

    #[test]
    fn rsa_with_p_and_q_exchanged_gets_its_own_crt_and_a_wrong_d_does_not() {
        let key = crate::keygen::generate(crate::algorithm::KeySpec::Rsa(2048), "c").unwrap();
        let KeypairData::Rsa(kp) = key.key_data() else {
            unreachable!()
        };
        let p = kp.private();
        let with = |d: &ssh_key::Mpint| {
            // q and p exchanged, iqmp kept: it is now p^-1 mod q.
            let private = ssh_key::private::RsaPrivateKey::new(
                d.clone(),
                p.iqmp().clone(),
                p.q().clone(),
                p.p().clone(),
            )
            .unwrap();
            let pair = ssh_key::private::RsaKeypair::new(kp.public().clone(), private).unwrap();
            PrivateKey::new(KeypairData::Rsa(pair), "c").unwrap()
        };
        let (fixed, recomputed) = with_own_crt(with(p.d())).unwrap();
        assert!(recomputed);
        assert_eq!(fixed.comment(), key.comment());
        assert!(matches(fixed.key_data(), key.public_key().key_data()).unwrap());
        // Unchanged when already right.
        assert!(!with_own_crt(key.clone()).unwrap().1);
        // d that is not e's inverse: refused as inconsistent.
        let wrong_d = ssh_key::Mpint::from_positive_bytes(p.p().as_positive_bytes().unwrap());
        assert!(matches!(
            with_own_crt(with(&wrong_d)),
            Err(Error::KeyMismatch(_))
        ));
    }
}
