//! Checking a received bag: the zip's structure and names, the BagIt manifests, Payload-Oxum
//! and dsar's `manifest.json`, in one pass over the entries.
//!
//! The archive comes from someone else, so every byte of it is hostile until checked. Entry
//! names are validated before anything is read (no absolute paths, `..`, symlinks, device
//! names, duplicates), declared sizes and compression ratios are bounded before decompressing
//! (zip bombs), and actual bytes are capped at the declared size while reading. The same pass
//! serves `verify` (contents go to a sink), `open` (contents go into a private temporary
//! folder that is renamed into place only when everything passed) and `import`. The checks
//! work on any `Read + Seek`, so the fuzz target drives them from plain bytes
//! ([`check_zip_bytes`]).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs;
use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256, Sha512};

use crate::archive::decode_manifest_path;
use crate::error::{Error, Result};

/// Resource limits for reading an archive. Each can be raised with an environment variable
/// (named in the error that hits it) for a genuine archive that needs more.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest uncompressed entry (default 4 GiB; `DSAR_MAX_ENTRY_SIZE`).
    pub max_entry_bytes: u64,
    /// Largest total uncompressed size (default 64 GiB; `DSAR_MAX_TOTAL_SIZE`).
    pub max_total_bytes: u64,
    /// Most entries (default 100,000; `DSAR_MAX_ENTRIES`).
    pub max_entries: usize,
    /// Highest compression ratio for entries over 1 MiB (default 200; `DSAR_MAX_RATIO`).
    pub max_ratio: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_entry_bytes: 4 << 30,
            max_total_bytes: 64 << 30,
            max_entries: 100_000,
            max_ratio: 200,
        }
    }
}

/// Entries up to this size are exempt from the ratio check (tiny files compress well).
const RATIO_EXEMPT_BYTES: u64 = 1 << 20;
/// Tag files and `manifest.json` are held in memory to be parsed; this bounds them.
const MAX_PARSED_FILE_BYTES: u64 = 64 << 20;

impl Limits {
    /// The defaults, raised where `DSAR_MAX_ENTRY_SIZE`, `DSAR_MAX_TOTAL_SIZE`,
    /// `DSAR_MAX_ENTRIES` or `DSAR_MAX_RATIO` say so.
    pub fn from_env() -> Result<Self> {
        fn var(name: &str) -> Result<Option<u64>> {
            match std::env::var(name) {
                Ok(v) => v.trim().parse::<u64>().map(Some).map_err(|_| {
                    Error::Usage(format!(
                        "{name} must be a whole number (bytes, count or ratio)"
                    ))
                }),
                Err(_) => Ok(None),
            }
        }
        let d = Limits::default();
        Ok(Limits {
            max_entry_bytes: var("DSAR_MAX_ENTRY_SIZE")?.unwrap_or(d.max_entry_bytes),
            max_total_bytes: var("DSAR_MAX_TOTAL_SIZE")?.unwrap_or(d.max_total_bytes),
            max_entries: var("DSAR_MAX_ENTRIES")?
                .map(|n| n as usize)
                .unwrap_or(d.max_entries),
            max_ratio: var("DSAR_MAX_RATIO")?.unwrap_or(d.max_ratio),
        })
    }
}

/// One thing wrong with the archive, by path (relative to the bag folder where possible).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Problem {
    /// The entry or file it is about.
    pub path: String,
    /// What is wrong.
    pub problem: String,
}

/// A checked file of the bag.
#[derive(Debug, Clone)]
pub struct FileInfo {
    /// Size in bytes.
    pub bytes: u64,
    /// Hex SHA-256.
    pub sha256: String,
    /// Hex SHA-512, when the bag has a `manifest-sha512.txt`/`tagmanifest-sha512.txt`.
    pub sha512: Option<String>,
    /// Index of the zip entry (archives only).
    pub zip_index: Option<usize>,
}

/// What dsar's own `manifest.json` says, when the bag has one.
#[derive(Debug, Clone, Serialize)]
pub struct DsarSummary {
    /// The request id.
    pub request_id: String,
    /// Sources listed.
    pub sources: usize,
    /// Sum of record counts.
    pub total_records: u64,
    /// Files listed under sources and checked against the bag.
    pub files_checked: usize,
}

/// The outcome of checking one bag.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The bag's folder inside the zip (empty for a folder on disk).
    pub root: String,
    /// Files under `data/`.
    pub payload_files: u64,
    /// Bytes under `data/`.
    pub payload_bytes: u64,
    /// Manifests checked (`manifest-sha256.txt`, …).
    pub manifests_checked: Vec<String>,
    /// dsar's `manifest.json`, when present.
    pub dsar: Option<DsarSummary>,
    /// Everything wrong; empty when the bag verified.
    pub problems: Vec<Problem>,
    /// Checked files by path relative to the bag folder.
    #[serde(skip)]
    pub files: BTreeMap<String, FileInfo>,
}

impl Report {
    /// True when nothing is wrong.
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Checks a zip given as bytes, with default limits, writing nothing anywhere. This is the
/// fuzz target's entry point; errors are the fatal kind (not a zip, limits exceeded).
pub fn check_zip_bytes(bytes: &[u8]) -> Result<Report> {
    check_zip(io::Cursor::new(bytes), &Limits::default(), None)
}

/// A file entry that passed the name and size checks.
struct Planned {
    index: usize,
    rel: String,
    declared: u64,
}

/// Checks a zip holding one bag folder. With `extract_into`, file contents are written under
/// that folder (which must be a fresh, private, empty directory) as they are hashed; the
/// caller decides from the report whether to keep them. Fatal conditions (not a zip, not a
/// bag, limits exceeded, overlapping entries) are errors; everything else is a problem in the
/// report.
pub fn check_zip<R: Read + Seek>(
    reader: R,
    limits: &Limits,
    extract_into: Option<&Path>,
) -> Result<Report> {
    let mut zip = zip::ZipArchive::new(reader).map_err(|e| {
        Error::Verify(format!(
            "not a valid zip archive ({e}); the decrypted content should be a .zip file"
        ))
    })?;
    if zip.len() > limits.max_entries {
        return Err(Error::Verify(format!(
            "the zip holds {} entries, more than the limit of {} (raise it with DSAR_MAX_ENTRIES if the archive is genuine)",
            zip.len(),
            limits.max_entries
        )));
    }
    if zip.has_duplicate_names() {
        // The zip reader keeps one of the duplicates silently; which one a tool extracts
        // differs between tools, so such an archive can show different contents to different
        // people.
        return Err(Error::Verify(
            "the zip has a duplicate entry (two files with the same name); refusing it".into(),
        ));
    }
    if zip
        .has_overlapping_files()
        .map_err(|e| Error::Verify(format!("the zip structure is damaged: {e}")))?
    {
        return Err(Error::Verify(
            "the zip has entries that share the same data (a zip-bomb technique); refusing it"
                .into(),
        ));
    }

    let mut problems = Vec::new();
    let mut root: Option<String> = None;
    let mut planned = Vec::new();
    let mut dirs = Vec::new();
    let mut seen: HashMap<String, String> = HashMap::new();
    let mut declared_total: u64 = 0;
    for index in 0..zip.len() {
        let entry = zip
            .by_index_raw(index)
            .map_err(|e| Error::Verify(format!("zip entry #{index} is damaged: {e}")))?;
        let raw_name = String::from_utf8_lossy(entry.name_raw()).into_owned();
        let shown = printable(&raw_name);
        let name = match entry.name() {
            Ok(n) => n.into_owned(),
            Err(e) => {
                problems.push(problem(&shown, format!("unreadable name: {e}")));
                continue;
            }
        };
        let components = match safe_components(&name) {
            Ok(c) => c,
            Err(why) => {
                problems.push(problem(
                    &shown,
                    format!("unsafe name ({why}); not extracted"),
                ));
                continue;
            }
        };
        if entry.enclosed_name().is_none() {
            problems.push(problem(&shown, "unsafe name; not extracted"));
            continue;
        }
        let is_dir = name.ends_with('/');
        if entry.is_symlink() {
            problems.push(problem(&shown, "symbolic link; links are never extracted"));
            continue;
        }
        if let Some(mode) = entry.unix_mode() {
            let kind = mode & 0o170000;
            if kind != 0 && kind != 0o100000 && kind != 0o040000 {
                problems.push(problem(
                    &shown,
                    "special file (device, pipe or socket); not extracted",
                ));
                continue;
            }
        }
        if entry.encrypted() {
            problems.push(problem(
                &shown,
                "uses zip-level encryption, which dsar refuses (age already encrypts the archive)",
            ));
            continue;
        }
        let top = components[0].clone();
        match &root {
            None => root = Some(top.clone()),
            Some(r) if *r != top => {
                problems.push(problem(
                    &shown,
                    format!("outside the bag folder '{r}/' (the zip must hold one folder)"),
                ));
                continue;
            }
            Some(_) => {}
        }
        let rel = components[1..].join("/");
        let key = fold(&components.join("/"));
        if let Some(previous) = seen.insert(key, name.clone()) {
            let what = if previous == name {
                "duplicate entry".to_string()
            } else {
                format!(
                    "clashes with '{}' (same name up to case or Unicode normalisation)",
                    printable(&previous)
                )
            };
            problems.push(problem(&shown, what));
            continue;
        }
        if is_dir {
            if !rel.is_empty() {
                dirs.push(rel);
            }
            continue;
        }
        if rel.is_empty() {
            problems.push(problem(
                &shown,
                "a file beside the bag folder, not inside it",
            ));
            continue;
        }
        let declared = entry.size();
        let compressed = entry.compressed_size();
        if declared > limits.max_entry_bytes {
            return Err(Error::Verify(format!(
                "{shown}: {declared} bytes uncompressed, more than the per-file limit of {} (raise it with DSAR_MAX_ENTRY_SIZE if the archive is genuine)",
                limits.max_entry_bytes
            )));
        }
        if declared > RATIO_EXEMPT_BYTES && declared / compressed.max(1) > limits.max_ratio {
            return Err(Error::Verify(format!(
                "{shown}: compression ratio {}:1 is above {}:1, a sign of a zip bomb; refusing the archive (raise the limit with DSAR_MAX_RATIO if it is genuine)",
                declared / compressed.max(1),
                limits.max_ratio
            )));
        }
        declared_total = declared_total.saturating_add(declared);
        if declared_total > limits.max_total_bytes {
            return Err(Error::Verify(format!(
                "the archive expands to more than {} bytes, the total limit (raise it with DSAR_MAX_TOTAL_SIZE if the archive is genuine)",
                limits.max_total_bytes
            )));
        }
        match entry.compression() {
            zip::CompressionMethod::Stored | zip::CompressionMethod::Deflated => {}
            other => {
                problems.push(problem(
                    &format!("{}/{rel}", components[0]),
                    format!("uses compression method {other:?}; dsar reads deflate and stored entries only"),
                ));
                continue;
            }
        }
        planned.push(Planned {
            index,
            rel,
            declared,
        });
    }
    let Some(root) = root else {
        return Err(Error::Verify(
            "not a BagIt bag: the zip is empty or holds no usable entry".into(),
        ));
    };
    let names: BTreeSet<&str> = planned.iter().map(|p| p.rel.as_str()).collect();
    if !names.contains("bagit.txt") {
        return Err(Error::Verify(format!(
            "not a BagIt bag: '{}/bagit.txt' is missing (the zip must hold one folder that is a BagIt bag, RFC 8493)",
            printable(&root)
        )));
    }
    let want_sha512 = names
        .iter()
        .any(|n| *n == "manifest-sha512.txt" || *n == "tagmanifest-sha512.txt");

    let mut checker = Checker::new(root.clone(), want_sha512);
    checker.problems = problems
        .into_iter()
        .map(|p| Problem {
            path: strip_root(&p.path, &root),
            problem: p.problem,
        })
        .collect();
    let base = extract_into.map(|d| d.join(&root));
    if let Some(base) = &base {
        fs::create_dir_all(base).map_err(|e| Error::io("cannot create", base, e))?;
        for d in &dirs {
            let p = base.join(d);
            fs::create_dir_all(&p).map_err(|e| Error::io("cannot create", &p, e))?;
        }
    }
    for p in planned {
        crate::interrupt::check()?;
        let mut file = match zip.by_index(p.index) {
            Ok(f) => f,
            Err(e) => {
                checker.problem(&p.rel, format!("cannot read this entry: {e}"));
                continue;
            }
        };
        let mut sink: Box<dyn Write> = match &base {
            Some(base) => match create_private_file(base, &p.rel) {
                Ok(f) => Box::new(io::BufWriter::new(f)),
                // A file where a folder should be, or the other way round: the archive's
                // fault, not the disk's.
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::AlreadyExists | io::ErrorKind::NotADirectory
                    ) =>
                {
                    checker.problem(&p.rel, "clashes with another entry; not extracted");
                    continue;
                }
                Err(e) => {
                    return Err(Error::runtime(format!(
                        "cannot extract {}: {e}",
                        printable(&p.rel)
                    )))
                }
            },
            None => Box::new(io::sink()),
        };
        let mut limited = (&mut file).take(p.declared.saturating_add(1));
        checker.add_file(
            &p.rel,
            &mut limited,
            &mut sink,
            Some(p.declared),
            Some(p.index),
        )?;
        sink.flush()
            .map_err(|e| Error::runtime(format!("cannot write {}: {e}", p.rel)))?;
    }
    Ok(checker.finish())
}

/// Checks a bag folder on disk (for `import DIR`): every regular file is hashed; symbolic
/// links and special files are problems and are never followed.
pub fn check_dir(bag: &Path, limits: &Limits) -> Result<Report> {
    if !bag.join("bagit.txt").is_file() {
        return Err(Error::Verify(format!(
            "not a BagIt bag: {} has no bagit.txt",
            bag.display()
        )));
    }
    let mut files = Vec::new();
    let mut problems = Vec::new();
    walk(bag, "", &mut files, &mut problems, limits)?;
    let want_sha512 = files
        .iter()
        .any(|f| f == "manifest-sha512.txt" || f == "tagmanifest-sha512.txt");
    let mut checker = Checker::new(String::new(), want_sha512);
    checker.problems = problems;
    for rel in files {
        crate::interrupt::check()?;
        let path = bag.join(&rel);
        let mut f = fs::File::open(&path).map_err(|e| Error::io("cannot open", &path, e))?;
        checker.add_file(&rel, &mut f, &mut io::sink(), None, None)?;
    }
    Ok(checker.finish())
}

fn walk(
    dir: &Path,
    prefix: &str,
    files: &mut Vec<String>,
    problems: &mut Vec<Problem>,
    limits: &Limits,
) -> Result<()> {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .map_err(|e| Error::io("cannot read folder", dir, e))?
        .collect::<io::Result<_>>()
        .map_err(|e| Error::io("cannot read folder", dir, e))?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name().to_string_lossy().into_owned();
        let rel = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        let kind = e
            .file_type()
            .map_err(|err| Error::io("cannot read", &e.path(), err))?;
        if kind.is_dir() {
            walk(&e.path(), &rel, files, problems, limits)?;
        } else if kind.is_file() {
            files.push(rel);
            if files.len() > limits.max_entries {
                return Err(Error::Verify(format!(
                    "the bag holds more than {} files (raise the limit with DSAR_MAX_ENTRIES)",
                    limits.max_entries
                )));
            }
        } else {
            problems.push(problem(&rel, "symbolic link or special file; not read"));
        }
    }
    Ok(())
}

/// Hashes files and compares them with the bag's manifests.
struct Checker {
    root: String,
    want_sha512: bool,
    files: BTreeMap<String, FileInfo>,
    /// Tag files and `data/manifest.json`, kept to be parsed.
    kept: HashMap<String, Vec<u8>>,
    problems: Vec<Problem>,
}

fn keep_content(rel: &str) -> bool {
    !rel.starts_with("data/") || rel == "data/manifest.json"
}

impl Checker {
    fn new(root: String, want_sha512: bool) -> Self {
        Checker {
            root,
            want_sha512,
            files: BTreeMap::new(),
            kept: HashMap::new(),
            problems: Vec::new(),
        }
    }

    fn problem(&mut self, path: &str, what: impl Into<String>) {
        self.problems.push(problem(path, what));
    }

    fn add_file(
        &mut self,
        rel: &str,
        input: &mut dyn Read,
        out: &mut dyn Write,
        declared: Option<u64>,
        zip_index: Option<usize>,
    ) -> Result<()> {
        let keep = keep_content(rel);
        let mut kept = Vec::new();
        let mut sha256 = Sha256::new();
        let mut sha512 = self.want_sha512.then(Sha512::new);
        let mut bytes: u64 = 0;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match input.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.problem(rel, format!("damaged entry: {e}"));
                    return Ok(());
                }
            };
            let chunk = &buf[..n];
            bytes += n as u64;
            if declared.is_some_and(|d| bytes > d) {
                // The reader is capped one byte past the declared size, so this is reached
                // with at most one extra byte in hand.
                return Err(Error::Verify(format!(
                    "{}: the entry holds more data than its declared size; refusing the archive",
                    printable(rel)
                )));
            }
            sha256.update(chunk);
            if let Some(h) = sha512.as_mut() {
                h.update(chunk);
            }
            if keep && (kept.len() as u64) < MAX_PARSED_FILE_BYTES {
                kept.extend_from_slice(chunk);
            }
            out.write_all(chunk)
                .map_err(|e| Error::runtime(format!("cannot write {}: {e}", printable(rel))))?;
        }
        if let Some(d) = declared {
            if bytes != d {
                self.problem(
                    rel,
                    format!("holds {bytes} bytes but the zip declares {d} (truncated entry)"),
                );
            }
        }
        if keep {
            if bytes > MAX_PARSED_FILE_BYTES {
                self.problem(rel, "too large to be a tag file or manifest; not parsed");
            } else {
                self.kept.insert(rel.to_string(), kept);
            }
        }
        self.files.insert(
            rel.to_string(),
            FileInfo {
                bytes,
                sha256: hex::encode(sha256.finalize()),
                sha512: sha512.map(|h| hex::encode(h.finalize())),
                zip_index,
            },
        );
        Ok(())
    }

    fn finish(mut self) -> Report {
        let mut manifests_checked = Vec::new();
        match self
            .kept
            .get("bagit.txt")
            .map(|b| String::from_utf8_lossy(b).into_owned())
        {
            Some(text) if text.lines().any(|l| l.starts_with("BagIt-Version:")) => {}
            Some(_) => self.problem("bagit.txt", "has no 'BagIt-Version:' line"),
            None => self.problem("bagit.txt", "missing or unreadable"),
        }
        if self.files.contains_key("fetch.txt") {
            self.problem(
                "fetch.txt",
                "the bag lists files to download (fetch.txt); only complete bags are accepted",
            );
        }

        // Payload manifests.
        let mut payload_manifests = 0;
        let manifest_names: Vec<String> = self
            .files
            .keys()
            .filter(|k| !k.contains('/'))
            .filter(|k| k.starts_with("manifest-") && k.ends_with(".txt"))
            .cloned()
            .collect();
        for name in &manifest_names {
            let Some(algo) = algorithm(name, "manifest-") else {
                continue;
            };
            payload_manifests += 1;
            manifests_checked.push(name.clone());
            let listed = self.check_manifest(name, algo);
            let payload: Vec<String> = self
                .files
                .keys()
                .filter(|k| k.starts_with("data/"))
                .cloned()
                .collect();
            for p in payload {
                if !listed.contains(&p) {
                    self.problem(&p, format!("not listed in {name}"));
                }
            }
        }
        if payload_manifests == 0 {
            self.problem(
                "manifest-sha256.txt",
                "missing: the bag has no payload manifest dsar can check (sha256 or sha512)",
            );
        }
        let tag_names: Vec<String> = self
            .files
            .keys()
            .filter(|k| !k.contains('/'))
            .filter(|k| k.starts_with("tagmanifest-") && k.ends_with(".txt"))
            .cloned()
            .collect();
        for name in &tag_names {
            if let Some(algo) = algorithm(name, "tagmanifest-") {
                manifests_checked.push(name.clone());
                let listed = self.check_manifest(name, algo);
                for l in listed {
                    if l.starts_with("data/") {
                        self.problem(&l, format!("payload file listed in {name}"));
                    }
                }
            }
        }

        let (payload_files, payload_bytes) = self
            .files
            .iter()
            .filter(|(k, _)| k.starts_with("data/"))
            .fold((0u64, 0u64), |(n, b), (_, f)| (n + 1, b + f.bytes));
        self.check_oxum(payload_files, payload_bytes);
        let dsar = self.check_dsar_manifest();
        self.problems.sort_by(|a, b| a.path.cmp(&b.path));
        self.problems.dedup();
        Report {
            root: self.root,
            payload_files,
            payload_bytes,
            manifests_checked,
            dsar,
            problems: self.problems,
            files: self.files,
        }
    }

    /// Compares every line of one manifest with the files; returns the paths it lists.
    fn check_manifest(&mut self, name: &str, algo: Algo) -> BTreeSet<String> {
        let mut listed = BTreeSet::new();
        let Some(bytes) = self.kept.get(name) else {
            return listed;
        };
        let text = match std::str::from_utf8(bytes) {
            Ok(t) => t.to_string(),
            Err(_) => {
                self.problem(name, "not UTF-8 text");
                return listed;
            }
        };
        for (i, line) in text.lines().enumerate() {
            let line = line.trim_end_matches('\r');
            if line.trim().is_empty() {
                continue;
            }
            let Some((hash, path)) = line.split_once([' ', '\t']) else {
                self.problem(
                    name,
                    format!("line {}: expected '<checksum> <path>'", i + 1),
                );
                continue;
            };
            let path = decode_manifest_path(path.trim_start_matches([' ', '\t']));
            let path = path.strip_prefix("./").unwrap_or(&path).to_string();
            if safe_components(&path).is_err() {
                self.problem(name, format!("line {}: unsafe path", i + 1));
                continue;
            }
            if !listed.insert(path.clone()) {
                self.problem(
                    name,
                    format!("line {}: {} is listed twice", i + 1, printable(&path)),
                );
                continue;
            }
            let actual = self.files.get(&path).map(|f| match algo {
                Algo::Sha256 => f.sha256.clone(),
                Algo::Sha512 => f.sha512.clone().unwrap_or_default(),
            });
            match actual {
                None => self.problem(&path, format!("listed in {name} but missing")),
                Some(a) if !a.eq_ignore_ascii_case(hash.trim()) => {
                    self.problem(&path, format!("checksum does not match {name}"))
                }
                Some(_) => {}
            }
        }
        listed
    }

    fn check_oxum(&mut self, files: u64, bytes: u64) {
        let Some(info) = self.kept.get("bag-info.txt") else {
            return;
        };
        let text = String::from_utf8_lossy(info).into_owned();
        let Some(oxum) = text
            .lines()
            .find_map(|l| l.strip_prefix("Payload-Oxum:"))
            .map(str::trim)
        else {
            return;
        };
        let parsed = oxum
            .split_once('.')
            .and_then(|(b, n)| Some((b.parse::<u64>().ok()?, n.parse::<u64>().ok()?)));
        match parsed {
            Some((b, n)) if b == bytes && n == files => {}
            Some((b, n)) => self.problem(
                "bag-info.txt",
                format!("Payload-Oxum says {b} bytes in {n} files; the payload has {bytes} bytes in {files} files"),
            ),
            None => self.problem("bag-info.txt", "Payload-Oxum is not '<bytes>.<files>'"),
        }
    }

    fn check_dsar_manifest(&mut self) -> Option<DsarSummary> {
        let bytes = self.kept.get("data/manifest.json")?;
        let doc: serde_json::Value = match serde_json::from_slice(bytes) {
            Ok(v) => v,
            Err(e) => {
                self.problem("data/manifest.json", format!("not valid JSON: {e}"));
                return None;
            }
        };
        // A manifest.json that is not dsar's is somebody else's payload file: leave it.
        doc.get("manifest_version")?;
        let mut summary = DsarSummary {
            request_id: doc
                .pointer("/request/id")
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_string(),
            sources: 0,
            total_records: doc
                .get("total_records")
                .and_then(|v| v.as_u64())
                .unwrap_or(0),
            files_checked: 0,
        };
        let sources = doc
            .get("sources")
            .and_then(|s| s.as_array())
            .cloned()
            .unwrap_or_default();
        summary.sources = sources.len();
        let mut findings = Vec::new();
        for source in &sources {
            let sname = source.get("name").and_then(|v| v.as_str()).unwrap_or("?");
            for f in source
                .get("files")
                .and_then(|v| v.as_array())
                .map(|v| v.as_slice())
                .unwrap_or(&[])
            {
                let Some(path) = f.get("path").and_then(|v| v.as_str()) else {
                    findings.push((
                        "data/manifest.json".to_string(),
                        format!("source '{sname}': a file without a path"),
                    ));
                    continue;
                };
                let full = format!("data/{path}");
                summary.files_checked += 1;
                match self.files.get(&full) {
                    None => findings.push((
                        full,
                        format!("listed in manifest.json (source '{sname}') but missing"),
                    )),
                    Some(info) => {
                        let sha = f.get("sha256").and_then(|v| v.as_str()).unwrap_or("");
                        if !info.sha256.eq_ignore_ascii_case(sha) {
                            findings
                                .push((full.clone(), "sha256 does not match manifest.json".into()));
                        }
                        if f.get("bytes").and_then(|v| v.as_u64()) != Some(info.bytes) {
                            findings.push((full, "size does not match manifest.json".into()));
                        }
                    }
                }
            }
        }
        for (p, w) in findings {
            self.problem(&p, w);
        }
        Some(summary)
    }
}

#[derive(Clone, Copy)]
enum Algo {
    Sha256,
    Sha512,
}

/// `manifest-sha256.txt` → sha256; algorithms dsar cannot compute are skipped (a bag always
/// has sha256 or sha512 in practice; bagit.py writes both).
fn algorithm(name: &str, prefix: &str) -> Option<Algo> {
    match name.strip_prefix(prefix)?.strip_suffix(".txt")? {
        "sha256" => Some(Algo::Sha256),
        "sha512" => Some(Algo::Sha512),
        _ => None,
    }
}

fn problem(path: &str, what: impl Into<String>) -> Problem {
    Problem {
        path: path.to_string(),
        problem: what.into(),
    }
}

fn strip_root(path: &str, root: &str) -> String {
    path.strip_prefix(root)
        .and_then(|p| p.strip_prefix('/'))
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| path.to_string())
}

/// A name made safe to print: control characters escaped.
pub fn printable(name: &str) -> String {
    name.chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}

/// Case- and normalisation-insensitive key, to catch names that collide on macOS/Windows.
fn fold(path: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    path.trim_end_matches('/')
        .nfc()
        .collect::<String>()
        .to_lowercase()
}

/// Windows reserved device names, refused as any path component (with or without extension).
const DEVICE_NAMES: [&str; 26] = [
    "CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$", "COM0", "COM1", "COM2", "COM3", "COM4",
    "COM5", "COM6", "COM7", "COM8", "COM9", "LPT0", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6",
    "LPT7", "LPT8", "LPT9",
];

/// Splits an entry name into components that are safe to create on any platform, or says
/// why not. A trailing `/` (directory entry) is allowed.
pub fn safe_components(name: &str) -> std::result::Result<Vec<String>, &'static str> {
    if name.is_empty() {
        return Err("empty name");
    }
    if name.contains('\0') {
        return Err("NUL byte");
    }
    if name.contains('\\') {
        return Err("backslash");
    }
    if name.starts_with('/') {
        return Err("absolute path");
    }
    let bytes = name.as_bytes();
    if bytes.len() >= 2 && bytes[1] == b':' && bytes[0].is_ascii_alphabetic() {
        return Err("absolute path (drive letter)");
    }
    if name.len() > 4096 {
        return Err("path too long");
    }
    let trimmed = name.strip_suffix('/').unwrap_or(name);
    let mut out = Vec::new();
    for c in trimmed.split('/') {
        match c {
            "" => return Err("empty path component"),
            "." | ".." => return Err("'.' or '..' component"),
            _ => {}
        }
        if c.chars().any(char::is_control) {
            return Err("control character");
        }
        if c.contains(':') {
            return Err("':' in a name");
        }
        if c.ends_with('.') || c.ends_with(' ') {
            return Err("name ends with '.' or a space");
        }
        if c.len() > 255 {
            return Err("name longer than 255 bytes");
        }
        let stem = c
            .split('.')
            .next()
            .unwrap_or("")
            .trim_end()
            .to_ascii_uppercase();
        if DEVICE_NAMES.contains(&stem.as_str()) {
            return Err("Windows device name");
        }
        out.push(c.to_string());
    }
    Ok(out)
}

/// Creates `base/rel` (parents included) as a new private file; fails if it exists, so two
/// entries can never write the same file and nothing pre-existing is ever followed.
fn create_private_file(base: &Path, rel: &str) -> io::Result<fs::File> {
    let path: PathBuf = rel.split('/').fold(base.to_path_buf(), |p, c| p.join(c));
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    crate::destination::local::create_private(&path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(safe_components("bag/data/a.csv").is_ok());
        assert!(safe_components("bag/data/").is_ok());
        for bad in [
            "../evil",
            "bag/../../evil",
            "/etc/passwd",
            "C:/x",
            "bag/a\\b",
            "bag/CON.txt",
            "bag/nul",
            "bag/a\0b",
            "bag//a",
            "bag/./a",
            "bag/a\nb",
            "bag/x.",
        ] {
            assert!(safe_components(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(check_zip_bytes(b"").is_err());
        assert!(check_zip_bytes(b"PK\x05\x06garbage").is_err());
    }
}
