//! The subject-facing pages, tested from the outside: `dsar export` runs for real on the demo
//! data, the archive is decrypted with the Go `age` CLI and unzipped with Info-ZIP, and the
//! pages are read as files and rendered by headless Chromium (Debian `chromium`).
//!
//! - index.html: self-contained (no script, no external asset), everything GDPR Art. 15(1)-(2)
//!   asks, every value HTML-escaped; screenshots at phone and desktop width and a print PDF.
//! - notice.txt / notice.html: the checksum, the steps (browser page first), no identifier.
//! - open-archive.html: shipped beside every archive, reproducible from tools/open-page, and
//!   driven in Chromium by tests/browser/open-archive.mjs (playwright-core): a passphrase
//!   archive, an X25519 archive (pasted key and key file) and an armored one decrypt to the
//!   same bytes as the Go `age` CLI gives; a wrong passphrase or key shows a clear message.
//!
//! Node, npm and Chromium are required (scripts/test installs them); a missing one fails the
//! test, it never skips.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use sha2::{Digest, Sha256};

const SUBJECT: &str = "email=priya.sharma@example.com";
const PASSPHRASE: &str = "correct-horse-battery-staple-42";
/// Demo source types whose readers exist; the others are still being built in parallel.
const DEMO_TYPES: [&str; 3] = ["csv", "json", "ndjson"];
const HOSTILE: &str = "<script>alert(1)</script>";

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn chromium() -> PathBuf {
    let path = PathBuf::from(
        std::env::var("DSAR_TEST_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
    );
    assert!(
        path.is_file(),
        "headless Chromium is required at {} (set DSAR_TEST_CHROMIUM): run scripts/test, which installs Debian's chromium",
        path.display()
    );
    path
}

/// Runs `npm ci` in `dir` unless its packages are installed.
fn npm_ready(dir: &Path) {
    if dir.join("node_modules/.package-lock.json").is_file() {
        return;
    }
    ok(Command::new(tool("npm"))
        .arg("ci")
        .arg("--prefix")
        .arg(dir)
        .args(["--no-audit", "--no-fund", "--loglevel=error"])
        .env("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1"));
}

/// A copy of fixtures/demo/dsar.toml in `dir` with the sources whose readers exist, paths
/// made absolute; `edit` may change it further.
fn demo_config(dir: &Path, edit: impl FnOnce(&mut toml::Table)) -> PathBuf {
    let demo = fixture("demo");
    let text = std::fs::read_to_string(demo.join("dsar.toml")).expect("demo config");
    let mut config: toml::Table = text.parse().expect("demo config parses");
    let sources = config
        .get_mut("sources")
        .and_then(|s| s.as_array_mut())
        .expect("[[sources]]");
    sources.retain(|s| {
        let kind = s.get("type").and_then(|t| t.as_str()).unwrap_or("");
        DEMO_TYPES.contains(&kind)
    });
    assert!(sources.len() >= 5, "the demo keeps enough sources");
    for s in sources.iter_mut() {
        let table = s.as_table_mut().expect("source table");
        if let Some(path) = table.get("path").and_then(|p| p.as_str()) {
            let abs = demo.join(path).display().to_string();
            table.insert("path".into(), toml::Value::String(abs));
        }
    }
    config.remove("destination");
    edit(&mut config);
    let path = dir.join("dsar.toml");
    std::fs::write(&path, toml::to_string(&config).expect("toml")).expect("write config");
    path
}

struct Export {
    out: PathBuf,
    archive: PathBuf,
    receipt: serde_json::Value,
}

/// Runs `dsar export` for the demo subject; `how` is "key", "armor" or "passphrase".
fn export(config: &Path, out: &Path, request_id: &str, how: &str) -> Export {
    let (_, recipient) = age_identity();
    let mut cmd = dsar();
    cmd.arg("--config")
        .arg(config)
        .args(["export", "--subject", SUBJECT, "--request-id", request_id])
        .arg("--out")
        .arg(out);
    match how {
        "key" => cmd.args(["-r", &recipient]),
        "armor" => cmd.args(["-r", &recipient, "--armor"]),
        "passphrase" => cmd.arg("--passphrase").env("DSAR_PASSPHRASE", PASSPHRASE),
        other => panic!("unknown export kind {other}"),
    };
    ok(&mut cmd);
    let archive = out.join(format!("{request_id}.zip.age"));
    assert!(archive.is_file(), "no archive at {}", archive.display());
    Export {
        out: out.to_path_buf(),
        archive,
        receipt: read_json(&out.join("receipt.json")),
    }
}

/// Decrypts with the Go age CLI and unzips; returns the bag folder.
fn open_with_age(e: &Export, work: &Path, passphrase: Option<&str>) -> (PathBuf, PathBuf) {
    let zip = work.join("age.zip");
    let (identity, _) = age_identity();
    match passphrase {
        Some(p) => age_decrypt(&e.archive, None, Some(p), &zip),
        None => age_decrypt(&e.archive, Some(&identity), None, &zip),
    }
    let extracted = work.join("extracted");
    unzip(&zip, &extracted);
    (zip, bag_dir(&extracted))
}

fn screenshot(page: &Path, png: &Path, width: u32) {
    let _ = std::fs::remove_file(png);
    let out = run(Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--no-first-run",
            "--hide-scrollbars",
        ])
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("--window-size={width},2400"))
        .arg(format!("file://{}", page.display())));
    let bytes = std::fs::read(png).unwrap_or_else(|e| {
        panic!(
            "chromium wrote no screenshot {} ({e}); stderr:\n{}",
            png.display(),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert!(
        bytes.starts_with(b"\x89PNG"),
        "not a PNG: {}",
        png.display()
    );
    assert!(
        bytes.len() > 20_000,
        "screenshot looks blank: {} bytes",
        bytes.len()
    );
}

/// Where screenshots are kept for people to look at (target/pages/).
fn shots_dir() -> PathBuf {
    let dir = root().join("target/pages");
    std::fs::create_dir_all(&dir).expect("target/pages");
    dir
}

#[test]
fn open_page_build_is_reproducible() {
    tool("node");
    tool("npm");
    let dir = root().join("tools/open-page");
    npm_ready(&dir);
    let out = ok(Command::new("bash")
        .arg(dir.join("build.sh"))
        .arg("--check"));
    assert!(out.contains("up to date"), "{out}");
    // The page the binary ships is the committed one, and it is offline by construction.
    let page = std::fs::read_to_string(root().join("templates/open-archive.html")).expect("page");
    assert_eq!(page, dsar::receive::open_page::html());
    assert!(page.contains("default-src 'none'") && page.contains("connect-src 'none'"));
    assert!(!page.contains("<script src") && !page.contains("<link"));
    assert!(page.contains("age-encryption 0.3.1 (BSD-3-Clause)"));
}

#[test]
fn export_ships_open_page_and_a_notice_without_identifiers() {
    let tmp = tempdir();
    let config = demo_config(tmp.path(), |_| {});
    for how in ["key", "passphrase"] {
        let e = export(
            &config,
            &tmp.path().join(how),
            &format!("REQ-NOTICE-{how}"),
            how,
        );
        let page = std::fs::read(e.out.join("open-archive.html")).expect("open-archive.html");
        assert_eq!(page, dsar::receive::open_page::html().as_bytes());

        let sha = sha256_hex(&std::fs::read(&e.archive).expect("archive"));
        assert_eq!(e.receipt["archive"]["sha256"], sha.as_str());
        let txt = std::fs::read_to_string(e.out.join("notice.txt")).expect("notice.txt");
        let html = std::fs::read_to_string(e.out.join("notice.html")).expect("notice.html");
        for notice in [&txt, &html] {
            assert!(notice.contains(&sha), "{how}: notice lacks the sha256");
            assert!(notice.contains(&format!("REQ-NOTICE-{how}.zip.age")));
            assert!(notice.contains("support@netcore.co.in"), "contact");
            assert!(notice.contains("dpo@netcore.co.in"), "DPO");
            // Browser page first, then dsar open, then the age CLI.
            let page_at = notice.find("open-archive.html").expect("mentions the page");
            let dsar_at = notice.find("dsar open").expect("mentions dsar open");
            let age_at = notice.find("age -d").expect("mentions age -d");
            assert!(
                page_at < dsar_at && dsar_at < age_at,
                "{how}: order of the steps"
            );
            assert!(notice.contains("rage"), "mentions rage");
            let lower = notice.to_lowercase();
            for secret in ["priya", "sharma", "98765", "example.com", PASSPHRASE] {
                assert!(!lower.contains(secret), "{how}: notice holds {secret:?}");
            }
        }
        if how == "passphrase" {
            assert!(txt.contains("Type the passphrase") && txt.contains("age -d -o data.zip"));
            assert!(txt.contains("--passphrase"));
        } else {
            assert!(txt.contains("AGE-SECRET-KEY-1") && txt.contains("age -d -i key.txt"));
        }
        assert!(!html.to_lowercase().contains("<script"));
        // Nothing else in clear beside the archive holds the subject either.
        let receipt = std::fs::read_to_string(e.out.join("receipt.json")).expect("receipt");
        assert!(!receipt.to_lowercase().contains("priya"));
    }
}

#[test]
fn index_html_is_self_contained_complete_and_escaped() {
    let tmp = tempdir();
    let config = demo_config(tmp.path(), |c| {
        let first = c["sources"].as_array_mut().expect("sources")[0]
            .as_table_mut()
            .expect("source");
        first.insert(
            "category".into(),
            format!("Account {HOSTILE} & <b>details</b>").into(),
        );
        first.insert("purpose".into(), format!("Purpose {HOSTILE}").into());
        first.insert(
            "recipients".into(),
            toml::Value::Array(vec![format!("Processor \"{HOSTILE}\"").into()]),
        );
    });
    let e = export(&config, &tmp.path().join("out"), "REQ-INDEX-1", "key");
    let (_, bag) = open_with_age(&e, tmp.path(), None);
    let index_path = bag.join("data/index.html");
    let index = std::fs::read_to_string(&index_path).expect("index.html");
    let lower = index.to_lowercase();

    // Self-contained: no script, no external asset, no remote link.
    assert!(index.starts_with("<!DOCTYPE html>"));
    for banned in [
        "<script", "@import", "<link", "<img", "<iframe", "<object", "<embed", "url(",
    ] {
        assert!(!lower.contains(banned), "index.html contains {banned}");
    }
    for attr in ["src=", "href="] {
        for (at, _) in lower.match_indices(attr) {
            let value = lower[at + attr.len()..].trim_start_matches(['"', '\'']);
            assert!(
                !value.starts_with("http") && !value.starts_with("//"),
                "external {attr} at byte {at}"
            );
        }
    }
    // Escaped: the hostile texts render as text.
    assert!(index.contains("&lt;script&gt;alert(1)"), "escaped script");
    assert!(index.contains("&lt;b&gt;details"), "escaped markup");
    let readme = std::fs::read_to_string(bag.join("data/README.txt")).expect("README.txt");
    assert!(
        readme.contains(&format!("Purpose {HOSTILE}")),
        "README is plain text"
    );
    // The demo ticket with <script> lives in records/, as data, not in the page.
    let tickets =
        std::fs::read_to_string(bag.join("data/records/support_tickets.json")).expect("tickets");
    assert!(
        tickets.contains("<script>"),
        "the hostile ticket is exported as data"
    );

    // Everything Art. 15(1)-(2) asks for.
    for needle in [
        "Netcore Solutions Pvt. Ltd.",
        "Lower Parel",
        "mailto:support@netcore.co.in",
        "mailto:dpo@netcore.co.in",
        "Data protection officer",
        "Data Protection Board of India",
        "REQ-INDEX-1",
        "We received your request",
        "What we use it for",
        "Legal basis",
        "How long we keep it",
        "Who receives it",
        "Where it came from",
        "Transfers to other countries",
        "Automated decisions",
        "Records about you",
        "href=\"records/customers.csv\"",
        "href=\"records/customers.json\"",
        "Access",
        "Rectification",
        "Erasure",
        "Restriction",
        "Objection",
        "Portability",
        "Complaint",
        "How to use these rights",
    ] {
        assert!(index.contains(needle), "index.html lacks {needle:?}");
    }
    let manifest = read_json(&bag.join("data/manifest.json"));
    for s in manifest["sources"].as_array().expect("sources") {
        let name = s["name"].as_str().expect("name");
        assert!(
            index.contains(&format!("id=\"source-{name}\"")),
            "section {name}"
        );
        let count = s["record_count"].as_u64().expect("count");
        if count > 0 {
            assert!(
                index.contains(&format!("href=\"records/{name}.csv\"")),
                "link to {name}.csv"
            );
        }
    }
    // Every link to a file in the bag points at a file that exists.
    for (at, _) in index.match_indices("href=\"records/") {
        let rest = &index[at + 6..];
        let target = &rest[..rest.find('"').expect("closing quote")];
        assert!(
            bag.join("data").join(target).is_file(),
            "dangling link {target}"
        );
    }

    // Rendered by Chromium at phone and desktop width, and printed.
    let shots = shots_dir();
    screenshot(&index_path, &shots.join("index-phone.png"), 412);
    screenshot(&index_path, &shots.join("index-desktop.png"), 1280);
    let pdf = shots.join("index-print.pdf");
    let _ = std::fs::remove_file(&pdf);
    run(Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--no-pdf-header-footer",
        ])
        .arg(format!("--print-to-pdf={}", pdf.display()))
        .arg(format!("file://{}", index_path.display())));
    let pdf_bytes = std::fs::read(&pdf).expect("chromium printed index.html to PDF");
    assert!(pdf_bytes.starts_with(b"%PDF") && pdf_bytes.len() > 20_000);
}

#[test]
fn templates_folder_overrides_the_built_in_notice() {
    let tmp = tempdir();
    let tpl = tmp.path().join("my-templates");
    std::fs::create_dir_all(&tpl).expect("templates dir");
    std::fs::write(
        tpl.join("notice.txt"),
        "Custom notice for {{ request.id }}: {{ archive.sha256 }} via {{ open_page }}\n",
    )
    .expect("write override");
    let config = demo_config(tmp.path(), |c| {
        c.insert("templates".into(), "my-templates".into());
    });
    let e = export(&config, &tmp.path().join("out"), "REQ-TPL-1", "key");
    let sha = e.receipt["archive"]["sha256"].as_str().expect("sha");
    let notice = std::fs::read_to_string(e.out.join("notice.txt")).expect("notice.txt");
    assert_eq!(
        notice,
        format!("Custom notice for REQ-TPL-1: {sha} via open-archive.html\n")
    );
    // Templates not in the folder stay built in.
    let html = std::fs::read_to_string(e.out.join("notice.html")).expect("notice.html");
    assert!(html.contains("How to open it") && html.contains(sha));
}

#[test]
fn browser_page_decrypts_like_the_age_cli() {
    tool("node");
    let browser_dir = root().join("tests/browser");
    npm_ready(&browser_dir);
    let chromium = chromium();
    let tmp = tempdir();
    let config = demo_config(tmp.path(), |_| {});
    let pass = export(
        &config,
        &tmp.path().join("pass"),
        "REQ-WEB-PASS",
        "passphrase",
    );
    let key = export(&config, &tmp.path().join("key"), "REQ-WEB-KEY", "key");
    let armored = export(&config, &tmp.path().join("armor"), "REQ-WEB-ARMOR", "armor");
    let expected = |e: &Export, passphrase: Option<&str>, name: &str| -> Vec<u8> {
        let work = tmp.path().join(format!("age-{name}"));
        std::fs::create_dir_all(&work).expect("work dir");
        let (zip, _) = open_with_age(e, &work, passphrase);
        std::fs::read(zip).expect("age output")
    };
    let want_pass = expected(&pass, Some(PASSPHRASE), "pass");
    let want_key = expected(&key, None, "key");
    let want_armor = expected(&armored, None, "armor");

    let other_key = tmp.path().join("other-key.txt");
    ok(Command::new(tool("age-keygen")).arg("-o").arg(&other_key));
    let other_secret = std::fs::read_to_string(&other_key)
        .expect("other key")
        .lines()
        .find(|l| l.starts_with("AGE-SECRET-KEY-1"))
        .expect("secret line")
        .to_string();
    let (identity_file, _) = age_identity();
    let identity = std::fs::read_to_string(&identity_file).expect("identity");

    let out = tmp.path().join("browser");
    std::fs::create_dir_all(&out).expect("browser out");
    let spec = serde_json::json!({
        // The page exactly as `dsar export` wrote it beside the archive.
        "page": pass.out.join("open-archive.html"),
        "out": out,
        "cases": [
            { "name": "passphrase", "archive": pass.archive, "passphrase": PASSPHRASE,
              "screenshot_before": true },
            { "name": "wrong-passphrase", "archive": pass.archive, "passphrase": "not-the-passphrase",
              "expect_error": "That passphrase does not open this file" },
            { "name": "pasted-key", "archive": key.archive, "identity": identity,
              "viewport": { "width": 1280, "height": 900 } },
            { "name": "key-file", "archive": key.archive, "identity_file": identity_file },
            { "name": "armored", "archive": armored.archive, "identity": identity },
            { "name": "wrong-key", "archive": key.archive, "identity": other_secret,
              "expect_error": "This key does not open this file" },
            { "name": "not-age", "archive": pass.out.join("notice.txt"),
              "expect_error_on_choose": "This is not an encrypted data file" },
        ],
    });
    let spec_path = tmp.path().join("spec.json");
    std::fs::write(&spec_path, spec.to_string()).expect("spec");
    let stdout = ok(Command::new(tool("node"))
        .arg(browser_dir.join("open-archive.mjs"))
        .arg(&spec_path)
        .env("DSAR_TEST_CHROMIUM", &chromium));
    let results: Vec<serde_json::Value> = stdout
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).expect("result line"))
        .collect();
    assert_eq!(results.len(), 7, "one result per case:\n{stdout}");
    let by_name = |n: &str| {
        results
            .iter()
            .find(|r| r["name"] == n)
            .unwrap_or_else(|| panic!("no result for {n}"))
    };
    for (name, want, e) in [
        ("passphrase", &want_pass, &pass),
        ("pasted-key", &want_key, &key),
        ("key-file", &want_key, &key),
        ("armored", &want_armor, &armored),
    ] {
        let r = by_name(name);
        let got = std::fs::read(r["download"].as_str().expect("download path")).expect("download");
        assert_eq!(
            sha256_hex(&got),
            sha256_hex(want),
            "{name}: the browser's zip differs from age's"
        );
        let request_id = e.receipt["request"]["id"].as_str().expect("id");
        assert_eq!(r["suggested"], format!("{request_id}.zip"));
        assert_eq!(r["sha256_shown"], e.receipt["archive"]["sha256"]);
        let listed: Vec<&str> = r["listed"]
            .as_array()
            .expect("listed")
            .iter()
            .filter_map(|v| v.as_str())
            .collect();
        assert!(listed
            .iter()
            .any(|n| n.starts_with(&format!("{request_id}/data/index.html"))));
        assert!(listed.contains(&format!("{request_id}/data/records/customers.csv").as_str()));
        assert_eq!(r["requests"], serde_json::json!([]), "no network requests");
    }
    for name in ["wrong-passphrase", "wrong-key", "not-age"] {
        assert!(by_name(name)["download"].is_null(), "{name} saved nothing");
    }
    // Keep the screenshots of the page for people to look at.
    let shots = shots_dir();
    for name in [
        "passphrase-before",
        "passphrase",
        "wrong-passphrase",
        "pasted-key",
    ] {
        let png = out.join(format!("{name}.png"));
        let bytes = std::fs::read(&png).expect("screenshot");
        assert!(
            bytes.starts_with(b"\x89PNG") && bytes.len() > 20_000,
            "{name}.png"
        );
        std::fs::copy(&png, shots.join(format!("open-archive-{name}.png"))).expect("copy");
    }
}
