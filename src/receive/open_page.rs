//! `open-archive.html`: the offline page that lets a person decrypt their archive in a web
//! browser, with nothing to install. Most people who ask for their data cannot run a
//! command-line tool, so every export ships this page beside the `.zip.age` (in the local
//! `--out` folder, and as a second S3 object with its own link).
//!
//! The page is built by `tools/open-page/build.sh` from `tools/open-page/src/` and the pinned
//! `age-encryption` npm package, bundled inline into one self-contained file that is
//! committed as `templates/open-archive.html` and compiled in here; `build.sh --check`
//! proves the committed file is what the build makes. It holds no request data at all (the
//! same bytes for every export), and its Content-Security-Policy forbids every network
//! connection, so the file and the passphrase never leave the person's device.

use std::path::{Path, PathBuf};

use crate::destination::local::write_atomic;
use crate::error::Result;

/// The page's file name beside the archive.
pub const FILE_NAME: &str = "open-archive.html";

const PAGE: &str = include_str!("../../templates/open-archive.html");

/// The page, byte for byte as committed under `templates/`.
pub fn html() -> &'static str {
    PAGE
}

/// Writes `open-archive.html` into `out_dir` (atomically: a reader never sees a half-written
/// page) and returns its path; a folder that already holds this exact page (an earlier
/// export into the same folder) is left as it is. Always `Some` today: the `Option` lets the
/// export pipeline treat a build without a page the same way.
pub fn write_beside(out_dir: &Path) -> Result<Option<PathBuf>> {
    let target = out_dir.join(FILE_NAME);
    if std::fs::read(&target).is_ok_and(|existing| existing == PAGE.as_bytes()) {
        return Ok(Some(target));
    }
    write_atomic(out_dir, FILE_NAME, PAGE.as_bytes()).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_is_self_contained_and_offline() {
        let page = html();
        assert!(page.starts_with("<!DOCTYPE html>"));
        assert!(page.contains("Content-Security-Policy"));
        assert!(page.contains("default-src 'none'"));
        assert!(page.contains("connect-src 'none'"));
        // Inline only: no external script or style, and one closing script tag.
        assert!(!page.contains("<script src"));
        assert!(!page.contains("<link"));
        assert_eq!(page.matches("</script>").count(), 1);
    }

    #[test]
    fn write_beside_writes_the_page() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = write_beside(dir.path()).expect("written").expect("a path");
        assert_eq!(path, dir.path().join(FILE_NAME));
        assert_eq!(std::fs::read_to_string(&path).expect("read"), html());
        // A second export into the same folder keeps one page and leaves no temp files.
        write_beside(dir.path()).expect("again");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .expect("list")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from(FILE_NAME)]);
    }
}
