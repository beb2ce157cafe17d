//! Destinations: where the encrypted archive goes.
//!
//! A destination opens an [`Upload`], a `Write` that receives ciphertext as the zip and age
//! layers produce it. Nothing is visible at the destination until [`Upload::commit`]; any
//! failure calls [`Upload::abort`], which removes every trace (a temporary file, a multipart
//! upload). Local delivery is the default; S3 delivers behind a presigned link.

use std::io::Write;
use std::path::PathBuf;

use serde::Serialize;

use crate::error::Result;

pub mod local;
pub mod s3;

/// A time-limited download link.
#[derive(Debug, Clone, Serialize)]
pub struct Link {
    /// The URL.
    pub url: String,
    /// When it stops working (RFC 3339 UTC).
    pub expires_at: String,
}

/// Where an archive ended up.
#[derive(Debug, Clone, Serialize)]
pub struct Delivered {
    /// "local" or "s3".
    pub kind: String,
    /// A path, or `s3://bucket/key`.
    pub location: String,
    /// S3 bucket.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bucket: Option<String>,
    /// S3 key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// The download link, for S3.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<Link>,
    /// A link to the offline decryption page, for S3.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub open_page_link: Option<Link>,
}

/// What the upload learns only at the end.
pub struct Sealed {
    /// Hex SHA-256 of the ciphertext.
    pub sha256: String,
    /// Ciphertext bytes.
    pub bytes: u64,
}

/// An archive being written to a destination.
pub trait Upload: Write + Send {
    /// Makes the archive visible at the destination.
    fn commit(self: Box<Self>, sealed: &Sealed) -> Result<Delivered>;
    /// Removes every trace of the archive.
    fn abort(self: Box<Self>);
}

/// A place archives go.
pub trait Destination {
    /// Starts writing `file_name` for `request_id`.
    fn begin(&mut self, request_id: &str, file_name: &str) -> Result<Box<dyn Upload>>;
    /// The folder for receipt.json and notice.txt.
    fn out_dir(&self) -> PathBuf;
}

/// Opens the configured destination; `out` is the local folder for the archive (local
/// delivery) and for the receipt and notice (always).
pub fn open(config: &crate::config::Config, out: &std::path::Path) -> Result<Box<dyn Destination>> {
    match &config.destination {
        Some(d) if d.kind == "s3" => Ok(Box::new(s3::S3Destination::new(d, out)?)),
        _ => Ok(Box::new(local::LocalDestination::new(out)?)),
    }
}
