//! The membership statement: the team's member list with each member's role
//! and keys, at an epoch, signed by an admin. Each member's kps pins the
//! team id, the statement it last trusted (epoch and hash) and the admin
//! keys that may sign the next one, and seals only to members of a chain of
//! statements that verifies from that pin.

use super::member::{Member, MemberSigningKey, verifying_key};
use super::{Reader, put_field};
use crate::{Error, Result};
use ed25519_dalek::Signature;
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::fmt;

const STATEMENT_LABEL: &[u8] = b"kps team membership v1\0";
/// More members than any team kps is for; a bound on what a statement from
/// the database can make a reader allocate.
pub const MAX_MEMBERS: u32 = 4096;

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TeamId(pub [u8; 16]);

impl TeamId {
    pub fn generate() -> Result<TeamId> {
        let mut id = [0u8; 16];
        getrandom::fill(&mut id).map_err(|e| Error::EncryptFailed(e.to_string()))?;
        Ok(TeamId(id))
    }
}

impl fmt::Display for TeamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::hex::encode(&self.0))
    }
}

impl fmt::Debug for TeamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TeamId({self})")
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Admin,
    Member,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Member => "member",
        }
    }

    fn parse(bytes: &[u8]) -> Option<Role> {
        match bytes {
            b"admin" => Some(Role::Admin),
            b"member" => Some(Role::Member),
            _ => None,
        }
    }
}

/// One member of a statement: who, and what they may do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TeamMember {
    pub member: Member,
    pub role: Role,
}

/// The member list at one epoch. `members` is sorted by name (bytewise);
/// every constructor and `decode` keep it so.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Membership {
    pub team_id: TeamId,
    pub epoch: u64,
    pub members: Vec<TeamMember>,
}

/// A change an admin makes, giving the next statement.
#[derive(Clone, Debug)]
pub enum Change {
    Add(Member, Role),
    Remove(String),
    Promote(String),
    Demote(String),
}

/// A statement as stored: its canonical encoding, the admin key that
/// signed it and the Ed25519 signature over the encoding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedMembership {
    pub statement: Vec<u8>,
    pub signer: [u8; 32],
    pub signature: [u8; 64],
}

/// What failed when a chain of statements was checked against the pin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MembershipFault {
    /// No statement at all (the newest ones deleted, or none written).
    NoStatement,
    /// Bytes that are not a canonical statement.
    Malformed { position: usize, why: String },
    /// A statement of another team.
    OtherTeam { found: TeamId, pinned: TeamId },
    /// The signature does not verify under the key it names.
    BadSignature { epoch: u64 },
    /// Signed by a key that was not an admin of the trusted statement before it.
    SignerNotAdmin { epoch: u64 },
    /// Older than the statement this machine already trusts.
    Replayed { epoch: u64, pinned: u64 },
    /// The chain skips an epoch (or goes back), so who may sign is unknown.
    Gap { after: u64, found: u64 },
    /// Another statement at the pinned epoch than the one pinned.
    Forked { epoch: u64 },
    /// Well-formed and signed, but a member list kps refuses.
    Invalid { epoch: u64, why: String },
}

impl fmt::Display for MembershipFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use MembershipFault as F;
        match self {
            F::NoStatement => f.write_str("the store holds no membership statement"),
            F::Malformed { position, why } => {
                write!(f, "statement {position} of the chain is malformed: {why}")
            }
            F::OtherTeam { found, pinned } => write!(
                f,
                "a statement is for team {found}, not for the pinned team {pinned}"
            ),
            F::BadSignature { epoch } => {
                write!(f, "the signature of the statement at epoch {epoch} does not verify")
            }
            F::SignerNotAdmin { epoch } => write!(
                f,
                "the statement at epoch {epoch} is signed by a key that is not a trusted admin's"
            ),
            F::Replayed { epoch, pinned } => write!(
                f,
                "the statement at epoch {epoch} is older than epoch {pinned}, already seen here (an old member list replayed, or newer ones deleted)"
            ),
            F::Gap { after, found } => write!(
                f,
                "the statement after epoch {after} has epoch {found}: the chain is not consecutive"
            ),
            F::Forked { epoch } => write!(
                f,
                "the statement at epoch {epoch} is not the one pinned here for that epoch"
            ),
            F::Invalid { epoch, why } => write!(f, "the statement at epoch {epoch}: {why}"),
        }
    }
}

fn refused(why: impl Into<String>) -> Error {
    Error::MembershipChangeRefused(why.into())
}

impl Membership {
    /// The first statement of a new team: its creator, an admin, at epoch 1.
    pub fn genesis(team_id: TeamId, creator: Member) -> Membership {
        Membership {
            team_id,
            epoch: 1,
            members: vec![TeamMember {
                member: creator,
                role: Role::Admin,
            }],
        }
    }

    pub fn admins(&self) -> impl Iterator<Item = &TeamMember> {
        self.members.iter().filter(|m| m.role == Role::Admin)
    }

    pub fn get(&self, name: &str) -> Option<&TeamMember> {
        self.members.iter().find(|m| m.member.name == name)
    }

    /// The statement after this one: `change` applied, epoch + 1. Refuses a
    /// change that names a member who is not there, adds a name or key
    /// already there, leaves no admin, or would overflow the epoch.
    pub fn next(&self, change: Change) -> Result<Membership> {
        let epoch = self
            .epoch
            .checked_add(1)
            .ok_or_else(|| refused("the epoch is at its maximum; the team cannot change"))?;
        let mut members = self.members.clone();
        let position = |name: &str| {
            members
                .iter()
                .position(|m| m.member.name == name)
                .ok_or_else(|| refused(format!("'{name}' is not a member")))
        };
        match change {
            Change::Add(member, role) => {
                if let Some(clash) = members.iter().find(|m| {
                    m.member.name == member.name
                        || m.member.x25519 == member.x25519
                        || m.member.ed25519 == member.ed25519
                }) {
                    return Err(refused(if clash.member.name == member.name {
                        format!("'{}' is already a member", member.name)
                    } else {
                        format!(
                            "'{}' has the same key as the member '{}'",
                            member.name, clash.member.name
                        )
                    }));
                }
                members.push(TeamMember { member, role });
                members.sort_by(|a, b| a.member.name.as_bytes().cmp(b.member.name.as_bytes()));
            }
            Change::Remove(name) => {
                let i = position(&name)?;
                members.remove(i);
            }
            Change::Promote(name) => {
                let i = position(&name)?;
                if members[i].role == Role::Admin {
                    return Err(refused(format!("'{name}' is already an admin")));
                }
                members[i].role = Role::Admin;
            }
            Change::Demote(name) => {
                let i = position(&name)?;
                if members[i].role != Role::Admin {
                    return Err(refused(format!("'{name}' is not an admin")));
                }
                members[i].role = Role::Member;
            }
        }
        if !members.iter().any(|m| m.role == Role::Admin) {
            return Err(refused(
                "the team would have no admin left; promote another member first",
            ));
        }
        let next = Membership {
            team_id: self.team_id,
            epoch,
            members,
        };
        next.check().map_err(refused)?;
        Ok(next)
    }

    /// What every statement must be: names sorted and unique, each key used
    /// once, at least one admin, at most `MAX_MEMBERS`.
    pub fn check(&self) -> std::result::Result<(), String> {
        if self.members.len() > MAX_MEMBERS as usize {
            return Err(format!("more than {MAX_MEMBERS} members"));
        }
        for pair in self.members.windows(2) {
            let (a, b) = (&pair[0].member.name, &pair[1].member.name);
            if a == b {
                return Err(format!("the name '{a}' is listed twice"));
            }
            if a.as_bytes() > b.as_bytes() {
                return Err("the members are not sorted by name".into());
            }
        }
        let mut x = HashSet::new();
        let mut ed = HashSet::new();
        for m in &self.members {
            super::member::validate_name(&m.member.name)?;
            if !x.insert(m.member.x25519) {
                return Err(format!(
                    "'{}' has an X25519 key another member has",
                    m.member.name
                ));
            }
            if !ed.insert(m.member.ed25519) {
                return Err(format!(
                    "'{}' has an Ed25519 key another member has",
                    m.member.name
                ));
            }
            if verifying_key(&m.member.ed25519).is_none() || m.member.x25519 == [0; 32] {
                return Err(format!("'{}' has an unacceptable key", m.member.name));
            }
        }
        if self.admins().next().is_none() {
            return Err("no member is an admin".into());
        }
        Ok(())
    }

    /// The canonical encoding, the bytes that are signed:
    ///
    /// ```text
    /// "kps team membership v1\0" || team id (16) || u64 BE epoch
    /// || u32 BE member count
    /// || per member, by name: field(name) field("admin"|"member")
    ///                         field(x25519, 32) field(ed25519, 32)
    /// ```
    ///
    /// each field `0x01 || u64 BE length || bytes`.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = STATEMENT_LABEL.to_vec();
        out.extend_from_slice(&self.team_id.0);
        out.extend_from_slice(&self.epoch.to_be_bytes());
        out.extend_from_slice(&(self.members.len() as u32).to_be_bytes());
        for m in &self.members {
            put_field(&mut out, Some(m.member.name.as_bytes()));
            put_field(&mut out, Some(m.role.as_str().as_bytes()));
            put_field(&mut out, Some(&m.member.x25519));
            put_field(&mut out, Some(&m.member.ed25519));
        }
        out
    }

    /// Parses an encoding strictly: it must be exactly what `encode` gives
    /// for a statement that passes `check`.
    pub fn decode(bytes: &[u8]) -> std::result::Result<Membership, String> {
        let m = Self::decode_unchecked(bytes)?;
        m.check()?;
        Ok(m)
    }

    /// The fields, each checked on its own (names, roles, keys), without
    /// the checks across members (`check`).
    fn decode_unchecked(bytes: &[u8]) -> std::result::Result<Membership, String> {
        let mut r = Reader::new(bytes);
        if !r.label(STATEMENT_LABEL) {
            return Err("it is not a kps membership statement (v1)".into());
        }
        let short = || "it is cut short".to_string();
        let team_id = TeamId(r.array().ok_or_else(short)?);
        let epoch = r.u64().ok_or_else(short)?;
        let count = r.u32().ok_or_else(short)?;
        if count > MAX_MEMBERS {
            return Err(format!("it lists {count} members, more than {MAX_MEMBERS}"));
        }
        let mut members = Vec::with_capacity(count as usize);
        for _ in 0..count {
            let name = r.present().ok_or_else(short)?;
            let role = r.present().ok_or_else(short)?;
            let x = r.present().ok_or_else(short)?;
            let ed = r.present().ok_or_else(short)?;
            let name = std::str::from_utf8(name).map_err(|_| "a name is not UTF-8".to_string())?;
            let role = Role::parse(role).ok_or("a role is neither admin nor member")?;
            let x: [u8; 32] = x.try_into().map_err(|_| "an X25519 key is not 32 bytes")?;
            let ed: [u8; 32] = ed.try_into().map_err(|_| "an Ed25519 key is not 32 bytes")?;
            let member = Member::new(name, x, ed).map_err(|e| e.to_string())?;
            members.push(TeamMember { member, role });
        }
        if !r.is_empty() {
            return Err("bytes follow the last member".into());
        }
        Ok(Membership {
            team_id,
            epoch,
            members,
        })
    }

    /// SHA-256 of the encoding: what a pin keeps of the statement it trusts.
    pub fn hash(&self) -> [u8; 32] {
        Sha256::digest(self.encode()).into()
    }

    /// Signs this statement with an admin's key. Whether the key may sign
    /// it (an admin of the statement before) is for the verifier to decide;
    /// this refuses only a statement that no verifier would take.
    pub fn sign(&self, key: &MemberSigningKey) -> Result<SignedMembership> {
        self.check().map_err(refused)?;
        let statement = self.encode();
        let signature = key.sign(&statement);
        Ok(SignedMembership {
            statement,
            signer: key.public(),
            signature,
        })
    }
}

/// What a member's kps keeps about a team (in its config directory, as the
/// store pins): the team, the newest statement it trusted, and who may sign
/// the statement after it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MembershipPin {
    pub team_id: TeamId,
    pub epoch: u64,
    /// SHA-256 of the statement at `epoch`; `None` only for a pin made from
    /// an invitation, before its first verification.
    pub statement_hash: Option<[u8; 32]>,
    /// With a hash: the admins of the statement at `epoch`, who may sign
    /// `epoch + 1`. Without: the keys trusted to have signed the statement
    /// at `epoch` itself (the inviting admin's, from the invitation).
    pub admins: Vec<[u8; 32]>,
}

impl MembershipPin {
    /// The pin an invitation gives: team, epoch and the inviting admin's key.
    pub fn invited(team_id: TeamId, epoch: u64, admin: [u8; 32]) -> MembershipPin {
        MembershipPin {
            team_id,
            epoch,
            statement_hash: None,
            admins: vec![admin],
        }
    }

    /// The pin after trusting `m` (the creator's own genesis, or what
    /// `verify` returned).
    pub fn of(m: &Membership) -> MembershipPin {
        MembershipPin {
            team_id: m.team_id,
            epoch: m.epoch,
            statement_hash: Some(m.hash()),
            admins: m.admins().map(|a| a.member.ed25519).collect(),
        }
    }

    /// Checks `chain`, the stored statements from the pinned epoch (or the
    /// one after it) to the newest, in epoch order, and returns the newest
    /// member list. Each statement must decode, be for the pinned team,
    /// verify under its signer's key, be signed by an admin of the trusted
    /// statement before it, follow it by exactly one epoch and pass
    /// As `verify`, returning every statement of the chain (for the audit
    /// log, which checks each entry against the epoch it names).
    pub fn verify_all(&self, chain: &[SignedMembership]) -> Result<Vec<Membership>> {
        self.verify_chain(chain).map_err(Error::MembershipRejected)
    }

    /// Checks `chain`, the stored statements from the pinned epoch (or the
    /// one after it) to the newest, in epoch order, and returns the newest
    /// member list. Each statement must decode, be for the pinned team,
    /// verify under its signer's key, be signed by an admin of the trusted
    /// statement before it, follow it by exactly one epoch and pass
    /// `Membership::check`; the one at the pinned epoch must be the pinned one.
    pub fn verify(&self, chain: &[SignedMembership]) -> Result<Membership> {
        let mut all = self.verify_all(chain)?;
        all.pop()
            .ok_or(Error::MembershipRejected(MembershipFault::NoStatement))
    }

    fn verify_chain(
        &self,
        chain: &[SignedMembership],
    ) -> std::result::Result<Vec<Membership>, MembershipFault> {
        use MembershipFault as F;
        // Who may sign the next statement, and the epoch it must have.
        let mut signers = self.admins.clone();
        let mut expected = Some(self.epoch);
        let mut verified: Vec<Membership> = Vec::with_capacity(chain.len());
        for (position, signed) in chain.iter().enumerate() {
            let m = Membership::decode_unchecked(&signed.statement)
                .map_err(|why| F::Malformed { position, why })?;
            if m.team_id != self.team_id {
                return Err(F::OtherTeam {
                    found: m.team_id,
                    pinned: self.team_id,
                });
            }
            if m.epoch < self.epoch {
                return Err(F::Replayed {
                    epoch: m.epoch,
                    pinned: self.epoch,
                });
            }
            // A pin that trusts a statement may see it again or start at
            // the one after it.
            if position == 0 && self.statement_hash.is_some() && m.epoch != self.epoch {
                expected = self.epoch.checked_add(1);
            }
            if Some(m.epoch) != expected {
                let after = verified.last().map_or(self.epoch, |l| l.epoch);
                return Err(F::Gap {
                    after,
                    found: m.epoch,
                });
            }
            let key = verifying_key(&signed.signer).ok_or(F::BadSignature { epoch: m.epoch })?;
            key.verify_strict(&signed.statement, &Signature::from_bytes(&signed.signature))
                .map_err(|_| F::BadSignature { epoch: m.epoch })?;
            if m.epoch == self.epoch && self.statement_hash.is_some() {
                // Its signer was checked when it was pinned, against the
                // statement before it; it must be that very statement.
                if Some(m.hash()) != self.statement_hash {
                    return Err(F::Forked { epoch: m.epoch });
                }
            } else if !signers.contains(&signed.signer) {
                return Err(F::SignerNotAdmin { epoch: m.epoch });
            }
            m.check().map_err(|why| F::Invalid {
                epoch: m.epoch,
                why,
            })?;
            signers = m.admins().map(|a| a.member.ed25519).collect();
            expected = m.epoch.checked_add(1);
            verified.push(m);
        }
        if verified.is_empty() {
            return Err(F::NoStatement);
        }
        Ok(verified)
    }
}
