//! A Windows cloud server's initial password: cloudbase-init encrypts it with
//! the RSA public key of the server's keypair (RSAES-PKCS1-v1_5) and the
//! cloud API hands it out base64-encoded, bare or inside JSON (Huawei Cloud
//! ECS `{"password": ...}`, AWS `{"InstanceId", "Timestamp", "PasswordData"}`).
//!
//! The rsa crate decrypts PKCS#1 v1.5 with implicit rejection: the wrong key
//! yields pseudo-random bytes, not an error. Those must never be printed as a
//! password, so the result has to look like one (see [`plausible`]).

use crate::{Error, Result};
use base64ct::Encoding;
use ssh_key::PrivateKey;
use ssh_key::private::KeypairData;
use zeroize::Zeroizing;

/// Password data is a few hundred bytes of base64; anything this large is not it.
pub const MAX_PASSWORD_DATA: usize = 64 * 1024;

/// Windows passwords that clouds set are 8 to 128 characters (Huawei Cloud: 8
/// to 26; cloudbase-init generates 20 by default; AWS about 32). Below 8, a
/// wrong key's pseudo-random output could pass the other checks by chance;
/// from 8 up that takes some 10^-6 per key, and the text checks remain.
const MIN_LEN: usize = 8;
const MAX_LEN: usize = 128;

/// The ciphertext inside password data as an API or a console gives it:
/// bare base64 (line breaks and spaces allowed), Huawei JSON or AWS JSON.
pub fn ciphertext(data: &[u8]) -> Result<Vec<u8>> {
    if data.len() > MAX_PASSWORD_DATA {
        return Err(Error::BadPasswordData(
            "the password data is larger than 64 KiB".into(),
        ));
    }
    let text = std::str::from_utf8(data)
        .map_err(|_| Error::BadPasswordData("the password data is not text".into()))?;
    let text = text.trim_start_matches('\u{feff}').trim();
    let base64: String = if text.starts_with('{') {
        from_json(text)?
    } else {
        text.to_string()
    };
    let compact: String = base64.chars().filter(|c| !c.is_whitespace()).collect();
    if compact.is_empty() {
        return Err(Error::PasswordNotAvailable);
    }
    base64ct::Base64::decode_vec(&compact)
        .or_else(|_| base64ct::Base64Unpadded::decode_vec(compact.trim_end_matches('=')))
        .map_err(|_| Error::BadPasswordData("the password data is not valid base64".into()))
}

fn from_json(text: &str) -> Result<String> {
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| Error::BadPasswordData(format!("the password data is not valid JSON: {e}")))?;
    // Huawei Cloud ECS os-server-password, then AWS get-password-data.
    for field in ["password", "PasswordData"] {
        match value.get(field) {
            Some(serde_json::Value::String(s)) => return Ok(s.clone()),
            Some(serde_json::Value::Null) => return Err(Error::PasswordNotAvailable),
            Some(_) => {
                return Err(Error::BadPasswordData(format!(
                    "the JSON field \"{field}\" is not a string"
                )));
            }
            None => {}
        }
    }
    Err(Error::BadPasswordData(
        "the JSON has no password field (Huawei Cloud \"password\" or AWS \"PasswordData\")".into(),
    ))
}

/// Decrypt `ciphertext` with `key`, which must be RSA; `name` is for messages.
pub fn decrypt(key: &PrivateKey, ciphertext: &[u8], name: &str) -> Result<Zeroizing<String>> {
    let KeypairData::Rsa(pair) = key.key_data() else {
        return Err(not_rsa(name, key.algorithm().as_str()));
    };
    let rsa =
        rsa::PrivateKey::try_from(pair).map_err(|_| Error::bad_key("the RSA key is unusable"))?;
    let size = rsa::traits::PublicKeyParts::size(&rsa);
    if ciphertext.len() != size {
        return Err(Error::BadPasswordData(format!(
            "the encrypted password is {} bytes; a {}-bit key gives {size}: \
             it is truncated, or not for this keypair",
            ciphertext.len(),
            size * 8
        )));
    }
    let plain = Zeroizing::new(
        rsa.decrypt_blinded(&mut getrandom::SysRng, rsa::Pkcs1v15Encrypt, ciphertext)
            .map_err(|_| not_for(name))?,
    );
    plausible(&plain).ok_or_else(|| not_for(name))
}

/// The decrypted bytes as a password, if they can be one: UTF-8, no control
/// characters, 8 to 128 characters.
fn plausible(bytes: &[u8]) -> Option<Zeroizing<String>> {
    let text = std::str::from_utf8(bytes).ok()?;
    let chars = text.chars().count();
    if !(MIN_LEN..=MAX_LEN).contains(&chars) || text.chars().any(char::is_control) {
        return None;
    }
    Some(Zeroizing::new(text.to_string()))
}

pub fn not_rsa(name: &str, algorithm: &str) -> Error {
    Error::NotForWindowsPassword(format!(
        "Windows password retrieval needs the RSA keypair the server was created with; \
         '{name}' is {algorithm}"
    ))
}

fn not_for(name: &str) -> Error {
    Error::NotForWindowsPassword(format!(
        "this password data was not encrypted for keypair '{name}'"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_form_of_password_data() {
        let bytes = [7u8; 20];
        let b64 = base64ct::Base64::encode_string(&bytes);
        let wrapped = format!("{}\n{}\n", &b64[..10], &b64[10..]);
        for input in [
            b64.clone(),
            wrapped,
            format!("  {b64}  \r\n"),
            format!("{{\"password\": \"{b64}\"}}"),
            format!(
                "{{\"InstanceId\": \"i-1\", \"Timestamp\": \"2026-01-01T00:00:00Z\", \
                 \"PasswordData\": \"\\n{b64}\\n\"}}"
            ),
        ] {
            assert_eq!(ciphertext(input.as_bytes()).unwrap(), bytes, "{input}");
        }
    }

    #[test]
    fn empty_data_is_not_available_yet() {
        for input in [
            "",
            "  \n",
            r#"{"password": ""}"#,
            r#"{"InstanceId": "i", "PasswordData": "\n "}"#,
        ] {
            assert!(
                matches!(
                    ciphertext(input.as_bytes()),
                    Err(Error::PasswordNotAvailable)
                ),
                "{input}"
            );
        }
    }

    #[test]
    fn bad_data_says_what_is_wrong() {
        for (input, says) in [
            ("not base64!", "base64"),
            (r#"{"InstanceId": "i-1"}"#, "no password field"),
            (r#"{"password": 5}"#, "not a string"),
            ("{broken", "not valid JSON"),
        ] {
            let err = ciphertext(input.as_bytes()).unwrap_err().to_string();
            assert!(err.contains(says), "{input}: {err}");
        }
        assert!(ciphertext(&[0xff, 0xfe]).is_err());
    }

    #[test]
    fn only_text_of_a_password_length_passes() {
        assert!(plausible(b"Sup3r-S3cret!").is_some());
        assert!(plausible("Pässwört-ünïcode".as_bytes()).is_some());
        assert!(plausible(b"short").is_none());
        assert!(plausible(b"with\nnewline").is_none());
        assert!(plausible(&[0xc3, 0x28, 0x41, 0x41, 0x41, 0x41, 0x41, 0x41]).is_none());
        assert!(plausible(&[b'a'; 129]).is_none());
    }
}
