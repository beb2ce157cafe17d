//! Recipients, identities and the age encrypt/decrypt streams.
//!
//! The archive is encrypted as it is written: [`EncryptWriter`] wraps any `io::Write` (a file,
//! an S3 multipart upload, a hashing tee) and must be finished explicitly — a dropped writer
//! leaves a truncated, undecryptable file, so `finish()` returns the inner writer and callers
//! finish the layers in order: zip → age → destination.

use std::fs;
use std::io::{self, BufReader, Read, Write};
use std::path::Path;
use std::str::FromStr;

use age::armor::{ArmoredReader, ArmoredWriter, Format};
use age::secrecy::{ExposeSecret, SecretString};
use age::stream::StreamWriter;
use rand::Rng;

use crate::error::{Error, Result};

/// Who can decrypt an archive.
pub enum Recipients {
    /// Public keys (age X25519, SSH ed25519/RSA), with their text form for the receipt.
    Keys(Vec<(Box<dyn age::Recipient + Send>, String)>),
    /// A passphrase (scrypt).
    Passphrase {
        /// The passphrase.
        secret: SecretString,
        /// scrypt work factor (log2 N); `None` lets age pick (about one second).
        work_factor: Option<u8>,
    },
}

impl Recipients {
    /// Public keys as text, for receipts (empty for a passphrase).
    pub fn public_keys(&self) -> Vec<String> {
        match self {
            Recipients::Keys(keys) => keys.iter().map(|(_, s)| s.clone()).collect(),
            Recipients::Passphrase { .. } => Vec::new(),
        }
    }

    /// "passphrase" or "recipients".
    pub fn mode(&self) -> &'static str {
        match self {
            Recipients::Keys(_) => "recipients",
            Recipients::Passphrase { .. } => "passphrase",
        }
    }
}

/// Parses one recipient: `age1…`, `ssh-ed25519 …` or `ssh-rsa …`.
pub fn parse_recipient(text: &str) -> Result<(Box<dyn age::Recipient + Send>, String)> {
    let t = text.trim();
    if t.starts_with("age1") {
        let r = age::x25519::Recipient::from_str(t).map_err(|e| {
            Error::Usage(format!(
                "recipient '{t}' is not a valid age public key: {e}"
            ))
        })?;
        return Ok((Box::new(r), t.to_string()));
    }
    if t.starts_with("ssh-") {
        let r = age::ssh::Recipient::from_str(t).map_err(|e| {
            Error::Usage(format!(
                "recipient '{}' is not a supported SSH public key ({e:?}); use ssh-ed25519 or ssh-rsa",
                short(t)
            ))
        })?;
        // Drop the key comment from what the receipt shows.
        let shown = t.split_whitespace().take(2).collect::<Vec<_>>().join(" ");
        return Ok((Box::new(r), shown));
    }
    Err(Error::Usage(format!(
        "recipient '{}' is neither an age key (age1…) nor an SSH key (ssh-ed25519 …, ssh-rsa …); create one with `dsar keygen`",
        short(t)
    )))
}

fn short(t: &str) -> String {
    if t.chars().count() > 24 {
        format!("{}…", t.chars().take(24).collect::<String>())
    } else {
        t.to_string()
    }
}

/// Reads a recipients file: one recipient per line, `#` comments and blank lines ignored.
pub fn read_recipients_file(path: &Path) -> Result<Vec<(Box<dyn age::Recipient + Send>, String)>> {
    let text = fs::read_to_string(path).map_err(|e| {
        Error::Usage(format!(
            "cannot read recipients file {}: {e}",
            path.display()
        ))
    })?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let l = line.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        out.push(
            parse_recipient(l)
                .map_err(|e| Error::Usage(format!("{}:{}: {e}", path.display(), i + 1)))?,
        );
    }
    if out.is_empty() {
        return Err(Error::Usage(format!(
            "recipients file {} holds no recipient",
            path.display()
        )));
    }
    Ok(out)
}

/// A strong passphrase for a person to type: 8 groups of 4 lowercase letters and digits from
/// an unambiguous alphabet (about 160 bits), e.g. `k7mq-2xpt-…`.
pub fn generate_passphrase() -> SecretString {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut rng = rand::rngs::OsRng;
    let groups: Vec<String> = (0..8)
        .map(|_| {
            (0..4)
                .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
                .collect()
        })
        .collect();
    SecretString::from(groups.join("-"))
}

/// The age encryption layer; plain or ASCII-armored.
pub enum EncryptWriter<W: Write> {
    /// Binary age.
    Binary(StreamWriter<W>),
    /// ASCII-armored age.
    Armored(StreamWriter<ArmoredWriter<W>>),
}

impl<W: Write> EncryptWriter<W> {
    /// Starts encrypting to `recipients` into `out`.
    pub fn new(recipients: &Recipients, armor: bool, out: W) -> Result<Self> {
        let encryptor = match recipients {
            Recipients::Keys(keys) => age::Encryptor::with_recipients(
                keys.iter().map(|(r, _)| r.as_ref() as &dyn age::Recipient),
            )
            .map_err(|e| Error::Usage(format!("cannot encrypt to these recipients: {e}")))?,
            Recipients::Passphrase {
                secret,
                work_factor,
            } => {
                let mut r = age::scrypt::Recipient::new(secret.clone());
                if let Some(n) = work_factor {
                    r.set_work_factor(*n);
                }
                age::Encryptor::with_recipients(std::iter::once(&r as &dyn age::Recipient))
                    .map_err(|e| Error::runtime(format!("cannot encrypt: {e}")))?
            }
        };
        Ok(if armor {
            let armored = ArmoredWriter::wrap_output(out, Format::AsciiArmor)?;
            EncryptWriter::Armored(encryptor.wrap_output(armored)?)
        } else {
            EncryptWriter::Binary(encryptor.wrap_output(out)?)
        })
    }

    /// Writes the final chunk (and armor footer) and returns the inner writer.
    pub fn finish(self) -> io::Result<W> {
        match self {
            EncryptWriter::Binary(w) => w.finish(),
            EncryptWriter::Armored(w) => w.finish()?.finish(),
        }
    }
}

impl<W: Write> Write for EncryptWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            EncryptWriter::Binary(w) => w.write(buf),
            EncryptWriter::Armored(w) => w.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            EncryptWriter::Binary(w) => w.flush(),
            EncryptWriter::Armored(w) => w.flush(),
        }
    }
}

/// How the receiving side proves it may decrypt.
pub enum Identities {
    /// Identities from files (age identity files, SSH private keys).
    Keys(Vec<Box<dyn age::Identity + Send + Sync>>),
    /// A passphrase.
    Passphrase(SecretString),
}

/// Loads an identity file: an age identity file (`AGE-SECRET-KEY-1…` lines) or an unencrypted
/// SSH private key (ed25519 or RSA).
pub fn load_identity_file(path: &Path) -> Result<Vec<Box<dyn age::Identity + Send + Sync>>> {
    let bytes = fs::read(path)
        .map_err(|e| Error::Usage(format!("cannot read identity file {}: {e}", path.display())))?;
    let text = String::from_utf8_lossy(&bytes);
    if text.contains("-----BEGIN") {
        let filename = path.display().to_string();
        let id = age::ssh::Identity::from_buffer(BufReader::new(&bytes[..]), Some(filename))
            .map_err(|e| {
                Error::Usage(format!(
                    "{}: not a usable SSH private key: {e}",
                    path.display()
                ))
            })?;
        match id {
            age::ssh::Identity::Unencrypted(_) => {}
            age::ssh::Identity::Encrypted(_) => {
                return Err(Error::Usage(format!(
                    "{}: the SSH key is passphrase-protected; decrypt a copy with `ssh-keygen -p` or use the age CLI",
                    path.display()
                )))
            }
            age::ssh::Identity::Unsupported(k) => {
                return Err(Error::Usage(format!(
                    "{}: unsupported SSH key type ({k:?}); use ed25519 or RSA",
                    path.display()
                )))
            }
        }
        return Ok(vec![Box::new(id.with_callbacks(NoCallbacks))]);
    }
    let file = age::IdentityFile::from_buffer(BufReader::new(&bytes[..]))
        .map_err(|e| Error::Usage(format!("{}: not an age identity file: {e}", path.display())))?;
    let ids = file
        .into_identities()
        .map_err(|e| Error::Usage(format!("{}: {e}", path.display())))?;
    if ids.is_empty() {
        return Err(Error::Usage(format!(
            "{} holds no identity (expected AGE-SECRET-KEY-1… lines)",
            path.display()
        )));
    }
    Ok(ids)
}

#[derive(Clone)]
struct NoCallbacks;

impl age::Callbacks for NoCallbacks {
    fn display_message(&self, _message: &str) {}
    fn confirm(&self, _message: &str, _yes: &str, _no: Option<&str>) -> Option<bool> {
        None
    }
    fn request_public_string(&self, _description: &str) -> Option<String> {
        None
    }
    fn request_passphrase(&self, _description: &str) -> Option<SecretString> {
        None
    }
}

/// The largest scrypt work factor accepted when decrypting (age's CLI default is 22).
pub const MAX_SCRYPT_WORK_FACTOR: u8 = 22;

/// A decrypted archive that can be read and seeked without any plaintext on disk: the zip
/// reader needs the central directory at the end, and age's `StreamReader` seeks by
/// re-decrypting the chunk that holds the target position.
pub type SeekablePlaintext = age::stream::StreamReader<BufReader<fs::File>>;

/// The first line of an ASCII-armored age file.
const ARMOR_BEGIN: &[u8] = b"-----BEGIN AGE ENCRYPTED FILE-----";

/// Opens an age file (binary or armored) for seekable reading of its plaintext.
///
/// Armored input is first de-armored into an anonymous temporary file: that file holds the
/// binary age *ciphertext* only (never plaintext), and lets seeks jump to a chunk instead of
/// re-reading the armor from the start each time. Errors about keys and passphrases are
/// verification failures (exit 3); I/O errors are runtime errors.
pub fn decrypt_file_seekable(path: &Path, identities: &Identities) -> Result<SeekablePlaintext> {
    let mut file = fs::File::open(path).map_err(|e| Error::io("cannot open", path, e))?;
    let mut head = [0u8; 64];
    let mut filled = 0;
    while filled < head.len() {
        let n = file
            .read(&mut head[filled..])
            .map_err(|e| Error::io("cannot read", path, e))?;
        if n == 0 {
            break;
        }
        filled += n;
    }
    let start = head[..filled]
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(filled);
    let armored = head[start..filled].starts_with(ARMOR_BEGIN);
    io::Seek::seek(&mut file, io::SeekFrom::Start(0))
        .map_err(|e| Error::io("cannot read", path, e))?;
    let binary = if armored {
        let mut dearmored = tempfile::tempfile()
            .map_err(|e| Error::runtime(format!("cannot create a temporary file: {e}")))?;
        let mut reader = ArmoredReader::new(BufReader::new(file));
        io::copy(&mut reader, &mut dearmored).map_err(|e| {
            Error::Verify(format!(
                "{}: the ASCII armor is damaged ({e}); ask the sender for a new copy",
                path.display()
            ))
        })?;
        io::Seek::seek(&mut dearmored, io::SeekFrom::Start(0))
            .map_err(|e| Error::runtime(format!("cannot rewind a temporary file: {e}")))?;
        dearmored
    } else {
        file
    };
    let decryptor = age::Decryptor::new_buffered(BufReader::new(binary)).map_err(|e| {
        Error::Verify(format!(
            "{}: not an age-encrypted file, or its header is damaged: {e}",
            path.display()
        ))
    })?;
    open_stream(decryptor, identities)
}

fn open_stream<R: Read>(
    decryptor: age::Decryptor<R>,
    identities: &Identities,
) -> Result<age::stream::StreamReader<R>> {
    match identities {
        Identities::Keys(ids) => {
            if decryptor.is_scrypt() {
                return Err(Error::Verify(
                    "this archive is protected by a passphrase; pass --passphrase instead of --identity".into(),
                ));
            }
            decryptor
                .decrypt(ids.iter().map(|i| i.as_ref() as &dyn age::Identity))
                .map_err(|e| Error::Verify(decrypt_message(e)))
        }
        Identities::Passphrase(secret) => {
            if !decryptor.is_scrypt() {
                return Err(Error::Verify(
                    "this archive is encrypted to public keys; pass --identity FILE with the matching private key".into(),
                ));
            }
            let mut id = age::scrypt::Identity::new(secret.clone());
            id.set_max_work_factor(MAX_SCRYPT_WORK_FACTOR);
            decryptor
                .decrypt(std::iter::once(&id as &dyn age::Identity))
                .map_err(|e| match e {
                    age::DecryptError::DecryptionFailed | age::DecryptError::NoMatchingKeys => {
                        Error::Verify(
                            "wrong passphrase (or the archive header was modified); check the passphrase you were given".into(),
                        )
                    }
                    other => Error::Verify(decrypt_message(other)),
                })
        }
    }
}

fn decrypt_message(e: age::DecryptError) -> String {
    match e {
        age::DecryptError::NoMatchingKeys => {
            "no identity matches: this archive was encrypted to a different key (check --identity)"
                .into()
        }
        age::DecryptError::DecryptionFailed => {
            "decryption failed: wrong passphrase, or the archive was modified".into()
        }
        age::DecryptError::ExcessiveWork { required, .. } => {
            format!("the passphrase work factor ({required}) is too high to be safe to try")
        }
        other => format!("cannot decrypt: {other}"),
    }
}

/// Reads a passphrase from `DSAR_PASSPHRASE` or, on a terminal, a prompt.
pub fn read_passphrase(prompt: &str, confirm: bool) -> Result<Option<SecretString>> {
    if let Ok(p) = std::env::var("DSAR_PASSPHRASE") {
        if p.is_empty() {
            return Err(Error::Usage("DSAR_PASSPHRASE is set but empty".into()));
        }
        return Ok(Some(SecretString::from(p)));
    }
    if !io::IsTerminal::is_terminal(&io::stdin()) {
        return Ok(None);
    }
    let first = rpassword::prompt_password(prompt)
        .map_err(|e| Error::Usage(format!("cannot read the passphrase: {e}")))?;
    if first.is_empty() {
        return Ok(None);
    }
    if confirm {
        let again = rpassword::prompt_password("Repeat the passphrase: ")
            .map_err(|e| Error::Usage(format!("cannot read the passphrase: {e}")))?;
        if again != first {
            return Err(Error::Usage("the two passphrases differ".into()));
        }
    }
    Ok(Some(SecretString::from(first)))
}

/// Exposes a secret for the one place that must print it (a generated passphrase, once).
pub fn reveal(secret: &SecretString) -> &str {
    secret.expose_secret()
}
