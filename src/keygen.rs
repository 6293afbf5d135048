//! Fresh keypairs from the operating system's random number generator.
//!
//! RSA keys are the ones `rsa::PrivateKey::new` makes (two distinct primes of
//! exactly half the modulus size with their top two bits set, e = 65537, d
//! from Euler's totient), but the two primes are searched for on every core:
//! rsa's generator looks for p and then q on one thread, and that search is
//! nearly all of the time (RSA 4096 took about 700 ms here against 1.1 s for
//! ssh-keygen; with both cores searching it takes about half).

use crate::algorithm::KeySpec;
use crate::{Error, Result};
use crypto_bigint::{BitOps, BoxedUint, Limb, NonZero, RandomBits, RandomBitsError};
use crypto_primes::hazmat::SmallFactorsSieve;
use crypto_primes::{Flavor, is_prime};
use getrandom::SysRng;
use rand_core::UnwrapErr;
use ssh_key::{Algorithm, PrivateKey, private::RsaKeypair};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread;

/// Generate a keypair of the given kind, with `comment` on its public key.
pub fn generate(spec: KeySpec, comment: &str) -> Result<PrivateKey> {
    let mut rng = UnwrapErr(SysRng);
    let failed = |e: &dyn std::fmt::Display| Error::KeyGeneration(e.to_string());
    let mut key = match spec {
        KeySpec::Ed25519 => PrivateKey::random(&mut rng, Algorithm::Ed25519),
        KeySpec::Ecdsa(curve) => PrivateKey::random(&mut rng, Algorithm::Ecdsa { curve }),
        KeySpec::Rsa(bits) => RsaKeypair::try_from(&rsa_key(bits)?).map(PrivateKey::from),
    }
    .map_err(|e| failed(&e))?;
    key.set_comment(comment);
    Ok(key)
}

/// The public exponent of every RSA key kps makes, as rsa's own default.
const RSA_EXPONENT: u32 = 65537;

/// Beyond this many threads the search gains little and only costs memory.
const MAX_SEARCH_THREADS: usize = 16;

/// An RSA key with a modulus of exactly `bits` bits.
fn rsa_key(bits: u32) -> Result<rsa::PrivateKey> {
    let (p, q) = rsa_primes(bits)?;
    // The validated constructor: it checks p and q, n = p * q, and
    // d * e = 1 mod (p - 1) and (q - 1); from_primes derives d from Euler's
    // totient exactly as rsa::PrivateKey::new does.
    let key = rsa::PrivateKey::from_primes(vec![p, q], BoxedUint::from(u64::from(RSA_EXPONENT)))
        .map_err(|e| Error::KeyGeneration(format!("RSA key from its primes: {e}")))?;
    let n_bits = rsa::traits::PublicKeyParts::n(&key)
        .as_ref()
        .bit_width_vartime();
    if n_bits != bits {
        // Cannot happen with both top bits set in p and q; checked, not assumed.
        return Err(Error::KeyGeneration(format!(
            "RSA modulus of {n_bits} bits instead of {bits}"
        )));
    }
    Ok(key)
}

/// Two distinct primes of `bits / 2` bits each, found by one search thread
/// per core. Each thread takes the first prime after a fresh random start
/// (as rsa's generator does), sends it, and starts again from another random
/// point, so no two primes come from the same stretch of numbers. The first
/// two primes sent, from whichever threads, are p and q: no core idles while
/// the slower prime is still being looked for.
fn rsa_primes(bits: u32) -> Result<(BoxedUint, BoxedUint)> {
    let half = NonZeroU32::new(bits / 2)
        .filter(|h| h.get() >= 64)
        .ok_or_else(|| Error::KeyGeneration(format!("RSA modulus of {bits} bits is too small")))?;
    let threads = thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(MAX_SEARCH_THREADS);
    let stop = StopOnDrop(Arc::new(AtomicBool::new(false)));
    let (found, primes) = mpsc::channel();
    let mut started = 0;
    let mut spawn_error = None;
    for _ in 0..threads {
        let stop = Arc::clone(&stop.0);
        let found = found.clone();
        // Detached, not scoped: once two primes are in, this returns at once
        // while the other threads finish the candidate they are testing
        // (a few ms at 2048 bits) and end on their own.
        match thread::Builder::new()
            .name("kps-rsa-primes".into())
            .spawn(move || search_primes(half, &stop, &found))
        {
            Ok(_) => started += 1,
            Err(e) => spawn_error = Some(e),
        }
    }
    drop(found);
    if started == 0 {
        return Err(Error::KeyGeneration(format!(
            "cannot start a thread for the prime search: {}",
            spawn_error.map_or_else(String::new, |e| e.to_string())
        )));
    }
    let next = || {
        primes.recv().map_err(|_| {
            Error::KeyGeneration("the prime search threads ended without a result".into())
        })?
    };
    let p = next()?;
    let q = loop {
        let q = next()?;
        // Equal primes would need two random starts of 1024 bits or more in
        // the same gap between primes; the constructor would refuse them, so
        // look again instead.
        if q != p {
            break q;
        }
    };
    Ok((p, q))
}

/// Sets the flag on the way out of [`rsa_primes`], on success or error, so
/// the search threads stop.
struct StopOnDrop(Arc<AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// One search thread: primes of `bits` bits with their top two bits set,
/// usable with e = 65537, sent to `found` until `stop` is set or no one
/// listens any more.
fn search_primes(bits: NonZeroU32, stop: &AtomicBool, found: &mpsc::Sender<Result<BoxedUint>>) {
    while !stop.load(Ordering::Relaxed) {
        let start = match random_start(bits) {
            Ok(start) => start,
            Err(e) => {
                let _ = found.send(Err(e));
                return;
            }
        };
        let mut sieve = match SmallFactorsSieve::new(start, bits, false) {
            Ok(sieve) => sieve,
            Err(e) => {
                let _ = found.send(Err(Error::KeyGeneration(format!("prime sieve: {e}"))));
                return;
            }
        };
        // The stop flag is looked at before each primality test (one modular
        // exponentiation, the unit of work here), so a stopped thread ends
        // within one test.
        let prime = sieve.find(|candidate| {
            stop.load(Ordering::Relaxed)
                || (usable_with_exponent(candidate) && is_prime(Flavor::Any, candidate))
        });
        if let Some(prime) = prime
            && !stop.load(Ordering::Relaxed)
            && found.send(Ok(prime)).is_err()
        {
            return;
        }
    }
}

/// A random odd number of exactly `bits` bits with its top two bits set, so
/// that the product of two such numbers has exactly `2 * bits` bits. The
/// sieve counts up from it and stays below 2^bits, so every candidate it
/// gives keeps those two bits.
fn random_start(bits: NonZeroU32) -> Result<BoxedUint> {
    let mut start = BoxedUint::try_random_bits(&mut SysRng, bits.get()).map_err(|e| {
        Error::KeyGeneration(match e {
            RandomBitsError::RandCore(e) => format!("the system random number generator: {e}"),
            other => format!("random start for the prime search: {other}"),
        })
    })?;
    start.set_bit_vartime(0, true);
    start.set_bit_vartime(bits.get() - 1, true);
    start.set_bit_vartime(bits.get() - 2, true);
    Ok(start)
}

/// Whether e = 65537 has an inverse modulo `p - 1`: 65537 is prime, so that
/// fails only when it divides p - 1. rsa's generator finds this out after
/// both primes are made and then starts over with two new ones; refusing
/// such a p up front costs one small division per candidate instead.
fn usable_with_exponent(p: &BoxedUint) -> bool {
    const E: NonZero<Limb> = match NonZeroU32::new(RSA_EXPONENT) {
        Some(e) => NonZero::<Limb>::from_u32(e),
        None => unreachable!(),
    };
    p.rem_limb(E) != Limb::ONE
}

#[cfg(test)]
mod tests {
    use super::*;
    use crypto_bigint::ConcatenatingMul;
    use rsa::traits::{PrivateKeyParts, PublicKeyParts};
    use ssh_key::private::KeypairData;

    /// Generate through the public entry point and take the key back out of
    /// the ssh-key form, as the store and `get-win-password` see it.
    fn generated_rsa(bits: u32) -> rsa::PrivateKey {
        let key = generate(KeySpec::Rsa(bits), "test").unwrap();
        assert_eq!(key.comment().as_str_lossy(), "test");
        let KeypairData::Rsa(pair) = key.key_data() else {
            panic!("not an RSA key")
        };
        rsa::PrivateKey::try_from(pair).unwrap()
    }

    fn check_rsa(bits: u32, key: &rsa::PrivateKey) {
        assert_eq!(key.n().as_ref().bit_width_vartime(), bits);
        assert_eq!(*key.e(), BoxedUint::from(65537u64));
        key.validate().unwrap();
        let primes = key.primes();
        assert_eq!(primes.len(), 2);
        let (p, q): (&BoxedUint, &BoxedUint) = (primes[0].as_ref(), primes[1].as_ref());
        assert_ne!(p, q);
        let e = NonZero::new(Limb::from(65537u32)).unwrap();
        for prime in [p, q] {
            assert_eq!(prime.bit_width_vartime(), bits / 2);
            assert!(prime.bit_vartime(bits / 2 - 1) && prime.bit_vartime(bits / 2 - 2));
            assert!(is_prime(Flavor::Any, prime));
            assert_ne!(prime.rem_limb(e), Limb::ONE);
        }
        let n = p.concatenating_mul(q);
        assert_eq!(&n, key.n().as_ref());
    }

    #[test]
    fn rsa_2048_keys_are_what_rsa_makes() {
        for _ in 0..4 {
            check_rsa(2048, &generated_rsa(2048));
        }
    }

    #[test]
    fn rsa_3072_keys_are_what_rsa_makes() {
        for _ in 0..2 {
            check_rsa(3072, &generated_rsa(3072));
        }
    }

    #[test]
    fn rsa_4096_keys_are_what_rsa_makes() {
        check_rsa(4096, &generated_rsa(4096));
    }

    #[test]
    fn primes_with_65537_dividing_p_minus_1_are_refused() {
        assert!(!usable_with_exponent(&BoxedUint::from(65537u64 * 6 + 1)));
        assert!(usable_with_exponent(&BoxedUint::from(65537u64 * 6 + 3)));
        // The remainder is taken over every limb, not just the low one.
        let k = BoxedUint::one_with_precision(1536)
            .shl_vartime(1500)
            .unwrap();
        let p = k
            .concatenating_mul(&BoxedUint::from(65537u64))
            .wrapping_add(BoxedUint::one());
        assert!(!usable_with_exponent(&p));
        assert!(usable_with_exponent(&p.wrapping_add(BoxedUint::from(2u64))));
    }

    #[test]
    fn too_small_a_modulus_is_refused() {
        assert!(rsa_primes(64).is_err());
    }

    #[test]
    fn other_kinds_still_generate() {
        for spec in [
            KeySpec::Ed25519,
            KeySpec::Ecdsa(ssh_key::EcdsaCurve::NistP256),
            KeySpec::Ecdsa(ssh_key::EcdsaCurve::NistP384),
            KeySpec::Ecdsa(ssh_key::EcdsaCurve::NistP521),
        ] {
            let key = generate(spec, "c").unwrap();
            assert_eq!(key.comment().as_str_lossy(), "c");
        }
    }
}
