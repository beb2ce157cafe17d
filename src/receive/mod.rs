//! The receiving side: verify, open and import an archive (SPEC 5).
//!
//! Whoever receives an archive — the person, or an organisation the person chose — must be
//! able to decrypt it, trust it and use it. [`verify`] checks the age stream, the zip and the
//! BagIt manifests in one pass and writes nothing; [`open`] runs the same checks while
//! extracting into a private temporary folder that becomes `--out` only when everything
//! passed; [`import`] loads the Data Package into SQLite or PostgreSQL.

pub mod import;
pub mod open;
pub mod open_page;
pub mod verify;

use std::io::Write;

use crate::cli::{IdentityOpts, ImportCmd, OpenCmd, VerifyCmd};
use crate::commands::Output;
use crate::crypto::{self, Identities};
use crate::error::{Error, Result};

use verify::Report;

/// `dsar verify`: decrypts in a stream, checks everything, prints OK or each problem.
pub fn cmd_verify(cmd: &VerifyCmd, out: &Output) -> Result<()> {
    let identities = identities(&cmd.identity)?;
    let limits = verify::Limits::from_env()?;
    let report = open::verify_archive(&cmd.archive, &identities, &limits)
        .map_err(|e| json_failure(out, &cmd.archive.display().to_string(), e))?;
    print_report(out, &cmd.archive.display().to_string(), &report, None)?;
    fail_unless_ok(&report)
}

/// `dsar open`: verifies and extracts into `--out`, all or nothing.
pub fn cmd_open(cmd: &OpenCmd, out: &Output) -> Result<()> {
    let identities = identities(&cmd.identity)?;
    let limits = verify::Limits::from_env()?;
    let (report, bag) = open::open_archive(&cmd.archive, &cmd.out, &identities, &limits)
        .map_err(|e| json_failure(out, &cmd.archive.display().to_string(), e))?;
    print_report(
        out,
        &cmd.archive.display().to_string(),
        &report,
        bag.as_deref(),
    )?;
    fail_unless_ok(&report)
}

/// `dsar import`: loads the Data Package of an archive or bag folder into a database.
pub fn cmd_import(cmd: &ImportCmd, out: &Output) -> Result<()> {
    let summary = import::run(cmd, || identities(&cmd.identity))?;
    if out.json {
        out.json(&summary)
    } else {
        let mut text = format!(
            "imported {} rows into {} table(s) of {}\n",
            summary.rows,
            summary.tables.len(),
            summary.database
        );
        for t in &summary.tables {
            text.push_str(&format!("  {:<32} {:>8} rows\n", t.table, t.rows));
        }
        out.text(&text)
    }
}

/// The identities named on the command line, or the passphrase.
fn identities(opts: &IdentityOpts) -> Result<Identities> {
    if opts.passphrase {
        return match crypto::read_passphrase("Passphrase: ", false)? {
            Some(secret) => Ok(Identities::Passphrase(secret)),
            None => Err(Error::Usage(
                "no passphrase: set DSAR_PASSPHRASE or run in a terminal to be asked for it".into(),
            )),
        };
    }
    if opts.identities.is_empty() {
        return Err(Error::Usage(
            "no key given: pass --identity FILE (an age identity or SSH private key) or --passphrase".into(),
        ));
    }
    let mut ids = Vec::new();
    for path in &opts.identities {
        ids.extend(crypto::load_identity_file(path)?);
    }
    Ok(Identities::Keys(ids))
}

fn print_report(
    out: &Output,
    archive: &str,
    report: &Report,
    extracted: Option<&std::path::Path>,
) -> Result<()> {
    if out.json {
        #[derive(serde::Serialize)]
        struct Json<'a> {
            archive: &'a str,
            ok: bool,
            #[serde(skip_serializing_if = "Option::is_none")]
            extracted: Option<String>,
            #[serde(flatten)]
            report: &'a Report,
        }
        return out.json(&Json {
            archive,
            ok: report.ok(),
            extracted: extracted.map(|p| p.display().to_string()),
            report,
        });
    }
    let mut text = String::new();
    if report.ok() {
        text.push_str(&format!("OK  {archive}\n"));
    } else {
        text.push_str(&format!(
            "FAILED  {archive}: {} problem(s)\n",
            report.problems.len()
        ));
        for p in &report.problems {
            text.push_str(&format!(
                "  {}: {}\n",
                verify::printable(&p.path),
                p.problem
            ));
        }
    }
    text.push_str(&format!(
        "  bag {}/: {} payload files, {} bytes; checked {}\n",
        verify::printable(&report.root),
        report.payload_files,
        report.payload_bytes,
        report.manifests_checked.join(", ")
    ));
    if let Some(d) = &report.dsar {
        text.push_str(&format!(
            "  request {}: {} sources, {} records; {} files match manifest.json\n",
            d.request_id, d.sources, d.total_records, d.files_checked
        ));
    }
    if let Some(dir) = extracted {
        text.push_str(&format!("  extracted to {}\n", dir.display()));
    }
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    Ok(())
}

/// With `--json`, a verification failure that stopped the checks early (wrong key, damaged
/// stream, zip bomb) is still reported on stdout as `{"ok": false, "error": …}`.
fn json_failure(out: &Output, archive: &str, e: Error) -> Error {
    if out.json && matches!(e, Error::Verify(_)) {
        let _ = out.json(&serde_json::json!({
            "archive": archive,
            "ok": false,
            "error": e.to_string(),
            "problems": [],
        }));
    }
    e
}

fn fail_unless_ok(report: &Report) -> Result<()> {
    if report.ok() {
        Ok(())
    } else {
        Err(Error::Verify(format!(
            "verification failed: {} problem(s), listed above; the archive may have been modified or damaged — ask the sender for a new copy",
            report.problems.len()
        )))
    }
}
