//! Jinja2 fidelity: each model of `tests/fixtures/jinja_fidelity` exercises one place where
//! minijinja and Python's Jinja2 (which dbt renders with) differ; sluice must compile it byte for
//! byte as real dbt did (`expected/compiled/`, recorded by `expected/record.sh`).

use crate::support::{copy_project, repo, sluice};

#[test]
fn models_compile_as_jinja2_renders_them() {
    let fixture = repo().join("tests/fixtures/jinja_fidelity");
    let (_tmp, dir) = copy_project(&fixture);
    let r = sluice(&dir, &["compile"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let mut problems = Vec::new();
    let root = fixture.join("expected/compiled");
    // Models' files, and generic tests' under a folder named after their YAML file.
    let mut files = Vec::new();
    for entry in std::fs::read_dir(&root).expect("expected/compiled") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            for inner in std::fs::read_dir(&path).expect("test folder") {
                files.push(inner.expect("entry").path());
            }
        } else {
            files.push(path);
        }
    }
    files.sort();
    assert!(files.len() >= 10, "{files:?}");
    for want_path in files {
        let name = want_path
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let want = std::fs::read_to_string(&want_path).unwrap();
        let got = std::fs::read_to_string(
            dir.join("target/compiled/jinja_fidelity/models")
                .join(&name),
        )
        .unwrap_or_else(|e| format!("<missing: {e}>"));
        if got != want {
            problems.push(format!("{name}:\n--- dbt\n{want}\n--- sluice\n{got}\n"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
