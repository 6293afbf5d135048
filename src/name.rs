//! Keypair names, by the service's rule: 1 to 64 bytes of ASCII letters,
//! digits, `_` and `-`.

use crate::{Error, Result};

pub const MAX_NAME_LEN: usize = 64;

pub fn validate(name: &str) -> Result<()> {
    let hint = "names are 1 to 64 characters of letters, digits, '_' and '-'";
    if name.is_empty() {
        return Err(Error::invalid_with_hint("keypair name is empty", hint));
    }
    if name.len() > MAX_NAME_LEN {
        return Err(Error::invalid_with_hint(
            format!(
                "keypair name is {} bytes long, more than {MAX_NAME_LEN}",
                name.len()
            ),
            hint,
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'))
    {
        return Err(Error::invalid_with_hint(
            format!("keypair name {name:?} contains {c:?}"),
            hint,
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::validate;

    #[test]
    fn accepts_the_service_alphabet() {
        for ok in ["a", "demo-2", "A_b-C", &"x".repeat(64)] {
            assert!(validate(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn refuses_everything_else() {
        for bad in ["", "a b", "a.b", "ä", "a/b", "a\n", &"x".repeat(65)] {
            assert!(validate(bad).is_err(), "{bad:?}");
        }
    }
}
