//! Secret values that must not leak: zeroized on drop, redacted in `Debug`.

use std::fmt;
use zeroize::Zeroizing;

/// A store passphrase. Its bytes go only to the KDF.
#[derive(Clone)]
pub struct Passphrase(Zeroizing<Vec<u8>>);

impl Passphrase {
    pub fn new(bytes: Vec<u8>) -> Self {
        Passphrase(Zeroizing::new(bytes))
    }

    /// The contents of a passphrase file: one trailing LF or CRLF is not part
    /// of the passphrase (as with restic's and borg's password files).
    pub fn from_file_contents(mut bytes: Vec<u8>) -> Self {
        if bytes.last() == Some(&b'\n') {
            bytes.pop();
            if bytes.last() == Some(&b'\r') {
                bytes.pop();
            }
        }
        Passphrase::new(bytes)
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Passphrase(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::Passphrase;

    #[test]
    fn strips_one_line_ending_only() {
        assert_eq!(
            Passphrase::from_file_contents(b"pw\n".to_vec()).as_bytes(),
            b"pw"
        );
        assert_eq!(
            Passphrase::from_file_contents(b"pw\r\n".to_vec()).as_bytes(),
            b"pw"
        );
        assert_eq!(
            Passphrase::from_file_contents(b"pw\n\n".to_vec()).as_bytes(),
            b"pw\n"
        );
        assert_eq!(
            Passphrase::from_file_contents(b" pw ".to_vec()).as_bytes(),
            b" pw "
        );
    }

    #[test]
    fn debug_is_redacted() {
        let p = Passphrase::new(b"hunter2".to_vec());
        assert!(!format!("{p:?}").contains("hunter2"));
    }
}
