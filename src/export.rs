//! `dsar export` and `dsar plan`: the pipeline end to end.
//!
//! config → identifiers → sources (identity graph, records spilled encrypted) → archive (zip +
//! BagIt) → age → destination, then the receipt, the notice and the ledger entry. The layers
//! finish in strict reverse order — `bag.finish()` → `age.finish()` → `upload.commit()` — and
//! any error aborts the upload so nothing half-written is ever visible.

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, Write};
use std::path::PathBuf;

use age::secrecy::SecretString;
use chrono::{NaiveDate, Utc};

use crate::archive::datapackage::{self, Resource};
use crate::archive::manifest::{
    FileReport, IdentifierEntry, Manifest, RequestInfo, SourceReport, Tool, MANIFEST_VERSION,
};
use crate::archive::templates::Templates;
use crate::archive::{safe_file_name, BagInfo, BagWriter, HashingWriter};
use crate::config::Config;
use crate::crypto::{self, EncryptWriter, Recipients};
use crate::destination::{self, Sealed, Upload};
use crate::error::{Error, Result};
use crate::graph::{self, Collector, Resolution, Visit};
use crate::keyed::IdentifierHasher;
use crate::pipe::Pipe;
use crate::receipt::{
    ArchiveInfo, NoticeContext, NoticeSource, Receipt, ReceiptIdentifier, ReceiptSource,
};
use crate::records::{Columns, CsvTableWriter, Record};
use crate::sources::{self, Attachment, BuildContext, Source};
use crate::spill::{Spill, SpillKey};
use crate::subject::{self, Normalizer};

/// The receipt beside the archive.
pub const RECEIPT_FILE: &str = "receipt.json";
/// The notice for the person.
pub const NOTICE_FILE: &str = "notice.txt";
/// The notice as HTML.
pub const NOTICE_HTML_FILE: &str = "notice.html";

/// CSV files split after this many rows (SPEC 4.3).
pub const CSV_ROWS_PER_FILE: u64 = 1_000_000;

/// How the archive is encrypted, as asked on the command line.
#[derive(Debug, Clone, Default)]
pub struct RecipientArgs {
    /// `-r` values.
    pub recipients: Vec<String>,
    /// `-R` files.
    pub recipients_files: Vec<PathBuf>,
    /// `--passphrase`.
    pub passphrase: bool,
    /// `--armor`.
    pub armor: bool,
}

/// Everything `dsar export` takes.
#[derive(Debug, Clone, Default)]
pub struct ExportArgs {
    /// `--subject KIND=VALUE`.
    pub subjects: Vec<String>,
    /// `--request-id`.
    pub request_id: Option<String>,
    /// `--received` (default today).
    pub received: Option<NaiveDate>,
    /// Encryption.
    pub recipients: RecipientArgs,
    /// `--out`.
    pub out: Option<PathBuf>,
    /// `--allow-partial`.
    pub allow_partial: bool,
    /// `--csv-rows-per-file` (hidden; tests use it to exercise splitting).
    pub csv_rows_per_file: Option<u64>,
}

/// The result of an export.
pub struct Exported {
    /// The receipt (with identifier values, for stdout).
    pub receipt: Receipt,
    /// A passphrase generated for this archive, to show once.
    pub generated_passphrase: Option<SecretString>,
    /// Files written next to the archive.
    pub written: Vec<PathBuf>,
}

/// Checks a request id against `[A-Za-z0-9._-]{1,64}`.
pub fn validate_request_id(id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        && id != "."
        && id != "..";
    if ok {
        Ok(())
    } else {
        Err(Error::Usage(format!(
            "request id '{id}' must be 1-64 characters of A-Z, a-z, 0-9, '.', '_' or '-'"
        )))
    }
}

/// `DSAR-<UTC date>-<random>`.
pub fn generate_request_id() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTVWXYZ23456789";
    let random: String = (0..6)
        .map(|_| ALPHABET[rand::random::<usize>() % ALPHABET.len()] as char)
        .collect();
    format!("DSAR-{}-{random}", Utc::now().format("%Y%m%d"))
}

/// Resolves recipients from the command line, then the config's defaults.
pub fn resolve_recipients(
    args: &RecipientArgs,
    config: &Config,
) -> Result<(Recipients, Option<SecretString>)> {
    let mut keys = Vec::new();
    for r in &args.recipients {
        keys.push(crypto::parse_recipient(r)?);
    }
    for f in &args.recipients_files {
        keys.extend(crypto::read_recipients_file(f)?);
    }
    // A fixed work factor like the Go age CLI's (18): the age crate would calibrate to about
    // a second of this machine's time, which on a fast server exceeds what the browser page
    // (age-encryption refuses more than 20) and slow phones can open.
    let work_factor = Some(
        std::env::var("DSAR_SCRYPT_WORK_FACTOR")
            .ok()
            .and_then(|v| v.parse::<u8>().ok())
            .filter(|n| (10..=20).contains(n))
            .unwrap_or(18),
    );
    if args.passphrase {
        if !keys.is_empty() {
            return Err(Error::Usage(
                "--passphrase cannot be combined with -r/-R recipients (age encrypts to one or the other); choose one".into(),
            ));
        }
        return Ok(
            match crypto::read_passphrase(
                "Passphrase for the archive (empty to generate one): ",
                true,
            )? {
                Some(secret) => (
                    Recipients::Passphrase {
                        secret,
                        work_factor,
                    },
                    None,
                ),
                None => {
                    let secret = crypto::generate_passphrase();
                    (
                        Recipients::Passphrase {
                            secret: secret.clone(),
                            work_factor,
                        },
                        Some(secret),
                    )
                }
            },
        );
    }
    if keys.is_empty() {
        for (i, r) in config.recipients.iter().enumerate() {
            keys.push(crypto::parse_recipient(r).map_err(|e| {
                Error::Config(format!("{}: recipients[{i}]: {e}", config.file.display()))
            })?);
        }
    }
    if keys.is_empty() {
        return Err(Error::Usage(
            "no recipients given; pass -r age1… (or an SSH public key), -R FILE, or --passphrase"
                .into(),
        ));
    }
    Ok((Recipients::Keys(keys), None))
}

/// Builds every configured source.
pub fn build_sources(config: &Config, normalizer: &Normalizer) -> Result<Vec<Box<dyn Source>>> {
    let ctx = BuildContext {
        base_dir: config.base_dir.clone(),
        normalizer: normalizer.clone(),
    };
    config
        .sources
        .iter()
        .map(|s| sources::build(s, &ctx))
        .collect()
}

fn progress_line(v: &Visit) {
    let asked: Vec<String> = v.asked.iter().map(|(k, n)| format!("{n} {k}")).collect();
    tracing::info!(
        "round {}: source '{}' asked about {}: {} found, {} new identifier(s)",
        v.round,
        v.source,
        asked.join(", "),
        v.found,
        v.derived
    );
}

/// `dsar plan`: resolves identifiers and counts matches; writes nothing.
pub fn plan(config: &Config, subjects: &[String]) -> Result<Resolution> {
    let normalizer = Normalizer::new(config.subject.default_region.as_deref());
    let given = subject::parse_subjects(subjects, &normalizer)?;
    let mut sources = build_sources(config, &normalizer)?;
    struct Counter;
    impl Collector for Counter {
        fn record(&mut self, _: usize, _: Record) -> Result<()> {
            Ok(())
        }
        fn file(&mut self, _: usize, _: Attachment) -> Result<()> {
            Ok(())
        }
        fn discard(&mut self, _: usize) -> Result<()> {
            Ok(())
        }
    }
    graph::resolve(
        &mut sources,
        given,
        &config.subject,
        &normalizer,
        false,
        &mut Counter,
        &mut progress_line,
    )
}

/// Collects matched records into encrypted spills and attachments into a list.
struct SpillCollector<'k> {
    key: &'k SpillKey,
    spills: Vec<Option<Spill>>,
    files: Vec<Vec<Attachment>>,
}

impl Collector for SpillCollector<'_> {
    fn record(&mut self, index: usize, record: Record) -> Result<()> {
        if self.spills[index].is_none() {
            self.spills[index] = Some(Spill::new(self.key)?);
        }
        self.spills[index]
            .as_mut()
            .expect("created above")
            .push(record)
    }

    fn file(&mut self, index: usize, attachment: Attachment) -> Result<()> {
        self.files[index].push(attachment);
        Ok(())
    }

    fn discard(&mut self, index: usize) -> Result<()> {
        self.spills[index] = None;
        self.files[index].clear();
        Ok(())
    }
}

/// Runs an export.
pub fn export(config: &Config, args: &ExportArgs) -> Result<Exported> {
    let normalizer = Normalizer::new(config.subject.default_region.as_deref());
    let given = subject::parse_subjects(&args.subjects, &normalizer)?;
    let request_id = match &args.request_id {
        Some(id) => {
            validate_request_id(id)?;
            id.clone()
        }
        None => generate_request_id(),
    };
    let now = Utc::now();
    let received = args.received.unwrap_or_else(|| now.date_naive());
    let due = received + chrono::Duration::days(i64::from(config.controller.response_days));
    let (recipients, generated_passphrase) = resolve_recipients(&args.recipients, config)?;
    let hasher = IdentifierHasher::load(config)?;
    // Opened before any work, so an unwritable ledger or an unreachable ledger database stops
    // the export before anything is delivered that the ledger could not then record.
    let ledger = crate::ledger::Ledger::open(config)?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("out").join(&request_id));
    let mut destination = destination::open(config, &out)?;
    let out_dir = destination.out_dir();
    for name in [
        RECEIPT_FILE,
        NOTICE_FILE,
        NOTICE_HTML_FILE,
        &format!("{request_id}.zip.age"),
    ] {
        if out_dir.join(name).exists() {
            return Err(Error::Usage(format!(
                "{} already exists (from an earlier export); use an empty --out folder, e.g. --out out/{request_id}",
                out_dir.join(name).display()
            )));
        }
    }
    let mut sources = build_sources(config, &normalizer)?;

    tracing::info!(
        "request {request_id}: collecting from {} source(s)",
        sources.len()
    );
    let key = SpillKey::new();
    let mut collector = SpillCollector {
        key: &key,
        spills: (0..sources.len()).map(|_| None).collect(),
        files: vec![Vec::new(); sources.len()],
    };
    let resolution = graph::resolve(
        &mut sources,
        given,
        &config.subject,
        &normalizer,
        args.allow_partial,
        &mut collector,
        &mut progress_line,
    )?;

    let request = RequestInfo {
        id: request_id.clone(),
        generated_at: now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        received_date: received.to_string(),
        due_date: due.to_string(),
    };
    let armor = args.recipients.armor;
    let file_name = format!("{request_id}.zip.age");
    let templates = Templates::load(config.templates.as_deref())?;

    let upload = destination.begin(&request_id, &file_name)?;
    let (delivered, sealed, manifest) = deliver(upload, |upload| {
        std::thread::scope(|scope| {
            let hashing = HashingWriter::new(upload);
            let encrypting = EncryptWriter::new(&recipients, armor, hashing)?;
            // zip on this thread, age and delivery on another.
            let piped = Pipe::spawn(scope, encrypting);
            let mut bag = BagWriter::new(piped, &request_id, now);
            let manifest = write_payload(
                &mut bag,
                config,
                &mut collector,
                &resolution,
                &request,
                &templates,
                &key,
                args.csv_rows_per_file.unwrap_or(CSV_ROWS_PER_FILE),
            )?;
            let info = BagInfo {
                organization: config.controller.name.clone(),
                contact_email: config.controller.contact.clone(),
                external_identifier: request_id.clone(),
                bagging_date: now.format("%Y-%m-%d").to_string(),
            };
            let encrypting = bag.finish(&info)?.finish()?;
            let hashing = encrypting
                .finish()
                .map_err(|e| Error::runtime(format!("cannot finish encryption: {e}")))?;
            let (_, sha256, bytes) = hashing.finish();
            Ok((Sealed { sha256, bytes }, manifest))
        })
    })?;

    let receipt = Receipt {
        tool: Tool::default(),
        request: request.clone(),
        identifiers: resolution
            .identifiers
            .iter()
            .map(|(kind, value, p)| ReceiptIdentifier {
                kind: kind.to_string(),
                origin: match p {
                    subject::Provenance::Given => "given".into(),
                    subject::Provenance::Derived { .. } => "derived".into(),
                },
                hash: hasher.hash(kind, value),
                value: Some(value.to_string()),
            })
            .collect(),
        sources: manifest
            .sources
            .iter()
            .map(|s| ReceiptSource {
                name: s.name.clone(),
                category: s.category.clone(),
                record_count: s.record_count,
                status: s.status.clone(),
            })
            .collect(),
        total_records: manifest.total_records,
        complete: manifest.complete,
        failed_sources: manifest.failed_sources.clone(),
        archive: ArchiveInfo {
            file_name: file_name.clone(),
            bytes: sealed.bytes,
            sha256: sealed.sha256.clone(),
            encryption: recipients.mode().into(),
            armor,
            recipients: recipients.public_keys(),
        },
        destination: delivered,
    };

    let written = write_companions(config, &out_dir, &receipt, &manifest, &templates)?;
    ledger.record_export(&receipt, &hasher, &resolution.identifiers)?;
    tracing::info!(
        "request {} recorded in the ledger {}",
        receipt.request.id,
        ledger.describe()
    );
    Ok(Exported {
        receipt,
        generated_passphrase,
        written,
    })
}

/// Writes the archive into `upload` through `body`, then commits it; any failure aborts the
/// upload, so nothing half-written is ever visible at the destination.
fn deliver<T>(
    mut upload: Box<dyn Upload>,
    body: impl FnOnce(&mut dyn Upload) -> Result<(Sealed, T)>,
) -> Result<(crate::destination::Delivered, Sealed, T)> {
    match body(upload.as_mut()) {
        Ok((sealed, extra)) => Ok((upload.commit(&sealed)?, sealed, extra)),
        Err(e) => {
            upload.abort();
            Err(e)
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn write_payload<W: Write>(
    bag: &mut BagWriter<W>,
    config: &Config,
    collector: &mut SpillCollector<'_>,
    resolution: &Resolution,
    request: &RequestInfo,
    templates: &Templates,
    key: &SpillKey,
    rows_per_file: u64,
) -> Result<Manifest> {
    let mut reports = Vec::with_capacity(config.sources.len());
    let mut resources: Vec<(Resource, Columns)> = Vec::new();
    for (i, cfg) in config.sources.iter().enumerate() {
        crate::interrupt::check()?;
        let failure = resolution.failed.iter().find(|f| f.source == cfg.name);
        let mut report = SourceReport::new(cfg, resolution.counts[i], failure);
        if let Some(spill) = collector.spills[i].as_mut() {
            let columns = spill.columns()?.clone();
            let path = format!("records/{}.json", cfg.name);
            let entry = bag.add_payload_threaded(&path, |w| spill.write_json_array(key, w))?;
            report.files.push(file_report(&entry, "json"));

            let total = spill.count();
            let parts = total.div_ceil(rows_per_file).max(1);
            let mut records = spill.read(key)?;
            for part in 1..=parts {
                let path = if parts == 1 {
                    format!("records/{}.csv", cfg.name)
                } else {
                    format!("records/{}.part-{part:04}.csv", cfg.name)
                };
                let records = &mut records;
                let columns = &columns;
                let entry = bag.add_payload_threaded(&path, move |w| {
                    let mut csv = CsvTableWriter::new(w, columns)?;
                    for record in records.by_ref().take(rows_per_file as usize) {
                        csv.write(&record?, columns)?;
                    }
                    csv.finish()?;
                    Ok(())
                })?;
                report.files.push(file_report(&entry, "csv"));
                let name = if parts == 1 {
                    cfg.name.clone()
                } else {
                    format!("{}-part-{part:04}", cfg.name)
                };
                resources.push((
                    Resource {
                        name,
                        path: entry.path.clone(),
                        source: cfg.name.clone(),
                        sha256: entry.sha256.clone(),
                        bytes: entry.bytes,
                    },
                    columns.clone(),
                ));
            }
        }
        let mut used: HashSet<String> = HashSet::new();
        for attachment in &collector.files[i] {
            let name = unique_name(&mut used, &attachment.name);
            let path = format!("attachments/{}/{name}", cfg.name);
            let entry = bag.add_payload(&path, |w| {
                let mut file = File::open(&attachment.path).map_err(|e| {
                    Error::source(
                        &cfg.name,
                        format!("cannot read attachment {}: {e}", attachment.name),
                    )
                })?;
                io::copy(&mut file, w).map_err(|e| {
                    Error::source(
                        &cfg.name,
                        format!("cannot read attachment {}: {e}", attachment.name),
                    )
                })?;
                Ok(())
            })?;
            report.files.push(file_report(&entry, "attachment"));
        }
        reports.push(report);
    }

    let total_records = reports.iter().map(|r| r.record_count).sum();
    let manifest = Manifest {
        manifest_version: MANIFEST_VERSION,
        tool: Tool::default(),
        request: request.clone(),
        controller: config.controller.clone(),
        identifiers: IdentifierEntry::list(&resolution.identifiers),
        rounds: resolution.rounds,
        complete: resolution.failed.is_empty(),
        failed_sources: resolution.failed.clone(),
        sources: reports,
        total_records,
    };
    let manifest_json = serde_json::to_vec_pretty(&manifest).expect("manifest serialises");
    bag.add_payload("manifest.json", |w| Ok(w.write_all(&manifest_json)?))?;

    let package = datapackage::document(&request.id, &request.generated_at, &resources);
    let package_json = serde_json::to_vec_pretty(&package).expect("package serialises");
    bag.add_payload("datapackage.json", |w| Ok(w.write_all(&package_json)?))?;

    let index = templates.render("index.html", &manifest)?;
    bag.add_payload("index.html", |w| Ok(w.write_all(index.as_bytes())?))?;
    let readme = templates.render("README.txt", &manifest)?;
    bag.add_payload("README.txt", |w| Ok(w.write_all(readme.as_bytes())?))?;
    Ok(manifest)
}

fn file_report(entry: &crate::archive::FileEntry, kind: &str) -> FileReport {
    FileReport {
        path: entry.path.clone(),
        bytes: entry.bytes,
        sha256: entry.sha256.clone(),
        kind: kind.into(),
    }
}

/// A safe, unique path for an attachment (each `/`-separated part made safe).
fn unique_name(used: &mut HashSet<String>, name: &str) -> String {
    let safe: Vec<String> = name
        .split('/')
        .filter(|p| !p.is_empty() && *p != "." && *p != "..")
        .map(safe_file_name)
        .collect();
    let base = if safe.is_empty() {
        "file".to_string()
    } else {
        safe.join("/")
    };
    if used.insert(base.clone()) {
        return base;
    }
    let (stem, ext) = match base.rfind('.') {
        Some(i) if i > base.rfind('/').map_or(0, |s| s + 1) => (&base[..i], &base[i..]),
        _ => (base.as_str(), ""),
    };
    (2..)
        .map(|n| format!("{stem} ({n}){ext}"))
        .find(|candidate| used.insert(candidate.clone()))
        .expect("an unused name exists")
}

/// Writes receipt.json, notice.txt and notice.html beside the archive.
fn write_companions(
    config: &Config,
    out_dir: &std::path::Path,
    receipt: &Receipt,
    manifest: &Manifest,
    templates: &Templates,
) -> Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    let receipt_json =
        serde_json::to_vec_pretty(&receipt.without_values()).expect("receipt serialises");
    let open_page = crate::receive::open_page::write_beside(out_dir)?;
    let notice_source = |s: &SourceReport| NoticeSource {
        name: s.name.clone(),
        kind: s.kind.clone(),
        category: s.category.clone(),
        record_count: s.record_count,
        status: s.status.clone(),
    };
    let notice = NoticeContext {
        tool: Tool::default(),
        request: receipt.request.clone(),
        controller: config.controller.clone(),
        sources: manifest.sources.iter().map(notice_source).collect(),
        failed_sources: manifest
            .sources
            .iter()
            .filter(|s| s.status == "failed")
            .map(notice_source)
            .collect(),
        total_records: manifest.total_records,
        archive: receipt.archive.clone(),
        link: receipt.destination.link.clone(),
        open_page: open_page
            .as_ref()
            .and_then(|p| p.file_name())
            .map(|n| n.to_string_lossy().to_string()),
        open_page_link: receipt.destination.open_page_link.clone(),
    };
    if let Some(p) = open_page {
        written.push(p);
    }
    for (name, bytes) in [
        (RECEIPT_FILE, receipt_json),
        (
            NOTICE_FILE,
            templates.render("notice.txt", &notice)?.into_bytes(),
        ),
        (
            NOTICE_HTML_FILE,
            templates.render("notice.html", &notice)?.into_bytes(),
        ),
    ] {
        written.push(destination::local::write_atomic(out_dir, name, &bytes)?);
    }
    Ok(written)
}
