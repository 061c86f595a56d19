//! Sentence embeddings in pure Rust: a BERT encoder (candle) and its WordPiece tokenizer,
//! mean pooling over the attention mask, L2 normalisation — all-MiniLM-L6-v2 by default.

use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use tokenizers::{PaddingParams, PaddingStrategy, Tokenizer, TruncationParams};

use crate::bert::{Bert, Config};
use crate::error::{DemandError, Result};

/// Texts per forward pass.
pub const BATCH: usize = 16;
/// Longest input in tokens (the model's own limit for all-MiniLM-L6-v2).
pub const MAX_TOKENS: usize = 256;

/// Embedded batches: (batch number, one vector per text).
type Embedded = Vec<(usize, Vec<Vec<f32>>)>;

/// Which implementation of the BERT forward pass embeds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Forward {
    /// [`crate::bert::Bert`]: vectorised GELU and fused softmax (the default).
    #[default]
    Fast,
    /// candle-transformers' `BertModel`, kept to measure the fast one against
    /// (`FLOWGATE_ENCODER=reference`; a build with the `reference-bert` feature, as the
    /// benchmark harness's).
    Reference,
}

enum Model {
    Fast(Bert),
    #[cfg(feature = "reference-bert")]
    Reference(candle_transformers::models::bert::BertModel),
}

/// A loaded sentence encoder.
pub struct Encoder {
    model: Model,
    forward: Forward,
    tokenizer: Tokenizer,
    device: Device,
    dim: usize,
    dir: PathBuf,
    workers: usize,
}

fn need(dir: &Path, name: &str) -> Result<PathBuf> {
    let p = dir.join(name);
    if p.is_file() {
        Ok(p)
    } else {
        Err(DemandError::ModelFile {
            path: p.display().to_string(),
            problem: "missing".into(),
        })
    }
}

impl Encoder {
    /// Loads a sentence-transformers folder: `config.json`, `tokenizer.json`,
    /// `model.safetensors`.
    pub fn load(dir: &Path) -> Result<Encoder> {
        let forward = match std::env::var("FLOWGATE_ENCODER").as_deref() {
            Ok("reference") => Forward::Reference,
            _ => Forward::Fast,
        };
        Encoder::load_with(dir, forward)
    }

    /// [`Encoder::load`] with a chosen forward pass.
    pub fn load_with(dir: &Path, forward: Forward) -> Result<Encoder> {
        let config_path = need(dir, "config.json")?;
        let tokenizer_path = need(dir, "tokenizer.json")?;
        let weights_path = need(dir, "model.safetensors")?;
        let bad = |p: &Path, problem: String| DemandError::ModelFile {
            path: p.display().to_string(),
            problem,
        };
        let text =
            std::fs::read_to_string(&config_path).map_err(|e| bad(&config_path, e.to_string()))?;
        let config: Config = serde_json::from_str(&text)
            .map_err(|e| bad(&config_path, format!("not a BERT config: {e}")))?;
        let mut tokenizer = Tokenizer::from_file(&tokenizer_path)
            .map_err(|e| bad(&tokenizer_path, format!("not a tokenizer: {e}")))?;
        // The shipped tokenizer pads everything to 128 tokens; pad to the longest in the batch.
        tokenizer.with_padding(Some(PaddingParams {
            strategy: PaddingStrategy::BatchLongest,
            ..PaddingParams::default()
        }));
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: MAX_TOKENS,
                ..TruncationParams::default()
            }))
            .map_err(|e| bad(&tokenizer_path, e.to_string()))?;
        let device = Device::Cpu;
        let weights =
            std::fs::read(&weights_path).map_err(|e| bad(&weights_path, e.to_string()))?;
        let vb = VarBuilder::from_buffered_safetensors(weights, DType::F32, &device)
            .map_err(|e| bad(&weights_path, format!("not a safetensors file: {e}")))?;
        let model = match forward {
            Forward::Fast => Bert::load(vb, &config).map(Model::Fast),
            #[cfg(feature = "reference-bert")]
            Forward::Reference => {
                let config: candle_transformers::models::bert::Config = serde_json::from_str(&text)
                    .map_err(|e| bad(&config_path, format!("not a BERT config: {e}")))?;
                candle_transformers::models::bert::BertModel::load(vb, &config)
                    .map(Model::Reference)
            }
            #[cfg(not(feature = "reference-bert"))]
            Forward::Reference => {
                return Err(bad(
                    &config_path,
                    "the reference forward pass is in builds with the reference-bert feature only (the benchmark harness's)".into(),
                ));
            }
        }
        .map_err(|e| {
            bad(
                &weights_path,
                format!("weights do not fit config.json: {e}"),
            )
        })?;
        Ok(Encoder {
            model,
            forward,
            tokenizer,
            device,
            dim: config.hidden_size,
            dir: dir.to_owned(),
            workers: std::env::var("FLOWGATE_THREADS")
                .ok()
                .and_then(|v| v.parse().ok())
                .filter(|&n: &usize| n > 0)
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
        })
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    pub fn forward(&self) -> Forward {
        self.forward
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// How many threads embed batches side by side.
    pub fn set_workers(&mut self, workers: usize) {
        self.workers = workers.max(1);
    }

    /// One L2-normalised vector per text, in order.
    ///
    /// Texts are sorted by length so that a batch pads little, and the batches (at most
    /// [`BATCH`] texts, fewer when there are fewer texts than workers × BATCH) are shared
    /// among `workers` threads (data parallelism: on small matrices this beats splitting each
    /// matrix product across threads; run candle itself on one thread, `RAYON_NUM_THREADS=1`).
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        if texts.len() <= 1 {
            return if texts.is_empty() {
                Ok(Vec::new())
            } else {
                self.embed_batch(texts)
            };
        }
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| texts[i].len());
        // Batches of at most BATCH texts, and at least one per worker: a handful of texts
        // (concurrent requests of the service) still keeps every core busy.
        let size = BATCH.min(texts.len().div_ceil(self.workers.max(1))).max(1);
        let batches: Vec<&[usize]> = order.chunks(size).collect();
        let workers = self.workers.min(batches.len()).max(1);
        let run = |w: usize| -> Result<Embedded> {
            let mut got = Vec::new();
            for (k, b) in batches.iter().enumerate().skip(w).step_by(workers) {
                let chunk: Vec<&str> = b.iter().map(|&i| texts[i]).collect();
                got.push((k, self.embed_batch(&chunk)?));
            }
            Ok(got)
        };
        let parts: Vec<Result<Embedded>> = if workers == 1 {
            vec![run(0)]
        } else {
            std::thread::scope(|sc| {
                let handles: Vec<_> = (0..workers).map(|w| sc.spawn(move || run(w))).collect();
                handles
                    .into_iter()
                    .map(|h| {
                        h.join().unwrap_or_else(|_| {
                            Err(DemandError::Data("an encoder thread panicked".into()))
                        })
                    })
                    .collect()
            })
        };
        let mut out: Vec<Vec<f32>> = vec![Vec::new(); texts.len()];
        for part in parts {
            for (k, vecs) in part? {
                for (&i, v) in batches[k].iter().zip(vecs) {
                    out[i] = v;
                }
            }
        }
        Ok(out)
    }

    /// Tokens per text after truncation (for reporting where the time goes).
    pub fn token_lengths(&self, texts: &[&str]) -> Result<Vec<usize>> {
        let enc = self
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| DemandError::Tokenize(e.to_string()))?;
        Ok(enc
            .iter()
            .map(|e| e.get_attention_mask().iter().filter(|&&m| m == 1).count())
            .collect())
    }

    /// The longest prefix of `text` that encodes to at most `tokens` tokens (special
    /// tokens included), cut at a token boundary.
    pub fn truncate_to_tokens(&self, text: &str, tokens: usize) -> Result<String> {
        let enc = self
            .tokenizer
            .encode(text, true)
            .map_err(|e| DemandError::Tokenize(e.to_string()))?;
        let real: Vec<(usize, usize)> = enc
            .get_offsets()
            .iter()
            .zip(enc.get_special_tokens_mask())
            .filter(|(_, special)| **special == 0)
            .map(|(o, _)| *o)
            .collect();
        let keep = tokens.saturating_sub(2).min(real.len());
        let end = if keep == 0 { 0 } else { real[keep - 1].1 };
        Ok(text.get(..end).unwrap_or(text).to_owned())
    }

    fn embed_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        let enc = self
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| DemandError::Tokenize(e.to_string()))?;
        let n = enc.len();
        let len = enc.first().map_or(0, |e| e.get_ids().len());
        let mut ids = Vec::with_capacity(n * len);
        let mut types = Vec::with_capacity(n * len);
        let mut mask = Vec::with_capacity(n * len);
        for e in &enc {
            ids.extend(e.get_ids().iter().map(|&x| x as i64));
            types.extend(e.get_type_ids().iter().map(|&x| x as i64));
            mask.extend(e.get_attention_mask().iter().map(|&x| x as i64));
        }
        let t = |v: Vec<i64>| Tensor::from_vec(v, (n, len), &self.device);
        let ids = t(ids)?;
        let types = t(types)?;
        let mask = t(mask)?;
        let hidden = match &self.model {
            Model::Fast(m) => m.forward(&ids, &types, &mask)?,
            #[cfg(feature = "reference-bert")]
            Model::Reference(m) => m.forward(&ids, &types, Some(&mask))?,
        }; // (n, len, dim)
        let m = mask.to_dtype(DType::F32)?.unsqueeze(2)?; // (n, len, 1)
        let summed = hidden.broadcast_mul(&m)?.sum(1)?; // (n, dim)
        let counts = m.sum(1)?.clamp(1e-9, f64::MAX)?; // (n, 1)
        let mean = summed.broadcast_div(&counts)?;
        let norm = mean.sqr()?.sum_keepdim(1)?.sqrt()?.clamp(1e-12, f64::MAX)?;
        let unit = mean.broadcast_div(&norm)?;
        Ok(unit.to_vec2::<f32>()?)
    }
}
