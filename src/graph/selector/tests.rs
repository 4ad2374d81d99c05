//! Selection tests on a small jaffle_shop-like project:
//!
//! ```text
//! seed raw_customers -> stg_customers --\
//! seed raw_orders    -> stg_orders -----+-> customers -> exposure weekly_kpis, unit test
//! source stripe.payments -> stg_payments +-> orders -> semantic_model -> metric -> saved_query
//!                                              orders -> analysis, snapshot <- stg_orders
//! ```
//! plus tests on each layer, a singular test on `orders` + `stg_payments`, a disabled model and
//! a second package.

use super::super::{Dag, GraphNode};
use crate::diagnostics::Code;
use serde_json::{json, Value};
use std::collections::BTreeSet;

struct B(GraphNode);

impl B {
    fn new(id: &str, path: &str, fqn: &[&str]) -> B {
        let mut parts = id.split('.');
        let resource_type = parts.next().unwrap_or_default().to_string();
        let package_name = parts.next().unwrap_or_default().to_string();
        B(GraphNode {
            unique_id: id.to_string(),
            name: fqn.last().copied().unwrap_or_default().to_string(),
            resource_type,
            package_name,
            original_file_path: path.to_string(),
            fqn: fqn.iter().map(|s| s.to_string()).collect(),
            ..GraphNode::default()
        })
    }
    fn deps(mut self, deps: &[&str]) -> B {
        self.0.depends_on = deps.iter().map(|d| d.to_string()).collect();
        self
    }
    fn tags(mut self, tags: &[&str]) -> B {
        self.0.tags = tags.iter().map(|t| t.to_string()).collect();
        self
    }
    fn cfg(mut self, key: &str, value: Value) -> B {
        self.0.config.insert(key.to_string(), value);
        self
    }
    fn source(mut self, source_name: &str) -> B {
        self.0.source_name = Some(source_name.to_string());
        self
    }
    fn test(mut self, test_type: &str, test_name: Option<&str>) -> B {
        self.0.test_type = Some(test_type.to_string());
        self.0.test_name = test_name.map(str::to_string);
        self
    }
}

const RAW_CUSTOMERS: &str = "seed.jaffle_shop.raw_customers";
const RAW_ORDERS: &str = "seed.jaffle_shop.raw_orders";
const PAYMENTS: &str = "source.jaffle_shop.stripe.payments";
const STG_CUSTOMERS: &str = "model.jaffle_shop.stg_customers";
const STG_ORDERS: &str = "model.jaffle_shop.stg_orders";
const STG_PAYMENTS: &str = "model.jaffle_shop.stg_payments";
const CUSTOMERS: &str = "model.jaffle_shop.customers";
const ORDERS: &str = "model.jaffle_shop.orders";
const LEGACY: &str = "model.jaffle_shop.legacy";
const COMPARE: &str = "model.audit_helper.compare_rel";
const T_NN_STG_ORDERS: &str = "test.jaffle_shop.not_null_stg_orders_order_id.a1";
const T_SRC_NN: &str = "test.jaffle_shop.source_not_null_stripe_payments_id.b2";
const T_UNIQUE_CUST: &str = "test.jaffle_shop.unique_customers_customer_id.c3";
const T_REL: &str = "test.jaffle_shop.relationships_orders_customer_id.d4";
const T_EXPR: &str = "test.jaffle_shop.dbt_utils_expression_is_true_orders.e5";
const T_SINGULAR: &str = "test.jaffle_shop.assert_orders_match_payments";
const UNIT: &str = "unit_test.jaffle_shop.customers.test_customer_count";
const EXPOSURE: &str = "exposure.jaffle_shop.weekly_kpis";
const SEMANTIC: &str = "semantic_model.jaffle_shop.orders_sm";
const METRIC: &str = "metric.jaffle_shop.revenue";
const SAVED: &str = "saved_query.jaffle_shop.weekly_revenue";
const ANALYSIS: &str = "analysis.jaffle_shop.order_trends";
const SNAPSHOT: &str = "snapshot.jaffle_shop.orders_snapshot";

/// A jaffle-shop-shaped DAG with every resource type, written out node by node (long on
/// purpose: it is the fixture the selector tests read).
fn project() -> Dag {
    let stg = "models/staging/schema.yml";
    let marts = "models/marts/schema.yml";
    let nodes = vec![
        B::new(
            RAW_CUSTOMERS,
            "seeds/raw_customers.csv",
            &["jaffle_shop", "raw_customers"],
        ),
        B::new(
            RAW_ORDERS,
            "seeds/raw_orders.csv",
            &["jaffle_shop", "raw_orders"],
        ),
        B::new(
            PAYMENTS,
            "models/staging/sources.yml",
            &["jaffle_shop", "staging", "stripe", "payments"],
        )
        .tags(&["pii"])
        .source("stripe"),
        B::new(
            STG_CUSTOMERS,
            "models/staging/stg_customers.sql",
            &["jaffle_shop", "staging", "stg_customers"],
        )
        .deps(&[RAW_CUSTOMERS])
        .tags(&["staging"])
        .cfg("materialized", json!("view")),
        B::new(
            STG_ORDERS,
            "models/staging/stg_orders.sql",
            &["jaffle_shop", "staging", "stg_orders"],
        )
        .deps(&[RAW_ORDERS])
        .tags(&["staging", "nightly"])
        .cfg("materialized", json!("view"))
        .cfg("meta", json!({"owner": "alice"})),
        B::new(
            STG_PAYMENTS,
            "models/staging/stg_payments.sql",
            &["jaffle_shop", "staging", "stg_payments"],
        )
        .deps(&[PAYMENTS])
        .tags(&["staging"])
        .cfg("materialized", json!("view")),
        B::new(
            CUSTOMERS,
            "models/marts/customers.sql",
            &["jaffle_shop", "marts", "customers"],
        )
        .deps(&[STG_CUSTOMERS, STG_ORDERS, STG_PAYMENTS])
        .tags(&["nightly"])
        .cfg("materialized", json!("table"))
        .cfg("transient", json!(true))
        .cfg("grants", json!({"select": ["reporter", "analyst"]}))
        .cfg("access", json!("public")),
        B::new(
            ORDERS,
            "models/marts/orders.sql",
            &["jaffle_shop", "marts", "orders"],
        )
        .deps(&[STG_ORDERS, STG_PAYMENTS])
        .cfg("materialized", json!("table"))
        .cfg("enabled", json!(true)),
        B::new(LEGACY, "models/legacy.sql", &["jaffle_shop", "legacy"])
            .deps(&[STG_ORDERS])
            .tags(&["nightly"])
            .cfg("enabled", json!(false)),
        B::new(
            COMPARE,
            "models/compare_rel.sql",
            &["audit_helper", "compare_rel"],
        ),
        B::new(
            T_NN_STG_ORDERS,
            stg,
            &["jaffle_shop", "staging", "not_null_stg_orders_order_id"],
        )
        .deps(&[STG_ORDERS])
        .test("generic", Some("not_null")),
        B::new(
            T_SRC_NN,
            "models/staging/sources.yml",
            &[
                "jaffle_shop",
                "staging",
                "source_not_null_stripe_payments_id",
            ],
        )
        .deps(&[PAYMENTS])
        .test("generic", Some("not_null")),
        B::new(
            T_UNIQUE_CUST,
            marts,
            &["jaffle_shop", "marts", "unique_customers_customer_id"],
        )
        .deps(&[CUSTOMERS])
        .test("generic", Some("unique"))
        .cfg("severity", json!("warn")),
        B::new(
            T_REL,
            marts,
            &["jaffle_shop", "marts", "relationships_orders_customer_id"],
        )
        .deps(&[ORDERS, CUSTOMERS])
        .test("generic", Some("relationships")),
        B::new(
            T_EXPR,
            marts,
            &[
                "jaffle_shop",
                "marts",
                "dbt_utils_expression_is_true_orders",
            ],
        )
        .deps(&[ORDERS])
        .test("generic", Some("dbt_utils.expression_is_true"))
        .cfg("severity", json!("ERROR")),
        B::new(
            T_SINGULAR,
            "tests/assert_orders_match_payments.sql",
            &["jaffle_shop", "assert_orders_match_payments"],
        )
        .deps(&[ORDERS, STG_PAYMENTS])
        .test("singular", None),
        B::new(
            UNIT,
            "models/marts/unit_tests.yml",
            &["jaffle_shop", "marts", "customers", "test_customer_count"],
        )
        .deps(&[CUSTOMERS])
        .test("unit", None),
        B::new(
            EXPOSURE,
            "models/exposures.yml",
            &["jaffle_shop", "weekly_kpis"],
        )
        .deps(&[CUSTOMERS, ORDERS]),
        B::new(
            SEMANTIC,
            "models/marts/semantic.yml",
            &["jaffle_shop", "marts", "orders_sm"],
        )
        .deps(&[ORDERS]),
        B::new(
            METRIC,
            "models/marts/semantic.yml",
            &["jaffle_shop", "marts", "revenue"],
        )
        .deps(&[SEMANTIC]),
        B::new(
            SAVED,
            "models/marts/semantic.yml",
            &["jaffle_shop", "marts", "weekly_revenue"],
        )
        .deps(&[METRIC]),
        B::new(
            ANALYSIS,
            "analyses/order_trends.sql",
            &["jaffle_shop", "analysis", "order_trends"],
        )
        .deps(&[ORDERS]),
        B::new(
            SNAPSHOT,
            "snapshots/orders_snapshot.sql",
            &["jaffle_shop", "orders_snapshot"],
        )
        .deps(&[STG_ORDERS]),
    ];
    Dag::build(nodes.into_iter().map(|b| b.0).collect()).unwrap()
}

fn sel(dag: &Dag, select: &[&str], exclude: &[&str]) -> BTreeSet<String> {
    let s: Vec<String> = select.iter().map(|s| s.to_string()).collect();
    let e: Vec<String> = exclude.iter().map(|s| s.to_string()).collect();
    dag.select(&s, &e).unwrap()
}

fn set(ids: &[&str]) -> BTreeSet<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

/// Each `--select` value of `cases` selects exactly its nodes.
fn selects(dag: &Dag, cases: &[(&str, &[&str])]) {
    for (selector, want) in cases {
        assert_eq!(sel(dag, &[selector], &[]), set(want), "--select {selector}");
    }
}

fn all_enabled(dag: &Dag) -> BTreeSet<String> {
    dag.nodes()
        .map(|n| n.unique_id.clone())
        .filter(|id| id != LEGACY)
        .collect()
}

#[test]
fn empty_select_is_every_enabled_node() {
    let dag = project();
    assert_eq!(sel(&dag, &[], &[]), all_enabled(&dag));
}

#[test]
fn bare_name_selects_node_and_its_tests() {
    let dag = project();
    assert_eq!(
        sel(&dag, &["stg_orders"], &[]),
        set(&[STG_ORDERS, T_NN_STG_ORDERS])
    );
    // Sources are not matched by name, only by `source:`.
    assert_eq!(sel(&dag, &["payments"], &[]), set(&[]));
    // A unit test follows its model; unique tests on a model with two parents too.
    assert_eq!(
        sel(&dag, &["customers"], &[]),
        set(&[CUSTOMERS, T_UNIQUE_CUST, T_REL, UNIT])
    );
}

#[test]
fn fqn_paths_packages_and_wildcards() {
    let dag = project();
    let staging_models = [STG_CUSTOMERS, STG_ORDERS, STG_PAYMENTS, T_NN_STG_ORDERS];
    // `staging` is an fqn prefix: the folder's models and the tests whose fqn lives there
    // (the source test matches directly through its own fqn).
    let mut staging = set(&staging_models);
    staging.insert(T_SRC_NN.to_string());
    // Eager: the singular test has stg_payments as a parent.
    staging.insert(T_SINGULAR.to_string());
    assert_eq!(sel(&dag, &["staging"], &[]), staging);
    assert_eq!(sel(&dag, &["jaffle_shop.staging.*"], &[]), staging);
    assert_eq!(
        sel(&dag, &["staging.stg_orders"], &[]),
        set(&[STG_ORDERS, T_NN_STG_ORDERS])
    );
    assert_eq!(
        sel(&dag, &["fqn:jaffle_shop.staging.stg_orders"], &[]),
        set(&[STG_ORDERS, T_NN_STG_ORDERS])
    );
    // dbt matches wildcards against the rest of the dotted fqn: `stg_*` only hits root-level nodes.
    assert_eq!(sel(&dag, &["stg_*"], &[]), set(&[]));
    assert_eq!(
        sel(&dag, &["*.stg_?ayments"], &[]),
        set(&[STG_PAYMENTS, T_SINGULAR])
    );
    assert_eq!(
        sel(&dag, &["raw_*"], &[]),
        set(&[RAW_CUSTOMERS, RAW_ORDERS])
    );
    assert_eq!(sel(&dag, &["raw_[!c]*"], &[]), set(&[RAW_ORDERS]));
    // A bare package name selects the package's non-source nodes.
    assert_eq!(sel(&dag, &["audit_helper"], &[]), set(&[COMPARE]));
    let mut jaffle = all_enabled(&dag);
    jaffle.remove(COMPARE);
    jaffle.remove(PAYMENTS);
    assert_eq!(sel(&dag, &["jaffle_shop"], &[]), jaffle);
    jaffle.insert(PAYMENTS.to_string());
    assert_eq!(sel(&dag, &["package:jaffle*"], &[]), jaffle);
}

#[test]
fn graph_operators() {
    let dag = project();
    assert_eq!(
        sel(&dag, &["+customers"], &[]),
        set(&[
            CUSTOMERS,
            STG_CUSTOMERS,
            STG_ORDERS,
            STG_PAYMENTS,
            RAW_CUSTOMERS,
            RAW_ORDERS,
            PAYMENTS,
            T_UNIQUE_CUST,
            T_REL,
            UNIT,
            T_NN_STG_ORDERS,
            T_SRC_NN,
            T_SINGULAR,
        ])
    );
    assert_eq!(
        sel(&dag, &["1+customers"], &[]),
        set(&[
            CUSTOMERS,
            STG_CUSTOMERS,
            STG_ORDERS,
            STG_PAYMENTS,
            T_UNIQUE_CUST,
            T_REL,
            UNIT,
            T_NN_STG_ORDERS,
            T_SINGULAR,
        ])
    );
    assert_eq!(
        sel(&dag, &["orders+1"], &[]),
        set(&[ORDERS, T_REL, T_EXPR, T_SINGULAR, EXPOSURE, SEMANTIC, ANALYSIS])
    );
    assert_eq!(
        sel(&dag, &["orders+"], &[]),
        set(&[ORDERS, T_REL, T_EXPR, T_SINGULAR, EXPOSURE, SEMANTIC, METRIC, SAVED, ANALYSIS])
    );
    // Disabled `legacy` never appears, even downstream of a selected node.
    assert_eq!(
        sel(&dag, &["stg_orders+"], &[]),
        set(&[
            STG_ORDERS,
            T_NN_STG_ORDERS,
            CUSTOMERS,
            ORDERS,
            SNAPSHOT,
            T_UNIQUE_CUST,
            T_REL,
            T_EXPR,
            T_SINGULAR,
            UNIT,
            EXPOSURE,
            SEMANTIC,
            METRIC,
            SAVED,
            ANALYSIS,
        ])
    );
    // @: the node, its descendants, and every ancestor of those.
    assert_eq!(
        sel(&dag, &["@stg_customers"], &[]),
        set(&[
            STG_CUSTOMERS,
            CUSTOMERS,
            T_UNIQUE_CUST,
            T_REL,
            UNIT,
            EXPOSURE,
            ORDERS,
            STG_ORDERS,
            STG_PAYMENTS,
            RAW_CUSTOMERS,
            RAW_ORDERS,
            PAYMENTS,
            T_NN_STG_ORDERS,
            T_SRC_NN,
            T_SINGULAR,
            T_EXPR,
        ])
    );
    assert_eq!(
        sel(&dag, &["+exposure:weekly_kpis"], &[]),
        sel(&dag, &["+customers +orders exposure:weekly_kpis"], &[])
    );
}

#[test]
fn unions_and_intersections() {
    let dag = project();
    assert_eq!(
        sel(&dag, &["stg_orders stg_customers", "compare_rel"], &[]),
        set(&[STG_ORDERS, T_NN_STG_ORDERS, STG_CUSTOMERS, COMPARE])
    );
    assert_eq!(
        sel(&dag, &["tag:nightly"], &[]),
        set(&[
            STG_ORDERS,
            CUSTOMERS,
            T_NN_STG_ORDERS,
            T_UNIQUE_CUST,
            T_REL,
            UNIT
        ])
    );
    // Each criterion is expanded with its tests before intersecting, as dbt does.
    assert_eq!(
        sel(&dag, &["tag:nightly,config.materialized:table"], &[]),
        set(&[CUSTOMERS, T_UNIQUE_CUST, T_REL, UNIT])
    );
    assert_eq!(
        sel(&dag, &["tag:nightly,tag:staging,stg_orders"], &[]),
        set(&[STG_ORDERS, T_NN_STG_ORDERS])
    );
    assert_eq!(sel(&dag, &["tag:pii,stg_orders"], &[]), set(&[]));
}

#[test]
fn exclusion_follows_eager_indirect_selection() {
    let dag = project();
    // Excluding a model also drops the tests attached to it (dbt: "test all models except
    // tests associated with the orders model").
    assert_eq!(
        sel(&dag, &["staging"], &["stg_orders"]),
        set(&[STG_CUSTOMERS, STG_PAYMENTS, T_SRC_NN, T_SINGULAR])
    );
    let mut expected = all_enabled(&dag);
    for id in [CUSTOMERS, T_UNIQUE_CUST, T_REL, UNIT] {
        expected.remove(id);
    }
    assert_eq!(sel(&dag, &[], &["customers"]), expected);
    // Excluding a test by its own name leaves the model and its other tests.
    assert_eq!(
        sel(&dag, &["customers"], &["test_name:unique"]),
        set(&[CUSTOMERS, T_REL, UNIT])
    );
    assert_eq!(
        sel(
            &dag,
            &["+customers"],
            &["resource_type:test resource_type:unit_test"]
        ),
        set(&[
            CUSTOMERS,
            STG_CUSTOMERS,
            STG_ORDERS,
            STG_PAYMENTS,
            RAW_CUSTOMERS,
            RAW_ORDERS,
            PAYMENTS,
        ])
    );
}

#[test]
fn path_and_file_methods() {
    let dag = project();
    selects(
        &dag,
        &[
            (
                "path:models/staging",
                &[
                    STG_CUSTOMERS,
                    STG_ORDERS,
                    STG_PAYMENTS,
                    PAYMENTS,
                    T_NN_STG_ORDERS,
                    T_SRC_NN,
                    T_SINGULAR,
                ],
            ),
            (
                "models/marts/*.sql",
                &[
                    CUSTOMERS,
                    ORDERS,
                    T_UNIQUE_CUST,
                    T_REL,
                    UNIT,
                    T_EXPR,
                    T_SINGULAR,
                ],
            ),
            (
                "path:models/**/schema.yml",
                &[T_NN_STG_ORDERS, T_UNIQUE_CUST, T_REL, T_EXPR],
            ),
            ("path:models/stag", &[]),
            ("stg_orders.sql", &[STG_ORDERS, T_NN_STG_ORDERS]),
            ("file:orders_snapshot", &[SNAPSHOT]),
            ("file:raw_*.csv", &[RAW_CUSTOMERS, RAW_ORDERS]),
        ],
    );
    assert_eq!(
        sel(&dag, &["./models/staging/"], &[]),
        sel(&dag, &["path:models/staging"], &[])
    );
}

#[test]
fn source_tag_and_resource_methods() {
    let dag = project();
    selects(
        &dag,
        &[
            ("source:stripe", &[PAYMENTS, T_SRC_NN]),
            ("source:stripe.payments", &[PAYMENTS, T_SRC_NN]),
            ("source:jaffle_shop.str*.payments", &[PAYMENTS, T_SRC_NN]),
            ("source:other.payments", &[]),
            (
                "source:stripe+1",
                &[PAYMENTS, T_SRC_NN, STG_PAYMENTS, T_SINGULAR],
            ),
            ("tag:pii", &[PAYMENTS, T_SRC_NN]),
            ("resource_type:seed", &[RAW_CUSTOMERS, RAW_ORDERS]),
            ("resource_type:source", &[PAYMENTS, T_SRC_NN]),
            ("exposure:weekly_kpis", &[EXPOSURE]),
            ("exposure:jaffle_shop.weekly_*", &[EXPOSURE]),
            ("metric:revenue", &[METRIC]),
            ("semantic_model:orders_sm+", &[SEMANTIC, METRIC, SAVED]),
            ("saved_query:*", &[SAVED]),
            ("unit_test:test_customer_count", &[UNIT]),
            ("test_customer_count", &[UNIT]),
            ("access:public", &[CUSTOMERS, T_UNIQUE_CUST, T_REL, UNIT]),
        ],
    );
    assert_eq!(
        sel(&dag, &["tag:stag*"], &[]),
        sel(&dag, &["tag:staging"], &[])
    );
}

#[test]
fn test_methods() {
    let dag = project();
    selects(
        &dag,
        &[
            ("test_type:singular", &[T_SINGULAR]),
            (
                "test_type:generic",
                &[T_NN_STG_ORDERS, T_SRC_NN, T_UNIQUE_CUST, T_REL, T_EXPR],
            ),
            (
                "test_type:data",
                &[
                    T_NN_STG_ORDERS,
                    T_SRC_NN,
                    T_UNIQUE_CUST,
                    T_REL,
                    T_EXPR,
                    T_SINGULAR,
                ],
            ),
            ("test_type:unit", &[UNIT]),
            ("test_name:not_null", &[T_NN_STG_ORDERS, T_SRC_NN]),
            ("test_name:expression_is_true", &[T_EXPR]),
            ("test_name:dbt_utils.expression_is_true", &[T_EXPR]),
            ("test_name:u*", &[T_UNIQUE_CUST]),
            // A unit test answers to its own name.
            ("test_name:test_customer_count", &[UNIT]),
            ("test_name:test_*", &[UNIT]),
        ],
    );
}

#[test]
fn config_method() {
    let dag = project();
    // Both sides pick up the singular test eagerly (via stg_payments / orders), so it survives.
    assert_eq!(
        sel(&dag, &["config.materialized:view,resource_type:model"], &[]),
        set(&[
            STG_CUSTOMERS,
            STG_ORDERS,
            STG_PAYMENTS,
            T_NN_STG_ORDERS,
            T_SINGULAR
        ])
    );
    assert_eq!(
        sel(&dag, &["config.meta.owner:alice"], &[]),
        set(&[STG_ORDERS, T_NN_STG_ORDERS])
    );
    assert_eq!(sel(&dag, &["config.meta.owner:bob"], &[]), set(&[]));
    // Lists match any element; nested dicts descend; booleans match "true" in any case.
    assert_eq!(
        sel(&dag, &["config.grants.select:analyst"], &[]),
        set(&[CUSTOMERS, T_UNIQUE_CUST, T_REL, UNIT])
    );
    assert_eq!(
        sel(&dag, &["config.transient:TRUE"], &[]),
        sel(&dag, &["customers"], &[])
    );
    assert_eq!(
        sel(&dag, &["config.enabled:true"], &[]),
        sel(&dag, &["orders"], &[])
    );
    // severity compares case-insensitively; other keys do not.
    assert_eq!(sel(&dag, &["config.severity:error"], &[]), set(&[T_EXPR]));
    assert_eq!(sel(&dag, &["config.materialized:TABLE"], &[]), set(&[]));
}

#[test]
fn invalid_selectors_are_errors() {
    let dag = project();
    let err = |s: &str| dag.select(&[s.to_string()], &[]).unwrap_err();
    let e = err("tg:nightly");
    assert_eq!(e.code, Code::Selector);
    assert!(
        e.message.contains("'tg' is not a valid method name"),
        "{}",
        e.message
    );
    assert!(e
        .hint
        .as_deref()
        .unwrap_or("")
        .starts_with("did you mean `tag`?"));
    assert_eq!(err("@customers+").code, Code::Selector);
    assert!(err("resource_type:modle")
        .hint
        .unwrap_or_default()
        .contains("`model`"));
    assert_eq!(err("test_type:integration").code, Code::Selector);
    assert_eq!(err("source:a.b.c.d").code, Code::Selector);
    assert_eq!(err("exposure:a.b.c").code, Code::Selector);
    assert_eq!(err("config:table").code, Code::Selector);
    // Without a previous run to compare with, the state methods say what they need.
    assert!(err("state:modified")
        .message
        .contains("comparison manifest"));
    assert!(err("result:error").message.contains("previous run"));
    assert!(err("selector:nightly")
        .message
        .contains("not a valid method name"));
    assert_eq!(
        err("99999999999999999999999+customers").code,
        Code::Selector
    );
    // Errors in --exclude are reported too.
    assert!(dag.select(&[], &["tg:x".to_string()]).is_err());
}

#[test]
fn unmatched_selectors_are_reported_not_errors() {
    let dag = project();
    let selectors = vec![
        "stg_orders nope tag:nope,stg_orders".to_string(),
        "legacy".to_string(),
    ];
    assert_eq!(sel(&dag, &["nope"], &[]), set(&[]));
    assert_eq!(
        dag.unmatched(&selectors, &Default::default()).unwrap(),
        ["nope", "tag:nope,stg_orders", "legacy"]
    );
    assert!(dag
        .unmatched(&["+customers".to_string()], &Default::default())
        .unwrap()
        .is_empty());
}

#[test]
fn fnmatch_translation() {
    use super::Glob;
    let m = |p: &str, s: &str| Glob::new(p).matches(s);
    assert!(m("a*c", "a.b/c"));
    assert!(m("a?c", "abc") && !m("a?c", "ac"));
    assert!(m("[ab]x", "bx") && !m("[!ab]x", "bx"));
    assert!(m("[a-c]", "b") && !m("[a-c]", "d"));
    assert!(m("a[", "a[") && m("[]]", "]"));
    assert!(m("x.y+z", "x.y+z") && !m("x.y*", "xzy"));
    assert!(m("[.^]", "^") && m("[\\]", "\\"));
}
