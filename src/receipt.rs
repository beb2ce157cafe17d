//! The receipt (for the operator's records) and the notice context (for the person).
//!
//! Both are written in clear next to the archive, so neither holds identifier values or
//! record contents: identifiers appear as keyed hashes, sources as counts. Only the receipt
//! printed on stdout carries the identifier values, for the operator running the command.

use serde::Serialize;

use crate::archive::manifest::{RequestInfo, Tool};
use crate::config::Controller;
use crate::destination::{Delivered, Link};
use crate::graph::Failure;

/// One identifier in a receipt.
#[derive(Debug, Clone, Serialize)]
pub struct ReceiptIdentifier {
    /// Kind.
    pub kind: String,
    /// "given" or "derived".
    pub origin: String,
    /// Keyed hash (`hmac-sha256:…`).
    pub hash: String,
    /// The value itself — stdout only, never in files.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// Per-source summary.
#[derive(Debug, Clone, Serialize)]
pub struct ReceiptSource {
    /// Source name.
    pub name: String,
    /// Category.
    pub category: Option<String>,
    /// Records found.
    pub record_count: u64,
    /// "ok" or "failed".
    pub status: String,
}

/// The archive as delivered.
#[derive(Debug, Clone, Serialize)]
pub struct ArchiveInfo {
    /// File name (`<request-id>.zip.age`).
    pub file_name: String,
    /// Size of the ciphertext.
    pub bytes: u64,
    /// SHA-256 of the ciphertext.
    pub sha256: String,
    /// "recipients" or "passphrase".
    pub encryption: String,
    /// ASCII armor.
    pub armor: bool,
    /// Public keys it is encrypted to (empty for a passphrase).
    pub recipients: Vec<String>,
}

/// The receipt of one export.
#[derive(Debug, Clone, Serialize)]
pub struct Receipt {
    /// The tool.
    pub tool: Tool,
    /// Request id and dates.
    pub request: RequestInfo,
    /// Identifiers used (hashes; values on stdout only).
    pub identifiers: Vec<ReceiptIdentifier>,
    /// Per-source counts.
    pub sources: Vec<ReceiptSource>,
    /// Sum of the counts.
    pub total_records: u64,
    /// False when some sources failed.
    pub complete: bool,
    /// Failed sources and why.
    pub failed_sources: Vec<Failure>,
    /// The archive.
    pub archive: ArchiveInfo,
    /// Where it went, with the link for S3.
    pub destination: Delivered,
}

impl Receipt {
    /// The same receipt without identifier values, for files.
    pub fn without_values(&self) -> Receipt {
        let mut r = self.clone();
        for id in &mut r.identifiers {
            id.value = None;
        }
        r
    }
}

/// A source as the notice shows it: category and count only.
#[derive(Debug, Clone, Serialize)]
pub struct NoticeSource {
    /// Source name.
    pub name: String,
    /// Source type (`files` sources count files, not records).
    #[serde(rename = "type")]
    pub kind: String,
    /// Category.
    pub category: Option<String>,
    /// Records found.
    pub record_count: u64,
    /// "ok" or "failed".
    pub status: String,
}

/// Context of notice.txt / notice.html.
#[derive(Debug, Clone, Serialize)]
pub struct NoticeContext {
    /// The tool.
    pub tool: Tool,
    /// Request id and dates.
    pub request: RequestInfo,
    /// The controller.
    pub controller: Controller,
    /// Sources with counts.
    pub sources: Vec<NoticeSource>,
    /// Failed sources (names only in the notice).
    pub failed_sources: Vec<NoticeSource>,
    /// Total records.
    pub total_records: u64,
    /// The archive.
    pub archive: ArchiveInfo,
    /// The download link, if any.
    pub link: Option<Link>,
    /// The offline decryption page beside the archive, if shipped.
    pub open_page: Option<String>,
    /// Its link, when the archive was uploaded.
    pub open_page_link: Option<Link>,
}
