//! Fresh keypairs from the operating system's random number generator.

use crate::algorithm::KeySpec;
use crate::{Error, Result};
use getrandom::SysRng;
use rand_core::UnwrapErr;
use ssh_key::{Algorithm, PrivateKey, private::RsaKeypair};

/// Generate a keypair of the given kind, with `comment` on its public key.
pub fn generate(spec: KeySpec, comment: &str) -> Result<PrivateKey> {
    let mut rng = UnwrapErr(SysRng);
    let failed = |e: &dyn std::fmt::Display| Error::KeyGeneration(e.to_string());
    let mut key = match spec {
        KeySpec::Ed25519 => PrivateKey::random(&mut rng, Algorithm::Ed25519),
        KeySpec::Ecdsa(curve) => PrivateKey::random(&mut rng, Algorithm::Ecdsa { curve }),
        KeySpec::Rsa(bits) => {
            let rsa = rsa::PrivateKey::new(&mut SysRng, bits as usize).map_err(|e| failed(&e))?;
            RsaKeypair::try_from(&rsa).map(PrivateKey::from)
        }
    }
    .map_err(|e| failed(&e))?;
    key.set_comment(comment);
    Ok(key)
}
