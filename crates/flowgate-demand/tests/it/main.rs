//! The encoder against the reference vectors computed with sentence-transformers, bad model
//! folders, and the intent model.

mod intent;

use std::path::Path;

use flowgate_demand::{DemandError, Encoder, model_files};

fn reference() -> serde_json::Value {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/reference/minilm-reference.json");
    serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap()
}

#[test]
fn matches_sentence_transformers_within_1e_4() {
    let dir = model_files::default_model_dir().unwrap();
    let enc = Encoder::load(&dir).unwrap();
    assert_eq!(enc.dim(), 384);
    let r = reference();
    let texts: Vec<&str> = r["texts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    let want = r["embeddings"].as_array().unwrap();
    assert_eq!(texts.len(), 8);
    // All at once (padded to the longest) and one by one must both match.
    let batch = enc.embed(&texts).unwrap();
    for (i, text) in texts.iter().enumerate() {
        let single = enc.embed(&[text]).unwrap().remove(0);
        let w: Vec<f64> = want[i]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect();
        assert_eq!(w.len(), 384);
        for (got, label) in [(&batch[i], "batched"), (&single, "single")] {
            let worst = got
                .iter()
                .zip(&w)
                .map(|(g, w)| (*g as f64 - w).abs())
                .fold(0.0, f64::max);
            assert!(worst <= 1e-4, "text {i} ({label}): max difference {worst}");
            let norm: f32 = got.iter().map(|x| x * x).sum::<f32>().sqrt();
            assert!((norm - 1.0).abs() < 1e-5);
        }
    }
    // Paraphrases sit closer than unrelated texts.
    let cos = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
    assert!(cos(&batch[0], &batch[1]) > cos(&batch[0], &batch[2]));
}

/// The encoder's own BERT forward pass (vectorised GELU, fused softmax) against
/// candle-transformers' BERT on the same weights: the same hidden states within 1e-5,
/// padding included (texts of different lengths in one batch).
#[test]
fn the_fast_encoder_matches_candle_transformers_bert() {
    use candle_core::{DType, Device, Tensor};
    use candle_nn::VarBuilder;
    use candle_transformers::models::bert::{BertModel, Config};
    let dir = model_files::default_model_dir().unwrap();
    let text = std::fs::read_to_string(dir.join("config.json")).unwrap();
    let config: Config = serde_json::from_str(&text).unwrap();
    let our_config: flowgate_demand::bert::Config = serde_json::from_str(&text).unwrap();
    let weights = std::fs::read(dir.join("model.safetensors")).unwrap();
    let vb = VarBuilder::from_buffered_safetensors(weights, DType::F32, &Device::Cpu).unwrap();
    let theirs = BertModel::load(vb.clone(), &config).unwrap();
    let ours = flowgate_demand::bert::Bert::load(vb, &our_config).unwrap();
    // Two sequences of 12 tokens, the second padded after 7 (arbitrary vocabulary ids).
    let ids: Vec<i64> = [
        101, 7592, 1010, 2026, 2344, 2038, 2025, 3369, 2664, 2129, 1029, 102, //
        101, 2064, 1045, 2689, 2026, 4769, 102, 0, 0, 0, 0, 0,
    ]
    .to_vec();
    let mask: Vec<i64> = ids
        .iter()
        .enumerate()
        .map(|(i, &x)| i64::from(x != 0 || i % 12 == 0))
        .collect();
    let t = |v: Vec<i64>| Tensor::from_vec(v, (2, 12), &Device::Cpu).unwrap();
    let (ids, types, mask) = (t(ids), t(vec![0; 24]), t(mask));
    let a = ours.forward(&ids, &types, &mask).unwrap();
    let b = theirs.forward(&ids, &types, Some(&mask)).unwrap();
    assert_eq!(a.dims(), b.dims());
    // Compare the real tokens only (padding positions are never pooled).
    for (row, real) in [(0usize, 12usize), (1, 7)] {
        let d = (a.get(row).unwrap().narrow(0, 0, real).unwrap()
            - b.get(row).unwrap().narrow(0, 0, real).unwrap())
        .unwrap()
        .abs()
        .unwrap()
        .max_all()
        .unwrap()
        .to_scalar::<f32>()
        .unwrap();
        assert!(d < 1e-5, "sequence {row}: max |difference| {d:e}");
    }
}

#[test]
fn bad_model_folders_say_what_is_wrong() {
    let dir = std::env::temp_dir().join(format!("flowgate-demand-it-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let msg = |e: DemandError| e.to_string();
    let e = msg(Encoder::load(&dir).err().unwrap());
    assert!(e.contains("config.json") && e.contains("missing"), "{e}");
    let good = model_files::default_model_dir().unwrap();
    for f in ["config.json", "tokenizer.json"] {
        std::fs::copy(good.join(f), dir.join(f)).unwrap();
    }
    // Corrupt weights.
    std::fs::write(dir.join("model.safetensors"), b"not a tensor file").unwrap();
    let e = msg(Encoder::load(&dir).err().unwrap());
    assert!(
        e.contains("model.safetensors") && e.contains("safetensors"),
        "{e}"
    );
    // Weights of the wrong shape: the config claims a larger model.
    std::fs::copy(
        good.join("model.safetensors"),
        dir.join("model.safetensors"),
    )
    .unwrap();
    let config = std::fs::read_to_string(good.join("config.json"))
        .unwrap()
        .replace("\"hidden_size\": 384", "\"hidden_size\": 512");
    std::fs::write(dir.join("config.json"), config).unwrap();
    let e = msg(Encoder::load(&dir).err().unwrap());
    assert!(e.contains("do not fit"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}
