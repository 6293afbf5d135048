//! The Windows password-data reader (bare base64, Huawei and AWS JSON) on
//! arbitrary bytes, then decryption of whatever it yields with a fixed key.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn key() -> &'static ssh_key::PrivateKey {
    static KEY: OnceLock<ssh_key::PrivateKey> = OnceLock::new();
    KEY.get_or_init(|| {
        kps::keygen::generate(kps::algorithm::KeySpec::Rsa(2048), "fuzz").expect("keygen")
    })
}

fuzz_target!(|data: &[u8]| {
    if let Ok(ciphertext) = kps::winpass::ciphertext(data) {
        let _ = kps::winpass::decrypt(key(), &ciphertext, "fuzz");
    }
});
