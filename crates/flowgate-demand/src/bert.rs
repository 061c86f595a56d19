//! The BERT encoder's forward pass, as candle-transformers writes it
//! (`candle_transformers::models::bert`, Apache-2.0/MIT), with two changes that matter on a
//! CPU and change no result beyond float rounding:
//!
//! - GELU's `erf` is a rational approximation that the compiler vectorises (Eigen's and XLA's
//!   `erf` for `f32`: |error| < 5e-7 against the exact `erf`, the test below checks it) instead
//!   of `libm::erff` called once per value, which took most of the encoder's time
//!   (64 tokens × 1,536 × 6 layers = 590 k calls per text);
//! - attention's softmax is candle's fused last-dimension kernel instead of four passes.
//!
//! The crate test `the_fast_encoder_matches_candle_transformers_bert` holds this model to
//! candle-transformers' own within 1e-5 per embedding dimension on real texts.

use candle_core::{CpuStorage, CustomOp1, D, DType, Layout, Module, Result, Shape, Tensor};
use candle_nn::{Embedding, LayerNorm, Linear, VarBuilder, embedding, layer_norm, linear};

/// The activation between a layer's two feed-forward matrices (`hidden_act`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HiddenAct {
    Gelu,
    GeluApproximate,
    Relu,
}

/// What of a BERT `config.json` the forward pass reads (the names and meaning of
/// candle-transformers' `bert::Config`; other keys are ignored). Reading it here keeps
/// candle-transformers out of the product's build: only the reference forward pass, a
/// feature, uses it.
#[derive(Clone, Debug, serde::Deserialize)]
pub struct Config {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub intermediate_size: usize,
    pub hidden_act: HiddenAct,
    pub max_position_embeddings: usize,
    pub type_vocab_size: usize,
    pub layer_norm_eps: f64,
    /// The prefix of the weights' names in some exports (`{model_type}.embeddings…`).
    #[serde(default)]
    pub model_type: Option<String>,
}

/// `erf(x)` for `f32`: odd rational polynomial on [-4, 4] (±1 beyond, where `f32` rounds to
/// it anyway). Branch-free, so a loop over it vectorises.
#[inline(always)]
pub fn erf(a: f32) -> f32 {
    let x = a.clamp(-4.0, 4.0);
    let x2 = x * x;
    let mut p = x2 * -2.726_142_3e-10 + 2.770_681_4e-8;
    p = x2 * p + -2.101_024e-6;
    p = x2 * p + -5.692_506_4e-5;
    p = x2 * p + -7.349_906_3e-4;
    p = x2 * p + -2.954_600_1e-3;
    p = x2 * p + -1.609_603_3e-2;
    p *= x;
    let mut q = x2 * -1.456_607_2e-5 + -2.133_740_6e-4;
    q = x2 * q + -1.682_827e-3;
    q = x2 * q + -7.373_329_3e-3;
    q = x2 * q + -1.426_473_9e-2;
    p / q
}

/// GELU with the exact (erf) form: `x · (1 + erf(x / √2)) / 2`.
#[inline(always)]
fn gelu(x: f32) -> f32 {
    0.5 * x * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2))
}

struct GeluErf;

impl CustomOp1 for GeluErf {
    fn name(&self) -> &'static str {
        "flowgate-gelu-erf"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let all = storage.as_slice::<f32>()?;
        let Some((from, to)) = layout.contiguous_offsets() else {
            candle_core::bail!("gelu: the input is not contiguous");
        };
        let out: Vec<f32> = all[from..to].iter().map(|&x| gelu(x)).collect();
        Ok((CpuStorage::F32(out), layout.shape().clone()))
    }
}

fn activate(act: HiddenAct, xs: &Tensor) -> Result<Tensor> {
    match act {
        HiddenAct::Gelu if xs.dtype() == DType::F32 => xs.contiguous()?.apply_op1_no_bwd(&GeluErf),
        HiddenAct::Gelu => xs.gelu_erf(),
        HiddenAct::GeluApproximate => xs.gelu(),
        HiddenAct::Relu => xs.relu(),
    }
}

struct Embeddings {
    words: Embedding,
    positions: Embedding,
    token_types: Embedding,
    norm: LayerNorm,
}

impl Embeddings {
    fn load(vb: VarBuilder, c: &Config) -> Result<Self> {
        Ok(Self {
            words: embedding(c.vocab_size, c.hidden_size, vb.pp("word_embeddings"))?,
            positions: embedding(
                c.max_position_embeddings,
                c.hidden_size,
                vb.pp("position_embeddings"),
            )?,
            token_types: embedding(
                c.type_vocab_size,
                c.hidden_size,
                vb.pp("token_type_embeddings"),
            )?,
            norm: layer_norm(c.hidden_size, c.layer_norm_eps, vb.pp("LayerNorm"))?,
        })
    }

    fn forward(&self, ids: &Tensor, types: &Tensor) -> Result<Tensor> {
        let (_, len) = ids.dims2()?;
        let xs = (self.words.forward(ids)? + self.token_types.forward(types)?)?;
        let positions = Tensor::arange(0u32, len as u32, ids.device())?;
        let xs = xs.broadcast_add(&self.positions.forward(&positions)?)?;
        self.norm.forward(&xs)
    }
}

struct Layer {
    query: Linear,
    key: Linear,
    value: Linear,
    attn_out: Linear,
    attn_norm: LayerNorm,
    inter: Linear,
    out: Linear,
    out_norm: LayerNorm,
    heads: usize,
    head_size: usize,
    act: HiddenAct,
}

impl Layer {
    fn load(vb: VarBuilder, c: &Config) -> Result<Self> {
        let h = c.hidden_size;
        let att = vb.pp("attention");
        Ok(Self {
            query: linear(h, h, att.pp("self").pp("query"))?,
            key: linear(h, h, att.pp("self").pp("key"))?,
            value: linear(h, h, att.pp("self").pp("value"))?,
            attn_out: linear(h, h, att.pp("output").pp("dense"))?,
            attn_norm: layer_norm(h, c.layer_norm_eps, att.pp("output").pp("LayerNorm"))?,
            inter: linear(h, c.intermediate_size, vb.pp("intermediate").pp("dense"))?,
            out: linear(c.intermediate_size, h, vb.pp("output").pp("dense"))?,
            out_norm: layer_norm(h, c.layer_norm_eps, vb.pp("output").pp("LayerNorm"))?,
            heads: c.num_attention_heads,
            head_size: h / c.num_attention_heads,
            act: c.hidden_act,
        })
    }

    /// (n, len, hidden) → (n, heads, len, head_size).
    fn split_heads(&self, xs: &Tensor) -> Result<Tensor> {
        let (n, len, _) = xs.dims3()?;
        xs.reshape((n, len, self.heads, self.head_size))?
            .transpose(1, 2)?
            .contiguous()
    }

    fn forward(&self, xs: &Tensor, mask: &Tensor) -> Result<Tensor> {
        let q = self.split_heads(&self.query.forward(xs)?)?;
        let k = self.split_heads(&self.key.forward(xs)?)?;
        let v = self.split_heads(&self.value.forward(xs)?)?;
        let scores = (q.matmul(&k.t()?)? / (self.head_size as f64).sqrt())?;
        let probs = candle_nn::ops::softmax_last_dim(&scores.broadcast_add(mask)?)?;
        let context = probs
            .matmul(&v)?
            .transpose(1, 2)?
            .contiguous()?
            .flatten_from(D::Minus2)?;
        let attended = self
            .attn_norm
            .forward(&(self.attn_out.forward(&context)? + xs)?)?;
        let inner = activate(self.act, &self.inter.forward(&attended)?)?;
        self.out_norm
            .forward(&(self.out.forward(&inner)? + &attended)?)
    }
}

/// A BERT encoder: token ids, token type ids and the attention mask → the last hidden states.
pub struct Bert {
    embeddings: Embeddings,
    layers: Vec<Layer>,
}

impl Bert {
    /// Loads the weights under `embeddings.` and `encoder.layer.N.` (or the same under `bert.`
    /// or `{model_type}.`), as candle-transformers does.
    pub fn load(vb: VarBuilder, c: &Config) -> Result<Self> {
        let vb = if vb.contains_tensor("bert.embeddings.word_embeddings.weight") {
            vb.pp("bert")
        } else if let Some(t) = c
            .model_type
            .as_deref()
            .filter(|t| vb.contains_tensor(&format!("{t}.embeddings.word_embeddings.weight")))
        {
            vb.pp(t)
        } else {
            vb
        };
        let layers = (0..c.num_hidden_layers)
            .map(|i| Layer::load(vb.pp(format!("encoder.layer.{i}")), c))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            embeddings: Embeddings::load(vb.pp("embeddings"), c)?,
            layers,
        })
    }

    /// `(n, len)` ids, types and mask (1 = token, 0 = padding) → `(n, len, hidden)`.
    pub fn forward(&self, ids: &Tensor, types: &Tensor, mask: &Tensor) -> Result<Tensor> {
        let mut xs = self.embeddings.forward(ids, types)?;
        // Padding gets the most negative score before the softmax: (1 - mask) · f32::MIN.
        let mask = mask.to_dtype(xs.dtype())?.unsqueeze(1)?.unsqueeze(1)?;
        let mask = ((mask.ones_like()? - &mask)? * f32::MIN as f64)?;
        for layer in &self.layers {
            xs = layer.forward(&xs, &mask)?;
        }
        Ok(xs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erf_is_within_5e_7_of_the_exact_one() {
        let mut worst = 0f64;
        for i in -1_000_000..=1_000_000 {
            let x = i as f32 * 6e-6;
            let e = (erf(x) as f64 - libm::erf(x as f64)).abs();
            worst = worst.max(e);
        }
        assert!(worst < 5e-7, "worst |error| {worst:e}");
        assert!((erf(9.0) - 1.0).abs() < 5e-7 && (erf(-9.0) + 1.0).abs() < 5e-7);
        assert_eq!(erf(0.0), 0.0);
    }

    #[test]
    fn gelu_runs_on_whole_tensors_and_agrees_with_candle() {
        let v: Vec<f32> = (0..4_000).map(|i| (i as f32 - 2_000.0) / 250.0).collect();
        let t = Tensor::from_vec(v, (40, 100), &candle_core::Device::Cpu).unwrap();
        let ours = activate(HiddenAct::Gelu, &t).unwrap();
        let theirs = t.gelu_erf().unwrap();
        let d = (ours - theirs)
            .unwrap()
            .abs()
            .unwrap()
            .max_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert!(d < 4e-6, "max |difference| {d:e}");
    }
}
