//! Every reader of outside key data, on arbitrary bytes: private keys in all
//! formats (with and without a key passphrase), public keys, directory
//! classification and the import request. Any panic is a bug.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let pass = kps::secret::Passphrase::new(b"secret".to_vec());
    let _ = kps::parse::private_key(data, None);
    let _ = kps::parse::private_key(data, Some(&pass));
    let _ = kps::parse::public_key(data);
    let _ = kps::parse::classify(data);
    let _ = kps::request::parse(data);
});
