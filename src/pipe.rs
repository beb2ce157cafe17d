//! A `Write` that hands its bytes to another thread.
//!
//! The archive is a chain of stages — zip (deflate, CRC), age (ChaCha20-Poly1305), hashing,
//! the destination — and each costs CPU. [`Pipe`] cuts the chain in two: everything above it
//! runs on the caller's thread, everything below on a scoped worker, connected by a small
//! bounded channel, so memory stays fixed and two cores share the work. `finish()` returns the
//! inner writer (unfinished: the caller finishes the layers in order), or the first error the
//! worker met.

use std::io::{self, Write};
use std::sync::mpsc::{sync_channel, SyncSender};
use std::thread::{Scope, ScopedJoinHandle};

const CHUNK: usize = 256 * 1024;
const IN_FLIGHT: usize = 4;

/// The sending half; see the module documentation.
pub struct Pipe<'scope, W> {
    tx: Option<SyncSender<Vec<u8>>>,
    buf: Vec<u8>,
    worker: Option<ScopedJoinHandle<'scope, io::Result<W>>>,
}

impl<'scope, W: Write + Send + 'scope> Pipe<'scope, W> {
    /// Starts a worker in `scope` that writes everything it receives to `inner`.
    pub fn spawn<'env>(scope: &'scope Scope<'scope, 'env>, mut inner: W) -> Self {
        let (tx, rx) = sync_channel::<Vec<u8>>(IN_FLIGHT);
        let worker = scope.spawn(move || {
            for chunk in rx {
                inner.write_all(&chunk)?;
            }
            Ok(inner)
        });
        Pipe {
            tx: Some(tx),
            buf: Vec::with_capacity(CHUNK),
            worker: Some(worker),
        }
    }

    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK));
        let sent = self.tx.as_ref().map(|tx| tx.send(chunk));
        match sent {
            Some(Ok(())) => Ok(()),
            // The worker stopped: it met an error; report that one.
            _ => Err(self.join().err().unwrap_or_else(|| {
                io::Error::new(io::ErrorKind::BrokenPipe, "archive writer stopped")
            })),
        }
    }

    fn join(&mut self) -> io::Result<W> {
        self.tx.take();
        match self.worker.take() {
            Some(worker) => worker.join().expect("archive writer thread panicked"),
            None => Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "archive writer already stopped",
            )),
        }
    }

    /// Sends what is buffered, waits for the worker and returns the inner writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.send()?;
        self.join()
    }
}

impl<'scope, W: Write + Send + 'scope> Write for Pipe<'scope, W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let n = (CHUNK - self.buf.len()).min(data.len());
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() == CHUNK {
            self.send()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_arrive_in_order_and_finish_returns_the_writer() {
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        let out = std::thread::scope(|s| {
            let mut pipe = Pipe::spawn(s, Vec::new());
            for piece in data.chunks(7777) {
                pipe.write_all(piece).unwrap();
            }
            pipe.finish().unwrap()
        });
        assert_eq!(out, data);
    }

    struct Failing;
    impl Write for Failing {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::other("disk full"))
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn the_workers_error_reaches_the_writer() {
        let err = std::thread::scope(|s| {
            let mut pipe = Pipe::spawn(s, Failing);
            let mut result = Ok(());
            for _ in 0..100 {
                result = pipe.write_all(&[0u8; 65536]);
                if result.is_err() {
                    break;
                }
            }
            result.and_then(|_| pipe.finish().map(|_| ()))
        })
        .unwrap_err();
        assert!(err.to_string().contains("disk full"), "{err}");
    }
}
