use flowgate_flow::{BaselineOptions, baseline};
use flowgate_ingest::{Format, Mapping, ReadOptions, read_log};

use crate::{gzip, temp_file};

const XES: &str = r#"<?xml version="1.0" encoding="UTF-8" ?>
<log xes.version="1.0" xmlns="http://www.xes-standard.org/">
  <global scope="event"><string key="concept:name" value="UNKNOWN"/></global>
  <string key="concept:name" value="the log"/>
  <trace>
    <string key="concept:name" value="c1"/>
    <event>
      <string key="concept:name" value="Queued"/>
      <string key="lifecycle:transition" value="Awaiting Assignment"/>
      <string key="org:group" value="G1"/>
      <date key="time:timestamp" value="2010-03-31T17:45:48+02:00"/>
      <list key="tags"><string key="x" value="nested, ignored"/></list>
    </event>
    <event>
      <string key="concept:name" value="Accepted"/>
      <string key="lifecycle:transition" value="In Progress"/>
      <string key="org:group" value="G2 2nd"/>
      <string key="org:resource" value="Ann &amp; Bo"/>
      <date key="time:timestamp" value="2010-03-31T16:50:48+01:00"/>
    </event>
    <event>
      <string key="concept:name" value="Completed"/>
      <string key="lifecycle:transition" value="Resolved"/>
      <string key="org:group" value="G2 2nd"/>
      <date key="time:timestamp" value="2010-03-31T18:00:00Z"/>
    </event>
    <string key="customer" value="after the events"/>
  </trace>
  <trace>
    <string key="concept:name" value="c2"/>
    <event>
      <string key="concept:name" value="Queued"/>
      <string key="lifecycle:transition" value="Awaiting Assignment"/>
      <date key="time:timestamp" value="2010-04-01T00:00:00Z"/>
    </event>
  </trace>
</log>
"#;

#[test]
fn reads_traces_events_and_the_bpic2013_preset() {
    let p = temp_file("small.xes.gz", &gzip(XES.as_bytes()));
    let got = read_log(
        &p,
        &ReadOptions {
            mapping: Some(Mapping::preset("bpic2013").unwrap()),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(got.format, Format::Xes);
    let log = &got.log;
    assert_eq!(log.n_events(), 4);
    assert_eq!(log.n_cases(), 2);
    let acts: Vec<&str> = log
        .activity()
        .iter()
        .map(|&a| log.activities.resolve(a))
        .collect();
    assert_eq!(
        acts,
        [
            "Queued-Awaiting Assignment",
            "Accepted-In Progress",
            "Completed-Resolved",
            "Queued-Awaiting Assignment"
        ]
    );
    assert_eq!(log.resources.resolve(log.resource()[1]), "Ann & Bo");
    // Trace attributes apply to every event, even when written after them.
    let cust = log.attr_index("case:customer").unwrap();
    assert_eq!(
        log.attr_values[cust].resolve(log.attr(cust)[0]),
        "after the events"
    );
    let b = baseline(log, &BaselineOptions::new());
    assert_eq!(b.resolved_cases, 1);
    // 17:45:48+02:00 = 15:45:48Z created, 18:00:00Z resolved: 2 h 14 min 12 s.
    assert_eq!(b.cycle_time_s.p50, Some(8052.0));
    assert_eq!(b.escalated_cases, 1);
    assert_eq!(b.handoffs.total, 1);
}

#[test]
fn without_a_mapping_uses_the_standard_extensions() {
    let p = temp_file("plain.xes", XES.as_bytes());
    let got = read_log(&p, &ReadOptions::default()).unwrap();
    assert!(got.detected);
    let log = &got.log;
    assert_eq!(log.activities.resolve(log.activity()[0]), "Queued");
    assert_eq!(log.teams.resolve(log.team()[0]), "G1");
}
