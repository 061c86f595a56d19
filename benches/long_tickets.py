"""Writes long ticket texts for `flowgate bench --triage-model M --texts FILE --tokens 64`.

Each text is what the reporter of one issue in ../shared/data/helpdesk-tickets-utterances
wrote, utterances joined in order. Usage: python3 benches/long_tickets.py OUT.csv
"""
import csv
import sys
from collections import OrderedDict

SRC = "../shared/data/helpdesk-tickets-utterances/sample_utterances.csv"

issues = OrderedDict()
with open(SRC, newline="", encoding="utf-8") as f:
    for r in csv.DictReader(f):
        if r["author_role"] == "reporter":
            issues.setdefault(r["issueid"], []).append(r["actionbody"])
with open(sys.argv[1], "w", newline="", encoding="utf-8") as f:
    w = csv.writer(f)
    w.writerow(["id", "text"])
    for issue, parts in issues.items():
        w.writerow([issue, " ".join(parts)])
