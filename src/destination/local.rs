//! Local delivery: the archive goes to `--out DIR` under a temporary name and is renamed into
//! place only when it is complete, so a failed export leaves nothing behind.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use super::{Delivered, Destination, Sealed, Upload};
use crate::error::{Error, Result};

/// The local folder destination.
pub struct LocalDestination {
    dir: PathBuf,
}

impl LocalDestination {
    /// Delivers into `dir` (created if missing).
    pub fn new(dir: &Path) -> Result<Self> {
        fs::create_dir_all(dir).map_err(|e| Error::io("cannot create output folder", dir, e))?;
        Ok(LocalDestination {
            dir: dir.to_path_buf(),
        })
    }
}

impl Destination for LocalDestination {
    fn begin(&mut self, _request_id: &str, file_name: &str) -> Result<Box<dyn Upload>> {
        let target = self.dir.join(file_name);
        if target.exists() {
            return Err(Error::Usage(format!(
                "{} already exists; choose another --request-id or --out",
                target.display()
            )));
        }
        let (temp, file) = create_temp(&self.dir, file_name)?;
        Ok(Box::new(LocalUpload {
            out: Some(BufWriter::with_capacity(256 * 1024, file)),
            temp,
            target,
        }))
    }

    fn out_dir(&self) -> PathBuf {
        self.dir.clone()
    }
}

/// Creates `dir/.<name>.<random>.partial` exclusively, readable by the owner only.
pub fn create_temp(dir: &Path, name: &str) -> Result<(PathBuf, File)> {
    let suffix: u64 = rand::random();
    let temp = dir.join(format!(".{name}.{suffix:016x}.partial"));
    let file = create_private(&temp).map_err(|e| Error::io("cannot create", &temp, e))?;
    Ok((temp, file))
}

/// Creates a new file readable by its owner only (mode 0600); fails if it exists, so nothing
/// is ever overwritten or followed through a planted link. Every file dsar writes that may
/// hold a secret or personal data — keys, archives, extracted records — is made this way.
pub fn create_private(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

/// Writes `bytes` to `dir/name` atomically (temporary file, fsync, rename).
pub fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> Result<PathBuf> {
    let (temp, mut file) = create_temp(dir, name)?;
    let target = dir.join(name);
    let result = file
        .write_all(bytes)
        .and_then(|_| file.sync_all())
        .and_then(|_| fs::rename(&temp, &target));
    if let Err(e) = result {
        let _ = fs::remove_file(&temp);
        return Err(Error::io("cannot write", &target, e));
    }
    Ok(target)
}

struct LocalUpload {
    out: Option<BufWriter<File>>,
    temp: PathBuf,
    target: PathBuf,
}

impl Write for LocalUpload {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.out.as_mut().expect("write after commit").write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.as_mut().expect("flush after commit").flush()
    }
}

impl Upload for LocalUpload {
    fn commit(mut self: Box<Self>, _sealed: &Sealed) -> Result<Delivered> {
        let out = self.out.take().expect("commit once");
        let file = out
            .into_inner()
            .map_err(|e| Error::io("cannot write", &self.temp, e.into_error()))?;
        file.sync_all()
            .map_err(|e| Error::io("cannot write", &self.temp, e))?;
        drop(file);
        if self.target.exists() {
            let _ = fs::remove_file(&self.temp);
            return Err(Error::runtime(format!(
                "{} appeared while the export ran; not overwriting it",
                self.target.display()
            )));
        }
        fs::rename(&self.temp, &self.target)
            .map_err(|e| Error::io("cannot rename into", &self.target, e))?;
        Ok(Delivered {
            kind: "local".into(),
            location: self.target.display().to_string(),
            bucket: None,
            key: None,
            link: None,
            open_page_link: None,
        })
    }

    fn abort(mut self: Box<Self>) {
        self.out.take();
        let _ = fs::remove_file(&self.temp);
    }
}

impl Drop for LocalUpload {
    fn drop(&mut self) {
        // Neither committed nor aborted (a panic): do not leave a partial file.
        if self.out.is_some() {
            self.out.take();
            let _ = fs::remove_file(&self.temp);
        }
    }
}
