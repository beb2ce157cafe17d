//! Keyed hashes of identifiers for files written in clear (receipt.json, the ledger).
//!
//! Those files must not hold identifier values, yet an operator needs to answer "did we
//! already export for this email?". An HMAC-SHA256 under a key the operator keeps answers that
//! without making the hash reversible by guessing: an unkeyed hash of an email or phone number
//! is trivially brute-forced. The key comes from `ledger_key` in the config (usually
//! `${DSAR_LEDGER_KEY}`), or from a key file created next to a SQLite ledger (mode 0600).

use std::fs;
use std::io::Write;
use std::path::PathBuf;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::subject::Kind;

/// Computes keyed hashes of identifiers.
#[derive(Clone)]
pub struct IdentifierHasher {
    key: Vec<u8>,
}

impl IdentifierHasher {
    /// A hasher with an explicit key.
    pub fn with_key(key: &[u8]) -> Self {
        IdentifierHasher { key: key.to_vec() }
    }

    /// The key from the config, or the key file beside the SQLite ledger (created if missing).
    pub fn load(config: &Config) -> Result<Self> {
        if let Some(k) = &config.ledger_key {
            if k.len() < 16 {
                return Err(Error::Config(format!(
                    "{}: ledger_key is too short; use at least 32 random characters (e.g. `openssl rand -hex 32`)",
                    config.file.display()
                )));
            }
            return Ok(Self::with_key(k.as_bytes()));
        }
        let path = key_file(config)?;
        match fs::read_to_string(&path) {
            Ok(text) => {
                let key = hex::decode(text.trim())
                    .map_err(|_| Error::Config(format!("{}: not a hex key", path.display())))?;
                Ok(Self::with_key(&key))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key: [u8; 32] = rand::random();
                if let Some(dir) = path.parent() {
                    fs::create_dir_all(dir).map_err(|e| Error::io("cannot create", dir, e))?;
                }
                match crate::destination::local::create_private(&path) {
                    Ok(mut f) => {
                        f.write_all(hex::encode(key).as_bytes())
                            .and_then(|_| f.sync_all())
                            .map_err(|e| Error::io("cannot write", &path, e))?;
                        Ok(Self::with_key(&key))
                    }
                    // Another export created it first: use theirs.
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Self::load(config),
                    Err(e) => Err(Error::io("cannot create", &path, e)),
                }
            }
            Err(e) => Err(Error::io("cannot read", &path, e)),
        }
    }

    /// `hmac-sha256:<hex>` of `kind:value`.
    pub fn hash(&self, kind: &Kind, value: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key size");
        mac.update(kind.as_str().as_bytes());
        mac.update(b":");
        mac.update(value.as_bytes());
        format!("hmac-sha256:{}", hex::encode(mac.finalize().into_bytes()))
    }
}

fn key_file(config: &Config) -> Result<PathBuf> {
    let ledger = &config.ledger;
    if ledger.contains("://") {
        return Err(Error::Config(format!(
            "{}: a database ledger needs ledger_key (e.g. ledger_key = \"${{DSAR_LEDGER_KEY}}\")",
            config.file.display()
        )));
    }
    let path = ledger.strip_prefix("sqlite:").unwrap_or(ledger);
    Ok(PathBuf::from(format!("{path}.key")))
}
