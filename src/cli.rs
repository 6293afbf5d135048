//! The command line, as clap definitions only. Behaviour lives in `commands/`.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "kps",
    version,
    about = "SSH keypair manager: generate, import, store encrypted, export",
    long_about = "kps keeps SSH keypairs in an encrypted local store and hands them out \
                  in the formats clients need. Private keys are sealed at rest; only \
                  commands that read a private key ask for the store passphrase.",
    after_help = "Exit status: 0 ok, 1 other failure, 2 usage or parameter error, \
                  3 keypair not found, 4 keypair already exists, 5 invalid or unsupported \
                  key material, 6 wrong passphrase or store cannot be unlocked, \
                  7 store unreadable, busy or corrupt, 8 import --from-dir left some \
                  key files out."
)]
pub struct Cli {
    /// Store directory [default: the platform data dir, ~/.local/share/kps on Linux]
    #[arg(long, global = true, value_name = "DIR", env = "KPS_STORE")]
    pub store: Option<PathBuf>,

    /// Print one JSON document on stdout; errors as {"error_code","error_msg"} on stderr
    #[arg(long, global = true)]
    pub json: bool,

    /// Print nothing on stdout but the requested data (no status lines)
    #[arg(short = 'q', long, global = true)]
    pub quiet: bool,

    /// Your own local store, whose identity you are known by in a team store
    /// [default: the default store]
    #[arg(long, global = true, value_name = "DIR", env = "KPS_IDENTITY_STORE")]
    pub identity_store: Option<PathBuf>,

    /// Read the store passphrase from FILE (one trailing newline is ignored)
    #[arg(
        long,
        global = true,
        value_name = "FILE",
        env = "KPS_PASSPHRASE_FILE",
        hide_env_values = true
    )]
    pub passphrase_file: Option<PathBuf>,

    /// Read the PKCS#11 token PIN (encryption type kms) from FILE
    #[arg(
        long,
        global = true,
        value_name = "FILE",
        env = "KPS_PKCS11_PIN_FILE",
        hide_env_values = true
    )]
    pub pin_file: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

/// How `kps --help` groups the subcommands, in the order a user meets them.
pub const GROUPS: &[(&str, &[&str])] = &[
    ("Start", &["init"]),
    ("Make or bring in keypairs", &["create", "import"]),
    ("Look them up", &["list", "show", "find"]),
    (
        "Hand them out",
        &[
            "export",
            "export-ppk",
            "get-win-password",
            "export-bundle",
            "identity",
        ],
    ),
    (
        "Protect and manage",
        &["set-encryption", "kms", "delete", "passwd", "verify"],
    ),
    ("Change them", &["rename", "set"]),
    ("Back up and restore", &["backup", "restore", "store"]),
    ("Use keys without files", &["agent"]),
    ("Servers", &["bind", "unbind", "replace", "bindings"]),
    ("Share with a team", &["team"]),
];

/// Man page sections clap cannot express, kept next to the definition.
pub const ENVIRONMENT: &[(&str, &str)] = &[
    ("KPS_STORE", "Store directory, when --store is not given."),
    (
        "KPS_IDENTITY_STORE",
        "Your own local store (its identity is who you are in a team store), when --identity-store is not given.",
    ),
    (
        "KPS_PASSPHRASE_FILE",
        "File holding the store passphrase, when --passphrase-file is not given.",
    ),
    (
        "KPS_PASSPHRASE",
        "The store passphrase itself (for CI secrets; prefer a file).",
    ),
    (
        "KPS_PKCS11_MODULE",
        "PKCS#11 module for encryption type kms, over kms.conf (held to the same ownership and mode rules).",
    ),
    ("KPS_PKCS11_TOKEN", "PKCS#11 token label, over kms.conf."),
    (
        "KPS_PKCS11_PIN_FILE",
        "File holding the token PIN, when --pin-file is not given.",
    ),
    ("KPS_PKCS11_PIN", "The token PIN itself."),
    (
        "XDG_RUNTIME_DIR",
        "Where kps agent makes the directory of its socket (else the temp dir).",
    ),
    (
        "NO_COLOR",
        "No colour in messages (colour is used only on a terminal anyway).",
    ),
];

pub const FILES: &[(&str, &str)] = &[
    (
        "~/.local/share/kps/kps.db",
        "The default store (the platform data directory; $XDG_DATA_HOME/kps on Linux): an SQLite database, 0600, in a 0700 directory.",
    ),
    (
        "~/.config/kps/kms.conf",
        "The PKCS#11 module and token that kps kms configure records ($XDG_CONFIG_HOME/kps on Linux), 0600; refused if another user owns it or group or others can write it. Lines module = PATH and token = LABEL; # starts a comment.",
    ),
    (
        "NAME.ppk",
        "What kps export-ppk writes by default, in the current directory, 0600.",
    ),
];

pub const EXIT_STATUS: &[(&str, &str)] = &[
    (
        "0",
        "Success (also when stdout is closed early, as in kps list | head -1).",
    ),
    ("1", "Other failure."),
    ("2", "Usage or parameter error."),
    ("3", "Keypair not found."),
    ("4", "Keypair already exists."),
    (
        "5",
        "Invalid or unsupported key material, or no private key managed.",
    ),
    (
        "6",
        "Wrong passphrase or PIN, or the store cannot be unlocked.",
    ),
    (
        "7",
        "Store unreadable, busy too long, corrupt or tampered with.",
    ),
    (
        "8",
        "import --from-dir imported what it could and left some key files out (each is listed).",
    ),
];

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Set up a new store and its passphrase
    #[command(
        after_help = "Examples:\n  kps init\n  kps init --passphrase-file pass.txt \
                            --kdf-memory 262144"
    )]
    Init(InitArgs),

    /// Generate a new keypair and store it
    #[command(
        after_help = "Examples:\n  kps create web01\n  kps create build -t rsa -b 4096 \
                            -C ci@example\n  kps create db -t ecdsa -b 384 --description \"db hosts\""
    )]
    Create(CreateArgs),

    /// Import existing keys: private (PEM, OpenSSH, PuTTY .ppk), public, a
    /// service import request, or a whole directory
    #[command(
        after_help = "Examples:\n  kps import web01 --private-key ~/.ssh/id_ed25519\n  \
                            kps import legacy --private-key old.pem --key-passphrase-file pass\n  \
                            kps import --from-dir ~/.ssh --dry-run\n  \
                            kps import --from-dir ~/.ssh --skip-existing\n  \
                            kps import --request body.json\n  \
                            kps import bastion --public-key bastion.pub\n  \
                            kps import --bundle keys.bundle --bundle-passphrase-file bpass"
    )]
    Import(ImportArgs),

    /// List keypairs
    #[command(
        after_help = "Examples:\n  kps list\n  kps list --json | jq -r '.keypairs[].keypair.name'"
    )]
    List(ListArgs),

    /// Show a keypair: fingerprints, public key and metadata (never the private key)
    #[command(after_help = "Examples:\n  kps show web01\n  kps show web01 --json")]
    Show(ShowArgs),

    /// Find keypairs by fingerprint, in any form a console shows
    #[command(
        after_help = "Accepts SHA256:... (as ssh-keygen -l), MD5:aa:bb:... (ssh-keygen -E md5), \
                            and AWS's forms: SHA-1 of the private key (keys AWS created) and MD5 of \
                            the public key (imported keys), with or without prefix and colons, any case.\n\n\
                            Examples:\n  kps find SHA256:ZqrlGE0mFtWm8YFjj+d0mVELvIeYN7YJIbexU//+thU\n  \
                            kps find 1f:51:ae:28:bf:89:e9:d8:1f:25:5d:37:2d:57:5c:1b:08:31:b7:c6"
    )]
    Find(FindArgs),

    /// Export a keypair's private key (OpenSSH, PEM, PKCS#8) or its public key
    #[command(
        after_help = "Examples:\n  kps export web01 --format public >> authorized_keys\n  \
                            kps export web01 -o ~/.ssh/web01\n  \
                            kps export web01 --format pem -o web01.pem\n  \
                            kps export web01 -o web01 --key-passphrase-file pass --with-public"
    )]
    Export(ExportArgs),

    /// Write a keypair's private key as a PuTTY .ppk file (PuTTY, WinSCP, FileZilla, KiTTY)
    #[command(after_help = "Examples:\n  kps export-ppk web01\n  \
                            kps export-ppk web01 --ppk-version 2 -o web01-old.ppk\n  \
                            kps export-ppk web01 --ppk-passphrase-file ppk-pass.txt -o web01.ppk")]
    ExportPpk(ExportPpkArgs),

    /// Decrypt a Windows cloud server's initial password with an RSA keypair
    #[command(after_help = "Examples:\n  \
                            kps get-win-password win01 --password-data @password.json\n  \
                            aws ec2 get-password-data --instance-id i-0abc | kps get-win-password win01\n  \
                            kps get-win-password --private-key win01.pem --password-data 'Zm9v...'")]
    GetWinPassword(GetWinPasswordArgs),

    /// Write chosen keypairs to one encrypted bundle file, for `kps import --bundle`
    #[command(
        after_help = "The bundle is sealed under a passphrase of its own (Argon2id, \
                            ChaCha20-Poly1305) or, with --to, to the receiving store's identity \
                            (its 'kps identity' line). Every keypair's private key is in it, \
                            encrypted; reading them unlocks this store.\n\n\
                            Examples:\n  \
                            kps export-bundle web01 db01 -o keys.bundle\n  \
                            kps export-bundle web01 --bundle-passphrase-file bpass -o keys.bundle\n  \
                            kps export-bundle web01 --to kps-identity-v1:... -o keys.bundle"
    )]
    ExportBundle(ExportBundleArgs),

    /// Print this store's public identity, for sealing bundles to it (export-bundle --to)
    #[command(
        after_help = "The line is public: send it to whoever exports a bundle for this \
                            store. No passphrase is needed once the store is pinned here.\n\n\
                            Examples:\n  kps identity\n  kps identity --json"
    )]
    Identity(IdentityArgs),

    /// Move a keypair between protections: default (store passphrase) and kms (token)
    #[command(after_help = "Examples:\n  \
                            kps set-encryption web01 --encryption kms --kms-key-name kps/default\n  \
                            kps set-encryption web01 --encryption default")]
    SetEncryption(SetEncryptionArgs),

    /// The KMS (a PKCS#11 token) behind encryption type kms
    #[command(subcommand)]
    Kms(KmsCommand),

    /// A team store: members, invitations, the audit log
    #[command(subcommand)]
    Team(TeamCommand),

    /// Move keypairs between stores (personal or team, SQLite or PostgreSQL)
    #[command(subcommand)]
    Store(StoreCommand),

    /// Delete a keypair
    #[command(
        after_help = "A keypair bound to servers (kps bindings) is deleted only with --force.\n\n\
                      Examples:\n  kps delete web01\n  kps delete web01 --yes\n  \
                      kps delete web01 --yes --force"
    )]
    Delete(DeleteArgs),

    /// Write shell completions and man pages (for packagers and the repository)
    #[command(hide = true)]
    GenerateDocs {
        /// Directory to write completions/ and man/ into
        #[arg(long, value_name = "DIR", default_value = ".")]
        dir: PathBuf,
    },

    /// Write a consistent copy of the store to FILE (safe while kps runs)
    #[command(
        after_help = "The copy is one SQLite file, 0600; use it with --store FILE. A team store on \
                      PostgreSQL is copied from one snapshot of the database into the same kind of \
                      file, which its members read with --store FILE.\n\n\
                            Examples:\n  kps backup ~/backups/kps-$(date +%F).db\n  \
                            kps --store ~/backups/kps-2026-11-29.db list"
    )]
    Backup(BackupArgs),

    /// Change the store passphrase; with --rekey also replace the store key
    #[command(
        after_help = "Without --rekey only the store key's wrapping changes (the same cost for any \
                      number of keypairs); an older copy of the store still opens with the old \
                      passphrase. After a passphrase leak use --rekey: every keypair protected by \
                      the passphrase is sealed again to a new store key.\n\n\
                      Examples:\n  kps passwd\n  kps passwd --passphrase-file old.txt \
                      --new-passphrase-file new.txt\n  kps passwd --rekey"
    )]
    Passwd(PasswdArgs),

    /// Check the store with its passphrase and pin its identity on this machine
    #[command(
        after_help = "Unlocks the store, checks every keypair row's MAC and opens every private key \
                      sealed to the store identity (kms keypairs are checked when their key is \
                      read). Use it on a store copied from another machine, restored from a \
                      backup or re-keyed elsewhere: writes refuse a store whose identity is not \
                      the one pinned here.\n\n\
                      Examples:\n  kps verify\n  kps --store ~/backups/kps-2026-11-29.db verify"
    )]
    Verify(VerifyArgs),

    /// Rename a keypair (its private key is sealed again under the new name)
    #[command(
        after_help = "The name is bound into the sealed private key, so renaming opens it and seals \
                      it again: a default keypair needs the store passphrase, a kms keypair the \
                      token PIN. Fingerprints and the key itself do not change; the public key's \
                      comment stays as it is (kps set --comment changes it).\n\n\
                      Examples:\n  kps rename web01 web01-old\n  kps rename build build-2026 --json"
    )]
    Rename(RenameArgs),

    /// Change a keypair's comment, description or user id
    #[command(
        after_help = "The comment is the public key's: it changes the authorized_keys line that show \
                      --public and export --format public print, and the comment in private key and \
                      .ppk files exported afterwards. An empty --description or --user-id clears it; \
                      an empty --comment leaves the key without one.\n\n\
                      Examples:\n  kps set web01 --comment ops@example\n  \
                      kps set web01 --description \"web tier, rotated 2026-11\" --user-id alice\n  \
                      kps set web01 --description \"\""
    )]
    Set(SetArgs),

    /// Replace the store with a backup that kps backup wrote, after checking it
    #[command(
        after_help = "FILE is checked whole before anything is replaced: it must be a kps store, \
                      open with its passphrase (the one of the time of the backup) and have every \
                      row and private key verify. The store is then replaced in one transaction, \
                      safe while other kps commands run, and its identity pinned on this machine. \
                      A store holding keypairs that the backup does not is refused, naming them, \
                      unless --force. Without a store, restore makes one. Do not copy a backup over \
                      kps.db by hand: a kps.db-wal beside it would be replayed over the backup.\n\n\
                      Examples:\n  kps restore ~/backups/kps-2026-11-29.db\n  \
                      kps restore ~/backups/kps-2026-11-29.db --force --passphrase-file old-pass.txt"
    )]
    Restore(RestoreArgs),

    /// Serve keypairs to ssh as an SSH agent, the store unlocked once
    #[command(after_help = "Examples:\n  eval \"$(kps agent -s web01 build)\"\n  \
                            kps agent -D -a \"$XDG_RUNTIME_DIR/kps-agent.sock\" --lifetime 8h\n  \
                            ssh -o IdentityAgent=\"$SSH_AUTH_SOCK\" -o IdentityFile=none web01.example.com")]
    Agent(AgentArgs),

    /// Run ssh with one keypair, served by a private agent for that run only
    #[command(
        after_help = "kps unlocks the keypair once, serves it on a fresh socket in a fresh 0700 \
                            directory, runs ssh -o IdentityAgent=SOCKET -o IdentityFile=none with the \
                            arguments given, removes the socket when ssh ends and exits with ssh's \
                            status (128 + the signal if one ended it). The passphrase never reaches \
                            ssh: KPS_PASSPHRASE and KPS_PKCS11_PIN (and their _FILE forms) are taken \
                            out of its environment.\n\n\
                            Examples:\n  kps ssh web01 admin@web01.example.com\n  \
                            kps ssh web01 -q -p 2222 -o ServerAliveInterval=30 admin@web01.example.com uptime\n  \
                            kps ssh --print-command web01 admin@web01.example.com",
        override_usage = "kps ssh [OPTIONS] NAME [SSH ARGS]..."
    )]
    Ssh(SshArgs),

    /// Add keypairs to the running SSH agent (SSH_AUTH_SOCK); -t is advised
    #[command(
        after_help = "The keys go to the agent SSH_AUTH_SOCK names (OpenSSH's ssh-agent or any \
                            other) with the constraints given; the store is unlocked once. The agent \
                            then holds them unencrypted in its memory: give -t so that it forgets them \
                            (there is no default lifetime, as with ssh-add). -d removes them again, by \
                            public key, with no passphrase.\n\n\
                            Examples:\n  kps ssh-add web01 -t 8h\n  kps ssh-add web01 build -t 30m -c\n  \
                            kps ssh-add -d web01"
    )]
    SshAdd(SshAddArgs),

    /// Install a keypair's public key on servers and prove it logs in (optionally turn password login off)
    #[command(
        visible_alias = "associate",
        after_help = "kps logs in over the system ssh (your ~/.ssh/config and known_hosts), keeps that \
                            connection open, installs NAME's public key in the login user's authorized_keys \
                            (every other byte kept), and succeeds only when a fresh connection that can use \
                            nothing but NAME's key logs in. --disable-password-login then turns password and \
                            keyboard-interactive login off (sshd -t, sshd -T, reload) and proves it from \
                            outside; any failed step is undone over the kept connection.\n\n\
                            Examples:\n  kps bind web01 root@203.0.113.10 --password-file root-pass.txt --disable-password-login\n  \
                            kps bind web01 admin@web1 admin@web2:2222 --auth-keypair old-key\n  \
                            kps bind web01 --hosts-file servers.txt --parallel 20 --json"
    )]
    Bind(BindArgs),

    /// Remove a keypair's public key from servers (optionally turn password login back on)
    #[command(
        visible_alias = "disassociate",
        after_help = "kps removes exactly NAME's lines (matched by key) from every authorized_keys file \
                            sshd reads for the login user and proves NAME no longer logs in. It refuses when \
                            that would leave no way in (no other key, password login off) unless --force or \
                            --enable-password-login. It logs in with NAME itself unless told otherwise.\n\n\
                            Examples:\n  kps unbind web01 root@203.0.113.10\n  \
                            kps unbind web01 root@203.0.113.10 --enable-password-login"
    )]
    Unbind(UnbindArgs),

    /// Replace a keypair with another on servers: log in with OLD, install NEW, prove it, remove OLD
    #[command(
        after_help = "Either both steps happen on a server or it is left as it was: NEW must log in on \
                            a fresh connection before OLD is removed, and OLD must then fail to log in.\n\n\
                            Examples:\n  kps replace leaked-key new-key root@203.0.113.10\n  \
                            kps replace leaked-key new-key --hosts-file servers.txt --json"
    )]
    Replace(ReplaceArgs),

    /// List the servers keypairs are bound to (what kps bind recorded)
    #[command(
        after_help = "One line per keypair and login: the server's host key as it was verified, \
                      the authorized_keys file the key went into, and whether password login was \
                      turned off there. Only what kps did is recorded; the servers are not asked.\n\n\
                      Examples:\n  kps bindings\n  kps bindings --host web01.example.com\n  \
                      kps bindings --json"
    )]
    Bindings(BindingsArgs),
}

/// Which servers, and how their host keys are trusted.
#[derive(Args, Debug)]
pub struct ServerArgs {
    /// Servers as [USER@]HOST[:PORT] (IPv6 in brackets: root@[2001:db8::1]:22)
    #[arg(value_name = "HOST")]
    pub hosts: Vec<String>,

    /// Read servers from FILE, one [USER@]HOST[:PORT] a line ('#' comments)
    #[arg(long, value_name = "FILE")]
    pub hosts_file: Option<PathBuf>,

    /// Trust the server whose host key has this fingerprint (SHA256:..., as a cloud console prints it)
    #[arg(
        long,
        value_name = "SHA256:...",
        conflicts_with = "accept_new_host_key"
    )]
    pub host_key: Option<String>,

    /// Trust a server not yet in known_hosts on first contact (never with a password)
    #[arg(long)]
    pub accept_new_host_key: bool,

    /// How many servers at once
    #[arg(long, value_name = "N", default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub parallel: u16,

    /// The ssh program [default: $KPS_SSH, else ssh on PATH]
    #[arg(long, value_name = "PROGRAM")]
    pub ssh: Option<PathBuf>,
}

/// How kps logs in to make the change (default: your own ssh setup).
#[derive(Args, Debug)]
pub struct LoginArgs {
    /// Log in with this kps keypair (served by a private agent)
    #[arg(long, value_name = "OLD", group = "login", add = crate::complete::keypair_names())]
    pub auth_keypair: Option<String>,

    /// Log in with the password in FILE (handed to ssh through askpass, never argv or environment)
    #[arg(long, value_name = "FILE", group = "login")]
    pub password_file: Option<PathBuf>,

    /// Ask for the login password at the terminal
    #[arg(long, group = "login")]
    pub ask_password: bool,
}

#[derive(Args, Debug)]
pub struct BindArgs {
    /// The keypair to install
    #[arg(add = crate::complete::keypair_names())]
    pub name: String,

    #[command(flatten)]
    pub servers: ServerArgs,

    #[command(flatten)]
    pub login: LoginArgs,

    /// Turn password and keyboard-interactive login off, and prove it from outside
    #[arg(long)]
    pub disable_password_login: bool,

    /// Also set PasswordAuthentication no in sshd_config.d/50-cloud-init.conf
    #[arg(long, requires = "disable_password_login")]
    pub fix_cloud_init: bool,
}

#[derive(Args, Debug)]
pub struct UnbindArgs {
    /// The keypair to remove
    #[arg(add = crate::complete::keypair_names())]
    pub name: String,

    #[command(flatten)]
    pub servers: ServerArgs,

    #[command(flatten)]
    pub login: LoginArgs,

    /// Remove it even if that leaves no other way in
    #[arg(long)]
    pub force: bool,

    /// Undo kps's password change (drop-in, sshd_config edit), and prove password login works again
    #[arg(long)]
    pub enable_password_login: bool,
}

#[derive(Args, Debug)]
pub struct ReplaceArgs {
    /// The keypair to take off (kps logs in with it)
    #[arg(add = crate::complete::keypair_names())]
    pub old: String,

    /// The keypair to put on
    #[arg(add = crate::complete::keypair_names())]
    pub new: String,

    #[command(flatten)]
    pub servers: ServerArgs,
}

#[derive(Args, Debug)]
pub struct RenameArgs {
    /// The keypair's current name
    #[arg(add = crate::complete::keypair_names())]
    pub name: String,

    /// The new name: 1-64 letters, digits, '_' or '-', not in use
    pub new_name: String,
}

#[derive(Args, Debug)]
#[command(group(
    clap::ArgGroup::new("details")
        .required(true)
        .multiple(true)
        .args(["comment", "description", "user_id"])
))]
pub struct SetArgs {
    /// Keypair name
    #[arg(add = crate::complete::keypair_names())]
    pub name: String,

    /// New comment on the public key ('' for none)
    #[arg(short = 'C', long, value_name = "COMMENT")]
    pub comment: Option<String>,

    /// New description ('' clears it)
    #[arg(long, value_name = "TEXT")]
    pub description: Option<String>,

    /// New owner, as the service's user_id ('' clears it)
    #[arg(long, value_name = "ID")]
    pub user_id: Option<String>,
}

#[derive(Args, Debug)]
pub struct RestoreArgs {
    /// The backup file (what kps backup wrote)
    pub file: PathBuf,

    /// Replace the store even if it holds keypairs that the backup does not
    #[arg(long)]
    pub force: bool,
}

#[derive(Args, Debug, Default, Clone)]
pub struct KdfArgs {
    /// Argon2id memory in KiB [default: 65536]
    #[arg(long, value_name = "KIB")]
    pub kdf_memory: Option<u32>,

    /// Argon2id passes [default: 3]
    #[arg(long, value_name = "N")]
    pub kdf_passes: Option<u32>,

    /// Argon2id lanes [default: 1]
    #[arg(long, value_name = "N")]
    pub kdf_parallelism: Option<u32>,
}

#[derive(Args, Debug)]
pub struct InitArgs {
    #[command(flatten)]
    pub kdf: KdfArgs,
}

#[derive(Args, Debug)]
pub struct PasswdArgs {
    /// Read the new passphrase from FILE (one trailing newline is ignored)
    #[arg(long, value_name = "FILE")]
    pub new_passphrase_file: Option<PathBuf>,

    /// New KDF cost (defaults to the store's current cost)
    #[command(flatten)]
    pub kdf: KdfArgs,

    /// Also replace the store key: every private key protected by the
    /// passphrase is re-sealed, so an old copy of the store and the old
    /// passphrase open nothing made or kept after this (use after a leak)
    #[arg(long)]
    pub rekey: bool,
}

#[derive(Args, Debug)]
pub struct VerifyArgs {}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum EncryptionType {
    Default,
    Kms,
}

#[derive(Args, Debug)]
pub struct CreateArgs {
    /// Keypair name: 1-64 letters, digits, '_' or '-'
    pub name: String,

    /// Key type: ed25519, ecdsa, rsa (or ssh-ed25519, ecdsa-sha2-nistp256/384/521, ssh-rsa)
    #[arg(
        short = 't',
        long = "type",
        value_name = "TYPE",
        default_value = "ed25519"
    )]
    pub key_type: String,

    /// Key size: ecdsa 256|384|521 (default 256), rsa 2048|3072|4096 (default 3072)
    #[arg(short = 'b', long, value_name = "BITS")]
    pub bits: Option<u32>,

    /// Comment on the public key [default: the keypair name]
    #[arg(short = 'C', long, value_name = "COMMENT")]
    pub comment: Option<String>,

    /// Free-text description
    #[arg(long, value_name = "TEXT")]
    pub description: Option<String>,

    /// Owner, as the service's user_id
    #[arg(long, value_name = "ID")]
    pub user_id: Option<String>,

    /// Succeed without change if NAME exists with the same algorithm and size
    /// (exit 4 if it exists and differs); for pipelines that are re-run
    #[arg(long)]
    pub if_not_exists: bool,

    #[command(flatten)]
    pub protection: ProtectionArgs,

    /// KDF cost, used only if this command sets up a new store
    #[command(flatten)]
    pub kdf: KdfArgs,
}

#[derive(Args, Debug)]
pub struct ProtectionArgs {
    /// How the private key is protected at rest
    #[arg(long, value_enum, default_value = "default")]
    pub encryption: EncryptionType,

    #[command(flatten)]
    pub kms_key: KmsKeyArgs,
}

/// The master key of `--encryption kms`, by name or id.
#[derive(Args, Debug)]
pub struct KmsKeyArgs {
    /// KMS master key name (with --encryption kms)
    #[arg(long, value_name = "NAME")]
    pub kms_key_name: Option<String>,

    /// KMS master key id (with --encryption kms)
    #[arg(long, value_name = "ID")]
    pub kms_key_id: Option<String>,
}

#[derive(Args, Debug)]
#[command(group(
    clap::ArgGroup::new("source")
        .required(true)
        .args(["private_key", "public_key", "request", "from_dir", "bundle"])
))]
pub struct ImportArgs {
    /// Keypair name (with --private-key or --public-key)
    pub name: Option<String>,

    /// Private key file, or '-' for stdin; the format is detected from the content
    #[arg(long, value_name = "FILE")]
    pub private_key: Option<PathBuf>,

    /// Public key file, or '-': the keypair then has no private key
    #[arg(long, value_name = "FILE")]
    pub public_key: Option<PathBuf>,

    /// Key Pair Service import request body (JSON), or '-'
    #[arg(long, value_name = "FILE")]
    pub request: Option<PathBuf>,

    /// Import every private key file in DIR, each named after its file (see README: names from file names)
    #[arg(long, value_name = "DIR")]
    pub from_dir: Option<PathBuf>,

    /// Skip keys already in the store under any name (same SHA256 fingerprint), and list them
    #[arg(long)]
    pub skip_existing: bool,

    /// Validate and print what would be stored; write nothing, ask for no passphrase
    #[arg(long)]
    pub dry_run: bool,

    /// Passphrase of an encrypted key file (OpenSSH, PKCS#8, .ppk), read from FILE
    #[arg(long, value_name = "FILE", conflicts_with = "ask_key_passphrase")]
    pub key_passphrase_file: Option<PathBuf>,

    /// Ask for the key file's passphrase at the terminal
    #[arg(long)]
    pub ask_key_passphrase: bool,

    /// Comment on the public key [default: the file's comment, else the keypair name]
    #[arg(short = 'C', long, value_name = "COMMENT")]
    pub comment: Option<String>,

    /// Free-text description
    #[arg(long, value_name = "TEXT")]
    pub description: Option<String>,

    /// Owner, as the service's user_id
    #[arg(long, value_name = "ID")]
    pub user_id: Option<String>,

    #[command(flatten)]
    pub protection: ProtectionArgs,

    /// KDF cost, used only if this command sets up a new store
    #[command(flatten)]
    pub kdf: KdfArgs,

    /// A bundle from 'kps export-bundle' (or '-'): every keypair in it, in one go
    #[arg(long, value_name = "FILE", conflicts_with_all = ["name", "comment", "description", "user_id", "key_passphrase_file", "ask_key_passphrase"])]
    pub bundle: Option<PathBuf>,

    /// Read the bundle's passphrase from FILE [default: ask at the terminal]
    #[arg(long, value_name = "FILE", requires = "bundle")]
    pub bundle_passphrase_file: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct ListArgs {
    /// One keypair name a line, nothing else; with --json, {"names": [...]}
    #[arg(long)]
    pub names: bool,
}

#[derive(Args, Debug)]
pub struct FindArgs {
    /// The fingerprint
    pub fingerprint: String,
}

#[derive(Args, Debug)]
pub struct ShowArgs {
    /// Keypair name
    #[arg(add = crate::complete::keypair_names())]
    pub name: String,

    /// Print only the authorized_keys line; with --json, {"name", "public_key"}
    #[arg(long)]
    pub public: bool,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    /// OpenSSH private key (what ssh-keygen writes)
    Openssh,
    /// Traditional PEM: PKCS#1 for RSA, SEC1 for ECDSA (none for Ed25519)
    Pem,
    /// PKCS#8 PEM ("PRIVATE KEY")
    Pkcs8,
    /// The authorized_keys line
    Public,
}

#[derive(Args, Debug)]
pub struct ExportArgs {
    /// Keypair name
    #[arg(add = crate::complete::keypair_names())]
    pub name: String,

    #[arg(long, value_enum, default_value = "openssh")]
    pub format: ExportFormat,

    /// Output file, or '-' for stdout (required for private formats)
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Replace FILE if it exists
    #[arg(long)]
    pub force: bool,

    /// Encrypt the private key with the passphrase in FILE (openssh:
    /// aes256-ctr and bcrypt-pbkdf; pkcs8: PBES2, PBKDF2-SHA-256 and AES-256-CBC)
    #[arg(long, value_name = "FILE", conflicts_with = "ask_key_passphrase")]
    pub key_passphrase_file: Option<PathBuf>,

    /// Ask for a passphrase for the exported private key at the terminal (entered twice)
    #[arg(long)]
    pub ask_key_passphrase: bool,

    /// Also write the public key to FILE.pub (0644), as ssh-keygen does; needs -o FILE
    #[arg(long)]
    pub with_public: bool,
}

#[derive(Args, Debug)]
pub struct ExportBundleArgs {
    /// Keypairs to put in the bundle
    #[arg(required = true, value_name = "NAME", add = crate::complete::keypair_names())]
    pub names: Vec<String>,

    /// The bundle file (0600), or '-' for stdout
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: PathBuf,

    /// Seal the bundle to this store identity (as 'kps identity' prints it) instead of a passphrase
    #[arg(long, value_name = "IDENTITY", conflicts_with_all = ["bundle_passphrase_file", "kdf_memory", "kdf_passes", "kdf_parallelism"])]
    pub to: Option<String>,

    /// Read the bundle passphrase from FILE [default: ask twice at the terminal]
    #[arg(long, value_name = "FILE")]
    pub bundle_passphrase_file: Option<PathBuf>,

    /// Argon2id cost of the bundle passphrase (the store's bounds)
    #[command(flatten)]
    pub kdf: KdfArgs,

    /// Replace FILE if it exists
    #[arg(long)]
    pub force: bool,
}

#[derive(Args, Debug)]
pub struct IdentityArgs {}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum PpkVersionArg {
    /// PuTTY 0.75 and later (Argon2 key derivation)
    #[value(name = "3")]
    V3,
    /// Older PuTTY, WinSCP before 5.18, and clients that say "PuTTY key format too new"
    #[value(name = "2")]
    V2,
}

#[derive(Args, Debug)]
pub struct ExportPpkArgs {
    /// Keypair name
    #[arg(add = crate::complete::keypair_names())]
    pub name: String,

    /// Output file, or '-' for stdout [default: NAME.ppk in the current directory]
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// .ppk format version
    #[arg(long, value_enum, default_value = "3")]
    pub ppk_version: PpkVersionArg,

    /// Comment in the .ppk file [default: the keypair's comment, else its name]
    #[arg(short = 'C', long, value_name = "COMMENT")]
    pub comment: Option<String>,

    /// Encrypt the .ppk with the passphrase in FILE (aes256-cbc)
    #[arg(long, value_name = "FILE", conflicts_with = "ask_ppk_passphrase")]
    pub ppk_passphrase_file: Option<PathBuf>,

    /// Ask for a passphrase for the .ppk at the terminal (entered twice)
    #[arg(long)]
    pub ask_ppk_passphrase: bool,

    /// Argon2id cost for an encrypted v3 file, e.g. memory=8192,passes=32,parallelism=1
    #[arg(long, value_name = "memory=KIB,passes=N,parallelism=N")]
    pub ppk_kdf: Option<String>,

    /// Replace FILE if it exists
    #[arg(long)]
    pub force: bool,
}

#[derive(Args, Debug)]
pub struct GetWinPasswordArgs {
    /// Keypair the server was created with (or give --private-key)
    #[arg(
        required_unless_present = "private_key",
        conflicts_with = "private_key",
        add = crate::complete::keypair_names()
    )]
    pub name: Option<String>,

    /// Use a key file instead of a stored keypair (any format import accepts), or '-'
    #[arg(long, value_name = "FILE")]
    pub private_key: Option<PathBuf>,

    /// Passphrase of an encrypted --private-key file, read from FILE
    #[arg(long, value_name = "FILE", requires = "private_key")]
    pub key_passphrase_file: Option<PathBuf>,

    /// The password data: base64, or Huawei/AWS JSON; @FILE reads a file, '-' stdin
    /// [default: stdin when it is not a terminal]
    #[arg(long, value_name = "DATA|@FILE|-")]
    pub password_data: Option<String>,
}

#[derive(Args, Debug)]
pub struct SetEncryptionArgs {
    /// Keypair name
    #[arg(add = crate::complete::keypair_names())]
    pub name: String,

    /// The new protection
    #[arg(long, value_enum)]
    pub encryption: EncryptionType,

    #[command(flatten)]
    pub kms_key: KmsKeyArgs,

    /// KDF cost, used only if this command sets up the store passphrase
    #[command(flatten)]
    pub kdf: KdfArgs,
}

#[derive(Subcommand, Debug)]
pub enum KmsCommand {
    /// Record the PKCS#11 module and token kps uses, in your config directory
    ///
    /// Checks that the module loads and holds a token with that label, then
    /// writes them to kms.conf in kps's config directory ($XDG_CONFIG_HOME/kps,
    /// by default ~/.config/kps), 0600: one setting for all your stores, never
    /// kept in a store. The module and every directory above it must belong
    /// to root or you and be writable by no one else.
    #[command(after_help = "Examples:\n  \
                            kps kms configure --module /usr/lib/softhsm/libsofthsm2.so --token kps")]
    Configure {
        /// Path of the PKCS#11 module (.so)
        #[arg(long, value_name = "PATH")]
        module: PathBuf,
        /// Label of the token
        #[arg(long, value_name = "LABEL")]
        token: String,
    },

    /// Make a non-extractable AES-256 master key on the token
    #[command(after_help = "Examples:\n  kps kms create-key kps/default --pin-file pin.txt")]
    CreateKey {
        /// Label for the new key
        name: String,
    },

    /// List the token's AES keys (label and id)
    #[command(after_help = "Examples:\n  kps kms list-keys --json")]
    ListKeys,
}

#[derive(Args, Debug)]
pub struct AgentArgs {
    /// Keypairs to serve [default: every keypair with an Ed25519, ECDSA or RSA private key]
    #[arg(value_name = "NAME", add = crate::complete::keypair_names())]
    pub names: Vec<String>,

    /// Print sh commands that set SSH_AUTH_SOCK and SSH_AGENT_PID [default unless $SHELL is a csh]
    #[arg(short = 's', conflicts_with = "csh")]
    pub sh: bool,

    /// Print csh commands instead
    #[arg(short = 'c')]
    pub csh: bool,

    /// Stay in the foreground (for a systemd user unit); stop with SIGTERM or Ctrl-C
    #[arg(short = 'D')]
    pub foreground: bool,

    /// Listen on SOCKET, which must not exist [default: a fresh 0700
    /// directory under $XDG_RUNTIME_DIR, else the temp dir]
    #[arg(short = 'a', value_name = "SOCKET")]
    pub socket: Option<PathBuf>,

    /// Forget the keys after DURATION (2s, 30m, 8h, 1h30m; a bare number is seconds)
    #[arg(short = 't', long, value_name = "DURATION")]
    pub lifetime: Option<String>,

    /// Also make SHA-1 `ssh-rsa` signatures (old servers); refused by default
    #[arg(long)]
    pub allow_sha1: bool,

    /// Ask before each signature: at the terminal with -D, else through
    /// $SSH_ASKPASS (as ssh-agent does, honouring SSH_ASKPASS_REQUIRE); refused at
    /// start when neither can ask
    #[arg(long)]
    pub confirm: bool,

    /// Internal: the background agent started by `kps agent` without -D,
    /// which reads its secrets from standard input
    #[arg(long, hide = true)]
    pub background_child: bool,
}

#[derive(Args, Debug)]
pub struct SshArgs {
    /// Print the ssh command line kps would run (shell-quoted), and run nothing
    #[arg(long)]
    pub print_command: bool,

    /// The ssh program to run [default: $KPS_SSH, else ssh on PATH]
    #[arg(long, value_name = "PROGRAM")]
    pub ssh: Option<PathBuf>,

    /// The keypair to log in with, then ssh's arguments (options, destination,
    /// remote command): everything after NAME is ssh's, `-q` included
    ///
    /// One list, so that nothing after NAME is taken for a kps flag: kps's
    /// own flags go before NAME.
    #[arg(
        value_name = "NAME",
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        add = crate::complete::keypair_names()
    )]
    pub name_and_ssh_args: Vec<std::ffi::OsString>,
}

#[derive(Args, Debug)]
pub struct SshAddArgs {
    /// Keypairs to add (or remove, with -d)
    #[arg(value_name = "NAME", required = true, add = crate::complete::keypair_names())]
    pub names: Vec<String>,

    /// The agent forgets the keys after DURATION (2s, 30m, 8h, 1h30m; a bare number is seconds): advised
    #[arg(short = 't', long, value_name = "DURATION", conflicts_with = "delete")]
    pub lifetime: Option<String>,

    /// The agent asks before each signature (ssh-agent through SSH_ASKPASS)
    #[arg(short = 'c', long, conflicts_with = "delete")]
    pub confirm: bool,

    /// Remove the keys from the agent instead
    #[arg(short = 'd', long)]
    pub delete: bool,
}

#[derive(Args, Debug)]
pub struct BackupArgs {
    /// Where to write the copy
    pub file: PathBuf,

    /// Replace FILE if it exists
    #[arg(long)]
    pub force: bool,
}

#[derive(Args, Debug)]
pub struct DeleteArgs {
    /// Keypair name
    #[arg(add = crate::complete::keypair_names())]
    pub name: String,

    /// Do not ask for confirmation (required without a terminal)
    #[arg(short = 'y', long)]
    pub yes: bool,

    /// Delete it even though it is bound to servers (its key stays on them)
    #[arg(long)]
    pub force: bool,
}

#[derive(Args, Debug)]
pub struct BindingsArgs {
    /// Only the bindings on this host (as given to kps bind; any case)
    #[arg(long, value_name = "HOST")]
    pub host: Option<String>,
}

/// The flags that can come from the environment (`env = ...` above).
const ENV_ARGS: &[&str] = &["store", "passphrase_file", "pin_file"];

/// clap's usage line in an error names every argument that was given, and
/// counts a value from the environment as given: with KPS_PASSPHRASE_FILE
/// set, `kps show` would print `Usage: kps show --passphrase-file <FILE>
/// <NAME>` as if the flag were required. So the command line is parsed again
/// without the environment, and that error is shown when it is the same
/// failure; the arguments themselves decide what is wrong, not the env.
pub fn error_without_env(err: clap::Error, mut cmd: clap::Command) -> clap::Error {
    for id in ENV_ARGS {
        cmd = cmd.mut_arg(*id, |a| a.env(None));
    }
    match cmd.try_get_matches() {
        Err(again) if again.kind() == err.kind() => again,
        _ => err,
    }
}

#[derive(Subcommand, Debug)]
pub enum TeamCommand {
    /// Make a new, empty store a team store, with you as its first admin
    ///
    /// You are known in the team by NAME and by the identity of your own
    /// local store (--identity-store, by default the default store), whose
    /// passphrase opens the team's keys for you. The team store never holds
    /// anything that opens a key.
    #[command(after_help = "Examples:\n  \
                            KPS_STORE=postgres://kps@db.example/kps kps team init alice\n  \
                            kps --store /srv/shared/kps team init alice")]
    Init {
        /// Your name in the team (letters, digits, '_' and '-', at most 64)
        #[arg(value_name = "NAME")]
        name: String,
    },

    /// Print your member line for an admin; with --invitation, join the team
    ///
    /// Without --invitation: prints the line an admin gives to 'kps team
    /// invite' (public: your name and two public keys). With the
    /// invitation the admin sends back, checks the team's member list from
    /// the admin who invited you and pins it on this machine.
    #[command(after_help = "Examples:\n  \
                            kps team join bob\n  \
                            kps team join bob --invitation 'kps-team-invite-v1 ...'")]
    Join {
        /// Your name in the team
        #[arg(value_name = "NAME")]
        name: String,
        /// The invitation line from 'kps team invite' ('-' reads it from standard input)
        #[arg(long, value_name = "LINE")]
        invitation: Option<String>,
    },

    /// Add a member (admins): seals every key to them in one transaction
    #[command(
        after_help = "Prints the invitation line the new member gives to 'kps team join'.\n\n\
                            Examples:\n  \
                            kps team invite 'kps-member-v1 bob AAAA... BBBB...'\n  \
                            kps team invite - --admin < bob.member"
    )]
    Invite {
        /// The member line 'kps team join NAME' printed ('-' reads it from standard input)
        #[arg(value_name = "LINE")]
        line: String,
        /// Make them an admin (they may change the member list)
        #[arg(long)]
        admin: bool,
    },

    /// Remove a member (admins): every key gets a fresh data key sealed to the others
    #[command(
        after_help = "A removed member may have kept what they opened before: \
                            replace those keypairs (kps replace OLD NEW HOST...) and delete the old ones.\n\n\
                            Examples:\n  kps team remove bob"
    )]
    Remove {
        /// The member's name
        #[arg(value_name = "NAME")]
        name: String,
    },

    /// List the team's members, as the admins signed the list
    #[command(after_help = "Examples:\n  kps team members\n  kps team members --json")]
    Members,

    /// The audit log: who did what to which keypair, each entry's signature checked
    #[command(after_help = "Examples:\n  kps team log\n  kps team log --keypair web01 --json")]
    Log {
        /// Only entries about this keypair
        #[arg(long, value_name = "NAME")]
        keypair: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum StoreCommand {
    /// Copy every keypair of one store into another, sealed for the destination
    ///
    /// Every private key is opened in SRC (as --store would: a personal
    /// store with its passphrase, a team store as you, a member) and sealed
    /// again for DST, in one transaction at DST: all of them, or none (a
    /// name DST already has stops it). Names, comments, descriptions, user
    /// ids, creation times and encryption types are kept. DST is made if it
    /// is a directory that does not exist yet.
    #[command(after_help = "Examples:\n  \
                            kps store copy --from ~/.local/share/kps --to postgres://kps@db.example/kps\n  \
                            kps store copy --from postgres://kps@db.example/kps --to ./kps-copy --to-passphrase-file new.pass")]
    Copy {
        /// The store to copy from (a directory, a backup file, or a postgres:// URL)
        #[arg(long, value_name = "SRC")]
        from: PathBuf,
        /// The store to copy into
        #[arg(long, value_name = "DST")]
        to: PathBuf,
        /// The passphrase of DST, when it is a personal store that differs from SRC's
        #[arg(long, value_name = "FILE")]
        to_passphrase_file: Option<PathBuf>,
    },
}
