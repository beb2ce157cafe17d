//! `dsar export` from the outside: the demo export holds exactly the demo person's records,
//! opens with the reference tools (Go age, unzip, bagit.py, frictionless), and every failure
//! path exits with the right code, names what is wrong and leaves nothing behind.

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use common::*;
use serde_json::Value;

const PRIYA_EMAIL: &str = "priya.sharma@example.com";
const PRIYA_PHONE: &str = "+91 98765 43210";

fn demo_config() -> PathBuf {
    fixture("demo/dsar.toml")
}

/// Exports Priya from the demo with extra arguments; returns (out dir, parsed --json receipt).
fn export_priya(tmp: &Path, extra: &[&str]) -> (PathBuf, Value) {
    let out = tmp.join("out");
    let mut cmd = dsar();
    cmd.arg("--config")
        .arg(demo_config())
        .arg("--json")
        .arg("export")
        .args(["--subject", &format!("email={PRIYA_EMAIL}")])
        .args(["--subject", &format!("phone={PRIYA_PHONE}")])
        .args(["--request-id", "DSAR-TEST-1"])
        .arg("--out")
        .arg(&out)
        .env("TMPDIR", tmp)
        .args(extra);
    let stdout = ok(&mut cmd);
    let receipt: Value = serde_json::from_str(&stdout).expect("--json prints the receipt");
    (out, receipt)
}

fn archive(out: &Path) -> PathBuf {
    out.join("DSAR-TEST-1.zip.age")
}

/// Decrypts with the Go age CLI, unzips, returns the bag folder.
fn open_with_reference_tools(tmp: &Path, archive: &Path, identity: &Path) -> PathBuf {
    let zip = tmp.join("plain.zip");
    age_decrypt(archive, Some(identity), None, &zip);
    let extracted = tmp.join("extracted");
    unzip(&zip, &extracted);
    bag_dir(&extracted)
}

fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn key_of(record: &Value, key: &Value, source: &str) -> Value {
    let field = |name: &str| -> Value {
        let v = record
            .get(name)
            .unwrap_or_else(|| panic!("{source}: record has no '{name}'"));
        if source == "web_access" && name == "file" {
            // The expected file is relative to fixtures/demo; the record may hold a bare name.
            let t = text_of(v);
            let base = Path::new(&t)
                .file_name()
                .unwrap()
                .to_string_lossy()
                .to_string();
            return Value::String(format!("logs/{base}"));
        }
        if name == "line" {
            return v.clone();
        }
        Value::String(text_of(v))
    };
    match key {
        Value::String(name) => field(name),
        Value::Array(names) => {
            Value::Array(names.iter().map(|n| field(n.as_str().unwrap())).collect())
        }
        other => panic!("bad key {other}"),
    }
}

fn normalise_key(v: &Value) -> Value {
    match v {
        Value::Array(items) => Value::Array(items.iter().map(normalise_key).collect()),
        Value::Number(n) if n.is_u64() => Value::Number(n.clone()),
        other => Value::String(text_of(other)),
    }
}

#[test]
fn demo_export_holds_exactly_the_persons_records_and_passes_reference_validators() {
    let tmp = tempdir();
    let (identity, recipient) = age_identity();
    let (out, receipt) = export_priya(tmp.path(), &["-r", &recipient]);

    // The out folder holds the archive and the clear-text companions, nothing else.
    let mut names: Vec<String> = fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    names.sort();
    assert!(
        names.contains(&"DSAR-TEST-1.zip.age".to_string()),
        "{names:?}"
    );
    assert!(names.contains(&"receipt.json".to_string()), "{names:?}");
    assert!(names.contains(&"notice.txt".to_string()), "{names:?}");
    assert!(!names.iter().any(|n| n.ends_with(".partial")), "{names:?}");

    let bag = open_with_reference_tools(tmp.path(), &archive(&out), &identity);
    // BagIt 1.0, validated by the Library of Congress reference implementation.
    ok(std::process::Command::new(tool("python"))
        .args(["-m", "bagit", "--validate"])
        .arg(&bag));
    // Frictionless accepts the data package.
    let frictionless = tool("python").parent().unwrap().join("frictionless");
    ok(std::process::Command::new(frictionless)
        .arg("validate")
        .arg("datapackage.json")
        .current_dir(bag.join("data")));

    let expected = read_json(&fixture("demo/expected/priya.json"));
    let manifest = read_json(&bag.join("data/manifest.json"));
    let sources = expected["sources"].as_object().unwrap();
    for (name, spec) in sources {
        let m = manifest["sources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name.as_str())
            .unwrap_or_else(|| panic!("manifest lists source {name}"));
        assert_eq!(
            m["record_count"], spec["record_count"],
            "record count of {name}"
        );
        if spec["type"] == "files" {
            let got: BTreeSet<String> = m["files"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["path"].as_str().unwrap().to_string())
                .collect();
            let want: BTreeSet<String> = spec["match"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| {
                    let p = p.as_str().unwrap();
                    let rest = p.split_once('/').unwrap().1;
                    format!("attachments/{name}/{rest}")
                })
                .collect();
            assert_eq!(got, want, "files of {name}");
            for f in m["files"].as_array().unwrap() {
                let on_disk = fs::read(bag.join("data").join(f["path"].as_str().unwrap())).unwrap();
                assert_eq!(on_disk.len() as u64, f["bytes"].as_u64().unwrap());
            }
            continue;
        }
        let records = read_json(&bag.join(format!("data/records/{name}.json")));
        let got: BTreeSet<String> = records
            .as_array()
            .unwrap()
            .iter()
            .map(|r| normalise_key(&key_of(r, &spec["key"], name)).to_string())
            .collect();
        let want: BTreeSet<String> = spec["match"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| normalise_key(k).to_string())
            .collect();
        assert_eq!(got, want, "records of {name} are exactly Priya's");
        for other in spec["must_not_match"].as_array().unwrap() {
            assert!(
                !got.contains(&normalise_key(other).to_string()),
                "{name}: another person's record {other} was exported"
            );
        }
    }
    assert_eq!(manifest["total_records"], expected["total_records"]);

    // Derived identifiers carry provenance.
    let ids = manifest["identifiers"].as_array().unwrap();
    let alt = ids
        .iter()
        .find(|i| i["value"] == "p.sharma@work-mail.in")
        .expect("derived alt email");
    assert_eq!(alt["origin"], "derived");
    assert_eq!(alt["source"], "profiles");
    assert_eq!(alt["field"], "alt_email");

    // Excluded fields are absent from JSON and CSV.
    let customers = fs::read_to_string(bag.join("data/records/customers.csv")).unwrap();
    assert!(!customers.contains("password_hash"));
    assert!(!fs::read_to_string(bag.join("data/records/customers.json"))
        .unwrap()
        .contains("password_hash"));
    // Formula-like values are guarded in CSV and exact in JSON.
    let surveys_csv = fs::read_to_string(bag.join("data/records/surveys.csv")).unwrap();
    assert!(
        surveys_csv.contains("\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"click\"\")\""),
        "{surveys_csv}"
    );
    let surveys = fs::read_to_string(bag.join("data/records/surveys.json")).unwrap();
    assert!(surveys.contains(r#""=HYPERLINK(\"http://evil.example\",\"click\")""#));
    // Nested objects are flattened to dotted columns.
    assert!(surveys_csv
        .lines()
        .next()
        .unwrap()
        .contains("answers.comment"));

    // The receipt on stdout carries values; the files written in clear carry none.
    let stdout_ids: Vec<&str> = receipt["identifiers"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["value"].as_str())
        .collect();
    assert!(stdout_ids.contains(&PRIYA_EMAIL));
    for clear in ["receipt.json", "notice.txt", "notice.html"] {
        let text = fs::read_to_string(out.join(clear)).unwrap().to_lowercase();
        for needle in [
            "priya",
            "sharma",
            "9876543210",
            "203.0.113.42",
            "1042",
            "ck_7f3a9c21",
            "work-mail",
        ] {
            assert!(!text.contains(needle), "{clear} contains '{needle}'");
        }
    }
    let receipt_file = read_json(&out.join("receipt.json"));
    assert_eq!(
        receipt_file["archive"]["sha256"],
        receipt["archive"]["sha256"]
    );
    let sha = sha256_file(&archive(&out));
    assert_eq!(receipt["archive"]["sha256"], sha.as_str());
    assert!(fs::read_to_string(out.join("notice.txt"))
        .unwrap()
        .contains(&sha));
    assert!(receipt_file["identifiers"][0]["hash"]
        .as_str()
        .unwrap()
        .starts_with("hmac-sha256:"));
}

fn sha256_file(path: &Path) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(fs::read(path).unwrap()))
}

#[test]
fn ssh_passphrase_and_armored_archives_decrypt_with_go_age() {
    let tmp = tempdir();
    for (i, (args, identity)) in [
        (
            vec![
                "-r".to_string(),
                fs::read_to_string(fixture("keys/id_ed25519.pub")).unwrap(),
            ],
            Some(fixture("keys/id_ed25519")),
        ),
        (
            vec![
                "-r".to_string(),
                fs::read_to_string(fixture("keys/id_rsa.pub")).unwrap(),
            ],
            Some(fixture("keys/id_rsa")),
        ),
        (
            vec![
                "-R".to_string(),
                fixture("keys/age-recipient.txt").display().to_string(),
                "--armor".to_string(),
            ],
            Some(fixture("keys/age-identity.txt")),
        ),
        (vec!["--passphrase".to_string()], None),
    ]
    .into_iter()
    .enumerate()
    {
        let dir = tmp.path().join(format!("case{i}"));
        fs::create_dir_all(&dir).unwrap();
        let args: Vec<&str> = args.iter().map(|s| s.trim()).collect();
        let mut cmd = dsar();
        cmd.arg("--config")
            .arg(demo_config())
            .arg("export")
            .args([
                "--subject",
                "email=priya.sharma@example.com",
                "--request-id",
                "DSAR-TEST-1",
                "--out",
            ])
            .arg(dir.join("out"))
            .args(&args)
            .env("DSAR_PASSPHRASE", "correct horse battery staple");
        ok(&mut cmd);
        let arch = archive(&dir.join("out"));
        if args.contains(&"--armor") {
            let head = fs::read_to_string(&arch).unwrap();
            assert!(head.starts_with("-----BEGIN AGE ENCRYPTED FILE-----"));
        }
        let zip = dir.join("plain.zip");
        age_decrypt(
            &arch,
            identity.as_deref(),
            identity.is_none().then_some("correct horse battery staple"),
            &zip,
        );
        let extracted = dir.join("x");
        unzip(&zip, &extracted);
        assert!(
            bag_dir(&extracted).join("data/index.html").exists(),
            "case {i}"
        );
    }
}

#[test]
fn a_generated_passphrase_is_shown_once_and_stored_nowhere() {
    let tmp = tempdir();
    let out = tmp.path().join("out");
    let stdout = ok(dsar()
        .arg("--config")
        .arg(demo_config())
        .arg("--json")
        .arg("export")
        .args([
            "--subject",
            "email=priya.sharma@example.com",
            "--request-id",
            "DSAR-TEST-1",
            "--passphrase",
            "--out",
        ])
        .arg(&out));
    let printed: Value = serde_json::from_str(&stdout).unwrap();
    let passphrase = printed["generated_passphrase"]
        .as_str()
        .expect("generated passphrase on stdout");
    assert!(passphrase.len() >= 30, "strong: {passphrase}");
    for entry in fs::read_dir(&out).unwrap() {
        let path = entry.unwrap().path();
        let bytes = fs::read(&path).unwrap();
        assert!(
            !bytes
                .windows(passphrase.len())
                .any(|w| w == passphrase.as_bytes()),
            "{} holds the passphrase",
            path.display()
        );
    }
    let zip = tmp.path().join("p.zip");
    age_decrypt(&archive(&out), None, Some(passphrase), &zip);
    assert!(fs::metadata(&zip).unwrap().len() > 1000);
}

#[test]
fn tampering_and_wrong_keys_are_detected_with_exit_code_3() {
    let tmp = tempdir();
    let (identity, recipient) = age_identity();
    let (out, _) = export_priya(tmp.path(), &["-r", &recipient]);
    let arch = archive(&out);
    ok(dsar()
        .arg("verify")
        .arg(&arch)
        .arg("--identity")
        .arg(&identity));

    // A different key.
    let other = tmp.path().join("other.txt");
    ok(dsar().arg("keygen").arg("-o").arg(&other));
    let err = fails_with(
        dsar()
            .arg("verify")
            .arg(&arch)
            .arg("--identity")
            .arg(&other),
        3,
    );
    assert!(err.contains("no identity matches"), "{err}");

    // One flipped byte in the middle of the ciphertext.
    let mut bytes = fs::read(&arch).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    let tampered = tmp.path().join("tampered.zip.age");
    fs::write(&tampered, &bytes).unwrap();
    fails_with(
        dsar()
            .arg("verify")
            .arg(&tampered)
            .arg("--identity")
            .arg(&identity),
        3,
    );
    // The reference CLI agrees.
    let status = std::process::Command::new(tool("age"))
        .args(["-d", "-i"])
        .arg(&identity)
        .arg(&tampered)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(!status.success());
}

#[test]
fn config_errors_exit_2_and_name_file_line_and_key() {
    // Each bad config, and what its error must name.
    for (config, needles) in [
        ("unknown-key.toml", &["unknown-key.toml:34", "catgory"][..]),
        ("unset-var.toml", &["DSAR_TEST_UNSET_VAR", "sources[1]"][..]),
        ("bad-ttl.toml", &["destination.link_ttl", "7 days"][..]),
        ("nope.toml", &["nope.toml"][..]),
    ] {
        let err = fails_with(
            dsar()
                .arg("--config")
                .arg(fixture(&format!("bad/{config}")))
                .env_remove("DSAR_TEST_UNSET_VAR")
                .arg("plan")
                .args(["--subject", "email=a@b.c"]),
            2,
        );
        for needle in needles {
            assert!(
                err.contains(needle),
                "{config}: expected '{needle}' in: {err}"
            );
        }
    }
}

#[test]
fn usage_errors_exit_2_with_the_fix() {
    let tmp = tempdir();
    let err = fails_with(
        dsar()
            .arg("--config")
            .arg(demo_config())
            .arg("export")
            .args(["--subject", "email=a@b.c", "--out"])
            .arg(tmp.path()),
        2,
    );
    assert!(
        err.contains("no recipients given") && err.contains("--passphrase"),
        "{err}"
    );
    let err = fails_with(
        dsar()
            .arg("--config")
            .arg(demo_config())
            .arg("export")
            .args([
                "--subject",
                "email=a@b.c",
                "--passphrase",
                "--request-id",
                "../evil",
                "--out",
            ])
            .arg(tmp.path()),
        2,
    );
    assert!(err.contains("request id"), "{err}");
    let err = fails_with(
        dsar()
            .arg("--config")
            .arg(demo_config())
            .arg("plan")
            .args(["--subject", "name=Priya Sharma"]),
        2,
    );
    assert!(err.contains("not an identifier"), "{err}");
    let err = fails_with(
        dsar()
            .arg("--config")
            .arg(demo_config())
            .arg("plan")
            .args(["--subject", "phone=12"]),
        2,
    );
    assert!(err.contains("not a valid phone"), "{err}");
    assert_eq!(
        fs::read_dir(tmp.path()).unwrap().count(),
        0,
        "nothing written"
    );
}

#[test]
fn bad_data_stops_the_export_naming_source_file_and_line_and_leaves_nothing() {
    let (_, recipient) = age_identity();
    for (config, source, needle) in [
        ("bad-quote.toml", "signups", "line 7"),
        ("bad-fields.toml", "signups", "line 5"),
        ("latin1.toml", "signups", "line 4, field 'name'"),
        ("bad-ndjson.toml", "survey_answers", "line 3"),
        ("not-array.toml", "profiles", "records"),
        ("missing-pointer.toml", "profiles", "/profile"),
    ] {
        let tmp = tempdir();
        let out = tmp.path().join("out");
        let err = fails_with(
            dsar()
                .arg("--config")
                .arg(fixture(&format!("bad/{config}")))
                .arg("export")
                .args([
                    "--subject",
                    "email=priya.sharma@example.com",
                    "-r",
                    &recipient,
                    "--out",
                ])
                .arg(&out),
            1,
        );
        assert!(
            err.contains(&format!("source '{source}'")),
            "{config}: {err}"
        );
        assert!(
            err.contains(needle),
            "{config}: expected '{needle}' in: {err}"
        );
        let left: Vec<_> = fs::read_dir(&out).map(|d| d.collect()).unwrap_or_default();
        assert!(left.is_empty(), "{config}: left {left:?}");
    }
}

#[test]
fn large_csv_outputs_split_into_parts_listed_in_the_data_package() {
    let tmp = tempdir();
    let (identity, recipient) = age_identity();
    let (out, _) = export_priya(tmp.path(), &["-r", &recipient, "--csv-rows-per-file", "4"]);
    let bag = open_with_reference_tools(tmp.path(), &archive(&out), &identity);
    let records = bag.join("data/records");
    for part in 1..=4 {
        assert!(
            records
                .join(format!("web_analytics.part-{part:04}.csv"))
                .exists(),
            "part {part}"
        );
    }
    assert!(!records.join("web_analytics.csv").exists());
    assert!(
        records.join("customers.csv").exists(),
        "small tables stay whole"
    );
    let mut rows = 0;
    for part in 1..=4 {
        let text =
            fs::read_to_string(records.join(format!("web_analytics.part-{part:04}.csv"))).unwrap();
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        rows += reader.records().count();
    }
    assert_eq!(rows, 15);
    let package = read_json(&bag.join("data/datapackage.json"));
    let names: Vec<&str> = package["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"web_analytics-part-0004"), "{names:?}");
    let frictionless = tool("python").parent().unwrap().join("frictionless");
    ok(std::process::Command::new(frictionless)
        .arg("validate")
        .arg("datapackage.json")
        .current_dir(bag.join("data")));
}

#[test]
fn plan_shows_the_rounds_and_writes_nothing() {
    let tmp = tempdir();
    let stdout = ok(dsar()
        .arg("--config")
        .arg(demo_config())
        .arg("plan")
        .args(["--subject", "email= Priya.Sharma@Example.COM "])
        .current_dir(tmp.path())
        .env("TMPDIR", tmp.path()));
    assert!(
        stdout.contains("Round 1") && stdout.contains("Round 2"),
        "{stdout}"
    );
    assert!(
        stdout.contains("p.sharma@work-mail.in (from profiles.alt_email)"),
        "{stdout}"
    );
    assert_eq!(
        fs::read_dir(tmp.path()).unwrap().count(),
        0,
        "plan wrote something"
    );

    let json = ok(dsar()
        .arg("--config")
        .arg(demo_config())
        .arg("--json")
        .arg("plan")
        .args(["--subject", "customer_id=1042"]));
    let plan: Value = serde_json::from_str(&json).unwrap();
    let counts: std::collections::BTreeMap<String, u64> = plan["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p[0].as_str().unwrap().to_string(), p[1].as_u64().unwrap()))
        .collect();
    assert_eq!(counts["web_analytics"], 15);
    assert_eq!(counts["customers"], 1);
}

#[test]
fn a_runaway_identity_graph_fails_naming_the_source() {
    let tmp = tempdir();
    let data = fixture("demo/data");
    let config = tmp.path().join("dsar.toml");
    fs::write(
        &config,
        format!(
            r#"[controller]
name = "Acme"
contact = "privacy@acme.test"
[subject]
max_identifiers = 3
[[sources]]
name = "customers"
type = "csv"
path = "{}/customers.csv"
match = {{ email = "email" }}
provides = {{ customer_id = "id" }}
[[sources]]
name = "web_analytics"
type = "ndjson"
path = "{}/analytics.ndjson"
match = {{ cookie_id = "cookie_id" }}
[[sources]]
name = "logins"
type = "csv"
path = "{}/logins.csv"
match = {{ customer_id = "customer_id" }}
provides = {{ ip = "ip", cookie_id = "cookie_id" }}
"#,
            data.display(),
            data.display(),
            data.display()
        ),
    )
    .unwrap();
    let err = fails_with(
        dsar()
            .arg("--config")
            .arg(&config)
            .arg("plan")
            .args(["--subject", "email=priya.sharma@example.com"]),
        1,
    );
    assert!(
        err.contains("source 'logins'") && err.contains("max_identifiers"),
        "{err}"
    );

    // --allow-partial skips failing sources, never the graph's own bound.
    let (_, recipient) = age_identity();
    let out = tmp.path().join("out");
    let err = fails_with(
        dsar()
            .arg("--config")
            .arg(&config)
            .arg("export")
            .args([
                "--subject",
                "email=priya.sharma@example.com",
                "--allow-partial",
                "-r",
                &recipient,
                "--out",
            ])
            .arg(&out),
        1,
    );
    assert!(err.contains("max_identifiers"), "{err}");
    let left = fs::read_dir(&out).map(|d| d.count()).unwrap_or(0);
    assert_eq!(left, 0, "nothing left in --out");
}

#[test]
fn logs_never_show_identifier_values() {
    let tmp = tempdir();
    let (_, recipient) = age_identity();
    let out = run(dsar()
        .arg("--config")
        .arg(demo_config())
        .arg("-vv")
        .arg("export")
        .args([
            "--subject",
            "email=priya.sharma@example.com",
            "--subject",
            "phone=+91 98765 43210",
            "-r",
            &recipient,
            "--out",
        ])
        .arg(tmp.path().join("out")));
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr).to_lowercase();
    assert!(stderr.contains("round 1"), "progress is logged: {stderr}");
    for needle in [
        "priya",
        "9876543210",
        "203.0.113.42",
        "2001:db8",
        "ck_",
        "1042",
        "t-2024",
    ] {
        assert!(
            !stderr.contains(needle),
            "stderr shows '{needle}':\n{stderr}"
        );
    }
}

#[test]
fn an_export_never_overwrites_and_keygen_keys_work_with_go_age() {
    let tmp = tempdir();
    let key = tmp.path().join("key.txt");
    let recipient = ok(dsar().arg("keygen").arg("-o").arg(&key))
        .trim()
        .to_string();
    assert!(recipient.starts_with("age1"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            fs::metadata(&key).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    fails_with(dsar().arg("keygen").arg("-o").arg(&key), 2);
    let (out, _) = export_priya(tmp.path(), &["-r", &recipient]);
    open_with_reference_tools(tmp.path(), &archive(&out), &key);
    // Same request id into the same folder: refused before any work.
    let err = fails_with(
        dsar()
            .arg("--config")
            .arg(demo_config())
            .arg("export")
            .args([
                "--subject",
                "email=priya.sharma@example.com",
                "--request-id",
                "DSAR-TEST-1",
                "-r",
                &recipient,
                "--out",
            ])
            .arg(&out),
        2,
    );
    assert!(err.contains("already exists"), "{err}");
}

#[test]
fn help_man_page_and_completions_come_from_the_cli_definition() {
    let help = ok(dsar().arg("export").arg("--help"));
    assert!(help.contains("--subject") && help.contains("--passphrase"));
    let man = ok(dsar().arg("man"));
    assert!(man.contains(".TH dsar"));
    let bash = ok(dsar().args(["completions", "bash"]));
    assert!(bash.contains("_dsar"));
}
