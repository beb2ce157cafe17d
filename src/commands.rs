//! Glue between the command line and the library: runs one command, prints its result.
//! Results go to stdout (JSON with `--json`); logs and progress go to stderr.

use std::io::{self, Write};

use serde::Serialize;

use crate::cli::{Cli, Command, RequestsCmd, SourcesCmd};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::export::{self, ExportArgs, RecipientArgs};
use crate::subject::Normalizer;

/// How results are printed.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    /// JSON on stdout.
    pub json: bool,
}

impl Output {
    /// Prints a value as pretty JSON on stdout.
    pub fn json<T: Serialize>(&self, value: &T) -> Result<()> {
        let mut out = io::stdout().lock();
        serde_json::to_writer_pretty(&mut out, value).expect("serialisable");
        writeln!(out).map_err(Error::from)
    }

    /// Prints human text on stdout.
    pub fn text(&self, text: &str) -> Result<()> {
        let mut out = io::stdout().lock();
        out.write_all(text.as_bytes())?;
        if !text.ends_with('\n') {
            out.write_all(b"\n")?;
        }
        Ok(())
    }
}

/// Runs the parsed command.
pub fn run(cli: Cli) -> Result<()> {
    let out = Output { json: cli.json };
    let load = || Config::load(&cli.config);
    match cli.command {
        Command::Export(cmd) => {
            let config = load()?;
            let args = ExportArgs {
                subjects: cmd.subjects,
                request_id: cmd.request_id,
                received: cmd.received,
                recipients: RecipientArgs {
                    recipients: cmd.recipients.recipients,
                    recipients_files: cmd.recipients.recipients_files,
                    passphrase: cmd.recipients.passphrase,
                    armor: cmd.recipients.armor,
                },
                out: cmd.out,
                allow_partial: cmd.allow_partial,
                csv_rows_per_file: cmd.csv_rows_per_file.filter(|n| *n > 0),
            };
            let done = export::export(&config, &args)?;
            print_export(&out, &done)
        }
        Command::Plan(cmd) => {
            let config = load()?;
            let resolution = export::plan(&config, &cmd.subjects)?;
            print_plan(&out, &config, &resolution)
        }
        Command::Sources(SourcesCmd::Check) => {
            let config = load()?;
            sources_check(&out, &config)
        }
        Command::Link(cmd) => {
            let config = load()?;
            crate::destination::s3::cmd_link(&config, &cmd, &out)
        }
        Command::Revoke(cmd) => {
            let config = load()?;
            crate::destination::s3::cmd_revoke(&config, &cmd, &out)
        }
        Command::Verify(cmd) => crate::receive::cmd_verify(&cmd, &out),
        Command::Open(cmd) => crate::receive::cmd_open(&cmd, &out),
        Command::Import(cmd) => crate::receive::cmd_import(&cmd, &out),
        Command::Keygen(cmd) => keygen(&out, cmd.output.as_deref()),
        Command::Requests(cmd) => {
            let config = load()?;
            match cmd {
                RequestsCmd::List { overdue } => crate::ledger::cmd_list(&config, overdue, &out),
                RequestsCmd::Show { request_id } => {
                    crate::ledger::cmd_show(&config, &request_id, &out)
                }
            }
        }
        Command::Completions(cmd) => {
            let mut command = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(cmd.shell, &mut command, "dsar", &mut io::stdout());
            Ok(())
        }
        Command::Man => {
            let command = <Cli as clap::CommandFactory>::command();
            clap_mangen::Man::new(command)
                .render(&mut io::stdout())
                .map_err(Error::from)
        }
    }
}

fn print_export(out: &Output, done: &export::Exported) -> Result<()> {
    let r = &done.receipt;
    if out.json {
        #[derive(Serialize)]
        struct Printed<'a> {
            #[serde(flatten)]
            receipt: &'a crate::receipt::Receipt,
            #[serde(skip_serializing_if = "Option::is_none")]
            generated_passphrase: Option<&'a str>,
            files: Vec<String>,
        }
        return out.json(&Printed {
            receipt: r,
            generated_passphrase: done
                .generated_passphrase
                .as_ref()
                .map(crate::crypto::reveal),
            files: done
                .written
                .iter()
                .map(|p| p.display().to_string())
                .collect(),
        });
    }
    let mut t = String::new();
    t.push_str(&format!(
        "Request {}: {} record(s) from {} source(s){}\n",
        r.request.id,
        r.total_records,
        r.sources.iter().filter(|s| s.record_count > 0).count(),
        if r.complete { "" } else { " — PARTIAL" }
    ));
    t.push_str(&format!(
        "  received {}, due {}\n",
        r.request.received_date, r.request.due_date
    ));
    t.push_str("  identifiers:\n");
    for id in &r.identifiers {
        t.push_str(&format!(
            "    {}={} ({})\n",
            id.kind,
            id.value.as_deref().unwrap_or("?"),
            id.origin
        ));
    }
    t.push_str("  sources:\n");
    for s in &r.sources {
        t.push_str(&format!(
            "    {:<24} {:>8}  {}\n",
            s.name, s.record_count, s.status
        ));
    }
    for f in &r.failed_sources {
        t.push_str(&format!("  FAILED {}: {}\n", f.source, f.error));
    }
    t.push_str(&format!(
        "  archive: {} ({} bytes, sha256 {})\n",
        r.destination.location, r.archive.bytes, r.archive.sha256
    ));
    if let Some(link) = &r.destination.link {
        t.push_str(&format!(
            "  link (until {}): {}\n",
            link.expires_at, link.url
        ));
    }
    if !r.archive.recipients.is_empty() {
        t.push_str(&format!(
            "  encrypted to: {}\n",
            r.archive.recipients.join(", ")
        ));
    }
    for p in &done.written {
        t.push_str(&format!("  wrote {}\n", p.display()));
    }
    if let Some(p) = &done.generated_passphrase {
        t.push_str(&format!(
            "\nPassphrase (shown once, not stored anywhere; send it to the person by another channel than the link):\n\n    {}\n",
            crate::crypto::reveal(p)
        ));
    }
    out.text(&t)
}

fn print_plan(out: &Output, config: &Config, res: &crate::graph::Resolution) -> Result<()> {
    if out.json {
        #[derive(Serialize)]
        struct Plan<'a> {
            rounds: usize,
            visits: &'a [crate::graph::Visit],
            identifiers: Vec<crate::archive::manifest::IdentifierEntry>,
            sources: Vec<(String, u64)>,
        }
        return out.json(&Plan {
            rounds: res.rounds,
            visits: &res.visits,
            identifiers: crate::archive::manifest::IdentifierEntry::list(&res.identifiers),
            sources: config
                .sources
                .iter()
                .zip(&res.counts)
                .map(|(s, c)| (s.name.clone(), *c))
                .collect(),
        });
    }
    let mut t = String::new();
    for round in 1..=res.rounds {
        t.push_str(&format!("Round {round}\n"));
        for v in res.visits.iter().filter(|v| v.round == round) {
            let asked: Vec<String> = v.asked.iter().map(|(k, n)| format!("{n} {k}")).collect();
            t.push_str(&format!(
                "  {:<24} asked about {:<28} {:>7} match(es), {} new identifier(s)\n",
                v.source,
                asked.join(", "),
                v.found,
                v.derived
            ));
        }
    }
    t.push_str("Identifiers:\n");
    for (k, v, p) in res.identifiers.iter() {
        let from = match p {
            crate::subject::Provenance::Given => "given".to_string(),
            crate::subject::Provenance::Derived { source, field, .. } => {
                format!("from {source}.{field}")
            }
        };
        t.push_str(&format!("  {k}={v} ({from})\n"));
    }
    t.push_str("Per source:\n");
    for (s, c) in config.sources.iter().zip(&res.counts) {
        t.push_str(&format!("  {:<24} {:>8}\n", s.name, c));
    }
    out.text(&t)
}

fn sources_check(out: &Output, config: &Config) -> Result<()> {
    let normalizer = Normalizer::new(config.subject.default_region.as_deref());
    let ctx = crate::sources::BuildContext {
        base_dir: config.base_dir.clone(),
        normalizer,
    };
    #[derive(Serialize)]
    struct Line {
        source: String,
        #[serde(rename = "type")]
        kind: String,
        ok: bool,
        detail: String,
    }
    let mut lines = Vec::new();
    for cfg in &config.sources {
        let result = crate::sources::build(cfg, &ctx).and_then(|mut s| s.check());
        let (ok, detail) = match result {
            Ok(d) => (true, d),
            Err(Error::Source { message, .. }) => (false, message),
            Err(e) => (false, e.to_string()),
        };
        lines.push(Line {
            source: cfg.name.clone(),
            kind: cfg.kind.as_str().into(),
            ok,
            detail,
        });
    }
    let failed = lines.iter().filter(|l| !l.ok).count();
    if out.json {
        out.json(&lines)?;
    } else {
        let mut t = String::new();
        for l in &lines {
            t.push_str(&format!(
                "{:<4} {:<24} {:<10} {}\n",
                if l.ok { "OK" } else { "FAIL" },
                l.source,
                l.kind,
                l.detail
            ));
        }
        out.text(&t)?;
    }
    if failed > 0 {
        return Err(Error::runtime(format!(
            "{failed} of {} source(s) failed the check",
            lines.len()
        )));
    }
    Ok(())
}

fn keygen(out: &Output, path: Option<&std::path::Path>) -> Result<()> {
    use age::secrecy::ExposeSecret;
    let identity = age::x25519::Identity::generate();
    let recipient = identity.to_public().to_string();
    let created = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let text = format!(
        "# created: {created}\n# public key: {recipient}\n{}\n",
        identity.to_string().expose_secret()
    );
    match path {
        Some(p) => {
            let mut f = crate::destination::local::create_private(p).map_err(|e| {
                if e.kind() == io::ErrorKind::AlreadyExists {
                    Error::Usage(format!(
                        "{} already exists; not overwriting a key",
                        p.display()
                    ))
                } else {
                    Error::io("cannot create", p, e)
                }
            })?;
            f.write_all(text.as_bytes())
                .and_then(|_| f.sync_all())
                .map_err(|e| Error::io("cannot write", p, e))?;
            if out.json {
                out.json(&serde_json::json!({ "recipient": recipient, "identity_file": p }))
            } else {
                eprintln!("Public key: {recipient}");
                out.text(&recipient)
            }
        }
        None => {
            if out.json {
                out.json(&serde_json::json!({
                    "recipient": recipient,
                    "identity": identity.to_string().expose_secret(),
                }))
            } else {
                eprintln!("Public key: {recipient}");
                out.text(&text)
            }
        }
    }
}
