//! The SSH agent protocol decoder on arbitrary bytes: the frame reader, then
//! the request and response parsers on what it returns, and on the raw input.
#![no_main]

use kps::agent::proto;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut stream = data;
    while let Ok(Some(message)) = proto::read_message(&mut stream) {
        let _ = proto::decode_request(&message);
        let _ = proto::decode_response(&message);
    }
    let _ = proto::decode_request(data);
    let _ = proto::decode_response(data);
});
