
use builtin;
use str;

set edit:completion:arg-completer[kps] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'kps'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'kps'= {
            cand --store 'Store directory [default: the platform data dir, ~/.local/share/kps on Linux]'
            cand --passphrase-file 'Read the store passphrase from FILE (one trailing newline is ignored)'
            cand --pin-file 'Read the PKCS#11 token PIN (encryption type kms) from FILE'
            cand --json 'Print one JSON document on stdout; errors as {"error_code","error_msg"} on stderr'
            cand -q 'Print nothing on stdout but the requested data (no status lines)'
            cand --quiet 'Print nothing on stdout but the requested data (no status lines)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand init 'Set up a new store and its passphrase'
            cand create 'Generate a new keypair and store it'
            cand import 'Import existing keys: private (PEM, OpenSSH, PuTTY .ppk), public, a service import request, or a whole directory'
            cand list 'List keypairs'
            cand show 'Show a keypair: fingerprints, public key and metadata (never the private key)'
            cand find 'Find keypairs by fingerprint, in any form a console shows'
            cand export 'Export a keypair''s private key (OpenSSH, PEM, PKCS#8) or its public key'
            cand export-ppk 'Write a keypair''s private key as a PuTTY .ppk file (PuTTY, WinSCP, FileZilla, KiTTY)'
            cand get-win-password 'Decrypt a Windows cloud server''s initial password with an RSA keypair'
            cand set-encryption 'Move a keypair between protections: default (store passphrase) and kms (token)'
            cand kms 'The KMS (a PKCS#11 token) behind encryption type kms'
            cand delete 'Delete a keypair'
            cand generate-docs 'Write shell completions and man pages (for packagers and the repository)'
            cand backup 'Write a consistent copy of the store to FILE (safe while kps runs)'
            cand passwd 'Change the store passphrase; with --rekey also replace the store key'
            cand verify 'Check the store with its passphrase and pin its identity on this machine'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'kps;init'= {
            cand --kdf-memory 'Argon2id memory in KiB [default: 65536]'
            cand --kdf-passes 'Argon2id passes [default: 3]'
            cand --kdf-parallelism 'Argon2id lanes [default: 1]'
            cand --store 'Store directory [default: the platform data dir, ~/.local/share/kps on Linux]'
            cand --passphrase-file 'Read the store passphrase from FILE (one trailing newline is ignored)'
            cand --pin-file 'Read the PKCS#11 token PIN (encryption type kms) from FILE'
            cand --json 'Print one JSON document on stdout; errors as {"error_code","error_msg"} on stderr'
            cand -q 'Print nothing on stdout but the requested data (no status lines)'
            cand --quiet 'Print nothing on stdout but the requested data (no status lines)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'kps;create'= {
            cand -t 'Key type: ed25519, ecdsa, rsa (or ssh-ed25519, ecdsa-sha2-nistp256/384/521, ssh-rsa)'
            cand --type 'Key type: ed25519, ecdsa, rsa (or ssh-ed25519, ecdsa-sha2-nistp256/384/521, ssh-rsa)'
            cand -b 'Key size: ecdsa 256|384|521 (default 256), rsa 2048|3072|4096 (default 3072)'
            cand --bits 'Key size: ecdsa 256|384|521 (default 256), rsa 2048|3072|4096 (default 3072)'
            cand -C 'Comment on the public key [default: the keypair name]'
            cand --comment 'Comment on the public key [default: the keypair name]'
            cand --description 'Free-text description'
            cand --user-id 'Owner, as the service''s user_id'
            cand --encryption 'How the private key is protected at rest'
            cand --kms-key-name 'KMS master key name (with --encryption kms)'
            cand --kms-key-id 'KMS master key id (with --encryption kms)'
            cand --kdf-memory 'Argon2id memory in KiB [default: 65536]'
            cand --kdf-passes 'Argon2id passes [default: 3]'
            cand --kdf-parallelism 'Argon2id lanes [default: 1]'
            cand --store 'Store directory [default: the platform data dir, ~/.local/share/kps on Linux]'
            cand --passphrase-file 'Read the store passphrase from FILE (one trailing newline is ignored)'
            cand --pin-file 'Read the PKCS#11 token PIN (encryption type kms) from FILE'
            cand --if-not-exists 'Succeed without change if NAME exists with the same algorithm and size (exit 4 if it exists and differs); for pipelines that are re-run'
            cand --json 'Print one JSON document on stdout; errors as {"error_code","error_msg"} on stderr'
            cand -q 'Print nothing on stdout but the requested data (no status lines)'
            cand --quiet 'Print nothing on stdout but the requested data (no status lines)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'kps;import'= {
            cand --private-key 'Private key file, or ''-'' for stdin; the format is detected from the content'
            cand --public-key 'Public key file, or ''-'': the keypair then has no private key'
            cand --request 'Key Pair Service import request body (JSON), or ''-'''
            cand --from-dir 'Import every private key file in DIR, each named after its file (see README: names from file names)'
            cand --key-passphrase-file 'Passphrase of an encrypted key file (OpenSSH, PKCS#8, .ppk), read from FILE'
            cand -C 'Comment on the public key [default: the file''s comment, else the keypair name]'
            cand --comment 'Comment on the public key [default: the file''s comment, else the keypair name]'
            cand --description 'Free-text description'
            cand --user-id 'Owner, as the service''s user_id'
            cand --encryption 'How the private key is protected at rest'
            cand --kms-key-name 'KMS master key name (with --encryption kms)'
            cand --kms-key-id 'KMS master key id (with --encryption kms)'
            cand --kdf-memory 'Argon2id memory in KiB [default: 65536]'
            cand --kdf-passes 'Argon2id passes [default: 3]'
            cand --kdf-parallelism 'Argon2id lanes [default: 1]'
            cand --store 'Store directory [default: the platform data dir, ~/.local/share/kps on Linux]'
            cand --passphrase-file 'Read the store passphrase from FILE (one trailing newline is ignored)'
            cand --pin-file 'Read the PKCS#11 token PIN (encryption type kms) from FILE'
            cand --skip-existing 'Skip keys already in the store under any name (same SHA256 fingerprint), and list them'
            cand --dry-run 'Validate and print what would be stored; write nothing, ask for no passphrase'
            cand --ask-key-passphrase 'Ask for the key file''s passphrase at the terminal'
            cand --json 'Print one JSON document on stdout; errors as {"error_code","error_msg"} on stderr'
            cand -q 'Print nothing on stdout but the requested data (no status lines)'
            cand --quiet 'Print nothing on stdout but the requested data (no status lines)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'kps;list'= {
            cand --store 'Store directory [default: the platform data dir, ~/.local/share/kps on Linux]'
            cand --passphrase-file 'Read the store passphrase from FILE (one trailing newline is ignored)'
            cand --pin-file 'Read the PKCS#11 token PIN (encryption type kms) from FILE'
            cand --names 'One keypair name a line, nothing else; with --json, {"names": [...]}'
            cand --json 'Print one JSON document on stdout; errors as {"error_code","error_msg"} on stderr'
            cand -q 'Print nothing on stdout but the requested data (no status lines)'
            cand --quiet 'Print nothing on stdout but the requested data (no status lines)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'kps;show'= {
            cand --store 'Store directory [default: the platform data dir, ~/.local/share/kps on Linux]'
            cand --passphrase-file 'Read the store passphrase from FILE (one trailing newline is ignored)'
            cand --pin-file 'Read the PKCS#11 token PIN (encryption type kms) from FILE'
            cand --public 'Print only the authorized_keys line; with --json, {"name", "public_key"}'
            cand --json 'Print one JSON document on stdout; errors as {"error_code","error_msg"} on stderr'
            cand -q 'Print nothing on stdout but the requested data (no status lines)'
            cand --quiet 'Print nothing on stdout but the requested data (no status lines)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'kps;find'= {
            cand --store 'Store directory [default: the platform data dir, ~/.local/share/kps on Linux]'
            cand --passphrase-file 'Read the store passphrase from FILE (one trailing newline is ignored)'
            cand --pin-file 'Read the PKCS#11 token PIN (encryption type kms) from FILE'
            cand --json 'Print one JSON document on stdout; errors as {"error_code","error_msg"} on stderr'
            cand -q 'Print nothing on stdout but the requested data (no status lines)'
            cand --quiet 'Print nothing on stdout but the requested data (no status lines)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'kps;export'= {
            cand --format 'format'
            cand -o 'Output file, or ''-'' for stdout (required for private formats)'
            cand --output 'Output file, or ''-'' for stdout (required for private formats)'
            cand --store 'Store directory [default: the platform data dir, ~/.local/share/kps on Linux]'
            cand --passphrase-file 'Read the store passphrase from FILE (one trailing newline is ignored)'
            cand --pin-file 'Read the PKCS#11 token PIN (encryption type kms) from FILE'
            cand --force 'Replace FILE if it exists'
            cand --json 'Print one JSON document on stdout; errors as {"error_code","error_msg"} on stderr'
            cand -q 'Print nothing on stdout but the requested data (no status lines)'
            cand --quiet 'Print nothing on stdout but the requested data (no status lines)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'kps;export-ppk'= {
            cand -o 'Output file, or ''-'' for stdout [default: NAME.ppk in the current directory]'
            cand --output 'Output file, or ''-'' for stdout [default: NAME.ppk in the current directory]'
            cand --ppk-version '.ppk format version'
            cand -C 'Comment in the .ppk file [default: the keypair''s comment, else its name]'
            cand --comment 'Comment in the .ppk file [default: the keypair''s comment, else its name]'
            cand --ppk-passphrase-file 'Encrypt the .ppk with the passphrase in FILE (aes256-cbc)'
            cand --ppk-kdf 'Argon2id cost for an encrypted v3 file, e.g. memory=8192,passes=32,parallelism=1'
            cand --store 'Store directory [default: the platform data dir, ~/.local/share/kps on Linux]'
            cand --passphrase-file 'Read the store passphrase from FILE (one trailing newline is ignored)'
            cand --pin-file 'Read the PKCS#11 token PIN (encryption type kms) from FILE'
            cand --ask-ppk-passphrase 'Ask for a passphrase for the .ppk at the terminal (entered twice)'
            cand --force 'Replace FILE if it exists'
            cand --json 'Print one JSON document on stdout; errors as {"error_code","error_msg"} on stderr'
            cand -q 'Print nothing on stdout but the requested data (no status lines)'
            cand --quiet 'Print nothing on stdout but the requested data (no status lines)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'kps;get-win-password'= {
            cand --private-key 'Use a key file instead of a stored keypair (any format import accepts), or ''-'''
            cand --key-passphrase-file 'Passphrase of an encrypted --private-key file, read from FILE'
            cand --password-data 'The password data: base64, or Huawei/AWS JSON; @FILE reads a file, ''-'' stdin [default: stdin when it is not a terminal]'
            cand --store 'Store directory [default: the platform data dir, ~/.local/share/kps on Linux]'
            cand --passphrase-file 'Read the store passphrase from FILE (one trailing newline is ignored)'
            cand --pin-file 'Read the PKCS#11 token PIN (encryption type kms) from FILE'
            cand --json 'Print one JSON document on stdout; errors as {"error_code","error_msg"} on stderr'
            cand -q 'Print nothing on stdout but the requested data (no status lines)'
            cand --quiet 'Print nothing on stdout but the requested data (no status lines)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'kps;set-encryption'= {
            cand --encryption 'The new protection'
            cand --kms-key-name 'KMS master key name (with --encryption kms)'
            cand --kms-key-id 'KMS master key id (with --encryption kms)'
            cand --kdf-memory 'Argon2id memory in KiB [default: 65536]'
            cand --kdf-passes 'Argon2id passes [default: 3]'
            cand --kdf-parallelism 'Argon2id lanes [default: 1]'
            cand --store 'Store directory [default: the platform data dir, ~/.local/share/kps on Linux]'
            cand --passphrase-file 'Read the store passphrase from FILE (one trailing newline is ignored)'
            cand --pin-file 'Read the PKCS#11 token PIN (encryption type kms) from FILE'
            cand --json 'Print one JSON document on stdout; errors as {"error_code","error_msg"} on stderr'
            cand -q 'Print nothing on stdout but the requested data (no status lines)'
            cand --quiet 'Print nothing on stdout but the requested data (no status lines)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'kps;kms'= {
            cand --store 'Store directory [default: the platform data dir, ~/.local/share/kps on Linux]'
            cand --passphrase-file 'Read the store passphrase from FILE (one trailing newline is ignored)'
            cand --pin-file 'Read the PKCS#11 token PIN (encryption type kms) from FILE'
            cand --json 'Print one JSON document on stdout; errors as {"error_code","error_msg"} on stderr'
            cand -q 'Print nothing on stdout but the requested data (no status lines)'
            cand --quiet 'Print nothing on stdout but the requested data (no status lines)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand configure 'Record the PKCS#11 module and token kps uses, in your config directory'
            cand create-key 'Make a non-extractable AES-256 master key on the token'
            cand list-keys 'List the token''s AES keys (label and id)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'kps;kms;configure'= {
            cand --module 'Path of the PKCS#11 module (.so)'
            cand --token 'Label of the token'
            cand --store 'Store directory [default: the platform data dir, ~/.local/share/kps on Linux]'
            cand --passphrase-file 'Read the store passphrase from FILE (one trailing newline is ignored)'
            cand --pin-file 'Read the PKCS#11 token PIN (encryption type kms) from FILE'
            cand --json 'Print one JSON document on stdout; errors as {"error_code","error_msg"} on stderr'
            cand -q 'Print nothing on stdout but the requested data (no status lines)'
            cand --quiet 'Print nothing on stdout but the requested data (no status lines)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'kps;kms;create-key'= {
            cand --store 'Store directory [default: the platform data dir, ~/.local/share/kps on Linux]'
            cand --passphrase-file 'Read the store passphrase from FILE (one trailing newline is ignored)'
            cand --pin-file 'Read the PKCS#11 token PIN (encryption type kms) from FILE'
            cand --json 'Print one JSON document on stdout; errors as {"error_code","error_msg"} on stderr'
            cand -q 'Print nothing on stdout but the requested data (no status lines)'
            cand --quiet 'Print nothing on stdout but the requested data (no status lines)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'kps;kms;list-keys'= {
            cand --store 'Store directory [default: the platform data dir, ~/.local/share/kps on Linux]'
            cand --passphrase-file 'Read the store passphrase from FILE (one trailing newline is ignored)'
            cand --pin-file 'Read the PKCS#11 token PIN (encryption type kms) from FILE'
            cand --json 'Print one JSON document on stdout; errors as {"error_code","error_msg"} on stderr'
            cand -q 'Print nothing on stdout but the requested data (no status lines)'
            cand --quiet 'Print nothing on stdout but the requested data (no status lines)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'kps;kms;help'= {
            cand configure 'Record the PKCS#11 module and token kps uses, in your config directory'
            cand create-key 'Make a non-extractable AES-256 master key on the token'
            cand list-keys 'List the token''s AES keys (label and id)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'kps;kms;help;configure'= {
        }
        &'kps;kms;help;create-key'= {
        }
        &'kps;kms;help;list-keys'= {
        }
        &'kps;kms;help;help'= {
        }
        &'kps;delete'= {
            cand --store 'Store directory [default: the platform data dir, ~/.local/share/kps on Linux]'
            cand --passphrase-file 'Read the store passphrase from FILE (one trailing newline is ignored)'
            cand --pin-file 'Read the PKCS#11 token PIN (encryption type kms) from FILE'
            cand -y 'Do not ask for confirmation (required without a terminal)'
            cand --yes 'Do not ask for confirmation (required without a terminal)'
            cand --json 'Print one JSON document on stdout; errors as {"error_code","error_msg"} on stderr'
            cand -q 'Print nothing on stdout but the requested data (no status lines)'
            cand --quiet 'Print nothing on stdout but the requested data (no status lines)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'kps;generate-docs'= {
            cand --dir 'Directory to write completions/ and man/ into'
            cand --store 'Store directory [default: the platform data dir, ~/.local/share/kps on Linux]'
            cand --passphrase-file 'Read the store passphrase from FILE (one trailing newline is ignored)'
            cand --pin-file 'Read the PKCS#11 token PIN (encryption type kms) from FILE'
            cand --json 'Print one JSON document on stdout; errors as {"error_code","error_msg"} on stderr'
            cand -q 'Print nothing on stdout but the requested data (no status lines)'
            cand --quiet 'Print nothing on stdout but the requested data (no status lines)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'kps;backup'= {
            cand --store 'Store directory [default: the platform data dir, ~/.local/share/kps on Linux]'
            cand --passphrase-file 'Read the store passphrase from FILE (one trailing newline is ignored)'
            cand --pin-file 'Read the PKCS#11 token PIN (encryption type kms) from FILE'
            cand --force 'Replace FILE if it exists'
            cand --json 'Print one JSON document on stdout; errors as {"error_code","error_msg"} on stderr'
            cand -q 'Print nothing on stdout but the requested data (no status lines)'
            cand --quiet 'Print nothing on stdout but the requested data (no status lines)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'kps;passwd'= {
            cand --new-passphrase-file 'Read the new passphrase from FILE (one trailing newline is ignored)'
            cand --kdf-memory 'Argon2id memory in KiB [default: 65536]'
            cand --kdf-passes 'Argon2id passes [default: 3]'
            cand --kdf-parallelism 'Argon2id lanes [default: 1]'
            cand --store 'Store directory [default: the platform data dir, ~/.local/share/kps on Linux]'
            cand --passphrase-file 'Read the store passphrase from FILE (one trailing newline is ignored)'
            cand --pin-file 'Read the PKCS#11 token PIN (encryption type kms) from FILE'
            cand --rekey 'Also replace the store key: every private key protected by the passphrase is re-sealed, so an old copy of the store and the old passphrase open nothing made or kept after this (use after a leak)'
            cand --json 'Print one JSON document on stdout; errors as {"error_code","error_msg"} on stderr'
            cand -q 'Print nothing on stdout but the requested data (no status lines)'
            cand --quiet 'Print nothing on stdout but the requested data (no status lines)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'kps;verify'= {
            cand --store 'Store directory [default: the platform data dir, ~/.local/share/kps on Linux]'
            cand --passphrase-file 'Read the store passphrase from FILE (one trailing newline is ignored)'
            cand --pin-file 'Read the PKCS#11 token PIN (encryption type kms) from FILE'
            cand --json 'Print one JSON document on stdout; errors as {"error_code","error_msg"} on stderr'
            cand -q 'Print nothing on stdout but the requested data (no status lines)'
            cand --quiet 'Print nothing on stdout but the requested data (no status lines)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'kps;help'= {
            cand init 'Set up a new store and its passphrase'
            cand create 'Generate a new keypair and store it'
            cand import 'Import existing keys: private (PEM, OpenSSH, PuTTY .ppk), public, a service import request, or a whole directory'
            cand list 'List keypairs'
            cand show 'Show a keypair: fingerprints, public key and metadata (never the private key)'
            cand find 'Find keypairs by fingerprint, in any form a console shows'
            cand export 'Export a keypair''s private key (OpenSSH, PEM, PKCS#8) or its public key'
            cand export-ppk 'Write a keypair''s private key as a PuTTY .ppk file (PuTTY, WinSCP, FileZilla, KiTTY)'
            cand get-win-password 'Decrypt a Windows cloud server''s initial password with an RSA keypair'
            cand set-encryption 'Move a keypair between protections: default (store passphrase) and kms (token)'
            cand kms 'The KMS (a PKCS#11 token) behind encryption type kms'
            cand delete 'Delete a keypair'
            cand generate-docs 'Write shell completions and man pages (for packagers and the repository)'
            cand backup 'Write a consistent copy of the store to FILE (safe while kps runs)'
            cand passwd 'Change the store passphrase; with --rekey also replace the store key'
            cand verify 'Check the store with its passphrase and pin its identity on this machine'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'kps;help;init'= {
        }
        &'kps;help;create'= {
        }
        &'kps;help;import'= {
        }
        &'kps;help;list'= {
        }
        &'kps;help;show'= {
        }
        &'kps;help;find'= {
        }
        &'kps;help;export'= {
        }
        &'kps;help;export-ppk'= {
        }
        &'kps;help;get-win-password'= {
        }
        &'kps;help;set-encryption'= {
        }
        &'kps;help;kms'= {
            cand configure 'Record the PKCS#11 module and token kps uses, in your config directory'
            cand create-key 'Make a non-extractable AES-256 master key on the token'
            cand list-keys 'List the token''s AES keys (label and id)'
        }
        &'kps;help;kms;configure'= {
        }
        &'kps;help;kms;create-key'= {
        }
        &'kps;help;kms;list-keys'= {
        }
        &'kps;help;delete'= {
        }
        &'kps;help;generate-docs'= {
        }
        &'kps;help;backup'= {
        }
        &'kps;help;passwd'= {
        }
        &'kps;help;verify'= {
        }
        &'kps;help;help'= {
        }
    ]
    $completions[$command]
}
