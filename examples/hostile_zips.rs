//! Write the hostile bundles of tests/hostile (the attacker tests I02 … I11) into a directory,
//! for scripts/inspect-hostile.sh to measure `inspect` on them.
//!
//! `cargo run --release --example hostile_zips -- DIR`

#[path = "../tests/hostile/mod.rs"]
mod hostile;

fn main() {
    let dir = std::env::args_os().nth(1).expect("usage: hostile_zips DIR");
    let dir = std::path::PathBuf::from(dir);
    std::fs::create_dir_all(&dir).unwrap();
    for (id, build) in hostile::all() {
        let path = dir.join(format!("{id}.zip"));
        std::fs::write(&path, build()).unwrap();
        println!("{}", path.display());
    }
}
