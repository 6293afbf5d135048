//! Key generation per algorithm, as `kps create` does it (kps::keygen).
//!
//! RSA generation time is random (a prime search), so its samples vary a lot;
//! the RSA group takes few flat samples over a longer measurement time, and
//! runs rsa's own single-threaded generator beside kps's for comparison.

use criterion::{Criterion, SamplingMode, criterion_group, criterion_main};
use kps::algorithm::KeySpec;
use kps::keygen;
use ssh_key::EcdsaCurve;
use std::hint::black_box;
use std::time::Duration;

fn small_keys(c: &mut Criterion) {
    let mut group = c.benchmark_group("keygen");
    for (name, spec) in [
        ("ed25519", KeySpec::Ed25519),
        ("ecdsa-p256", KeySpec::Ecdsa(EcdsaCurve::NistP256)),
        ("ecdsa-p384", KeySpec::Ecdsa(EcdsaCurve::NistP384)),
        ("ecdsa-p521", KeySpec::Ecdsa(EcdsaCurve::NistP521)),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| keygen::generate(black_box(spec), "bench").unwrap())
        });
    }
    group.finish();
}

fn rsa_keys(c: &mut Criterion) {
    let mut group = c.benchmark_group("keygen");
    group.sample_size(10).sampling_mode(SamplingMode::Flat);
    for bits in [2048, 3072, 4096] {
        // 20 to 40 keys a size: fewer would say little about a mean.
        group.measurement_time(Duration::from_secs(match bits {
            2048 => 4,
            3072 => 8,
            _ => 16,
        }));
        group.bench_function(format!("rsa-{bits}"), |b| {
            b.iter(|| keygen::generate(black_box(KeySpec::Rsa(bits)), "bench").unwrap())
        });
        group.bench_function(format!("rsa-{bits}-rsa-crate-one-thread"), |b| {
            b.iter(|| {
                rsa::PrivateKey::new(&mut getrandom::SysRng, black_box(bits as usize)).unwrap()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, small_keys, rsa_keys);
criterion_main!(benches);
