//! Embeds the web UI's built bundle (`ui/dist`, committed to the repository) into the binary: generates
//! a table of (path, bytes) with `include_bytes!` for every file, so no Node is needed to build or run.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets this"));
    let dist = manifest.join("../../ui/dist");
    println!("cargo:rerun-if-changed={}", dist.display());
    let mut files = Vec::new();
    if dist.is_dir() {
        collect(&dist, &dist, &mut files);
    }
    files.sort();
    let mut out = String::from("/// The web UI's files: path relative to `ui/dist` and contents.\npub(crate) static ASSETS: &[(&str, &[u8])] = &[\n");
    for (relative, absolute) in &files {
        let _ = writeln!(
            out,
            "    ({relative:?}, include_bytes!({:?})),",
            absolute.display().to_string()
        );
    }
    out.push_str("];\n");
    let target =
        PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets this")).join("ui_assets.rs");
    std::fs::write(target, out).expect("write the UI asset table");
}

fn collect(root: &Path, dir: &Path, files: &mut Vec<(String, PathBuf)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(root, &path, files);
        } else if let Ok(relative) = path.strip_prefix(root) {
            let relative = relative.to_string_lossy().replace('\\', "/");
            let absolute = path.canonicalize().unwrap_or(path.clone());
            files.push((relative, absolute));
        }
    }
}
