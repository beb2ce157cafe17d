//! SQL sources: `sqlite`, `postgres` and `mysql` (MySQL and MariaDB), through sqlx.
//!
//! A SQL source answers a visit with one query and streams its rows: the database does the
//! matching (so its indexes are used) and only candidate rows cross the wire; the identity
//! graph then re-checks every row with the exact matcher, so the SQL may return a superset
//! but must never miss a matching row. Two forms:
//!
//! * `table` + `match`: dsar generates `SELECT * FROM <table> WHERE <cond> OR <cond> …`, one
//!   condition per `match` column over the *new* identifiers of its kind. Identifiers are
//!   quoted per dialect and every value is a bound parameter. With `sql_match = "normalized"`
//!   (the default) the condition normalises the column the way SPEC 4.1 normalises values
//!   (`lower(trim(col))` for emails, digits-only suffix for phones, textual forms of an IP);
//!   with `sql_match = "exact"` the column is compared as stored, so a plain index on it is
//!   used and the stored values must already be normalised.
//! * `query` with `:kind` parameters: each parameter becomes a bound list of the new values of
//!   that kind (`IN (:customer_id)` → `IN ($1, $2)`); values are never spliced into the text.
//!
//! `Source::scan` is synchronous: the source owns a current-thread tokio runtime and blocks on
//! it. Rows are converted to JSON per SPEC 4.3 (see [`SqlSource`] for the type mapping).

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use base64::Engine as _;
use futures_util::{Stream, TryStreamExt};
use serde_json::{Number, Value};
use sqlx::mysql::{MySqlConnectOptions, MySqlConnection, MySqlRow};
use sqlx::postgres::types::{PgInterval, PgMoney, PgTimeTz};
use sqlx::postgres::{PgConnectOptions, PgConnection, PgRow, PgTypeKind};
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqliteRow};
use sqlx::types::chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use sqlx::types::{BigDecimal, Uuid};
use sqlx::{Column as _, ConnectOptions, Executor, Row, Statement, TypeInfo, ValueRef};

use super::{shown, BuildContext, Found, Query, Source};
use crate::config::{SourceConfig, SourceType};
use crate::error::{redact_url, scrub_password, Error, Result};
use crate::records::Record;
use crate::subject::Kind;

/// The SQL dialect of a source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dialect {
    Sqlite,
    Postgres,
    Mysql,
}

impl Dialect {
    fn of(kind: SourceType) -> Dialect {
        match kind {
            SourceType::Postgres => Dialect::Postgres,
            SourceType::Mysql => Dialect::Mysql,
            _ => Dialect::Sqlite,
        }
    }

    /// Quotes one identifier: `"a""b"` (SQLite, PostgreSQL) or `` `a``b` `` (MySQL).
    fn quote(self, ident: &str) -> String {
        match self {
            Dialect::Mysql => format!("`{}`", ident.replace('`', "``")),
            _ => format!("\"{}\"", ident.replace('"', "\"\"")),
        }
    }

    /// Quotes a table name, `schema.table` part by part.
    fn quote_table(self, table: &str) -> String {
        table
            .split('.')
            .map(|p| self.quote(p))
            .collect::<Vec<_>>()
            .join(".")
    }

    /// The cast of a column to text, for comparisons with text values.
    fn text(self, col: &str, class: ColClass) -> String {
        match (self, class) {
            (_, ColClass::Text) | (Dialect::Sqlite, _) => col.to_string(),
            (Dialect::Postgres, _) => format!("CAST({col} AS text)"),
            (Dialect::Mysql, _) => format!("CAST({col} AS CHAR)"),
        }
    }

    /// An expression keeping only the ASCII digits of a text expression.
    fn digits(self, text: &str) -> String {
        match self {
            Dialect::Postgres => format!("regexp_replace({text}, '[^0-9]', '', 'g')"),
            Dialect::Mysql => format!("REGEXP_REPLACE({text}, '[^0-9]', '')"),
            Dialect::Sqlite => {
                // SQLite has no regexp_replace: strip the separators people write in numbers.
                let mut e = text.to_string();
                for sep in [" ", "-", "(", ")", "+", ".", "/"] {
                    e = format!("replace({e}, '{sep}', '')");
                }
                format!("replace({e}, char(9), '')")
            }
        }
    }
}

/// How a column's values compare, from its declared type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ColClass {
    Integer,
    Numeric,
    Text,
    Inet,
    Uuid,
    Json,
    Other,
}

/// A column of the source's table.
#[derive(Debug, Clone)]
struct TableColumn {
    name: String,
    class: ColClass,
}

/// A bound parameter value.
#[derive(Debug, Clone)]
enum Bind {
    Text(String),
    Int(i64),
    Int2(i16),
    Int4(i32),
    Float4(f32),
    Float(f64),
    Decimal(BigDecimal),
    Uuid(Uuid),
    Bool(bool),
    NullInt,
    NullInt2,
    NullInt4,
    NullFloat4,
    NullFloat,
    NullDecimal,
    NullUuid,
    NullBool,
}

/// A statement ready to run.
struct Prepared {
    sql: String,
    binds: Vec<Bind>,
}

/// One piece of a hand-written query: text, or a `:kind` parameter.
#[derive(Debug, PartialEq, Eq)]
enum Piece<'a> {
    Text(&'a str),
    Param(&'a str),
    /// A `?` or `$1` placeholder of the user's own (not allowed: use `:kind`).
    Positional,
}

enum Conn {
    Sqlite(SqliteConnection),
    Postgres(PgConnection),
    Mysql(MySqlConnection),
}

/// A `sqlite`, `postgres` or `mysql` source.
///
/// Types map to JSON per SPEC 4.3: integers → numbers; `NUMERIC`/`DECIMAL` → a JSON number
/// when an `f64` holds the value exactly (e.g. `5900.50` → `5900.5`), else a string with every
/// digit (`"12345678901234567890.123"`), so no value is ever rounded; floats → numbers (NaN and
/// infinities → strings); booleans → `true`/`false` (MySQL `TINYINT(1)` is reported as a
/// boolean by the server and written as one); `timestamptz`/MySQL `TIMESTAMP` → RFC 3339 in
/// UTC (`2024-03-02T10:50:00Z`); `timestamp`/`DATETIME` without a zone → ISO 8601 without an
/// offset (`2024-03-02T16:20:00`), since the database does not know one; dates → `YYYY-MM-DD`;
/// times → `HH:MM:SS[.ffffff]` (with offset for `timetz`); intervals → ISO 8601 durations;
/// UUIDs → text; `json`/`jsonb`/MySQL `JSON` (and MariaDB's `JSON` alias, recognised by its
/// `json_valid` check in `table` form) → nested JSON; `bytea`/`BLOB` → base64; `inet`/`cidr`
/// → text; enums → their label; `NULL` → null; text → text.
pub struct SqlSource {
    cfg: SourceConfig,
    dialect: Dialect,
    base: PathBuf,
    runtime: tokio::runtime::Runtime,
    conn: Option<Conn>,
    columns: Option<Vec<TableColumn>>,
    /// MariaDB `JSON` columns of the table (found once).
    json_columns: Option<Vec<String>>,
    exact: bool,
}

impl SqlSource {
    /// Builds the source; the connection is opened on first use.
    pub fn new(cfg: SourceConfig, ctx: &BuildContext) -> Result<Self> {
        let dialect = Dialect::of(cfg.kind);
        if let Some(q) = &cfg.query {
            let pieces = pieces(q, Some(dialect));
            if pieces.contains(&Piece::Positional) {
                return Err(Error::Config(format!(
                    "source '{}': query uses a positional parameter (? or $1); name identifier kinds instead, e.g. WHERE customer_id IN (:customer_id)",
                    cfg.name
                )));
            }
            let mut any = false;
            for p in &pieces {
                if let Piece::Param(kind) = p {
                    any = true;
                    Kind::parse(kind).map_err(|e| {
                        Error::Config(format!("source '{}': query parameter :{e}", cfg.name))
                    })?;
                    if !cfg.match_fields.contains_key(*kind) {
                        return Err(Error::Config(format!(
                            "source '{}': query parameter :{kind} has no entry in 'match'; add match = {{ {kind} = \"<column returned by the query>\" }} so that each row is confirmed",
                            cfg.name
                        )));
                    }
                }
            }
            if !any {
                return Err(Error::Config(format!(
                    "source '{}': query has no :kind parameter; filter by an identifier, e.g. WHERE email = :email",
                    cfg.name
                )));
            }
        }
        if dialect == Dialect::Sqlite {
            if let Some(u) = &cfg.url {
                if !(u.starts_with("sqlite:")) || u.contains('?') {
                    return Err(Error::Config(format!(
                        "source '{}': url must be \"sqlite:PATH\" without options (or use path = \"…\")",
                        cfg.name
                    )));
                }
            }
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::runtime(format!("cannot start the database runtime: {e}")))?;
        let exact = cfg.sql_match.as_deref() == Some("exact");
        Ok(SqlSource {
            cfg,
            dialect,
            base: ctx.base_dir.clone(),
            runtime,
            conn: None,
            columns: None,
            json_columns: None,
            exact,
        })
    }

    fn err(&self, message: impl std::fmt::Display) -> Error {
        Error::source(&self.cfg.name, message)
    }

    /// The SQLite file, resolved against the config directory.
    fn sqlite_path(&self) -> PathBuf {
        match (&self.cfg.path, &self.cfg.url) {
            (Some(p), _) => self.base.join(p),
            (None, Some(u)) => {
                let p = u
                    .strip_prefix("sqlite://")
                    .or_else(|| u.strip_prefix("sqlite:"))
                    .unwrap_or(u);
                self.base.join(p)
            }
            (None, None) => unreachable!("validated: sqlite needs path or url"),
        }
    }

    /// Where the source connects to, for messages: passwords are never shown.
    fn target(&self) -> String {
        match self.dialect {
            Dialect::Sqlite => shown(&self.base, &self.sqlite_path()),
            _ => redact_url(self.cfg.url.as_deref().unwrap_or_default()),
        }
    }

    fn connect(&mut self) -> Result<()> {
        if self.conn.is_some() {
            return Ok(());
        }
        let timeout = self.cfg.timeout();
        let target = self.target();
        let url = self.cfg.url.as_deref().unwrap_or_default();
        let fail = |e: String| {
            let e = scrub_password(&e, url);
            Error::source(
                &self.cfg.name,
                format!("cannot connect to {target}: {e}; check the URL, that the server runs and accepts connections, and the credentials"),
            )
        };
        let conn = match self.dialect {
            Dialect::Sqlite => {
                let path = self.sqlite_path();
                if let Err(e) = std::fs::metadata(&path) {
                    return Err(self.err(format!(
                        "cannot open SQLite database {}: {e}",
                        shown(&self.base, &path)
                    )));
                }
                let opts = SqliteConnectOptions::new()
                    .filename(&path)
                    .read_only(true)
                    .create_if_missing(false)
                    .disable_statement_logging();
                let c = self
                    .runtime
                    .block_on(with_timeout(timeout, opts.connect()))
                    .map_err(fail)?;
                Conn::Sqlite(c)
            }
            Dialect::Postgres => {
                let url = self.cfg.url.as_deref().unwrap_or_default();
                let opts = PgConnectOptions::from_str(url)
                    .map_err(|e| fail(format!("not a valid postgres:// URL ({e})")))?
                    .application_name("dsar")
                    .disable_statement_logging();
                let c = self
                    .runtime
                    .block_on(with_timeout(timeout, opts.connect()))
                    .map_err(fail)?;
                Conn::Postgres(c)
            }
            Dialect::Mysql => {
                let url = self.cfg.url.as_deref().unwrap_or_default();
                let opts = MySqlConnectOptions::from_str(url)
                    .map_err(|e| fail(format!("not a valid mysql:// URL ({e})")))?
                    .disable_statement_logging();
                let c = self
                    .runtime
                    .block_on(with_timeout(timeout, opts.connect()))
                    .map_err(fail)?;
                Conn::Mysql(c)
            }
        };
        self.conn = Some(conn);
        Ok(())
    }

    /// Loads (once) the table's columns and checks every column the config names.
    fn table_columns(&mut self) -> Result<Vec<TableColumn>> {
        if let Some(c) = &self.columns {
            return Ok(c.clone());
        }
        self.connect()?;
        let table = self.cfg.table.clone().expect("table form");
        let (schema, name) = match table.split_once('.') {
            Some((s, t)) => (Some(s.to_string()), t.to_string()),
            None => (None, table.clone()),
        };
        let quoted = self.dialect.quote_table(&table);
        let timeout = self.cfg.timeout();
        let conn = self.conn.as_mut().expect("connected");
        let rows: std::result::Result<Vec<(String, String)>, String> = match conn {
            Conn::Postgres(c) => self.runtime.block_on(with_timeout(
                timeout,
                sqlx::query_as::<_, (String, String)>(
                    "SELECT a.attname::text, bt.typname::text \
                     FROM pg_catalog.pg_attribute a \
                     JOIN pg_catalog.pg_type t ON t.oid = a.atttypid \
                     JOIN pg_catalog.pg_type bt ON bt.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END \
                     WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped \
                     ORDER BY a.attnum",
                )
                .bind(&quoted)
                .fetch_all(&mut *c),
            )),
            Conn::Mysql(c) => self
                .runtime
                .block_on(with_timeout(
                    timeout,
                    sqlx::query(
                        "SELECT COLUMN_NAME, DATA_TYPE FROM information_schema.COLUMNS \
                         WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ? \
                         ORDER BY ORDINAL_POSITION",
                    )
                    .bind(schema.clone())
                    .bind(&name)
                    .fetch_all(&mut *c),
                ))
                .map(|rows| {
                    rows.iter()
                        .map(|r| (mysql_text(r, 0), mysql_text(r, 1)))
                        .collect()
                }),
            Conn::Sqlite(c) => {
                let q = match &schema {
                    Some(_) => "SELECT name, type FROM pragma_table_info(?1, ?2)",
                    None => "SELECT name, type FROM pragma_table_info(?1)",
                };
                let mut q = sqlx::query_as::<_, (String, String)>(q).bind(&name);
                if let Some(s) = &schema {
                    q = q.bind(s);
                }
                self.runtime
                    .block_on(with_timeout(timeout, q.fetch_all(&mut *c)))
            }
        };
        let rows = rows.map_err(|e| {
            self.err(format!(
                "cannot read the columns of table '{table}' in {}: {e}",
                self.target()
            ))
        })?;
        if rows.is_empty() {
            return Err(self.err(format!(
                "table '{table}' does not exist in {} (or this user cannot see it); check 'table'{}",
                self.target(),
                if self.dialect == Dialect::Postgres && schema.is_none() {
                    " (write schema.table, or set search_path)"
                } else {
                    ""
                }
            )));
        }
        let columns: Vec<TableColumn> = rows
            .into_iter()
            .map(|(name, ty)| TableColumn {
                class: classify(self.dialect, &ty),
                name,
            })
            .collect();
        let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
        self.check_named_columns(&names, &format!("table '{table}'"))?;
        self.columns = Some(columns.clone());
        Ok(columns)
    }

    /// MariaDB's `JSON` is `LONGTEXT` with a `json_valid` check: find those columns.
    fn mariadb_json_columns(&mut self) -> Vec<String> {
        let Some(table) = self.cfg.table.clone() else {
            return Vec::new();
        };
        let (schema, name) = match table.split_once('.') {
            Some((s, t)) => (Some(s.to_string()), t.to_string()),
            None => (None, table),
        };
        let timeout = self.cfg.timeout();
        let Some(Conn::Mysql(c)) = self.conn.as_mut() else {
            return Vec::new();
        };
        // MySQL has no TABLE_NAME in this view (and a real JSON type): the error means "none".
        let rows = self.runtime.block_on(with_timeout(
            timeout,
            sqlx::query(
                "SELECT CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS \
                 WHERE CONSTRAINT_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ?",
            )
            .bind(schema)
            .bind(name)
            .fetch_all(&mut *c),
        ));
        rows.map(|rows| {
            rows.iter()
                .filter_map(|r| {
                    let clause = mysql_text(r, 0);
                    let inner = clause
                        .trim()
                        .strip_prefix("json_valid(`")?
                        .strip_suffix("`)")?;
                    Some(inner.replace("``", "`"))
                })
                .collect()
        })
        .unwrap_or_default()
    }

    /// Every `match`, `provides` and `exclude` column must be among `names`.
    fn check_named_columns(&self, names: &[&str], what: &str) -> Result<()> {
        let named = self
            .cfg
            .match_fields
            .iter()
            .map(|(k, f)| ("match", k.as_str(), f))
            .chain(
                self.cfg
                    .provides
                    .iter()
                    .map(|(k, f)| ("provides", k.as_str(), f)),
            )
            .chain(self.cfg.exclude.iter().map(|f| ("exclude", "", f)));
        for (key, kind, field) in named {
            let top = field.split('.').next().unwrap_or(field);
            // A dotted name may reach into a JSON column (`details.email`) in match/provides.
            let found =
                names.contains(&field.as_str()) || (key != "exclude" && names.contains(&top));
            if !found {
                let key = if kind.is_empty() {
                    key.to_string()
                } else {
                    format!("{key}.{kind}")
                };
                return Err(self.err(format!(
                    "{what} has no column '{field}' (named in {key}); columns are: {}",
                    names.join(", ")
                )));
            }
        }
        Ok(())
    }

    /// The generated `SELECT` for the table form, or `None` when nothing can match.
    fn generated(&mut self, query: &Query<'_>) -> Result<Option<Prepared>> {
        let columns = self.table_columns()?;
        let d = self.dialect;
        let mut binds = Vec::new();
        let mut conds = Vec::new();
        for (kind_name, field) in &self.cfg.match_fields {
            let kind = Kind::parse(kind_name).expect("validated by config");
            let values: Vec<&str> = query.new.values(&kind).collect();
            if values.is_empty() {
                continue;
            }
            let Some(col) = columns.iter().find(|c| &c.name == field) else {
                // A dotted path into a JSON column (`details.email`): look for the value in
                // the column's JSON text and let the matcher decide.
                let top = field.split('.').next().unwrap_or(field);
                if let Some(col) = columns.iter().find(|c| c.name == top) {
                    conds.push(json_text_condition(d, &kind, col, &values, &mut binds));
                }
                continue;
            };
            if let Some(c) = condition(d, self.exact, &kind, col, &values, &mut binds) {
                conds.push(c);
            }
        }
        if conds.is_empty() {
            return Ok(None);
        }
        let sql = format!(
            "SELECT * FROM {} WHERE {}",
            d.quote_table(self.cfg.table.as_deref().expect("table form")),
            conds
                .iter()
                .map(|c| format!("({c})"))
                .collect::<Vec<_>>()
                .join(" OR ")
        );
        Ok(Some(Prepared { sql, binds }))
    }

    /// The hand-written query with its `:kind` parameters bound, or `None` when no parameter
    /// has a value.
    fn written(&mut self, query: &Query<'_>) -> Result<Option<Prepared>> {
        let text = self.cfg.query.clone().expect("query form");
        let pieces = pieces(&text, Some(self.dialect));
        let mut values: Vec<Vec<String>> = Vec::new();
        let mut any = false;
        for p in &pieces {
            if let Piece::Param(kind) = p {
                let kind = Kind::parse(kind).expect("checked in new()");
                let v: Vec<String> = query.new.values(&kind).map(str::to_string).collect();
                any |= !v.is_empty();
                values.push(v);
            }
        }
        if !any {
            return Ok(None);
        }
        let d = self.dialect;
        let render = |casts: &[Option<String>]| -> (String, Vec<(usize, String)>) {
            let mut sql = String::with_capacity(text.len() + 16);
            let mut flat = Vec::new();
            let mut param = 0usize;
            for p in &pieces {
                match p {
                    Piece::Text(t) => sql.push_str(t),
                    Piece::Positional => unreachable!("rejected in new()"),
                    Piece::Param(_) => {
                        let vals = &values[param];
                        if vals.is_empty() {
                            sql.push_str("NULL");
                        } else {
                            let list: Vec<String> = vals
                                .iter()
                                .map(|v| {
                                    flat.push((param, v.clone()));
                                    let n = flat.len();
                                    let ph = match d {
                                        Dialect::Postgres => format!("${n}"),
                                        _ => "?".to_string(),
                                    };
                                    match casts.get(n - 1).and_then(Option::as_ref) {
                                        Some(ty) => format!("CAST({ph} AS {ty})"),
                                        None => ph,
                                    }
                                })
                                .collect();
                            sql.push_str(&list.join(", "));
                        }
                        param += 1;
                    }
                }
            }
            (sql, flat)
        };
        let (sql, flat) = render(&[]);
        if d != Dialect::Postgres {
            let binds = flat.into_iter().map(|(_, v)| Bind::Text(v)).collect();
            return Ok(Some(Prepared { sql, binds }));
        }
        // PostgreSQL types parameters strictly (integer = text is an error): let the server
        // infer each parameter's type, then bind each value as that type. A value that is not
        // of the type (`1 OR 1=1` for an integer) cannot match: it is bound as NULL.
        self.connect()?;
        let timeout = self.cfg.timeout();
        let Some(Conn::Postgres(c)) = self.conn.as_mut() else {
            unreachable!("postgres source holds a postgres connection")
        };
        let types: Vec<String> = self
            .runtime
            .block_on(with_timeout(timeout, async {
                let st = (&mut *c).prepare_with(&sql, &[]).await?;
                Ok::<_, sqlx::Error>(match st.parameters() {
                    Some(sqlx::Either::Left(t)) => t.iter().map(|t| t.name().to_string()).collect(),
                    _ => Vec::new(),
                })
            }))
            .map_err(|e| self.err(format!("query does not prepare: {}", scrub(&e, &flat))))?;
        let mut binds = Vec::with_capacity(flat.len());
        let mut casts: Vec<Option<String>> = Vec::with_capacity(flat.len());
        let mut any_cast = false;
        for (i, (_, v)) in flat.iter().enumerate() {
            let ty = types.get(i).map(String::as_str).unwrap_or("TEXT");
            match pg_bind(ty, v) {
                Some(b) => {
                    binds.push(b);
                    casts.push(None);
                }
                None => {
                    binds.push(Bind::Text(v.clone()));
                    casts.push(Some(ty.to_string()));
                    any_cast = true;
                }
            }
        }
        let sql = if any_cast { render(&casts).0 } else { sql };
        Ok(Some(Prepared { sql, binds }))
    }

    /// Runs a statement and emits each row as a record.
    fn run(&mut self, p: Prepared, emit: &mut dyn FnMut(Found) -> Result<()>) -> Result<()> {
        self.connect()?;
        if self.json_columns.is_none() {
            self.json_columns = Some(if self.dialect == Dialect::Mysql {
                self.mariadb_json_columns()
            } else {
                Vec::new()
            });
        }
        let json_columns = self.json_columns.clone().unwrap_or_default();
        let timeout = self.cfg.timeout();
        let name = self.cfg.name.clone();
        let values: Vec<(usize, String)> = p
            .binds
            .iter()
            .filter_map(|b| bind_text(b).map(|t| (0, t)))
            .collect();
        let conn = self.conn.as_mut().expect("connected");
        let runtime = &self.runtime;
        let result = match conn {
            Conn::Postgres(c) => {
                let mut q = sqlx::query(&p.sql);
                for b in &p.binds {
                    q = match b {
                        Bind::Text(s) => q.bind(s.clone()),
                        Bind::Int(i) => q.bind(*i),
                        Bind::Int2(i) => q.bind(*i),
                        Bind::Int4(i) => q.bind(*i),
                        Bind::Float4(f) => q.bind(*f),
                        Bind::Float(f) => q.bind(*f),
                        Bind::Decimal(d) => q.bind(d.clone()),
                        Bind::Uuid(u) => q.bind(*u),
                        Bind::Bool(v) => q.bind(*v),
                        Bind::NullInt => q.bind(None::<i64>),
                        Bind::NullInt2 => q.bind(None::<i16>),
                        Bind::NullInt4 => q.bind(None::<i32>),
                        Bind::NullFloat4 => q.bind(None::<f32>),
                        Bind::NullFloat => q.bind(None::<f64>),
                        Bind::NullDecimal => q.bind(None::<BigDecimal>),
                        Bind::NullUuid => q.bind(None::<Uuid>),
                        Bind::NullBool => q.bind(None::<bool>),
                    };
                }
                runtime.block_on(pump(q.fetch(&mut *c), timeout, pg_record, emit))
            }
            Conn::Mysql(c) => {
                let mut q = sqlx::query(&p.sql);
                for b in &p.binds {
                    q = match b {
                        Bind::Int(i) => q.bind(*i),
                        Bind::Text(s) => q.bind(s.clone()),
                        other => q.bind(bind_text(other)),
                    };
                }
                let convert = |row: &MySqlRow| mysql_record(row, &json_columns);
                runtime.block_on(pump(q.fetch(&mut *c), timeout, convert, emit))
            }
            Conn::Sqlite(c) => {
                let mut q = sqlx::query(&p.sql);
                for b in &p.binds {
                    q = match b {
                        Bind::Int(i) => q.bind(*i),
                        Bind::Text(s) => q.bind(s.clone()),
                        other => q.bind(bind_text(other)),
                    };
                }
                runtime.block_on(pump(q.fetch(&mut *c), timeout, sqlite_record, emit))
            }
        };
        result.map_err(|e| match e {
            PumpError::Emit(e) => e,
            PumpError::Sql(e) => {
                Error::source(&name, format!("query failed: {}", scrub(&e, &values)))
            }
            PumpError::Convert(e) => Error::source(&name, e),
        })
    }
}

impl Source for SqlSource {
    fn config(&self) -> &SourceConfig {
        &self.cfg
    }

    fn check(&mut self) -> Result<String> {
        self.connect()?;
        let target = self.target();
        if let Some(table) = self.cfg.table.clone() {
            let columns = self.table_columns()?;
            return Ok(format!(
                "{target}: table '{table}' has {} column(s), including every column named in match/provides/exclude",
                columns.len()
            ));
        }
        // The query form: prepare it with one placeholder per parameter.
        let text = self.cfg.query.clone().expect("query form");
        let d = self.dialect;
        let mut n = 0;
        let sql: String = pieces(&text, Some(d))
            .iter()
            .map(|p| match p {
                Piece::Text(t) => t.to_string(),
                _ => {
                    n += 1;
                    match d {
                        Dialect::Postgres => format!("${n}"),
                        _ => "?".to_string(),
                    }
                }
            })
            .collect();
        let timeout = self.cfg.timeout();
        let conn = self.conn.as_mut().expect("connected");
        let columns: std::result::Result<Vec<String>, String> = match conn {
            Conn::Postgres(c) => self.runtime.block_on(with_timeout(timeout, async {
                let st = (&mut *c).prepare_with(&sql, &[]).await?;
                Ok(st.columns().iter().map(|c| c.name().to_string()).collect())
            })),
            Conn::Mysql(c) => self.runtime.block_on(with_timeout(timeout, async {
                let st = (&mut *c).prepare(&sql).await?;
                Ok(st.columns().iter().map(|c| c.name().to_string()).collect())
            })),
            Conn::Sqlite(c) => self.runtime.block_on(with_timeout(timeout, async {
                let st = (&mut *c).prepare(&sql).await?;
                Ok(st.columns().iter().map(|c| c.name().to_string()).collect())
            })),
        };
        let columns = columns.map_err(|e| self.err(format!("query does not prepare: {e}")))?;
        let names: Vec<&str> = columns.iter().map(String::as_str).collect();
        self.check_named_columns(&names, "the query's result")?;
        Ok(format!(
            "{target}: query prepares, returns {} column(s) including every column named in match/provides/exclude",
            columns.len()
        ))
    }

    fn scan(&mut self, query: &Query<'_>, emit: &mut dyn FnMut(Found) -> Result<()>) -> Result<()> {
        let prepared = if self.cfg.table.is_some() {
            self.generated(query)?
        } else {
            self.written(query)?
        };
        match prepared {
            Some(p) => self.run(p, emit),
            None => Ok(()),
        }
    }
}

/// The WHERE condition for one `match` column, pushing its bound values; `None` when no value
/// can match the column (e.g. no integer among the values for an integer column).
fn condition(
    d: Dialect,
    exact: bool,
    kind: &Kind,
    col: &TableColumn,
    values: &[&str],
    binds: &mut Vec<Bind>,
) -> Option<String> {
    let q = d.quote(&col.name);
    let ph = |b: Bind, binds: &mut Vec<Bind>| -> String {
        binds.push(b);
        match d {
            Dialect::Postgres => format!("${}", binds.len()),
            _ => "?".to_string(),
        }
    };
    let list =
        |items: Vec<String>| -> Option<String> { (!items.is_empty()).then(|| items.join(", ")) };
    // Integer and UUID columns are compared with typed values, so their index is used and a
    // value that is not an integer (e.g. `1 OR 1=1`) is never coerced by the database.
    if col.class == ColClass::Integer && !matches!(kind, Kind::Phone) {
        let ints: Vec<String> = values
            .iter()
            .filter_map(|v| v.parse::<i64>().ok())
            .map(|i| ph(Bind::Int(i), binds))
            .collect();
        return list(ints).map(|l| format!("{q} IN ({l})"));
    }
    if col.class == ColClass::Uuid && d == Dialect::Postgres {
        let ids: Vec<String> = values
            .iter()
            .filter_map(|v| Uuid::parse_str(v).ok())
            .map(|u| ph(Bind::Uuid(u), binds))
            .collect();
        return list(ids).map(|l| format!("{q} IN ({l})"));
    }
    if col.class == ColClass::Inet && d == Dialect::Postgres {
        let mut forms = Vec::new();
        for v in values {
            if let Ok(ip) = v.parse::<std::net::IpAddr>() {
                forms.push(ip.to_string());
                if let std::net::IpAddr::V4(v4) = ip {
                    forms.push(v4.to_ipv6_mapped().to_string());
                }
            }
        }
        let items: Vec<String> = forms
            .into_iter()
            .map(|f| {
                let p = ph(Bind::Text(f), binds);
                if exact {
                    format!("CAST({p} AS inet)")
                } else {
                    p
                }
            })
            .collect();
        return list(items).map(|l| {
            if exact {
                format!("{q} IN ({l})")
            } else {
                format!("host({q}) IN ({l})")
            }
        });
    }
    let text = d.text(&q, col.class);
    if exact {
        let items: Vec<String> = values
            .iter()
            .map(|v| ph(Bind::Text(v.to_string()), binds))
            .collect();
        return list(items).map(|l| format!("{text} IN ({l})"));
    }
    match kind {
        Kind::Email => {
            let mut parts = Vec::new();
            let ascii: Vec<String> = values
                .iter()
                .filter(|v| v.is_ascii())
                .map(|v| ph(Bind::Text(v.to_string()), binds))
                .collect();
            if let Some(l) = list(ascii) {
                parts.push(format!("lower(trim({text})) IN ({l})"));
            }
            // A database's lower() may fold ASCII only (SQLite, C collations) and cannot see
            // Unicode normalisation: for non-ASCII addresses keep the ASCII letters and let
            // `%` stand for every run of other characters; the matcher then decides.
            for v in values.iter().filter(|v| !v.is_ascii()) {
                let p = ph(Bind::Text(like_pattern(v)), binds);
                parts.push(format!("lower(trim({text})) LIKE {p} ESCAPE '!'"));
            }
            Some(parts.join(" OR "))
        }
        Kind::Phone => {
            let digits = d.digits(&text);
            let parts: Vec<String> = values
                .iter()
                .filter_map(|v| national_number(v))
                .map(|nsn| format!("{digits} LIKE {}", ph(Bind::Text(format!("%{nsn}")), binds)))
                .collect();
            (!parts.is_empty()).then(|| parts.join(" OR "))
        }
        Kind::Ip => {
            let mut forms = Vec::new();
            let mut patterns = Vec::new();
            for v in values {
                match v.parse::<std::net::IpAddr>() {
                    Ok(std::net::IpAddr::V4(v4)) => {
                        let o = v4.octets();
                        let hex = format!(
                            "{:x}:{:x}",
                            u16::from_be_bytes([o[0], o[1]]),
                            u16::from_be_bytes([o[2], o[3]])
                        );
                        for f in [
                            v4.to_string(),
                            format!("::ffff:{v4}"),
                            format!("[::ffff:{v4}]"),
                            format!("0:0:0:0:0:ffff:{v4}"),
                            format!("::ffff:{hex}"),
                        ] {
                            forms.push(f);
                        }
                    }
                    Ok(std::net::IpAddr::V6(v6)) => {
                        forms.push(v6.to_string());
                        let s = v6.segments();
                        forms.push(
                            s.iter()
                                .map(|g| format!("{g:04x}"))
                                .collect::<Vec<_>>()
                                .join(":"),
                        );
                        // Any other textual form still ends with the last group, written
                        // with up to three leading zeros (or `::` when it is zero).
                        let last = format!("{:x}", s[7]);
                        for pad in last.len()..=4 {
                            let g = format!("{last:0>pad$}");
                            patterns.push(format!("%:{g}"));
                            patterns.push(format!("%:{g}]"));
                        }
                    }
                    Err(_) => {}
                }
            }
            let mut parts = Vec::new();
            let items: Vec<String> = forms
                .into_iter()
                .map(|f| ph(Bind::Text(f), binds))
                .collect();
            if let Some(l) = list(items) {
                parts.push(format!("lower(trim({text})) IN ({l})"));
            }
            for p in patterns {
                let p = ph(Bind::Text(p), binds);
                parts.push(format!("lower(trim({text})) LIKE {p}"));
            }
            (!parts.is_empty()).then(|| parts.join(" OR "))
        }
        Kind::Other(_) => {
            let items: Vec<String> = values
                .iter()
                .map(|v| ph(Bind::Text(v.to_string()), binds))
                .collect();
            list(items).map(|l| format!("trim({text}) IN ({l})"))
        }
    }
}

/// A condition on the JSON text of a column that holds (somewhere) one of `values`: a
/// case-insensitive substring test for plain ASCII values; any row for values that JSON text
/// may spell differently (phones, IPv6 addresses, non-ASCII or escaped characters).
fn json_text_condition(
    d: Dialect,
    kind: &Kind,
    col: &TableColumn,
    values: &[&str],
    binds: &mut Vec<Bind>,
) -> String {
    let text = format!("lower({})", d.text(&d.quote(&col.name), ColClass::Json));
    let mut parts = Vec::new();
    for v in values {
        let spelled_differently = !v.is_ascii()
            || v.contains(['"', '\\', '/'])
            || *kind == Kind::Phone
            || (*kind == Kind::Ip && v.contains(':'));
        if spelled_differently {
            return "1=1".to_string();
        }
        let mut pattern = String::from("%");
        for c in v.to_ascii_lowercase().chars() {
            if matches!(c, '%' | '_' | '!') {
                pattern.push('!');
            }
            pattern.push(c);
        }
        pattern.push('%');
        binds.push(Bind::Text(pattern));
        let ph = match d {
            Dialect::Postgres => format!("${}", binds.len()),
            _ => "?".to_string(),
        };
        parts.push(format!("{text} LIKE {ph} ESCAPE '!'"));
    }
    parts.join(" OR ")
}

/// A LIKE pattern (escape `!`) keeping the ASCII characters of a value; `%` stands for every
/// run of non-ASCII characters.
fn like_pattern(v: &str) -> String {
    let mut out = String::new();
    let mut in_run = false;
    for c in v.chars() {
        if c.is_ascii() {
            in_run = false;
            if matches!(c, '%' | '_' | '!') {
                out.push('!');
            }
            out.push(c);
        } else if !in_run {
            in_run = true;
            out.push('%');
        }
    }
    out
}

/// The national significant number of an E.164 phone number (`+919876543210` → `9876543210`).
fn national_number(e164: &str) -> Option<String> {
    let n = phonenumber::parse(None, e164).ok()?;
    let national = n.national();
    Some(format!(
        "{}{}",
        "0".repeat(national.zeros() as usize),
        national.value()
    ))
}

/// The bound value for a PostgreSQL parameter of type `ty` (exactly that type: the statement
/// the server typed is reused), or `None` when the value must be sent as text and cast by the
/// server.
fn pg_bind(ty: &str, v: &str) -> Option<Bind> {
    Some(match ty {
        "INT2" => v.parse().map_or(Bind::NullInt2, Bind::Int2),
        "INT4" => v.parse().map_or(Bind::NullInt4, Bind::Int4),
        "INT8" => v.parse().map_or(Bind::NullInt, Bind::Int),
        "NUMERIC" => BigDecimal::from_str(v).map_or(Bind::NullDecimal, Bind::Decimal),
        "FLOAT4" => match v.parse::<f32>() {
            Ok(f) if f.is_finite() => Bind::Float4(f),
            _ => Bind::NullFloat4,
        },
        "FLOAT8" => match v.parse::<f64>() {
            Ok(f) if f.is_finite() => Bind::Float(f),
            _ => Bind::NullFloat,
        },
        "UUID" => Uuid::parse_str(v).map_or(Bind::NullUuid, Bind::Uuid),
        "BOOL" => match v {
            "true" => Bind::Bool(true),
            "false" => Bind::Bool(false),
            _ => Bind::NullBool,
        },
        "TEXT" | "VARCHAR" | "BPCHAR" | "NAME" | "UNKNOWN" => Bind::Text(v.to_string()),
        _ => return None,
    })
}

fn bind_text(b: &Bind) -> Option<String> {
    match b {
        Bind::Text(s) => Some(s.clone()),
        Bind::Int(i) => Some(i.to_string()),
        Bind::Int2(i) => Some(i.to_string()),
        Bind::Int4(i) => Some(i.to_string()),
        Bind::Float4(f) => Some(f.to_string()),
        Bind::Float(f) => Some(f.to_string()),
        Bind::Decimal(d) => Some(d.to_string()),
        Bind::Uuid(u) => Some(u.to_string()),
        Bind::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The comparison class of a declared column type.
fn classify(d: Dialect, ty: &str) -> ColClass {
    let t = ty.to_ascii_lowercase();
    match d {
        Dialect::Postgres => match t.as_str() {
            "int2" | "int4" | "int8" => ColClass::Integer,
            "numeric" | "float4" | "float8" | "money" => ColClass::Numeric,
            "text" | "varchar" | "bpchar" | "name" | "citext" => ColClass::Text,
            "inet" | "cidr" => ColClass::Inet,
            "uuid" => ColClass::Uuid,
            "json" | "jsonb" => ColClass::Json,
            _ => ColClass::Other,
        },
        Dialect::Mysql => match t.as_str() {
            "tinyint" | "smallint" | "mediumint" | "int" | "integer" | "bigint" => {
                ColClass::Integer
            }
            "decimal" | "numeric" | "float" | "double" => ColClass::Numeric,
            "char" | "varchar" | "tinytext" | "text" | "mediumtext" | "longtext" | "enum"
            | "set" => ColClass::Text,
            "json" => ColClass::Json,
            _ => ColClass::Other,
        },
        // SQLite's affinity rules (https://sqlite.org/datatype3.html, 3.1).
        Dialect::Sqlite => {
            if t.contains("int") {
                ColClass::Integer
            } else if t.contains("char") || t.contains("clob") || t.contains("text") {
                ColClass::Text
            } else if t.is_empty() || t.contains("blob") {
                ColClass::Other
            } else {
                ColClass::Numeric
            }
        }
    }
}

/// Splits a query into text and `:kind` parameters, skipping string literals, quoted
/// identifiers, comments, dollar-quoted strings and `::type` casts. `dialect` decides
/// backslash escapes and `#` comments (MySQL); `None` reads it as ANSI SQL.
fn pieces(query: &str, dialect: Option<Dialect>) -> Vec<Piece<'_>> {
    let b = query.as_bytes();
    let mysql = dialect == Some(Dialect::Mysql);
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    let skip_quoted = |mut i: usize, q: u8, backslash: bool| -> usize {
        i += 1;
        while i < b.len() {
            if backslash && b[i] == b'\\' {
                i += 2;
                continue;
            }
            if b[i] == q {
                if i + 1 < b.len() && b[i + 1] == q {
                    i += 2;
                    continue;
                }
                return i + 1;
            }
            i += 1;
        }
        b.len()
    };
    while i < b.len() {
        match b[i] {
            b'\'' => {
                let escape_string = i > 0 && (b[i - 1] == b'E' || b[i - 1] == b'e');
                i = skip_quoted(i, b'\'', mysql || escape_string);
            }
            b'"' => i = skip_quoted(i, b'"', mysql),
            b'`' if mysql || dialect.is_none() => i = skip_quoted(i, b'`', false),
            b'-' if b.get(i + 1) == Some(&b'-') => {
                i = memchr::memchr(b'\n', &b[i..]).map_or(b.len(), |n| i + n + 1);
            }
            b'#' if mysql => {
                i = memchr::memchr(b'\n', &b[i..]).map_or(b.len(), |n| i + n + 1);
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i = memchr::memmem::find(&b[i + 2..], b"*/").map_or(b.len(), |n| i + 2 + n + 2);
            }
            b'$' => {
                // `$1` is a positional parameter; `$tag$…$tag$` a dollar-quoted string.
                let rest = &b[i + 1..];
                if rest.first().is_some_and(u8::is_ascii_digit) && dialect != Some(Dialect::Mysql) {
                    out.push(Piece::Text(&query[start..i]));
                    out.push(Piece::Positional);
                    i += 1 + rest.iter().take_while(|c| c.is_ascii_digit()).count();
                    start = i;
                    continue;
                }
                let tag_len = rest
                    .iter()
                    .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
                    .count();
                if dialect != Some(Dialect::Mysql) && rest.get(tag_len) == Some(&b'$') {
                    let tag = &b[i..i + tag_len + 2];
                    let body = i + tag.len();
                    i = memchr::memmem::find(&b[body..], tag)
                        .map_or(b.len(), |n| body + n + tag.len());
                } else {
                    i += 1;
                }
            }
            b'?' if dialect != Some(Dialect::Postgres) => {
                out.push(Piece::Text(&query[start..i]));
                out.push(Piece::Positional);
                i += 1;
                start = i;
            }
            b':' => {
                if b.get(i + 1) == Some(&b':') {
                    i += 2;
                    continue;
                }
                let prev_ident = i > 0
                    && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_' || b[i - 1] == b':');
                let len = b[i + 1..]
                    .iter()
                    .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || **c == b'_')
                    .count();
                let next_ident = b
                    .get(i + 1 + len)
                    .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_');
                if len > 0 && !prev_ident && !next_ident && b[i + 1].is_ascii_lowercase() {
                    out.push(Piece::Text(&query[start..i]));
                    out.push(Piece::Param(&query[i + 1..i + 1 + len]));
                    i += 1 + len;
                    start = i;
                } else {
                    i += 1;
                }
            }
            _ => i += 1,
        }
    }
    if start < b.len() {
        out.push(Piece::Text(&query[start..]));
    }
    out
}

/// Named `:kind` parameters in a query, in order of first use.
pub fn named_parameters(query: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for p in pieces(query, None) {
        if let Piece::Param(name) = p {
            if !out.iter().any(|n| n == name) {
                out.push(name.to_string());
            }
        }
    }
    out
}

/// A driver message with every bound value removed (a database may echo a value it could
/// not convert, and values are identifiers).
fn scrub(e: &dyn std::fmt::Display, values: &[(usize, String)]) -> String {
    let mut msg = e.to_string();
    let mut vals: Vec<&str> = values.iter().map(|(_, v)| v.as_str()).collect();
    vals.sort_by_key(|v| std::cmp::Reverse(v.len()));
    for v in vals {
        if !v.is_empty() {
            msg = msg.replace(v, "…");
        }
    }
    msg
}

async fn with_timeout<T>(
    limit: Duration,
    fut: impl std::future::Future<Output = std::result::Result<T, sqlx::Error>>,
) -> std::result::Result<T, String> {
    match tokio::time::timeout(limit, fut).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!(
            "no answer within {}s (the source's timeout)",
            limit.as_secs_f32()
        )),
    }
}

enum PumpError {
    Sql(String),
    Convert(String),
    Emit(Error),
}

/// Streams rows, converting and emitting each; `limit` bounds the wait for each row.
async fn pump<R, S>(
    mut rows: S,
    limit: Duration,
    convert: impl Fn(&R) -> std::result::Result<Record, String>,
    emit: &mut dyn FnMut(Found) -> Result<()>,
) -> std::result::Result<(), PumpError>
where
    S: Stream<Item = std::result::Result<R, sqlx::Error>> + Unpin,
{
    loop {
        let next = match tokio::time::timeout(limit, rows.try_next()).await {
            Ok(r) => r.map_err(|e| PumpError::Sql(e.to_string()))?,
            Err(_) => {
                return Err(PumpError::Sql(format!(
                    "no row within {}s (the source's timeout)",
                    limit.as_secs_f32()
                )))
            }
        };
        let Some(row) = next else { return Ok(()) };
        let record = convert(&row).map_err(PumpError::Convert)?;
        emit(Found::Record(record)).map_err(PumpError::Emit)?;
    }
}

/// Inserts a column, renaming a duplicate name (`id`, `id_2`…) so no value is lost.
fn insert(record: &mut Record, name: &str, value: Value) {
    if !record.contains_key(name) {
        record.insert(name.to_string(), value);
        return;
    }
    let mut n = 2;
    while record.contains_key(&format!("{name}_{n}")) {
        n += 1;
    }
    record.insert(format!("{name}_{n}"), value);
}

fn float(f: f64) -> Value {
    Number::from_f64(f).map_or_else(|| Value::String(f.to_string()), Value::Number)
}

/// A decimal as a JSON number when an f64 holds it exactly, else as a string of all its
/// digits: never rounded.
fn decimal(d: &BigDecimal) -> Value {
    if d.is_integer() {
        let text = d.with_scale(0).to_string();
        if let Ok(i) = text.parse::<i64>() {
            return Value::Number(i.into());
        }
        if let Ok(u) = text.parse::<u64>() {
            return Value::Number(u.into());
        }
        return Value::String(text);
    }
    let plain = d.normalized().to_plain_string();
    if let Ok(f) = plain.parse::<f64>() {
        if f.is_finite() && BigDecimal::from_str(&f.to_string()).is_ok_and(|back| &back == d) {
            if let Some(n) = Number::from_f64(f) {
                return Value::Number(n);
            }
        }
    }
    Value::String(plain)
}

fn b64(bytes: &[u8]) -> Value {
    Value::String(base64::engine::general_purpose::STANDARD.encode(bytes))
}

fn naive_datetime(t: NaiveDateTime) -> Value {
    Value::String(t.format("%Y-%m-%dT%H:%M:%S%.f").to_string())
}

fn utc(t: DateTime<Utc>) -> Value {
    Value::String(t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
}

fn interval(i: &PgInterval) -> Value {
    let mut s = String::from("P");
    let (y, m) = (i.months / 12, i.months % 12);
    if y != 0 {
        s.push_str(&format!("{y}Y"));
    }
    if m != 0 {
        s.push_str(&format!("{m}M"));
    }
    if i.days != 0 {
        s.push_str(&format!("{}D", i.days));
    }
    if i.microseconds != 0 {
        let us = i.microseconds;
        let (h, rem) = (us / 3_600_000_000, us % 3_600_000_000);
        let (min, rem) = (rem / 60_000_000, rem % 60_000_000);
        s.push('T');
        if h != 0 {
            s.push_str(&format!("{h}H"));
        }
        if min != 0 {
            s.push_str(&format!("{min}M"));
        }
        if rem != 0 {
            let secs = rem as f64 / 1_000_000.0;
            s.push_str(&format!("{secs}S"));
        }
    }
    if s == "P" {
        s.push_str("T0S");
    }
    Value::String(s)
}

/// `inet`/`cidr` in PostgreSQL's binary format: family, bits, is_cidr, length, address.
fn pg_inet(bytes: &[u8]) -> std::result::Result<Value, String> {
    let bad = || "malformed inet value".to_string();
    if bytes.len() < 4 {
        return Err(bad());
    }
    let (family, bits, is_cidr) = (bytes[0], bytes[1], bytes[2] != 0);
    let addr = &bytes[4..];
    let (ip, full): (std::net::IpAddr, u8) = match (family, addr.len()) {
        (2, 4) => (
            std::net::Ipv4Addr::new(addr[0], addr[1], addr[2], addr[3]).into(),
            32,
        ),
        (3, 16) => {
            let a: [u8; 16] = addr.try_into().map_err(|_| bad())?;
            (std::net::Ipv6Addr::from(a).into(), 128)
        }
        _ => return Err(bad()),
    };
    Ok(Value::String(if bits == full && !is_cidr {
        ip.to_string()
    } else {
        format!("{ip}/{bits}")
    }))
}

type Conv = std::result::Result<Value, String>;

fn pg_array<T>(row: &PgRow, i: usize, f: impl Fn(T) -> Value) -> Conv
where
    T: for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
    Vec<Option<T>>: for<'r> sqlx::Decode<'r, sqlx::Postgres>,
{
    let items: Vec<Option<T>> = row.try_get_unchecked(i).map_err(|e| e.to_string())?;
    Ok(Value::Array(
        items
            .into_iter()
            .map(|v| v.map_or(Value::Null, &f))
            .collect(),
    ))
}

fn pg_decode(row: &PgRow, i: usize, ty: &sqlx::postgres::PgTypeInfo) -> Conv {
    let e = |e: sqlx::Error| e.to_string();
    Ok(match ty.name() {
        "BOOL" => Value::Bool(row.try_get_unchecked(i).map_err(e)?),
        "INT2" => Value::from(row.try_get_unchecked::<i16, _>(i).map_err(e)?),
        "INT4" => Value::from(row.try_get_unchecked::<i32, _>(i).map_err(e)?),
        "INT8" => Value::from(row.try_get_unchecked::<i64, _>(i).map_err(e)?),
        "OID" => Value::from(row.try_get_unchecked::<sqlx::postgres::types::Oid, _>(i).map_err(e)?.0),
        "FLOAT4" => float(row.try_get_unchecked::<f32, _>(i).map_err(e)? as f64),
        "FLOAT8" => float(row.try_get_unchecked::<f64, _>(i).map_err(e)?),
        "NUMERIC" => match row.try_get_unchecked::<BigDecimal, _>(i) {
            Ok(d) => decimal(&d),
            // NaN and infinities have no BigDecimal.
            Err(_) => Value::String("NaN".into()),
        },
        "MONEY" => decimal(&row.try_get_unchecked::<PgMoney, _>(i).map_err(e)?.to_bigdecimal(2)),
        "TEXT" | "VARCHAR" | "BPCHAR" | "NAME" | "CHAR" | "\"CHAR\"" | "UNKNOWN" | "CITEXT"
        | "XML" => Value::String(row.try_get_unchecked(i).map_err(e)?),
        "TIMESTAMPTZ" => utc(row.try_get_unchecked(i).map_err(e)?),
        "TIMESTAMP" => naive_datetime(row.try_get_unchecked(i).map_err(e)?),
        "DATE" => Value::String(
            row.try_get_unchecked::<NaiveDate, _>(i)
                .map_err(e)?
                .format("%Y-%m-%d")
                .to_string(),
        ),
        "TIME" => Value::String(
            row.try_get_unchecked::<NaiveTime, _>(i)
                .map_err(e)?
                .format("%H:%M:%S%.f")
                .to_string(),
        ),
        "TIMETZ" => {
            let t: PgTimeTz<NaiveTime, FixedOffset> = row.try_get_unchecked(i).map_err(e)?;
            Value::String(format!("{}{}", t.time.format("%H:%M:%S%.f"), t.offset))
        }
        "INTERVAL" => interval(&row.try_get_unchecked(i).map_err(e)?),
        "UUID" => Value::String(row.try_get_unchecked::<Uuid, _>(i).map_err(e)?.to_string()),
        "JSON" | "JSONB" => row.try_get::<Value, _>(i).map_err(e)?,
        "BYTEA" => b64(&row.try_get_unchecked::<Vec<u8>, _>(i).map_err(e)?),
        "INET" | "CIDR" => {
            let raw = row.try_get_raw(i).map_err(e)?;
            pg_inet(raw.as_bytes().map_err(|e| e.to_string())?)?
        }
        "TEXT[]" | "VARCHAR[]" | "BPCHAR[]" | "NAME[]" => pg_array::<String>(row, i, Value::String)?,
        "INT2[]" => pg_array::<i16>(row, i, Value::from)?,
        "INT4[]" => pg_array::<i32>(row, i, Value::from)?,
        "INT8[]" => pg_array::<i64>(row, i, Value::from)?,
        "FLOAT4[]" => pg_array::<f32>(row, i, |f| float(f as f64))?,
        "FLOAT8[]" => pg_array::<f64>(row, i, float)?,
        "BOOL[]" => pg_array::<bool>(row, i, Value::Bool)?,
        "NUMERIC[]" => pg_array::<BigDecimal>(row, i, |d| decimal(&d))?,
        "UUID[]" => pg_array::<Uuid>(row, i, |u| Value::String(u.to_string()))?,
        "TIMESTAMPTZ[]" => pg_array::<DateTime<Utc>>(row, i, utc)?,
        "JSONB[]" | "JSON[]" => pg_array::<Value>(row, i, |v| v)?,
        other => match ty.kind() {
            PgTypeKind::Enum(_) => Value::String(row.try_get_unchecked(i).map_err(e)?),
            PgTypeKind::Domain(base) => pg_decode(row, i, base)?,
            _ => {
                return Err(format!(
                    "has type {other}, which dsar cannot convert to JSON; use a query that casts it, e.g. SELECT …, col::text AS col"
                ))
            }
        },
    })
}

fn pg_record(row: &PgRow) -> std::result::Result<Record, String> {
    let mut record = Record::with_capacity(row.len());
    for (i, col) in row.columns().iter().enumerate() {
        let raw = row.try_get_raw(i).map_err(|e| e.to_string())?;
        let value = if raw.is_null() {
            Value::Null
        } else {
            pg_decode(row, i, col.type_info())
                .map_err(|e| format!("column '{}': {e}", col.name()))?
        };
        insert(&mut record, col.name(), value);
    }
    Ok(record)
}

/// A text cell of a MySQL metadata row (information_schema may answer in binary strings).
fn mysql_text(row: &MySqlRow, i: usize) -> String {
    row.try_get_unchecked::<Vec<u8>, _>(i)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

fn mysql_record(row: &MySqlRow, json_columns: &[String]) -> std::result::Result<Record, String> {
    let mut record = Record::with_capacity(row.len());
    for (i, col) in row.columns().iter().enumerate() {
        let raw = row.try_get_raw(i).map_err(|e| e.to_string())?;
        let value = if raw.is_null() {
            Value::Null
        } else {
            let e = |e: sqlx::Error| format!("column '{}': {e}", col.name());
            match col.type_info().name() {
                "BOOLEAN" => Value::Bool(row.try_get_unchecked::<i64, _>(i).map_err(e)? != 0),
                "TINYINT" | "SMALLINT" | "INT" | "MEDIUMINT" | "BIGINT" | "YEAR" => {
                    Value::from(row.try_get_unchecked::<i64, _>(i).map_err(e)?)
                }
                "TINYINT UNSIGNED" | "SMALLINT UNSIGNED" | "INT UNSIGNED"
                | "MEDIUMINT UNSIGNED" | "BIGINT UNSIGNED" | "BIT" => {
                    Value::from(row.try_get_unchecked::<u64, _>(i).map_err(e)?)
                }
                "FLOAT" => float(row.try_get_unchecked::<f32, _>(i).map_err(e)? as f64),
                "DOUBLE" => float(row.try_get_unchecked::<f64, _>(i).map_err(e)?),
                "DECIMAL" => decimal(&row.try_get_unchecked::<BigDecimal, _>(i).map_err(e)?),
                "DATE" => match row.try_get_unchecked::<NaiveDate, _>(i) {
                    Ok(d) => Value::String(d.format("%Y-%m-%d").to_string()),
                    // MySQL's zero date 0000-00-00 is no date.
                    Err(_) => Value::Null,
                },
                "DATETIME" => match row.try_get_unchecked::<NaiveDateTime, _>(i) {
                    Ok(t) => naive_datetime(t),
                    Err(_) => Value::Null,
                },
                "TIMESTAMP" => match row.try_get_unchecked::<DateTime<Utc>, _>(i) {
                    Ok(t) => utc(t),
                    Err(_) => Value::Null,
                },
                "TIME" => {
                    // MySQL TIME is a duration (it may be negative or over 24 hours); pad the
                    // hours to two digits like other times.
                    let t = row
                        .try_get_unchecked::<sqlx::mysql::types::MySqlTime, _>(i)
                        .map_err(e)?
                        .to_string();
                    Value::String(if t.find(':') == Some(1) {
                        format!("0{t}")
                    } else {
                        t
                    })
                }
                "JSON" => {
                    let text: String = row.try_get_unchecked(i).map_err(e)?;
                    serde_json::from_str(&text).unwrap_or(Value::String(text))
                }
                "GEOMETRY" => b64(&row.try_get_unchecked::<Vec<u8>, _>(i).map_err(e)?),
                other => {
                    let bytes: Vec<u8> = row.try_get_unchecked(i).map_err(e)?;
                    let binary = matches!(other, "BINARY" | "VARBINARY" | "BLOB");
                    match String::from_utf8(bytes) {
                        Ok(text) if json_columns.iter().any(|c| c == col.name()) => {
                            serde_json::from_str(&text).unwrap_or(Value::String(text))
                        }
                        Ok(text) => Value::String(text),
                        // The wire does not tell BLOB from text in a _bin collation: a value
                        // that is not UTF-8 is binary.
                        Err(err) if binary => b64(err.as_bytes()),
                        Err(err) => {
                            Value::String(String::from_utf8_lossy(err.as_bytes()).into_owned())
                        }
                    }
                }
            }
        };
        insert(&mut record, col.name(), value);
    }
    Ok(record)
}

fn sqlite_record(row: &SqliteRow) -> std::result::Result<Record, String> {
    let mut record = Record::with_capacity(row.len());
    for (i, col) in row.columns().iter().enumerate() {
        let e = |e: sqlx::Error| format!("column '{}': {e}", col.name());
        let raw = row.try_get_raw(i).map_err(e)?;
        // SQLite is dynamically typed: the value's storage class decides, the declared type
        // only tells booleans apart.
        let storage = raw.type_info().name().to_string();
        let value = if raw.is_null() {
            Value::Null
        } else {
            match storage.as_str() {
                "INTEGER" => {
                    let v: i64 = row.try_get_unchecked(i).map_err(e)?;
                    if col.type_info().name() == "BOOLEAN" && (v == 0 || v == 1) {
                        Value::Bool(v == 1)
                    } else {
                        Value::from(v)
                    }
                }
                "REAL" => float(row.try_get_unchecked(i).map_err(e)?),
                "BLOB" => b64(&row.try_get_unchecked::<Vec<u8>, _>(i).map_err(e)?),
                _ => Value::String(row.try_get_unchecked(i).map_err(e)?),
            }
        };
        insert(&mut record, col.name(), value);
    }
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_skip_literals_comments_and_casts() {
        let q = "SELECT o.*, ':email' AS x, \"a:b\", o.total::numeric -- :phone\n\
                 FROM orders o /* :ip */ WHERE o.customer_id IN (:customer_id) AND o.note <> $$:x$$ OR o.email = :email";
        assert_eq!(named_parameters(q), vec!["customer_id", "email"]);
        let p = pieces("a = :customer_id", Some(Dialect::Postgres));
        assert_eq!(p, vec![Piece::Text("a = "), Piece::Param("customer_id")]);
        // MySQL backslash escapes and # comments.
        assert_eq!(
            named_parameters_in("SELECT 'it\\'s :a' # :b\n, :c", Dialect::Mysql),
            vec!["c"]
        );
        assert!(pieces("x = ?", Some(Dialect::Sqlite)).contains(&Piece::Positional));
        assert!(pieces("x = $1", Some(Dialect::Postgres)).contains(&Piece::Positional));
        assert!(!pieces("x = '?'", Some(Dialect::Sqlite)).contains(&Piece::Positional));
        // `a:b`-like text and uppercase names are not parameters.
        assert!(named_parameters("SELECT x FROM t WHERE a = :Email OR b = c:d").is_empty());
    }

    fn named_parameters_in(q: &str, d: Dialect) -> Vec<&str> {
        pieces(q, Some(d))
            .into_iter()
            .filter_map(|p| match p {
                Piece::Param(n) => Some(n),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn decimals_are_never_rounded() {
        let d = |s: &str| decimal(&BigDecimal::from_str(s).unwrap());
        assert_eq!(d("5900.50"), serde_json::json!(5900.5));
        assert_eq!(d("1042"), serde_json::json!(1042));
        assert_eq!(
            d("12345678901234567890.123"),
            serde_json::json!("12345678901234567890.123")
        );
        assert_eq!(d("0.1"), serde_json::json!(0.1));
        assert_eq!(
            d("123456789012345678901234567890"),
            serde_json::json!("123456789012345678901234567890")
        );
    }

    #[test]
    fn like_patterns_and_phone_digits() {
        assert_eq!(like_pattern("zoë_x@exämple.com"), "zo%!_x@ex%mple.com");
        assert_eq!(
            national_number("+919876543210").as_deref(),
            Some("9876543210")
        );
    }

    #[test]
    fn inet_binary() {
        assert_eq!(
            pg_inet(&[2, 32, 0, 4, 203, 0, 113, 42]).unwrap(),
            "203.0.113.42"
        );
        assert_eq!(
            pg_inet(&[2, 24, 1, 4, 203, 0, 113, 0]).unwrap(),
            "203.0.113.0/24"
        );
    }

    #[test]
    fn generated_conditions_bind_every_value() {
        let col = TableColumn {
            name: "e\"mail".into(),
            class: ColClass::Text,
        };
        let mut binds = Vec::new();
        let c = condition(
            Dialect::Postgres,
            false,
            &Kind::Email,
            &col,
            &["a@b.c", "x' OR '1'='1"],
            &mut binds,
        )
        .unwrap();
        assert_eq!(c, "lower(trim(\"e\"\"mail\")) IN ($1, $2)");
        assert_eq!(binds.len(), 2);
        let id = TableColumn {
            name: "id".into(),
            class: ColClass::Integer,
        };
        let mut binds = Vec::new();
        let c = condition(
            Dialect::Mysql,
            false,
            &Kind::Other("customer_id".into()),
            &id,
            &["1 OR 1=1", "1042"],
            &mut binds,
        )
        .unwrap();
        assert_eq!(c, "`id` IN (?)");
        assert!(matches!(binds[..], [Bind::Int(1042)]));
        assert!(condition(
            Dialect::Sqlite,
            true,
            &Kind::Other("customer_id".into()),
            &id,
            &["x"],
            &mut Vec::new()
        )
        .is_none());
    }
}
