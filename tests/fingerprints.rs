//! Fingerprints in every vendor's form, each checked against the one openssl
//! computes on the exported key, and `kps find` with each form.

mod common;
use common::*;

/// `openssl <digest> -c` of the DER that `pipeline` writes, as aa:bb:...
fn openssl_digest(kps: &Kps, pipeline: &str) -> String {
    let text = sh(pipeline, kps.dir.path());
    text.rsplit("= ").next().unwrap().trim().to_lowercase()
}

#[test]
fn aws_forms_match_openssl_and_find_accepts_every_form() {
    if !have_tool("openssl") || !have_tool("ssh-keygen") {
        return;
    }
    let kps = Kps::new();
    kps.create("rsa", &["-t", "rsa", "-b", "2048"]);
    kps.create("p256", &["-t", "ecdsa"]);
    kps.create("p384", &["-t", "ecdsa", "-b", "384"]);
    kps.create("ed", &[]);
    for name in ["rsa", "p256", "p384", "ed"] {
        let k = kps.run(&["--json", "show", name]).ok().json()["keypair"].clone();
        // The private key as openssl reads it (traditional PEM, or PKCS#8 for Ed25519).
        let format = if name == "ed" { "pkcs8" } else { "pem" };
        let file = format!("{name}.key");
        kps.run(&["export", name, "--format", format, "-o", &file])
            .ok();
        // AWS's documented recipe for key pairs it created.
        let created = openssl_digest(
            &kps,
            &format!(
                "openssl pkcs8 -in {file} -inform PEM -outform DER -topk8 -nocrypt | openssl sha1 -c"
            ),
        );
        assert_eq!(k["fingerprint_aws_created"], created.as_str(), "{name}");
        // And for imported ones.
        let imported = openssl_digest(
            &kps,
            &format!("openssl pkey -in {file} -pubout -outform DER | openssl md5 -c"),
        );
        assert_eq!(k["fingerprint_aws_imported"], imported.as_str(), "{name}");
        // find, with each form and spelling.
        let sha = k["fingerprint"].as_str().unwrap();
        let md5 = k["fingerprint_md5"].as_str().unwrap();
        let forms = [
            sha.to_string(),
            sha.replacen("SHA256", "sha256", 1),
            sha.trim_start_matches("SHA256:").to_string(),
            md5.to_string(),
            md5.to_uppercase(),
            md5.trim_start_matches("MD5:").replace(':', ""),
            created.clone(),
            created.replace(':', "").to_uppercase(),
            imported.clone(),
            format!("MD5:{imported}"),
        ];
        for form in forms {
            let found = kps.run(&["--json", "find", &form]).ok().json();
            let names: Vec<&str> = found["keypairs"]
                .as_array()
                .unwrap()
                .iter()
                .map(|k| k["keypair"]["name"].as_str().unwrap())
                .collect();
            assert_eq!(names, [name], "{form}");
        }
    }
    // Nothing matches: exit 3 with the service's "no keypair found".
    let run = kps
        .run(&[
            "--json",
            "find",
            "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        ])
        .expect(3);
    assert_eq!(run.error_json()["error_code"], "KPS.6004");
    kps.run(&["find", "not-a-fingerprint"]).expect(2);
}

#[test]
fn public_only_and_older_rows() {
    // A row written before this field existed (by a kps before schema
    // version 3): unknown until the next unlock, which fills it in.
    let mut kps = Kps::empty();
    kps.use_legacy_store();
    let older = kps.run(&["--json", "show", "k"]).ok().json()["keypair"].clone();
    assert!(older["fingerprint_aws_created"].is_null());
    assert!(older["fingerprint_aws_imported"].is_string());
    assert!(
        kps.run(&["show", "k"])
            .ok()
            .stdout()
            .contains("not yet known")
    );
    kps.run(&["export", "k", "-o", "-"]).ok();
    let after = kps.run(&["--json", "show", "k"]).ok().json()["keypair"].clone();
    assert_eq!(after["integrity"], "verified");
    assert_eq!(
        after["fingerprint_aws_imported"],
        older["fingerprint_aws_imported"]
    );
    let before = after;
    assert!(
        before["fingerprint_aws_created"]
            .as_str()
            .is_some_and(|f| f.len() == 59),
        "{before}"
    );
    // A public-key-only keypair has no private-key fingerprint, ever.
    let line = kps.run(&["show", "k", "--public"]).ok().stdout();
    std::fs::write(kps.path("k.pub"), line).unwrap();
    let doc = kps
        .run(&["--json", "import", "pub2", "--public-key", "k.pub"])
        .ok()
        .json();
    assert!(doc["keypair"]["fingerprint_aws_created"].is_null());
    assert_eq!(
        doc["keypair"]["fingerprint_aws_imported"],
        before["fingerprint_aws_imported"]
    );
}
