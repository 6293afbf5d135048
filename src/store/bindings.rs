//! The servers a keypair is bound to: one record per keypair, host, port
//! and login user, with what kps checked and changed there (`kps bind`
//! writes them, `unbind` and `replace` update them, `kps bindings` and
//! `kps show` list them, `kps delete` names them).
//!
//! A record refers to its keypair's row id, so a rename keeps it and a
//! delete takes it away with the keypair (`ON DELETE CASCADE`). Records are
//! authenticated like keypair rows (rowmac.rs), over every column and the
//! keypair's fingerprint: whoever can write the store must not be able to
//! point `unbind` at another file, move a record to another keypair, or
//! fake "password login disabled". See docs/store-format.md.

use super::backend::{BindingFilter, BindingRow};
use super::{RowKey, Store, now_rfc3339};
use crate::{Error, Result, fingerprint};
use ssh_key::PublicKey;
use std::collections::HashMap;

/// What a bind did to the server's password login: turned it off
/// (`--disable-password-login`), turned it back on, or left it alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PasswordLogin {
    Disabled,
    Enabled,
    Unchanged,
}

impl PasswordLogin {
    /// The stored and JSON form: `disabled`, `enabled`, `unchanged`.
    pub fn as_str(&self) -> &'static str {
        match self {
            PasswordLogin::Disabled => "disabled",
            PasswordLogin::Enabled => "enabled",
            PasswordLogin::Unchanged => "unchanged",
        }
    }

    pub fn parse(s: &str) -> Option<PasswordLogin> {
        match s {
            "disabled" => Some(PasswordLogin::Disabled),
            "enabled" => Some(PasswordLogin::Enabled),
            "unchanged" => Some(PasswordLogin::Unchanged),
            _ => None,
        }
    }
}

/// One keypair bound to one login on one server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Binding {
    /// The keypair's name.
    pub keypair: String,
    /// As given on the command line, without brackets for IPv6 (`::1`).
    pub host: String,
    pub port: u16,
    pub user: String,
    /// The server's host key, `SHA256:...`, as verified when it was bound.
    pub host_key_fingerprint: String,
    /// The authorized_keys file the key was written to, on the server.
    pub authorized_keys_path: String,
    pub password_login: PasswordLogin,
    /// RFC 3339, UTC: set by the store when the record is written (the
    /// values given to [`Store::record_binding`] are not used).
    pub create_time: String,
    pub update_time: String,
}

impl Binding {
    /// `user@host:port`, an IPv6 address in brackets (`root@[::1]:22`).
    /// Not escaped: the caller escapes it for a terminal.
    pub fn target(&self) -> String {
        if self.host.contains(':') {
            format!("{}@[{}]:{}", self.user, self.host, self.port)
        } else {
            format!("{}@{}:{}", self.user, self.host, self.port)
        }
    }

    fn check(&self) -> Result<()> {
        if self.host.is_empty() || self.user.is_empty() || self.port == 0 {
            return Err(Error::invalid(format!(
                "a binding needs a host, a user and a port (got '{}')",
                crate::text::escape(&self.target())
            )));
        }
        if !self.host_key_fingerprint.starts_with("SHA256:") {
            return Err(Error::invalid(format!(
                "a binding's host key fingerprint is SHA256:... (got '{}')",
                crate::text::escape(&self.host_key_fingerprint)
            )));
        }
        Ok(())
    }
}

/// A binding row as read, with what its MAC is checked against.
struct Row {
    rowid: i64,
    keypair_id: i64,
    /// The keypair's public key line, as its row holds it.
    public_line: String,
    binding: Binding,
    mac: Option<Vec<u8>>,
}

/// The fields a binding's MAC covers, in order: the keypair's row id
/// (i64 BE) and the SHA-256 fingerprint of its public key, host, port
/// (u16 BE), user, host key fingerprint, authorized_keys path, password
/// login, create time, update time.
fn mac_fields<'a>(
    keypair_id: &'a [u8; 8],
    keypair_fingerprint: &'a str,
    port: &'a [u8; 2],
    b: &'a Binding,
) -> [Option<&'a [u8]>; 10] {
    [
        Some(&keypair_id[..]),
        Some(keypair_fingerprint.as_bytes()),
        Some(b.host.as_bytes()),
        Some(&port[..]),
        Some(b.user.as_bytes()),
        Some(b.host_key_fingerprint.as_bytes()),
        Some(b.authorized_keys_path.as_bytes()),
        Some(b.password_login.as_str().as_bytes()),
        Some(b.create_time.as_bytes()),
        Some(b.update_time.as_bytes()),
    ]
}

fn tag(key: &RowKey, keypair_id: i64, keypair_fingerprint: &str, b: &Binding) -> Vec<u8> {
    let (id, port) = (keypair_id.to_be_bytes(), b.port.to_be_bytes());
    key.binding_tag(&mac_fields(&id, keypair_fingerprint, &port, b))
}

fn verifies(
    key: &RowKey,
    keypair_id: i64,
    keypair_fingerprint: &str,
    b: &Binding,
    mac: &[u8],
) -> bool {
    let (id, port) = (keypair_id.to_be_bytes(), b.port.to_be_bytes());
    key.binding_verifies(&mac_fields(&id, keypair_fingerprint, &port, b), mac)
}

impl Store {
    /// Record that keypair `b.keypair` is bound to `b.user@b.host:b.port`,
    /// or update the record if there is one (its create time is kept). The
    /// keypair's row is checked first (its MAC, its fingerprint recomputed
    /// from its public key). `row_key` authenticates the record
    /// ([`super::WriteKeys`]; `None` only in a store without an identity,
    /// whose rows have no MAC).
    pub fn record_binding(&self, row_key: Option<&RowKey>, b: &Binding) -> Result<()> {
        b.check()?;
        let tx = self.begin_write()?;
        self.upsert_binding(row_key, b)?;
        tx.commit()?;
        self.backend.checkpoint_if_large();
        Ok(())
    }

    /// Forget the binding of `keypair` to `user@host:port`; false if there
    /// was none. Needs no row key: removing a record forges nothing.
    pub fn remove_binding(&self, keypair: &str, host: &str, port: u16, user: &str) -> Result<bool> {
        let n = self.backend.delete_binding(keypair, host, port, user)?;
        Ok(n > 0)
    }

    /// `kps replace OLD NEW HOST`: the record of `old_keypair` on
    /// `new.user@new.host:new.port` goes and `new` is recorded, in one
    /// transaction. True if there was a record of `old_keypair` there.
    pub fn replace_binding(
        &self,
        row_key: Option<&RowKey>,
        old_keypair: &str,
        new: &Binding,
    ) -> Result<bool> {
        new.check()?;
        let tx = self.begin_write()?;
        let removed = old_keypair != new.keypair
            && self.remove_binding(old_keypair, &new.host, new.port, &new.user)?;
        self.upsert_binding(row_key, new)?;
        tx.commit()?;
        self.backend.checkpoint_if_large();
        Ok(removed)
    }

    /// The bindings, of one keypair and/or on one host (compared without
    /// case; no brackets around an IPv6 address) or all, by keypair name,
    /// host, port and user. Each record's keypair row is checked, and with
    /// a row key at hand (pinned here, or this command's unlock) each
    /// record's MAC must verify: one that does not (or has none) is
    /// refused, KPS.6011, naming its keypair and server.
    pub fn bindings(&self, keypair: Option<&str>, host: Option<&str>) -> Result<Vec<Binding>> {
        Ok(self
            .checked_bindings(keypair, host)?
            .into_iter()
            .map(|(_, _, _, b)| b)
            .collect())
    }

    /// [`Store::bindings`] with each record's row id, keypair id and
    /// keypair fingerprint.
    fn checked_bindings(
        &self,
        keypair: Option<&str>,
        host: Option<&str>,
    ) -> Result<Vec<(i64, i64, String, Binding)>> {
        let row_key = self.row_key()?;
        let rows = self.binding_rows(BindingFilter::Matching { keypair, host })?;
        // Each keypair's row checked once, its fingerprint computed from
        // its public key.
        let mut fingerprints: HashMap<i64, String> = HashMap::new();
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let fingerprint = match fingerprints.get(&row.keypair_id) {
                Some(f) => f.clone(),
                None => {
                    let f = self.get(&row.binding.keypair)?.fingerprint;
                    fingerprints.insert(row.keypair_id, f.clone());
                    f
                }
            };
            if let Some(key) = &row_key {
                let detail = match &row.mac {
                    Some(mac) if verifies(key, row.keypair_id, &fingerprint, &row.binding, mac) => {
                        None
                    }
                    Some(_) => Some("does not match its MAC: it was changed outside kps"),
                    None => Some("has no MAC: kps did not write it with this store's key"),
                };
                if let Some(detail) = detail {
                    return Err(Error::IntegrityFailure {
                        name: row.binding.keypair.clone(),
                        detail: format!(
                            "its record of server {} {detail}",
                            crate::text::escape(&row.binding.target())
                        ),
                    });
                }
            }
            out.push((row.rowid, row.keypair_id, fingerprint, row.binding));
        }
        Ok(out)
    }

    /// The binding rows `filter` selects, their port and password login
    /// checked.
    fn binding_rows(&self, filter: BindingFilter<'_>) -> Result<Vec<Row>> {
        let mut out = Vec::new();
        for r in self.backend.bindings(filter)? {
            let damaged = |what: &str| Error::IntegrityFailure {
                name: r.keypair.clone(),
                detail: format!("one of its server records has {what}"),
            };
            let port = u16::try_from(r.port)
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| damaged("a port out of range"))?;
            let password_login = PasswordLogin::parse(&r.password_login)
                .ok_or_else(|| damaged("an unknown password login"))?;
            let BindingRow {
                id,
                keypair_id,
                keypair,
                public_line,
                host,
                user,
                host_key_fingerprint,
                authorized_keys_path,
                create_time,
                update_time,
                mac,
                ..
            } = r;
            out.push(Row {
                rowid: id,
                keypair_id,
                public_line,
                binding: Binding {
                    keypair,
                    host,
                    port,
                    user,
                    host_key_fingerprint,
                    authorized_keys_path,
                    password_login,
                    create_time,
                    update_time,
                },
                mac,
            });
        }
        Ok(out)
    }

    /// Insert or update one record (inside the caller's transaction).
    fn upsert_binding(&self, row_key: Option<&RowKey>, b: &Binding) -> Result<()> {
        let fingerprint = self.get(&b.keypair)?.fingerprint;
        let keypair_id = self
            .backend
            .keypair_id(&b.keypair)?
            .ok_or_else(|| Error::NotFound(b.keypair.clone()))?;
        let now = now_rfc3339();
        let created = self
            .backend
            .binding_create_time(keypair_id, &b.host, b.port, &b.user)?;
        let record = Binding {
            create_time: created.unwrap_or_else(|| now.clone()),
            update_time: now,
            ..b.clone()
        };
        let mac = row_key.map(|k| tag(k, keypair_id, &fingerprint, &record));
        self.backend
            .upsert_binding(keypair_id, &record, mac.as_deref())
    }

    /// Give every binding without a MAC its MAC (inside the caller's
    /// transaction, as the keypair rows are endorsed: trusted as they are
    /// when the store gets its identity).
    pub(super) fn endorse_bindings(&self, key: &RowKey) -> Result<()> {
        let rows = self.binding_rows(BindingFilter::WithoutMac)?;
        for row in rows {
            let public = PublicKey::from_openssh(&row.public_line).map_err(|_| {
                self.corrupt(format!(
                    "stored public key of keypair '{}' is malformed",
                    row.binding.keypair
                ))
            })?;
            let fingerprint = fingerprint::sha256(public.key_data());
            self.set_binding_mac(
                row.rowid,
                &tag(key, row.keypair_id, &fingerprint, &row.binding),
            )?;
        }
        Ok(())
    }

    /// Every binding, checked with this command's key, to be given a MAC
    /// under a new key by [`Store::remac_bindings`] (`passwd --rekey`):
    /// read before the keypair rows change.
    pub(super) fn bindings_for_rekey(&self) -> Result<Vec<(i64, i64, String, Binding)>> {
        self.checked_bindings(None, None)
    }

    pub(super) fn remac_bindings(
        &self,
        rows: &[(i64, i64, String, Binding)],
        key: &RowKey,
    ) -> Result<()> {
        for (rowid, keypair_id, fingerprint, b) in rows {
            self.set_binding_mac(*rowid, &tag(key, *keypair_id, fingerprint, b))?;
        }
        Ok(())
    }

    fn set_binding_mac(&self, rowid: i64, mac: &[u8]) -> Result<()> {
        self.backend.set_binding_mac(rowid, mac)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::algorithm::KeySpec;
    use crate::keypair::{Encryption, NewKeypair};
    use crate::secret::Passphrase;
    use crate::store::{Backup, Identity, KdfParams, Material, Openers, Sealers};
    use std::path::Path;

    const CHEAP: KdfParams = KdfParams {
        memory_kib: KdfParams::MIN_MEMORY_KIB,
        passes: KdfParams::MIN_PASSES,
        parallelism: 1,
    };
    const PASSPHRASE: &[u8] = b"correct horse battery staple";

    fn pass() -> Passphrase {
        Passphrase::new(PASSPHRASE.to_vec())
    }

    /// A store in a temporary directory (not pinned anywhere: rows are
    /// checked with the unlock's key), set up, with the keypairs `names`.
    struct Fixture {
        dir: tempfile::TempDir,
        store: Store,
        identity: Identity,
    }

    impl Fixture {
        fn new(names: &[&str]) -> Fixture {
            let dir = tempfile::tempdir().unwrap();
            let store = Store::open_scratch(&dir.path().join("s")).unwrap();
            store.initialise(&pass(), CHEAP).unwrap();
            let identity = store.unlock(&pass()).unwrap();
            let f = Fixture {
                dir,
                store,
                identity,
            };
            for name in names {
                f.create(name);
            }
            f
        }

        fn create(&self, name: &str) {
            let key = crate::keygen::generate(KeySpec::Ed25519, name).unwrap();
            let wrapped = self.store.wrapped_identity().unwrap().unwrap();
            let row_key = self.identity.row_key();
            self.store
                .insert(
                    &NewKeypair {
                        name: name.into(),
                        description: None,
                        user_id: None,
                        encryption: Encryption::Default,
                    },
                    Material::Private(&key),
                    Sealers {
                        identity: Some(&wrapped),
                        kms: None,
                        row_key: Some(&row_key),
                    },
                )
                .unwrap();
        }

        fn record(&self, b: &Binding) {
            self.store
                .record_binding(Some(&self.identity.row_key()), b)
                .unwrap();
        }

        /// Another connection to the store's database, as an attacker
        /// with write access would use (no foreign keys).
        fn raw(&self) -> rusqlite::Connection {
            let conn = rusqlite::Connection::open(self.store.db_path()).unwrap();
            conn.execute_batch("PRAGMA foreign_keys = OFF").unwrap();
            conn
        }
    }

    fn binding(keypair: &str, user: &str, host: &str, port: u16) -> Binding {
        Binding {
            keypair: keypair.into(),
            host: host.into(),
            port,
            user: user.into(),
            host_key_fingerprint: "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s".into(),
            authorized_keys_path: format!("/home/{user}/.ssh/authorized_keys"),
            password_login: PasswordLogin::Unchanged,
            create_time: String::new(),
            update_time: String::new(),
        }
    }

    fn targets(bindings: &[Binding]) -> Vec<String> {
        bindings
            .iter()
            .map(|b| format!("{} {}", b.keypair, b.target()))
            .collect()
    }

    #[test]
    fn password_login_round_trips() {
        for p in [
            PasswordLogin::Disabled,
            PasswordLogin::Enabled,
            PasswordLogin::Unchanged,
        ] {
            assert_eq!(PasswordLogin::parse(p.as_str()), Some(p));
        }
        assert_eq!(PasswordLogin::parse("Disabled"), None);
        assert_eq!(PasswordLogin::parse(""), None);
    }

    #[test]
    fn record_list_update_remove() {
        let f = Fixture::new(&["web", "db"]);
        f.record(&binding("web", "root", "h1.example", 22));
        f.record(&binding("web", "admin", "::1", 2222));
        f.record(&binding("db", "root", "h1.example", 22));
        let all = f.store.bindings(None, None).unwrap();
        assert_eq!(
            targets(&all),
            [
                "db root@h1.example:22",
                "web admin@[::1]:2222",
                "web root@h1.example:22"
            ]
        );
        assert!(all.iter().all(|b| !b.create_time.is_empty()
            && b.create_time == b.update_time
            && b.host_key_fingerprint.starts_with("SHA256:")));
        assert_eq!(f.store.bindings(Some("web"), None).unwrap().len(), 2);
        // Host names compare without case, as DNS does.
        assert_eq!(
            targets(&f.store.bindings(None, Some("H1.Example")).unwrap()),
            ["db root@h1.example:22", "web root@h1.example:22"]
        );
        assert_eq!(
            f.store.bindings(Some("db"), Some("::1")).unwrap(),
            Vec::new()
        );
        assert!(f.store.bindings(Some("nothing"), None).unwrap().is_empty());

        // Binding again updates the record and keeps when it was made.
        let created = all[2].create_time.clone();
        let mut again = binding("web", "root", "H1.EXAMPLE", 22);
        again.password_login = PasswordLogin::Disabled;
        again.authorized_keys_path = "/etc/ssh/keys/root".into();
        f.record(&again);
        let web = f.store.bindings(Some("web"), Some("h1.example")).unwrap();
        assert_eq!(web.len(), 1);
        assert_eq!(web[0].host, "H1.EXAMPLE");
        assert_eq!(web[0].password_login, PasswordLogin::Disabled);
        assert_eq!(web[0].authorized_keys_path, "/etc/ssh/keys/root");
        assert_eq!(web[0].create_time, created);

        assert!(
            f.store
                .remove_binding("web", "h1.example", 22, "root")
                .unwrap()
        );
        assert!(
            !f.store
                .remove_binding("web", "h1.example", 22, "root")
                .unwrap()
        );
        assert!(!f.store.remove_binding("web", "::1", 22, "admin").unwrap());
        assert_eq!(
            targets(&f.store.bindings(None, None).unwrap()),
            ["db root@h1.example:22", "web admin@[::1]:2222"]
        );
    }

    #[test]
    fn bad_records_and_unknown_keypairs_are_refused() {
        let f = Fixture::new(&["web"]);
        let key = f.identity.row_key();
        for b in [
            binding("web", "", "h", 22),
            binding("web", "root", "", 22),
            binding("web", "root", "h", 0),
            Binding {
                host_key_fingerprint: "MD5:aa".into(),
                ..binding("web", "root", "h", 22)
            },
        ] {
            assert!(
                matches!(
                    f.store.record_binding(Some(&key), &b),
                    Err(Error::InvalidParameter { .. })
                ),
                "{b:?}"
            );
        }
        assert!(matches!(
            f.store
                .record_binding(Some(&key), &binding("gone", "root", "h", 22)),
            Err(Error::NotFound(_))
        ));
        assert!(f.store.bindings(None, None).unwrap().is_empty());
    }

    #[test]
    fn replace_is_one_transaction() {
        let f = Fixture::new(&["old", "new"]);
        let key = f.identity.row_key();
        f.record(&binding("old", "root", "h1", 22));
        f.record(&binding("old", "root", "h2", 22));
        let mut new = binding("new", "root", "h1", 22);
        new.password_login = PasswordLogin::Disabled;
        assert!(f.store.replace_binding(Some(&key), "old", &new).unwrap());
        assert_eq!(
            targets(&f.store.bindings(None, None).unwrap()),
            ["new root@h1:22", "old root@h2:22"]
        );
        // No record of the old keypair there: the new one is still recorded.
        assert!(
            !f.store
                .replace_binding(Some(&key), "old", &binding("new", "root", "h3", 22))
                .unwrap()
        );
        // A failure after the old record went takes nothing away.
        assert!(
            f.store
                .replace_binding(Some(&key), "old", &binding("missing", "root", "h2", 22))
                .is_err()
        );
        assert_eq!(
            targets(&f.store.bindings(None, None).unwrap()),
            ["new root@h1:22", "new root@h3:22", "old root@h2:22"]
        );
    }

    /// Each edit an attacker with write access could make to a record, or
    /// to what it refers to, is refused on read with the keypair named.
    #[test]
    fn tampered_records_are_refused() {
        let edits = [
            "UPDATE bindings SET password_login = 'disabled'",
            "UPDATE bindings SET authorized_keys_path = '/etc/passwd'",
            "UPDATE bindings SET host = 'evil.example'",
            "UPDATE bindings SET port = 23",
            "UPDATE bindings SET user = 'nobody'",
            "UPDATE bindings SET host_key_fingerprint = 'SHA256:AAAA'",
            "UPDATE bindings SET update_time = '2000-01-01T00:00:00Z'",
            "UPDATE bindings SET mac = NULL",
            // Moved to the other keypair.
            "UPDATE bindings SET keypair_id = (SELECT id FROM keypairs WHERE name = 'db')",
            // The keypairs' row ids swapped (their own MACs do not cover them).
            // (web is 1 and db is 2.)
            "UPDATE keypairs SET id = -id; UPDATE keypairs SET id = 3 + id;",
            // A MAC copied from another record.
            "INSERT INTO bindings SELECT keypair_id, 'h2', port, user, host_key_fingerprint,
                authorized_keys_path, 'disabled', create_time, update_time, mac FROM bindings",
        ];
        for edit in edits {
            let f = Fixture::new(&["web", "db"]);
            f.record(&binding("web", "root", "h1", 22));
            let ids: Vec<(String, i64)> = {
                let conn = f.raw();
                let mut stmt = conn
                    .prepare("SELECT name, id FROM keypairs ORDER BY id")
                    .unwrap();
                stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                    .unwrap()
                    .map(|r| r.unwrap())
                    .collect()
            };
            assert_eq!(ids, [("web".to_string(), 1), ("db".to_string(), 2)]);
            assert_eq!(f.store.bindings(None, None).unwrap().len(), 1);
            f.raw().execute_batch(edit).unwrap();
            match f.store.bindings(None, None) {
                Err(Error::IntegrityFailure { name, detail }) => {
                    assert!(["web", "db"].contains(&name.as_str()), "{edit}: {name}");
                    assert!(detail.contains("record of server"), "{edit}: {detail}");
                }
                other => panic!("{edit}: {other:?}"),
            }
        }
    }

    /// Without a row key (a store not pinned on this machine, nothing
    /// unlocked) records are listed as they are, as keypair rows are.
    #[test]
    fn without_a_row_key_records_are_listed_unchecked() {
        let f = Fixture::new(&["web"]);
        f.record(&binding("web", "root", "h1", 22));
        let path = f.store.db_path().to_path_buf();
        drop(f.store);
        let store = Store::open_scratch(&path).unwrap();
        assert_eq!(store.bindings(None, None).unwrap().len(), 1);
    }

    #[test]
    fn rename_keeps_and_delete_removes_bindings() {
        let f = Fixture::new(&["web", "db"]);
        f.record(&binding("web", "root", "h1", 22));
        f.record(&binding("db", "root", "h1", 22));
        let wrapped = f.store.wrapped_identity().unwrap().unwrap();
        let key = f.identity.row_key();
        f.store
            .rename(
                "web",
                "www",
                Openers {
                    identity: Some(&f.identity),
                    kms: None,
                },
                Sealers {
                    identity: Some(&wrapped),
                    kms: None,
                    row_key: Some(&key),
                },
            )
            .unwrap();
        assert_eq!(
            targets(&f.store.bindings(None, None).unwrap()),
            ["db root@h1:22", "www root@h1:22"]
        );
        f.store.delete("www").unwrap();
        assert_eq!(
            targets(&f.store.bindings(None, None).unwrap()),
            ["db root@h1:22"]
        );
        let rows: i64 = f
            .raw()
            .query_row("SELECT count(*) FROM bindings", [], |r| r.get(0))
            .unwrap();
        assert_eq!(
            rows, 1,
            "the deleted keypair's record is gone from the table"
        );
        // A keypair made again under the name is not bound anywhere.
        f.create("www");
        assert!(f.store.bindings(Some("www"), None).unwrap().is_empty());
    }

    #[test]
    fn rekey_authenticates_bindings_with_the_new_key() {
        let f = Fixture::new(&["web"]);
        f.record(&binding("web", "root", "h1", 22));
        let new = Passphrase::new(b"another passphrase entirely".to_vec());
        f.store.rekey(&f.identity, &new, CHEAP).unwrap();
        assert_eq!(f.store.bindings(None, None).unwrap().len(), 1);
        let path = f.store.db_path().to_path_buf();
        drop(f.store);
        let store = Store::open_scratch(&path).unwrap();
        let identity = store.unlock(&new).unwrap();
        assert_eq!(store.bindings(None, None).unwrap().len(), 1);
        // The old key no longer makes a record that verifies.
        let mac = f.identity.row_key().binding_tag(&[None]);
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute("UPDATE bindings SET mac = ?1", [mac]).unwrap();
        assert!(store.bindings(None, None).is_err());
        drop(identity);
    }

    /// A store used only with kms has no identity, so no row key: its
    /// records have no MAC until it gets one, which endorses them.
    #[test]
    fn records_without_identity_are_endorsed_at_init() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_scratch(&dir.path().join("s")).unwrap();
        let key = crate::keygen::generate(KeySpec::Ed25519, "pub").unwrap();
        store
            .insert(
                &NewKeypair {
                    name: "pub".into(),
                    description: None,
                    user_id: None,
                    encryption: Encryption::Default,
                },
                Material::Public(key.public_key()),
                Sealers::default(),
            )
            .unwrap();
        store
            .record_binding(None, &binding("pub", "root", "h1", 22))
            .unwrap();
        assert_eq!(store.bindings(None, None).unwrap().len(), 1);
        store.initialise(&pass(), CHEAP).unwrap();
        assert_eq!(store.bindings(None, None).unwrap().len(), 1);
        let macs: i64 = rusqlite::Connection::open(store.db_path())
            .unwrap()
            .query_row(
                "SELECT count(*) FROM bindings WHERE mac IS NOT NULL",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(macs, 1);
    }

    #[test]
    fn backup_and_restore_carry_bindings_and_verify_checks_them() {
        let f = Fixture::new(&["web"]);
        f.record(&binding("web", "root", "h1", 22));
        let openers = Openers {
            identity: Some(&f.identity),
            kms: None,
        };
        assert_eq!(f.store.verify_all(openers).unwrap(), (1, 1));
        let file = f.dir.path().join("backup.db");
        f.store.backup(&file, false).unwrap();
        assert!(f.store.remove_binding("web", "h1", 22, "root").unwrap());
        let backup = Backup::open(&file, f.store.db_path()).unwrap();
        let verified = backup.verify(&pass()).unwrap();
        f.store.restore(backup, verified, false).unwrap();
        assert_eq!(
            targets(&f.store.bindings(None, None).unwrap()),
            ["web root@h1:22"]
        );
        // kps verify checks records too.
        f.raw()
            .execute("UPDATE bindings SET password_login = 'disabled'", [])
            .unwrap();
        assert!(matches!(
            f.store.verify_all(openers),
            Err(Error::IntegrityFailure { .. })
        ));
    }

    /// A store written by kps at schema version 4 (tests/fixtures/store-v4,
    /// made by the kps before this table) is migrated when opened: its
    /// keypairs still verify and can be bound.
    #[test]
    fn a_version_4_store_is_migrated() {
        let dir = tempfile::tempdir().unwrap();
        let copy = dir.path().join("v4.db");
        std::fs::copy(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/store-v4/store-v4.db"),
            &copy,
        )
        .unwrap();
        std::fs::set_permissions(&copy, std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .unwrap();
        let version = |path: &Path| -> i64 {
            rusqlite::Connection::open(path)
                .unwrap()
                .query_row("PRAGMA user_version", [], |r| r.get(0))
                .unwrap()
        };
        assert_eq!(version(&copy), 4);
        let store = Store::open_scratch(&copy).unwrap();
        assert_eq!(version(&copy), crate::store::schema::CURRENT_VERSION);
        assert_eq!(crate::store::schema::CURRENT_VERSION, 6);
        let identity = store.unlock(&pass()).unwrap();
        let key = identity.row_key();
        for name in ["web", "pub"] {
            store.get(name).unwrap();
            store
                .record_binding(Some(&key), &binding(name, "root", "h1", 22))
                .unwrap();
        }
        assert_eq!(
            targets(&store.bindings(None, None).unwrap()),
            ["pub root@h1:22", "web root@h1:22"]
        );
        let openers = Openers {
            identity: Some(&identity),
            kms: None,
        };
        assert_eq!(store.verify_all(openers).unwrap(), (2, 1));
    }
}
