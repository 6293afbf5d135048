//! Keys used without a key file on disk: the SSH agent protocol's wire
//! format ([`proto`]), the agent that serves held keys on a Unix socket
//! ([`server`]), the socket's place on disk ([`socket`]), the client that
//! hands keys to another agent ([`client`]), and the private agent of one
//! ssh run ([`oneshot`]).

pub mod client;
pub mod oneshot;
pub mod proto;
pub mod server;
pub mod socket;

use crate::{Error, Result};
use std::time::Duration;

/// The longest `--lifetime`: what an agent constraint can carry (uint32
/// seconds), so that the same value works for `ssh-add -t` style pushes.
const MAX_LIFETIME_SECS: u64 = u32::MAX as u64;

/// A duration as ssh-agent's `-t` takes it: `90` (seconds), `30m`, `8h`,
/// `1h30m`, `2d`, `1w`; units s, m, h, d, w.
pub fn parse_lifetime(text: &str) -> Result<Duration> {
    let bad = || {
        Error::invalid_with_hint(
            format!("'{text}' is not a duration"),
            "give a number with a unit, for example 2s, 30m, 8h or 1h30m (a bare number is seconds)",
        )
    };
    if text.is_empty() {
        return Err(bad());
    }
    let mut total: u64 = 0;
    let mut number: Option<u64> = None;
    for c in text.chars() {
        if let Some(d) = c.to_digit(10) {
            number = Some(
                number
                    .unwrap_or(0)
                    .checked_mul(10)
                    .and_then(|n| n.checked_add(d as u64))
                    .ok_or_else(bad)?,
            );
            continue;
        }
        let unit = match c.to_ascii_lowercase() {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 604_800,
            _ => return Err(bad()),
        };
        let n = number.take().ok_or_else(bad)?;
        total = n
            .checked_mul(unit)
            .and_then(|s| total.checked_add(s))
            .ok_or_else(bad)?;
    }
    if let Some(n) = number {
        total = total.checked_add(n).ok_or_else(bad)?;
    }
    if total == 0 {
        return Err(Error::invalid_with_hint(
            "the lifetime must be at least one second",
            "for example --lifetime 30m",
        ));
    }
    if total > MAX_LIFETIME_SECS {
        return Err(Error::invalid_with_hint(
            format!("the lifetime '{text}' is too long"),
            "give at most 136 years' worth of seconds (4294967295)",
        ));
    }
    Ok(Duration::from_secs(total))
}

#[cfg(test)]
mod tests {
    use super::parse_lifetime;
    use std::time::Duration;

    #[test]
    fn lifetimes_as_ssh_agent_takes_them() {
        for (text, secs) in [
            ("2s", 2),
            ("90", 90),
            ("30m", 1800),
            ("8h", 28_800),
            ("1h30m", 5400),
            ("2d", 172_800),
            ("1w", 604_800),
            ("1H", 3600),
        ] {
            assert_eq!(parse_lifetime(text).unwrap(), Duration::from_secs(secs));
        }
        for text in [
            "",
            "m",
            "0",
            "0s",
            "1x",
            "-1s",
            "1.5h",
            "99999999999999999999",
            "5000000000",
        ] {
            assert!(parse_lifetime(text).is_err(), "{text}");
        }
    }
}
