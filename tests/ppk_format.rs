//! .ppk files against PuTTY's own puttygen: what kps writes, puttygen reads
//! (and exports to OpenSSH, which ssh-keygen reads back); what puttygen
//! writes, kps reads. Every algorithm, versions 2 and 3, plain and encrypted.

mod common;
use common::{PASSPHRASE, have_tool};
use kps::ppk::{self, Argon2Flavour, PpkKdf, PpkVersion};
use ssh_key::private::{Ed25519Keypair, KeypairData};
use ssh_key::{Algorithm, EcdsaCurve, PrivateKey, PublicKey};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Cheap Argon2 so that tests spend their time on what they test.
const CHEAP: PpkKdf = PpkKdf {
    flavour: Argon2Flavour::Argon2id,
    memory_kib: 1024,
    passes: 2,
    parallelism: 1,
};

fn have_tools() -> bool {
    // Both checked, so that a skip names every missing tool.
    let puttygen = have_tool("puttygen");
    let ssh_keygen = have_tool("ssh-keygen");
    puttygen && ssh_keygen
}

/// Run a tool and return its stdout; on failure, show what it said.
fn run(command: &mut Command) -> String {
    let output = command
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed ({})\nstdout: {}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

fn puttygen() -> Command {
    Command::new("puttygen")
}

/// A scratch directory with a passphrase file and an empty one.
struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    fn new() -> Scratch {
        let dir = tempfile::tempdir().unwrap();
        // No line feed, so nothing depends on puttygen dropping one.
        std::fs::write(dir.path().join("pass"), PASSPHRASE).unwrap();
        std::fs::write(dir.path().join("empty"), "").unwrap();
        Scratch { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn pass_file(&self) -> PathBuf {
        self.path("pass")
    }

    fn empty_file(&self) -> PathBuf {
        self.path("empty")
    }
}

fn rng() -> rand_core::UnwrapErr<getrandom::SysRng> {
    rand_core::UnwrapErr(getrandom::SysRng)
}

fn read_public(path: &Path) -> PublicKey {
    let line = std::fs::read_to_string(path).unwrap();
    PublicKey::from_openssh(line.trim_end())
        .unwrap_or_else(|e| panic!("not an OpenSSH public key ({e}): {line}"))
}

type Encryption<'a> = Option<(&'a [u8], &'a PpkKdf)>;

fn variants() -> [(PpkVersion, Encryption<'static>); 4] {
    [
        (PpkVersion::V3, None),
        (PpkVersion::V3, Some((PASSPHRASE.as_bytes(), &CHEAP))),
        (PpkVersion::V2, None),
        (PpkVersion::V2, Some((PASSPHRASE.as_bytes(), &CHEAP))),
    ]
}

/// Write `key` as .ppk in every variant and check that puttygen reads it:
/// the public key it exports, the private key it exports (read back by
/// ssh-keygen, which proves PuTTY decrypted and accepted the private part),
/// and its SHA-256 fingerprint.
fn check_puttygen_reads(key: &PrivateKey) {
    if !have_tools() {
        return;
    }
    let scratch = Scratch::new();
    let public = key.public_key().key_data();
    let name = key.algorithm().as_str().to_string();
    for (version, encryption) in variants() {
        let what = format!("{name} {version:?} encrypted={}", encryption.is_some());
        let text = ppk::encode(key, "kps-interop", version, encryption).unwrap();
        let file = scratch.path("key.ppk");
        std::fs::write(&file, text.as_bytes()).unwrap();
        // Only private-openssh needs it, but every command gets it as a user would give it.
        let old_passphrase: Vec<PathBuf> = match encryption {
            Some(_) => vec!["--old-passphrase".into(), scratch.pass_file()],
            None => Vec::new(),
        };

        let out = scratch.path("key.pub");
        run(puttygen()
            .arg(&file)
            .args(["-O", "public-openssh", "-o"])
            .arg(&out)
            .args(&old_passphrase));
        let exported = read_public(&out);
        assert_eq!(exported.key_data(), public, "{what}: public-openssh");
        assert_eq!(exported.comment().as_str_lossy(), "kps-interop", "{what}");

        // Exported without a passphrase, so that ssh-keygen reads it unprompted.
        let openssh = scratch.path("key.openssh");
        let _ = std::fs::remove_file(&openssh);
        run(puttygen()
            .arg(&file)
            .args(["-O", "private-openssh", "-o"])
            .arg(&openssh)
            .args(["-P", "--new-passphrase"])
            .arg(scratch.empty_file())
            .args(&old_passphrase));
        let line = run(Command::new("ssh-keygen").arg("-y").arg("-f").arg(&openssh));
        let from_openssh = PublicKey::from_openssh(line.trim_end()).unwrap();
        assert_eq!(from_openssh.key_data(), public, "{what}: private-openssh");

        let listed = run(puttygen()
            .args(["-l", "-E", "sha256"])
            .arg(&file)
            .args(&old_passphrase));
        let fingerprint = listed
            .split_whitespace()
            .find(|t| t.starts_with("SHA256:"))
            .unwrap_or_else(|| panic!("{what}: no SHA256 fingerprint in {listed:?}"));
        assert_eq!(fingerprint, kps::fingerprint::sha256(public), "{what}");
    }
}

#[test]
fn kps_rsa_ppk_opens_in_puttygen() {
    let key = kps::keygen::generate(kps::algorithm::KeySpec::Rsa(2048), "c").unwrap();
    check_puttygen_reads(&key);
}

#[test]
fn kps_dsa_ppk_opens_in_puttygen() {
    check_puttygen_reads(&PrivateKey::random(&mut rng(), Algorithm::Dsa).unwrap());
}

#[test]
fn kps_ecdsa_ppk_opens_in_puttygen() {
    for curve in [
        EcdsaCurve::NistP256,
        EcdsaCurve::NistP384,
        EcdsaCurve::NistP521,
    ] {
        check_puttygen_reads(&PrivateKey::random(&mut rng(), Algorithm::Ecdsa { curve }).unwrap());
    }
}

#[test]
fn kps_ed25519_ppk_opens_in_puttygen() {
    check_puttygen_reads(&PrivateKey::random(&mut rng(), Algorithm::Ed25519).unwrap());
}

/// Have puttygen generate a key in every variant (and with extra arguments,
/// e.g. another Argon2 flavour) and check that kps reads each to the public
/// key puttygen exports, with its comment.
fn check_kps_reads(key_type: &str, bits: Option<u32>, extra: &[&str]) {
    if !have_tools() {
        return;
    }
    let scratch = Scratch::new();
    for (version, encrypted) in [
        (PpkVersion::V3, false),
        (PpkVersion::V3, true),
        (PpkVersion::V2, false),
        (PpkVersion::V2, true),
    ] {
        let what =
            format!("puttygen -t {key_type} {bits:?} {extra:?} {version:?} encrypted={encrypted}");
        let file = scratch.path("made.ppk");
        let _ = std::fs::remove_file(&file);
        let mut command = puttygen();
        command.args(["-q", "-t", key_type, "-C", "made by puttygen", "-o"]);
        command.arg(&file);
        if let Some(bits) = bits {
            command.arg("-b").arg(bits.to_string());
        }
        // An empty passphrase file makes an unencrypted key, as /dev/null does.
        command.arg("--new-passphrase").arg(if encrypted {
            scratch.pass_file()
        } else {
            scratch.empty_file()
        });
        if version == PpkVersion::V2 {
            command.args(["--ppk-param", "version=2"]);
        }
        run(command.args(extra));

        let text = std::fs::read_to_string(&file).unwrap();
        let header = match version {
            PpkVersion::V2 => "PuTTY-User-Key-File-2: ",
            PpkVersion::V3 => "PuTTY-User-Key-File-3: ",
        };
        assert!(text.starts_with(header), "{what}: {text}");
        assert_eq!(ppk::is_encrypted(&text).unwrap(), encrypted, "{what}");
        let passphrase = encrypted.then_some(PASSPHRASE.as_bytes());
        let key = ppk::decode(&text, passphrase).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(key.comment().as_str_lossy(), "made by puttygen", "{what}");
        if encrypted {
            assert!(
                matches!(
                    ppk::decode(&text, Some(b"wrong")),
                    Err(ppk::PpkError::WrongPassphrase)
                ),
                "{what}"
            );
        }

        let out = scratch.path("made.pub");
        run(puttygen()
            .arg(&file)
            .args(["-O", "public-openssh", "-o"])
            .arg(&out));
        assert_eq!(
            read_public(&out).key_data(),
            key.public_key().key_data(),
            "{what}"
        );
    }
}

#[test]
fn puttygen_rsa_ppk_opens_in_kps() {
    check_kps_reads("rsa", Some(2048), &[]);
}

#[test]
fn puttygen_dsa_ppk_opens_in_kps() {
    // 1024 bits: puttygen keeps a 160-bit q for larger DSA keys, a size
    // the dsa crate (and so kps) does not take.
    check_kps_reads("dsa", Some(1024), &[]);
}

#[test]
fn puttygen_ecdsa_ppk_opens_in_kps() {
    for bits in [256, 384, 521] {
        check_kps_reads("ecdsa", Some(bits), &[]);
    }
}

#[test]
fn puttygen_ed25519_ppk_opens_in_kps() {
    check_kps_reads("ed25519", None, &[]);
    for kdf in ["kdf=argon2i", "kdf=argon2d"] {
        check_kps_reads("ed25519", None, &["--ppk-param", kdf]);
    }
}

/// ssh-key reads the Ed25519 private half of a .ppk as an mpint, but PuTTY
/// writes the 32-byte seed as a fixed-length string: a seed starting with
/// 0x00 then a byte below 0x80 is a non-minimal mpint and ssh-key refuses
/// it. kps writes such keys the way PuTTY does and reads them back.
#[test]
fn ed25519_seed_with_a_leading_zero() {
    let seed = loop {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).unwrap();
        if seed[0] == 0 && seed[1] < 0x80 {
            break seed;
        }
    };
    let key = PrivateKey::new(
        KeypairData::Ed25519(Ed25519Keypair::from_seed(&seed)),
        "trap",
    )
    .unwrap();
    for (version, encryption) in variants() {
        let what = format!("{version:?} encrypted={}", encryption.is_some());
        let text = ppk::encode(&key, "trap", version, encryption).unwrap();
        let passphrase = encryption.map(|(p, _)| p);
        assert_eq!(
            ppk::decode(&text, passphrase).unwrap().key_data(),
            key.key_data(),
            "{what}"
        );
        // The trap, documented: ssh-key cannot read what PuTTY would write.
        let ssh_key_reads =
            PrivateKey::from_ppk(&*text, encryption.map(|_| PASSPHRASE.to_string()));
        assert!(
            ssh_key_reads.is_err(),
            "{what}: ssh-key now reads zero-prefixed seeds"
        );
    }
    check_puttygen_reads(&key);
}
