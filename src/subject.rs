//! Identifier kinds and their normalisation (SPEC 4.1).
//!
//! A record belongs to the person when one of its `match` fields equals one of the person's
//! identifiers *after normalisation* — exact equality, never substring or fuzzy matching,
//! because a false match exports another person's data. Normalisation is applied both to the
//! identifiers and to every field value compared with them.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

use indexmap::IndexMap;
use serde::Serialize;
use serde_json::Value;
use unicode_normalization::UnicodeNormalization;

use crate::error::{Error, Result};

/// An identifier kind. Three are built in; any other name is compared as exact text.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(into = "String")]
pub enum Kind {
    /// Email address: trimmed, NFC, lowercase.
    Email,
    /// Phone number: E.164.
    Phone,
    /// IP address: canonical form, IPv4-mapped IPv6 folded to IPv4.
    Ip,
    /// Any other kind (`customer_id`, `cookie_id`…): exact text after trimming.
    Other(String),
}

impl From<Kind> for String {
    fn from(k: Kind) -> String {
        k.as_str().to_string()
    }
}

impl Kind {
    /// Parses a kind name (`[a-z0-9_]+`).
    pub fn parse(name: &str) -> std::result::Result<Kind, String> {
        if name.is_empty()
            || name.len() > 64
            || !name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            return Err(format!(
                "'{name}' is not an identifier kind: use [a-z0-9_]+ (email, phone, ip, customer_id…)"
            ));
        }
        if name == "name" || name.ends_with("_name") {
            return Err(format!(
                "'{name}': a person's name is not an identifier (too many people share one)"
            ));
        }
        Ok(match name {
            "email" => Kind::Email,
            "phone" => Kind::Phone,
            "ip" => Kind::Ip,
            other => Kind::Other(other.to_string()),
        })
    }

    /// The kind's name.
    pub fn as_str(&self) -> &str {
        match self {
            Kind::Email => "email",
            Kind::Phone => "phone",
            Kind::Ip => "ip",
            Kind::Other(s) => s,
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Normalises values of every kind; holds the phone region.
#[derive(Debug, Clone)]
pub struct Normalizer {
    region: Option<phonenumber::country::Id>,
}

/// Parses an ISO 3166 region code for phone numbers.
pub fn region(code: &str) -> Option<phonenumber::country::Id> {
    code.trim().to_ascii_uppercase().parse().ok()
}

impl Normalizer {
    /// A normaliser with an optional default phone region (e.g. "IN").
    pub fn new(default_region: Option<&str>) -> Normalizer {
        Normalizer {
            region: default_region.and_then(region),
        }
    }

    /// Normalises a text value of `kind`; `None` when it cannot be an identifier of that kind
    /// (an invalid phone number or IP address never matches anything).
    pub fn text(&self, kind: &Kind, raw: &str) -> Option<String> {
        let t = raw.trim();
        if t.is_empty() {
            return None;
        }
        match kind {
            Kind::Email => Some(normalize_email(t)),
            Kind::Phone => self.phone(t),
            Kind::Ip => normalize_ip(t),
            Kind::Other(_) => Some(t.to_string()),
        }
    }

    /// Normalises a JSON scalar; numbers compare by their decimal text. Arrays and objects
    /// are not identifiers (callers iterate arrays themselves).
    pub fn value(&self, kind: &Kind, v: &Value) -> Option<String> {
        match v {
            Value::String(s) => self.text(kind, s),
            Value::Number(n) => self.text(kind, &n.to_string()),
            Value::Bool(_) | Value::Null | Value::Array(_) | Value::Object(_) => None,
        }
    }

    fn phone(&self, t: &str) -> Option<String> {
        // Cheap rejection before the full parser: a phone number has 5 to 17 digits.
        let digits = t.bytes().filter(u8::is_ascii_digit).count();
        if !(5..=17).contains(&digits) {
            return None;
        }
        let n = phonenumber::parse(self.region, t).ok()?;
        if !n.is_valid() {
            return None;
        }
        Some(n.format().mode(phonenumber::Mode::E164).to_string())
    }
}

/// Email: trim, Unicode NFC, lowercase — nothing else (no dot or `+tag` folding).
pub fn normalize_email(t: &str) -> String {
    let t = t.trim();
    if t.is_ascii() {
        t.to_ascii_lowercase()
    } else {
        t.nfc().collect::<String>().to_lowercase()
    }
}

/// IP: canonical text; an IPv4-mapped IPv6 address becomes its IPv4 address.
pub fn normalize_ip(t: &str) -> Option<String> {
    let t = t.trim();
    let t = t
        .strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .unwrap_or(t);
    let ip: IpAddr = t.parse().ok()?;
    Some(ip.to_canonical().to_string())
}

/// Where an identifier came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "origin", rename_all = "snake_case")]
pub enum Provenance {
    /// Given on the command line.
    Given,
    /// Derived from a matched record through `provides`.
    Derived {
        /// The source that provided it.
        source: String,
        /// The field it came from.
        field: String,
        /// The record's position in `records/<source>.json` (0-based).
        record: u64,
        /// The identity-graph round.
        round: usize,
    },
}

/// The person's identifiers, per kind, in the order they were learned, with provenance.
#[derive(Debug, Clone, Default)]
pub struct IdentifierSet {
    by_kind: BTreeMap<Kind, IndexMap<String, Provenance>>,
}

impl IdentifierSet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a normalised value; returns true when it was new.
    pub fn insert(&mut self, kind: Kind, value: String, provenance: Provenance) -> bool {
        let values = self.by_kind.entry(kind).or_default();
        if values.contains_key(&value) {
            return false;
        }
        values.insert(value, provenance);
        true
    }

    /// True when the set holds this normalised value.
    pub fn contains(&self, kind: &Kind, value: &str) -> bool {
        self.by_kind
            .get(kind)
            .is_some_and(|v| v.contains_key(value))
    }

    /// The values of one kind.
    pub fn values(&self, kind: &Kind) -> impl Iterator<Item = &str> {
        self.by_kind
            .get(kind)
            .into_iter()
            .flat_map(|m| m.keys().map(String::as_str))
    }

    /// Number of values of one kind.
    pub fn count(&self, kind: &Kind) -> usize {
        self.by_kind.get(kind).map_or(0, IndexMap::len)
    }

    /// All (kind, value, provenance).
    pub fn iter(&self) -> impl Iterator<Item = (&Kind, &str, &Provenance)> {
        self.by_kind
            .iter()
            .flat_map(|(k, m)| m.iter().map(move |(v, p)| (k, v.as_str(), p)))
    }

    /// Total number of values.
    pub fn len(&self) -> usize {
        self.by_kind.values().map(IndexMap::len).sum()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The kinds present.
    pub fn kinds(&self) -> impl Iterator<Item = &Kind> {
        self.by_kind
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, _)| k)
    }

    /// Identifiers in `self` not in `other`, restricted to `kinds`.
    pub fn difference(&self, other: &IdentifierSet, kinds: &[Kind]) -> IdentifierSet {
        let mut out = IdentifierSet::new();
        for kind in kinds {
            if let Some(values) = self.by_kind.get(kind) {
                for (v, p) in values {
                    if !other.contains(kind, v) {
                        out.insert(kind.clone(), v.clone(), p.clone());
                    }
                }
            }
        }
        out
    }

    /// Adds every identifier of `other`.
    pub fn extend(&mut self, other: &IdentifierSet) {
        for (k, v, p) in other.iter() {
            self.insert(k.clone(), v.to_string(), p.clone());
        }
    }
}

/// Parses `--subject KIND=VALUE` arguments into the given identifiers.
pub fn parse_subjects(args: &[String], normalizer: &Normalizer) -> Result<IdentifierSet> {
    let mut set = IdentifierSet::new();
    for arg in args {
        let (kind, value) = arg.split_once('=').ok_or_else(|| {
            Error::Usage(
                "--subject expects KIND=VALUE, e.g. --subject email=person@example.com".into(),
            )
        })?;
        let kind = Kind::parse(kind.trim()).map_err(|e| Error::Usage(format!("--subject: {e}")))?;
        let normalized = normalizer.text(&kind, value).ok_or_else(|| {
            let hint = match kind {
                Kind::Phone => {
                    " (write it with a country code, e.g. +91…, or set [subject] default_region)"
                }
                Kind::Ip => " (an IPv4 or IPv6 address)",
                _ => "",
            };
            Error::Usage(format!(
                "--subject {kind}=…: the value is not a valid {kind}{hint}"
            ))
        })?;
        set.insert(kind, normalized, Provenance::Given);
    }
    if set.is_empty() {
        return Err(Error::Usage(
            "no identifiers given; pass --subject KIND=VALUE (e.g. --subject email=person@example.com)"
                .into(),
        ));
    }
    Ok(set)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_is_trimmed_nfc_lowercased_only() {
        let n = Normalizer::new(None);
        assert_eq!(
            n.text(&Kind::Email, " Priya.Sharma@Example.COM ")
                .as_deref(),
            Some("priya.sharma@example.com")
        );
        assert_ne!(
            n.text(&Kind::Email, "priya.sharma+news@example.com"),
            n.text(&Kind::Email, "priya.sharma@example.com")
        );
        // "Zoë" composed and decomposed are the same address.
        assert_eq!(
            n.text(&Kind::Email, "zo\u{0065}\u{0308}@example.com"),
            n.text(&Kind::Email, "Zo\u{00eb}@example.com")
        );
    }

    #[test]
    fn phones_in_many_formats_are_one_number() {
        let n = Normalizer::new(Some("IN"));
        for raw in [
            "+91 98765 43210",
            "098765-43210",
            "0091 9876543210",
            "9876543210",
            "+919876543210",
        ] {
            assert_eq!(
                n.text(&Kind::Phone, raw).as_deref(),
                Some("+919876543210"),
                "{raw}"
            );
        }
        assert_eq!(
            n.text(&Kind::Phone, "+91 98765 43211").as_deref(),
            Some("+919876543211")
        );
        assert_eq!(n.text(&Kind::Phone, "12"), None);
        assert_eq!(n.text(&Kind::Phone, "not a phone"), None);
    }

    #[test]
    fn ips_are_canonical() {
        assert_eq!(
            normalize_ip("::ffff:203.0.113.42").as_deref(),
            Some("203.0.113.42")
        );
        assert_eq!(
            normalize_ip("2001:0db8:0::7").as_deref(),
            Some("2001:db8::7")
        );
        assert_eq!(
            normalize_ip("[2001:db8::7]").as_deref(),
            Some("2001:db8::7")
        );
        assert_eq!(normalize_ip("203.0.113.420"), None);
    }

    #[test]
    fn numbers_compare_by_decimal_text() {
        let n = Normalizer::new(None);
        let k = Kind::Other("customer_id".into());
        assert_eq!(
            n.value(&k, &serde_json::json!(1042)).as_deref(),
            Some("1042")
        );
        assert_eq!(
            n.value(&k, &serde_json::json!(" 1042 ")).as_deref(),
            Some("1042")
        );
    }

    #[test]
    fn names_are_not_identifiers() {
        assert!(Kind::parse("name").is_err());
        assert!(Kind::parse("full_name").is_err());
        assert!(parse_subjects(&["name=Priya".into()], &Normalizer::new(None)).is_err());
    }
}
