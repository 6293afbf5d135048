//! Which servers: `[USER@]HOST[:PORT]` on the command line or one a line in
//! a hosts file, IPv6 addresses in brackets (`root@[::1]:2222`).

use crate::{Error, Result};
use std::fmt;

/// One server as the user named it. `user` and `port` are what was
/// written; what ssh will use when they are left out comes from `ssh -G`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub user: Option<String>,
    pub host: String,
    pub port: Option<u16>,
}

impl Target {
    pub fn parse(text: &str) -> Result<Target> {
        let bad = |why: &str| Error::InvalidParameter {
            message: format!("'{}' is not a server: {why}", crate::text::escape(text)),
            hint: Some(
                "write [USER@]HOST[:PORT], an IPv6 address in brackets: root@[::1]:22".into(),
            ),
        };
        if text.is_empty() {
            return Err(bad("it is empty"));
        }
        if text
            .chars()
            .any(|c| c.is_whitespace() || crate::text::is_forbidden(c))
        {
            return Err(bad("it holds a blank or a control character"));
        }
        let (user, rest) = match text.rsplit_once('@') {
            Some((user, rest)) => (Some(user), rest),
            None => (None, text),
        };
        if let Some(user) = user {
            // ssh reads a leading '-' as an option; '%' and such would be
            // expanded in its config.
            if user.is_empty() || user.starts_with('-') || !user.chars().all(user_char) {
                return Err(bad("the user name is not a plain login name"));
            }
        }
        let (host, port) = if let Some(inner) = rest.strip_prefix('[') {
            let (addr, after) = inner
                .split_once(']')
                .ok_or_else(|| bad("a '[' without its ']'"))?;
            let port = match after {
                "" => None,
                _ => Some(
                    after
                        .strip_prefix(':')
                        .ok_or_else(|| bad("something after ']' that is not :PORT"))?,
                ),
            };
            (addr, port)
        } else {
            match rest.split_once(':') {
                Some((_, p)) if p.contains(':') => {
                    return Err(bad("an IPv6 address goes in brackets: [::1]:22"));
                }
                Some((h, p)) => (h, Some(p)),
                None => (rest, None),
            }
        };
        if host.is_empty() || host.starts_with('-') || !host.chars().all(host_char) {
            return Err(bad("the host is not a name or an address"));
        }
        let port = match port {
            None => None,
            Some(p) => Some(
                p.parse::<u16>()
                    .ok()
                    .filter(|p| *p != 0)
                    .ok_or_else(|| bad("the port is not a number from 1 to 65535"))?,
            ),
        };
        Ok(Target {
            user: user.map(str::to_string),
            host: host.to_string(),
            port,
        })
    }

    /// The hosts of a hosts file: one `[USER@]HOST[:PORT]` a line, `#`
    /// comments and blank lines ignored; errors name the line.
    pub fn parse_list(text: &str, file: &str) -> Result<Vec<Target>> {
        let mut targets = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            targets.push(Target::parse(line).map_err(|e| match e {
                Error::InvalidParameter { message, hint } => Error::InvalidParameter {
                    message: format!("{}:{}: {message}", crate::text::escape(file), n + 1),
                    hint,
                },
                other => other,
            })?);
        }
        Ok(targets)
    }

    /// What ssh is given as the destination: `user@host` (the port goes in
    /// `-p`); an IPv6 address without brackets, as ssh wants it there.
    pub fn destination(&self) -> String {
        match &self.user {
            Some(user) => format!("{user}@{}", self.host),
            None => self.host.clone(),
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(user) = &self.user {
            write!(f, "{user}@")?;
        }
        if self.host.contains(':') {
            write!(f, "[{}]", self.host)?;
        } else {
            write!(f, "{}", self.host)?;
        }
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        Ok(())
    }
}

fn user_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "._-".contains(c)
}

fn host_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || ".-_:%".contains(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(user: Option<&str>, host: &str, port: Option<u16>) -> Target {
        Target {
            user: user.map(str::to_string),
            host: host.into(),
            port,
        }
    }

    #[test]
    fn the_forms_people_write() {
        assert_eq!(Target::parse("web1").unwrap(), t(None, "web1", None));
        assert_eq!(
            Target::parse("root@10.0.0.5:2222").unwrap(),
            t(Some("root"), "10.0.0.5", Some(2222))
        );
        assert_eq!(
            Target::parse("admin@[::1]:22").unwrap(),
            t(Some("admin"), "::1", Some(22))
        );
        assert_eq!(
            Target::parse("[fe80::1%eth0]").unwrap(),
            t(None, "fe80::1%eth0", None)
        );
        assert_eq!(
            Target::parse("root@[::1]:22").unwrap().to_string(),
            "root@[::1]:22"
        );
    }

    #[test]
    fn what_ssh_would_misread_is_refused() {
        for bad in [
            "",
            "-oProxyCommand=x",
            "root@-x",
            "a b",
            "::1",
            "h:0",
            "h:70000",
            "h:x",
            "[::1",
            "[::1]x",
            "@h",
            "ro%ot@h",
            "h\u{1b}[2J",
            "a@b@c",
        ] {
            assert!(Target::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn hosts_files_skip_comments_and_name_the_bad_line() {
        let list = Target::parse_list("# web\nweb1\n\n root@web2:2200  # second\n", "h").unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[1], t(Some("root"), "web2", Some(2200)));
        let e = Target::parse_list("web1\nbad host\n", "hosts.txt").unwrap_err();
        assert!(e.to_string().starts_with("hosts.txt:2: "), "{e}");
    }
}
