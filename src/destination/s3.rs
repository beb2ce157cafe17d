//! S3 delivery: the archive is streamed into a multipart upload and handed out behind a
//! presigned, time-limited link; `dsar link` re-issues the link and `dsar revoke` deletes the
//! object so that every earlier link stops working.
//!
//! The export pipeline writes ciphertext synchronously into an [`Upload`]. Here that `Write`
//! fills part-sized buffers and passes each full one over a bounded channel (one slot) to an
//! uploader task on a small tokio runtime owned by the destination, so producing and
//! uploading overlap while memory stays at about three parts (the one being filled, the one
//! queued, the one on the wire). Nothing is visible until `CompleteMultipartUpload`; every
//! failure (a write error, an S3 error, the server gone, Ctrl-C) aborts the multipart upload,
//! retrying the abort for a while because a server that just dropped a connection is often
//! back a moment later, and a dangling upload keeps its parts (and costs) until a lifecycle
//! rule removes it.
//!
//! The SHA-256 of the ciphertext is known only once the last byte has gone out, after the
//! upload was created. It is recorded as object metadata (`x-amz-meta-sha256`) by a final
//! in-place copy with `MetadataDirective: REPLACE` (server-side, no data through dsar), which
//! S3 allows up to 5 GiB; a larger archive gets an object tag `sha256` instead. The receipt,
//! the notice and the ledger carry the hash in any case.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::config::{
    BehaviorVersion, ProvideCredentials, Region, RequestChecksumCalculation,
    ResponseChecksumValidation,
};
use aws_sdk_s3::error::SdkError;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    CompletedMultipartUpload, CompletedPart, MetadataDirective, ServerSideEncryption, Tag, Tagging,
};
use aws_sdk_s3::Client;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use tokio::runtime::Runtime;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::{Delivered, Destination, Link, Sealed, Upload};
use crate::config::{self, Config, DestinationConfig};
use crate::error::{Error, Result};
use crate::ledger::Ledger;

/// Default multipart part size.
pub const DEFAULT_PART_SIZE: usize = 16 * 1024 * 1024;
/// S3 allows at most this many parts in one upload.
const MAX_PARTS: i32 = 10_000;
/// CopyObject (used to record the hash as metadata) handles objects up to 5 GiB.
const MAX_COPY_BYTES: u64 = 5 * 1024 * 1024 * 1024;
/// How long an abort keeps retrying when the server is unreachable.
const ABORT_WINDOW: Duration = Duration::from_secs(20);

/// Server-side encryption of the uploaded objects.
#[derive(Debug, Clone)]
enum Sse {
    Aes256,
    Kms(Option<String>),
}

/// `[destination]` resolved for S3.
#[derive(Debug, Clone)]
struct Settings {
    bucket: String,
    prefix: String,
    region: Option<String>,
    endpoint: Option<String>,
    ttl: Duration,
    sse: Sse,
    part_size: usize,
}

impl Settings {
    fn from_config(cfg: &DestinationConfig) -> Result<Settings> {
        let bad = |field: &str, e: String| Error::Config(format!("destination.{field}: {e}"));
        let bucket = cfg
            .bucket
            .clone()
            .filter(|b| !b.trim().is_empty())
            .ok_or_else(|| {
                Error::Config("destination.bucket is required for an s3 destination".into())
            })?;
        let ttl = match &cfg.link_ttl {
            Some(t) => config::link_ttl(t).map_err(|e| bad("link_ttl", e))?,
            None => config::MAX_LINK_TTL,
        };
        let part_size = match &cfg.part_size {
            Some(p) => {
                let bytes = config::parse_size(p).map_err(|e| bad("part_size", e))?;
                usize::try_from(bytes).map_err(|_| bad("part_size", "is too large".into()))?
            }
            None => DEFAULT_PART_SIZE,
        };
        let sse = match cfg.sse.as_deref() {
            None | Some("AES256") => Sse::Aes256,
            Some("aws:kms") => Sse::Kms(cfg.kms_key_id.clone()),
            Some(other) => {
                return Err(bad(
                    "sse",
                    format!("'{other}' must be \"AES256\" or \"aws:kms\""),
                ))
            }
        };
        Ok(Settings {
            bucket,
            prefix: cfg.prefix.clone().unwrap_or_default(),
            region: cfg.region.clone().filter(|r| !r.trim().is_empty()),
            endpoint: cfg.endpoint.clone().filter(|e| !e.trim().is_empty()),
            ttl,
            sse,
            part_size,
        })
    }

    fn from_main_config(config: &Config) -> Result<Settings> {
        match &config.destination {
            Some(d) if d.kind == "s3" => Settings::from_config(d),
            _ => Err(Error::Config(format!(
                "{}: links and revocation need [destination] type = \"s3\" (bucket, region or endpoint) to reach the archive",
                config.file.display()
            ))),
        }
    }

    /// Where the store is, for messages (never credentials).
    fn place(&self) -> String {
        match (&self.endpoint, &self.region) {
            (Some(e), _) => e.clone(),
            (None, Some(r)) => format!("region {r}"),
            (None, None) => "the default AWS region".into(),
        }
    }
}

/// An S3 client on a runtime of its own; the rest of dsar is synchronous.
#[derive(Clone)]
struct Store {
    runtime: Arc<Runtime>,
    client: Client,
    settings: Settings,
}

impl Store {
    /// Builds the client: credentials from the standard AWS chain, checked now so that a
    /// missing one fails before any work; retries with backoff; short connect timeout.
    fn connect(settings: Settings) -> Result<Store> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("dsar-s3")
            .enable_all()
            .build()
            .map_err(|e| Error::runtime(format!("cannot start the S3 runtime: {e}")))?;
        let client = runtime.block_on(async {
            let retry = RetryConfig::standard()
                .with_max_attempts(4)
                .with_initial_backoff(Duration::from_millis(500))
                .with_max_backoff(Duration::from_secs(8));
            // The read timeout runs from sending a request to the first response byte, so it
            // must cover sending a whole part: 60 s allows ~0.3 MB/s with 16 MiB parts.
            let timeouts = TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(5))
                .read_timeout(Duration::from_secs(60))
                .build();
            let mut loader = aws_config::defaults(BehaviorVersion::latest())
                .retry_config(retry)
                .timeout_config(timeouts);
            if let Some(r) = &settings.region {
                loader = loader.region(Region::new(r.clone()));
            }
            let shared = loader.load().await;
            let region = match (shared.region(), &settings.endpoint) {
                (Some(r), _) => r.clone(),
                (None, Some(_)) => Region::new("us-east-1"),
                (None, None) => {
                    return Err(Error::Config(
                        "no AWS region: set destination.region in the config or AWS_REGION".into(),
                    ))
                }
            };
            let provider = shared.credentials_provider().ok_or_else(no_credentials)?;
            if let Err(e) = provider.provide_credentials().await {
                tracing::debug!("credential chain: {e}");
                return Err(no_credentials());
            }
            let mut builder = aws_sdk_s3::config::Builder::from(&shared)
                .region(region)
                .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
                .response_checksum_validation(ResponseChecksumValidation::WhenRequired);
            if let Some(endpoint) = &settings.endpoint {
                builder = builder.endpoint_url(endpoint).force_path_style(true);
            }
            Ok(Client::from_conf(builder.build()))
        })?;
        Ok(Store {
            runtime: Arc::new(runtime),
            client,
            settings,
        })
    }

    fn bucket(&self) -> &str {
        &self.settings.bucket
    }

    fn url(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.settings.bucket)
    }

    /// Fails early when the bucket is missing or the store unreachable. A 403 is only a
    /// warning: HeadBucket needs s3:ListBucket, which an upload-only policy may not grant.
    fn check_bucket(&self) -> Result<()> {
        let result = self
            .runtime
            .block_on(self.client.head_bucket().bucket(self.bucket()).send());
        match result {
            Ok(_) => Ok(()),
            Err(e) if status(&e) == Some(403) => {
                tracing::warn!(
                    "cannot check bucket '{}' (access denied to HeadBucket); continuing",
                    self.bucket()
                );
                Ok(())
            }
            Err(e) if status(&e) == Some(404) => Err(Error::Config(format!(
                "bucket '{}' does not exist at {}; create it or fix destination.bucket",
                self.bucket(),
                self.settings.place()
            ))),
            Err(e) => Err(Error::runtime(format!(
                "cannot reach bucket '{}' at {}: {}",
                self.bucket(),
                self.settings.place(),
                explain(&e)
            ))),
        }
    }

    fn sse(&self) -> (ServerSideEncryption, Option<String>) {
        match &self.settings.sse {
            Sse::Aes256 => (ServerSideEncryption::Aes256, None),
            Sse::Kms(key) => (ServerSideEncryption::AwsKms, key.clone()),
        }
    }

    /// A presigned GET for `key`, valid for `ttl` from now.
    fn presign(&self, key: &str, disposition: Option<String>, ttl: Duration) -> Result<Link> {
        let start = SystemTime::now();
        let presigning = PresigningConfig::builder()
            .start_time(start)
            .expires_in(ttl)
            .build()
            .map_err(|e| Error::Usage(format!("link lifetime: {e}")))?;
        let request = self.runtime.block_on(
            self.client
                .get_object()
                .bucket(self.bucket())
                .key(key)
                .set_response_content_disposition(disposition)
                .presigned(presigning),
        );
        let request = request.map_err(|e| {
            Error::runtime(format!(
                "cannot sign a link for {}: {}",
                self.url(key),
                explain(&e)
            ))
        })?;
        let expires: DateTime<Utc> = (start + ttl).into();
        Ok(Link {
            url: request.uri().to_string(),
            expires_at: expires.to_rfc3339_opts(SecondsFormat::Secs, true),
        })
    }

    /// Presigned links to the archive and its decryption page.
    fn links(&self, request_id: &str, key: &str, ttl: Duration) -> Result<(Link, Link)> {
        let archive = self.presign(key, Some(content_disposition(request_id)), ttl)?;
        let page = self.presign(&page_key(key), None, ttl)?;
        Ok((archive, page))
    }

    /// True when `key` exists; errors other than 404 are reported.
    fn exists(&self, key: &str) -> Result<bool> {
        let result = self.runtime.block_on(
            self.client
                .head_object()
                .bucket(self.bucket())
                .key(key)
                .send(),
        );
        match result {
            Ok(_) => Ok(true),
            Err(e) if status(&e) == Some(404) => Ok(false),
            Err(e) => Err(Error::runtime(format!(
                "cannot check {}: {}",
                self.url(key),
                explain(&e)
            ))),
        }
    }

    /// Best effort: aborts every multipart upload of exactly `key` (ListMultipartUploads).
    fn abort_uploads_under(&self, key: &str) {
        let result: std::result::Result<usize, String> = self.runtime.block_on(async {
            let listing = self
                .client
                .list_multipart_uploads()
                .bucket(self.bucket())
                .prefix(key)
                .send()
                .await
                .map_err(|e| explain(&e))?;
            let mut aborted = 0;
            for upload in listing.uploads() {
                if let (Some(k), Some(id)) = (upload.key(), upload.upload_id()) {
                    if k == key {
                        self.client
                            .abort_multipart_upload()
                            .bucket(self.bucket())
                            .key(k)
                            .upload_id(id)
                            .send()
                            .await
                            .map_err(|e| explain(&e))?;
                        aborted += 1;
                    }
                }
            }
            Ok(aborted)
        });
        match result {
            Ok(0) => {}
            Ok(n) => tracing::info!("aborted {n} multipart upload(s) of {}", self.url(key)),
            Err(e) => tracing::debug!("cannot list multipart uploads of {}: {e}", self.url(key)),
        }
    }

    /// Deletes `key` and, on a versioned bucket, every version of it.
    fn delete(&self, key: &str) -> Result<()> {
        self.runtime.block_on(async {
            let fail = |e: &dyn std::fmt::Display| {
                Error::runtime(format!("cannot delete {}: {e}", self.url(key)))
            };
            let versions = self
                .client
                .list_object_versions()
                .bucket(self.bucket())
                .prefix(key)
                .send()
                .await;
            // Servers without versioning support answer NotImplemented: nothing to purge.
            if let Ok(listing) = versions {
                let ids = listing
                    .versions()
                    .iter()
                    .filter(|v| v.key() == Some(key))
                    .filter_map(|v| v.version_id())
                    .chain(
                        listing
                            .delete_markers()
                            .iter()
                            .filter(|m| m.key() == Some(key))
                            .filter_map(|m| m.version_id()),
                    )
                    .filter(|id| *id != "null")
                    .map(str::to_string)
                    .collect::<Vec<_>>();
                for id in ids {
                    self.client
                        .delete_object()
                        .bucket(self.bucket())
                        .key(key)
                        .version_id(id)
                        .send()
                        .await
                        .map_err(|e| fail(&explain(&e)))?;
                }
            }
            match self
                .client
                .delete_object()
                .bucket(self.bucket())
                .key(key)
                .send()
                .await
            {
                Ok(_) => Ok(()),
                Err(e) if status(&e) == Some(404) => Ok(()),
                Err(e) => Err(fail(&explain(&e))),
            }
        })
    }
}

/// An SDK error as one line: each cause once, without the debug dump.
fn explain(e: &dyn std::error::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(e);
    while let Some(err) = next {
        let text = err.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = err.source();
    }
    parts.join(": ")
}

fn no_credentials() -> Error {
    Error::Config(
        "no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, or run with an instance or task role".into(),
    )
}

/// The HTTP status of an SDK error, when the server answered.
fn status<E>(e: &SdkError<E, aws_sdk_s3::config::http::HttpResponse>) -> Option<u16> {
    e.raw_response().map(|r| r.status().as_u16())
}

/// `Content-Disposition` of the download: the person's browser saves `<request-id>.zip.age`.
fn content_disposition(request_id: &str) -> String {
    format!("attachment; filename=\"{request_id}.zip.age\"")
}

/// `…/<random>.zip.age` → `…/<random>/open-archive.html`.
pub fn page_key(archive_key: &str) -> String {
    let stem = archive_key.strip_suffix(".zip.age").unwrap_or(archive_key);
    format!("{stem}/{}", crate::receive::open_page::FILE_NAME)
}

/// The S3 destination.
pub struct S3Destination {
    store: Store,
    out: PathBuf,
}

impl S3Destination {
    /// Checks the settings, the credentials and the bucket; `out` receives the receipt and
    /// the notices.
    pub fn new(cfg: &DestinationConfig, out: &Path) -> Result<Self> {
        let settings = Settings::from_config(cfg)?;
        let store = Store::connect(settings)?;
        store.check_bucket()?;
        std::fs::create_dir_all(out)
            .map_err(|e| Error::io("cannot create output folder", out, e))?;
        Ok(S3Destination {
            store,
            out: out.to_path_buf(),
        })
    }
}

impl Destination for S3Destination {
    fn begin(&mut self, request_id: &str, _file_name: &str) -> Result<Box<dyn Upload>> {
        let random: [u8; 16] = rand::random();
        let key = format!(
            "{}{request_id}/{}.zip.age",
            self.store.settings.prefix,
            hex::encode(random)
        );
        let (sse, kms_key) = self.store.sse();
        let created = self.store.runtime.block_on(
            self.store
                .client
                .create_multipart_upload()
                .bucket(self.store.bucket())
                .key(&key)
                .content_type("application/octet-stream")
                .content_disposition(content_disposition(request_id))
                .server_side_encryption(sse)
                .set_ssekms_key_id(kms_key)
                .metadata("request-id", request_id)
                .send(),
        );
        let created = match created {
            Ok(created) => created,
            Err(e) => {
                // The server may have created the upload and lost the answer: the key is new
                // and ours alone, so any upload under it is ours to abort.
                self.store.abort_uploads_under(&key);
                return Err(Error::runtime(format!(
                    "cannot start the upload to {}: {}",
                    self.store.url(&key),
                    explain(&e)
                )));
            }
        };
        let upload_id = created.upload_id().map(str::to_string).ok_or_else(|| {
            Error::runtime(format!(
                "the server started no multipart upload for {}",
                self.store.url(&key)
            ))
        })?;
        tracing::info!("uploading to {}", self.store.url(&key));
        let (tx, rx) = mpsc::channel::<Vec<u8>>(1);
        let task = self.store.runtime.spawn(upload_parts(
            self.store.client.clone(),
            self.store.bucket().to_string(),
            key.clone(),
            upload_id.clone(),
            rx,
        ));
        Ok(Box::new(S3Upload {
            store: self.store.clone(),
            request_id: request_id.to_string(),
            key,
            upload_id,
            buffer: Vec::with_capacity(self.store.settings.part_size),
            parts_sent: 0,
            tx: Some(tx),
            task: Some(task),
            done: false,
        }))
    }

    fn out_dir(&self) -> PathBuf {
        self.out.clone()
    }
}

/// The uploader task: sends each part as it arrives; returns the parts for completion.
async fn upload_parts(
    client: Client,
    bucket: String,
    key: String,
    upload_id: String,
    mut rx: mpsc::Receiver<Vec<u8>>,
) -> std::result::Result<Vec<CompletedPart>, String> {
    let mut parts = Vec::new();
    let mut number: i32 = 0;
    while let Some(part) = rx.recv().await {
        if crate::interrupt::is_raised() {
            return Err("interrupted".into());
        }
        number += 1;
        let bytes = part.len();
        let sent = client
            .upload_part()
            .bucket(&bucket)
            .key(&key)
            .upload_id(&upload_id)
            .part_number(number)
            .content_length(bytes as i64)
            .body(ByteStream::from(part))
            .send()
            .await
            .map_err(|e| {
                format!(
                    "upload of part {number} to s3://{bucket}/{key} failed: {}",
                    explain(&e)
                )
            })?;
        tracing::debug!("part {number} ({bytes} bytes) uploaded");
        parts.push(
            CompletedPart::builder()
                .part_number(number)
                .set_e_tag(sent.e_tag().map(str::to_string))
                .build(),
        );
    }
    Ok(parts)
}

/// A multipart upload in progress.
struct S3Upload {
    store: Store,
    request_id: String,
    key: String,
    upload_id: String,
    buffer: Vec<u8>,
    parts_sent: i32,
    tx: Option<mpsc::Sender<Vec<u8>>>,
    task: Option<JoinHandle<std::result::Result<Vec<CompletedPart>, String>>>,
    done: bool,
}

impl S3Upload {
    fn url(&self) -> String {
        self.store.url(&self.key)
    }

    /// Hands the current buffer to the uploader (waits while the channel is full).
    fn send_part(&mut self) -> Result<()> {
        if self.parts_sent >= MAX_PARTS {
            return Err(Error::runtime(format!(
                "the archive needs more than {MAX_PARTS} parts of {} bytes for {}; raise destination.part_size",
                self.store.settings.part_size,
                self.url()
            )));
        }
        let part = std::mem::replace(
            &mut self.buffer,
            Vec::with_capacity(self.store.settings.part_size),
        );
        let Some(tx) = self.tx.as_ref() else {
            return Err(Error::runtime(format!(
                "the upload to {} already failed",
                self.url()
            )));
        };
        if tx.blocking_send(part).is_err() {
            // The uploader stopped: its error says why.
            return Err(self.uploader_result().err().unwrap_or_else(|| {
                Error::runtime(format!("the uploader for {} stopped", self.url()))
            }));
        }
        self.parts_sent += 1;
        Ok(())
    }

    /// Waits for the uploader and returns its parts or its error.
    fn uploader_result(&mut self) -> Result<Vec<CompletedPart>> {
        self.tx.take();
        let task = self.task.take().ok_or_else(|| {
            Error::runtime(format!("the upload to {} already failed", self.url()))
        })?;
        match self.store.runtime.block_on(task) {
            Ok(Ok(parts)) => Ok(parts),
            Ok(Err(_)) | Err(_) if crate::interrupt::is_raised() => Err(Error::Interrupted),
            Ok(Err(message)) => Err(Error::runtime(message)),
            Err(e) => Err(Error::runtime(format!(
                "the uploader for {} failed: {e}",
                self.url()
            ))),
        }
    }

    fn finish(&mut self, sealed: &Sealed) -> Result<Delivered> {
        let last_byte = Instant::now();
        if !self.buffer.is_empty() || self.parts_sent == 0 {
            self.send_part()?;
        }
        let parts = self.uploader_result()?;
        crate::interrupt::check()?;
        let store = self.store.clone();
        let client = &store.client;
        let bucket = store.bucket();
        let completed = store.runtime.block_on(
            client
                .complete_multipart_upload()
                .bucket(bucket)
                .key(&self.key)
                .upload_id(&self.upload_id)
                .multipart_upload(
                    CompletedMultipartUpload::builder()
                        .set_parts(Some(parts))
                        .build(),
                )
                .send(),
        );
        completed.map_err(|e| {
            Error::runtime(format!(
                "cannot complete the upload to {}: {}",
                self.url(),
                explain(&e)
            ))
        })?;
        // From here the object exists: any failure must delete it again.
        self.done = true;
        match self.seal(sealed, last_byte) {
            Ok(delivered) => Ok(delivered),
            Err(e) => {
                tracing::warn!("removing {} after the failure", self.url());
                let _ = store.delete(&page_key(&self.key));
                if let Err(d) = store.delete(&self.key) {
                    tracing::error!("{d}");
                }
                Err(e)
            }
        }
    }

    /// Checks the stored size, records the hash, uploads the page, signs the links.
    fn seal(&self, sealed: &Sealed, last_byte: Instant) -> Result<Delivered> {
        let store = &self.store;
        let client = &store.client;
        let bucket = store.bucket();
        let head = store
            .runtime
            .block_on(client.head_object().bucket(bucket).key(&self.key).send())
            .map_err(|e| {
                Error::runtime(format!(
                    "cannot check the uploaded {}: {}",
                    self.url(),
                    explain(&e)
                ))
            })?;
        if head.content_length() != Some(sealed.bytes as i64) {
            return Err(Error::runtime(format!(
                "{} holds {} bytes but {} were sent; the upload is not trustworthy",
                self.url(),
                head.content_length().unwrap_or(-1),
                sealed.bytes
            )));
        }
        let (sse, kms_key) = store.sse();
        if sealed.bytes <= MAX_COPY_BYTES {
            let source = format!(
                "{bucket}/{}",
                percent_encoding::utf8_percent_encode(&self.key, KEY_ENCODE)
            );
            store
                .runtime
                .block_on(
                    client
                        .copy_object()
                        .bucket(bucket)
                        .key(&self.key)
                        .copy_source(source)
                        .metadata_directive(MetadataDirective::Replace)
                        .content_type("application/octet-stream")
                        .content_disposition(content_disposition(&self.request_id))
                        .server_side_encryption(sse.clone())
                        .set_ssekms_key_id(kms_key.clone())
                        .metadata("request-id", &self.request_id)
                        .metadata("sha256", &sealed.sha256)
                        .send(),
                )
                .map_err(|e| {
                    Error::runtime(format!(
                        "cannot record the SHA-256 on {}: {}",
                        self.url(),
                        explain(&e)
                    ))
                })?;
        } else {
            let tagging = Tag::builder()
                .key("sha256")
                .value(&sealed.sha256)
                .build()
                .and_then(|tag| Tagging::builder().tag_set(tag).build())
                .map_err(|e| Error::runtime(format!("object tag: {e}")))?;
            store
                .runtime
                .block_on(
                    client
                        .put_object_tagging()
                        .bucket(bucket)
                        .key(&self.key)
                        .tagging(tagging)
                        .send(),
                )
                .map_err(|e| {
                    Error::runtime(format!(
                        "cannot tag {} with its SHA-256: {}",
                        self.url(),
                        explain(&e)
                    ))
                })?;
        }
        let page = page_key(&self.key);
        store
            .runtime
            .block_on(
                client
                    .put_object()
                    .bucket(bucket)
                    .key(&page)
                    .content_type("text/html; charset=utf-8")
                    .server_side_encryption(sse)
                    .set_ssekms_key_id(kms_key)
                    .metadata("request-id", &self.request_id)
                    .body(ByteStream::from_static(
                        crate::receive::open_page::html().as_bytes(),
                    ))
                    .send(),
            )
            .map_err(|e| {
                Error::runtime(format!(
                    "cannot upload the decryption page to {}: {}",
                    store.url(&page),
                    explain(&e)
                ))
            })?;
        let (link, page_link) = store.links(&self.request_id, &self.key, store.settings.ttl)?;
        tracing::info!(
            "uploaded {} ({} bytes in {} part(s), done {:.2}s after the last byte); link expires {}",
            self.url(),
            sealed.bytes,
            self.parts_sent,
            last_byte.elapsed().as_secs_f64(),
            link.expires_at
        );
        Ok(Delivered {
            kind: "s3".into(),
            location: self.url(),
            bucket: Some(bucket.to_string()),
            key: Some(self.key.clone()),
            link: Some(link),
            open_page_link: Some(page_link),
        })
    }

    /// Aborts the multipart upload, retrying while the server is unreachable.
    fn abort_upload(&mut self) {
        if self.done {
            return;
        }
        self.done = true;
        self.tx.take();
        if let Some(task) = self.task.take() {
            task.abort();
        }
        tracing::warn!("aborting the multipart upload to {}", self.url());
        let store = &self.store;
        let started = Instant::now();
        let outcome = store.runtime.block_on(async {
            loop {
                let result = store
                    .client
                    .abort_multipart_upload()
                    .bucket(store.bucket())
                    .key(&self.key)
                    .upload_id(&self.upload_id)
                    .send()
                    .await;
                match result {
                    Ok(_) => return Ok(()),
                    Err(e) if status(&e) == Some(404) => return Ok(()),
                    Err(e) if started.elapsed() >= ABORT_WINDOW => return Err(explain(&e)),
                    Err(_) => tokio::time::sleep(Duration::from_millis(500)).await,
                }
            }
        });
        match outcome {
            Ok(()) => tracing::info!("multipart upload to {} aborted", self.url()),
            Err(e) => tracing::error!(
                "could not abort the multipart upload to {} ({e}); abort it with `aws s3api abort-multipart-upload --bucket {} --key {} --upload-id {}`, and consider a lifecycle rule AbortIncompleteMultipartUpload on the bucket",
                self.url(),
                store.bucket(),
                self.key,
                self.upload_id
            ),
        }
    }
}

/// Characters of a key escaped in `x-amz-copy-source` (`/` stays).
const KEY_ENCODE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'/')
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

impl Write for S3Upload {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if crate::interrupt::is_raised() {
            return Err(Error::Interrupted.into());
        }
        let part_size = self.store.settings.part_size;
        let room = part_size - self.buffer.len();
        let n = room.min(buf.len());
        self.buffer.extend_from_slice(&buf[..n]);
        if self.buffer.len() == part_size {
            self.send_part()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        // Parts go out when full; a short part in the middle would break the upload.
        Ok(())
    }
}

impl Upload for S3Upload {
    fn commit(mut self: Box<Self>, sealed: &Sealed) -> Result<Delivered> {
        match self.finish(sealed) {
            Ok(delivered) => Ok(delivered),
            Err(e) => {
                self.abort_upload();
                Err(e)
            }
        }
    }

    fn abort(mut self: Box<Self>) {
        self.abort_upload();
    }
}

impl Drop for S3Upload {
    fn drop(&mut self) {
        // Neither committed nor aborted (a panic): leave no upload behind.
        self.abort_upload();
    }
}

/// What `dsar link` prints.
#[derive(Debug, Serialize)]
struct Linked {
    request_id: String,
    bucket: String,
    key: String,
    link: Link,
    open_page_link: Option<Link>,
}

/// Finds an uploaded archive in the ledger.
fn uploaded(ledger: &Ledger, request_id: &str) -> Result<(String, String)> {
    crate::export::validate_request_id(request_id)?;
    let row = ledger.request(request_id)?.ok_or_else(|| {
        Error::Usage(format!(
            "request {request_id} is not in the ledger {}; check the id with `dsar requests list`",
            ledger.describe()
        ))
    })?;
    if row.status == "revoked" {
        return Err(Error::Usage(format!(
            "the archive of request {request_id} was revoked (deleted); export it again to send a new one"
        )));
    }
    match (row.destination_kind.as_str(), row.bucket, row.object_key) {
        ("s3", Some(bucket), Some(key)) => Ok((bucket, key)),
        (kind, _, _) => Err(Error::Usage(format!(
            "request {request_id} was delivered to a {kind} destination ({}), not to S3; there is no link to issue or revoke",
            row.location
        ))),
    }
}

/// A store for the bucket the ledger names (the config gives endpoint, region, credentials).
fn store_for(config: &Config, bucket: &str) -> Result<Store> {
    let mut settings = Settings::from_main_config(config)?;
    if settings.bucket != bucket {
        tracing::info!(
            "the archive is in bucket '{bucket}' (the config now names '{}')",
            settings.bucket
        );
        settings.bucket = bucket.to_string();
    }
    Store::connect(settings)
}

/// `dsar link REQUEST-ID [--ttl D]`: a fresh presigned link for an uploaded archive.
pub fn cmd_link(
    config: &Config,
    cmd: &crate::cli::LinkCmd,
    out: &crate::commands::Output,
) -> Result<()> {
    // --ttl, else the configured link_ttl, else the 7-day maximum.
    let ttl = match (
        &cmd.ttl,
        config
            .destination
            .as_ref()
            .and_then(|d| d.link_ttl.as_ref()),
    ) {
        (Some(t), _) => config::link_ttl(t).map_err(|e| Error::Usage(format!("--ttl {e}")))?,
        (None, Some(t)) => {
            config::link_ttl(t).map_err(|e| Error::Config(format!("destination.link_ttl: {e}")))?
        }
        (None, None) => config::MAX_LINK_TTL,
    };
    crate::export::validate_request_id(&cmd.request_id)?;
    let ledger = Ledger::open(config)?;
    let (bucket, key) = uploaded(&ledger, &cmd.request_id)?;
    let store = store_for(config, &bucket)?;
    if !store.exists(&key)? {
        return Err(Error::runtime(format!(
            "the archive {} no longer exists (deleted outside dsar?); export request {} again",
            store.url(&key),
            cmd.request_id
        )));
    }
    let page = page_key(&key);
    let has_page = store.exists(&page)?;
    let link = store.presign(&key, Some(content_disposition(&cmd.request_id)), ttl)?;
    let page_link = if has_page {
        Some(store.presign(&page, None, ttl)?)
    } else {
        None
    };
    ledger.record_link(&cmd.request_id, &link.expires_at, ttl.as_secs())?;
    let linked = Linked {
        request_id: cmd.request_id.clone(),
        bucket,
        key,
        link,
        open_page_link: page_link,
    };
    if out.json {
        return out.json(&linked);
    }
    let mut text = format!(
        "Link for request {} (expires {}):\n{}\n",
        linked.request_id, linked.link.expires_at, linked.link.url
    );
    if let Some(p) = &linked.open_page_link {
        text.push_str(&format!("Decryption page:\n{}\n", p.url));
    }
    out.text(&text)
}

/// What `dsar revoke` prints.
#[derive(Debug, Serialize)]
struct Revoked {
    request_id: String,
    bucket: String,
    deleted: Vec<String>,
    revoked_at: String,
}

/// `dsar revoke REQUEST-ID`: deletes the archive and its page; earlier links stop working.
pub fn cmd_revoke(
    config: &Config,
    cmd: &crate::cli::RevokeCmd,
    out: &crate::commands::Output,
) -> Result<()> {
    crate::export::validate_request_id(&cmd.request_id)?;
    let ledger = Ledger::open(config)?;
    let (bucket, key) = uploaded(&ledger, &cmd.request_id)?;
    let store = store_for(config, &bucket)?;
    let deleted = vec![key.clone(), page_key(&key)];
    for k in &deleted {
        store.delete(k)?;
    }
    if store.exists(&key)? {
        return Err(Error::runtime(format!(
            "{} is still there after deleting it; check the bucket's object lock and permissions",
            store.url(&key)
        )));
    }
    let revoked_at = ledger.record_revoke(&cmd.request_id, &bucket, &deleted)?;
    let revoked = Revoked {
        request_id: cmd.request_id.clone(),
        bucket,
        deleted,
        revoked_at,
    };
    if out.json {
        return out.json(&revoked);
    }
    out.text(&format!(
        "Revoked request {}: deleted {} from bucket {}; earlier links no longer work.",
        revoked.request_id,
        revoked.deleted.join(" and "),
        revoked.bucket
    ))
}
