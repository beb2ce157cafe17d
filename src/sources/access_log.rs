//! Placeholder until the access_log source lands (being written in parallel).

use super::{BuildContext, Found, Query, Source};
use crate::config::SourceConfig;
use crate::error::{Error, Result};

/// Placeholder.
pub struct AccessLogSource {
    cfg: SourceConfig,
}

impl AccessLogSource {
    /// Placeholder.
    pub fn new(cfg: SourceConfig, _ctx: &BuildContext) -> Result<Self> {
        Err(Error::Config(format!(
            "source '{}': type {} is being built",
            cfg.name,
            cfg.kind.as_str()
        )))
    }
}

impl Source for AccessLogSource {
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
