//! Opening the store's files: where the database is, creating it private,
//! and the online backup.

use super::{DB_FILE, Store, sql_error};
use crate::perms::{check_private, create_private_file};
use crate::{Error, Result};
use rusqlite::config::DbConfig;
use rusqlite::{Connection, OpenFlags};
use std::fs;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

impl Store {
    /// Open the store in `dir`, creating the directory (0700), the database
    /// (0600) and the schema as needed.
    /// Open the store in `dir` only if it exists: nothing is created.
    pub fn open_existing(dir: &Path) -> Result<Option<Store>> {
        if dir.is_file() || dir.join(DB_FILE).exists() {
            Store::open(dir).map(Some)
        } else {
            Ok(None)
        }
    }

    /// Open the store at `path`, creating the directory (0700), the database
    /// (0600) and the schema as needed. A `path` that is a regular file is a
    /// store database itself (what `kps backup` writes).
    pub fn open(path: &Path) -> Result<Store> {
        let single_file = path.is_file();
        let db_path = if single_file {
            path.to_path_buf()
        } else {
            let dir = path;
            let io_err = |source| Error::StoreIo {
                path: dir.to_path_buf(),
                source,
            };
            if !dir.exists() {
                fs::DirBuilder::new()
                    .recursive(true)
                    .mode(0o700)
                    .create(dir)
                    .map_err(io_err)?;
                // The mode given to mkdir is narrowed by the umask; make it exact.
                fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(io_err)?;
            }
            check_private(dir)?;
            let db_path = dir.join(DB_FILE);
            create_private_file(&db_path)?;
            db_path
        };
        // As OpenSSH's StrictModes does for keys: a store others can write
        // to could have its public key swapped or its rows replaced.
        check_private(&db_path)?;
        for suffix in ["-wal", "-shm"] {
            let mut side = db_path.clone().into_os_string();
            side.push(suffix);
            let side = PathBuf::from(side);
            if side.exists() {
                check_private(&side)?;
            }
        }
        let conn = Connection::open_with_flags(
            &db_path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| sql_error(&db_path, e))?;
        let store = Store {
            conn,
            db_path,
            trust: Default::default(),
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
    /// backup (other processes may keep writing meanwhile). The copy is made
    /// in a temporary file beside `target` (0600) and renamed into place.
    pub fn backup(&self, target: &Path, force: bool) -> Result<()> {
        if !force && fs::symlink_metadata(target).is_ok() {
            return Err(Error::OutputExists {
                path: target.to_path_buf(),
            });
        }
        let out_err = |source| Error::OutputIo {
            path: target.to_path_buf(),
            source,
        };
        let mut tmp = target.as_os_str().to_owned();
        tmp.push(format!(".{}.tmp", std::process::id()));
        let tmp = PathBuf::from(tmp);
        let _ = fs::remove_file(&tmp);
        fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .and_then(|f| f.set_permissions(fs::Permissions::from_mode(0o600)))
            .map_err(out_err)?;
        let result = (|| {
            let mut dest = Connection::open(&tmp).map_err(|e| sql_error(&tmp, e))?;
            {
                let backup = rusqlite::backup::Backup::new(&self.conn, &mut dest)
                    .map_err(|e| self.err(e))?;
                backup
                    .run_to_completion(256, Duration::from_millis(10), None)
                    .map_err(|e| self.err(e))?;
            }
            // A backup is one self-contained file: no WAL beside it.
            dest.execute_batch("PRAGMA journal_mode = DELETE;")
                .map_err(|e| sql_error(&tmp, e))?;
            drop(dest);
            if !force && fs::symlink_metadata(target).is_ok() {
                return Err(Error::OutputExists {
                    path: target.to_path_buf(),
                });
            }
            fs::rename(&tmp, target).map_err(out_err)
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result
    }
}
