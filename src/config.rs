//! `dsar.toml` → a validated, typed [`Config`].
//!
//! The file is parsed with serde (unknown keys are errors, with line and column from the TOML
//! parser), then every string that may hold `${VAR}` is interpolated from the environment and
//! every source is checked for the keys its type needs. Nothing here touches a source: that is
//! `sources check`'s job. Paths are resolved relative to the directory holding the file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::error::{Error, Result};

/// The whole configuration, validated.
#[derive(Debug, Clone)]
pub struct Config {
    /// The configuration file itself.
    pub file: PathBuf,
    /// The directory relative paths are resolved against.
    pub base_dir: PathBuf,
    /// Who answers the request.
    pub controller: Controller,
    /// Identity-graph settings.
    pub subject: SubjectSettings,
    /// Where the records come from, in file order.
    pub sources: Vec<SourceConfig>,
    /// Where the archive goes; `None` is the local `--out` folder.
    pub destination: Option<DestinationConfig>,
    /// The request ledger: a SQLite path (relative to the config) or a `postgres://` URL.
    pub ledger: String,
    /// Key for the keyed hashes of identifiers in the ledger and receipts, if given.
    pub ledger_key: Option<String>,
    /// Default recipients used when the command line names none.
    pub recipients: Vec<String>,
    /// A folder whose templates override the built-in ones.
    pub templates: Option<PathBuf>,
}

/// The organisation answering the request (shown in index.html and the notice).
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Controller {
    /// Legal name.
    pub name: String,
    /// Where the person can ask questions.
    pub contact: String,
    /// Postal address.
    #[serde(default)]
    pub address: String,
    /// Days allowed to answer a request.
    #[serde(default = "default_response_days")]
    pub response_days: u32,
    /// Data protection officer, if any.
    #[serde(default)]
    pub dpo_contact: Option<String>,
    /// Where the person may complain.
    #[serde(default)]
    pub supervisory_authority: Option<String>,
}

fn default_response_days() -> u32 {
    30
}

/// Identity-graph settings (`[subject]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubjectSettings {
    /// ISO 3166 region for phone numbers written without a country code.
    #[serde(default)]
    pub default_region: Option<String>,
    /// Maximum identity-graph rounds.
    #[serde(default = "default_max_rounds")]
    pub max_rounds: usize,
    /// Maximum number of derived identifiers of all kinds.
    #[serde(default = "default_max_identifiers")]
    pub max_identifiers: usize,
}

impl Default for SubjectSettings {
    fn default() -> Self {
        SubjectSettings {
            default_region: None,
            max_rounds: default_max_rounds(),
            max_identifiers: default_max_identifiers(),
        }
    }
}

fn default_max_rounds() -> usize {
    8
}
fn default_max_identifiers() -> usize {
    200
}

/// The kinds of source dsar can read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceType {
    /// RFC 4180 CSV with a header row.
    Csv,
    /// A JSON document holding an array of records.
    Json,
    /// One JSON object per line.
    Ndjson,
    /// A SQLite database file.
    Sqlite,
    /// A PostgreSQL database.
    Postgres,
    /// A MySQL or MariaDB database.
    Mysql,
    /// A JSON API over HTTP(S).
    Http,
    /// Web server access logs (Common/Combined Log Format).
    AccessLog,
    /// Folders of files (attachments, CVs).
    Files,
}

impl SourceType {
    /// The name used in the configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceType::Csv => "csv",
            SourceType::Json => "json",
            SourceType::Ndjson => "ndjson",
            SourceType::Sqlite => "sqlite",
            SourceType::Postgres => "postgres",
            SourceType::Mysql => "mysql",
            SourceType::Http => "http",
            SourceType::AccessLog => "access_log",
            SourceType::Files => "files",
        }
    }
}

/// One `[[sources]]` entry. Which keys apply depends on `type`; validation rejects the others.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    /// Unique name, `[a-z0-9_]+`; names the output files.
    pub name: String,
    /// The source type.
    #[serde(rename = "type")]
    pub kind: SourceType,
    /// File path or glob (csv, json, ndjson, sqlite, access_log, files), relative to the config.
    #[serde(default)]
    pub path: Option<String>,
    /// Database URL or HTTP URL template.
    #[serde(default)]
    pub url: Option<String>,
    /// Table for the generated query (sqlite, postgres, mysql).
    #[serde(default)]
    pub table: Option<String>,
    /// Hand-written query with `:kind` parameters (sqlite, postgres, mysql).
    #[serde(default)]
    pub query: Option<String>,
    /// JSON pointer to the array of records (json, http).
    #[serde(default)]
    pub records: Option<String>,
    /// Identifier kind → field holding it.
    #[serde(default, rename = "match")]
    pub match_fields: BTreeMap<String, String>,
    /// Identifier kind → field whose values become new identifiers.
    #[serde(default)]
    pub provides: BTreeMap<String, String>,
    /// Fields never exported.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// HTTP headers (http).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// CSV field delimiter, one ASCII character (csv; default `,`).
    #[serde(default)]
    pub delimiter: Option<String>,
    /// How SQL sources compare identifiers: `normalized` (default: the query normalises the
    /// column, e.g. `lower(trim(col))` for emails) or `exact` (the column is compared as
    /// stored, so an index on it is used; values must already be normalised).
    #[serde(default)]
    pub sql_match: Option<String>,
    /// HTTP: JSON pointer to the next page's URL in a response.
    #[serde(default)]
    pub next: Option<String>,
    /// HTTP: JSON pointer to a cursor value in a response, sent back as `cursor_param`.
    #[serde(default)]
    pub cursor: Option<String>,
    /// HTTP: query parameter carrying the cursor.
    #[serde(default)]
    pub cursor_param: Option<String>,
    /// HTTP: the most pages fetched for one identifier (default 100).
    #[serde(default)]
    pub max_pages: Option<u32>,
    /// Network timeout, e.g. "30s" (http, databases).
    #[serde(default)]
    pub timeout: Option<String>,
    /// Category of personal data (Art. 15(1)(b)).
    #[serde(default)]
    pub category: Option<String>,
    /// Purpose of processing (Art. 15(1)(a)).
    #[serde(default)]
    pub purpose: Option<String>,
    /// Legal basis of processing.
    #[serde(default)]
    pub legal_basis: Option<String>,
    /// Retention period (Art. 15(1)(d)).
    #[serde(default)]
    pub retention: Option<String>,
    /// Recipients or categories of recipients (Art. 15(1)(c)).
    #[serde(default)]
    pub recipients: Vec<String>,
    /// Where the data came from (Art. 15(1)(g)).
    #[serde(default)]
    pub origin: Option<String>,
    /// Transfers to third countries and safeguards (Art. 15(2)).
    #[serde(default)]
    pub transfers: Option<String>,
    /// Automated decision-making and profiling (Art. 15(1)(h)).
    #[serde(default)]
    pub automated_decisions: Option<String>,
}

impl SourceConfig {
    /// The request timeout, default 30 seconds.
    pub fn timeout(&self) -> Duration {
        self.timeout
            .as_deref()
            .and_then(|t| parse_duration(t).ok())
            .unwrap_or(Duration::from_secs(30))
    }
}

/// `[destination]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DestinationConfig {
    /// `local` or `s3`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Local folder (type = "local"); `--out` overrides it.
    #[serde(default)]
    pub path: Option<String>,
    /// S3 bucket.
    #[serde(default)]
    pub bucket: Option<String>,
    /// Key prefix, e.g. `exports/`.
    #[serde(default)]
    pub prefix: Option<String>,
    /// AWS region.
    #[serde(default)]
    pub region: Option<String>,
    /// Endpoint of an S3-compatible store (path-style addressing is used).
    #[serde(default)]
    pub endpoint: Option<String>,
    /// Lifetime of presigned links, e.g. `7d`; at most 7 days.
    #[serde(default)]
    pub link_ttl: Option<String>,
    /// Server-side encryption: `AES256` or `aws:kms`.
    #[serde(default)]
    pub sse: Option<String>,
    /// KMS key for `sse = "aws:kms"`.
    #[serde(default)]
    pub kms_key_id: Option<String>,
    /// Multipart part size, e.g. `16MiB` (at least 5 MiB).
    #[serde(default)]
    pub part_size: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    controller: Controller,
    #[serde(default)]
    subject: SubjectSettings,
    #[serde(default)]
    sources: Vec<SourceConfig>,
    #[serde(default)]
    destination: Option<DestinationConfig>,
    #[serde(default)]
    ledger: Option<String>,
    #[serde(default)]
    ledger_key: Option<String>,
    #[serde(default)]
    recipients: Vec<String>,
    #[serde(default)]
    templates: Option<String>,
}

impl Config {
    /// Reads and validates a configuration file.
    pub fn load(file: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(file).map_err(|e| {
            let hint = if e.kind() == std::io::ErrorKind::NotFound {
                " (pass --config PATH or set DSAR_CONFIG)"
            } else {
                ""
            };
            Error::Config(format!("cannot read config {}: {e}{hint}", file.display()))
        })?;
        let base_dir = file
            .parent()
            .map(|p| {
                if p.as_os_str().is_empty() {
                    PathBuf::from(".")
                } else {
                    p.to_path_buf()
                }
            })
            .unwrap_or_else(|| PathBuf::from("."));
        Self::parse(&text, file, &base_dir, &|name| std::env::var(name).ok())
    }

    /// Parses configuration text; `env` looks up `${VAR}` values.
    pub fn parse(
        text: &str,
        file: &Path,
        base_dir: &Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config> {
        let shown = file.display();
        let raw: RawConfig = toml::from_str(text).map_err(|e| {
            let (line, col) = e.span().map(|s| line_col(text, s.start)).unwrap_or((0, 0));
            let message = e.message().trim_end().to_string();
            if line > 0 {
                Error::Config(format!("{shown}:{line}:{col}: {message}"))
            } else {
                Error::Config(format!("{shown}: {message}"))
            }
        })?;
        let ctx = Interp {
            file: shown.to_string(),
            env,
        };
        let mut controller = raw.controller;
        controller.name = ctx.apply(&controller.name, "controller.name")?;
        controller.contact = ctx.apply(&controller.contact, "controller.contact")?;
        controller.address = ctx.apply(&controller.address, "controller.address")?;
        if controller.name.trim().is_empty() {
            return Err(ctx.error("controller.name", "must not be empty"));
        }

        let mut sources = Vec::with_capacity(raw.sources.len());
        let mut seen = std::collections::HashSet::new();
        for (i, mut s) in raw.sources.into_iter().enumerate() {
            let at = format!("sources[{i}] ('{}')", s.name);
            if s.name.is_empty()
                || s.name.len() > 64
                || !s
                    .name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            {
                return Err(ctx.error(
                    &format!("sources[{i}].name"),
                    &format!(
                        "'{}' is not a valid source name: use 1-64 characters of [a-z0-9_]",
                        s.name
                    ),
                ));
            }
            if !seen.insert(s.name.clone()) {
                return Err(ctx.error(
                    &format!("{at}.name"),
                    "is used by two sources; names must be unique",
                ));
            }
            for (field, value) in [
                ("path", &mut s.path),
                ("url", &mut s.url),
                ("table", &mut s.table),
                ("query", &mut s.query),
                ("records", &mut s.records),
            ] {
                if let Some(v) = value.as_mut() {
                    *v = ctx.apply(v, &format!("{at}.{field}"))?;
                }
            }
            for (k, v) in s.headers.iter_mut() {
                *v = ctx.apply(v, &format!("{at}.headers.{k}"))?;
            }
            validate_source(&s, &at, &ctx)?;
            sources.push(s);
        }

        let destination = match raw.destination {
            Some(mut d) => {
                for (field, value) in [
                    ("path", &mut d.path),
                    ("bucket", &mut d.bucket),
                    ("prefix", &mut d.prefix),
                    ("region", &mut d.region),
                    ("endpoint", &mut d.endpoint),
                    ("kms_key_id", &mut d.kms_key_id),
                ] {
                    if let Some(v) = value.as_mut() {
                        *v = ctx.apply(v, &format!("destination.{field}"))?;
                    }
                }
                validate_destination(&d, &ctx)?;
                Some(d)
            }
            None => None,
        };

        let ledger = match raw.ledger {
            Some(l) => ctx.apply(&l, "ledger")?,
            None => "dsar-ledger.sqlite".to_string(),
        };
        let ledger = if ledger.contains("://") || ledger.starts_with("sqlite:") {
            ledger
        } else {
            base_dir.join(ledger).display().to_string()
        };
        let ledger_key = raw
            .ledger_key
            .map(|k| ctx.apply(&k, "ledger_key"))
            .transpose()?;
        let recipients = raw
            .recipients
            .iter()
            .enumerate()
            .map(|(i, r)| ctx.apply(r, &format!("recipients[{i}]")))
            .collect::<Result<Vec<_>>>()?;
        let templates = raw
            .templates
            .map(|t| ctx.apply(&t, "templates").map(|t| base_dir.join(t)))
            .transpose()?;
        if raw.subject.max_rounds == 0 || raw.subject.max_identifiers == 0 {
            return Err(ctx.error(
                "subject",
                "max_rounds and max_identifiers must be at least 1",
            ));
        }
        if let Some(region) = &raw.subject.default_region {
            if crate::subject::region(region).is_none() {
                return Err(ctx.error(
                    "subject.default_region",
                    &format!("'{region}' is not an ISO 3166 region code such as \"IN\" or \"DE\""),
                ));
            }
        }

        Ok(Config {
            file: file.to_path_buf(),
            base_dir: base_dir.to_path_buf(),
            controller,
            subject: raw.subject,
            sources,
            destination,
            ledger,
            ledger_key,
            recipients,
            templates,
        })
    }
}

struct Interp<'a> {
    file: String,
    env: &'a dyn Fn(&str) -> Option<String>,
}

impl Interp<'_> {
    fn error(&self, key: &str, message: &str) -> Error {
        Error::Config(format!("{}: {key}: {message}", self.file))
    }

    /// Replaces every `${VAR}` with the environment's value; `$$` is a literal `$`.
    fn apply(&self, s: &str, key: &str) -> Result<String> {
        if !s.contains('$') {
            return Ok(s.to_string());
        }
        let mut out = String::with_capacity(s.len());
        let mut rest = s;
        while let Some(pos) = rest.find('$') {
            out.push_str(&rest[..pos]);
            let after = &rest[pos + 1..];
            if let Some(stripped) = after.strip_prefix('$') {
                out.push('$');
                rest = stripped;
            } else if let Some(inner) = after.strip_prefix('{') {
                let end = inner
                    .find('}')
                    .ok_or_else(|| self.error(key, "has '${' without a closing '}'"))?;
                let name = &inner[..end];
                if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                {
                    return Err(self.error(
                        key,
                        &format!("'${{{name}}}' is not a valid environment variable reference"),
                    ));
                }
                let value = (self.env)(name).ok_or_else(|| {
                    self.error(
                        key,
                        &format!("environment variable {name} is not set (export {name}=…)"),
                    )
                })?;
                out.push_str(&value);
                rest = &inner[end + 1..];
            } else {
                out.push('$');
                rest = after;
            }
        }
        out.push_str(rest);
        Ok(out)
    }
}

fn validate_source(s: &SourceConfig, at: &str, ctx: &Interp<'_>) -> Result<()> {
    use SourceType::*;
    let kind = s.kind;
    let allowed: &[&str] = match kind {
        Csv => &["path", "delimiter"],
        Json => &["path", "records"],
        Ndjson => &["path"],
        Sqlite => &["path", "url", "table", "query", "sql_match", "timeout"],
        Postgres | Mysql => &["url", "table", "query", "sql_match", "timeout"],
        Http => &[
            "url",
            "records",
            "headers",
            "next",
            "cursor",
            "cursor_param",
            "max_pages",
            "timeout",
        ],
        AccessLog => &["path"],
        Files => &["path"],
    };
    let present: [(&str, bool); 13] = [
        ("path", s.path.is_some()),
        ("url", s.url.is_some()),
        ("table", s.table.is_some()),
        ("query", s.query.is_some()),
        ("records", s.records.is_some()),
        ("headers", !s.headers.is_empty()),
        ("delimiter", s.delimiter.is_some()),
        ("sql_match", s.sql_match.is_some()),
        ("next", s.next.is_some()),
        ("cursor", s.cursor.is_some()),
        ("cursor_param", s.cursor_param.is_some()),
        ("max_pages", s.max_pages.is_some()),
        ("timeout", s.timeout.is_some()),
    ];
    for (key, is_set) in present {
        if is_set && !allowed.contains(&key) {
            return Err(ctx.error(
                &format!("{at}.{key}"),
                &format!("does not apply to {} sources", kind.as_str()),
            ));
        }
    }
    let need = |key: &str, v: &Option<String>| -> Result<()> {
        match v {
            Some(v) if !v.trim().is_empty() => Ok(()),
            _ => Err(ctx.error(
                &format!("{at}.{key}"),
                &format!("is required for {} sources", kind.as_str()),
            )),
        }
    };
    match kind {
        Csv | Json | Ndjson | AccessLog | Files => need("path", &s.path)?,
        Sqlite => {
            if s.path.is_none() && s.url.is_none() {
                return Err(ctx.error(
                    &format!("{at}.path"),
                    "is required for sqlite sources (or url = \"sqlite:…\")",
                ));
            }
        }
        Postgres | Mysql | Http => need("url", &s.url)?,
    }
    if matches!(kind, Sqlite | Postgres | Mysql) && (s.table.is_some() == s.query.is_some()) {
        return Err(ctx.error(
            at,
            "give exactly one of 'table' (the query is generated from 'match') or 'query'",
        ));
    }
    if let Some(t) = &s.table {
        if t.is_empty()
            || !t
                .split('.')
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
        {
            return Err(ctx.error(
                &format!("{at}.table"),
                &format!("'{t}' is not a plain table name ([A-Za-z0-9_], optionally schema.table)"),
            ));
        }
    }
    if let Some(m) = &s.sql_match {
        if m != "normalized" && m != "exact" {
            return Err(ctx.error(
                &format!("{at}.sql_match"),
                &format!("'{m}' must be \"normalized\" or \"exact\""),
            ));
        }
    }
    if let Some(d) = &s.delimiter {
        if d.len() != 1 || !d.is_ascii() {
            return Err(ctx.error(
                &format!("{at}.delimiter"),
                "must be a single ASCII character",
            ));
        }
    }
    if let Some(t) = &s.timeout {
        parse_duration(t).map_err(|e| ctx.error(&format!("{at}.timeout"), &e))?;
    }
    for (key, value) in [
        ("records", &s.records),
        ("next", &s.next),
        ("cursor", &s.cursor),
    ] {
        if let Some(p) = value {
            if !p.is_empty() && !p.starts_with('/') {
                return Err(ctx.error(
                    &format!("{at}.{key}"),
                    &format!(
                        "'{p}' is not a JSON pointer; it must start with '/' (e.g. \"/items\")"
                    ),
                ));
            }
        }
    }
    let templated = matches!(kind, Http | Files) || s.query.is_some();
    if s.match_fields.is_empty() && !templated {
        return Err(ctx.error(
            &format!("{at}.match"),
            "is required: map identifier kinds to the fields holding them, e.g. match = { email = \"email\" }",
        ));
    }
    for (kind_name, field) in s.match_fields.iter().chain(s.provides.iter()) {
        crate::subject::Kind::parse(kind_name)
            .map_err(|e| ctx.error(&format!("{at}.match/provides"), &e))?;
        if field.trim().is_empty() {
            return Err(ctx.error(
                &format!("{at}.match/provides.{kind_name}"),
                "names an empty field",
            ));
        }
    }
    if kind == Files {
        let p = s.path.as_deref().unwrap_or_default();
        if placeholders(p).is_empty() {
            return Err(ctx.error(
                &format!("{at}.path"),
                "needs an identifier placeholder such as \"attachments/{ticket_id}/*\"",
            ));
        }
    }
    if kind == Http {
        let u = s.url.as_deref().unwrap_or_default();
        if placeholders(u).is_empty() {
            return Err(ctx.error(
                &format!("{at}.url"),
                "needs an identifier placeholder such as \"…/transcripts?email={email}\"",
            ));
        }
    }
    for template in [s.path.as_deref(), s.url.as_deref()].into_iter().flatten() {
        let kinds = placeholders(template);
        if kinds.len() > 1 && matches!(kind, Http | Files) {
            return Err(ctx.error(
                at,
                "a path or URL template may use one identifier kind only",
            ));
        }
    }
    Ok(())
}

/// The `{kind}` placeholders in a path or URL template, deduplicated, in order.
pub fn placeholders(template: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        let after = &rest[start + 1..];
        let Some(end) = after.find('}') else { break };
        let name = &after[..end];
        if !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            && !out.iter().any(|n| n == name)
        {
            out.push(name.to_string());
        }
        rest = &after[end + 1..];
    }
    out
}

fn validate_destination(d: &DestinationConfig, ctx: &Interp<'_>) -> Result<()> {
    match d.kind.as_str() {
        "local" => {
            for (key, set) in [
                ("bucket", d.bucket.is_some()),
                ("endpoint", d.endpoint.is_some()),
                ("link_ttl", d.link_ttl.is_some()),
                ("sse", d.sse.is_some()),
                ("prefix", d.prefix.is_some()),
                ("region", d.region.is_some()),
                ("kms_key_id", d.kms_key_id.is_some()),
                ("part_size", d.part_size.is_some()),
            ] {
                if set {
                    return Err(ctx.error(
                        &format!("destination.{key}"),
                        "does not apply to a local destination",
                    ));
                }
            }
        }
        "s3" => {
            if d.bucket.as_deref().is_none_or(|b| b.trim().is_empty()) {
                return Err(ctx.error("destination.bucket", "is required for an s3 destination"));
            }
            if let Some(ttl) = &d.link_ttl {
                link_ttl(ttl).map_err(|e| ctx.error("destination.link_ttl", &e))?;
            }
            if d.path.is_some() {
                return Err(ctx.error(
                    "destination.path",
                    "does not apply to an s3 destination (receipt and notice go to --out)",
                ));
            }
            if let Some(e) = d.endpoint.as_deref().filter(|e| !e.is_empty()) {
                if !(e.starts_with("http://") || e.starts_with("https://")) {
                    return Err(ctx.error(
                        "destination.endpoint",
                        &format!("'{e}' must be a URL such as \"https://s3.example.com\""),
                    ));
                }
            }
            match d.sse.as_deref() {
                None | Some("AES256") => {
                    if d.kms_key_id.is_some() {
                        return Err(ctx.error(
                            "destination.kms_key_id",
                            "applies only with sse = \"aws:kms\"",
                        ));
                    }
                }
                Some("aws:kms") => {}
                Some(other) => {
                    return Err(ctx.error(
                        "destination.sse",
                        &format!("'{other}' must be \"AES256\" or \"aws:kms\""),
                    ))
                }
            }
            if let Some(p) = &d.part_size {
                let bytes = parse_size(p).map_err(|e| ctx.error("destination.part_size", &e))?;
                if !(5 * 1024 * 1024..=5 * 1024 * 1024 * 1024).contains(&bytes) {
                    return Err(ctx.error(
                        "destination.part_size",
                        "must be between 5MiB and 5GiB (S3 multipart limits)",
                    ));
                }
            }
        }
        other => {
            return Err(ctx.error(
                "destination.type",
                &format!("'{other}' must be \"local\" or \"s3\""),
            ))
        }
    }
    Ok(())
}

/// The longest presigned link SigV4 allows: 7 days.
pub const MAX_LINK_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

/// Parses and checks a link lifetime: positive and at most 7 days.
pub fn link_ttl(text: &str) -> std::result::Result<Duration, String> {
    let d = parse_duration(text)?;
    if d.is_zero() {
        return Err(format!(
            "'{text}' is zero; a link must live at least one second"
        ));
    }
    if d > MAX_LINK_TTL {
        return Err(format!(
            "'{text}' is longer than 7 days, the most a presigned S3 link (SigV4) can live; use 7d or less"
        ));
    }
    Ok(d)
}

/// Parses `90s`, `15m`, `12h`, `7d`, or a combination such as `1d12h`. A bare number is seconds.
pub fn parse_duration(text: &str) -> std::result::Result<Duration, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("is empty; write a duration such as \"7d\", \"12h\" or \"30s\"".into());
    }
    if let Ok(secs) = t.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    let mut total: u64 = 0;
    let mut digits = String::new();
    for c in t.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86400,
            'w' => 7 * 86400,
            _ => {
                return Err(format!(
                    "'{text}' is not a duration; use a number with s, m, h, d or w (e.g. \"7d\")"
                ))
            }
        };
        let n: u64 = digits
            .parse()
            .map_err(|_| format!("'{text}' is not a duration; a unit must follow a number"))?;
        total = total.saturating_add(n.saturating_mul(unit));
        digits.clear();
    }
    if !digits.is_empty() {
        return Err(format!("'{text}' ends without a unit (s, m, h, d or w)"));
    }
    Ok(Duration::from_secs(total))
}

/// Parses a byte size such as `16MiB`, `8MB`, `1048576`.
pub fn parse_size(text: &str) -> std::result::Result<u64, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("'{text}' is not a size such as \"16MiB\""))?;
    let mult = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1000,
        "kib" => 1024,
        "m" | "mb" => 1000 * 1000,
        "mib" => 1024 * 1024,
        "g" | "gb" => 1000 * 1000 * 1000,
        "gib" => 1024 * 1024 * 1024,
        _ => return Err(format!("'{text}' has an unknown unit; use KiB, MiB or GiB")),
    };
    Ok(n.saturating_mul(mult))
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before
        .rfind('\n')
        .map_or(before.len(), |p| before.len() - p - 1)
        + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config> {
        Config::parse(text, Path::new("dsar.toml"), Path::new("."), &|v| {
            (v == "SET").then(|| "value".to_string())
        })
    }

    const BASE: &str = "[controller]\nname = \"Acme\"\ncontact = \"privacy@acme.test\"\n";

    #[test]
    fn unknown_key_names_line_and_key() {
        let err = parse(&format!(
            "{BASE}[[sources]]\nname = \"a\"\ntype = \"csv\"\npath = \"a.csv\"\nmatch = {{ email = \"email\" }}\ncatgory = \"x\"\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(err.contains("dsar.toml:9:1"), "{err}");
        assert!(err.contains("catgory"), "{err}");
    }

    #[test]
    fn unset_variable_is_named() {
        let err = parse(&format!(
            "{BASE}[[sources]]\nname = \"a\"\ntype = \"postgres\"\nurl = \"${{NOPE}}\"\ntable = \"t\"\nmatch = {{ email = \"email\" }}\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(err.contains("NOPE is not set"), "{err}");
        assert!(err.contains("sources[0] ('a').url"), "{err}");
    }

    #[test]
    fn variables_are_replaced() {
        let c = parse(&format!(
            "{BASE}[[sources]]\nname = \"a\"\ntype = \"postgres\"\nurl = \"pg://${{SET}}/$$x\"\ntable = \"t\"\nmatch = {{ email = \"email\" }}\n"
        ))
        .unwrap();
        assert_eq!(c.sources[0].url.as_deref(), Some("pg://value/$x"));
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("7d").unwrap(), Duration::from_secs(604800));
        assert_eq!(
            parse_duration("1d12h").unwrap(),
            Duration::from_secs(129600)
        );
        assert_eq!(parse_duration("2s").unwrap(), Duration::from_secs(2));
        assert!(link_ttl("8d").unwrap_err().contains("7 days"));
        assert!(link_ttl("0s").is_err());
        assert!(parse_duration("7 days").is_err());
    }

    #[test]
    fn s3_destination_keys_are_checked() {
        let dest = |extra: &str| {
            parse(&format!(
                "{BASE}[destination]\ntype = \"s3\"\nbucket = \"b\"\n{extra}"
            ))
        };
        assert!(dest("endpoint = \"http://127.0.0.1:9000\"\nlink_ttl = \"7d\"\n").is_ok());
        let err = dest("link_ttl = \"8d\"\n").unwrap_err().to_string();
        assert!(
            err.contains("destination.link_ttl") && err.contains("7 days"),
            "{err}"
        );
        let err = dest("endpoint = \"127.0.0.1:9000\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("destination.endpoint"), "{err}");
        let err = dest("part_size = \"1MiB\"\n").unwrap_err().to_string();
        assert!(err.contains("5MiB"), "{err}");
        let err = parse(&format!(
            "{BASE}[destination]\ntype = \"local\"\nprefix = \"x/\"\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("does not apply to a local destination"),
            "{err}"
        );
    }

    #[test]
    fn source_names_and_keys_are_checked() {
        let err = parse(&format!(
            "{BASE}[[sources]]\nname = \"Bad-Name\"\ntype = \"csv\"\npath = \"a.csv\"\nmatch = {{ email = \"email\" }}\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(err.contains("not a valid source name"), "{err}");
        let err = parse(&format!(
            "{BASE}[[sources]]\nname = \"a\"\ntype = \"csv\"\npath = \"a.csv\"\ntable = \"t\"\nmatch = {{ email = \"email\" }}\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(err.contains("does not apply to csv"), "{err}");
    }
}
