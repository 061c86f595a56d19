//! Reading a source back into an `EventLogBuilder`, in source order.

use flowgate_flow::{EventLogBuilder, EventRow, Interner, NONE, State};
use futures_util::TryStreamExt;
use sqlx::{PgPool, SqlitePool};

use crate::{Loaded, Result, StoreError, unknown_source, unpack_attrs};

type EventTuple = (
    i64,
    i64,
    i64,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    i64,
    Option<Vec<u8>>,
);

/// Dictionary id → id in one of the builder's tables, assigned on first use.
struct RoleMap(Vec<u32>);

impl RoleMap {
    fn new(n: usize) -> Self {
        RoleMap(vec![NONE; n])
    }

    fn get(&mut self, dict: &[String], table: &mut Interner, id: i64) -> Result<u32> {
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
        dict: Vec<(i64, String)>,
        names: Vec<(i64, String)>,
        states_mapped: bool,
    ) -> Result<Reader> {
        let dense =
            |ids: &mut dyn Iterator<Item = i64>| ids.enumerate().all(|(i, id)| id == i as i64);
        if !dense(&mut dict.iter().map(|d| d.0)) || !dense(&mut names.iter().map(|d| d.0)) {
            return Err(StoreError::Corrupt("dictionary ids are not dense".into()));
        }
        let mut builder = EventLogBuilder::new(states_mapped);
        let attr_cols: Vec<usize> = names.iter().map(|(_, n)| builder.attr_column(n)).collect();
        let n = dict.len();
        Ok(Reader {
            dict: dict.into_iter().map(|d| d.1).collect(),
            attr_maps: names.iter().map(|_| RoleMap::new(n)).collect(),
            builder,
            cases: RoleMap::new(n),
            acts: RoleMap::new(n),
            res: RoleMap::new(n),
            teams: RoleMap::new(n),
            attr_cols,
            attr_buf: Vec::new(),
        })
    }

    fn push(&mut self, t: EventTuple) -> Result<()> {
        let (case_s, ts_ms, act_s, res_s, team_s, state, flags, attrs) = t;
        let b = &mut self.builder;
        let case = self.cases.get(&self.dict, &mut b.cases, case_s)?;
        let activity = self.acts.get(&self.dict, &mut b.activities, act_s)?;
        let resource = match res_s {
            Some(id) => self.res.get(&self.dict, &mut b.resources, id)?,
            None => NONE,
        };
        let team = match team_s {
            Some(id) => self.teams.get(&self.dict, &mut b.teams, id)?,
            None => NONE,
        };
        let state = match state {
            None => None,
            Some(code) => Some(
                *State::ALL
                    .get(code as usize)
                    .ok_or_else(|| StoreError::Corrupt(format!("state code {code}")))?,
            ),
        };
        self.attr_buf.clear();
        self.attr_buf.resize(self.attr_cols.len(), NONE);
        if let Some(blob) = &attrs {
            for (name, value) in unpack_attrs(blob)? {
                let k = name as usize;
                let col = *self
                    .attr_cols
                    .get(k)
                    .ok_or_else(|| StoreError::Corrupt(format!("attribute name id {name}")))?;
                self.attr_buf[col] =
                    self.attr_maps[k].get(&self.dict, &mut b.attr_values[col], value as i64)?;
            }
        }
        b.push(
            EventRow {
                case,
                ts_ms,
                activity,
                resource,
                team,
                state,
                escalation: flags & 1 != 0,
            },
            &self.attr_buf,
        );
        Ok(())
    }
}

/// Source order. In SQLite `+source_id` keeps the planner on the table's own (id) order
/// instead of the key index plus a sort; PostgreSQL has an index on (source_id, id).
const EVENTS_SQL: &str = "SELECT case_s, ts_ms, activity_s, resource_s, team_s, state, flags, attrs \
                          FROM events WHERE +source_id = {} ORDER BY id";

pub(crate) async fn load_sqlite(pool: &SqlitePool, source: &str) -> Result<Loaded> {
    let Some((id, mapping, states)) = sqlx::query_as::<_, (i64, String, i64)>(
        "SELECT id, mapping, states_mapped FROM sources WHERE name = ?",
    )
    .bind(source)
    .fetch_optional(pool)
    .await?
    else {
        let names = sqlx::query_scalar("SELECT name FROM sources ORDER BY name")
            .fetch_all(pool)
            .await?;
        return Err(unknown_source(names, source).await);
    };
    let dict = sqlx::query_as("SELECT id, value FROM strings WHERE source_id = ? ORDER BY id")
        .bind(id)
        .fetch_all(pool)
        .await?;
    let names = sqlx::query_as("SELECT id, name FROM attr_names WHERE source_id = ? ORDER BY id")
        .bind(id)
        .fetch_all(pool)
        .await?;
    let mut r = Reader::new(dict, names, states != 0)?;
    let sql = EVENTS_SQL.replace("{}", &id.to_string());
    let mut rows = sqlx::query_as::<_, EventTuple>(&sql).fetch(pool);
    while let Some(t) = rows.try_next().await? {
        r.push(t)?;
    }
    Ok(Loaded {
        rows: r.builder,
        mapping_toml: mapping,
    })
}

pub(crate) async fn load_pg(pool: &PgPool, source: &str) -> Result<Loaded> {
    let Some((id, mapping, states)) = sqlx::query_as::<_, (i64, String, i64)>(
        "SELECT id, mapping, states_mapped FROM sources WHERE name = $1",
    )
    .bind(source)
    .fetch_optional(pool)
    .await?
    else {
        let names = sqlx::query_scalar("SELECT name FROM sources ORDER BY name")
            .fetch_all(pool)
            .await?;
        return Err(unknown_source(names, source).await);
    };
    let dict = sqlx::query_as("SELECT id, value FROM strings WHERE source_id = $1 ORDER BY id")
        .bind(id)
        .fetch_all(pool)
        .await?;
    let names = sqlx::query_as("SELECT id, name FROM attr_names WHERE source_id = $1 ORDER BY id")
        .bind(id)
        .fetch_all(pool)
        .await?;
    let mut r = Reader::new(dict, names, states != 0)?;
    let sql = EVENTS_SQL
        .replace("+source_id", "source_id")
        .replace("{}", &id.to_string());
    let mut rows = sqlx::query_as::<_, EventTuple>(&sql).fetch(pool);
    while let Some(t) = rows.try_next().await? {
        r.push(t)?;
    }
    Ok(Loaded {
        rows: r.builder,
        mapping_toml: mapping,
    })
}
