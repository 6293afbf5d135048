//! Issue 13's attacks on the store and on the operator's terminal, one test
//! per finding, each doing what the attacker does to the real files (edit
//! the SQLite file with rusqlite, plant a file, craft a key) and asserting
//! what kps now does. `finding_N_*` names the finding in the issue and the
//! row of docs/store-format.md's threat model.

#[path = "../common/mod.rs"]
mod common;

mod files;
mod identity;
mod kms;
mod output;
