//! Staffing for live channels (chat, phone).
//!
//! **Erlang C** (M/M/c): offered load A = λ · AHT erlangs, c agents. The probability an
//! arrival waits is C(c, A) = (Aᶜ/c! · c/(c−A)) / (Σ_{k<c} Aᵏ/k! + Aᶜ/c! · c/(c−A)); the
//! service level (answered within T) is 1 − C · e^{−(c−A)·T/AHT}; the average speed of answer
//! is C · AHT/(c−A); occupancy is A/c.
//!
//! **Erlang A** (M/M/c+M): callers abandon after an exponential patience with mean
//! `patience_s`. Computed from the birth–death chain (truncated where its tail is negligible);
//! the service level is P(an arrival starts service within T), from the queue-position chain
//! integrated over [0, T].

use serde::Serialize;

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Staffing {
    pub agents: u32,
    pub offered_load_erlangs: f64,
    pub prob_wait: f64,
    pub service_level: f64,
    /// Average speed of answer (s), over all arrivals (abandoned ones count their wait).
    pub asa_s: f64,
    pub occupancy: f64,
    /// Erlang A only.
    pub prob_abandon: Option<f64>,
}

/// Erlang C probability of waiting, by the stable recurrence on the Erlang B formula.
pub fn erlang_c(agents: u32, load: f64) -> f64 {
    if load <= 0.0 {
        return 0.0;
    }
    let c = agents as f64;
    if c <= load {
        return 1.0;
    }
    // Erlang B by recurrence: B(0) = 1, B(k) = A·B(k−1) / (k + A·B(k−1)).
    let mut b = 1.0;
    for k in 1..=agents {
        b = load * b / (k as f64 + load * b);
    }
    c * b / (c - load * (1.0 - b))
}

/// Erlang C figures for `agents` given arrivals per second, handle time and answer target.
pub fn erlang_c_staffing(agents: u32, rate_per_s: f64, aht_s: f64, target_s: f64) -> Staffing {
    let load = rate_per_s * aht_s;
    let c = agents as f64;
    let pw = erlang_c(agents, load);
    let stable = c > load;
    Staffing {
        agents,
        offered_load_erlangs: load,
        prob_wait: pw,
        service_level: if stable {
            1.0 - pw * (-(c - load) * target_s / aht_s).exp()
        } else {
            0.0
        },
        asa_s: if stable {
            pw * aht_s / (c - load)
        } else {
            f64::INFINITY
        },
        occupancy: if agents > 0 { (load / c).min(1.0) } else { 1.0 },
        prob_abandon: None,
    }
}

/// Fewest agents meeting `service_level` within `target_s` (Erlang C), with their figures.
pub fn erlang_c_agents(
    rate_per_s: f64,
    aht_s: f64,
    target_s: f64,
    service_level: f64,
    max_occupancy: Option<f64>,
) -> Option<Staffing> {
    let load = rate_per_s * aht_s;
    let start = (load.floor() as u32).max(1);
    (start..start.saturating_add(10_000)).find_map(|c| {
        let s = erlang_c_staffing(c, rate_per_s, aht_s, target_s);
        (s.service_level >= service_level && max_occupancy.is_none_or(|m| s.occupancy <= m))
            .then_some(s)
    })
}

/// Erlang A figures for `agents`.
pub fn erlang_a_staffing(
    agents: u32,
    rate_per_s: f64,
    aht_s: f64,
    patience_s: f64,
    target_s: f64,
) -> Staffing {
    let (lambda, mu, theta) = (rate_per_s, 1.0 / aht_s, 1.0 / patience_s.max(1e-9));
    let c = agents as usize;
    // Unnormalised stationary probabilities in log space, until the tail is negligible.
    let mut logp = vec![0.0f64];
    let mut n = 0usize;
    loop {
        let death = (n + 1).min(c) as f64 * mu + (n + 1).saturating_sub(c) as f64 * theta;
        let next = logp[n] + (lambda / death).ln();
        logp.push(next);
        n += 1;
        if n > c && (next < logp.iter().copied().fold(f64::MIN, f64::max) - 40.0 || n > 200_000) {
            break;
        }
    }
    let max = logp.iter().copied().fold(f64::MIN, f64::max);
    let p: Vec<f64> = logp.iter().map(|l| (l - max).exp()).collect();
    let total: f64 = p.iter().sum();
    let p: Vec<f64> = p.iter().map(|x| x / total).collect();
    // PASTA: an arrival sees the stationary distribution.
    let prob_wait: f64 = p.iter().skip(c).sum();
    let queue_mean: f64 = p
        .iter()
        .enumerate()
        .skip(c)
        .map(|(k, x)| (k - c) as f64 * x)
        .sum();
    let prob_abandon = if lambda > 0.0 {
        theta * queue_mean / lambda
    } else {
        0.0
    };
    let busy: f64 = p.iter().enumerate().map(|(k, x)| k.min(c) as f64 * x).sum();
    // Service within T: an arrival finding k ≥ c waits for k − c + 1 departures from the
    // queue ahead of it, at rate cμ + jθ with j others ahead, and abandons at rate θ itself.
    // Integrate the position chain forward (explicit Euler, small steps).
    let stages = p.len() - c;
    let mut mass: Vec<f64> = (0..stages).map(|j| p[c + j]).collect(); // index = others ahead
    let served_now: f64 = p.iter().take(c).sum();
    let rate = |j: usize| c as f64 * mu + j as f64 * theta;
    let max_rate = rate(stages) + theta;
    let steps = ((target_s * max_rate * 20.0).ceil() as usize).clamp(1, 2_000_000);
    let dt = target_s / steps as f64;
    let mut served = 0.0;
    if c > 0 && target_s > 0.0 {
        for _ in 0..steps {
            let mut carry = 0.0;
            for j in (0..stages).rev() {
                let m = mass[j];
                let out = m * rate(j) * dt;
                let abandon = m * theta * dt;
                mass[j] = m - out - abandon + carry;
                carry = out;
            }
            served += carry;
        }
    }
    Staffing {
        agents,
        offered_load_erlangs: lambda * aht_s,
        prob_wait,
        service_level: served_now + served,
        asa_s: if lambda > 0.0 {
            queue_mean / lambda
        } else {
            0.0
        },
        occupancy: if c > 0 { busy / c as f64 } else { 1.0 },
        prob_abandon: Some(prob_abandon),
    }
}

/// Fewest agents meeting the service level with abandonment (Erlang A).
pub fn erlang_a_agents(
    rate_per_s: f64,
    aht_s: f64,
    patience_s: f64,
    target_s: f64,
    service_level: f64,
) -> Option<Staffing> {
    (1..10_000u32).find_map(|c| {
        let s = erlang_a_staffing(c, rate_per_s, aht_s, patience_s, target_s);
        (s.service_level >= service_level).then_some(s)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erlang_c_textbook_case() {
        // 100 contacts per 30 minutes, 180 s handle time → A = 10 erlangs; 80% answered in
        // 20 s needs 14 agents (the standard worked example; e.g. callcentrehelper.com).
        let s = erlang_c_agents(100.0 / 1800.0, 180.0, 20.0, 0.80, None).unwrap();
        assert_eq!(s.agents, 14);
        assert!((s.offered_load_erlangs - 10.0).abs() < 1e-9);
        // Published figures for 14 agents: P(wait) ≈ 17.4%, service level ≈ 88.9%,
        // ASA ≈ 7.8 s, occupancy 71.4%.
        assert!((s.prob_wait - 0.1741).abs() < 0.001, "{}", s.prob_wait);
        assert!(
            (s.service_level - 0.8893).abs() < 0.001,
            "{}",
            s.service_level
        );
        assert!((s.asa_s - 7.8).abs() < 0.1, "{}", s.asa_s);
        assert!((s.occupancy - 10.0 / 14.0).abs() < 1e-9);
        // 13 agents fall short.
        assert!(erlang_c_staffing(13, 100.0 / 1800.0, 180.0, 20.0).service_level < 0.80);
    }

    #[test]
    fn erlang_a_tends_to_erlang_c_with_infinite_patience() {
        let c = erlang_c_staffing(14, 100.0 / 1800.0, 180.0, 20.0);
        let a = erlang_a_staffing(14, 100.0 / 1800.0, 180.0, 1e9, 20.0);
        assert!(
            (a.prob_wait - c.prob_wait).abs() < 1e-4,
            "{} {}",
            a.prob_wait,
            c.prob_wait
        );
        assert!(
            (a.service_level - c.service_level).abs() < 2e-3,
            "{} {}",
            a.service_level,
            c.service_level
        );
        assert!((a.asa_s - c.asa_s).abs() < 0.05);
        // Impatient callers: some abandon, and those left wait less.
        let a = erlang_a_staffing(14, 100.0 / 1800.0, 180.0, 60.0, 20.0);
        assert!(a.prob_abandon.unwrap() > 0.005 && a.asa_s < c.asa_s);
        // Erlang A copes with overload (c < A), where Erlang C has no steady state.
        let over = erlang_a_staffing(8, 100.0 / 1800.0, 180.0, 60.0, 20.0);
        assert!(over.prob_abandon.unwrap() > 0.1 && over.occupancy < 1.0);
        assert!(
            erlang_a_agents(100.0 / 1800.0, 180.0, 60.0, 20.0, 0.8)
                .unwrap()
                .agents
                <= 14
        );
    }
}
