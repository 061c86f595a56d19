//! The gate policy: per-intent modes and target precisions, ordered escalation rules, kill
//! switches and audit sample rates, read from TOML. A policy is identified by the SHA-256 of
//! its bytes, so every decision names exactly the text that governed it.
//!
//! ```toml
//! name = "support pilot"
//! kill_switch = false           # true: the AI takes no action at all
//! method = "clopper-pearson"   # one-sided 95% exact bound on each intent's own evidence
//! min_items = 30                # predictions in evidence an intent needs before `auto`
//!
//! [defaults]
//! mode = "assist"               # auto | assist | human
//! target_precision = 0.98
//!
//! [intents.card_arrival]
//! mode = "auto"
//! sample_rate = 0.2             # share of its `act` decisions sent to review
//! team = "cards"
//!
//! [[rules]]                     # checked in order; the first that matches decides
//! name = "legal or fraud"
//! words = ["chargeback", "lawyer", "fraud"]
//! action = "escalate"           # default; or assist | route | clarify
//!
//! [sampling]
//! seed = 7
//! rate = 0.05
//! bands = [{ below = 0.9, rate = 0.25 }]
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use toml::Spanned;

use crate::calibrate::Method;

#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// The policy names its file, the line and what was expected.
    #[error("{path}:{line}: {problem}")]
    Invalid {
        path: String,
        line: usize,
        problem: String,
    },
    #[error("{path}: {problem}")]
    Read { path: String, problem: String },
}

/// What the gate lets happen to a ticket.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Answer it from the knowledge base, without a person.
    Act,
    /// A draft and sources for a person.
    Assist,
    /// The right team first time.
    Route,
    /// One question back to the customer.
    Clarify,
    /// A person, now.
    Escalate,
}

impl Action {
    pub const ALL: [Action; 5] = [
        Action::Act,
        Action::Assist,
        Action::Route,
        Action::Clarify,
        Action::Escalate,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Act => "act",
            Action::Assist => "assist",
            Action::Route => "route",
            Action::Clarify => "clarify",
            Action::Escalate => "escalate",
        }
    }

    fn parse(s: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

/// How far the AI may go on an intent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Act when confidence clears the calibrated threshold.
    Auto,
    /// Draft for a person, never act.
    Assist,
    /// People only: the AI routes and nothing more.
    Human,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Auto => "auto",
            Mode::Assist => "assist",
            Mode::Human => "human",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct IntentPolicy {
    pub mode: Mode,
    pub target_precision: f64,
    /// A fixed threshold; `None` means calibrate from held-out predictions.
    pub threshold: Option<f64>,
    pub kill_switch: bool,
    /// Share of `act` decisions sampled for review (`None`: the sampling default).
    pub sample_rate: Option<f64>,
    pub team: Option<String>,
}

/// A test on a ticket field.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldTest {
    /// Equal to one of these (case-insensitive).
    Equals(Vec<String>),
    /// A number above this.
    Above(f64),
    /// A number below this.
    Below(f64),
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    /// Any of these words or phrases, whole words, case-insensitive.
    Words(Vec<String>),
    /// A ticket field. A ticket without the field (or with it blank) fires the rule, unless
    /// the rule is `optional` (then it passes): an unknown value never lets work through.
    Field {
        field: String,
        test: FieldTest,
        optional: bool,
    },
    /// A card number (Luhn), IBAN (mod 97), e-mail address, phone number or US SSN.
    PersonalData,
    /// The ticket's language (its `language` field, else detected) is not one of these
    /// ISO 639-3 codes.
    LanguageNotIn(Vec<String>),
    /// The same customer wrote within this many days before.
    RepeatWithinDays(f64),
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Rule {
    pub name: String,
    pub action: Action,
    pub reason: Option<String>,
    /// Only tickets classified as one of these intents (all when `None`).
    pub intents: Option<BTreeSet<String>>,
    pub condition: Condition,
    pub team: Option<String>,
    /// Line of the rule in the policy file.
    pub line: usize,
}

/// Audit sampling of `act` decisions.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Sampling {
    pub seed: u64,
    /// Default share of `act` decisions sampled.
    pub rate: f64,
    /// Confidence bands, ascending: below `.0` the rate is at least `.1`.
    pub bands: Vec<(f64, f64)>,
}

impl Default for Sampling {
    fn default() -> Self {
        Sampling {
            seed: 0,
            rate: 0.05,
            bands: Vec::new(),
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Policy {
    /// `sha256:` and the hex digest of the file's bytes.
    pub hash: String,
    pub name: String,
    pub kill_switch: bool,
    pub method: Method,
    pub min_items: u64,
    pub defaults: IntentPolicy,
    pub intents: BTreeMap<String, IntentPolicy>,
    pub rules: Vec<Rule>,
    pub sampling: Sampling,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    name: Option<String>,
    version: Option<Spanned<i64>>,
    #[serde(default)]
    kill_switch: bool,
    method: Option<Spanned<String>>,
    bound: Option<Spanned<String>>,
    min_items: Option<Spanned<i64>>,
    pool: Option<Spanned<bool>>,
    #[serde(default)]
    defaults: Option<Spanned<RawIntent>>,
    #[serde(default)]
    intents: BTreeMap<String, Spanned<RawIntent>>,
    #[serde(default)]
    rules: Vec<Spanned<RawRule>>,
    sampling: Option<Spanned<RawSampling>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawIntent {
    mode: Option<Spanned<String>>,
    target_precision: Option<Spanned<f64>>,
    threshold: Option<Spanned<f64>>,
    kill_switch: Option<bool>,
    sample_rate: Option<Spanned<f64>>,
    team: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    name: Option<String>,
    action: Option<Spanned<String>>,
    reason: Option<String>,
    intents: Option<Vec<String>>,
    team: Option<String>,
    words: Option<Vec<String>>,
    field: Option<String>,
    equals: Option<Vec<String>>,
    above: Option<f64>,
    below: Option<f64>,
    personal_data: Option<bool>,
    language_not_in: Option<Vec<String>>,
    repeat_within_days: Option<f64>,
    optional: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSampling {
    seed: Option<u64>,
    rate: Option<Spanned<f64>>,
    #[serde(default)]
    bands: Vec<Spanned<RawBand>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBand {
    below: f64,
    rate: f64,
}

/// The policy format this build reads.
pub const POLICY_VERSION: i64 = 1;

fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// `sha256:` and the lower-case hex digest.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let d = Sha256::digest(bytes);
    let mut s = String::with_capacity(71);
    s.push_str("sha256:");
    for b in d {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

impl Policy {
    pub fn load(path: &Path) -> Result<Policy, PolicyError> {
        let text = std::fs::read_to_string(path).map_err(|e| PolicyError::Read {
            path: path.display().to_string(),
            problem: e.to_string(),
        })?;
        Policy::parse(&text, &path.display().to_string())
    }

    /// Parses and checks a policy; `path` only names it in errors.
    pub fn parse(text: &str, path: &str) -> Result<Policy, PolicyError> {
        let bad = |line: usize, problem: String| PolicyError::Invalid {
            path: path.to_owned(),
            line,
            problem,
        };
        let raw: RawPolicy = toml::from_str(text).map_err(|e| {
            let line = e.span().map_or(1, |s| line_of(text, s.start));
            bad(line, e.message().trim().to_owned())
        })?;
        let at = |span: std::ops::Range<usize>| line_of(text, span.start);
        if let Some(v) = &raw.version
            && *v.get_ref() > POLICY_VERSION
        {
            return Err(bad(
                at(v.span()),
                format!(
                    "policy version {} is newer than this build reads ({POLICY_VERSION})",
                    v.get_ref()
                ),
            ));
        }
        if let Some(b) = &raw.bound {
            return Err(bad(
                at(b.span()),
                format!(
                    "bound = {:?} is no longer read: every threshold must clear a one-sided 95% Clopper–Pearson bound; write method = \"clopper-pearson\" or drop the key",
                    b.get_ref()
                ),
            ));
        }
        if let Some(p) = &raw.pool {
            return Err(bad(
                at(p.span()),
                "pool is no longer read: a pooled threshold let intents act without evidence of their own; every intent now earns its own threshold (drop the key)".into(),
            ));
        }
        let method = match &raw.method {
            None => Method::ClopperPearson,
            Some(m) => match m.get_ref().as_str() {
                "clopper-pearson" => Method::ClopperPearson,
                other => {
                    return Err(bad(
                        at(m.span()),
                        format!("method {other:?}: expected \"clopper-pearson\""),
                    ));
                }
            },
        };
        let min_items = match &raw.min_items {
            None => 30,
            Some(m) if *m.get_ref() >= 1 => *m.get_ref() as u64,
            Some(m) => {
                return Err(bad(
                    at(m.span()),
                    format!("min_items = {}: expected at least 1", m.get_ref()),
                ));
            }
        };
        let base = IntentPolicy {
            mode: Mode::Assist,
            target_precision: 0.98,
            threshold: None,
            kill_switch: false,
            sample_rate: None,
            team: None,
        };
        let defaults = match &raw.defaults {
            Some(d) => intent_policy(d.get_ref(), &base, text, path, "defaults")?,
            None => base,
        };
        let mut intents = BTreeMap::new();
        for (name, p) in &raw.intents {
            if name.trim().is_empty() {
                return Err(bad(at(p.span()), "an intent needs a name".into()));
            }
            intents.insert(
                name.clone(),
                intent_policy(p.get_ref(), &defaults, text, path, name)?,
            );
        }
        let mut rules = Vec::new();
        let mut names = BTreeSet::new();
        for r in &raw.rules {
            let rule = rule(r.get_ref(), at(r.span()), path, rules.len() + 1)?;
            if !names.insert(rule.name.clone()) {
                return Err(bad(
                    rule.line,
                    format!(
                        "a second rule named {:?}: rule names must differ",
                        rule.name
                    ),
                ));
            }
            rules.push(rule);
        }
        let sampling = match &raw.sampling {
            None => Sampling::default(),
            Some(s) => {
                let sp = s.get_ref();
                let rate = match &sp.rate {
                    None => Sampling::default().rate,
                    Some(r) => share(r, text, path, "sampling rate")?,
                };
                let mut bands = Vec::new();
                for b in &sp.bands {
                    let band = b.get_ref();
                    let line = at(b.span());
                    if !(0.0..=1.0).contains(&band.below) || !(0.0..=1.0).contains(&band.rate) {
                        return Err(bad(
                            line,
                            "a sampling band needs below and rate between 0 and 1".into(),
                        ));
                    }
                    if bands.last().is_some_and(|&(prev, _)| band.below <= prev) {
                        return Err(bad(
                            line,
                            "sampling bands must be in ascending order of `below`".into(),
                        ));
                    }
                    bands.push((band.below, band.rate));
                }
                Sampling {
                    seed: sp.seed.unwrap_or(0),
                    rate,
                    bands,
                }
            }
        };
        Ok(Policy {
            hash: sha256_hex(text.as_bytes()),
            name: raw.name.unwrap_or_else(|| "unnamed".into()),
            kill_switch: raw.kill_switch,
            method,
            min_items,
            defaults,
            intents,
            rules,
            sampling,
        })
    }

    /// Checks the policy against the ticket columns it will see: a field rule naming a
    /// column the tickets do not have is an error (a typo would otherwise never fire),
    /// optional or not. `columns` are compared without case.
    pub fn check_columns(&self, columns: &[String], path: &str) -> Result<(), PolicyError> {
        for r in &self.rules {
            if let Condition::Field { field, .. } = &r.condition
                && !columns.iter().any(|c| c.eq_ignore_ascii_case(field))
            {
                return Err(PolicyError::Invalid {
                    path: path.to_owned(),
                    line: r.line,
                    problem: format!(
                        "rule {:?} tests field {field:?}, which the tickets do not have (their columns: {})",
                        r.name,
                        columns.join(", ")
                    ),
                });
            }
        }
        Ok(())
    }

    /// The policy of an intent: its own table, else the defaults.
    pub fn intent(&self, name: &str) -> &IntentPolicy {
        self.intents.get(name).unwrap_or(&self.defaults)
    }

    /// This policy with kill switches engaged on top (`global`, and each intent in
    /// `intents`), as an operator throws them while the service runs. With none engaged it is
    /// this policy unchanged; otherwise its hash is the SHA-256 of this policy's hash and the
    /// switches, so every decision record names the policy actually in force.
    pub fn with_kill_switches(&self, global: bool, intents: &[String]) -> Policy {
        let mut p = self.clone();
        if !global && intents.is_empty() {
            return p;
        }
        p.kill_switch |= global;
        let mut list: Vec<&String> = intents.iter().collect();
        list.sort();
        list.dedup();
        for i in &list {
            p.intents
                .entry((*i).clone())
                .or_insert_with(|| self.defaults.clone())
                .kill_switch = true;
        }
        let names: Vec<&str> = list.iter().map(|s| s.as_str()).collect();
        p.hash = sha256_hex(
            format!(
                "{}\nkill_switch={global}\nintents_killed={}",
                self.hash,
                names.join(",")
            )
            .as_bytes(),
        );
        p
    }

    /// Share of an intent's `act` decisions at `confidence` that go to review.
    pub fn sample_rate(&self, intent: &str, confidence: f64) -> f64 {
        let base = self
            .intent(intent)
            .sample_rate
            .unwrap_or(self.sampling.rate);
        let band = self
            .sampling
            .bands
            .iter()
            .find(|b| confidence < b.0)
            .map_or(0.0, |b| b.1);
        base.max(band)
    }

    /// The confidence band label of `confidence` ("<0.90", "≥0.97"…).
    pub fn band(&self, confidence: f64) -> String {
        match self.sampling.bands.iter().find(|b| confidence < b.0) {
            Some(b) => format!("<{:.2}", b.0),
            None => match self.sampling.bands.last() {
                Some(b) => format!("≥{:.2}", b.0),
                None => "all".into(),
            },
        }
    }
}

fn share(v: &Spanned<f64>, text: &str, path: &str, what: &str) -> Result<f64, PolicyError> {
    let x = *v.get_ref();
    if (0.0..=1.0).contains(&x) {
        Ok(x)
    } else {
        Err(PolicyError::Invalid {
            path: path.to_owned(),
            line: line_of(text, v.span().start),
            problem: format!("{what} = {x}: expected a share between 0 and 1"),
        })
    }
}

fn intent_policy(
    raw: &RawIntent,
    inherit: &IntentPolicy,
    text: &str,
    path: &str,
    name: &str,
) -> Result<IntentPolicy, PolicyError> {
    let mut p = inherit.clone();
    if let Some(m) = &raw.mode {
        p.mode = match m.get_ref().as_str() {
            "auto" => Mode::Auto,
            "assist" => Mode::Assist,
            "human" => Mode::Human,
            other => {
                return Err(PolicyError::Invalid {
                    path: path.to_owned(),
                    line: line_of(text, m.span().start),
                    problem: format!(
                        "{name}: mode {other:?}: expected \"auto\", \"assist\" or \"human\""
                    ),
                });
            }
        };
    }
    if let Some(t) = &raw.target_precision {
        let x = *t.get_ref();
        if !(x > 0.0 && x < 1.0) {
            return Err(PolicyError::Invalid {
                path: path.to_owned(),
                line: line_of(text, t.span().start),
                problem: format!(
                    "{name}: target_precision = {x}: expected a precision above 0 and below 1"
                ),
            });
        }
        p.target_precision = x;
    }
    if let Some(t) = &raw.threshold {
        p.threshold = Some(share(t, text, path, &format!("{name}: threshold"))?);
    }
    if let Some(k) = raw.kill_switch {
        p.kill_switch = k;
    }
    if let Some(r) = &raw.sample_rate {
        p.sample_rate = Some(share(r, text, path, &format!("{name}: sample_rate"))?);
    }
    if raw.team.is_some() {
        p.team = raw.team.clone();
    }
    Ok(p)
}

fn rule(raw: &RawRule, line: usize, path: &str, nth: usize) -> Result<Rule, PolicyError> {
    let name = raw.name.clone().unwrap_or_else(|| format!("rule {nth}"));
    let bad = |problem: String| PolicyError::Invalid {
        path: path.to_owned(),
        line,
        problem: format!("rule {name:?}: {problem}"),
    };
    let action = match &raw.action {
        None => Action::Escalate,
        Some(a) => match Action::parse(a.get_ref()) {
            Some(Action::Act) => {
                return Err(bad(
                    "action \"act\": a rule may only take work away from the AI (escalate, assist, route or clarify)".into(),
                ));
            }
            Some(a) => a,
            None => {
                return Err(bad(format!(
                    "action {:?}: expected escalate, assist, route or clarify",
                    a.get_ref()
                )));
            }
        },
    };
    let mut conditions = Vec::new();
    if let Some(w) = &raw.words {
        let words: Vec<String> = w
            .iter()
            .map(|w| w.trim().to_lowercase())
            .filter(|w| !w.is_empty())
            .collect();
        if words.is_empty() {
            return Err(bad("words is empty".into()));
        }
        conditions.push(Condition::Words(words));
    }
    if let Some(f) = &raw.field {
        let tests = [
            raw.equals
                .as_ref()
                .map(|e| FieldTest::Equals(e.iter().map(|v| v.trim().to_lowercase()).collect())),
            raw.above.map(FieldTest::Above),
            raw.below.map(FieldTest::Below),
        ];
        let mut given = tests.into_iter().flatten();
        let test = given
            .next()
            .ok_or_else(|| bad(format!("field {f:?} needs one of equals, above or below")))?;
        if given.next().is_some() {
            return Err(bad(format!(
                "field {f:?}: give one of equals, above or below, not several (write two rules)"
            )));
        }
        conditions.push(Condition::Field {
            field: f.clone(),
            test,
            optional: raw.optional.unwrap_or(false),
        });
    } else if raw.equals.is_some() || raw.above.is_some() || raw.below.is_some() {
        return Err(bad("equals, above and below need a field".into()));
    } else if raw.optional.is_some() {
        return Err(bad("optional applies to field rules only".into()));
    }
    if let Some(p) = raw.personal_data {
        if !p {
            return Err(bad(
                "personal_data = false matches nothing; drop the rule".into()
            ));
        }
        conditions.push(Condition::PersonalData);
    }
    if let Some(l) = &raw.language_not_in {
        let mut codes = Vec::new();
        for c in l {
            let c = c.trim().to_lowercase();
            if whatlang::Lang::from_code(&c).is_none() {
                return Err(bad(format!(
                    "language_not_in: {c:?} is not an ISO 639-3 code (e.g. \"eng\", \"deu\", \"spa\")"
                )));
            }
            codes.push(c);
        }
        if codes.is_empty() {
            return Err(bad("language_not_in is empty".into()));
        }
        conditions.push(Condition::LanguageNotIn(codes));
    }
    if let Some(d) = raw.repeat_within_days {
        if d.is_nan() || d <= 0.0 {
            return Err(bad(format!(
                "repeat_within_days = {d}: expected a number of days above 0"
            )));
        }
        conditions.push(Condition::RepeatWithinDays(d));
    }
    if conditions.len() != 1 {
        return Err(bad(format!(
            "needs exactly one condition (words, field, personal_data, language_not_in or repeat_within_days); found {}",
            conditions.len()
        )));
    }
    Ok(Rule {
        name,
        action,
        reason: raw.reason.clone(),
        intents: raw.intents.as_ref().map(|v| v.iter().cloned().collect()),
        condition: conditions.remove(0),
        team: raw.team.clone(),
        line,
    })
}
