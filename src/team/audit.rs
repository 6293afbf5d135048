//! The team's audit log: one entry per action (who, what, on which keypair
//! or member, when), each signed by the member who acted over its fields and
//! the hash of the entry before it, so that an edited, inserted, reordered
//! or removed entry shows as a break in the chain.

use super::member::{MemberSigningKey, validate_name, verifying_key};
use super::membership::{Membership, Role, TeamId};
use super::put_field;
use crate::{Error, Result};
use ed25519_dalek::Signature;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fmt;

const ENTRY_LABEL: &[u8] = b"kps team audit v1\0";

/// What was done: a closed list, stored as the command's name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Create,
    Import,
    Export,
    ExportPpk,
    GetWinPassword,
    Delete,
    SetEncryption,
    TeamInit,
    MemberAdd,
    MemberRemove,
    MemberPromote,
    MemberDemote,
}

impl Action {
    pub const ALL: [Action; 12] = [
        Action::Create,
        Action::Import,
        Action::Export,
        Action::ExportPpk,
        Action::GetWinPassword,
        Action::Delete,
        Action::SetEncryption,
        Action::TeamInit,
        Action::MemberAdd,
        Action::MemberRemove,
        Action::MemberPromote,
        Action::MemberDemote,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Import => "import",
            Action::Export => "export",
            Action::ExportPpk => "export-ppk",
            Action::GetWinPassword => "get-win-password",
            Action::Delete => "delete",
            Action::SetEncryption => "set-encryption",
            Action::TeamInit => "team-init",
            Action::MemberAdd => "member-add",
            Action::MemberRemove => "member-remove",
            Action::MemberPromote => "member-promote",
            Action::MemberDemote => "member-demote",
        }
    }

    pub fn parse(s: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.as_str() == s)
    }

    /// Membership actions name a member as their target, the others a keypair.
    pub fn is_membership(self) -> bool {
        matches!(
            self,
            Action::TeamInit
                | Action::MemberAdd
                | Action::MemberRemove
                | Action::MemberPromote
                | Action::MemberDemote
        )
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What happened, as the acting member's kps records it.
///
/// `epoch` names the membership statement the member acted under: for a
/// keypair action, the newest statement the command verified; for a
/// membership change, the statement the change produced (signed by the
/// same admin), and for `team-init` the first statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// Microseconds since 1970-01-01 UTC (PostgreSQL's timestamptz precision).
    pub at_micros: i64,
    pub epoch: u64,
    /// The acting member's name in that statement.
    pub member: String,
    pub action: Action,
    /// The keypair's name, or for a membership action the member's.
    pub target: String,
}

impl Event {
    fn check(&self) -> std::result::Result<(), String> {
        validate_name(&self.member)?;
        if self.action.is_membership() {
            validate_name(&self.target).map_err(|why| format!("target: {why}"))
        } else {
            crate::name::validate(&self.target).map_err(|e| e.to_string())
        }
    }
}

/// An entry as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEntry {
    pub team_id: TeamId,
    /// The hash of the entry before it; `None` for the first entry.
    pub prev: Option<[u8; 32]>,
    pub event: Event,
    pub signature: [u8; 64],
}

/// What is wrong with one entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Flag {
    /// Recorded for another team.
    WrongTeam,
    /// Its `prev` is not the hash of the entry before it (or of the head
    /// it was asked to follow): entries were edited, inserted, reordered or
    /// removed before it.
    BrokenChain,
    /// No verified membership statement for the epoch it names.
    UnknownEpoch,
    /// Its epoch is older than an earlier entry's: a member acting under a
    /// list that had already changed (a removed member's late write).
    EpochWentBack,
    /// The member it names was not a member at that epoch (for a
    /// membership change: not an admin of the statement before).
    NotAMember,
    /// The signature does not verify under that member's key at that epoch.
    BadSignature,
    /// A member or keypair name kps would not have written.
    BadField(String),
    /// A membership action the statements do not show (an add whose member
    /// is not in the new statement, ...).
    ActionDisagrees,
}

impl fmt::Display for Flag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Flag::WrongTeam => f.write_str("recorded for another team"),
            Flag::BrokenChain => f.write_str("does not follow the entry before it"),
            Flag::UnknownEpoch => {
                f.write_str("names a membership epoch with no verified statement")
            }
            Flag::EpochWentBack => {
                f.write_str("names an older membership epoch than an earlier entry")
            }
            Flag::NotAMember => f.write_str("its member was not a member (or admin) at that epoch"),
            Flag::BadSignature => f.write_str("its signature does not verify"),
            Flag::BadField(why) => write!(f, "malformed: {why}"),
            Flag::ActionDisagrees => {
                f.write_str("the membership statements do not show this change")
            }
        }
    }
}

impl AuditEntry {
    /// The entry after `prev` (or the first), signed by the acting member.
    pub fn sign(
        team_id: TeamId,
        prev: Option<&AuditEntry>,
        event: Event,
        key: &MemberSigningKey,
    ) -> Result<AuditEntry> {
        event.check().map_err(Error::invalid)?;
        let mut entry = AuditEntry {
            team_id,
            prev: prev.map(AuditEntry::hash),
            event,
            signature: [0; 64],
        };
        entry.signature = key.sign(&entry.encode());
        Ok(entry)
    }

    /// The signed bytes:
    ///
    /// ```text
    /// "kps team audit v1\0" || team id (16) || field(prev hash, absent for
    /// the first entry) || i64 BE at (µs) || u64 BE epoch || field(member)
    /// || field(action) || field(target)
    /// ```
    pub fn encode(&self) -> Vec<u8> {
        let mut out = ENTRY_LABEL.to_vec();
        out.extend_from_slice(&self.team_id.0);
        put_field(&mut out, self.prev.as_ref().map(|h| &h[..]));
        out.extend_from_slice(&self.event.at_micros.to_be_bytes());
        out.extend_from_slice(&self.event.epoch.to_be_bytes());
        put_field(&mut out, Some(self.event.member.as_bytes()));
        put_field(&mut out, Some(self.event.action.as_str().as_bytes()));
        put_field(&mut out, Some(self.event.target.as_bytes()));
        out
    }

    /// SHA-256(encoding || signature): the next entry's `prev`. The
    /// signature is in it so that the chain also fixes who signed.
    pub fn hash(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(self.encode());
        h.update(self.signature);
        h.finalize().into()
    }
}

/// Checks `entries`, consecutive entries of `team_id`'s log in order, the
/// first following the entry whose hash is `after` (`None`: the first
/// entry of the log). `statements` are the membership statements by epoch,
/// as `MembershipPin::verify_all` returned them. Gives each entry's flags
/// (empty: it verifies).
pub fn verify_log(
    team_id: TeamId,
    after: Option<[u8; 32]>,
    entries: &[AuditEntry],
    statements: &BTreeMap<u64, Membership>,
) -> Vec<Vec<Flag>> {
    let mut checker = LogChecker::new(team_id, after, statements);
    entries.iter().map(|e| checker.check(e)).collect()
}

/// [`verify_log`] one entry at a time, for a log read row by row from a
/// database, where a row may be no entry at all ([`LogChecker::skip`]).
pub struct LogChecker<'a> {
    team_id: TeamId,
    prev: Option<[u8; 32]>,
    newest_epoch: u64,
    statements: &'a BTreeMap<u64, Membership>,
}

impl<'a> LogChecker<'a> {
    pub fn new(
        team_id: TeamId,
        after: Option<[u8; 32]>,
        statements: &'a BTreeMap<u64, Membership>,
    ) -> Self {
        LogChecker {
            team_id,
            prev: after,
            newest_epoch: 0,
            statements,
        }
    }

    /// The flags of the next entry.
    pub fn check(&mut self, e: &AuditEntry) -> Vec<Flag> {
        let flags = check_entry(
            self.team_id,
            self.prev,
            self.newest_epoch,
            e,
            self.statements,
        );
        self.prev = Some(e.hash());
        self.newest_epoch = self.newest_epoch.max(e.event.epoch);
        flags
    }

    /// The next row was no entry: the one after it follows nothing known.
    pub fn skip(&mut self) {
        self.prev = None;
    }
}

fn check_entry(
    team_id: TeamId,
    prev: Option<[u8; 32]>,
    newest_epoch: u64,
    e: &AuditEntry,
    statements: &BTreeMap<u64, Membership>,
) -> Vec<Flag> {
    let mut flags = Vec::new();
    if e.team_id != team_id {
        flags.push(Flag::WrongTeam);
    }
    if e.prev != prev {
        flags.push(Flag::BrokenChain);
    }
    if let Err(why) = e.event.check() {
        flags.push(Flag::BadField(why));
    }
    if e.event.epoch < newest_epoch {
        flags.push(Flag::EpochWentBack);
    }
    let ev = &e.event;
    let Some(at) = statements.get(&ev.epoch) else {
        flags.push(Flag::UnknownEpoch);
        return flags;
    };
    // Who may have signed: a member at the epoch, or for a change the
    // admin of the statement before it, who signed the new one.
    let before = ev.epoch.checked_sub(1).and_then(|p| statements.get(&p));
    let signer = match ev.action {
        Action::MemberAdd | Action::MemberRemove | Action::MemberPromote | Action::MemberDemote => {
            match before {
                Some(b) => b.get(&ev.member).filter(|m| m.role == Role::Admin),
                None => {
                    flags.push(Flag::UnknownEpoch);
                    return flags;
                }
            }
        }
        Action::TeamInit => at.get(&ev.member).filter(|m| m.role == Role::Admin),
        _ => at.get(&ev.member),
    };
    match signer {
        None => flags.push(Flag::NotAMember),
        Some(m) => {
            let verifies = verifying_key(&m.member.ed25519).is_some_and(|k| {
                k.verify_strict(&e.encode(), &Signature::from_bytes(&e.signature))
                    .is_ok()
            });
            if !verifies {
                flags.push(Flag::BadSignature);
            }
        }
    }
    let role = |m: &Membership| m.get(&ev.target).map(|t| t.role);
    let shown = match (ev.action, before) {
        (Action::TeamInit, _) => ev.epoch == 1 && role(at) == Some(Role::Admin),
        (Action::MemberAdd, Some(b)) => role(b).is_none() && role(at).is_some(),
        (Action::MemberRemove, Some(b)) => role(b).is_some() && role(at).is_none(),
        (Action::MemberPromote, Some(b)) => {
            role(b) == Some(Role::Member) && role(at) == Some(Role::Admin)
        }
        (Action::MemberDemote, Some(b)) => {
            role(b) == Some(Role::Admin) && role(at) == Some(Role::Member)
        }
        _ => true,
    };
    if !shown {
        flags.push(Flag::ActionDisagrees);
    }
    flags
}

/// Is `head` (the hash of the newest entry a member saw, pinned) still in
/// the log? If not, entries were cut from its tail (or the log replaced).
pub fn contains_head(entries: &[AuditEntry], head: &[u8; 32]) -> bool {
    entries.iter().any(|e| &e.hash() == head)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::team::member::tests::fresh;
    use crate::team::membership::Change;

    struct Log {
        team: TeamId,
        statements: BTreeMap<u64, Membership>,
        keys: Vec<(String, MemberSigningKey)>,
        entries: Vec<AuditEntry>,
    }

    impl Log {
        /// alice creates the team (epoch 1), adds bob (epoch 2).
        fn new() -> Log {
            let team = TeamId::generate().unwrap();
            let (alice, ka) = fresh("alice");
            let (bob, kb) = fresh("bob");
            let g = Membership::genesis(team, alice);
            let two = g.next(Change::Add(bob, Role::Member)).unwrap();
            let mut log = Log {
                team,
                statements: BTreeMap::from([(1, g), (2, two)]),
                keys: vec![("alice".into(), ka), ("bob".into(), kb)],
                entries: Vec::new(),
            };
            log.act("alice", 1, Action::TeamInit, "alice");
            log.act("alice", 2, Action::MemberAdd, "bob");
            log.act("bob", 2, Action::Create, "web-1");
            log
        }

        fn act(&mut self, member: &str, epoch: u64, action: Action, target: &str) {
            let key = &self.keys.iter().find(|(n, _)| n == member).unwrap().1;
            let e = AuditEntry::sign(
                self.team,
                self.entries.last(),
                Event {
                    at_micros: 1_700_000_000_000_000 + self.entries.len() as i64,
                    epoch,
                    member: member.into(),
                    action,
                    target: target.into(),
                },
                key,
            )
            .unwrap();
            self.entries.push(e);
        }

        fn flags(&self) -> Vec<Vec<Flag>> {
            verify_log(self.team, None, &self.entries, &self.statements)
        }
    }

    fn clean(n: usize) -> Vec<Vec<Flag>> {
        vec![Vec::new(); n]
    }

    #[test]
    fn an_honest_log_verifies() {
        let mut log = Log::new();
        log.act("bob", 2, Action::ExportPpk, "web-1");
        log.act("alice", 2, Action::GetWinPassword, "web-1");
        assert_eq!(log.flags(), clean(5));
        // A suffix verifies after the head it follows.
        let head = log.entries[1].hash();
        assert_eq!(
            verify_log(log.team, Some(head), &log.entries[2..], &log.statements),
            clean(3)
        );
        assert!(contains_head(&log.entries, &head));
    }

    #[test]
    fn encoding_is_the_documented_one() {
        let log = Log::new();
        let e = &log.entries[2];
        let mut expected = b"kps team audit v1\0".to_vec();
        expected.extend_from_slice(&log.team.0);
        expected.push(1);
        expected.extend_from_slice(&32u64.to_be_bytes());
        expected.extend_from_slice(&log.entries[1].hash());
        expected.extend_from_slice(&e.event.at_micros.to_be_bytes());
        expected.extend_from_slice(&2u64.to_be_bytes());
        for f in [&b"bob"[..], b"create", b"web-1"] {
            expected.push(1);
            expected.extend_from_slice(&(f.len() as u64).to_be_bytes());
            expected.extend_from_slice(f);
        }
        assert_eq!(e.encode(), expected);
        assert_eq!(
            log.entries[0].encode()[18 + 16],
            0,
            "the first entry has no prev"
        );
        let mut h = Sha256::new();
        h.update(&expected);
        h.update(e.signature);
        assert_eq!(e.hash(), <[u8; 32]>::from(h.finalize()));
        for a in Action::ALL {
            assert_eq!(Action::parse(a.as_str()), Some(a));
        }
        assert_eq!(Action::parse("rename"), None);
    }

    #[test]
    fn edited_entries_are_flagged() {
        let log = Log::new();
        for edit in [
            |e: &mut AuditEntry| e.event.target = "web-2".into(),
            |e: &mut AuditEntry| e.event.action = Action::Delete,
            |e: &mut AuditEntry| e.event.at_micros += 1,
            |e: &mut AuditEntry| e.event.member = "alice".into(),
        ] {
            let mut entries = log.entries.clone();
            edit(&mut entries[2]);
            let f = verify_log(log.team, None, &entries, &log.statements);
            assert_eq!(f[2], vec![Flag::BadSignature], "{:?}", entries[2]);
            assert_eq!(&f[..2], &clean(2)[..]);
        }
    }

    #[test]
    fn removed_reordered_and_inserted_entries_break_the_chain() {
        let mut log = Log::new();
        log.act("bob", 2, Action::Export, "web-1");
        let all = log.entries.clone();
        log.entries.remove(2);
        assert_eq!(log.flags()[2], vec![Flag::BrokenChain]);
        log.entries = all.clone();
        log.entries.swap(2, 3);
        assert_eq!(log.flags()[2], vec![Flag::BrokenChain]);
        assert_eq!(log.flags()[3], vec![Flag::BrokenChain]);
        // An entry bob really signed, for another place in the chain.
        log.entries = all.clone();
        let mut other = Log::new();
        other.team = log.team;
        other.entries = all[..2].to_vec();
        other.keys = log.keys.drain(..).collect();
        other.act("bob", 2, Action::Delete, "web-1");
        let mut spliced = all.clone();
        spliced.insert(3, other.entries[2].clone());
        assert_eq!(
            verify_log(log.team, None, &spliced, &log.statements)[3],
            vec![Flag::BrokenChain]
        );
        // The tail cut: the pinned head is gone.
        assert!(!contains_head(&all[..3], &all[3].hash()));
    }

    #[test]
    fn a_non_member_or_removed_member_is_flagged() {
        let mut log = Log::new();
        let (_, km) = fresh("mallory");
        log.keys.push(("mallory".into(), km));
        // Not in any statement.
        log.act("mallory", 2, Action::Export, "web-1");
        assert_eq!(log.flags()[3], vec![Flag::NotAMember]);
        log.entries.pop();
        // Signs as bob with mallory's key.
        let kb = log.keys.iter().position(|(n, _)| n == "mallory").unwrap();
        log.keys[kb].0 = "bob".into();
        log.keys.swap(1, kb);
        log.act("bob", 2, Action::Export, "web-1");
        assert_eq!(log.flags()[3], vec![Flag::BadSignature]);
        log.entries.pop();
        log.keys.swap(1, kb);
        log.keys[kb].0 = "mallory".into();
        // bob removed at epoch 3; his later write naming epoch 2 or 3.
        let three = log.statements[&2]
            .next(Change::Remove("bob".into()))
            .unwrap();
        log.statements.insert(3, three);
        log.act("alice", 3, Action::MemberRemove, "bob");
        log.act("bob", 2, Action::Export, "web-1");
        assert_eq!(log.flags()[4], vec![Flag::EpochWentBack]);
        log.entries.pop();
        log.act("bob", 3, Action::Export, "web-1");
        assert_eq!(log.flags()[4], vec![Flag::NotAMember]);
        assert_eq!(&log.flags()[..4], &clean(4)[..]);
        // An epoch no verified statement has.
        log.entries.pop();
        log.act("alice", 9, Action::Export, "web-1");
        assert_eq!(log.flags()[4], vec![Flag::UnknownEpoch]);
    }

    #[test]
    fn membership_entries_need_the_admin_and_the_statements() {
        let mut log = Log::new();
        // bob (not an admin at epoch 2) records adding carol at epoch 3.
        let (carol, _) = fresh("carol");
        let three = log.statements[&2]
            .next(Change::Add(carol, Role::Member))
            .unwrap();
        log.statements.insert(3, three);
        log.act("bob", 3, Action::MemberAdd, "carol");
        assert_eq!(log.flags()[3], vec![Flag::NotAMember]);
        log.entries.pop();
        // alice records removing carol, which no statement shows.
        log.act("alice", 3, Action::MemberRemove, "carol");
        assert_eq!(log.flags()[3], vec![Flag::ActionDisagrees]);
        log.entries.pop();
        log.act("alice", 3, Action::MemberAdd, "carol");
        assert_eq!(log.flags(), clean(4));
    }

    #[test]
    fn another_teams_entry_and_bad_fields_are_flagged() {
        let mut log = Log::new();
        let real = log.team;
        log.team = TeamId::generate().unwrap();
        log.act("bob", 2, Action::Export, "web-1");
        log.team = real;
        assert_eq!(log.flags()[3], vec![Flag::WrongTeam]);
        log.entries.pop();
        let key = &log.keys[1].1;
        let mut event = log.entries[2].event.clone();
        event.target = "web 1\u{1b}[2J".into();
        assert!(AuditEntry::sign(log.team, log.entries.last(), event.clone(), key).is_err());
        // Written anyway (by a client that does not check): flagged.
        let mut e = AuditEntry {
            team_id: log.team,
            prev: Some(log.entries[2].hash()),
            event,
            signature: [0; 64],
        };
        e.signature = key.sign(&e.encode());
        log.entries.push(e);
        assert!(matches!(log.flags()[3][..], [Flag::BadField(_)]));
    }
}
