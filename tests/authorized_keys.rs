//! kps::remote::authorized_keys read side by side with OpenSSH's own reader:
//! `ssh-keygen -l -f FILE` parses an authorized_keys file as sshd does
//! (options, CRLF, lines it skips), so the keys it lists must be the keys
//! `entries` finds, before and after `add` and `remove`.

mod common;
use base64ct::{Base64Unpadded, Encoding};
use common::{have_tool, tool_ok};
use kps::remote::authorized_keys as ak;
use sha2::{Digest, Sha256};
use std::path::Path;

fn keygen(dir: &Path, name: &str, args: &[&str]) -> String {
    let path = dir.join(name);
    let mut all: Vec<&dyn AsRef<std::ffi::OsStr>> = vec![&"-q", &"-N", &"", &"-C", &name];
    for a in args {
        all.push(a);
    }
    all.push(&"-f");
    all.push(&path);
    tool_ok("ssh-keygen", &all);
    std::fs::read_to_string(dir.join(format!("{name}.pub")))
        .unwrap()
        .trim_end()
        .to_string()
}

/// The SHA256 fingerprints ssh-keygen lists for `content`, in order.
fn keygen_fingerprints(dir: &Path, content: &[u8]) -> Vec<String> {
    let file = dir.join("authorized_keys");
    std::fs::write(&file, content).unwrap();
    tool_ok("ssh-keygen", &[&"-l", &"-E", &"sha256", &"-f", &file])
        .lines()
        .map(|l| l.split_whitespace().nth(1).unwrap().to_string())
        .collect()
}

fn fingerprint(blob: &[u8]) -> String {
    format!(
        "SHA256:{}",
        Base64Unpadded::encode_string(&Sha256::digest(blob))
    )
}

/// What `entries` finds, as ssh-keygen shows it: a certificate by the
/// fingerprint of the key it certifies (`certified`, the one certificate here).
fn ours(content: &[u8], certified: &str) -> Vec<String> {
    ak::entries(content)
        .iter()
        .map(|e| match e.algorithm.ends_with("-cert-v01@openssh.com") {
            true => certified.to_string(),
            false => fingerprint(&e.blob),
        })
        .collect()
}

#[test]
fn entries_are_the_keys_ssh_keygen_reads() {
    if !have_tool("ssh-keygen") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let alice = keygen(dir, "alice", &["-t", "ed25519"]);
    let ops = keygen(dir, "ops", &["-t", "ecdsa", "-b", "384"]);
    let rsa = keygen(dir, "rsa", &["-t", "rsa", "-b", "2048"]);
    let ca = keygen(dir, "ca", &["-t", "ed25519"]);
    let bob = keygen(dir, "bob", &["-t", "ed25519"]);
    tool_ok(
        "ssh-keygen",
        &[
            &"-q",
            &"-s",
            &dir.join("ca"),
            &"-I",
            &"bob",
            &"-n",
            &"root",
            &dir.join("bob.pub"),
        ],
    );
    let bob_cert = std::fs::read_to_string(dir.join("bob-cert.pub")).unwrap();
    let bob_fp = fingerprint(&ak::entries(bob.as_bytes())[0].blob);

    let mut file = Vec::new();
    file.extend_from_slice(b"# keys for root\r\n\r\n");
    file.extend_from_slice(format!("command=\"echo a, b\",from=\"10.0.0.1\" {alice}\n").as_bytes());
    file.extend_from_slice(format!("{ops}\r\n").as_bytes());
    file.extend_from_slice(b"this is not a key\n");
    file.extend_from_slice(format!("cert-authority,principals=\"root\" {ca}\n").as_bytes());
    file.extend_from_slice(bob_cert.as_bytes());
    file.extend_from_slice(
        format!(
            "no-port-forwarding,command=\"echo 'Please login as the user \\\"debian\\\".';exit 142\" {alice}\n"
        )
        .as_bytes(),
    );
    file.extend_from_slice(format!("{rsa} caf").as_bytes());
    file.extend_from_slice(b"\xe9 \x1b[31m"); // Latin-1 and an escape, no final newline

    let listed = keygen_fingerprints(dir, &file);
    assert_eq!(listed.len(), 6, "{listed:?}");
    assert_eq!(ours(&file, &bob_fp), listed);

    // add: the new key is read after every old one, which all stay.
    let added = ak::add(&file, &bob).unwrap();
    assert!(added.changed);
    let after = keygen_fingerprints(dir, &added.content);
    assert_eq!(after[..6], listed[..]);
    assert_eq!(after[6], bob_fp);
    // bob's certificate was there, but a certificate is not the key.
    assert_eq!(after.iter().filter(|f| **f == bob_fp).count(), 2);
    assert_eq!(ours(&added.content, &bob_fp), after);

    // remove: both of alice's lines go, nothing else.
    let alice_blob = ak::entries(alice.as_bytes())[0].blob.clone();
    let removed = ak::remove(&added.content, &alice_blob);
    assert_eq!(removed.lines_removed, 2);
    let left = keygen_fingerprints(dir, &removed.content);
    let alice_fp = fingerprint(&alice_blob);
    let expected: Vec<_> = after.iter().filter(|f| **f != alice_fp).cloned().collect();
    assert_eq!(left, expected);
    assert_eq!(ours(&removed.content, &bob_fp), left);
    // The bytes around them are the file's own.
    assert!(removed.content.starts_with(b"# keys for root\r\n\r\n"));
    // ops, rsa and bob are left; the CA line and bob's certificate do not
    // count as a way in.
    assert_eq!(ak::other_keys(&removed.content, &alice_blob), 3);
}
