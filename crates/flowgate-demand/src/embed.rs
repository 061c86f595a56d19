//! What turns texts into vectors, behind one trait: the sentence encoder ([`Encoder`]) in
//! production, [`HashEmbedder`] where a model file must not be needed (fixtures and tests of
//! the service). A model records which embedder it was trained with and its dimension, and
//! is used with vectors of that dimension only.

use crate::Result;
use crate::encoder::Encoder;

/// Texts to vectors: one L2-normalised vector of [`Embed::dim`] values per text, in order.
pub trait Embed: Send + Sync {
    fn dim(&self) -> usize;
    /// What a trained model records as its encoder.
    fn id(&self) -> String;
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>>;
}

impl Embed for Encoder {
    fn dim(&self) -> usize {
        Encoder::dim(self)
    }
    fn id(&self) -> String {
        self.dir().display().to_string()
    }
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        Encoder::embed(self, texts)
    }
}

/// Feature hashing of lower-cased words (and word pairs) into `dim` buckets, L2-normalised:
/// no model files, deterministic, fast. Texts that share words land near each other, so a
/// model trained on it separates intents that differ in wording — enough for fixtures and
/// the service's in-process tests, not for production.
#[derive(Clone, Debug)]
pub struct HashEmbedder {
    dim: usize,
}

impl HashEmbedder {
    pub fn new(dim: usize) -> HashEmbedder {
        HashEmbedder { dim: dim.max(1) }
    }

    fn one(&self, text: &str) -> Vec<f32> {
        let mut v = vec![0f32; self.dim];
        let words: Vec<String> = text
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .collect();
        let mut add = |key: &str| {
            let h = xxhash_rust::xxh3::xxh3_64(key.as_bytes());
            let sign = if h >> 63 == 0 { 1.0 } else { -1.0 };
            v[(h % self.dim as u64) as usize] += sign;
        };
        for w in &words {
            add(w);
        }
        for p in words.windows(2) {
            add(&format!("{} {}", p[0], p[1]));
        }
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        if norm > 0.0 {
            v.iter_mut().for_each(|x| *x /= norm);
        }
        v
    }
}

impl Embed for HashEmbedder {
    fn dim(&self) -> usize {
        self.dim
    }
    fn id(&self) -> String {
        format!("hash-embedder-{}", self.dim)
    }
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        Ok(texts.iter().map(|t| self.one(t)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashed_vectors_are_unit_length_deterministic_and_closer_for_shared_words() {
        let e = HashEmbedder::new(64);
        let v = e
            .embed(&[
                "Where is my order?",
                "where is my ORDER",
                "reset my password",
            ])
            .unwrap();
        let dot = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
        assert!((dot(&v[0], &v[0]) - 1.0).abs() < 1e-5);
        assert_eq!(v[0], e.embed(&["where is my order"]).unwrap()[0]);
        assert!(dot(&v[0], &v[1]) > dot(&v[0], &v[2]));
        assert_eq!(e.embed(&[""]).unwrap()[0], vec![0.0; 64]);
    }
}
