//! Generic test node naming, byte-for-byte as dbt-core 1.10 does it
//! (`parser/generic_test_builders.py` + `parser/schema_generic_tests.py`):
//! splitting a YAML test entry into test name / kwargs / config / custom name,
//! then synthesizing the node `name`, its `alias` and the `unique_id` hash.
//!
//! Decision: kwargs are kept as raw, *unrendered* JSON values in dbt's key order and
//! every Python `str()`/`repr()` that dbt applies is re-implemented here, because the
//! name and the unique_id hash are computed from exactly those Python renderings.
//! Callers must load YAML with PyYAML's YAML 1.1 scalar rules (`1e16` and `1.0e20` are
//! strings, `1.0e+20` is a float), otherwise names and hashes diverge.

use md5::{Digest, Md5};
use serde_json::{Map, Value};

/// Keys that are test configs, not macro kwargs, when given beside the kwargs.
#[rustfmt::skip]
pub(crate) const CONFIG_ARGS: [&str; 14] = [
    "severity", "tags", "enabled", "where", "limit", "warn_if", "error_if", "fail_calc",
    "store_failures", "store_failures_as", "meta", "database", "schema", "alias",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GenericTestName {
    /// Full name: node `name`, last fqn part, used in the unique_id.
    pub(crate) name: String,
    /// Node `alias`: `config.alias` if set, else the short name (`name` when < 64 chars).
    pub(crate) alias: String,
    /// `test.<package>.<name>.<last 10 hex of md5>`.
    pub(crate) unique_id: String,
}

/// What the test is attached to.
#[derive(Debug, Clone, Copy)]
pub(crate) enum TestTarget<'a> {
    /// Model, seed or snapshot; `version` only for versioned models (`v: 1` -> `Some("1")`).
    Node {
        name: &'a str,
        version: Option<&'a str>,
    },
    Source {
        source: &'a str,
        table: &'a str,
    },
}

impl TestTarget<'_> {
    /// Name embedded in the test name: `orders`, `vmodel_v1`, `<source>_<table>`.
    pub(crate) fn target_name(&self) -> String {
        match *self {
            TestTarget::Node { name, version } => {
                version.map_or(name.to_string(), |v| format!("{name}_v{v}"))
            }
            TestTarget::Source { source, table } => format!("{source}_{table}"),
        }
    }

    /// The `model` kwarg dbt adds: `{{ get_where_subquery(ref('orders')) }}`.
    pub(crate) fn model_kwarg(&self) -> String {
        let t = match *self {
            TestTarget::Node {
                name,
                version: Some(v),
            } => format!("ref('{name}', version='{v}')"),
            TestTarget::Node { name, .. } => format!("ref('{name}')"),
            TestTarget::Source { source, table } => format!("source('{source}', '{table}')"),
        };
        format!("{{{{ get_where_subquery({t}) }}}}")
    }
}

/// One YAML test entry split the way dbt's `TestBuilder` does.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TestDefinition {
    /// `dbt_utils` for `dbt_utils.expression_is_true` (`test_metadata.namespace`).
    pub(crate) namespace: Option<String>,
    /// `expression_is_true` (`test_metadata.name`; macro is `test_<name>`).
    pub(crate) test_name: String,
    /// `test_metadata.kwargs` in dbt's order, ending with `model`; unrendered.
    pub(crate) kwargs: Map<String, Value>,
    /// Test config (legacy top-level config keys, then `config:`); NOT jinja-rendered.
    pub(crate) config: Map<String, Value>,
    pub(crate) custom_name: Option<String>,
    pub(crate) description: Option<String>,
}

impl TestDefinition {
    /// Parse a test entry: `"unique"`, `{"accepted_values": {...}}` or
    /// `{"test_name": "unique", ...}`. `column_name` must already be quoted when the
    /// column has `quote: true` (duckdb: `"order id"`).
    pub(crate) fn parse(
        data_test: &Value,
        column_name: Option<&str>,
        target: &TestTarget,
    ) -> Result<Self, String> {
        let (full, mut args) = match data_test {
            Value::String(s) => (s.clone(), Map::new()),
            Value::Object(m) if m.contains_key("test_name") => {
                let mut m = m.clone();
                match take(&mut m, "test_name") {
                    Some(Value::String(s)) => (s, m),
                    other => return Err(format!("test name must be a string, got {other:?}")),
                }
            }
            Value::Object(m) if m.len() == 1 => {
                let (k, v) = m.iter().next().expect("one entry");
                match v {
                    Value::Object(a) => (k.clone(), a.clone()),
                    _ => return Err(format!("test arguments must be a dict, got {v}")),
                }
            }
            _ => return Err(format!("invalid test definition: {data_test}")),
        };
        if let Some(c) = column_name {
            args.insert("column_name".into(), Value::String(c.into()));
        }
        // require_generic_test_arguments_property defaults to true in 1.10:
        // `arguments:` entries are merged over the top-level keys (non-dict is dropped).
        if let Some(Value::Object(a)) = take(&mut args, "arguments") {
            args.extend(a);
        }
        if args.contains_key("model") {
            return Err("Test arguments include \"model\", which is a reserved argument".into());
        }
        let (namespace, test_name) = split_test_name(&full)
            .ok_or_else(|| format!("Test name string did not match expected pattern: {full}"))?;
        let namespace = namespace.map(str::to_string);
        let test_name = test_name.to_string();
        let mut nested = match take(&mut args, "config") {
            None => None,
            Some(Value::Object(c)) => Some(c),
            Some(other) => return Err(format!("test config must be a dict, got {other}")),
        };
        let mut config = Map::new();
        for key in CONFIG_ARGS {
            let mut v = take(&mut args, key);
            let truthy = v.as_ref().is_some_and(truthy);
            if let Some(n) = nested.as_mut() {
                if truthy && n.contains_key(key) {
                    return Err(format!(
                        "Test cannot have the same key `{key}` at the top-level and in config"
                    ));
                }
                if !truthy {
                    v = take(n, key);
                }
            }
            if let Some(v) = v.filter(|v| !v.is_null()) {
                config.insert(key.into(), v);
            }
        }
        config.extend(
            nested
                .unwrap_or_default()
                .into_iter()
                .filter(|(_, v)| !v.is_null()),
        );
        let description = take(&mut args, "description").map(|v| py_str(&v));
        let custom_name = take(&mut args, "name").map(|v| py_str(&v));
        args.insert("model".into(), Value::String(target.model_kwarg()));
        Ok(TestDefinition {
            namespace,
            test_name,
            kwargs: args,
            config,
            custom_name,
            description,
        })
    }

    /// Names for this test, defined in project/package `package`.
    pub(crate) fn names(&self, package: &str, target: &TestTarget) -> GenericTestName {
        let alias = self.config.get("alias").map(py_str);
        generic_test_name(
            package,
            self.namespace.as_deref(),
            &self.test_name,
            target,
            &self.kwargs,
            self.custom_name.as_deref(),
            alias.as_deref(),
        )
    }
}

/// Synthesize name, alias and unique_id.
/// * `package`: the project whose YAML defines the test (not the namespace).
/// * `args`: `test_metadata.kwargs` (column_name included when set, configs/name/
///   description removed); `model` is skipped for the name and added from `target`
///   for the hash when absent.
/// * `custom_name`: the test's `name:`; used verbatim as name and alias.
/// * `alias_config`: a `config.alias` / top-level `alias:` value.
pub(crate) fn generic_test_name(
    package: &str,
    namespace: Option<&str>,
    test_name: &str,
    target: &TestTarget,
    args: &Map<String, Value>,
    custom_name: Option<&str>,
    alias_config: Option<&str>,
) -> GenericTestName {
    let (short, name) = match custom_name {
        Some(n) => (n.to_string(), n.to_string()),
        None => synthesize(namespace, test_name, target, args),
    };
    // dbt hashes the name followed by `repr(get_hashable_md(...))` of
    // `{'kwargs': kwargs + model, 'name': test_name, 'namespace': namespace}`; written here
    // straight into one string (the keys of that dict are already in sorted order).
    let model = (!args.contains_key("model")).then(|| Value::String(target.model_kwarg()));
    let mut kwargs: Vec<(&str, &Value)> = args.iter().map(|(k, v)| (k.as_str(), v)).collect();
    if let Some(m) = &model {
        kwargs.push(("model", m));
    }
    kwargs.sort_by(|a, b| a.0.cmp(b.0));
    let mut text = String::with_capacity(256);
    text.push_str(&name);
    text.push_str("{'kwargs': {");
    for (i, (k, v)) in kwargs.iter().enumerate() {
        if i > 0 {
            text.push_str(", ");
        }
        py_str_repr_into(k, &mut text);
        text.push_str(": ");
        hashable_repr_into(v, &mut text);
    }
    text.push_str("}, 'name': ");
    py_str_repr_into(test_name, &mut text);
    text.push_str(", 'namespace': ");
    py_str_repr_into(namespace.unwrap_or("None"), &mut text);
    text.push('}');
    let hash = md5_hex(&text);
    GenericTestName {
        unique_id: ["test.", package, ".", &name, ".", &hash[hash.len() - 10..]].concat(),
        alias: alias_config.map_or(short, str::to_string),
        name,
    }
}

/// A test's name as written (`unique`, `dbt_utils.expression_is_true`, `unique_extra`) read
/// as dbt's pattern `^(?:(ident)\.)?(ident)` reads it: the namespace when a name and a dot
/// lead, then the name (anything after it is ignored). `None` when it starts with no name.
fn split_test_name(full: &str) -> Option<(Option<&str>, &str)> {
    // The length of the identifier (`[a-zA-Z_][0-9a-zA-Z_]*`) that `s` starts with.
    let ident = |s: &str| -> usize {
        let b = s.as_bytes();
        match b.first() {
            Some(c) if c.is_ascii_alphabetic() || *c == b'_' => b
                .iter()
                .position(|c| !(c.is_ascii_alphanumeric() || *c == b'_'))
                .unwrap_or(b.len()),
            _ => 0,
        }
    };
    let first = ident(full);
    if first == 0 {
        return None;
    }
    if let Some(rest) = full[first..].strip_prefix('.') {
        let second = ident(rest);
        if second > 0 {
            return Some((Some(&full[..first]), &rest[..second]));
        }
    }
    Some((None, &full[..first]))
}

/// Appends `part` with each run of characters other than ASCII letters, digits and `_` made
/// one `_` (dbt's `re.sub(r"[^0-9a-zA-Z_]+", "_", part)`).
fn push_cleaned(part: &str, out: &mut String) {
    let mut in_run = false;
    for c in part.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            out.push(c);
            in_run = false;
        } else if !in_run {
            out.push('_');
            in_run = true;
        }
    }
}

/// `synthesize_generic_test_names`: returns (short name, full name).
fn synthesize(
    namespace: Option<&str>,
    test_name: &str,
    target: &TestTarget,
    args: &Map<String, Value>,
) -> (String, String) {
    let mut keys: Vec<&String> = args.keys().filter(|k| *k != "model").collect();
    keys.sort();
    // Every argument's value (each value of a dict or list one part), cleaned, joined by `__`.
    let mut unique = String::new();
    let mut first = true;
    let mut part = |v: &Value| {
        if !std::mem::take(&mut first) {
            unique.push_str("__");
        }
        match v {
            Value::String(s) => push_cleaned(s, &mut unique),
            other => push_cleaned(&py_repr(other), &mut unique),
        }
    };
    for key in keys {
        match &args[key] {
            Value::Object(m) => m.values().for_each(&mut part),
            Value::Array(a) => a.iter().for_each(&mut part),
            v => part(v),
        }
    }
    let source = if matches!(target, TestTarget::Source { .. }) {
        "source_"
    } else {
        ""
    };
    let identifier = [
        namespace.unwrap_or_default(),
        if namespace.is_some() { "_" } else { "" },
        source,
        test_name,
        "_",
        &target.target_name(),
    ]
    .concat();
    let full = [identifier.as_str(), "_", &unique].concat();
    if full.chars().count() >= 64 {
        let trunc: String = identifier.chars().take(30).collect();
        (format!("{trunc}_{}", md5_hex(&full)), full)
    } else {
        (full.clone(), full)
    }
}

fn md5_hex(s: &str) -> String {
    crate::project::lower_hex(&Md5::digest(s.as_bytes()))
}

/// Remove a key keeping the order of the others (Python `dict.pop`).
fn take(m: &mut Map<String, Value>, key: &str) -> Option<Value> {
    let v = m.get(key).cloned()?;
    *m = std::mem::take(m)
        .into_iter()
        .filter(|(k, _)| k != key)
        .collect();
    Some(v)
}

fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64() != Some(0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// `repr(get_hashable_md(v))` appended to `out`: dict keys sorted, lists kept, every scalar
/// turned into `str(x)`.
fn hashable_repr_into(v: &Value, out: &mut String) {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                py_str_repr_into(k, out);
                out.push_str(": ");
                hashable_repr_into(&m[k], out);
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                hashable_repr_into(x, out);
            }
            out.push(']');
        }
        Value::String(s) => py_str_repr_into(s, out),
        other => py_str_repr_into(&py_repr(other), out),
    }
}

/// Python `str(x)` of a YAML-loaded value.
pub(crate) fn py_str(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => py_repr(other),
    }
}

/// Python `repr(x)` of a YAML-loaded value (dicts in insertion order).
pub(crate) fn py_repr(v: &Value) -> String {
    match v {
        Value::Null => "None".into(),
        Value::Bool(b) => (if *b { "True" } else { "False" }).into(),
        Value::Number(n) if n.is_f64() => py_float(n.as_f64().unwrap_or(0.0)),
        Value::Number(n) => n.to_string(),
        Value::String(s) => py_str_repr(s),
        Value::Array(a) => format!("[{}]", a.iter().map(py_repr).collect::<Vec<_>>().join(", ")),
        Value::Object(m) => {
            let items: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("{}: {}", py_str_repr(k), py_repr(v)))
                .collect();
            format!("{{{}}}", items.join(", "))
        }
    }
}

/// Python `repr(float)` (JSON floats are finite): shortest round-trip digits, scientific outside 1e-4..1e16.
fn py_float(f: f64) -> String {
    let sci = format!("{:e}", f.abs());
    let (mant, exp) = sci.split_once('e').expect("exponent");
    let exp: i32 = exp.parse().expect("exponent");
    let digits = mant.replace('.', "");
    let sign = if f.is_sign_negative() { "-" } else { "" };
    if (-4..16).contains(&exp) {
        if exp < 0 {
            return format!("{sign}0.{}{digits}", "0".repeat((-exp - 1) as usize));
        }
        let int_len = exp as usize + 1;
        let padded = format!("{digits:0<int_len$}");
        let (int, frac) = padded.split_at(int_len);
        format!("{sign}{int}.{}", if frac.is_empty() { "0" } else { frac })
    } else {
        let (d0, rest) = digits.split_at(1);
        let dot = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        format!(
            "{sign}{d0}{dot}e{}{:02}",
            if exp < 0 { '-' } else { '+' },
            exp.abs()
        )
    }
}

/// Python `repr(str)`; printability approximated (no unassigned-code-point table).
fn py_str_repr(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    py_str_repr_into(s, &mut out);
    out
}

/// [`py_str_repr`] appended to `out`.
fn py_str_repr_into(s: &str, out: &mut String) {
    let q = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    out.push(q);
    // (Most strings are printable ASCII with nothing to escape: copied whole.)
    let plain = |b: u8| (b' '..=b'~').contains(&b) && b != b'\\' && b != q as u8;
    if s.bytes().all(plain) {
        out.push_str(s);
        out.push(q);
        return;
    }
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if c == q => {
                out.push('\\');
                out.push(c);
            }
            c if c != ' ' && (c.is_control() || c.is_whitespace() || is_format_or_private(c)) => {
                let n = c as u32;
                out.push_str(&match n {
                    0..=0xff => format!("\\x{n:02x}"),
                    0x100..=0xffff => format!("\\u{n:04x}"),
                    _ => format!("\\U{n:08x}"),
                });
            }
            c => out.push(c),
        }
    }
    out.push(q);
}

fn is_format_or_private(c: char) -> bool {
    matches!(c as u32, 0xad | 0x600..=0x605 | 0x61c | 0x6dd | 0x70f | 0x180e | 0x200b..=0x200f
        | 0x202a..=0x202e | 0x2060..=0x2064 | 0x2066..=0x206f | 0xfeff | 0xfff9..=0xfffb
        | 0xe000..=0xf8ff | 0xe0001 | 0xe0020..=0xe007f | 0xf0000..)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (test entry, column, target, name, alias, unique_id, test_metadata.kwargs), all
    /// from real dbt-core 1.10.23 manifests (jaffle_shop + /tmp projects with varied tests).
    type Case = (
        &'static str,
        Option<&'static str>,
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        &'static str,
    );
    #[rustfmt::skip]
    const CASES: &[Case] = &[
    (r#""unique""#, Some(r#"customer_id"#), "customers", "unique_customers_customer_id", "unique_customers_customer_id", "test.jaffle_shop.unique_customers_customer_id.c5af1ff4b1", r#"{"column_name":"customer_id","model":"{{ get_where_subquery(ref('customers')) }}"}"#),
    (r#""not_null""#, Some(r#"customer_id"#), "customers", "not_null_customers_customer_id", "not_null_customers_customer_id", "test.jaffle_shop.not_null_customers_customer_id.5c9bf9911d", r#"{"column_name":"customer_id","model":"{{ get_where_subquery(ref('customers')) }}"}"#),
    (r#""unique""#, Some(r#"order_id"#), "orders", "unique_orders_order_id", "unique_orders_order_id", "test.jaffle_shop.unique_orders_order_id.fed79b3a6e", r#"{"column_name":"order_id","model":"{{ get_where_subquery(ref('orders')) }}"}"#),
    (r#""not_null""#, Some(r#"order_id"#), "orders", "not_null_orders_order_id", "not_null_orders_order_id", "test.jaffle_shop.not_null_orders_order_id.cf6c17daed", r#"{"column_name":"order_id","model":"{{ get_where_subquery(ref('orders')) }}"}"#),
    (r#""not_null""#, Some(r#"customer_id"#), "orders", "not_null_orders_customer_id", "not_null_orders_customer_id", "test.jaffle_shop.not_null_orders_customer_id.c5f02694af", r#"{"column_name":"customer_id","model":"{{ get_where_subquery(ref('orders')) }}"}"#),
    (r#"{"relationships": {"to": "ref('customers')", "field": "customer_id"}}"#, Some(r#"customer_id"#), "orders", "relationships_orders_customer_id__customer_id__ref_customers_", "relationships_orders_customer_id__customer_id__ref_customers_", "test.jaffle_shop.relationships_orders_customer_id__customer_id__ref_customers_.c6ec7f58f2", r#"{"to":"ref('customers')","field":"customer_id","column_name":"customer_id","model":"{{ get_where_subquery(ref('orders')) }}"}"#),
    (r#"{"accepted_values": {"values": ["placed", "shipped", "completed", "return_pending", "returned"]}}"#, Some(r#"status"#), "orders", "accepted_values_orders_status__placed__shipped__completed__return_pending__returned", "accepted_values_orders_1ce6ab157c285f7cd2ac656013faf758", "test.jaffle_shop.accepted_values_orders_status__placed__shipped__completed__return_pending__returned.be6b5b5ec3", r#"{"values":["placed","shipped","completed","return_pending","returned"],"column_name":"status","model":"{{ get_where_subquery(ref('orders')) }}"}"#),
    (r#""not_null""#, Some(r#"amount"#), "orders", "not_null_orders_amount", "not_null_orders_amount", "test.jaffle_shop.not_null_orders_amount.106140f9fd", r#"{"column_name":"amount","model":"{{ get_where_subquery(ref('orders')) }}"}"#),
    (r#""not_null""#, Some(r#"credit_card_amount"#), "orders", "not_null_orders_credit_card_amount", "not_null_orders_credit_card_amount", "test.jaffle_shop.not_null_orders_credit_card_amount.d3ca593b59", r#"{"column_name":"credit_card_amount","model":"{{ get_where_subquery(ref('orders')) }}"}"#),
    (r#""not_null""#, Some(r#"coupon_amount"#), "orders", "not_null_orders_coupon_amount", "not_null_orders_coupon_amount", "test.jaffle_shop.not_null_orders_coupon_amount.ab90c90625", r#"{"column_name":"coupon_amount","model":"{{ get_where_subquery(ref('orders')) }}"}"#),
    (r#""not_null""#, Some(r#"bank_transfer_amount"#), "orders", "not_null_orders_bank_transfer_amount", "not_null_orders_bank_transfer_amount", "test.jaffle_shop.not_null_orders_bank_transfer_amount.7743500c49", r#"{"column_name":"bank_transfer_amount","model":"{{ get_where_subquery(ref('orders')) }}"}"#),
    (r#""not_null""#, Some(r#"gift_card_amount"#), "orders", "not_null_orders_gift_card_amount", "not_null_orders_gift_card_amount", "test.jaffle_shop.not_null_orders_gift_card_amount.413a0d2d7a", r#"{"column_name":"gift_card_amount","model":"{{ get_where_subquery(ref('orders')) }}"}"#),
    (r#""unique""#, Some(r#"customer_id"#), "stg_customers", "unique_stg_customers_customer_id", "unique_stg_customers_customer_id", "test.jaffle_shop.unique_stg_customers_customer_id.c7614daada", r#"{"column_name":"customer_id","model":"{{ get_where_subquery(ref('stg_customers')) }}"}"#),
    (r#""not_null""#, Some(r#"customer_id"#), "stg_customers", "not_null_stg_customers_customer_id", "not_null_stg_customers_customer_id", "test.jaffle_shop.not_null_stg_customers_customer_id.e2cfb1f9aa", r#"{"column_name":"customer_id","model":"{{ get_where_subquery(ref('stg_customers')) }}"}"#),
    (r#""unique""#, Some(r#"order_id"#), "stg_orders", "unique_stg_orders_order_id", "unique_stg_orders_order_id", "test.jaffle_shop.unique_stg_orders_order_id.e3b841c71a", r#"{"column_name":"order_id","model":"{{ get_where_subquery(ref('stg_orders')) }}"}"#),
    (r#""not_null""#, Some(r#"order_id"#), "stg_orders", "not_null_stg_orders_order_id", "not_null_stg_orders_order_id", "test.jaffle_shop.not_null_stg_orders_order_id.81cfe2fe64", r#"{"column_name":"order_id","model":"{{ get_where_subquery(ref('stg_orders')) }}"}"#),
    (r#"{"accepted_values": {"values": ["placed", "shipped", "completed", "return_pending", "returned"]}}"#, Some(r#"status"#), "stg_orders", "accepted_values_stg_orders_status__placed__shipped__completed__return_pending__returned", "accepted_values_stg_orders_4f514bf94b77b7ea437830eec4421c58", "test.jaffle_shop.accepted_values_stg_orders_status__placed__shipped__completed__return_pending__returned.080fb20aad", r#"{"values":["placed","shipped","completed","return_pending","returned"],"column_name":"status","model":"{{ get_where_subquery(ref('stg_orders')) }}"}"#),
    (r#""unique""#, Some(r#"payment_id"#), "stg_payments", "unique_stg_payments_payment_id", "unique_stg_payments_payment_id", "test.jaffle_shop.unique_stg_payments_payment_id.3744510712", r#"{"column_name":"payment_id","model":"{{ get_where_subquery(ref('stg_payments')) }}"}"#),
    (r#""not_null""#, Some(r#"payment_id"#), "stg_payments", "not_null_stg_payments_payment_id", "not_null_stg_payments_payment_id", "test.jaffle_shop.not_null_stg_payments_payment_id.c19cc50075", r#"{"column_name":"payment_id","model":"{{ get_where_subquery(ref('stg_payments')) }}"}"#),
    (r#"{"accepted_values": {"values": ["credit_card", "coupon", "bank_transfer", "gift_card"]}}"#, Some(r#"payment_method"#), "stg_payments", "accepted_values_stg_payments_payment_method__credit_card__coupon__bank_transfer__gift_card", "accepted_values_stg_payments_c7909fb19b1f0177c2bf99c7912f06ef", "test.jaffle_shop.accepted_values_stg_payments_payment_method__credit_card__coupon__bank_transfer__gift_card.3c3820f278", r#"{"values":["credit_card","coupon","bank_transfer","gift_card"],"column_name":"payment_method","model":"{{ get_where_subquery(ref('stg_payments')) }}"}"#),
    (r#"{"unique": {"config": {"where": "id > 0", "severity": "warn"}}}"#, Some(r#"id"#), "orders", "unique_orders_id", "unique_orders_id", "test.tnproj.unique_orders_id.1360ecc70e", r#"{"column_name":"id","model":"{{ get_where_subquery(ref('orders')) }}"}"#),
    (r#"{"not_null": {"where": "id > 1"}}"#, Some(r#"id"#), "orders", "not_null_orders_id", "not_null_orders_id", "test.tnproj.not_null_orders_id.84ef11d8fe", r#"{"column_name":"id","model":"{{ get_where_subquery(ref('orders')) }}"}"#),
    (r#"{"accepted_values": {"arguments": {"values": [1, 2, 3]}, "config": {"severity": "warn"}}}"#, Some(r#"id"#), "orders", "accepted_values_orders_id__1__2__3", "accepted_values_orders_id__1__2__3", "test.tnproj.accepted_values_orders_id__1__2__3.5696a0d52a", r#"{"column_name":"id","values":[1,2,3],"model":"{{ get_where_subquery(ref('orders')) }}"}"#),
    (r#"{"relationships": {"arguments": {"to": "ref('customers')", "field": "id"}}}"#, Some(r#"id"#), "orders", "relationships_orders_id__id__ref_customers_", "relationships_orders_id__id__ref_customers_", "test.tnproj.relationships_orders_id__id__ref_customers_.1e6a489bd8", r#"{"column_name":"id","to":"ref('customers')","field":"id","model":"{{ get_where_subquery(ref('orders')) }}"}"#),
    (r#"{"my_test": {"name": "my_custom_test_name", "opts": {"b": 1, "a": "x y"}}}"#, Some(r#"id"#), "orders", "my_custom_test_name", "my_custom_test_name", "test.tnproj.my_custom_test_name.ecc15b171e", r#"{"opts":{"b":1,"a":"x y"},"column_name":"id","model":"{{ get_where_subquery(ref('orders')) }}"}"#),
    (r#"{"my_test": {"arguments": {"opts": {"k": [1, 2], "j": {"z": 1.5}}, "items": ["a", ["b", "c"], {"d": "e"}, 1.0, 2, true, null], "flag": false, "num": 3, "fl": "1.0e20"}}}"#, Some(r#"id"#), "orders", "my_test_orders_id__1_0e20__False__a___b_c____d_e___1_0__2__True__None__3___1_2____z_1_5_", "my_test_orders_fea65c6997de57607657caa15d993eda", "test.tnproj.my_test_orders_id__1_0e20__False__a___b_c____d_e___1_0__2__True__None__3___1_2____z_1_5_.3b9c214720", r#"{"column_name":"id","opts":{"k":[1,2],"j":{"z":1.5}},"items":["a",["b","c"],{"d":"e"},1.0,2,true,null],"flag":false,"num":3,"fl":"1.0e20","model":"{{ get_where_subquery(ref('orders')) }}"}"#),
    (r#"{"my_test": {"items": ["it's", "say \"hi\"", "both ' \" ", "back\\slash", "tab\there", "ünï"]}}"#, Some(r#"id"#), "orders", "my_test_orders_id__it_s__say_hi___both___back_slash__tab_here___n_", "my_test_orders_f4f49e163d34645b451540f708dd1c67", "test.tnproj.my_test_orders_id__it_s__say_hi___both___back_slash__tab_here___n_.b16490704b", r#"{"items":["it's","say \"hi\"","both ' \" ","back\\slash","tab\there","ünï"],"column_name":"id","model":"{{ get_where_subquery(ref('orders')) }}"}"#),
    (r#"{"my_test": {"description": "some desc", "arguments": {"num": 0.0001, "fl": 1e-05, "nested": 123456789012345678}}}"#, Some(r#"id"#), "orders", "my_test_orders_id__1e_05__123456789012345678__0_0001", "my_test_orders_id__1e_05__123456789012345678__0_0001", "test.tnproj.my_test_orders_id__1e_05__123456789012345678__0_0001.59a37b56e3", r#"{"column_name":"id","num":0.0001,"fl":1e-05,"nested":123456789012345678,"model":"{{ get_where_subquery(ref('orders')) }}"}"#),
    (r#"{"my_test": {"arguments": {"num": "1e16", "fl": 12345.678}}}"#, Some(r#"id"#), "orders", "my_test_orders_id__12345_678__1e16", "my_test_orders_id__12345_678__1e16", "test.tnproj.my_test_orders_id__12345_678__1e16.79b04e9068", r#"{"column_name":"id","num":"1e16","fl":12345.678,"model":"{{ get_where_subquery(ref('orders')) }}"}"#),
    (r#"{"my_test": {"alias": "custom_alias", "num": 7}}"#, Some(r#"id"#), "orders", "my_test_orders_id__7", "custom_alias", "test.tnproj.my_test_orders_id__7.4ad69a64a4", r#"{"num":7,"column_name":"id","model":"{{ get_where_subquery(ref('orders')) }}"}"#),
    (r#""not_null""#, Some(r#""order id""#), "orders", "not_null_orders__order_id_", "not_null_orders__order_id_", "test.tnproj.not_null_orders__order_id_.c4b8a4c859", r#"{"column_name":"\"order id\"","model":"{{ get_where_subquery(ref('orders')) }}"}"#),
    (r#"{"accepted_values": {"values": ["a", "b"]}}"#, Some(r#"status"#), "orders", "accepted_values_orders_status__a__b", "accepted_values_orders_status__a__b", "test.tnproj.accepted_values_orders_status__a__b.b355593ca6", r#"{"values":["a","b"],"column_name":"status","model":"{{ get_where_subquery(ref('orders')) }}"}"#),
    (r#"{"accepted_values": {"values": ["a", "b"], "arguments": {"values": ["c"]}}}"#, Some(r#"status"#), "orders", "accepted_values_orders_status__c", "accepted_values_orders_status__c", "test.tnproj.accepted_values_orders_status__c.59a13cf5af", r#"{"values":["c"],"column_name":"status","model":"{{ get_where_subquery(ref('orders')) }}"}"#),
    (r#"{"tnpkg.expression_is_true": {"expression": "id >= 0"}}"#, None, "orders", "tnpkg_expression_is_true_orders_id_0", "tnpkg_expression_is_true_orders_id_0", "test.tnproj.tnpkg_expression_is_true_orders_id_0.b3dfa08d45", r#"{"expression":"id >= 0","model":"{{ get_where_subquery(ref('orders')) }}"}"#),
    (r#""my_test""#, None, "orders", "my_test_orders_", "my_test_orders_", "test.tnproj.my_test_orders_.3308895328", r#"{"model":"{{ get_where_subquery(ref('orders')) }}"}"#),
    (r#"{"tnproj.my_test": {"arguments": {"flag": true}}}"#, None, "orders", "tnproj_my_test_orders_True", "tnproj_my_test_orders_True", "test.tnproj.tnproj_my_test_orders_True.394a044b55", r#"{"flag":true,"model":"{{ get_where_subquery(ref('orders')) }}"}"#),
    (r#""not_null""#, Some(r#"id"#), "a_model_with_a_really_quite_long_name_for_testing", "not_null_a_model_with_a_really_quite_long_name_for_testing_id", "not_null_a_model_with_a_really_quite_long_name_for_testing_id", "test.tnproj.not_null_a_model_with_a_really_quite_long_name_for_testing_id.3bb7d5f23b", r#"{"column_name":"id","model":"{{ get_where_subquery(ref('a_model_with_a_really_quite_long_name_for_testing')) }}"}"#),
    (r#""unique""#, Some(r#"id"#), "a_model_with_a_really_quite_long_name_for_testing", "unique_a_model_with_a_really_quite_long_name_for_testing_id", "unique_a_model_with_a_really_quite_long_name_for_testing_id", "test.tnproj.unique_a_model_with_a_really_quite_long_name_for_testing_id.1cd0f238c9", r#"{"column_name":"id","model":"{{ get_where_subquery(ref('a_model_with_a_really_quite_long_name_for_testing')) }}"}"#),
    (r#""not_null""#, Some(r#"id"#), "vmodel:1", "not_null_vmodel_v1_id", "not_null_vmodel_v1_id", "test.tnproj.not_null_vmodel_v1_id.771865e2f6", r#"{"column_name":"id","model":"{{ get_where_subquery(ref('vmodel', version='1')) }}"}"#),
    (r#""not_null""#, Some(r#"id"#), "vmodel:2", "not_null_vmodel_v2_id", "not_null_vmodel_v2_id", "test.tnproj.not_null_vmodel_v2_id.127f489da1", r#"{"column_name":"id","model":"{{ get_where_subquery(ref('vmodel', version='2')) }}"}"#),
    (r#""unique""#, Some(r#"id"#), "myseed", "unique_myseed_id", "unique_myseed_id", "test.tnproj.unique_myseed_id.0d9bdeb2b9", r#"{"column_name":"id","model":"{{ get_where_subquery(ref('myseed')) }}"}"#),
    (r#""not_null""#, Some(r#"id"#), "mysnap", "not_null_mysnap_id", "not_null_mysnap_id", "test.tnproj.not_null_mysnap_id.530dbe3429", r#"{"column_name":"id","model":"{{ get_where_subquery(ref('mysnap')) }}"}"#),
    (r#""not_null""#, Some(r#"event_id"#), "source:raw:events", "source_not_null_raw_events_event_id", "source_not_null_raw_events_event_id", "test.tnproj.source_not_null_raw_events_event_id.1893a9eae2", r#"{"column_name":"event_id","model":"{{ get_where_subquery(source('raw', 'events')) }}"}"#),
    (r#""unique""#, Some(r#"event_id"#), "source:raw:events", "source_unique_raw_events_event_id", "source_unique_raw_events_event_id", "test.tnproj.source_unique_raw_events_event_id.825f404073", r#"{"column_name":"event_id","model":"{{ get_where_subquery(source('raw', 'events')) }}"}"#),
    (r#"{"accepted_values": {"arguments": {"values": ["click", "view"]}}}"#, Some(r#"kind"#), "source:raw:events", "source_accepted_values_raw_events_kind__click__view", "source_accepted_values_raw_events_kind__click__view", "test.tnproj.source_accepted_values_raw_events_kind__click__view.bcf806d769", r#"{"column_name":"kind","values":["click","view"],"model":"{{ get_where_subquery(source('raw', 'events')) }}"}"#),
    (r#"{"tnpkg.expression_is_true": {"arguments": {"expression": "event_id > 0"}}}"#, None, "source:raw:events", "tnpkg_source_expression_is_true_raw_events_event_id_0", "tnpkg_source_expression_is_true_raw_events_event_id_0", "test.tnproj.tnpkg_source_expression_is_true_raw_events_event_id_0.13a3dbe242", r#"{"expression":"event_id > 0","model":"{{ get_where_subquery(source('raw', 'events')) }}"}"#),
    (r#""not_null""#, Some(r#"some_column_name"#), "source:other_source_name_that_is_long:some_table_with_long_name", "source_not_null_other_source_name_that_is_long_some_table_with_long_name_some_column_name", "source_not_null_other_source_n_8bda132ea66852baf558fbdcd4868590", "test.tnproj.source_not_null_other_source_name_that_is_long_some_table_with_long_name_some_column_name.8fdbf344f9", r#"{"column_name":"some_column_name","model":"{{ get_where_subquery(source('other_source_name_that_is_long', 'some_table_with_long_name')) }}"}"#),
    (r#"{"my_test": {"arguments": {"num": "{{ 1 + 1 }}", "opts": {"a": "x", "b": "y"}}, "severity": "{{ 'warn' }}"}}"#, Some(r#"id"#), "orders", "my_test_orders_id___1_1___x__y", "my_test_orders_id___1_1___x__y", "test.tnproj.my_test_orders_id___1_1___x__y.eb4a32f78e", r#"{"column_name":"id","num":"{{ 1 + 1 }}","opts":{"a":"x","b":"y"},"model":"{{ get_where_subquery(ref('orders')) }}"}"#),
    (r#"{"test_name": "my_test", "name": "second", "arguments": {"num": 5}}"#, Some(r#"id"#), "orders", "second", "second", "test.tnproj.second.2e9e90add5", r#"{"column_name":"id","num":5,"model":"{{ get_where_subquery(ref('orders')) }}"}"#),
    (r#"{"my_test": {"arguments": [1, 2], "num": 9}}"#, Some(r#"id"#), "orders", "my_test_orders_id__9", "my_test_orders_id__9", "test.tnproj.my_test_orders_id__9.7dae8e551f", r#"{"num":9,"column_name":"id","model":"{{ get_where_subquery(ref('orders')) }}"}"#),
    ];

    #[test]
    fn matches_dbt_manifests() {
        for &(def, col, target, name, alias, uid, kwargs) in CASES {
            let parts: Vec<&str> = target.split(':').collect();
            let t = match parts[..] {
                ["source", source, table] => TestTarget::Source { source, table },
                [name, v] => TestTarget::Node {
                    name,
                    version: Some(v),
                },
                _ => TestTarget::Node {
                    name: target,
                    version: None,
                },
            };
            let package = uid.split('.').nth(1).unwrap();
            let d = TestDefinition::parse(&serde_json::from_str(def).unwrap(), col, &t).unwrap();
            let want: Map<String, Value> = serde_json::from_str(kwargs).unwrap();
            assert_eq!(
                (&d.kwargs, d.kwargs.keys().collect::<Vec<_>>()),
                (&want, want.keys().collect()),
                "{def}"
            );
            let got = d.names(package, &t);
            assert_eq!(
                (
                    got.name.as_str(),
                    got.alias.as_str(),
                    got.unique_id.as_str()
                ),
                (name, alias, uid),
                "{def}"
            );
        }
    }

    #[test]
    fn a_test_name_is_read_as_dbt_reads_it() {
        let cases: [(&str, Option<(Option<&str>, &str)>); 9] = [
            ("unique", Some((None, "unique"))),
            (
                "dbt_utils.expression_is_true",
                Some((Some("dbt_utils"), "expression_is_true")),
            ),
            ("_p2._t3", Some((Some("_p2"), "_t3"))),
            ("a.b.c", Some((Some("a"), "b"))),
            ("unique extra", Some((None, "unique"))),
            ("pkg.", Some((None, "pkg"))),
            ("pkg.9lives", Some((None, "pkg"))),
            ("9lives", None),
            ("", None),
        ];
        for (written, read) in cases {
            assert_eq!(split_test_name(written), read, "{written:?}");
        }
    }

    #[test]
    fn parse_details() {
        let t = TestTarget::Node {
            name: "orders",
            version: None,
        };
        let p = |s: &str| TestDefinition::parse(&serde_json::from_str(s).unwrap(), Some("id"), &t);
        let d = p(r#"{"unique": {"severity": "warn", "config": {"where": "x", "tags": ["a"]}, "description": "d"}}"#).unwrap();
        assert_eq!(
            serde_json::to_string(&d.config).unwrap(),
            r#"{"severity":"warn","tags":["a"],"where":"x"}"#
        );
        assert_eq!(d.description.as_deref(), Some("d"));
        assert!(p(r#"{"unique": {"severity": "warn", "config": {"severity": "error"}}}"#).is_err());
        assert!(p(r#"{"not_null": null}"#).is_err());
        assert!(p(r#"{"unique": {"model": "x"}}"#).is_err());
        let d = p(r#"{"dbt_utils.expression_is_true": {"arguments": {"expression": "a > 0"}}}"#)
            .unwrap();
        assert_eq!(
            (d.namespace.as_deref(), d.test_name.as_str()),
            (Some("dbt_utils"), "expression_is_true")
        );
    }

    #[test]
    fn python_renderings() {
        for (f, s) in [
            (1.0, "1.0"),
            (1e20, "1e+20"),
            (1e-5, "1e-05"),
            (0.0001, "0.0001"),
            (12345.678, "12345.678"),
            (1.5e16, "1.5e+16"),
            (-2.5, "-2.5"),
            (1e15, "1000000000000000.0"),
            (0.1, "0.1"),
        ] {
            assert_eq!(py_float(f), s);
        }
        assert_eq!(py_str_repr("it's"), r#""it's""#);
        assert_eq!(py_str_repr(r#"both ' ""#), r#"'both \' "'"#);
        assert_eq!(py_str_repr("a\tb\\\u{a0}é"), r"'a\tb\\\xa0é'");
        // Printable ASCII is copied whole; a backslash or the quote still escapes.
        assert_eq!(py_str_repr("status = 'x' ~ {}"), r#""status = 'x' ~ {}""#);
        assert_eq!(py_str_repr("a\\b"), r"'a\\b'");
        assert_eq!(py_str_repr("a\u{7f}"), r"'a\x7f'");
    }
}
