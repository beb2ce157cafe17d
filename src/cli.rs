//! The command line (clap derive). Help text, the man page and shell completions all come
//! from these definitions.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Answer data-subject access and portability requests: collect one person's records from
/// every configured source, bundle them with checksums, encrypt them with age and deliver them.
#[derive(Debug, Parser)]
#[command(name = "dsar", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// Configuration file.
    #[arg(long, global = true, env = "DSAR_CONFIG", default_value = "dsar.toml")]
    pub config: PathBuf,

    /// More log output on stderr (-v, -vv).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Only errors on stderr.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Machine-readable JSON on stdout.
    #[arg(long, global = true)]
    pub json: bool,

    /// Colour in human output.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// When to use colour.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ColorChoice {
    /// When stderr is a terminal.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Collect a person's records and deliver an encrypted archive.
    Export(ExportCmd),
    /// Dry run: resolve identifiers and count matches per source; writes nothing.
    Plan(PlanCmd),
    /// Check the configured sources.
    #[command(subcommand)]
    Sources(SourcesCmd),
    /// Issue a fresh time-limited link for an uploaded archive.
    Link(LinkCmd),
    /// Delete an uploaded archive so that every link stops working.
    Revoke(RevokeCmd),
    /// Decrypt an archive in memory and check every checksum; writes nothing.
    Verify(VerifyCmd),
    /// Decrypt, verify and extract an archive into a folder.
    Open(OpenCmd),
    /// Load an archive's records into a database using datapackage.json.
    Import(ImportCmd),
    /// Create an age identity (private key) and print its recipient (public key).
    Keygen(KeygenCmd),
    /// The request ledger: deadlines and history.
    #[command(subcommand)]
    Requests(RequestsCmd),
    /// Print shell completions.
    Completions(CompletionsCmd),
    /// Print the man page (roff).
    Man,
}

/// Recipients of an archive.
#[derive(Debug, Clone, Args)]
pub struct RecipientOpts {
    /// Encrypt to this public key: age (age1…) or SSH (ssh-ed25519 …, ssh-rsa …). Repeatable.
    #[arg(short = 'r', long = "recipient", value_name = "KEY")]
    pub recipients: Vec<String>,

    /// Encrypt to every public key in FILE (one per line, # comments). Repeatable.
    #[arg(short = 'R', long = "recipients-file", value_name = "FILE")]
    pub recipients_files: Vec<PathBuf>,

    /// Encrypt with a passphrase: from DSAR_PASSPHRASE, a prompt, or generated and shown once.
    #[arg(long)]
    pub passphrase: bool,

    /// Write ASCII-armored age (PEM-like text) instead of binary.
    #[arg(short, long)]
    pub armor: bool,
}

/// `dsar export`.
#[derive(Debug, Args)]
pub struct ExportCmd {
    /// An identifier of the person, KIND=VALUE (email=…, phone=…, ip=…, customer_id=…). Repeatable.
    #[arg(short, long = "subject", value_name = "KIND=VALUE", required = true)]
    pub subjects: Vec<String>,

    /// Request id ([A-Za-z0-9._-]{1,64}); default DSAR-<date>-<random>.
    #[arg(long)]
    pub request_id: Option<String>,

    /// Date the request was received (YYYY-MM-DD); the due date counts from it. Default today.
    #[arg(long, value_name = "DATE")]
    pub received: Option<chrono::NaiveDate>,

    /// Who can decrypt.
    #[command(flatten)]
    pub recipients: RecipientOpts,

    /// Folder for the archive, receipt and notice (default ./out/<request-id>).
    #[arg(short, long, value_name = "DIR")]
    pub out: Option<PathBuf>,

    /// Go on when a source fails; the manifest, receipt and index list the failed sources.
    #[arg(long)]
    pub allow_partial: bool,

    /// Rows per CSV file before splitting into parts.
    #[arg(long, hide = true)]
    pub csv_rows_per_file: Option<u64>,
}

/// `dsar plan`.
#[derive(Debug, Args)]
pub struct PlanCmd {
    /// An identifier of the person, KIND=VALUE. Repeatable.
    #[arg(short, long = "subject", value_name = "KIND=VALUE", required = true)]
    pub subjects: Vec<String>,
}

/// `dsar sources …`.
#[derive(Debug, Subcommand)]
pub enum SourcesCmd {
    /// Connect to every source and check the paths, tables and columns the config names.
    Check,
}

/// `dsar link`.
#[derive(Debug, Args)]
pub struct LinkCmd {
    /// The request whose archive to link.
    pub request_id: String,
    /// How long the link works (at most 7d; default: the configured link_ttl, else 7d).
    #[arg(long)]
    pub ttl: Option<String>,
}

/// `dsar revoke`.
#[derive(Debug, Args)]
pub struct RevokeCmd {
    /// The request whose archive to delete.
    pub request_id: String,
}

/// How the receiving side decrypts.
#[derive(Debug, Clone, Args)]
pub struct IdentityOpts {
    /// An age identity file or an SSH private key (ed25519, RSA). Repeatable.
    #[arg(short, long = "identity", value_name = "FILE")]
    pub identities: Vec<PathBuf>,
    /// Decrypt with a passphrase (from DSAR_PASSPHRASE or a prompt).
    #[arg(long, conflicts_with = "identities")]
    pub passphrase: bool,
}

/// `dsar verify`.
#[derive(Debug, Args)]
pub struct VerifyCmd {
    /// The archive (.zip.age).
    pub archive: PathBuf,
    /// Decryption.
    #[command(flatten)]
    pub identity: IdentityOpts,
}

/// `dsar open`.
#[derive(Debug, Args)]
pub struct OpenCmd {
    /// The archive (.zip.age).
    pub archive: PathBuf,
    /// Folder to extract into (created; must be empty if it exists).
    #[arg(short, long, value_name = "DIR")]
    pub out: PathBuf,
    /// Decryption.
    #[command(flatten)]
    pub identity: IdentityOpts,
}

/// `dsar import`.
#[derive(Debug, Args)]
pub struct ImportCmd {
    /// An archive (.zip.age) or an extracted bag folder.
    pub source: PathBuf,
    /// Target database: sqlite:PATH or postgres://…
    #[arg(long, value_name = "DATABASE")]
    pub into: String,
    /// PostgreSQL schema for the tables.
    #[arg(long)]
    pub schema: Option<String>,
    /// Decryption (when SOURCE is an archive).
    #[command(flatten)]
    pub identity: IdentityOpts,
}

/// `dsar keygen`.
#[derive(Debug, Args)]
pub struct KeygenCmd {
    /// Write the identity here (mode 0600) instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// `dsar requests …`.
#[derive(Debug, Subcommand)]
pub enum RequestsCmd {
    /// List requests with their due dates.
    List {
        /// Only requests past their due date and not completed.
        #[arg(long)]
        overdue: bool,
    },
    /// Show one request and its history.
    Show {
        /// Request id.
        request_id: String,
    },
}

/// `dsar completions`.
#[derive(Debug, Args)]
pub struct CompletionsCmd {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}
