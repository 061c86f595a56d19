//! Intent discovery for unlabelled history: spherical k-means on sentence embeddings, the
//! number of clusters chosen by the silhouette (cosine distance, on a fixed sample), each
//! cluster named by its most distinctive words.

use std::collections::HashMap;

use serde::Serialize;

/// Settings of a discovery run.
#[derive(Clone, Copy, Debug)]
pub struct DiscoverParams {
    pub k_min: usize,
    pub k_max: usize,
    pub seed: u64,
    /// Lloyd iterations at most.
    pub iterations: usize,
    /// Texts in the silhouette sample at most.
    pub sample: usize,
}

impl Default for DiscoverParams {
    fn default() -> Self {
        Self {
            k_min: 2,
            k_max: 40,
            seed: 7,
            iterations: 30,
            sample: 1500,
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Cluster {
    pub name: String,
    /// Most distinctive words first.
    pub terms: Vec<String>,
    pub size: usize,
    /// Indices of the texts nearest the centre, nearest first (at most 3).
    pub examples: Vec<usize>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Discovery {
    pub k: usize,
    /// Silhouette of every k tried, in order.
    pub silhouettes: Vec<(usize, f64)>,
    pub clusters: Vec<Cluster>,
    /// Per text: its cluster.
    pub assignment: Vec<usize>,
    /// Per text: cosine similarity to its cluster's centre.
    pub similarity: Vec<f32>,
}

/// A small deterministic generator (SplitMix64): discovery must be reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn normalise(v: &mut [f32]) {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if n > 1e-12 {
        v.iter_mut().for_each(|x| *x /= n);
    }
}

/// Cluster per text, and the unit-length centres.
type Assignment = (Vec<usize>, Vec<Vec<f32>>);

/// Spherical k-means with k-means++ seeding.
fn kmeans(emb: &[Vec<f32>], k: usize, p: &DiscoverParams) -> Assignment {
    let n = emb.len();
    let dim = emb[0].len();
    let mut rng = Rng(p.seed ^ (k as u64).wrapping_mul(0x1000_0001));
    let mut centres: Vec<Vec<f32>> = vec![emb[(rng.next() % n as u64) as usize].clone()];
    let mut dist: Vec<f64> = emb
        .iter()
        .map(|e| (1.0 - dot(e, &centres[0]) as f64).max(0.0))
        .collect();
    while centres.len() < k {
        let total: f64 = dist.iter().map(|d| d * d).sum();
        let pick = if total <= 0.0 {
            (rng.next() % n as u64) as usize
        } else {
            let mut x = rng.unit() * total;
            let mut chosen = n - 1;
            for (i, d) in dist.iter().enumerate() {
                x -= d * d;
                if x <= 0.0 {
                    chosen = i;
                    break;
                }
            }
            chosen
        };
        let c = emb[pick].clone();
        for (d, e) in dist.iter_mut().zip(emb) {
            *d = d.min((1.0 - dot(e, &c) as f64).max(0.0));
        }
        centres.push(c);
    }
    let mut assign = vec![usize::MAX; n];
    for _ in 0..p.iterations {
        let mut changed = false;
        for (i, e) in emb.iter().enumerate() {
            let best = (0..k)
                .max_by(|&a, &b| dot(e, &centres[a]).total_cmp(&dot(e, &centres[b])))
                .unwrap_or(0);
            if assign[i] != best {
                assign[i] = best;
                changed = true;
            }
        }
        if !changed {
            break;
        }
        let mut sums = vec![vec![0f32; dim]; k];
        let mut counts = vec![0usize; k];
        for (e, &a) in emb.iter().zip(&assign) {
            counts[a] += 1;
            for (s, v) in sums[a].iter_mut().zip(e) {
                *s += v;
            }
        }
        for c in 0..k {
            if counts[c] == 0 {
                // An empty cluster takes the text farthest from its centre.
                let far = (0..n)
                    .min_by(|&a, &b| {
                        dot(&emb[a], &centres[assign[a]])
                            .total_cmp(&dot(&emb[b], &centres[assign[b]]))
                    })
                    .unwrap_or(0);
                sums[c] = emb[far].clone();
            }
            normalise(&mut sums[c]);
        }
        centres = sums;
    }
    (assign, centres)
}

/// Mean silhouette over `sample` (indices), with cosine distances precomputed in `d`.
fn silhouette(sample: &[usize], d: &[f32], assign: &[usize], k: usize) -> f64 {
    let m = sample.len();
    let mut total = 0.0;
    for i in 0..m {
        let mut sum = vec![0f64; k];
        let mut cnt = vec![0usize; k];
        for j in 0..m {
            if i != j {
                let c = assign[sample[j]];
                sum[c] += d[i * m + j] as f64;
                cnt[c] += 1;
            }
        }
        let own = assign[sample[i]];
        if cnt[own] == 0 {
            continue; // a singleton scores 0
        }
        let a = sum[own] / cnt[own] as f64;
        let b = (0..k)
            .filter(|&c| c != own && cnt[c] > 0)
            .map(|c| sum[c] / cnt[c] as f64)
            .fold(f64::INFINITY, f64::min);
        if b.is_finite() {
            total += (b - a) / a.max(b).max(1e-12);
        }
    }
    total / m.max(1) as f64
}

const STOP: &[&str] = &[
    "a", "about", "after", "again", "all", "am", "an", "and", "any", "are", "as", "at", "be",
    "been", "but", "by", "can", "could", "did", "do", "does", "for", "from", "get", "got", "had",
    "has", "have", "hello", "help", "hi", "how", "i", "i'm", "if", "in", "is", "it", "it's", "its",
    "just", "me", "my", "no", "not", "of", "on", "or", "please", "so", "still", "thank", "thanks",
    "that", "the", "there", "this", "to", "up", "was", "we", "what", "when", "where", "which",
    "why", "will", "with", "would", "you", "your",
];

fn words(text: &str) -> Vec<String> {
    text.to_lowercase()
        .split(|c: char| !(c.is_alphanumeric() || c == '\''))
        .map(|w| w.trim_matches('\''))
        .filter(|w| w.len() > 1 && !STOP.contains(w) && !w.chars().all(|c| c.is_ascii_digit()))
        .map(str::to_owned)
        .collect()
}

/// Per cluster, the words whose share of the cluster's texts most exceeds their share of
/// all texts (each word counted once per text).
fn distinctive_terms(texts: &[&str], assign: &[usize], k: usize, top: usize) -> Vec<Vec<String>> {
    let mut overall: HashMap<String, usize> = HashMap::new();
    let mut per: Vec<HashMap<String, usize>> = vec![HashMap::new(); k];
    let mut size = vec![0usize; k];
    for (t, &c) in texts.iter().zip(assign) {
        size[c] += 1;
        let mut w = words(t);
        w.sort();
        w.dedup();
        for x in w {
            *overall.entry(x.clone()).or_default() += 1;
            *per[c].entry(x).or_default() += 1;
        }
    }
    let n = texts.len().max(1) as f64;
    (0..k)
        .map(|c| {
            let mut scored: Vec<(f64, &String)> = per[c]
                .iter()
                .filter(|(_, cnt)| **cnt >= 2 || size[c] < 4)
                .map(|(w, &cnt)| {
                    let inside = cnt as f64 / size[c].max(1) as f64;
                    let outside = overall[w] as f64 / n;
                    (inside - outside, w)
                })
                .collect();
            scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
            scored.iter().take(top).map(|(_, w)| (*w).clone()).collect()
        })
        .collect()
}

/// Clusters unit-length embeddings of `texts`. `progress(k)` after each k tried.
pub fn discover(
    texts: &[&str],
    emb: &[Vec<f32>],
    p: &DiscoverParams,
    progress: &dyn Fn(usize),
) -> Discovery {
    let n = emb.len();
    let k_max = p.k_max.min(n.saturating_sub(1)).max(1);
    let k_min = p.k_min.clamp(1, k_max);
    // A fixed sample for the silhouette, the same for every k.
    let mut rng = Rng(p.seed);
    let mut sample: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = (rng.next() % (i as u64 + 1)) as usize;
        sample.swap(i, j);
    }
    sample.truncate(p.sample.min(n));
    sample.sort_unstable();
    let m = sample.len();
    let mut d = vec![0f32; m * m];
    for i in 0..m {
        for j in i + 1..m {
            let v = (1.0 - dot(&emb[sample[i]], &emb[sample[j]])).max(0.0);
            d[i * m + j] = v;
            d[j * m + i] = v;
        }
    }
    // (silhouette, k, assignment, centres) of the best k so far.
    let mut best: Option<(f64, usize, Assignment)> = None;
    let mut silhouettes = Vec::new();
    for k in k_min..=k_max {
        let (assign, centres) = kmeans(emb, k, p);
        let s = if k == 1 {
            0.0
        } else {
            silhouette(&sample, &d, &assign, k)
        };
        silhouettes.push((k, s));
        progress(k);
        if best.as_ref().is_none_or(|b| s > b.0) {
            best = Some((s, k, (assign, centres)));
        }
    }
    let Some((_, k, (assign, centres))) = best else {
        return Discovery {
            k: 0,
            silhouettes,
            clusters: Vec::new(),
            assignment: Vec::new(),
            similarity: Vec::new(),
        };
    };
    let similarity: Vec<f32> = emb
        .iter()
        .zip(&assign)
        .map(|(e, &c)| dot(e, &centres[c]))
        .collect();
    let terms = distinctive_terms(texts, &assign, k, 5);
    let mut used: HashMap<String, usize> = HashMap::new();
    let clusters = (0..k)
        .map(|c| {
            let mut members: Vec<usize> = (0..n).filter(|&i| assign[i] == c).collect();
            members.sort_by(|&a, &b| similarity[b].total_cmp(&similarity[a]));
            let mut name = terms[c]
                .iter()
                .take(3)
                .map(String::as_str)
                .collect::<Vec<_>>()
                .join("_");
            if name.is_empty() {
                name = format!("cluster_{}", c + 1);
            }
            let seen = used.entry(name.clone()).or_default();
            *seen += 1;
            if *seen > 1 {
                name = format!("{name}_{seen}");
            }
            Cluster {
                name,
                terms: terms[c].clone(),
                size: members.len(),
                examples: members.into_iter().take(3).collect(),
            }
        })
        .collect();
    Discovery {
        k,
        silhouettes,
        clusters,
        assignment: assign,
        similarity,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three tight groups of unit vectors around three axes: k = 3 wins and each group is
    /// one cluster; the names come from each group's own words.
    #[test]
    fn three_groups_by_hand() {
        let mut emb = Vec::new();
        let mut texts = Vec::new();
        let mut rng = Rng(1);
        for g in 0..3 {
            for _ in 0..20 {
                let mut v = vec![0f32; 6];
                v[g * 2] = 1.0;
                v[g * 2 + 1] = 0.1 * rng.unit() as f32;
                normalise(&mut v);
                emb.push(v);
                texts.push(["reset password link", "refund my order", "invoice copy pdf"][g]);
            }
        }
        let p = DiscoverParams {
            k_max: 6,
            ..DiscoverParams::default()
        };
        let d = discover(&texts, &emb, &p, &|_| {});
        assert_eq!(d.k, 3);
        for g in 0..3 {
            let c = d.assignment[g * 20];
            assert!(d.assignment[g * 20..g * 20 + 20].iter().all(|&x| x == c));
        }
        let names: Vec<&str> = d.clusters.iter().map(|c| c.name.as_str()).collect();
        assert!(names.iter().any(|n| n.contains("refund")), "{names:?}");
        assert!(names.iter().any(|n| n.contains("invoice")), "{names:?}");
    }
}
