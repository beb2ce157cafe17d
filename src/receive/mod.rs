//! The receiving side: verify, open and import an archive (SPEC 5).

pub mod open_page;

use crate::cli::{ImportCmd, OpenCmd, VerifyCmd};
use crate::commands::Output;
use crate::error::{Error, Result};

/// Placeholder for `dsar verify`.
pub fn cmd_verify(_cmd: &VerifyCmd, _out: &Output) -> Result<()> {
    Err(Error::Config("verify is being built".into()))
}

/// Placeholder for `dsar open`.
pub fn cmd_open(_cmd: &OpenCmd, _out: &Output) -> Result<()> {
    Err(Error::Config("open is being built".into()))
}

/// Placeholder for `dsar import`.
pub fn cmd_import(_cmd: &ImportCmd, _out: &Output) -> Result<()> {
    Err(Error::Config("import is being built".into()))
}
