//! The field tables of docs/bundle-format.md, rendered from the model's JSON schemas (the
//! serialize side: a member is "optional" when it is left out of some entries, "or null" when
//! it is written as null). The doc holds each table between
//! `<!-- generated:entry NAME -->` and `<!-- /generated -->`; the prose around them is
//! hand-written. A test compares the doc with [`render`] and rewrites it under
//! `UPDATE_DOCS=1`.

use serde_json::{Map, Value};

/// One row of a field table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// `results[].tls.chain[].subject`, `variables.<name>.set`.
    pub path: String,
    pub ty: String,
    pub doc: String,
}

/// The marker that opens an entry's table.
pub fn open_marker(entry: &str) -> String {
    format!("<!-- generated:entry {entry} -->")
}

pub const CLOSE_MARKER: &str = "<!-- /generated -->";

/// The markdown table of one entry's schema.
pub fn table(schema: &schemars::Schema) -> String {
    let root = schema.as_value();
    let defs = root
        .get("$defs")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let mut rows = Vec::new();
    object_rows(&defs, root, "", &mut rows);
    let mut s = String::from("| field | type | meaning |\n|---|---|---|\n");
    for r in rows {
        s.push_str(&format!(
            "| `{}` | {} | {} |\n",
            r.path,
            cell(&r.ty),
            cell(&r.doc)
        ));
    }
    s
}

/// `doc` with every generated block replaced by the table of its entry; `Err` names a block
/// whose entry has no schema, a block that is not closed, or an entry with no block.
pub fn render(doc: &str, schemas: &[(&str, schemars::Schema)]) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = doc;
    let mut seen = Vec::new();
    const OPEN: &str = "<!-- generated:entry ";
    while let Some(at) = rest.find(OPEN) {
        let (before, from) = rest.split_at(at);
        out.push_str(before);
        let line_end = from.find('\n').ok_or("an unterminated generated marker")?;
        let marker = &from[..line_end];
        let entry = marker
            .strip_prefix(OPEN)
            .and_then(|m| m.strip_suffix(" -->"))
            .ok_or_else(|| format!("a malformed marker: {marker}"))?;
        let (_, schema) = schemas
            .iter()
            .find(|(n, _)| *n == entry)
            .ok_or_else(|| format!("no model type for the generated block of {entry}"))?;
        let close = from
            .find(CLOSE_MARKER)
            .ok_or_else(|| format!("the generated block of {entry} is not closed"))?;
        out.push_str(marker);
        out.push('\n');
        out.push_str(&table(schema));
        out.push_str(CLOSE_MARKER);
        rest = &from[close + CLOSE_MARKER.len()..];
        seen.push(entry.to_string());
    }
    out.push_str(rest);
    if let Some((missing, _)) = schemas.iter().find(|(n, _)| !seen.iter().any(|s| s == n)) {
        return Err(format!(
            "no generated block for {missing}: add `{}` and `{CLOSE_MARKER}`",
            open_marker(missing)
        ));
    }
    Ok(out)
}

fn cell(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

/// A `$ref` resolved against `$defs`; the referring schema's own members (its description)
/// win over the definition's.
fn resolve(defs: &Map<String, Value>, v: &Value) -> Value {
    let Some(r) = v.get("$ref").and_then(Value::as_str) else {
        return v.clone();
    };
    let name = r.trim_start_matches("#/$defs/");
    let mut target = defs
        .get(name)
        .map(|d| resolve(defs, d))
        .unwrap_or(Value::Null);
    if let (Some(t), Some(own)) = (target.as_object_mut(), v.as_object()) {
        for (k, val) in own {
            if k != "$ref" {
                t.insert(k.clone(), val.clone());
            }
        }
    }
    target
}

/// The schema's alternatives (anyOf / oneOf), without the `null` one, and whether `null` was
/// one of them.
fn branches(defs: &Map<String, Value>, v: &Value) -> (Vec<Value>, bool) {
    let v = resolve(defs, v);
    let list = v
        .get("anyOf")
        .or_else(|| v.get("oneOf"))
        .and_then(Value::as_array);
    match list {
        Some(list) => {
            let mut nullable = false;
            let mut out = Vec::new();
            for b in list {
                let b = resolve(defs, b);
                if b.get("type").and_then(Value::as_str) == Some("null") {
                    nullable = true;
                } else {
                    let (inner, n) = branches(defs, &b);
                    nullable |= n;
                    out.extend(inner);
                }
            }
            (out, nullable)
        }
        None => {
            let nullable = types(&v).iter().any(|t| t == "null");
            (vec![v], nullable)
        }
    }
}

fn types(v: &Value) -> Vec<String> {
    match v.get("type") {
        Some(Value::String(t)) => vec![t.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|t| t.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

/// The names of one alternative's type (several for an enum), in words. Maps in maps are
/// spelled out two levels deep, then only "map".
fn names_of(defs: &Map<String, Value>, v: &Value, depth: usize) -> Vec<String> {
    if let Some(c) = v.get("const") {
        return vec![format!(
            "`{}`",
            c.as_str().map_or_else(|| c.to_string(), str::to_string)
        )];
    }
    if let Some(e) = v.get("enum").and_then(Value::as_array) {
        return e
            .iter()
            .map(|x| format!("`{}`", x.as_str().unwrap_or("?")))
            .collect();
    }
    let ts: Vec<String> = types(v).into_iter().filter(|t| t != "null").collect();
    let t = ts.first().map(String::as_str).unwrap_or("any");
    vec![match t {
        "array" => match v.get("items") {
            Some(items) => {
                let parts = parts(defs, items, true, depth);
                if parts.len() == 1 {
                    format!("{}[]", parts[0])
                } else {
                    format!("({})[]", join_or(&parts))
                }
            }
            None => "array".into(),
        },
        "object" if v.get("properties").is_none() => match v.get("additionalProperties") {
            Some(values @ Value::Object(_)) if depth < 2 => {
                let parts = parts(defs, values, true, depth + 1);
                if parts.len() == 1 {
                    format!("map of name → {}", parts[0])
                } else {
                    format!("map of name → ({})", join_or(&parts))
                }
            }
            Some(Value::Object(_)) => "map".into(),
            _ => "object".into(),
        },
        other => other.to_string(),
    }]
}

/// Every alternative's type name (constants first, `null` last when it is one).
fn parts(defs: &Map<String, Value>, v: &Value, with_null: bool, depth: usize) -> Vec<String> {
    let (bs, nullable) = branches(defs, v);
    let mut consts: Vec<String> = Vec::new();
    let mut others: Vec<String> = Vec::new();
    for b in &bs {
        for n in names_of(defs, b, depth) {
            let list = if n.starts_with('`') {
                &mut consts
            } else {
                &mut others
            };
            if !list.contains(&n) {
                list.push(n);
            }
        }
    }
    // Known constants plus a catch-all string: "`a`, `b` or another string".
    if !consts.is_empty()
        && let Some(s) = others.iter_mut().find(|o| *o == "string")
    {
        *s = "another string".into();
    }
    consts.extend(others);
    if with_null && nullable {
        consts.push("null".into());
    }
    consts
}

/// `a`, `a or b`, `a, b or c`.
fn join_or(parts: &[String]) -> String {
    match parts {
        [] => "any".into(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// Rows for the members of `v` (an object schema, or alternatives of which some are objects),
/// each followed by the rows of what it holds.
fn object_rows(defs: &Map<String, Value>, v: &Value, prefix: &str, rows: &mut Vec<Row>) {
    let (bs, _) = branches(defs, v);
    for b in bs {
        let required: Vec<&str> = b
            .get("required")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if let Some(props) = b.get("properties").and_then(Value::as_object) {
            for (name, p) in props {
                let path = format!("{prefix}{name}");
                // An optional member is left out rather than written as null.
                let optional = !required.contains(&name.as_str());
                let ty = join_or(&parts(defs, p, !optional, 0));
                let ty = if optional {
                    format!("optional {ty}")
                } else {
                    ty
                };
                let doc = resolve(defs, p)
                    .get("description")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                if rows.iter().any(|r: &Row| r.path == path) {
                    continue;
                }
                rows.push(Row { path, ty, doc });
                child_rows(defs, p, &format!("{prefix}{name}"), rows);
            }
        }
        if b.get("additionalProperties") == Some(&Value::Bool(true))
            && b.get("properties").is_some()
        {
            rows.push(Row {
                path: format!("{prefix}<other>"),
                ty: "any".into(),
                doc: "any other member, kept as written".into(),
            });
        }
    }
}

/// The rows inside a member: the fields of an object, of array items (`name[].`), of map
/// values (`name.<name>.`).
fn child_rows(defs: &Map<String, Value>, v: &Value, path: &str, rows: &mut Vec<Row>) {
    let (bs, _) = branches(defs, v);
    for b in bs {
        if b.get("properties").is_some() {
            object_rows(defs, &b, &format!("{path}."), rows);
        } else if let Some(items) = b.get("items") {
            child_rows(defs, items, &format!("{path}[]"), rows);
        } else if let Some(values @ Value::Object(_)) = b.get("additionalProperties") {
            child_rows(defs, values, &format!("{path}.<name>"), rows);
        }
    }
}
