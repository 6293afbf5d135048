//! The encrypted store. A personal store is one SQLite database holding
//! keypair records, their sealed private keys, and the wrapped store
//! identity. A team store (team.rs; always the kind on PostgreSQL, where
//! `--store` is a `postgres://` URL: location.rs) holds no identity: its
//! keys are sealed to its members, whose own personal stores open them.
//!
//! This module and its siblings hold the policy and the crypto; the rows
//! are read and written through `backend/` (the row interface, and its
//! SQLite and PostgreSQL implementations, which alone run SQL).
//!
//! Writing needs only the store's public key, once this machine has proven
//! it with the passphrase (the pin, pin.rs), so `create`, `list`, `show` and
//! `delete` do not ask for it; reading a private key unlocks the identity
//! once per command. Every keypair row, and every record of a server a
//! keypair is bound to (bindings.rs), is authenticated (rowmac.rs) and
//! checked as it is read. See `docs/store-format.md`.

mod backend;
mod bindings;
mod files;
mod identity;
mod kms_seal;
mod lifecycle;
pub mod location;
mod pin;
mod restore;
mod rowmac;
mod seal;
mod team;
mod team_seal;

pub use bindings::{Binding, PasswordLogin};
pub use files::{NewStore, postgres_target};
pub use identity::{Identity, KdfParams, Unwrapped, WrappedIdentity};
pub use lifecycle::Details;
pub use restore::{Backup, Restored, Verified};
pub use rowmac::RowKey;
pub use team::{INVITATION_TAG, LogEntry, MemberInfo, TeamLog, invitation, parse_invitation};

#[cfg(test)]
use backend::sqlite_schema as schema;

use crate::keypair::{Encryption, Integrity, Keypair, NewKeypair};
use crate::kms::Kms;
use crate::secret::Passphrase;
use crate::{Error, Result, algorithm, fingerprint, keycheck};
use backend::{Backend, KeypairRow};
use ssh_key::{PrivateKey, PublicKey};
use std::cell::RefCell;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// The database file's name inside the store directory.
pub const DB_FILE: &str = "kps.db";

const SUITE: &str = "hpke-x25519-hkdfsha256-chacha20poly1305";
const KDF: &str = "argon2id-v19";

/// How many times a write transaction is tried when PostgreSQL keeps
/// ending it for a conflict with another one ([`Store::retrying`]).
const WRITE_TRIES: u32 = 5;

pub struct Store {
    backend: Backend,
    db_path: PathBuf,
    /// What rows are checked with, found on first need.
    trust: RefCell<Trust>,
    /// Whether this store has a pin on this machine: false for the private
    /// copy of a backup that `restore` checks, which must not leave a pin
    /// for its temporary path behind, and for a team store (team.rs), whose
    /// trust is the member list pinned per team.
    pinned_here: bool,
    /// A team store opened as one of its members ([`Store::join_as`]).
    team: Option<team::TeamState>,
}

/// The row key this command may check rows with: the unlocked identity's,
/// else the one pinned on this machine.
#[derive(Default)]
struct Trust {
    pin_loaded: bool,
    pin: Option<pin::Pin>,
    unlocked: Option<RowKey>,
}

/// What a write needs besides the key material: the identity to seal
/// `default` keys to (proven with the passphrase, here or earlier on this
/// machine) and the key that authenticates the new rows.
#[derive(Debug, Default)]
pub struct WriteKeys {
    pub identity: Option<WrappedIdentity>,
    pub row_key: Option<RowKey>,
}

/// The platform's data directory for kps (`~/.local/share/kps` on Linux).
pub fn default_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "kps").map(|d| d.data_dir().to_path_buf())
}

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

impl Store {
    pub fn db_path(&self) -> &Path {
        &self.db_path
    }

    fn corrupt(&self, detail: impl Into<String>) -> Error {
        Error::StoreCorrupt {
            path: self.db_path.clone(),
            detail: detail.into(),
        }
    }

    /// Begin a write transaction. In a team store it first takes the
    /// team's lock (a PostgreSQL advisory lock; SQLite's write lock is
    /// already one), before any row: team writes then run one at a time
    /// and can never deadlock over rows and the lock in opposite orders.
    fn begin_write(&self) -> Result<backend::WriteTx<'_>> {
        let tx = self.backend.begin_write()?;
        if self.team.is_some() {
            tx.lock_team()?;
        }
        Ok(tx)
    }

    /// Run `write` (one whole transaction) again when PostgreSQL ended it
    /// for a serialization failure or deadlock with another transaction
    /// (KPS.7091), at most [`WRITE_TRIES`] times in all, after a short,
    /// growing, jittered pause; what the last try gives is the result.
    fn retrying<T>(&self, mut write: impl FnMut() -> Result<T>) -> Result<T> {
        let mut tries = 1;
        loop {
            match write() {
                Err(Error::StoreConflict { .. }) if tries < WRITE_TRIES => {
                    let mut jitter = [0u8; 1];
                    let _ = getrandom::fill(&mut jitter);
                    let pause = 20 * (1u64 << tries) + u64::from(jitter[0]) / 4;
                    std::thread::sleep(std::time::Duration::from_millis(pause));
                    tries += 1;
                }
                result => return result,
            }
        }
    }

    fn migrate(&self) -> Result<()> {
        self.backend.migrate(|version| self.check_version(version))
    }

    fn check_version(&self, version: i64) -> Result<()> {
        let supported = self.backend.current_version();
        if version > supported {
            return Err(Error::StoreTooNew {
                path: self.db_path.clone(),
                found: version,
                supported,
            });
        }
        if version < 0 {
            return Err(self.corrupt(format!("schema version {version}")));
        }
        Ok(())
    }

    /// The wrapped identity, if the store has been given a passphrase.
    pub fn wrapped_identity(&self) -> Result<Option<WrappedIdentity>> {
        self.backend
            .identity()?
            .map(
                |backend::IdentityRow {
                     wrapped: w,
                     suite,
                     kdf,
                 }| {
                    if suite != SUITE || kdf != KDF {
                        Err(self.corrupt(format!("unknown identity suite {suite} / {kdf}")))
                    } else if let Some(why) = w.kdf.above_ceiling() {
                        // Refused before Argon2 allocates anything.
                        Err(self.corrupt(why))
                    } else {
                        Ok(w)
                    }
                },
            )
            .transpose()
    }

    pub fn is_initialised(&self) -> Result<bool> {
        Ok(self.wrapped_identity()?.is_some())
    }

    /// Give a new store its passphrase (`kps init`).
    pub fn initialise(&self, passphrase: &Passphrase, kdf: KdfParams) -> Result<()> {
        kdf.validate()?;
        if self.is_initialised()? {
            return Err(Error::AlreadyInitialised);
        }
        self.refuse_missing_identity()?;
        let identity = Identity::generate();
        let wrapped = identity.wrap(passphrase, kdf)?;
        if self.insert_identity(&wrapped, &identity)? {
            Ok(())
        } else {
            Err(Error::AlreadyInitialised)
        }
    }

    /// A store without an identity may be given one only if nothing in it
    /// needs the old one: a store whose identity row was removed must not
    /// be quietly set up again, leaving its sealed keys unopenable.
    fn refuse_missing_identity(&self) -> Result<()> {
        let sealed = self.backend.count_sealed_to_identity()?;
        if sealed > 0 {
            return Err(Error::IdentityMissing {
                path: self.db_path.clone(),
                why: format!(
                    "{sealed} keypair(s) in it are sealed to one; setting up a new one would leave them unopenable"
                ),
            });
        }
        let rows = self.backend.count_keypairs()?;
        if rows > 0 && self.pin()?.is_some() {
            return Err(Error::IdentityMissing {
                path: self.db_path.clone(),
                why: "its identity was proven on this machine before (it is pinned) and has been removed".into(),
            });
        }
        Ok(())
    }

    /// What a write needs ([`WriteKeys`]). With an identity in the store:
    /// the pin's row key if the store's identity is the pinned one (no
    /// passphrase); a store not pinned here is unlocked once by `unlock`,
    /// which calls [`Store::unlock`] with the passphrase (proving the
    /// identity and pinning it) and may ask again when it was wrong; a store whose identity
    /// differs from its pin is refused. Without one: set up with `new` if
    /// `need_identity` (a `default` keypair is written), else nothing (a
    /// store used only with kms has no identity and its rows no MAC).
    pub fn write_keys<E: From<Error>>(
        &self,
        need_identity: bool,
        kdf: KdfParams,
        unlock: impl FnOnce(&Store) -> std::result::Result<Identity, E>,
        new: impl FnOnce() -> std::result::Result<Passphrase, E>,
    ) -> std::result::Result<WriteKeys, E> {
        if self.team.is_some() {
            // A member writes as themselves: their signing key from their
            // identity store (its pin, or an unlock of it), the verified
            // member list to seal to.
            let signer = self.team_signer(unlock)?;
            return Ok(WriteKeys {
                identity: None,
                row_key: self.team_row_key(signer),
            });
        }
        match self.wrapped_identity()? {
            Some(w) => {
                if let Some(pin) = self.pin()? {
                    if pin.identity != w.public_key {
                        return Err(Error::PinMismatch {
                            path: self.db_path.clone(),
                            pin: pin::path(&self.db_path)?.unwrap_or_default(),
                        }
                        .into());
                    }
                    return Ok(WriteKeys {
                        identity: Some(w),
                        row_key: Some(pin.row_key),
                    });
                }
                let identity = unlock(self)?;
                // The unlock may have moved the wrapping to version 2; the
                // public key, which is what sealing uses, is the same.
                Ok(WriteKeys {
                    identity: Some(w),
                    row_key: Some(identity.row_key()),
                })
            }
            None if need_identity => self.ensure_initialised(kdf, new),
            None => {
                self.refuse_missing_identity()?;
                Ok(WriteKeys::default())
            }
        }
    }

    /// Set a store without an identity up, the passphrase asked for through
    /// `ask`. If another process sets the store up meanwhile, its identity
    /// is used, provided the passphrase given here opens it.
    fn ensure_initialised<E: From<Error>>(
        &self,
        kdf: KdfParams,
        ask: impl FnOnce() -> std::result::Result<Passphrase, E>,
    ) -> std::result::Result<WriteKeys, E> {
        self.refuse_missing_identity()?;
        let passphrase = ask()?;
        let identity = Identity::generate();
        let wrapped = identity.wrap(&passphrase, kdf)?;
        if self.insert_identity(&wrapped, &identity)? {
            return Ok(WriteKeys {
                identity: Some(wrapped),
                row_key: Some(identity.row_key()),
            });
        }
        let theirs = self
            .wrapped_identity()?
            .ok_or_else(|| self.corrupt("identity vanished"))?;
        match self.unlock(&passphrase) {
            Ok(identity) => Ok(WriteKeys {
                identity: Some(theirs),
                row_key: Some(identity.row_key()),
            }),
            Err(Error::WrongPassphrase) => Err(Error::InitialisedConcurrently.into()),
            Err(e) => Err(e.into()),
        }
    }

    /// Insert the identity unless one exists; true if this call inserted it.
    /// Rows already in the store (a store used only with kms until now) are
    /// endorsed in the same transaction: they are trusted as they are at
    /// the moment the store gets its passphrase. The identity is then
    /// checkpointed into `kps.db` at once (the one row every sealed key
    /// needs is in the database file itself) and pinned.
    fn insert_identity(&self, w: &WrappedIdentity, identity: &Identity) -> Result<bool> {
        self.refuse_team("a store passphrase")?;
        let now = now_rfc3339();
        let key = identity.row_key();
        let tx = self.begin_write()?;
        let row = backend::IdentityRow {
            wrapped: w.clone(),
            suite: SUITE.into(),
            kdf: KDF.into(),
        };
        if !tx.insert_identity(&row, &now)? {
            return Ok(false);
        }
        self.endorse_unauthenticated(&key)?;
        tx.commit()?;
        self.backend.checkpoint();
        self.trusted(w, key)?;
        Ok(true)
    }

    /// Give every row without a MAC its MAC, keypairs and bindings (inside
    /// the caller's transaction).
    fn endorse_unauthenticated(&self, key: &RowKey) -> Result<()> {
        for row in self.backend.keypairs_without_mac()? {
            let (k, _) = self.row_to_keypair(row)?;
            self.backend.set_keypair_mac(&k.name, &key.tag(&k))?;
        }
        self.endorse_bindings(key)
    }

    /// The identity `w` has just been proven with the passphrase: check
    /// rows with its key for the rest of this command, and pin it.
    fn trusted(&self, w: &WrappedIdentity, key: RowKey) -> Result<()> {
        let pin = pin::Pin {
            identity: w.public_key.clone(),
            row_key: key.clone(),
        };
        {
            let mut trust = self.trust.borrow_mut();
            trust.unlocked = Some(key);
        }
        // Without a home directory there is nowhere to pin; writes then
        // unlock every time.
        if self.pinned_here && crate::config::dir().is_some() {
            pin::save(&self.db_path, &pin)?;
            let mut trust = self.trust.borrow_mut();
            trust.pin = Some(pin);
            trust.pin_loaded = true;
        }
        Ok(())
    }

    /// This machine's pin for the store, read once per command.
    fn pin(&self) -> Result<Option<pin::Pin>> {
        {
            let trust = self.trust.borrow();
            if trust.pin_loaded {
                return Ok(trust.pin.clone());
            }
        }
        let pin = if self.pinned_here {
            pin::load(&self.db_path)?
        } else {
            None
        };
        let mut trust = self.trust.borrow_mut();
        trust.pin = pin.clone();
        trust.pin_loaded = true;
        Ok(pin)
    }

    /// The key rows are checked with, if this command has one.
    fn row_key(&self) -> Result<Option<RowKey>> {
        if let Some(k) = &self.trust.borrow().unlocked {
            return Ok(Some(k.clone()));
        }
        Ok(self.pin()?.map(|p| p.row_key))
    }

    /// Unlock the identity with the store passphrase (one KDF run) and pin
    /// it. A store still wrapped the old way (version 1, before rows were
    /// authenticated) has its rows endorsed and its wrapping moved to
    /// version 2 in one transaction, once.
    pub fn unlock(&self, passphrase: &Passphrase) -> Result<Identity> {
        if let Some(identity) = self.unlock_team_member(passphrase)? {
            return Ok(identity);
        }
        let wrapped = self.wrapped_identity()?.ok_or(Error::NotInitialised)?;
        let Unwrapped { identity, upgrade } = match wrapped.unwrap_with(passphrase) {
            Ok(u) => u,
            // A wrong passphrase for a store whose identity is not the one
            // pinned here: say what most likely happened.
            Err(Error::WrongPassphrase)
                if self
                    .pin()?
                    .is_some_and(|pin| pin.identity != wrapped.public_key) =>
            {
                return Err(Error::IdentityReplaced {
                    path: self.db_path.clone(),
                });
            }
            Err(e) => return Err(e),
        };
        let key = identity.row_key();
        match upgrade {
            None => self.trusted(&wrapped, key)?,
            Some(v2) => {
                // Not best effort: a command that goes on to re-wrap the
                // identity (passwd) must not leave the old rows unendorsed
                // under a version 2 wrapping. A busy store fails this once.
                self.upgrade_wrapping(&wrapped, &v2, &key)?;
                self.trusted(&v2, key)?;
            }
        }
        Ok(identity)
    }

    fn upgrade_wrapping(
        &self,
        old: &WrappedIdentity,
        new: &WrappedIdentity,
        key: &RowKey,
    ) -> Result<()> {
        let tx = self.begin_write()?;
        if !tx.rewrap_identity(old, new)? {
            return Err(self.corrupt("the identity changed while it was being upgraded"));
        }
        self.endorse_unauthenticated(key)?;
        tx.commit()?;
        self.backend.checkpoint();
        Ok(())
    }

    /// Change the store passphrase by re-wrapping the identity: the same cost
    /// for one keypair or a hundred thousand. When this returns, the old
    /// wrapping is gone from `kps.db` and `kps.db-wal`.
    pub fn change_passphrase(
        &self,
        identity: &Identity,
        new: &Passphrase,
        kdf: KdfParams,
    ) -> Result<()> {
        self.refuse_team("a store passphrase")?;
        kdf.validate()?;
        let w = identity.wrap(new, kdf)?;
        if !self.replace_identity(&w, &w.public_key)? {
            return Err(Error::NotInitialised);
        }
        self.backend.checkpoint_fully()
    }

    /// Write wrapping `w` over the identity row whose public key is
    /// `expected` (the identity this command unlocked); false if there is
    /// no such row.
    fn replace_identity(&self, w: &WrappedIdentity, expected: &[u8]) -> Result<bool> {
        self.backend.replace_identity(w, expected, &now_rfc3339())
    }

    /// After a passphrase leak: a new identity, every `default` private key
    /// opened with the old one and sealed to the new one, every row given
    /// a MAC under the new identity's key, all in one transaction; then the
    /// old wrapping and envelopes are checkpointed out of the files and the
    /// new identity pinned. A row that fails its checks stops it with
    /// nothing changed.
    pub fn rekey(&self, old: &Identity, new: &Passphrase, kdf: KdfParams) -> Result<()> {
        self.refuse_team("a store passphrase")?;
        kdf.validate()?;
        let identity = Identity::generate();
        let w = identity.wrap(new, kdf)?;
        let key = identity.row_key();
        let recipient = w.sealing_key()?;
        let openers = Openers {
            identity: Some(old),
            kms: None,
        };
        let tx = self.begin_write()?;
        // Each row with its MAC and its envelope.
        let mut rows = Vec::new();
        for (row, envelope) in tx.keypairs_with_envelopes()? {
            let (k, mac) = self.row_to_keypair(row)?;
            rows.push((k, mac, envelope));
        }
        // Checked with the old key before any keypair row changes.
        let bindings = self.bindings_for_rekey()?;
        for (mut k, mac, envelope) in rows {
            self.check_row(&mut k, mac, true, self.row_key()?.as_ref())?;
            let envelope = match (&k.encryption, envelope) {
                (Encryption::Default, Some(old_envelope)) => {
                    let private = self.open_envelope(&k, &old_envelope, openers)?;
                    let plaintext = Zeroizing::new(
                        private
                            .to_bytes()
                            .map_err(|e| Error::EncryptFailed(e.to_string()))?,
                    );
                    let blob = public_blob(private.public_key())?;
                    Some(
                        seal::seal(&recipient, &k.name, &blob, &plaintext)
                            .map_err(|_| Error::EncryptFailed("HPKE seal failed".into()))?,
                    )
                }
                (_, envelope) => envelope,
            };
            tx.set_keypair_envelope(&k.name, envelope.as_deref(), &key.tag(&k))?;
        }
        self.remac_bindings(&bindings, &key)?;
        let old_public = hpke::Serializable::to_bytes(&old.public).to_vec();
        if !self.replace_identity(&w, &old_public)? {
            return Err(self.corrupt("the identity changed while the store was being re-keyed"));
        }
        tx.commit()?;
        self.trust.borrow_mut().unlocked = None;
        self.trusted(&w, key)?;
        self.backend.checkpoint_fully()
    }

    /// Store a new keypair, its private key sealed as its encryption type says.
    pub fn insert(
        &self,
        meta: &NewKeypair,
        material: Material<'_>,
        sealers: Sealers<'_>,
    ) -> Result<Keypair> {
        self.insert_all(&[(meta.clone(), material)], sealers)
            .map(|mut v| v.remove(0))
            .map_err(|mut failures| failures.remove(0).1)
    }

    /// Store several keypairs in one transaction: all of them, or none. On
    /// failure, every item that failed is returned with its index.
    pub fn insert_all(
        &self,
        items: &[(NewKeypair, Material<'_>)],
        sealers: Sealers<'_>,
    ) -> std::result::Result<Vec<Keypair>, Vec<(usize, Error)>> {
        self.insert_all_created(items, &[], sealers)
    }

    /// [`Store::insert_all`], item `i` keeping the creation time
    /// `create_times[i]` where one is given (a keypair moved from another
    /// store by a bundle): RFC 3339, checked by the caller.
    pub fn insert_all_created(
        &self,
        items: &[(NewKeypair, Material<'_>)],
        create_times: &[Option<String>],
        sealers: Sealers<'_>,
    ) -> std::result::Result<Vec<Keypair>, Vec<(usize, Error)>> {
        let one = |e: Error| vec![(0, e)];
        // Sealing is done before the write lock is taken, so that other
        // writers wait only for the inserts.
        let mut prepared = Vec::with_capacity(items.len());
        let mut failures = Vec::new();
        for (i, (meta, material)) in items.iter().enumerate() {
            let row = (|| {
                let mut record = preview(meta, *material)?;
                if let Some(Some(created)) = create_times.get(i) {
                    record.create_time = created.clone();
                }
                let envelope = match material {
                    Material::Public(_) => None,
                    Material::Private(key) => {
                        let (envelope, encryption) =
                            sealers.seal(&meta.name, &meta.encryption, key)?;
                        record.encryption = encryption;
                        Some(envelope)
                    }
                };
                Ok((record, envelope))
            })();
            match row {
                Ok(r) => prepared.push(r),
                Err(e) => failures.push((i, e)),
            }
        }
        if !failures.is_empty() {
            return Err(failures);
        }
        let action = self.insert_action();
        // A conflict with another transaction (PostgreSQL) runs the whole
        // transaction again; any other failure is the items'.
        self.retrying(|| {
            let tx = self.begin_write()?;
            let mut failures = Vec::new();
            for (i, (record, envelope)) in prepared.iter().enumerate() {
                let mac = sealers.row_key.map(|k| k.tag(record));
                match self
                    .insert_row(&tx, record, envelope.as_deref(), mac.as_deref())
                    .and_then(|()| self.append_audit(action, &record.name))
                {
                    Err(e @ Error::StoreConflict { .. }) => return Err(e),
                    Err(e) => failures.push((i, e)),
                    Ok(()) => {}
                }
            }
            if !failures.is_empty() {
                // Dropping the transaction rolls it back.
                return Ok(Err(failures));
            }
            tx.commit().map(Ok)
        })
        .map_err(one)??;
        self.backend.checkpoint_if_large();
        Ok(prepared
            .into_iter()
            .map(|(mut r, _)| {
                if sealers.row_key.is_some() {
                    r.integrity = Integrity::Verified;
                }
                r
            })
            .collect())
    }

    /// A store-wide setting.
    pub fn setting(&self, key: &str) -> Result<Option<String>> {
        self.backend.setting(key)
    }

    pub fn set_setting(&self, key: &str, value: &str) -> Result<()> {
        self.backend.set_setting(key, value)
    }

    /// Whether an earlier kps recorded a PKCS#11 module in this store
    /// (setting `kms.module`). It is never loaded: whoever can write the store
    /// must not choose code for kps to run. It only explains why kms is not
    /// configured any more.
    pub fn names_kms_module(&self) -> Result<bool> {
        Ok(self.setting("kms.module")?.is_some())
    }

    /// Move keypair `name` to another protection in one step: its private key
    /// is opened with what protects it now and sealed the new way. Refused if
    /// another process changed the keypair meanwhile.
    pub fn set_encryption(
        &self,
        name: &str,
        encryption: &Encryption,
        openers: Openers<'_>,
        sealers: Sealers<'_>,
    ) -> Result<Keypair> {
        let (mut keypair, old) = self.row_with_envelope(name)?;
        let old = old.ok_or_else(|| Error::NoPrivateKey(name.to_string()))?;
        let key = self.open_envelope(&keypair, &old, openers)?;
        let (envelope, new_encryption) = sealers.seal(name, encryption, &key)?;
        keypair.encryption = new_encryption;
        keypair.update_time = now_rfc3339();
        let mac = sealers.row_key.map(|k| k.tag(&keypair));
        self.retrying(|| {
            let tx = self.begin_write()?;
            let n = tx.set_keypair_encryption(&keypair, &envelope, mac.as_deref(), &old)?;
            if n != 1 {
                return Err(Error::SaveFailed {
                    name: name.to_string(),
                    detail: "another process changed it meanwhile; try again".into(),
                });
            }
            self.append_audit(crate::team::Action::SetEncryption, name)?;
            tx.commit()
        })?;
        self.backend.checkpoint();
        Ok(keypair)
    }

    fn insert_row(
        &self,
        backend: &Backend,
        record: &Keypair,
        envelope: Option<&[u8]>,
        mac: Option<&[u8]>,
    ) -> Result<()> {
        match backend.insert_keypair(record, envelope, mac) {
            Ok(()) => Ok(()),
            // The UNIQUE constraint decides between racing writers, not a prior read.
            Err(
                e @ (Error::AlreadyExists(_)
                | Error::StoreBusy { .. }
                | Error::StoreReadOnly { .. }
                | Error::StoreUnreachable { .. }
                | Error::StoreConflict { .. }),
            ) => Err(e),
            Err(other) => Err(Error::SaveFailed {
                name: record.name.clone(),
                detail: other.to_string(),
            }),
        }
    }

    /// A keypair row as kps shows it, and its MAC: the AWS "imported"
    /// fingerprint computed if an older kps did not store it.
    fn row_to_keypair(&self, r: KeypairRow) -> Result<(Keypair, Option<Vec<u8>>)> {
        let fingerprint_aws_imported = match r.fingerprint_aws_imported {
            Some(f) => Some(f),
            // Stored by an older kps.
            None => match PublicKey::from_openssh(&r.public_line) {
                Ok(k) => fingerprint::aws_imported(k.key_data()),
                Err(_) => return Err(self.malformed_public(&r.name)),
            },
        };
        let encryption = match r.encryption_type.as_str() {
            "default" => Encryption::Default,
            _ => Encryption::Kms {
                key_name: r.kms_key_name,
                key_id: r.kms_key_id,
            },
        };
        let keypair = Keypair {
            name: r.name,
            algorithm: r.algorithm,
            bits: r.bits,
            public_line: r.public_line,
            fingerprint: r.fingerprint_sha256,
            fingerprint_md5: r.fingerprint_md5,
            description: r.description,
            user_id: r.user_id,
            create_time: r.create_time,
            update_time: r.update_time,
            encryption,
            has_private_key: r.has_private_key,
            fingerprint_aws_created: r.fingerprint_aws_created,
            fingerprint_aws_imported,
            // Settled by check_row.
            integrity: Integrity::Unverified,
        };
        Ok((keypair, r.mac))
    }

    /// One keypair, its public key line checked (what it is read for next
    /// usually needs the key: export, show, the private key).
    pub fn get(&self, name: &str) -> Result<Keypair> {
        let row = self
            .backend
            .keypair(name)?
            .ok_or_else(|| Error::NotFound(name.to_string()))?;
        let (mut keypair, mac) = self.row_to_keypair(row)?;
        self.check_row(&mut keypair, mac, true, self.row_key()?.as_ref())?;
        Ok(keypair)
    }

    /// The keypairs whose public key has this SHA256 fingerprint (as
    /// `ssh-keygen -l` prints it), by name, each row checked as `get` checks
    /// it: a planted row cannot make an import skip a key.
    pub fn with_fingerprint(&self, fingerprint: &str) -> Result<Vec<Keypair>> {
        let row_key = self.row_key()?;
        let mut found = Vec::new();
        for row in self.backend.keypairs_with_fingerprint(fingerprint)? {
            let (mut keypair, mac) = self.row_to_keypair(row)?;
            self.check_row(&mut keypair, mac, true, row_key.as_ref())?;
            found.push(keypair);
        }
        Ok(found)
    }

    /// The keypair's public key; a line that does not parse is store damage.
    pub fn public_key_of(&self, keypair: &Keypair) -> Result<PublicKey> {
        keypair
            .public_key()
            .map_err(|_| self.malformed_public(&keypair.name))
    }

    fn malformed_public(&self, name: &str) -> Error {
        self.corrupt(format!(
            "stored public key of keypair '{name}' is malformed"
        ))
    }

    /// Every keypair, by name, handed to `f` one at a time as SQLite reads
    /// it: what `list` holds in memory does not grow with the store. Stops
    /// at the first error, from the store or from `f`.
    pub fn each<E: From<Error>>(
        &self,
        mut f: impl FnMut(Keypair) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        let row_key = self.row_key()?;
        self.backend.each_keypair(|row| {
            let (mut keypair, mac) = self.row_to_keypair(row)?;
            self.check_row(&mut keypair, mac, false, row_key.as_ref())?;
            f(keypair)
        })?;
        if let Some(team) = self.team() {
            team.read_all.set(true);
        }
        Ok(())
    }

    /// The length of the longest keypair name (0 for an empty store), for
    /// lining up a table that is printed as the rows are read.
    pub fn longest_name(&self) -> Result<usize> {
        self.backend.longest_name()
    }

    fn row_with_envelope(&self, name: &str) -> Result<(Keypair, Option<Vec<u8>>)> {
        let (row, envelope) = self
            .backend
            .keypair_with_envelope(name)?
            .ok_or_else(|| Error::NotFound(name.to_string()))?;
        let (mut keypair, mac) = self.row_to_keypair(row)?;
        self.check_row(&mut keypair, mac, true, self.row_key()?.as_ref())?;
        Ok((keypair, envelope))
    }

    /// The private key of keypair `name`, opened with what protects it (the
    /// unlocked identity, or the token) and checked against the stored
    /// public key before it is returned.
    pub fn private_key(&self, name: &str, openers: Openers<'_>) -> Result<PrivateKey> {
        let (keypair, envelope) = self.row_with_envelope(name)?;
        let envelope = envelope.ok_or_else(|| Error::NoPrivateKey(name.to_string()))?;
        let key = self.open_envelope(&keypair, &envelope, openers)?;
        if keypair.fingerprint_aws_created.is_none()
            && let Some(row_key) = self.row_key()?
        {
            // Stored by an older kps: fill in what needs the private key now
            // that it is at hand, with the row's new MAC. Best effort; a busy
            // store, or a command with no row key, just tries next time.
            if let Ok(fp) = fingerprint::aws_created(&key) {
                let mut updated = keypair.clone();
                updated.fingerprint_aws_created = Some(fp.clone());
                let _ = self
                    .backend
                    .fill_aws_created(name, &fp, &row_key.tag(&updated));
            }
        }
        Ok(key)
    }

    fn open_envelope(
        &self,
        keypair: &Keypair,
        envelope: &[u8],
        openers: Openers<'_>,
    ) -> Result<PrivateKey> {
        let name = keypair.name.as_str();
        let integrity = |detail: &str| Error::IntegrityFailure {
            name: name.to_string(),
            detail: detail.to_string(),
        };
        let public = self.public_key_of(keypair)?;
        let blob = public_blob(&public)?;
        let plaintext = match (&keypair.encryption, envelope.first()) {
            (Encryption::Default, Some(1)) => {
                let identity = openers
                    .identity
                    .ok_or_else(|| Error::Kms("internal: the store was not unlocked".into()))?;
                seal::open(&identity.secret, name, &blob, envelope).map_err(|e| match e {
                    seal::SealError::UnknownSuite => {
                        integrity("sealed with an unknown suite (made by a newer kps?)")
                    }
                    _ => integrity("the sealed private key does not open (damaged or moved)"),
                })?
            }
            (Encryption::Default, Some(&team_seal::ENVELOPE_VERSION)) => {
                let member = self.team().map(|t| t.me.as_str()).ok_or_else(|| {
                    integrity("sealed to a team's members, in a store that is not a team store")
                })?;
                let identity = openers
                    .identity
                    .ok_or_else(|| Error::Kms("internal: the store was not unlocked".into()))?;
                team_seal::open(member, &identity.secret, name, &blob, envelope)
                    .map_err(|e| integrity(team::team_seal_error(&e)))?
            }
            (Encryption::Kms { key_name, key_id }, Some(&kms_seal::ENVELOPE_VERSION)) => {
                let kms = openers.kms.ok_or(Error::KmsNotConfigured)?;
                // The id is what the row was sealed under; the name is a fallback
                // for rows written by hand or by an older kps.
                let (_, master) = match key_id {
                    Some(id) => kms.key(None, Some(id)),
                    None => kms.key(key_name.as_deref(), None),
                }
                .map_err(|e| match e {
                    Error::KmsKeyNotFound { key, token } => Error::KmsKeyNotFound {
                        key: format!("{key} (which protects keypair '{name}')"),
                        token,
                    },
                    other => other,
                })?;
                kms_seal::open(kms, master, name, &blob, envelope).map_err(|e| match e {
                    kms_seal::OpenError::Token(e) => integrity(&format!(
                        "the token did not release its data key ({e}); damaged, moved, or a different key"
                    )),
                    kms_seal::OpenError::Damaged => {
                        integrity("the sealed private key does not open (damaged or moved)")
                    }
                })?
            }
            _ => {
                return Err(integrity(
                    "the envelope does not match the keypair's encryption type",
                ));
            }
        };
        let mut key = PrivateKey::from_bytes(&plaintext)
            .map_err(|_| integrity("the sealed private key is not a valid key"))?;
        // The row's comment is the keypair's (`kps set --comment` changes
        // it without re-sealing): what the sealed copy says is not shown.
        key.set_comment(keypair.comment());
        match keycheck::matches(key.key_data(), public.key_data()) {
            Ok(true) => Ok(key),
            Ok(false) => Err(integrity(
                "the private key does not match the stored public key",
            )),
            Err(_) => Err(integrity("the private key is not internally consistent")),
        }
    }

    /// Remove keypair `name`.
    pub fn delete(&self, name: &str) -> Result<()> {
        self.retrying(|| {
            let tx = self.begin_write()?;
            let n = tx.delete_keypair(name)?;
            if n == 0 {
                return Err(Error::NotFound(name.to_string()));
            }
            self.append_audit(crate::team::Action::Delete, name)?;
            tx.commit()
        })?;
        self.backend.checkpoint();
        Ok(())
    }

    /// Settle how far a row read from the store can be trusted. With a row
    /// key (pinned here, or from this command's unlock) the row must carry
    /// a MAC that verifies, or it is refused: someone without the
    /// passphrase planted or edited it. Without one (no pin for this store
    /// on this machine yet) it is marked unverified, or not endorsed if it
    /// has no MAC at all. Either way what kps shows about the key
    /// (algorithm, size, fingerprints) is what its public key says:
    /// recomputed for rows that are not verified and for a single row
    /// (`thorough`), so that no edited column is shown as the key's.
    fn check_row(
        &self,
        k: &mut Keypair,
        mac: Option<Vec<u8>>,
        thorough: bool,
        row_key: Option<&RowKey>,
    ) -> Result<()> {
        let integrity = |detail: String| Error::IntegrityFailure {
            name: k.name.clone(),
            detail,
        };
        for (field, value) in [
            ("public key", Some(k.public_line.as_str())),
            ("description", k.description.as_deref()),
            ("user id", k.user_id.as_deref()),
        ] {
            if value.is_some_and(|v| crate::text::forbidden_char(v).is_some()) {
                return Err(integrity(format!(
                    "its {field} holds a control character, which kps never stores"
                )));
            }
        }
        let verified = match row_key {
            Some(key) => match &mac {
                Some(tag) if key.verifies(k, tag) => true,
                Some(_) => {
                    return Err(integrity(
                        "the row does not match its MAC: it was changed outside kps".into(),
                    ));
                }
                None => {
                    return Err(integrity(
                        "the row has no MAC: kps did not write it with this store's key (planted; or a store restored from an old backup, which 'kps verify' endorses)".into(),
                    ));
                }
            },
            None => false,
        };
        k.integrity = match (verified, &mac) {
            (true, _) => Integrity::Verified,
            (false, Some(_)) => Integrity::Unverified,
            (false, None) => Integrity::NotEndorsed,
        };
        if verified && !thorough {
            return Ok(());
        }
        let public = self.public_key_of(k)?;
        let (alg, bits) = algorithm::describe(public.key_data())?;
        let (fingerprint, md5, aws) = (
            fingerprint::sha256(public.key_data()),
            fingerprint::md5(public.key_data()),
            fingerprint::aws_imported(public.key_data()),
        );
        if verified
            && (k.algorithm != alg
                || (k.bits != bits
                    && Some(k.bits) != algorithm::bits_before_issue_14(public.key_data()))
                || k.fingerprint != fingerprint
                || k.fingerprint_md5 != md5
                || k.fingerprint_aws_imported != aws)
        {
            return Err(integrity(
                "its algorithm, size or fingerprints do not match its public key".into(),
            ));
        }
        k.algorithm = alg.to_string();
        k.bits = bits;
        k.fingerprint = fingerprint;
        k.fingerprint_md5 = md5;
        k.fingerprint_aws_imported = aws;
        Ok(())
    }

    /// Check every row (keypairs and their bindings) and open every
    /// `default` private key with the unlocked identity (`kps verify`): how
    /// many keypair rows, and how many private keys were opened. Stops at
    /// the first failure.
    pub fn verify_all(&self, openers: Openers<'_>) -> Result<(usize, usize)> {
        let mut names = Vec::new();
        self.each(|k| {
            names.push((
                k.name,
                k.encryption == Encryption::Default && k.has_private_key,
            ));
            Ok::<(), Error>(())
        })?;
        let mut opened = 0;
        for (name, sealed_here) in &names {
            if *sealed_here {
                self.private_key(name, openers)?;
                opened += 1;
            }
        }
        self.bindings(None, None)?;
        Ok((names.len(), opened))
    }
}

/// What seals new private keys: the store identity's public key for
/// `default` (no passphrase needed), the token for `kms`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Sealers<'a> {
    pub identity: Option<&'a WrappedIdentity>,
    pub kms: Option<&'a Kms>,
    /// Authenticates the rows written; `None` only in a store without an
    /// identity (used only with kms so far).
    pub row_key: Option<&'a RowKey>,
}

impl Sealers<'_> {
    /// The envelope for `key` under `encryption`, and the encryption record
    /// to store (for kms, with both the master key's name and id filled in).
    fn seal(
        &self,
        name: &str,
        encryption: &Encryption,
        key: &PrivateKey,
    ) -> Result<(Vec<u8>, Encryption)> {
        let plaintext = key
            .to_bytes()
            .map_err(|e| Error::EncryptFailed(e.to_string()))?;
        let blob = public_blob(key.public_key())?;
        match encryption {
            Encryption::Default => {
                if let Some(recipients) = self.row_key.and_then(RowKey::team_recipients) {
                    let envelope = team_seal::seal(&recipients, name, &blob, &plaintext)?;
                    return Ok((envelope, Encryption::Default));
                }
                let identity = self.identity.ok_or(Error::NotInitialised)?;
                let envelope = seal::seal(&identity.sealing_key()?, name, &blob, &plaintext)
                    .map_err(|_| Error::EncryptFailed("HPKE seal failed".into()))?;
                Ok((envelope, Encryption::Default))
            }
            Encryption::Kms { key_name, key_id } => {
                let kms = self.kms.ok_or(Error::KmsNotConfigured)?;
                let (master_key, handle) = kms.key(key_name.as_deref(), key_id.as_deref())?;
                let envelope = kms_seal::seal(kms, handle, name, &blob, &plaintext)?;
                Ok((
                    envelope,
                    Encryption::Kms {
                        key_name: Some(master_key.label),
                        key_id: Some(master_key.id),
                    },
                ))
            }
        }
    }
}

/// What opens stored private keys: the unlocked identity, the token.
#[derive(Clone, Copy, Debug, Default)]
pub struct Openers<'a> {
    pub identity: Option<&'a Identity>,
    pub kms: Option<&'a Kms>,
}

/// The key material of a new keypair: a private key, or for a
/// public-key-only keypair just the public key.
#[derive(Clone, Copy, Debug)]
pub enum Material<'a> {
    Private(&'a PrivateKey),
    Public(&'a PublicKey),
}

impl Material<'_> {
    pub fn public_key(&self) -> &PublicKey {
        match self {
            Material::Private(k) => k.public_key(),
            Material::Public(k) => k,
        }
    }
}

/// The record a keypair would get, without storing it (`import --dry-run`
/// prints exactly this).
pub fn preview(meta: &NewKeypair, material: Material<'_>) -> Result<Keypair> {
    crate::name::validate(&meta.name)?;
    let public = material.public_key();
    let (alg, bits) = algorithm::describe(public.key_data())?;
    let now = now_rfc3339();
    Ok(Keypair {
        name: meta.name.clone(),
        algorithm: alg.to_string(),
        bits,
        public_line: crate::export::public_line(public)?,
        fingerprint: fingerprint::sha256(public.key_data()),
        fingerprint_md5: fingerprint::md5(public.key_data()),
        fingerprint_aws_created: match material {
            Material::Private(key) => Some(fingerprint::aws_created(key)?),
            Material::Public(_) => None,
        },
        fingerprint_aws_imported: fingerprint::aws_imported(public.key_data()),
        description: meta.description.clone(),
        user_id: meta.user_id.clone(),
        create_time: now.clone(),
        update_time: now,
        encryption: meta.encryption.clone(),
        has_private_key: matches!(material, Material::Private(_)),
        integrity: Integrity::Unverified,
    })
}

fn public_blob(public: &PublicKey) -> Result<Vec<u8>> {
    public
        .to_bytes()
        .map_err(|e| Error::bad_key(format!("cannot encode public key: {e}")))
}
