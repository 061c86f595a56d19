//! Known answers for the bounds and the threshold search.

use flowgate_gate::calibrate::{ALPHA, candidate_prefixes, intent_threshold, scan};
use flowgate_gate::interval::clopper_pearson_lower_one_sided;
use flowgate_gate::interval::{Z95, clopper_pearson_lower, wilson_lower};
use flowgate_gate::{Evidence, Method, calibrate};

mod guarantee;

mod policy;

mod record;

fn close(a: f64, b: f64, eps: f64) {
    assert!((a - b).abs() < eps, "{a} vs {b}");
}

#[test]
fn bounds_match_textbook_values() {
    // Wilson 95%: 5/10 → [0.2366, 0.7634] (Newcombe 1998); 10/10 → 1 / (1 + z²/10).
    close(wilson_lower(5, 10, Z95), 0.2366, 1e-4);
    close(
        wilson_lower(10, 10, Z95),
        1.0 / (1.0 + Z95 * Z95 / 10.0),
        1e-12,
    );
    // Clopper–Pearson 95%: 5/10 → 0.1871; k = n has the closed form (α/2)^(1/n).
    close(clopper_pearson_lower(5, 10, 0.05), 0.1871, 1e-4);
    close(
        clopper_pearson_lower(10, 10, 0.05),
        0.025f64.powf(0.1),
        1e-9,
    );
    close(
        clopper_pearson_lower(50, 50, 0.05),
        0.025f64.powf(1.0 / 50.0),
        1e-9,
    );
    assert_eq!(clopper_pearson_lower(0, 10, 0.05), 0.0);
    // One-sided 95% = the lower end of the two-sided 90% interval: 5/10 → 0.2224.
    close(clopper_pearson_lower_one_sided(5, 10, 0.05), 0.2224, 1e-4);
    close(
        clopper_pearson_lower_one_sided(20, 20, 0.05),
        0.05f64.powf(1.0 / 20.0),
        1e-12,
    );
    // The exact interval is wider than Wilson's.
    assert!(clopper_pearson_lower(95, 100, 0.05) < wilson_lower(95, 100, Z95));
}

/// All right, the one-sided 95% bound is α^(1/n): 98% needs n ≥ ln 0.05 / ln 0.98 = 148.3,
/// so 149 (183 with a two-sided 95% bound, (0.025)^(1/n)).
#[test]
fn items_needed_follow_the_closed_form() {
    let m = Method::ClopperPearson;
    assert_eq!(m.items_needed(0.98), 149);
    assert!(m.lower(149, 149) >= 0.98 && m.lower(148, 148) < 0.98);
    assert!(m.meets(149, 149, 0.98) && !m.meets(148, 148, 0.98));
    assert_eq!(m.items_needed(0.95), 59);
    assert!(clopper_pearson_lower(183, 183, 0.05) >= 0.98);
    assert!(clopper_pearson_lower(182, 182, 0.05) < 0.98);
    // From nothing, 149 right decisions open a 98% gate; from 100 of 100, 49 more.
    assert_eq!(m.more_needed(0, 0, 0.98), Some(149));
    assert_eq!(m.more_needed(100, 100, 0.98), Some(49));
    assert_eq!(m.more_needed(149, 149, 0.98), Some(0));
    // 99 of 100: the bound needs more than 149 in a row; found by search, checked here.
    let more = m.more_needed(99, 100, 0.98).unwrap();
    assert!(m.meets(99 + more, 100 + more, 0.98));
    assert!(!m.meets(99 + more - 1, 100 + more - 1, 0.98));
    assert_eq!(ALPHA, 0.05);
}

fn one_intent(conf_right: impl Iterator<Item = (f64, bool)>) -> Vec<(String, f64, bool)> {
    conf_right
        .map(|(c, ok)| ("refund".to_owned(), c, ok))
        .collect()
}

/// 300 predictions with confidence 1.000, 0.999, …, 0.701; the 250 most confident are right.
/// At 98% the candidate prefixes are 149, 149 + 37 = 186, 186 + 46 = 232, 232 + 58 = 290, 300.
/// 149, 186 and 232 are all right (0.05^(1/232) = 0.9872 ≥ 0.98); 290 holds 250 right and
/// fails, so the scan stops: the threshold is the 232nd confidence, 0.769.
#[test]
fn the_scan_stops_at_the_first_failure_from_the_top() {
    let items = one_intent((0..300).map(|i| (1.0 - i as f64 / 1000.0, i < 250)));
    let mut sorted: Vec<(f64, bool)> = items.iter().map(|i| (i.1, i.2)).collect();
    sorted.sort_by(|a, b| b.0.total_cmp(&a.0));
    let m = Method::ClopperPearson;
    assert_eq!(
        candidate_prefixes(&sorted, 0.98, m),
        vec![149, 186, 232, 290, 300]
    );
    let steps = scan(&sorted, 0.98, m);
    assert_eq!(steps.len(), 4);
    assert!(steps[..3].iter().all(|s| s.passed) && !steps[3].passed);
    assert_eq!((steps[3].n, steps[3].right), (290, 250));
    let c = calibrate(&items, 0.98, m, 30);
    let t = &c.intents[0];
    assert_eq!((t.mode, t.kept, t.right), ("auto", 232, 232));
    close(t.threshold.unwrap(), 0.769, 1e-12);
    close(t.lower_bound.unwrap(), 0.05f64.powf(1.0 / 232.0), 1e-9);
    close(t.coverage, 232.0 / 300.0, 1e-12);
    assert_eq!(t.method, Method::ClopperPearson);
    assert_eq!(t.evidence, Evidence::HeldOut);
    close(c.expected_precision.unwrap(), 1.0, 1e-12);
}

/// One wrong answer among the 149 most confident stops the scan at its first step, even
/// though the whole set (399 of 400, bound 0.9882) would pass: that later test is never
/// made, which is what keeps the search at 5%.
#[test]
fn an_early_failure_is_final() {
    let items = one_intent((0..400).map(|i| (1.0 - i as f64 / 1000.0, i != 10)));
    assert!(Method::ClopperPearson.meets(399, 400, 0.98));
    let c = calibrate(&items, 0.98, Method::ClopperPearson, 30);
    let t = &c.intents[0];
    assert_eq!(t.mode, "assist");
    assert!(t.threshold.is_none() && t.lower_bound.is_none());
    assert!(t.why.contains("148 right"), "{}", t.why);
    assert_eq!(c.expected_coverage, 0.0);
}

/// 130 predictions all right (Banking77's size): 98% cannot be vouched for (149 needed),
/// 95% can (59). Too little evidence (under min_items) is assist whatever the precision.
#[test]
fn thin_evidence_cannot_open_a_high_gate() {
    let items = one_intent((0..130).map(|i| (1.0 - i as f64 / 1000.0, true)));
    let c = calibrate(&items, 0.98, Method::ClopperPearson, 30);
    assert_eq!(c.intents[0].mode, "assist");
    assert!(
        c.intents[0].why.contains("needs 149"),
        "{}",
        c.intents[0].why
    );
    assert_eq!(c.intents[0].more_needed, Some(19));
    let c = calibrate(&items, 0.95, Method::ClopperPearson, 30);
    assert_eq!((c.intents[0].mode, c.intents[0].kept), ("auto", 130));
    let few: Vec<_> = items.iter().take(20).cloned().collect();
    let c = calibrate(&few, 0.5, Method::ClopperPearson, 30);
    assert_eq!(c.intents[0].mode, "assist");
    assert!(c.intents[0].why.contains("only 20"));
}

/// A fixed threshold is checked against the same bound: 0.8505 keeps the 150 most
/// confident, all right (0.05^(1/150) = 0.9802 ≥ 0.98): it stands. 0.5 keeps all 300 with 50
/// wrong: it does not, and the intent assists.
#[test]
fn a_fixed_threshold_must_clear_the_bound() {
    let items = one_intent((0..300).map(|i| (1.0 - i as f64 / 1000.0, i < 250)));
    let mut sorted: Vec<(f64, bool)> = items.iter().map(|i| (i.1, i.2)).collect();
    sorted.sort_by(|a, b| b.0.total_cmp(&a.0));
    let m = Method::ClopperPearson;
    let t = intent_threshold(
        "refund",
        &sorted,
        0.98,
        m,
        30,
        Some(0.8505),
        Evidence::HeldOut,
    );
    assert_eq!((t.mode, t.kept, t.fixed), ("auto", 150, true));
    close(t.threshold.unwrap(), 0.8505, 1e-12);
    let t = intent_threshold("refund", &sorted, 0.98, m, 30, Some(0.5), Evidence::HeldOut);
    assert_eq!((t.mode, t.kept, t.right), ("assist", 300, 250));
    assert!(t.threshold.is_none());
    assert!(t.why.contains("does not clear"), "{}", t.why);
}

#[test]
fn tied_confidences_stay_together() {
    // 100 right at 0.9 then 100 at 0.8 of which 50 are wrong: at 72% the first candidate
    // (10 items: ln 0.05 / ln 0.72 = 9.1) ends at the end of the 0.9 tie; the next takes the
    // whole 0.8 tie, 150 of 200, whose bound (0.69) fails.
    let mut items: Vec<(String, f64, bool)> =
        (0..100).map(|_| ("a".to_owned(), 0.9, true)).collect();
    items.extend((0..100).map(|i| ("a".to_owned(), 0.8, i % 2 == 0)));
    let mut sorted: Vec<(f64, bool)> = items.iter().map(|i| (i.1, i.2)).collect();
    sorted.sort_by(|a, b| b.0.total_cmp(&a.0));
    assert_eq!(
        candidate_prefixes(&sorted, 0.72, Method::ClopperPearson),
        vec![100, 200]
    );
    let c = calibrate(&items, 0.72, Method::ClopperPearson, 1);
    assert_eq!(c.intents[0].kept, 100);
    close(c.intents[0].threshold.unwrap(), 0.9, 1e-12);
}

proptest::proptest! {
    /// Whatever the data, an `auto` intent's kept items meet the target by the bound, the
    /// bound never exceeds the measured precision, and the threshold keeps what it says.
    #[test]
    fn kept_items_always_meet_the_target(
        conf in proptest::collection::vec((0.0f64..1.0, proptest::bool::ANY), 1..200),
        target in 0.5f64..0.99,
    ) {
        let items: Vec<(String, f64, bool)> =
            conf.iter().map(|&(c, ok)| ("x".to_owned(), c, ok)).collect();
        let c = calibrate(&items, target, Method::ClopperPearson, 1);
        let t = &c.intents[0];
        if let (Some(th), Some(lb), Some(p)) = (t.threshold, t.lower_bound, t.precision) {
            proptest::prop_assert!(lb >= target - 1e-9);
            proptest::prop_assert!(lb <= p + 1e-12);
            let kept = items.iter().filter(|i| i.1 >= th).count() as u64;
            proptest::prop_assert_eq!(kept, t.kept);
        } else {
            proptest::prop_assert_eq!(t.mode, "assist");
        }
    }
}

/// Ten reviews from a band sampled at 5% (weight 20), all correct, and ten from a band
/// sampled at 25% (weight 4), five correct: unweighted 15 of 20 = 75%, but the decisions
/// they stand for are (200 + 20) / (200 + 40) = 91.67% right; Kish's effective size is
/// 240² / (10 · 400 + 10 · 16) = 13.85. Equal rates give the plain share and Wilson.
#[test]
fn reviewed_precision_weighs_each_band_by_its_sampling_rate() {
    use flowgate_gate::interval::{weighted_share, wilson_interval};
    let mut items: Vec<(f64, bool)> = (0..10).map(|_| (0.05, true)).collect();
    items.extend((0..10).map(|i| (0.25, i < 5)));
    let w = weighted_share(&items).unwrap();
    close(w.share, 220.0 / 240.0, 1e-12);
    close(w.n_eff, 57_600.0 / 4_160.0, 1e-9);
    assert!(w.ci95.0 < w.share && w.share < w.ci95.1);
    let same: Vec<(f64, bool)> = (0..20).map(|i| (0.1, i < 15)).collect();
    let w = weighted_share(&same).unwrap();
    close(w.share, 0.75, 1e-12);
    let (lo, hi) = wilson_interval(15, 20).unwrap();
    close(w.ci95.0, lo, 1e-9);
    close(w.ci95.1, hi, 1e-9);
    assert!(weighted_share(&[]).is_none());
    assert!(weighted_share(&[(0.0, true)]).is_none());
}

/// Production evidence adds to an intent's own: 130 held-out predictions, all right, cannot
/// open a 98% gate (149 needed); 30 reviewed decisions in production, all right, make 160 and
/// open it (0.05^(1/160) = 0.9815). One wrong production review among the most confident
/// keeps it shut. The intent says which evidence it had.
#[test]
fn production_evidence_adds_to_the_held_out_evidence() {
    use flowgate_gate::{Gate, Policy};
    let policy = || {
        Policy::parse(
            "[defaults]\nmode = \"auto\"\ntarget_precision = 0.98\n",
            "p.toml",
        )
        .unwrap()
    };
    let labels = vec!["refund".to_owned()];
    let held: Vec<(String, f64, bool)> = (0..130)
        .map(|i| ("refund".to_owned(), 0.95 - i as f64 * 1e-4, true))
        .collect();
    let g = Gate::new(policy(), &held, &labels);
    assert_eq!(g.effective_mode("refund"), "assist");
    assert_eq!(g.calibration["refund"].more_needed, Some(19));
    let prod: Vec<(String, f64, bool)> =
        (0..30).map(|_| ("refund".to_owned(), 0.99, true)).collect();
    let g = Gate::with_evidence(policy(), &held, &prod, &labels);
    let c = &g.calibration["refund"];
    assert_eq!(
        (g.effective_mode("refund"), c.kept, c.evidence),
        ("auto", 160, Evidence::Both)
    );
    close(c.lower_bound.unwrap(), 0.05f64.powf(1.0 / 160.0), 1e-9);
    let mut bad = prod.clone();
    bad[0].2 = false;
    let g = Gate::with_evidence(policy(), &held, &bad, &labels);
    assert_eq!(g.effective_mode("refund"), "assist");
    // Production alone.
    let many: Vec<(String, f64, bool)> =
        (0..200).map(|_| ("refund".to_owned(), 0.9, true)).collect();
    let g = Gate::with_evidence(policy(), &[], &many, &labels);
    assert_eq!(g.calibration["refund"].evidence, Evidence::Production);
    assert_eq!(g.effective_mode("refund"), "auto");
}
