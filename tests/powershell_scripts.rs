//! Static check of every `scripts/*.ps1`: it must parse (tree-sitter-powershell) and use no
//! syntax Windows PowerShell 5.1 lacks — `??` / `??=`, `?.` / `?[]`, the ternary `? :`,
//! `&&` / `||` pipeline chains, `ForEach-Object -Parallel` and `clean {}` blocks (all
//! PowerShell 7). The inventory runs in 5.1 on stock Windows, where PowerShell 7 is absent.

use tree_sitter::{Node, Parser};

/// Node kinds that hold text, not syntax (their contents are never flagged).
fn is_text(kind: &str) -> bool {
    kind == "comment" || kind.contains("string")
}

/// Every 5.1-incompatible construct in `src`, as `line:col what`; parse errors included.
fn problems(src: &str) -> Vec<String> {
    let mut parser = Parser::new();
    parser
        .set_language(&tree_sitter_powershell::LANGUAGE.into())
        .expect("the PowerShell grammar loads");
    let tree = parser.parse(src, None).expect("the parser returns a tree");
    let mut out = Vec::new();
    walk(tree.root_node(), src, &mut out);
    out
}

fn walk(n: Node, src: &str, out: &mut Vec<String>) {
    let at = |n: Node| {
        let p = n.start_position();
        format!("{}:{}", p.row + 1, p.column + 1)
    };
    let text = n.utf8_text(src.as_bytes()).unwrap_or("");
    if n.is_error() || n.is_missing() {
        out.push(format!(
            "{} parse error: {}",
            at(n),
            text.lines().next().unwrap_or("")
        ));
    }
    if is_text(n.kind()) {
        return;
    }
    match n.kind() {
        "pipeline_chain_tail" => out.push(format!("{} pipeline chain {text}", at(n))),
        "command_parameter" if text.eq_ignore_ascii_case("-parallel") => {
            out.push(format!("{} -Parallel", at(n)))
        }
        _ => {}
    }
    if n.child_count() == 0 {
        // Leaf tokens the grammar may read as something else (e.g. `?` as Where-Object).
        for bad in ["??", "?.", "?["] {
            if text.contains(bad) {
                out.push(format!("{} {bad}", at(n)));
            }
        }
        if text == "?" {
            out.push(format!("{} ? (ternary or Where-Object alias)", at(n)));
        }
        if text.eq_ignore_ascii_case("clean") {
            out.push(format!("{} clean block", at(n)));
        }
    }
    let mut c = n.walk();
    for child in n.children(&mut c) {
        walk(child, src, out);
    }
}

#[test]
fn every_script_parses_and_runs_in_windows_powershell_5_1() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts");
    let mut checked = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let path = e.unwrap().path();
        if path.extension().and_then(|x| x.to_str()) != Some("ps1") {
            continue;
        }
        let src = std::fs::read_to_string(&path).unwrap();
        let p = problems(&src);
        assert!(p.is_empty(), "{}: {p:#?}", path.display());
        checked += 1;
    }
    assert!(checked >= 1, "no scripts/*.ps1 found");
}

/// The check itself: each construct 5.1 lacks is caught, and 5.1 syntax passes.
#[test]
fn the_check_flags_what_windows_powershell_lacks() {
    for bad in [
        "$a = $b ?? 1",
        "$a ??= 1",
        "$n = $a?.Name",
        "$x = $c ? 1 : 2",
        "Get-Item x && Write-Output y",
        "Get-Item x || Write-Output y",
        "1..3 | ForEach-Object -Parallel { $_ }",
        "function f { process { 1 } clean { 2 } }",
        "$a = (1 +",
    ] {
        assert!(!problems(bad).is_empty(), "not flagged: {bad}");
    }
    for good in [
        "$a = if ($b) { $b } else { 1 }",
        "# a comment with ?? and && and clean\n$a = 1\n",
        "$s = 'text with ?? and ?. and &&'",
        "1..3 | ForEach-Object { $_ }",
        "if ($a -and $b) { Write-Output 'x' }",
    ] {
        assert_eq!(problems(good), Vec::<String>::new(), "flagged: {good}");
    }
}
