//! flowgate's knowledge base: a folder of Markdown articles with TOML front matter (id,
//! intents covered, policy reference, risk level, answer template, last reviewed date), cut
//! into passages and searched two ways — BM25 over words (tantivy) and cosine similarity of
//! sentence embeddings — fused by reciprocal rank.
//!
//! A built knowledge base is a folder: `kb.json` (articles and passages), `embeddings.f32`
//! (one unit vector per passage, little-endian) and `index/` (tantivy).

pub mod article;
pub mod propose;
pub mod template;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use flowgate_demand::Encoder;
use serde::{Deserialize, Serialize};
use tantivy::collector::TopDocs;
use tantivy::query::QueryParser;
use tantivy::schema::{Field, STORED, Schema, TEXT, Value};
use tantivy::{Index, IndexReader, TantivyDocument, doc};

pub use article::{Article, Passage};
pub use propose::{Ask, Proposal};

#[derive(Debug, thiserror::Error)]
pub enum KbError {
    #[error("{path}:{line}: {problem}")]
    Article {
        path: String,
        line: usize,
        problem: String,
    },
    #[error("{path}: {problem}")]
    Io { path: String, problem: String },
    #[error(
        "{path}: not a flowgate knowledge base ({problem}); build one with `flowgate kb build`"
    )]
    NotBuilt { path: String, problem: String },
    #[error("search index: {0}")]
    Index(String),
    #[error(transparent)]
    Encoder(#[from] flowgate_demand::DemandError),
}

impl From<tantivy::TantivyError> for KbError {
    fn from(e: tantivy::TantivyError) -> Self {
        KbError::Index(e.to_string())
    }
}

pub type Result<T, E = KbError> = std::result::Result<T, E>;

/// Layout version of a built knowledge base.
pub const KB_VERSION: u32 = 1;
/// Candidates each ranking contributes before fusion.
const CANDIDATES: usize = 50;
/// The reciprocal-rank constant (Cormack et al., 2009).
const RRF_K: f64 = 60.0;

#[derive(Serialize, Deserialize)]
struct Meta {
    version: u32,
    encoder: String,
    dim: usize,
    articles: Vec<Article>,
    passages: Vec<Passage>,
}

/// Tokens of a search query the embedding sees (special tokens included).
pub const QUERY_TOKENS: usize = 32;

pub struct Kb {
    pub articles: Vec<Article>,
    pub passages: Vec<Passage>,
    dim: usize,
    embeddings: Vec<f32>,
    reader: IndexReader,
    parser: QueryParser,
    pid: Field,
}

/// One ranked passage.
#[derive(Clone, Debug, Serialize)]
pub struct Hit {
    pub passage: usize,
    pub article: usize,
    /// Fused score: Σ 1 / (60 + rank) over the rankings that found it.
    pub score: f64,
    /// Rank (1-based) by BM25 and by embedding similarity, when in their top 50.
    pub bm25_rank: Option<usize>,
    pub embedding_rank: Option<usize>,
    pub bm25: Option<f32>,
    pub similarity: f32,
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> KbError + '_ {
    move |e| KbError::Io {
        path: path.display().to_string(),
        problem: e.to_string(),
    }
}

fn schema() -> (Schema, Field, Field, Field) {
    let mut sb = Schema::builder();
    let pid = sb.add_u64_field("pid", STORED);
    let title = sb.add_text_field("title", TEXT);
    let body = sb.add_text_field("body", TEXT);
    (sb.build(), pid, title, body)
}

/// What a build did.
#[derive(Debug, Serialize)]
pub struct Built {
    pub articles: usize,
    pub passages: usize,
}

/// Reads every article under `src`, embeds its passages and writes the knowledge base to
/// `out` (replaced only when the whole build succeeded). Duplicate article ids are refused.
pub fn build(
    src: &Path,
    out: &Path,
    encoder: &dyn flowgate_demand::Embed,
    progress: &dyn Fn(usize, usize),
) -> Result<Built> {
    let mut articles = Vec::new();
    let mut passages = Vec::new();
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    for file in article::files(src)? {
        let rel = file
            .strip_prefix(src)
            .unwrap_or(&file)
            .display()
            .to_string();
        let text = std::fs::read_to_string(&file).map_err(io(&file))?;
        let (a, body) = article::parse(&text, &rel)?;
        if let Some(other) = seen.insert(a.id.clone(), rel.clone()) {
            return Err(KbError::Article {
                path: rel,
                line: 2,
                problem: format!("id {:?} is already used by {other}", a.id),
            });
        }
        passages.extend(article::passages(articles.len() as u32, &a, &body));
        articles.push(a);
    }
    if articles.is_empty() {
        return Err(KbError::Io {
            path: src.display().to_string(),
            problem: "no .md articles found".into(),
        });
    }
    let texts: Vec<String> = passages
        .iter()
        .map(|p| passage_text(&articles[p.article as usize], p))
        .collect();
    let mut embeddings = Vec::with_capacity(texts.len() * encoder.dim());
    for (k, chunk) in texts.chunks(256).enumerate() {
        let refs: Vec<&str> = chunk.iter().map(String::as_str).collect();
        for e in encoder.embed(&refs)? {
            embeddings.extend(e);
        }
        progress((k * 256 + chunk.len()).min(texts.len()), texts.len());
    }
    let tmp = out.with_extension("building");
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(tmp.join("index")).map_err(io(&tmp))?;
    let (schema, pid, title, body) = schema();
    let index = Index::create_in_dir(tmp.join("index"), schema)?;
    let mut w = index.writer_with_num_threads(1, 50_000_000)?;
    for (i, p) in passages.iter().enumerate() {
        let a = &articles[p.article as usize];
        let head = match &p.heading {
            Some(h) => format!("{} {h}", a.title),
            None => a.title.clone(),
        };
        w.add_document(doc!(pid => i as u64, title => head, body => p.text.clone()))?;
    }
    w.commit()?;
    w.wait_merging_threads()?;
    let meta = Meta {
        version: KB_VERSION,
        encoder: encoder.id(),
        dim: encoder.dim(),
        articles,
        passages,
    };
    let json = serde_json::to_vec(&meta).map_err(|e| KbError::Index(e.to_string()))?;
    std::fs::write(tmp.join("kb.json"), json).map_err(io(&tmp))?;
    let bytes: Vec<u8> = embeddings.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(tmp.join("embeddings.f32"), bytes).map_err(io(&tmp))?;
    if out.exists() {
        std::fs::remove_dir_all(out).map_err(io(out))?;
    }
    std::fs::rename(&tmp, out).map_err(io(out))?;
    Ok(Built {
        articles: meta.articles.len(),
        passages: meta.passages.len(),
    })
}

/// The text a passage is embedded as: its article's title, heading and body.
fn passage_text(a: &Article, p: &Passage) -> String {
    match &p.heading {
        Some(h) => format!("{}. {h}. {}", a.title, p.text),
        None => format!("{}. {}", a.title, p.text),
    }
}

impl Kb {
    pub fn open(dir: &Path) -> Result<Kb> {
        let not_built = |problem: String| KbError::NotBuilt {
            path: dir.display().to_string(),
            problem,
        };
        let json = std::fs::read(dir.join("kb.json")).map_err(|e| not_built(e.to_string()))?;
        let meta: Meta =
            serde_json::from_slice(&json).map_err(|e| not_built(format!("kb.json: {e}")))?;
        if meta.version > KB_VERSION {
            return Err(not_built(format!(
                "built by a newer flowgate (layout {}; this build reads up to {KB_VERSION})",
                meta.version
            )));
        }
        let bytes =
            std::fs::read(dir.join("embeddings.f32")).map_err(|e| not_built(e.to_string()))?;
        let embeddings: Vec<f32> = bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        if embeddings.len() != meta.passages.len() * meta.dim {
            return Err(not_built(format!(
                "embeddings.f32 holds {} values, expected {} passages × {}",
                embeddings.len(),
                meta.passages.len(),
                meta.dim
            )));
        }
        let index = Index::open_in_dir(dir.join("index"))?;
        let schema = index.schema();
        let pid = schema.get_field("pid")?;
        let title = schema.get_field("title")?;
        let body = schema.get_field("body")?;
        let reader = index.reader()?;
        // Any word may match (disjunction): BM25 ranks, it does not filter.
        let parser = QueryParser::for_index(&index, vec![title, body]);
        Ok(Kb {
            articles: meta.articles,
            passages: meta.passages,
            dim: meta.dim,
            embeddings,
            reader,
            parser,
            pid,
        })
    }

    /// The top `k` passages for `query`, embedding it with `encoder`. The embedding sees the
    /// query's first [`QUERY_TOKENS`] tokens (BM25 sees all of it): a search-box query is
    /// short, and the encoder's time grows with length (8.5 ms at 16 tokens, 21 ms at 64 on
    /// two cores). Long texts — a ticket in `assist` — are embedded whole by the caller and
    /// go through [`Kb::search_embedded`].
    pub fn search(&self, encoder: &Encoder, query: &str, k: usize) -> Result<Vec<Hit>> {
        let head = encoder.truncate_to_tokens(query, QUERY_TOKENS)?;
        let e = encoder.embed(&[head.as_str()])?;
        self.search_embedded(query, &e[0], k)
    }

    /// Like [`Kb::search`] with the query already embedded.
    pub fn search_embedded(&self, query: &str, emb: &[f32], k: usize) -> Result<Vec<Hit>> {
        let mut fused: BTreeMap<usize, Hit> = BTreeMap::new();
        let cleaned: String = query
            .chars()
            .map(|c| if c.is_alphanumeric() { c } else { ' ' })
            .collect();
        let (q, _) = self.parser.parse_query_lenient(&cleaned);
        let searcher = self.reader.searcher();
        let top = searcher.search(&q, &TopDocs::with_limit(CANDIDATES))?;
        let sims = self.similarities(emb);
        for (rank, (score, addr)) in top.into_iter().enumerate() {
            let d: TantivyDocument = searcher.doc(addr)?;
            let Some(p) = d.get_first(self.pid).and_then(|v| v.as_u64()) else {
                continue;
            };
            let p = p as usize;
            let h = fused.entry(p).or_insert_with(|| self.hit(p, sims[p]));
            h.bm25_rank = Some(rank + 1);
            h.bm25 = Some(score);
            h.score += 1.0 / (RRF_K + (rank + 1) as f64);
        }
        let mut order: Vec<usize> = (0..sims.len()).collect();
        let n = CANDIDATES.min(order.len());
        if n > 0 {
            order.select_nth_unstable_by(n - 1, |&a, &b| sims[b].total_cmp(&sims[a]));
            order.truncate(n);
            order.sort_by(|&a, &b| sims[b].total_cmp(&sims[a]).then(a.cmp(&b)));
        }
        for (rank, p) in order.into_iter().enumerate() {
            let h = fused.entry(p).or_insert_with(|| self.hit(p, sims[p]));
            h.embedding_rank = Some(rank + 1);
            h.score += 1.0 / (RRF_K + (rank + 1) as f64);
        }
        let mut hits: Vec<Hit> = fused.into_values().collect();
        hits.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then(b.similarity.total_cmp(&a.similarity))
                .then(a.passage.cmp(&b.passage))
        });
        hits.truncate(k);
        Ok(hits)
    }

    fn hit(&self, p: usize, similarity: f32) -> Hit {
        Hit {
            passage: p,
            article: self.passages[p].article as usize,
            score: 0.0,
            bm25_rank: None,
            embedding_rank: None,
            bm25: None,
            similarity,
        }
    }

    fn similarities(&self, emb: &[f32]) -> Vec<f32> {
        self.embeddings
            .chunks_exact(self.dim)
            .map(|row| row.iter().zip(emb).map(|(a, b)| a * b).sum())
            .collect()
    }

    /// Articles that cover `intent`.
    pub fn articles_for(&self, intent: &str) -> Vec<usize> {
        (0..self.articles.len())
            .filter(|&i| self.articles[i].intents.iter().any(|x| x == intent))
            .collect()
    }

    /// Whether `intent` has an article reviewed within `max_age_days` of `today` (an article
    /// without a review date counts as stale).
    pub fn current_article(
        &self,
        intent: &str,
        today: jiff::civil::Date,
        max_age_days: i64,
    ) -> bool {
        self.articles_for(intent)
            .into_iter()
            .any(|i| !stale(&self.articles[i], today, max_age_days))
    }
}

/// Whether an article's last review is older than `max_age_days` (or missing).
pub fn stale(a: &Article, today: jiff::civil::Date, max_age_days: i64) -> bool {
    match a
        .reviewed
        .as_deref()
        .and_then(|r| r.parse::<jiff::civil::Date>().ok())
    {
        Some(d) => (today - d).get_days() as i64 > max_age_days,
        None => true,
    }
}

/// Coverage of intents by articles, by volume.
#[derive(Debug, Serialize)]
pub struct Coverage {
    pub intent: String,
    pub tickets: usize,
    pub share: f64,
    pub articles: Vec<String>,
    /// `ok`, `missing` or `stale`.
    pub status: &'static str,
    pub last_reviewed: Option<String>,
}

/// Per intent (most tickets first): its articles and whether it has a current one.
pub fn coverage(
    kb: &Kb,
    volumes: &BTreeMap<String, usize>,
    today: jiff::civil::Date,
    max_age_days: i64,
) -> Vec<Coverage> {
    let total: usize = volumes.values().sum();
    let mut out: Vec<Coverage> = volumes
        .iter()
        .map(|(intent, &n)| {
            let arts = kb.articles_for(intent);
            let last = arts
                .iter()
                .filter_map(|&i| kb.articles[i].reviewed.clone())
                .max();
            let status = if arts.is_empty() {
                "missing"
            } else if kb.current_article(intent, today, max_age_days) {
                "ok"
            } else {
                "stale"
            };
            Coverage {
                intent: intent.clone(),
                tickets: n,
                share: n as f64 / total.max(1) as f64,
                articles: arts.iter().map(|&i| kb.articles[i].id.clone()).collect(),
                status,
                last_reviewed: last,
            }
        })
        .collect();
    out.sort_by(|a, b| b.tickets.cmp(&a.tickets).then(a.intent.cmp(&b.intent)));
    out
}

/// Where the built knowledge base for a source folder goes by default.
pub fn default_out(src: &Path) -> PathBuf {
    let name = src
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "kb".into());
    src.with_file_name(format!("{name}.fgkb"))
}
