//! The house rules of `src/`, read from the source itself (fast tier: no I/O beyond reading
//! the tree):
//!
//! - no import circles at any level: between the files (modules) of the crate, and between
//!   the folders at every depth (`core` may not import `pipeline` if `pipeline` imports
//!   `core`, however deep the two imports are);
//! - the layers import downwards only: `core` imports no other room, `backends` nothing of
//!   `pipeline` or `entry`, and so on (the order below);
//! - no module's code (its tests aside) is over 500 lines;
//! - the tooling crates (the emulators, the tools and the `tryon` command) have no import
//!   circles either.
//!
//! An import is any `crate::a::b` path in code (comments and `#[cfg(test)]` modules aside)
//! and any `super::` path, resolved to the deepest module that exists.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The top-level rooms, lowest first: each may import only rooms before it.
const LAYERS: &[&str] = &["core", "config", "adapters", "backends", "pipeline", "entry", "compose"];

const MAX_MODULE_LINES: usize = 500;

/// Modules (as paths from the crate root) and the modules each imports.
type Graph = BTreeMap<Vec<String>, BTreeSet<Vec<String>>>;

/// A module path (`["core", "image", "probe"]`) and its file's code without tests or comments.
struct Module {
    path: Vec<String>,
    code: String,
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every module of a crate whose root file is `root` (`lib.rs` or `main.rs`): the root is `[]`,
/// `a/mod.rs` is `[a]`, `a/b.rs` is `[a, b]`. Other crate roots inside (`src/bin/`) are left out.
fn modules(dir: &Path, prefix: &[String], root: &str, out: &mut Vec<Module>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    entries.sort();
    for path in entries {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            if prefix.is_empty() && name == "bin" {
                continue;
            }
            let mut p = prefix.to_vec();
            p.push(name);
            modules(&path, &p, root, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let is_root = prefix.is_empty() && path.file_name().is_some_and(|f| f == root);
            if prefix.is_empty() && (name == "main" || name == "lib") && !is_root {
                continue;
            }
            let mut p = prefix.to_vec();
            if !(name == "mod" || is_root) {
                p.push(name.clone());
            }
            let text = std::fs::read_to_string(&path).unwrap();
            out.push(Module { path: p, code: code_of(&text) });
        }
    }
}

/// The code of a file: everything before its first `#[cfg(test)]`, with line comments gone.
fn code_of(text: &str) -> String {
    let code = text.split("#[cfg(test)]").next().unwrap();
    code.lines()
        .map(|l| match l.trim_start().starts_with("//") {
            true => "",
            false => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The paths a module's code names, each as a list of segments from the crate root.
fn imports(m: &Module, known: &BTreeSet<Vec<String>>) -> BTreeSet<Vec<String>> {
    let mut out = BTreeSet::new();
    let code = &m.code;
    for (at, _) in code.match_indices("crate::") {
        if code[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == '$') {
            continue;
        }
        for tail in expand(&code[at + "crate::".len()..]) {
            out.insert(resolve(&[], &tail, known));
        }
    }
    for (at, _) in code.match_indices("super::") {
        if code[..at].ends_with("super::") || code[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let mut base = parent(&m.path);
        let mut rest = &code[at + "super::".len()..];
        while let Some(r) = rest.strip_prefix("super::") {
            base = parent(&base);
            rest = r;
        }
        for tail in expand(rest) {
            out.insert(resolve(&base, &tail, known));
        }
    }
    // `child::…` (and `self::child::…`) names a module declared inside this one.
    for child in known.iter().filter(|k| k.len() == m.path.len() + 1 && k.starts_with(&m.path)) {
        let name = format!("{}::", child.last().unwrap());
        for (at, _) in code.match_indices(&name) {
            let before = &code[..at];
            let bare = !before.ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == ':');
            if bare || before.ends_with("self::") && !before.ends_with("::self::") {
                for tail in expand(&code[at..]) {
                    out.insert(resolve(&m.path, &tail, known));
                }
            }
        }
    }
    out.remove(&m.path);
    // A path to something at the crate root (or nothing known) is no module.
    out.remove(&Vec::new());
    out
}

fn parent(p: &[String]) -> Vec<String> {
    p[..p.len().saturating_sub(1)].to_vec()
}

/// The segment lists a path names: `a::b::C` is `[a, b, C]`; `a::{b::c, d}` is `[a, b, c]`
/// and `[a, d]`.
fn expand(rest: &str) -> Vec<Vec<String>> {
    let ident = |s: &str| s.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect::<String>();
    let mut head = Vec::new();
    let mut s = rest;
    loop {
        if let Some(group) = s.strip_prefix('{') {
            let mut out = Vec::new();
            for item in split_group(group) {
                for tail in expand(&item) {
                    out.push([head.clone(), tail.into_iter().filter(|s| s != "self").collect()].concat());
                }
            }
            return out;
        }
        let id = ident(s);
        if id.is_empty() {
            return vec![head];
        }
        s = &s[id.len()..];
        head.push(id);
        match s.strip_prefix("::") {
            Some(r) => s = r,
            None => return vec![head],
        }
    }
}

/// The top-level items of a `{…}` group, up to its closing brace.
fn split_group(group: &str) -> Vec<String> {
    let (mut items, mut depth, mut cur) = (Vec::new(), 0, String::new());
    for c in group.chars() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => break,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(std::mem::take(&mut cur).trim().to_owned());
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    items.push(cur.trim().to_owned());
    items.into_iter().filter(|i| !i.is_empty()).collect()
}

/// The deepest known module that `base` + `tail` names (`self` dropped).
fn resolve(base: &[String], tail: &[String], known: &BTreeSet<Vec<String>>) -> Vec<String> {
    let full: Vec<String> = base.iter().chain(tail.iter().filter(|s| *s != "self")).cloned().collect();
    (0..=full.len()).rev().map(|n| full[..n].to_vec()).find(|p| known.contains(p)).unwrap_or_default()
}

/// A path of edges that comes back to where it started, if there is one.
fn circle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<String> {
    fn visit<'a>(
        node: &'a str,
        graph: &'a BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) -> Option<String> {
        if let Some(at) = path.iter().position(|r| *r == node) {
            return Some([&path[at..], &[node]].concat().join(" → "));
        }
        if !done.insert(node) {
            return None;
        }
        path.push(node);
        let found = graph.get(node).into_iter().flatten().find_map(|next| visit(next, graph, path, done));
        path.pop();
        found
    }
    let mut done = BTreeSet::new();
    graph.keys().find_map(|n| visit(n, graph, &mut vec![], &mut done))
}

/// The graph with each module named by its path (`core::image::probe`).
fn named(graph: &Graph) -> BTreeMap<String, BTreeSet<String>> {
    graph.iter().map(|(k, v)| (label(k), v.iter().map(|p| label(p)).collect())).collect()
}

/// Every circle found by breaking each one found at its last edge and looking again.
fn circles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    let mut g = graph.clone();
    let mut found = Vec::new();
    while let Some(c) = circle(&g) {
        let nodes: Vec<&str> = c.split(" → ").collect();
        let (a, b) = (nodes[nodes.len() - 2].to_owned(), nodes[nodes.len() - 1].to_owned());
        g.get_mut(&a).map(|s| s.remove(&b));
        found.push(c);
    }
    found
}

/// The module graph: one node per module, an edge per import (`lib.rs`, which only declares
/// the rooms, aside).
fn module_graph() -> (Vec<Module>, Graph) {
    crate_graph(&src(), "lib.rs")
}

/// The module graph of the crate rooted at `dir`/`root`.
fn crate_graph(dir: &Path, root: &str) -> (Vec<Module>, Graph) {
    let mut all = Vec::new();
    modules(dir, &[], root, &mut all);
    let known: BTreeSet<Vec<String>> = all.iter().map(|m| m.path.clone()).collect();
    let graph = all
        .iter()
        .filter(|m| !m.path.is_empty())
        .map(|m| (m.path.clone(), imports(m, &known).into_iter().filter(|p| !p.is_empty()).collect()))
        .collect();
    (all, graph)
}

/// The graph among the children of `folder`: `a` → `b` when anything inside `a` imports
/// anything inside `b` (a parent's own file, `mod.rs`, counts as its own node `mod`).
fn folder_graph(folder: &[String], modules: &Graph) -> BTreeMap<String, BTreeSet<String>> {
    let child = |p: &[String]| -> Option<String> {
        if p.len() < folder.len() || p[..folder.len()] != *folder {
            return None;
        }
        Some(p.get(folder.len()).cloned().unwrap_or_else(|| "mod".to_owned()))
    };
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (from, tos) in modules {
        let Some(a) = child(from) else { continue };
        for to in tos {
            match child(to) {
                Some(b) if b != a => {
                    g.entry(a.clone()).or_default().insert(b);
                }
                _ => {}
            }
        }
    }
    g
}

fn label(p: &[String]) -> String {
    match p.is_empty() {
        true => "crate".to_owned(),
        false => p.join("::"),
    }
}

#[test]
fn no_module_imports_one_that_imports_it_back() {
    let (_, graph) = module_graph();
    assert!(graph.len() > 50, "the crate's modules were found: {}", graph.len());
    let named = named(&graph);
    assert!(named["pipeline::call"].contains("backends"), "imports are read: {:?}", named["pipeline::call"]);
    let found = circles(&named);
    assert!(found.is_empty(), "import circles between modules:\n{}", found.join("\n"));
}

#[test]
fn no_folder_imports_one_that_imports_it_back_at_any_depth() {
    let (all, graph) = module_graph();
    let found = folder_circles(&all, &graph);
    assert!(found.is_empty(), "import circles between folders:\n{}", found.join("\n"));
}

/// The circles between the children of every folder of a crate.
fn folder_circles(all: &[Module], graph: &Graph) -> Vec<String> {
    let folders: BTreeSet<Vec<String>> = all.iter().map(|m| parent(&m.path)).chain([vec![]]).collect();
    let mut found = Vec::new();
    for folder in folders {
        found.extend(
            circles(&folder_graph(&folder, graph)).into_iter().map(|c| format!("inside {}: {c}", label(&folder))),
        );
    }
    found
}

/// Every circle, between modules or between the folders at any depth, of one crate.
fn every_circle(dir: &Path, root: &str) -> Vec<String> {
    let (all, graph) = crate_graph(dir, root);
    let named = named(&graph);
    let mut found = circles(&named);
    found.extend(folder_circles(&all, &graph));
    found
}

#[test]
fn the_tooling_crates_have_no_import_circles_either() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for (dir, file) in
        [("crates/emulators/src", "lib.rs"), ("crates/tools/src", "lib.rs"), ("crates/tools/src/bin/tryon", "main.rs")]
    {
        let (all, _) = crate_graph(&root.join(dir), file);
        assert!(all.len() > 5, "{dir}: the modules were found");
        let found = every_circle(&root.join(dir), file);
        assert!(found.is_empty(), "import circles in {dir}:\n{}", found.join("\n"));
    }
}

#[test]
fn the_layers_import_downwards_only() {
    let (_, graph) = module_graph();
    let top = folder_graph(&[], &graph);
    let mut upwards = Vec::new();
    for (room, used) in &top {
        let Some(at) = LAYERS.iter().position(|l| l == room) else { panic!("{room} is not in LAYERS") };
        for u in used {
            if LAYERS.iter().position(|l| l == u).is_none_or(|i| i >= at) {
                upwards.push(format!("{room} → {u}"));
            }
        }
    }
    assert!(upwards.is_empty(), "imports against the layers {LAYERS:?}: {upwards:?}");
}

#[test]
fn no_module_is_over_the_size_limit() {
    let (all, _) = module_graph();
    let over: Vec<String> = all
        .iter()
        .map(|m| (label(&m.path), m.code.lines().filter(|l| !l.trim().is_empty()).count()))
        .filter(|(_, n)| *n > MAX_MODULE_LINES)
        .map(|(m, n)| format!("{m}: {n} lines"))
        .collect();
    assert!(over.is_empty(), "modules over {MAX_MODULE_LINES} lines of code: {over:?}");
}

#[test]
fn the_checks_find_what_they_look_for() {
    let g = |edges: &[(&str, &str)]| {
        let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (a, b) in edges {
            g.entry(a.to_string()).or_default().insert(b.to_string());
        }
        g
    };
    assert_eq!(circle(&g(&[("a", "b"), ("b", "c"), ("a", "c")])), None);
    assert_eq!(circle(&g(&[("a", "b"), ("b", "c"), ("c", "a")])).as_deref(), Some("a → b → c → a"));
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    assert_eq!(expand("core::image::{self, Rect}, x"), vec![s(&["core", "image"]), s(&["core", "image", "Rect"])]);
    assert_eq!(expand("a::{b::{c, d}, e};"), vec![s(&["a", "b", "c"]), s(&["a", "b", "d"]), s(&["a", "e"])]);
    let known: BTreeSet<Vec<String>> = [s(&[]), s(&["a"]), s(&["a", "b"])].into_iter().collect();
    assert_eq!(resolve(&s(&["a"]), &s(&["b", "Thing"]), &known), s(&["a", "b"]));
    let m = Module { path: s(&["a", "c"]), code: "use super::b::X;\nfn f() { crate::a::b::y() }".into() };
    assert_eq!(imports(&m, &known), [s(&["a", "b"])].into_iter().collect());
    let parent = Module { path: s(&["a"]), code: "pub use b::Y;\nfn f() { x::b::z() }".into() };
    assert_eq!(imports(&parent, &known), [s(&["a", "b"])].into_iter().collect());
    let folders = folder_graph(&s(&["a"]), &[(s(&["a", "c"]), [s(&["a", "b"])].into_iter().collect())].into());
    assert_eq!(folders, g(&[("c", "b")]));
}
