//! Metric tests as nodes of the DAG: [`attach`] loads the semantic layer once and adds both kinds,
//! the `data_tests:` of metrics (from `data_tests`) and the `metric_unit_tests:` entries (from
//! `unit_tests`), to the manifest. It sits above both, which share only `data_tests::Target`.

use super::data_tests::{any_declared, test_macros, test_nodes, Target};
use super::ModelIndex;
use crate::compile::Manifest;
use crate::diagnostics::{Code, Diagnostic};
use crate::project::YamlFile;

/// Loads the semantic layer and adds the test node of every metric's `data_tests:` and of every
/// `metric_unit_tests:` entry to `manifest` (nothing to do, and nothing loaded, when there are
/// none).
pub(crate) fn attach(
    files: &[YamlFile],
    manifest: &mut Manifest,
    target: &crate::project::Target,
    package: &str,
    run_started_at: chrono::DateTime<chrono::Utc>,
) -> Result<(), Vec<Diagnostic>> {
    if !any_declared(files) && !super::unit_tests::any_declared(files) {
        return Ok(());
    }
    let index = ModelIndex::from_manifest(manifest);
    let (layer, mut errors) = super::load_indexed(files, &index);
    if errors.is_empty() {
        errors = super::validate::validate(&layer, files, target.dialect);
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let t = Target {
        package,
        database: &target.database,
        schema: &target.schema,
        dialect: target.dialect,
        run_started_at,
        test_macros: &test_macros(manifest),
    };
    let tests = test_nodes(files, &layer, &index, &t);
    let units = super::unit_tests::unit_test_nodes(files, &layer, &index, &t);
    match (tests, units) {
        (Ok(tests), Ok(units)) => {
            for node in tests {
                manifest
                    .nodes
                    .insert(node.unique_id.clone(), Box::new(node));
            }
            let mut errors = Vec::new();
            for node in units {
                if manifest.unit_tests.contains_key(&node.unique_id) {
                    errors.push(
                        Diagnostic::error(
                            Code::MetricUnitTest,
                            format!(
                                "metric unit test `{}` has the id of a unit test of a model: `{}`",
                                node.name, node.unique_id
                            ),
                        )
                        .in_file(&node.original_file_path)
                        .with_hint("rename one of them"),
                    );
                    continue;
                }
                manifest.unit_tests.insert(node.unique_id.clone(), node);
            }
            if errors.is_empty() {
                Ok(())
            } else {
                Err(errors)
            }
        }
        (tests, units) => Err(tests
            .err()
            .into_iter()
            .chain(units.err())
            .flatten()
            .collect()),
    }
}
