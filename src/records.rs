//! The record model, matching, and the JSON and CSV encoders (SPEC 4.3).
//!
//! A [`Record`] is a JSON object with keys in source order. Sources produce records; the
//! [`Matcher`] decides whether a record belongs to the person; the encoders write
//! `records/<source>.json` and `.csv`. The CSV side flattens nested objects to dotted column
//! names, writes arrays as JSON text, and guards cells against formula injection.

use std::io::{self, Write};

use indexmap::IndexMap;
use serde_json::{Map, Value};

use crate::subject::{IdentifierSet, Kind, Normalizer};

/// One record: field name → JSON value, in source order.
pub type Record = Map<String, Value>;

/// Looks up a field by name, or by a dotted path into nested objects (`address.email`).
pub fn field<'a>(record: &'a Record, name: &str) -> Option<&'a Value> {
    if let Some(v) = record.get(name) {
        return Some(v);
    }
    let mut parts = name.split('.');
    let mut current = record.get(parts.next()?)?;
    for part in parts {
        current = current.as_object()?.get(part)?;
    }
    Some(current)
}

/// Decides whether a record belongs to the person (SPEC 4.1) and extracts `provides` values.
#[derive(Debug, Clone)]
pub struct Matcher {
    fields: Vec<(Kind, String)>,
    normalizer: Normalizer,
}

impl Matcher {
    /// A matcher over `(kind, field)` pairs.
    pub fn new(fields: Vec<(Kind, String)>, normalizer: Normalizer) -> Self {
        Matcher { fields, normalizer }
    }

    /// The kinds this matcher compares.
    pub fn kinds(&self) -> Vec<Kind> {
        let mut kinds: Vec<Kind> = self.fields.iter().map(|(k, _)| k.clone()).collect();
        kinds.dedup();
        kinds
    }

    /// True when the matcher has no fields (the source filters by itself, e.g. an HTTP API).
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// The (kind, field) pairs.
    pub fn fields(&self) -> &[(Kind, String)] {
        &self.fields
    }

    /// True when any match field of the record equals an identifier in `ids`.
    pub fn matches(&self, record: &Record, ids: &IdentifierSet) -> bool {
        self.fields.iter().any(|(kind, name)| {
            field(record, name).is_some_and(|v| self.value_matches(kind, v, ids))
        })
    }

    /// True when a single field value (scalar or array of scalars) equals an identifier.
    pub fn value_matches(&self, kind: &Kind, v: &Value, ids: &IdentifierSet) -> bool {
        if ids.count(kind) == 0 {
            return false;
        }
        match v {
            Value::Array(items) => items.iter().any(|i| {
                self.normalizer
                    .value(kind, i)
                    .is_some_and(|n| ids.contains(kind, &n))
            }),
            other => self
                .normalizer
                .value(kind, other)
                .is_some_and(|n| ids.contains(kind, &n)),
        }
    }

    /// True when a raw text value equals an identifier of `kind`.
    pub fn text_matches(&self, kind: &Kind, raw: &str, ids: &IdentifierSet) -> bool {
        ids.count(kind) > 0
            && self
                .normalizer
                .text(kind, raw)
                .is_some_and(|n| ids.contains(kind, &n))
    }

    /// The rule for revisits: a record is new when it matches a new identifier and none that
    /// the source was already asked about (those records were found on an earlier visit).
    pub fn keep(&self, record: &Record, new: &IdentifierSet, old: &IdentifierSet) -> bool {
        self.matches(record, new) && !self.matches(record, old)
    }
}

/// Normalised values of a field for `provides`, in order (array fields give several).
pub fn provided_values(
    record: &Record,
    name: &str,
    kind: &Kind,
    normalizer: &Normalizer,
) -> Vec<String> {
    match field(record, name) {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|v| normalizer.value(kind, v))
            .collect(),
        Some(v) => normalizer.value(kind, v).into_iter().collect(),
        None => Vec::new(),
    }
}

/// Removes excluded fields (top level, or dotted paths into nested objects).
pub fn apply_exclude(record: &mut Record, exclude: &[String]) {
    for name in exclude {
        if record.shift_remove(name).is_some() {
            continue;
        }
        let mut parts: Vec<&str> = name.split('.').collect();
        let Some(last) = parts.pop() else { continue };
        let mut current = Some(&mut *record);
        for part in parts {
            current = current
                .and_then(|m| m.get_mut(part))
                .and_then(Value::as_object_mut);
        }
        if let Some(obj) = current {
            obj.shift_remove(last);
        }
    }
}

/// Column types as written to `datapackage.json` (Frictionless table schema).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// No non-empty value seen yet.
    Unknown,
    /// Whole numbers.
    Integer,
    /// Any JSON number.
    Number,
    /// true/false.
    Boolean,
    /// Nested arrays written as JSON text.
    Array,
    /// Anything else.
    String,
}

impl ColumnType {
    fn of(v: &Value) -> ColumnType {
        match v {
            Value::Null => ColumnType::Unknown,
            Value::Bool(_) => ColumnType::Boolean,
            Value::Number(n) if n.is_i64() || n.is_u64() => ColumnType::Integer,
            Value::Number(_) => ColumnType::Number,
            Value::String(_) => ColumnType::String,
            Value::Array(_) => ColumnType::Array,
            Value::Object(_) => ColumnType::String,
        }
    }

    fn merge(self, other: ColumnType) -> ColumnType {
        use ColumnType::*;
        match (self, other) {
            (a, b) if a == b => a,
            (Unknown, b) => b,
            (a, Unknown) => a,
            (Integer, Number) | (Number, Integer) => Number,
            _ => String,
        }
    }

    /// The Frictionless type name.
    pub fn frictionless(self) -> &'static str {
        match self {
            ColumnType::Integer => "integer",
            ColumnType::Number => "number",
            ColumnType::Boolean => "boolean",
            ColumnType::Array => "array",
            ColumnType::Unknown | ColumnType::String => "string",
        }
    }
}

/// The union of flattened CSV columns over all records, in first-seen order, with types.
#[derive(Debug, Clone, Default)]
pub struct Columns {
    columns: IndexMap<String, ColumnType, foldhash::fast::RandomState>,
}

impl Columns {
    /// Records a record's flattened columns.
    pub fn observe(&mut self, record: &Record) {
        flatten(record, &mut |name, v| {
            let t = ColumnType::of(v);
            match self.columns.get_mut(name) {
                Some(existing) => *existing = existing.merge(t),
                None => {
                    self.columns.insert(name.to_string(), t);
                }
            }
        });
    }

    /// Column names and types.
    pub fn iter(&self) -> impl Iterator<Item = (&str, ColumnType)> {
        self.columns.iter().map(|(k, t)| (k.as_str(), *t))
    }

    /// Number of columns.
    pub fn len(&self) -> usize {
        self.columns.len()
    }

    /// True when no column was seen.
    pub fn is_empty(&self) -> bool {
        self.columns.is_empty()
    }

    fn index_of(&self, name: &str) -> Option<usize> {
        self.columns.get_index_of(name)
    }
}

/// Calls `f` for each leaf of the record, with dotted names. Empty objects are leaves.
fn flatten(record: &Record, f: &mut dyn FnMut(&str, &Value)) {
    let mut path = String::with_capacity(64);
    flatten_into(record, &mut path, f);
}

/// Walks the record keeping the dotted name in one reusable buffer (this runs for every
/// field of every exported record, so it allocates nothing per field).
fn flatten_into(record: &Record, path: &mut String, f: &mut dyn FnMut(&str, &Value)) {
    for (k, v) in record {
        let len = path.len();
        if len > 0 {
            path.push('.');
        }
        path.push_str(k);
        match v {
            Value::Object(inner) if !inner.is_empty() => flatten_into(inner, path, f),
            other => f(path, other),
        }
        path.truncate(len);
    }
}

/// Characters that make a spreadsheet treat a cell as a formula.
const FORMULA_START: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// Guards a text cell: a value starting with a formula character gets a leading `'`. A value
/// that already starts with `'` gets one too, so the guard can be undone exactly
/// ([`unguard_cell`]): strip one leading `'`.
pub fn guard_cell(s: &str) -> std::borrow::Cow<'_, str> {
    match s.chars().next() {
        Some(c) if FORMULA_START.contains(&c) || c == '\'' => format!("'{s}").into(),
        _ => s.into(),
    }
}

/// Undoes [`guard_cell`] for a text cell.
pub fn unguard_cell(s: &str) -> &str {
    s.strip_prefix('\'').unwrap_or(s)
}

/// Writes one CSV table with a known column set.
pub struct CsvTableWriter<W: Write> {
    writer: csv::Writer<W>,
    columns: Vec<String>,
    row: Vec<String>,
}

impl<W: Write> CsvTableWriter<W> {
    /// Writes the header row.
    pub fn new(out: W, columns: &Columns) -> io::Result<Self> {
        let mut writer = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(out);
        let names: Vec<String> = columns.iter().map(|(n, _)| n.to_string()).collect();
        if !names.is_empty() {
            writer.write_record(&names).map_err(io::Error::other)?;
        }
        Ok(CsvTableWriter {
            writer,
            row: vec![String::new(); names.len()],
            columns: names,
        })
    }

    /// Writes one record as a row, in column order.
    pub fn write(&mut self, record: &Record, columns: &Columns) -> io::Result<()> {
        for cell in &mut self.row {
            cell.clear();
        }
        let row = &mut self.row;
        flatten(record, &mut |name, v| {
            if let Some(i) = columns.index_of(name) {
                write_cell(&mut row[i], v);
            }
        });
        if self.columns.is_empty() {
            return Ok(());
        }
        self.writer
            .write_record(&self.row)
            .map_err(io::Error::other)
    }

    /// Flushes and returns the writer.
    pub fn finish(self) -> io::Result<W> {
        self.writer
            .into_inner()
            .map_err(|e| io::Error::other(e.to_string()))
    }
}

fn write_cell(cell: &mut String, v: &Value) {
    use std::fmt::Write as _;
    match v {
        Value::Null => {}
        Value::Bool(b) => cell.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            let _ = write!(cell, "{n}");
        }
        Value::String(s) => cell.push_str(&guard_cell(s)),
        Value::Array(_) | Value::Object(_) => cell.push_str(&guard_cell(&v.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::subject::Provenance;
    use serde_json::json;

    fn rec(v: Value) -> Record {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn matching_is_exact_after_normalisation() {
        let m = Matcher::new(
            vec![
                (Kind::Email, "email".into()),
                (Kind::Other("cookie_id".into()), "cookies".into()),
            ],
            Normalizer::new(Some("IN")),
        );
        let mut ids = IdentifierSet::new();
        ids.insert(Kind::Email, "priya@example.com".into(), Provenance::Given);
        assert!(m.matches(&rec(json!({"email": " Priya@Example.COM"})), &ids));
        assert!(!m.matches(&rec(json!({"email": "priya+x@example.com"})), &ids));
        assert!(!m.matches(&rec(json!({"email": "xpriya@example.com"})), &ids));
        ids.insert(
            Kind::Other("cookie_id".into()),
            "ck1".into(),
            Provenance::Given,
        );
        assert!(m.matches(&rec(json!({"cookies": ["ck0", "ck1"]})), &ids));
    }

    #[test]
    fn csv_flattens_and_guards() {
        let records = [
            rec(
                json!({"id": 1, "name": "=HYPERLINK(\"x\")", "address": {"city": "Pune"}, "tags": ["a", "b"]}),
            ),
            rec(json!({"id": -2, "name": "'quoted", "extra": null})),
        ];
        let mut cols = Columns::default();
        for r in &records {
            cols.observe(r);
        }
        let mut w = CsvTableWriter::new(Vec::new(), &cols).unwrap();
        for r in &records {
            w.write(r, &cols).unwrap();
        }
        let out = String::from_utf8(w.finish().unwrap()).unwrap();
        assert_eq!(
            out,
            "id,name,address.city,tags,extra\r\n1,\"'=HYPERLINK(\"\"x\"\")\",Pune,\"[\"\"a\"\",\"\"b\"\"]\",\r\n-2,''quoted,,,\r\n"
        );
        assert_eq!(unguard_cell("''quoted"), "'quoted");
        let types: Vec<_> = cols.iter().map(|(_, t)| t.frictionless()).collect();
        assert_eq!(types, ["integer", "string", "string", "array", "string"]);
    }

    #[test]
    fn exclude_removes_nested_fields() {
        let mut r = rec(json!({"a": 1, "secret": 2, "n": {"pw": 3, "ok": 4}}));
        apply_exclude(&mut r, &["secret".into(), "n.pw".into()]);
        assert_eq!(Value::Object(r), json!({"a": 1, "n": {"ok": 4}}));
    }
}
