use super::{Context, private_key_of};
use crate::cli::GetWinPasswordArgs;
use crate::output;
use crate::passphrase;
use crate::report::CliError;
use kps::parse;
use serde_json::json;
use std::io::IsTerminal;
use std::path::Path;
use zeroize::Zeroizing;

fn read_stdin() -> anyhow::Result<Zeroizing<Vec<u8>>> {
    parse::read_limited(std::io::stdin().lock()).map_err(|source| {
        kps::Error::InputIo {
            path: "-".into(),
            source,
        }
        .into()
    })
}

/// The password data from `--password-data DATA|@FILE|-`, or stdin when it
/// is piped and the option is absent.
fn password_data(
    args: &GetWinPasswordArgs,
    stdin_taken: bool,
) -> anyhow::Result<Zeroizing<Vec<u8>>> {
    match args.password_data.as_deref() {
        Some("-") => {
            if stdin_taken {
                return Err(CliError::usage(
                    "stdin cannot hold both the private key and the password data",
                    "put one of them in a file",
                )
                .into());
            }
            read_stdin_data()
        }
        Some(arg) if arg.starts_with('@') => {
            let path = Path::new(&arg[1..]);
            std::fs::File::open(path)
                .and_then(parse::read_limited)
                .map_err(|source| {
                    kps::Error::InputIo {
                        path: path.to_path_buf(),
                        source,
                    }
                    .into()
                })
        }
        Some(data) => Ok(Zeroizing::new(data.as_bytes().to_vec())),
        None if !stdin_taken && !std::io::stdin().is_terminal() => read_stdin_data(),
        None => Err(no_password_data().into()),
    }
}

fn no_password_data() -> CliError {
    CliError::usage(
        "no password data given",
        "give --password-data DATA, @FILE or -, or pipe it in: \
         ... | kps get-win-password NAME",
    )
}

/// Standard input as password data. Zero bytes (`</dev/null`, a closed
/// stdin in CI) is no data at all, as at a terminal: "not available yet"
/// would invite a retry loop that never ends. A blank line is what
/// `aws ec2 get-password-data --output text` prints before the password is
/// ready, so it still goes on to say "not available yet".
fn read_stdin_data() -> anyhow::Result<Zeroizing<Vec<u8>>> {
    let data = read_stdin()?;
    if data.is_empty() {
        return Err(no_password_data().into());
    }
    Ok(data)
}

pub fn run(ctx: &Context, args: GetWinPasswordArgs) -> anyhow::Result<()> {
    let from_stdin = args.private_key.as_deref() == Some(Path::new("-"));
    let (label, key) = if let Some(path) = &args.private_key {
        let pass = match &args.key_passphrase_file {
            Some(p) => Some(passphrase::read_file(p)?),
            None => None,
        };
        let bytes = if from_stdin {
            read_stdin()?
        } else {
            std::fs::File::open(path)
                .and_then(parse::read_limited)
                .map_err(|source| kps::Error::InputIo {
                    path: path.clone(),
                    source,
                })?
        };
        let parsed = parse::private_key(&bytes, pass.as_ref())?;
        let label = path.display().to_string();
        if !matches!(parsed.key.algorithm(), ssh_key::Algorithm::Rsa { .. }) {
            return Err(kps::winpass::not_rsa(&label, parsed.key.algorithm().as_str()).into());
        }
        let data = password_data(&args, from_stdin)?;
        let ciphertext = kps::winpass::ciphertext(&data)?;
        (label, (parsed.key, ciphertext))
    } else {
        let name = args.name.clone().unwrap_or_default();
        let store = ctx.open_store()?;
        let keypair = store.get(&name)?;
        // Refused before any passphrase is asked for.
        if keypair.algorithm != "ssh-rsa" {
            return Err(kps::winpass::not_rsa(&name, &keypair.algorithm).into());
        }
        if !keypair.has_private_key {
            return Err(kps::Error::NoPrivateKey(name).into());
        }
        let data = password_data(&args, false)?;
        let ciphertext = kps::winpass::ciphertext(&data)?;
        let key = private_key_of(ctx, &store, &keypair)?;
        store.record_read(kps::team::Action::GetWinPassword, &keypair.name)?;
        (name, (key, ciphertext))
    };
    let (key, ciphertext) = key;
    let password = kps::winpass::decrypt(&key, &ciphertext, &label)?;
    if ctx.json {
        output::print_json(&json!({ "password": password.as_str() }))?;
    } else {
        output::print_text(&format!("{}\n", password.as_str()))?;
    }
    Ok(())
}
