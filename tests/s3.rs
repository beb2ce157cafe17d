//! S3 delivery and the request ledger, against a real S3-compatible server.
//!
//! Each test starts `examples/s3_server` (s3s-fs behind SigV4 authentication, which checks
//! signatures and presigned-URL expiry as AWS does) on a random loopback port with its own
//! temporary root and bucket, runs the real `dsar` binary against it, and downloads through
//! the presigned links with a plain HTTP client. The ledger tests run several exports at once
//! against one SQLite file and one against PostgreSQL.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::*;
use sha2::{Digest, Sha256};

const ACCESS_KEY: &str = "AKIDSARTEST0000";
const SECRET_KEY: &str = "dsar-test-secret-key-not-real-0123456789";
const SUBJECT: &str = "jane.doe@example.com";

/// The example server binary (built by `cargo test`; `cargo test --test s3` alone does not
/// build examples, so build it here when missing).
fn server_binary() -> PathBuf {
    static BUILD: std::sync::Once = std::sync::Once::new();
    let dir = Path::new(env!("CARGO_BIN_EXE_dsar"))
        .parent()
        .expect("the binary has a folder")
        .to_path_buf();
    let path = dir.join("examples").join("s3_server");
    BUILD.call_once(|| {
        if !path.exists() {
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let status = Command::new(cargo)
                .args(["build", "--example", "s3_server"])
                .current_dir(root())
                .status()
                .expect("cargo runs");
            assert!(status.success(), "cargo build --example s3_server failed");
        }
    });
    assert!(path.exists(), "{} is missing", path.display());
    path
}

/// A running S3 server; killed when dropped.
struct Server {
    child: Child,
    port: u16,
    root: PathBuf,
}

impl Server {
    /// Starts on `port` (0: any free port) serving `root`.
    fn start(root: &Path, port: u16) -> Server {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let mut child = Command::new(server_binary())
                .arg(root)
                .arg(port.to_string())
                .arg(ACCESS_KEY)
                .arg(SECRET_KEY)
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .expect("s3_server starts");
            let mut line = String::new();
            BufReader::new(child.stdout.take().expect("piped stdout"))
                .read_line(&mut line)
                .expect("reads the port");
            if let Ok(bound) = line.trim().parse::<u16>() {
                return Server {
                    child,
                    port: bound,
                    root: root.to_path_buf(),
                };
            }
            // The port may still be held briefly after a kill: retry.
            let _ = child.wait();
            assert!(
                Instant::now() < deadline,
                "s3_server did not start on port {port}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A test folder with a server, a bucket, a CSV source and a config.
struct Setup {
    dir: tempfile::TempDir,
    server: Server,
    bucket: String,
}

impl Setup {
    fn new(notes_bytes: usize) -> Setup {
        let dir = tempdir();
        let root = dir.path().join("s3root");
        let bucket = format!("dsar-test-{:08x}", rand::random::<u32>());
        std::fs::create_dir_all(root.join(&bucket)).expect("bucket folder");
        let server = Server::start(&root, 0);
        write_notes(&dir.path().join("notes.csv"), notes_bytes);
        let setup = Setup {
            dir,
            server,
            bucket,
        };
        setup.write_config("link_ttl = \"1h\"\n");
        setup
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn config(&self) -> PathBuf {
        self.path().join("dsar.toml")
    }

    fn write_config(&self, extra: &str) {
        let text = format!(
            "[controller]\nname = \"Acme Test Ltd\"\ncontact = \"privacy@acme.test\"\n\n\
             [[sources]]\nname = \"notes\"\ntype = \"csv\"\npath = \"notes.csv\"\n\
             match = {{ email = \"email\" }}\ncategory = \"Support notes\"\n\n\
             [destination]\ntype = \"s3\"\nbucket = \"{}\"\nprefix = \"exports/\"\n\
             endpoint = \"{}\"\npart_size = \"5MiB\"\n{extra}",
            self.bucket,
            self.server.endpoint()
        );
        std::fs::write(self.config(), text).expect("config written");
    }

    fn bucket_dir(&self) -> PathBuf {
        self.server.root.join(&self.bucket)
    }

    /// `dsar --config … ARGS` with the test credentials and nothing from the host's AWS setup.
    fn dsar(&self) -> Command {
        let mut c = dsar();
        let home = self.path();
        c.current_dir(home)
            .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
            .env("AWS_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_DEFAULT_PROFILE")
            .env_remove("AWS_SESSION_TOKEN")
            .env_remove("AWS_ENDPOINT_URL")
            .env_remove("AWS_ENDPOINT_URL_S3")
            .arg("--config")
            .arg(self.config());
        c
    }

    fn export(&self, request_id: &str) -> Command {
        let (_, recipient) = age_identity();
        let mut c = self.dsar();
        c.arg("--json")
            .arg("export")
            .args(["--subject", &format!("email={SUBJECT}")])
            .args(["--request-id", request_id])
            .args(["-r", &recipient])
            .arg("--out")
            .arg(self.path().join("out").join(request_id));
        c
    }

    /// Every file under the bucket (objects), relative paths.
    fn objects(&self) -> Vec<String> {
        let mut found = Vec::new();
        let mut stack = vec![self.bucket_dir()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).expect("bucket readable") {
                let p = e.expect("entry").path();
                if p.is_dir() {
                    stack.push(p);
                } else {
                    let rel = p.strip_prefix(self.bucket_dir()).expect("under bucket");
                    found.push(rel.display().to_string());
                }
            }
        }
        found.sort();
        found
    }

    /// Multipart uploads the server still holds (its on-disk state: `.upload-<id>.json`
    /// plus `.upload_id-<id>.part-N`), i.e. what ListMultipartUploads would list.
    fn pending_uploads(&self) -> Vec<String> {
        std::fs::read_dir(&self.server.root)
            .expect("root readable")
            .map(|e| e.expect("entry").file_name().to_string_lossy().to_string())
            .filter(|n| n.starts_with(".upload"))
            .collect()
    }
}

/// A CSV with the subject's notes (random text, so the archive stays large after deflate)
/// interleaved with other people's.
fn write_notes(path: &Path, subject_bytes: usize) {
    use base64::Engine;
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).expect("csv created"));
    writeln!(out, "id,email,note").expect("write");
    let mut written = 0;
    let mut id = 0u64;
    while written < subject_bytes.max(1) {
        let random: Vec<u8> = (0..1536).map(|_| rand::random::<u8>()).collect();
        let note = base64::engine::general_purpose::STANDARD.encode(&random);
        id += 1;
        writeln!(out, "{id},{SUBJECT},{note}").expect("write");
        id += 1;
        writeln!(out, "{id},someone.else{id}@example.com,other person's note").expect("write");
        written += note.len();
    }
    out.flush().expect("flush");
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

/// GETs a URL: status, content type and body.
fn get(url: &str) -> (u16, String, Vec<u8>) {
    let mut response = agent().get(url).call().expect("the server answers");
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let body = response
        .body_mut()
        .with_config()
        .limit(1 << 30)
        .read_to_vec()
        .expect("body read");
    (status, content_type, body)
}

fn json(stdout: &str) -> serde_json::Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{stdout}"))
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn read_all(dir: &Path, prefix: &str) -> Vec<u8> {
    let mut all = Vec::new();
    for e in std::fs::read_dir(dir).expect("dir readable") {
        let p = e.expect("entry").path();
        let name = p.file_name().expect("name").to_string_lossy().to_string();
        if name.starts_with(prefix) && p.is_file() {
            std::fs::File::open(&p)
                .and_then(|mut f| f.read_to_end(&mut all))
                .expect("readable");
        }
    }
    all
}

#[test]
fn multipart_upload_link_expiry_tampering_relink_and_revoke() {
    let s = Setup::new(8_000_000);
    let id = "REQ-S3-1";
    let receipt = json(&ok(&mut s.export(id)));

    // Delivered under an unguessable key, in several parts, with the hash recorded.
    let dest = &receipt["destination"];
    assert_eq!(dest["kind"], "s3");
    assert_eq!(dest["bucket"], s.bucket.as_str());
    let key = dest["key"].as_str().expect("key").to_string();
    let random = key
        .strip_prefix(&format!("exports/{id}/"))
        .and_then(|k| k.strip_suffix(".zip.age"))
        .unwrap_or_else(|| panic!("unexpected key {key}"));
    assert!(
        random.len() == 32 && random.bytes().all(|b| b.is_ascii_hexdigit()),
        "key must carry 128 random bits: {key}"
    );
    assert_eq!(dest["location"], format!("s3://{}/{key}", s.bucket));
    let bytes = receipt["archive"]["bytes"].as_u64().expect("bytes");
    assert!(
        bytes > 2 * 5 * 1024 * 1024,
        "the archive must span at least three 5 MiB parts, has {bytes} bytes"
    );
    let sha = receipt["archive"]["sha256"]
        .as_str()
        .expect("sha")
        .to_string();
    let stored = s.bucket_dir().join(&key);
    assert_eq!(std::fs::metadata(&stored).expect("object").len(), bytes);
    let metadata = String::from_utf8_lossy(&read_all(&s.server.root, ".bucket-")).to_string();
    assert!(
        metadata.contains(&sha),
        "sha256 metadata missing: {metadata}"
    );
    assert!(metadata.contains("application/octet-stream"), "{metadata}");
    assert!(s.pending_uploads().is_empty(), "{:?}", s.pending_uploads());

    // The link downloads the archive, which the Go age CLI decrypts into a valid zip.
    let link = dest["link"]["url"].as_str().expect("link").to_string();
    let expires = dest["link"]["expires_at"].as_str().expect("expiry");
    assert!(expires.ends_with('Z'), "{expires}");
    assert!(
        link.contains("response-content-disposition=attachment"),
        "{link}"
    );
    assert!(!link.contains(SECRET_KEY));
    let (status, _, body) = get(&link);
    assert_eq!(status, 200);
    assert_eq!(
        sha256_hex(&body),
        sha,
        "downloaded bytes differ from the receipt"
    );
    let downloaded = s.path().join("download.zip.age");
    std::fs::write(&downloaded, &body).expect("saved");
    let (identity, _) = age_identity();
    let zip = s.path().join("download.zip");
    age_decrypt(&downloaded, Some(&identity), None, &zip);
    let extracted = s.path().join("extracted");
    unzip(&zip, &extracted);
    let bag = bag_dir(&extracted);
    assert!(bag.join("bagit.txt").exists());
    let notes = std::fs::read_to_string(bag.join("data/records/notes.csv")).expect("records");
    assert!(notes.contains(SUBJECT));
    assert!(
        !notes.contains("someone.else"),
        "another person's record leaked"
    );

    // The decryption page is uploaded and linked too.
    let page = dest["open_page_link"]["url"].as_str().expect("page link");
    let (status, content_type, html) = get(page);
    assert_eq!(status, 200);
    assert!(content_type.starts_with("text/html"), "{content_type}");
    assert!(String::from_utf8_lossy(&html).contains("age"));

    // Receipt and notice beside it carry the link, its expiry and the hash, not the email.
    let out = s.path().join("out").join(id);
    let receipt_file = std::fs::read_to_string(out.join("receipt.json")).expect("receipt");
    assert!(receipt_file.contains(&link) && receipt_file.contains(&sha));
    assert!(!receipt_file.contains(SUBJECT));
    let notice = std::fs::read_to_string(out.join("notice.txt")).expect("notice");
    assert!(notice.contains(&link), "{notice}");
    assert!(notice.contains("The link works until"), "{notice}");
    assert!(notice.contains(page), "{notice}");

    // A tampered signature is refused.
    let (head, signature) = link.split_once("X-Amz-Signature=").expect("signed link");
    let flipped: String = signature
        .chars()
        .enumerate()
        .map(|(i, c)| match (i, c) {
            (0, '0') => '1',
            (0, _) => '0',
            (_, c) => c,
        })
        .collect();
    assert_eq!(get(&format!("{head}X-Amz-Signature={flipped}")).0, 403);

    // A fresh 2-second link works, then expires.
    let relinked = json(&ok(s.dsar().args(["--json", "link", id, "--ttl", "2s"])));
    let short = relinked["link"]["url"]
        .as_str()
        .expect("new link")
        .to_string();
    assert_ne!(short, link);
    assert_eq!(get(&short).0, 200);
    std::thread::sleep(Duration::from_millis(3500));
    assert_eq!(get(&short).0, 403, "an expired link must be refused");
    assert_eq!(get(&link).0, 200, "the 1h link still works");

    // Over 7 days, zero or nonsense is refused before any work.
    for ttl in ["8d", "0s", "soon"] {
        let err = fails_with(s.dsar().args(["link", id, "--ttl", ttl]), 2);
        assert!(err.contains("--ttl"), "{err}");
    }
    assert!(fails_with(s.dsar().args(["link", id, "--ttl", "8d"]), 2).contains("7 days"));

    // Revoke: the object and the page are gone and every earlier link stops working.
    let revoked = json(&ok(s.dsar().args(["--json", "revoke", id])));
    assert_eq!(revoked["deleted"].as_array().expect("deleted").len(), 2);
    assert!(s.objects().is_empty(), "left behind: {:?}", s.objects());
    for url in [&link, &short, &page.to_string()] {
        let status = get(url).0;
        assert!(status == 403 || status == 404, "{status} after revoke");
    }
    let err = fails_with(s.dsar().args(["link", id]), 2);
    assert!(err.contains("revoked"), "{err}");

    // The ledger holds the history: export, link, revoke; hashes, never the email.
    let shown = json(&ok(s.dsar().args(["--json", "requests", "show", id])));
    assert_eq!(shown["request"]["status"], "revoked");
    assert_eq!(shown["request"]["archive_sha256"], sha.as_str());
    assert_eq!(shown["request"]["bucket"], s.bucket.as_str());
    assert_eq!(shown["request"]["object_key"], key.as_str());
    let actions: Vec<&str> = shown["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["action"].as_str().expect("action"))
        .collect();
    assert_eq!(actions, ["export", "link", "revoke"]);
    let link_event = &shown["events"][1]["detail"];
    assert_eq!(link_event["ttl_seconds"], 2);
    let ids = shown["identifiers"].as_array().expect("identifiers");
    assert!(!ids.is_empty());
    assert!(ids
        .iter()
        .all(|i| i["hash"].as_str().unwrap_or("").starts_with("hmac-sha256:")));
    let ledger = read_all(s.path(), "dsar-ledger.sqlite");
    assert!(!ledger.is_empty());
    let text = String::from_utf8_lossy(&ledger);
    assert!(
        !text.contains(SUBJECT),
        "the ledger holds an identifier value"
    );
    assert!(!text.contains("X-Amz-Signature"), "the ledger holds a link");
}

#[test]
fn server_killed_mid_upload_leaves_nothing_and_exits_1() {
    let mut s = Setup::new(8_000_000);
    let mut child = s
        .export("REQ-KILLED")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("dsar starts");
    let (tx, rx) = mpsc::channel::<String>();
    let stderr = child.stderr.take().expect("piped stderr");
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(stderr).lines() {
            let line = line.unwrap_or_default();
            all.push_str(&line);
            all.push('\n');
            let _ = tx.send(line);
        }
        all
    });

    // Kill the server as soon as dsar has started the multipart upload (parts still to come).
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("dsar reports the upload");
        if line.contains("uploading to s3://") {
            break;
        }
    }
    assert!(
        s.pending_uploads().iter().any(|n| n.ends_with(".json")),
        "the server holds the new upload"
    );
    let port = s.server.port;
    s.server.kill();

    // dsar retries, gives up and starts aborting; bring the server back for the abort.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(line) if line.contains("aborting the multipart upload") => break,
            Ok(_) => {}
            Err(e) => {
                let _ = child.kill();
                let status = child.wait();
                let stderr = reader.join().expect("reader");
                panic!("dsar never said it aborts the upload ({e}, {status:?}):\n{stderr}");
            }
        }
    }
    let root = s.server.root.clone();
    s.server = Server::start(&root, port);
    let status = child.wait().expect("dsar exits");
    let stderr = reader.join().expect("reader");
    assert_eq!(status.code(), Some(1), "stderr:\n{stderr}");
    assert!(
        stderr.contains(&format!("s3://{}/exports/REQ-KILLED/", s.bucket)),
        "the error names bucket and key:\n{stderr}"
    );
    assert!(stderr.contains("aborted"), "{stderr}");
    assert!(!stderr.contains(SECRET_KEY) && !stderr.contains(SUBJECT));
    assert!(s.objects().is_empty(), "object left: {:?}", s.objects());
    assert!(
        s.pending_uploads().is_empty(),
        "dangling multipart upload: {:?}",
        s.pending_uploads()
    );
    assert!(!s.path().join("out/REQ-KILLED/receipt.json").exists());
    // A failed export is not recorded as answered.
    let listed = json(&ok(s.dsar().args(["--json", "requests", "list"])));
    assert_eq!(listed.as_array().expect("list").len(), 0, "{listed}");
}

#[test]
fn ctrl_c_mid_upload_aborts_the_upload() {
    let s = Setup::new(8_000_000);
    let mut child = s
        .export("REQ-INTERRUPTED")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("dsar starts");
    let mut stderr = BufReader::new(child.stderr.take().expect("piped stderr"));
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        let n = stderr.read_line(&mut line).expect("stderr readable");
        assert!(n > 0, "dsar ended before uploading:\n{seen}");
        seen.push_str(&line);
        if line.contains("uploading to s3://") {
            break;
        }
    }
    ok(Command::new("kill").args(["-INT", &child.id().to_string()]));
    stderr.read_to_string(&mut seen).expect("stderr readable");
    let status = child.wait().expect("dsar exits");
    // 130 when the interruption surfaces as such; the zip layer may report it as a write
    // failure (exit 1). Either way the upload is aborted.
    assert!(matches!(status.code(), Some(1) | Some(130)), "{seen}");
    assert!(seen.contains("aborted"), "{seen}");
    assert!(s.objects().is_empty(), "object left: {:?}", s.objects());
    assert!(s.pending_uploads().is_empty(), "{:?}", s.pending_uploads());
}

#[test]
fn oversize_link_ttl_in_config_is_refused_before_any_work() {
    let s = Setup::new(1000);
    s.write_config("link_ttl = \"8d\"\n");
    let err = fails_with(&mut s.export("REQ-TTL"), 2);
    assert!(err.contains("link_ttl") && err.contains("7 days"), "{err}");
    s.write_config("link_ttl = \"0s\"\n");
    let err = fails_with(&mut s.export("REQ-TTL"), 2);
    assert!(err.contains("link_ttl"), "{err}");
    assert!(s.objects().is_empty());
    assert!(s.pending_uploads().is_empty());
    assert!(!s.path().join("out/REQ-TTL").exists(), "work started");
    assert!(
        !s.path().join("dsar-ledger.sqlite").exists(),
        "work started"
    );
}

#[test]
fn missing_bucket_and_credentials_fail_before_collecting() {
    let s = Setup::new(1000);
    std::fs::remove_dir(s.bucket_dir()).expect("bucket removed");
    let err = fails_with(&mut s.export("REQ-NOBUCKET"), 2);
    assert!(
        err.contains(&s.bucket) && err.contains("does not exist"),
        "{err}"
    );
    std::fs::create_dir(s.bucket_dir()).expect("bucket back");
    let mut cmd = s.export("REQ-NOCREDS");
    cmd.env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY");
    let err = fails_with(&mut cmd, 2);
    assert!(err.contains("no AWS credentials"), "{err}");
    // A wrong secret is refused by the server's signature check; nothing is uploaded.
    let mut cmd = s.export("REQ-BADSECRET");
    cmd.env(
        "AWS_SECRET_ACCESS_KEY",
        "wrong-secret-key-0000000000000000000000",
    );
    let err = fails_with(&mut cmd, 1);
    assert!(err.contains(&format!("s3://{}/", s.bucket)), "{err}");
    assert!(!err.contains("wrong-secret-key"), "{err}");
    assert!(s.objects().is_empty() && s.pending_uploads().is_empty());
}

/// A local-delivery config for the ledger tests.
fn local_config(dir: &Path, ledger: Option<&str>) -> PathBuf {
    std::fs::write(
        dir.join("people.csv"),
        format!("id,email,name\n1,{SUBJECT},Jane\n2,other@example.com,Other\n"),
    )
    .expect("csv");
    let ledger = ledger
        .map(|l| format!("ledger = \"{l}\"\nledger_key = \"${{DSAR_LEDGER_KEY}}\"\n"))
        .unwrap_or_default();
    let config = dir.join("dsar.toml");
    std::fs::write(
        &config,
        format!(
            "{ledger}[controller]\nname = \"Acme Test Ltd\"\ncontact = \"privacy@acme.test\"\nresponse_days = 30\n\n\
             [[sources]]\nname = \"people\"\ntype = \"csv\"\npath = \"people.csv\"\n\
             match = {{ email = \"email\" }}\nprovides = {{ customer_id = \"id\" }}\n"
        ),
    )
    .expect("config");
    config
}

fn local_export(config: &Path, dir: &Path, id: &str, received: Option<&str>) -> Command {
    let (_, recipient) = age_identity();
    let mut c = dsar();
    c.env("DSAR_LEDGER_KEY", "0123456789abcdef0123456789abcdef")
        .arg("--config")
        .arg(config)
        .arg("export")
        .args(["--subject", &format!("email={SUBJECT}")])
        .args(["--request-id", id])
        .args(["-r", &recipient])
        .arg("--out")
        .arg(dir.join("out").join(id));
    if let Some(r) = received {
        c.args(["--received", r]);
    }
    c
}

fn ledger_cmd(config: &Path) -> Command {
    let mut c = dsar();
    c.env("DSAR_LEDGER_KEY", "0123456789abcdef0123456789abcdef")
        .arg("--config")
        .arg(config);
    c
}

#[test]
fn concurrent_exports_share_one_sqlite_ledger_and_overdue_is_listed() {
    let dir = tempdir();
    let config = local_config(dir.path(), None);
    let late_received = (chrono::Utc::now().date_naive() - chrono::Duration::days(40)).to_string();
    let ids: Vec<String> = (1..=4).map(|i| format!("REQ-LEDGER-{i}")).collect();
    let children: Vec<(String, Child)> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let received = (i == 0).then_some(late_received.as_str());
            let child = local_export(&config, dir.path(), id, received)
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("dsar starts");
            (id.clone(), child)
        })
        .collect();
    for (id, child) in children {
        let out = child.wait_with_output().expect("dsar exits");
        assert!(
            out.status.success(),
            "{id} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    let ledger = dir.path().join("dsar-ledger.sqlite");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&ledger)
            .expect("ledger")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "ledger mode {mode:o}");
    }
    let check = ok(Command::new(tool("sqlite3"))
        .arg(&ledger)
        .arg("PRAGMA integrity_check; SELECT count(*) FROM requests; SELECT count(*) FROM events WHERE action = 'export';"));
    assert_eq!(
        check.split_whitespace().collect::<Vec<_>>(),
        ["ok", "4", "4"]
    );

    let listed = json(&ok(ledger_cmd(&config).args(["--json", "requests", "list"])));
    let mut listed_ids: Vec<&str> = listed
        .as_array()
        .expect("list")
        .iter()
        .map(|r| r["request_id"].as_str().expect("id"))
        .collect();
    listed_ids.sort();
    assert_eq!(
        listed_ids,
        ids.iter().map(String::as_str).collect::<Vec<_>>()
    );

    // Received 40 days ago with 30 days to answer: answered 10 days late, hence overdue.
    let overdue = json(&ok(ledger_cmd(&config).args([
        "--json",
        "requests",
        "list",
        "--overdue",
    ])));
    let overdue = overdue.as_array().expect("overdue list");
    assert_eq!(overdue.len(), 1, "{overdue:?}");
    assert_eq!(overdue[0]["request_id"], "REQ-LEDGER-1");
    assert_eq!(overdue[0]["received_date"], late_received.as_str());
    assert_eq!(overdue[0]["days_late"], 10);
    assert_eq!(overdue[0]["status"], "exported");
    let table = ok(ledger_cmd(&config).args(["requests", "list"]));
    assert!(table.contains("answered 10 days late"), "{table}");
    assert!(table.contains("DEADLINE"), "{table}");

    let shown = ok(ledger_cmd(&config).args(["requests", "show", "REQ-LEDGER-2"]));
    assert!(shown.contains("status          exported"), "{shown}");
    assert!(shown.contains("email (given) hmac-sha256:"), "{shown}");
    assert!(
        shown.contains("customer_id (derived) hmac-sha256:"),
        "{shown}"
    );
    assert!(!shown.contains(SUBJECT), "{shown}");
    let all = read_all(dir.path(), "dsar-ledger.sqlite");
    assert!(!String::from_utf8_lossy(&all).contains(SUBJECT));

    let err = fails_with(
        ledger_cmd(&config).args(["requests", "show", "REQ-NOPE"]),
        2,
    );
    assert!(err.contains("not in the ledger"), "{err}");
    let err = fails_with(ledger_cmd(&config).args(["link", "REQ-LEDGER-2"]), 2);
    assert!(err.contains("not to S3"), "{err}");
}

#[test]
fn postgres_ledger_records_exports() {
    let schema = format!("dsar_ledger_{:08x}", rand::random::<u32>());
    let base = "postgres://postgres@127.0.0.1:5432/test";
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let pool = sqlx::PgPool::connect(base)
            .await
            .expect("PostgreSQL on 5432");
        sqlx::query(&format!("CREATE SCHEMA {schema}"))
            .execute(&pool)
            .await
            .expect("schema");
    });
    let dir = tempdir();
    let url = format!("{base}?options=-c%20search_path%3D{schema}");
    let config = local_config(dir.path(), Some(&url));
    let children: Vec<Child> = ["REQ-PG-1", "REQ-PG-2"]
        .iter()
        .map(|id| {
            local_export(&config, dir.path(), id, None)
                .stdout(Stdio::null())
                .spawn()
                .expect("dsar starts")
        })
        .collect();
    for child in children {
        assert!(child.wait_with_output().expect("exits").status.success());
    }
    let shown = json(&ok(
        ledger_cmd(&config).args(["--json", "requests", "show", "REQ-PG-1"])
    ));
    assert_eq!(shown["request"]["status"], "exported");
    assert_eq!(shown["request"]["destination_kind"], "local");
    assert_eq!(shown["events"][0]["action"], "export");
    assert!(shown["identifiers"]
        .as_array()
        .expect("ids")
        .iter()
        .any(|i| i["kind"] == "email"));
    let count: i64 = runtime.block_on(async {
        let pool = sqlx::PgPool::connect(base).await.expect("connect");
        let n = sqlx::query_scalar(&format!("SELECT count(*) FROM {schema}.requests"))
            .fetch_one(&pool)
            .await
            .expect("count");
        sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
            .execute(&pool)
            .await
            .expect("drop");
        n
    });
    assert_eq!(count, 2);
}
