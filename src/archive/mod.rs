//! The archive: a streamed zip holding one BagIt 1.0 bag (RFC 8493), SPEC 4.4.
//!
//! [`BagWriter`] writes payload files under `<request-id>/data/` one after another, hashing
//! each as it streams through, and at the end writes the tag files (`bagit.txt`,
//! `bag-info.txt`, `manifest-sha256.txt`, `tagmanifest-sha256.txt`). It never seeks, so the
//! zip can flow straight into age and on to any destination.

use std::io::{self, Write};

use sha2::{Digest, Sha256};
use zip::write::{SimpleFileOptions, StreamWriter};
use zip::{CompressionMethod, ZipWriter};

use crate::error::{Context, Result};

pub mod datapackage;
pub mod manifest;
pub mod templates;

/// A `Write` adapter that counts bytes and computes SHA-256 of what passes through.
pub struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    bytes: u64,
}

impl<W: Write> HashingWriter<W> {
    /// Wraps `inner`.
    pub fn new(inner: W) -> Self {
        HashingWriter {
            inner,
            hasher: Sha256::new(),
            bytes: 0,
        }
    }

    /// Returns the inner writer, the hex SHA-256 and the byte count.
    pub fn finish(self) -> (W, String, u64) {
        (self.inner, hex::encode(self.hasher.finalize()), self.bytes)
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

const CHUNK_BYTES: usize = 256 * 1024;
const CHUNKS_IN_FLIGHT: usize = 8;

/// Sends fixed-size chunks of what is written over a bounded channel.
struct ChunkWriter {
    tx: std::sync::mpsc::SyncSender<Vec<u8>>,
    buf: Vec<u8>,
}

impl ChunkWriter {
    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let full = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK_BYTES));
        self.tx
            .send(full)
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "archive writer stopped"))
    }
}

impl Write for ChunkWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let room = CHUNK_BYTES - self.buf.len();
        let n = room.min(data.len());
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() == CHUNK_BYTES {
            self.send()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A file written into the bag.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FileEntry {
    /// Path relative to the bag's `data/` folder, `/`-separated.
    pub path: String,
    /// Size in bytes.
    pub bytes: u64,
    /// Hex SHA-256.
    pub sha256: String,
}

/// The `bag-info.txt` fields dsar writes.
#[derive(Debug, Clone)]
pub struct BagInfo {
    /// Source-Organization.
    pub organization: String,
    /// Contact-Email.
    pub contact_email: String,
    /// External-Identifier (the request id).
    pub external_identifier: String,
    /// Bagging-Date, YYYY-MM-DD.
    pub bagging_date: String,
}

/// Writes one bag into a streamed zip.
pub struct BagWriter<W: Write> {
    zip: ZipWriter<StreamWriter<W>>,
    root: String,
    payload: Vec<FileEntry>,
    options: SimpleFileOptions,
}

impl<W: Write> BagWriter<W> {
    /// Starts a zip whose single folder is `root/`.
    pub fn new(out: W, root: &str, now: chrono::DateTime<chrono::Utc>) -> Self {
        use chrono::{Datelike, Timelike};
        let stamp = zip::DateTime::from_date_and_time(
            now.year().clamp(1980, 2107) as u16,
            now.month() as u8,
            now.day() as u8,
            now.hour() as u8,
            now.minute() as u8,
            now.second() as u8,
        )
        .unwrap_or_default();
        let options = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Deflated)
            .compression_level(Some(6))
            .unix_permissions(0o600)
            .last_modified_time(stamp)
            .large_file(true);
        BagWriter {
            zip: ZipWriter::new_stream(out),
            root: root.to_string(),
            payload: Vec::new(),
            options,
        }
    }

    /// Writes a payload file at `data/<path>`, streaming its content through `fill`.
    pub fn add_payload(
        &mut self,
        path: &str,
        fill: impl FnOnce(&mut dyn Write) -> Result<()>,
    ) -> Result<FileEntry> {
        let entry = self.write_entry(&format!("data/{path}"), fill)?;
        let entry = FileEntry {
            path: path.to_string(),
            ..entry
        };
        self.payload.push(entry.clone());
        Ok(entry)
    }

    /// Like [`BagWriter::add_payload`], but `produce` runs on its own thread while this one
    /// compresses and encrypts what it writes: on two cores, producing (decrypting spills,
    /// parsing, encoding CSV) and consuming (deflate, age) overlap. Memory stays bounded by a
    /// small channel of chunks.
    pub fn add_payload_threaded(
        &mut self,
        path: &str,
        produce: impl FnOnce(&mut dyn Write) -> Result<()> + Send,
    ) -> Result<FileEntry> {
        self.add_payload(path, |w| {
            std::thread::scope(|scope| {
                let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(CHUNKS_IN_FLIGHT);
                let producer = scope.spawn(move || {
                    let mut chunks = ChunkWriter {
                        tx,
                        buf: Vec::with_capacity(CHUNK_BYTES),
                    };
                    produce(&mut chunks)?;
                    chunks.send()?;
                    Ok::<(), crate::error::Error>(())
                });
                let mut consumed: Result<()> = Ok(());
                for chunk in &rx {
                    if let Err(e) = w.write_all(&chunk) {
                        consumed = Err(e.into());
                        break;
                    }
                }
                // Unblocks a producer still sending when the consumer failed.
                drop(rx);
                let produced = producer.join().expect("payload producer panicked");
                consumed.and(produced)
            })
        })
    }

    fn write_entry(
        &mut self,
        rel: &str,
        fill: impl FnOnce(&mut dyn Write) -> Result<()>,
    ) -> Result<FileEntry> {
        let name = format!("{}/{rel}", self.root);
        self.zip
            .start_file(name.as_str(), self.options)
            .context(|| format!("cannot add {name} to the archive"))?;
        let mut hashing = HashingWriter::new(&mut self.zip);
        {
            let mut buffered = io::BufWriter::with_capacity(128 * 1024, &mut hashing);
            fill(&mut buffered)?;
            buffered
                .flush()
                .context(|| format!("cannot write {name}"))?;
        }
        let (_, sha256, bytes) = hashing.finish();
        Ok(FileEntry {
            path: rel.to_string(),
            bytes,
            sha256,
        })
    }

    /// Writes the tag files and finishes the zip, returning the inner writer.
    pub fn finish(mut self, info: &BagInfo) -> Result<W> {
        let mut tags: Vec<FileEntry> = Vec::new();
        let bagit = "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n".to_string();
        tags.push(self.write_entry("bagit.txt", |w| Ok(w.write_all(bagit.as_bytes())?))?);

        let oxum_bytes: u64 = self.payload.iter().map(|f| f.bytes).sum();
        let info_text = format!(
            "Source-Organization: {}\nContact-Email: {}\nExternal-Identifier: {}\nBagging-Date: {}\nPayload-Oxum: {}.{}\nBag-Size: {}\n",
            tag_value(&info.organization),
            tag_value(&info.contact_email),
            tag_value(&info.external_identifier),
            info.bagging_date,
            oxum_bytes,
            self.payload.len(),
            human_size(oxum_bytes),
        );
        tags.push(self.write_entry("bag-info.txt", |w| Ok(w.write_all(info_text.as_bytes())?))?);

        let manifest = manifest_text(
            self.payload
                .iter()
                .map(|f| (format!("data/{}", f.path), &f.sha256)),
        );
        tags.push(self.write_entry("manifest-sha256.txt", |w| {
            Ok(w.write_all(manifest.as_bytes())?)
        })?);

        let tag_manifest = manifest_text(tags.iter().map(|f| (f.path.clone(), &f.sha256)));
        self.write_entry("tagmanifest-sha256.txt", |w| {
            Ok(w.write_all(tag_manifest.as_bytes())?)
        })?;
        let stream = self
            .zip
            .finish()
            .context(|| "cannot finish the zip archive".into())?;
        Ok(stream.into_inner())
    }
}

/// `<sha256>  <path>` lines; CR, LF and `%` in paths are percent-encoded (RFC 8493 2.1.3).
pub fn manifest_text<'a>(entries: impl Iterator<Item = (String, &'a String)>) -> String {
    let mut out = String::new();
    for (path, sha) in entries {
        let encoded = path
            .replace('%', "%25")
            .replace('\n', "%0A")
            .replace('\r', "%0D");
        out.push_str(sha);
        out.push_str("  ");
        out.push_str(&encoded);
        out.push('\n');
    }
    out
}

/// Decodes a manifest path (the inverse of the encoding in [`manifest_text`]).
pub fn decode_manifest_path(path: &str) -> String {
    path.replace("%0A", "\n")
        .replace("%0a", "\n")
        .replace("%0D", "\r")
        .replace("%0d", "\r")
        .replace("%25", "%")
}

fn tag_value(v: &str) -> String {
    v.replace(['\r', '\n'], " ")
}

/// Size for people: `12.3 MB`.
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["bytes", "KB", "MB", "GB", "TB"];
    let mut size = bytes as f64;
    let mut unit = 0;
    while size >= 1000.0 && unit < UNITS.len() - 1 {
        size /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} bytes")
    } else {
        format!("{size:.1} {}", UNITS[unit])
    }
}

/// Makes a file name safe to store and extract anywhere: no separators, no control
/// characters, no leading dots, no Windows device names, at most 120 bytes. Unicode is kept
/// (NFC), spaces and ordinary punctuation too.
pub fn safe_file_name(name: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    let mut out: String = name
        .nfc()
        .map(|c| match c {
            '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|' => '_',
            c if c.is_control() => '_',
            c => c,
        })
        .collect();
    let trimmed = out
        .trim_start_matches(['.', ' '])
        .trim_end_matches(['.', ' ']);
    out = trimmed.to_string();
    if out.is_empty() {
        out = "file".into();
    }
    let stem = out.split('.').next().unwrap_or("").to_ascii_uppercase();
    const DEVICES: [&str; 22] = [
        "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8",
        "COM9", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
    ];
    if DEVICES.contains(&stem.as_str()) {
        out = format!("_{out}");
    }
    if out.len() > 120 {
        let mut cut = 120;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_names() {
        assert_eq!(safe_file_name("../../etc/passwd"), "_.._etc_passwd");
        assert_eq!(
            safe_file_name("invoice (copy) #2 é.txt"),
            "invoice (copy) #2 é.txt"
        );
        assert_eq!(safe_file_name("CON.txt"), "_CON.txt");
        assert_eq!(safe_file_name(".hidden"), "hidden");
        assert_eq!(safe_file_name("a\nb"), "a_b");
    }

    #[test]
    fn manifest_paths_are_encoded() {
        let sha = "00".to_string();
        let t = manifest_text(std::iter::once(("data/a%b\nc".to_string(), &sha)));
        assert_eq!(t, "00  data/a%25b%0Ac\n");
        assert_eq!(decode_manifest_path("data/a%25b%0Ac"), "data/a%b\nc");
    }
}
