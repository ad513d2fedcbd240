//! The strict baseline `tests/conformance/expected-failures.yaml`: which scenarios may fail,
//! each with its reason.

use std::collections::HashSet;
use std::path::PathBuf;

use crate::paths::conformance_dir;

/// `tests/conformance/expected-failures.yaml`.
pub fn baseline() -> PathBuf {
    conformance_dir().join("expected-failures.yaml")
}

/// One `- entry` of the baseline's `server:` list.
#[derive(Debug, Clone)]
pub struct BaselineEntry {
    /// `scenario` or `scenario:check-id`.
    pub entry: String,
    /// Whether a `#` reason stands on the same line or the line above.
    pub has_reason: bool,
    /// The top-level key it is listed under.
    pub section: String,
}

impl BaselineEntry {
    /// The scenario the entry names (without a `:check-id`).
    pub fn scenario(&self) -> &str {
        self.entry.split(':').next().unwrap_or(&self.entry)
    }
}

/// The baseline's entries (a line-based reading of its simple YAML shape).
pub fn baseline_entries() -> Vec<BaselineEntry> {
    let path = baseline();
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let mut entries = Vec::new();
    let mut previous = "";
    let mut section = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if !line.starts_with([' ', '#', '-']) && trimmed.contains(':') {
            section = trimmed.split(':').next().unwrap_or("").to_owned();
        }
        if let Some(entry) = trimmed.strip_prefix("- ") {
            let (entry, comment) = match entry.split_once(" #") {
                Some((e, c)) => (e.trim(), Some(c)),
                None => (entry.trim(), None),
            };
            entries.push(BaselineEntry {
                entry: entry.to_owned(),
                has_reason: comment.is_some() || previous.starts_with('#'),
                section: section.clone(),
            });
        }
        if !trimmed.is_empty() {
            previous = trimmed;
        }
    }
    entries
}

/// The scenarios the baseline excuses: those of its `server:` entries that carry a reason
/// (the conformance binary's baseline test holds every entry to both).
pub fn excused_scenarios() -> HashSet<String> {
    baseline_entries()
        .iter()
        .filter(|e| e.section == "server" && e.has_reason)
        .map(|e| e.scenario().to_owned())
        .collect()
}
