//! The demo warehouse at the repository root builds and tests green, twice (incremental path).

use crate::support::{copy_dir, repo, sluice};

#[test]
fn demo_builds_and_tests_green_twice() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(repo().join("dbt_project.yml"), dir.join("dbt_project.yml")).unwrap();
    for d in [
        "models",
        "seeds",
        "macros",
        "profiles",
        "analyses",
        "tests/data",
        "metrics",
    ] {
        if repo().join(d).exists() {
            copy_dir(&repo().join(d), &dir.join(d));
        }
    }
    let r = sluice(&dir, &["build"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("ERROR=0 SKIP=0"), "{}", r.stdout);
    let r2 = sluice(&dir, &["build"]);
    assert_eq!(r2.code, 0, "second build: {}{}", r2.stdout, r2.stderr);
    assert!(dir.join("out/saas_ops.duckdb").exists());
    crate::metrics::check_demo(&dir);
}
