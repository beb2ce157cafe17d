//! The identity graph (SPEC 4.2): from the identifiers the operator gave to everything that
//! belongs to the person.
//!
//! Matched records can `provide` new identifiers (a customer row's `id` becomes a
//! `customer_id`, a profile's `alt_email` another `email`). Resolution runs in rounds over the
//! sources in config order; each visit asks a source only about identifiers of its kinds that
//! appeared since its previous visit, so no record is found twice. It stops at a fixpoint, or
//! fails when `max_rounds` or `max_identifiers` is exceeded, naming the source that kept
//! producing identifiers (a shared office IP must not pull in a whole company).

use serde::Serialize;

use crate::config::SubjectSettings;
use crate::error::{Error, Result};
use crate::records::{apply_exclude, provided_values, Record};
use crate::sources::{self, Attachment, Found, Query, Source};
use crate::subject::{IdentifierSet, Kind, Normalizer, Provenance};

/// Receives what the sources find.
pub trait Collector {
    /// A matched record of source `index` (already stripped of excluded fields).
    fn record(&mut self, index: usize, record: Record) -> Result<()>;
    /// A file found by a `files` source.
    fn file(&mut self, index: usize, attachment: Attachment) -> Result<()>;
    /// Source `index` failed under `--allow-partial`: forget what it produced.
    fn discard(&mut self, index: usize) -> Result<()>;
}

/// One visit of one source, for `plan` and progress output.
#[derive(Debug, Clone, Serialize)]
pub struct Visit {
    /// Round number, from 1.
    pub round: usize,
    /// Source name.
    pub source: String,
    /// How many identifiers of each kind it was asked about.
    pub asked: Vec<(String, usize)>,
    /// Records (or files) found on this visit.
    pub found: u64,
    /// New identifiers derived from them.
    pub derived: usize,
}

/// A source that failed under `--allow-partial`.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Failure {
    /// Source name.
    pub source: String,
    /// The error.
    pub error: String,
}

/// The outcome of resolution.
#[derive(Debug, Clone)]
pub struct Resolution {
    /// Every identifier, given and derived, with provenance.
    pub identifiers: IdentifierSet,
    /// Every visit in order.
    pub visits: Vec<Visit>,
    /// Rounds run.
    pub rounds: usize,
    /// Sources that failed (only with `allow_partial`).
    pub failed: Vec<Failure>,
    /// Per source: records or files found.
    pub counts: Vec<u64>,
}

/// Runs the identity graph to a fixpoint.
pub fn resolve(
    sources: &mut [Box<dyn Source>],
    given: IdentifierSet,
    settings: &SubjectSettings,
    normalizer: &Normalizer,
    allow_partial: bool,
    collector: &mut dyn Collector,
    progress: &mut dyn FnMut(&Visit),
) -> Result<Resolution> {
    let mut ids = given;
    let given_count = ids.len();
    let mut asked: Vec<IdentifierSet> = vec![IdentifierSet::new(); sources.len()];
    let kinds: Vec<Vec<Kind>> = sources.iter().map(|s| s.kinds()).collect();
    let matchers: Vec<_> = sources
        .iter()
        .map(|s| sources::matcher(s.config(), normalizer))
        .collect();
    let mut counts = vec![0u64; sources.len()];
    let mut failed: Vec<Failure> = Vec::new();
    let mut dead = vec![false; sources.len()];
    let mut visits = Vec::new();
    let mut round = 0;

    loop {
        let pending: Vec<usize> = (0..sources.len())
            .filter(|&i| !dead[i] && !ids.difference(&asked[i], &kinds[i]).is_empty())
            .collect();
        if pending.is_empty() {
            break;
        }
        if round == settings.max_rounds {
            let producers = last_round_producers(&visits, round);
            return Err(Error::runtime(format!(
                "the identity graph did not settle within {} rounds: source(s) {} kept producing new identifiers; check their 'provides' (or raise [subject] max_rounds)",
                settings.max_rounds,
                producers
            )));
        }
        round += 1;
        for i in 0..sources.len() {
            if dead[i] {
                continue;
            }
            let new = ids.difference(&asked[i], &kinds[i]);
            if new.is_empty() {
                continue;
            }
            let source = &mut sources[i];
            let cfg = source.config().clone();
            let old = asked[i].clone();
            let matcher = &matchers[i];
            let mut found = 0u64;
            let mut derived = 0usize;
            // The identity graph's own bound, unlike a source's failure, is never skipped by
            // --allow-partial: going on would export without the limit's protection.
            let mut over_limit = false;
            let query = Query {
                new: &new,
                old: &old,
                matcher,
            };
            let result = source.scan(&query, &mut |item| {
                crate::interrupt::check()?;
                match item {
                    Found::Record(mut record) => {
                        if !matcher.is_empty() && !matcher.keep(&record, &new, &old) {
                            return Ok(());
                        }
                        for (kind_name, field) in &cfg.provides {
                            let kind = Kind::parse(kind_name).expect("validated by config");
                            for value in provided_values(&record, field, &kind, normalizer) {
                                let provenance = Provenance::Derived {
                                    source: cfg.name.clone(),
                                    field: field.clone(),
                                    record: counts[i],
                                    round,
                                };
                                if ids.insert(kind.clone(), value, provenance) {
                                    derived += 1;
                                    if ids.len() - given_count > settings.max_identifiers {
                                        over_limit = true;
                                        return Err(Error::source(
                                            &cfg.name,
                                            format!(
                                                "produced too many identifiers (more than [subject] max_identifiers = {} derived in all; the last was a '{kind}' from field '{field}'); a shared value (office IP, family email) may be pulling in other people — narrow this source's 'provides' or raise the limit",
                                                settings.max_identifiers
                                            ),
                                        ));
                                    }
                                }
                            }
                        }
                        apply_exclude(&mut record, &cfg.exclude);
                        collector.record(i, record)?;
                    }
                    Found::File(attachment) => collector.file(i, attachment)?,
                }
                counts[i] += 1;
                found += 1;
                Ok(())
            });
            asked[i].extend(&new);
            if let Err(e) = result {
                let recoverable = matches!(e, Error::Source { .. } | Error::Runtime(_));
                if allow_partial && recoverable && !over_limit {
                    tracing::warn!(source = %cfg.name, "source failed; continuing because of --allow-partial: {e}");
                    collector.discard(i)?;
                    counts[i] = 0;
                    dead[i] = true;
                    failed.push(Failure {
                        source: cfg.name.clone(),
                        error: e.to_string(),
                    });
                    continue;
                }
                return Err(e);
            }
            let visit = Visit {
                round,
                source: cfg.name.clone(),
                asked: new.kinds().map(|k| (k.to_string(), new.count(k))).collect(),
                found,
                derived,
            };
            progress(&visit);
            visits.push(visit);
        }
    }
    Ok(Resolution {
        identifiers: ids,
        visits,
        rounds: round,
        failed,
        counts,
    })
}

fn last_round_producers(visits: &[Visit], round: usize) -> String {
    let names: Vec<String> = visits
        .iter()
        .filter(|v| v.round == round && v.derived > 0)
        .map(|v| format!("'{}'", v.source))
        .collect();
    if names.is_empty() {
        "(none recorded)".into()
    } else {
        names.join(", ")
    }
}
