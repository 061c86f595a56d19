//! Inline SVG charts: no scripts, no fonts or styles from the network.

use std::collections::BTreeMap;
use std::fmt::Write;

use flowgate_flow::metrics::{ActivityStat, Edge, NamedCount};

pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

pub const PALETTE: [&str; 8] = [
    "#3b6ea8", "#e08a2e", "#4f9d69", "#c8553d", "#8e6bb8", "#6b8e9f", "#b5a642", "#888888",
];

/// A vertical histogram; `markers` are labelled vertical lines at x values.
pub fn histogram(
    bins: &[(f64, f64, u64)],
    markers: &[(&str, f64)],
    x_fmt: impl Fn(f64) -> String,
) -> String {
    let (w, h, pad_l, pad_b, pad_t) = (900.0, 240.0, 50.0, 30.0, 22.0);
    let mut s = open(w, h, "histogram");
    if bins.is_empty() {
        return empty(s, w, h);
    }
    let x0 = bins[0].0;
    let x1 = bins.last().map(|b| b.1).unwrap_or(1.0).max(x0 + 1e-9);
    let ymax = bins.iter().map(|b| b.2).max().unwrap_or(1).max(1) as f64;
    let pw = w - pad_l - 10.0;
    let ph = h - pad_b - pad_t;
    let sx = |x: f64| pad_l + (x - x0) / (x1 - x0) * pw;
    let sy = |y: f64| pad_t + ph - y / ymax * ph;
    axis_y(&mut s, pad_l, pad_t, ph, ymax, w);
    for &(lo, hi, n) in bins {
        let _ = write!(
            s,
            r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{}"><title>{} – {}: {} cases</title></rect>"#,
            sx(lo) + 0.5,
            sy(n as f64),
            (sx(hi) - sx(lo) - 1.0).max(0.5),
            ph + pad_t - sy(n as f64),
            PALETTE[0],
            esc(&x_fmt(lo)),
            esc(&x_fmt(hi)),
            n
        );
    }
    for i in 0..=4 {
        let x = x0 + (x1 - x0) * i as f64 / 4.0;
        let _ = write!(
            s,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" class="tick">{}</text>"#,
            sx(x),
            h - 10.0,
            esc(&x_fmt(x))
        );
    }
    for (k, (label, x)) in markers.iter().enumerate() {
        let xx = sx(x.min(x1));
        let _ = write!(
            s,
            r##"<line x1="{xx:.1}" x2="{xx:.1}" y1="{pad_t}" y2="{:.1}" stroke="#c8553d" stroke-dasharray="4 3"/><text x="{:.1}" y="{:.1}" class="marker">{} {}</text>"##,
            pad_t + ph,
            xx + 3.0,
            pad_t - 8.0 + 11.0 * k as f64 + 4.0,
            esc(label),
            esc(&x_fmt(*x))
        );
    }
    s.push_str("</svg>");
    s
}

/// Horizontal bars with a label and a formatted value each.
pub fn hbars(rows: &[(String, f64, String)]) -> String {
    let (w, row_h, label_w) = (900.0, 24.0, 190.0);
    let h = 10.0 + row_h * rows.len().max(1) as f64;
    let mut s = open(w, h, "bars");
    if rows.is_empty() {
        return empty(s, w, h);
    }
    let max = rows.iter().map(|r| r.1).fold(0.0f64, f64::max).max(1e-9);
    let bw = w - label_w - 260.0;
    for (i, (label, v, text)) in rows.iter().enumerate() {
        let y = 5.0 + i as f64 * row_h;
        let len = (v / max * bw).max(if *v > 0.0 { 1.0 } else { 0.0 });
        let _ = write!(
            s,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end" class="label">{}</text><rect x="{label_w}" y="{:.1}" width="{len:.1}" height="{:.1}" fill="{}"/><text x="{:.1}" y="{:.1}" class="value">{}</text>"#,
            label_w - 8.0,
            y + 16.0,
            esc(label),
            y + 3.0,
            row_h - 6.0,
            PALETTE[i % PALETTE.len()],
            label_w + len + 6.0,
            y + 16.0,
            esc(text)
        );
    }
    s.push_str("</svg>");
    s
}

/// Lines over a shared x axis of labels.
pub fn lines(x_labels: &[String], series: &[(&str, Vec<f64>)]) -> String {
    let (w, h, pad_l, pad_b, pad_t) = (900.0, 240.0, 50.0, 30.0, 24.0);
    let mut s = open(w, h, "lines");
    let n = x_labels.len();
    if n == 0 {
        return empty(s, w, h);
    }
    let ymax = series
        .iter()
        .flat_map(|(_, v)| v.iter().copied())
        .fold(0.0f64, f64::max)
        .max(1.0);
    let pw = w - pad_l - 10.0;
    let ph = h - pad_b - pad_t;
    let sx = |i: usize| {
        pad_l
            + if n > 1 {
                i as f64 / (n - 1) as f64 * pw
            } else {
                pw / 2.0
            }
    };
    let sy = |y: f64| pad_t + ph - y / ymax * ph;
    axis_y(&mut s, pad_l, pad_t, ph, ymax, w);
    for (k, (name, v)) in series.iter().enumerate() {
        let pts: Vec<String> = v
            .iter()
            .enumerate()
            .map(|(i, y)| format!("{:.1},{:.1}", sx(i), sy(*y)))
            .collect();
        let _ = write!(
            s,
            r#"<polyline fill="none" stroke="{}" stroke-width="1.8" points="{}"/><rect x="{:.1}" y="6" width="12" height="10" fill="{}"/><text x="{:.1}" y="15" class="legend">{}</text>"#,
            PALETTE[k % PALETTE.len()],
            pts.join(" "),
            pad_l + 10.0 + k as f64 * 150.0,
            PALETTE[k % PALETTE.len()],
            pad_l + 26.0 + k as f64 * 150.0,
            esc(name)
        );
    }
    x_ticks(&mut s, x_labels, sx, h);
    s.push_str("</svg>");
    s
}

/// Stacked areas (cumulative flow): series stacked bottom to top in the given order.
pub fn stacked(x_labels: &[String], series: &[(String, Vec<f64>)]) -> String {
    let (w, h, pad_l, pad_b, pad_t) = (900.0, 280.0, 56.0, 30.0, 24.0);
    let mut s = open(w, h, "stacked");
    let n = x_labels.len();
    if n == 0 || series.is_empty() {
        return empty(s, w, h);
    }
    let mut base = vec![0.0; n];
    let tops: Vec<Vec<f64>> = series
        .iter()
        .map(|(_, v)| {
            for (b, y) in base.iter_mut().zip(v) {
                *b += y;
            }
            base.clone()
        })
        .collect();
    let ymax = base.iter().copied().fold(0.0f64, f64::max).max(1.0);
    let pw = w - pad_l - 10.0;
    let ph = h - pad_b - pad_t;
    let sx = |i: usize| {
        pad_l
            + if n > 1 {
                i as f64 / (n - 1) as f64 * pw
            } else {
                pw / 2.0
            }
    };
    let sy = |y: f64| pad_t + ph - y / ymax * ph;
    axis_y(&mut s, pad_l, pad_t, ph, ymax, w);
    let zero = vec![0.0; n];
    for (k, (name, _)) in series.iter().enumerate() {
        let lower = if k == 0 { &zero } else { &tops[k - 1] };
        let upper = &tops[k];
        let mut pts: Vec<String> = (0..n)
            .map(|i| format!("{:.1},{:.1}", sx(i), sy(upper[i])))
            .collect();
        pts.extend(
            (0..n)
                .rev()
                .map(|i| format!("{:.1},{:.1}", sx(i), sy(lower[i]))),
        );
        let color = PALETTE[k % PALETTE.len()];
        let _ = write!(
            s,
            r#"<polygon fill="{color}" fill-opacity="0.85" points="{}"/><rect x="{:.1}" y="6" width="12" height="10" fill="{color}"/><text x="{:.1}" y="15" class="legend">{}</text>"#,
            pts.join(" "),
            pad_l + 6.0 + k as f64 * 150.0,
            pad_l + 22.0 + k as f64 * 150.0,
            esc(name)
        );
    }
    x_ticks(&mut s, x_labels, sx, h);
    s.push_str("</svg>");
    s
}

/// The process map: activities as boxes in layers by distance from the start, the most
/// frequent directly-follows edges as arrows labelled with their median wait.
pub fn process_map(
    activities: &[ActivityStat],
    dfg: &[Edge],
    starts: &[NamedCount],
    ends: &[NamedCount],
    wait_fmt: impl Fn(f64) -> String,
) -> String {
    const MAX_NODES: usize = 16;
    const MAX_EDGES: usize = 28;
    let nodes: Vec<&ActivityStat> = activities.iter().take(MAX_NODES).collect();
    let idx: BTreeMap<&str, usize> = nodes
        .iter()
        .enumerate()
        .map(|(i, a)| (a.name.as_str(), i))
        .collect();
    let edges: Vec<&Edge> = dfg
        .iter()
        .filter(|e| {
            idx.contains_key(e.from.as_str()) && idx.contains_key(e.to.as_str()) && e.from != e.to
        })
        .take(MAX_EDGES)
        .collect();
    // Rows by where an activity typically first occurs in a case, at most four per row.
    let mut order: Vec<usize> = (0..nodes.len()).collect();
    order.sort_by(|&a, &b| {
        nodes[a]
            .mean_position
            .total_cmp(&nodes[b].mean_position)
            .then(nodes[b].events.cmp(&nodes[a].events))
    });
    let mut layer = vec![0usize; nodes.len()];
    let mut by_layer: Vec<Vec<usize>> = Vec::new();
    for &i in &order {
        let start_new = match by_layer.last() {
            None => true,
            Some(row) => {
                row.len() >= 4 || nodes[i].mean_position - nodes[row[0]].mean_position >= 0.75
            }
        };
        if start_new {
            by_layer.push(Vec::new());
        }
        let l = by_layer.len() - 1;
        by_layer[l].push(i);
        layer[i] = l;
    }
    let n_layers = by_layer.len().max(1);
    let (w, box_w, box_h, row_h) = (900.0, 170.0, 40.0, 96.0);
    let h = 30.0 + row_h * n_layers as f64;
    let mut pos = vec![(0.0, 0.0); nodes.len()];
    for (l, members) in by_layer.iter().enumerate() {
        let k = members.len() as f64;
        // Stagger alternate rows so straight edges do not run through boxes.
        let shift = if l % 2 == 1 && members.len() < 4 {
            w / (2.0 * (k + 1.0))
        } else {
            0.0
        };
        for (j, &i) in members.iter().enumerate() {
            let x = (w * (j as f64 + 0.5) / k + shift * 0.5).min(w - box_w / 2.0 - 4.0);
            pos[i] = (x, 20.0 + l as f64 * row_h + box_h / 2.0);
        }
    }
    let mut s = open(w, h, "process-map");
    s.push_str(r##"<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerUnits="userSpaceOnUse" markerWidth="10" markerHeight="10" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>"##);
    let max_count = edges.iter().map(|e| e.count).max().unwrap_or(1).max(1) as f64;
    let mut labels = String::new();
    for e in &edges {
        let (a, b) = (idx[e.from.as_str()], idx[e.to.as_str()]);
        let (x1, y1) = pos[a];
        let (x2, y2) = pos[b];
        let width = 0.8 + 4.0 * (e.count as f64).ln_1p() / max_count.ln_1p();
        let forward = layer[b] > layer[a];
        let (sy1, sy2) = if forward {
            (y1 + box_h / 2.0, y2 - box_h / 2.0)
        } else if layer[b] < layer[a] {
            (y1 - box_h / 2.0, y2 + box_h / 2.0)
        } else {
            (y1, y2)
        };
        // Back and sideways edges bow out so they do not hide forward ones.
        let bow = if forward {
            0.0
        } else {
            110.0 + 30.0 * (a % 3) as f64
        };
        let (cx, cy) = ((x1 + x2) / 2.0 + bow, (sy1 + sy2) / 2.0);
        let stroke = if forward { "#555" } else { "#c8553d" };
        let _ = write!(
            s,
            r#"<path d="M{x1:.1},{sy1:.1} Q{cx:.1},{cy:.1} {x2:.1},{sy2:.1}" fill="none" stroke="{stroke}" stroke-opacity="0.7" stroke-width="{width:.2}" marker-end="url(#arrow)"><title>{} → {}: {} times, median wait {}</title></path>"#,
            esc(&e.from),
            esc(&e.to),
            e.count,
            esc(&wait_fmt(e.wait_median_s))
        );
        let (lx, ly) = ((x1 + 2.0 * cx + x2) / 4.0, (sy1 + 2.0 * cy + sy2) / 4.0);
        let _ = write!(
            labels,
            r#"<text x="{lx:.1}" y="{ly:.1}" text-anchor="middle" class="edge">{}</text>"#,
            esc(&wait_fmt(e.wait_median_s))
        );
    }
    s.push_str(&labels);
    let start_names: Vec<&str> = starts.iter().map(|c| c.name.as_str()).collect();
    let end_names: Vec<&str> = ends.iter().map(|c| c.name.as_str()).collect();
    for (i, a) in nodes.iter().enumerate() {
        let (x, y) = pos[i];
        let fill = if start_names.first() == Some(&a.name.as_str()) {
            "#dbe8f5"
        } else if end_names.first() == Some(&a.name.as_str()) {
            "#dcefe2"
        } else {
            "#f4f4f4"
        };
        let mut name = a.name.clone();
        if name.chars().count() > 24 {
            name = name.chars().take(23).collect::<String>() + "…";
        }
        let _ = write!(
            s,
            r##"<g><title>{}: {} events in {} cases</title><rect x="{:.1}" y="{:.1}" width="{box_w}" height="{box_h}" rx="6" fill="{fill}" stroke="#777"/><text x="{x:.1}" y="{:.1}" text-anchor="middle" class="node">{}</text><text x="{x:.1}" y="{:.1}" text-anchor="middle" class="count">{}</text></g>"##,
            esc(&a.name),
            a.events,
            a.cases,
            x - box_w / 2.0,
            y - box_h / 2.0,
            y - 3.0,
            esc(&name),
            y + 12.0,
            a.events
        );
    }
    s.push_str("</svg>");
    s
}

/// An SVG element named for assistive technology by the kind of chart (the heading above
/// it says what it shows).
fn open(w: f64, h: f64, class: &str) -> String {
    let label = match class {
        "histogram" => "histogram",
        "bars" => "bar chart",
        "lines" => "line chart",
        "stacked" => "stacked area chart",
        "process-map" => "process map",
        other => other,
    };
    format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="{class}" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" aria-label="{label}">"#
    )
}

fn empty(mut s: String, w: f64, h: f64) -> String {
    let _ = write!(
        s,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" class="label">no data</text></svg>"#,
        w / 2.0,
        h / 2.0
    );
    s
}

fn axis_y(s: &mut String, pad_l: f64, pad_t: f64, ph: f64, ymax: f64, w: f64) {
    for i in 0..=4 {
        let v = ymax * i as f64 / 4.0;
        let y = pad_t + ph - ph * i as f64 / 4.0;
        let _ = write!(
            s,
            r##"<line x1="{pad_l}" x2="{:.1}" y1="{y:.1}" y2="{y:.1}" stroke="#e3e3e3"/><text x="{:.1}" y="{:.1}" text-anchor="end" class="tick">{}</text>"##,
            w - 10.0,
            pad_l - 6.0,
            y + 4.0,
            short_number(v)
        );
    }
}

fn x_ticks(s: &mut String, labels: &[String], sx: impl Fn(usize) -> f64, h: f64) {
    let n = labels.len();
    let step = (n / 6).max(1);
    for i in (0..n).step_by(step) {
        let _ = write!(
            s,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" class="tick">{}</text>"#,
            sx(i),
            h - 10.0,
            esc(&labels[i])
        );
    }
}

fn short_number(v: f64) -> String {
    if v >= 1e6 {
        format!("{:.1}M", v / 1e6)
    } else if v >= 1e4 {
        format!("{:.0}k", v / 1e3)
    } else if v >= 10.0 || v == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}
