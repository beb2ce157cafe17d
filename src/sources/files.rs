//! `files` sources: folders of attachments (support-ticket attachments, CVs) found by a path
//! template such as `attachments/{ticket_id}/*`.
//!
//! The identifier value is substituted into the template and the result globbed. Values come
//! from records, so they are hostile until proven otherwise: a value that is empty, `.`/`..`
//! or holds a path separator or NUL is never used, and it is glob-escaped so `*` in a value is
//! just a character. Every hit must be a regular file (not a symlink) whose canonical path
//! lies under the template's root (the folder before the first placeholder); anything else
//! stops the source with an error. The pipeline copies the files into
//! `attachments/<source>/` and lists them with their SHA-256 in `manifest.json`.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use super::{BuildContext, Found, Query, Source};
use crate::config::SourceConfig;
use crate::error::{Error, Result};
use crate::sources::Attachment;
use crate::subject::Kind;

/// Attachment folders addressed by an identifier placeholder.
pub struct FilesSource {
    cfg: SourceConfig,
    base: PathBuf,
    kind: Kind,
    template: String,
    /// Files already emitted, so two identifiers finding one file copy it once.
    emitted: HashSet<PathBuf>,
}

impl FilesSource {
    /// Builds the source from its `path` template (one `{kind}` placeholder).
    pub fn new(cfg: SourceConfig, ctx: &BuildContext) -> Result<Self> {
        let template = cfg.path.clone().expect("validated: files needs path");
        let names = crate::config::placeholders(&template);
        let [name] = names.as_slice() else {
            return Err(Error::Config(format!(
                "source '{}': path needs exactly one identifier placeholder, e.g. \"attachments/{{ticket_id}}/*\"",
                cfg.name
            )));
        };
        let kind = Kind::parse(name)
            .map_err(|e| Error::Config(format!("source '{}': path placeholder {e}", cfg.name)))?;
        Ok(FilesSource {
            base: ctx.base_dir.clone(),
            kind,
            template,
            emitted: HashSet::new(),
            cfg,
        })
    }

    fn placeholder(&self) -> String {
        format!("{{{}}}", self.kind.as_str())
    }

    /// The template's fixed folder (before the first placeholder), relative to the config.
    fn root_rel(&self) -> &str {
        let before = &self.template[..self.template.find('{').unwrap_or(0)];
        match before.rfind('/') {
            Some(i) => &before[..=i],
            None => "",
        }
    }

    fn root(&self) -> Result<PathBuf> {
        let rel = self.root_rel();
        let dir = self.base.join(rel);
        let shown = if rel.is_empty() { "." } else { rel };
        let canonical = dir.canonicalize().map_err(|e| {
            Error::source(
                &self.cfg.name,
                format!("cannot open the attachment folder {shown}: {e}; check 'path'"),
            )
        })?;
        if !canonical.is_dir() {
            return Err(Error::source(
                &self.cfg.name,
                format!("{shown} is not a folder; check 'path'"),
            ));
        }
        Ok(canonical)
    }

    /// A path for messages, with the identifier value replaced by its placeholder.
    fn shown(&self, root: &Path, path: &Path, value: &str) -> String {
        let rel = path.strip_prefix(root).unwrap_or(path);
        let text = format!("{}{}", self.root_rel(), rel.display());
        text.replace(value, &self.placeholder())
    }
}

/// True when an identifier value may be used as (part of) a path component.
fn usable(value: &str) -> bool {
    !(value.is_empty() || value == "." || value == ".." || value.contains(['/', '\\', '\0']))
}

impl Source for FilesSource {
    fn config(&self) -> &SourceConfig {
        &self.cfg
    }

    fn check(&mut self) -> Result<String> {
        let root = self.root()?;
        let entries = std::fs::read_dir(&root).map_err(|e| {
            Error::source(
                &self.cfg.name,
                format!("cannot list the attachment folder {}: {e}", self.root_rel()),
            )
        })?;
        let count = entries.count();
        Ok(format!(
            "attachment folder {} is readable ({count} entries)",
            if self.root_rel().is_empty() {
                "."
            } else {
                self.root_rel()
            }
        ))
    }

    fn scan(&mut self, query: &Query<'_>, emit: &mut dyn FnMut(Found) -> Result<()>) -> Result<()> {
        let values: Vec<String> = query.new.values(&self.kind).map(str::to_string).collect();
        if values.is_empty() {
            return Ok(());
        }
        let root = self.root()?;
        let placeholder = self.placeholder();
        // The fixed part of the path is escaped too: a folder named `[1]` is not a pattern.
        let base = glob::Pattern::escape(&root.to_string_lossy());
        let rest = &self.template[self.root_rel().len()..];
        for value in values {
            if !usable(&value) {
                tracing::warn!(
                    source = %self.cfg.name,
                    "skipped a {} value that cannot name a folder (empty, '.', '..', or holding a path separator)",
                    self.kind
                );
                continue;
            }
            let pattern = format!(
                "{base}/{}",
                rest.replace(&placeholder, &glob::Pattern::escape(&value))
            );
            let hits = glob::glob(&pattern).map_err(|e| {
                Error::source(
                    &self.cfg.name,
                    format!("path is not a valid glob: {}", e.msg),
                )
            })?;
            let mut found: Vec<PathBuf> = Vec::new();
            for hit in hits {
                let path = hit.map_err(|e| {
                    Error::source(
                        &self.cfg.name,
                        format!(
                            "cannot read {}: {}",
                            self.shown(&root, e.path(), &value),
                            e.error()
                        ),
                    )
                })?;
                let meta = std::fs::symlink_metadata(&path).map_err(|e| {
                    Error::source(
                        &self.cfg.name,
                        format!("cannot read {}: {e}", self.shown(&root, &path, &value)),
                    )
                })?;
                if meta.file_type().is_symlink() {
                    return Err(Error::source(
                        &self.cfg.name,
                        format!(
                            "{} is a symbolic link; refusing to follow it (replace it by the file itself)",
                            self.shown(&root, &path, &value)
                        ),
                    ));
                }
                if !meta.is_file() {
                    continue;
                }
                let canonical = path.canonicalize().map_err(|e| {
                    Error::source(
                        &self.cfg.name,
                        format!("cannot resolve {}: {e}", self.shown(&root, &path, &value)),
                    )
                })?;
                if !canonical.starts_with(&root) {
                    return Err(Error::source(
                        &self.cfg.name,
                        format!(
                            "{} resolves outside the attachment folder {} (through a linked folder); refusing to read it",
                            self.shown(&root, &path, &value),
                            self.root_rel()
                        ),
                    ));
                }
                found.push(canonical);
            }
            found.sort();
            for canonical in found {
                if !self.emitted.insert(canonical.clone()) {
                    continue;
                }
                let name = canonical
                    .strip_prefix(&root)
                    .expect("checked above")
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join("/");
                emit(Found::File(Attachment {
                    name,
                    path: canonical,
                    found_by: (self.kind.clone(), value.clone()),
                }))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_values_are_not_used() {
        for v in ["", ".", "..", "../etc", "a/b", "a\\b", "a\0b"] {
            assert!(!usable(v), "{v:?}");
        }
        for v in ["T-2024-0113", "*", "[x]", "..a", "a b"] {
            assert!(usable(v), "{v:?}");
        }
    }
}
