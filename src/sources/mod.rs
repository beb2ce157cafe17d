//! Sources: where a person's records live.
//!
//! Every source type sits behind one trait, [`Source`]. A source is built from its validated
//! [`SourceConfig`], can check itself (`dsar sources check`), and answers a [`Query`]: "stream
//! me the records that match these *new* identifiers". The identity graph (`graph.rs`) asks
//! each source again only about identifiers that appeared after its previous visit, and
//! applies the exact matcher to every record a source emits — sources may pre-filter (a SQL
//! `WHERE`, a byte-level scan) but must never drop a record the matcher would keep.

use std::path::{Path, PathBuf};

use crate::config::{SourceConfig, SourceType};
use crate::error::{Error, Result};
use crate::records::{Matcher, Record};
use crate::subject::{IdentifierSet, Kind, Normalizer};

pub mod access_log;
pub mod files;
pub mod http;
pub mod sql;
pub mod tabular;

/// What a source is asked on one visit.
pub struct Query<'a> {
    /// Identifiers of the source's kinds that it has not been asked about yet.
    pub new: &'a IdentifierSet,
    /// Identifiers it was asked about on earlier visits (records matching these were found).
    pub old: &'a IdentifierSet,
    /// The exact matcher built from the source's `match` table.
    pub matcher: &'a Matcher,
}

/// A file found by a `files` source, copied into `attachments/<source>/` in the archive.
#[derive(Debug, Clone)]
pub struct Attachment {
    /// Path inside `attachments/<source>/`, already made safe (`/`-separated).
    pub name: String,
    /// The file on disk.
    pub path: PathBuf,
    /// The identifier kind and value that found it.
    pub found_by: (Kind, String),
}

/// One thing a source found.
pub enum Found {
    /// A record.
    Record(Record),
    /// A file to copy into the archive.
    File(Attachment),
}

/// A source of records.
pub trait Source: Send {
    /// The source's configuration.
    fn config(&self) -> &SourceConfig;

    /// The identifier kinds this source can be asked about.
    fn kinds(&self) -> Vec<Kind> {
        default_kinds(self.config())
    }

    /// Health check for `dsar sources check`: opens the source and confirms that every path,
    /// table and column named in the config exists. Returns a one-line description.
    fn check(&mut self) -> Result<String>;

    /// Streams what matches `query.new` into `emit`.
    fn scan(&mut self, query: &Query<'_>, emit: &mut dyn FnMut(Found) -> Result<()>) -> Result<()>;
}

/// What building a source needs besides its config.
#[derive(Clone)]
pub struct BuildContext {
    /// Directory that relative paths are resolved against.
    pub base_dir: PathBuf,
    /// Identifier normaliser.
    pub normalizer: Normalizer,
}

/// Builds the live source for a configuration entry.
pub fn build(cfg: &SourceConfig, ctx: &BuildContext) -> Result<Box<dyn Source>> {
    Ok(match cfg.kind {
        SourceType::Csv | SourceType::Json | SourceType::Ndjson => {
            Box::new(tabular::TabularSource::new(cfg.clone(), ctx)?)
        }
        SourceType::Sqlite | SourceType::Postgres | SourceType::Mysql => {
            Box::new(sql::SqlSource::new(cfg.clone(), ctx)?)
        }
        SourceType::Http => Box::new(http::HttpSource::new(cfg.clone(), ctx)?),
        SourceType::AccessLog => Box::new(access_log::AccessLogSource::new(cfg.clone(), ctx)?),
        SourceType::Files => Box::new(files::FilesSource::new(cfg.clone(), ctx)?),
    })
}

/// The matcher for a source's `match` table.
pub fn matcher(cfg: &SourceConfig, normalizer: &Normalizer) -> Matcher {
    let fields = cfg
        .match_fields
        .iter()
        .map(|(k, f)| (Kind::parse(k).expect("validated by config"), f.clone()))
        .collect();
    Matcher::new(fields, normalizer.clone())
}

/// Kinds from `match` plus `{kind}` placeholders in path/URL templates and `:kind` query
/// parameters.
pub fn default_kinds(cfg: &SourceConfig) -> Vec<Kind> {
    let mut names: Vec<String> = cfg.match_fields.keys().cloned().collect();
    if matches!(cfg.kind, SourceType::Http | SourceType::Files) {
        for t in [cfg.path.as_deref(), cfg.url.as_deref()]
            .into_iter()
            .flatten()
        {
            names.extend(crate::config::placeholders(t));
        }
    }
    if let Some(q) = &cfg.query {
        names.extend(sql::named_parameters(q));
    }
    let mut kinds: Vec<Kind> = names.iter().filter_map(|n| Kind::parse(n).ok()).collect();
    kinds.sort();
    kinds.dedup();
    kinds
}

/// Expands a (possibly globbed) path relative to `base`, sorted; errors name the source.
pub fn expand_paths(name: &str, base: &Path, pattern: &str) -> Result<Vec<PathBuf>> {
    let full = base.join(pattern);
    let text = full.to_string_lossy().to_string();
    if !text.contains(['*', '?', '[']) {
        return Ok(vec![full]);
    }
    let mut paths: Vec<PathBuf> = glob::glob(&text)
        .map_err(|e| Error::source(name, format!("path '{pattern}' is not a valid glob: {e}")))?
        .filter_map(|p| p.ok())
        .filter(|p| p.is_file())
        .collect();
    paths.sort();
    if paths.is_empty() {
        return Err(Error::source(
            name,
            format!(
                "path '{pattern}' matches no file (looked in {})",
                base.display()
            ),
        ));
    }
    Ok(paths)
}

/// A path shown in messages: relative to the config directory when possible.
pub fn shown(base: &Path, path: &Path) -> String {
    path.strip_prefix(base)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// Opens a source file for reading, decompressing `.gz` files (several gzip members, as
/// `logrotate` writes them, are read as one stream). Errors name the source and the file.
pub fn open_file(name: &str, base: &Path, path: &Path) -> Result<Box<dyn std::io::Read + Send>> {
    use std::io::BufReader;
    let file = std::fs::File::open(path)
        .map_err(|e| Error::source(name, format!("cannot open {}: {e}", shown(base, path))))?;
    Ok(if path.extension().is_some_and(|e| e == "gz") {
        Box::new(flate2::read::MultiGzDecoder::new(BufReader::with_capacity(
            256 * 1024,
            file,
        )))
    } else {
        Box::new(file)
    })
}
