//! Placeholder until the files source lands (being written in parallel).

use super::{BuildContext, Found, Query, Source};
use crate::config::SourceConfig;
use crate::error::{Error, Result};

/// Placeholder.
pub struct FilesSource {
    cfg: SourceConfig,
}

impl FilesSource {
    /// Placeholder.
    pub fn new(cfg: SourceConfig, _ctx: &BuildContext) -> Result<Self> {
        Err(Error::Config(format!(
            "source '{}': type {} is being built",
            cfg.name,
            cfg.kind.as_str()
        )))
    }
}

impl Source for FilesSource {
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
