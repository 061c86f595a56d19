//! Known answers for the bounds and the threshold search.

use flowgate_gate::interval::{Z95, clopper_pearson_lower, wilson_lower};
use flowgate_gate::{Bound, calibrate};

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
