//! Link-time setup: when DuckDB is linked from a prebuilt `libduckdb.so` (the default, see
//! `scripts/env.sh`), embed its folder as an rpath so `sluice` and the test binaries find the
//! library without `LD_LIBRARY_PATH`.
fn main() {
    println!("cargo:rerun-if-env-changed=DUCKDB_LIB_DIR");
    if std::env::var_os("CARGO_FEATURE_BUNDLED").is_some() {
        return;
    }
    if let Ok(dir) = std::env::var("DUCKDB_LIB_DIR") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
    }
}
