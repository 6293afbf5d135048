//! Opening the store's files: where the database is, creating it private
//! (checked before SQLite opens it), and the online backup into a private
//! directory. The SQLite side of both is in backend/sqlite.rs.

use super::location::{Location, PgEnv, PgTarget};
use super::{DB_FILE, Store, backend};
use crate::perms::{check_private_dir, check_store_files, create_private_file, make_private_dir};
use crate::{Error, Result};
use std::fs;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The PostgreSQL database `path` names, if it is a `postgres://` URL
/// (src/store/location.rs) rather than a path: what `--store` and
/// `KPS_STORE` give is handed around as a path either way.
pub fn postgres_target(path: &Path) -> Result<Option<PgTarget>> {
    match Location::parse(path.as_os_str(), &PgEnv::from_process())? {
        Location::Postgres(target) => Ok(Some(target)),
        Location::Path(_) => Ok(None),
    }
}

impl Store {
    /// Open the store in `dir` only if it exists: nothing is created. A
    /// PostgreSQL store always exists (its tables are made as needed):
    /// whether it has been set up is the team's question (KPS.7083).
    pub fn open_existing(dir: &Path) -> Result<Option<Store>> {
        Store::open_existing_at(dir, postgres_target(dir)?.as_ref())
    }

    /// [`Store::open_existing`] with `dir` already resolved: `target` is
    /// what [`postgres_target`] gave for it (a command resolves its
    /// `--store` once).
    pub fn open_existing_at(dir: &Path, target: Option<&PgTarget>) -> Result<Option<Store>> {
        if let Some(target) = target {
            return Store::open_postgres(target).map(Some);
        }
        if dir.is_file() || dir.join(DB_FILE).exists() {
            Store::open(dir).map(Some)
        } else {
            Ok(None)
        }
    }

    /// Open the store at `path`, failing with [`Error::NoStore`] if there
    /// is none: only the commands that set a store up may make one, so a
    /// mistyped `--store` or `KPS_STORE` is an error, not a new empty store.
    pub fn open_required(path: &Path) -> Result<Store> {
        Store::open_required_at(path, postgres_target(path)?.as_ref())
    }

    /// [`Store::open_required`] with `path` already resolved.
    pub fn open_required_at(path: &Path, target: Option<&PgTarget>) -> Result<Store> {
        Store::open_existing_at(path, target)?.ok_or_else(|| Error::NoStore {
            path: path.to_path_buf(),
        })
    }

    /// Open the store at `path`, making it if there is none; what was made
    /// is returned so that a first command that fails can take it away
    /// again ([`Store::discard_new`]).
    pub fn open_or_create(path: &Path) -> Result<(Store, Option<NewStore>)> {
        Store::open_or_create_at(path, postgres_target(path)?.as_ref())
    }

    /// [`Store::open_or_create`] with `path` already resolved.
    pub fn open_or_create_at(
        path: &Path,
        target: Option<&PgTarget>,
    ) -> Result<(Store, Option<NewStore>)> {
        if let Some(store) = Store::open_existing_at(path, target)? {
            return Ok((store, None));
        }
        let made_dir = !path.exists();
        let store = Store::open(path)?;
        let made = NewStore {
            dir: made_dir.then(|| path.to_path_buf()),
        };
        Ok((store, Some(made)))
    }

    /// Remove a store this process has just made ([`Store::open_or_create`])
    /// and that is still empty: no passphrase, no keypair. One that another
    /// process has meanwhile put something into is left alone.
    pub fn discard_new(self, made: NewStore) -> Result<()> {
        let empty = self.backend.count_keypairs()?;
        if empty != 0 || self.is_initialised()? {
            return Ok(());
        }
        let db_path = self.db_path.clone();
        drop(self);
        let io_err = |source| Error::StoreIo {
            path: db_path.clone(),
            source,
        };
        for suffix in crate::perms::SIDE_SUFFIXES {
            match fs::remove_file(crate::perms::side_file(&db_path, suffix)) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io_err(e)),
                _ => {}
            }
        }
        fs::remove_file(&db_path).map_err(io_err)?;
        if let Some(dir) = made.dir {
            // Only if empty: anything else in it was not made here.
            fs::remove_dir(&dir).map_err(io_err)?;
        }
        Ok(())
    }

    /// Open the store at `path`, creating the directory (0700), the database
    /// (0600) and the schema as needed. A `path` that is a regular file is a
    /// store database itself (what `kps backup` writes).
    pub fn open(path: &Path) -> Result<Store> {
        Store::open_with(path, true)
    }

    /// Open the PostgreSQL store `target` (a team store: docs/store-format.md,
    /// "Team stores"), bringing its schema up to date.
    pub fn open_postgres(target: &PgTarget) -> Result<Store> {
        let backend = backend::Backend::open_postgres(target)?;
        let store = Store {
            backend,
            // What messages name the store by: its URL, without password.
            db_path: PathBuf::from(target.to_string()),
            trust: Default::default(),
            pinned_here: false,
            team: None,
        };
        store.migrate()?;
        Ok(store)
    }

    /// Open a private copy of a store file that is checked and then
    /// dropped (`restore`'s copy of the backup): nothing about it is pinned.
    pub(super) fn open_scratch(path: &Path) -> Result<Store> {
        Store::open_with(path, false)
    }

    fn open_with(path: &Path, pinned_here: bool) -> Result<Store> {
        let single_file = path.is_file();
        let db_path = if single_file {
            path.to_path_buf()
        } else {
            let dir = path;
            make_private_dir(dir)?;
            // Checked before the database is created in it.
            let db_path = dir.join(DB_FILE);
            check_private_dir(dir, &db_path)?;
            create_private_file(&db_path)?;
            db_path
        };
        // As OpenSSH does for private keys: a store others can read gives
        // its sealed keys away to offline guessing, and one they can write
        // to (or plant a hot journal beside) could have its rows replaced.
        check_store_files(&db_path)?;
        // A store directory keeps its WAL between commands; a backup file
        // given as --store stays one self-contained file.
        let backend = backend::open_sqlite(&db_path, !single_file)?;
        let store = Store {
            backend,
            db_path,
            trust: Default::default(),
            pinned_here,
            team: None,
        };
        store.migrate()?;
        Ok(store)
    }

    /// Write a consistent copy of the store to `target`, one store file
    /// (SQLite's online backup, or one snapshot of a PostgreSQL store's
    /// rows: see [`backend::Backend::backup_to`]); other processes may keep
    /// writing meanwhile.
    ///
    /// The copy is built in a new directory beside `target` (0700, a random
    /// name, so on the same file system) that no one else can predict or
    /// write to, then moved into place: a file planted at a guessable name
    /// cannot make the backup fail or receive its bytes. Every failure is
    /// reported against `target`; the store itself was only read.
    pub fn backup(&self, target: &Path, force: bool) -> Result<()> {
        crate::outfile::check_target(target, force)?;
        let out_err = |source| Error::OutputIo {
            path: target.to_path_buf(),
            source,
        };
        let work = private_dir_beside(target).map_err(out_err)?;
        let tmp = work.path().join("backup.db");
        fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .and_then(|f| f.set_permissions(fs::Permissions::from_mode(0o600)))
            .map_err(out_err)?;
        self.backend
            .backup_to(&tmp)?
            .map_err(|e| out_err(std::io::Error::other(e)))?;
        fs::File::open(&tmp)
            .and_then(|f| f.sync_all())
            .map_err(out_err)?;
        crate::outfile::move_into_place(&tmp, target, force)?;
        drop(work);
        crate::outfile::sync_parent(target);
        Ok(())
    }
}

/// What [`Store::open_or_create`] made: the database, and the directory
/// if it did not exist before.
#[derive(Debug)]
pub struct NewStore {
    dir: Option<PathBuf>,
}

/// A directory only this process uses, beside `target` (see
/// [`crate::outfile::PrivateDir`]).
pub(super) fn private_dir_beside(target: &Path) -> std::io::Result<crate::outfile::PrivateDir> {
    crate::outfile::PrivateDir::new(&crate::outfile::parent_of(target), ".kps-backup")
}
