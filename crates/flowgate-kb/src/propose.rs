//! What the knowledge base proposes for one ticket: the article, its filled answer and the
//! passages a reviewer sees as sources.

use std::collections::BTreeMap;

use crate::template::Answer;
use crate::{Hit, Kb, Result};

/// One ticket, as the knowledge base is asked about it.
pub struct Ask<'a> {
    pub intent: &'a str,
    pub text: &'a str,
    /// The text's sentence embedding (the one the classifier used).
    pub emb: &'a [f32],
    /// The ticket's fields by lower-case name, for the answer template.
    pub fields: &'a BTreeMap<String, String>,
    pub today: jiff::civil::Date,
    /// An article reviewed longer ago than this does not count as current.
    pub stale_days: i64,
    /// How many distinct passages to return.
    pub k: usize,
}

/// What the knowledge base proposes for a ticket of `intent`: the best-ranked article that
/// covers the intent (else the first that does), whether it is current, its answer template
/// filled from the ticket, and the top `k` distinct passages found for the text.
pub struct Proposal {
    pub article: Option<usize>,
    pub current: bool,
    pub answer: Option<Answer>,
    pub hits: Vec<Hit>,
}

impl Kb {
    pub fn propose(&self, q: &Ask) -> Result<Proposal> {
        let hits = self.search_embedded(q.text, q.emb, q.k.max(1) * 4)?;
        let current = self.current_article(q.intent, q.today, q.stale_days);
        let covering = self.articles_for(q.intent);
        let article = hits
            .iter()
            .map(|h| h.article)
            .find(|a| covering.contains(a))
            .or_else(|| covering.first().copied());
        let answer = article
            .and_then(|a| self.articles[a].answer.as_deref())
            .map(|t| crate::template::fill(t, q.text, q.fields));
        let mut shown: Vec<Hit> = Vec::new();
        for h in hits {
            if shown.len() == q.k {
                break;
            }
            if shown.iter().any(|s| s.passage == h.passage) {
                continue;
            }
            shown.push(h);
        }
        Ok(Proposal {
            article,
            current,
            answer,
            hits: shown,
        })
    }
}
