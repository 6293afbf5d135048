//! Failures as the user and scripts see them: each error gets its code, exit
//! status, message and hint here, in one place.

use kps::text::escape;
use serde_json::json;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

/// Failures that belong to the command line rather than the core.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{message}")]
    Usage {
        message: String,
        hint: Option<String>,
    },

    #[error("no store passphrase available: {why}")]
    NoPassphrase { why: String },

    #[error("cannot read passphrase file {path}")]
    PassphraseFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("cancelled")]
    Cancelled,

    /// The user answered "no" at a confirmation prompt: exit 1 so scripts
    /// notice, but no `error:` line, since nothing went wrong. With --json
    /// it is still a JSON error on stderr, as every non-zero exit is.
    #[error("{0}")]
    Declined(String),

    /// `create --if-not-exists` found the name taken by another kind of key:
    /// the message says both kinds, so the operator sees what differs.
    #[error("keypair '{name}' exists as {existing}; asked for {asked}")]
    ExistsAsOther {
        name: String,
        existing: String,
        asked: String,
    },

    #[error(
        "no PIN for token '{token}': no --pin-file, KPS_PKCS11_PIN_FILE or KPS_PKCS11_PIN, and no terminal to ask at"
    )]
    NoPin { token: String },

    /// A passphrase or PIN that did not open what it was for; the hint
    /// names where it came from (a file or variable) and none when it was
    /// typed, since checking files and variables is no advice then.
    #[error("{}", wrong_message(secret, origin))]
    Wrong { secret: Secret, origin: Origin },

    /// `import --from-dir` imported what it could and left these key files
    /// out (name taken, encrypted and not opened), each with its reason.
    #[error(
        "{} left out; {} imported or already stored",
        count(left_out.len(), "key file"),
        count(*imported, "key")
    )]
    LeftOut {
        left_out: Vec<(String, kps::Error)>,
        imported: usize,
    },
}

/// "1 key file", "2 key files".
fn count(n: usize, thing: &str) -> String {
    format!("{n} {thing}{}", if n == 1 { "" } else { "s" })
}

/// What a wrong secret was for.
#[derive(Debug, Clone)]
pub enum Secret {
    Store,
    Pin { token: String },
}

/// Where a passphrase or PIN came from.
#[derive(Debug, Clone)]
pub enum Origin {
    /// A file, and the option or variable that named it.
    File { path: PathBuf, named_by: String },
    /// A variable holding the secret itself.
    Variable(String),
    /// Typed at the terminal, this many times.
    Typed { tries: u32 },
}

fn wrong_message(secret: &Secret, origin: &Origin) -> String {
    let what = match secret {
        Secret::Store => "wrong store passphrase".to_string(),
        Secret::Pin { token } => format!("wrong PIN for token '{token}'"),
    };
    match origin {
        Origin::Typed { tries } if *tries > 1 => format!("{what} ({tries} tries)"),
        _ => what,
    }
}

fn wrong_hint(secret: &Secret, origin: &Origin) -> String {
    let done = "nothing was changed";
    match (origin, secret) {
        (Origin::File { path, named_by }, _) => {
            format!("{done}; check the file {} ({named_by})", path.display())
        }
        (Origin::Variable(name), _) => format!("{done}; check {name}"),
        // A token counts wrong PINs and may lock itself: asked once.
        (Origin::Typed { .. }, Secret::Pin { .. }) => {
            format!(
                "{done}; kps asks for a PIN once, since a token may lock after a few wrong PINs"
            )
        }
        (Origin::Typed { .. }, _) => done.to_string(),
    }
}

impl CliError {
    pub fn usage(message: impl Into<String>, hint: impl Into<String>) -> Self {
        CliError::Usage {
            message: message.into(),
            hint: Some(hint.into()),
        }
    }
}

/// Exit statuses, as documented in the README.
pub mod exit {
    pub const FAILURE: u8 = 1;
    pub const USAGE: u8 = 2;
    pub const NOT_FOUND: u8 = 3;
    pub const EXISTS: u8 = 4;
    pub const BAD_KEY: u8 = 5;
    pub const LOCKED: u8 = 6;
    pub const STORE: u8 = 7;
    /// `import --from-dir` left some key files out and imported the rest.
    pub const PARTIAL: u8 = 8;
    /// `bind`/`unbind`/`replace`: some servers done, others failed.
    pub const SOME_SERVERS: u8 = 9;
    /// `bind`/`unbind`/`replace`: the operation failed on the server.
    pub const SERVER: u8 = 10;
    /// Stopped by Ctrl-C (at a prompt, or between a bind's steps).
    pub const INTERRUPTED: u8 = 130;
}

struct Verdict {
    code: &'static str,
    exit: u8,
    hint: Option<String>,
}

fn v(code: &'static str, exit: u8, hint: Option<&str>) -> Verdict {
    Verdict {
        code,
        exit,
        hint: hint.map(str::to_string),
    }
}

fn core_verdict(e: &kps::Error) -> Verdict {
    use kps::Error as E;
    match e {
        E::InvalidParameter { hint, .. } => Verdict {
            code: "KPS.0002",
            exit: exit::USAGE,
            hint: hint.clone(),
        },
        E::NotFound(_) => v("KPS.4016", exit::NOT_FOUND, Some("see 'kps list'")),
        E::NoMatch(_) => v("KPS.6004", exit::NOT_FOUND, None),
        E::AlreadyExists(_) => v(
            "KPS.7001",
            exit::EXISTS,
            Some("choose another name, or 'kps delete' the old keypair first"),
        ),
        E::NoPrivateKey(_) => v(
            "KPS.6005",
            exit::BAD_KEY,
            Some("it was imported from a public key; only its public key can be exported"),
        ),
        E::WrongPassphrase => v(
            "KPS.7002",
            exit::LOCKED,
            Some(
                "nothing was changed; check --passphrase-file, KPS_PASSPHRASE_FILE or KPS_PASSPHRASE",
            ),
        ),
        E::InitialisedConcurrently => v("KPS.7013", exit::LOCKED, None),
        E::NotInitialised => v(
            "KPS.7006",
            exit::FAILURE,
            Some("run 'kps init' (or 'kps create') to set the store up"),
        ),
        E::AlreadyInitialised => v(
            "KPS.7007",
            exit::FAILURE,
            Some("use 'kps passwd' to change the passphrase"),
        ),
        E::StoreBusy { .. } => v(
            "KPS.7005",
            exit::STORE,
            Some("another kps process is writing; try again"),
        ),
        E::NoStore { .. } => v(
            "KPS.7032",
            exit::STORE,
            Some(
                "check --store and KPS_STORE; 'kps init' (or a first 'kps create' or 'kps import') makes a new store",
            ),
        ),
        E::StoreReadOnly { .. } => v(
            "KPS.7033",
            exit::STORE,
            Some(
                "nothing was changed; to change the store, make its directory and files writable by you (or its file system read-write), or work on a copy",
            ),
        ),
        E::StoreCorrupt { .. } | E::StoreIo { .. } => v(
            "KPS.7004",
            exit::STORE,
            Some("check the --store path; restore the store from a backup if it is damaged"),
        ),
        E::BackupInvalid { .. } => v(
            "KPS.7004",
            exit::STORE,
            Some("nothing was changed; 'kps restore' takes a file that 'kps backup' wrote"),
        ),
        E::RestoreWouldRemove { .. } => v(
            "KPS.7035",
            exit::FAILURE,
            Some(
                "nothing was changed; 'kps backup' the store first if you may need them, or give --force to replace it with the backup anyway",
            ),
        ),
        E::StoreInsecure { fix, .. } => Verdict {
            code: "KPS.7027",
            exit: exit::STORE,
            hint: Some(format!(
                "{fix} (kps keeps its directory 0700 and its files 0600, owned by you)"
            )),
        },
        E::PinMismatch { .. } => v(
            "KPS.7028",
            exit::STORE,
            Some(
                "nothing was written; 'kps verify' checks the store with its passphrase and pins it again (it fails if the public key was swapped: restore the store from a backup)",
            ),
        ),
        E::IdentityReplaced { .. } => v(
            "KPS.7028",
            exit::STORE,
            Some(
                "nothing was read or written; restore the store (or its identity row) from a backup, or check the passphrase",
            ),
        ),
        E::BadPin { .. } => v(
            "KPS.7028",
            exit::STORE,
            Some("remove the file: the next command that unlocks the store writes it again"),
        ),
        E::IdentityMissing { .. } => v(
            "KPS.7029",
            exit::STORE,
            Some(
                "the identity row was removed: restore the store from a backup; 'kps init' will not replace it while keypairs depend on it",
            ),
        ),
        E::StoreTooNew { .. } => v("KPS.7004", exit::STORE, Some("upgrade kps")),
        E::SaveFailed { .. } => v("KPS.6010", exit::STORE, None),
        E::IntegrityFailure { .. } => v(
            "KPS.6011",
            exit::STORE,
            Some("the store has been damaged or tampered with; restore it from a backup"),
        ),
        E::KmsNotConfigured => v(
            "KPS.7010",
            exit::FAILURE,
            Some("kps kms configure --module PATH --token LABEL, or use --encryption default"),
        ),
        E::KmsConfiguredOnlyInStore => v(
            "KPS.7010",
            exit::FAILURE,
            Some(
                "kps no longer takes the PKCS#11 module from the store: run 'kps kms configure --module PATH --token LABEL' again with the module you trust (it is kept in your config directory), or set KPS_PKCS11_MODULE and KPS_PKCS11_TOKEN",
            ),
        ),
        E::EncryptFailed(_) => v("KPS.6008", exit::FAILURE, None),
        E::KeyGeneration(_) => v("KPS.7014", exit::FAILURE, None),
        E::InvalidKey { hint, .. } => Verdict {
            code: "KPS.6009",
            exit: exit::BAD_KEY,
            hint: hint.clone(),
        },
        E::KeyMismatch(_) => v("KPS.6011", exit::BAD_KEY, None),
        E::KeyEncrypted { hint, .. } => Verdict {
            code: "KPS.7015",
            exit: exit::BAD_KEY,
            hint: Some(hint.clone()),
        },
        E::WrongKeyPassphrase => v(
            "KPS.7016",
            exit::BAD_KEY,
            Some("check --key-passphrase-file; nothing was stored"),
        ),
        E::WrongKeyPassphraseTyped { .. } => v(
            "KPS.7016",
            exit::BAD_KEY,
            Some("nothing was stored from it"),
        ),
        E::BatchFailed { failures } => {
            // One exit status if every file failed the same way, else 5.
            let exits: Vec<u8> = failures.iter().map(|(_, e)| core_verdict(e).exit).collect();
            let same = exits.windows(2).all(|w| w[0] == w[1]);
            Verdict {
                code: "KPS.7018",
                exit: if same {
                    exits.first().copied().unwrap_or(exit::BAD_KEY)
                } else {
                    exit::BAD_KEY
                },
                hint: Some("fix or move the files named above and run the import again".into()),
            }
        }
        E::NameTaken { .. } => v(
            "KPS.7001",
            exit::EXISTS,
            Some("rename the file, or import it on its own: kps import NAME --private-key FILE"),
        ),
        E::InputIo { .. } => v("KPS.7017", exit::FAILURE, None),
        E::KmsModule(_) => v(
            "KPS.7022",
            exit::FAILURE,
            Some(
                "kps kms configure --module PATH (e.g. /usr/lib/softhsm/libsofthsm2.so), or KPS_PKCS11_MODULE",
            ),
        ),
        E::KmsModuleInsecure { .. } => v(
            "KPS.7030",
            exit::FAILURE,
            Some(
                "a PKCS#11 module and every directory above it must belong to root or you and not be writable by group or others: chown root or chmod go-w the path named, or configure another module with 'kps kms configure --module PATH --token LABEL'",
            ),
        ),
        E::KmsTokenNotFound { .. } => v(
            "KPS.7023",
            exit::FAILURE,
            Some("kps kms configure --token LABEL, or KPS_PKCS11_TOKEN"),
        ),
        E::WrongPin { .. } => v(
            "KPS.7024",
            exit::LOCKED,
            Some("nothing was changed; check --pin-file, KPS_PKCS11_PIN_FILE or KPS_PKCS11_PIN"),
        ),
        E::KmsKeyNotFound { .. } => v(
            "KPS.7025",
            exit::FAILURE,
            Some("see 'kps kms list-keys'; a keypair sealed under a deleted key cannot be opened"),
        ),
        E::KmsKeyCreation(_) => v("KPS.6007", exit::FAILURE, None),
        E::Kms(_) => v("KPS.7026", exit::FAILURE, None),
        E::PasswordNotAvailable => v(
            "KPS.7019",
            exit::FAILURE,
            Some("the server posts it a few minutes after its first boot; try again later"),
        ),
        E::BadPasswordData(_) => v("KPS.7020", exit::BAD_KEY, None),
        E::NotForWindowsPassword(_) => v(
            "KPS.7021",
            exit::BAD_KEY,
            Some("use the keypair the server was created with"),
        ),
        E::OutputExists { .. } => v(
            "KPS.7008",
            exit::FAILURE,
            Some("use --force to replace it, or choose another -o FILE"),
        ),
        E::OutputNotRegular { .. } => v(
            "KPS.7031",
            exit::FAILURE,
            Some("choose another -o FILE; for standard output use -o -"),
        ),
        E::OutputIo { .. } => v("KPS.7009", exit::FAILURE, None),
        E::BundleCorrupt(_) => v(
            "KPS.7050",
            exit::BAD_KEY,
            Some(
                "nothing was imported; copy the bundle again whole (or, for a newer version, upgrade kps)",
            ),
        ),
        E::BundleWrongPassphrase => v(
            "KPS.7051",
            exit::LOCKED,
            Some("nothing was imported; check --bundle-passphrase-file"),
        ),
        E::BundleNotForThisStore { .. } => v(
            "KPS.7052",
            exit::LOCKED,
            Some(
                "nothing was imported; the sender must seal it to the line 'kps identity' prints for this store",
            ),
        ),
        E::BundleClash { .. } => v(
            "KPS.7001",
            exit::EXISTS,
            Some("delete or rename those keypairs first, or import the bundle into another store"),
        ),
        E::BadMemberLine(_) => v(
            "KPS.7080",
            exit::BAD_KEY,
            Some(
                "ask the member for their whole member line (kps-member-v1 NAME X25519-KEY ED25519-KEY), on one line",
            ),
        ),
        E::MembershipRejected(_) => v(
            "KPS.7081",
            exit::STORE,
            Some(
                "nothing was written or sealed; someone with access to the database may have changed the member list: ask an admin, and do not re-pin until you know why",
            ),
        ),
        E::MembershipChangeRefused(_) => v(
            "KPS.7082",
            exit::FAILURE,
            Some("nothing was changed; 'kps team members' lists the members and their roles"),
        ),
        E::TeamNotSetUp { .. } => v(
            "KPS.7083",
            exit::STORE,
            Some("an admin sets it up once with 'kps --store URL team init NAME'"),
        ),
        E::TeamNotJoined { .. } => v(
            "KPS.7084",
            exit::LOCKED,
            Some(
                "send an admin the line 'kps team join NAME' prints; run the 'kps team join NAME --invitation ...' line they send back",
            ),
        ),
        E::NotATeamMember { .. } => v(
            "KPS.7085",
            exit::LOCKED,
            Some(
                "nothing was read or written; 'kps team members' lists the members; ask an admin (or give --identity-store the store you joined with)",
            ),
        ),
        E::NotForTeamStore { hint, .. } => v("KPS.7086", exit::FAILURE, Some(hint.as_str())),
        E::NotATeamStore { .. } => v(
            "KPS.7087",
            exit::FAILURE,
            Some(
                "give --store the team store (a postgres:// URL, or a store made with 'kps team init')",
            ),
        ),
        E::StoreUnreachable { .. } => v(
            "KPS.7090",
            exit::STORE,
            Some(
                "nothing was written (every write is one transaction); check the connection and try again",
            ),
        ),
        E::StoreConflict { .. } => v(
            "KPS.7091",
            exit::STORE,
            Some("nothing was written: other kps processes kept writing the same rows; try again"),
        ),
        E::KeypairBound { .. } => v(
            "KPS.7069",
            exit::FAILURE,
            Some(
                "nothing was deleted; 'kps unbind NAME HOST...' takes its key off those servers first, or give --force to delete it and leave its key on them",
            ),
        ),
        E::AgentSocket { .. } => v(
            "KPS.7040",
            exit::FAILURE,
            Some(
                "give -a a path that does not exist yet, in a directory you can write (at most 107 bytes), or leave -a out",
            ),
        ),
        E::AgentConfirmUnavailable(_) => v(
            "KPS.7045",
            exit::FAILURE,
            Some(
                "run 'kps agent -D --confirm' at a terminal, or set SSH_ASKPASS to an askpass program and DISPLAY or WAYLAND_DISPLAY (or SSH_ASKPASS_REQUIRE=force)",
            ),
        ),
        E::NoAgent => v(
            "KPS.7041",
            exit::FAILURE,
            Some("start one first: eval \"$(ssh-agent -s)\" (or kps agent), or use kps ssh NAME"),
        ),
        E::AgentUnreachable { .. } => v(
            "KPS.7041",
            exit::FAILURE,
            Some(
                "check that the agent still runs and that SSH_AUTH_SOCK names its socket; start a new one with eval \"$(ssh-agent -s)\"",
            ),
        ),
        E::AgentRefused {
            action: "remove", ..
        } => v(
            "KPS.7042",
            exit::FAILURE,
            Some("the agent does not hold that key: ssh-add -l lists what it holds"),
        ),
        E::AgentRefused { .. } => v(
            "KPS.7042",
            exit::FAILURE,
            Some(
                "the agent may be locked (ssh-add -X) or not take keys of this kind or with these constraints; nothing was left added",
            ),
        ),
        E::Remote { kind, .. } => remote_verdict(*kind),
        E::SomeServersFailed { .. } => v(
            "KPS.7068",
            exit::SOME_SERVERS,
            Some(
                "each server's result and error is listed; run the command again for the failed ones",
            ),
        ),
        E::SshNotRun { .. } => v(
            "KPS.7043",
            exit::FAILURE,
            Some(
                "install OpenSSH's client (package openssh-client), or name the program with --ssh or KPS_SSH",
            ),
        ),
    }
}

fn remote_verdict(kind: kps::remote::Failure) -> Verdict {
    use kps::remote::Failure as F;
    let (code, hint) = match kind {
        F::Interrupted => {
            return v(
                "KPS.7011",
                exit::INTERRUPTED,
                Some("each server's change was undone, or not started; run the command again"),
            );
        }
        F::Connect => (
            "KPS.7060",
            "check that the server is up and reachable (ssh -v USER@HOST), and the login: --auth-keypair, --password-file, or your own ssh setup",
        ),
        F::HostKeyUnknown => (
            "KPS.7061",
            "give the server's host key fingerprint with --host-key SHA256:... (the cloud console shows it), or --accept-new-host-key",
        ),
        F::HostKeyChanged => (
            "KPS.7062",
            "the server is not the one known_hosts (or --host-key) names: find out why before anything else; if it was reinstalled, ssh-keygen -R HOST",
        ),
        F::Unsupported => (
            "KPS.7063",
            "nothing was changed on that server; the message says what it would need",
        ),
        F::ProofFailed => (
            "KPS.7064",
            "the change was rolled back and the server is as it was; the message says which proof failed",
        ),
        F::RollbackFailed => (
            "KPS.7065",
            "the server is in the state the message describes: log in over your own session and fix it by hand",
        ),
        F::InvalidConfig => (
            "KPS.7066",
            "sshd was not reloaded and kps's change was taken back; fix the file sshd -t names, then run kps again",
        ),
        F::NoWayIn => (
            "KPS.7067",
            "bind another keypair there first, or add --enable-password-login, or --force if you have another way in",
        ),
    };
    v(code, exit::SERVER, Some(hint))
}

/// The code and hint of a core error, for a document that lists errors
/// of its own (`import --from-dir`'s `left_out`).
pub fn code_and_hint(e: &kps::Error) -> (&'static str, Option<String>) {
    let v = core_verdict(e);
    (v.code, v.hint)
}

fn verdict(err: &anyhow::Error) -> Verdict {
    if let Some(e) = err.downcast_ref::<kps::Error>() {
        return core_verdict(e);
    }
    if let Some(e) = err.downcast_ref::<CliError>() {
        return match e {
            CliError::Usage { hint, .. } => Verdict {
                code: "KPS.0002",
                exit: exit::USAGE,
                hint: hint.clone(),
            },
            CliError::NoPassphrase { .. } => v(
                "KPS.7003",
                exit::LOCKED,
                Some("give --passphrase-file FILE, or set KPS_PASSPHRASE_FILE or KPS_PASSPHRASE"),
            ),
            CliError::PassphraseFile { .. } => v("KPS.7003", exit::LOCKED, None),
            CliError::Cancelled | CliError::Declined(_) => v("KPS.7011", exit::FAILURE, None),
            // The same code and exit status as any other name clash.
            CliError::ExistsAsOther { .. } => v(
                "KPS.7001",
                exit::EXISTS,
                Some(
                    "ask for the existing kind, choose another name, \
                     or 'kps delete' the old keypair first",
                ),
            ),
            CliError::NoPin { .. } => v(
                "KPS.7003",
                exit::LOCKED,
                Some("give --pin-file FILE, or set KPS_PKCS11_PIN_FILE or KPS_PKCS11_PIN"),
            ),
            CliError::Wrong { secret, origin } => Verdict {
                code: match secret {
                    Secret::Store => "KPS.7002",
                    Secret::Pin { .. } => "KPS.7024",
                },
                exit: exit::LOCKED,
                hint: Some(wrong_hint(secret, origin)),
            },
            CliError::LeftOut { .. } => v(
                "KPS.7034",
                exit::PARTIAL,
                Some("the other key files were imported; see each file's hint above"),
            ),
        };
    }
    v("KPS.7000", exit::FAILURE, None)
}

/// True if the failure is only that our reader went away (`kps list | head`).
fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// An error's message followed by its sources', as anyhow's `{:#}` gives
/// them, for the errors listed inside a batch failure.
fn with_sources(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(e) = source {
        text.push_str(": ");
        text.push_str(&e.to_string());
        source = e.source();
    }
    text
}

/// Print a failure and give the exit status.
pub fn failure(err: &anyhow::Error, json: bool) -> ExitCode {
    if is_broken_pipe(err) {
        return ExitCode::SUCCESS;
    }
    let verdict = verdict(err);
    // The files of a batch, each with its own message, code and hint.
    let batch: Vec<(&str, String, Verdict)> = match (
        err.downcast_ref::<kps::Error>(),
        err.downcast_ref::<CliError>(),
    ) {
        (Some(kps::Error::BatchFailed { failures }), _) => failures
            .iter()
            .map(|(file, e)| (file.as_str(), with_sources(e), core_verdict(e)))
            .collect(),
        (_, Some(CliError::LeftOut { left_out, .. })) => left_out
            .iter()
            .map(|(file, e)| (file.as_str(), with_sources(e), core_verdict(e)))
            .collect(),
        _ => Vec::new(),
    };
    let mut stderr = std::io::stderr().lock();
    if let (false, Some(CliError::Declined(line))) = (json, err.downcast_ref::<CliError>()) {
        let _ = writeln!(stderr, "{}", escape(line));
        return ExitCode::from(verdict.exit);
    }
    if json {
        // JSON escapes what it must itself (output::json_line); the message
        // keeps the text as it was, for scripts.
        let mut message = format!("{err:#}");
        for (file, msg, _) in &batch {
            message.push_str(&format!("\n  {file}: {msg}"));
        }
        let mut doc = json!({ "error_code": verdict.code, "error_msg": message });
        if !batch.is_empty() {
            doc["failures"] = batch
                .iter()
                .map(|(file, msg, verdict)| {
                    json!({
                        "file": file,
                        "error_code": verdict.code,
                        "error_msg": msg,
                        "hint": verdict.hint,
                    })
                })
                .collect();
        }
        let _ = writeln!(stderr, "{}", crate::output::json_line(&doc));
    } else {
        // Messages quote file names, key algorithm names and stored text:
        // each piece is escaped, and only the line breaks added here remain.
        let mut message = escape(&format!("{err:#}")).into_owned();
        // Each file's own hint (how to open an encrypted key, say) goes
        // under its line: the batch's hint only says to fix the files.
        for (file, msg, verdict) in &batch {
            message.push_str(&format!("\n  {}: {}", escape(file), escape(msg)));
            if let Some(hint) = &verdict.hint {
                message.push_str(&format!("\n    hint: {}", escape(hint)));
            }
        }
        let color = stderr_color();
        let (red, yellow, reset) = if color {
            ("\x1b[1;31m", "\x1b[1;33m", "\x1b[0m")
        } else {
            ("", "", "")
        };
        let _ = writeln!(stderr, "{red}error{reset}: {message}");
        if let Some(hint) = verdict.hint {
            let hint = escape(&hint);
            let _ = writeln!(stderr, "{yellow}hint{reset}: {hint}");
        }
    }
    ExitCode::from(verdict.exit)
}

pub fn stderr_color() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// A command line clap refused: with --json, as a JSON error; else clap's own text.
pub fn clap_error(err: clap::Error, json: bool) -> ExitCode {
    use clap::error::ErrorKind;
    let informational = matches!(
        err.kind(),
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
    ) || err.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand;
    if json && !informational {
        let msg = err.kind().to_string();
        let detail = err
            .to_string()
            .lines()
            .next()
            .unwrap_or_default()
            .trim_start_matches("error: ")
            .to_string();
        let doc = json!({
            "error_code": "KPS.0002",
            "error_msg": if detail.is_empty() { msg } else { detail },
        });
        let _ = writeln!(std::io::stderr(), "{}", crate::output::json_line(&doc));
        return ExitCode::from(exit::USAGE);
    }
    let _ = err.print();
    if informational && err.kind() != ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(exit::USAGE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_entry_names_its_os_error_once() {
        let e = kps::Error::InputIo {
            path: "keys/a".into(),
            source: std::io::Error::from_raw_os_error(2),
        };
        let text = with_sources(&e);
        assert!(text.starts_with("cannot read keys/a: "), "{text}");
        assert_eq!(text.matches("os error 2").count(), 1, "{text}");
    }
}
