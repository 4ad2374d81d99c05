//! A compile-only engine for tests: it parses, compiles and lists projects whose profile says
//! `type: ansi`, and refuses to connect. It exists to prove that an engine is one folder: this
//! folder, its `mod` line in `adapters/mod.rs` and its line in `registry.rs` are all it takes
//! (compiled into test builds only).

mod dialect;

use std::path::Path;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::{AdapterError, Database, Engine, Scrubber};
use crate::project::Target;
use crate::sql::Dialect;
pub(crate) use dialect::DIALECT;

/// `type: ansi` in the registry.
pub(crate) struct AnsiEngine;

impl Engine for AnsiEngine {
    fn dialect(&self) -> Dialect {
        DIALECT
    }
    fn resolve_target(
        &self,
        values: &mut Map<String, Value>,
        _project_root: &Path,
    ) -> Result<(String, String), crate::project::profile::ProfileProblem> {
        let get = |k: &str, default: &str| {
            values
                .get(k)
                .and_then(Value::as_str)
                .unwrap_or(default)
                .to_string()
        };
        Ok((get("schema", "public"), get("database", "warehouse")))
    }
    fn compiles_only(&self) -> bool {
        true
    }
    fn open(
        &self,
        target: &Target,
        _scrubber: Arc<Scrubber>,
    ) -> Result<Box<dyn Database>, AdapterError> {
        Err(AdapterError::Unsupported {
            message: format!(
                "target `{}`: the `ansi` engine compiles only; it cannot run SQL\nhint: use `sluice compile` or `sluice ls` with this target",
                target.target_name
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

    use crate::compile::compile_node;
    use crate::compile::CompileServices;
    use crate::session::{LoadOptions, Selection, Session};

    fn project() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        fs::write(
            p.join("dbt_project.yml"),
            "name: shop\nversion: '1.0'\nprofile: shop\n",
        )
        .unwrap();
        fs::write(
            p.join("profiles.yml"),
            "shop:\n  target: dev\n  outputs:\n    dev:\n      type: ansi\n      schema: sales\n      threads: 2\n",
        )
        .unwrap();
        fs::create_dir(p.join("models")).unwrap();
        fs::write(
            p.join("models/orders.sql"),
            "select 1 as id, {{ dbt.dateadd('day', 3, 'ordered_at') }} as due, {{ dbt.any_value('x') }} as x, '{{ target.type }}' as t",
        )
        .unwrap();
        fs::write(
            p.join("models/big_orders.sql"),
            "select * from {{ ref('orders') }} where {{ dbt.datediff('a', 'b', 'day') }} > 0",
        )
        .unwrap();
        dir
    }

    #[test]
    fn a_compile_only_engine_parses_compiles_and_refuses_to_run() {
        let dir = project();
        let opts = LoadOptions {
            project_dir: Some(dir.path().to_path_buf()),
            profiles_dir: Some(dir.path().to_path_buf()),
            which: "compile".into(),
            ..Default::default()
        };
        let s = Session::load(&opts).unwrap_or_else(|d| panic!("{d:?}"));
        assert_eq!(s.target.dialect, super::DIALECT);
        assert_eq!(
            (s.target.schema.as_str(), s.target.database.as_str()),
            ("sales", "warehouse")
        );
        let ids = s
            .select(&Selection::default(), None)
            .expect("select everything");
        assert_eq!(ids, ["model.shop.orders", "model.shop.big_orders"]);
        let services = std::sync::Arc::new(CompileServices::new(
            s.parsed.resolver.clone(),
            None,
            false,
            s.target.dialect,
        ));
        let compile = |id: &str| {
            compile_node(s.manifest(), id, &s.templates(), services.clone())
                .unwrap_or_else(|d| panic!("{d}"))
        };
        // The engine's own macros win dispatch; `target.type` names it ...
        assert_eq!(
            compile("model.shop.orders"),
            "select 1 as id, (ordered_at + interval '3' day) as due, min(x) as x, 'ansi' as t"
        );
        // ... and what it does not override falls back to `default__`.
        assert_eq!(
            compile("model.shop.big_orders"),
            "select * from \"warehouse\".\"sales\".\"orders\" where datediff(day, a, b) > 0"
        );
        // Running needs a connection, which it refuses with a clear error.
        let e = crate::adapters::Adapter::connect(&s.target).unwrap_err();
        assert!(e.to_string().contains("compiles only"), "{e}");
    }

    #[test]
    fn an_unknown_engine_is_an_error_naming_every_engine() {
        let dir = project();
        let profiles = dir.path().join("profiles.yml");
        let text = fs::read_to_string(&profiles).unwrap();
        fs::write(&profiles, text.replace("type: ansi", "type: snowflakey")).unwrap();
        let opts = LoadOptions {
            project_dir: Some(dir.path().to_path_buf()),
            profiles_dir: Some(dir.path().to_path_buf()),
            ..Default::default()
        };
        let Err(ds) = Session::load(&opts) else {
            panic!("an unknown engine loaded");
        };
        let text = ds[0].to_string();
        assert!(text.contains("unsupported type `snowflakey`"), "{text}");
        for engine in ["duckdb", "postgres", "ansi"] {
            assert!(text.contains(&format!("`type: {engine}`")), "{text}");
        }
    }
}
