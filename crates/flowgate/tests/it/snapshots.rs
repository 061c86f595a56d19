//! Snapshot tests of the text and Markdown reports of a small log.

use crate::{flowgate, temp_dir};

const LOG: &str = "\
Case ID,Activity,Resource,Complete Timestamp,workgroup
Case 1,Insert ticket,Ann,2012/10/9 8:00:00,G1
Case 1,Assign seriousness,Ann,2012/10/9 9:00:00,G1
Case 1,Take in charge ticket,Bo,2012/10/9 13:00:00,G2
Case 1,Wait,Bo,2012/10/9 14:00:00,G2
Case 1,Take in charge ticket,Bo,2012/10/10 9:00:00,G2
Case 1,Resolve ticket,Bo,2012/10/10 11:00:00,G2
Case 1,Closed,Bo,2012/10/12 11:00:00,G2
Case 2,Insert ticket,Ann,2012/10/9 10:00:00,G1
Case 2,Take in charge ticket,Ann,2012/10/9 10:30:00,G1
Case 2,Resolve ticket,Ann,2012/10/9 12:30:00,G1
Case 2,Take in charge ticket,Cy,2012/10/11 9:00:00,G3
Case 2,Create SW anomaly,Cy,2012/10/11 10:00:00,G3
Case 2,Resolve ticket,Cy,2012/10/15 10:00:00,G3
Case 3,Insert ticket,Ann,2012/10/14 10:00:00,G1
Case 3,Assign seriousness,Ann,2012/10/14 10:05:00,G1
";

fn report(format: &str) -> String {
    let d = temp_dir(&format!("snap-{format}"));
    let p = d.join("small.csv");
    std::fs::write(&p, LOG).unwrap();
    let out = flowgate(&[
        "baseline",
        p.to_str().unwrap(),
        "--preset",
        "helpdesk",
        "--format",
        format,
        "-q",
    ]);
    assert!(out.status.success());
    String::from_utf8(out.stdout)
        .unwrap()
        .replace(p.to_str().unwrap(), "small.csv")
}

#[test]
fn text_report() {
    insta::assert_snapshot!(report("text"));
}

#[test]
fn markdown_report() {
    insta::assert_snapshot!(report("md"));
}
