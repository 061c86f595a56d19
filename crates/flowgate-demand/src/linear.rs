//! Multinomial logistic regression over sparse features, trained by SGD with L2
//! regularisation (weights kept as scale × stored, so decay costs nothing per step), and
//! temperature scaling for calibration.

use serde::{Deserialize, Serialize};

use crate::tfidf::Sparse;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Linear {
    pub n_features: usize,
    pub n_classes: usize,
    /// Row-major: feature × class.
    pub w: Vec<f32>,
    pub b: Vec<f32>,
    /// Softmax temperature fitted on held-out data.
    pub temperature: f32,
}

#[derive(Clone, Copy, Debug)]
pub struct TrainParams {
    pub epochs: usize,
    pub lr: f32,
    pub l2: f32,
    pub seed: u64,
    /// Weight of the sentence embedding against the two unit-length TF-IDF blocks.
    pub embed_weight: f32,
    /// After calibrating on the held-out tenth, train again on every text.
    pub refit_all: bool,
    /// Calibrated confidence below which a prediction is `ambiguous` (raised further when
    /// held-out precision needs it).
    pub min_confidence: f32,
    /// Share of the nearest training texts' vote in an intent model's probabilities.
    pub knn_weight: f32,
}

impl Default for TrainParams {
    fn default() -> Self {
        Self {
            epochs: 20,
            lr: 0.5,
            l2: 1e-5,
            seed: 17,
            embed_weight: 1.5,
            refit_all: true,
            min_confidence: 0.5,
            knn_weight: 0.4,
        }
    }
}

fn softmax(z: &mut [f32]) {
    let m = z.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut s = 0.0;
    for v in z.iter_mut() {
        *v = (*v - m).exp();
        s += *v;
    }
    for v in z.iter_mut() {
        *v /= s;
    }
}

impl Linear {
    /// `progress(epoch)` is called after each epoch.
    pub fn train(
        xs: &[Sparse],
        ys: &[usize],
        n_features: usize,
        n_classes: usize,
        p: TrainParams,
        progress: &dyn Fn(usize),
    ) -> Linear {
        let mut w = vec![0f32; n_features * n_classes];
        let mut b = vec![0f32; n_classes];
        let mut scale = 1.0f32;
        let mut order: Vec<usize> = (0..xs.len()).collect();
        let mut rng = p.seed | 1;
        let mut z = vec![0f32; n_classes];
        let mut t = 0usize;
        let steps = (p.epochs * xs.len()).max(1) as f32;
        for epoch in 0..p.epochs {
            // xorshift shuffle: reproducible without another dependency.
            for i in (1..order.len()).rev() {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                order.swap(i, (rng % (i as u64 + 1)) as usize);
            }
            for &i in &order {
                let lr = p.lr * (1.0 - t as f32 / steps).max(0.02);
                t += 1;
                z.copy_from_slice(&b);
                for &(j, x) in &xs[i] {
                    let row = &w[j as usize * n_classes..(j as usize + 1) * n_classes];
                    let xs = x * scale;
                    for (zc, wc) in z.iter_mut().zip(row) {
                        *zc += xs * wc;
                    }
                }
                softmax(&mut z);
                z[ys[i]] -= 1.0; // gradient p - y
                scale *= 1.0 - lr * p.l2;
                if scale < 1e-6 {
                    for v in &mut w {
                        *v *= scale;
                    }
                    scale = 1.0;
                }
                let step = lr / scale;
                for &(j, x) in &xs[i] {
                    let row = &mut w[j as usize * n_classes..(j as usize + 1) * n_classes];
                    for (wc, g) in row.iter_mut().zip(&z) {
                        *wc -= step * x * g;
                    }
                }
                for (bc, g) in b.iter_mut().zip(&z) {
                    *bc -= lr * g;
                }
            }
            progress(epoch + 1);
        }
        for v in &mut w {
            *v *= scale;
        }
        Linear {
            n_features,
            n_classes,
            w,
            b,
            temperature: 1.0,
        }
    }

    pub fn logits(&self, x: &Sparse) -> Vec<f32> {
        let mut z = self.b.clone();
        for &(j, v) in x {
            let j = j as usize;
            if j >= self.n_features {
                continue;
            }
            let row = &self.w[j * self.n_classes..(j + 1) * self.n_classes];
            for (zc, wc) in z.iter_mut().zip(row) {
                *zc += v * wc;
            }
        }
        z
    }

    /// Calibrated probabilities of the first `k` classes renormalised among themselves (a
    /// softmax over their logits alone, exact however small their share), and the share
    /// of all probability they hold.
    pub fn proba_among(&self, x: &Sparse, k: usize) -> (Vec<f32>, f32) {
        if k >= self.n_classes {
            return (self.proba(x), 1.0);
        }
        let mut z = self.scaled_logits(x);
        let mut full = z.clone();
        softmax(&mut full);
        // Summed, not 1 − the rest: keeps its precision when it is tiny.
        let share: f32 = full[..k].iter().sum();
        z.truncate(k);
        softmax(&mut z);
        (z, share)
    }

    /// Calibrated class probabilities.
    pub fn proba(&self, x: &Sparse) -> Vec<f32> {
        let mut z = self.scaled_logits(x);
        softmax(&mut z);
        z
    }

    /// Logits divided by the fitted temperature.
    fn scaled_logits(&self, x: &Sparse) -> Vec<f32> {
        let mut z = self.logits(x);
        for v in &mut z {
            *v /= self.temperature;
        }
        z
    }

    /// Fits the temperature minimising held-out negative log-likelihood (golden-section
    /// search over log T in [-3, 3]).
    pub fn calibrate(&mut self, xs: &[Sparse], ys: &[usize]) {
        self.calibrate_over(xs, ys, self.n_classes)
    }

    /// Like [`Linear::calibrate`], for the probabilities renormalised over the first
    /// `classes` classes (every `ys` below `classes`).
    pub fn calibrate_over(&mut self, xs: &[Sparse], ys: &[usize], classes: usize) {
        if xs.is_empty() {
            return;
        }
        let logits: Vec<Vec<f32>> = xs
            .iter()
            .map(|x| {
                let mut z = self.logits(x);
                z.truncate(classes.max(1));
                z
            })
            .collect();
        self.temperature = fit_temperature(&logits, ys, &[], 0.0);
    }
}

/// The temperature minimising the negative log-likelihood of `(1 − w) · softmax(z / T) + w · q`
/// (golden-section search over log T in [-3, 3]); `q` per row, or none when `w` is 0.
pub fn fit_temperature(logits: &[Vec<f32>], ys: &[usize], q: &[Vec<f32>], w: f32) -> f32 {
    if logits.is_empty() {
        return 1.0;
    }
    let w = if q.len() == logits.len() {
        w.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let nll = |log_t: f64| -> f64 {
        let t = log_t.exp() as f32;
        let mut total = 0.0f64;
        for (i, (z, &y)) in logits.iter().zip(ys).enumerate() {
            let mut z: Vec<f32> = z.iter().map(|v| v / t).collect();
            softmax(&mut z);
            let mut py = z.get(y).copied().unwrap_or(0.0);
            if w > 0.0 {
                py = (1.0 - w) * py + w * q[i].get(y).copied().unwrap_or(0.0);
            }
            total -= (py.max(1e-12) as f64).ln();
        }
        total
    };
    let (mut lo, mut hi) = (-3.0f64, 3.0f64);
    let g = (5f64.sqrt() - 1.0) / 2.0;
    for _ in 0..60 {
        let a = hi - g * (hi - lo);
        let c = lo + g * (hi - lo);
        if nll(a) < nll(c) {
            hi = c;
        } else {
            lo = a;
        }
    }
    ((lo + hi) / 2.0).exp() as f32
}
