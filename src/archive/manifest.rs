//! `manifest.json`: the machine-readable account of one export, and the context the
//! templates render (index.html, README.txt, notice).

use serde::{Deserialize, Serialize};

use crate::config::{Controller, SourceConfig};
use crate::graph::Failure;
use crate::subject::{IdentifierSet, Provenance};

/// Version of the manifest format.
pub const MANIFEST_VERSION: u32 = 1;

/// Tool name and version.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Tool {
    /// "dsar".
    pub name: String,
    /// Crate version.
    pub version: String,
}

impl Default for Tool {
    fn default() -> Self {
        Tool {
            name: "dsar".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        }
    }
}

/// The request.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RequestInfo {
    /// Request id.
    pub id: String,
    /// When the archive was made (RFC 3339 UTC).
    pub generated_at: String,
    /// When the request was received (YYYY-MM-DD).
    pub received_date: String,
    /// When the answer is due (YYYY-MM-DD).
    pub due_date: String,
}

/// One identifier used, with where it came from.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IdentifierEntry {
    /// Kind (email, phone…).
    pub kind: String,
    /// Normalised value.
    pub value: String,
    /// "given" or "derived".
    pub origin: String,
    /// Source that provided it.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub source: Option<String>,
    /// Field it came from.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub field: Option<String>,
    /// Index of the record in `records/<source>.json`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub record: Option<u64>,
    /// Identity-graph round.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub round: Option<usize>,
}

impl IdentifierEntry {
    /// All identifiers of a set.
    pub fn list(ids: &IdentifierSet) -> Vec<IdentifierEntry> {
        ids.iter()
            .map(|(kind, value, provenance)| match provenance {
                Provenance::Given => IdentifierEntry {
                    kind: kind.to_string(),
                    value: value.to_string(),
                    origin: "given".into(),
                    source: None,
                    field: None,
                    record: None,
                    round: None,
                },
                Provenance::Derived {
                    source,
                    field,
                    record,
                    round,
                } => IdentifierEntry {
                    kind: kind.to_string(),
                    value: value.to_string(),
                    origin: "derived".into(),
                    source: Some(source.clone()),
                    field: Some(field.clone()),
                    record: Some(*record),
                    round: Some(*round),
                },
            })
            .collect()
    }
}

/// One file of a source inside the bag's `data/` folder.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FileReport {
    /// Path relative to `data/`.
    pub path: String,
    /// Size in bytes.
    pub bytes: u64,
    /// Hex SHA-256.
    pub sha256: String,
    /// "json", "csv" or "attachment".
    pub kind: String,
}

/// One source: the Art. 15 information, the count and the files.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SourceReport {
    /// Source name.
    pub name: String,
    /// Source type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Category of data.
    pub category: Option<String>,
    /// Purpose of processing.
    pub purpose: Option<String>,
    /// Legal basis.
    pub legal_basis: Option<String>,
    /// Retention.
    pub retention: Option<String>,
    /// Recipients.
    pub recipients: Vec<String>,
    /// Origin of the data.
    pub origin: Option<String>,
    /// Third-country transfers and safeguards.
    pub transfers: Option<String>,
    /// Automated decision-making.
    pub automated_decisions: Option<String>,
    /// Records (or files) found.
    pub record_count: u64,
    /// "ok" or "failed".
    pub status: String,
    /// Why it failed.
    pub error: Option<String>,
    /// Files in the bag.
    pub files: Vec<FileReport>,
}

impl SourceReport {
    /// The report of a source before its files are written.
    pub fn new(cfg: &SourceConfig, record_count: u64, failure: Option<&Failure>) -> Self {
        SourceReport {
            name: cfg.name.clone(),
            kind: cfg.kind.as_str().into(),
            category: cfg.category.clone(),
            purpose: cfg.purpose.clone(),
            legal_basis: cfg.legal_basis.clone(),
            retention: cfg.retention.clone(),
            recipients: cfg.recipients.clone(),
            origin: cfg.origin.clone(),
            transfers: cfg.transfers.clone(),
            automated_decisions: cfg.automated_decisions.clone(),
            record_count,
            status: if failure.is_some() { "failed" } else { "ok" }.into(),
            error: failure.map(|f| f.error.clone()),
            files: Vec::new(),
        }
    }
}

/// `manifest.json`, and the template context of index.html and README.txt.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    /// Format version.
    pub manifest_version: u32,
    /// The tool that wrote it.
    pub tool: Tool,
    /// The request.
    pub request: RequestInfo,
    /// The controller.
    pub controller: Controller,
    /// Identifiers used, given and derived.
    pub identifiers: Vec<IdentifierEntry>,
    /// Identity-graph rounds.
    pub rounds: usize,
    /// False when some sources failed (`--allow-partial`).
    pub complete: bool,
    /// Failed sources.
    pub failed_sources: Vec<Failure>,
    /// Per source.
    pub sources: Vec<SourceReport>,
    /// Sum of record counts.
    pub total_records: u64,
}
