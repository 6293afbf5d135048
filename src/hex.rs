//! Hex as kps writes it in text files and listings: KMS key ids, .ppk salts
//! and MACs, store pins, temporary names. Lowercase out; either case in.

pub fn encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The bytes of `text`, which must be an even number of hex digits and
/// nothing else (no sign, no space, no prefix).
pub fn decode(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    text.as_bytes()
        .chunks(2)
        .map(|pair| {
            let digit = |c: u8| char::from(c).to_digit(16);
            match pair {
                [high, low] => Some((digit(*high)? * 16 + digit(*low)?) as u8),
                _ => None,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_what_is_not_hex() {
        assert_eq!(encode(&[0, 1, 0xab, 0xff]), "0001abff");
        assert_eq!(decode("0001ABff").unwrap(), [0, 1, 0xab, 0xff]);
        for bad in ["abc", "zz", "0g", "+f", " 0", "0x"] {
            assert!(decode(bad).is_none(), "{bad}");
        }
    }
}
