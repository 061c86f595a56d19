#!/usr/bin/env bash
# Writes the fuzzers' seed inputs into fuzz/seeds/TARGET/ (not committed): short heads of the
# public data sets in ../shared/data, and the project's own presets, policies and articles.
set -euo pipefail
cd "$(dirname "$0")"
D=../../shared/data
rm -rf seeds && mkdir -p seeds/{csv_reader,xes_reader,mapping_toml,policy_toml,kb_article,timestamp}
head -c 4000 "$D/helpdesk/Helpdesk_4tu_eramam.csv" > seeds/csv_reader/helpdesk.csv
head -c 4000 "$D/bpic2013/VINST-new_ibm.csv" > seeds/csv_reader/vinst.csv
head -c 4000 "$D/bpic2013/bpi_13_incidents_verenich.csv" > seeds/csv_reader/bpic13.csv
head -c 3000 "$D/bpic2013/BPI_Challenge_2013_closed_problems.csv" > seeds/csv_reader/closed.csv
printf 'case;time;activity;team\nA;2026-01-01 08:00;New;X\nA;2026-01-01 09:00;Resolved;Y\n' > seeds/csv_reader/semicolon.csv
for f in bpi_challenge_2013_incidents BPI_Challenge_2013_closed_problems; do
  gzip -dc "$D/bpic2013/$f.xes.gz" | head -c 6000 > "seeds/xes_reader/$f.xes" || true
done
cp ../crates/flowgate-ingest/presets/*.toml seeds/mapping_toml/
cp ../examples/gate-policy.toml ../benches/replay-banking77*.toml seeds/policy_toml/
cp ../crates/flowgate-synth/kb/*.md seeds/kb_article/
i=0
for t in "2026-11-27T09:12:03Z" "2026-11-27 09:12:03" "2012/3/31 14:05:00" "31/03/2012 14:05" \
         "1700000000" "1700000000123" "2010-03-31T16:59:42.000+02:00" $'Europe/Berlin\n2026-03-29 02:30:00' \
         $'+05:30\n2026-01-01 00:00' $'%d.%m.%Y %H:%M\n31.12.2026 23:59'; do
  i=$((i + 1)); printf '%s' "$t" > "seeds/timestamp/t$i"
done
echo "seeds written to fuzz/seeds"
