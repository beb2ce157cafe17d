//! One error type for the whole pipeline.
//!
//! Every error says what it is about (file, line, source, field) and, where one exists, what
//! to do. The variant decides the exit code: usage and configuration problems exit 2, runtime
//! failures 1, failed verification 3 (SPEC section 2).

use std::fmt;
use std::io;
use std::path::Path;

/// The result type used throughout dsar.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, grouped by how the operator should react.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The command line was wrong: fix the arguments.
    #[error("{0}")]
    Usage(String),
    /// The configuration file was wrong: fix `dsar.toml`.
    #[error("{0}")]
    Config(String),
    /// A source could not be read or returned bad data.
    #[error("source '{source_name}': {message}")]
    Source {
        /// The source's `name` from the configuration.
        source_name: String,
        /// What happened, naming file, line and field where known.
        message: String,
    },
    /// An archive did not verify: wrong key, tampering, checksum mismatch.
    #[error("{0}")]
    Verify(String),
    /// Anything else that failed while running (I/O, network, delivery).
    #[error("{0}")]
    Runtime(String),
    /// The operator interrupted the run (Ctrl-C).
    #[error("interrupted")]
    Interrupted,
}

impl Error {
    /// The process exit code for this error (SPEC section 2).
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_) | Error::Config(_) => 2,
            Error::Verify(_) => 3,
            Error::Source { .. } | Error::Runtime(_) => 1,
            Error::Interrupted => 130,
        }
    }

    /// A source error.
    pub fn source(name: &str, message: impl fmt::Display) -> Self {
        Error::Source {
            source_name: name.to_string(),
            message: message.to_string(),
        }
    }

    /// A runtime error with context.
    pub fn runtime(message: impl fmt::Display) -> Self {
        Error::Runtime(message.to_string())
    }

    /// An I/O error about a path.
    pub fn io(action: &str, path: &Path, err: io::Error) -> Self {
        Error::Runtime(format!("{action} {}: {err}", path.display()))
    }

    /// True when the root cause is a closed stdout (`dsar … | head`).
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, Error::Runtime(m) if m.contains("Broken pipe"))
    }
}

impl From<io::Error> for Error {
    fn from(err: io::Error) -> Self {
        // Errors raised inside Write adapters travel as io::Error; unwrap ours again.
        if err.get_ref().is_some_and(|e| e.is::<Error>()) {
            let inner = err.into_inner().expect("checked above");
            return *inner.downcast::<Error>().expect("checked above");
        }
        Error::Runtime(err.to_string())
    }
}

impl From<Error> for io::Error {
    fn from(err: Error) -> Self {
        io::Error::other(err)
    }
}

/// A database URL for messages: the password (and any query string) replaced.
pub fn redact_url(url: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, _)) => (b, "?…"),
        None => (url, ""),
    };
    let Some((scheme, rest)) = base.split_once("://") else {
        return format!("{base}{query}");
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{user}:***@{host}"),
            None => format!("{userinfo}@{host}"),
        },
        None => authority.to_string(),
    };
    format!("{scheme}://{authority}{path}{query}")
}

/// The password in a URL, to scrub it from driver messages.
pub fn url_password(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let authority = &rest[..rest.find('/').unwrap_or(rest.len())];
    let userinfo = authority.rsplit_once('@')?.0;
    let pw = userinfo.split_once(':')?.1;
    Some(
        percent_encoding::percent_decode_str(pw)
            .decode_utf8_lossy()
            .to_string(),
    )
}

/// A message with the password of `url` (raw and percent-decoded) replaced by `***`: database
/// drivers may echo the URL they failed to use.
pub fn scrub_password(message: &str, url: &str) -> String {
    let mut out = message.to_string();
    let raw = url
        .split_once("://")
        .map(|(_, rest)| &rest[..rest.find('/').unwrap_or(rest.len())])
        .and_then(|authority| authority.rsplit_once('@'))
        .and_then(|(userinfo, _)| userinfo.split_once(':'))
        .map(|(_, pw)| pw.to_string());
    for secret in [raw, url_password(url)].into_iter().flatten() {
        if !secret.is_empty() {
            out = out.replace(&secret, "***");
        }
    }
    out
}

/// Adds context to foreign errors.
pub trait Context<T> {
    /// Wraps the error as a runtime error prefixed with `what`.
    fn context(self, what: impl FnOnce() -> String) -> Result<T>;
}

impl<T, E: fmt::Display> Context<T> for std::result::Result<T, E> {
    fn context(self, what: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| Error::Runtime(format!("{}: {e}", what())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_redacted() {
        assert_eq!(
            redact_url("postgres://app:s3cr%40t@db.internal:5432/shop?sslmode=require"),
            "postgres://app:***@db.internal:5432/shop?…"
        );
        assert_eq!(
            redact_url("mysql://root@127.0.0.1/test"),
            "mysql://root@127.0.0.1/test"
        );
        assert_eq!(
            redact_url("/var/lib/dsar/ledger.sqlite"),
            "/var/lib/dsar/ledger.sqlite"
        );
        assert_eq!(
            url_password("postgres://a:s3cr%40t@h/db").as_deref(),
            Some("s3cr@t")
        );
    }

    #[test]
    fn passwords_are_scrubbed_from_messages() {
        let url = "postgres://app:s3cr%40t@db/x";
        assert_eq!(
            scrub_password("failed for postgres://app:s3cr%40t@db/x (s3cr@t)", url),
            "failed for postgres://app:***@db/x (***)"
        );
        assert_eq!(
            scrub_password("no secret here", "postgres://h/db"),
            "no secret here"
        );
    }
}
