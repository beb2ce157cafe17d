//! The real sources against real systems: PostgreSQL and MariaDB on this machine (a schema or
//! database per test), SQLite files, access logs, attachment folders and a small HTTP server
//! started by the test. Library-level tests pin exact records; end-to-end tests run the
//! `dsar` binary and open its archive with the Go `age` CLI and unzip.

mod common;

use std::collections::{BTreeSet, HashMap};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use dsar::config::Config;
use dsar::records::Record;
use dsar::sources::{self, Attachment, BuildContext, Found, Query};
use dsar::subject::{IdentifierSet, Kind, Normalizer, Provenance};
use serde_json::{json, Value};
use sqlx::{ConnectOptions, Connection};

const PG: &str = "postgres://postgres@127.0.0.1:5432/test";
const MY: &str = "mysql://root@127.0.0.1:3306/test";
const HEAD: &str = "[controller]\nname = \"Acme Test Ltd\"\ncontact = \"privacy@acme.test\"\n[subject]\ndefault_region = \"IN\"\n";

// ------------------------------------------------------------------ harness

fn block<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(f)
}

fn unique(prefix: &str) -> String {
    format!("{prefix}_{:08x}", rand::random::<u32>())
}

/// A PostgreSQL schema for one test, dropped at the end.
struct PgSchema {
    name: String,
}

impl PgSchema {
    fn new(setup: &str) -> PgSchema {
        let name = unique("t");
        let sql = format!("CREATE SCHEMA {name}; SET search_path TO {name}; {setup}");
        block(async {
            let mut c = sqlx::PgConnection::connect(PG)
                .await
                .expect("PostgreSQL on 127.0.0.1:5432");
            sqlx::raw_sql(&sql)
                .execute(&mut c)
                .await
                .expect("schema setup");
        });
        PgSchema { name }
    }

    /// A URL whose search_path is the schema.
    fn url(&self) -> String {
        format!("{PG}?options=-csearch_path%3D{}", self.name)
    }
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        let sql = format!("DROP SCHEMA {} CASCADE", self.name);
        block(async {
            if let Ok(mut c) = sqlx::PgConnection::connect(PG).await {
                let _ = sqlx::raw_sql(&sql).execute(&mut c).await;
            }
        });
    }
}

/// A MariaDB database for one test, dropped at the end.
struct MyDb {
    name: String,
}

impl MyDb {
    fn new(setup: &str) -> MyDb {
        let name = unique("t");
        let sql = format!(
            "CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci; USE {name}; {setup}"
        );
        block(async {
            let mut c = sqlx::MySqlConnection::connect(MY)
                .await
                .expect("MariaDB on 127.0.0.1:3306");
            sqlx::raw_sql(&sql)
                .execute(&mut c)
                .await
                .expect("database setup");
        });
        MyDb { name }
    }

    fn url(&self) -> String {
        format!("mysql://root@127.0.0.1:3306/{}", self.name)
    }
}

impl Drop for MyDb {
    fn drop(&mut self) {
        let sql = format!("DROP DATABASE {}", self.name);
        block(async {
            if let Ok(mut c) = sqlx::MySqlConnection::connect(MY).await {
                let _ = sqlx::raw_sql(&sql).execute(&mut c).await;
            }
        });
    }
}

/// A SQLite file built from `setup`.
fn sqlite_db(path: &Path, setup: &str) {
    block(async {
        let mut c = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .connect()
            .await
            .expect("sqlite");
        sqlx::raw_sql(setup)
            .execute(&mut c)
            .await
            .expect("sqlite setup");
        c.close().await.expect("close");
    });
}

/// What one visit of one source produced.
#[derive(Default)]
struct Scan {
    /// Everything the source emitted (the SQL may return a superset).
    raw: Vec<Record>,
    /// What the pipeline keeps after the exact matcher.
    kept: Vec<Record>,
    files: Vec<Attachment>,
}

fn load(base: &Path, text: &str, env: &[(&str, &str)]) -> Config {
    let env: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Config::parse(
        &format!("{HEAD}{text}"),
        &base.join("dsar.toml"),
        base,
        &|v| env.get(v).cloned(),
    )
    .unwrap_or_else(|e| panic!("config: {e}"))
}

/// Builds source `name` and asks it once about `ids`.
fn scan_with(base: &Path, config: &Config, name: &str, ids: &[(&str, &str)]) -> dsar::Result<Scan> {
    let normalizer = Normalizer::new(Some("IN"));
    let cfg = config
        .sources
        .iter()
        .find(|s| s.name == name)
        .expect("source in config");
    let ctx = BuildContext {
        base_dir: base.to_path_buf(),
        normalizer: normalizer.clone(),
    };
    let mut source = sources::build(cfg, &ctx)?;
    let mut new = IdentifierSet::new();
    for (k, v) in ids {
        let kind = Kind::parse(k).expect("kind");
        let value = normalizer
            .text(&kind, v)
            .unwrap_or_else(|| panic!("{k}={v} normalises"));
        new.insert(kind, value, Provenance::Given);
    }
    let old = IdentifierSet::new();
    let matcher = sources::matcher(cfg, &normalizer);
    let mut scan = Scan::default();
    source.scan(
        &Query {
            new: &new,
            old: &old,
            matcher: &matcher,
        },
        &mut |found| {
            match found {
                Found::Record(r) => {
                    if matcher.is_empty() || matcher.keep(&r, &new, &old) {
                        scan.kept.push(r.clone());
                    }
                    scan.raw.push(r);
                }
                Found::File(a) => scan.files.push(a),
            }
            Ok(())
        },
    )?;
    Ok(scan)
}

fn ids(records: &[Record], field: &str) -> Vec<String> {
    records
        .iter()
        .map(|r| match &r[field] {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

// ------------------------------------------------------------------ SQL matching

const PEOPLE: &str = "
CREATE TABLE people (id INTEGER PRIMARY KEY, email VARCHAR(100), phone VARCHAR(40), ip VARCHAR(60), note TEXT);
INSERT INTO people VALUES
 (1, 'Priya.Sharma@Example.COM', '+91 98765 43210', '::ffff:203.0.113.42', 'mixed case'),
 (2, ' priya.sharma@example.com ', '098765-43210', '2001:0DB8:0000:0000:0000:0000:0000:0007', 'spaces'),
 (3, 'priya.sharma@example.com', '+919876543210', '203.0.113.42', 'normalised'),
 (4, 'priya.sharma@example.co', '+91 98765 43211', '203.0.113.4', 'other person'),
 (5, 'priya.sharma+news@example.com', '98765 432100', '2001:db8::70', 'other person'),
 (6, 'zoë@example.com', NULL, '203.0.113.142', 'nfc'),
 (7, 'ZOË@EXAMPLE.COM', NULL, NULL, 'upper'),
 (8, 'zoe\u{0308}@example.com', NULL, NULL, 'nfd'),
 (9, 'zoey@example.com', NULL, NULL, 'other person');
";

fn people_source(kind: &str, url: &str, sql_match: &str) -> String {
    let (path_or_url, ty) = match kind {
        "sqlite" => (format!("path = \"{url}\""), "sqlite"),
        other => (format!("url = \"{url}\""), other),
    };
    format!(
        "[[sources]]\nname = \"people\"\ntype = \"{ty}\"\n{path_or_url}\ntable = \"people\"\nsql_match = \"{sql_match}\"\nmatch = {{ email = \"email\", phone = \"phone\", ip = \"ip\" }}\n"
    )
}

/// Runs the people table through both matching modes on one database.
fn check_matching(kind: &str, url: &str, base: &Path) {
    let normalized = load(base, &people_source(kind, url, "normalized"), &[]);
    let exact = load(base, &people_source(kind, url, "exact"), &[]);
    let kept = |c: &Config, id: (&str, &str)| -> Vec<String> {
        let s = scan_with(base, c, "people", &[id]).unwrap_or_else(|e| panic!("{kind}: {e}"));
        // The matcher never has to rescue a row the database should not have returned
        // for these values: what is kept is a subset of what was emitted.
        assert!(s.kept.len() <= s.raw.len());
        sorted(ids(&s.kept, "id"))
    };
    let v = |x: &[&str]| x.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    // normalized: the database folds case and spaces, compares digits, IP forms.
    assert_eq!(
        kept(&normalized, ("email", "priya.sharma@example.com")),
        v(&["1", "2", "3"]),
        "{kind}"
    );
    assert_eq!(
        kept(&normalized, ("phone", "+91 98765 43210")),
        v(&["1", "2", "3"]),
        "{kind}"
    );
    assert_eq!(
        kept(&normalized, ("ip", "203.0.113.42")),
        v(&["1", "3"]),
        "{kind}"
    );
    assert_eq!(
        kept(&normalized, ("ip", "2001:db8::7")),
        v(&["2"]),
        "{kind}"
    );
    assert_eq!(
        kept(&normalized, ("email", "Zoë@example.com")),
        v(&["6", "7", "8"]),
        "{kind}"
    );
    // exact: the column as stored (an index applies); MariaDB's _ci collation still folds case.
    let email_exact = if kind == "mysql" {
        v(&["1", "3"])
    } else {
        v(&["3"])
    };
    assert_eq!(
        kept(&exact, ("email", "priya.sharma@example.com")),
        email_exact,
        "{kind}"
    );
    assert_eq!(
        kept(&exact, ("phone", "+91 98765 43210")),
        v(&["3"]),
        "{kind}"
    );
    assert_eq!(kept(&exact, ("ip", "203.0.113.42")), v(&["3"]), "{kind}");
}

#[test]
fn sql_matching_normalized_and_exact_on_sqlite_postgres_and_mariadb() {
    let tmp = tempdir();
    let db = tmp.path().join("people.sqlite");
    sqlite_db(&db, PEOPLE);
    check_matching("sqlite", "people.sqlite", tmp.path());
    let pg = PgSchema::new(PEOPLE);
    check_matching("postgres", &pg.url(), tmp.path());
    let my = MyDb::new(PEOPLE);
    check_matching("mysql", &my.url(), tmp.path());
}

#[test]
fn injection_attempts_in_identifiers_return_no_rows_and_no_error() {
    let tmp = tempdir();
    let setup = "
CREATE TABLE customers (id INTEGER PRIMARY KEY, email VARCHAR(100) NOT NULL, name VARCHAR(100));
INSERT INTO customers VALUES (1, 'a@example.com', 'Anna'), (2, 'b@example.com', 'Bala'), (1042, 'priya.sharma@example.com', 'Priya');
";
    sqlite_db(&tmp.path().join("c.sqlite"), setup);
    let pg = PgSchema::new(setup);
    let my = MyDb::new(setup);
    let hostile = [
        "x' OR '1'='1",
        "1 OR 1=1",
        "1) OR (1=1",
        ":customer_id",
        "$1",
        "?",
        "1042; DROP TABLE customers; --",
        "' UNION SELECT 1, 'x', 'y' --",
    ];
    for (ty, target) in [
        ("sqlite", "path = \"c.sqlite\"".to_string()),
        ("postgres", format!("url = \"{}\"", pg.url())),
        ("mysql", format!("url = \"{}\"", my.url())),
    ] {
        let text = format!(
            "[[sources]]\nname = \"by_table\"\ntype = \"{ty}\"\n{target}\ntable = \"customers\"\nmatch = {{ customer_id = \"id\", email = \"email\" }}\n\
             [[sources]]\nname = \"by_query\"\ntype = \"{ty}\"\n{target}\nquery = \"SELECT id, email, name FROM customers WHERE id IN (:customer_id) OR email = :email\"\nmatch = {{ customer_id = \"id\", email = \"email\" }}\n"
        );
        let config = load(tmp.path(), &text, &[]);
        for value in hostile {
            for source in ["by_table", "by_query"] {
                for kind in ["customer_id", "email"] {
                    let scan = scan_with(tmp.path(), &config, source, &[(kind, value)])
                        .unwrap_or_else(|e| panic!("{ty} {source} {kind}={value:?}: {e}"));
                    assert!(
                        scan.kept.is_empty(),
                        "{ty} {source} {kind}={value:?} kept {:?}",
                        scan.kept
                    );
                    if ty != "mysql" || source == "by_table" {
                        // MariaDB coerces '1 OR 1=1' to 1 when a hand-written query compares it
                        // with an integer column: that row is dropped by the matcher above.
                        assert!(
                            scan.raw.is_empty(),
                            "{ty} {source} {kind}={value:?} returned {:?}",
                            scan.raw
                        );
                    }
                }
            }
        }
        // The real person is still found through both forms, and the table survived.
        for source in ["by_table", "by_query"] {
            let scan =
                scan_with(tmp.path(), &config, source, &[("customer_id", "1042")]).expect("scan");
            assert_eq!(ids(&scan.kept, "id"), vec!["1042"], "{ty} {source}");
        }
    }
}

#[test]
fn query_parameters_bind_lists_and_skip_literals() {
    let tmp = tempdir();
    let pg = PgSchema::new(
        "CREATE TABLE orders (order_id integer PRIMARY KEY, customer_id integer NOT NULL, ref uuid, note text);
         INSERT INTO orders VALUES (1, 1042, 'a3bb189e-8bf9-3888-9912-ace4e6543002', ':customer_id is text'),
                                   (2, 1042, NULL, NULL), (3, 7, NULL, 'x'), (4, 10420, NULL, NULL);",
    );
    let text = format!(
        "[[sources]]\nname = \"orders\"\ntype = \"postgres\"\nurl = \"{}\"\n\
         query = \"\"\"\nSELECT o.order_id, o.customer_id::text AS cid, ':customer_id' AS literal -- :email\nFROM orders o /* :ip */\nWHERE o.customer_id IN (:customer_id) OR o.ref = :ref_id ORDER BY o.order_id\"\"\"\n\
         match = {{ customer_id = \"cid\", ref_id = \"ref\" }}\n",
        pg.url()
    );
    let config = load(tmp.path(), &text, &[]);
    let s = scan_with(
        tmp.path(),
        &config,
        "orders",
        &[("customer_id", "1042"), ("customer_id", "7")],
    )
    .expect("scan");
    assert_eq!(ids(&s.raw, "order_id"), vec!["1", "2", "3"]);
    assert_eq!(s.raw[0]["literal"], json!(":customer_id"));
    // A uuid parameter that is not a uuid matches nothing (bound as NULL), no error.
    let s = scan_with(tmp.path(), &config, "orders", &[("ref_id", "not-a-uuid")]).expect("scan");
    assert!(s.raw.is_empty());
    // Positional parameters and :kind without a match entry are configuration errors.
    for (query, want) in [
        ("SELECT * FROM orders WHERE customer_id = $1", "positional"),
        (
            "SELECT * FROM orders WHERE customer_id IN (:order_ref)",
            ":order_ref has no entry in 'match'",
        ),
    ] {
        let text = format!(
            "[[sources]]\nname = \"bad\"\ntype = \"postgres\"\nurl = \"{}\"\nquery = \"{query}\"\nmatch = {{ customer_id = \"customer_id\" }}\n",
            pg.url()
        );
        let config = load(tmp.path(), &text, &[]);
        let err = scan_with(tmp.path(), &config, "bad", &[("customer_id", "1")])
            .err()
            .expect("error")
            .to_string();
        assert!(err.contains(want), "{err}");
    }
}

// ------------------------------------------------------------------ SQL types

#[test]
fn postgres_types_map_to_json() {
    let tmp = tempdir();
    let pg = PgSchema::new(
        "CREATE TYPE mood AS ENUM ('happy', 'sad');
         CREATE TABLE t (
           id bigint PRIMARY KEY, small smallint, flag boolean, price numeric(12,2), big numeric,
           ratio double precision, name text, code char(3), at timestamptz, local_at timestamp,
           day date, clock time, clock_tz timetz, span interval, ref uuid, doc jsonb, raw json,
           blob bytea, addr inet, net cidr, tags text[], scores int[], feeling mood, missing text);
         INSERT INTO t VALUES (
           1042, -3, true, 5900.50, 12345678901234567890.123, 0.25, 'Zoë \"Z\" D''Souza, प्रिया', 'IN ',
           '2024-03-02 16:20:00+05:30', '2024-03-02 16:20:00.5', '2024-02-29', '09:05:00', '09:05:00+05:30',
           '1 year 2 months 3 days 04:05:06.5', 'a3bb189e-8bf9-3888-9912-ace4e6543002',
           '{\"channels\": [\"email\", \"sms\"], \"digest\": {\"frequency\": \"weekly\"}}', '[1, \"two\", null]',
           '\\x00ff10', '203.0.113.42', '203.0.113.0/24', ARRAY['a', NULL, 'c'], ARRAY[1, 2], 'happy', NULL);
         INSERT INTO t (id, doc) VALUES (7, '{\"contact\": {\"email\": \"Priya.Sharma@Example.COM\"}}'),
                                        (8, '{\"contact\": {\"email\": \"priya.sharma@example.co\"}}');",
    );
    let text = format!(
        "[[sources]]\nname = \"t\"\ntype = \"postgres\"\nurl = \"{}\"\ntable = \"t\"\nmatch = {{ customer_id = \"id\" }}\n",
        pg.url()
    );
    let config = load(tmp.path(), &text, &[]);
    let s = scan_with(tmp.path(), &config, "t", &[("customer_id", "1042")]).expect("scan");
    assert_eq!(s.kept.len(), 1);
    let want = json!({
        "id": 1042, "small": -3, "flag": true, "price": 5900.5, "big": "12345678901234567890.123",
        "ratio": 0.25, "name": "Zoë \"Z\" D'Souza, प्रिया", "code": "IN ",
        "at": "2024-03-02T10:50:00Z", "local_at": "2024-03-02T16:20:00.500", "day": "2024-02-29",
        "clock": "09:05:00", "clock_tz": "09:05:00+05:30", "span": "P1Y2M3DT4H5M6.5S",
        "ref": "a3bb189e-8bf9-3888-9912-ace4e6543002",
        "doc": {"channels": ["email", "sms"], "digest": {"frequency": "weekly"}},
        "raw": [1, "two", null], "blob": "AP8Q", "addr": "203.0.113.42", "net": "203.0.113.0/24",
        "tags": ["a", null, "c"], "scores": [1, 2], "feeling": "happy", "missing": null
    });
    assert_eq!(Value::Object(s.kept[0].clone()), want);
    // Key order is the table's column order.
    let keys: Vec<&String> = s.kept[0].keys().collect();
    assert_eq!(keys.first().map(|k| k.as_str()), Some("id"));
    assert_eq!(keys.last().map(|k| k.as_str()), Some("missing"));

    // A match field inside a JSON column: the database narrows by the JSON text, the matcher
    // compares the nested value.
    let text = format!(
        "[[sources]]\nname = \"by_json\"\ntype = \"postgres\"\nurl = \"{}\"\ntable = \"t\"\nmatch = {{ email = \"doc.contact.email\" }}\n",
        pg.url()
    );
    let config = load(tmp.path(), &text, &[]);
    let s = scan_with(
        tmp.path(),
        &config,
        "by_json",
        &[("email", "priya.sharma@example.com")],
    )
    .expect("scan");
    assert_eq!(ids(&s.raw, "id"), vec!["7"]);
    assert_eq!(ids(&s.kept, "id"), vec!["7"]);
}

#[test]
fn mariadb_types_map_to_json() {
    let tmp = tempdir();
    let my = MyDb::new(
        "CREATE TABLE t (
           id INT PRIMARY KEY, big BIGINT UNSIGNED, gift TINYINT(1), qty SMALLINT, price DECIMAL(12,2),
           huge DECIMAL(30,3), ratio DOUBLE, name VARCHAR(100), note TEXT, placed_at DATETIME,
           placed_ms DATETIME(3), paid_at TIMESTAMP NULL, day DATE, clock TIME, items JSON,
           photo BLOB, kind ENUM('web', 'app'), yr YEAR, missing VARCHAR(5)
         ) DEFAULT CHARSET=utf8mb4;
         SET time_zone = '+00:00';
         INSERT INTO t VALUES (1042, 18446744073709551615, 1, -2, 5900.50, 123456789012345678901234567.891,
           0.25, 'Zoë \"Z\" D''Souza, प्रिया', 'line1\nline2', '2024-03-02 16:20:00', '2024-03-02 16:20:00.125',
           '2024-03-02 10:50:00', '2024-02-29', '09:05:00', '{\"sku\": \"EM-1\", \"tags\": [\"a\", \"b\"]}',
           X'00FF10', 'app', 2024, NULL);",
    );
    let text = format!(
        "[[sources]]\nname = \"t\"\ntype = \"mysql\"\nurl = \"{}\"\ntable = \"t\"\nmatch = {{ customer_id = \"id\" }}\n",
        my.url()
    );
    let config = load(tmp.path(), &text, &[]);
    let s = scan_with(tmp.path(), &config, "t", &[("customer_id", "1042")]).expect("scan");
    assert_eq!(s.kept.len(), 1);
    let want = json!({
        "id": 1042, "big": 18446744073709551615u64, "gift": true, "qty": -2, "price": 5900.5,
        "huge": "123456789012345678901234567.891", "ratio": 0.25, "name": "Zoë \"Z\" D'Souza, प्रिया",
        "note": "line1\nline2", "placed_at": "2024-03-02T16:20:00", "placed_ms": "2024-03-02T16:20:00.125",
        "paid_at": "2024-03-02T10:50:00Z", "day": "2024-02-29", "clock": "09:05:00",
        "items": {"sku": "EM-1", "tags": ["a", "b"]}, "photo": "AP8Q", "kind": "app", "yr": 2024,
        "missing": null
    });
    assert_eq!(Value::Object(s.kept[0].clone()), want);
}

// ------------------------------------------------------------------ identity graph, end to end

const PG_SHOP: &str = "
CREATE TABLE customers (
  id integer PRIMARY KEY, email text NOT NULL, phone text, full_name text NOT NULL, city text,
  signed_up_at timestamptz NOT NULL, credit numeric(12,2), marketing boolean NOT NULL,
  preferences jsonb, external_id uuid, password_hash text);
INSERT INTO customers VALUES
 (1042, 'Priya.Sharma@Example.COM ', '+91 98765 43210', 'Priya Sharma', 'Mumbai', '2023-01-15 10:30:00+05:30', 1250.50, true,
  '{\"language\": \"hi\", \"digest\": {\"frequency\": \"weekly\"}}', 'a3bb189e-8bf9-3888-9912-ace4e6543002', '$argon2id$secret'),
 (1047, 'priya.sharma@example.co', '+91 99200 11223', 'Priya Sharma', 'Pune', '2023-02-01 09:00:00+00', NULL, false, NULL, NULL, 'h2'),
 (10420, 'priya.sharma+news@example.com', '+91 98765 43211', 'Rahul Verma', 'Noida', '2023-03-01 12:00:00-04:00', 0, true, '[]', NULL, 'h3'),
 (1051, 'प्रिया@example.in', NULL, 'प्रिया शर्मा', 'New Delhi', '2023-04-01 00:00:00+00', 99999999.99, false, '{\"language\": \"hi\"}', NULL, 'h4');
CREATE TABLE consent_history (
  id serial PRIMARY KEY, customer_id integer NOT NULL REFERENCES customers(id), purpose text NOT NULL,
  granted boolean NOT NULL, changed_at timestamptz NOT NULL, channel text);
INSERT INTO consent_history (customer_id, purpose, granted, changed_at, channel) VALUES
 (1042, 'newsletter', true, '2023-01-15 10:31:00+05:30', 'signup form'),
 (1042, 'newsletter', false, '2024-02-01 08:00:00-05:00', NULL),
 (1047, 'newsletter', true, '2023-02-01 09:00:00+00', 'webinar'),
 (10420, 'sms offers', true, '2023-03-01 12:00:00+00', 'checkout');
CREATE TABLE tickets (
  ticket_id text PRIMARY KEY, customer_id integer REFERENCES customers(id), subject text,
  details jsonb, tags text[], opened_at timestamp, closed_at timestamptz);
INSERT INTO tickets VALUES
 ('T-1', 1042, 'GST invoice', '{\"priority\": \"high\", \"messages\": [{\"from\": \"customer\", \"text\": \"<script>alert(1)</script>\"}]}', ARRAY['billing'], '2024-01-10 09:00:00', NULL),
 ('T-2', 1047, 'Login issue', '{\"priority\": \"low\"}', ARRAY['auth'], '2024-01-11 09:00:00', '2024-01-12 10:00:00+00'),
 ('T-3', NULL, 'Anonymous', NULL, NULL, NULL, NULL);
";

const MY_SHOP: &str = "
CREATE TABLE orders (
  order_id INT PRIMARY KEY, customer_id INT NOT NULL, placed_at DATETIME NOT NULL, paid_at TIMESTAMP NULL,
  total DECIMAL(12,2) NOT NULL, gift TINYINT(1) NOT NULL DEFAULT 0, items JSON, note TEXT, INDEX (customer_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE order_lines (
  line_id INT PRIMARY KEY, order_id INT NOT NULL, sku VARCHAR(32) NOT NULL, qty INT NOT NULL,
  FOREIGN KEY (order_id) REFERENCES orders(order_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE logins (
  login_id INT PRIMARY KEY, customer_id INT NOT NULL, ip VARCHAR(45) NOT NULL, at DATETIME(3) NOT NULL,
  user_agent VARCHAR(255)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
SET time_zone = '+00:00';
INSERT INTO orders VALUES
 (500108, 1042, '2023-07-02 12:45:10', '2023-07-02 07:16:00', 69620.00, 0, '{\"sku\": [\"EM-GROWTH-12M\", \"GST-18\"]}', NULL),
 (500119, 1042, '2024-01-28 09:12:44', NULL, 5900.50, 1, NULL, 'Gift for “Maa”'),
 (500112, 10420, '2024-01-14 20:00:00', '2024-01-14 14:30:00', 4720.00, 0, NULL, NULL),
 (500123, 1047, '2024-02-05 11:00:00', NULL, 11800.00, 0, NULL, NULL),
 (500134, 104, '2024-03-05 19:30:00', NULL, 2360.00, 0, NULL, NULL);
INSERT INTO order_lines VALUES (1, 500108, 'EM-GROWTH-12M', 1), (2, 500108, 'GST-18', 1), (3, 500119, 'SMS-CR-5K', 1),
 (4, 500112, 'SMS-CR-10K', 2), (5, 500123, 'EM-STARTER-12M', 1);
INSERT INTO logins VALUES
 (1, 1042, '203.0.113.42', '2024-03-10 05:30:00.250', 'Firefox'),
 (2, 1042, '2001:db8::7', '2024-03-10 06:41:29.000', 'Pixel'),
 (3, 1042, '::ffff:203.0.113.42', '2024-03-11 07:00:00.000', NULL),
 (4, 10420, '203.0.113.4', '2024-03-10 07:05:20.000', 'Chrome'),
 (5, 1047, '2001:db8::70', '2024-03-10 08:00:00.000', 'Safari');
";

fn log_line(ip: &str, user: &str, path: &str) -> String {
    format!("{ip} - {user} [10/Mar/2024:05:35:27 +0530] \"GET {path} HTTP/1.1\" 200 512 \"https://shop.example/\" \"Mozilla/5.0 (X11; Linux x86_64)\"\n")
}

/// Writes logs/access.log and logs/access.log.1.gz; returns the (file, line) pairs of Priya.
fn write_logs(dir: &Path) -> BTreeSet<(String, u64)> {
    std::fs::create_dir_all(dir.join("logs")).expect("logs dir");
    let current = [
        log_line("203.0.113.4", "-", "/trap/neighbour"),
        log_line("203.0.113.42", "1042", "/app/campaigns"),
        log_line("203.0.113.142", "-", "/trap/suffix"),
        log_line("2001:0db8:0000::0007", "-", "/app/long-form-v6"),
        log_line("2001:db8::70", "-", "/trap/v6"),
        log_line("::ffff:203.0.113.42", "-", "/app/mapped"),
        "198.51.100.23 - - [10/Mar/2024:05:35:27 +0530] \"GET /common HTTP/1.0\" 304 -\n"
            .to_string(),
        log_line("203.0.113.420", "-", "/trap/not-an-ip"),
    ];
    std::fs::write(dir.join("logs/access.log"), current.concat()).expect("write log");
    let rotated = [
        log_line("2001:DB8::7", "-", "/blog/upper-v6"),
        log_line("10.0.0.1", "-", "/other"),
        log_line("203.0.113.42", "-", "/pricing"),
    ];
    let mut gz = flate2::write::GzEncoder::new(
        std::fs::File::create(dir.join("logs/access.log.1.gz")).expect("gz"),
        flate2::Compression::default(),
    );
    gz.write_all(rotated.concat().as_bytes()).expect("gz write");
    gz.finish().expect("gz finish");
    [
        ("logs/access.log", 2),
        ("logs/access.log", 4),
        ("logs/access.log", 6),
        ("logs/access.log.1.gz", 1),
        ("logs/access.log.1.gz", 3),
    ]
    .into_iter()
    .map(|(f, l)| (f.to_string(), l))
    .collect()
}

fn shop_config(pg: &PgSchema) -> String {
    format!(
        r#"
[[sources]]
name = "customers"
type = "postgres"
url = "${{T_PG_URL}}"
table = "customers"
match = {{ email = "email", phone = "phone" }}
provides = {{ customer_id = "id" }}
exclude = ["password_hash"]
category = "Account"

[[sources]]
name = "consent"
type = "postgres"
url = "${{T_PG_URL}}"
query = "SELECT customer_id, purpose, granted, changed_at, channel FROM consent_history WHERE customer_id IN (:customer_id) ORDER BY changed_at"
match = {{ customer_id = "customer_id" }}

[[sources]]
name = "tickets"
type = "postgres"
url = "{PG}"
table = "{schema}.tickets"
match = {{ customer_id = "customer_id" }}

[[sources]]
name = "orders"
type = "mysql"
url = "${{T_MY_URL}}"
table = "orders"
match = {{ customer_id = "customer_id" }}
provides = {{ order_id = "order_id" }}

[[sources]]
name = "order_lines"
type = "mysql"
url = "${{T_MY_URL}}"
query = "SELECT l.line_id, l.order_id, l.sku, l.qty, o.customer_id FROM order_lines l JOIN orders o ON o.order_id = l.order_id WHERE l.order_id IN (:order_id) ORDER BY l.line_id"
match = {{ order_id = "order_id" }}

[[sources]]
name = "logins"
type = "mysql"
url = "${{T_MY_URL}}"
query = "SELECT login_id, customer_id, ip, at FROM logins WHERE customer_id IN (:customer_id) ORDER BY login_id"
match = {{ customer_id = "customer_id" }}
provides = {{ ip = "ip" }}

[[sources]]
name = "web_access"
type = "access_log"
path = "logs/access.log*"
match = {{ ip = "remote_addr" }}
"#,
        schema = pg.name
    )
}

/// Exports with the test recipient; returns (exit status, stdout, stderr).
fn export(
    config: &Path,
    out: &Path,
    env: &[(&str, String)],
    extra: &[&str],
) -> std::process::Output {
    let (_, recipient) = age_identity();
    let mut cmd = dsar();
    cmd.arg("--config")
        .arg(config)
        .arg("--json")
        .arg("export")
        .args(["--subject", "email=priya.sharma@example.com"])
        .args(["--request-id", "DSAR-SRC-1"])
        .args(["-r", &recipient])
        .arg("--out")
        .arg(out)
        .args(extra);
    for (k, v) in env {
        cmd.env(k, v);
    }
    run(&mut cmd)
}

/// Decrypts and unzips an archive; returns the bag's data folder.
fn open_archive(tmp: &Path, out: &Path) -> PathBuf {
    let (identity, _) = age_identity();
    let zip = tmp.join("plain.zip");
    age_decrypt(&out.join("DSAR-SRC-1.zip.age"), Some(&identity), None, &zip);
    let extracted = tmp.join("extracted");
    unzip(&zip, &extracted);
    bag_dir(&extracted).join("data")
}

fn records(data: &Path, source: &str) -> Vec<Value> {
    match read_json(&data.join(format!("records/{source}.json"))) {
        Value::Array(a) => a,
        other => panic!("{source}.json is not an array: {other}"),
    }
}

#[test]
fn identity_graph_crosses_postgres_mariadb_and_access_logs() {
    let tmp = tempdir();
    let pg = PgSchema::new(PG_SHOP);
    let my = MyDb::new(MY_SHOP);
    let expected_lines = write_logs(tmp.path());
    let config = tmp.path().join("dsar.toml");
    std::fs::write(&config, format!("{HEAD}{}", shop_config(&pg))).expect("config");
    let out = tmp.path().join("out");
    let env = [("T_PG_URL", pg.url()), ("T_MY_URL", my.url())];
    let result = export(&config, &out, &env, &[]);
    let stdout = String::from_utf8_lossy(&result.stdout);
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(result.status.success(), "export failed:\n{stderr}");
    // Logs hold no identifier values, no record contents and no database URL.
    for secret in [
        "priya.sharma@example.com",
        "203.0.113.42",
        "2001:db8::7",
        "Gulmohar",
        &pg.name,
        &my.name,
    ] {
        assert!(
            !stderr.contains(secret),
            "stderr shows {secret:?}:\n{stderr}"
        );
    }
    let receipt: Value = serde_json::from_str(&stdout).expect("receipt JSON");
    assert!(
        receipt["failed_sources"]
            .as_array()
            .is_some_and(Vec::is_empty),
        "{receipt}"
    );

    let data = open_archive(tmp.path(), &out);
    let customers = records(&data, "customers");
    assert_eq!(
        customers,
        vec![json!({
            "id": 1042, "email": "Priya.Sharma@Example.COM ", "phone": "+91 98765 43210",
            "full_name": "Priya Sharma", "city": "Mumbai", "signed_up_at": "2023-01-15T05:00:00Z",
            "credit": 1250.5, "marketing": true,
            "preferences": {"language": "hi", "digest": {"frequency": "weekly"}},
            "external_id": "a3bb189e-8bf9-3888-9912-ace4e6543002"
        })]
    );
    let consent = records(&data, "consent");
    assert_eq!(
        consent,
        vec![
            json!({"customer_id": 1042, "purpose": "newsletter", "granted": true, "changed_at": "2023-01-15T05:01:00Z", "channel": "signup form"}),
            json!({"customer_id": 1042, "purpose": "newsletter", "granted": false, "changed_at": "2024-02-01T13:00:00Z", "channel": null}),
        ]
    );
    let tickets = records(&data, "tickets");
    assert_eq!(tickets.len(), 1);
    assert_eq!(tickets[0]["ticket_id"], json!("T-1"));
    assert_eq!(
        tickets[0]["details"]["messages"][0]["text"],
        json!("<script>alert(1)</script>")
    );
    assert_eq!(tickets[0]["tags"], json!(["billing"]));
    assert_eq!(tickets[0]["opened_at"], json!("2024-01-10T09:00:00"));
    let orders = records(&data, "orders");
    assert_eq!(
        orders,
        vec![
            json!({"order_id": 500108, "customer_id": 1042, "placed_at": "2023-07-02T12:45:10", "paid_at": "2023-07-02T07:16:00Z",
                   "total": 69620, "gift": false, "items": {"sku": ["EM-GROWTH-12M", "GST-18"]}, "note": null}),
            json!({"order_id": 500119, "customer_id": 1042, "placed_at": "2024-01-28T09:12:44", "paid_at": null,
                   "total": 5900.5, "gift": true, "items": null, "note": "Gift for “Maa”"}),
        ]
    );
    let lines = records(&data, "order_lines");
    assert_eq!(
        lines
            .iter()
            .map(|l| l["line_id"].clone())
            .collect::<Vec<_>>(),
        vec![json!(1), json!(2), json!(3)]
    );
    let logins = records(&data, "logins");
    assert_eq!(
        logins
            .iter()
            .map(|l| l["login_id"].clone())
            .collect::<Vec<_>>(),
        vec![json!(1), json!(2), json!(3)]
    );
    assert_eq!(logins[0]["at"], json!("2024-03-10T05:30:00.250"));
    let access = records(&data, "web_access");
    let found: BTreeSet<(String, u64)> = access
        .iter()
        .map(|r| {
            (
                r["file"].as_str().expect("file").to_string(),
                r["line"].as_u64().expect("line"),
            )
        })
        .collect();
    assert_eq!(found, expected_lines);
    let first = access
        .iter()
        .find(|r| r["line"] == json!(2) && r["file"] == json!("logs/access.log"))
        .expect("line 2");
    assert_eq!(
        *first,
        json!({"remote_addr": "203.0.113.42", "user": "1042", "time": "2024-03-10T05:35:27+05:30", "method": "GET",
               "path": "/app/campaigns", "protocol": "HTTP/1.1", "status": 200, "bytes": 512,
               "referrer": "https://shop.example/", "user_agent": "Mozilla/5.0 (X11; Linux x86_64)",
               "file": "logs/access.log", "line": 2})
    );
    // No other person's row anywhere.
    for source in [
        "customers",
        "consent",
        "tickets",
        "orders",
        "order_lines",
        "logins",
    ] {
        for r in records(&data, source) {
            assert_eq!(
                r["customer_id"].as_i64().or(r["id"].as_i64()),
                Some(1042),
                "{source}: {r}"
            );
        }
    }
    for r in &access {
        assert!(
            !r["path"].as_str().unwrap_or_default().starts_with("/trap"),
            "{r}"
        );
    }
    let manifest = read_json(&data.join("manifest.json"));
    let derived: BTreeSet<String> = manifest["identifiers"]
        .as_array()
        .expect("identifiers")
        .iter()
        .map(|i| {
            format!(
                "{}={}",
                i["kind"].as_str().unwrap_or(""),
                i["value"].as_str().unwrap_or("")
            )
        })
        .collect();
    for want in [
        "customer_id=1042",
        "order_id=500108",
        "order_id=500119",
        "ip=203.0.113.42",
        "ip=2001:db8::7",
    ] {
        assert!(derived.contains(want), "{want} not in {derived:?}");
    }
    for never in [
        "customer_id=1047",
        "customer_id=10420",
        "ip=203.0.113.4",
        "ip=2001:db8::70",
        "order_id=500112",
    ] {
        assert!(!derived.contains(never), "{never} in {derived:?}");
    }
}

// ------------------------------------------------------------------ failures, end to end

fn good_sqlite(dir: &Path) {
    sqlite_db(
        &dir.join("shop.sqlite"),
        "CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT NOT NULL);
         INSERT INTO customers VALUES (1042, 'priya.sharma@example.com'), (7, 'someone@example.com');",
    );
}

const GOOD_SQLITE: &str = "[[sources]]\nname = \"shop\"\ntype = \"sqlite\"\npath = \"shop.sqlite\"\ntable = \"customers\"\nmatch = { email = \"email\" }\nprovides = { customer_id = \"id\" }\n";

fn empty_or_missing(dir: &Path) -> bool {
    std::fs::read_dir(dir).map_or(true, |mut d| d.next().is_none())
}

#[test]
fn unreachable_database_and_http_500_stop_the_export_or_are_listed_with_allow_partial() {
    let tmp = tempdir();
    good_sqlite(tmp.path());
    let server = serve(|req| {
        assert!(req.path.starts_with("/chat"));
        Reply::json(500, "{\"error\": \"boom\"}")
    });
    let chat = format!(
        "[[sources]]\nname = \"chat\"\ntype = \"http\"\nurl = \"{}/chat?email={{email}}\"\nrecords = \"/items\"\n",
        server.base
    );
    let dead_pg = "[[sources]]\nname = \"billing\"\ntype = \"postgres\"\nurl = \"postgres://postgres:hunter2@127.0.0.1:1/test\"\ntable = \"invoices\"\nmatch = { customer_id = \"customer_id\" }\ntimeout = \"5s\"\n";

    for (name, extra, wants) in [
        (
            "http",
            chat.as_str(),
            vec!["source 'chat'", "HTTP 500", "after 3 attempts"],
        ),
        (
            "pg",
            dead_pg,
            vec!["source 'billing'", "cannot connect", "127.0.0.1:1"],
        ),
    ] {
        let dir = tmp.path().join(name);
        std::fs::create_dir_all(&dir).expect("dir");
        good_sqlite(&dir);
        let config = dir.join("dsar.toml");
        std::fs::write(&config, format!("{HEAD}{GOOD_SQLITE}{extra}")).expect("config");
        let out = dir.join("out");
        let result = export(&config, &out, &[], &[]);
        let stderr = String::from_utf8_lossy(&result.stderr);
        assert_eq!(result.status.code(), Some(1), "{name}: {stderr}");
        for w in wants {
            assert!(stderr.contains(w), "{name}: want {w:?} in:\n{stderr}");
        }
        assert!(
            !stderr.contains("priya.sharma"),
            "{name}: identifier in:\n{stderr}"
        );
        assert!(
            !stderr.contains("hunter2"),
            "{name}: password in:\n{stderr}"
        );
        assert!(empty_or_missing(&out), "{name}: --out is not empty");
    }

    // Both at once, with --allow-partial: the export goes on and lists them.
    let dir = tmp.path().join("partial");
    std::fs::create_dir_all(&dir).expect("dir");
    good_sqlite(&dir);
    let config = dir.join("dsar.toml");
    std::fs::write(&config, format!("{HEAD}{GOOD_SQLITE}{chat}{dead_pg}")).expect("config");
    let out = dir.join("out");
    let result = export(&config, &out, &[], &["--allow-partial"]);
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(result.status.success(), "{stderr}");
    let receipt: Value = serde_json::from_slice(&result.stdout).expect("receipt");
    let failed: BTreeSet<String> = receipt["failed_sources"]
        .as_array()
        .expect("failed_sources")
        .iter()
        .map(|f| f["source"].as_str().expect("source").to_string())
        .collect();
    assert_eq!(
        failed,
        BTreeSet::from(["chat".to_string(), "billing".to_string()])
    );
    let data = open_archive(&dir, &out);
    let manifest = read_json(&data.join("manifest.json"));
    assert_eq!(manifest["complete"], json!(false));
    let listed: BTreeSet<String> = manifest["failed_sources"]
        .as_array()
        .expect("failed_sources")
        .iter()
        .map(|f| {
            let error = f["error"].as_str().expect("error");
            assert!(
                error.contains("HTTP 500") || error.contains("cannot connect"),
                "{error}"
            );
            f["source"].as_str().expect("source").to_string()
        })
        .collect();
    assert_eq!(listed, failed);
    let statuses: HashMap<String, String> = manifest["sources"]
        .as_array()
        .expect("sources")
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap().to_string(),
                s["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(statuses["shop"], "ok");
    assert_eq!(statuses["chat"], "failed");
    assert_eq!(statuses["billing"], "failed");
    assert_eq!(records(&data, "shop").len(), 1);
}

#[test]
fn sources_check_reports_ok_or_the_exact_problem() {
    let tmp = tempdir();
    good_sqlite(tmp.path());
    let pg = PgSchema::new("CREATE TABLE customers (id integer PRIMARY KEY, email text);");
    let my = MyDb::new("CREATE TABLE orders (order_id INT PRIMARY KEY, customer_id INT);");
    std::fs::create_dir_all(tmp.path().join("logs")).expect("logs");
    std::fs::write(
        tmp.path().join("logs/access.log"),
        log_line("203.0.113.42", "-", "/"),
    )
    .expect("log");
    std::fs::write(
        tmp.path().join("logs/broken.log"),
        "203.0.113.42 - - 10/Mar/2024 GET\n",
    )
    .expect("log");
    let server = serve(|_| Reply::json(404, "{}"));
    let text = format!(
        r#"{GOOD_SQLITE}
[[sources]]
name = "pg_ok"
type = "postgres"
url = "{pg_url}"
table = "customers"
match = {{ email = "email" }}

[[sources]]
name = "pg_unreachable"
type = "postgres"
url = "postgres://app:s3cret@127.0.0.1:1/test"
table = "customers"
match = {{ email = "email" }}

[[sources]]
name = "pg_missing_table"
type = "postgres"
url = "{pg_url}"
table = "clients"
match = {{ email = "email" }}

[[sources]]
name = "my_missing_column"
type = "mysql"
url = "{my_url}"
table = "orders"
match = {{ customer_id = "cust_id" }}

[[sources]]
name = "my_bad_query"
type = "mysql"
url = "{my_url}"
query = "SELECT * FROM orderz WHERE customer_id IN (:customer_id)"
match = {{ customer_id = "customer_id" }}

[[sources]]
name = "sqlite_missing_file"
type = "sqlite"
path = "nope.sqlite"
table = "customers"
match = {{ email = "email" }}

[[sources]]
name = "logs_ok"
type = "access_log"
path = "logs/access.log"
match = {{ ip = "remote_addr" }}

[[sources]]
name = "logs_missing"
type = "access_log"
path = "logs/missing-*.log"
match = {{ ip = "remote_addr" }}

[[sources]]
name = "logs_broken"
type = "access_log"
path = "logs/broken.log"
match = {{ ip = "remote_addr" }}

[[sources]]
name = "files_missing"
type = "files"
path = "attachments/{{ticket_id}}/*"

[[sources]]
name = "api_ok"
type = "http"
url = "{api}/people/{{email}}"

[[sources]]
name = "api_down"
type = "http"
url = "http://127.0.0.1:1/people/{{email}}"
"#,
        pg_url = pg.url(),
        my_url = my.url(),
        api = server.base
    );
    let config = tmp.path().join("dsar.toml");
    std::fs::write(&config, format!("{HEAD}{text}")).expect("config");
    let out = run(dsar()
        .arg("--config")
        .arg(&config)
        .arg("--json")
        .args(["sources", "check"]));
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Value = serde_json::from_slice(&out.stdout).expect("JSON lines");
    let by_name: HashMap<String, (bool, String)> = lines
        .as_array()
        .expect("array")
        .iter()
        .map(|l| {
            (
                l["source"].as_str().unwrap().to_string(),
                (
                    l["ok"].as_bool().unwrap(),
                    l["detail"].as_str().unwrap().to_string(),
                ),
            )
        })
        .collect();
    let expect = [
        ("shop", true, "table 'customers'"),
        ("pg_ok", true, "table 'customers' has 2 column(s)"),
        (
            "pg_unreachable",
            false,
            "cannot connect to postgres://app:***@127.0.0.1:1/test",
        ),
        ("pg_missing_table", false, "table 'clients' does not exist"),
        (
            "my_missing_column",
            false,
            "table 'orders' has no column 'cust_id' (named in match.customer_id)",
        ),
        ("my_bad_query", false, "query does not prepare"),
        (
            "sqlite_missing_file",
            false,
            "cannot open SQLite database nope.sqlite",
        ),
        ("logs_ok", true, "1 file(s)"),
        ("logs_missing", false, "matches no file"),
        ("logs_broken", false, "logs/broken.log line 1: expected '['"),
        (
            "files_missing",
            false,
            "cannot open the attachment folder attachments/",
        ),
        (
            "api_ok",
            true,
            "reachable (HTTP 404 Not Found for a probe value)",
        ),
        ("api_down", false, "cannot connect"),
    ];
    for (name, ok, detail) in expect {
        let (got_ok, got) = &by_name[name];
        assert_eq!(*got_ok, ok, "{name}: {got}");
        assert!(got.contains(detail), "{name}: want {detail:?} in {got:?}");
    }
    assert!(!String::from_utf8_lossy(&out.stdout).contains("s3cret"));
}

// ------------------------------------------------------------------ HTTP

/// A request as the test server saw it.
#[derive(Debug, Clone)]
struct Request {
    path: String,
    headers: HashMap<String, String>,
}

struct Reply {
    status: u16,
    body: String,
    delay: Duration,
}

impl Reply {
    fn json(status: u16, body: &str) -> Reply {
        Reply {
            status,
            body: body.to_string(),
            delay: Duration::ZERO,
        }
    }
}

struct Server {
    base: String,
    log: Arc<Mutex<Vec<Request>>>,
}

/// A tiny HTTP/1.1 server on 127.0.0.1:0, one thread per connection, `Connection: close`.
fn serve(handler: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let log = Arc::new(Mutex::new(Vec::new()));
    let handler = Arc::new(handler);
    let thread_log = log.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let handler = handler.clone();
            let log = thread_log.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                let mut first = String::new();
                if reader.read_line(&mut first).is_err() {
                    return;
                }
                let path = first.split(' ').nth(1).unwrap_or("/").to_string();
                let mut headers = HashMap::new();
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).is_err() || line.trim().is_empty() {
                        break;
                    }
                    if let Some((k, v)) = line.split_once(':') {
                        headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
                    }
                }
                let req = Request { path, headers };
                log.lock().unwrap().push(req.clone());
                let reply = handler(&req);
                std::thread::sleep(reply.delay);
                let text = format!(
                    "HTTP/1.1 {} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
                    reply.status,
                    reply.body.len(),
                    reply.body
                );
                let _ = stream.write_all(text.as_bytes());
                let _ = stream.flush();
                let mut rest = Vec::new();
                let _ = reader.read_to_end(&mut rest);
            });
        }
    });
    Server { base, log }
}

fn http_source(name: &str, url: &str, extra: &str) -> String {
    format!("[[sources]]\nname = \"{name}\"\ntype = \"http\"\nurl = \"{url}\"\n{extra}\n")
}

#[test]
fn http_pages_by_next_link_and_cursor_with_headers_and_encoded_values() {
    let tmp = tempdir();
    let server = serve(|req| {
        if req.headers.get("authorization").map(String::as_str) != Some("Bearer tok-123") {
            return Reply::json(401, "{}");
        }
        let p = req.path.as_str();
        if p == "/v1/people/priya.sharma%2Btest%40example.com/chats" {
            Reply::json(
                200,
                r#"{"items": [{"id": 1, "text": "hello"}, {"id": 2, "text": "नमस्ते"}], "links": {"next": "chats?page=2"}}"#,
            )
        } else if p == "/v1/people/priya.sharma%2Btest%40example.com/chats?page=2" {
            Reply::json(
                200,
                r#"{"items": [{"id": 3, "text": "bye"}], "links": {"next": null}}"#,
            )
        } else if p == "/cursor?email=priya.sharma%2Btest%40example.com" {
            Reply::json(
                200,
                r#"{"data": {"rows": [{"n": 1}]}, "meta": {"after": "c2"}}"#,
            )
        } else if p == "/cursor?email=priya.sharma%2Btest%40example.com&after=c2" {
            Reply::json(
                200,
                r#"{"data": {"rows": [{"n": 2}]}, "meta": {"after": 3}}"#,
            )
        } else if p == "/cursor?email=priya.sharma%2Btest%40example.com&after=3" {
            Reply::json(200, r#"{"data": {"rows": []}, "meta": {"after": ""}}"#)
        } else if p.starts_with("/endless") {
            Reply::json(200, r#"{"items": [{"x": 1}], "next": "/endless?again=1"}"#)
        } else if p.starts_with("/elsewhere") {
            Reply::json(200, r#"{"items": [], "next": "http://evil.example/steal"}"#)
        } else {
            Reply::json(404, "{}")
        }
    });
    let b = &server.base;
    let text = [
        http_source("paged", &format!("{b}/v1/people/{{email}}/chats"), "records = \"/items\"\nnext = \"/links/next\"\nheaders = { Authorization = \"Bearer ${T_TOKEN}\" }"),
        http_source("cursor", &format!("{b}/cursor?email={{email}}"), "records = \"/data/rows\"\ncursor = \"/meta/after\"\ncursor_param = \"after\"\nheaders = { Authorization = \"Bearer ${T_TOKEN}\" }"),
        http_source("endless", &format!("{b}/endless?e={{email}}"), "records = \"/items\"\nnext = \"/next\"\nmax_pages = 3\nheaders = { Authorization = \"Bearer ${T_TOKEN}\" }"),
        http_source("elsewhere", &format!("{b}/elsewhere?e={{email}}"), "records = \"/items\"\nnext = \"/next\"\nheaders = { Authorization = \"Bearer ${T_TOKEN}\" }"),
        http_source("no_token", &format!("{b}/v1/people/{{email}}/chats"), "records = \"/items\""),
    ]
    .concat();
    let config = load(tmp.path(), &text, &[("T_TOKEN", "tok-123")]);
    let who = [("email", "Priya.Sharma+test@example.com")];

    let s = scan_with(tmp.path(), &config, "paged", &who).expect("paged");
    assert_eq!(
        s.kept
            .iter()
            .map(|r| Value::Object(r.clone()))
            .collect::<Vec<_>>(),
        vec![
            json!({"id": 1, "text": "hello"}),
            json!({"id": 2, "text": "नमस्ते"}),
            json!({"id": 3, "text": "bye"})
        ]
    );
    let s = scan_with(tmp.path(), &config, "cursor", &who).expect("cursor");
    assert_eq!(ids(&s.kept, "n"), vec!["1", "2"]);

    let err = scan_with(tmp.path(), &config, "endless", &who)
        .err()
        .expect("max_pages")
        .to_string();
    assert!(
        err.contains("source 'endless'") && err.contains("max_pages = 3"),
        "{err}"
    );
    assert_eq!(
        server
            .log
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.path.starts_with("/endless"))
            .count(),
        3
    );
    let err = scan_with(tmp.path(), &config, "elsewhere", &who)
        .err()
        .expect("origin")
        .to_string();
    assert!(err.contains("another origin"), "{err}");
    let err = scan_with(tmp.path(), &config, "no_token", &who)
        .err()
        .expect("401")
        .to_string();
    assert!(err.contains("HTTP 401") && err.contains("headers"), "{err}");
    assert!(
        !err.contains("priya") && !err.contains("%40"),
        "identifier in {err}"
    );
}

#[test]
fn http_retries_then_fails_naming_the_status_and_times_out() {
    let tmp = tempdir();
    let hits = Arc::new(Mutex::new(HashMap::<String, u32>::new()));
    let h = hits.clone();
    let server = serve(move |req| {
        let route = req.path.split('?').next().unwrap_or("").to_string();
        let n = {
            let mut m = h.lock().unwrap();
            let n = m.entry(route.clone()).or_insert(0);
            *n += 1;
            *n
        };
        match route.as_str() {
            "/flaky" if n == 1 => Reply::json(503, "{}"),
            "/flaky" => Reply::json(200, r#"[{"ok": true}]"#),
            "/down" => Reply::json(500, "{}"),
            "/slow" => Reply {
                status: 200,
                body: "[]".into(),
                delay: Duration::from_secs(3),
            },
            "/object" => Reply::json(200, r#"{"items": []}"#),
            _ => Reply::json(404, "{}"),
        }
    });
    let b = &server.base;
    let text = [
        http_source("flaky", &format!("{b}/flaky?email={{email}}"), ""),
        http_source("down", &format!("{b}/down?email={{email}}"), ""),
        http_source(
            "slow",
            &format!("{b}/slow?email={{email}}"),
            "timeout = \"1s\"",
        ),
        http_source("object", &format!("{b}/object?email={{email}}"), ""),
    ]
    .concat();
    let config = load(tmp.path(), &text, &[]);
    let who = [("email", "priya.sharma@example.com")];
    let s = scan_with(tmp.path(), &config, "flaky", &who).expect("retried");
    assert_eq!(s.kept.len(), 1);
    assert_eq!(hits.lock().unwrap()["/flaky"], 2);

    let err = scan_with(tmp.path(), &config, "down", &who)
        .err()
        .expect("500")
        .to_string();
    assert!(err.starts_with("source 'down': GET"), "{err}");
    assert!(
        err.contains("HTTP 500") && err.contains("after 3 attempts"),
        "{err}"
    );
    assert!(
        err.contains("/down?…"),
        "the template is shown, not the URL: {err}"
    );
    assert!(!err.contains("priya") && !err.contains("%40"), "{err}");
    assert_eq!(hits.lock().unwrap()["/down"], 3);

    let started = std::time::Instant::now();
    let err = scan_with(tmp.path(), &config, "slow", &who)
        .err()
        .expect("timeout")
        .to_string();
    assert!(err.contains("within 1s"), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(9),
        "{:?}",
        started.elapsed()
    );

    let err = scan_with(tmp.path(), &config, "object", &who)
        .err()
        .expect("not array")
        .to_string();
    assert!(
        err.contains("not an array") && err.contains("records"),
        "{err}"
    );
}

// ------------------------------------------------------------------ files

#[cfg(unix)]
#[test]
fn files_are_found_by_template_and_never_escape_the_root() {
    let tmp = tempdir();
    let root = tmp.path();
    let mk = |rel: &str, body: &str| {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, body).unwrap();
    };
    mk("attachments/T-1/receipt.txt", "r");
    mk("attachments/T-1/invoice (copy) #2 é.txt", "i");
    mk("attachments/T-1/sub/nested.txt", "n");
    mk("attachments/T-[3]/literal.txt", "l");
    mk("attachments/T-30/other-person.txt", "o");
    mk("outside/secret.txt", "s");
    std::fs::create_dir_all(root.join("attachments/T-4")).unwrap();
    std::os::unix::fs::symlink(
        root.join("outside/secret.txt"),
        root.join("attachments/T-4/link.txt"),
    )
    .unwrap();
    std::os::unix::fs::symlink(root.join("outside"), root.join("attachments/T-5")).unwrap();
    let text = "[[sources]]\nname = \"att\"\ntype = \"files\"\npath = \"attachments/{ticket_id}/*\"\n\
                [[sources]]\nname = \"deep\"\ntype = \"files\"\npath = \"attachments/{ticket_id}/**/*\"\n";
    let config = load(root, text, &[]);

    let s = scan_with(root, &config, "att", &[("ticket_id", "T-1")]).expect("scan");
    let names: Vec<String> = s.files.iter().map(|f| f.name.clone()).collect();
    assert_eq!(
        names,
        vec!["T-1/invoice (copy) #2 é.txt", "T-1/receipt.txt"]
    );
    assert_eq!(
        s.files[0].found_by,
        (Kind::Other("ticket_id".into()), "T-1".into())
    );
    let s = scan_with(root, &config, "deep", &[("ticket_id", "T-1")]).expect("scan");
    assert!(s.files.iter().any(|f| f.name == "T-1/sub/nested.txt"));

    // Glob characters in a value are literal: T-[3] is that folder, T-3* matches nothing.
    let s = scan_with(root, &config, "att", &[("ticket_id", "T-[3]")]).expect("scan");
    assert_eq!(
        s.files.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(),
        vec!["T-[3]/literal.txt"]
    );
    for hostile in [
        "T-3*",
        "*",
        "..",
        ".",
        "../outside",
        "T-1/../../outside",
        "T-?",
    ] {
        let s = scan_with(root, &config, "att", &[("ticket_id", hostile)]).expect("scan");
        assert!(s.files.is_empty(), "{hostile}: {:?}", s.files);
    }
    // A value matching no folder is no file, not an error.
    assert!(scan_with(root, &config, "att", &[("ticket_id", "T-999")])
        .expect("scan")
        .files
        .is_empty());

    let err = scan_with(root, &config, "att", &[("ticket_id", "T-4")])
        .err()
        .expect("symlink")
        .to_string();
    assert!(
        err.contains("source 'att'") && err.contains("symbolic link"),
        "{err}"
    );
    assert!(
        err.contains("attachments/{ticket_id}/link.txt"),
        "the value is not shown: {err}"
    );
    let err = scan_with(root, &config, "att", &[("ticket_id", "T-5")])
        .err()
        .expect("outside")
        .to_string();
    assert!(err.contains("outside the attachment folder"), "{err}");
}

// ------------------------------------------------------------------ access logs

#[test]
fn access_log_line_numbers_survive_chunks_gzip_and_ipv6_forms() {
    let tmp = tempdir();
    let dir = tmp.path().join("logs");
    std::fs::create_dir_all(&dir).unwrap();
    // ~10 MB: more than one 8 MiB read chunk.
    let mut text = String::new();
    let mut want = Vec::new();
    let total = 60_000u64;
    for n in 1..=total {
        let ip = match n {
            1 | 41_000 | 59_999 => "203.0.113.42",
            2 | 50_000 => "2001:DB8:0::7",
            _ => "198.51.100.23",
        };
        if ip != "198.51.100.23" {
            want.push(n);
        }
        text.push_str(&log_line(
            ip,
            "-",
            &format!("/page/{n}/{}", "x".repeat(100)),
        ));
    }
    text.push_str(log_line("203.0.113.42", "-", "/last-line-without-newline").trim_end());
    want.push(total + 1);
    std::fs::write(dir.join("big.log"), &text).unwrap();
    let mut gz = flate2::write::GzEncoder::new(
        std::fs::File::create(dir.join("big.log.gz")).unwrap(),
        flate2::Compression::fast(),
    );
    gz.write_all(text.as_bytes()).unwrap();
    gz.finish().unwrap();
    let config = load(
        tmp.path(),
        "[[sources]]\nname = \"plain\"\ntype = \"access_log\"\npath = \"logs/big.log\"\nmatch = { ip = \"remote_addr\" }\n\
         [[sources]]\nname = \"gz\"\ntype = \"access_log\"\npath = \"logs/big.log.gz\"\nmatch = { ip = \"remote_addr\" }\n",
        &[],
    );
    for source in ["plain", "gz"] {
        // IPv4 alone: the chunked byte search.
        let s = scan_with(tmp.path(), &config, source, &[("ip", "203.0.113.42")]).expect("scan");
        let lines: Vec<u64> = s.kept.iter().map(|r| r["line"].as_u64().unwrap()).collect();
        assert_eq!(lines, vec![1, 41_000, 59_999, total + 1], "{source}");
        // With IPv6: every line's first token is compared.
        let s = scan_with(
            tmp.path(),
            &config,
            source,
            &[("ip", "203.0.113.42"), ("ip", "2001:db8::7")],
        )
        .expect("scan");
        let lines: Vec<u64> = s.kept.iter().map(|r| r["line"].as_u64().unwrap()).collect();
        assert_eq!(lines, want, "{source}");
        assert_eq!(
            s.kept[1]["path"].as_str().unwrap().split('/').nth(2),
            Some("2")
        );
    }
}

#[test]
fn access_log_malformed_candidate_line_names_file_and_line() {
    let tmp = tempdir();
    std::fs::create_dir_all(tmp.path().join("logs")).unwrap();
    let text = [
        log_line("203.0.113.42", "-", "/ok"),
        log_line("198.51.100.1", "-", "/other"),
        "203.0.113.42 - - [10/Mar/2024:05:35:27 +0530] \"GET /broken HTTP/1.1\" 2OO 512\n"
            .to_string(),
    ]
    .concat();
    std::fs::write(tmp.path().join("logs/access.log"), text).unwrap();
    let config = load(
        tmp.path(),
        "[[sources]]\nname = \"web\"\ntype = \"access_log\"\npath = \"logs/access.log\"\nmatch = { ip = \"remote_addr\", customer_id = \"user\" }\n",
        &[],
    );
    let err = scan_with(tmp.path(), &config, "web", &[("ip", "203.0.113.42")])
        .err()
        .expect("error")
        .to_string();
    assert_eq!(
        err,
        "source 'web': logs/access.log line 3: the status is not a 3-digit number"
    );
    // Lines that cannot match are not parsed: asking about someone else succeeds.
    let s = scan_with(tmp.path(), &config, "web", &[("ip", "198.51.100.1")]).expect("scan");
    assert_eq!(ids(&s.kept, "line"), vec!["2"]);
}
