//! Encrypted spill files: where matched records wait until the archive is written.
//!
//! The identity graph may visit a source several times, and the CSV header needs every column
//! before the first row, so matched records are held somewhere between collection and
//! archiving. Memory is not an option (it must stay bounded), and plaintext on disk is
//! forbidden, so each source's records go to an anonymous temporary file (unlinked at
//! creation on Linux) encrypted with age to an X25519 key that exists only in this process's
//! memory. When the process ends, the file is gone and the key with it.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Seek, Write};
use std::iter;

use age::x25519;

use crate::error::{Context, Result};
use crate::records::{Columns, Record};

/// The in-memory key shared by the spills of one run.
pub struct SpillKey {
    identity: x25519::Identity,
}

impl Default for SpillKey {
    fn default() -> Self {
        Self::new()
    }
}

impl SpillKey {
    /// A fresh random key.
    pub fn new() -> Self {
        SpillKey {
            identity: x25519::Identity::generate(),
        }
    }
}

type Sealed = age::stream::StreamWriter<BufWriter<File>>;

/// Records travel to the spill's writer thread in batches of this many.
const BATCH: usize = 256;

/// The writer thread: serialises, observes CSV columns and encrypts, while the source's thread
/// goes on reading and matching.
struct Worker {
    tx: std::sync::mpsc::SyncSender<Vec<Record>>,
    batch: Vec<Record>,
    handle: std::thread::JoinHandle<Result<(File, Columns)>>,
}

/// One source's spilled records.
pub struct Spill {
    worker: Option<Worker>,
    file: Option<File>,
    count: u64,
    columns: Columns,
}

impl Spill {
    /// Creates an empty spill in the system temporary directory.
    pub fn new(key: &SpillKey) -> Result<Spill> {
        let file = tempfile::tempfile().context(|| "cannot create a temporary file".into())?;
        let recipient = key.identity.to_public();
        let encryptor =
            age::Encryptor::with_recipients(iter::once(&recipient as &dyn age::Recipient))
                .context(|| "cannot set up spill encryption".into())?;
        let mut writer: Sealed = encryptor
            .wrap_output(BufWriter::with_capacity(256 * 1024, file))
            .context(|| "cannot write a temporary file".into())?;
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Record>>(4);
        let handle = std::thread::Builder::new()
            .name("spill".into())
            .spawn(move || {
                let mut columns = Columns::default();
                for batch in rx {
                    for record in &batch {
                        serde_json::to_writer(&mut writer, record)
                            .context(|| "cannot write a temporary file".into())?;
                        writer
                            .write_all(b"\n")
                            .context(|| "cannot write a temporary file".into())?;
                        columns.observe(record);
                    }
                }
                let buffered = writer
                    .finish()
                    .context(|| "cannot finish a temporary file".into())?;
                let file = buffered
                    .into_inner()
                    .map_err(|e| e.into_error())
                    .context(|| "cannot flush a temporary file".into())?;
                Ok((file, columns))
            })
            .context(|| "cannot start a thread".into())?;
        Ok(Spill {
            worker: Some(Worker {
                tx,
                batch: Vec::with_capacity(BATCH),
                handle,
            }),
            file: None,
            count: 0,
            columns: Columns::default(),
        })
    }

    /// Appends a record.
    pub fn push(&mut self, record: Record) -> Result<()> {
        let worker = self.worker.as_mut().expect("push after seal is a bug");
        worker.batch.push(record);
        self.count += 1;
        if worker.batch.len() == BATCH {
            let full = std::mem::replace(&mut worker.batch, Vec::with_capacity(BATCH));
            if worker.tx.send(full).is_err() {
                // The writer stopped on an error: seal() reports it.
                return self.seal();
            }
        }
        Ok(())
    }

    /// Records pushed so far.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Flattened CSV columns over all records (complete once sealed).
    pub fn columns(&mut self) -> Result<&Columns> {
        self.seal()?;
        Ok(&self.columns)
    }

    /// Finishes writing; afterwards the spill can be read any number of times.
    pub fn seal(&mut self) -> Result<()> {
        if let Some(worker) = self.worker.take() {
            let Worker { tx, batch, handle } = worker;
            let sent = batch.is_empty() || tx.send(batch).is_ok();
            drop(tx);
            let (file, columns) = handle.join().expect("spill writer panicked")?;
            if !sent {
                return Err(crate::error::Error::runtime(
                    "cannot write a temporary file",
                ));
            }
            self.file = Some(file);
            self.columns = columns;
        }
        Ok(())
    }

    fn plaintext(&mut self, key: &SpillKey) -> Result<BufReader<Box<dyn io::Read + Send + '_>>> {
        self.seal()?;
        let file = self.file.as_mut().expect("sealed above");
        file.rewind()
            .context(|| "cannot rewind a temporary file".into())?;
        let reader = BufReader::with_capacity(256 * 1024, &*file);
        let decryptor = age::Decryptor::new_buffered(reader)
            .context(|| "cannot read a temporary file".into())?;
        let plain = decryptor
            .decrypt(iter::once(&key.identity as &dyn age::Identity))
            .context(|| "cannot decrypt a temporary file".into())?;
        Ok(BufReader::with_capacity(256 * 1024, Box::new(plain)))
    }

    /// Reads the records back in order.
    pub fn read<'a>(
        &'a mut self,
        key: &SpillKey,
    ) -> Result<impl Iterator<Item = Result<Record>> + Send + 'a> {
        let mut lines = self.plaintext(key)?;
        let mut buf = Vec::with_capacity(4096);
        Ok(iter::from_fn(move || {
            buf.clear();
            match lines.read_until(b'\n', &mut buf) {
                Ok(0) => None,
                Ok(_) => Some(
                    serde_json::from_slice::<Record>(&buf)
                        .context(|| "corrupt temporary file".into()),
                ),
                Err(e) => Some(Err(io::Error::other(e).into())),
            }
        }))
    }

    /// Writes the records as a JSON array, one compact record per line, copying the spilled
    /// bytes without parsing them again.
    pub fn write_json_array(&mut self, key: &SpillKey, out: &mut dyn Write) -> Result<()> {
        let mut lines = self.plaintext(key)?;
        let mut buf = Vec::with_capacity(4096);
        out.write_all(b"[")?;
        let mut first = true;
        loop {
            buf.clear();
            if lines.read_until(b'\n', &mut buf)? == 0 {
                break;
            }
            out.write_all(if first { b"\n" } else { b",\n" })?;
            out.write_all(buf.strip_suffix(b"\n").unwrap_or(&buf))?;
            first = false;
        }
        out.write_all(if first { b"]\n" } else { b"\n]\n" })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trips_and_is_not_plaintext() {
        let key = SpillKey::new();
        let mut spill = Spill::new(&key).unwrap();
        let r = json!({"email": "secret-person@example.com", "n": 1})
            .as_object()
            .unwrap()
            .clone();
        spill.push(r.clone()).unwrap();
        spill.push(r.clone()).unwrap();
        let back: Vec<Record> = spill.read(&key).unwrap().map(|r| r.unwrap()).collect();
        assert_eq!(back, vec![r.clone(), r]);
        // Read twice, once as raw JSON.
        assert_eq!(spill.read(&key).unwrap().count(), 2);
        let mut json = Vec::new();
        spill.write_json_array(&key, &mut json).unwrap();
        let parsed: Vec<Record> = serde_json::from_slice(&json).unwrap();
        assert_eq!(parsed.len(), 2);
        // The bytes on disk do not contain the value.
        let mut raw = Vec::new();
        let f = spill.file.as_mut().unwrap();
        f.rewind().unwrap();
        std::io::Read::read_to_end(f, &mut raw).unwrap();
        assert!(!raw.windows(6).any(|w| w == b"secret"));
    }
}
