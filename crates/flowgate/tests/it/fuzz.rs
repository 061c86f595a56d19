//! The fuzzers' saved corpora replayed as ordinary tests: every input the fuzzers kept
//! (`fuzz/corpus/TARGET/`) and every input that once crashed a target (`fuzz/regressions/
//! TARGET/`, each fixed) goes through the same harness the fuzz targets run. Fuzzing itself
//! stays out of CI (RELIABILITY.md says how to run it).

#[path = "../../../../fuzz/harness.rs"]
mod harness;

use std::path::Path;

type Target = fn(&[u8]);

const TARGETS: [(&str, Target); 6] = [
    ("csv_reader", harness::log_file),
    ("xes_reader", harness::log_file),
    ("mapping_toml", harness::mapping_toml),
    ("policy_toml", harness::policy_toml),
    ("kb_article", harness::kb_article),
    ("timestamp", harness::timestamp),
];

fn replay(dir: &Path, run: Target) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut n = 0;
    for e in entries {
        let path = e.unwrap().path();
        if path.is_file() {
            let data = std::fs::read(&path).unwrap();
            run(&data);
            n += 1;
        }
    }
    n
}

#[test]
fn fuzz_corpora_and_regressions_replay_without_a_panic() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let mut total = 0;
    for (name, run) in TARGETS {
        let kept = replay(&root.join("corpus").join(name), run);
        let fixed = replay(&root.join("regressions").join(name), run);
        assert!(
            kept > 0,
            "fuzz/corpus/{name} is empty: run the fuzzer (RELIABILITY.md)"
        );
        total += kept + fixed;
    }
    assert!(total > 0);
}
