//! The store (kps::store): inserting a keypair (what `create` does after
//! generating), listing 1,000 keypairs, reading one record (`show`), and
//! opening a private key (what `export`, `export-ppk` and
//! `get-win-password` do after the unlock).

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use kps::algorithm::KeySpec;
use kps::keygen;
use kps::keypair::{Encryption, NewKeypair};
use kps::secret::Passphrase;
use kps::store::{KdfParams, Material, Openers, Sealers, Store, WriteKeys};
use ssh_key::{EcdsaCurve, PrivateKey};
use std::hint::black_box;
use std::path::Path;

/// The cheapest KDF cost kps accepts: these benches are about the store,
/// not Argon2.
const TOKEN_KDF: KdfParams = KdfParams {
    memory_kib: KdfParams::MIN_MEMORY_KIB,
    passes: KdfParams::MIN_PASSES,
    parallelism: 1,
};

fn passphrase() -> Passphrase {
    Passphrase::new(b"bench passphrase".to_vec())
}

fn new_keypair(name: String) -> NewKeypair {
    NewKeypair {
        name,
        description: None,
        user_id: None,
        encryption: Encryption::Default,
    }
}

/// A new store in `dir`, and what writes to it need (its identity and row
/// key). Its pin goes to a config directory inside `dir`, not the home's.
fn new_store(dir: &Path) -> (Store, WriteKeys) {
    // SAFETY: benchmark functions run one after another on the main thread,
    // and nothing here reads the environment concurrently.
    unsafe { std::env::set_var("XDG_CONFIG_HOME", dir.join("config")) };
    let store = Store::open(dir).unwrap();
    store.initialise(&passphrase(), TOKEN_KDF).unwrap();
    let keys = store
        .write_keys(
            true,
            TOKEN_KDF,
            |store| store.unlock(&passphrase()),
            || Ok(passphrase()),
        )
        .unwrap();
    (store, keys)
}

/// One key of each kind `list` shows most: the same mix as bench/peers.sh.
fn template_keys() -> Vec<PrivateKey> {
    [
        KeySpec::Ed25519,
        KeySpec::Ecdsa(EcdsaCurve::NistP256),
        KeySpec::Rsa(3072),
    ]
    .into_iter()
    .map(|spec| keygen::generate(spec, "bench").unwrap())
    .collect()
}

fn insert(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let (store, keys) = new_store(dir.path());
    let sealers = Sealers {
        identity: keys.identity.as_ref(),
        kms: None,
        row_key: keys.row_key.as_ref(),
    };
    let key = keygen::generate(KeySpec::Ed25519, "bench").unwrap();
    let mut n = 0u64;
    // Each insert is a committed transaction with synchronous = FULL: its
    // time is mostly the file system's fsync.
    c.bench_function("store/insert-ed25519", |b| {
        b.iter_batched(
            || {
                n += 1;
                new_keypair(format!("k{n}"))
            },
            |meta| {
                store
                    .insert(&meta, Material::Private(&key), sealers)
                    .unwrap()
            },
            BatchSize::SmallInput,
        )
    });
}

fn read(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let (store, keys) = new_store(dir.path());
    let sealers = Sealers {
        identity: keys.identity.as_ref(),
        kms: None,
        row_key: keys.row_key.as_ref(),
    };
    let keys = template_keys();
    let items: Vec<_> = (0..1000)
        .map(|i| {
            (
                new_keypair(format!("k{i:04}")),
                Material::Private(&keys[i % keys.len()]),
            )
        })
        .collect();
    store.insert_all(&items, sealers).unwrap();
    let rsa = keygen::generate(KeySpec::Rsa(4096), "bench").unwrap();
    store
        .insert(
            &new_keypair("rsa4096".into()),
            Material::Private(&rsa),
            sealers,
        )
        .unwrap();
    drop(store);

    let mut group = c.benchmark_group("store");
    group.bench_function("open", |b| {
        b.iter(|| Store::open(black_box(dir.path())).unwrap())
    });
    let store = Store::open(dir.path()).unwrap();
    group.bench_function("list-1000", |b| {
        // As `kps list` reads them: one keypair at a time.
        b.iter(|| {
            let mut count = 0;
            store
                .each(|k| {
                    black_box(&k);
                    count += 1;
                    Ok::<_, kps::Error>(())
                })
                .unwrap();
            assert_eq!(count, 1001);
        })
    });
    group.bench_function("get-of-1000", |b| {
        b.iter(|| store.get(black_box("k0500")).unwrap())
    });
    let identity = store.unlock(&passphrase()).unwrap();
    let openers = Openers {
        identity: Some(&identity),
        kms: None,
    };
    // Opening checks the key against its stored public key (RSA: n = p * q,
    // d, the CRT values): the work between unlock and output.
    group.bench_function("private-key-rsa4096", |b| {
        b.iter(|| store.private_key(black_box("rsa4096"), openers).unwrap())
    });
    group.bench_function("private-key-ed25519", |b| {
        b.iter(|| store.private_key(black_box("k0000"), openers).unwrap())
    });
    group.finish();
}

criterion_group!(benches, insert, read);
criterion_main!(benches);
