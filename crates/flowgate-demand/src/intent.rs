//! The intent model: frozen sentence embeddings and TF-IDF word/char n-grams in one linear
//! softmax model, temperature-calibrated on a held-out split, with an out-of-scope score
//! (1 − mean cosine similarity to the 5 nearest training texts, plus 1 − confidence) and
//! its threshold.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::embed::Embed;
use crate::error::{DemandError, Result};
use crate::linear::{Linear, TrainParams};
use crate::tfidf::{Sparse, Tfidf};

const MAGIC: &[u8; 4] = b"FGIM";
/// Version of the model file layout this build writes and reads.
/// 2: intent probabilities blend in the nearest training texts' vote (`knn_weight`).
pub const FORMAT_VERSION: u32 = 2;
/// Neighbours for the out-of-scope score.
pub const KNN: usize = 5;
/// Weight of (1 − confidence) in the out-of-scope score: texts near an intent's examples
/// but between intents (in-domain out-of-scope) get low confidence more than they get far
/// from every example. On Banking77-OOS, in-domain AUROC 0.83 → 0.87 and out-of-domain
/// 0.998 → 0.995 (BENCHMARKS.md).
pub const OOS_CONFIDENCE_WEIGHT: f32 = 1.0;
/// Neighbours whose labels vote on a text's intent.
pub const VOTE_K: usize = 10;
/// Softness of the vote: each neighbour weighs exp(similarity / tau).
pub const VOTE_TAU: f32 = 0.05;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Header {
    pub format_version: u32,
    pub model_id: String,
    pub encoder: String,
    pub labels: Vec<String>,
    pub embed_weight: f32,
    pub tfidf: Tfidf,
    pub temperature: f32,
    /// Out-of-scope when the score exceeds this (chosen on held-out in-scope texts).
    pub oos_threshold: f32,
    /// The out-of-scope score adds this × (1 − confidence) to the nearest-neighbour
    /// distance (0 in models written before it existed).
    #[serde(default)]
    pub oos_confidence_weight: f32,
    pub training_data_hash: String,
    pub n_train: usize,
    pub dim: usize,
    pub metrics: serde_json::Value,
    /// Below this confidence a prediction is `ambiguous`: the larger of the training
    /// parameter `min_confidence` and the lowest confidence at which held-out precision
    /// still reached [`AMBIGUOUS_PRECISION`].
    #[serde(default)]
    pub confidence_threshold: f32,
    /// Per label (same order): mean cosine similarity of its training texts to their centre.
    #[serde(default)]
    pub cohesion: Vec<f32>,
    /// Per intent: its bucket from the flow history it was trained with (`train --log`).
    #[serde(default)]
    pub buckets: BTreeMap<String, IntentBucket>,
    /// Out-of-fold predictions of the training texts (cross-fitting): (index of the
    /// predicted label, calibrated confidence, whether it was right). The gate calibrates
    /// its thresholds on these when no separate held-out file is given.
    #[serde(default)]
    pub held_out: Vec<(u32, f32, bool)>,
    /// Out-of-scope examples trained on; when any, the linear model has one more class
    /// (after the labels) for them.
    #[serde(default)]
    pub oos_examples: usize,
    /// Share of the nearest training texts' vote in the intent probabilities (the rest is
    /// the linear model's); 0 in models before format 2.
    #[serde(default)]
    pub knn_weight: f32,
    /// Neighbours that vote and the vote's softness.
    #[serde(default)]
    pub knn_vote: usize,
    #[serde(default)]
    pub knn_tau: f32,
    /// The blend is sharpened or softened by this second temperature (p^(1/T), renormalised).
    #[serde(default = "one")]
    pub blend_temperature: f32,
    /// Per stored training embedding (same order): its label's index.
    #[serde(default)]
    pub train_labels: Vec<u32>,
}

/// Examples of requests that are out of scope (no intent), with their embeddings.
#[derive(Clone, Copy, Default)]
pub struct OosExamples<'a> {
    pub texts: &'a [&'a str],
    pub emb: &'a [Vec<f32>],
}

/// An intent's bucket as assigned from history, with the reason in words.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct IntentBucket {
    pub bucket: String,
    pub explanation: String,
}

/// Precision that confident predictions must reach on held-out texts.
pub const AMBIGUOUS_PRECISION: f64 = 0.90;

pub struct IntentModel {
    pub header: Header,
    linear: Linear,
    /// Training embeddings, row-major `n_train × dim`.
    train_emb: Vec<f32>,
}

/// One text's verdict.
#[derive(Clone, Debug, Serialize)]
pub struct Prediction {
    pub intent: String,
    pub confidence: f32,
    pub top3: Vec<(String, f32)>,
    pub oos_score: f32,
    pub out_of_scope: bool,
    /// Confidence below the calibrated threshold, or out of scope.
    pub ambiguous: bool,
}

pub fn features(emb: &[f32], tfidf: &Tfidf, text: &str, weight: f32) -> Sparse {
    let mut x: Sparse = emb
        .iter()
        .enumerate()
        .map(|(i, v)| (i as u32, v * weight))
        .collect();
    tfidf.transform(text, emb.len() as u32, &mut x);
    x
}

/// The `n` rows of `train` (unit vectors) most similar to `emb`: (cosine similarity, row),
/// most similar first.
pub fn nearest(emb: &[f32], train: &[f32], dim: usize, n: usize) -> Vec<(f32, usize)> {
    let mut best: Vec<(f32, usize)> = Vec::with_capacity(n + 1);
    if n == 0 || dim == 0 {
        return best;
    }
    for (r, row) in train.chunks_exact(dim).enumerate() {
        let s: f32 = row.iter().zip(emb).map(|(a, b)| a * b).sum();
        if best.len() < n || s > best[n - 1].0 {
            let at = best.partition_point(|b| b.0 >= s);
            best.insert(at, (s, r));
            best.truncate(n);
        }
    }
    best
}

/// 1 − mean cosine similarity of the `KNN` nearest rows (of those given, most similar first).
pub fn knn_distance(near: &[(f32, usize)]) -> f32 {
    let got = &near[..near.len().min(KNN)];
    if got.is_empty() {
        return 1.0;
    }
    1.0 - got.iter().map(|n| n.0).sum::<f32>() / got.len() as f32
}

/// 1 − mean cosine similarity to the `KNN` nearest rows of `train` (unit vectors).
pub fn oos_score(emb: &[f32], train: &[f32], dim: usize) -> f32 {
    knn_distance(&nearest(emb, train, dim, KNN))
}

/// The neighbours' vote over `classes` labels: each of the first `k` neighbours adds
/// exp(similarity / tau) to its label; normalised to sum to 1.
pub fn knn_vote(
    near: &[(f32, usize)],
    labels: &[u32],
    classes: usize,
    k: usize,
    tau: f32,
) -> Vec<f32> {
    let mut q = vec![0f32; classes];
    let Some(top) = near.first() else {
        return q;
    };
    let mut total = 0.0;
    for &(s, r) in near.iter().take(k) {
        // Relative to the nearest, so the exponent never overflows.
        let w = ((s - top.0) / tau.max(1e-6)).exp();
        if let Some(c) = labels.get(r).map(|&c| c as usize).filter(|&c| c < classes) {
            q[c] += w;
            total += w;
        }
    }
    if total > 0.0 {
        q.iter_mut().for_each(|v| *v /= total);
    }
    q
}

/// Embeds texts in chunks, reporting progress.
pub fn embed_all(
    encoder: &dyn Embed,
    texts: &[&str],
    progress: &dyn Fn(&str, usize, usize),
) -> Result<Vec<Vec<f32>>> {
    let mut emb = Vec::with_capacity(texts.len());
    for (k, chunk) in texts.chunks(256).enumerate() {
        emb.extend(encoder.embed(chunk)?);
        progress(
            "embedding",
            (k * 256 + chunk.len()).min(texts.len()),
            texts.len(),
        );
    }
    Ok(emb)
}

fn one() -> f32 {
    1.0
}

/// Mixes the neighbours' vote `q` into probabilities `p` with weight `w`.
fn blend(p: &mut [f32], q: &[f32], w: f32) {
    if w <= 0.0 {
        return;
    }
    for (a, b) in p.iter_mut().zip(q) {
        *a = (1.0 - w) * *a + w * b;
    }
}

/// p^(1/t), renormalised.
fn sharpen(p: &mut [f32], t: f32) {
    if t == 1.0 {
        return;
    }
    let mut z: Vec<f32> = p.iter().map(|v| v.max(1e-30).ln() / t).collect();
    let m = z.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut total = 0.0;
    for v in &mut z {
        *v = (*v - m).exp();
        total += *v;
    }
    for (a, v) in p.iter_mut().zip(z) {
        *a = v / total;
    }
}

/// Sorted distinct labels and each text's index into them.
fn label_index(texts: &[&str], labels: &[&str]) -> Result<(Vec<String>, Vec<usize>)> {
    if texts.is_empty() || texts.len() != labels.len() {
        return Err(DemandError::Data("no labelled texts to train on".into()));
    }
    let mut names: Vec<String> = labels.iter().map(|l| l.to_string()).collect();
    names.sort();
    names.dedup();
    if names.len() < 2 {
        return Err(DemandError::Data(format!(
            "need at least two labels, found {}",
            names.len()
        )));
    }
    let y = labels
        .iter()
        .map(|l| names.binary_search_by(|n| n.as_str().cmp(l)).unwrap_or(0))
        .collect();
    Ok((names, y))
}

/// A training text whose label the rest of the data contradicts.
#[derive(Clone, Debug, Serialize)]
pub struct Suspect {
    /// Position among the texts given.
    pub index: usize,
    pub given: String,
    pub suggested: String,
    /// Out-of-fold probability of the suggested label.
    pub confidence: f32,
}

/// Finds likely label errors (confident learning, simplified): every text is predicted by a
/// model trained on the other folds; a text is suspect when the prediction differs from its
/// label with a probability at least the predicted class's mean self-confidence (the mean
/// probability its own texts get). Most confident first.
pub fn audit_labels(
    texts: &[&str],
    labels: &[&str],
    emb: &[Vec<f32>],
    params: TrainParams,
    folds: usize,
    progress: &dyn Fn(&str, usize, usize),
) -> Result<Vec<Suspect>> {
    let (names, y) = label_index(texts, labels)?;
    let k = names.len();
    let folds = folds.clamp(2, texts.len().max(2));
    let weight = params.embed_weight;
    let mut probs: Vec<Vec<f32>> = vec![Vec::new(); texts.len()];
    for f in 0..folds {
        let (train, held): (Vec<usize>, Vec<usize>) =
            (0..texts.len()).partition(|i| i % folds != f);
        let train_texts: Vec<&str> = train.iter().map(|&i| texts[i]).collect();
        let tfidf = Tfidf::fit(&train_texts);
        let x = |i: usize| features(&emb[i], &tfidf, texts[i], weight);
        let xs: Vec<Sparse> = train.iter().map(|&i| x(i)).collect();
        let ys: Vec<usize> = train.iter().map(|&i| y[i]).collect();
        let dim = emb.first().map_or(0, Vec::len);
        let linear = Linear::train(&xs, &ys, dim + tfidf.dim(), k, params, &|_| {});
        for &i in &held {
            probs[i] = linear.proba(&x(i));
        }
        progress("auditing labels", f + 1, folds);
    }
    let mut sum = vec![0f64; k];
    let mut count = vec![0usize; k];
    for (p, &c) in probs.iter().zip(&y) {
        sum[c] += p[c] as f64;
        count[c] += 1;
    }
    let threshold: Vec<f64> = sum
        .iter()
        .zip(&count)
        .map(|(s, &n)| s / n.max(1) as f64)
        .collect();
    let mut out: Vec<Suspect> = probs
        .iter()
        .enumerate()
        .filter_map(|(i, p)| {
            let best = (0..k).max_by(|&a, &b| p[a].total_cmp(&p[b]))?;
            (best != y[i] && p[best] as f64 >= threshold[best]).then(|| Suspect {
                index: i,
                given: names[y[i]].clone(),
                suggested: names[best].clone(),
                confidence: p[best],
            })
        })
        .collect();
    out.sort_by(|a, b| {
        b.confidence
            .total_cmp(&a.confidence)
            .then(a.index.cmp(&b.index))
    });
    Ok(out)
}

/// Out-of-fold predictions: each text predicted by a model trained (the full pipeline,
/// calibration and the out-of-scope examples included) on the other folds; returned as
/// (index into the sorted labels, confidence, right).
#[allow(clippy::too_many_arguments)]
pub fn cross_fit(
    encoder: &dyn Embed,
    texts: &[&str],
    labels: &[&str],
    emb: &[Vec<f32>],
    oos: OosExamples,
    params: TrainParams,
    folds: usize,
    progress: &dyn Fn(&str, usize, usize),
) -> Result<Vec<(u32, f32, bool)>> {
    cross_fit_masked(
        encoder, texts, labels, emb, None, oos, params, folds, progress,
    )
}

/// [`cross_fit`] where only the texts marked in `untrainable` are never trained on (texts a
/// label audit suspects), yet every text is predicted and scored against its given label — so
/// thresholds calibrated on the result see the data the model will meet, not a cleaned copy.
#[allow(clippy::too_many_arguments)]
pub fn cross_fit_masked(
    encoder: &dyn Embed,
    texts: &[&str],
    labels: &[&str],
    emb: &[Vec<f32>],
    untrainable: Option<&[bool]>,
    oos: OosExamples,
    params: TrainParams,
    folds: usize,
    progress: &dyn Fn(&str, usize, usize),
) -> Result<Vec<(u32, f32, bool)>> {
    let (names, y) = label_index(texts, labels)?;
    let folds = folds.clamp(2, texts.len().max(2));
    let mut out: Vec<Option<(u32, f32, bool)>> = vec![None; texts.len()];
    let trainable = |i: usize| untrainable.is_none_or(|m| !m[i]);
    for f in 0..folds {
        let (train, held): (Vec<usize>, Vec<usize>) =
            (0..texts.len()).partition(|i| i % folds != f);
        let train: Vec<usize> = train.into_iter().filter(|&i| trainable(i)).collect();
        let pick = |idx: &[usize]| -> (Vec<&str>, Vec<&str>, Vec<Vec<f32>>) {
            (
                idx.iter().map(|&i| texts[i]).collect(),
                idx.iter().map(|&i| labels[i]).collect(),
                idx.iter().map(|&i| emb[i].clone()).collect(),
            )
        };
        let (tt, tl, te) = pick(&train);
        let m = IntentModel::train_with_oos(encoder, &tt, &tl, &te, oos, params, &|_, _, _| {})?;
        for &i in &held {
            let p = m.predict_one(texts[i], &emb[i]);
            let Ok(k) = names.binary_search(&p.intent) else {
                continue;
            };
            out[i] = Some((k as u32, p.confidence, k == y[i]));
        }
        progress("cross-fitting for the gate", f + 1, folds);
    }
    Ok(out.into_iter().flatten().collect())
}

/// Per class: mean cosine similarity of its (unit) embeddings to their normalised mean.
fn cohesion(emb: &[Vec<f32>], y: &[usize], n_classes: usize, dim: usize) -> Vec<f32> {
    let mut centre = vec![vec![0f32; dim]; n_classes];
    for (e, &c) in emb.iter().zip(y) {
        for (a, b) in centre[c].iter_mut().zip(e) {
            *a += b;
        }
    }
    for c in &mut centre {
        let norm = c.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-12);
        c.iter_mut().for_each(|v| *v /= norm);
    }
    let mut sum = vec![0f32; n_classes];
    let mut count = vec![0usize; n_classes];
    for (e, &c) in emb.iter().zip(y) {
        sum[c] += e.iter().zip(&centre[c]).map(|(a, b)| a * b).sum::<f32>();
        count[c] += 1;
    }
    sum.iter()
        .zip(&count)
        .map(|(s, &n)| s / n.max(1) as f32)
        .collect()
}

/// Which rows go to calibration: every 10th of each label, deterministic.
fn split(labels: &[usize], n_classes: usize) -> (Vec<usize>, Vec<usize>) {
    let mut seen = vec![0usize; n_classes];
    let (mut train, mut cal) = (Vec::new(), Vec::new());
    for (i, &l) in labels.iter().enumerate() {
        seen[l] += 1;
        if seen[l].is_multiple_of(10) {
            cal.push(i)
        } else {
            train.push(i)
        }
    }
    (train, cal)
}

/// The TF-IDF fitted on rows `tr` and the out-of-scope examples, their features and classes.
fn training_set(
    texts: &[&str],
    emb: &[Vec<f32>],
    y: &[usize],
    tr: &[usize],
    oos: OosExamples,
    weight: f32,
    k: usize,
) -> (Tfidf, Vec<Sparse>, Vec<usize>) {
    let train_texts: Vec<&str> = tr
        .iter()
        .map(|&i| texts[i])
        .chain(oos.texts.iter().copied())
        .collect();
    let tfidf = Tfidf::fit(&train_texts);
    let x = |i: usize| features(&emb[i], &tfidf, texts[i], weight);
    let xo = |j: usize| features(&oos.emb[j], &tfidf, oos.texts[j], weight);
    let mut xs: Vec<Sparse> = tr.iter().map(|&i| x(i)).collect();
    let mut ys: Vec<usize> = tr.iter().map(|&i| y[i]).collect();
    xs.extend((0..oos.texts.len()).map(xo));
    ys.extend(oos.texts.iter().map(|_| k));
    (tfidf, xs, ys)
}

/// The held-out tenth: its features, labels, nearest training texts and their vote.
struct CalSet {
    x: Vec<Sparse>,
    y: Vec<usize>,
    near: Vec<Vec<(f32, usize)>>,
    vote: Vec<Vec<f32>>,
}

/// The held-out tenth's scores under the fitted model and blend.
struct CalScores {
    /// The second temperature, fitted on the blend (1 without a vote).
    blend_temperature: f32,
    /// Per text: the best intent's confidence times the in-scope share.
    raw: Vec<f32>,
    /// Per text: the best intent's confidence.
    conf: Vec<f64>,
    /// Per text: whether the best intent is right.
    ok: Vec<bool>,
}

impl CalSet {
    /// The linear model's temperature, fitted on the intents' logits blended with the vote.
    fn fit_temperature(&self, linear: &Linear, k: usize, knn_weight: f32) -> f32 {
        // The confidence reported is over the intents alone, blended with the vote: fit
        // the temperature there.
        let cal_logits: Vec<Vec<f32>> = self
            .x
            .iter()
            .map(|x| {
                let mut z = linear.logits(x);
                z.truncate(k);
                z
            })
            .collect();
        crate::linear::fit_temperature(&cal_logits, &self.y, &self.vote, knn_weight)
    }

    /// The blend's temperature and the confidences the thresholds are chosen from.
    fn scores(&self, linear: &Linear, k: usize, knn_weight: f32) -> CalScores {
        // The blend on the held-out tenth, computed once: it fits the second temperature,
        // then gives the confidences the thresholds are chosen from.
        let cal_mixed: Vec<(Vec<f32>, f32)> = self
            .x
            .iter()
            .zip(&self.vote)
            .map(|(x, q)| {
                let (mut p, in_scope) = linear.proba_among(x, k);
                blend(&mut p, q, knn_weight);
                (p, in_scope)
            })
            .collect();
        let blend_temperature = if knn_weight > 0.0 {
            let logp: Vec<Vec<f32>> = cal_mixed
                .iter()
                .map(|(p, _)| p.iter().map(|v| v.max(1e-30).ln()).collect())
                .collect();
            crate::linear::fit_temperature(&logp, &self.y, &[], 0.0)
        } else {
            1.0
        };
        let mut raw: Vec<f32> = Vec::with_capacity(self.x.len());
        let (conf, ok): (Vec<f64>, Vec<bool>) = cal_mixed
            .into_iter()
            .zip(&self.y)
            .map(|((mut p, in_scope), &y)| {
                sharpen(&mut p, blend_temperature);
                let best = (0..k).max_by(|&a, &b| p[a].total_cmp(&p[b]));
                let c = p[best.unwrap_or(0)];
                raw.push(c * in_scope);
                (c as f64, best == Some(y))
            })
            .unzip();
        CalScores {
            blend_temperature,
            raw,
            conf,
            ok,
        }
    }
}

/// The confidence below which a prediction is ambiguous, from held-out confidences.
fn confidence_threshold(conf: &[f64], ok: &[bool], min_confidence: f32) -> f32 {
    // Calibrated, a confidence is the chance of being right: below `min_confidence` a
    // prediction is more guess than answer. Raised when held-out precision needs it.
    if conf.is_empty() {
        min_confidence
    } else {
        let c = crate::evaluate::coverage_at_precision(conf, ok, &[AMBIGUOUS_PRECISION])[0]
            .threshold as f32;
        c.max(min_confidence)
    }
}

/// The out-of-scope threshold: the 99th percentile of held-out in-scope texts' scores.
fn oos_threshold(near: &[Vec<(f32, usize)>], raw: &[f32]) -> f32 {
    let mut cal_scores: Vec<f32> = near
        .iter()
        .zip(raw)
        .map(|(n, &c)| knn_distance(n) + OOS_CONFIDENCE_WEIGHT * (1.0 - c))
        .collect();
    cal_scores.sort_by(|a, b| a.total_cmp(b));
    // Flag as out of scope what is stranger than 99% of held-out in-scope texts.
    cal_scores
        .get(((cal_scores.len() as f64) * 0.99) as usize)
        .or(cal_scores.last())
        .copied()
        .unwrap_or(1.0)
}

/// The training data's hash (xxh3-128 over texts and labels), as `xxh3-128:<hex>`.
fn data_hash(texts: &[&str], labels: &[&str]) -> String {
    let mut hash = xxhash_rust::xxh3::Xxh3::new();
    for (t, l) in texts.iter().zip(labels) {
        hash.update(t.as_bytes());
        hash.update(&[0]);
        hash.update(l.as_bytes());
        hash.update(&[1]);
    }
    format!("xxh3-128:{:032x}", hash.digest128())
}

impl IntentModel {
    /// Trains on labelled texts. `progress(stage, done, total)`.
    pub fn train(
        encoder: &dyn Embed,
        texts: &[&str],
        labels: &[&str],
        params: TrainParams,
        progress: &dyn Fn(&str, usize, usize),
    ) -> Result<IntentModel> {
        let emb = embed_all(encoder, texts, progress)?;
        Self::train_embedded(encoder, texts, labels, &emb, params, progress)
    }

    /// Like [`IntentModel::train`], with the texts already embedded by `encoder`.
    pub fn train_embedded(
        encoder: &dyn Embed,
        texts: &[&str],
        labels: &[&str],
        emb: &[Vec<f32>],
        params: TrainParams,
        progress: &dyn Fn(&str, usize, usize),
    ) -> Result<IntentModel> {
        Self::train_with_oos(
            encoder,
            texts,
            labels,
            emb,
            OosExamples::default(),
            params,
            progress,
        )
    }

    /// Like [`IntentModel::train_embedded`], also learning from examples of out-of-scope
    /// requests: they form one more class of the linear model (never predicted as an
    /// intent; its probability lowers the confidence of every intent and so raises the
    /// out-of-scope score). They are all trained on: the temperature is fitted on the
    /// intents' held-out tenth alone, over the intents' probabilities.
    pub fn train_with_oos(
        encoder: &dyn Embed,
        texts: &[&str],
        labels: &[&str],
        emb: &[Vec<f32>],
        oos: OosExamples,
        params: TrainParams,
        progress: &dyn Fn(&str, usize, usize),
    ) -> Result<IntentModel> {
        let (names, y) = label_index(texts, labels)?;
        if oos.texts.len() != oos.emb.len() {
            return Err(DemandError::Data(
                "out-of-scope examples and their embeddings differ in number".into(),
            ));
        }
        let k = names.len();
        let n_out = k + usize::from(!oos.texts.is_empty());
        let (tr, cal) = split(&y, k);
        let weight = params.embed_weight;
        let (tfidf, xs, ys) = training_set(texts, emb, &y, &tr, oos, weight, k);
        let x = |i: usize| features(&emb[i], &tfidf, texts[i], weight);
        let n_features = encoder.dim() + tfidf.dim();
        let mut linear = Linear::train(&xs, &ys, n_features, n_out, params, &|e| {
            progress("training", e, params.epochs)
        });
        let dim = encoder.dim();
        // The held-out tenth is neither voter nor neighbour: its scores are honest.
        let train_emb: Vec<f32> = tr.iter().flat_map(|&i| emb[i].iter().copied()).collect();
        let train_labels: Vec<u32> = tr.iter().map(|&i| y[i] as u32).collect();
        let knn_weight = params.knn_weight.clamp(0.0, 1.0);
        let near: Vec<Vec<(f32, usize)>> = cal
            .iter()
            .map(|&i| nearest(&emb[i], &train_emb, dim, KNN.max(VOTE_K)))
            .collect();
        let held = CalSet {
            x: cal.iter().map(|&i| x(i)).collect(),
            y: cal.iter().map(|&i| y[i]).collect(),
            vote: near
                .iter()
                .map(|n| knn_vote(n, &train_labels, k, VOTE_K, VOTE_TAU))
                .collect(),
            near,
        };
        linear.temperature = held.fit_temperature(&linear, k, knn_weight);
        let scores = held.scores(&linear, k, knn_weight);
        let confidence_threshold =
            confidence_threshold(&scores.conf, &scores.ok, params.min_confidence);
        // The temperature is fitted; now learn from every labelled text with it.
        if params.refit_all {
            let mut all_x = xs;
            all_x.extend(held.x.iter().cloned());
            let all_y: Vec<usize> = ys.iter().chain(&held.y).copied().collect();
            let t = linear.temperature;
            linear = Linear::train(&all_x, &all_y, n_features, n_out, params, &|e| {
                progress("refitting on all texts", e, params.epochs)
            });
            linear.temperature = t;
        }
        let cohesion = cohesion(emb, &y, names.len(), dim);
        let oos_threshold = oos_threshold(&held.near, &scores.raw);
        let data_hash = data_hash(texts, labels);
        Ok(IntentModel {
            header: Header {
                format_version: FORMAT_VERSION,
                model_id: format!("intent-{}", &data_hash[9..21]),
                encoder: encoder.id(),
                labels: names,
                embed_weight: weight,
                tfidf,
                temperature: linear.temperature,
                oos_threshold,
                oos_confidence_weight: OOS_CONFIDENCE_WEIGHT,
                training_data_hash: data_hash,
                n_train: tr.len(),
                dim,
                metrics: serde_json::Value::Null,
                confidence_threshold,
                cohesion,
                buckets: BTreeMap::new(),
                held_out: Vec::new(),
                oos_examples: oos.texts.len(),
                knn_weight,
                knn_vote: VOTE_K,
                knn_tau: VOTE_TAU,
                blend_temperature: scores.blend_temperature,
                train_labels,
            },
            linear,
            train_emb,
        })
    }

    pub fn predict(&self, encoder: &dyn Embed, texts: &[&str]) -> Result<Vec<Prediction>> {
        let emb = encoder.embed(texts)?;
        Ok(texts
            .iter()
            .zip(&emb)
            .map(|(t, e)| self.predict_one(t, e))
            .collect())
    }

    /// The stored out-of-fold predictions as (predicted intent, confidence, right).
    pub fn held_out_items(&self) -> Vec<(String, f64, bool)> {
        let labels = &self.header.labels;
        self.header
            .held_out
            .iter()
            .filter_map(|&(k, c, ok)| labels.get(k as usize).map(|l| (l.clone(), c as f64, ok)))
            .collect()
    }

    /// The out-of-scope score of one embedding (the nearest-neighbour scan alone).
    pub fn oos_of(&self, emb: &[f32]) -> f32 {
        oos_score(emb, &self.train_emb, self.header.dim)
    }

    /// Intent probabilities (label order; the linear model's blended with the nearest
    /// training texts' vote), the linear model's in-scope share, and the nearest texts.
    fn scores(&self, text: &str, emb: &[f32]) -> (Vec<f32>, f32, Vec<(f32, usize)>) {
        let h = &self.header;
        let k = h.labels.len();
        // With out-of-scope examples the model has one more class after the intents: it is
        // never an intent; confidence is over the intents alone (the chance the intent is
        // right if the request is in scope) and the out-of-scope score reads the raw share.
        let (mut p, in_scope) = self
            .linear
            .proba_among(&features(emb, &h.tfidf, text, h.embed_weight), k);
        let voting = h.knn_weight > 0.0;
        let near = nearest(
            emb,
            &self.train_emb,
            h.dim,
            if voting { KNN.max(h.knn_vote) } else { KNN },
        );
        if voting {
            let q = knn_vote(&near, &h.train_labels, k, h.knn_vote, h.knn_tau);
            blend(&mut p, &q, h.knn_weight);
            sharpen(&mut p, h.blend_temperature);
        }
        (p, in_scope, near)
    }

    /// The bucket of one prediction and why: `ambiguous` when unsure or out of scope, else
    /// the intent's bucket from history (`unassessed` when the model was trained without a
    /// log).
    pub fn bucket(&self, p: &Prediction) -> (&str, String) {
        let h = &self.header;
        if p.out_of_scope {
            return (
                "ambiguous",
                format!(
                    "out of scope: score {:.3} above the threshold {:.3}",
                    p.oos_score, h.oos_threshold
                ),
            );
        }
        if p.ambiguous {
            return (
                "ambiguous",
                format!(
                    "confidence {:.2} below the calibrated threshold {:.2}",
                    p.confidence, h.confidence_threshold
                ),
            );
        }
        match h.buckets.get(&p.intent) {
            Some(b) => (b.bucket.as_str(), b.explanation.clone()),
            None => (
                "unassessed",
                "the model was trained without a flow history (train --log)".into(),
            ),
        }
    }

    pub fn predict_one(&self, text: &str, emb: &[f32]) -> Prediction {
        let h = &self.header;
        let (p, in_scope, near) = self.scores(text, emb);
        let mut order: Vec<usize> = (0..p.len()).collect();
        order.sort_by(|&a, &b| p[b].total_cmp(&p[a]));
        let oos = knn_distance(&near) + h.oos_confidence_weight * (1.0 - p[order[0]] * in_scope);
        let out_of_scope = oos > h.oos_threshold;
        Prediction {
            intent: h.labels[order[0]].clone(),
            confidence: p[order[0]],
            top3: order
                .iter()
                .take(3)
                .map(|&c| (h.labels[c].clone(), p[c]))
                .collect(),
            oos_score: oos,
            out_of_scope,
            ambiguous: out_of_scope || p[order[0]] < h.confidence_threshold,
        }
    }

    /// One file: magic, layout version, header (JSON), weights, biases, training embeddings.
    pub fn save(&self, path: &Path) -> Result<()> {
        let io = |e: std::io::Error| DemandError::ModelFile {
            path: path.display().to_string(),
            problem: e.to_string(),
        };
        let header =
            serde_json::to_vec(&self.header).map_err(|e| DemandError::Data(e.to_string()))?;
        let mut buf = Vec::with_capacity(
            header.len() + 4 * (self.linear.w.len() + self.train_emb.len()) + 64,
        );
        buf.extend_from_slice(MAGIC);
        buf.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        buf.extend_from_slice(&(header.len() as u64).to_le_bytes());
        buf.extend_from_slice(&header);
        for v in self
            .linear
            .w
            .iter()
            .chain(&self.linear.b)
            .chain(&self.train_emb)
        {
            buf.extend_from_slice(&v.to_le_bytes());
        }
        let tmp = path.with_extension("tmp");
        let mut f = std::fs::File::create(&tmp).map_err(io)?;
        f.write_all(&buf).map_err(io)?;
        f.sync_all().map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }

    pub fn load(path: &Path) -> Result<IntentModel> {
        let bad = |problem: String| DemandError::ModelFile {
            path: path.display().to_string(),
            problem,
        };
        let mut buf = Vec::new();
        std::fs::File::open(path)
            .and_then(|mut f| f.read_to_end(&mut buf))
            .map_err(|e| bad(e.to_string()))?;
        if buf.len() < 16 || &buf[..4] != MAGIC {
            return Err(bad("not a flowgate intent model".into()));
        }
        let version = u32::from_le_bytes([buf[4], buf[5], buf[6], buf[7]]);
        if version > FORMAT_VERSION {
            return Err(bad(format!(
                "written by a newer flowgate (model format {version}; this build reads up to {FORMAT_VERSION})"
            )));
        }
        let hlen = u64::from_le_bytes(buf[8..16].try_into().unwrap_or([0; 8])) as usize;
        let body = buf
            .get(16..16 + hlen)
            .ok_or_else(|| bad("truncated header".into()))?;
        let header: Header =
            serde_json::from_slice(body).map_err(|e| bad(format!("bad header: {e}")))?;
        let floats: Vec<f32> = buf[16 + hlen..]
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let n_classes = header.labels.len() + usize::from(header.oos_examples > 0);
        let n_features = header.dim + header.tfidf.dim();
        let nw = n_features * n_classes;
        let ne = header.n_train * header.dim;
        if floats.len() != nw + n_classes + ne {
            return Err(bad(format!(
                "expected {} weights, found {}",
                nw + n_classes + ne,
                floats.len()
            )));
        }
        let linear = Linear {
            n_features,
            n_classes,
            w: floats[..nw].to_vec(),
            b: floats[nw..nw + n_classes].to_vec(),
            temperature: header.temperature,
        };
        let train_emb = floats[nw + n_classes..].to_vec();
        if header.knn_weight > 0.0
            && (header.train_labels.len() != header.n_train
                || header
                    .train_labels
                    .iter()
                    .any(|&c| c as usize >= header.labels.len()))
        {
            return Err(bad(format!(
                "the neighbours' vote needs one label per training text ({}), found {}",
                header.n_train,
                header.train_labels.len()
            )));
        }
        Ok(IntentModel {
            header,
            linear,
            train_emb,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rows_and_their_vote_by_hand() {
        // Four 2-d unit rows; the query is (1, 0).
        let train = [1.0, 0.0, 0.0, 1.0, 0.6, 0.8, 0.8, 0.6];
        let near = nearest(&[1.0, 0.0], &train, 2, 3);
        assert_eq!(near.iter().map(|n| n.1).collect::<Vec<_>>(), vec![0, 3, 2]);
        assert!((near[1].0 - 0.8).abs() < 1e-6);
        // Mean similarity of up to KNN (5) rows: (1 + 0.8 + 0.6) / 3.
        assert!((knn_distance(&near) - 0.2).abs() < 1e-6);
        assert_eq!(knn_distance(&[]), 1.0);
        // Rows 0 and 2 are label 1, row 3 label 0: weights e^0, e^(-0.2/0.1), e^(-0.4/0.1).
        let q = knn_vote(&near, &[1, 0, 1, 0], 2, 3, 0.1);
        let (w0, w3, w2) = (1.0f32, (-2.0f32).exp(), (-4.0f32).exp());
        let total = w0 + w3 + w2;
        assert!((q[0] - w3 / total).abs() < 1e-6, "{q:?}");
        assert!((q[1] - (w0 + w2) / total).abs() < 1e-6, "{q:?}");
        // Only the first k vote.
        assert_eq!(knn_vote(&near, &[1, 0, 1, 0], 2, 1, 0.1), vec![0.0, 1.0]);
    }

    #[test]
    fn blending_and_sharpening_keep_a_distribution() {
        let mut p = vec![0.7, 0.2, 0.1];
        blend(&mut p, &[0.0, 1.0, 0.0], 0.4);
        assert!((p[0] - 0.42).abs() < 1e-6 && (p[1] - 0.52).abs() < 1e-6);
        let before = p.clone();
        sharpen(&mut p, 0.5); // squares, renormalised
        let z: f32 = before.iter().map(|v| v * v).sum();
        for (a, b) in p.iter().zip(&before) {
            assert!((a - b * b / z).abs() < 1e-6);
        }
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        let mut same = before.clone();
        sharpen(&mut same, 1.0);
        assert_eq!(same, before);
    }
}
