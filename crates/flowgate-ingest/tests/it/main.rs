//! Integration tests of the readers: CSV and XES features, and bad input.

mod bad_input;
mod calendar;
mod csv;
mod fuzz;
mod history;
mod xes;

use std::path::PathBuf;

/// A file in a fresh temporary folder, removed when the test's process ends.
pub fn temp_file(name: &str, content: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "flowgate-ingest-it-{}-{}",
        std::process::id(),
        name.replace(['/', '.'], "_")
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, content).unwrap();
    p
}

pub fn gzip(content: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(content).unwrap();
    e.finish().unwrap()
}
