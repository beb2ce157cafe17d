//! `access_log` sources: web server logs in Common or Combined Log Format, plain or `.gz`,
//! over a glob of rotated files.
//!
//! Logs are large and a person's lines are few, so the scan never parses a line it does not
//! have to: the file is read in big chunks and searched for the new identifiers' text with
//! one Aho-Corasick automaton (an IPv4 address also finds its `::ffff:` mapped form); only the
//! lines holding a hit are parsed and handed to the matcher. IPv6 addresses have many textual
//! forms, so when one is asked about, each line's first token (the client address) is parsed
//! and compared in canonical form instead. A malformed candidate line is an error naming the
//! file and line; lines that cannot match are not parsed (`sources check` parses the first
//! lines of every file to catch a wrong format early).

use std::collections::HashSet;
use std::io::Read;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use aho_corasick::AhoCorasick;
use serde_json::Value;

use super::{expand_paths, shown, BuildContext, Found, Query, Source};
use crate::config::SourceConfig;
use crate::error::{Error, Result};
use crate::records::Record;
use crate::subject::{normalize_ip, Kind};

/// Lines `sources check` parses at the start of each file.
const CHECK_LINES: u64 = 1000;

/// Web server access logs (Common/Combined Log Format).
pub struct AccessLogSource {
    cfg: SourceConfig,
    base: PathBuf,
}

impl AccessLogSource {
    /// Builds the source; files are opened on each visit.
    pub fn new(cfg: SourceConfig, ctx: &BuildContext) -> Result<Self> {
        Ok(AccessLogSource {
            cfg,
            base: ctx.base_dir.clone(),
        })
    }

    fn files(&self) -> Result<Vec<PathBuf>> {
        expand_paths(
            &self.cfg.name,
            &self.base,
            self.cfg.path.as_deref().expect("validated"),
        )
    }

    fn open(&self, path: &Path) -> Result<Box<dyn Read + Send>> {
        super::open_file(&self.cfg.name, &self.base, path)
    }

    /// Reads `path` chunk by chunk (each ending at a line end) and calls `f(chunk, first_line)`.
    fn chunks(
        &self,
        path: &Path,
        f: &mut dyn FnMut(&[u8], u64) -> Result<ChunkResult>,
    ) -> Result<()> {
        let shown_path = shown(&self.base, path);
        let mut reader = self.open(path)?;
        let mut buf = vec![0u8; 8 * 1024 * 1024];
        let mut filled = 0usize;
        let mut line = 1u64;
        let mut eof = false;
        while !eof {
            while filled < buf.len() {
                let n = reader.read(&mut buf[filled..]).map_err(|e| {
                    Error::source(
                        &self.cfg.name,
                        format!("{shown_path}: read error near line {line}: {e}"),
                    )
                })?;
                if n == 0 {
                    eof = true;
                    break;
                }
                filled += n;
            }
            let end = if eof {
                filled
            } else {
                match memchr::memrchr(b'\n', &buf[..filled]) {
                    Some(i) => i + 1,
                    None => {
                        // One line longer than the buffer: grow it.
                        buf.resize(buf.len() * 2, 0);
                        continue;
                    }
                }
            };
            match f(&buf[..end], line)? {
                ChunkResult::Continue(lines) => line += lines,
                ChunkResult::Stop => return Ok(()),
            }
            buf.copy_within(end..filled, 0);
            filled -= end;
        }
        Ok(())
    }

    fn scan_file(
        &self,
        path: &Path,
        plan: &Plan,
        query: &Query<'_>,
        emit: &mut dyn FnMut(Found) -> Result<()>,
    ) -> Result<()> {
        let file = shown(&self.base, path);
        let mut process = |line: &[u8], number: u64| -> Result<()> {
            let entry = parse_line(line)
                .map_err(|e| Error::source(&self.cfg.name, format!("{file} line {number}: {e}")))?;
            let Some(entry) = entry else { return Ok(()) };
            let record = entry.record(&file, number);
            if query.matcher.matches(&record, query.new) {
                emit(Found::Record(record))?;
            }
            Ok(())
        };
        self.chunks(path, &mut |chunk, first| {
            let mut pos = 0usize;
            let mut line = first;
            while pos < chunk.len() {
                if plan.per_line() {
                    let end = memchr::memchr(b'\n', &chunk[pos..]).map_or(chunk.len(), |i| pos + i);
                    let text = &chunk[pos..end];
                    if plan.candidate(text) {
                        process(text, line)?;
                    }
                    line += 1;
                    pos = end + 1;
                    continue;
                }
                let Some(ac) = &plan.automaton else {
                    line += count_lines(&chunk[pos..]);
                    break;
                };
                match ac.find(&chunk[pos..]) {
                    None => {
                        line += count_lines(&chunk[pos..]);
                        break;
                    }
                    Some(m) => {
                        let hit = pos + m.start();
                        let start =
                            memchr::memrchr(b'\n', &chunk[pos..hit]).map_or(pos, |i| pos + i + 1);
                        line += count_lines(&chunk[pos..start]);
                        let end =
                            memchr::memchr(b'\n', &chunk[hit..]).map_or(chunk.len(), |i| hit + i);
                        process(&chunk[start..end], line)?;
                        line += 1;
                        pos = end + 1;
                    }
                }
            }
            Ok(ChunkResult::Continue(line - first))
        })
    }
}

enum ChunkResult {
    Continue(u64),
    Stop,
}

fn count_lines(b: &[u8]) -> u64 {
    // Written so that the compiler vectorises it.
    b.iter().filter(|&&c| c == b'\n').count() as u64
}

/// What to look for in the raw bytes.
struct Plan {
    /// Text of identifiers that appear verbatim in a matching line.
    automaton: Option<AhoCorasick>,
    /// Canonical IP addresses compared with each line's first token.
    first_token_ips: HashSet<String>,
    /// Some identifier cannot be found in the raw bytes: parse every line.
    every_line: bool,
}

impl Plan {
    fn new(query: &Query<'_>) -> Plan {
        let mut patterns: Vec<String> = Vec::new();
        let mut first_token_ips = HashSet::new();
        let mut every_line = false;
        for (kind, field) in query.matcher.fields() {
            for v in query.new.values(kind) {
                match kind {
                    Kind::Ip if field == "remote_addr" => match v.parse::<IpAddr>() {
                        Ok(IpAddr::V4(_)) => patterns.push(v.to_string()),
                        _ => {
                            first_token_ips.insert(v.to_string());
                        }
                    },
                    Kind::Phone => every_line = true,
                    _ if v.is_ascii() && !v.contains(['"', '\\']) => patterns.push(v.to_string()),
                    _ => every_line = true,
                }
            }
        }
        if !first_token_ips.is_empty() {
            // The first token is parsed anyway: compare IPv4 addresses there too, so that a
            // mapped address written in hex (`::ffff:cb00:712a`) is found.
            for (kind, field) in query.matcher.fields() {
                if *kind == Kind::Ip && field == "remote_addr" {
                    first_token_ips.extend(query.new.values(kind).map(str::to_string));
                }
            }
        }
        // Case only matters for identifiers with letters (emails, user names); IP addresses
        // alone keep the automaton case-sensitive, which lets it use its fastest searchers.
        let letters = patterns
            .iter()
            .any(|p| p.bytes().any(|b| b.is_ascii_alphabetic()));
        let automaton = (!patterns.is_empty()).then(|| {
            AhoCorasick::builder()
                .ascii_case_insensitive(letters)
                .build(&patterns)
                .expect("plain-text patterns build")
        });
        Plan {
            automaton,
            first_token_ips,
            every_line,
        }
    }

    fn per_line(&self) -> bool {
        self.every_line || !self.first_token_ips.is_empty()
    }

    fn candidate(&self, line: &[u8]) -> bool {
        if self.every_line {
            return true;
        }
        let first = &line[..memchr::memchr(b' ', line).unwrap_or(line.len())];
        if std::str::from_utf8(first)
            .ok()
            .and_then(normalize_ip)
            .is_some_and(|ip| self.first_token_ips.contains(&ip))
        {
            return true;
        }
        self.automaton.as_ref().is_some_and(|ac| ac.is_match(line))
    }

    fn is_empty(&self) -> bool {
        self.automaton.is_none() && !self.per_line()
    }
}

impl Source for AccessLogSource {
    fn config(&self) -> &SourceConfig {
        &self.cfg
    }

    fn check(&mut self) -> Result<String> {
        let files = self.files()?;
        let mut total = 0u64;
        for path in &files {
            let meta = std::fs::metadata(path).map_err(|e| {
                Error::source(
                    &self.cfg.name,
                    format!("cannot read {}: {e}", shown(&self.base, path)),
                )
            })?;
            total += meta.len();
            let file = shown(&self.base, path);
            self.chunks(path, &mut |chunk, first| {
                let lines = chunk.split(|&b| b == b'\n').take(CHECK_LINES as usize);
                for (number, line) in (first..).zip(lines) {
                    parse_line(line).map_err(|e| {
                        Error::source(&self.cfg.name, format!("{file} line {number}: {e}"))
                    })?;
                }
                Ok(ChunkResult::Stop)
            })?;
        }
        Ok(format!(
            "{} file(s), {total} bytes; the first lines of each parse as Common/Combined Log Format",
            files.len()
        ))
    }

    fn scan(&mut self, query: &Query<'_>, emit: &mut dyn FnMut(Found) -> Result<()>) -> Result<()> {
        let plan = Plan::new(query);
        if plan.is_empty() {
            return Ok(());
        }
        for path in self.files()? {
            self.scan_file(&path, &plan, query, emit)?;
        }
        Ok(())
    }
}

/// One parsed log line.
#[derive(Debug, PartialEq)]
pub struct Entry {
    /// Client address as written.
    pub remote_addr: String,
    /// Authenticated user, `None` for `-`.
    pub user: Option<String>,
    /// RFC 3339 time.
    pub time: String,
    /// Request method, path and protocol (`None` when the request line has fewer parts).
    pub method: Option<String>,
    /// Requested path.
    pub path: Option<String>,
    /// Protocol, e.g. `HTTP/1.1`.
    pub protocol: Option<String>,
    /// HTTP status.
    pub status: u16,
    /// Response size, `None` for `-`.
    pub bytes: Option<u64>,
    /// Referrer (Combined format), `None` for `-` or absent.
    pub referrer: Option<String>,
    /// User agent (Combined format), `None` for `-` or absent.
    pub user_agent: Option<String>,
}

impl Entry {
    fn record(self, file: &str, line: u64) -> Record {
        let opt = |v: Option<String>| v.map_or(Value::Null, Value::String);
        let mut r = Record::with_capacity(12);
        r.insert("remote_addr".into(), Value::String(self.remote_addr));
        r.insert("user".into(), opt(self.user));
        r.insert("time".into(), Value::String(self.time));
        r.insert("method".into(), opt(self.method));
        r.insert("path".into(), opt(self.path));
        r.insert("protocol".into(), opt(self.protocol));
        r.insert("status".into(), Value::from(self.status));
        r.insert("bytes".into(), self.bytes.map_or(Value::Null, Value::from));
        r.insert("referrer".into(), opt(self.referrer));
        r.insert("user_agent".into(), opt(self.user_agent));
        r.insert("file".into(), Value::String(file.to_string()));
        r.insert("line".into(), Value::from(line));
        r
    }
}

/// Parses one Common or Combined Log Format line; `Ok(None)` for a blank line. Fields after
/// the user agent (some servers append more) are ignored.
pub fn parse_line(line: &[u8]) -> std::result::Result<Option<Entry>, String> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let mut c = Cursor { b: line, i: 0 };
    let remote_addr = c.token("the client address")?;
    let _ident = c.token("the identity field")?;
    let user = c.token("the user field")?;
    c.spaces();
    let time = c.bracketed()?;
    c.spaces();
    let request = c.quoted("the request")?;
    let status_text = c.token("the status")?;
    let status: u16 = status_text
        .parse()
        .ok()
        .filter(|s| (100..=999).contains(s))
        .ok_or("the status is not a 3-digit number")?;
    let bytes_text = c.token("the response size")?;
    let bytes = if bytes_text == "-" {
        None
    } else {
        Some(
            bytes_text
                .parse::<u64>()
                .map_err(|_| "the response size is neither a number nor '-'")?,
        )
    };
    c.spaces();
    let (referrer, user_agent) = if c.at_end() {
        (None, None)
    } else {
        let referrer = c.quoted("the referrer")?;
        c.spaces();
        let ua = c.quoted("the user agent")?;
        (Some(referrer), Some(ua))
    };
    let dash = |s: Option<String>| s.filter(|v| v != "-");
    let mut parts = request.splitn(3, ' ');
    let (method, path, protocol) = if request == "-" || request.is_empty() {
        (None, None, None)
    } else {
        let m = parts.next().map(str::to_string);
        let p = parts.next().map(str::to_string);
        let pr = parts.next().map(str::to_string);
        (m, p, pr)
    };
    let time = chrono::DateTime::parse_from_str(&time, "%d/%b/%Y:%H:%M:%S %z")
        .map_err(|_| "the time is not like [10/Oct/2000:13:55:36 -0700]")?
        .to_rfc3339();
    Ok(Some(Entry {
        remote_addr,
        user: dash(Some(user)),
        time,
        method,
        path,
        protocol,
        status,
        bytes,
        referrer: dash(referrer),
        user_agent: dash(user_agent),
    }))
}

struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn at_end(&self) -> bool {
        self.i >= self.b.len()
    }

    fn spaces(&mut self) {
        while self.b.get(self.i) == Some(&b' ') {
            self.i += 1;
        }
    }

    fn token(&mut self, what: &str) -> std::result::Result<String, String> {
        self.spaces();
        let start = self.i;
        while self.i < self.b.len() && self.b[self.i] != b' ' {
            self.i += 1;
        }
        if start == self.i {
            return Err(format!("the line ends before {what}"));
        }
        Ok(String::from_utf8_lossy(&self.b[start..self.i]).into_owned())
    }

    fn bracketed(&mut self) -> std::result::Result<String, String> {
        if self.b.get(self.i) != Some(&b'[') {
            return Err("expected '[' before the time".into());
        }
        let start = self.i + 1;
        let end = memchr::memchr(b']', &self.b[start..])
            .map(|n| start + n)
            .ok_or("the time has no closing ']'")?;
        self.i = end + 1;
        Ok(String::from_utf8_lossy(&self.b[start..end]).into_owned())
    }

    /// A `"…"` field; `\"` and `\\` are unescaped, other escapes kept as written.
    fn quoted(&mut self, what: &str) -> std::result::Result<String, String> {
        self.spaces();
        if self.b.get(self.i) != Some(&b'"') {
            return Err(format!("expected '\"' before {what}"));
        }
        self.i += 1;
        let mut out = Vec::new();
        loop {
            match self.b.get(self.i) {
                None => return Err(format!("{what} has no closing '\"'")),
                Some(b'"') => {
                    self.i += 1;
                    break;
                }
                Some(b'\\') if matches!(self.b.get(self.i + 1), Some(b'"' | b'\\')) => {
                    out.push(self.b[self.i + 1]);
                    self.i += 2;
                }
                Some(&c) => {
                    out.push(c);
                    self.i += 1;
                }
            }
        }
        if self.b.get(self.i).is_some_and(|c| *c != b' ') {
            return Err(format!("{what} is followed by text without a space"));
        }
        Ok(String::from_utf8_lossy(&out).into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combined_line() {
        let e = parse_line(br#"::ffff:203.0.113.42 - 1042 [10/Oct/2000:13:55:36 -0700] "GET /a?b=\"c\" HTTP/1.1" 200 2326 "http://example.com/start.html" "Mozilla/4.08 [en] (Win98; I ;Nav)""#)
            .unwrap()
            .unwrap();
        assert_eq!(e.remote_addr, "::ffff:203.0.113.42");
        assert_eq!(e.user.as_deref(), Some("1042"));
        assert_eq!(e.time, "2000-10-10T13:55:36-07:00");
        assert_eq!(e.method.as_deref(), Some("GET"));
        assert_eq!(e.path.as_deref(), Some("/a?b=\"c\""));
        assert_eq!(e.protocol.as_deref(), Some("HTTP/1.1"));
        assert_eq!(e.status, 200);
        assert_eq!(e.bytes, Some(2326));
        assert_eq!(e.referrer.as_deref(), Some("http://example.com/start.html"));
        assert_eq!(
            e.user_agent.as_deref(),
            Some("Mozilla/4.08 [en] (Win98; I ;Nav)")
        );
    }

    #[test]
    fn common_line_and_dashes() {
        let e = parse_line(b"2001:db8::7 - - [10/Mar/2024:06:41:29 +0530] \"-\" 408 - \r")
            .unwrap()
            .unwrap();
        assert_eq!(e.user, None);
        assert_eq!(e.method, None);
        assert_eq!(e.bytes, None);
        assert_eq!(e.referrer, None);
        assert_eq!(e.time, "2024-03-10T06:41:29+05:30");
        assert_eq!(parse_line(b"   ").unwrap(), None);
    }

    #[test]
    fn malformed_lines_say_what_is_wrong() {
        for (line, want) in [
            (
                &b"203.0.113.42 - - 10/Oct/2000 \"GET / HTTP/1.1\" 200 1"[..],
                "'['",
            ),
            (
                b"203.0.113.42 - - [10/Oct/2000:13:55:36 -0700] \"GET / HTTP/1.1 200 1",
                "closing",
            ),
            (
                b"203.0.113.42 - - [10/Oct/2000:13:55:36 -0700] \"GET /\" abc 1",
                "status",
            ),
            (b"203.0.113.42 - - [yesterday] \"GET /\" 200 1", "time"),
            (b"203.0.113.42", "before the identity"),
        ] {
            let err = parse_line(line).unwrap_err();
            assert!(err.contains(want), "{err}");
        }
    }
}
