//! The .ppk reader alone, on arbitrary text, with and without a passphrase.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = kps::ppk::is_encrypted(text);
        let _ = kps::ppk::decode(text, None);
        let _ = kps::ppk::decode(text, Some(b"secret"));
    }
});
