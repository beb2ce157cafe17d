//! The request ledger (SPEC 4.6): every export, link and revocation, with due dates.
//!
//! An operator must show which requests were answered, when, and what was sent, and must
//! see which ones are running late. The ledger keeps exactly that — request id, received and
//! due date, status, archive hash and size, where it went, link expiry, an event history —
//! and, for identifiers, only keyed hashes (HMAC, see [`crate::keyed`]), never values: it is
//! a file in clear next to the config, so it must not become a second copy of personal data.
//!
//! Storage is an embedded SQLite file by default (WAL mode, a busy timeout and `BEGIN
//! IMMEDIATE` writes, so several exports at once queue instead of failing; the file is mode
//! 0600) or PostgreSQL for teams (`ledger = "postgres://…"`). The schema is created
//! idempotently and versioned in `schema_version`.
//!
//! A request counts as *answered* once an export delivered a complete archive
//! (`answered_at`); a later revocation does not undo that. It is *overdue* when it was not
//! answered by its due date: either still unanswered (only partial exports) after the due
//! date, or answered after it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{NaiveDate, SecondsFormat, Utc};
use serde::Serialize;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};
use sqlx::Row;
use tokio::runtime::Runtime;

use crate::config::Config;
use crate::error::{redact_url, scrub_password, Error, Result};
use crate::keyed::IdentifierHasher;
use crate::receipt::Receipt;
use crate::subject::{IdentifierSet, Provenance};

/// The schema this version of dsar writes.
pub const SCHEMA_VERSION: i64 = 1;

/// Statements creating the schema, per backend (only the event id column differs).
fn schema(event_id: &str) -> [String; 5] {
    [
        "CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)".into(),
        "CREATE TABLE IF NOT EXISTS requests (
            request_id TEXT PRIMARY KEY,
            received_date TEXT NOT NULL,
            due_date TEXT NOT NULL,
            status TEXT NOT NULL,
            archive_sha256 TEXT,
            archive_bytes BIGINT,
            destination_kind TEXT NOT NULL,
            location TEXT NOT NULL,
            bucket TEXT,
            object_key TEXT,
            link_expires_at TEXT,
            answered_at TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )"
        .into(),
        "CREATE TABLE IF NOT EXISTS request_identifiers (
            request_id TEXT NOT NULL REFERENCES requests (request_id),
            kind TEXT NOT NULL,
            origin TEXT NOT NULL,
            hash TEXT NOT NULL,
            PRIMARY KEY (request_id, kind, hash)
        )"
        .into(),
        format!(
            "CREATE TABLE IF NOT EXISTS events (
                id {event_id},
                request_id TEXT NOT NULL REFERENCES requests (request_id),
                at TEXT NOT NULL,
                action TEXT NOT NULL,
                detail TEXT NOT NULL
            )"
        ),
        "CREATE INDEX IF NOT EXISTS events_by_request ON events (request_id, id)".into(),
    ]
}

/// One request as the ledger holds it.
#[derive(Debug, Clone, Serialize)]
pub struct RequestRow {
    /// Request id.
    pub request_id: String,
    /// When the request was received (YYYY-MM-DD).
    pub received_date: String,
    /// When the answer is due (YYYY-MM-DD).
    pub due_date: String,
    /// `exported`, `partial` (some sources failed) or `revoked` (the upload was deleted).
    pub status: String,
    /// SHA-256 of the last archive sent.
    pub archive_sha256: Option<String>,
    /// Its size in bytes.
    pub archive_bytes: Option<i64>,
    /// `local` or `s3`.
    pub destination_kind: String,
    /// A path or `s3://bucket/key`.
    pub location: String,
    /// S3 bucket.
    pub bucket: Option<String>,
    /// S3 key.
    pub object_key: Option<String>,
    /// When the latest link stops working (RFC 3339 UTC); empty after revocation.
    pub link_expires_at: Option<String>,
    /// When a complete archive was first delivered.
    pub answered_at: Option<String>,
    /// First recorded.
    pub created_at: String,
    /// Last changed.
    pub updated_at: String,
}

impl RequestRow {
    /// Days until the due date (negative once past), counted from `today`.
    pub fn days_left(&self, today: NaiveDate) -> Option<i64> {
        let due = NaiveDate::parse_from_str(&self.due_date, "%Y-%m-%d").ok()?;
        Some((due - today).num_days())
    }

    /// Days the answer came after the due date (0 when on time), once answered.
    pub fn days_late(&self) -> Option<i64> {
        let due = NaiveDate::parse_from_str(&self.due_date, "%Y-%m-%d").ok()?;
        let answered = chrono::DateTime::parse_from_rfc3339(self.answered_at.as_deref()?).ok()?;
        Some(
            (answered.with_timezone(&Utc).date_naive() - due)
                .num_days()
                .max(0),
        )
    }

    /// Not answered by the due date: unanswered and past due, or answered late.
    pub fn is_overdue(&self, today: NaiveDate) -> bool {
        match self.days_late() {
            Some(late) => late > 0,
            None => self.days_left(today).is_some_and(|d| d < 0),
        }
    }

    /// "12 days left", "3 days overdue", "answered", "answered 10 days late".
    pub fn deadline(&self, today: NaiveDate) -> String {
        let days = |n: i64| {
            if n == 1 {
                "1 day".into()
            } else {
                format!("{n} days")
            }
        };
        match (self.days_late(), self.days_left(today)) {
            (Some(0), _) => "answered".into(),
            (Some(late), _) => format!("answered {} late", days(late)),
            (None, Some(d)) if d >= 0 => format!("{} left", days(d)),
            (None, Some(d)) => format!("{} overdue", days(-d)),
            (None, None) => "?".into(),
        }
    }
}

/// A keyed hash of one identifier of a request.
#[derive(Debug, Clone, Serialize)]
pub struct IdentifierRow {
    /// Identifier kind.
    pub kind: String,
    /// `given` or `derived`.
    pub origin: String,
    /// `hmac-sha256:…`.
    pub hash: String,
}

/// One entry of a request's history.
#[derive(Debug, Clone, Serialize)]
pub struct EventRow {
    /// When (RFC 3339 UTC).
    pub at: String,
    /// `export`, `link` or `revoke`.
    pub action: String,
    /// Counts, hashes, expiries; never personal data.
    pub detail: serde_json::Value,
}

enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs the same code on whichever pool the ledger uses (the query types differ per
/// backend, the SQL does not: `$n` parameters work in both).
/// A [`RequestRow`] from a row of either backend (the column list is `COLUMNS`).
macro_rules! request_row {
    ($row:expr) => {{
        let row = $row;
        RequestRow {
            request_id: row.try_get("request_id")?,
            received_date: row.try_get("received_date")?,
            due_date: row.try_get("due_date")?,
            status: row.try_get("status")?,
            archive_sha256: row.try_get("archive_sha256")?,
            archive_bytes: row.try_get("archive_bytes")?,
            destination_kind: row.try_get("destination_kind")?,
            location: row.try_get("location")?,
            bucket: row.try_get("bucket")?,
            object_key: row.try_get("object_key")?,
            link_expires_at: row.try_get("link_expires_at")?,
            answered_at: row.try_get("answered_at")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
        }
    }};
}

macro_rules! on_pool {
    ($db:expr, |$pool:ident| $body:expr) => {
        match $db {
            Db::Sqlite($pool) => $body,
            Db::Postgres($pool) => $body,
        }
    };
}

/// Runs `$body` with `$conn` inside a write transaction: `BEGIN IMMEDIATE` on SQLite so a
/// concurrent writer waits on the busy timeout instead of failing on a lock upgrade.
macro_rules! write_tx {
    ($ledger:expr, |$conn:ident| $body:expr) => {
        match &$ledger.db {
            Db::Sqlite(pool) => {
                let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                let $conn = &mut *tx;
                $body;
                tx.commit().await
            }
            Db::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                let $conn = &mut *tx;
                $body;
                tx.commit().await
            }
        }
    };
}

/// Writes the schema version on first use; evaluates to the version found before.
macro_rules! stamp_version {
    ($conn:expr) => {{
        let found: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM schema_version")
            .fetch_one(&mut *$conn)
            .await?;
        if found.is_none() {
            sqlx::query("INSERT INTO schema_version (version) VALUES ($1)")
                .bind(SCHEMA_VERSION)
                .execute(&mut *$conn)
                .await?;
        }
        found
    }};
}

/// Appends an event (same SQL on both backends).
macro_rules! insert_event {
    ($conn:expr, $request_id:expr, $at:expr, $action:expr, $detail:expr) => {
        sqlx::query("INSERT INTO events (request_id, at, action, detail) VALUES ($1, $2, $3, $4)")
            .bind($request_id)
            .bind($at)
            .bind($action)
            .bind($detail)
            .execute(&mut *$conn)
            .await?
    };
}

/// The request ledger.
pub struct Ledger {
    runtime: Runtime,
    db: Db,
    /// Where it is, for messages (a path, or a URL without password).
    shown: String,
    /// The PostgreSQL URL, to scrub its password from driver messages (empty for SQLite).
    url: String,
}

const COLUMNS: &str = "request_id, received_date, due_date, status, archive_sha256, archive_bytes, destination_kind, location, bucket, object_key, link_expires_at, answered_at, created_at, updated_at";

fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Where a ledger setting points.
enum Location {
    Sqlite(PathBuf),
    Postgres(String),
}

fn location(config: &Config) -> Result<Location> {
    let l = config.ledger.trim();
    if l.starts_with("postgres://") || l.starts_with("postgresql://") {
        return Ok(Location::Postgres(l.to_string()));
    }
    if let Some(rest) = l.strip_prefix("sqlite:") {
        let path = rest.strip_prefix("//").unwrap_or(rest);
        let path = Path::new(path);
        let path = if path.is_relative() {
            config.base_dir.join(path)
        } else {
            path.to_path_buf()
        };
        return Ok(Location::Sqlite(path));
    }
    if l.contains("://") {
        return Err(Error::Config(format!(
            "{}: ledger '{}' must be a SQLite file path or a postgres:// URL",
            config.file.display(),
            redact_url(l)
        )));
    }
    Ok(Location::Sqlite(PathBuf::from(l)))
}

impl Ledger {
    /// Opens (creating if needed) the configured ledger.
    pub fn open(config: &Config) -> Result<Ledger> {
        Self::connect(config, true)?.ok_or_else(|| Error::runtime("ledger missing"))
    }

    /// Opens the ledger for reading; `None` when a SQLite ledger was never created.
    pub fn open_existing(config: &Config) -> Result<Option<Ledger>> {
        Self::connect(config, false)
    }

    fn connect(config: &Config, create: bool) -> Result<Option<Ledger>> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::runtime(format!("cannot start the ledger runtime: {e}")))?;
        let (db, shown, url) = match location(config)? {
            Location::Sqlite(path) => {
                if !path.exists() {
                    if !create {
                        return Ok(None);
                    }
                    create_private_file(&path)?;
                }
                restrict(&path)?;
                let options = SqliteConnectOptions::new()
                    .filename(&path)
                    .create_if_missing(false)
                    .journal_mode(SqliteJournalMode::Wal)
                    .busy_timeout(Duration::from_secs(30))
                    .foreign_keys(true);
                let shown = path.display().to_string();
                let pool = runtime
                    .block_on(
                        SqlitePoolOptions::new()
                            .max_connections(1)
                            .acquire_timeout(Duration::from_secs(60))
                            .connect_with(options),
                    )
                    .map_err(|e| Error::runtime(format!("cannot open the ledger {shown}: {e}")))?;
                (Db::Sqlite(pool), shown, String::new())
            }
            Location::Postgres(url) => {
                let shown = redact_url(&url);
                let pool = runtime
                    .block_on(
                        PgPoolOptions::new()
                            .max_connections(1)
                            .acquire_timeout(Duration::from_secs(10))
                            .connect(&url),
                    )
                    .map_err(|e| {
                        Error::runtime(format!(
                            "cannot connect to the ledger {shown}: {}",
                            scrub_password(&e.to_string(), &url)
                        ))
                    })?;
                (Db::Postgres(pool), shown, url)
            }
        };
        let ledger = Ledger {
            runtime,
            db,
            shown,
            url,
        };
        ledger.migrate()?;
        Ok(Some(ledger))
    }

    /// Where the ledger is (a path, or a URL without password).
    pub fn describe(&self) -> &str {
        &self.shown
    }

    fn fail(&self, what: &str, e: sqlx::Error) -> Error {
        Error::runtime(format!(
            "ledger {}: {what}: {}",
            self.shown,
            scrub_password(&e.to_string(), &self.url)
        ))
    }

    fn migrate(&self) -> Result<()> {
        let result: std::result::Result<(), sqlx::Error> = self.runtime.block_on(async {
            let version: Option<i64> = match &self.db {
                Db::Sqlite(pool) => {
                    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                    for statement in schema("INTEGER PRIMARY KEY AUTOINCREMENT") {
                        sqlx::query(&statement).execute(&mut *tx).await?;
                    }
                    let v = stamp_version!(tx);
                    tx.commit().await?;
                    v
                }
                Db::Postgres(pool) => {
                    let mut tx = pool.begin().await?;
                    // Concurrent CREATE TABLE IF NOT EXISTS can collide in PostgreSQL.
                    sqlx::query("SELECT pg_advisory_xact_lock(7460235001)")
                        .execute(&mut *tx)
                        .await?;
                    for statement in schema("BIGSERIAL PRIMARY KEY") {
                        sqlx::query(&statement).execute(&mut *tx).await?;
                    }
                    let v = stamp_version!(tx);
                    tx.commit().await?;
                    v
                }
            };
            if version.is_some_and(|v| v > SCHEMA_VERSION) {
                return Err(sqlx::Error::Protocol(format!(
                    "written by a newer dsar (schema {}, this one knows {SCHEMA_VERSION}); upgrade dsar",
                    version.unwrap_or_default()
                )));
            }
            Ok(())
        });
        result.map_err(|e| self.fail("cannot prepare the schema", e))
    }

    /// Records an export: the request (created or updated), its identifier hashes, an event.
    pub fn record_export(
        &self,
        receipt: &Receipt,
        hasher: &IdentifierHasher,
        ids: &IdentifierSet,
    ) -> Result<()> {
        let at = now();
        let d = &receipt.destination;
        let status = if receipt.complete {
            "exported"
        } else {
            "partial"
        };
        let answered = receipt.complete.then(|| at.clone());
        let link_expires = d.link.as_ref().map(|l| l.expires_at.clone());
        let identifiers: Vec<(String, &'static str, String)> = ids
            .iter()
            .map(|(kind, value, p)| {
                let origin = match p {
                    Provenance::Given => "given",
                    Provenance::Derived { .. } => "derived",
                };
                (kind.to_string(), origin, hasher.hash(kind, value))
            })
            .collect();
        let detail = serde_json::json!({
            "status": status,
            "archive_sha256": receipt.archive.sha256,
            "archive_bytes": receipt.archive.bytes,
            "encryption": receipt.archive.encryption,
            "destination": d.kind,
            "location": d.location,
            "link_expires_at": link_expires,
            "total_records": receipt.total_records,
            "sources": receipt.sources.iter().map(|s| serde_json::json!({
                "name": s.name, "record_count": s.record_count, "status": s.status,
            })).collect::<Vec<_>>(),
            "identifiers": identifiers.len(),
        })
        .to_string();
        let r = &receipt.request;
        let result: std::result::Result<(), sqlx::Error> = self.runtime.block_on(async {
            write_tx!(self, |conn| {
                sqlx::query(
                    "INSERT INTO requests (request_id, received_date, due_date, status, archive_sha256, archive_bytes, destination_kind, location, bucket, object_key, link_expires_at, answered_at, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13)
                     ON CONFLICT (request_id) DO UPDATE SET
                        status = excluded.status,
                        archive_sha256 = excluded.archive_sha256,
                        archive_bytes = excluded.archive_bytes,
                        destination_kind = excluded.destination_kind,
                        location = excluded.location,
                        bucket = excluded.bucket,
                        object_key = excluded.object_key,
                        link_expires_at = excluded.link_expires_at,
                        answered_at = COALESCE(requests.answered_at, excluded.answered_at),
                        updated_at = excluded.updated_at",
                )
                .bind(&r.id)
                .bind(&r.received_date)
                .bind(&r.due_date)
                .bind(status)
                .bind(&receipt.archive.sha256)
                .bind(receipt.archive.bytes as i64)
                .bind(&d.kind)
                .bind(&d.location)
                .bind(&d.bucket)
                .bind(&d.key)
                .bind(&link_expires)
                .bind(&answered)
                .bind(&at)
                .execute(&mut *conn)
                .await?;
                for (kind, origin, hash) in &identifiers {
                    sqlx::query(
                        "INSERT INTO request_identifiers (request_id, kind, origin, hash) VALUES ($1, $2, $3, $4)
                         ON CONFLICT (request_id, kind, hash) DO NOTHING",
                    )
                    .bind(&r.id)
                    .bind(kind)
                    .bind(*origin)
                    .bind(hash)
                    .execute(&mut *conn)
                    .await?;
                }
                insert_event!(conn, &r.id, &at, "export", &detail);
            })
        });
        result.map_err(|e| self.fail(&format!("cannot record request {}", r.id), e))
    }

    /// Records a new link for a request.
    pub fn record_link(&self, request_id: &str, expires_at: &str, ttl_seconds: u64) -> Result<()> {
        let at = now();
        let detail =
            serde_json::json!({ "link_expires_at": expires_at, "ttl_seconds": ttl_seconds })
                .to_string();
        let result: std::result::Result<(), sqlx::Error> = self.runtime.block_on(async {
            write_tx!(self, |conn| {
                sqlx::query(
                    "UPDATE requests SET link_expires_at = $1, updated_at = $2 WHERE request_id = $3",
                )
                .bind(expires_at)
                .bind(&at)
                .bind(request_id)
                .execute(&mut *conn)
                .await?;
                insert_event!(conn, request_id, &at, "link", &detail);
            })
        });
        result.map_err(|e| self.fail(&format!("cannot record the link of {request_id}"), e))
    }

    /// Records a revocation; returns its time.
    pub fn record_revoke(
        &self,
        request_id: &str,
        bucket: &str,
        deleted: &[String],
    ) -> Result<String> {
        let at = now();
        let detail = serde_json::json!({ "bucket": bucket, "deleted": deleted }).to_string();
        let result: std::result::Result<(), sqlx::Error> = self.runtime.block_on(async {
            write_tx!(self, |conn| {
                sqlx::query(
                    "UPDATE requests SET status = 'revoked', link_expires_at = NULL, updated_at = $1 WHERE request_id = $2",
                )
                .bind(&at)
                .bind(request_id)
                .execute(&mut *conn)
                .await?;
                insert_event!(conn, request_id, &at, "revoke", &detail);
            })
        });
        result
            .map_err(|e| self.fail(&format!("cannot record the revocation of {request_id}"), e))?;
        Ok(at)
    }

    /// One request.
    pub fn request(&self, request_id: &str) -> Result<Option<RequestRow>> {
        let sql = format!("SELECT {COLUMNS} FROM requests WHERE request_id = $1");
        let result = self.runtime.block_on(async {
            on_pool!(&self.db, |pool| {
                match sqlx::query(&sql)
                    .bind(request_id)
                    .fetch_optional(pool)
                    .await?
                {
                    Some(row) => Ok::<_, sqlx::Error>(Some(request_row!(row))),
                    None => Ok(None),
                }
            })
        });
        result.map_err(|e| self.fail(&format!("cannot read request {request_id}"), e))
    }

    /// Every request, by due date.
    pub fn requests(&self) -> Result<Vec<RequestRow>> {
        let sql = format!("SELECT {COLUMNS} FROM requests ORDER BY due_date, request_id");
        let result = self.runtime.block_on(async {
            on_pool!(&self.db, |pool| {
                let rows = sqlx::query(&sql).fetch_all(pool).await?;
                rows.iter()
                    .map(|row| Ok::<_, sqlx::Error>(request_row!(row)))
                    .collect::<std::result::Result<Vec<_>, _>>()
            })
        });
        result.map_err(|e| self.fail("cannot list requests", e))
    }

    /// The identifier hashes of a request.
    pub fn identifiers(&self, request_id: &str) -> Result<Vec<IdentifierRow>> {
        let result = self.runtime.block_on(async {
            on_pool!(&self.db, |pool| {
                let rows = sqlx::query(
                    "SELECT kind, origin, hash FROM request_identifiers WHERE request_id = $1 ORDER BY origin DESC, kind, hash",
                )
                .bind(request_id)
                .fetch_all(pool)
                .await?;
                rows.iter()
                    .map(|row| {
                        Ok::<_, sqlx::Error>(IdentifierRow {
                            kind: row.try_get("kind")?,
                            origin: row.try_get("origin")?,
                            hash: row.try_get("hash")?,
                        })
                    })
                    .collect::<std::result::Result<Vec<_>, _>>()
            })
        });
        result.map_err(|e| self.fail(&format!("cannot read identifiers of {request_id}"), e))
    }

    /// The history of a request, oldest first.
    pub fn events(&self, request_id: &str) -> Result<Vec<EventRow>> {
        let result = self.runtime.block_on(async {
            on_pool!(&self.db, |pool| {
                let rows = sqlx::query(
                    "SELECT at, action, detail FROM events WHERE request_id = $1 ORDER BY id",
                )
                .bind(request_id)
                .fetch_all(pool)
                .await?;
                rows.iter()
                    .map(|row| {
                        let detail: String = row.try_get("detail")?;
                        Ok::<_, sqlx::Error>(EventRow {
                            at: row.try_get("at")?,
                            action: row.try_get("action")?,
                            detail: serde_json::from_str(&detail)
                                .unwrap_or(serde_json::Value::String(detail)),
                        })
                    })
                    .collect::<std::result::Result<Vec<_>, _>>()
            })
        });
        result.map_err(|e| self.fail(&format!("cannot read events of {request_id}"), e))
    }
}

/// Creates the ledger file readable by the owner only (SQLite gives its -wal and -shm
/// files the same mode).
fn create_private_file(path: &Path) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io("cannot create", dir, e))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(path)
        .map(drop)
        .map_err(|e| Error::io("cannot create the ledger", path, e))
}

/// Tightens a ledger file that others can read to 0600.
fn restrict(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(path).map_err(|e| Error::io("cannot read", path, e))?;
        if meta.permissions().mode() & 0o077 != 0 {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
                .map_err(|e| Error::io("cannot restrict permissions of", path, e))?;
        }
    }
    let _ = path;
    Ok(())
}

/// A line of `requests list --json`.
#[derive(Serialize)]
struct Listed<'a> {
    #[serde(flatten)]
    row: &'a RequestRow,
    days_left: Option<i64>,
    days_late: Option<i64>,
    overdue: bool,
}

/// `dsar requests list [--overdue]`.
pub fn cmd_list(config: &Config, overdue: bool, out: &crate::commands::Output) -> Result<()> {
    let today = Utc::now().date_naive();
    let rows = match Ledger::open_existing(config)? {
        Some(ledger) => ledger.requests()?,
        None => Vec::new(),
    };
    let rows: Vec<&RequestRow> = rows
        .iter()
        .filter(|r| !overdue || r.is_overdue(today))
        .collect();
    if out.json {
        let listed: Vec<Listed<'_>> = rows
            .iter()
            .map(|row| Listed {
                row,
                days_left: row.days_left(today),
                days_late: row.days_late(),
                overdue: row.is_overdue(today),
            })
            .collect();
        return out.json(&listed);
    }
    if rows.is_empty() {
        return out.text(if overdue {
            "No overdue requests."
        } else {
            "No requests recorded yet."
        });
    }
    let table: Vec<[String; 6]> = rows
        .iter()
        .map(|r| {
            [
                r.request_id.clone(),
                r.received_date.clone(),
                r.due_date.clone(),
                r.deadline(today),
                r.status.clone(),
                r.destination_kind.clone(),
            ]
        })
        .collect();
    let header = ["ID", "RECEIVED", "DUE", "DEADLINE", "STATUS", "DESTINATION"];
    let mut widths = header.map(str::len);
    for row in &table {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| {
        cells
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    let mut text = line(&header.map(String::from));
    text.push('\n');
    for row in &table {
        text.push_str(&line(row));
        text.push('\n');
    }
    out.text(&text)
}

/// `dsar requests show ID`.
pub fn cmd_show(config: &Config, id: &str, out: &crate::commands::Output) -> Result<()> {
    crate::export::validate_request_id(id)?;
    let not_found = || {
        Error::Usage(format!(
            "request {id} is not in the ledger; see `dsar requests list`"
        ))
    };
    let ledger = Ledger::open_existing(config)?.ok_or_else(not_found)?;
    let row = ledger.request(id)?.ok_or_else(not_found)?;
    let identifiers = ledger.identifiers(id)?;
    let events = ledger.events(id)?;
    let today = Utc::now().date_naive();
    if out.json {
        #[derive(Serialize)]
        struct Shown<'a> {
            request: Listed<'a>,
            identifiers: &'a [IdentifierRow],
            events: &'a [EventRow],
        }
        return out.json(&Shown {
            request: Listed {
                row: &row,
                days_left: row.days_left(today),
                days_late: row.days_late(),
                overdue: row.is_overdue(today),
            },
            identifiers: &identifiers,
            events: &events,
        });
    }
    let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    let mut t = String::new();
    t.push_str(&format!("Request {}\n", row.request_id));
    for (label, value) in [
        ("status", row.status.clone()),
        ("received", row.received_date.clone()),
        ("due", row.due_date.clone()),
        ("deadline", row.deadline(today)),
        ("answered at", opt(&row.answered_at)),
        ("destination", row.destination_kind.clone()),
        ("location", row.location.clone()),
        ("archive sha256", opt(&row.archive_sha256)),
        (
            "archive bytes",
            row.archive_bytes.map_or("-".into(), |b| b.to_string()),
        ),
        ("link expires", opt(&row.link_expires_at)),
        ("recorded", row.created_at.clone()),
        ("updated", row.updated_at.clone()),
    ] {
        t.push_str(&format!("  {label:<15} {value}\n"));
    }
    t.push_str("Identifiers (keyed hashes):\n");
    for i in &identifiers {
        t.push_str(&format!("  {} ({}) {}\n", i.kind, i.origin, i.hash));
    }
    t.push_str("Events:\n");
    for e in &events {
        t.push_str(&format!("  {}  {:<7} {}\n", e.at, e.action, e.detail));
    }
    out.text(&t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(due: &str, answered: Option<&str>) -> RequestRow {
        RequestRow {
            request_id: "R".into(),
            received_date: "2026-01-01".into(),
            due_date: due.into(),
            status: "exported".into(),
            archive_sha256: None,
            archive_bytes: None,
            destination_kind: "local".into(),
            location: "out".into(),
            bucket: None,
            object_key: None,
            link_expires_at: None,
            answered_at: answered.map(str::to_string),
            created_at: "2026-01-01T00:00:00Z".into(),
            updated_at: "2026-01-01T00:00:00Z".into(),
        }
    }

    #[test]
    fn overdue_means_not_answered_by_the_due_date() {
        let today = NaiveDate::from_ymd_opt(2026, 2, 10).expect("valid date");
        let on_time = row("2026-01-31", Some("2026-01-31T23:00:00Z"));
        assert!(!on_time.is_overdue(today));
        assert_eq!(on_time.deadline(today), "answered");
        let late = row("2026-01-31", Some("2026-02-03T08:00:00Z"));
        assert!(late.is_overdue(today));
        assert_eq!(late.deadline(today), "answered 3 days late");
        let open_past = row("2026-02-07", None);
        assert!(open_past.is_overdue(today));
        assert_eq!(open_past.deadline(today), "3 days overdue");
        let open_future = row("2026-02-11", None);
        assert!(!open_future.is_overdue(today));
        assert_eq!(open_future.deadline(today), "1 day left");
    }
}
