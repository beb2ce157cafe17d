//! dsar answers data-subject access and portability requests end to end.
//!
//! The pipeline, one module per stage: [`config`] → [`subject`] (identifiers) → [`sources`]
//! and [`graph`] (the identity graph, records spilled encrypted by [`spill`]) → [`records`]
//! (JSON and CSV) → [`archive`] (zip + BagIt) → [`crypto`] (age) → [`destination`] (local
//! folder or S3), then [`receipt`] and the [`ledger`]. The receiving side lives in
//! [`receive`]. [`export`] wires the stages together; [`commands`] connects them to the CLI.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod archive;
pub mod cli;
pub mod commands;
pub mod config;
pub mod crypto;
pub mod destination;
pub mod error;
pub mod export;
pub mod graph;
pub mod interrupt;
pub mod keyed;
pub mod ledger;
pub mod pipe;
pub mod receipt;
pub mod receive;
pub mod records;
pub mod sources;
pub mod spill;
pub mod subject;

pub use error::{Error, Result};
