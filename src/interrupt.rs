//! Ctrl-C handling: long-running work polls [`check`] and unwinds cleanly (temporary files
//! removed, multipart uploads aborted) instead of dying half-way.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::{Error, Result};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Marks the process as interrupted.
pub fn raise() {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// True once Ctrl-C (or SIGTERM) arrived.
pub fn is_raised() -> bool {
    INTERRUPTED.load(Ordering::Relaxed)
}

/// Fails with [`Error::Interrupted`] once Ctrl-C arrived.
pub fn check() -> Result<()> {
    if is_raised() {
        Err(Error::Interrupted)
    } else {
        Ok(())
    }
}
