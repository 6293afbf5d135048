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
                write!(
                    f,
                    "the signature of the statement at epoch {epoch} does not verify"
                )
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
            let ed: [u8; 32] = ed
                .try_into()
                .map_err(|_| "an Ed25519 key is not 32 bytes")?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::team::member::tests::fresh;

    struct Team {
        id: TeamId,
        chain: Vec<SignedMembership>,
        keys: Vec<(String, MemberSigningKey)>,
    }

    impl Team {
        /// alice (admin) creates the team, adds bob (member) and carol (admin).
        fn new() -> Team {
            let id = TeamId::generate().unwrap();
            let (alice, ka) = fresh("alice");
            let g = Membership::genesis(id, alice);
            let mut t = Team {
                id,
                chain: vec![g.sign(&ka).unwrap()],
                keys: vec![("alice".into(), ka)],
            };
            let (bob, kb) = fresh("bob");
            t.change("alice", Change::Add(bob, Role::Member));
            t.keys.push(("bob".into(), kb));
            let (carol, kc) = fresh("carol");
            t.change("alice", Change::Add(carol, Role::Admin));
            t.keys.push(("carol".into(), kc));
            t
        }

        fn key(&self, name: &str) -> &MemberSigningKey {
            &self.keys.iter().find(|(n, _)| n == name).unwrap().1
        }

        fn latest(&self) -> Membership {
            Membership::decode(&self.chain.last().unwrap().statement).unwrap()
        }

        fn change(&mut self, by: &str, change: Change) -> Membership {
            let next = self.latest().next(change).unwrap();
            self.chain.push(next.sign(self.key(by)).unwrap());
            next
        }

        /// What a member who joined at the first statement would pin.
        fn first_pin(&self) -> MembershipPin {
            MembershipPin::invited(self.id, 1, self.key("alice").public())
        }
    }

    fn fault(r: Result<Membership>) -> MembershipFault {
        match r {
            Err(Error::MembershipRejected(f)) => f,
            other => panic!("expected a rejection, got {other:?}"),
        }
    }

    #[test]
    fn encoding_round_trips_and_is_the_documented_one() {
        let t = Team::new();
        let m = t.latest();
        let bytes = m.encode();
        assert_eq!(Membership::decode(&bytes).unwrap(), m);
        assert!(bytes.starts_with(b"kps team membership v1\0"));
        assert_eq!(&bytes[23..39], &t.id.0);
        assert_eq!(&bytes[39..47], &3u64.to_be_bytes());
        assert_eq!(&bytes[47..51], &3u32.to_be_bytes());
        // First member: field("alice"), field("admin"), field(x), field(ed).
        assert_eq!(bytes[51], 1);
        assert_eq!(&bytes[52..60], &5u64.to_be_bytes());
        assert_eq!(&bytes[60..65], b"alice");
        assert_eq!(
            bytes.len(),
            51 + 3 * (4 * 9 + 32 + 32) + (5 + 5) + (3 + 6) + (5 + 5)
        );
        let names: Vec<_> = m.members.iter().map(|m| m.member.name.as_str()).collect();
        assert_eq!(names, ["alice", "bob", "carol"]);
    }

    #[test]
    fn decode_refuses_what_encode_would_not_make() {
        let t = Team::new();
        let good = t.latest().encode();
        let mut trailing = good.clone();
        trailing.push(0);
        let mut huge_count = good.clone();
        huge_count[47..51].copy_from_slice(&u32::MAX.to_be_bytes());
        let mut bad_len = good.clone();
        bad_len[52..60].copy_from_slice(&u64::MAX.to_be_bytes());
        let mut unsorted = t.latest();
        unsorted.members.swap(0, 1);
        let mut dup = t.latest();
        dup.members[1].member.name = "alice".into();
        let mut no_admin = t.latest();
        for m in &mut no_admin.members {
            m.role = Role::Member;
        }
        let mut v2 = good.clone();
        v2[21] = b'2'; // "kps team membership v2\0"
        let mut same_key = t.latest();
        same_key.members[1].member.x25519 = same_key.members[0].member.x25519;
        for bytes in [
            Vec::new(),
            good[..good.len() - 1].to_vec(),
            trailing,
            huge_count,
            bad_len,
            v2,
            unsorted.encode(),
            dup.encode(),
            no_admin.encode(),
            same_key.encode(),
        ] {
            assert!(Membership::decode(&bytes).is_err());
        }
    }

    #[test]
    fn an_honest_chain_verifies_from_every_pin() {
        let mut t = Team::new();
        t.change("carol", Change::Promote("bob".into()));
        t.change("bob", Change::Remove("alice".into()));
        let latest = t.latest();
        assert_eq!(latest.epoch, 5);
        // From the invitation at epoch 1, then from each trusted statement.
        let all = t.first_pin().verify_all(&t.chain).unwrap();
        assert_eq!(all.len(), 5);
        assert_eq!(all[4], latest);
        for (i, trusted) in all.iter().enumerate() {
            let pin = MembershipPin::of(trusted);
            assert_eq!(
                pin.verify(&t.chain[i..]).unwrap(),
                latest,
                "from the pin at {i}"
            );
            if i < 4 {
                assert_eq!(pin.verify(&t.chain[i + 1..]).unwrap(), latest);
            }
        }
        let pin = MembershipPin::of(&latest);
        assert_eq!(pin.admins.len(), 2);
    }

    /// A superuser inserts their own member: a statement they made, unsigned
    /// (a signature of zeros), signed by themselves, or by a plain member.
    #[test]
    fn attack_inserted_member() {
        let t = Team::new();
        let pin = MembershipPin::of(&t.latest());
        let (mallory, km) = fresh("mallory");
        let forged = t.latest().next(Change::Add(mallory, Role::Admin)).unwrap();
        let mut chain = t.chain.clone();
        chain.push(SignedMembership {
            statement: forged.encode(),
            signer: t.key("alice").public(),
            signature: [0; 64],
        });
        assert_eq!(
            fault(pin.verify(&chain[2..])),
            MembershipFault::BadSignature { epoch: 4 }
        );
        chain.pop();
        chain.push(forged.sign(&km).unwrap());
        assert_eq!(
            fault(pin.verify(&chain[2..])),
            MembershipFault::SignerNotAdmin { epoch: 4 }
        );
        chain.pop();
        chain.push(forged.sign(t.key("bob")).unwrap());
        assert_eq!(
            fault(pin.verify(&chain[2..])),
            MembershipFault::SignerNotAdmin { epoch: 4 }
        );
        // Signed by an admin, but naming another key as the signer.
        chain.pop();
        let mut s = forged.sign(t.key("alice")).unwrap();
        s.signer = t.key("bob").public();
        chain.push(s);
        assert_eq!(
            fault(pin.verify(&chain[2..])),
            MembershipFault::BadSignature { epoch: 4 }
        );
        // Edited in place: the pinned statement itself, re-signed by mallory.
        let mut edited = t.chain.clone();
        edited[2] = forged_at(&t.latest(), "mallory").sign(&km).unwrap();
        assert_eq!(
            fault(pin.verify(&edited[2..])),
            MembershipFault::Forked { epoch: 3 }
        );
        assert_eq!(
            fault(t.first_pin().verify(&edited)),
            MembershipFault::SignerNotAdmin { epoch: 3 }
        );
    }

    /// The same member list at the same epoch with one more member.
    fn forged_at(m: &Membership, name: &str) -> Membership {
        let (extra, _) = fresh(name);
        let mut f = m.next(Change::Add(extra, Role::Member)).unwrap();
        f.epoch = m.epoch;
        f
    }

    /// A superuser swaps bob's public key for their own, keeping the
    /// signature (it no longer verifies) or re-signing (not an admin).
    #[test]
    fn attack_swapped_key() {
        let t = Team::new();
        let pin = MembershipPin::of(&Membership::decode(&t.chain[1].statement).unwrap());
        let (mallory, km) = fresh("bob");
        let mut m = t.latest();
        let i = m
            .members
            .iter()
            .position(|x| x.member.name == "bob")
            .unwrap();
        m.members[i].member = mallory;
        let mut chain = t.chain.clone();
        chain[2] = SignedMembership {
            statement: m.encode(),
            ..t.chain[2].clone()
        };
        assert_eq!(
            fault(pin.verify(&chain[1..])),
            MembershipFault::BadSignature { epoch: 3 }
        );
        chain[2] = m.sign(&km).unwrap();
        assert_eq!(
            fault(pin.verify(&chain[1..])),
            MembershipFault::SignerNotAdmin { epoch: 3 }
        );
    }

    /// A superuser restores an old member list (deleting the newer
    /// statements, or putting an old one back under a new epoch).
    #[test]
    fn attack_replayed_list() {
        let mut t = Team::new();
        let before_removal = t.chain.clone();
        t.change("alice", Change::Remove("bob".into()));
        let pin = MembershipPin::of(&t.latest());
        assert_eq!(
            fault(pin.verify(&before_removal)),
            MembershipFault::Replayed {
                epoch: 1,
                pinned: 4
            }
        );
        assert_eq!(
            fault(pin.verify(&before_removal[2..])),
            MembershipFault::Replayed {
                epoch: 3,
                pinned: 4
            }
        );
        assert_eq!(fault(pin.verify(&[])), MembershipFault::NoStatement);
        // The old statement put back at the newest place: its bytes say epoch 3.
        let mut chain = t.chain.clone();
        chain.push(before_removal[2].clone());
        assert!(matches!(
            fault(pin.verify(&chain[3..])),
            MembershipFault::Replayed { .. }
        ));
        // A statement from between, missing: the chain has a gap.
        t.change("alice", Change::Demote("carol".into()));
        t.change("alice", Change::Promote("carol".into()));
        let mut gapped = t.chain.clone();
        gapped.remove(4);
        assert_eq!(
            fault(pin.verify(&gapped[3..])),
            MembershipFault::Gap { after: 4, found: 6 }
        );
    }

    /// An admin removed from the team signs a statement putting themselves
    /// back: refused by anyone who trusts the statement that removed them.
    #[test]
    fn attack_removed_admin_re_signs() {
        let mut t = Team::new();
        let with_carol = t.latest();
        t.change("alice", Change::Remove("carol".into()));
        let pin = MembershipPin::of(&t.latest());
        let (carol2, _) = fresh("mallory");
        let back = t.latest().next(Change::Add(carol2, Role::Admin)).unwrap();
        let mut chain = t.chain.clone();
        chain.push(back.sign(t.key("carol")).unwrap());
        assert_eq!(
            fault(pin.verify(&chain[3..])),
            MembershipFault::SignerNotAdmin { epoch: 5 }
        );
        // Also from an older pin: the chain passes through her removal.
        assert_eq!(
            fault(MembershipPin::of(&with_carol).verify(&chain[2..])),
            MembershipFault::SignerNotAdmin { epoch: 5 }
        );
        // Replacing the removal with her own statement forks the chain for
        // whoever pinned the removal.
        let mut fork = t.chain.clone();
        let (x, _) = fresh("mallory");
        let mut own = with_carol.next(Change::Add(x, Role::Member)).unwrap();
        own.epoch = 4;
        fork[3] = own.sign(t.key("carol")).unwrap();
        assert_eq!(
            fault(pin.verify(&fork[3..])),
            MembershipFault::Forked { epoch: 4 }
        );
    }

    #[test]
    fn attack_other_team() {
        let t = Team::new();
        let other = Team::new();
        let pin = MembershipPin::of(&t.latest());
        assert!(matches!(
            fault(pin.verify(&other.chain[2..])),
            MembershipFault::OtherTeam { .. }
        ));
        // The same admin keys in another team: still another team.
        let mut m = t.latest();
        m.team_id = other.id;
        m.epoch = 4;
        let chain = vec![t.chain[2].clone(), m.sign(t.key("alice")).unwrap()];
        assert!(matches!(
            fault(pin.verify(&chain)),
            MembershipFault::OtherTeam { .. }
        ));
    }

    #[test]
    fn epoch_overflow_is_refused() {
        let t = Team::new();
        let mut m = t.latest();
        m.epoch = u64::MAX;
        assert!(matches!(
            m.next(Change::Remove("bob".into())),
            Err(Error::MembershipChangeRefused(_))
        ));
        // A pin at the last epoch accepts nothing after it.
        let pin = MembershipPin::of(&m);
        let s = m.sign(t.key("alice")).unwrap();
        assert_eq!(pin.verify(std::slice::from_ref(&s)).unwrap(), m);
        assert!(matches!(
            fault(pin.verify(&[s.clone(), s])),
            MembershipFault::Gap { .. }
        ));
    }

    /// Signed by an admin, but not a list kps accepts: duplicate names or
    /// keys, no admin (as a forger with an admin key, or a buggy client,
    /// would make).
    #[test]
    fn signed_but_invalid_lists_are_refused() {
        let t = Team::new();
        let pin = MembershipPin::of(&t.latest());
        let ka = t.key("alice");
        let sign_raw = |m: &Membership| {
            let statement = m.encode();
            SignedMembership {
                signature: ka.sign(&statement),
                statement,
                signer: ka.public(),
            }
        };
        let mut dup_key = t.latest();
        dup_key.epoch = 4;
        dup_key.members[2].member.ed25519 = dup_key.members[1].member.ed25519;
        let mut no_admin = t.latest();
        no_admin.epoch = 4;
        for m in &mut no_admin.members {
            m.role = Role::Member;
        }
        let mut dup_name = t.latest();
        dup_name.epoch = 4;
        dup_name.members[2].member.name = "bob".into();
        for bad in [dup_key, no_admin, dup_name] {
            assert!(bad.sign(ka).is_err(), "sign refuses it");
            let chain = vec![t.chain[2].clone(), sign_raw(&bad)];
            assert!(matches!(
                fault(pin.verify(&chain)),
                MembershipFault::Invalid { epoch: 4, .. }
            ));
        }
    }

    #[test]
    fn changes() {
        let t = Team::new();
        let m = t.latest();
        let refused = |r: Result<Membership>| matches!(r, Err(Error::MembershipChangeRefused(_)));
        let (bob2, _) = fresh("bob");
        assert!(refused(m.next(Change::Add(bob2, Role::Member))));
        let dave_with_bobs_key = Member {
            name: "dave".into(),
            ..m.get("bob").unwrap().member.clone()
        };
        assert!(refused(
            m.next(Change::Add(dave_with_bobs_key, Role::Member))
        ));
        assert!(refused(m.next(Change::Remove("nobody".into()))));
        assert!(refused(m.next(Change::Promote("alice".into()))));
        assert!(refused(m.next(Change::Demote("bob".into()))));
        let (aaron, _) = fresh("aaron");
        let added = m.next(Change::Add(aaron, Role::Member)).unwrap();
        assert_eq!(added.epoch, 4);
        assert_eq!(added.members[0].member.name, "aaron", "kept sorted");
        // The last admin can be neither removed nor demoted.
        let one_admin = m.next(Change::Remove("carol".into())).unwrap();
        assert!(refused(one_admin.next(Change::Remove("alice".into()))));
        assert!(refused(one_admin.next(Change::Demote("alice".into()))));
        let two = one_admin.next(Change::Promote("bob".into())).unwrap();
        assert!(two.next(Change::Remove("alice".into())).is_ok());
    }
}
