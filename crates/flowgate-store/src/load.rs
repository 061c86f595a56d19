//! Reading a source back into an `EventLogBuilder`, in source order, from its blocks.

use flowgate_flow::{EventLogBuilder, EventRow, Interner, NONE, State};
use futures_util::TryStreamExt;
use sqlx::{PgPool, SqlitePool};

use crate::codec::{Decoded, decode_events, decode_strings};
use crate::common::load_source;
use crate::sql::{numbered, plain};
use crate::{Loaded, Result, StoreError, unpack_attrs};

/// Dictionary id → id in one of the builder's tables, assigned on first use.
struct RoleMap(Vec<u32>);

impl RoleMap {
    fn new(n: usize) -> Self {
        RoleMap(vec![NONE; n])
    }

    fn get(&mut self, dict: &[String], table: &mut Interner, id: u32) -> Result<u32> {
        let slot = self
            .0
            .get_mut(id as usize)
            .ok_or_else(|| StoreError::Corrupt(format!("string id {id} not in the dictionary")))?;
        if *slot == NONE {
            *slot = table.intern(&dict[id as usize]);
        }
        Ok(*slot)
    }
}

struct Reader {
    dict: Vec<String>,
    builder: EventLogBuilder,
    cases: RoleMap,
    acts: RoleMap,
    res: RoleMap,
    teams: RoleMap,
    attr_cols: Vec<usize>,
    attr_maps: Vec<RoleMap>,
    attr_buf: Vec<u32>,
}

impl Reader {
    fn new(
        blocks: Vec<(i64, Vec<u8>)>,
        names: Vec<(i64, String)>,
        states_mapped: bool,
    ) -> Result<Reader> {
        let mut dict = Vec::new();
        for (first, data) in blocks {
            if first != dict.len() as i64 {
                return Err(StoreError::Corrupt(
                    "string blocks are not contiguous".into(),
                ));
            }
            decode_strings(&data, &mut dict)?;
        }
        if !names.iter().enumerate().all(|(i, (id, _))| *id == i as i64) {
            return Err(StoreError::Corrupt(
                "attribute name ids are not dense".into(),
            ));
        }
        let mut builder = EventLogBuilder::new(states_mapped);
        let attr_cols: Vec<usize> = names.iter().map(|(_, n)| builder.attr_column(n)).collect();
        let n = dict.len();
        Ok(Reader {
            attr_maps: names.iter().map(|_| RoleMap::new(n)).collect(),
            dict,
            builder,
            cases: RoleMap::new(n),
            acts: RoleMap::new(n),
            res: RoleMap::new(n),
            teams: RoleMap::new(n),
            attr_cols,
            attr_buf: Vec::new(),
        })
    }

    fn push(&mut self, d: Decoded<'_>) -> Result<()> {
        let b = &mut self.builder;
        let case = self.cases.get(&self.dict, &mut b.cases, d.case)?;
        let activity = self.acts.get(&self.dict, &mut b.activities, d.activity)?;
        let resource = match d.resource {
            Some(id) => self.res.get(&self.dict, &mut b.resources, id)?,
            None => NONE,
        };
        let team = match d.team {
            Some(id) => self.teams.get(&self.dict, &mut b.teams, id)?,
            None => NONE,
        };
        let state = match d.state {
            None => None,
            Some(code) => Some(
                *State::ALL
                    .get(code as usize)
                    .ok_or_else(|| StoreError::Corrupt(format!("state code {code}")))?,
            ),
        };
        self.attr_buf.clear();
        self.attr_buf.resize(self.attr_cols.len(), NONE);
        for (name, value) in unpack_attrs(d.attrs)? {
            let k = name as usize;
            let col = *self
                .attr_cols
                .get(k)
                .ok_or_else(|| StoreError::Corrupt(format!("attribute name id {name}")))?;
            self.attr_buf[col] =
                self.attr_maps[k].get(&self.dict, &mut b.attr_values[col], value)?;
        }
        b.push(
            EventRow {
                case,
                ts_ms: d.ts_ms,
                activity,
                resource,
                team,
                state,
                escalation: d.flags & 1 != 0,
            },
            &self.attr_buf,
        );
        Ok(())
    }
}

pub(crate) async fn load_sqlite(pool: &SqlitePool, source: &str) -> Result<Loaded> {
    // A deferred transaction in WAL mode reads one snapshot from its first read.
    load_source!(pool, source, plain, None::<&str>)
}

pub(crate) async fn load_pg(pool: &PgPool, source: &str) -> Result<Loaded> {
    load_source!(
        pool,
        source,
        numbered,
        Some("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
    )
}
