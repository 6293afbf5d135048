//! Issue 14's interop sweep: keys made by ssh-keygen, openssl and puttygen in
//! every private-key format they write, imported by kps. Every fingerprint
//! kps computes must equal the one the making tool gives, and one key of
//! each batch goes into a store, comes back out as an OpenSSH key and is
//! read by `ssh-keygen -y`. puttygen's keys come 60 of each small kind, so
//! that shapes that occur in half its keys (its SEC1 export writes a scalar
//! with the top bit set in 33 bytes) or in 1 of 256 are met; the 1,200
//! ssh-keygen P-256 and Ed25519 keys are tests/import_openssh.rs's sweep.
//!
//! `#[ignore]`d in a plain `cargo test`; `.ci/run` runs it
//! (`cargo test --test import_sweep -- --ignored`).

mod common;
use common::*;
use std::collections::BTreeMap;
use std::path::Path;

const KEY_PASS: &str = "sweep pass";

/// One batch: a shell script that fills `keys/` with private key files
/// and writes `expect`, one line per key: its file name (the keypair name
/// kps gives it) and the SHA-256 fingerprint the making tool reports.
struct Batch {
    name: &'static str,
    tools: &'static [&'static str],
    script: String,
    encrypted: bool,
}

/// Shell helpers every batch script starts with. `fp FILE.pub` prints the
/// fingerprint ssh-keygen gives a public key file.
const PRELUDE: &str = r#"
set -eu
mkdir -p keys
: > expect
printf '%s\n' "$KEY_PASS" > pass
fp() { ssh-keygen -lf "$1" | awk '{print $2}'; }
"#;

fn ssh_keygen_batch(name: &'static str, t: &str, bits: u32, n: u32) -> Batch {
    Batch {
        name,
        tools: &["ssh-keygen"],
        script: format!(
            r#"i=0; while [ $i -lt {n} ]; do
  ssh-keygen -q -t {t} -b {bits} -N '' -C k$i -f keys/k$i
  echo "k$i $(fp keys/k$i.pub)" >> expect; rm keys/k$i.pub; i=$((i+1))
done"#
        ),
        encrypted: false,
    }
}

/// One key of each kind from ssh-keygen, written in OpenSSH, PEM and PKCS#8
/// form and encrypted with every cipher OpenSSH offers.
fn ssh_keygen_formats() -> Batch {
    Batch {
        name: "ssh-keygen formats",
        tools: &["ssh-keygen"],
        script: r#"
for spec in "ed25519 256" "ecdsa 256" "ecdsa 384" "ecdsa 521" "rsa 2048" "rsa 3072" "rsa 4096"; do
  set -- $spec; base=$1$2
  ssh-keygen -q -t $1 -b $2 -N '' -C $base -f src-$base
  f=$(fp src-$base.pub)
  for c in $(ssh -Q cipher); do
    n=$base-$(echo $c | tr -dc 'a-z0-9')
    cp src-$base keys/$n; ssh-keygen -q -p -N "$KEY_PASS" -Z $c -f keys/$n >/dev/null
    echo "$n $f" >> expect
  done
  if [ $1 != ed25519 ]; then
    for m in PEM PKCS8; do
      cp src-$base keys/$base-$m; ssh-keygen -q -p -N '' -m $m -f keys/$base-$m >/dev/null
      echo "$base-$m $f" >> expect
    done
  fi
done"#
            .to_string(),
        encrypted: true,
    }
}

/// openssl's own keys: PKCS#8, traditional (PKCS#1 / SEC1) and encrypted
/// PKCS#8 (PBES2, AES-256-CBC). The expected fingerprint comes from
/// `ssh-keygen -y` of the PEM; for Ed25519, which ssh-keygen cannot read
/// as PKCS#8, from the raw public key openssl prints.
fn openssl_formats() -> Batch {
    Batch {
        name: "openssl formats",
        tools: &["openssl", "ssh-keygen"],
        script: r#"
i=0; while [ $i -lt 4 ]; do
  openssl genpkey -algorithm ed25519 -out keys/ed$i 2>/dev/null
  raw=$(openssl pkey -in keys/ed$i -pubout -outform DER | tail -c 32 | od -An -v -tx1 | tr -d ' \n')
  blob=$(perl -e 'print pack("N/a* N/a*", "ssh-ed25519", pack("H*", $ARGV[0]))' $raw | base64 -w0)
  echo "ssh-ed25519 $blob" > ed$i.pub
  echo "ed$i $(fp ed$i.pub)" >> expect
  i=$((i+1))
done
for spec in "EC:P-256 p256" "EC:P-384 p384" "EC:P-521 p521" "RSA:2048 rsa2048" "RSA:3072 rsa3072" "RSA:4096 rsa4096"; do
  set -- $spec; base=$2
  case $1 in
    EC:*) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:${1#EC:} -out src-$base 2>/dev/null
          openssl ec -in src-$base -out keys/$base-sec1 2>/dev/null ;;
    RSA:*) openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:${1#RSA:} -out src-$base 2>/dev/null
           openssl rsa -traditional -in src-$base -out keys/$base-pkcs1 2>/dev/null ;;
  esac
  cp src-$base keys/$base-pkcs8
  openssl pkcs8 -topk8 -v2 aes-256-cbc -passout "pass:$KEY_PASS" -in src-$base -out keys/$base-enc
  ssh-keygen -y -f src-$base > src-$base.pub
  f=$(fp src-$base.pub)
  for k in keys/$base-*; do echo "${k#keys/} $f" >> expect; done
done"#
            .to_string(),
        encrypted: true,
    }
}

/// puttygen's keys: .ppk version 3 and 2, plain and encrypted, and its two
/// OpenSSH exports. `n` keys of each of the small kinds, one RSA of each size.
fn puttygen_formats(n: u32) -> Batch {
    Batch {
        name: "puttygen formats",
        tools: &["puttygen", "ssh-keygen"],
        script: format!(
            r#"
: > empty
emit() {{ # KIND BITS NAME
  puttygen -q -t $1 -b $2 -C $3 -o src-$3.ppk --random-device /dev/urandom --new-passphrase empty
  puttygen src-$3.ppk -L > src-$3.pub
  f=$(fp src-$3.pub)
  cp src-$3.ppk keys/$3-v3.ppk
  puttygen src-$3.ppk --reencrypt -o keys/$3-v2.ppk --ppk-param version=2
  puttygen src-$3.ppk -P --old-passphrase empty --new-passphrase pass -o keys/$3-v3enc.ppk --ppk-param passes=1,memory=8192
  puttygen src-$3.ppk -P --old-passphrase empty --new-passphrase pass -o keys/$3-v2enc.ppk --ppk-param version=2
  puttygen src-$3.ppk -O private-openssh-new -o keys/$3-openssh
  for k in v3 v2 v3enc v2enc; do echo "$3-$k $f" >> expect; done
  echo "$3-openssh $f" >> expect
  if [ $1 != ed25519 ]; then
    puttygen src-$3.ppk -O private-openssh -o keys/$3-pem; echo "$3-pem $f" >> expect
  fi
}}
i=0; while [ $i -lt {n} ]; do
  emit ed25519 256 ed$i; emit ecdsa 256 p256-$i
  i=$((i+1))
done
emit ecdsa 384 p384; emit ecdsa 521 p521
emit rsa 2048 rsa2048; emit rsa 3072 rsa3072; emit rsa 4096 rsa4096"#
        ),
        encrypted: true,
    }
}

fn expected(dir: &Path) -> BTreeMap<String, String> {
    std::fs::read_to_string(dir.join("expect"))
        .unwrap()
        .lines()
        .map(|l| {
            let (name, fp) = l.split_once(' ').unwrap();
            (name.to_string(), fp.to_string())
        })
        .collect()
}

/// Import a batch (dry run: every file parsed, checked and fingerprinted,
/// nothing stored), compare every fingerprint, then store the first key and
/// read its OpenSSH export back with ssh-keygen.
fn run_batch(kps: &Kps, batch: &Batch) -> Result<(), String> {
    let dir = kps.path(&batch.name.replace(' ', "-"));
    std::fs::create_dir_all(&dir).unwrap();
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{PRELUDE}{}", batch.script))
        .current_dir(&dir)
        .env("KEY_PASS", KEY_PASS)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    if !out.status.success() {
        return Err(format!(
            "{}: making the keys failed: {}",
            batch.name,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let want = expected(&dir);
    let keys = dir.join("keys");
    let pass = dir.join("pass");
    let mut args = vec![
        "--json",
        "import",
        "--from-dir",
        keys.to_str().unwrap(),
        "--dry-run",
    ];
    if batch.encrypted {
        args.extend(["--key-passphrase-file", pass.to_str().unwrap()]);
    }
    let run = kps.run(&args);
    if run.code() != 0 {
        return Err(format!(
            "{}: kps refused keys the tools made:\n{}",
            batch.name,
            run.stderr()
        ));
    }
    let doc = run.json();
    let got: BTreeMap<String, String> = doc["keypairs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            (
                k["keypair"]["name"].as_str().unwrap().to_string(),
                k["keypair"]["fingerprint"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    if got != want {
        return Err(format!("{}: fingerprints differ", batch.name));
    }

    // Round trip of one key: stored, exported, read by ssh-keygen.
    let (first, fp) = want.iter().next().unwrap();
    let file = keys.join(
        std::fs::read_dir(&keys)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .find(|f| {
                Path::new(f).file_stem().unwrap().to_str().unwrap() == first
                    || f.to_str() == Some(first)
            })
            .unwrap(),
    );
    let name = format!("rt-{}", kps_name(batch.name));
    let mut args = vec!["import", &name, "--private-key", file.to_str().unwrap()];
    if batch.encrypted {
        args.extend(["--key-passphrase-file", pass.to_str().unwrap()]);
    }
    kps.run(&args).ok();
    let exported = kps.path(&format!("{name}.key"));
    kps.run(&[
        "export",
        &name,
        "--format",
        "openssh",
        "-o",
        exported.to_str().unwrap(),
    ])
    .ok();
    let public = tool_ok("ssh-keygen", &[&"-y", &"-f", &exported]);
    std::fs::write(kps.path(&format!("{name}.pub")), public).unwrap();
    let back = tool_ok("ssh-keygen", &[&"-lf", &kps.path(&format!("{name}.pub"))]);
    assert_eq!(back.split_whitespace().nth(1), Some(fp.as_str()), "{name}");
    Ok(())
}

fn kps_name(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

#[test]
#[ignore = "the interop sweep: run by .ci/run (cargo test --test import_sweep -- --ignored)"]
fn keys_from_the_peer_tools_import_with_their_own_fingerprints() {
    // 600 P-256 and 600 Ed25519 keys from ssh-keygen, in OpenSSH and .ppk
    // form, are tests/import_openssh.rs's sweep; here the other sizes.
    let batches = [
        ssh_keygen_batch("ssh-keygen p384", "ecdsa", 384, 40),
        ssh_keygen_batch("ssh-keygen p521", "ecdsa", 521, 40),
        ssh_keygen_formats(),
        openssl_formats(),
        // Ed25519 seeds with a zero top byte (1 in 256) trip ssh-key's
        // .ppk reader.
        puttygen_formats(60),
    ];
    let kps = Kps::new();
    // Every batch runs, so that one failure does not hide another.
    let failures: Vec<String> = batches
        .iter()
        .filter(|b| b.tools.iter().all(|t| have_tool(t)))
        .filter_map(|b| run_batch(&kps, b).err())
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
