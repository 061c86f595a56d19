#!/usr/bin/env bash
# Runs one fuzz target for SECONDS (default 600) on the saved corpus plus fresh seeds, then
# minimises the corpus. Needs `cargo install cargo-fuzz`; works on the stable toolchain
# through RUSTC_BOOTSTRAP=1. Usage: fuzz/run.sh TARGET [SECONDS]
set -euo pipefail
cd "$(dirname "$0")"
t="$1"; secs="${2:-600}"
[ -d "seeds/$t" ] || ./seed.sh
mkdir -p "corpus/$t"
export RUSTC_BOOTSTRAP=1
cargo fuzz run --sanitizer none "$t" "corpus/$t" "seeds/$t" -- \
  -max_total_time="$secs" -rss_limit_mb=4096 -max_len=65536 -print_final_stats=1
# Keep the corpus small (what adds coverage) and free of the seeds' text: the seeds are
# excerpts of the public data sets, which are never committed.
cargo fuzz cmin --sanitizer none "$t" "corpus/$t"
python3 strip_data.py "$t"
echo "corpus/$t: $(ls "corpus/$t" | wc -l) inputs"
