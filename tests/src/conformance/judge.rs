//! The pass/fail judgement of a requirement-set run, the same against one node and through a
//! balancer.

use std::collections::{BTreeMap, HashSet};

use super::ScenarioChecks;

/// What is wrong with a requirement-set run; all empty when it passed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Verdict {
    /// Scored scenarios that left no results.
    pub missing: Vec<String>,
    /// Scenarios that are not excused and either show a FAILURE or WARNING or, if scored, are
    /// not clean (no SUCCESS).
    pub unexpected: Vec<String>,
    /// Excused scenarios that show no FAILURE or WARNING: stale baseline entries.
    pub stale: Vec<String>,
}

impl Verdict {
    /// Nothing missing, unexpected or stale.
    pub fn passed(&self) -> bool {
        self.missing.is_empty() && self.unexpected.is_empty() && self.stale.is_empty()
    }
}

/// Judges the `results` of a set that scores `scored`: scored scenarios must be clean; every
/// other scenario the set ran (the unscored ones: the suite's own exit code ignores them)
/// must show no FAILURE or WARNING. Only `excused` (baselined) scenarios are exempt, and an
/// excused one that shows neither is stale.
pub fn judge(
    scored: &[String],
    results: &BTreeMap<String, ScenarioChecks>,
    excused: &HashSet<String>,
) -> Verdict {
    let missing = scored
        .iter()
        .filter(|s| !results.contains_key(*s))
        .cloned()
        .collect();
    let unexpected = results
        .iter()
        .filter(|(name, c)| {
            let bad = c.failed() || (scored.contains(*name) && !c.clean());
            bad && !excused.contains(*name)
        })
        .map(|(name, _)| name.clone())
        .collect();
    let stale = results
        .iter()
        .filter(|(name, c)| excused.contains(*name) && !c.failed())
        .map(|(name, _)| name.clone())
        .collect();
    Verdict {
        missing,
        unexpected,
        stale,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashSet};

    use super::{ScenarioChecks, Verdict, judge};

    fn checks(statuses: &[(&str, usize)]) -> ScenarioChecks {
        ScenarioChecks {
            counts: statuses.iter().map(|&(s, n)| (s.to_owned(), n)).collect(),
            problems: Vec::new(),
        }
    }

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|&s| s.to_owned()).collect()
    }

    #[test]
    fn judges_scored_unscored_and_baselined_scenarios() {
        let results: BTreeMap<String, ScenarioChecks> = [
            ("scored-ok", checks(&[("SUCCESS", 3)])),
            ("scored-only-skips", checks(&[("SKIPPED", 2)])),
            ("unscored-skips", checks(&[("SKIPPED", 1)])),
            ("unscored-warns", checks(&[("SUCCESS", 1), ("WARNING", 1)])),
            ("excused-fails", checks(&[("FAILURE", 1)])),
            ("excused-clean", checks(&[("SUCCESS", 1)])),
        ]
        .into_iter()
        .map(|(n, c)| (n.to_owned(), c))
        .collect();
        let scored = names(&["scored-ok", "scored-only-skips", "scored-absent"]);
        let excused: HashSet<String> = names(&["excused-fails", "excused-clean"])
            .into_iter()
            .collect();
        assert_eq!(
            judge(&scored, &results, &excused),
            Verdict {
                missing: names(&["scored-absent"]),
                unexpected: names(&["scored-only-skips", "unscored-warns"]),
                stale: names(&["excused-clean"]),
            }
        );
    }

    #[test]
    fn a_clean_run_passes() {
        let results: BTreeMap<String, ScenarioChecks> = [
            ("scored".to_owned(), checks(&[("SUCCESS", 1)])),
            ("unscored".to_owned(), checks(&[("SKIPPED", 1)])),
        ]
        .into_iter()
        .collect();
        let verdict = judge(&names(&["scored"]), &results, &HashSet::new());
        assert!(verdict.passed(), "{verdict:?}");
    }
}
