//! The receiving side, from outside: `dsar verify`, `open` and `import` on archives made by
//! `dsar export` (every key type, passphrase, armor), on tampered and hostile archives, on a
//! bag made by bagit.py and encrypted by the Go age CLI, and into SQLite and PostgreSQL.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use serde_json::Value;

/// A config over the demo data using only the file source types (csv, json, ndjson), with
/// absolute paths, so the tests do not depend on database or HTTP sources.
fn write_config(dir: &Path) -> PathBuf {
    let demo = std::fs::read_to_string(fixture("demo/dsar.toml")).expect("demo config");
    let data = fixture("demo/data");
    let mut blocks = demo.split("[[sources]]");
    let mut out = blocks.next().expect("header").to_string();
    for b in blocks {
        let file_type = ["\"csv\"", "\"json\"", "\"ndjson\""]
            .iter()
            .any(|t| b.contains(&format!("type = {t}")));
        if file_type {
            out.push_str("[[sources]]");
            out.push_str(&b.replace("path = \"data/", &format!("path = \"{}/", data.display())));
        }
    }
    let path = dir.join("dsar.toml");
    std::fs::write(&path, out).expect("write config");
    path
}

/// Runs `dsar export` for the demo subject and returns the archive.
fn export(dir: &Path, id: &str, args: &[&str], passphrase: Option<&str>) -> PathBuf {
    let config = write_config(dir);
    let out = dir.join("out");
    let mut cmd = dsar();
    cmd.arg("--config")
        .arg(&config)
        .args(["export", "--subject", "email=priya.sharma@example.com"])
        .args(["--request-id", id])
        .args(args)
        .arg("--out")
        .arg(&out);
    if let Some(p) = passphrase {
        cmd.env("DSAR_PASSPHRASE", p);
    }
    ok(&mut cmd);
    let archive = out.join(format!("{id}.zip.age"));
    assert!(archive.is_file(), "export wrote {}", archive.display());
    archive
}

fn age_archive(dir: &Path, id: &str) -> PathBuf {
    let (_, recipient) = age_identity();
    export(dir, id, &["-r", &recipient], None)
}

fn verify_with(archive: &Path, args: &[&str]) -> Command {
    let mut c = dsar();
    c.arg("verify").arg(archive).args(args);
    c
}

fn id_arg() -> String {
    age_identity().0.display().to_string()
}

#[test]
fn verify_accepts_every_key_type_and_armor() {
    let t = tempdir();
    let archive = age_archive(t.path(), "REQ-AGE");
    let out = ok(&mut verify_with(&archive, &["-i", &id_arg()]));
    assert!(out.starts_with("OK  "), "{out}");
    assert!(
        out.contains("request REQ-AGE: 10 sources, 37 records"),
        "{out}"
    );

    let json = ok(verify_with(&archive, &["-i", &id_arg()]).arg("--json"));
    let v: Value = serde_json::from_str(&json).expect("json");
    assert_eq!(v["ok"], true);
    assert_eq!(v["problems"], serde_json::json!([]));
    assert_eq!(v["manifests_checked"][0], "manifest-sha256.txt");

    for key in ["id_ed25519", "id_rsa"] {
        let d = t.path().join(key);
        std::fs::create_dir(&d).unwrap();
        let public = std::fs::read_to_string(fixture(&format!("keys/{key}.pub"))).unwrap();
        let archive = export(&d, "REQ-SSH", &["-r", public.trim()], None);
        let private = fixture(&format!("keys/{key}")).display().to_string();
        let out = ok(&mut verify_with(&archive, &["-i", &private]));
        assert!(out.starts_with("OK  "), "{key}: {out}");
    }

    let d = t.path().join("armor");
    std::fs::create_dir(&d).unwrap();
    let (_, recipient) = age_identity();
    let armored = export(&d, "REQ-ARMOR", &["-r", &recipient, "--armor"], None);
    let head = std::fs::read(&armored).unwrap();
    assert!(head.starts_with(b"-----BEGIN AGE ENCRYPTED FILE-----"));
    let out = ok(&mut verify_with(&armored, &["-i", &id_arg()]));
    assert!(out.starts_with("OK  "), "{out}");
}

#[test]
fn passphrase_archives_verify_and_a_wrong_passphrase_exits_3() {
    let t = tempdir();
    let pass = "correct-horse-battery-staple";
    let archive = export(
        t.path(),
        "REQ-PASS",
        &["--passphrase", "--armor"],
        Some(pass),
    );
    let out = ok(verify_with(&archive, &["--passphrase"]).env("DSAR_PASSPHRASE", pass));
    assert!(out.starts_with("OK  "), "{out}");

    let err = fails_with(
        verify_with(&archive, &["--passphrase"]).env("DSAR_PASSPHRASE", "not-the-one"),
        3,
    );
    assert!(err.contains("wrong passphrase"), "{err}");
    assert!(
        !err.contains("not-the-one"),
        "the passphrase must not be echoed: {err}"
    );

    let err = fails_with(&mut verify_with(&archive, &["-i", &id_arg()]), 3);
    assert!(err.contains("pass --passphrase"), "{err}");
}

#[test]
fn wrong_key_and_tampering_exit_3() {
    let t = tempdir();
    let archive = age_archive(t.path(), "REQ-TAMPER");

    let other = t.path().join("other-key.txt");
    ok(Command::new(tool("age-keygen")).arg("-o").arg(&other));
    let err = fails_with(
        &mut verify_with(&archive, &["-i", &other.display().to_string()]),
        3,
    );
    assert!(err.contains("no identity matches"), "{err}");

    // One byte in the middle of the ciphertext (past the header).
    let mut bytes = std::fs::read(&archive).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    let work = t.path().join("work");
    std::fs::create_dir(&work).unwrap();
    let tampered = work.join("tampered.zip.age");
    std::fs::write(&tampered, &bytes).unwrap();
    let err = fails_with(&mut verify_with(&tampered, &["-i", &id_arg()]), 3);
    assert!(err.contains("modified or damaged"), "{err}");
    let result = run(verify_with(&tampered, &["-i", &id_arg()]).arg("--json"));
    assert_eq!(result.status.code(), Some(3));
    let v: Value = serde_json::from_slice(&result.stdout).expect("json on stdout");
    assert_eq!(v["ok"], false);
    assert!(v["error"].as_str().unwrap().contains("modified or damaged"));

    // `open` of the tampered archive leaves nothing behind.
    let out = work.join("opened");
    let err = fails_with(
        dsar()
            .arg("open")
            .arg(&tampered)
            .args(["-i", &id_arg()])
            .arg("--out")
            .arg(&out),
        3,
    );
    assert!(err.contains("modified or damaged"), "{err}");
    assert!(!out.exists());
    assert_only(&work, &["tampered.zip.age"]);

    // Truncation (a dropped last chunk) is caught too.
    let truncated = work.join("truncated.zip.age");
    std::fs::write(
        &truncated,
        &std::fs::read(&archive).unwrap()[..bytes.len() - 100],
    )
    .unwrap();
    fails_with(&mut verify_with(&truncated, &["-i", &id_arg()]), 3);
}

/// `dir` holds exactly these names (no staging folder or escaped file left over).
fn assert_only(dir: &Path, names: &[&str]) {
    let mut found: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    found.sort();
    let mut want: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(found, want, "unexpected files in {}", dir.display());
}

#[test]
fn open_extracts_a_bag_that_bagit_py_validates() {
    let t = tempdir();
    let archive = age_archive(t.path(), "REQ-OPEN");
    let out = t.path().join("opened");
    let stdout = ok(dsar()
        .arg("open")
        .arg(&archive)
        .args(["-i", &id_arg()])
        .arg("--out")
        .arg(&out));
    assert!(stdout.contains("extracted to"), "{stdout}");
    let bag = out.join("REQ-OPEN");
    assert!(bag.join("data/records/customers.csv").is_file());
    ok(Command::new(tool("python"))
        .args(["-m", "bagit", "--validate"])
        .arg(&bag));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "the extracted folder is private");
    }

    // A non-empty --out is refused and left alone.
    let busy = t.path().join("busy");
    std::fs::create_dir(&busy).unwrap();
    std::fs::write(busy.join("keep.txt"), "mine").unwrap();
    let err = fails_with(
        dsar()
            .arg("open")
            .arg(&archive)
            .args(["-i", &id_arg()])
            .arg("--out")
            .arg(&busy),
        2,
    );
    assert!(err.contains("not empty"), "{err}");
    assert_only(&busy, &["keep.txt"]);

    // An existing empty folder is fine.
    let empty = t.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    ok(dsar()
        .arg("open")
        .arg(&archive)
        .args(["-i", &id_arg()])
        .arg("--out")
        .arg(&empty));
    assert!(empty.join("REQ-OPEN/bagit.txt").is_file());
}

// ---------------------------------------------------------------- hostile archives

/// Builds a valid bag in a zip (with correct manifests), lets `extra` add entries, and
/// encrypts it to the test age key.
fn hostile_archive(path: &Path, extra: impl FnOnce(&mut zip::ZipWriter<std::io::Cursor<Vec<u8>>>)) {
    use sha2::{Digest, Sha256};
    use zip::write::SimpleFileOptions;
    let opts = SimpleFileOptions::default();
    let mut zw = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let payload = b"id,name\r\n1,x\r\n";
    let sha = |b: &[u8]| hex::encode(Sha256::digest(b));
    let bagit = b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n".to_vec();
    let info = format!("Payload-Oxum: {}.1\n", payload.len()).into_bytes();
    let manifest = format!("{}  data/a.csv\n", sha(payload)).into_bytes();
    let tag = format!(
        "{}  bagit.txt\n{}  bag-info.txt\n{}  manifest-sha256.txt\n",
        sha(&bagit),
        sha(&info),
        sha(&manifest)
    );
    for (name, content) in [
        ("bag/data/a.csv", payload.to_vec()),
        ("bag/bagit.txt", bagit),
        ("bag/bag-info.txt", info),
        ("bag/manifest-sha256.txt", manifest),
        ("bag/tagmanifest-sha256.txt", tag.into_bytes()),
    ] {
        zw.start_file(name, opts).unwrap();
        zw.write_all(&content).unwrap();
    }
    extra(&mut zw);
    let zip = zw.finish().unwrap().into_inner();
    encrypt_to_test_key(&zip, path);
}

fn encrypt_to_test_key(plain: &[u8], path: &Path) {
    let (_, recipient) = age_identity();
    let r: age::x25519::Recipient = recipient.parse().unwrap();
    let enc = age::Encryptor::with_recipients(std::iter::once(&r as &dyn age::Recipient)).unwrap();
    let mut out = Vec::new();
    let mut w = enc.wrap_output(&mut out).unwrap();
    w.write_all(plain).unwrap();
    w.finish().unwrap();
    std::fs::write(path, out).unwrap();
}

#[test]
fn the_hostile_zip_generator_makes_a_valid_bag() {
    let t = tempdir();
    let a = t.path().join("clean.zip.age");
    hostile_archive(&a, |_| {});
    let out = ok(&mut verify_with(&a, &["-i", &id_arg()]));
    assert!(out.starts_with("OK  "), "{out}");
}

#[test]
fn open_refuses_hostile_zips_and_writes_nothing() {
    use zip::write::SimpleFileOptions;
    let opts = SimpleFileOptions::default();
    type Extra = Box<dyn FnOnce(&mut zip::ZipWriter<std::io::Cursor<Vec<u8>>>)>;
    let cases: Vec<(&str, Extra, &str)> = vec![
        (
            "zip-slip",
            Box::new(move |zw| {
                zw.start_file("bag/../../evil.txt", opts).unwrap();
                zw.write_all(b"pwned").unwrap();
            }),
            "unsafe name",
        ),
        (
            "absolute",
            Box::new(move |zw| {
                zw.start_file("/tmp/dsar-absolute-evil.txt", opts).unwrap();
                zw.write_all(b"pwned").unwrap();
            }),
            "absolute path",
        ),
        (
            "symlink",
            Box::new(move |zw| {
                zw.add_symlink("bag/data/link", "/etc/passwd", opts)
                    .unwrap();
            }),
            "symbolic link",
        ),
        (
            "device-name",
            Box::new(move |zw| {
                zw.start_file("bag/data/CON.txt", opts).unwrap();
                zw.write_all(b"x").unwrap();
            }),
            "device name",
        ),
        (
            "case-clash",
            Box::new(move |zw| {
                zw.start_file("bag/data/A.csv", opts).unwrap();
                zw.write_all(b"x").unwrap();
            }),
            "clashes with",
        ),
        (
            "file-where-a-folder-is",
            Box::new(move |zw| {
                zw.start_file("bag/data/a.csv/inner.txt", opts).unwrap();
                zw.write_all(b"x").unwrap();
            }),
            "clashes with another entry",
        ),
        (
            "zip-bomb",
            Box::new(move |zw| {
                let o = opts
                    .compression_method(zip::CompressionMethod::Deflated)
                    .large_file(true);
                zw.start_file("bag/data/bomb.bin", o).unwrap();
                let zeros = vec![0u8; 1 << 20];
                for _ in 0..16 {
                    zw.write_all(&zeros).unwrap();
                }
            }),
            "zip bomb",
        ),
    ];
    for (name, extra, expected) in cases {
        let t = tempdir();
        let archive = t.path().join("hostile.zip.age");
        hostile_archive(&archive, extra);
        let out = t.path().join("out");
        let mut cmd = dsar();
        cmd.arg("open")
            .arg(&archive)
            .args(["-i", &id_arg()])
            .arg("--out")
            .arg(&out);
        let result = run(&mut cmd);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&result.stdout),
            String::from_utf8_lossy(&result.stderr)
        );
        assert_eq!(result.status.code(), Some(3), "{name}: {text}");
        assert!(
            text.contains(expected),
            "{name}: expected '{expected}' in:\n{text}"
        );
        assert!(!out.exists(), "{name}: --out must stay absent");
        assert_only(t.path(), &["hostile.zip.age"]);
        assert!(!Path::new("/tmp/dsar-absolute-evil.txt").exists());
        fails_with(&mut verify_with(&archive, &["-i", &id_arg()]), 3);
    }
}

#[test]
fn open_refuses_an_exact_duplicate_entry() {
    let t = tempdir();
    // The zip writer refuses duplicate names, so write two names of equal length and patch
    // the second into the first in both the local and the central headers.
    use sha2::{Digest, Sha256};
    use zip::write::SimpleFileOptions;
    let mut zw = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = SimpleFileOptions::default();
    let payload = b"first";
    let bagit = b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n";
    let manifest = format!("{}  data/x.txt\n", hex::encode(Sha256::digest(payload)));
    for (n, c) in [
        ("bag/bagit.txt", &bagit[..]),
        ("bag/manifest-sha256.txt", manifest.as_bytes()),
        ("bag/data/x.txt", payload),
        ("bag/data/Q.txt", b"second"),
    ] {
        zw.start_file(n, opts).unwrap();
        zw.write_all(c).unwrap();
    }
    let mut zip = zw.finish().unwrap().into_inner();
    let needle = b"bag/data/Q.txt";
    let mut i = 0;
    let mut patched = 0;
    while i + needle.len() <= zip.len() {
        if &zip[i..i + needle.len()] == needle {
            zip[i..i + needle.len()].copy_from_slice(b"bag/data/x.txt");
            patched += 1;
        }
        i += 1;
    }
    assert_eq!(patched, 2, "local and central header");
    let archive = t.path().join("dup.zip.age");
    encrypt_to_test_key(&zip, &archive);
    let out = t.path().join("out");
    let result = run(dsar()
        .arg("open")
        .arg(&archive)
        .args(["-i", &id_arg()])
        .arg("--out")
        .arg(&out));
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert_eq!(result.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("duplicate entry"), "{stderr}");
    assert!(!out.exists());
}

#[test]
fn a_zip_that_is_not_a_bag_is_refused_clearly() {
    let t = tempdir();
    let mut zw = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    zw.start_file("photos/cat.jpg", zip::write::SimpleFileOptions::default())
        .unwrap();
    zw.write_all(b"meow").unwrap();
    let archive = t.path().join("plain.zip.age");
    encrypt_to_test_key(&zw.finish().unwrap().into_inner(), &archive);
    let err = fails_with(
        dsar()
            .arg("open")
            .arg(&archive)
            .args(["-i", &id_arg()])
            .arg("--out")
            .arg(t.path().join("out")),
        3,
    );
    assert!(err.contains("not a BagIt bag"), "{err}");
    assert!(!t.path().join("out").exists());
}

#[test]
fn a_modified_payload_file_is_reported_by_path() {
    // Re-zip a dsar archive with one CSV changed: the age layer is intact (re-encrypted), so
    // only the BagIt manifests and manifest.json can catch it.
    let t = tempdir();
    let archive = age_archive(t.path(), "REQ-EDIT");
    let zip_path = t.path().join("a.zip");
    age_decrypt(&archive, Some(&age_identity().0), None, &zip_path);
    let mut src = zip::ZipArchive::new(std::fs::File::open(&zip_path).unwrap()).unwrap();
    let mut zw = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for i in 0..src.len() {
        let mut f = src.by_index(i).unwrap();
        let name = f.name().unwrap().to_string();
        let mut content = Vec::new();
        std::io::Read::read_to_end(&mut f, &mut content).unwrap();
        if name.ends_with("data/records/newsletter.csv") {
            content.extend_from_slice(b"injected,row\r\n");
        }
        zw.start_file(name.as_str(), zip::write::SimpleFileOptions::default())
            .unwrap();
        zw.write_all(&content).unwrap();
    }
    let edited = t.path().join("edited.zip.age");
    encrypt_to_test_key(&zw.finish().unwrap().into_inner(), &edited);
    let result = run(verify_with(&edited, &["-i", &id_arg()]).arg("--json"));
    assert_eq!(result.status.code(), Some(3));
    let v: Value = serde_json::from_slice(&result.stdout).expect("json report");
    assert_eq!(v["ok"], false);
    let problems: Vec<(String, String)> = v["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["path"].as_str().unwrap().to_string(),
                p["problem"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let about_csv: Vec<&String> = problems
        .iter()
        .filter(|(p, _)| p == "data/records/newsletter.csv")
        .map(|(_, w)| w)
        .collect();
    assert!(
        about_csv.iter().any(|w| w.contains("manifest-sha256.txt")),
        "{problems:?}"
    );
    assert!(
        about_csv.iter().any(|w| w.contains("manifest.json")),
        "{problems:?}"
    );
    assert!(
        problems
            .iter()
            .any(|(p, w)| p == "bag-info.txt" && w.contains("Payload-Oxum")),
        "{problems:?}"
    );
}

// ---------------------------------------------------------------- interop

#[test]
fn go_age_unzip_and_bagit_py_read_a_dsar_archive() {
    let t = tempdir();
    let archive = age_archive(t.path(), "REQ-INTEROP");
    let zip = t.path().join("a.zip");
    age_decrypt(&archive, Some(&age_identity().0), None, &zip);
    let x = t.path().join("x");
    unzip(&zip, &x);
    let bag = bag_dir(&x);
    ok(Command::new(tool("python"))
        .args(["-m", "bagit", "--validate"])
        .arg(&bag));
}

#[test]
fn a_bag_made_by_bagit_py_and_encrypted_by_go_age_is_accepted() {
    let t = tempdir();
    let bag = t.path().join("their-bag");
    std::fs::create_dir_all(bag.join("sub")).unwrap();
    std::fs::write(bag.join("people.csv"), "id,name\r\n1,Zoë\r\n").unwrap();
    std::fs::write(bag.join("sub/नमस्ते.txt"), "hello\n").unwrap();
    ok(Command::new(tool("python")).args(["-m", "bagit"]).arg(&bag));
    let zip = t.path().join("their-bag.zip");
    ok(Command::new(tool("zip")).current_dir(t.path()).args([
        "-q",
        "-r",
        "their-bag.zip",
        "their-bag",
    ]));
    let archive = t.path().join("their-bag.zip.age");
    let (_, recipient) = age_identity();
    ok(Command::new(tool("age"))
        .args(["-r", &recipient, "-o"])
        .arg(&archive)
        .arg(&zip));

    let out = ok(&mut verify_with(&archive, &["-i", &id_arg()]));
    assert!(out.starts_with("OK  "), "{out}");
    assert!(
        out.contains("manifest-sha512.txt"),
        "bagit.py's sha512 manifest is checked: {out}"
    );
    let opened = t.path().join("opened");
    ok(dsar()
        .arg("open")
        .arg(&archive)
        .args(["-i", &id_arg()])
        .arg("--out")
        .arg(&opened));
    let extracted = opened.join("their-bag");
    assert_eq!(
        std::fs::read_to_string(extracted.join("data/sub/नमस्ते.txt")).unwrap(),
        "hello\n"
    );
    ok(Command::new(tool("python"))
        .args(["-m", "bagit", "--validate"])
        .arg(&extracted));
}

// ---------------------------------------------------------------- import

fn expected_counts() -> Vec<(String, i64)> {
    let truth = read_json(&fixture("demo/expected/priya.json"));
    [
        "customers",
        "profiles",
        "newsletter",
        "email_engagement",
        "surveys",
        "support_tickets",
        "chat",
        "job_applications",
        "logins",
        "web_analytics",
    ]
    .iter()
    .map(|s| {
        let n = truth["sources"][s]["match"]
            .as_array()
            .expect("match list")
            .len();
        (s.to_string(), n as i64)
    })
    .collect()
}

/// The fixture value of a survey answer (the JSON source keeps exact values).
fn survey_answer(response_id: &str, field: &str) -> String {
    let text = std::fs::read_to_string(fixture("demo/data/surveys.ndjson")).unwrap();
    for line in text.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        if v["response_id"] == response_id {
            return v["answers"][field].as_str().unwrap().to_string();
        }
    }
    panic!("{response_id} not in the fixture");
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn import(source: &Path, into: &str, extra: &[&str]) -> String {
    ok(dsar()
        .arg("import")
        .arg(source)
        .args(["--into", into])
        .args(extra))
}

#[test]
fn import_into_sqlite_matches_the_fixtures_and_is_idempotent() {
    use sqlx::{Connection, Row};
    let t = tempdir();
    let archive = age_archive(t.path(), "REQ-SQLITE");
    let db = t.path().join("received.sqlite");
    let into = format!("sqlite:{}", db.display());
    for _ in 0..2 {
        let out = import(&archive, &into, &["-i", &id_arg()]);
        assert!(out.contains("imported 37 rows into 10 table(s)"), "{out}");
    }
    rt().block_on(async {
        let mut c = sqlx::SqliteConnection::connect(&into).await.unwrap();
        for (table, n) in expected_counts() {
            let got: i64 = sqlx::query(&format!("SELECT count(*) FROM \"{table}\""))
                .fetch_one(&mut c)
                .await
                .unwrap()
                .get(0);
            assert_eq!(got, n, "rows in {table} after two imports");
        }
        let row = sqlx::query("SELECT mobile, city FROM customers")
            .fetch_one(&mut c)
            .await
            .unwrap();
        // '+91…' was guarded in the CSV; the import restores the exact value.
        assert_eq!(row.get::<String, _>(0), "+91 98765 43210");
        assert_eq!(row.get::<String, _>(1), "Mumbai");
        let row = sqlx::query(
            "SELECT answers_comment, answers_preferred_language, nps FROM surveys WHERE response_id = 'SR-5003'",
        )
        .fetch_one(&mut c)
        .await
        .unwrap();
        assert_eq!(row.get::<String, _>(0), survey_answer("SR-5003", "comment"));
        assert_eq!(row.get::<String, _>(1), "हिन्दी");
        assert_eq!(row.get::<i64, _>(2), 8, "integer column");
        let row = sqlx::query(
            "SELECT answers_suggestion, answers_team_size_change FROM surveys WHERE response_id = 'SR-5017'",
        )
        .fetch_one(&mut c)
        .await
        .unwrap();
        assert_eq!(row.get::<String, _>(0), survey_answer("SR-5017", "suggestion"));
        assert_eq!(row.get::<String, _>(1), "-2+3");
    });

    let err = fails_with(
        dsar().arg("import").arg(&archive).args([
            "--into",
            &into,
            "--schema",
            "x",
            "-i",
            &id_arg(),
        ]),
        2,
    );
    assert!(err.contains("PostgreSQL only"), "{err}");
}

#[test]
fn import_into_postgres_from_an_opened_folder() {
    use sqlx::{Connection, Row};
    let t = tempdir();
    let archive = age_archive(t.path(), "REQ-PG");
    let opened = t.path().join("opened");
    ok(dsar()
        .arg("open")
        .arg(&archive)
        .args(["-i", &id_arg()])
        .arg("--out")
        .arg(&opened));
    let schema = format!(
        "dsar_receive_{}_{}",
        std::process::id(),
        t.path()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .to_ascii_lowercase()
            .replace(|c: char| !c.is_ascii_alphanumeric(), "")
    );
    let url = "postgres://postgres@127.0.0.1:5432/test";
    for _ in 0..2 {
        let out = import(&opened, url, &["--schema", &schema]);
        assert!(out.contains("imported 37 rows"), "{out}");
    }
    rt().block_on(async {
        let mut c = sqlx::PgConnection::connect(url).await.unwrap();
        for (table, n) in expected_counts() {
            let got: i64 = sqlx::query(&format!("SELECT count(*) FROM \"{schema}\".\"{table}\""))
                .fetch_one(&mut c)
                .await
                .unwrap()
                .get(0);
            assert_eq!(got, n, "rows in {schema}.{table}");
        }
        let row = sqlx::query(&format!(
            "SELECT answers_comment, answers_preferred_language, nps FROM \"{schema}\".surveys WHERE response_id = 'SR-5003'"
        ))
        .fetch_one(&mut c)
        .await
        .unwrap();
        assert_eq!(row.get::<String, _>(0), survey_answer("SR-5003", "comment"));
        assert_eq!(row.get::<String, _>(1), "हिन्दी");
        assert_eq!(row.get::<i64, _>(2), 8);
        let types: Vec<(String, String)> = sqlx::query(
            "SELECT column_name::text, data_type::text FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'surveys' AND column_name IN ('nps', 'answers_comment') ORDER BY 1",
        )
        .bind(&schema)
        .fetch_all(&mut c)
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
        assert_eq!(
            types,
            [
                ("answers_comment".to_string(), "text".to_string()),
                ("nps".to_string(), "bigint".to_string())
            ]
        );
        sqlx::query(&format!("DROP SCHEMA \"{schema}\" CASCADE"))
            .execute(&mut c)
            .await
            .unwrap();
    });
}

#[test]
fn import_refuses_a_modified_bag_folder() {
    let t = tempdir();
    let archive = age_archive(t.path(), "REQ-DIRTY");
    let opened = t.path().join("opened");
    ok(dsar()
        .arg("open")
        .arg(&archive)
        .args(["-i", &id_arg()])
        .arg("--out")
        .arg(&opened));
    let csv = opened.join("REQ-DIRTY/data/records/customers.csv");
    let mut text = std::fs::read_to_string(&csv).unwrap();
    text.push_str("9999,Mallory,,,,,,,,,\r\n");
    std::fs::write(&csv, text).unwrap();
    let db = t.path().join("x.sqlite");
    let err = fails_with(
        dsar()
            .arg("import")
            .arg(&opened)
            .args(["--into", &format!("sqlite:{}", db.display())]),
        3,
    );
    assert!(err.contains("data/records/customers.csv"), "{err}");
    assert!(!db.exists(), "nothing imported");
}

#[test]
fn the_hostile_fixture_zips_are_all_refused() {
    // fixtures/receive/*.zip are written by make_hostile.py and seed the fuzz targets.
    let dir = fixture("receive");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("zip") {
            continue;
        }
        seen += 1;
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(&path).unwrap();
        let result = dsar::receive::verify::check_zip_bytes(&bytes);
        if name == "valid-bag.zip" {
            let report = result.expect("the valid bag reads");
            assert!(report.ok(), "{:?}", report.problems);
        } else {
            assert!(
                result.map(|r| !r.ok()).unwrap_or(true),
                "{name} must be refused"
            );
        }
    }
    assert_eq!(seen, 9, "run fixtures/receive/make_hostile.py");
}
