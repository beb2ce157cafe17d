//! `dsar import`: loads the records of an archive (or of an extracted bag folder) into SQLite
//! or PostgreSQL, one table per source, typed from `datapackage.json`.
//!
//! A receiving organisation wants the data in its own database, not in files. The bag is
//! verified first (an archive is decrypted in memory, never to a plaintext file); then each
//! Data Package resource is loaded from its CSV. Resources of one source (the parts
//! `<source>.part-0001.csv`, … of a large source) go into one table named after the source.
//! Table and column names are derived from the package but reduced to lowercase letters, digits and `_`, at most
//! 63 bytes, deduplicated and always quoted, so a hostile package cannot inject SQL; values
//! are bound parameters. Everything runs in one transaction, and each table is dropped and
//! created again, so importing the same archive twice leaves the same tables and rows (other
//! tables are never touched). Empty cells are NULL (Frictionless' default `missingValues`),
//! and the CSV formula guard dsar adds to text cells (one leading `'`) is removed.

use std::collections::{BTreeSet, HashMap};
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::Serialize;
use serde_json::Value;
use sqlx::Connection;

use crate::cli::ImportCmd;
use crate::crypto::{Identities, SeekablePlaintext};
use crate::error::{redact_url, Error, Result};
use crate::records::unguard_cell;

use super::verify::{self, Limits, Report};

/// What was imported.
#[derive(Debug, Serialize)]
pub struct ImportSummary {
    /// The target, with any password removed.
    pub database: String,
    /// PostgreSQL schema, when given.
    pub schema: Option<String>,
    /// One entry per table.
    pub tables: Vec<TableSummary>,
    /// Total rows.
    pub rows: u64,
}

/// One imported table.
#[derive(Debug, Serialize)]
pub struct TableSummary {
    /// Table name as created.
    pub table: String,
    /// Data Package resources loaded into it.
    pub resources: Vec<String>,
    /// Column names as created, in order.
    pub columns: Vec<String>,
    /// Rows loaded.
    pub rows: u64,
}

/// Runs `dsar import`. `identities` is asked only when the source is an encrypted archive.
pub fn run(
    cmd: &ImportCmd,
    identities: impl FnOnce() -> Result<Identities>,
) -> Result<ImportSummary> {
    let target = Target::parse(&cmd.into, cmd.schema.as_deref())?;
    let limits = Limits::from_env()?;
    let mut bag = Bag::open(&cmd.source, identities, &limits)?;
    let package = bag.read_json("data/datapackage.json")?;
    let plan = plan_tables(&package, &bag.report)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::runtime(format!("cannot start the async runtime: {e}")))?;
    let tables = rt.block_on(load(&target, &plan, &mut bag))?;
    Ok(ImportSummary {
        database: target.display(),
        schema: cmd.schema.clone(),
        rows: tables.iter().map(|t| t.rows).sum(),
        tables,
    })
}

/// Where the rows go.
enum Target {
    Sqlite(String),
    Postgres { url: String, schema: Option<String> },
}

impl Target {
    fn parse(into: &str, schema: Option<&str>) -> Result<Self> {
        if let Some(s) = schema {
            let valid = !s.is_empty()
                && s.len() <= 63
                && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !s.starts_with(|c: char| c.is_ascii_digit());
            if !valid {
                return Err(Error::Usage(
                    "--schema must be 1-63 letters, digits or underscores, not starting with a digit".into(),
                ));
            }
        }
        if into.starts_with("sqlite:") {
            if schema.is_some() {
                return Err(Error::Usage(
                    "--schema applies to PostgreSQL only; SQLite has no schemas (use another file instead)".into(),
                ));
            }
            return Ok(Target::Sqlite(into.to_string()));
        }
        if into.starts_with("postgres://") || into.starts_with("postgresql://") {
            return Ok(Target::Postgres {
                url: into.to_string(),
                schema: schema.map(str::to_string),
            });
        }
        Err(Error::Usage(
            "--into must be sqlite:PATH or postgres://USER@HOST/DB".into(),
        ))
    }

    /// The target without credentials, for output.
    fn display(&self) -> String {
        match self {
            Target::Sqlite(s) => s.clone(),
            Target::Postgres { url, .. } => redact_url(url),
        }
    }

    fn quote_table(&self, name: &str) -> String {
        match self {
            Target::Postgres {
                schema: Some(s), ..
            } => format!("{}.{}", quote(s), quote(name)),
            _ => quote(name),
        }
    }
}

fn quote(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

/// A verified bag to read files from.
struct Bag {
    report: Report,
    files: BagFiles,
}

enum BagFiles {
    Archive {
        zip: Box<zip::ZipArchive<SeekablePlaintext>>,
    },
    Dir(PathBuf),
}

impl Bag {
    fn open(
        source: &Path,
        identities: impl FnOnce() -> Result<Identities>,
        limits: &Limits,
    ) -> Result<Bag> {
        let meta = fs::metadata(source).map_err(|e| Error::io("cannot read", source, e))?;
        let (report, files) = if meta.is_dir() {
            let dir = find_bag_dir(source)?;
            (verify::check_dir(&dir, limits)?, BagFiles::Dir(dir))
        } else {
            let ids = identities()?;
            let plain = super::open::authenticated_plaintext(source, &ids)?;
            // The verification pass consumes one reader; the plaintext is rewound for reading.
            let mut plain2 = plain;
            let report = verify::check_zip(&mut plain2, limits, None)?;
            std::io::Seek::seek(&mut plain2, std::io::SeekFrom::Start(0))
                .map_err(|e| Error::Verify(format!("cannot rewind the decrypted stream: {e}")))?;
            let zip = zip::ZipArchive::new(plain2)
                .map_err(|e| Error::Verify(format!("not a valid zip archive: {e}")))?;
            (report, BagFiles::Archive { zip: Box::new(zip) })
        };
        if !report.ok() {
            let listed: Vec<String> = report
                .problems
                .iter()
                .take(10)
                .map(|p| format!("{}: {}", verify::printable(&p.path), p.problem))
                .collect();
            return Err(Error::Verify(format!(
                "{} does not verify, nothing imported ({} problem(s)): {}",
                source.display(),
                report.problems.len(),
                listed.join("; ")
            )));
        }
        Ok(Bag { report, files })
    }

    /// Opens a verified file of the bag by its path relative to the bag folder.
    fn open_file(&mut self, rel: &str) -> Result<Box<dyn Read + '_>> {
        let info = self.report.files.get(rel).ok_or_else(|| {
            Error::Verify(format!(
                "{} is not a verified file of the bag",
                verify::printable(rel)
            ))
        })?;
        match &mut self.files {
            BagFiles::Archive { zip } => {
                let index = info.zip_index.expect("archive files have an index");
                let f = zip
                    .by_index(index)
                    .map_err(|e| Error::Verify(format!("{rel}: {e}")))?;
                Ok(Box::new(f.take(info.bytes)))
            }
            BagFiles::Dir(dir) => {
                let path = rel.split('/').fold(dir.clone(), |p, c| p.join(c));
                let f = fs::File::open(&path).map_err(|e| Error::io("cannot open", &path, e))?;
                Ok(Box::new(f.take(info.bytes)))
            }
        }
    }

    fn read_json(&mut self, rel: &str) -> Result<Value> {
        let mut text = Vec::new();
        self.open_file(rel)
            .map_err(|_| {
                Error::Usage(format!(
                    "the bag has no {rel}; import needs a Frictionless Data Package (dsar archives have one)"
                ))
            })?
            .read_to_end(&mut text)
            .map_err(|e| Error::runtime(format!("cannot read {rel}: {e}")))?;
        serde_json::from_slice(&text)
            .map_err(|e| Error::Usage(format!("{rel} is not valid JSON: {e}")))
    }
}

/// `DIR` may be the bag itself or the folder `dsar open` made (holding one bag folder).
fn find_bag_dir(dir: &Path) -> Result<PathBuf> {
    if dir.join("bagit.txt").is_file() {
        return Ok(dir.to_path_buf());
    }
    let subdirs: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(|e| Error::io("cannot read", dir, e))?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .collect();
    match subdirs.as_slice() {
        [one] if one.join("bagit.txt").is_file() => Ok(one.clone()),
        _ => Err(Error::Usage(format!(
            "not a BagIt bag: {} has no bagit.txt (give the bag folder, or the folder `dsar open` extracted into)",
            dir.display()
        ))),
    }
}

/// Column types dsar maps from Frictionless.
#[derive(Debug, Clone, Copy, PartialEq)]
enum ColType {
    Integer,
    Number,
    Boolean,
    Text,
}

impl ColType {
    fn from_frictionless(t: &str) -> Self {
        match t {
            "integer" => ColType::Integer,
            "number" => ColType::Number,
            "boolean" => ColType::Boolean,
            _ => ColType::Text,
        }
    }

    fn sql(self, target: &Target) -> &'static str {
        match (self, target) {
            (ColType::Integer, Target::Sqlite(_)) => "INTEGER",
            (ColType::Integer, _) => "BIGINT",
            (ColType::Number, Target::Sqlite(_)) => "REAL",
            (ColType::Number, _) => "DOUBLE PRECISION",
            (ColType::Boolean, _) => "BOOLEAN",
            (ColType::Text, _) => "TEXT",
        }
    }
}

/// One CSV file to load.
struct ResourcePlan {
    name: String,
    /// Path relative to the bag folder (`data/records/…`).
    path: String,
    delimiter: u8,
    header: bool,
    /// Field names in the package (to check the header).
    fields: Vec<String>,
    unguard: bool,
}

/// One table to create.
struct TablePlan {
    table: String,
    columns: Vec<(String, ColType)>,
    resources: Vec<ResourcePlan>,
}

/// Reads the Data Package into tables. Errors name the resource and field.
fn plan_tables(package: &Value, report: &Report) -> Result<Vec<TablePlan>> {
    let resources = package
        .get("resources")
        .and_then(Value::as_array)
        .ok_or_else(|| Error::Usage("datapackage.json has no 'resources' array".into()))?;
    let mut tables: Vec<TablePlan> = Vec::new();
    let mut by_key: HashMap<String, usize> = HashMap::new();
    let mut used_names = BTreeSet::new();
    for (i, r) in resources.iter().enumerate() {
        let rname = r
            .get("name")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| format!("resource{}", i + 1));
        let at = |what: &str| Error::Usage(format!("datapackage.json, resource '{rname}': {what}"));
        let paths: Vec<String> =
            match r.get("path") {
                Some(Value::String(p)) => vec![p.clone()],
                Some(Value::Array(ps)) => ps
                    .iter()
                    .map(|p| {
                        p.as_str()
                            .map(str::to_string)
                            .ok_or_else(|| at("'path' must be text"))
                    })
                    .collect::<Result<_>>()?,
                _ => return Err(at(
                    "has no 'path': dsar imports resources stored as CSV files, not inline data",
                )),
            };
        let format = r.get("format").and_then(Value::as_str).unwrap_or("");
        let is_csv = format.eq_ignore_ascii_case("csv")
            || (format.is_empty()
                && paths
                    .iter()
                    .all(|p| p.to_ascii_lowercase().ends_with(".csv")));
        if !is_csv {
            return Err(at("only CSV resources can be imported"));
        }
        let fields: Vec<(String, ColType)> = r
            .pointer("/schema/fields")
            .and_then(Value::as_array)
            .ok_or_else(|| at("no schema.fields"))?
            .iter()
            .map(|f| {
                let name = f
                    .get("name")
                    .and_then(Value::as_str)
                    .ok_or_else(|| at("a field without a name"))?;
                let t = f.get("type").and_then(Value::as_str).unwrap_or("string");
                Ok((name.to_string(), ColType::from_frictionless(t)))
            })
            .collect::<Result<_>>()?;
        let dialect = r.get("dialect");
        let delimiter = dialect
            .and_then(|d| d.get("delimiter"))
            .and_then(Value::as_str)
            .unwrap_or(",");
        let delimiter = match delimiter.as_bytes() {
            [b] => *b,
            _ => return Err(at("dialect.delimiter must be one ASCII character")),
        };
        let header = dialect
            .and_then(|d| d.get("header"))
            .and_then(Value::as_bool)
            .unwrap_or(true);
        let source = r.get("dsar:source").and_then(Value::as_str);
        let unguard = source.is_some();
        let key = source.unwrap_or(&rname).to_string();
        let idx = match by_key.get(&key) {
            Some(&idx) => {
                let existing: Vec<(String, ColType)> = tables[idx]
                    .resources
                    .first()
                    .map(|_| tables[idx].columns.clone())
                    .unwrap_or_default();
                let same = existing.len() == fields.len()
                    && existing.iter().zip(&fields).all(|((_, a), (_, b))| a == b);
                if !same {
                    return Err(at(&format!(
                        "its fields differ from the other parts of '{key}'"
                    )));
                }
                idx
            }
            None => {
                let table = unique(safe_ident(&key, "records"), &mut used_names);
                let mut col_names = BTreeSet::new();
                let columns = fields
                    .iter()
                    .map(|(n, t)| (unique(safe_ident(n, "column"), &mut col_names), *t))
                    .collect();
                tables.push(TablePlan {
                    table,
                    columns,
                    resources: Vec::new(),
                });
                by_key.insert(key.clone(), tables.len() - 1);
                tables.len() - 1
            }
        };
        for p in paths {
            let rel = format!("data/{p}");
            if verify::safe_components(&rel).is_err() || !report.files.contains_key(&rel) {
                return Err(at(&format!(
                    "path '{}' is not a verified file of the bag",
                    verify::printable(&p)
                )));
            }
            tables[idx].resources.push(ResourcePlan {
                name: rname.clone(),
                path: rel,
                delimiter,
                header,
                fields: fields.iter().map(|(n, _)| n.clone()).collect(),
                unguard,
            });
        }
    }
    tables.retain(|t| !t.columns.is_empty());
    Ok(tables)
}

/// Lowercase letters, digits and `_`, at most 63 bytes (PostgreSQL's identifier limit), not starting with a digit.
fn safe_ident(name: &str, fallback: &str) -> String {
    let mut out = String::new();
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    let mut out = out.trim_matches('_').to_string();
    if out.is_empty() {
        out = fallback.to_string();
    }
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out = format!("_{out}");
    }
    let mut cut = out.len().min(56);
    while !out.is_char_boundary(cut) {
        cut -= 1;
    }
    out.truncate(cut);
    out
}

fn unique(base: String, used: &mut BTreeSet<String>) -> String {
    let mut name = base.clone();
    let mut n = 2;
    while !used.insert(name.clone()) {
        name = format!("{base}_{n}");
        n += 1;
    }
    name
}

/// A typed cell; `None` is SQL NULL (typed, so PostgreSQL knows the parameter type).
enum Cell {
    Int(Option<i64>),
    Float(Option<f64>),
    Bool(Option<bool>),
    Text(Option<String>),
}

fn convert(raw: &str, t: ColType, unguard: bool) -> std::result::Result<Cell, &'static str> {
    let empty = raw.is_empty();
    Ok(match t {
        ColType::Integer => Cell::Int(if empty {
            None
        } else {
            Some(raw.trim().parse().map_err(|_| "not an integer")?)
        }),
        ColType::Number => Cell::Float(if empty {
            None
        } else {
            Some(raw.trim().parse().map_err(|_| "not a number")?)
        }),
        ColType::Boolean => Cell::Bool(match raw.trim() {
            "" => None,
            "true" | "True" | "TRUE" | "1" => Some(true),
            "false" | "False" | "FALSE" | "0" => Some(false),
            _ => return Err("not a boolean"),
        }),
        ColType::Text => Cell::Text(if empty {
            None
        } else if unguard {
            Some(unguard_cell(raw).to_string())
        } else {
            Some(raw.to_string())
        }),
    })
}

/// The two databases behind one small interface: run DDL, insert a batch.
trait Backend {
    fn placeholder(n: usize) -> String;
    async fn exec(&mut self, sql: &str) -> std::result::Result<(), sqlx::Error>;
    async fn insert(&mut self, sql: &str, cells: &[Cell]) -> std::result::Result<(), sqlx::Error>;
}

macro_rules! bind_cells {
    ($q:expr, $cells:expr) => {{
        let mut q = $q;
        for c in $cells {
            q = match c {
                Cell::Int(v) => q.bind(*v),
                Cell::Float(v) => q.bind(*v),
                Cell::Bool(v) => q.bind(*v),
                Cell::Text(v) => q.bind(v.as_deref()),
            };
        }
        q
    }};
}

impl Backend for sqlx::Transaction<'_, sqlx::Sqlite> {
    fn placeholder(_n: usize) -> String {
        "?".into()
    }
    async fn exec(&mut self, sql: &str) -> std::result::Result<(), sqlx::Error> {
        sqlx::query(sql).execute(&mut **self).await.map(|_| ())
    }
    async fn insert(&mut self, sql: &str, cells: &[Cell]) -> std::result::Result<(), sqlx::Error> {
        bind_cells!(sqlx::query(sql), cells)
            .execute(&mut **self)
            .await
            .map(|_| ())
    }
}

impl Backend for sqlx::Transaction<'_, sqlx::Postgres> {
    fn placeholder(n: usize) -> String {
        format!("${n}")
    }
    async fn exec(&mut self, sql: &str) -> std::result::Result<(), sqlx::Error> {
        sqlx::query(sql).execute(&mut **self).await.map(|_| ())
    }
    async fn insert(&mut self, sql: &str, cells: &[Cell]) -> std::result::Result<(), sqlx::Error> {
        bind_cells!(sqlx::query(sql), cells)
            .execute(&mut **self)
            .await
            .map(|_| ())
    }
}

async fn load(target: &Target, plan: &[TablePlan], bag: &mut Bag) -> Result<Vec<TableSummary>> {
    let db_err = |what: String| {
        let shown = target.display();
        move |e: sqlx::Error| Error::runtime(format!("{shown}: {what}: {e}"))
    };
    match target {
        Target::Sqlite(url) => {
            let options = sqlx::sqlite::SqliteConnectOptions::from_str(url)
                .map_err(|e| Error::Usage(format!("--into {url}: {e}")))?
                .create_if_missing(true);
            let mut conn = sqlx::SqliteConnection::connect_with(&options)
                .await
                .map_err(db_err("cannot open the database".into()))?;
            let mut tx = conn.begin().await.map_err(db_err("cannot begin".into()))?;
            let tables = load_tables(&mut tx, target, plan, bag).await?;
            tx.commit().await.map_err(db_err("cannot commit".into()))?;
            Ok(tables)
        }
        Target::Postgres { url, schema } => {
            let mut conn = sqlx::PgConnection::connect(url)
                .await
                .map_err(db_err("cannot connect".into()))?;
            let mut tx = conn.begin().await.map_err(db_err("cannot begin".into()))?;
            // DROP TABLE IF EXISTS reports missing tables as notices; they are expected here.
            tx.exec("SET LOCAL client_min_messages = warning")
                .await
                .map_err(db_err("cannot configure the session".into()))?;
            if let Some(s) = schema {
                tx.exec(&format!("CREATE SCHEMA IF NOT EXISTS {}", quote(s)))
                    .await
                    .map_err(db_err(format!("cannot create schema {s}")))?;
            }
            let tables = load_tables(&mut tx, target, plan, bag).await?;
            tx.commit().await.map_err(db_err("cannot commit".into()))?;
            Ok(tables)
        }
    }
}

/// Parameters per statement, below SQLite's 32766 and PostgreSQL's 65535.
const MAX_PARAMS: usize = 30_000;
const MAX_ROWS_PER_INSERT: usize = 500;

async fn load_tables<B: Backend>(
    db: &mut B,
    target: &Target,
    plan: &[TablePlan],
    bag: &mut Bag,
) -> Result<Vec<TableSummary>> {
    let mut out = Vec::new();
    for t in plan {
        let qname = target.quote_table(&t.table);
        let fail = |what: &str, e: sqlx::Error| {
            Error::runtime(format!(
                "{}: table {}: {what}: {e}",
                target.display(),
                t.table
            ))
        };
        db.exec(&format!("DROP TABLE IF EXISTS {qname}"))
            .await
            .map_err(|e| fail("cannot drop the previous import", e))?;
        let cols: Vec<String> = t
            .columns
            .iter()
            .map(|(n, ty)| format!("{} {}", quote(n), ty.sql(target)))
            .collect();
        db.exec(&format!("CREATE TABLE {qname} ({})", cols.join(", ")))
            .await
            .map_err(|e| fail("cannot create", e))?;
        let ncols = t.columns.len();
        let per_insert = (MAX_PARAMS / ncols).clamp(1, MAX_ROWS_PER_INSERT);
        let col_list = t
            .columns
            .iter()
            .map(|(n, _)| quote(n))
            .collect::<Vec<_>>()
            .join(", ");
        let mut statements: HashMap<usize, String> = HashMap::new();
        let mut sql_for = |rows: usize| -> String {
            statements
                .entry(rows)
                .or_insert_with(|| {
                    let mut n = 0;
                    let tuples: Vec<String> = (0..rows)
                        .map(|_| {
                            let ps: Vec<String> = (0..ncols)
                                .map(|_| {
                                    n += 1;
                                    B::placeholder(n)
                                })
                                .collect();
                            format!("({})", ps.join(", "))
                        })
                        .collect();
                    format!(
                        "INSERT INTO {qname} ({col_list}) VALUES {}",
                        tuples.join(", ")
                    )
                })
                .clone()
        };
        let mut rows_total = 0u64;
        for r in &t.resources {
            crate::interrupt::check()?;
            let at = |line: u64, what: &str| {
                Error::Usage(format!(
                    "{} (resource '{}'), line {line}: {what}",
                    r.path, r.name
                ))
            };
            let reader = bag.open_file(&r.path)?;
            let mut csv = csv::ReaderBuilder::new()
                .delimiter(r.delimiter)
                .has_headers(r.header)
                .flexible(false)
                .from_reader(reader);
            if r.header {
                let header = csv
                    .headers()
                    .map_err(|e| at(1, &format!("unreadable header: {e}")))?;
                let names: Vec<&str> = header.iter().collect();
                if names != r.fields.iter().map(String::as_str).collect::<Vec<_>>() {
                    return Err(at(
                        1,
                        "the header row differs from the fields in datapackage.json",
                    ));
                }
            }
            let mut batch: Vec<Cell> = Vec::with_capacity(per_insert * ncols);
            let mut batch_rows = 0;
            let mut record = csv::StringRecord::new();
            loop {
                let more = csv.read_record(&mut record).map_err(|e| {
                    let line = e.position().map(|p| p.line()).unwrap_or(0);
                    at(line, &format!("malformed CSV ({})", csv_error_kind(&e)))
                })?;
                if !more {
                    break;
                }
                let line = record.position().map(|p| p.line()).unwrap_or(0);
                if record.len() != ncols {
                    return Err(at(
                        line,
                        &format!("{} cells, expected {ncols}", record.len()),
                    ));
                }
                for (i, raw) in record.iter().enumerate() {
                    let (cname, ty) = &t.columns[i];
                    let cell = convert(raw, *ty, r.unguard).map_err(|why| {
                        at(
                            line,
                            &format!("column '{}': {why}", r.fields.get(i).unwrap_or(cname)),
                        )
                    })?;
                    batch.push(cell);
                }
                batch_rows += 1;
                if batch_rows == per_insert {
                    db.insert(&sql_for(batch_rows), &batch)
                        .await
                        .map_err(|e| fail("cannot insert rows", e))?;
                    rows_total += batch_rows as u64;
                    batch.clear();
                    batch_rows = 0;
                }
            }
            if batch_rows > 0 {
                db.insert(&sql_for(batch_rows), &batch)
                    .await
                    .map_err(|e| fail("cannot insert rows", e))?;
                rows_total += batch_rows as u64;
            }
        }
        out.push(TableSummary {
            table: t.table.clone(),
            resources: t.resources.iter().map(|r| r.name.clone()).collect(),
            columns: t.columns.iter().map(|(n, _)| n.clone()).collect(),
            rows: rows_total,
        });
    }
    Ok(out)
}

/// The kind of a CSV error without the cell contents it may quote.
fn csv_error_kind(e: &csv::Error) -> &'static str {
    match e.kind() {
        csv::ErrorKind::Utf8 { .. } => "not UTF-8",
        csv::ErrorKind::UnequalLengths { .. } => "rows of different lengths",
        csv::ErrorKind::Io(_) => "read error",
        _ => "parse error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_safe() {
        assert_eq!(safe_ident("address.city", "c"), "address_city");
        assert_eq!(safe_ident("\"; DROP TABLE x; --", "c"), "drop_table_x");
        assert_eq!(safe_ident("9lives", "c"), "_9lives");
        assert_eq!(safe_ident("Größe", "column"), "größe");
        assert_eq!(safe_ident("--", "column"), "column");
        assert!(safe_ident(&"x".repeat(200), "c").len() <= 63);
        let mut used = BTreeSet::new();
        assert_eq!(unique("a".into(), &mut used), "a");
        assert_eq!(unique("a".into(), &mut used), "a_2");
    }

    #[test]
    fn cells_convert() {
        assert!(
            matches!(convert("'=1+2", ColType::Text, true), Ok(Cell::Text(Some(s))) if s == "=1+2")
        );
        assert!(
            matches!(convert("'=1+2", ColType::Text, false), Ok(Cell::Text(Some(s))) if s == "'=1+2")
        );
        assert!(matches!(
            convert("", ColType::Integer, true),
            Ok(Cell::Int(None))
        ));
        assert!(matches!(
            convert("-5", ColType::Integer, true),
            Ok(Cell::Int(Some(-5)))
        ));
        assert!(convert("x", ColType::Number, true).is_err());
        assert!(matches!(
            convert("TRUE", ColType::Boolean, true),
            Ok(Cell::Bool(Some(true)))
        ));
    }
}
