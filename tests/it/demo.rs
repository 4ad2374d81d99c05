//! The demo warehouse at the repository root builds and tests green, twice (incremental path).

use crate::support::{copy_demo, sluice};

#[test]
fn demo_builds_and_tests_green_twice() {
    let (_tmp, dir) = copy_demo();
    let r = sluice(&dir, &["build"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("ERROR=0 SKIP=0"), "{}", r.stdout);
    let r2 = sluice(&dir, &["build"]);
    assert_eq!(r2.code, 0, "second build: {}{}", r2.stdout, r2.stderr);
    assert!(dir.join("out/saas_ops.duckdb").exists());
    crate::metrics::check_demo(&dir);
}
