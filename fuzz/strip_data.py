"""Drops from fuzz/corpus/TARGET every input that holds 80 bytes or more taken verbatim from a
seed under fuzz/seeds/TARGET (the seeds are excerpts of the public data sets, which are never
committed). Usage: python3 strip_data.py TARGET"""
import os
import sys

W = 80
t = sys.argv[1]
if t not in ("csv_reader", "xes_reader"):
    # The other targets' seeds are the project's own presets, policies, articles and
    # timestamps: nothing to strip.
    sys.exit(0)
here = os.path.dirname(os.path.abspath(__file__))
seeds = os.path.join(here, "seeds", t)
corpus = os.path.join(here, "corpus", t)
windows = set()
for f in os.listdir(seeds):
    s = open(os.path.join(seeds, f), "rb").read()
    windows.update(s[i : i + W] for i in range(0, len(s) - W + 1))
dropped = 0
for f in os.listdir(corpus):
    p = os.path.join(corpus, f)
    d = open(p, "rb").read()
    if any(d[i : i + W] in windows for i in range(0, len(d) - W + 1)):
        os.remove(p)
        dropped += 1
print(f"{t}: dropped {dropped} inputs holding data-set excerpts")
