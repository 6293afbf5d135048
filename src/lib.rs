//! kps core: key generation, validation, formats, fingerprints and the encrypted store.
//!
//! Everything here returns typed errors ([`Error`]) and never prints; the `kps`
//! binary turns errors into codes and messages, and results into text or JSON.
#![forbid(unsafe_code)]

pub mod agent;
pub mod algorithm;
pub mod bundle;
pub mod config;
pub mod error;
pub mod export;
pub mod fingerprint;
pub mod hex;
pub mod keycheck;
pub mod keygen;
pub mod keypair;
pub mod kms;
pub mod kms_config;
pub mod name;
pub mod outfile;
pub mod parse;
pub mod perms;
pub mod ppk;
pub mod remote;
pub mod request;
pub mod secret;
pub mod store;
pub mod team;
pub mod text;
pub mod winpass;

pub use error::{Error, Result};
