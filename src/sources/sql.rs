//! Placeholder until the sql source lands (being written in parallel).

use super::{BuildContext, Found, Query, Source};
use crate::config::SourceConfig;
use crate::error::{Error, Result};

/// Placeholder.
pub struct SqlSource {
    cfg: SourceConfig,
}

impl SqlSource {
    /// Placeholder.
    pub fn new(cfg: SourceConfig, _ctx: &BuildContext) -> Result<Self> {
        Err(Error::Config(format!(
            "source '{}': type {} is being built",
            cfg.name,
            cfg.kind.as_str()
        )))
    }
}

impl Source for SqlSource {
    fn config(&self) -> &SourceConfig {
        &self.cfg
    }
    fn check(&mut self) -> Result<String> {
        Ok(String::new())
    }
    fn scan(&mut self, _q: &Query<'_>, _emit: &mut dyn FnMut(Found) -> Result<()>) -> Result<()> {
        Ok(())
    }
}

/// Named `:kind` parameters in a query.
pub fn named_parameters(query: &str) -> Vec<String> {
    let _ = query;
    Vec::new()
}
