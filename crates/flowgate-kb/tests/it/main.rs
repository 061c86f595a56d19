//! Knowledge bases built from public data: Bitext customer-support responses (one article
//! per intent, searched with the customers' own requests) and ABCD's written agent
//! guidelines (one article per subflow, searched with real conversation openings); article
//! errors; answer templates.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use flowgate_demand::{Encoder, model_files};
use flowgate_kb::template::fill;
use flowgate_kb::{Kb, KbError, build};

fn shared() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data")
}

fn temp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("flowgate-kb-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn encoder() -> Encoder {
    Encoder::load(&model_files::default_model_dir().unwrap()).unwrap()
}

fn bitext() -> Vec<csv::StringRecord> {
    let p = shared().join(
        "bitext-customer-support/Bitext_Sample_Customer_Support_Training_Dataset_4514_337b968.csv",
    );
    let mut r = csv::Reader::from_path(p).unwrap();
    r.records().map(|r| r.unwrap()).collect()
}

/// Bitext columns: 2 instruction, 3 intent, 10 response.
#[test]
fn bitext_requests_find_the_article_of_their_intent() {
    let rows = bitext();
    let mut by_intent: BTreeMap<&str, Vec<&csv::StringRecord>> = BTreeMap::new();
    for r in &rows {
        by_intent.entry(r.get(3).unwrap()).or_default().push(r);
    }
    // The data set's README: 27 intents.
    assert_eq!(by_intent.len(), 27);
    let src = temp("bitext-src");
    for (intent, rs) in &by_intent {
        // The article: three agent responses; the answer template is the first.
        let body: Vec<&str> = rs.iter().take(3).map(|r| r.get(10).unwrap()).collect();
        let text = format!(
            "+++\nid = \"{intent}\"\ntitle = \"{}\"\nintents = [\"{intent}\"]\nrisk = \"low\"\nreviewed = \"2026-10-01\"\nanswer = '''{}'''\n+++\n\n{}\n",
            intent.replace('_', " "),
            rs[0].get(10).unwrap().replace("'''", "'"),
            body.join("\n\n")
        );
        std::fs::write(src.join(format!("{intent}.md")), text).unwrap();
    }
    let out = temp("bitext-kb").join("kb");
    let enc = encoder();
    let built = build(&src, &out, &enc, &|_, _| {}).unwrap();
    assert_eq!(built.articles, 27);
    let kb = Kb::open(&out).unwrap();
    // Queries: 20 requests per intent that no article was written from.
    let (mut top1, mut top3, mut n) = (0, 0, 0);
    for (intent, rs) in &by_intent {
        for r in rs.iter().skip(3).step_by(7).take(20) {
            let hits = kb.search(&enc, r.get(2).unwrap(), 3).unwrap();
            let ids: Vec<&str> = hits
                .iter()
                .map(|h| kb.articles[h.article].id.as_str())
                .collect();
            n += 1;
            top1 += (ids.first() == Some(intent)) as usize;
            top3 += ids.contains(intent) as usize;
        }
    }
    let (p1, p3) = (top1 as f64 / n as f64, top3 as f64 / n as f64);
    eprintln!("bitext: {n} queries, top-1 {p1:.3}, top-3 {p3:.3}");
    assert!(n >= 500);
    // Chance is 1/27 = 0.037 top-1.
    assert!(p1 >= 0.70, "top-1 {p1}");
    assert!(p3 >= 0.85, "top-3 {p3}");
}

/// ABCD guidelines.json: flows → subflows → instructions and actions (text and subtext
/// bullets).
#[test]
fn abcd_conversation_openings_find_their_guideline() {
    let g: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(shared().join("abcd-kb/guidelines.json")).unwrap(),
    )
    .unwrap();
    let src = temp("abcd-src");
    let mut count = 0;
    for (flow, f) in g.as_object().unwrap() {
        for (sub, s) in f["subflows"].as_object().unwrap() {
            let mut body = format!("{}\n\n", f["description"].as_str().unwrap_or(""));
            for i in s["instructions"].as_array().into_iter().flatten() {
                body.push_str(i.as_str().unwrap_or(""));
                body.push('\n');
            }
            body.push('\n');
            for a in s["actions"].as_array().unwrap() {
                body.push_str(a["text"].as_str().unwrap_or(""));
                body.push('\n');
                for st in a["subtext"].as_array().into_iter().flatten() {
                    body.push_str(&format!("- {}\n", st.as_str().unwrap_or("")));
                }
                body.push('\n');
            }
            let id = format!("{flow}/{sub}");
            let file = format!("{count:02}.md");
            std::fs::write(
                src.join(file),
                format!(
                    "+++\nid = \"{id}\"\ntitle = \"{sub}\"\npolicy = \"{flow}\"\n+++\n\n{body}"
                ),
            )
            .unwrap();
            count += 1;
        }
    }
    // The ABCD paper: 55 subflows.
    assert_eq!(count, 55);
    let out = temp("abcd-kb").join("kb");
    let enc = encoder();
    build(&src, &out, &enc, &|_, _| {}).unwrap();
    let kb = Kb::open(&out).unwrap();
    assert_eq!(kb.articles.len(), 55);
    // The three sample conversations and their subflow (scenario.subflow), matched by hand
    // to the guideline titles.
    let want = BTreeMap::from([
        ("return_size", "Return Due to Size"),
        ("refund_status", "Refund Status"),
        ("timing_4", "Timing FAQ"),
    ]);
    let convos: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(shared().join("abcd-kb/abcd_sample.json")).unwrap(),
    )
    .unwrap();
    for c in convos.as_array().unwrap() {
        let sub = c["scenario"]["subflow"].as_str().unwrap();
        let said: Vec<&str> = c["original"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|u| u[0] == "customer")
            .map(|u| u[1].as_str().unwrap())
            .take(3)
            .collect();
        // The three best distinct articles among the top passages.
        let hits = kb.search(&enc, &said.join(" "), 20).unwrap();
        let mut titles: Vec<&str> = Vec::new();
        for h in &hits {
            let t = kb.articles[h.article].title.as_str();
            if !titles.contains(&t) && titles.len() < 3 {
                titles.push(t);
            }
        }
        assert!(titles.contains(&want[sub]), "{sub}: {said:?} → {titles:?}");
    }
}

fn err(text: &str) -> (usize, String) {
    match flowgate_kb::article::parse(text, "a.md") {
        Err(KbError::Article { line, problem, .. }) => (line, problem),
        other => panic!("expected an article error, got {other:?}"),
    }
}

#[test]
fn bad_articles_are_refused_with_file_and_line() {
    let (line, p) = err("# no front matter\n");
    assert_eq!(line, 1);
    assert!(p.contains("front matter"), "{p}");
    let (_, p) = err("+++\nid = \"a\"\n");
    assert!(p.contains("not closed"), "{p}");
    let (line, p) = err("+++\nid = \"a\"\nrisk = \"extreme\"\n+++\nbody\n");
    assert_eq!(line, 3);
    assert!(p.contains("low, medium or high"), "{p}");
    let (line, p) = err("+++\nid = \"a\"\nreviewed = \"last week\"\n+++\n");
    assert_eq!(line, 3);
    assert!(p.contains("YYYY-MM-DD"), "{p}");
    let (line, p) = err("+++\nid = \"a\"\ncolour = 1\n+++\n");
    assert_eq!(line, 3);
    assert!(p.contains("colour"), "{p}");
    // A duplicate id across files names both.
    let src = temp("dup");
    for f in ["a.md", "b.md"] {
        std::fs::write(src.join(f), "+++\nid = \"same\"\n+++\ntext\n").unwrap();
    }
    let out = temp("dup-out").join("kb");
    let e = build(&src, &out, &encoder(), &|_, _| {})
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("b.md") && e.contains("a.md") && e.contains("same"),
        "{e}"
    );
    assert!(!out.exists(), "a failed build leaves nothing");
}

#[test]
fn templates_fill_what_the_ticket_holds_and_list_the_rest() {
    let fields: BTreeMap<String, String> =
        BTreeMap::from([("Customer Name".to_string(), "Ada".to_string())]);
    let a = fill(
        "Hi {{Customer Name}}, order {{Order Number}} ships to {{Email Address}}; we refund {{Refund Amount}} by {{Delivery Date}}. Call {{Customer Support Phone Number}}.",
        "Where is order 113542617735? write to ada@example.com about the $45.90",
        &fields,
    );
    assert_eq!(
        a.text,
        "Hi Ada, order 113542617735 ships to ada@example.com; we refund $45.90 by {{Delivery Date}}. Call {{Customer Support Phone Number}}."
    );
    assert_eq!(
        a.unfilled,
        vec!["Delivery Date", "Customer Support Phone Number"]
    );
    assert_eq!(a.filled[0].source, "field:customer_name");
    assert_eq!(a.filled[1].source, "text");
}
