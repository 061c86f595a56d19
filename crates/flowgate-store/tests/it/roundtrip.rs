//! `db export` writes a log that re-imports to the identical store content.

use flowgate_ingest::export::{export_mapping, write_csv, write_xes};
use flowgate_ingest::{Mapping, ReadOptions, read_rows};
use flowgate_store::Store;

use crate::{baseline_json, both, import, rows, shared};

/// Each source's events as sorted text lines (content and multiplicity).
async fn content(store: &Store, source: &str) -> Vec<String> {
    let b = store.load(source).await.unwrap().rows;
    let mut v: Vec<String> = (0..b.len())
        .map(|i| {
            let r = b.row(i);
            let mut attrs: Vec<String> = (0..b.attr_names().len())
                .filter(|&c| b.attr_at(c, i) != flowgate_flow::NONE)
                .map(|c| {
                    format!(
                        "{}={}",
                        b.attr_names()[c],
                        b.attr_values[c].resolve(b.attr_at(c, i))
                    )
                })
                .collect();
            attrs.sort();
            format!(
                "{}|{}|{}|{}|{}|{:?}|{}|{}",
                b.cases.resolve(r.case),
                r.ts_ms,
                b.activities.resolve(r.activity),
                b.resources.resolve(r.resource),
                b.teams.resolve(r.team),
                r.state,
                r.escalation,
                attrs.join(",")
            )
        })
        .collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csv_and_xes_exports_round_trip() {
    let dir = std::env::temp_dir().join(format!("flowgate-store-it-rt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let inputs = [
        (
            "helpdesk",
            shared().join("data/helpdesk/helpdesk_full_attributes_jingyi0126.csv"),
        ),
        (
            "bpic2013",
            shared().join("data/bpic2013/bpi_challenge_2013_incidents.xes.gz"),
        ),
    ];
    for (preset, file) in inputs {
        let original = rows(&file, Some(preset));
        for db in both(&format!("rt{preset}")).await {
            let store = Store::open(&db.url).await.unwrap();
            import(&store, preset, &original).await;
            let loaded = store.load(preset).await.unwrap();
            let mapping = Mapping::from_toml(&loaded.mapping_toml, "stored").unwrap();
            let want = content(&store, preset).await;
            for xes in [false, true] {
                let path = dir.join(format!("{preset}.{}", if xes { "xes" } else { "csv" }));
                let mut f = std::fs::File::create(&path).unwrap();
                if xes {
                    write_xes(&loaded.rows, &mut f).unwrap();
                } else {
                    write_csv(&loaded.rows, &mut f).unwrap();
                }
                let m = export_mapping(&mapping, xes);
                // The mapping survives its own TOML form.
                let m = Mapping::from_toml(&m.to_toml(), "export mapping").unwrap();
                let back = read_rows(
                    &path,
                    &ReadOptions {
                        mapping: Some(m),
                        ..Default::default()
                    },
                )
                .unwrap();
                assert_eq!(back.rejected, 0, "{:?}", back.diagnostics.first());
                // Into a second database under the same source name: identical content, and
                // importing it into the first adds nothing (same event keys).
                let again = crate::sqlite_db("rt2").await;
                let other = Store::open(&again.url).await.unwrap();
                let s = import(&other, preset, &back).await;
                assert_eq!(s.events_new as usize, original.builder.len());
                assert_eq!(
                    content(&other, preset).await,
                    want,
                    "{preset} xes={xes} via {}",
                    db.url
                );
                other.close().await;
                let s = import(&store, preset, &back).await;
                assert_eq!(
                    s.events_new, 0,
                    "{preset} xes={xes}: re-import into {} added events",
                    db.url
                );
            }
            assert_eq!(
                baseline_json(store.load(preset).await.unwrap().rows),
                baseline_json(rows(&file, Some(preset)).builder)
            );
            store.close().await;
        }
    }
}
