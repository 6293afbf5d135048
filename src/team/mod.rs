//! The team store's trust (issue 18): who the members are, what the admins
//! signed about them, and the signed audit chain. Pure functions over bytes:
//! no database here; the store writes and reads what these functions make
//! and check (docs/design/team-store.md, "Members" and "Audit log").

pub mod audit;
pub mod member;
pub mod membership;

pub use audit::{Action, AuditEntry, Event, Flag};
pub use member::{Member, MemberSigningKey};
pub use membership::{
    Change, Membership, MembershipFault, MembershipPin, Role, SignedMembership, TeamId,
};

/// Field framing shared by the signed and MACed encodings (statements,
/// audit entries, and the row MACs and signatures of store/rowmac.rs): each
/// field is `0x00` (absent) or `0x01 || u64 BE length || bytes`, so no two
/// different values encode to the same bytes.
pub(crate) fn put_field(out: &mut Vec<u8>, field: Option<&[u8]>) {
    match field {
        None => out.push(0),
        Some(bytes) => {
            out.push(1);
            out.extend_from_slice(&(bytes.len() as u64).to_be_bytes());
            out.extend_from_slice(bytes);
        }
    }
}

/// Reads what `put_field` and fixed-size integers wrote; every read is
/// bounded by what is left, so a length from outside cannot make it
/// allocate or read past the end.
struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Reader { rest: bytes }
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.rest.len() < n {
            return None;
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Some(head)
    }

    fn label(&mut self, label: &[u8]) -> bool {
        self.take(label.len()) == Some(label)
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_be_bytes(self.take(4)?.try_into().ok()?))
    }

    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_be_bytes(self.take(8)?.try_into().ok()?))
    }

    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }

    /// `Some(None)` for an absent field, `None` for bytes that are no field.
    fn field(&mut self) -> Option<Option<&'a [u8]>> {
        match self.take(1)? {
            [0] => Some(None),
            [1] => {
                let len = usize::try_from(self.u64()?).ok()?;
                Some(Some(self.take(len)?))
            }
            _ => None,
        }
    }

    fn present(&mut self) -> Option<&'a [u8]> {
        self.field()?
    }

    fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }
}
