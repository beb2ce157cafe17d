//! `datapackage.json`: a Frictionless Data Package with one tabular resource per CSV file,
//! so a receiving organisation can load the records with typed columns (`dsar import`, or any
//! Frictionless tool).

use serde_json::{json, Value};

use crate::records::Columns;

/// One CSV resource.
pub struct Resource {
    /// Resource name (`^[a-z0-9._-]+$`).
    pub name: String,
    /// Path relative to `data/`.
    pub path: String,
    /// Source the rows came from.
    pub source: String,
    /// SHA-256 of the file.
    pub sha256: String,
    /// Size in bytes.
    pub bytes: u64,
}

/// Builds the package document.
pub fn document(request_id: &str, created: &str, resources: &[(Resource, Columns)]) -> Value {
    let name: String = request_id
        .to_ascii_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-._".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    let resources: Vec<Value> = resources
        .iter()
        .map(|(r, columns)| {
            let fields: Vec<Value> = columns
                .iter()
                .map(|(name, t)| json!({ "name": name, "type": t.frictionless() }))
                .collect();
            json!({
                "name": r.name,
                "path": r.path,
                "profile": "tabular-data-resource",
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8",
                "bytes": r.bytes,
                "hash": format!("sha256:{}", r.sha256),
                "dsar:source": r.source,
                "dialect": { "delimiter": ",", "lineTerminator": "\r\n", "header": true },
                "schema": { "fields": fields },
            })
        })
        .collect();
    json!({
        "profile": "data-package",
        "name": name,
        "title": format!("Personal data export {request_id}"),
        "description": "Records held about one person, one resource per source. Text cells that start with =, +, -, @, a tab, CR or ' carry one extra leading ' so spreadsheets do not run them as formulas; strip one leading ' to get the exact value, or read the JSON files beside each CSV.",
        "created": created,
        "resources": resources,
    })
}
