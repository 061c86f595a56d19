//! Training an intent model from labelled texts (`flowgate train`): out-of-scope examples,
//! an optional label audit, and the held-out predictions the gate calibrates on — made by
//! cross-fitting over every training text and kept with the model.

use flowgate_demand::intent::OosExamples;
use flowgate_demand::linear::TrainParams;
use flowgate_demand::{Embed, IntentModel, texts};

use crate::{Error, Result};

/// Progress: (stage, done, total).
pub type Progress<'a> = &'a dyn Fn(&str, usize, usize);

/// What to train on, and how.
pub struct TrainRequest {
    /// The labelled texts (ids and lines kept for the label audit's list).
    pub data: texts::Labelled,
    /// Out-of-scope examples besides the texts labelled `oos_label`.
    pub oos_texts: Vec<String>,
    /// Texts with this label are out-of-scope examples, not an intent.
    pub oos_label: Option<String>,
    pub params: TrainParams,
    /// Folds for the held-out predictions the gate calibrates on (< 2: none).
    pub gate_folds: usize,
    /// Look for likely label errors.
    pub audit_labels: bool,
    /// Train without the texts the audit suspects (it runs then, whatever `audit_labels`).
    pub drop_suspects: bool,
}

/// A text whose label looks wrong: the out-of-fold model suggests another, confidently.
#[derive(Clone, Debug)]
pub struct SuspectLabel {
    pub line: u64,
    pub id: String,
    pub text: String,
    pub given: String,
    pub suggested: String,
    pub confidence: f32,
}

/// A trained model and what training found.
pub struct Trained {
    pub model: IntentModel,
    /// The texts it was trained on (without out-of-scope and dropped ones).
    pub data: texts::Labelled,
    /// The label audit's findings (empty when it did not run).
    pub suspects: Vec<SuspectLabel>,
    /// Texts left out as suspect.
    pub dropped: usize,
}

/// Trains a model. The gate calibrates on every training text, suspects included (scored
/// against their given labels): the folds never train on suspects, but thresholds must see
/// the data the model will meet, not a cleaned copy of it.
pub fn train(enc: &dyn Embed, req: TrainRequest, progress: Progress<'_>) -> Result<Trained> {
    let TrainRequest {
        mut data,
        mut oos_texts,
        oos_label,
        params,
        gate_folds,
        audit_labels,
        drop_suspects,
    } = req;
    if let Some(l) = &oos_label {
        let marked: Vec<bool> = data.labels.iter().map(|x| x == l).collect();
        if !marked.contains(&true) {
            return Err(Error::Invalid(format!(
                "no text is labelled {l:?} (the out-of-scope label)"
            )));
        }
        oos_texts.extend(
            data.texts
                .iter()
                .zip(&marked)
                .filter(|(_, m)| **m)
                .map(|(t, _)| t.clone()),
        );
        drop_texts(&mut data, &marked);
    }
    let oos_refs: Vec<&str> = oos_texts.iter().map(String::as_str).collect();
    let oos_emb = flowgate_demand::intent::embed_all(enc, &oos_refs, &|_, _, _| {})?;
    let oos = || OosExamples {
        texts: &oos_refs,
        emb: &oos_emb,
    };
    let texts: Vec<&str> = data.texts.iter().map(String::as_str).collect();
    let labels: Vec<&str> = data.labels.iter().map(String::as_str).collect();
    let mut emb = flowgate_demand::intent::embed_all(enc, &texts, progress)?;
    let mut suspects = Vec::new();
    let mut suspect = vec![false; texts.len()];
    if audit_labels || drop_suspects {
        let found =
            flowgate_demand::intent::audit_labels(&texts, &labels, &emb, params, 5, progress)?;
        for sp in found {
            suspect[sp.index] = drop_suspects;
            suspects.push(SuspectLabel {
                line: data.lines[sp.index],
                id: data.ids[sp.index].clone(),
                text: data.texts[sp.index].clone(),
                given: sp.given,
                suggested: sp.suggested,
                confidence: sp.confidence,
            });
        }
    }
    let dropped = suspect.iter().filter(|d| **d).count();
    let held_out = if gate_folds >= 2 {
        let mut names_all: Vec<String> = labels.iter().map(|l| l.to_string()).collect();
        names_all.sort_unstable();
        names_all.dedup();
        let items = flowgate_demand::intent::cross_fit_masked(
            enc,
            &texts,
            &labels,
            &emb,
            (dropped > 0).then_some(suspect.as_slice()),
            oos(),
            params,
            gate_folds,
            progress,
        )?;
        Some((names_all, items))
    } else {
        None
    };
    drop((texts, labels));
    if dropped > 0 {
        drop_texts(&mut data, &suspect);
        keep_unmarked(&mut emb, &suspect);
    }
    let texts: Vec<&str> = data.texts.iter().map(String::as_str).collect();
    let labels: Vec<&str> = data.labels.iter().map(String::as_str).collect();
    let mut model =
        IntentModel::train_with_oos(enc, &texts, &labels, &emb, oos(), params, progress)?;
    if let Some((names_all, items)) = held_out {
        // Indices into every label seen → into the model's labels (the same list unless the
        // audit dropped every text of a label; such predictions cannot be kept).
        model.header.held_out = items
            .into_iter()
            .filter_map(|(k, c, ok)| {
                let name = &names_all[k as usize];
                let at = model.header.labels.iter().position(|l| l == name)?;
                Some((at as u32, c, ok))
            })
            .collect();
    }
    if dropped > 0 {
        model.header.metrics = serde_json::json!({ "suspect_labels_dropped": dropped });
    }
    drop((texts, labels));
    Ok(Trained {
        model,
        data,
        suspects,
        dropped,
    })
}

/// Removes the marked texts with their ids, lines, labels and rows.
fn drop_texts(data: &mut texts::Labelled, marked: &[bool]) {
    keep_unmarked(&mut data.ids, marked);
    keep_unmarked(&mut data.lines, marked);
    keep_unmarked(&mut data.texts, marked);
    keep_unmarked(&mut data.labels, marked);
    if data.rows.len() == marked.len() {
        keep_unmarked(&mut data.rows, marked);
    }
}

/// Removes the items whose `marked` entry is true.
fn keep_unmarked<T>(v: &mut Vec<T>, marked: &[bool]) {
    let mut m = marked.iter();
    v.retain(|_| !m.next().copied().unwrap_or(false));
}
