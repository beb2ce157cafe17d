//! Decrypting an archive for `verify`, `open` and `import`, and extracting it all-or-nothing.
//!
//! The age stream is decrypted in place, never to a plaintext file: the whole stream is read
//! once to authenticate every chunk (a seekable reader would only authenticate the chunks the
//! zip reader happens to visit), then rewound for the zip reader. `open` extracts into a
//! private temporary folder created beside `--out` (same file system, mode 0700), and renames
//! it into place only when every check passed; on any failure the temporary folder is removed,
//! so `--out` ends up absent or unchanged.

use std::fs;
use std::io::{self, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crate::crypto::{self, Identities, SeekablePlaintext};
use crate::error::{Error, Result};

use super::verify::{self, Limits, Report};

/// Decrypts `archive` and authenticates the whole age stream, returning the plaintext
/// rewound to its start. A failed chunk means the ciphertext was modified (exit 3).
pub fn authenticated_plaintext(
    archive: &Path,
    identities: &Identities,
) -> Result<SeekablePlaintext> {
    let mut plain = crypto::decrypt_file_seekable(archive, identities)?;
    io::copy(&mut plain, &mut io::sink()).map_err(|e| {
        Error::Verify(format!(
            "{}: the encrypted archive was modified or damaged after it was made (age authentication failed: {e}); ask the sender for a new copy",
            archive.display()
        ))
    })?;
    plain.seek(SeekFrom::Start(0)).map_err(|e| {
        Error::Verify(format!(
            "{}: cannot rewind the decrypted stream: {e}",
            archive.display()
        ))
    })?;
    Ok(plain)
}

/// `verify`: every check, nothing written.
pub fn verify_archive(archive: &Path, identities: &Identities, limits: &Limits) -> Result<Report> {
    let plain = authenticated_plaintext(archive, identities)?;
    verify::check_zip(plain, limits, None)
}

/// `open`: checks and extracts into `out`. Returns the report and, when it passed, the
/// extracted bag folder (`out/<request-id>`).
pub fn open_archive(
    archive: &Path,
    out: &Path,
    identities: &Identities,
    limits: &Limits,
) -> Result<(Report, Option<PathBuf>)> {
    check_destination(out)?;
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !parent.is_dir() {
        return Err(Error::Usage(format!(
            "{} does not exist; create it first or choose another --out",
            parent.display()
        )));
    }
    let plain = authenticated_plaintext(archive, identities)?;
    let staging = tempfile::Builder::new()
        .prefix(".dsar-open-")
        .tempdir_in(&parent)
        .map_err(|e| Error::io("cannot create a temporary folder in", &parent, e))?;
    #[cfg(unix)]
    {
        // Personal data: only the user who opened the archive may read it.
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(staging.path(), fs::Permissions::from_mode(0o700))
            .map_err(|e| Error::io("cannot restrict permissions of", staging.path(), e))?;
    }
    // Any error (or a failed report) drops `staging`, which removes everything extracted.
    let report = verify::check_zip(plain, limits, Some(staging.path()))?;
    if !report.ok() {
        return Ok((report, None));
    }
    if out.exists() {
        // Checked empty above; rename(2) cannot replace a directory portably.
        fs::remove_dir(out).map_err(|e| Error::io("cannot replace the empty folder", out, e))?;
    }
    fs::rename(staging.path(), out)
        .map_err(|e| Error::io("cannot move the extracted bag to", out, e))?;
    let bag = out.join(&report.root);
    Ok((report, Some(bag)))
}

/// `--out` must be absent or an empty folder, and not a symbolic link.
fn check_destination(out: &Path) -> Result<()> {
    match fs::symlink_metadata(out) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io("cannot inspect", out, e)),
        Ok(m) if m.file_type().is_symlink() => Err(Error::Usage(format!(
            "{} is a symbolic link; give a real folder for --out",
            out.display()
        ))),
        Ok(m) if !m.is_dir() => Err(Error::Usage(format!(
            "{} exists and is not a folder; choose a new --out",
            out.display()
        ))),
        Ok(_) => {
            let mut entries = fs::read_dir(out).map_err(|e| Error::io("cannot read", out, e))?;
            if entries.next().is_some() {
                Err(Error::Usage(format!(
                    "{} is not empty; choose a new or empty folder for --out",
                    out.display()
                )))
            } else {
                Ok(())
            }
        }
    }
}
