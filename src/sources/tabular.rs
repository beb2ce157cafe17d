//! File sources: `csv`, `json` and `ndjson`.
//!
//! All three stream: a CSV is read record by record and only the `match` columns are decoded
//! until a row matches; an NDJSON file is read line by line with a byte-level prefilter (a
//! line that cannot contain any identifier is never parsed); a JSON document is walked with
//! serde down to the array at the `records` pointer and its elements are deserialised one at a
//! time. Errors name the file, the line and the field.

use std::cell::RefCell;
use std::fmt;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use aho_corasick::AhoCorasick;
use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::{expand_paths, shown, BuildContext, Found, Query, Source};
use crate::config::{SourceConfig, SourceType};
use crate::error::{Error, Result};
use crate::records::Record;
use crate::subject::{IdentifierSet, Kind};

/// A CSV, JSON or NDJSON file (or glob of files).
pub struct TabularSource {
    cfg: SourceConfig,
    base: PathBuf,
}

impl TabularSource {
    /// Builds the source; files are opened on each visit.
    pub fn new(cfg: SourceConfig, ctx: &BuildContext) -> Result<Self> {
        Ok(TabularSource {
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

    fn open(&self, path: &Path) -> Result<BufReader<Box<dyn Read + Send>>> {
        Ok(BufReader::with_capacity(
            256 * 1024,
            super::open_file(&self.cfg.name, &self.base, path)?,
        ))
    }

    fn err(&self, path: &Path, what: impl fmt::Display) -> Error {
        Error::source(
            &self.cfg.name,
            format!("{} {what}", shown(&self.base, path)),
        )
    }

    fn csv_reader(&self, path: &Path) -> Result<csv::Reader<BufReader<Box<dyn Read + Send>>>> {
        let delimiter = self
            .cfg
            .delimiter
            .as_deref()
            .map_or(b',', |d| d.as_bytes()[0]);
        Ok(csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(true)
            .flexible(false)
            .from_reader(self.open(path)?))
    }

    fn csv_headers(
        &self,
        path: &Path,
        reader: &mut csv::Reader<BufReader<Box<dyn Read + Send>>>,
    ) -> Result<Vec<String>> {
        let headers = reader
            .byte_headers()
            .map_err(|e| self.err(path, csv_error(&e)))?
            .clone();
        let mut names = Vec::with_capacity(headers.len());
        for (i, h) in headers.iter().enumerate() {
            let name = std::str::from_utf8(h).map_err(|_| {
                self.err(
                    path,
                    format!("line 1, column {}: header is not valid UTF-8 (convert the file to UTF-8, e.g. iconv -f latin1 -t utf-8)", i + 1),
                )
            })?;
            names.push(name.trim_start_matches('\u{feff}').to_string());
        }
        for field in self
            .cfg
            .match_fields
            .values()
            .chain(self.cfg.provides.values())
        {
            let top = field.split('.').next().unwrap_or(field);
            if !names.iter().any(|n| n == field || n == top) {
                return Err(self.err(
                    path,
                    format!(
                        "has no column '{field}' (named in match/provides); columns are: {}",
                        names.join(", ")
                    ),
                ));
            }
        }
        Ok(names)
    }

    fn scan_csv(
        &self,
        path: &Path,
        query: &Query<'_>,
        emit: &mut dyn FnMut(Found) -> Result<()>,
    ) -> Result<()> {
        let mut reader = self.csv_reader(path)?;
        let names = self.csv_headers(path, &mut reader)?;
        // Columns to test before a row is decoded in full.
        let probes: Vec<(Kind, usize)> = query
            .matcher
            .fields()
            .iter()
            .filter_map(|(k, f)| names.iter().position(|n| n == f).map(|i| (k.clone(), i)))
            .filter(|(k, _)| query.new.count(k) > 0)
            .collect();
        let mut row = csv::ByteRecord::new();
        loop {
            match reader.read_byte_record(&mut row) {
                Ok(false) => break,
                Ok(true) => {}
                Err(e) => return Err(self.err(path, csv_error(&e))),
            }
            let line = row.position().map_or(0, |p| p.line());
            // Every row must be UTF-8, matching or not: a file in another encoding could
            // hide the person's identifiers from the matcher.
            if std::str::from_utf8(row.as_slice()).is_err() {
                let field = row
                    .iter()
                    .position(|b| std::str::from_utf8(b).is_err())
                    .map_or("?", |i| names[i].as_str());
                return Err(self.err(
                    path,
                    format!("line {line}, field '{field}': not valid UTF-8 (convert the file to UTF-8, e.g. iconv -f latin1 -t utf-8)"),
                ));
            }
            let hit = probes.iter().any(|(kind, i)| {
                row.get(*i)
                    .and_then(|b| std::str::from_utf8(b).ok())
                    .is_some_and(|s| query.matcher.text_matches(kind, s, query.new))
            });
            if !hit {
                continue;
            }
            let mut record = Record::with_capacity(names.len());
            for (i, bytes) in row.iter().enumerate() {
                let text = std::str::from_utf8(bytes).map_err(|_| {
                    self.err(
                        path,
                        format!(
                            "line {line}, field '{}': not valid UTF-8 (convert the file to UTF-8, e.g. iconv -f latin1 -t utf-8)",
                            names[i]
                        ),
                    )
                })?;
                record.insert(names[i].clone(), Value::String(text.to_string()));
            }
            emit(Found::Record(record))?;
        }
        Ok(())
    }

    fn scan_ndjson(
        &self,
        path: &Path,
        query: &Query<'_>,
        emit: &mut dyn FnMut(Found) -> Result<()>,
    ) -> Result<()> {
        let mut reader = self.open(path)?;
        let prefilter = Prefilter::new(query);
        let mut line = Vec::with_capacity(4096);
        let mut number = 0u64;
        loop {
            line.clear();
            let n = reader
                .read_until(b'\n', &mut line)
                .map_err(|e| self.err(path, format!("line {}: {e}", number + 1)))?;
            if n == 0 {
                break;
            }
            number += 1;
            let text = line.trim_ascii();
            if text.is_empty() {
                continue;
            }
            if !prefilter.may_match(text) {
                // Cannot be the person's, but bad input is still reported, not skipped:
                // validate without building a value.
                if text[0] != b'{' || serde_json::from_slice::<IgnoredAny>(text).is_err() {
                    let e = serde_json::from_slice::<Value>(text).err();
                    let detail = match e {
                        Some(e) => format!("column {}: {}", e.column(), strip_position(&e)),
                        None => "expected a JSON object".to_string(),
                    };
                    return Err(self.err(path, format!("line {number}, {detail}")));
                }
                continue;
            }
            let value: Value = serde_json::from_slice(text).map_err(|e| {
                self.err(
                    path,
                    format!(
                        "line {number}, column {}: {}",
                        e.column(),
                        strip_position(&e)
                    ),
                )
            })?;
            match value {
                Value::Object(record) => emit(Found::Record(record))?,
                other => {
                    return Err(self.err(
                        path,
                        format!(
                            "line {number}: expected a JSON object, found {}",
                            json_kind(&other)
                        ),
                    ))
                }
            }
        }
        Ok(())
    }

    fn scan_json(&self, path: &Path, emit: &mut dyn FnMut(Found) -> Result<()>) -> Result<()> {
        let reader = self.open(path)?;
        let pointer = self.cfg.records.clone().unwrap_or_default();
        let tokens = pointer_tokens(&pointer);
        let failure: RefCell<Option<Error>> = RefCell::new(None);
        let mut emit_record = |index: u64, v: Value| -> std::result::Result<(), String> {
            match v {
                Value::Object(record) => emit(Found::Record(record)).map_err(|e| {
                    let msg = e.to_string();
                    *failure.borrow_mut() = Some(e);
                    msg
                }),
                other => Err(format!(
                    "element {index} of the records array is {}, not an object",
                    json_kind(&other)
                )),
            }
        };
        let mut de = serde_json::Deserializer::from_reader(reader);
        let seed = AtPointer {
            path: &tokens,
            emit: &mut emit_record,
        };
        let found = seed.deserialize(&mut de);
        if let Some(e) = failure.borrow_mut().take() {
            return Err(e);
        }
        let found = found.map_err(|e| {
            self.err(
                path,
                format!(
                    "line {}, column {}: {}",
                    e.line(),
                    e.column(),
                    strip_position(&e)
                ),
            )
        })?;
        de.end().map_err(|e| {
            self.err(
                path,
                format!("line {}: trailing data after the JSON document", e.line()),
            )
        })?;
        if !found {
            return Err(self.err(
                path,
                format!("has nothing at the records pointer '{pointer}'"),
            ));
        }
        Ok(())
    }
}

impl Source for TabularSource {
    fn config(&self) -> &SourceConfig {
        &self.cfg
    }

    fn check(&mut self) -> Result<String> {
        let files = self.files()?;
        let mut total = 0u64;
        for path in &files {
            let meta = std::fs::metadata(path).map_err(|e| self.err(path, e))?;
            total += meta.len();
            if self.cfg.kind == SourceType::Csv {
                let mut reader = self.csv_reader(path)?;
                self.csv_headers(path, &mut reader)?;
            }
        }
        Ok(format!("{} file(s), {} bytes", files.len(), total))
    }

    fn scan(&mut self, query: &Query<'_>, emit: &mut dyn FnMut(Found) -> Result<()>) -> Result<()> {
        for path in self.files()? {
            match self.cfg.kind {
                SourceType::Csv => self.scan_csv(&path, query, emit)?,
                SourceType::Ndjson => self.scan_ndjson(&path, query, emit)?,
                SourceType::Json => self.scan_json(&path, emit)?,
                other => unreachable!("tabular source built for {}", other.as_str()),
            }
        }
        Ok(())
    }
}

/// A byte-level test that a line *may* contain one of the new identifiers. It is sound: it
/// only rejects lines that cannot match. It gives up (accepts everything) when an identifier
/// could be written in a form the raw bytes would not show: phone numbers (many formats),
/// IPv6 addresses (several textual forms), non-ASCII emails (normalisation) — and for any
/// line holding a backslash, since a JSON escape can spell any character.
pub struct Prefilter {
    automaton: Option<AhoCorasick>,
}

impl Prefilter {
    /// Builds the prefilter for a query's new identifiers.
    pub fn new(query: &Query<'_>) -> Prefilter {
        Prefilter {
            automaton: Self::build(query.new, &query.matcher.kinds()),
        }
    }

    fn build(ids: &IdentifierSet, kinds: &[Kind]) -> Option<AhoCorasick> {
        let mut patterns: Vec<String> = Vec::new();
        for kind in kinds {
            for v in ids.values(kind) {
                let ok = match kind {
                    Kind::Phone => false,
                    Kind::Ip => v.parse::<std::net::Ipv4Addr>().is_ok(),
                    Kind::Email => v.is_ascii(),
                    Kind::Other(_) => !v.contains(['"', '\\']) && v.is_ascii(),
                };
                if !ok {
                    return None;
                }
                patterns.push(v.to_string());
            }
        }
        if patterns.is_empty() {
            return None;
        }
        AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(&patterns)
            .ok()
    }

    /// False only when the line cannot contain any identifier.
    pub fn may_match(&self, line: &[u8]) -> bool {
        match &self.automaton {
            None => true,
            Some(ac) => memchr::memchr(b'\\', line).is_some() || ac.is_match(line),
        }
    }
}

/// Walks a JSON document down a pointer and streams the array found there.
struct AtPointer<'a, F> {
    path: &'a [String],
    emit: &'a mut F,
}

impl<'de, F> DeserializeSeed<'de> for AtPointer<'_, F>
where
    F: FnMut(u64, Value) -> std::result::Result<(), String>,
{
    type Value = bool;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> std::result::Result<bool, D::Error> {
        if self.path.is_empty() {
            d.deserialize_any(ArrayVisitor { emit: self.emit })
        } else {
            d.deserialize_any(self)
        }
    }
}

impl<'de, F> Visitor<'de> for AtPointer<'_, F>
where
    F: FnMut(u64, Value) -> std::result::Result<(), String>,
{
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "an object or array holding '{}'", self.path[0])
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<bool, A::Error> {
        let mut found = false;
        let (head, rest) = self.path.split_first().expect("non-empty path");
        while let Some(key) = map.next_key::<String>()? {
            if !found && &key == head {
                found = map.next_value_seed(AtPointer {
                    path: rest,
                    emit: &mut *self.emit,
                })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<bool, A::Error> {
        let (head, rest) = self.path.split_first().expect("non-empty path");
        let wanted: Option<usize> = head.parse().ok();
        let mut found = false;
        let mut i = 0usize;
        loop {
            if Some(i) == wanted {
                match seq.next_element_seed(AtPointer {
                    path: rest,
                    emit: &mut *self.emit,
                })? {
                    Some(f) => found = f,
                    None => break,
                }
            } else if seq.next_element::<IgnoredAny>()?.is_none() {
                break;
            }
            i += 1;
        }
        Ok(found)
    }
}

struct ArrayVisitor<'a, F> {
    emit: &'a mut F,
}

impl<'de, F> Visitor<'de> for ArrayVisitor<'_, F>
where
    F: FnMut(u64, Value) -> std::result::Result<(), String>,
{
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of records (check the source's `records` pointer)")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<bool, A::Error> {
        let mut index = 0u64;
        while let Some(v) = seq.next_element::<Value>()? {
            (self.emit)(index, v).map_err(serde::de::Error::custom)?;
            index += 1;
        }
        Ok(true)
    }
}

/// Splits a JSON pointer (RFC 6901) into unescaped tokens.
pub fn pointer_tokens(pointer: &str) -> Vec<String> {
    if pointer.is_empty() {
        return Vec::new();
    }
    pointer
        .split('/')
        .skip(1)
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect()
}

fn csv_error(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::UnequalLengths {
            pos,
            expected_len,
            len,
        } => format!(
            "line {}: has {len} fields, but the header has {expected_len}",
            pos.as_ref().map_or(0, |p| p.line())
        ),
        csv::ErrorKind::Utf8 { pos, err } => format!(
            "line {}, field {}: not valid UTF-8 (convert the file to UTF-8)",
            pos.as_ref().map_or(0, |p| p.line()),
            err.field() + 1
        ),
        csv::ErrorKind::Io(err) => format!("read error: {err}"),
        _ => format!("{e}"),
    }
}

fn strip_position(e: &serde_json::Error) -> String {
    let s = e.to_string();
    match s.rfind(" at line ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointers_unescape() {
        assert_eq!(pointer_tokens(""), Vec::<String>::new());
        assert_eq!(pointer_tokens("/a~1b/0/c~0"), vec!["a/b", "0", "c~"]);
    }
}
