# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_kps_global_optspecs
    string join \n store= json q/quiet passphrase-file= pin-file= h/help V/version
end

function __fish_kps_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_kps_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_kps_using_subcommand
    set -l cmd (__fish_kps_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c kps -n "__fish_kps_needs_command" -l store -d 'Store directory [default: the platform data dir, ~/.local/share/kps on Linux]' -r -F
complete -c kps -n "__fish_kps_needs_command" -l passphrase-file -d 'Read the store passphrase from FILE (one trailing newline is ignored)' -r -F
complete -c kps -n "__fish_kps_needs_command" -l pin-file -d 'Read the PKCS#11 token PIN (encryption type kms) from FILE' -r -F
complete -c kps -n "__fish_kps_needs_command" -l json -d 'Print one JSON document on stdout; errors as {"error_code","error_msg"} on stderr'
complete -c kps -n "__fish_kps_needs_command" -s q -l quiet -d 'Print nothing on stdout but the requested data (no status lines)'
complete -c kps -n "__fish_kps_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kps -n "__fish_kps_needs_command" -s V -l version -d 'Print version'
complete -c kps -n "__fish_kps_needs_command" -f -a "init" -d 'Set up a new store and its passphrase'
complete -c kps -n "__fish_kps_needs_command" -f -a "create" -d 'Generate a new keypair and store it'
complete -c kps -n "__fish_kps_needs_command" -f -a "import" -d 'Import existing keys: private (PEM, OpenSSH, PuTTY .ppk), public, a service import request, or a whole directory'
complete -c kps -n "__fish_kps_needs_command" -f -a "list" -d 'List keypairs'
complete -c kps -n "__fish_kps_needs_command" -f -a "show" -d 'Show a keypair: fingerprints, public key and metadata (never the private key)'
complete -c kps -n "__fish_kps_needs_command" -f -a "find" -d 'Find keypairs by fingerprint, in any form a console shows'
complete -c kps -n "__fish_kps_needs_command" -f -a "export" -d 'Export a keypair\'s private key (OpenSSH, PEM, PKCS#8) or its public key'
complete -c kps -n "__fish_kps_needs_command" -f -a "export-ppk" -d 'Write a keypair\'s private key as a PuTTY .ppk file (PuTTY, WinSCP, FileZilla, KiTTY)'
complete -c kps -n "__fish_kps_needs_command" -f -a "get-win-password" -d 'Decrypt a Windows cloud server\'s initial password with an RSA keypair'
complete -c kps -n "__fish_kps_needs_command" -f -a "set-encryption" -d 'Move a keypair between protections: default (store passphrase) and kms (token)'
complete -c kps -n "__fish_kps_needs_command" -f -a "kms" -d 'The KMS (a PKCS#11 token) behind encryption type kms'
complete -c kps -n "__fish_kps_needs_command" -f -a "delete" -d 'Delete a keypair'
complete -c kps -n "__fish_kps_needs_command" -f -a "generate-docs" -d 'Write shell completions and man pages (for packagers and the repository)'
complete -c kps -n "__fish_kps_needs_command" -f -a "backup" -d 'Write a consistent copy of the store to FILE (safe while kps runs)'
complete -c kps -n "__fish_kps_needs_command" -f -a "passwd" -d 'Change the store passphrase; with --rekey also replace the store key'
complete -c kps -n "__fish_kps_needs_command" -f -a "verify" -d 'Check the store with its passphrase and pin its identity on this machine'
complete -c kps -n "__fish_kps_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c kps -n "__fish_kps_using_subcommand init" -l kdf-memory -d 'Argon2id memory in KiB [default: 65536]' -r
complete -c kps -n "__fish_kps_using_subcommand init" -l kdf-passes -d 'Argon2id passes [default: 3]' -r
complete -c kps -n "__fish_kps_using_subcommand init" -l kdf-parallelism -d 'Argon2id lanes [default: 1]' -r
complete -c kps -n "__fish_kps_using_subcommand init" -l store -d 'Store directory [default: the platform data dir, ~/.local/share/kps on Linux]' -r -F
complete -c kps -n "__fish_kps_using_subcommand init" -l passphrase-file -d 'Read the store passphrase from FILE (one trailing newline is ignored)' -r -F
complete -c kps -n "__fish_kps_using_subcommand init" -l pin-file -d 'Read the PKCS#11 token PIN (encryption type kms) from FILE' -r -F
complete -c kps -n "__fish_kps_using_subcommand init" -l json -d 'Print one JSON document on stdout; errors as {"error_code","error_msg"} on stderr'
complete -c kps -n "__fish_kps_using_subcommand init" -s q -l quiet -d 'Print nothing on stdout but the requested data (no status lines)'
complete -c kps -n "__fish_kps_using_subcommand init" -s h -l help -d 'Print help'
complete -c kps -n "__fish_kps_using_subcommand create" -s t -l type -d 'Key type: ed25519, ecdsa, rsa (or ssh-ed25519, ecdsa-sha2-nistp256/384/521, ssh-rsa)' -r
complete -c kps -n "__fish_kps_using_subcommand create" -s b -l bits -d 'Key size: ecdsa 256|384|521 (default 256), rsa 2048|3072|4096 (default 3072)' -r
complete -c kps -n "__fish_kps_using_subcommand create" -s C -l comment -d 'Comment on the public key [default: the keypair name]' -r
complete -c kps -n "__fish_kps_using_subcommand create" -l description -d 'Free-text description' -r
complete -c kps -n "__fish_kps_using_subcommand create" -l user-id -d 'Owner, as the service\'s user_id' -r
complete -c kps -n "__fish_kps_using_subcommand create" -l encryption -d 'How the private key is protected at rest' -r -f -a "default\t''
kms\t''"
complete -c kps -n "__fish_kps_using_subcommand create" -l kms-key-name -d 'KMS master key name (with --encryption kms)' -r
complete -c kps -n "__fish_kps_using_subcommand create" -l kms-key-id -d 'KMS master key id (with --encryption kms)' -r
complete -c kps -n "__fish_kps_using_subcommand create" -l kdf-memory -d 'Argon2id memory in KiB [default: 65536]' -r
complete -c kps -n "__fish_kps_using_subcommand create" -l kdf-passes -d 'Argon2id passes [default: 3]' -r
complete -c kps -n "__fish_kps_using_subcommand create" -l kdf-parallelism -d 'Argon2id lanes [default: 1]' -r
complete -c kps -n "__fish_kps_using_subcommand create" -l store -d 'Store directory [default: the platform data dir, ~/.local/share/kps on Linux]' -r -F
complete -c kps -n "__fish_kps_using_subcommand create" -l passphrase-file -d 'Read the store passphrase from FILE (one trailing newline is ignored)' -r -F
complete -c kps -n "__fish_kps_using_subcommand create" -l pin-file -d 'Read the PKCS#11 token PIN (encryption type kms) from FILE' -r -F
complete -c kps -n "__fish_kps_using_subcommand create" -l if-not-exists -d 'Succeed without change if NAME exists with the same algorithm and size (exit 4 if it exists and differs); for pipelines that are re-run'
complete -c kps -n "__fish_kps_using_subcommand create" -l json -d 'Print one JSON document on stdout; errors as {"error_code","error_msg"} on stderr'
complete -c kps -n "__fish_kps_using_subcommand create" -s q -l quiet -d 'Print nothing on stdout but the requested data (no status lines)'
complete -c kps -n "__fish_kps_using_subcommand create" -s h -l help -d 'Print help'
complete -c kps -n "__fish_kps_using_subcommand import" -l private-key -d 'Private key file, or \'-\' for stdin; the format is detected from the content' -r -F
complete -c kps -n "__fish_kps_using_subcommand import" -l public-key -d 'Public key file, or \'-\': the keypair then has no private key' -r -F
complete -c kps -n "__fish_kps_using_subcommand import" -l request -d 'Key Pair Service import request body (JSON), or \'-\'' -r -F
complete -c kps -n "__fish_kps_using_subcommand import" -l from-dir -d 'Import every private key file in DIR, each named after its file (see README: names from file names)' -r -F
complete -c kps -n "__fish_kps_using_subcommand import" -l key-passphrase-file -d 'Passphrase of an encrypted key file (OpenSSH, PKCS#8, .ppk), read from FILE' -r -F
complete -c kps -n "__fish_kps_using_subcommand import" -s C -l comment -d 'Comment on the public key [default: the file\'s comment, else the keypair name]' -r
complete -c kps -n "__fish_kps_using_subcommand import" -l description -d 'Free-text description' -r
complete -c kps -n "__fish_kps_using_subcommand import" -l user-id -d 'Owner, as the service\'s user_id' -r
complete -c kps -n "__fish_kps_using_subcommand import" -l encryption -d 'How the private key is protected at rest' -r -f -a "default\t''
kms\t''"
complete -c kps -n "__fish_kps_using_subcommand import" -l kms-key-name -d 'KMS master key name (with --encryption kms)' -r
complete -c kps -n "__fish_kps_using_subcommand import" -l kms-key-id -d 'KMS master key id (with --encryption kms)' -r
complete -c kps -n "__fish_kps_using_subcommand import" -l kdf-memory -d 'Argon2id memory in KiB [default: 65536]' -r
complete -c kps -n "__fish_kps_using_subcommand import" -l kdf-passes -d 'Argon2id passes [default: 3]' -r
complete -c kps -n "__fish_kps_using_subcommand import" -l kdf-parallelism -d 'Argon2id lanes [default: 1]' -r
complete -c kps -n "__fish_kps_using_subcommand import" -l store -d 'Store directory [default: the platform data dir, ~/.local/share/kps on Linux]' -r -F
complete -c kps -n "__fish_kps_using_subcommand import" -l passphrase-file -d 'Read the store passphrase from FILE (one trailing newline is ignored)' -r -F
complete -c kps -n "__fish_kps_using_subcommand import" -l pin-file -d 'Read the PKCS#11 token PIN (encryption type kms) from FILE' -r -F
complete -c kps -n "__fish_kps_using_subcommand import" -l skip-existing -d 'Skip keys already in the store under any name (same SHA256 fingerprint), and list them'
complete -c kps -n "__fish_kps_using_subcommand import" -l dry-run -d 'Validate and print what would be stored; write nothing, ask for no passphrase'
complete -c kps -n "__fish_kps_using_subcommand import" -l ask-key-passphrase -d 'Ask for the key file\'s passphrase at the terminal'
complete -c kps -n "__fish_kps_using_subcommand import" -l json -d 'Print one JSON document on stdout; errors as {"error_code","error_msg"} on stderr'
complete -c kps -n "__fish_kps_using_subcommand import" -s q -l quiet -d 'Print nothing on stdout but the requested data (no status lines)'
complete -c kps -n "__fish_kps_using_subcommand import" -s h -l help -d 'Print help'
complete -c kps -n "__fish_kps_using_subcommand list" -l store -d 'Store directory [default: the platform data dir, ~/.local/share/kps on Linux]' -r -F
complete -c kps -n "__fish_kps_using_subcommand list" -l passphrase-file -d 'Read the store passphrase from FILE (one trailing newline is ignored)' -r -F
complete -c kps -n "__fish_kps_using_subcommand list" -l pin-file -d 'Read the PKCS#11 token PIN (encryption type kms) from FILE' -r -F
complete -c kps -n "__fish_kps_using_subcommand list" -l names -d 'One keypair name a line, nothing else; with --json, {"names": [...]}'
complete -c kps -n "__fish_kps_using_subcommand list" -l json -d 'Print one JSON document on stdout; errors as {"error_code","error_msg"} on stderr'
complete -c kps -n "__fish_kps_using_subcommand list" -s q -l quiet -d 'Print nothing on stdout but the requested data (no status lines)'
complete -c kps -n "__fish_kps_using_subcommand list" -s h -l help -d 'Print help'
complete -c kps -n "__fish_kps_using_subcommand show" -l store -d 'Store directory [default: the platform data dir, ~/.local/share/kps on Linux]' -r -F
complete -c kps -n "__fish_kps_using_subcommand show" -l passphrase-file -d 'Read the store passphrase from FILE (one trailing newline is ignored)' -r -F
complete -c kps -n "__fish_kps_using_subcommand show" -l pin-file -d 'Read the PKCS#11 token PIN (encryption type kms) from FILE' -r -F
complete -c kps -n "__fish_kps_using_subcommand show" -l public -d 'Print only the authorized_keys line; with --json, {"name", "public_key"}'
complete -c kps -n "__fish_kps_using_subcommand show" -l json -d 'Print one JSON document on stdout; errors as {"error_code","error_msg"} on stderr'
complete -c kps -n "__fish_kps_using_subcommand show" -s q -l quiet -d 'Print nothing on stdout but the requested data (no status lines)'
complete -c kps -n "__fish_kps_using_subcommand show" -s h -l help -d 'Print help'
complete -c kps -n "__fish_kps_using_subcommand find" -l store -d 'Store directory [default: the platform data dir, ~/.local/share/kps on Linux]' -r -F
complete -c kps -n "__fish_kps_using_subcommand find" -l passphrase-file -d 'Read the store passphrase from FILE (one trailing newline is ignored)' -r -F
complete -c kps -n "__fish_kps_using_subcommand find" -l pin-file -d 'Read the PKCS#11 token PIN (encryption type kms) from FILE' -r -F
complete -c kps -n "__fish_kps_using_subcommand find" -l json -d 'Print one JSON document on stdout; errors as {"error_code","error_msg"} on stderr'
complete -c kps -n "__fish_kps_using_subcommand find" -s q -l quiet -d 'Print nothing on stdout but the requested data (no status lines)'
complete -c kps -n "__fish_kps_using_subcommand find" -s h -l help -d 'Print help'
complete -c kps -n "__fish_kps_using_subcommand export" -l format -r -f -a "openssh\t'OpenSSH private key (what ssh-keygen writes)'
pem\t'Traditional PEM: PKCS#1 for RSA, SEC1 for ECDSA (none for Ed25519)'
pkcs8\t'PKCS#8 PEM ("PRIVATE KEY")'
public\t'The authorized_keys line'"
complete -c kps -n "__fish_kps_using_subcommand export" -s o -l output -d 'Output file, or \'-\' for stdout (required for private formats)' -r -F
complete -c kps -n "__fish_kps_using_subcommand export" -l store -d 'Store directory [default: the platform data dir, ~/.local/share/kps on Linux]' -r -F
complete -c kps -n "__fish_kps_using_subcommand export" -l passphrase-file -d 'Read the store passphrase from FILE (one trailing newline is ignored)' -r -F
complete -c kps -n "__fish_kps_using_subcommand export" -l pin-file -d 'Read the PKCS#11 token PIN (encryption type kms) from FILE' -r -F
complete -c kps -n "__fish_kps_using_subcommand export" -l force -d 'Replace FILE if it exists'
complete -c kps -n "__fish_kps_using_subcommand export" -l json -d 'Print one JSON document on stdout; errors as {"error_code","error_msg"} on stderr'
complete -c kps -n "__fish_kps_using_subcommand export" -s q -l quiet -d 'Print nothing on stdout but the requested data (no status lines)'
complete -c kps -n "__fish_kps_using_subcommand export" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kps -n "__fish_kps_using_subcommand export-ppk" -s o -l output -d 'Output file, or \'-\' for stdout [default: NAME.ppk in the current directory]' -r -F
complete -c kps -n "__fish_kps_using_subcommand export-ppk" -l ppk-version -d '.ppk format version' -r -f -a "3\t'PuTTY 0.75 and later (Argon2 key derivation)'
2\t'Older PuTTY, WinSCP before 5.18, and clients that say "PuTTY key format too new"'"
complete -c kps -n "__fish_kps_using_subcommand export-ppk" -s C -l comment -d 'Comment in the .ppk file [default: the keypair\'s comment, else its name]' -r
complete -c kps -n "__fish_kps_using_subcommand export-ppk" -l ppk-passphrase-file -d 'Encrypt the .ppk with the passphrase in FILE (aes256-cbc)' -r -F
complete -c kps -n "__fish_kps_using_subcommand export-ppk" -l ppk-kdf -d 'Argon2id cost for an encrypted v3 file, e.g. memory=8192,passes=32,parallelism=1' -r
complete -c kps -n "__fish_kps_using_subcommand export-ppk" -l store -d 'Store directory [default: the platform data dir, ~/.local/share/kps on Linux]' -r -F
complete -c kps -n "__fish_kps_using_subcommand export-ppk" -l passphrase-file -d 'Read the store passphrase from FILE (one trailing newline is ignored)' -r -F
complete -c kps -n "__fish_kps_using_subcommand export-ppk" -l pin-file -d 'Read the PKCS#11 token PIN (encryption type kms) from FILE' -r -F
complete -c kps -n "__fish_kps_using_subcommand export-ppk" -l ask-ppk-passphrase -d 'Ask for a passphrase for the .ppk at the terminal (entered twice)'
complete -c kps -n "__fish_kps_using_subcommand export-ppk" -l force -d 'Replace FILE if it exists'
complete -c kps -n "__fish_kps_using_subcommand export-ppk" -l json -d 'Print one JSON document on stdout; errors as {"error_code","error_msg"} on stderr'
complete -c kps -n "__fish_kps_using_subcommand export-ppk" -s q -l quiet -d 'Print nothing on stdout but the requested data (no status lines)'
complete -c kps -n "__fish_kps_using_subcommand export-ppk" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kps -n "__fish_kps_using_subcommand get-win-password" -l private-key -d 'Use a key file instead of a stored keypair (any format import accepts), or \'-\'' -r -F
complete -c kps -n "__fish_kps_using_subcommand get-win-password" -l key-passphrase-file -d 'Passphrase of an encrypted --private-key file, read from FILE' -r -F
complete -c kps -n "__fish_kps_using_subcommand get-win-password" -l password-data -d 'The password data: base64, or Huawei/AWS JSON; @FILE reads a file, \'-\' stdin [default: stdin when it is not a terminal]' -r
complete -c kps -n "__fish_kps_using_subcommand get-win-password" -l store -d 'Store directory [default: the platform data dir, ~/.local/share/kps on Linux]' -r -F
complete -c kps -n "__fish_kps_using_subcommand get-win-password" -l passphrase-file -d 'Read the store passphrase from FILE (one trailing newline is ignored)' -r -F
complete -c kps -n "__fish_kps_using_subcommand get-win-password" -l pin-file -d 'Read the PKCS#11 token PIN (encryption type kms) from FILE' -r -F
complete -c kps -n "__fish_kps_using_subcommand get-win-password" -l json -d 'Print one JSON document on stdout; errors as {"error_code","error_msg"} on stderr'
complete -c kps -n "__fish_kps_using_subcommand get-win-password" -s q -l quiet -d 'Print nothing on stdout but the requested data (no status lines)'
complete -c kps -n "__fish_kps_using_subcommand get-win-password" -s h -l help -d 'Print help'
complete -c kps -n "__fish_kps_using_subcommand set-encryption" -l encryption -d 'The new protection' -r -f -a "default\t''
kms\t''"
complete -c kps -n "__fish_kps_using_subcommand set-encryption" -l kms-key-name -d 'KMS master key name (with --encryption kms)' -r
complete -c kps -n "__fish_kps_using_subcommand set-encryption" -l kms-key-id -d 'KMS master key id (with --encryption kms)' -r
complete -c kps -n "__fish_kps_using_subcommand set-encryption" -l kdf-memory -d 'Argon2id memory in KiB [default: 65536]' -r
complete -c kps -n "__fish_kps_using_subcommand set-encryption" -l kdf-passes -d 'Argon2id passes [default: 3]' -r
complete -c kps -n "__fish_kps_using_subcommand set-encryption" -l kdf-parallelism -d 'Argon2id lanes [default: 1]' -r
complete -c kps -n "__fish_kps_using_subcommand set-encryption" -l store -d 'Store directory [default: the platform data dir, ~/.local/share/kps on Linux]' -r -F
complete -c kps -n "__fish_kps_using_subcommand set-encryption" -l passphrase-file -d 'Read the store passphrase from FILE (one trailing newline is ignored)' -r -F
complete -c kps -n "__fish_kps_using_subcommand set-encryption" -l pin-file -d 'Read the PKCS#11 token PIN (encryption type kms) from FILE' -r -F
complete -c kps -n "__fish_kps_using_subcommand set-encryption" -l json -d 'Print one JSON document on stdout; errors as {"error_code","error_msg"} on stderr'
complete -c kps -n "__fish_kps_using_subcommand set-encryption" -s q -l quiet -d 'Print nothing on stdout but the requested data (no status lines)'
complete -c kps -n "__fish_kps_using_subcommand set-encryption" -s h -l help -d 'Print help'
complete -c kps -n "__fish_kps_using_subcommand kms; and not __fish_seen_subcommand_from configure create-key list-keys help" -l store -d 'Store directory [default: the platform data dir, ~/.local/share/kps on Linux]' -r -F
complete -c kps -n "__fish_kps_using_subcommand kms; and not __fish_seen_subcommand_from configure create-key list-keys help" -l passphrase-file -d 'Read the store passphrase from FILE (one trailing newline is ignored)' -r -F
complete -c kps -n "__fish_kps_using_subcommand kms; and not __fish_seen_subcommand_from configure create-key list-keys help" -l pin-file -d 'Read the PKCS#11 token PIN (encryption type kms) from FILE' -r -F
complete -c kps -n "__fish_kps_using_subcommand kms; and not __fish_seen_subcommand_from configure create-key list-keys help" -l json -d 'Print one JSON document on stdout; errors as {"error_code","error_msg"} on stderr'
complete -c kps -n "__fish_kps_using_subcommand kms; and not __fish_seen_subcommand_from configure create-key list-keys help" -s q -l quiet -d 'Print nothing on stdout but the requested data (no status lines)'
complete -c kps -n "__fish_kps_using_subcommand kms; and not __fish_seen_subcommand_from configure create-key list-keys help" -s h -l help -d 'Print help'
complete -c kps -n "__fish_kps_using_subcommand kms; and not __fish_seen_subcommand_from configure create-key list-keys help" -f -a "configure" -d 'Record the PKCS#11 module and token kps uses, in your config directory'
complete -c kps -n "__fish_kps_using_subcommand kms; and not __fish_seen_subcommand_from configure create-key list-keys help" -f -a "create-key" -d 'Make a non-extractable AES-256 master key on the token'
complete -c kps -n "__fish_kps_using_subcommand kms; and not __fish_seen_subcommand_from configure create-key list-keys help" -f -a "list-keys" -d 'List the token\'s AES keys (label and id)'
complete -c kps -n "__fish_kps_using_subcommand kms; and not __fish_seen_subcommand_from configure create-key list-keys help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c kps -n "__fish_kps_using_subcommand kms; and __fish_seen_subcommand_from configure" -l module -d 'Path of the PKCS#11 module (.so)' -r -F
complete -c kps -n "__fish_kps_using_subcommand kms; and __fish_seen_subcommand_from configure" -l token -d 'Label of the token' -r
complete -c kps -n "__fish_kps_using_subcommand kms; and __fish_seen_subcommand_from configure" -l store -d 'Store directory [default: the platform data dir, ~/.local/share/kps on Linux]' -r -F
complete -c kps -n "__fish_kps_using_subcommand kms; and __fish_seen_subcommand_from configure" -l passphrase-file -d 'Read the store passphrase from FILE (one trailing newline is ignored)' -r -F
complete -c kps -n "__fish_kps_using_subcommand kms; and __fish_seen_subcommand_from configure" -l pin-file -d 'Read the PKCS#11 token PIN (encryption type kms) from FILE' -r -F
complete -c kps -n "__fish_kps_using_subcommand kms; and __fish_seen_subcommand_from configure" -l json -d 'Print one JSON document on stdout; errors as {"error_code","error_msg"} on stderr'
complete -c kps -n "__fish_kps_using_subcommand kms; and __fish_seen_subcommand_from configure" -s q -l quiet -d 'Print nothing on stdout but the requested data (no status lines)'
complete -c kps -n "__fish_kps_using_subcommand kms; and __fish_seen_subcommand_from configure" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kps -n "__fish_kps_using_subcommand kms; and __fish_seen_subcommand_from create-key" -l store -d 'Store directory [default: the platform data dir, ~/.local/share/kps on Linux]' -r -F
complete -c kps -n "__fish_kps_using_subcommand kms; and __fish_seen_subcommand_from create-key" -l passphrase-file -d 'Read the store passphrase from FILE (one trailing newline is ignored)' -r -F
complete -c kps -n "__fish_kps_using_subcommand kms; and __fish_seen_subcommand_from create-key" -l pin-file -d 'Read the PKCS#11 token PIN (encryption type kms) from FILE' -r -F
complete -c kps -n "__fish_kps_using_subcommand kms; and __fish_seen_subcommand_from create-key" -l json -d 'Print one JSON document on stdout; errors as {"error_code","error_msg"} on stderr'
complete -c kps -n "__fish_kps_using_subcommand kms; and __fish_seen_subcommand_from create-key" -s q -l quiet -d 'Print nothing on stdout but the requested data (no status lines)'
complete -c kps -n "__fish_kps_using_subcommand kms; and __fish_seen_subcommand_from create-key" -s h -l help -d 'Print help'
complete -c kps -n "__fish_kps_using_subcommand kms; and __fish_seen_subcommand_from list-keys" -l store -d 'Store directory [default: the platform data dir, ~/.local/share/kps on Linux]' -r -F
complete -c kps -n "__fish_kps_using_subcommand kms; and __fish_seen_subcommand_from list-keys" -l passphrase-file -d 'Read the store passphrase from FILE (one trailing newline is ignored)' -r -F
complete -c kps -n "__fish_kps_using_subcommand kms; and __fish_seen_subcommand_from list-keys" -l pin-file -d 'Read the PKCS#11 token PIN (encryption type kms) from FILE' -r -F
complete -c kps -n "__fish_kps_using_subcommand kms; and __fish_seen_subcommand_from list-keys" -l json -d 'Print one JSON document on stdout; errors as {"error_code","error_msg"} on stderr'
complete -c kps -n "__fish_kps_using_subcommand kms; and __fish_seen_subcommand_from list-keys" -s q -l quiet -d 'Print nothing on stdout but the requested data (no status lines)'
complete -c kps -n "__fish_kps_using_subcommand kms; and __fish_seen_subcommand_from list-keys" -s h -l help -d 'Print help'
complete -c kps -n "__fish_kps_using_subcommand kms; and __fish_seen_subcommand_from help" -f -a "configure" -d 'Record the PKCS#11 module and token kps uses, in your config directory'
complete -c kps -n "__fish_kps_using_subcommand kms; and __fish_seen_subcommand_from help" -f -a "create-key" -d 'Make a non-extractable AES-256 master key on the token'
complete -c kps -n "__fish_kps_using_subcommand kms; and __fish_seen_subcommand_from help" -f -a "list-keys" -d 'List the token\'s AES keys (label and id)'
complete -c kps -n "__fish_kps_using_subcommand kms; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c kps -n "__fish_kps_using_subcommand delete" -l store -d 'Store directory [default: the platform data dir, ~/.local/share/kps on Linux]' -r -F
complete -c kps -n "__fish_kps_using_subcommand delete" -l passphrase-file -d 'Read the store passphrase from FILE (one trailing newline is ignored)' -r -F
complete -c kps -n "__fish_kps_using_subcommand delete" -l pin-file -d 'Read the PKCS#11 token PIN (encryption type kms) from FILE' -r -F
complete -c kps -n "__fish_kps_using_subcommand delete" -s y -l yes -d 'Do not ask for confirmation (required without a terminal)'
complete -c kps -n "__fish_kps_using_subcommand delete" -l json -d 'Print one JSON document on stdout; errors as {"error_code","error_msg"} on stderr'
complete -c kps -n "__fish_kps_using_subcommand delete" -s q -l quiet -d 'Print nothing on stdout but the requested data (no status lines)'
complete -c kps -n "__fish_kps_using_subcommand delete" -s h -l help -d 'Print help'
complete -c kps -n "__fish_kps_using_subcommand generate-docs" -l dir -d 'Directory to write completions/ and man/ into' -r -F
complete -c kps -n "__fish_kps_using_subcommand generate-docs" -l store -d 'Store directory [default: the platform data dir, ~/.local/share/kps on Linux]' -r -F
complete -c kps -n "__fish_kps_using_subcommand generate-docs" -l passphrase-file -d 'Read the store passphrase from FILE (one trailing newline is ignored)' -r -F
complete -c kps -n "__fish_kps_using_subcommand generate-docs" -l pin-file -d 'Read the PKCS#11 token PIN (encryption type kms) from FILE' -r -F
complete -c kps -n "__fish_kps_using_subcommand generate-docs" -l json -d 'Print one JSON document on stdout; errors as {"error_code","error_msg"} on stderr'
complete -c kps -n "__fish_kps_using_subcommand generate-docs" -s q -l quiet -d 'Print nothing on stdout but the requested data (no status lines)'
complete -c kps -n "__fish_kps_using_subcommand generate-docs" -s h -l help -d 'Print help'
complete -c kps -n "__fish_kps_using_subcommand backup" -l store -d 'Store directory [default: the platform data dir, ~/.local/share/kps on Linux]' -r -F
complete -c kps -n "__fish_kps_using_subcommand backup" -l passphrase-file -d 'Read the store passphrase from FILE (one trailing newline is ignored)' -r -F
complete -c kps -n "__fish_kps_using_subcommand backup" -l pin-file -d 'Read the PKCS#11 token PIN (encryption type kms) from FILE' -r -F
complete -c kps -n "__fish_kps_using_subcommand backup" -l force -d 'Replace FILE if it exists'
complete -c kps -n "__fish_kps_using_subcommand backup" -l json -d 'Print one JSON document on stdout; errors as {"error_code","error_msg"} on stderr'
complete -c kps -n "__fish_kps_using_subcommand backup" -s q -l quiet -d 'Print nothing on stdout but the requested data (no status lines)'
complete -c kps -n "__fish_kps_using_subcommand backup" -s h -l help -d 'Print help'
complete -c kps -n "__fish_kps_using_subcommand passwd" -l new-passphrase-file -d 'Read the new passphrase from FILE (one trailing newline is ignored)' -r -F
complete -c kps -n "__fish_kps_using_subcommand passwd" -l kdf-memory -d 'Argon2id memory in KiB [default: 65536]' -r
complete -c kps -n "__fish_kps_using_subcommand passwd" -l kdf-passes -d 'Argon2id passes [default: 3]' -r
complete -c kps -n "__fish_kps_using_subcommand passwd" -l kdf-parallelism -d 'Argon2id lanes [default: 1]' -r
complete -c kps -n "__fish_kps_using_subcommand passwd" -l store -d 'Store directory [default: the platform data dir, ~/.local/share/kps on Linux]' -r -F
complete -c kps -n "__fish_kps_using_subcommand passwd" -l passphrase-file -d 'Read the store passphrase from FILE (one trailing newline is ignored)' -r -F
complete -c kps -n "__fish_kps_using_subcommand passwd" -l pin-file -d 'Read the PKCS#11 token PIN (encryption type kms) from FILE' -r -F
complete -c kps -n "__fish_kps_using_subcommand passwd" -l rekey -d 'Also replace the store key: every private key protected by the passphrase is re-sealed, so an old copy of the store and the old passphrase open nothing made or kept after this (use after a leak)'
complete -c kps -n "__fish_kps_using_subcommand passwd" -l json -d 'Print one JSON document on stdout; errors as {"error_code","error_msg"} on stderr'
complete -c kps -n "__fish_kps_using_subcommand passwd" -s q -l quiet -d 'Print nothing on stdout but the requested data (no status lines)'
complete -c kps -n "__fish_kps_using_subcommand passwd" -s h -l help -d 'Print help'
complete -c kps -n "__fish_kps_using_subcommand verify" -l store -d 'Store directory [default: the platform data dir, ~/.local/share/kps on Linux]' -r -F
complete -c kps -n "__fish_kps_using_subcommand verify" -l passphrase-file -d 'Read the store passphrase from FILE (one trailing newline is ignored)' -r -F
complete -c kps -n "__fish_kps_using_subcommand verify" -l pin-file -d 'Read the PKCS#11 token PIN (encryption type kms) from FILE' -r -F
complete -c kps -n "__fish_kps_using_subcommand verify" -l json -d 'Print one JSON document on stdout; errors as {"error_code","error_msg"} on stderr'
complete -c kps -n "__fish_kps_using_subcommand verify" -s q -l quiet -d 'Print nothing on stdout but the requested data (no status lines)'
complete -c kps -n "__fish_kps_using_subcommand verify" -s h -l help -d 'Print help'
complete -c kps -n "__fish_kps_using_subcommand help; and not __fish_seen_subcommand_from init create import list show find export export-ppk get-win-password set-encryption kms delete generate-docs backup passwd verify help" -f -a "init" -d 'Set up a new store and its passphrase'
complete -c kps -n "__fish_kps_using_subcommand help; and not __fish_seen_subcommand_from init create import list show find export export-ppk get-win-password set-encryption kms delete generate-docs backup passwd verify help" -f -a "create" -d 'Generate a new keypair and store it'
complete -c kps -n "__fish_kps_using_subcommand help; and not __fish_seen_subcommand_from init create import list show find export export-ppk get-win-password set-encryption kms delete generate-docs backup passwd verify help" -f -a "import" -d 'Import existing keys: private (PEM, OpenSSH, PuTTY .ppk), public, a service import request, or a whole directory'
complete -c kps -n "__fish_kps_using_subcommand help; and not __fish_seen_subcommand_from init create import list show find export export-ppk get-win-password set-encryption kms delete generate-docs backup passwd verify help" -f -a "list" -d 'List keypairs'
complete -c kps -n "__fish_kps_using_subcommand help; and not __fish_seen_subcommand_from init create import list show find export export-ppk get-win-password set-encryption kms delete generate-docs backup passwd verify help" -f -a "show" -d 'Show a keypair: fingerprints, public key and metadata (never the private key)'
complete -c kps -n "__fish_kps_using_subcommand help; and not __fish_seen_subcommand_from init create import list show find export export-ppk get-win-password set-encryption kms delete generate-docs backup passwd verify help" -f -a "find" -d 'Find keypairs by fingerprint, in any form a console shows'
complete -c kps -n "__fish_kps_using_subcommand help; and not __fish_seen_subcommand_from init create import list show find export export-ppk get-win-password set-encryption kms delete generate-docs backup passwd verify help" -f -a "export" -d 'Export a keypair\'s private key (OpenSSH, PEM, PKCS#8) or its public key'
complete -c kps -n "__fish_kps_using_subcommand help; and not __fish_seen_subcommand_from init create import list show find export export-ppk get-win-password set-encryption kms delete generate-docs backup passwd verify help" -f -a "export-ppk" -d 'Write a keypair\'s private key as a PuTTY .ppk file (PuTTY, WinSCP, FileZilla, KiTTY)'
complete -c kps -n "__fish_kps_using_subcommand help; and not __fish_seen_subcommand_from init create import list show find export export-ppk get-win-password set-encryption kms delete generate-docs backup passwd verify help" -f -a "get-win-password" -d 'Decrypt a Windows cloud server\'s initial password with an RSA keypair'
complete -c kps -n "__fish_kps_using_subcommand help; and not __fish_seen_subcommand_from init create import list show find export export-ppk get-win-password set-encryption kms delete generate-docs backup passwd verify help" -f -a "set-encryption" -d 'Move a keypair between protections: default (store passphrase) and kms (token)'
complete -c kps -n "__fish_kps_using_subcommand help; and not __fish_seen_subcommand_from init create import list show find export export-ppk get-win-password set-encryption kms delete generate-docs backup passwd verify help" -f -a "kms" -d 'The KMS (a PKCS#11 token) behind encryption type kms'
complete -c kps -n "__fish_kps_using_subcommand help; and not __fish_seen_subcommand_from init create import list show find export export-ppk get-win-password set-encryption kms delete generate-docs backup passwd verify help" -f -a "delete" -d 'Delete a keypair'
complete -c kps -n "__fish_kps_using_subcommand help; and not __fish_seen_subcommand_from init create import list show find export export-ppk get-win-password set-encryption kms delete generate-docs backup passwd verify help" -f -a "generate-docs" -d 'Write shell completions and man pages (for packagers and the repository)'
complete -c kps -n "__fish_kps_using_subcommand help; and not __fish_seen_subcommand_from init create import list show find export export-ppk get-win-password set-encryption kms delete generate-docs backup passwd verify help" -f -a "backup" -d 'Write a consistent copy of the store to FILE (safe while kps runs)'
complete -c kps -n "__fish_kps_using_subcommand help; and not __fish_seen_subcommand_from init create import list show find export export-ppk get-win-password set-encryption kms delete generate-docs backup passwd verify help" -f -a "passwd" -d 'Change the store passphrase; with --rekey also replace the store key'
complete -c kps -n "__fish_kps_using_subcommand help; and not __fish_seen_subcommand_from init create import list show find export export-ppk get-win-password set-encryption kms delete generate-docs backup passwd verify help" -f -a "verify" -d 'Check the store with its passphrase and pin its identity on this machine'
complete -c kps -n "__fish_kps_using_subcommand help; and not __fish_seen_subcommand_from init create import list show find export export-ppk get-win-password set-encryption kms delete generate-docs backup passwd verify help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c kps -n "__fish_kps_using_subcommand help; and __fish_seen_subcommand_from kms" -f -a "configure" -d 'Record the PKCS#11 module and token kps uses, in your config directory'
complete -c kps -n "__fish_kps_using_subcommand help; and __fish_seen_subcommand_from kms" -f -a "create-key" -d 'Make a non-extractable AES-256 master key on the token'
complete -c kps -n "__fish_kps_using_subcommand help; and __fish_seen_subcommand_from kms" -f -a "list-keys" -d 'List the token\'s AES keys (label and id)'
