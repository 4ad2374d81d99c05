//! Project + Target -> Manifest: parse (phase 1), resolve, and compile (phase 2) nodes.
//!
//! `parse` builds every node with its config and dependencies; `render::compile_node` turns one
//! node into SQL with refs resolved. Compilation of many nodes runs in parallel in the caller
//! (the `compile` command here, the scheduler in `execute`), so a node is compiled right before
//! it runs, when its parents exist and `is_incremental()` can look at the warehouse.

mod checks;
mod configs;
mod dependencies;
mod doc_calls;
mod file_nodes;
mod generic_tests;
mod graph_view;
mod hooks;
mod naming;
mod nodes;
mod parse;
mod patches;
mod paths;
mod properties;
mod render;
mod resolve;
mod sources;
mod test_macros;
pub(crate) mod test_names;
pub(crate) mod versions;
mod yaml_nodes;
mod yaml_values;

pub(crate) use configs::{default_config, default_config_ref};
pub(crate) use graph_view::{
    graph_edges, graph_nodes, graph_nodes_with, graph_nodes_without_metric_cycles,
    unit_test_models, Detail,
};
pub(crate) use naming::Naming;
pub(crate) use nodes::*;
pub(crate) use parse::{docs_blocks, parse, target_value, template_env, ParseOptions, Parsed};
pub(crate) use patches::{doc_names, render_docs_with};
pub(crate) use paths::{dirs_of, relative_to_resource};
pub use properties::Properties;
pub use render::inject_ctes;
pub(crate) use render::{
    compile_ephemeral_ancestors, compile_inline, compile_node, compile_node_blaming,
    compile_node_in, compiled_path, has_ephemeral_models, node_info, write_if_changed,
    CompileServices, Warehouse,
};
pub(crate) use resolve::{parse_relation_call, ParseServices, Resolver};
pub(crate) use test_names::py_repr;
pub(crate) use yaml_nodes::exposure_metrics;
pub(crate) use yaml_values::rendered_text;
