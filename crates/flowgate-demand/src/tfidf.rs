//! TF-IDF features: word unigrams and bigrams, and character 2–5-grams inside word
//! boundaries; sublinear term frequency, smoothed idf, each block L2-normalised.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// A sparse vector: (feature index, value), indices ascending.
pub type Sparse = Vec<(u32, f32)>;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Tfidf {
    words: HashMap<String, u32>,
    chars: HashMap<String, u32>,
    idf_words: Vec<f32>,
    idf_chars: Vec<f32>,
}

fn words(text: &str) -> Vec<String> {
    text.to_lowercase()
        .split(|c: char| !c.is_alphanumeric() && c != '\'')
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

fn word_terms(text: &str, out: &mut Vec<String>) {
    let w = words(text);
    out.extend(w.iter().cloned());
    out.extend(w.windows(2).map(|p| format!("{} {}", p[0], p[1])));
}

fn char_terms(text: &str, out: &mut Vec<String>) {
    for w in words(text) {
        let padded: Vec<char> = std::iter::once(' ')
            .chain(w.chars())
            .chain(std::iter::once(' '))
            .collect();
        for n in 2..=5 {
            if padded.len() < n {
                break;
            }
            for win in padded.windows(n) {
                out.push(win.iter().collect());
            }
        }
    }
}

fn vocab(
    docs: &[&str],
    terms: fn(&str, &mut Vec<String>),
    min_df: usize,
) -> (HashMap<String, u32>, Vec<f32>) {
    let mut df: HashMap<String, usize> = HashMap::new();
    let mut buf = Vec::new();
    for d in docs {
        buf.clear();
        terms(d, &mut buf);
        buf.sort_unstable();
        buf.dedup();
        for t in buf.drain(..) {
            *df.entry(t).or_insert(0) += 1;
        }
    }
    let mut kept: Vec<(String, usize)> = df.into_iter().filter(|(_, n)| *n >= min_df).collect();
    kept.sort();
    let n = docs.len() as f32;
    let idf = kept
        .iter()
        .map(|(_, d)| ((1.0 + n) / (1.0 + *d as f32)).ln() + 1.0)
        .collect();
    let map = kept
        .into_iter()
        .enumerate()
        .map(|(i, (t, _))| (t, i as u32))
        .collect();
    (map, idf)
}

fn weigh(
    text: &str,
    terms: fn(&str, &mut Vec<String>),
    map: &HashMap<String, u32>,
    idf: &[f32],
    offset: u32,
    out: &mut Sparse,
) {
    let mut buf = Vec::new();
    terms(text, &mut buf);
    let mut counts: HashMap<u32, u32> = HashMap::new();
    for t in &buf {
        if let Some(&i) = map.get(t) {
            *counts.entry(i).or_insert(0) += 1;
        }
    }
    let mut v: Sparse = counts
        .into_iter()
        .map(|(i, c)| (i, (1.0 + (c as f32).ln()) * idf[i as usize]))
        .collect();
    // Sorted before summing: a hash map's order changes from map to map, and a sum in
    // another order can differ in the last bit — the same text must give the same features.
    v.sort_unstable_by_key(|e| e.0);
    let norm = v.iter().map(|(_, x)| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        for (_, x) in &mut v {
            *x /= norm;
        }
    }
    out.extend(v.into_iter().map(|(i, x)| (i + offset, x)));
}

impl Tfidf {
    /// Learns the vocabulary (terms in at least two documents) and idf from training texts.
    pub fn fit(docs: &[&str]) -> Tfidf {
        let (words, idf_words) = vocab(docs, word_terms, 2);
        let (chars, idf_chars) = vocab(docs, char_terms, 2);
        Tfidf {
            words,
            chars,
            idf_words,
            idf_chars,
        }
    }

    pub fn dim(&self) -> usize {
        self.idf_words.len() + self.idf_chars.len()
    }

    /// Word block then character block, each L2-normalised; indices start at `offset`.
    pub fn transform(&self, text: &str, offset: u32, out: &mut Sparse) {
        weigh(text, word_terms, &self.words, &self.idf_words, offset, out);
        let off = offset + self.idf_words.len() as u32;
        weigh(text, char_terms, &self.chars, &self.idf_chars, off, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_unit_length_and_unknown_terms_vanish() {
        let docs = [
            "my card is lost",
            "lost my card today",
            "card declined today",
            "zebra",
        ];
        let t = Tfidf::fit(&docs);
        let mut v = Vec::new();
        t.transform("My card, lost!", 10, &mut v);
        let nw = t.idf_words.len() as u32 + 10;
        let word: f32 = v.iter().filter(|e| e.0 < nw).map(|e| e.1 * e.1).sum();
        let chars: f32 = v.iter().filter(|e| e.0 >= nw).map(|e| e.1 * e.1).sum();
        assert!((word - 1.0).abs() < 1e-5 && (chars - 1.0).abs() < 1e-5);
        assert!(v.iter().all(|e| e.0 >= 10));
        let mut empty = Vec::new();
        t.transform("qqqq", 0, &mut empty);
        assert!(empty.is_empty());
        // "zebra" is in one document only: not in the vocabulary.
        assert!(!t.words.contains_key("zebra"));
    }
}
