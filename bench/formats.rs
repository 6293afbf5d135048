//! Writing keys out: PuTTY .ppk (kps::ppk), PEM and OpenSSH (kps::export),
//! and decrypting Windows password data (kps::winpass), all for RSA 4096.

use criterion::{Criterion, criterion_group, criterion_main};
use kps::algorithm::KeySpec;
use kps::export::{self, Format};
use kps::ppk::{self, PpkKdf, PpkVersion};
use kps::{keygen, winpass};
use ssh_key::private::KeypairData;
use std::hint::black_box;

fn rsa4096() -> ssh_key::PrivateKey {
    keygen::generate(KeySpec::Rsa(4096), "bench").unwrap()
}

fn ppk_encoding(c: &mut Criterion) {
    let key = rsa4096();
    let mut group = c.benchmark_group("ppk");
    group.bench_function("encode-v3-rsa4096", |b| {
        b.iter(|| ppk::encode(black_box(&key), "bench", PpkVersion::V3, None).unwrap())
    });
    group.bench_function("encode-v2-rsa4096", |b| {
        b.iter(|| ppk::encode(black_box(&key), "bench", PpkVersion::V2, None).unwrap())
    });
    // The default KDF (Argon2id 8 MiB, 32 passes) is meant to take about
    // 100 ms: few samples.
    group.sample_size(10);
    let kdf = PpkKdf::default();
    group.bench_function("encode-v3-rsa4096-encrypted-default-kdf", |b| {
        b.iter(|| {
            ppk::encode(
                black_box(&key),
                "bench",
                PpkVersion::V3,
                Some((b"ppk passphrase", &kdf)),
            )
            .unwrap()
        })
    });
    group.finish();
}

fn exports(c: &mut Criterion) {
    let key = rsa4096();
    let mut group = c.benchmark_group("export");
    for (name, format) in [
        ("openssh-rsa4096", Format::OpenSsh),
        ("pem-rsa4096", Format::Pem),
        ("pkcs8-rsa4096", Format::Pkcs8),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| export::private_pem(black_box(&key), format).unwrap())
        });
    }
    group.finish();
}

fn windows_password(c: &mut Criterion) {
    let key = rsa4096();
    let KeypairData::Rsa(pair) = key.key_data() else {
        unreachable!()
    };
    let public = rsa::PrivateKey::try_from(pair).unwrap().to_public_key();
    let ciphertext = public
        .encrypt(
            &mut getrandom::SysRng,
            rsa::Pkcs1v15Encrypt,
            b"Bench-Passw0rd-1234",
        )
        .unwrap();
    let data = format!(
        "{{\"password\": \"{}\"}}",
        <base64ct::Base64 as base64ct::Encoding>::encode_string(&ciphertext)
    );

    let mut group = c.benchmark_group("winpass");
    group.bench_function("decrypt-rsa4096", |b| {
        b.iter(|| {
            let password = winpass::decrypt(black_box(&key), &ciphertext, "bench").unwrap();
            assert_eq!(password.as_str(), "Bench-Passw0rd-1234");
        })
    });
    // decrypt's two parts, to see where the time goes: the ssh-key RSA
    // keypair into an rsa::PrivateKey (which validates and precomputes the
    // CRT values), and the blinded PKCS#1 v1.5 decryption itself.
    group.bench_function("rsa-key-from-ssh-key-4096", |b| {
        b.iter(|| rsa::PrivateKey::try_from(black_box(pair)).unwrap())
    });
    let rsa_key = rsa::PrivateKey::try_from(pair).unwrap();
    group.bench_function("rsa-decrypt-blinded-4096", |b| {
        b.iter(|| {
            rsa_key
                .decrypt_blinded(
                    &mut getrandom::SysRng,
                    rsa::Pkcs1v15Encrypt,
                    black_box(&ciphertext),
                )
                .unwrap()
        })
    });
    group.bench_function("password-data-json", |b| {
        b.iter(|| winpass::ciphertext(black_box(data.as_bytes())).unwrap())
    });
    group.finish();
}

criterion_group!(benches, ppk_encoding, exports, windows_password);
criterion_main!(benches);
