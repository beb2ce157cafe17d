//! Placeholder until the request ledger lands (being written in parallel).

use crate::config::Config;
use crate::error::Result;
use crate::keyed::IdentifierHasher;
use crate::receipt::Receipt;
use crate::subject::IdentifierSet;

/// Placeholder: records nothing yet.
pub fn record_export(
    _config: &Config,
    _receipt: &Receipt,
    _hasher: &IdentifierHasher,
    _ids: &IdentifierSet,
) -> Result<()> {
    Ok(())
}

/// Placeholder for `dsar requests list`.
pub fn cmd_list(_config: &Config, _overdue: bool, _out: &crate::commands::Output) -> Result<()> {
    Err(crate::error::Error::Config(
        "requests list is being built".into(),
    ))
}

/// Placeholder for `dsar requests show`.
pub fn cmd_show(_config: &Config, _id: &str, _out: &crate::commands::Output) -> Result<()> {
    Err(crate::error::Error::Config(
        "requests show is being built".into(),
    ))
}
