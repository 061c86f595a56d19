"""The PM4Py side of the comparison in BENCHMARKS.md: read + format + DFG + performance DFG +
case durations + variants + rework on a bare case/activity/timestamp CSV.

Usage: python pm4py_baseline.py FILE.csv   (pip install pm4py)
Prints wall seconds and peak RSS (MiB) as one JSON line.
"""
import json
import resource
import sys
import time

import pandas as pd
import pm4py

t0 = time.perf_counter()
df = pd.read_csv(sys.argv[1])
df = pm4py.format_dataframe(df, case_id="CaseID", activity_key="ActivityID", timestamp_key="CompleteTimestamp")
dfg, start, end = pm4py.discover_dfg(df)
perf, _, _ = pm4py.discover_performance_dfg(df)
durations = pm4py.get_all_case_durations(df)
variants = pm4py.get_variants(df)
rework = pm4py.get_rework_cases_per_activity(df)
secs = time.perf_counter() - t0
print(json.dumps({
    "seconds": round(secs, 2),
    "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
    "events": len(df),
    "cases": len(durations),
    "dfg_edges": len(dfg),
    "variants": len(variants),
}))
