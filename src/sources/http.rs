//! `http` sources: JSON APIs that answer "the records of this person" (chat transcripts, a
//! CRM, a helpdesk), asked with one GET per identifier.
//!
//! The URL template holds one `{kind}` placeholder; the value is percent-encoded into it.
//! Headers come from the config (secrets through `${VAR}`). Records are the array at the
//! `records` JSON pointer; further pages are followed through a `next` link (same origin
//! only) or a `cursor` sent back as `cursor_param`, at most `max_pages` pages per identifier.
//! Connection errors, 429 and 5xx are retried with exponential backoff. The expanded URL
//! holds an identifier, so messages show the template, never the URL that was requested.

use std::time::Duration;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::Value;
use url::Url;

use super::{BuildContext, Found, Query, Source};
use crate::config::SourceConfig;
use crate::error::{Error, Result};
use crate::subject::Kind;

/// Characters left as they are in a percent-encoded value (RFC 3986 unreserved).
const VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Requests per page before giving up.
const ATTEMPTS: u32 = 3;
/// The largest response body read (per page).
const MAX_BODY: u64 = 64 * 1024 * 1024;

/// A JSON API over HTTP(S).
pub struct HttpSource {
    cfg: SourceConfig,
    agent: ureq::Agent,
    kind: Kind,
    template: String,
    max_pages: u32,
    /// Base delay between attempts (doubled each time).
    backoff: Duration,
}

/// Why a request failed.
struct Failure {
    message: String,
    retry: bool,
    retry_after: Option<Duration>,
}

impl HttpSource {
    /// Builds the source and its HTTP agent; nothing is requested yet.
    pub fn new(cfg: SourceConfig, ctx: &BuildContext) -> Result<Self> {
        let _ = ctx;
        let template = cfg.url.clone().expect("validated: http needs url");
        let names = crate::config::placeholders(&template);
        let [name] = names.as_slice() else {
            return Err(Error::Config(format!(
                "source '{}': url needs exactly one identifier placeholder, e.g. \"…/transcripts?email={{email}}\"",
                cfg.name
            )));
        };
        let kind = Kind::parse(name)
            .map_err(|e| Error::Config(format!("source '{}': url placeholder {e}", cfg.name)))?;
        let probe = template.replace(&format!("{{{name}}}"), "x");
        match Url::parse(&probe) {
            Ok(u) if u.scheme() == "http" || u.scheme() == "https" => {}
            _ => {
                return Err(Error::Config(format!(
                    "source '{}': url '{}' is not an http:// or https:// URL",
                    cfg.name,
                    crate::error::redact_url(&template)
                )))
            }
        }
        match (&cfg.cursor, &cfg.cursor_param, &cfg.next) {
            (Some(_), None, _) | (None, Some(_), _) => {
                return Err(Error::Config(format!(
                    "source '{}': 'cursor' and 'cursor_param' go together (the cursor read from a page is sent back as that query parameter)",
                    cfg.name
                )))
            }
            (Some(_), Some(_), Some(_)) => {
                return Err(Error::Config(format!(
                    "source '{}': give either 'next' or 'cursor', not both",
                    cfg.name
                )))
            }
            _ => {}
        }
        let max_pages = cfg.max_pages.unwrap_or(100);
        if max_pages == 0 {
            return Err(Error::Config(format!(
                "source '{}': max_pages must be at least 1",
                cfg.name
            )));
        }
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(cfg.timeout()))
            .http_status_as_error(false)
            .user_agent(concat!("dsar/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Ok(HttpSource {
            cfg,
            agent,
            kind,
            template,
            max_pages,
            backoff: Duration::from_millis(250),
        })
    }

    /// The template as shown in messages (no password, no query string).
    fn shown(&self) -> String {
        crate::error::redact_url(&self.template)
    }

    fn err(&self, message: impl std::fmt::Display) -> Error {
        Error::source(&self.cfg.name, message)
    }

    /// The first page's URL for one identifier value.
    fn first_url(&self, value: &str) -> Result<Url> {
        let encoded = utf8_percent_encode(value, VALUE).to_string();
        let text = self
            .template
            .replace(&format!("{{{}}}", self.kind.as_str()), &encoded);
        Url::parse(&text).map_err(|e| {
            self.err(format!(
                "url {} is not valid once filled in: {e}",
                self.shown()
            ))
        })
    }

    /// One GET with the configured headers; `Ok` only for a 2xx JSON answer.
    fn get_once(&self, url: &Url, secrets: &[&str]) -> std::result::Result<Value, Failure> {
        let mut req = self.agent.get(url.as_str());
        let mut has_accept = false;
        for (k, v) in &self.cfg.headers {
            has_accept |= k.eq_ignore_ascii_case("accept");
            req = req.header(k.as_str(), v.as_str());
        }
        if !has_accept {
            req = req.header("Accept", "application/json");
        }
        let scrub = |text: String| -> String {
            let mut t = text.replace(url.as_str(), &self.shown());
            for s in secrets {
                if !s.is_empty() {
                    t = t.replace(s, "…");
                }
            }
            t
        };
        let mut resp = match req.call() {
            Ok(r) => r,
            Err(e) => {
                let message = match &e {
                    ureq::Error::Timeout(_) => format!(
                        "no answer within {}s (the source's timeout)",
                        self.cfg.timeout().as_secs_f32()
                    ),
                    ureq::Error::ConnectionFailed | ureq::Error::HostNotFound => {
                        format!("cannot connect ({e})")
                    }
                    ureq::Error::Io(io)
                        if matches!(
                            io.kind(),
                            std::io::ErrorKind::ConnectionRefused
                                | std::io::ErrorKind::ConnectionReset
                                | std::io::ErrorKind::ConnectionAborted
                                | std::io::ErrorKind::HostUnreachable
                                | std::io::ErrorKind::NetworkUnreachable
                                | std::io::ErrorKind::AddrNotAvailable
                        ) =>
                    {
                        format!("cannot connect ({io})")
                    }
                    other => scrub(other.to_string()),
                };
                return Err(Failure {
                    message,
                    retry: true,
                    retry_after: None,
                });
            }
        };
        let status = resp.status();
        if !status.is_success() {
            let retry_after = resp
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(|s| Duration::from_secs(s.min(10)));
            let code = status.as_u16();
            let hint = match code {
                401 | 403 => " (check the source's headers, e.g. the Authorization token)",
                404 => " (check the url template)",
                _ => "",
            };
            return Err(Failure {
                message: format!("HTTP {status}{hint}"),
                retry: code == 429 || status.is_server_error(),
                retry_after,
            });
        }
        let body = resp
            .body_mut()
            .with_config()
            .limit(MAX_BODY)
            .read_to_vec()
            .map_err(|e| Failure {
                message: match e {
                    ureq::Error::Timeout(_) => format!(
                        "the response did not finish within {}s (the source's timeout)",
                        self.cfg.timeout().as_secs_f32()
                    ),
                    ureq::Error::BodyExceedsLimit(_) => {
                        format!("a page is larger than {} MiB", MAX_BODY / 1024 / 1024)
                    }
                    other => format!("reading the response failed: {}", scrub(other.to_string())),
                },
                retry: true,
                retry_after: None,
            })?;
        serde_json::from_slice(&body).map_err(|e| Failure {
            message: format!("the response is not JSON ({e})"),
            retry: false,
            retry_after: None,
        })
    }

    /// GET with retries on connection errors, 429 and 5xx.
    fn get(&self, url: &Url, secrets: &[&str], attempts: u32) -> Result<Value> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.get_once(url, secrets) {
                Ok(v) => return Ok(v),
                Err(f) if f.retry && attempt < attempts => {
                    let wait = f
                        .retry_after
                        .unwrap_or(self.backoff * 2u32.pow(attempt - 1));
                    tracing::debug!(source = %self.cfg.name, attempt, "request failed ({}); retrying in {wait:?}", f.message);
                    std::thread::sleep(wait);
                }
                Err(f) => {
                    let tries = if attempt > 1 {
                        format!(" after {attempt} attempts")
                    } else {
                        String::new()
                    };
                    return Err(self.err(format!(
                        "GET {} failed{tries}: {}",
                        self.shown(),
                        f.message
                    )));
                }
            }
        }
    }

    /// Every page for one identifier value.
    fn fetch(&self, value: &str, emit: &mut dyn FnMut(Found) -> Result<()>) -> Result<()> {
        let first = self.first_url(value)?;
        let encoded = utf8_percent_encode(value, VALUE).to_string();
        let secrets = [value, encoded.as_str()];
        let mut url = first.clone();
        let mut page = 0u32;
        loop {
            page += 1;
            let doc = self.get(&url, &secrets, ATTEMPTS)?;
            let pointer = self.cfg.records.as_deref().unwrap_or("");
            match doc.pointer(pointer) {
                Some(Value::Array(items)) => {
                    for (i, item) in items.iter().enumerate() {
                        match item {
                            Value::Object(record) => emit(Found::Record(record.clone()))?,
                            _ => {
                                return Err(self.err(format!(
                                    "page {page}: element {i} of the records array is not an object"
                                )))
                            }
                        }
                    }
                }
                Some(Value::Null) => {}
                Some(_) if pointer.is_empty() => {
                    return Err(self.err(format!(
                        "page {page}: the response is not an array; set 'records' to the JSON pointer of the records array (e.g. \"/items\")"
                    )))
                }
                Some(_) => {
                    return Err(self.err(format!(
                        "page {page}: the value at records pointer '{pointer}' is not an array"
                    )))
                }
                None => {
                    return Err(self.err(format!(
                        "page {page}: the response has nothing at records pointer '{pointer}'"
                    )))
                }
            }
            let next = self.next_url(&doc, &first, &url, page)?;
            let Some(next) = next else { return Ok(()) };
            if page >= self.max_pages {
                return Err(self.err(format!(
                    "more than max_pages = {} pages for one identifier; raise max_pages or check the '{}' pointer",
                    self.max_pages,
                    if self.cfg.next.is_some() { "next" } else { "cursor" }
                )));
            }
            url = next;
        }
    }

    /// The next page's URL, from the `next` link or the `cursor`.
    fn next_url(&self, doc: &Value, first: &Url, current: &Url, page: u32) -> Result<Option<Url>> {
        if let Some(pointer) = &self.cfg.next {
            let link = match doc.pointer(pointer) {
                None | Some(Value::Null) => return Ok(None),
                Some(Value::String(s)) if s.is_empty() => return Ok(None),
                Some(Value::String(s)) => s,
                Some(_) => {
                    return Err(self.err(format!(
                        "page {page}: the value at next pointer '{pointer}' is not a URL string"
                    )))
                }
            };
            let next = current.join(link).map_err(|e| {
                self.err(format!(
                    "page {page}: the next link is not a valid URL ({e})"
                ))
            })?;
            if next.origin() != first.origin() {
                return Err(self.err(format!(
                    "page {page}: the next link points to another origin than {}; refusing to follow it (the request carries the source's headers)",
                    self.shown()
                )));
            }
            return Ok(Some(next));
        }
        if let (Some(pointer), Some(param)) = (&self.cfg.cursor, &self.cfg.cursor_param) {
            let cursor = match doc.pointer(pointer) {
                None | Some(Value::Null) | Some(Value::Bool(false)) => return Ok(None),
                Some(Value::String(s)) if s.is_empty() => return Ok(None),
                Some(Value::String(s)) => s.clone(),
                Some(Value::Number(n)) => n.to_string(),
                Some(_) => {
                    return Err(self.err(format!(
                        "page {page}: the value at cursor pointer '{pointer}' is not a string or number"
                    )))
                }
            };
            let mut next = first.clone();
            let kept: Vec<(String, String)> = first
                .query_pairs()
                .filter(|(k, _)| k != param.as_str())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            next.query_pairs_mut()
                .clear()
                .extend_pairs(kept)
                .append_pair(param, &cursor);
            return Ok(Some(next));
        }
        Ok(None)
    }
}

impl Source for HttpSource {
    fn config(&self) -> &SourceConfig {
        &self.cfg
    }

    fn check(&mut self) -> Result<String> {
        // One request with a value that names nobody: it proves the host answers and the
        // headers are accepted. Any answer below 500 other than 401/403 is fine: an API may
        // well say 404 for an unknown person.
        let url = self.first_url("dsar-check-probe")?;
        match self.get_once(&url, &[]) {
            Ok(_) => Ok(format!("GET {} answered with JSON", self.shown())),
            Err(f)
                if f.message.starts_with("HTTP 4")
                    && !f.message.starts_with("HTTP 401")
                    && !f.message.starts_with("HTTP 403")
                    && !f.message.starts_with("HTTP 407") =>
            {
                Ok(format!(
                    "GET {} is reachable ({} for a probe value)",
                    self.shown(),
                    f.message.split(" (").next().unwrap_or_default()
                ))
            }
            Err(f) if f.message.starts_with("the response is not JSON") => Ok(format!(
                "GET {} is reachable, but answered a probe value with something other than JSON",
                self.shown()
            )),
            Err(f) => Err(self.err(format!("GET {} failed: {}", self.shown(), f.message))),
        }
    }

    fn scan(&mut self, query: &Query<'_>, emit: &mut dyn FnMut(Found) -> Result<()>) -> Result<()> {
        let values: Vec<String> = query.new.values(&self.kind).map(str::to_string).collect();
        for value in values {
            self.fetch(&value, emit)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_percent_encoded() {
        assert_eq!(
            utf8_percent_encode("priya+x@example.com/?&#", VALUE).to_string(),
            "priya%2Bx%40example.com%2F%3F%26%23"
        );
        assert_eq!(utf8_percent_encode("Zoë", VALUE).to_string(), "Zo%C3%AB");
    }
}
