//! The project DAG and dbt node selection.
//!
//! This module owns the dependency graph of every parsed node (models, seeds, snapshots, tests,
//! sources, exposures, unit tests, metrics, ...): building it (rejecting cycles with a readable
//! path), walking it (parents, children, ancestors, descendants), ordering it for execution, and
//! evaluating dbt's `--select` / `--exclude` syntax against it (in `selector.rs`). Input: the
//! [`GraphNode`]s compile's parse phase produces; output: sorted id sets and orders for compile,
//! execute and the CLI. Disabled nodes (`config.enabled: false`) stay in the graph but are never
//! selected, as in dbt.
//!
//! Design decision: nodes are stored in a `Vec` sorted by `unique_id` and added to the petgraph
//! `DiGraph` in that order, so a `NodeIndex` sorts exactly like its id. Every traversal and the
//! topological sort can then break ties on plain indices and still be deterministic by id, without
//! string comparisons or extra maps on the hot path.

// `Diagnostic` is the project-wide error type the interface returns; errors are rare and cold.
#![allow(clippy::result_large_err)]

mod selector;
mod state;
mod yaml_selectors;

pub(crate) use selector::{SelectContext, SelectExpr};
pub(crate) use state::{strings_at, PreviousArtifacts, StateFacts};
pub(crate) use yaml_selectors::Selectors;

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::Direction;

use crate::diagnostics::{Code, Diagnostic};

/// One node of the project graph, as the parser resolved it.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct GraphNode {
    /// `model.pkg.orders`, `test.pkg.not_null_orders_id.abc123`, `source.pkg.raw.orders`, ...
    pub(crate) unique_id: String,
    /// Node name (for sources: the table name).
    pub(crate) name: String,
    /// model seed snapshot test source exposure analysis unit_test metric semantic_model
    /// saved_query
    pub(crate) resource_type: String,
    pub(crate) package_name: String,
    /// Relative to the project root, forward slashes, e.g. `models/staging/stg_orders.sql`.
    pub(crate) original_file_path: String,
    /// e.g. `["jaffle_shop","staging","stg_orders"]`; sources: `[pkg, ...dirs, source, table]`.
    pub(crate) fqn: Vec<String>,
    pub(crate) tags: Vec<String>,
    /// Resolved config (materialized, enabled, schema, severity, meta, arbitrary keys): the
    /// entries that differ from `config_defaults` (all of them when there are no defaults). Read
    /// it through [`GraphNode::config_value`].
    pub(crate) config: serde_json::Map<String, serde_json::Value>,
    /// The defaults of the node's resource type, shared by every node of that type (copying
    /// them into tens of thousands of graph nodes was a tenth of a large project's parse).
    pub(crate) config_defaults: Option<&'static serde_json::Map<String, serde_json::Value>>,
    /// Tests: `generic` | `singular`; unit tests: `unit`.
    pub(crate) test_type: Option<String>,
    /// Generic tests: `not_null`, `unique`, `dbt_utils.expression_is_true`, ...
    pub(crate) test_name: Option<String>,
    /// Sources only.
    pub(crate) source_name: Option<String>,
    /// Versioned models: their version and their model's latest version.
    pub(crate) version: Option<String>,
    pub(crate) latest_version: Option<String>,
    /// Parent unique_ids; ids not in the graph are ignored.
    pub(crate) depends_on: Vec<String>,
    /// A SQL node whose file holds only whitespace: in the graph, but never selected (dbt's
    /// `ParsedNode.empty`; a seed is never empty).
    pub(crate) empty: bool,
}

impl GraphNode {
    /// False only when the resolved config says `enabled: false`.
    pub(crate) fn is_enabled(&self) -> bool {
        self.config_value("enabled") != Some(&serde_json::Value::Bool(false))
    }

    /// One key of the resolved config.
    pub(crate) fn config_value(&self, key: &str) -> Option<&serde_json::Value> {
        self.config
            .get(key)
            .or_else(|| self.config_defaults.and_then(|d| d.get(key)))
    }
}

/// The dependency graph: an edge runs from parent to child.
#[derive(Debug, Clone)]
pub(crate) struct Dag {
    /// Sorted by unique_id; position `i` is `NodeIndex::new(i)` in `graph`.
    nodes: Vec<GraphNode>,
    graph: DiGraph<(), ()>,
    index: BTreeMap<String, NodeIndex>,
}

impl Dag {
    /// Builds the graph. Fails on a duplicate unique_id or a dependency cycle.
    pub(crate) fn build(mut nodes: Vec<GraphNode>) -> Result<Dag, Diagnostic> {
        nodes.sort_by(|a, b| a.unique_id.cmp(&b.unique_id));
        if let Some(w) = nodes.windows(2).find(|w| w[0].unique_id == w[1].unique_id) {
            return Err(Diagnostic::error(
                Code::DuplicateNode,
                format!("two resources have the unique id `{}`", w[0].unique_id),
            )
            .with_hint("rename one of them: names must be unique per resource type and package"));
        }
        use rayon::prelude::*;
        let mut graph = DiGraph::with_capacity(nodes.len(), 0);
        for _ in &nodes {
            graph.add_node(());
        }
        // The nodes are sorted: the index is built in one pass, and parents are found by binary
        // search, in parallel, before the edges are added in node order.
        let index: BTreeMap<String, NodeIndex> = nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.unique_id.clone(), NodeIndex::new(i)))
            .collect();
        let edges: Vec<Vec<usize>> = nodes
            .par_iter()
            .map(|node| {
                let parents: BTreeSet<&String> = node.depends_on.iter().collect();
                parents
                    .into_iter()
                    .filter_map(|p| {
                        nodes
                            .binary_search_by(|n| n.unique_id.as_str().cmp(p.as_str()))
                            .ok()
                    })
                    .collect()
            })
            .collect();
        for (i, parents) in edges.into_iter().enumerate() {
            for p in parents {
                graph.add_edge(NodeIndex::new(p), NodeIndex::new(i), ());
            }
        }
        let dag = Dag {
            nodes,
            graph,
            index,
        };
        match dag.find_cycle() {
            Some(cycle) => Err(Diagnostic::error(
                Code::Cycle,
                format!("found a dependency cycle: {}", cycle.join(" -> ")),
            )
            .with_hint(
                "a node cannot depend on itself, directly or through others; remove one of the \
                 ref()/source() calls (or depends_on entries) along this path to break the cycle",
            )),
            None => Ok(dag),
        }
    }

    #[cfg(test)]
    pub(crate) fn node(&self, id: &str) -> Option<&GraphNode> {
        self.index.get(id).map(|i| &self.nodes[i.index()])
    }

    /// All nodes, sorted by unique_id.
    #[cfg(test)]
    pub(crate) fn nodes(&self) -> impl Iterator<Item = &GraphNode> {
        self.nodes.iter()
    }

    /// Direct parents of `id` that are in the graph, sorted.
    pub(crate) fn parents(&self, id: &str) -> Vec<&str> {
        self.neighbours(id, Direction::Incoming)
    }

    /// Direct children of `id`, sorted.
    pub(crate) fn children(&self, id: &str) -> Vec<&str> {
        self.neighbours(id, Direction::Outgoing)
    }

    /// Everything upstream of `id` (not `id` itself), up to `depth` edges away when given.
    #[cfg(test)]
    pub(crate) fn ancestors(&self, id: &str, depth: Option<usize>) -> BTreeSet<String> {
        self.walk_ids(id, depth, Direction::Incoming)
    }

    /// Everything downstream of `id` (not `id` itself), up to `depth` edges away when given.
    pub(crate) fn descendants(&self, id: &str, depth: Option<usize>) -> BTreeSet<String> {
        self.walk_ids(id, depth, Direction::Outgoing)
    }

    /// Topological order (parents first) of `subset`, or of the whole graph. Within a subset, a
    /// node still waits for subset members it reaches only through nodes outside the subset.
    /// Ties are broken by unique_id, so the order is deterministic.
    pub(crate) fn topo_order(&self, subset: Option<&BTreeSet<String>>) -> Vec<String> {
        let members: Vec<bool> = match subset {
            None => vec![true; self.nodes.len()],
            Some(s) => self
                .nodes
                .iter()
                .map(|n| s.contains(&n.unique_id))
                .collect(),
        };
        // Edges between members, through non-members where needed.
        let mut succ: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); self.nodes.len()];
        let mut indegree = vec![0usize; self.nodes.len()];
        for (u, _) in members.iter().enumerate().filter(|(_, m)| **m) {
            let mut seen = BTreeSet::new();
            let mut stack: Vec<NodeIndex> = self
                .graph
                .neighbors_directed(NodeIndex::new(u), Direction::Outgoing)
                .collect();
            while let Some(v) = stack.pop() {
                if !seen.insert(v) {
                    continue;
                }
                if members[v.index()] {
                    if succ[u].insert(v.index()) {
                        indegree[v.index()] += 1;
                    }
                } else {
                    stack.extend(self.graph.neighbors_directed(v, Direction::Outgoing));
                }
            }
        }
        let mut ready: BTreeSet<usize> = (0..self.nodes.len())
            .filter(|&i| members[i] && indegree[i] == 0)
            .collect();
        let mut order = Vec::new();
        while let Some(u) = ready.pop_first() {
            order.push(self.nodes[u].unique_id.clone());
            for &v in &succ[u] {
                indegree[v] -= 1;
                if indegree[v] == 0 {
                    ready.insert(v);
                }
            }
        }
        order
    }

    /// dbt's `--select` / `--exclude`. An empty `select` means every enabled node. Each string
    /// may hold several space-separated selectors (a union); a comma inside one selector is an
    /// intersection. Tests are added eagerly when any parent is selected (dbt's default
    /// `--indirect-selection eager`), both for `select` and for `exclude`, so excluding a model
    /// also excludes the tests attached to it, as in dbt.
    #[cfg(test)]
    pub(crate) fn select(
        &self,
        select: &[String],
        exclude: &[String],
    ) -> Result<BTreeSet<String>, Diagnostic> {
        self.select_expr(
            &selector::parse_cli(select, exclude)?,
            &SelectContext::default(),
        )
    }

    /// The nodes a selection expression (command-line flags through [`SelectExpr::from_cli`],
    /// or a `selectors.yml` definition) selects.
    pub(crate) fn select_expr(
        &self,
        expr: &SelectExpr,
        ctx: &SelectContext,
    ) -> Result<BTreeSet<String>, Diagnostic> {
        selector::select(self, expr, ctx)
    }

    /// The space-separated selectors among `selectors` that select no enabled node, for the
    /// CLI's "The selection criterion 'x' does not match any enabled nodes" warning.
    pub(crate) fn unmatched(
        &self,
        selectors: &[String],
        ctx: &SelectContext,
    ) -> Result<Vec<String>, Diagnostic> {
        selector::unmatched(self, selectors, ctx)
    }

    fn neighbours(&self, id: &str, dir: Direction) -> Vec<&str> {
        let Some(&i) = self.index.get(id) else {
            return Vec::new();
        };
        let mut out: Vec<&str> = self
            .graph
            .neighbors_directed(i, dir)
            .map(|n| self.nodes[n.index()].unique_id.as_str())
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    fn walk_ids(&self, id: &str, depth: Option<usize>, dir: Direction) -> BTreeSet<String> {
        match self.index.get(id) {
            Some(&i) => self
                .walk([i], depth, dir)
                .into_iter()
                .map(|n| self.nodes[n.index()].unique_id.clone())
                .collect(),
            None => BTreeSet::new(),
        }
    }

    /// Breadth-first walk from `start` (excluded unless reached again), `depth` levels deep.
    fn walk(
        &self,
        start: impl IntoIterator<Item = NodeIndex>,
        depth: Option<usize>,
        dir: Direction,
    ) -> BTreeSet<NodeIndex> {
        let mut seen = BTreeSet::new();
        let mut queue: VecDeque<(NodeIndex, usize)> = start.into_iter().map(|i| (i, 0)).collect();
        while let Some((n, d)) = queue.pop_front() {
            if depth.is_some_and(|max| d >= max) {
                continue;
            }
            for next in self.graph.neighbors_directed(n, dir) {
                if seen.insert(next) {
                    queue.push_back((next, d + 1));
                }
            }
        }
        seen
    }

    /// The cycle through the smallest id among all cyclic nodes, starting and ending there.
    fn find_cycle(&self) -> Option<Vec<String>> {
        let sccs = petgraph::algo::tarjan_scc(&self.graph);
        let start = sccs
            .iter()
            .filter(|c| c.len() > 1 || self.graph.contains_edge(c[0], c[0]))
            .filter_map(|c| c.iter().min().copied())
            .min()?;
        let scc: BTreeSet<NodeIndex> = sccs
            .into_iter()
            .find(|c| c.contains(&start))
            .unwrap_or_default()
            .into_iter()
            .collect();
        // Shortest way back to `start`, exploring children in id order.
        let mut prev: BTreeMap<NodeIndex, NodeIndex> = BTreeMap::new();
        let mut queue = VecDeque::from([start]);
        let mut last = None;
        'bfs: while let Some(n) = queue.pop_front() {
            let mut kids: Vec<NodeIndex> = self.graph.neighbors(n).collect();
            kids.sort_unstable();
            for k in kids {
                if k == start {
                    last = Some(n);
                    break 'bfs;
                }
                if scc.contains(&k) && !prev.contains_key(&k) {
                    prev.insert(k, n);
                    queue.push_back(k);
                }
            }
        }
        let mut path = vec![start];
        let mut cur = last?;
        while cur != start {
            path.push(cur);
            cur = *prev.get(&cur)?;
        }
        path[1..].reverse();
        path.push(start);
        Some(
            path.into_iter()
                .map(|i| self.nodes[i.index()].unique_id.clone())
                .collect(),
        )
    }
}

/// Whether a graph of `nodes` (each its id and its parents' ids) is sound: no id twice, and no
/// cycle through the parents it holds (a parent it lacks is no edge, as in [`Dag::build`]).
///
/// Decision: `parse` asks only this of a project's graph, and on a large project building the
/// [`Dag`] for it (ids copied and sorted, an index map, a petgraph) took 0.03 s, most of it on
/// one core (10,000 models, 38,800 nodes).
/// This answers from borrowed ids with a hash index and Kahn's algorithm over plain arrays;
/// when the answer is no, the caller builds the [`Dag`], whose error names the duplicate or the
/// cycle.
pub(crate) fn is_sound<P: AsRef<[String]> + Sync>(nodes: &[(&str, P)]) -> bool {
    use rayon::prelude::*;
    let mut index: IdMap<u32> = IdMap::with_capacity_and_hasher(nodes.len(), IdHash::default());
    for (i, (id, _)) in nodes.iter().enumerate() {
        let Ok(i) = u32::try_from(i) else {
            return false;
        };
        if index.insert(id, i).is_some() {
            return false;
        }
    }
    // Each edge as (parent, child), found in parallel, in node order.
    let edges: Vec<(u32, u32)> = nodes
        .par_iter()
        .enumerate()
        .flat_map_iter(|(child, (_, parents))| {
            let (index, child) = (&index, child as u32);
            parents
                .as_ref()
                .iter()
                .filter_map(move |p| index.get(p.as_str()).map(|&p| (p, child)))
        })
        .collect();
    // Children by parent, in one array (counting sort), and each node's count of parents.
    let n = nodes.len();
    let mut start = vec![0usize; n + 1];
    let mut waiting = vec![0u32; n];
    for &(p, c) in &edges {
        start[p as usize + 1] += 1;
        waiting[c as usize] += 1;
    }
    for i in 0..n {
        start[i + 1] += start[i];
    }
    let mut fill = start.clone();
    let mut children = vec![0u32; edges.len()];
    for &(p, c) in &edges {
        children[fill[p as usize]] = c;
        fill[p as usize] += 1;
    }
    // Kahn: take nodes whose parents are all taken; a cycle leaves some behind.
    let mut ready: Vec<u32> = (0u32..)
        .zip(&waiting)
        .filter(|(_, w)| **w == 0)
        .map(|(i, _)| i)
        .collect();
    let mut taken = 0usize;
    while let Some(i) = ready.pop() {
        taken += 1;
        let i = i as usize;
        for &c in &children[start[i]..start[i + 1]] {
            waiting[c as usize] -= 1;
            if waiting[c as usize] == 0 {
                ready.push(c);
            }
        }
    }
    taken == n
}

/// A map keyed by node ids, for one pass over a large graph (the ids borrowed).
pub(crate) type IdMap<'a, V> = HashMap<&'a str, V, IdHash>;

/// A hash for node ids: a multiply-rotate over eight bytes at a time, several times cheaper than
/// the default SipHash on ids of forty bytes and more, and than comparing them in a sorted map,
/// where they share long prefixes (`test.<project>.not_null_...`). (No protection against
/// chosen collisions is needed for a project's own ids.)
pub(crate) type IdHash = std::hash::BuildHasherDefault<IdHasher>;

#[derive(Default)]
pub(crate) struct IdHasher(u64);

impl std::hash::Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(word))
                .wrapping_mul(0x517c_c1b7_2722_0a95);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// dbt's order of versions: as numbers when both are numbers, else as text.
pub(crate) fn version_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) => x.partial_cmp(&y).unwrap_or(std::cmp::Ordering::Equal),
        _ => a.cmp(b),
    }
}

/// `build`'s DAG over `nodes`: a model waits for its unit tests (`unit_tests` pairs each unit test
/// with its model), and a unit test waits for its model's parents instead of the model (their
/// columns type the fixtures). `None` when the graph does not build.
pub(crate) fn with_unit_tests_first(
    mut nodes: Vec<GraphNode>,
    unit_tests: &[(String, String)],
) -> Option<Dag> {
    let mut extra: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (unit_test, model) in unit_tests {
        extra.entry(model).or_default().push(unit_test.clone());
    }
    let parents_of: BTreeMap<String, Vec<String>> = nodes
        .iter()
        .map(|n| (n.unique_id.clone(), n.depends_on.clone()))
        .collect();
    for n in &mut nodes {
        if let Some(us) = extra.get(n.unique_id.as_str()) {
            n.depends_on.extend(us.iter().cloned());
        }
        if n.resource_type == "unit_test" {
            n.depends_on = n
                .depends_on
                .iter()
                .flat_map(|m| parents_of.get(m).cloned().unwrap_or_default())
                .collect();
        }
    }
    Dag::build(nodes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(id: &str, parents: &[&str]) -> GraphNode {
        GraphNode {
            unique_id: id.to_string(),
            name: id.rsplit('.').next().unwrap_or(id).to_string(),
            resource_type: id.split('.').next().unwrap_or("model").to_string(),
            package_name: "p".to_string(),
            depends_on: parents.iter().map(|p| p.to_string()).collect(),
            ..GraphNode::default()
        }
    }

    fn ids(v: &[&str]) -> BTreeSet<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn diamond() -> Dag {
        // a -> b -> d, a -> c -> d, d -> e; x is isolated; parent "model.p.gone" is unknown.
        Dag::build(vec![
            node("model.p.e", &["model.p.d"]),
            node("model.p.d", &["model.p.c", "model.p.b", "model.p.b"]),
            node("model.p.c", &["model.p.a", "model.p.gone"]),
            node("model.p.b", &["model.p.a"]),
            node("model.p.a", &[]),
            node("model.p.x", &[]),
        ])
        .unwrap()
    }

    #[test]
    fn neighbours_are_sorted_and_unknown_parents_ignored() {
        let dag = diamond();
        assert_eq!(dag.parents("model.p.d"), ["model.p.b", "model.p.c"]);
        assert_eq!(dag.parents("model.p.c"), ["model.p.a"]);
        assert_eq!(dag.children("model.p.a"), ["model.p.b", "model.p.c"]);
        assert!(dag.children("model.p.nope").is_empty());
        let all: Vec<&str> = dag.nodes().map(|n| n.unique_id.as_str()).collect();
        assert_eq!(all[0], "model.p.a");
        assert_eq!(dag.node("model.p.x").map(|n| n.name.as_str()), Some("x"));
    }

    #[test]
    fn ancestors_and_descendants_with_depth() {
        let dag = diamond();
        assert_eq!(
            dag.ancestors("model.p.e", None),
            ids(&["model.p.a", "model.p.b", "model.p.c", "model.p.d"])
        );
        assert_eq!(dag.ancestors("model.p.e", Some(1)), ids(&["model.p.d"]));
        assert_eq!(
            dag.ancestors("model.p.e", Some(2)),
            ids(&["model.p.b", "model.p.c", "model.p.d"])
        );
        assert_eq!(dag.descendants("model.p.a", Some(0)), ids(&[]));
        assert_eq!(
            dag.descendants("model.p.b", None),
            ids(&["model.p.d", "model.p.e"])
        );
        assert_eq!(dag.descendants("model.p.nope", None), ids(&[]));
    }

    #[test]
    fn topo_order_is_deterministic() {
        let dag = diamond();
        assert_eq!(
            dag.topo_order(None),
            [
                "model.p.a",
                "model.p.b",
                "model.p.c",
                "model.p.d",
                "model.p.e",
                "model.p.x"
            ]
        );
        // `e` must still follow `b` although `d` (between them) is not in the subset.
        let subset = ids(&["model.p.e", "model.p.b", "model.p.x"]);
        assert_eq!(
            dag.topo_order(Some(&subset)),
            ["model.p.b", "model.p.e", "model.p.x"]
        );
    }

    #[test]
    fn cycle_is_reported_from_smallest_id() {
        let err = Dag::build(vec![
            node("model.p.a", &["model.p.c"]),
            node("model.p.b", &["model.p.a"]),
            node("model.p.c", &["model.p.b"]),
            node("model.p.z", &["model.p.a"]),
        ])
        .unwrap_err();
        assert_eq!(err.code, Code::Cycle);
        assert_eq!(
            err.message,
            "found a dependency cycle: model.p.a -> model.p.b -> model.p.c -> model.p.a"
        );
        assert!(err.hint.is_some());

        let err = Dag::build(vec![node("model.p.s", &["model.p.s"])]).unwrap_err();
        assert_eq!(
            err.message,
            "found a dependency cycle: model.p.s -> model.p.s"
        );
    }

    #[test]
    fn duplicate_ids_are_rejected() {
        let err = Dag::build(vec![node("model.p.a", &[]), node("model.p.a", &[])]).unwrap_err();
        assert_eq!(err.code, Code::DuplicateNode);
    }

    /// `is_sound` says yes exactly when `Dag::build` builds: on the graphs above and on 500
    /// generated ones (2 to 12 nodes, up to 2 random parents each, unknown, repeated and self
    /// parents among them, and the odd repeated id), of which over 100 are sound and over 100
    /// not.
    #[test]
    fn the_soundness_check_agrees_with_building_the_graph() {
        let check = |nodes: &[GraphNode]| {
            let edges: Vec<(&str, &[String])> = nodes
                .iter()
                .map(|n| (n.unique_id.as_str(), n.depends_on.as_slice()))
                .collect();
            let sound = is_sound(&edges);
            assert_eq!(sound, Dag::build(nodes.to_vec()).is_ok(), "{:?}", edges);
            sound
        };
        assert!(check(&diamond().nodes));
        assert!(check(&[]));
        assert!(!check(&[node("model.p.s", &["model.p.s"])]));
        assert!(!check(&[node("model.p.a", &[]), node("model.p.a", &[])]));
        assert!(!check(&[
            node("model.p.a", &["model.p.c"]),
            node("model.p.b", &["model.p.a"]),
            node("model.p.c", &["model.p.b"]),
        ]));
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = |below: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % below
        };
        let (mut sound, mut unsound) = (0, 0);
        for _ in 0..500 {
            let count = 2 + next(11);
            let nodes: Vec<GraphNode> = (0..count)
                .map(|i| {
                    // One id in forty is a repeat of the one before it.
                    let id = if i > 0 && next(40) == 0 { i - 1 } else { i };
                    let parents: Vec<String> = (0..next(3))
                        .map(|_| format!("model.p.n{}", next(2 * count)))
                        .collect();
                    let parents: Vec<&str> = parents.iter().map(String::as_str).collect();
                    node(&format!("model.p.n{id}"), &parents)
                })
                .collect();
            if check(&nodes) {
                sound += 1;
            } else {
                unsound += 1;
            }
        }
        assert!(sound > 100 && unsound > 100, "{sound} sound, {unsound} not");
    }
}
