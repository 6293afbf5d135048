
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'kps' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'kps'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'kps' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Store directory [default: the platform data dir, ~/.local/share/kps on Linux]')
            [CompletionResult]::new('--passphrase-file', '--passphrase-file', [CompletionResultType]::ParameterName, 'Read the store passphrase from FILE (one trailing newline is ignored)')
            [CompletionResult]::new('--pin-file', '--pin-file', [CompletionResultType]::ParameterName, 'Read the PKCS#11 token PIN (encryption type kms) from FILE')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document on stdout; errors as {"error_code","error_msg"} on stderr')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on stdout but the requested data (no status lines)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on stdout but the requested data (no status lines)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('init', 'init', [CompletionResultType]::ParameterValue, 'Set up a new store and its passphrase')
            [CompletionResult]::new('create', 'create', [CompletionResultType]::ParameterValue, 'Generate a new keypair and store it')
            [CompletionResult]::new('import', 'import', [CompletionResultType]::ParameterValue, 'Import existing keys: private (PEM, OpenSSH, PuTTY .ppk), public, a service import request, or a whole directory')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List keypairs')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Show a keypair: fingerprints, public key and metadata (never the private key)')
            [CompletionResult]::new('find', 'find', [CompletionResultType]::ParameterValue, 'Find keypairs by fingerprint, in any form a console shows')
            [CompletionResult]::new('export', 'export', [CompletionResultType]::ParameterValue, 'Export a keypair''s private key (OpenSSH, PEM, PKCS#8) or its public key')
            [CompletionResult]::new('export-ppk', 'export-ppk', [CompletionResultType]::ParameterValue, 'Write a keypair''s private key as a PuTTY .ppk file (PuTTY, WinSCP, FileZilla, KiTTY)')
            [CompletionResult]::new('get-win-password', 'get-win-password', [CompletionResultType]::ParameterValue, 'Decrypt a Windows cloud server''s initial password with an RSA keypair')
            [CompletionResult]::new('set-encryption', 'set-encryption', [CompletionResultType]::ParameterValue, 'Move a keypair between protections: default (store passphrase) and kms (token)')
            [CompletionResult]::new('kms', 'kms', [CompletionResultType]::ParameterValue, 'The KMS (a PKCS#11 token) behind encryption type kms')
            [CompletionResult]::new('delete', 'delete', [CompletionResultType]::ParameterValue, 'Delete a keypair')
            [CompletionResult]::new('generate-docs', 'generate-docs', [CompletionResultType]::ParameterValue, 'Write shell completions and man pages (for packagers and the repository)')
            [CompletionResult]::new('backup', 'backup', [CompletionResultType]::ParameterValue, 'Write a consistent copy of the store to FILE (safe while kps runs)')
            [CompletionResult]::new('passwd', 'passwd', [CompletionResultType]::ParameterValue, 'Change the store passphrase; with --rekey also replace the store key')
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Check the store with its passphrase and pin its identity on this machine')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'kps;init' {
            [CompletionResult]::new('--kdf-memory', '--kdf-memory', [CompletionResultType]::ParameterName, 'Argon2id memory in KiB [default: 65536]')
            [CompletionResult]::new('--kdf-passes', '--kdf-passes', [CompletionResultType]::ParameterName, 'Argon2id passes [default: 3]')
            [CompletionResult]::new('--kdf-parallelism', '--kdf-parallelism', [CompletionResultType]::ParameterName, 'Argon2id lanes [default: 1]')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Store directory [default: the platform data dir, ~/.local/share/kps on Linux]')
            [CompletionResult]::new('--passphrase-file', '--passphrase-file', [CompletionResultType]::ParameterName, 'Read the store passphrase from FILE (one trailing newline is ignored)')
            [CompletionResult]::new('--pin-file', '--pin-file', [CompletionResultType]::ParameterName, 'Read the PKCS#11 token PIN (encryption type kms) from FILE')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document on stdout; errors as {"error_code","error_msg"} on stderr')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on stdout but the requested data (no status lines)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on stdout but the requested data (no status lines)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'kps;create' {
            [CompletionResult]::new('-t', '-t', [CompletionResultType]::ParameterName, 'Key type: ed25519, ecdsa, rsa (or ssh-ed25519, ecdsa-sha2-nistp256/384/521, ssh-rsa)')
            [CompletionResult]::new('--type', '--type', [CompletionResultType]::ParameterName, 'Key type: ed25519, ecdsa, rsa (or ssh-ed25519, ecdsa-sha2-nistp256/384/521, ssh-rsa)')
            [CompletionResult]::new('-b', '-b', [CompletionResultType]::ParameterName, 'Key size: ecdsa 256|384|521 (default 256), rsa 2048|3072|4096 (default 3072)')
            [CompletionResult]::new('--bits', '--bits', [CompletionResultType]::ParameterName, 'Key size: ecdsa 256|384|521 (default 256), rsa 2048|3072|4096 (default 3072)')
            [CompletionResult]::new('-C', '-C ', [CompletionResultType]::ParameterName, 'Comment on the public key [default: the keypair name]')
            [CompletionResult]::new('--comment', '--comment', [CompletionResultType]::ParameterName, 'Comment on the public key [default: the keypair name]')
            [CompletionResult]::new('--description', '--description', [CompletionResultType]::ParameterName, 'Free-text description')
            [CompletionResult]::new('--user-id', '--user-id', [CompletionResultType]::ParameterName, 'Owner, as the service''s user_id')
            [CompletionResult]::new('--encryption', '--encryption', [CompletionResultType]::ParameterName, 'How the private key is protected at rest')
            [CompletionResult]::new('--kms-key-name', '--kms-key-name', [CompletionResultType]::ParameterName, 'KMS master key name (with --encryption kms)')
            [CompletionResult]::new('--kms-key-id', '--kms-key-id', [CompletionResultType]::ParameterName, 'KMS master key id (with --encryption kms)')
            [CompletionResult]::new('--kdf-memory', '--kdf-memory', [CompletionResultType]::ParameterName, 'Argon2id memory in KiB [default: 65536]')
            [CompletionResult]::new('--kdf-passes', '--kdf-passes', [CompletionResultType]::ParameterName, 'Argon2id passes [default: 3]')
            [CompletionResult]::new('--kdf-parallelism', '--kdf-parallelism', [CompletionResultType]::ParameterName, 'Argon2id lanes [default: 1]')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Store directory [default: the platform data dir, ~/.local/share/kps on Linux]')
            [CompletionResult]::new('--passphrase-file', '--passphrase-file', [CompletionResultType]::ParameterName, 'Read the store passphrase from FILE (one trailing newline is ignored)')
            [CompletionResult]::new('--pin-file', '--pin-file', [CompletionResultType]::ParameterName, 'Read the PKCS#11 token PIN (encryption type kms) from FILE')
            [CompletionResult]::new('--if-not-exists', '--if-not-exists', [CompletionResultType]::ParameterName, 'Succeed without change if NAME exists with the same algorithm and size (exit 4 if it exists and differs); for pipelines that are re-run')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document on stdout; errors as {"error_code","error_msg"} on stderr')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on stdout but the requested data (no status lines)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on stdout but the requested data (no status lines)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'kps;import' {
            [CompletionResult]::new('--private-key', '--private-key', [CompletionResultType]::ParameterName, 'Private key file, or ''-'' for stdin; the format is detected from the content')
            [CompletionResult]::new('--public-key', '--public-key', [CompletionResultType]::ParameterName, 'Public key file, or ''-'': the keypair then has no private key')
            [CompletionResult]::new('--request', '--request', [CompletionResultType]::ParameterName, 'Key Pair Service import request body (JSON), or ''-''')
            [CompletionResult]::new('--from-dir', '--from-dir', [CompletionResultType]::ParameterName, 'Import every private key file in DIR, each named after its file (see README: names from file names)')
            [CompletionResult]::new('--key-passphrase-file', '--key-passphrase-file', [CompletionResultType]::ParameterName, 'Passphrase of an encrypted key file (OpenSSH, PKCS#8, .ppk), read from FILE')
            [CompletionResult]::new('-C', '-C ', [CompletionResultType]::ParameterName, 'Comment on the public key [default: the file''s comment, else the keypair name]')
            [CompletionResult]::new('--comment', '--comment', [CompletionResultType]::ParameterName, 'Comment on the public key [default: the file''s comment, else the keypair name]')
            [CompletionResult]::new('--description', '--description', [CompletionResultType]::ParameterName, 'Free-text description')
            [CompletionResult]::new('--user-id', '--user-id', [CompletionResultType]::ParameterName, 'Owner, as the service''s user_id')
            [CompletionResult]::new('--encryption', '--encryption', [CompletionResultType]::ParameterName, 'How the private key is protected at rest')
            [CompletionResult]::new('--kms-key-name', '--kms-key-name', [CompletionResultType]::ParameterName, 'KMS master key name (with --encryption kms)')
            [CompletionResult]::new('--kms-key-id', '--kms-key-id', [CompletionResultType]::ParameterName, 'KMS master key id (with --encryption kms)')
            [CompletionResult]::new('--kdf-memory', '--kdf-memory', [CompletionResultType]::ParameterName, 'Argon2id memory in KiB [default: 65536]')
            [CompletionResult]::new('--kdf-passes', '--kdf-passes', [CompletionResultType]::ParameterName, 'Argon2id passes [default: 3]')
            [CompletionResult]::new('--kdf-parallelism', '--kdf-parallelism', [CompletionResultType]::ParameterName, 'Argon2id lanes [default: 1]')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Store directory [default: the platform data dir, ~/.local/share/kps on Linux]')
            [CompletionResult]::new('--passphrase-file', '--passphrase-file', [CompletionResultType]::ParameterName, 'Read the store passphrase from FILE (one trailing newline is ignored)')
            [CompletionResult]::new('--pin-file', '--pin-file', [CompletionResultType]::ParameterName, 'Read the PKCS#11 token PIN (encryption type kms) from FILE')
            [CompletionResult]::new('--skip-existing', '--skip-existing', [CompletionResultType]::ParameterName, 'Skip keys already in the store under any name (same SHA256 fingerprint), and list them')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Validate and print what would be stored; write nothing, ask for no passphrase')
            [CompletionResult]::new('--ask-key-passphrase', '--ask-key-passphrase', [CompletionResultType]::ParameterName, 'Ask for the key file''s passphrase at the terminal')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document on stdout; errors as {"error_code","error_msg"} on stderr')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on stdout but the requested data (no status lines)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on stdout but the requested data (no status lines)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'kps;list' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Store directory [default: the platform data dir, ~/.local/share/kps on Linux]')
            [CompletionResult]::new('--passphrase-file', '--passphrase-file', [CompletionResultType]::ParameterName, 'Read the store passphrase from FILE (one trailing newline is ignored)')
            [CompletionResult]::new('--pin-file', '--pin-file', [CompletionResultType]::ParameterName, 'Read the PKCS#11 token PIN (encryption type kms) from FILE')
            [CompletionResult]::new('--names', '--names', [CompletionResultType]::ParameterName, 'One keypair name a line, nothing else; with --json, {"names": [...]}')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document on stdout; errors as {"error_code","error_msg"} on stderr')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on stdout but the requested data (no status lines)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on stdout but the requested data (no status lines)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'kps;show' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Store directory [default: the platform data dir, ~/.local/share/kps on Linux]')
            [CompletionResult]::new('--passphrase-file', '--passphrase-file', [CompletionResultType]::ParameterName, 'Read the store passphrase from FILE (one trailing newline is ignored)')
            [CompletionResult]::new('--pin-file', '--pin-file', [CompletionResultType]::ParameterName, 'Read the PKCS#11 token PIN (encryption type kms) from FILE')
            [CompletionResult]::new('--public', '--public', [CompletionResultType]::ParameterName, 'Print only the authorized_keys line; with --json, {"name", "public_key"}')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document on stdout; errors as {"error_code","error_msg"} on stderr')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on stdout but the requested data (no status lines)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on stdout but the requested data (no status lines)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'kps;find' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Store directory [default: the platform data dir, ~/.local/share/kps on Linux]')
            [CompletionResult]::new('--passphrase-file', '--passphrase-file', [CompletionResultType]::ParameterName, 'Read the store passphrase from FILE (one trailing newline is ignored)')
            [CompletionResult]::new('--pin-file', '--pin-file', [CompletionResultType]::ParameterName, 'Read the PKCS#11 token PIN (encryption type kms) from FILE')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document on stdout; errors as {"error_code","error_msg"} on stderr')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on stdout but the requested data (no status lines)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on stdout but the requested data (no status lines)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'kps;export' {
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'format')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output file, or ''-'' for stdout (required for private formats)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output file, or ''-'' for stdout (required for private formats)')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Store directory [default: the platform data dir, ~/.local/share/kps on Linux]')
            [CompletionResult]::new('--passphrase-file', '--passphrase-file', [CompletionResultType]::ParameterName, 'Read the store passphrase from FILE (one trailing newline is ignored)')
            [CompletionResult]::new('--pin-file', '--pin-file', [CompletionResultType]::ParameterName, 'Read the PKCS#11 token PIN (encryption type kms) from FILE')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Replace FILE if it exists')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document on stdout; errors as {"error_code","error_msg"} on stderr')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on stdout but the requested data (no status lines)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on stdout but the requested data (no status lines)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'kps;export-ppk' {
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output file, or ''-'' for stdout [default: NAME.ppk in the current directory]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output file, or ''-'' for stdout [default: NAME.ppk in the current directory]')
            [CompletionResult]::new('--ppk-version', '--ppk-version', [CompletionResultType]::ParameterName, '.ppk format version')
            [CompletionResult]::new('-C', '-C ', [CompletionResultType]::ParameterName, 'Comment in the .ppk file [default: the keypair''s comment, else its name]')
            [CompletionResult]::new('--comment', '--comment', [CompletionResultType]::ParameterName, 'Comment in the .ppk file [default: the keypair''s comment, else its name]')
            [CompletionResult]::new('--ppk-passphrase-file', '--ppk-passphrase-file', [CompletionResultType]::ParameterName, 'Encrypt the .ppk with the passphrase in FILE (aes256-cbc)')
            [CompletionResult]::new('--ppk-kdf', '--ppk-kdf', [CompletionResultType]::ParameterName, 'Argon2id cost for an encrypted v3 file, e.g. memory=8192,passes=32,parallelism=1')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Store directory [default: the platform data dir, ~/.local/share/kps on Linux]')
            [CompletionResult]::new('--passphrase-file', '--passphrase-file', [CompletionResultType]::ParameterName, 'Read the store passphrase from FILE (one trailing newline is ignored)')
            [CompletionResult]::new('--pin-file', '--pin-file', [CompletionResultType]::ParameterName, 'Read the PKCS#11 token PIN (encryption type kms) from FILE')
            [CompletionResult]::new('--ask-ppk-passphrase', '--ask-ppk-passphrase', [CompletionResultType]::ParameterName, 'Ask for a passphrase for the .ppk at the terminal (entered twice)')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Replace FILE if it exists')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document on stdout; errors as {"error_code","error_msg"} on stderr')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on stdout but the requested data (no status lines)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on stdout but the requested data (no status lines)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'kps;get-win-password' {
            [CompletionResult]::new('--private-key', '--private-key', [CompletionResultType]::ParameterName, 'Use a key file instead of a stored keypair (any format import accepts), or ''-''')
            [CompletionResult]::new('--key-passphrase-file', '--key-passphrase-file', [CompletionResultType]::ParameterName, 'Passphrase of an encrypted --private-key file, read from FILE')
            [CompletionResult]::new('--password-data', '--password-data', [CompletionResultType]::ParameterName, 'The password data: base64, or Huawei/AWS JSON; @FILE reads a file, ''-'' stdin [default: stdin when it is not a terminal]')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Store directory [default: the platform data dir, ~/.local/share/kps on Linux]')
            [CompletionResult]::new('--passphrase-file', '--passphrase-file', [CompletionResultType]::ParameterName, 'Read the store passphrase from FILE (one trailing newline is ignored)')
            [CompletionResult]::new('--pin-file', '--pin-file', [CompletionResultType]::ParameterName, 'Read the PKCS#11 token PIN (encryption type kms) from FILE')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document on stdout; errors as {"error_code","error_msg"} on stderr')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on stdout but the requested data (no status lines)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on stdout but the requested data (no status lines)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'kps;set-encryption' {
            [CompletionResult]::new('--encryption', '--encryption', [CompletionResultType]::ParameterName, 'The new protection')
            [CompletionResult]::new('--kms-key-name', '--kms-key-name', [CompletionResultType]::ParameterName, 'KMS master key name (with --encryption kms)')
            [CompletionResult]::new('--kms-key-id', '--kms-key-id', [CompletionResultType]::ParameterName, 'KMS master key id (with --encryption kms)')
            [CompletionResult]::new('--kdf-memory', '--kdf-memory', [CompletionResultType]::ParameterName, 'Argon2id memory in KiB [default: 65536]')
            [CompletionResult]::new('--kdf-passes', '--kdf-passes', [CompletionResultType]::ParameterName, 'Argon2id passes [default: 3]')
            [CompletionResult]::new('--kdf-parallelism', '--kdf-parallelism', [CompletionResultType]::ParameterName, 'Argon2id lanes [default: 1]')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Store directory [default: the platform data dir, ~/.local/share/kps on Linux]')
            [CompletionResult]::new('--passphrase-file', '--passphrase-file', [CompletionResultType]::ParameterName, 'Read the store passphrase from FILE (one trailing newline is ignored)')
            [CompletionResult]::new('--pin-file', '--pin-file', [CompletionResultType]::ParameterName, 'Read the PKCS#11 token PIN (encryption type kms) from FILE')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document on stdout; errors as {"error_code","error_msg"} on stderr')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on stdout but the requested data (no status lines)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on stdout but the requested data (no status lines)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'kps;kms' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Store directory [default: the platform data dir, ~/.local/share/kps on Linux]')
            [CompletionResult]::new('--passphrase-file', '--passphrase-file', [CompletionResultType]::ParameterName, 'Read the store passphrase from FILE (one trailing newline is ignored)')
            [CompletionResult]::new('--pin-file', '--pin-file', [CompletionResultType]::ParameterName, 'Read the PKCS#11 token PIN (encryption type kms) from FILE')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document on stdout; errors as {"error_code","error_msg"} on stderr')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on stdout but the requested data (no status lines)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on stdout but the requested data (no status lines)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('configure', 'configure', [CompletionResultType]::ParameterValue, 'Record the PKCS#11 module and token kps uses, in your config directory')
            [CompletionResult]::new('create-key', 'create-key', [CompletionResultType]::ParameterValue, 'Make a non-extractable AES-256 master key on the token')
            [CompletionResult]::new('list-keys', 'list-keys', [CompletionResultType]::ParameterValue, 'List the token''s AES keys (label and id)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'kps;kms;configure' {
            [CompletionResult]::new('--module', '--module', [CompletionResultType]::ParameterName, 'Path of the PKCS#11 module (.so)')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Label of the token')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Store directory [default: the platform data dir, ~/.local/share/kps on Linux]')
            [CompletionResult]::new('--passphrase-file', '--passphrase-file', [CompletionResultType]::ParameterName, 'Read the store passphrase from FILE (one trailing newline is ignored)')
            [CompletionResult]::new('--pin-file', '--pin-file', [CompletionResultType]::ParameterName, 'Read the PKCS#11 token PIN (encryption type kms) from FILE')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document on stdout; errors as {"error_code","error_msg"} on stderr')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on stdout but the requested data (no status lines)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on stdout but the requested data (no status lines)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'kps;kms;create-key' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Store directory [default: the platform data dir, ~/.local/share/kps on Linux]')
            [CompletionResult]::new('--passphrase-file', '--passphrase-file', [CompletionResultType]::ParameterName, 'Read the store passphrase from FILE (one trailing newline is ignored)')
            [CompletionResult]::new('--pin-file', '--pin-file', [CompletionResultType]::ParameterName, 'Read the PKCS#11 token PIN (encryption type kms) from FILE')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document on stdout; errors as {"error_code","error_msg"} on stderr')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on stdout but the requested data (no status lines)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on stdout but the requested data (no status lines)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'kps;kms;list-keys' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Store directory [default: the platform data dir, ~/.local/share/kps on Linux]')
            [CompletionResult]::new('--passphrase-file', '--passphrase-file', [CompletionResultType]::ParameterName, 'Read the store passphrase from FILE (one trailing newline is ignored)')
            [CompletionResult]::new('--pin-file', '--pin-file', [CompletionResultType]::ParameterName, 'Read the PKCS#11 token PIN (encryption type kms) from FILE')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document on stdout; errors as {"error_code","error_msg"} on stderr')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on stdout but the requested data (no status lines)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on stdout but the requested data (no status lines)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'kps;kms;help' {
            [CompletionResult]::new('configure', 'configure', [CompletionResultType]::ParameterValue, 'Record the PKCS#11 module and token kps uses, in your config directory')
            [CompletionResult]::new('create-key', 'create-key', [CompletionResultType]::ParameterValue, 'Make a non-extractable AES-256 master key on the token')
            [CompletionResult]::new('list-keys', 'list-keys', [CompletionResultType]::ParameterValue, 'List the token''s AES keys (label and id)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'kps;kms;help;configure' {
            break
        }
        'kps;kms;help;create-key' {
            break
        }
        'kps;kms;help;list-keys' {
            break
        }
        'kps;kms;help;help' {
            break
        }
        'kps;delete' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Store directory [default: the platform data dir, ~/.local/share/kps on Linux]')
            [CompletionResult]::new('--passphrase-file', '--passphrase-file', [CompletionResultType]::ParameterName, 'Read the store passphrase from FILE (one trailing newline is ignored)')
            [CompletionResult]::new('--pin-file', '--pin-file', [CompletionResultType]::ParameterName, 'Read the PKCS#11 token PIN (encryption type kms) from FILE')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Do not ask for confirmation (required without a terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Do not ask for confirmation (required without a terminal)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document on stdout; errors as {"error_code","error_msg"} on stderr')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on stdout but the requested data (no status lines)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on stdout but the requested data (no status lines)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'kps;generate-docs' {
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'Directory to write completions/ and man/ into')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Store directory [default: the platform data dir, ~/.local/share/kps on Linux]')
            [CompletionResult]::new('--passphrase-file', '--passphrase-file', [CompletionResultType]::ParameterName, 'Read the store passphrase from FILE (one trailing newline is ignored)')
            [CompletionResult]::new('--pin-file', '--pin-file', [CompletionResultType]::ParameterName, 'Read the PKCS#11 token PIN (encryption type kms) from FILE')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document on stdout; errors as {"error_code","error_msg"} on stderr')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on stdout but the requested data (no status lines)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on stdout but the requested data (no status lines)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'kps;backup' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Store directory [default: the platform data dir, ~/.local/share/kps on Linux]')
            [CompletionResult]::new('--passphrase-file', '--passphrase-file', [CompletionResultType]::ParameterName, 'Read the store passphrase from FILE (one trailing newline is ignored)')
            [CompletionResult]::new('--pin-file', '--pin-file', [CompletionResultType]::ParameterName, 'Read the PKCS#11 token PIN (encryption type kms) from FILE')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Replace FILE if it exists')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document on stdout; errors as {"error_code","error_msg"} on stderr')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on stdout but the requested data (no status lines)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on stdout but the requested data (no status lines)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'kps;passwd' {
            [CompletionResult]::new('--new-passphrase-file', '--new-passphrase-file', [CompletionResultType]::ParameterName, 'Read the new passphrase from FILE (one trailing newline is ignored)')
            [CompletionResult]::new('--kdf-memory', '--kdf-memory', [CompletionResultType]::ParameterName, 'Argon2id memory in KiB [default: 65536]')
            [CompletionResult]::new('--kdf-passes', '--kdf-passes', [CompletionResultType]::ParameterName, 'Argon2id passes [default: 3]')
            [CompletionResult]::new('--kdf-parallelism', '--kdf-parallelism', [CompletionResultType]::ParameterName, 'Argon2id lanes [default: 1]')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Store directory [default: the platform data dir, ~/.local/share/kps on Linux]')
            [CompletionResult]::new('--passphrase-file', '--passphrase-file', [CompletionResultType]::ParameterName, 'Read the store passphrase from FILE (one trailing newline is ignored)')
            [CompletionResult]::new('--pin-file', '--pin-file', [CompletionResultType]::ParameterName, 'Read the PKCS#11 token PIN (encryption type kms) from FILE')
            [CompletionResult]::new('--rekey', '--rekey', [CompletionResultType]::ParameterName, 'Also replace the store key: every private key protected by the passphrase is re-sealed, so an old copy of the store and the old passphrase open nothing made or kept after this (use after a leak)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document on stdout; errors as {"error_code","error_msg"} on stderr')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on stdout but the requested data (no status lines)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on stdout but the requested data (no status lines)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'kps;verify' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Store directory [default: the platform data dir, ~/.local/share/kps on Linux]')
            [CompletionResult]::new('--passphrase-file', '--passphrase-file', [CompletionResultType]::ParameterName, 'Read the store passphrase from FILE (one trailing newline is ignored)')
            [CompletionResult]::new('--pin-file', '--pin-file', [CompletionResultType]::ParameterName, 'Read the PKCS#11 token PIN (encryption type kms) from FILE')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document on stdout; errors as {"error_code","error_msg"} on stderr')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on stdout but the requested data (no status lines)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on stdout but the requested data (no status lines)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'kps;help' {
            [CompletionResult]::new('init', 'init', [CompletionResultType]::ParameterValue, 'Set up a new store and its passphrase')
            [CompletionResult]::new('create', 'create', [CompletionResultType]::ParameterValue, 'Generate a new keypair and store it')
            [CompletionResult]::new('import', 'import', [CompletionResultType]::ParameterValue, 'Import existing keys: private (PEM, OpenSSH, PuTTY .ppk), public, a service import request, or a whole directory')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List keypairs')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Show a keypair: fingerprints, public key and metadata (never the private key)')
            [CompletionResult]::new('find', 'find', [CompletionResultType]::ParameterValue, 'Find keypairs by fingerprint, in any form a console shows')
            [CompletionResult]::new('export', 'export', [CompletionResultType]::ParameterValue, 'Export a keypair''s private key (OpenSSH, PEM, PKCS#8) or its public key')
            [CompletionResult]::new('export-ppk', 'export-ppk', [CompletionResultType]::ParameterValue, 'Write a keypair''s private key as a PuTTY .ppk file (PuTTY, WinSCP, FileZilla, KiTTY)')
            [CompletionResult]::new('get-win-password', 'get-win-password', [CompletionResultType]::ParameterValue, 'Decrypt a Windows cloud server''s initial password with an RSA keypair')
            [CompletionResult]::new('set-encryption', 'set-encryption', [CompletionResultType]::ParameterValue, 'Move a keypair between protections: default (store passphrase) and kms (token)')
            [CompletionResult]::new('kms', 'kms', [CompletionResultType]::ParameterValue, 'The KMS (a PKCS#11 token) behind encryption type kms')
            [CompletionResult]::new('delete', 'delete', [CompletionResultType]::ParameterValue, 'Delete a keypair')
            [CompletionResult]::new('generate-docs', 'generate-docs', [CompletionResultType]::ParameterValue, 'Write shell completions and man pages (for packagers and the repository)')
            [CompletionResult]::new('backup', 'backup', [CompletionResultType]::ParameterValue, 'Write a consistent copy of the store to FILE (safe while kps runs)')
            [CompletionResult]::new('passwd', 'passwd', [CompletionResultType]::ParameterValue, 'Change the store passphrase; with --rekey also replace the store key')
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Check the store with its passphrase and pin its identity on this machine')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'kps;help;init' {
            break
        }
        'kps;help;create' {
            break
        }
        'kps;help;import' {
            break
        }
        'kps;help;list' {
            break
        }
        'kps;help;show' {
            break
        }
        'kps;help;find' {
            break
        }
        'kps;help;export' {
            break
        }
        'kps;help;export-ppk' {
            break
        }
        'kps;help;get-win-password' {
            break
        }
        'kps;help;set-encryption' {
            break
        }
        'kps;help;kms' {
            [CompletionResult]::new('configure', 'configure', [CompletionResultType]::ParameterValue, 'Record the PKCS#11 module and token kps uses, in your config directory')
            [CompletionResult]::new('create-key', 'create-key', [CompletionResultType]::ParameterValue, 'Make a non-extractable AES-256 master key on the token')
            [CompletionResult]::new('list-keys', 'list-keys', [CompletionResultType]::ParameterValue, 'List the token''s AES keys (label and id)')
            break
        }
        'kps;help;kms;configure' {
            break
        }
        'kps;help;kms;create-key' {
            break
        }
        'kps;help;kms;list-keys' {
            break
        }
        'kps;help;delete' {
            break
        }
        'kps;help;generate-docs' {
            break
        }
        'kps;help;backup' {
            break
        }
        'kps;help;passwd' {
            break
        }
        'kps;help;verify' {
            break
        }
        'kps;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
