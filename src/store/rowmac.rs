//! Authenticating keypair rows: an HMAC-SHA-256 over every column kps shows
//! or acts on, with a key derived from the store identity's secret. A row
//! that someone without the passphrase planted or edited does not verify.
//!
//! The key is derived from the identity secret (so only the passphrase's
//! holder can make it) and a copy is kept in the store's pin in the user's
//! config directory, so that `create` and `import` can authenticate their
//! rows without asking for the passphrase, and `list` and `show` can check
//! rows without it.

use crate::keypair::Keypair;
use crate::team::{Member, MemberSigningKey};
use ed25519_dalek::Signature;
use hmac::{KeyInit, Mac};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use zeroize::Zeroizing;

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// The row-authentication key. Not a key that opens anything: whoever has
/// it can forge rows, not read private keys.
///
/// In a personal store it is the HMAC key above. In a team store (issue 18)
/// there is no key every member shares: a row's tag is the Ed25519
/// signature of the member who wrote it over the same bytes the HMAC would
/// take, with the member's name in front, and it verifies only under the
/// key of a member of the verified member list ([`TeamRows`]).
#[derive(Clone)]
pub struct RowKey(Kind);

#[derive(Clone)]
enum Kind {
    Mac(Zeroizing<[u8; 32]>),
    Team(Arc<TeamRows>),
}

/// How rows of a team store are signed and checked: the members of the
/// newest verified membership statement and, when this command writes, the
/// member it writes as. The same list is who new private keys are sealed
/// to (store/team_seal.rs): a row key of a team store is its verified trust.
pub(crate) struct TeamRows {
    pub members: BTreeMap<String, Member>,
    pub signer: Option<(String, Arc<MemberSigningKey>)>,
    /// Rows this member's kps has verified before (team.rs): a row found
    /// there needs no signature check.
    pub verified: Option<Arc<VerifiedRows>>,
}

/// The digests of team rows this machine's kps has already verified:
/// SHA-256 of the signer's Ed25519 key, the signed bytes and the tag. An
/// Ed25519 verification costs some 50 µs; a digest, a few on a row's few
/// hundred bytes: what makes `list` of a large team store fast. Kept in the
/// user's config directory beside the team pin, where the database's
/// operator cannot write; a row whose bytes, tag or signer's key changed
/// has another digest and is verified again.
///
/// The file is read on the first row this command checks, not when the
/// store is opened: a `create` checks none and reads nothing.
pub(crate) struct VerifiedRows {
    /// Reads the digests kept before (team.rs).
    load: Box<dyn Fn() -> std::collections::HashSet<[u8; 32]> + Send + Sync>,
    known: std::sync::OnceLock<std::collections::HashSet<[u8; 32]>>,
    /// Those of `known` met by this command, and those it verified anew.
    pub state: std::sync::Mutex<VerifiedState>,
}

#[derive(Default)]
pub(crate) struct VerifiedState {
    pub seen: std::collections::HashSet<[u8; 32]>,
    pub added: Vec<[u8; 32]>,
}

const VERIFIED_LABEL: &[u8] = b"kps verified row v1\0";

impl VerifiedRows {
    pub(crate) fn new(
        load: impl Fn() -> std::collections::HashSet<[u8; 32]> + Send + Sync + 'static,
    ) -> VerifiedRows {
        VerifiedRows {
            load: Box::new(load),
            known: std::sync::OnceLock::new(),
            state: Default::default(),
        }
    }

    /// The digests kept before, if this command has needed them.
    pub(crate) fn known_if_read(&self) -> Option<&std::collections::HashSet<[u8; 32]>> {
        self.known.get()
    }

    fn digest(key: &[u8; 32], message: &[u8], tag: &[u8]) -> [u8; 32] {
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        h.update(VERIFIED_LABEL);
        h.update(key);
        h.update((message.len() as u64).to_be_bytes());
        h.update(message);
        h.update(tag);
        h.finalize().into()
    }

    fn check(
        &self,
        key: &[u8; 32],
        message: &[u8],
        tag: &[u8],
        verify: impl FnOnce() -> bool,
    ) -> bool {
        let digest = Self::digest(key, message, tag);
        let known = self.known.get_or_init(&self.load);
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if known.contains(&digest) {
            state.seen.insert(digest);
            return true;
        }
        if state.seen.contains(&digest) {
            return true;
        }
        drop(state);
        let ok = verify();
        if ok {
            let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            state.seen.insert(digest);
            state.added.push(digest);
        }
        ok
    }
}

impl fmt::Debug for RowKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Kind::Mac(_) => f.write_str("RowKey(<redacted>)"),
            Kind::Team(t) => write!(
                f,
                "RowKey(team, {} members, signer {:?})",
                t.members.len(),
                t.signer.as_ref().map(|(n, _)| n)
            ),
        }
    }
}

impl PartialEq for RowKey {
    fn eq(&self, other: &Self) -> bool {
        // Compared only to decide whether a pin needs rewriting.
        match (&self.0, &other.0) {
            (Kind::Mac(a), Kind::Mac(b)) => a[..] == b[..],
            _ => false,
        }
    }
}

/// The first byte of a team row's tag: not an HMAC (which has none), so a
/// tag says which kind it is.
const TEAM_TAG: u8 = 0xED;

const KEY_LABEL: &[u8] = b"kps row key v1";
const ROW_LABEL: &[u8] = b"kps keypair row v1\0";
const BINDING_LABEL: &[u8] = b"kps binding row v1\0";

impl RowKey {
    /// HMAC-SHA-256(identity secret, label): a PRF output, as HKDF-Expand
    /// with a single block would give.
    pub(crate) fn derive(identity_secret: &[u8]) -> RowKey {
        let mut mac = <HmacSha256 as KeyInit>::new_from_slice(identity_secret)
            .expect("HMAC takes keys of any length");
        mac.update(KEY_LABEL);
        let mut key = Zeroizing::new([0u8; 32]);
        key.copy_from_slice(&mac.finalize().into_bytes());
        RowKey(Kind::Mac(key))
    }

    pub(crate) fn from_bytes(bytes: [u8; 32]) -> RowKey {
        RowKey(Kind::Mac(Zeroizing::new(bytes)))
    }

    /// A team store's rows: checked against `rows.members`, signed as
    /// `rows.signer` when there is one.
    pub(crate) fn team(rows: TeamRows) -> RowKey {
        RowKey(Kind::Team(Arc::new(rows)))
    }

    /// The HMAC key; `None` for a team store's.
    pub(crate) fn as_bytes(&self) -> Option<&[u8; 32]> {
        match &self.0 {
            Kind::Mac(key) => Some(key),
            Kind::Team(_) => None,
        }
    }

    /// `label` and `fields`, each length-prefixed, and absent (NULL) told
    /// apart from empty: no two rows encode to the same bytes.
    fn message(label: &[u8], fields: &[Option<&[u8]>]) -> Vec<u8> {
        let mut out = label.to_vec();
        for field in fields {
            crate::team::put_field(&mut out, *field);
        }
        out
    }

    fn mac(key: &[u8; 32], message: &[u8]) -> HmacSha256 {
        let mut mac =
            <HmacSha256 as KeyInit>::new_from_slice(key).expect("HMAC takes keys of any length");
        mac.update(message);
        mac
    }

    /// The tag over `label` and `fields`: the HMAC; for a team store the
    /// signer's name and signature (an empty tag, which never verifies, if
    /// this key cannot sign: the store gives writers a signer).
    fn tag_over(&self, label: &[u8], fields: &[Option<&[u8]>]) -> Vec<u8> {
        let message = Self::message(label, fields);
        match &self.0 {
            Kind::Mac(key) => Self::mac(key, &message).finalize().into_bytes().to_vec(),
            Kind::Team(team) => match &team.signer {
                Some((name, key)) => {
                    let mut tag = vec![TEAM_TAG, name.len() as u8];
                    tag.extend_from_slice(name.as_bytes());
                    tag.extend_from_slice(&key.sign(&message));
                    tag
                }
                None => Vec::new(),
            },
        }
    }

    /// Does `tag` authenticate `label` and `fields`? The HMAC is compared
    /// in constant time; a team tag must name a member of the verified
    /// list and carry that member's signature (strict verification).
    fn verifies_over(&self, label: &[u8], fields: &[Option<&[u8]>], tag: &[u8]) -> bool {
        let message = Self::message(label, fields);
        match &self.0 {
            Kind::Mac(key) => Self::mac(key, &message).verify_slice(tag).is_ok(),
            Kind::Team(team) => {
                let Some((signer, signature)) = split_team_tag(tag) else {
                    return false;
                };
                let Some(member) = team.members.get(signer) else {
                    return false;
                };
                let verify = || {
                    crate::team::member::verifying_key(&member.ed25519)
                        .is_some_and(|k| k.verify_strict(&message, &signature).is_ok())
                };
                match &team.verified {
                    Some(cache) => cache.check(&member.ed25519, &message, tag, verify),
                    None => verify(),
                }
            }
        }
    }

    /// Who new private keys are sealed to: for a team store, every member
    /// of the verified list (name, X25519 key); `None` for a personal store.
    pub(crate) fn team_recipients(&self) -> Option<Vec<super::team_seal::Recipient>> {
        match &self.0 {
            Kind::Mac(_) => None,
            Kind::Team(team) => Some(
                team.members
                    .values()
                    .map(|m| (m.name.clone(), m.x25519))
                    .collect(),
            ),
        }
    }

    /// The MAC of a binding row (bindings.rs): over every column, the
    /// keypair given both as its row id (what the column holds) and as the
    /// SHA-256 fingerprint of its public key, so that the record cannot be
    /// moved to another keypair by renumbering keypair rows.
    pub(crate) fn binding_tag(&self, fields: &[Option<&[u8]>]) -> Vec<u8> {
        self.tag_over(BINDING_LABEL, fields)
    }

    /// Does `tag` authenticate this binding row?
    pub(crate) fn binding_verifies(&self, fields: &[Option<&[u8]>], tag: &[u8]) -> bool {
        self.verifies_over(BINDING_LABEL, fields, tag)
    }

    /// The MAC of a keypair row as it is stored.
    pub(crate) fn tag(&self, keypair: &Keypair) -> Vec<u8> {
        let bits = keypair.bits.to_be_bytes();
        self.tag_over(ROW_LABEL, &fields(keypair, &bits))
    }

    /// Does `tag` authenticate this row?
    pub(crate) fn verifies(&self, keypair: &Keypair, tag: &[u8]) -> bool {
        let bits = keypair.bits.to_be_bytes();
        self.verifies_over(ROW_LABEL, &fields(keypair, &bits), tag)
    }
}

/// `TEAM_TAG || u8 name length || name || 64-byte signature`, nothing more.
fn split_team_tag(tag: &[u8]) -> Option<(&str, Signature)> {
    let (&kind, rest) = tag.split_first()?;
    let (&len, rest) = rest.split_first()?;
    if kind != TEAM_TAG || rest.len() != usize::from(len) + 64 {
        return None;
    }
    let (name, signature) = rest.split_at(usize::from(len));
    let signature: [u8; 64] = signature.try_into().ok()?;
    Some((
        std::str::from_utf8(name).ok()?,
        Signature::from_bytes(&signature),
    ))
}

/// Every column of a row that kps shows or acts on, in a fixed order
/// (`bits` is the row's size, big-endian). The sealed private key itself is
/// authenticated by its own envelope (its associated data binds the name
/// and the public key, and what opens must match the public key); here only
/// whether there is one.
fn fields<'a>(k: &'a Keypair, bits: &'a [u8; 4]) -> [Option<&'a [u8]>; 16] {
    let has_private: &[u8] = if k.has_private_key { b"1" } else { b"0" };
    [
        Some(k.name.as_bytes()),
        Some(k.algorithm.as_bytes()),
        Some(&bits[..]),
        Some(k.public_line.as_bytes()),
        Some(k.fingerprint.as_bytes()),
        Some(k.fingerprint_md5.as_bytes()),
        k.fingerprint_aws_created.as_deref().map(str::as_bytes),
        k.fingerprint_aws_imported.as_deref().map(str::as_bytes),
        k.description.as_deref().map(str::as_bytes),
        k.user_id.as_deref().map(str::as_bytes),
        Some(k.create_time.as_bytes()),
        Some(k.update_time.as_bytes()),
        Some(k.encryption.type_name().as_bytes()),
        k.encryption.kms_key_name().map(str::as_bytes),
        k.encryption.kms_key_id().map(str::as_bytes),
        Some(has_private),
    ]
}
