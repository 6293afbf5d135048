//! A team store (issue 18): one store, many members, no shared passphrase.
//!
//! Each member opens keys with the identity of their own local store (the
//! "identity store", a personal store on their machine): `default` private
//! keys are encrypted once under a fresh data key, sealed to every member of
//! the verified member list (team_seal.rs). Rows are signed by the member
//! who wrote them (rowmac.rs, a team row key). Who the members are is a
//! chain of admin-signed statements (src/team/membership.rs), checked
//! against what this machine pinned when it joined (a team pin, kept in the
//! user's config directory as store pins are). Every action is appended to
//! a signed, hash-chained audit log (src/team/audit.rs) in the same
//! transaction as the action, or for a read before its result is handed
//! out.
//!
//! See docs/store-format.md, "Team stores".

use super::backend::{AuditRow, MembershipRow};
use super::rowmac::{RowKey, TeamRows, VerifiedRows};
use super::{Store, team_seal};
use crate::keypair::Encryption;
use crate::perms::{check_own_file, check_private, make_private_dir};
use crate::team::{
    Action, AuditEntry, Change, Event, Member, MemberSigningKey, Membership, MembershipFault,
    MembershipPin, Role, SignedMembership, TeamId,
};
use crate::{Error, Result, config};
use base64ct::{Base64, Encoding};
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use zeroize::Zeroizing;

/// What a member's command knows about the team store it opened.
pub(crate) struct TeamState {
    pub id: TeamId,
    /// The newest statement, verified from this machine's pin (replaced
    /// by a membership change this command makes).
    pub membership: RefCell<Membership>,
    /// This member's name in it.
    pub me: String,
    /// The member's local store, whose identity opens their seals.
    pub identity: Box<Store>,
    /// Set once this command can sign (its identity store's row key, from
    /// the pin or an unlock).
    signer: RefCell<Option<Arc<MemberSigningKey>>>,
    /// What a keypair inserted by this command is recorded as.
    insert_action: Cell<Action>,
    /// The member's X25519 key, which names their files beside the pin.
    x25519: Vec<u8>,
    /// Rows verified before, and by this command ([`VerifiedRows`]).
    verified: Arc<VerifiedRows>,
    /// Whether this command read every keypair row (`list`): then the
    /// verified rows kept are exactly the ones it met.
    pub(crate) read_all: Cell<bool>,
}

impl Drop for TeamState {
    fn drop(&mut self) {
        // A cache: a failure to keep it costs the next command time only.
        let _ = save_verified(&self.id, &self.x25519, &self.verified, self.read_all.get());
    }
}

/// The invitation an admin hands a new member with `kps team invite`:
/// `kps-team-invite-v1 TEAM-ID EPOCH ADMIN-ED25519-BASE64`. Nothing in it
/// is secret; it tells the new member's kps which team and statement to
/// trust, and which admin signed it.
pub const INVITATION_TAG: &str = "kps-team-invite-v1";

pub fn invitation(pin: &MembershipPin, admin: &[u8; 32]) -> String {
    format!(
        "{INVITATION_TAG} {} {} {}",
        pin.team_id,
        pin.epoch,
        Base64::encode_string(admin)
    )
}

/// Parses an invitation strictly (one optional line ending).
pub fn parse_invitation(text: &str) -> Result<MembershipPin> {
    let bad = |why: &str| {
        Error::invalid_with_hint(
            format!("not a kps team invitation: {why}"),
            format!(
                "give the whole line the admin's 'kps team invite' printed ({INVITATION_TAG} TEAM EPOCH KEY)"
            ),
        )
    };
    let body = text
        .strip_suffix('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .unwrap_or(text);
    let parts: Vec<&str> = body.split(' ').collect();
    let [tag, team, epoch, admin] = parts[..] else {
        return Err(bad("it does not have four space-separated fields"));
    };
    if tag != INVITATION_TAG {
        return Err(bad(&format!("it does not start with '{INVITATION_TAG}'")));
    }
    let team: [u8; 16] = crate::hex::decode(team)
        .filter(|t| team.len() == 32 && t.len() == 16)
        .and_then(|t| t.try_into().ok())
        .ok_or_else(|| bad("the team id is not 32 hex digits"))?;
    let epoch: u64 = epoch
        .parse()
        .ok()
        .filter(|e| *e >= 1 && epoch.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| bad("the epoch is not a number from 1"))?;
    let mut key = [0u8; 32];
    if admin.len() != 44 || Base64::decode(admin, &mut key).map(|k| k.len()) != Ok(32) {
        return Err(bad("the admin key is not 32 bytes of padded base64"));
    }
    if crate::team::member::verifying_key(&key).is_none() {
        return Err(bad("the admin key is not a valid Ed25519 key"));
    }
    Ok(MembershipPin::invited(TeamId(team), epoch, key))
}

// Team pins: CONFIG/teams/<team id>-<first 32 hex digits of the member's
// X25519 key>.pin, 0600 in 0700 directories:
//
//   kps team pin v1
//   team <32 hex>
//   epoch <decimal>
//   statement <64 hex>        (absent in a pin made from an invitation)
//   admin <64 hex>            (one line per key)

const PIN_HEADER: &str = "kps team pin v1";

fn pin_path(team: &TeamId, x25519: &[u8]) -> Option<PathBuf> {
    let me = crate::hex::encode(x25519.get(..16)?);
    Some(
        config::dir()?
            .join("teams")
            .join(format!("{team}-{me}.pin")),
    )
}

/// A file kps keeps about a team in the config directory (the team pin,
/// the audit head): `None` if there is none; its directory must be private
/// and the file the user's own, as store pins are checked.
fn read_team_file(path: Option<PathBuf>) -> Result<Option<(PathBuf, String)>> {
    match read_team_bytes(path)? {
        None => Ok(None),
        Some((path, bytes)) => match String::from_utf8(bytes) {
            Ok(text) => Ok(Some((path, text))),
            Err(_) => Err(Error::BadPin { path }),
        },
    }
}

/// [`read_team_file`], as bytes.
fn read_team_bytes(path: Option<PathBuf>) -> Result<Option<(PathBuf, Vec<u8>)>> {
    if config::existing_dir()?.is_none() {
        return Ok(None);
    }
    let Some(path) = path else {
        return Ok(None);
    };
    let dir = path.parent().unwrap_or(Path::new("/"));
    if !dir.exists() {
        return Ok(None);
    }
    check_private(dir)?;
    if fs::symlink_metadata(&path).is_err() {
        return Ok(None);
    }
    check_own_file(&path)?;
    let bytes = fs::read(&path).map_err(|source| Error::StoreIo {
        path: path.clone(),
        source,
    })?;
    Ok(Some((path, bytes)))
}

/// Write `text` to `path` (0600, replaced atomically) in the private
/// `teams` directory of the config directory.
fn write_team_file(path: Option<PathBuf>, text: impl AsRef<[u8]>) -> Result<()> {
    let teams = config::ensure_dir()?.join("teams");
    make_private_dir(&teams)?;
    check_private(&teams)?;
    let path = path.ok_or_else(|| Error::invalid("the identity's public key is too short"))?;
    crate::outfile::write_atomic(&path, text.as_ref(), 0o600, true).map_err(|e| match e {
        Error::OutputIo { path, source } => Error::StoreIo { path, source },
        other => other,
    })
}

// Verified rows (rowmac.rs, VerifiedRows): CONFIG/teams/<team>-<member>.verified,
// "kps verified rows v1\n" then 32-byte digests, beside the team pin.
const VERIFIED_HEADER: &[u8] = b"kps verified rows v1\n";

fn verified_path(team: &TeamId, x25519: &[u8]) -> Option<PathBuf> {
    pin_path(team, x25519).map(|p| p.with_extension("verified"))
}

/// The rows verified before, read when first needed. A file that does not
/// parse, or fails the ownership checks a pin gets, is no cache at all: it
/// only saves work, and one that someone else could write is not trusted.
fn load_verified(team: &TeamId, x25519: &[u8]) -> VerifiedRows {
    let path = verified_path(team, x25519);
    VerifiedRows::new(move || match read_team_bytes(path.clone()) {
        Ok(Some((_, bytes))) => match bytes.strip_prefix(VERIFIED_HEADER) {
            Some(body) if body.len() % 32 == 0 => body
                .chunks_exact(32)
                .map(|c| c.try_into().expect("32 bytes"))
                .collect(),
            _ => Default::default(),
        },
        _ => Default::default(),
    })
}

/// Keep what this command verified: after a full read of the rows
/// (`full`), exactly the rows it met (so rows since deleted or changed
/// drop out); otherwise what was there and what it added. Nothing is
/// written when nothing changed.
fn save_verified(team: &TeamId, x25519: &[u8], rows: &VerifiedRows, full: bool) -> Result<()> {
    // Never read: no row was checked, nothing to keep.
    let Some(known) = rows.known_if_read() else {
        return Ok(());
    };
    let state = rows.state.lock().unwrap_or_else(|e| e.into_inner());
    let keep: Vec<&[u8; 32]> = if full {
        if state.added.is_empty() && state.seen.len() == known.len() {
            return Ok(());
        }
        state.seen.iter().collect()
    } else {
        if state.added.is_empty() {
            return Ok(());
        }
        known.iter().chain(state.added.iter()).collect()
    };
    let mut out = Vec::with_capacity(VERIFIED_HEADER.len() + 32 * keep.len());
    out.extend_from_slice(VERIFIED_HEADER);
    for d in keep {
        out.extend_from_slice(d);
    }
    write_team_file(verified_path(team, x25519), out)
}

pub(crate) fn load_pin(team: &TeamId, x25519: &[u8]) -> Result<Option<MembershipPin>> {
    let Some((path, text)) = read_team_file(pin_path(team, x25519))? else {
        return Ok(None);
    };
    parse_pin(&text)
        .filter(|p| p.team_id == *team)
        .map(Some)
        .ok_or(Error::BadPin { path })
}

fn parse_pin(text: &str) -> Option<MembershipPin> {
    let mut lines = text.lines().filter(|l| !l.starts_with('#'));
    if lines.next()? != PIN_HEADER {
        return None;
    }
    let (mut team, mut epoch, mut hash, mut admins) = (None, None, None, Vec::new());
    for line in lines {
        match line.split_once(' ')? {
            ("team", v) => team = Some(TeamId(crate::hex::decode(v)?.try_into().ok()?)),
            ("epoch", v) => epoch = Some(v.parse::<u64>().ok()?),
            ("statement", v) => hash = Some(crate::hex::decode(v)?.try_into().ok()?),
            ("admin", v) => admins.push(crate::hex::decode(v)?.try_into().ok()?),
            _ => return None,
        }
    }
    (!admins.is_empty()).then_some(())?;
    Some(MembershipPin {
        team_id: team?,
        epoch: epoch?,
        statement_hash: hash,
        admins,
    })
}

pub(crate) fn save_pin(pin: &MembershipPin, x25519: &[u8]) -> Result<()> {
    if let Ok(Some(old)) = load_pin(&pin.team_id, x25519)
        && old == *pin
    {
        return Ok(());
    }
    let mut text = format!("{PIN_HEADER}\nteam {}\nepoch {}\n", pin.team_id, pin.epoch);
    if let Some(h) = &pin.statement_hash {
        text.push_str(&format!("statement {}\n", crate::hex::encode(h)));
    }
    for a in &pin.admins {
        text.push_str(&format!("admin {}\n", crate::hex::encode(a)));
    }
    write_team_file(pin_path(&pin.team_id, x25519), &text)
}

fn signed_of(row: &MembershipRow) -> std::result::Result<SignedMembership, MembershipFault> {
    let malformed = |why: &str| MembershipFault::Malformed {
        position: usize::try_from(row.epoch).unwrap_or(0),
        why: why.into(),
    };
    Ok(SignedMembership {
        statement: row.statement.clone(),
        signer: row
            .signer
            .as_slice()
            .try_into()
            .map_err(|_| malformed("the signer is not 32 bytes"))?,
        signature: row
            .signature
            .as_slice()
            .try_into()
            .map_err(|_| malformed("the signature is not 64 bytes"))?,
    })
}

fn row_of(epoch: u64, s: &SignedMembership) -> Result<MembershipRow> {
    Ok(MembershipRow {
        epoch: i64::try_from(epoch)
            .map_err(|_| Error::MembershipChangeRefused("the epoch is too large".into()))?,
        statement: s.statement.clone(),
        signer: s.signer.to_vec(),
        signature: s.signature.to_vec(),
    })
}

/// An audit row as an entry, if it is one kps could have written.
pub(crate) fn entry_of(row: &AuditRow) -> std::result::Result<AuditEntry, String> {
    let team_id = TeamId(
        row.team_id
            .as_slice()
            .try_into()
            .map_err(|_| "the team id is not 16 bytes")?,
    );
    let prev = match &row.prev {
        None => None,
        Some(p) => Some(
            p.as_slice()
                .try_into()
                .map_err(|_| "the previous hash is not 32 bytes")?,
        ),
    };
    let action = Action::parse(&row.action).ok_or("unknown action")?;
    Ok(AuditEntry {
        team_id,
        prev,
        event: Event {
            at_micros: row.at_micros,
            epoch: u64::try_from(row.epoch).map_err(|_| "negative epoch")?,
            member: row.member.clone(),
            action,
            target: row.target.clone(),
        },
        signature: row
            .signature
            .as_slice()
            .try_into()
            .map_err(|_| "the signature is not 64 bytes")?,
    })
}

fn audit_row(e: &AuditEntry) -> AuditRow {
    AuditRow {
        id: 0,
        team_id: e.team_id.0.to_vec(),
        prev: e.prev.map(|p| p.to_vec()),
        at_micros: e.event.at_micros,
        epoch: i64::try_from(e.event.epoch).unwrap_or(i64::MAX),
        member: e.event.member.clone(),
        action: e.event.action.as_str().to_string(),
        target: e.event.target.clone(),
        signature: e.signature.to_vec(),
    }
}

fn now_micros() -> i64 {
    let now = time::OffsetDateTime::now_utc();
    i64::try_from(now.unix_timestamp_nanos() / 1000).unwrap_or(i64::MAX)
}

/// One entry of `kps team log`, with what is wrong with it.
#[derive(Clone, Debug)]
pub struct LogEntry {
    /// Its place in the log.
    pub id: i64,
    pub at_micros: i64,
    pub epoch: i64,
    pub member: String,
    pub action: String,
    pub target: String,
    /// Empty: it verifies.
    pub problems: Vec<String>,
}

/// `kps team log`: the entries, and whether the newest entry this machine
/// saw before is gone.
#[derive(Clone, Debug)]
pub struct TeamLog {
    pub entries: Vec<LogEntry>,
    /// The id of the newest entry an earlier `kps team log` here showed,
    /// whole and verified, when it is no longer in the log (or differs):
    /// entries were removed from the end, or the log replaced.
    pub missing_head: Option<i64>,
}

// The audit head: CONFIG/teams/<team id>-<member>.head, beside the team
// pin, "kps team audit head v1" and a line "ID HASH-HEX".
const HEAD_HEADER: &str = "kps team audit head v1";

fn head_path(team: &TeamId, x25519: &[u8]) -> Option<PathBuf> {
    pin_path(team, x25519).map(|p| p.with_extension("head"))
}

fn load_head(team: &TeamId, x25519: &[u8]) -> Result<Option<(i64, [u8; 32])>> {
    let Some((path, text)) = read_team_file(head_path(team, x25519))? else {
        return Ok(None);
    };
    let parsed = (|| {
        let mut lines = text.lines();
        (lines.next()? == HEAD_HEADER).then_some(())?;
        let (id, hash) = lines.next()?.split_once(' ')?;
        Some((id.parse().ok()?, crate::hex::decode(hash)?.try_into().ok()?))
    })();
    parsed.map(Some).ok_or(Error::BadPin { path })
}

fn save_head(team: &TeamId, x25519: &[u8], id: i64, hash: &[u8; 32]) -> Result<()> {
    let text = format!("{HEAD_HEADER}\n{id} {}\n", crate::hex::encode(hash));
    write_team_file(head_path(team, x25519), &text)
}

/// A member as `kps team members` shows them.
#[derive(Clone, Debug)]
pub struct MemberInfo {
    pub name: String,
    pub role: Role,
    pub fingerprint: String,
    pub line: String,
    pub is_you: bool,
}

impl Store {
    /// Is this a team store (it has a member list)?
    pub fn is_team(&self) -> Result<bool> {
        Ok(self.team.is_some()
            || self.backend.kind() == super::backend::BackendKind::Postgres
            || self.backend.newest_membership_epoch()?.is_some())
    }

    /// Refuse what only a personal store has (a passphrase, an identity in
    /// the store, a file to restore) on a team store.
    pub fn refuse_team(&self, what: &str) -> Result<()> {
        if self.is_team()? {
            return Err(Error::NotForTeamStore {
                what: what.to_string(),
                hint: "a team store has no passphrase or identity of its own: each member's own store (--identity-store) opens it; 'kps team members' lists them".into(),
            });
        }
        Ok(())
    }

    pub(crate) fn team(&self) -> Option<&TeamState> {
        self.team.as_ref()
    }

    fn store_name(&self) -> String {
        self.backend.describe()
    }

    /// The member's local store: a personal store with an identity.
    fn open_identity_store(dir: &Path) -> Result<Store> {
        let identity = Store::open_required(dir)?;
        if identity.is_team()? {
            return Err(Error::invalid_with_hint(
                format!(
                    "{} is a team store, not a member's own store",
                    dir.display()
                ),
                "give --identity-store (or KPS_IDENTITY_STORE) your own local store",
            ));
        }
        if !identity.is_initialised()? {
            return Err(Error::NotInitialised);
        }
        Ok(identity)
    }

    /// The statements as stored, each with its epoch column.
    fn chain(&self) -> Result<Vec<(i64, SignedMembership)>> {
        self.backend
            .membership_chain()?
            .iter()
            .map(|r| {
                signed_of(r)
                    .map(|s| (r.epoch, s))
                    .map_err(Error::MembershipRejected)
            })
            .collect()
    }

    /// The statements from `pin`'s epoch on, checked against it: the
    /// newest member list, and every statement checked.
    fn verify_chain(&self, pin: &MembershipPin) -> Result<Vec<Membership>> {
        Self::verify_from(self.chain()?, pin)
    }

    /// [`Store::verify_chain`] on statements already read.
    fn verify_from(
        chain: Vec<(i64, SignedMembership)>,
        pin: &MembershipPin,
    ) -> Result<Vec<Membership>> {
        let from: Vec<SignedMembership> = chain
            .into_iter()
            .filter(|(epoch, _)| u64::try_from(*epoch).is_ok_and(|e| e >= pin.epoch))
            .map(|(_, s)| s)
            .collect();
        pin.verify_all(&from)
    }

    /// Open this team store as the member whose local store is
    /// `identity_dir`: the member list verified against this machine's pin
    /// (which then moves to the newest statement), this identity found in
    /// it, and rows checked against it from now on.
    pub fn join_as(&mut self, identity_dir: &Path) -> Result<()> {
        let identity = Self::open_identity_store(identity_dir)?;
        let x25519 = identity
            .wrapped_identity()?
            .ok_or(Error::NotInitialised)?
            .public_key;
        let chain = self.chain()?;
        let Some((_, newest)) = chain.last() else {
            return Err(Error::TeamNotSetUp {
                store: self.store_name(),
            });
        };
        let team = Membership::decode(&newest.statement)
            .map(|m| m.team_id)
            .map_err(|why| {
                Error::MembershipRejected(MembershipFault::Malformed {
                    position: chain.len() - 1,
                    why,
                })
            })?;
        let pin = load_pin(&team, &x25519)?.ok_or_else(|| Error::TeamNotJoined {
            team: team.to_string(),
            store: self.store_name(),
            identity: identity_dir.display().to_string(),
        })?;
        let membership = Self::verify_from(chain, &pin)?
            .pop()
            .ok_or(Error::MembershipRejected(MembershipFault::NoStatement))?;
        self.adopt(membership, identity, identity_dir, &x25519, true)?;
        self.signer_from_pin()
    }

    /// Sign as this member from now on if their identity store is pinned
    /// on this machine (no passphrase needed, as for a personal store's
    /// writes); otherwise the first write or unlock provides the key.
    fn signer_from_pin(&self) -> Result<()> {
        let Some(team) = &self.team else {
            return Ok(());
        };
        match team.identity.pinned_row_key()? {
            Some(row_key) => self.set_signer(&row_key),
            None => Ok(()),
        }
    }

    /// This personal store's row key from its pin on this machine, if the
    /// pin is of its identity (what a member signs with: team.rs).
    fn pinned_row_key(&self) -> Result<Option<RowKey>> {
        let wrapped = self.wrapped_identity()?.ok_or(Error::NotInitialised)?;
        Ok(self
            .pin()?
            .filter(|pin| pin.identity == wrapped.public_key)
            .map(|pin| pin.row_key))
    }

    /// This personal store's row key: from its pin, else by `unlock`ing it
    /// (which pins it).
    fn own_row_key<E: From<Error>>(
        &self,
        unlock: impl FnOnce(&Store) -> std::result::Result<super::Identity, E>,
    ) -> std::result::Result<RowKey, E> {
        match self.pinned_row_key()? {
            Some(row_key) => Ok(row_key),
            None => Ok(unlock(self)?.row_key()),
        }
    }

    /// This personal store's member keys: the signing key derived from its
    /// row key ([`Store::own_row_key`]) and its identity's X25519 key.
    fn member_keys<E: From<Error>>(
        &self,
        unlock: impl FnOnce(&Store) -> std::result::Result<super::Identity, E>,
    ) -> std::result::Result<(MemberSigningKey, [u8; 32]), E> {
        let row_key = self.own_row_key(unlock)?;
        let signer = MemberSigningKey::from_row_key(&row_key)
            .ok_or_else(|| Error::invalid("internal: not a local store's row key"))?;
        let x25519: [u8; 32] = self
            .wrapped_identity()?
            .ok_or(Error::NotInitialised)?
            .public_key
            .as_slice()
            .try_into()
            .map_err(|_| Error::invalid("the identity's public key is not 32 bytes"))?;
        Ok((signer, x25519))
    }

    /// Use `membership` (verified) as this command's member list, as the
    /// member whose identity is `identity`, and pin it (`pin`).
    fn adopt(
        &mut self,
        membership: Membership,
        identity: Store,
        identity_dir: &Path,
        x25519: &[u8],
        pin: bool,
    ) -> Result<()> {
        let me = membership
            .members
            .iter()
            .find(|m| m.member.x25519[..] == *x25519)
            .map(|m| m.member.name.clone())
            .ok_or_else(|| Error::NotATeamMember {
                team: membership.team_id.to_string(),
                epoch: membership.epoch,
                identity: identity_dir.display().to_string(),
            })?;
        if pin {
            save_pin(&MembershipPin::of(&membership), x25519)?;
        }
        let members = membership
            .members
            .iter()
            .map(|m| (m.member.name.clone(), m.member.clone()))
            .collect();
        let verified = Arc::new(load_verified(&membership.team_id, x25519));
        self.trust.borrow_mut().unlocked = Some(RowKey::team(TeamRows {
            members,
            signer: None,
            verified: Some(verified.clone()),
        }));
        self.pinned_here = false;
        self.team = Some(TeamState {
            id: membership.team_id,
            membership: RefCell::new(membership),
            me,
            identity: Box::new(identity),
            signer: RefCell::new(None),
            insert_action: Cell::new(Action::Create),
            x25519: x25519.to_vec(),
            verified,
            read_all: Cell::new(false),
        });
        Ok(())
    }

    /// This member's signing key: from their identity store's pin, or by
    /// `unlock`ing it (which pins it). It must be the key the member list
    /// has for them.
    pub(crate) fn team_signer<E: From<Error>>(
        &self,
        unlock: impl FnOnce(&Store) -> std::result::Result<super::Identity, E>,
    ) -> std::result::Result<Arc<MemberSigningKey>, E> {
        let team = self.team.as_ref().ok_or_else(|| Error::NotATeamStore {
            store: self.store_name(),
        })?;
        if let Some(s) = team.signer.borrow().as_ref() {
            return Ok(s.clone());
        }
        let row_key = team.identity.own_row_key(unlock)?;
        self.set_signer(&row_key)?;
        Ok(team.signer.borrow().clone().expect("just set"))
    }

    /// Take the identity store's row key (from an unlock) as this command's
    /// signer, checked against the member list.
    fn set_signer(&self, row_key: &RowKey) -> Result<()> {
        let Some(team) = &self.team else {
            return Ok(());
        };
        let key = MemberSigningKey::from_row_key(row_key)
            .ok_or_else(|| Error::invalid("internal: not a local store's row key"))?;
        let membership = team.membership.borrow();
        let listed = membership
            .get(&team.me)
            .map(|m| m.member.ed25519)
            .unwrap_or_default();
        if key.public() != listed {
            return Err(Error::MembershipRejected(MembershipFault::Invalid {
                epoch: membership.epoch,
                why: format!(
                    "the member list's signing key for '{}' is not this identity's",
                    team.me
                ),
            }));
        }
        *team.signer.borrow_mut() = Some(Arc::new(key));
        Ok(())
    }

    /// The row key writes of this command sign with.
    pub(crate) fn team_row_key(&self, signer: Arc<MemberSigningKey>) -> Option<RowKey> {
        let team = self.team.as_ref()?;
        Some(RowKey::team(TeamRows {
            members: team
                .membership
                .borrow()
                .members
                .iter()
                .map(|m| (m.member.name.clone(), m.member.clone()))
                .collect(),
            signer: Some((team.me.clone(), signer)),
            verified: Some(team.verified.clone()),
        }))
    }

    /// Unlock the member's identity store (a team store has no passphrase
    /// of its own): its identity opens this member's seals.
    pub(crate) fn unlock_team_member(
        &self,
        passphrase: &crate::secret::Passphrase,
    ) -> Result<Option<super::Identity>> {
        let Some(team) = &self.team else {
            return Ok(None);
        };
        let identity = team.identity.unlock(passphrase)?;
        self.set_signer(&identity.row_key())?;
        Ok(Some(identity))
    }

    /// What the keypairs this command inserts are recorded as in the audit
    /// log (`create` unless told).
    pub fn audit_inserts_as(&self, action: Action) {
        if let Some(team) = &self.team {
            team.insert_action.set(action);
        }
    }

    pub(crate) fn insert_action(&self) -> Action {
        self.team
            .as_ref()
            .map_or(Action::Create, |t| t.insert_action.get())
    }

    /// Append `action` on `target` to the audit log, inside the caller's
    /// write transaction. Nothing in a personal store.
    pub(crate) fn append_audit(&self, action: Action, target: &str) -> Result<()> {
        let Some(team) = &self.team else {
            return Ok(());
        };
        let signer = team.signer.borrow().clone().ok_or_else(|| {
            Error::invalid_with_hint(
                "this command is recorded in the team's audit log, signed with your key, and your own store is not pinned on this machine",
                "unlock your own store once: kps --store YOUR-STORE verify",
            )
        })?;
        let epoch = team.membership.borrow().epoch;
        self.append_audit_as(&signer, epoch, action, target)
    }

    fn append_audit_as(
        &self,
        signer: &MemberSigningKey,
        epoch: u64,
        action: Action,
        target: &str,
    ) -> Result<()> {
        let team = self.team.as_ref().ok_or_else(|| Error::NotATeamStore {
            store: self.store_name(),
        })?;
        // The caller's transaction holds the team's lock (Store::begin_write),
        // which membership changes take too: the list this
        // command verified (or, for a change, wrote) must still be the
        // newest, so nothing is sealed to, or signed by, a list that an
        // admin has replaced meanwhile.
        let newest = self.backend.newest_membership_epoch()?;
        if newest != i64::try_from(epoch).ok() {
            return Err(Error::SaveFailed {
                name: format!("team {}", team.id),
                detail: "the member list changed while this command ran; run it again".into(),
            });
        }
        let prev = match self.backend.last_audit_entry()? {
            None => None,
            Some(row) => Some(entry_of(&row).map_err(|why| {
                self.corrupt(format!(
                    "the audit log's last entry is malformed ({why}); 'kps team log' shows it"
                ))
            })?),
        };
        let entry = AuditEntry::sign(
            team.id,
            prev.as_ref(),
            Event {
                at_micros: now_micros(),
                epoch,
                member: team.me.clone(),
                action,
                target: target.to_string(),
            },
            signer,
        )?;
        self.backend.insert_audit(&audit_row(&entry))
    }

    /// Record a read that hands a private key out (export, export-ppk,
    /// get-win-password) in its own transaction, before the result is
    /// given: an unrecorded read is a failed one. Nothing in a personal
    /// store.
    pub fn record_read(&self, action: Action, target: &str) -> Result<()> {
        if self.team.is_none() {
            return Ok(());
        }
        self.retrying(|| {
            let tx = self.begin_write()?;
            self.append_audit(action, target)?;
            tx.commit()
        })
    }

    /// Who the owner of this personal store is in a team, under `name`:
    /// its identity's public key and the signing key derived from its row
    /// key (from the pin, or by `unlock`ing it).
    pub fn member_as<E: From<Error>>(
        &self,
        name: &str,
        unlock: impl FnOnce(&Store) -> std::result::Result<super::Identity, E>,
    ) -> std::result::Result<Member, E> {
        if self.is_team()? {
            return Err(Error::invalid_with_hint(
                format!(
                    "{} is a team store, not a member's own store",
                    self.store_name()
                ),
                "give --identity-store (or KPS_IDENTITY_STORE) your own local store",
            )
            .into());
        }
        let (signer, x25519) = self.member_keys(unlock)?;
        Ok(Member::new(name, x25519, signer.public())?)
    }

    /// Make this store a team store whose first member and admin is the
    /// owner of the local store `identity_dir`, under `name`. The store
    /// must be empty.
    pub fn team_init<E: From<Error>>(
        &mut self,
        identity_dir: &Path,
        name: &str,
        unlock: impl FnOnce(&Store) -> std::result::Result<super::Identity, E>,
    ) -> std::result::Result<Membership, E> {
        crate::team::member::validate_name(name).map_err(Error::BadMemberLine)?;
        if self.backend.newest_membership_epoch()?.is_some() {
            return Err(Error::MembershipChangeRefused(
                "this store is already a team store".into(),
            )
            .into());
        }
        if self.wrapped_identity()?.is_some() || self.backend.count_keypairs()? > 0 {
            return Err(Error::NotForTeamStore {
                what: "a store that already holds keypairs or a passphrase".into(),
                hint: "'kps team init' makes a new, empty store a team store; move keypairs in with 'kps store copy'".into(),
            }
            .into());
        }
        let identity = Self::open_identity_store(identity_dir)?;
        let (signer, x25519) = identity.member_keys(unlock)?;
        let me = Member::new(name, x25519, signer.public())?;
        let genesis = Membership::genesis(TeamId::generate()?, me);
        let signed = genesis.sign(&signer)?;
        self.adopt(genesis.clone(), identity, identity_dir, &x25519, false)?;
        let signer = Arc::new(signer);
        if let Some(team) = &self.team {
            *team.signer.borrow_mut() = Some(signer.clone());
        }
        let written = (|| {
            // The team's lock is taken with the transaction (Store::begin_write).
            let tx = self.begin_write()?;
            if self.backend.newest_membership_epoch()?.is_some() {
                return Err(Error::AlreadyInitialised);
            }
            self.backend.insert_membership(&row_of(1, &signed)?)?;
            self.append_audit_as(&signer, 1, Action::TeamInit, name)?;
            tx.commit()
        })();
        if let Err(e) = written {
            self.team = None;
            self.trust.borrow_mut().unlocked = None;
            return Err(e.into());
        }
        save_pin(&MembershipPin::of(&genesis), &x25519)?;
        Ok(genesis)
    }

    /// Join the team of this store as an invitation says: its statements
    /// verified from the invitation's pin, this identity in the newest.
    pub fn team_join(&mut self, identity_dir: &Path, invitation: &MembershipPin) -> Result<()> {
        let identity = Self::open_identity_store(identity_dir)?;
        let x25519 = identity
            .wrapped_identity()?
            .ok_or(Error::NotInitialised)?
            .public_key;
        let membership = self
            .verify_chain(invitation)?
            .pop()
            .ok_or(Error::MembershipRejected(MembershipFault::NoStatement))?;
        self.adopt(membership, identity, identity_dir, &x25519, true)
    }

    /// The verified member list, as `kps team members` shows it.
    pub fn team_members(&self) -> Result<(TeamId, u64, Vec<MemberInfo>)> {
        let team = self.team.as_ref().ok_or_else(|| Error::NotATeamStore {
            store: self.store_name(),
        })?;
        let membership = team.membership.borrow();
        let members = membership
            .members
            .iter()
            .map(|m| MemberInfo {
                name: m.member.name.clone(),
                role: m.role,
                fingerprint: m.member.fingerprint(),
                line: m.member.line(),
                is_you: m.member.name == team.me,
            })
            .collect();
        Ok((team.id, membership.epoch, members))
    }

    /// Apply `change` (an admin's): the next statement signed by this
    /// member, every data key sealed again to the new list (a removal gives
    /// every keypair a fresh data key), every row signed again, and the
    /// change recorded, in one transaction. Returns the new statement.
    pub fn team_change(&self, change: Change, opener: &super::Identity) -> Result<Membership> {
        let (signer, current, me) = {
            let team = self.team.as_ref().ok_or_else(|| Error::NotATeamStore {
                store: self.store_name(),
            })?;
            let signer = team.signer.borrow().clone().ok_or_else(|| {
                Error::invalid("internal: a membership change without the admin's signing key")
            })?;
            (signer, team.membership.borrow().clone(), team.me.clone())
        };
        if current.get(&me).map(|m| m.role) != Some(Role::Admin) {
            return Err(Error::MembershipChangeRefused(format!(
                "'{me}' is not an admin of this team"
            )));
        }
        let (action, target, fresh_keys) = match &change {
            Change::Add(m, _) => (Action::MemberAdd, m.name.clone(), false),
            Change::Remove(n) => (Action::MemberRemove, n.clone(), true),
            Change::Promote(n) => (Action::MemberPromote, n.clone(), false),
            Change::Demote(n) => (Action::MemberDemote, n.clone(), false),
        };
        let next = current.next(change)?;
        let signed = next.sign(&signer)?;
        let tx = self.begin_write()?;
        // Under the team's lock (taken with the transaction): the list this
        // change follows must still be the newest one.
        let newest = self.backend.newest_membership_epoch()?;
        if newest != i64::try_from(current.epoch).ok() {
            return Err(Error::SaveFailed {
                name: format!("team {}", current.team_id),
                detail: "the member list changed meanwhile; run the command again".into(),
            });
        }
        self.backend
            .insert_membership(&row_of(next.epoch, &signed)?)?;
        let old_key = self.row_key()?;
        let members: BTreeMap<String, Member> = next
            .members
            .iter()
            .map(|m| (m.member.name.clone(), m.member.clone()))
            .collect();
        let new_key = RowKey::team(TeamRows {
            members,
            signer: Some((me.clone(), signer.clone())),
            verified: self.team.as_ref().map(|t| t.verified.clone()),
        });
        let recipients: Vec<team_seal::Recipient> = next
            .members
            .iter()
            .map(|m| (m.member.name.clone(), m.member.x25519))
            .collect();
        let added: Vec<team_seal::Recipient> = recipients
            .iter()
            .filter(|(n, _)| current.get(n).is_none())
            .cloned()
            .collect();
        let openers = super::Openers {
            identity: Some(opener),
            kms: None,
        };
        for (row, envelope) in self.backend.keypairs_with_envelopes()? {
            let (mut k, mac) = self.row_to_keypair(row)?;
            self.check_row(&mut k, mac, true, old_key.as_ref())?;
            let envelope = match (&k.encryption, envelope) {
                (Encryption::Default, Some(env)) => {
                    let public = self.public_key_of(&k)?;
                    let blob = super::public_blob(&public)?;
                    Some(if fresh_keys {
                        let key = self.open_envelope(&k, &env, openers)?;
                        let plaintext = Zeroizing::new(
                            key.to_bytes()
                                .map_err(|e| Error::EncryptFailed(e.to_string()))?,
                        );
                        team_seal::seal(&recipients, &k.name, &blob, &plaintext)?
                    } else if added.is_empty() {
                        env
                    } else {
                        team_seal::add_recipients(&env, &me, &opener.secret, &k.name, &blob, &added)
                            .map_err(|e| Error::IntegrityFailure {
                                name: k.name.clone(),
                                detail: format!(
                                    "its data key could not be sealed to the new member ({})",
                                    team_seal_error(&e)
                                ),
                            })?
                    })
                }
                (_, env) => env,
            };
            self.backend
                .set_keypair_envelope(&k.name, envelope.as_deref(), &new_key.tag(&k))?;
        }
        let bindings = self.bindings_for_rekey()?;
        self.remac_bindings(&bindings, &new_key)?;
        if let Some(team) = &self.team {
            team.membership.replace(next.clone());
        }
        self.append_audit_as(&signer, next.epoch, action, &target)?;
        tx.commit()?;
        let x25519 = next
            .get(&me)
            .or_else(|| current.get(&me))
            .map(|m| m.member.x25519)
            .unwrap_or_default();
        save_pin(&MembershipPin::of(&next), &x25519)?;
        self.trust.borrow_mut().unlocked = Some(new_key);
        Ok(next)
    }

    /// The audit log, every entry checked (signature, chain, who was a
    /// member at its epoch), optionally only those about `keypair`.
    pub fn team_log(&self, keypair: Option<&str>) -> Result<TeamLog> {
        let team = self.team.as_ref().ok_or_else(|| Error::NotATeamStore {
            store: self.store_name(),
        })?;
        // Every statement from the first: the first is trusted as the
        // team's creator signed it, the rest as each admin signed the
        // next; from this machine's pin on they must be the ones verified
        // when the store was opened.
        let chain = self.chain()?;
        let statements: BTreeMap<u64, Membership> = match chain.first() {
            Some((_, first)) => {
                let genesis = Membership::decode(&first.statement).map_err(|why| {
                    Error::MembershipRejected(MembershipFault::Malformed { position: 0, why })
                })?;
                let from = MembershipPin {
                    team_id: team.id,
                    epoch: 1,
                    statement_hash: Some(genesis.hash()),
                    admins: genesis.admins().map(|a| a.member.ed25519).collect(),
                };
                let all: Vec<SignedMembership> = chain.iter().map(|(_, s)| s.clone()).collect();
                let verified = from.verify_all(&all)?;
                let mine = team.membership.borrow();
                if verified.last() != Some(&*mine) {
                    return Err(Error::MembershipRejected(MembershipFault::Forked {
                        epoch: mine.epoch,
                    }));
                }
                verified.into_iter().map(|m| (m.epoch, m)).collect()
            }
            None => BTreeMap::new(),
        };
        let rows = self.backend.audit_entries()?;
        let x25519 = team
            .membership
            .borrow()
            .get(&team.me)
            .map(|m| m.member.x25519)
            .unwrap_or_default();
        // The newest entry this machine saw in an earlier, whole log: it
        // must still be there, or entries were cut from the log's end.
        let head = load_head(&team.id, &x25519)?;
        let mut head_found = head.is_none();
        let mut all_verified = true;
        let mut out = Vec::with_capacity(rows.len());
        let mut checker = crate::team::audit::LogChecker::new(team.id, None, &statements);
        // The hash of the last row, if it was an entry.
        let mut last: Option<[u8; 32]> = None;
        for row in &rows {
            let problems: Vec<String> = match entry_of(row) {
                Ok(entry) => {
                    let hash = entry.hash();
                    last = Some(hash);
                    if head.is_some_and(|(id, h)| id == row.id && h == hash) {
                        head_found = true;
                    }
                    checker
                        .check(&entry)
                        .iter()
                        .map(|f| f.to_string())
                        .collect()
                }
                Err(why) => {
                    checker.skip();
                    last = None;
                    vec![format!("malformed: {why}")]
                }
            };
            all_verified &= problems.is_empty();
            let about = keypair.is_none_or(|k| {
                !Action::parse(&row.action).is_some_and(Action::is_membership) && row.target == k
            });
            if about {
                out.push(LogEntry {
                    id: row.id,
                    at_micros: row.at_micros,
                    epoch: row.epoch,
                    member: row.member.clone(),
                    action: row.action.clone(),
                    target: row.target.clone(),
                    problems,
                });
            }
        }
        let missing_head = (!head_found).then(|| head.map(|(id, _)| id)).flatten();
        if all_verified
            && missing_head.is_none()
            && let (Some(row), Some(hash)) = (rows.last(), last)
        {
            save_head(&team.id, &x25519, row.id, &hash)?;
        }
        Ok(TeamLog {
            entries: out,
            missing_head,
        })
    }
}

pub(crate) fn team_seal_error(e: &team_seal::OpenError) -> &'static str {
    match e {
        team_seal::OpenError::Malformed => "the sealed private key is malformed",
        team_seal::OpenError::NotSealedToYou => {
            "it is not sealed to you: made before you joined and not sealed to you since, or you were removed"
        }
        team_seal::OpenError::Inauthentic => {
            "the sealed private key does not open (damaged or moved)"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invitations_round_trip_and_parse_strictly() {
        let (m, _) = crate::team::member::tests::fresh("alice");
        let pin = MembershipPin::invited(TeamId([7; 16]), 3, m.ed25519);
        let line = invitation(&pin, &m.ed25519);
        assert_eq!(parse_invitation(&line).unwrap(), pin);
        assert_eq!(parse_invitation(&format!("{line}\n")).unwrap(), pin);
        for bad in [
            line.replace(INVITATION_TAG, "kps-team-invite-v2"),
            line.replace(" 3 ", " 0 "),
            line.replace(" 3 ", " +3 "),
            format!("{line} extra"),
            line.replace(' ', "  "),
            format!("{line}\n\n"),
        ] {
            assert!(parse_invitation(&bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn pins_round_trip() {
        let pin = MembershipPin {
            team_id: TeamId([1; 16]),
            epoch: 9,
            statement_hash: Some([2; 32]),
            admins: vec![[3; 32], [4; 32]],
        };
        let mut text = format!("{PIN_HEADER}\nteam {}\nepoch 9\n", pin.team_id);
        text.push_str(&format!("statement {}\n", crate::hex::encode(&[2; 32])));
        text.push_str(&format!(
            "admin {}\nadmin {}\n",
            crate::hex::encode(&[3; 32]),
            crate::hex::encode(&[4; 32])
        ));
        assert_eq!(parse_pin(&text), Some(pin));
        assert_eq!(parse_pin(&text.replace("epoch 9", "epoch x")), None);
        assert_eq!(
            parse_pin(&text.replace(PIN_HEADER, "kps team pin v2")),
            None
        );
    }
}
