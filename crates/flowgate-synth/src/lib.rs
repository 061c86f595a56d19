//! A synthetic support organisation for the demo and for tests: seeded, so the same
//! configuration always yields the same tickets, events and texts.
//!
//! Twelve intents with distinct flow profiles (some repetitive and fast, some crossing
//! several teams), priorities with SLA targets, customer waits, reopens, ping-pong and
//! escalations. Each ticket has a subject and body from templates written for flowgate.

pub mod intents;

use std::io::Write;
use std::path::Path;

use flowgate_flow::time::{MS_PER_DAY, format_utc};
use intents::{INTENTS, Intent, PRODUCTS, WHEN};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Exp, LogNormal};

#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Csv {
        path: String,
        #[source]
        source: csv::Error,
    },
}

#[derive(Clone, Debug)]
pub struct Config {
    pub tickets: usize,
    pub seed: u64,
    /// First day (UTC ms, midnight).
    pub start_ms: i64,
    pub days: i64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            tickets: 50_000,
            seed: 42,
            // 2026-03-02, a Monday.
            start_ms: flowgate_flow::time::days_from_civil(2026, 3, 2) * MS_PER_DAY,
            days: 183,
        }
    }
}

pub const PRIORITIES: [(&str, f64, f64); 4] = [
    // name, share, queue factor
    ("low", 0.25, 1.6),
    ("normal", 0.52, 1.0),
    ("high", 0.17, 0.5),
    ("urgent", 0.06, 0.2),
];
const CHANNELS: [(&str, f64); 4] = [
    ("email", 0.45),
    ("chat", 0.25),
    ("web", 0.2),
    ("phone", 0.1),
];
const CUSTOMERS: u32 = 18_000;

/// Share of tickets whose text says nothing about what the customer needs.
pub const VAGUE_SHARE: f64 = 0.04;
/// Texts that fit any intent: what arrives when customers write in a hurry.
const VAGUE: &[(&str, &str)] = &[
    (
        "Help",
        "Hi, I have a problem with my account, can someone call me back?",
    ),
    (
        "Urgent",
        "Please help, this is urgent. See my previous message.",
    ),
    (
        "Question",
        "Hello, I have a question about my order and my account. Thanks.",
    ),
    ("Issue", "It still does not work. What should I do now?"),
    ("Follow-up", "Following up on my earlier request, any news?"),
    (
        "Hello",
        "Can you please look into this for me as soon as possible?",
    ),
];

#[derive(Clone, Debug)]
pub struct Ticket {
    pub case_id: String,
    pub created_ms: i64,
    pub intent: &'static str,
    pub priority: &'static str,
    pub channel: &'static str,
    pub customer: String,
    pub subject: String,
    pub body: String,
}

#[derive(Clone, Debug)]
pub struct Event {
    /// Index into the ticket list.
    pub ticket: u32,
    pub ts_ms: i64,
    pub activity: &'static str,
    pub team: &'static str,
    pub resource: String,
}

pub struct Generated {
    pub tickets: Vec<Ticket>,
    pub events: Vec<Event>,
}

/// The mapping for the generated log (states, escalation, SLA targets per priority).
pub const PRESET_TOML: &str = include_str!("../demo-preset.toml");

fn pick<'a, T>(rng: &mut ChaCha8Rng, items: &'a [(T, f64)]) -> &'a T {
    let total: f64 = items.iter().map(|i| i.1).sum();
    let mut x = rng.random::<f64>() * total;
    for (item, w) in items {
        if x < *w {
            return item;
        }
        x -= w;
    }
    &items[items.len() - 1].0
}

fn exp_h(rng: &mut ChaCha8Rng, mean_h: f64) -> i64 {
    let d = Exp::new(1.0 / mean_h.max(1e-6)).expect("positive rate");
    (d.sample(rng) * 3_600_000.0) as i64
}

fn touch(rng: &mut ChaCha8Rng, median_min: f64) -> i64 {
    let d = LogNormal::new(median_min.ln(), 0.6).expect("finite parameters");
    (d.sample(rng) * 60_000.0) as i64 + 30_000
}

/// Generates the organisation's history.
pub fn generate(cfg: &Config) -> Generated {
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let intents: Vec<(&Intent, f64)> = INTENTS.iter().map(|i| (i, i.weight)).collect();
    let priorities: Vec<(usize, f64)> = PRIORITIES
        .iter()
        .enumerate()
        .map(|(i, p)| (i, p.1))
        .collect();
    // Arrivals: weekdays busier than weekends, office hours busier than nights, +20% growth.
    let day_w: Vec<(i64, f64)> = (0..cfg.days)
        .map(|d| {
            let weekday = (cfg.start_ms / MS_PER_DAY + d + 3).rem_euclid(7);
            let base = if weekday >= 5 { 0.35 } else { 1.0 };
            (d, base * (1.0 + 0.2 * d as f64 / cfg.days as f64))
        })
        .collect();
    let hour_w: Vec<(i64, f64)> = (0..24)
        .map(|h| {
            (
                h,
                if (8..18).contains(&h) {
                    1.0
                } else if (6..22).contains(&h) {
                    0.35
                } else {
                    0.08
                },
            )
        })
        .collect();
    let mut created: Vec<i64> = (0..cfg.tickets)
        .map(|_| {
            let d = *pick(&mut rng, &day_w);
            let h = *pick(&mut rng, &hour_w);
            cfg.start_ms + d * MS_PER_DAY + h * 3_600_000 + rng.random_range(0..3_600) * 1000
        })
        .collect();
    created.sort_unstable();
    let end_ms = cfg.start_ms + cfg.days * MS_PER_DAY;

    let mut tickets = Vec::with_capacity(cfg.tickets);
    let mut events = Vec::with_capacity(cfg.tickets * 9);
    // A separate stream decides which tickets are written vaguely, so the flow stays the
    // same whatever the share.
    let mut vague_rng = ChaCha8Rng::seed_from_u64(cfg.seed ^ 0x7661_6775_6521);
    for (k, &t0) in created.iter().enumerate() {
        let intent = *pick(&mut rng, &intents);
        let p = *pick(&mut rng, &priorities);
        let (priority, _, factor) = PRIORITIES[p];
        let channel = *pick(&mut rng, &CHANNELS);
        // A few customers write often.
        let customer = format!(
            "C-{:05}",
            (rng.random::<f64>().powi(2) * CUSTOMERS as f64) as u32 + 1
        );
        let (mut subject, mut body) = texts(&mut rng, intent);
        if vague_rng.random::<f64>() < VAGUE_SHARE {
            let (s, b) = VAGUE[vague_rng.random_range(0..VAGUE.len())];
            (subject, body) = (s.to_owned(), b.to_owned());
        }
        let idx = k as u32;
        tickets.push(Ticket {
            case_id: format!("T-{:06}", k + 1),
            created_ms: t0,
            intent: intent.name,
            priority,
            channel,
            customer,
            subject,
            body,
        });
        let mut f = Flow {
            rng: &mut rng,
            events: &mut events,
            ticket: idx,
            t: t0,
            end_ms,
            open: true,
        };
        f.push(
            "Ticket created",
            intent.path[0].0,
            format!("{channel}-intake"),
            0,
        );
        let mut teams: Vec<&'static str> = Vec::new();
        for (i, (team, prob)) in intent.path.iter().enumerate() {
            if i == 0 || f.rng.random::<f64>() < *prob {
                teams.push(team);
            }
        }
        let mut agent = String::new();
        for (i, &team) in teams.iter().enumerate() {
            f.assign_and_work(team, intent, factor, &mut agent);
            if i > 0 && f.rng.random::<f64>() < intent.bounce_p {
                // Sent back to the previous team for information, then forward again.
                f.assign_and_work(teams[i - 1], intent, factor, &mut agent);
                f.assign_and_work(team, intent, factor, &mut agent);
            }
            if f.rng.random::<f64>() < intent.customer_wait_p {
                f.push("Waiting on customer", team, agent.clone(), 5 * 60_000);
                let wait = exp_h(f.rng, 20.0);
                f.push("Customer replied", team, "customer".into(), wait);
                let q = exp_h(f.rng, intent.queue_h * factor / 3.0);
                f.push("Work started", team, agent.clone(), q);
                let w = touch(f.rng, intent.touch_min);
                f.t += w;
            }
        }
        let last = *teams.last().unwrap_or(&"Frontline");
        if f.rng.random::<f64>() < intent.escalation_p {
            f.push("Escalated", last, agent.clone(), 10 * 60_000);
            let q = exp_h(f.rng, intent.queue_h * 2.0 * factor);
            f.push("Work started", last, format!("{}-lead", slug(last)), q);
            let w = touch(f.rng, intent.touch_min * 1.5);
            f.t += w;
        }
        f.push("Resolved", last, agent.clone(), 60_000);
        if f.rng.random::<f64>() < intent.reopen_p {
            let gap = exp_h(f.rng, 48.0);
            f.push("Reopened", last, "customer".into(), gap);
            let q = exp_h(f.rng, intent.queue_h * factor);
            f.push("Work started", last, agent.clone(), q);
            let w = touch(f.rng, intent.touch_min);
            f.push("Resolved", last, agent.clone(), w);
        }
        // Closed automatically three days after the last resolution.
        f.push("Closed", last, "system".into(), 3 * MS_PER_DAY);
    }
    Generated { tickets, events }
}

struct Flow<'a> {
    rng: &'a mut ChaCha8Rng,
    events: &'a mut Vec<Event>,
    ticket: u32,
    t: i64,
    end_ms: i64,
    /// False once an event would fall after the export date: the case stays open.
    open: bool,
}

impl Flow<'_> {
    fn push(
        &mut self,
        activity: &'static str,
        team: &'static str,
        resource: String,
        after_ms: i64,
    ) {
        self.t += after_ms.max(1000);
        if !self.open || self.t > self.end_ms {
            self.open = false;
            return;
        }
        self.events.push(Event {
            ticket: self.ticket,
            ts_ms: self.t - self.t % 1000,
            activity,
            team,
            resource,
        });
    }

    fn assign_and_work(
        &mut self,
        team: &'static str,
        intent: &Intent,
        factor: f64,
        agent: &mut String,
    ) {
        let routing = exp_h(self.rng, 0.15);
        self.push("Assigned", team, "router".into(), routing);
        *agent = format!("{}-{:02}", slug(team), self.rng.random_range(1..=12));
        let q = exp_h(self.rng, intent.queue_h * factor);
        self.push("Work started", team, agent.clone(), q);
        let w = touch(self.rng, intent.touch_min);
        self.t += w;
    }
}

fn slug(team: &str) -> String {
    team.to_lowercase().replace(' ', "-")
}

fn texts(rng: &mut ChaCha8Rng, intent: &Intent) -> (String, String) {
    let subject = intent.subjects[rng.random_range(0..intent.subjects.len())];
    let body = intent.bodies[rng.random_range(0..intent.bodies.len())];
    let product = PRODUCTS[rng.random_range(0..PRODUCTS.len())];
    let when = WHEN[rng.random_range(0..WHEN.len())];
    let order = format!("#{}", rng.random_range(100_000..999_999));
    let amount = format!(
        "€{}.{:02}",
        rng.random_range(9..400),
        rng.random_range(0..100)
    );
    let user = format!("user{}", rng.random_range(1000..99_999));
    let code = rng.random_range(100..999).to_string();
    let fill = |s: &str| {
        s.replace("{product}", product)
            .replace("{when}", when)
            .replace("{order}", &order)
            .replace("{amount}", &amount)
            .replace("{user}", &user)
            .replace("{code}", &code)
    };
    (fill(subject), fill(body))
}

/// Creates `path`, lets `rows` write into it, flushes; errors name the file.
fn write_csv(
    path: &Path,
    rows: impl FnOnce(&mut csv::Writer<std::fs::File>) -> csv::Result<()>,
) -> Result<(), SynthError> {
    let err = |source| SynthError::Csv {
        path: path.display().to_string(),
        source,
    };
    let mut w = csv::Writer::from_path(path).map_err(err)?;
    rows(&mut w).map_err(err)?;
    w.flush().map_err(|e| SynthError::Io {
        path: path.display().to_string(),
        source: e,
    })
}

/// Writes the event log (one row per event, ticket fields repeated) as CSV.
pub fn write_log_csv(path: &Path, g: &Generated) -> Result<(), SynthError> {
    write_csv(path, |w| {
        w.write_record([
            "case_id",
            "timestamp",
            "activity",
            "resource",
            "team",
            "priority",
            "channel",
            "intent",
            "customer_id",
        ])?;
        for e in &g.events {
            let t = &g.tickets[e.ticket as usize];
            w.write_record([
                t.case_id.as_str(),
                &format_utc(e.ts_ms),
                e.activity,
                &e.resource,
                e.team,
                t.priority,
                t.channel,
                t.intent,
                &t.customer,
            ])?;
        }
        Ok(())
    })
}

/// Writes one row per ticket with its texts (for the demand layer).
pub fn write_tickets_csv(path: &Path, g: &Generated) -> Result<(), SynthError> {
    write_csv(path, |w| {
        w.write_record([
            "case_id",
            "created_at",
            "subject",
            "body",
            "intent",
            "priority",
            "channel",
            "customer_id",
        ])?;
        for t in &g.tickets {
            w.write_record([
                t.case_id.as_str(),
                &format_utc(t.created_ms),
                &t.subject,
                &t.body,
                t.intent,
                t.priority,
                t.channel,
                &t.customer,
            ])?;
        }
        Ok(())
    })
}

/// The demo's knowledge base: Markdown articles for some of its intents (the others are
/// left uncovered, and one article is stale, so the coverage report has something to say).
pub const DEMO_KB: &[(&str, &str)] = &[
    ("account-locked.md", include_str!("../kb/account-locked.md")),
    ("address-change.md", include_str!("../kb/address-change.md")),
    ("invoice-copy.md", include_str!("../kb/invoice-copy.md")),
    ("order-status.md", include_str!("../kb/order-status.md")),
    ("password-reset.md", include_str!("../kb/password-reset.md")),
    (
        "product-question.md",
        include_str!("../kb/product-question.md"),
    ),
];

/// Writes the demo's knowledge-base articles into `dir`.
pub fn write_kb(dir: &Path) -> Result<(), SynthError> {
    let io = |e: std::io::Error| SynthError::Io {
        path: dir.display().to_string(),
        source: e,
    };
    std::fs::create_dir_all(dir).map_err(io)?;
    for (name, text) in DEMO_KB {
        std::fs::write(dir.join(name), text).map_err(io)?;
    }
    Ok(())
}

/// Writes the preset next to the data so users can read and copy it.
pub fn write_preset(path: &Path) -> Result<(), SynthError> {
    std::fs::File::create(path)
        .and_then(|mut f| f.write_all(PRESET_TOML.as_bytes()))
        .map_err(|e| SynthError::Io {
            path: path.display().to_string(),
            source: e,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_history() {
        let cfg = Config {
            tickets: 300,
            ..Config::default()
        };
        let a = generate(&cfg);
        let b = generate(&cfg);
        assert_eq!(a.events.len(), b.events.len());
        assert!(
            a.events
                .iter()
                .zip(&b.events)
                .all(|(x, y)| x.ts_ms == y.ts_ms && x.activity == y.activity)
        );
        assert_eq!(a.tickets[17].body, b.tickets[17].body);
        let c = generate(&Config { seed: 7, ..cfg });
        assert_ne!(a.tickets[17].created_ms, c.tickets[17].created_ms);
    }

    #[test]
    fn events_of_a_ticket_are_in_time_order_and_placeholders_filled() {
        let g = generate(&Config {
            tickets: 500,
            ..Config::default()
        });
        for w in g.events.windows(2) {
            if w[0].ticket == w[1].ticket {
                assert!(w[0].ts_ms <= w[1].ts_ms);
            }
        }
        assert!(
            g.tickets
                .iter()
                .all(|t| !t.body.contains('{') && !t.subject.contains('{'))
        );
        let names: std::collections::BTreeSet<_> = g.tickets.iter().map(|t| t.intent).collect();
        assert_eq!(names.len(), INTENTS.len());
    }
}
