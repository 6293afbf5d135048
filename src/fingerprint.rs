//! Fingerprints in the forms operators compare: OpenSSH's `SHA256:` (base64,
//! unpadded, exactly as `ssh-keygen -l` prints it) and the colon MD5 form that
//! cloud consoles and `ssh-keygen -E md5` show.

use md5::{Digest, Md5};
use ssh_key::{HashAlg, public::KeyData};

pub fn sha256(key: &KeyData) -> String {
    key.fingerprint(HashAlg::Sha256).to_string()
}

pub fn md5(key: &KeyData) -> String {
    // Encoding a public key we already hold in memory cannot fail.
    let blob = ssh_key::PublicKey::from(key.clone())
        .to_bytes()
        .unwrap_or_default();
    let digest = Md5::digest(&blob);
    let hex: Vec<String> = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("MD5:{}", hex.join(":"))
}
