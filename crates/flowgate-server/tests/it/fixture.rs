//! A small fixture model for the stub embedder: the demo's synthetic tickets (12 intents),
//! 60 per intent embedded by [`HashEmbedder`] and trained through the same code path as
//! `flowgate train` (held-out predictions from 5-fold cross-fitting for the gate), a
//! knowledge base built from the demo's articles with the same embedder, and the demo's
//! policy. Built once per test process, into a temporary folder.

use std::path::PathBuf;
use std::sync::OnceLock;

use flowgate_demand::intent::{OosExamples, cross_fit, embed_all};
use flowgate_demand::linear::TrainParams;
use flowgate_demand::{Embed, HashEmbedder, IntentModel};

/// The stub embedder's dimension.
pub const DIM: usize = 256;
const PER_INTENT: usize = 60;

pub fn embedder() -> HashEmbedder {
    HashEmbedder::new(DIM)
}

/// The demo's policy: four repetitive intents may act at 98%, data privacy is human-only,
/// two escalation rules.
pub const POLICY: &str = r#"name = "fixture pilot"
version = 1

[defaults]
mode = "assist"
target_precision = 0.98

[intents.password_reset]
mode = "auto"

[intents.order_status]
mode = "auto"

[intents.invoice_copy]
mode = "auto"

[intents.address_change]
mode = "auto"

[intents.data_privacy]
mode = "human"
team = "Legal"

[[rules]]
name = "legal or fraud"
words = ["lawyer*", "chargeback", "fraud*", "sue"]

[[rules]]
name = "personal data"
personal_data = true
action = "route"
team = "privacy"

[sampling]
seed = 7
"#;

pub struct Fixture {
    model: PathBuf,
    kb: PathBuf,
    /// Tickets the model was not trained on: (id, subject, body, intent).
    pub fresh: Vec<(String, String, String, String)>,
}

impl Fixture {
    pub fn model(&self) -> IntentModel {
        IntentModel::load(&self.model).unwrap()
    }
    pub fn kb(&self) -> flowgate_kb::Kb {
        flowgate_kb::Kb::open(&self.kb).unwrap()
    }
}

static FIXTURE: OnceLock<Fixture> = OnceLock::new();

pub fn get() -> &'static Fixture {
    FIXTURE.get_or_init(build)
}

fn build() -> Fixture {
    let dir = std::env::temp_dir().join(format!("flowgate-server-fixture-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let g = flowgate_synth::generate(&flowgate_synth::Config {
        tickets: 3000,
        ..Default::default()
    });
    let enc = embedder();
    let mut seen = std::collections::BTreeMap::<&str, usize>::new();
    let (mut texts, mut labels, mut fresh) = (Vec::new(), Vec::new(), Vec::new());
    for t in &g.tickets {
        let n = seen.entry(t.intent).or_default();
        if *n < PER_INTENT {
            *n += 1;
            texts.push(format!("{}\n{}", t.subject, t.body));
            labels.push(t.intent);
        } else if fresh.len() < 400 {
            fresh.push((
                t.case_id.clone(),
                t.subject.clone(),
                t.body.clone(),
                t.intent.to_owned(),
            ));
        }
    }
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let emb = embed_all(&enc, &refs, &|_, _, _| {}).unwrap();
    let params = TrainParams::default();
    let mut model =
        IntentModel::train_embedded(&enc, &refs, &labels, &emb, params, &|_, _, _| {}).unwrap();
    model.header.held_out = cross_fit(
        &enc,
        &refs,
        &labels,
        &emb,
        OosExamples::default(),
        params,
        5,
        &|_, _, _| {},
    )
    .unwrap();
    assert_eq!(model.header.dim, enc.dim());
    let model_path = dir.join("fixture.fgim");
    model.save(&model_path).unwrap();
    let kb_src = dir.join("kb");
    flowgate_synth::write_kb(&kb_src).unwrap();
    let kb = dir.join("kb.fgkb");
    flowgate_kb::build(&kb_src, &kb, &enc, &|_, _| {}).unwrap();
    Fixture {
        model: model_path,
        kb,
        fresh,
    }
}
