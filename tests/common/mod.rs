//! Shared harness for the integration tests: each test gets a fresh temporary folder and runs
//! the real `dsar` binary; external tools (the Go `age` CLI, Python's bagit and frictionless,
//! unzip) are required — a missing tool fails the test, it never skips silently.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A path under `fixtures/`.
pub fn fixture(rel: &str) -> PathBuf {
    root().join("fixtures").join(rel)
}

/// A `dsar` command with a clean environment for the things dsar reads.
pub fn dsar() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_dsar"));
    c.env_remove("DSAR_CONFIG")
        .env_remove("DSAR_PASSPHRASE")
        .env("NO_COLOR", "1")
        // Keep passphrase tests fast; the Go age CLI accepts any work factor up to 22.
        .env("DSAR_SCRYPT_WORK_FACTOR", "10")
        .stdin(Stdio::null());
    c
}

/// Runs a command and returns its output (never panics on a non-zero exit).
pub fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("the command starts")
}

/// Runs and asserts success, returning stdout.
pub fn ok(cmd: &mut Command) -> String {
    let out = run(cmd);
    assert!(
        out.status.success(),
        "command failed ({:?}): {cmd:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 stdout")
}

/// Runs and asserts the exit code, returning stderr.
pub fn fails_with(cmd: &mut Command, code: i32) -> String {
    let out = run(cmd);
    assert_eq!(
        out.status.code(),
        Some(code),
        "expected exit {code}: {cmd:?}\nstdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stderr).to_string()
}

/// Path of an external tool; fails the test when it is missing (run `scripts/test`, which
/// installs every tool the tests need).
pub fn tool(name: &str) -> PathBuf {
    if name == "python" {
        if let Ok(p) = std::env::var("DSAR_TEST_PYTHON") {
            return PathBuf::from(p);
        }
        let venv = root().join("target/pyvenv/bin/python");
        if venv.exists() {
            return venv;
        }
        panic!("Python venv with bagit and frictionless is missing: run scripts/test (or scripts/test --install-only)");
    }
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    });
    found.unwrap_or_else(|| {
        panic!("required test tool '{name}' is not installed: run scripts/test, which installs it")
    })
}

/// A fresh temporary folder.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("dsar-test-")
        .tempdir()
        .expect("temp dir")
}

/// The test age identity and its recipient.
pub fn age_identity() -> (PathBuf, String) {
    let id = fixture("keys/age-identity.txt");
    let recipient = std::fs::read_to_string(fixture("keys/age-recipient.txt"))
        .expect("fixtures/keys/age-recipient.txt")
        .trim()
        .to_string();
    (id, recipient)
}

/// Decrypts with the Go `age` CLI into `out`.
pub fn age_decrypt(archive: &Path, identity: Option<&Path>, passphrase: Option<&str>, out: &Path) {
    let mut cmd = Command::new(tool("age"));
    cmd.arg("-d").arg("-o").arg(out);
    if let Some(i) = identity {
        cmd.arg("-i").arg(i);
    }
    cmd.arg(archive);
    if let Some(p) = passphrase {
        // The Go age CLI reads passphrases from the terminal only; feed it one through a pty
        // with `script`, which util-linux provides everywhere Debian is.
        let shell = format!(
            "printf '%s\\n' '{p}' | script -qec \"{} -d -o {} {}\" /dev/null",
            tool("age").display(),
            out.display(),
            archive.display()
        );
        let mut sh = Command::new("bash");
        sh.arg("-c").arg(shell);
        ok(&mut sh);
        assert!(out.exists(), "age produced no output");
        return;
    }
    ok(&mut cmd);
}

/// Unzips into `dir` with Info-ZIP's unzip.
pub fn unzip(zip: &Path, dir: &Path) {
    ok(Command::new(tool("unzip"))
        .arg("-q")
        .arg(zip)
        .arg("-d")
        .arg(dir));
}

/// The single request folder inside an extracted zip.
pub fn bag_dir(extracted: &Path) -> PathBuf {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(extracted)
        .expect("extracted dir")
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(entries.len(), 1, "the zip holds one folder: {entries:?}");
    entries.pop().expect("one entry")
}

/// Reads a JSON file.
pub fn read_json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
