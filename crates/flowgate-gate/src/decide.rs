//! The gate's decision for one ticket: escalation rules first (in policy order), then kill
//! switches, out-of-scope and low confidence, then the intent's mode and its calibrated
//! threshold.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;

use crate::calibrate::{Evidence, IntentThreshold, Item, intent_evidence, intent_threshold};
use crate::policy::{Action, Condition, FieldTest, Mode, Policy, Rule};
use crate::ticket::Ticket;

/// What a rule reads of a ticket: its text and fields, worked out once per decision.
struct Seen<'a> {
    id: &'a str,
    text: &'a str,
    fields: &'a BTreeMap<String, String>,
    days_since_previous: Option<f64>,
}

/// The classifier's verdict on a ticket.
pub struct Verdict<'a> {
    pub intent: &'a str,
    /// Calibrated probability of `intent`.
    pub confidence: f64,
    pub out_of_scope: bool,
    /// Below the model's own minimum confidence.
    pub ambiguous: bool,
    /// The next most likely intent (for the clarifying question).
    pub runner_up: Option<&'a str>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Decision {
    pub action: Action,
    /// The escalation rule that fired, or the built-in check that decided: `kill-switch`,
    /// `intent-kill-switch`, `out-of-scope`, `low-confidence`, `mode-human`, `mode-assist`,
    /// `no-threshold`, `below-threshold`, `no-kb-article`, `threshold`.
    pub rule: String,
    pub reason: String,
    /// The intent's act threshold, when it has one.
    pub threshold: Option<f64>,
    /// Team to route to, when the policy names one.
    pub team: Option<String>,
}

/// A ticket field the policy tests but cannot read.
#[derive(Debug, thiserror::Error)]
#[error("ticket {ticket}: field {field:?} = {value:?}: {expected}")]
pub struct TicketError {
    pub ticket: String,
    pub field: String,
    pub value: String,
    pub expected: String,
}

/// An intent's resolved act threshold and why.
#[derive(Clone, Debug, Serialize)]
pub struct Resolved {
    pub threshold: Option<f64>,
    pub why: String,
}

/// A policy made ready to decide: thresholds resolved against held-out predictions.
pub struct Gate {
    pub policy: Policy,
    pub thresholds: BTreeMap<String, Resolved>,
    /// Calibration per intent (those the held-out data knows).
    pub calibration: BTreeMap<String, IntentThreshold>,
}

impl Gate {
    /// `held_out`: per held-out prediction (predicted intent, confidence, right). `labels`:
    /// every intent the model knows. Each intent gets the threshold its own evidence earns
    /// at its target precision ([`intent_threshold`]: searched, or the policy's fixed one
    /// checked against the same bound); without one it assists. This is the one place
    /// thresholds are resolved: `gate calibrate`, `triage` and `replay` all come here.
    pub fn new(policy: Policy, held_out: &[Item], labels: &[String]) -> Gate {
        Gate::with_evidence(policy, held_out, &[], labels)
    }

    /// Like [`Gate::new`], with evidence gathered in production as well: reviewed decisions
    /// (acts, and shadow reviews of what the AI would have done where it did not act), each
    /// (intent, confidence, the AI was right). An intent's evidence is its held-out and its
    /// production items together; its `evidence` says which it had.
    pub fn with_evidence(
        policy: Policy,
        held_out: &[Item],
        production: &[Item],
        labels: &[String],
    ) -> Gate {
        let mut thresholds = BTreeMap::new();
        let mut calibration = BTreeMap::new();
        for l in labels {
            let p = policy.intent(l);
            let mut mine = intent_evidence(held_out, l);
            let prod = intent_evidence(production, l);
            let evidence = match (mine.is_empty(), prod.is_empty()) {
                (_, true) => Evidence::HeldOut,
                (true, false) => Evidence::Production,
                (false, false) => Evidence::Both,
            };
            if !prod.is_empty() {
                mine.extend(prod);
                mine.sort_by(|a, b| b.0.total_cmp(&a.0));
            }
            let c = intent_threshold(
                l,
                &mine,
                p.target_precision,
                policy.method,
                policy.min_items,
                p.threshold,
                evidence,
            );
            thresholds.insert(
                l.clone(),
                Resolved {
                    threshold: c.threshold,
                    why: c.why.clone(),
                },
            );
            calibration.insert(l.clone(), c);
        }
        Gate {
            policy,
            thresholds,
            calibration,
        }
    }

    /// The mode in effect for an intent after calibration, kill switches and `human` modes:
    /// `off` (a kill switch), `human`, `assist` (by policy, or no threshold earned) or
    /// `auto` (it may act).
    pub fn effective_mode(&self, intent: &str) -> &'static str {
        let p = self.policy.intent(intent);
        if self.policy.kill_switch || p.kill_switch {
            return "off";
        }
        match p.mode {
            Mode::Human => "human",
            Mode::Assist => "assist",
            Mode::Auto => match self.thresholds.get(intent).and_then(|r| r.threshold) {
                Some(_) => "auto",
                None => "assist",
            },
        }
    }

    /// The decision for one ticket. `kb_article`: whether the knowledge base holds a current
    /// article for the intent (`None` when no knowledge base is in use).
    /// `days_since_previous`: days since the same customer's previous ticket, when known
    /// (for repeat-contact rules).
    pub fn decide(
        &self,
        ticket: &Ticket,
        days_since_previous: Option<f64>,
        verdict: &Verdict,
        kb_article: Option<bool>,
    ) -> Result<Decision, TicketError> {
        let text = ticket.text();
        let fields = ticket.fields();
        let seen = Seen {
            id: &ticket.id,
            text: &text,
            fields: &fields,
            days_since_previous,
        };
        let p = self.policy.intent(verdict.intent);
        let decision = |action: Action, rule: &str, reason: String| Decision {
            action,
            rule: rule.to_owned(),
            reason,
            threshold: self
                .thresholds
                .get(verdict.intent)
                .and_then(|r| r.threshold),
            team: p.team.clone(),
        };
        for r in &self.policy.rules {
            if r.intents
                .as_ref()
                .is_some_and(|set| !set.contains(verdict.intent))
            {
                continue;
            }
            if let Some(why) = fires(r, &seen)? {
                let mut d = decision(
                    r.action,
                    &r.name,
                    r.reason
                        .clone()
                        .map_or(why.clone(), |t| format!("{t} ({why})")),
                );
                if r.team.is_some() {
                    d.team = r.team.clone();
                }
                return Ok(d);
            }
        }
        if self.policy.kill_switch {
            return Ok(decision(
                Action::Route,
                "kill-switch",
                "the global kill switch is on: the AI takes no action".into(),
            ));
        }
        if verdict.out_of_scope {
            let mut d = decision(
                Action::Route,
                "out-of-scope",
                "unlike any known intent: to a person for triage".into(),
            );
            d.team = None;
            return Ok(d);
        }
        if verdict.ambiguous {
            let question = match verdict.runner_up {
                Some(second) => format!(
                    "ask whether this is about {} or {}",
                    words(verdict.intent),
                    words(second)
                ),
                None => format!("ask whether this is about {}", words(verdict.intent)),
            };
            return Ok(decision(
                Action::Clarify,
                "low-confidence",
                format!(
                    "confidence {:.2} below the model's minimum: {question}",
                    verdict.confidence
                ),
            ));
        }
        if p.kill_switch {
            return Ok(decision(
                Action::Route,
                "intent-kill-switch",
                format!("the kill switch of {} is on", verdict.intent),
            ));
        }
        match p.mode {
            Mode::Human => {
                return Ok(decision(
                    Action::Route,
                    "mode-human",
                    format!("{} is handled by people only", verdict.intent),
                ));
            }
            Mode::Assist => {
                return Ok(decision(
                    Action::Assist,
                    "mode-assist",
                    format!("{} is in assist mode", verdict.intent),
                ));
            }
            Mode::Auto => {}
        }
        let resolved = self.thresholds.get(verdict.intent);
        let Some(t) = resolved.and_then(|r| r.threshold) else {
            return Ok(decision(
                Action::Assist,
                "no-threshold",
                format!(
                    "no threshold meets {:.1}% precision: {}",
                    p.target_precision * 100.0,
                    resolved.map_or("intent unknown to the calibration", |r| r.why.as_str())
                ),
            ));
        };
        if verdict.confidence < t {
            return Ok(decision(
                Action::Assist,
                "below-threshold",
                format!(
                    "confidence {:.3} below the threshold {t:.3} for {:.1}% precision",
                    verdict.confidence,
                    p.target_precision * 100.0
                ),
            ));
        }
        if kb_article == Some(false) {
            return Ok(decision(
                Action::Assist,
                "no-kb-article",
                format!(
                    "no current knowledge-base article covers {}",
                    verdict.intent
                ),
            ));
        }
        Ok(decision(
            Action::Act,
            "threshold",
            format!(
                "confidence {:.3} ≥ {t:.3}, the threshold for {:.1}% precision",
                verdict.confidence,
                p.target_precision * 100.0
            ),
        ))
    }

    /// Whether an `act` decision goes to review: reproducible for the policy's seed.
    pub fn sampled(&self, ticket_id: &str, intent: &str, confidence: f64) -> bool {
        sample_key(self.policy.sampling.seed, ticket_id)
            < self.policy.sample_rate(intent, confidence)
    }
}

/// A uniform number in [0, 1) from the seed and the ticket id.
pub fn sample_key(seed: u64, ticket_id: &str) -> f64 {
    let h = xxhash_rust::xxh3::xxh3_64_with_seed(ticket_id.as_bytes(), seed);
    (h >> 11) as f64 / (1u64 << 53) as f64
}

fn words(intent: &str) -> String {
    intent.replace(['_', '-'], " ")
}

/// Why the rule fires, or `None`.
fn fires(rule: &Rule, t: &Seen) -> Result<Option<String>, TicketError> {
    Ok(match &rule.condition {
        Condition::Words(list) => {
            let tokens = tokens(t.text);
            list.iter()
                .find(|w| has_phrase(&tokens, w))
                .map(|w| format!("the text says {w:?}"))
        }
        Condition::Field {
            field,
            test,
            optional,
        } => {
            let v = t
                .fields
                .get(&field.to_lowercase())
                .map(|v| v.trim())
                .unwrap_or_default();
            if v.is_empty() {
                // Fail closed: a value the rule cannot see might be the one it looks for.
                return Ok((!optional).then(|| {
                    format!("the ticket has no {field} (the rule needs it; mark it optional = true to let such tickets pass)")
                }));
            }
            match test {
                FieldTest::Equals(opts) => opts
                    .iter()
                    .any(|o| v.eq_ignore_ascii_case(o))
                    .then(|| format!("{field} is {v}")),
                FieldTest::Above(x) | FieldTest::Below(x) => {
                    let n = number(v).ok_or_else(|| TicketError {
                        ticket: t.id.to_owned(),
                        field: field.clone(),
                        value: v.to_owned(),
                        expected: format!("a number (rule {:?} compares it)", rule.name),
                    })?;
                    let hit = match test {
                        FieldTest::Above(_) => n > *x,
                        _ => n < *x,
                    };
                    hit.then(|| {
                        let dir = if matches!(test, FieldTest::Above(_)) {
                            "above"
                        } else {
                            "below"
                        };
                        format!("{field} {v} is {dir} {x}")
                    })
                }
            }
        }
        Condition::PersonalData => personal_data(t.text).map(|k| format!("the text holds {k}")),
        Condition::LanguageNotIn(codes) => {
            let lang = match t.fields.get("language").map(|s| s.trim().to_lowercase()) {
                Some(l) if !l.is_empty() => Some(l),
                _ => detect_language(t.text),
            };
            lang.filter(|l| !codes.contains(l))
                .map(|l| format!("language {l} is not supported"))
        }
        Condition::RepeatWithinDays(days) => t
            .days_since_previous
            .filter(|d| d <= days)
            .map(|d| format!("the customer wrote {d:.1} days before")),
    })
}

/// The language of a text as an ISO 639-3 code, when the detector is sure.
pub fn detect_language(text: &str) -> Option<String> {
    if text.chars().filter(|c| c.is_alphabetic()).count() < 20 {
        return None;
    }
    let info = whatlang::detect(text)?;
    info.is_reliable().then(|| info.lang().code().to_owned())
}

fn number(v: &str) -> Option<f64> {
    let cleaned: String = v
        .chars()
        .filter(|c| !matches!(c, ',' | '$' | '€' | '£' | ' ' | '_'))
        .collect();
    cleaned.parse::<f64>().ok().filter(|n| n.is_finite())
}

fn tokens(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Whole-word phrase match; a trailing `*` on a word matches any ending ("refund*").
fn has_phrase(tokens: &[String], phrase: &str) -> bool {
    let want: Vec<&str> = phrase
        .split(|c: char| !c.is_alphanumeric() && c != '*')
        .filter(|w| !w.is_empty())
        .collect();
    if want.is_empty() || want.len() > tokens.len() {
        return false;
    }
    tokens.windows(want.len()).any(|win| {
        win.iter()
            .zip(&want)
            .all(|(t, w)| match w.strip_suffix('*') {
                Some(prefix) => t.starts_with(prefix),
                None => t == w,
            })
    })
}

static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}").expect("regex")
});
/// Runs of digits joined by single spaces or dashes (not bounded by word boundaries: a card
/// number glued to a word, `card#4111…`, is still one).
static DIGIT_RUN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\d+(?:[ -]\d+)*").expect("regex"));
static IBAN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b").expect("regex"));
static SSN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b\d{3}-\d{2}-\d{4}\b").expect("regex"));
static PHONE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?:\+\d{1,3}[ .-]?)?\(?\b\d{3}\)?[ .-]\d{3}[ .-]\d{4}\b|\+\d{1,3}(?:[ .-]?\d){7,13}\b",
    )
    .expect("regex")
});

/// The kind of personal data in `text`, if any: a payment card number (an issuer's prefix
/// and length, and the Luhn check), an IBAN passing mod 97, a US social security number, an
/// e-mail address or a phone number.
pub fn personal_data(text: &str) -> Option<&'static str> {
    if DIGIT_RUN.find_iter(text).any(|m| run_has_card(m.as_str())) {
        return Some("a card number");
    }
    if IBAN.find_iter(text).any(|m| iban_ok(m.as_str())) {
        return Some("an IBAN");
    }
    if SSN.is_match(text) {
        return Some("a social security number");
    }
    if EMAIL.is_match(text) {
        return Some("an e-mail address");
    }
    if PHONE.is_match(text) {
        return Some("a phone number");
    }
    None
}

/// Whether a run of digit groups holds a card number. A run written in groups ("4111 1111
/// 1111 1111", perhaps after other numbers) is checked on every window of whole groups of
/// 13–19 digits; one unbroken block is checked whole when it has 13–19 digits. An unbroken
/// block of more than 19 digits is an identifier (an order or tracking number), not a card.
fn run_has_card(run: &str) -> bool {
    let groups: Vec<Vec<u8>> = run
        .split([' ', '-'])
        .map(|g| g.bytes().map(|b| b - b'0').collect())
        .collect();
    for i in 0..groups.len() {
        let mut digits: Vec<u8> = Vec::with_capacity(19);
        for g in &groups[i..] {
            digits.extend_from_slice(g);
            if digits.len() > 19 {
                break;
            }
            if digits.len() >= 13 && is_card(&digits) {
                return true;
            }
        }
    }
    false
}

/// An issuer's prefix and one of its lengths, and the Luhn check.
pub fn is_card(d: &[u8]) -> bool {
    issuer(d).is_some() && luhn(d)
}

/// The card scheme whose prefix (IIN range) and length `d` has.
pub fn issuer(d: &[u8]) -> Option<&'static str> {
    let n = d.len();
    let pre = |k: usize| d.iter().take(k).fold(0u32, |a, &x| a * 10 + x as u32);
    if d.len() < 6 {
        return None;
    }
    let (p1, p2, p3, p4, p6) = (pre(1), pre(2), pre(3), pre(4), pre(6));
    if p1 == 4 && matches!(n, 13 | 16 | 19) {
        return Some("Visa");
    }
    if ((51..=55).contains(&p2) || (2221..=2720).contains(&p4)) && n == 16 {
        return Some("Mastercard");
    }
    if (p2 == 34 || p2 == 37) && n == 15 {
        return Some("American Express");
    }
    if (2200..=2204).contains(&p4) && (16..=19).contains(&n) {
        return Some("Mir");
    }
    if (p4 == 6011 || (644..=649).contains(&p3) || p2 == 65 || (622_126..=622_925).contains(&p6))
        && (16..=19).contains(&n)
    {
        return Some("Discover");
    }
    if (3528..=3589).contains(&p4) && (16..=19).contains(&n) {
        return Some("JCB");
    }
    if ((300..=305).contains(&p3) || p4 == 3095 || p2 == 36 || p2 == 38 || p2 == 39)
        && (14..=19).contains(&n)
    {
        return Some("Diners Club");
    }
    if p2 == 62 && (16..=19).contains(&n) {
        return Some("UnionPay");
    }
    if (p2 == 50 || (56..=58).contains(&p2) || p2 == 67 || p4 == 6304) && (13..=19).contains(&n) {
        return Some("Maestro");
    }
    None
}

fn luhn(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let d = d as u32;
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

fn iban_ok(s: &str) -> bool {
    let c: Vec<char> = s.chars().filter(|c| !c.is_whitespace()).collect();
    if c.len() < 15 || c.len() > 34 {
        return false;
    }
    let rotated = c[4..].iter().chain(&c[..4]);
    let mut rem = 0u64;
    for ch in rotated {
        let v = match ch.to_digit(36) {
            Some(v) => v as u64,
            None => return false,
        };
        rem = if v >= 10 {
            (rem * 100 + v) % 97
        } else {
            (rem * 10 + v) % 97
        };
    }
    rem == 1
}
