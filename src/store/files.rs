//! Opening the store's files: where the database is, creating it private,
//! and the online backup.

use super::{DB_FILE, Store, sql_error};
use crate::perms::{check_private_dir, check_store_files, create_private_file, make_private_dir};
use crate::{Error, Result};
use rusqlite::config::DbConfig;
use rusqlite::{Connection, OpenFlags};
use std::fs;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

impl Store {
    /// Open the store in `dir` only if it exists: nothing is created.
    pub fn open_existing(dir: &Path) -> Result<Option<Store>> {
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
        Store::open_existing(path)?.ok_or_else(|| Error::NoStore {
            path: path.to_path_buf(),
        })
    }

    /// Open the store at `path`, making it if there is none; what was made
    /// is returned so that a first command that fails can take it away
    /// again ([`Store::discard_new`]).
    pub fn open_or_create(path: &Path) -> Result<(Store, Option<NewStore>)> {
        if let Some(store) = Store::open_existing(path)? {
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
        let empty: i64 = self
            .conn
            .query_row("SELECT count(*) FROM keypairs", [], |r| r.get(0))
            .map_err(|e| self.err(e))?;
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
        let conn = Connection::open_with_flags(
            &db_path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| sql_error(&db_path, e))?;
        let store = Store {
            conn,
            db_path,
            trust: Default::default(),
            pinned_here,
        };
        store.configure()?;
        if !single_file {
            // SQLite's last connection to close copies the WAL into the
            // database and deletes it: two more fsyncs and an unlink per
            // command, then a new WAL (fsync of it and of the directory) at
            // the next write; a quarter of `create`'s time. In a store
            // directory the WAL stays between commands. But the first
            // process to open the store reads the whole WAL to rebuild its
            // index (0.3 ms at 350 pages) and forgets what was checkpointed,
            // so SQLite's automatic checkpoint would copy the whole WAL again
            // at every write past its threshold without ever restarting it.
            // kps checkpoints and truncates it itself instead: after a write
            // that leaves it over WAL_MAX_BYTES, and after the commands that
            // remove sealed data (see checkpoint).
            // A backup file given as --store stays one self-contained file.
            store
                .conn
                .set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true)
                .map_err(|e| store.err(e))?;
            store
                .conn
                .pragma_update(None, "wal_autocheckpoint", 0)
                .map_err(|e| store.err(e))?;
        }
        store.migrate()?;
        Ok(store)
    }

    /// Write a consistent copy of the store to `target` with SQLite's online
    /// backup (other processes may keep writing meanwhile).
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
        let sql_err = |e: rusqlite::Error| out_err(std::io::Error::other(e.to_string()));
        let work = PrivateDir::beside(target).map_err(out_err)?;
        let tmp = work.path.join("backup.db");
        fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .and_then(|f| f.set_permissions(fs::Permissions::from_mode(0o600)))
            .map_err(out_err)?;
        let mut dest = Connection::open(&tmp).map_err(sql_err)?;
        {
            let backup = rusqlite::backup::Backup::new(&self.conn, &mut dest).map_err(sql_err)?;
            backup
                .run_to_completion(256, Duration::from_millis(10), None)
                .map_err(sql_err)?;
        }
        // A backup is one self-contained file: no WAL beside it.
        dest.execute_batch("PRAGMA journal_mode = DELETE;")
            .map_err(sql_err)?;
        dest.close().map_err(|(_, e)| sql_err(e))?;
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

/// A directory only this process uses, removed with what is in it when
/// dropped (`mkdtemp`): 0700, under a random name beside the target.
pub(super) struct PrivateDir {
    pub(super) path: PathBuf,
}

impl PrivateDir {
    pub(super) fn beside(target: &Path) -> std::io::Result<PrivateDir> {
        // mkdir fails if the name exists, whoever made it: nothing planted
        // is ever used.
        let (path, ()) = crate::outfile::create_fresh(
            &crate::outfile::parent_of(target),
            |random| format!(".kps-backup.{random}").into(),
            |path| fs::DirBuilder::new().mode(0o700).create(path),
        )?;
        let dir = PrivateDir { path };
        fs::set_permissions(&dir.path, fs::Permissions::from_mode(0o700))?;
        Ok(dir)
    }
}

impl Drop for PrivateDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}
