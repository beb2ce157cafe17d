//! Placeholder until the offline decryption page lands (being written in parallel).

use std::path::{Path, PathBuf};

use crate::error::Result;

/// Placeholder: writes nothing yet.
pub fn write_beside(_out_dir: &Path) -> Result<Option<PathBuf>> {
    Ok(None)
}
