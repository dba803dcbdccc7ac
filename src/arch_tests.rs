//! Architecture checks over the source tree (test-only): the top-level modules form a DAG, sit
//! in layers that only import downwards, the pure-logic modules never reach the I/O ones, and
//! `docs/architecture.md`'s module table lists exactly the modules under `src/`.
//!
//! A module is the first path segment under `src/` (`src/collect/network.rs` is `collect`,
//! `src/report.rs` is `report`). An edge `a -> b` is any `crate::b` path written in code under
//! `a` (`use crate::b::..`, `crate::b::f()`, `use crate::{b::X, ..}`), test code included;
//! comments are not code and do not count. This file is not scanned (its own text names paths).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Modules that decide and render but never run commands, read the machine or the network.
const PURE: &[&str] = &["redact", "analyze", "report", "inspect", "timeline"];
/// Modules that run commands, read the machine or open sockets.
const IO: &[&str] = &["collect", "exec", "capture", "probe"];

/// Every top-level module in a layer, top first. A module imports its own layer and the layers
/// below, never one above (docs/architecture.md draws them).
const LAYERS: &[(&str, &[&str])] = &[
    // The command line, the orchestration and everything that writes to the terminal.
    ("top", &["app", "cli", "console", "progress"]),
    ("io", IO),
    // Deciding, rendering, the bundle format, and the small helpers everything shares.
    (
        "logic",
        &[
            "redact", "analyze", "report", "inspect", "timeline", "bundle", "cancel", "config",
            "exit", "fsutil", "os", "term",
        ],
    ),
    ("vocabulary", &["vocab", "model", "platform"]),
];

/// Cycles tolerated for now (none since `vocab`), each written from its smallest module
/// (`a -> b -> a`). The test fails if one of these disappears without this list being updated,
/// as it does for a new one.
const KNOWN_CYCLES: &[&str] = &[];

/// Layering violations that exist today (`pure -> io`), checked exactly like `KNOWN_CYCLES`.
const KNOWN_VIOLATIONS: &[&str] = &[];

/// One `crate::module` reference: where, and the line it is on.
#[derive(Debug, Clone)]
struct Site {
    file: String,
    line: usize,
    text: String,
}

type Graph = BTreeMap<String, BTreeMap<String, Vec<Site>>>;

fn rs_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rs_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// `line` without its `//` comment (a `//` inside a string literal is kept).
fn code_of(line: &str) -> &str {
    let b = line.as_bytes();
    let mut in_str = false;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' if in_str => i += 1,
            b'"' => in_str = !in_str,
            b'/' if !in_str && b.get(i + 1) == Some(&b'/') => return &line[..i],
            _ => {}
        }
        i += 1;
    }
    line
}

/// The first segments of the items in a `crate::{..}` group starting at `rest` (after `{`).
fn group_heads(rest: &str) -> Vec<String> {
    let mut heads = Vec::new();
    let (mut depth, mut at_item) = (0usize, true);
    let mut cur = String::new();
    for c in rest.chars() {
        match c {
            '{' => {
                depth += 1;
                at_item = false;
            }
            '}' if depth == 0 => break,
            '}' => depth -= 1,
            ',' if depth == 0 => at_item = true,
            c if at_item && (c.is_ascii_alphanumeric() || c == '_') => cur.push(c),
            c if at_item && c.is_whitespace() && cur.is_empty() => {}
            _ => {
                if at_item && !cur.is_empty() {
                    heads.push(std::mem::take(&mut cur));
                }
                at_item = false;
            }
        }
        if at_item && c == ',' && !cur.is_empty() {
            heads.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        heads.push(cur);
    }
    heads
}

/// The modules `code` refers to through `crate::`.
fn refs_in(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = code[from..].find("crate::") {
        let at = from + i;
        from = at + "crate::".len();
        // `$crate::` and `foo_crate::` are not this crate's paths.
        if at > 0 {
            let prev = code.as_bytes()[at - 1];
            if prev.is_ascii_alphanumeric() || prev == b'_' || prev == b'$' {
                continue;
            }
        }
        let rest = &code[from..];
        if let Some(group) = rest.strip_prefix('{') {
            out.extend(group_heads(group));
        } else {
            let head: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !head.is_empty() {
                out.push(head);
            }
        }
    }
    out
}

fn graph() -> Graph {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rs_files(&src, &mut files);
    let mut g = Graph::new();
    for f in files {
        let rel = f.strip_prefix(&src).unwrap();
        let rel_s = rel.to_string_lossy().replace('\\', "/");
        if rel_s == "lib.rs" || rel_s == "main.rs" || rel_s == "arch_tests.rs" {
            continue;
        }
        let first = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy();
        let module = first.strip_suffix(".rs").unwrap_or(&first).to_string();
        g.entry(module.clone()).or_default();
        let text = std::fs::read_to_string(&f).unwrap();
        let mut in_block = false;
        for (n, line) in text.lines().enumerate() {
            // Block comments: only the whole-line `/* .. */` form is used in this crate.
            let t = line.trim_start();
            if in_block {
                if t.contains("*/") {
                    in_block = false;
                }
                continue;
            }
            if t.starts_with("/*") {
                in_block = !t.contains("*/");
                continue;
            }
            let mut seen = BTreeSet::new();
            for to in refs_in(code_of(line)) {
                if to == module || !seen.insert(to.clone()) {
                    continue;
                }
                g.entry(module.clone())
                    .or_default()
                    .entry(to)
                    .or_default()
                    .push(Site {
                        file: format!("src/{rel_s}"),
                        line: n + 1,
                        text: line.trim().to_string(),
                    });
            }
        }
    }
    g
}

/// Every elementary cycle, each starting at its smallest module, as `a -> b -> a`.
fn cycles(g: &Graph) -> Vec<Vec<String>> {
    fn walk(g: &Graph, start: &str, at: &str, path: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
        for to in g.get(at).map(|m| m.keys()).into_iter().flatten() {
            if to == start {
                let mut c = path.clone();
                c.push(start.to_string());
                out.push(c);
            } else if to.as_str() > start && !path.contains(to) {
                path.push(to.clone());
                walk(g, start, to, path, out);
                path.pop();
            }
        }
    }
    let mut out = Vec::new();
    for start in g.keys() {
        walk(g, start, start, &mut vec![start.clone()], &mut out);
    }
    out
}

fn sites(g: &Graph, from: &str, to: &str) -> String {
    let mut s = String::new();
    for site in &g[from][to] {
        let _ = writeln!(s, "      {}:{}: {}", site.file, site.line, site.text);
    }
    s
}

fn check_exact(what: &str, found: &BTreeSet<String>, known: &[&str], detail: &str) {
    let known: BTreeSet<String> = known.iter().map(|s| s.to_string()).collect();
    let new: Vec<_> = found.difference(&known).collect();
    let gone: Vec<_> = known.difference(found).collect();
    assert!(
        new.is_empty() && gone.is_empty(),
        "{what}: new (not in the known list): {new:?}; gone (remove from the known list): \
         {gone:?}\nall found:\n{detail}"
    );
}

#[test]
fn top_level_modules_form_a_dag() {
    let g = graph();
    let found = cycles(&g);
    let mut detail = String::new();
    for c in &found {
        let _ = writeln!(detail, "  {}", c.join(" -> "));
        for w in c.windows(2) {
            let _ = writeln!(detail, "    {} -> {}:", w[0], w[1]);
            detail.push_str(&sites(&g, &w[0], &w[1]));
        }
    }
    let names: BTreeSet<String> = found.iter().map(|c| c.join(" -> ")).collect();
    check_exact("module cycles", &names, KNOWN_CYCLES, &detail);
}

#[test]
fn pure_modules_never_import_io_modules() {
    let g = graph();
    let mut found = BTreeSet::new();
    let mut detail = String::new();
    for p in PURE {
        assert!(g.contains_key(*p), "no module {p} under src/");
        for io in IO {
            assert!(g.contains_key(*io), "no module {io} under src/");
            if g[*p].contains_key(*io) {
                found.insert(format!("{p} -> {io}"));
                let _ = writeln!(detail, "  {p} -> {io}:");
                detail.push_str(&sites(&g, p, io));
            }
        }
    }
    check_exact("layering violations", &found, KNOWN_VIOLATIONS, &detail);
}

/// The layer of every module under `src/` (a module in none is an error).
fn layer_of(g: &Graph) -> BTreeMap<String, usize> {
    let mut at = BTreeMap::new();
    for (i, (_, modules)) in LAYERS.iter().enumerate() {
        for m in *modules {
            assert!(
                at.insert(m.to_string(), i).is_none(),
                "{m} is in two layers"
            );
        }
    }
    let unplaced: Vec<_> = g.keys().filter(|m| !at.contains_key(*m)).collect();
    assert!(
        unplaced.is_empty(),
        "modules in no layer (add them to LAYERS in src/arch_tests.rs and to the drawing in \
         docs/architecture.md): {unplaced:?}"
    );
    let gone: Vec<_> = at.keys().filter(|m| !g.contains_key(*m)).collect();
    assert!(
        gone.is_empty(),
        "LAYERS names modules not under src/: {gone:?}"
    );
    at
}

#[test]
fn layers_only_import_downwards() {
    let g = graph();
    let at = layer_of(&g);
    let mut detail = String::new();
    for (from, tos) in &g {
        for to in tos.keys().filter(|to| at[*to] < at[from]) {
            let _ = writeln!(
                detail,
                "  {from} ({}) -> {to} ({}):",
                LAYERS[at[from]].0, LAYERS[at[to]].0
            );
            detail.push_str(&sites(&g, from, to));
        }
    }
    assert!(detail.is_empty(), "imports of a higher layer:\n{detail}");
}

/// The module names in the first column of the table under `## Modules` (a row for a
/// submodule, `redact::live`, is allowed and not counted).
fn documented_modules(doc: &str) -> BTreeSet<String> {
    doc.lines()
        .skip_while(|l| l.trim() != "## Modules")
        .skip(1)
        .take_while(|l| !l.starts_with("## "))
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split_once('`'))
        .map(|(name, _)| name)
        .filter(|name| !name.contains("::"))
        .map(str::to_string)
        .collect()
}

#[test]
fn the_module_table_lists_every_module() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/architecture.md");
    let doc = std::fs::read_to_string(&path).unwrap();
    let documented = documented_modules(&doc);
    let modules: BTreeSet<String> = graph().into_keys().collect();
    let missing: Vec<_> = modules.difference(&documented).collect();
    let stale: Vec<_> = documented.difference(&modules).collect();
    assert!(
        missing.is_empty() && stale.is_empty(),
        "docs/architecture.md, table under `## Modules`: add {missing:?}, remove {stale:?}"
    );
}

#[test]
fn the_vocabulary_is_a_leaf() {
    let g = graph();
    // The bottom layer: the typed bundle model (serde types only), the shared vocabulary and
    // the platform switch.
    for (leaf, allowed) in [
        ("model", &["vocab"][..]),
        ("vocab", &["platform"][..]),
        ("platform", &[][..]),
    ] {
        let extra: Vec<_> = g[leaf]
            .keys()
            .filter(|m| !allowed.contains(&m.as_str()))
            .collect();
        let mut detail = String::new();
        for m in &extra {
            detail.push_str(&sites(&g, leaf, m));
        }
        assert!(extra.is_empty(), "{leaf} imports {extra:?}:\n{detail}");
    }
}

#[test]
fn the_scanner_reads_paths_groups_and_skips_comments() {
    assert_eq!(refs_in("use crate::collect::Env;"), ["collect"]);
    assert_eq!(refs_in("let x = crate::a::f(crate::b::C);"), ["a", "b"]);
    assert_eq!(refs_in("use crate::{a::X, b::{Y, Z}, c};"), ["a", "b", "c"]);
    assert!(refs_in("$crate::a::f(); other_crate::b::g();").is_empty());
    assert_eq!(code_of("x(); // crate::a"), "x(); ");
    assert_eq!(code_of(r#"f("//", crate::a)"#), r#"f("//", crate::a)"#);
    let g = graph();
    for m in [
        "collect", "analyze", "report", "config", "probe", "app", "console", "capture",
    ] {
        assert!(g.contains_key(m), "module {m} not found: {:?}", g.keys());
    }
    assert!(g["app"].contains_key("collect"));
    let doc = "# x\n## Modules\n\n| module | for |\n|---|---|\n| `a` | x |\n| `b::c` | y |\n\n## Next\n| `z` | no |\n";
    assert_eq!(
        documented_modules(doc).into_iter().collect::<Vec<_>>(),
        ["a"]
    );
}
