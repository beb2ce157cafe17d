//! Placeholder until S3 delivery lands (being written in parallel).

use std::path::Path;

use super::{Destination, Upload};
use crate::config::DestinationConfig;
use crate::error::{Error, Result};

/// Placeholder.
pub struct S3Destination;

impl S3Destination {
    /// Placeholder.
    pub fn new(_cfg: &DestinationConfig, _out: &Path) -> Result<Self> {
        Err(Error::Config("s3 destination is being built".into()))
    }
}

impl Destination for S3Destination {
    fn begin(&mut self, _request_id: &str, _file_name: &str) -> Result<Box<dyn Upload>> {
        Err(Error::Config("s3 destination is being built".into()))
    }
    fn out_dir(&self) -> std::path::PathBuf {
        std::path::PathBuf::new()
    }
}

/// Placeholder for `dsar link`.
pub fn cmd_link(
    _config: &crate::config::Config,
    _cmd: &crate::cli::LinkCmd,
    _out: &crate::commands::Output,
) -> Result<()> {
    Err(Error::Config("link is being built".into()))
}

/// Placeholder for `dsar revoke`.
pub fn cmd_revoke(
    _config: &crate::config::Config,
    _cmd: &crate::cli::RevokeCmd,
    _out: &crate::commands::Output,
) -> Result<()> {
    Err(Error::Config("revoke is being built".into()))
}
