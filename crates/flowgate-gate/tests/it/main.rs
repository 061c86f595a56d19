//! Known answers for the bounds and the threshold search.

use flowgate_gate::interval::{Z95, clopper_pearson_lower, wilson_lower};
use flowgate_gate::{Bound, calibrate};

mod policy;

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
    // The exact interval is wider than Wilson's.
    assert!(clopper_pearson_lower(95, 100, 0.05) < wilson_lower(95, 100, Z95));
}

/// 100 predictions of one intent with confidence 1.00, 0.99, …, 0.01; the 60 most
/// confident are right. Wilson: 60/61 has lower bound 0.9128 and 60/62 0.8898, so at a 90%
/// target the threshold is the 61st confidence, 0.40; at 95% even 60/60 (0.9398) falls short.
#[test]
fn the_threshold_is_the_lowest_confidence_the_bound_vouches_for() {
    let items: Vec<(String, f64, bool)> = (0..100)
        .map(|i| ("refund".to_owned(), 1.0 - i as f64 / 100.0, i < 60))
        .collect();
    let c = calibrate(&items, 0.90, Bound::Wilson, 30);
    let t = &c.intents[0];
    assert_eq!(t.mode, "auto");
    assert_eq!(t.kept, 61);
    close(t.threshold.unwrap(), 0.40, 1e-12);
    close(t.lower_bound.unwrap(), 0.912_811, 1e-6);
    close(t.coverage, 0.61, 1e-12);
    close(c.expected_coverage, 0.61, 1e-12);
    let c = calibrate(&items, 0.95, Bound::Wilson, 30);
    assert_eq!(c.intents[0].mode, "assist");
    // 1 / (1 + z²/n) ≥ 0.95 needs n ≥ 3.8415 · 0.95 / 0.05 = 72.99.
    assert_eq!(Bound::Wilson.items_needed(0.95), 73);
    assert!(wilson_lower(73, 73, Z95) >= 0.95 && wilson_lower(72, 72, Z95) < 0.95);
    assert!(
        c.intents[0].why.contains("takes 73"),
        "{}",
        c.intents[0].why
    );
    assert_eq!(c.expected_coverage, 0.0);
    // Too little data: assist whatever the precision.
    let few: Vec<(String, f64, bool)> = items.iter().take(20).cloned().collect();
    let c = calibrate(&few, 0.5, Bound::Wilson, 30);
    assert_eq!(c.intents[0].mode, "assist");
    assert!(c.intents[0].why.contains("only 20"));
}

#[test]
fn tied_confidences_stay_together() {
    // Ten right at 0.9, then ten at 0.8 of which five are wrong: a cut inside the tie is not
    // allowed, so the threshold is 0.9 (10/10) at a 65% target, not somewhere in the 0.8s.
    let mut items: Vec<(String, f64, bool)> =
        (0..10).map(|_| ("a".to_owned(), 0.9, true)).collect();
    items.extend((0..10).map(|i| ("a".to_owned(), 0.8, i % 2 == 0)));
    let c = calibrate(&items, 0.65, Bound::Wilson, 1);
    assert_eq!(c.intents[0].kept, 10);
    close(c.intents[0].threshold.unwrap(), 0.9, 1e-12);
}

proptest::proptest! {
    /// Whatever the data, an `auto` intent's kept items meet the target by the bound, and
    /// the bound never exceeds the measured precision.
    #[test]
    fn kept_items_always_meet_the_target(
        conf in proptest::collection::vec((0.0f64..1.0, proptest::bool::ANY), 1..200),
        target in 0.5f64..0.99,
    ) {
        let items: Vec<(String, f64, bool)> =
            conf.iter().map(|&(c, ok)| ("x".to_owned(), c, ok)).collect();
        for bound in [Bound::Wilson, Bound::ClopperPearson] {
            let c = calibrate(&items, target, bound, 1);
            let t = &c.intents[0];
            if let (Some(th), Some(lb), Some(p)) = (t.threshold, t.lower_bound, t.precision) {
                proptest::prop_assert!(lb >= target);
                proptest::prop_assert!(lb <= p + 1e-12);
                let kept = items.iter().filter(|i| i.1 >= th).count() as u64;
                proptest::prop_assert_eq!(kept, t.kept);
            }
        }
    }
}

/// Five intents with 100 right predictions each at 0.99: alone, 100 of 100 has a Wilson
/// lower bound of 1 / (1 + z²/100) = 0.963 < 0.98, so none can vouch for itself. A sixth
/// intent has 10 predictions at 0.995 of which 3 are wrong. Pooled, the 510 items at ≥ 0.99
/// hold 507 right (lower bound 0.9829 ≥ 0.98): the threshold is 0.99. The five borrow it;
/// the sixth's own 7 of 10 has an upper bound of 0.892 < 0.98, so it stays `assist`.
#[test]
fn thin_intents_borrow_the_pooled_threshold_unless_their_own_data_contradicts_it() {
    let mut items: Vec<(String, f64, bool)> = Vec::new();
    for k in 0..5 {
        items.extend((0..100).map(|_| (format!("good{k}"), 0.99, true)));
    }
    items.extend((0..10).map(|i| ("bad".to_owned(), 0.995, i < 7)));
    let alone = flowgate_gate::calibrate(&items, 0.98, Bound::Wilson, 10);
    assert!(alone.intents.iter().all(|i| i.mode == "assist"));
    let c = flowgate_gate::calibrate_with(&items, 0.98, Bound::Wilson, 10, true);
    close(c.pooled_threshold.unwrap(), 0.99, 1e-12);
    for i in &c.intents {
        if i.intent == "bad" {
            assert_eq!(i.mode, "assist", "{}", i.why);
            assert!(i.why.contains("contradict"), "{}", i.why);
        } else {
            assert_eq!((i.mode, i.pooled, i.kept), ("auto", true, 100), "{}", i.why);
        }
    }
    close(c.expected_coverage, 500.0 / 510.0, 1e-12);
    close(c.expected_precision.unwrap(), 1.0, 1e-12);
    assert!(Bound::Wilson.lower(507, 510) >= 0.98);
    close(Bound::Wilson.upper(7, 10), 0.8922, 1e-4);
}
