//! The module graph of `runtime/src`: no import cycle between its modules, and
//! `docs/module-graph.md` drawn from the code.
//!
//! A module is a top-level file or folder of `runtime/src`, and each folder's direct children. At
//! each level, `a --> b` when a file inside `a` names something inside `b`: a path through
//! `crate::` (or `$crate::`), `super::` or `self::`, a `use` of a child module by its bare name, a
//! name that a module re-exports (followed to where it is defined), or a call of a
//! `macro_rules!` macro that `b` defines. The files are read as tokens, so comments and string
//! literals never count and paths inside macro invocations do; test modules count like the rest.
//!
//! Regenerate the picture: `UPDATE_MODULE_GRAPH=1 cargo test -p spanscope-tests --test module_graph`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::{env, fs};

use proc_macro2::{Delimiter, Punct, Spacing, TokenStream, TokenTree};

const SOURCE_DIR: &str = "runtime/src";
const PICTURE: &str = "docs/module-graph.md";
const REGENERATE: &str = "UPDATE_MODULE_GRAPH=1 cargo test -p spanscope-tests --test module_graph";
/// How many re-exports a name is followed through (re-exports that loop stop here).
const MAX_REEXPORT_HOPS: usize = 8;

/// A module's path from the crate root: `[]` is the root, `["export", "lane"]` is `export::lane`.
type ModulePath = Vec<String>;

#[test]
fn no_import_cycle_between_modules() {
    let report = cycle_report(&runtime_module_graph());
    assert!(
        report.is_empty(),
        "import cycles between modules of {SOURCE_DIR} (each edge with the lines that make it; \
         removing one edge of a cycle breaks it):\n{report}"
    );
}

#[test]
fn module_graph_picture_is_current() {
    let page = render(&runtime_module_graph());
    let file = workspace_root().join(PICTURE);
    if env::var_os("UPDATE_MODULE_GRAPH").is_some_and(|update| update == "1") {
        fs::write(&file, &page).unwrap_or_else(|e| panic!("writing {PICTURE}: {e}"));
        return;
    }
    let checked_in = fs::read_to_string(&file)
        .unwrap_or_else(|e| panic!("reading {PICTURE}: {e}; generate it with `{REGENERATE}` and commit it"));
    let same_lines = page.lines().zip(checked_in.lines()).take_while(|(new, old)| new == old).count();
    assert!(
        checked_in == page,
        "{PICTURE} is not the module graph of {SOURCE_DIR} (first difference at line {}): \
         regenerate it with `{REGENERATE}` and commit it",
        same_lines + 1
    );
}

/// Where a reference to another module is written.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Site {
    file: String,
    line: usize,
    /// The path or macro as written, e.g. `crate::export::Lane` or `stderr_line!`.
    written: String,
}

/// The direct children of one module, and which of them name which.
#[derive(Debug, Default)]
struct Level {
    children: BTreeSet<String>,
    /// `(a, b)`: a file inside child `a` names something inside child `b`.
    edges: BTreeMap<(String, String), BTreeSet<Site>>,
}

/// Every module that has children, the crate root first.
type ModuleGraph = BTreeMap<ModulePath, Level>;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn runtime_module_graph() -> ModuleGraph {
    let source_dir = workspace_root().join(SOURCE_DIR);
    let mut paths = Vec::new();
    rust_files(&source_dir, &mut paths);
    let files = paths
        .into_iter()
        .map(|path| {
            let source = fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
            let relative = path.strip_prefix(&source_dir).expect("a file under the source dir").to_string_lossy();
            (relative.into_owned(), source)
        })
        .collect::<Vec<_>>();
    module_graph(&files).unwrap_or_else(|e| panic!("{e}"))
}

/// The `.rs` files under `dir`, sorted.
fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    let mut entries = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .collect::<Vec<_>>();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            found.push(path);
        }
    }
}

// ---- Reading one file ----

/// What one file says about other modules, before its own module path is known.
#[derive(Debug, Default)]
struct FileScan {
    paths: Vec<WrittenPath>,
    /// `#[path = "file"] mod name;` at the file's top level, as `(name, file)`.
    path_modules: Vec<(String, String)>,
    /// The `macro_rules!` macros the file defines.
    macros: Vec<String>,
    /// Invocations `name!(..)` by bare name, as `(name, line)`.
    macro_calls: Vec<(String, usize)>,
}

/// A path as written, inside the inline modules (`mod tests { .. }`) that enclose it.
#[derive(Debug)]
struct WrittenPath {
    scope: Vec<String>,
    /// Its segments, `crate`, `super` and `self` included.
    segments: Vec<String>,
    /// Within a `use`, where a path may start with a child module's bare name.
    in_use: bool,
    /// The name a `use` binds to it (none for a glob, `as _`, or a path outside a `use`).
    binding: Option<String>,
    line: usize,
}

fn scan_file(source: &str) -> Result<FileScan, String> {
    let tokens = TokenStream::from_str(source).map_err(|e| e.to_string())?;
    let mut scanner = Scanner::default();
    scanner.walk(&tokens.into_iter().collect::<Vec<_>>());
    Ok(scanner.scan)
}

#[derive(Default)]
struct Scanner {
    scan: FileScan,
    /// The inline modules around the tokens being read.
    scope: Vec<String>,
}

impl Scanner {
    /// Reads items and expressions alike: `use` trees, `crate::`/`super::`/`self::` paths, inline
    /// `mod`s (which change what `super` means), `#[path]` modules and `macro_rules!` macros.
    fn walk(&mut self, tokens: &[TokenTree]) {
        let mut path_attribute = None;
        let mut at = 0;
        while at < tokens.len() {
            let rest = &tokens[at..];
            at += match rest {
                [TokenTree::Ident(keyword), next, ..] if keyword == "use" && !is_punct(next, '<') => {
                    let end = rest.iter().position(|token| is_punct(token, ';')).unwrap_or(rest.len());
                    self.use_tree(&rest[1..end], Vec::new());
                    end + 1
                }
                [TokenTree::Ident(keyword), TokenTree::Ident(name), TokenTree::Group(body), ..]
                    if keyword == "mod" && body.delimiter() == Delimiter::Brace =>
                {
                    path_attribute = None;
                    self.scope.push(name.to_string());
                    self.walk(&body.stream().into_iter().collect::<Vec<_>>());
                    self.scope.pop();
                    3
                }
                [TokenTree::Ident(keyword), TokenTree::Ident(name), semicolon, ..]
                    if keyword == "mod" && is_punct(semicolon, ';') =>
                {
                    if let (Some(file), true) = (path_attribute.take(), self.scope.is_empty()) {
                        self.scan.path_modules.push((name.to_string(), file));
                    }
                    3
                }
                [TokenTree::Ident(keyword), bang, TokenTree::Ident(name), ..]
                    if keyword == "macro_rules" && is_punct(bang, '!') =>
                {
                    self.scan.macros.push(name.to_string());
                    3
                }
                [TokenTree::Ident(name), bang, TokenTree::Group(_), ..] if is_punct(bang, '!') => {
                    self.scan.macro_calls.push((name.to_string(), name.span().start().line));
                    2
                }
                [TokenTree::Ident(first), TokenTree::Punct(colon), TokenTree::Punct(colon2), ..]
                    if ["crate", "super", "self"].iter().any(|anchor| first == anchor)
                        && is_path_separator(colon, colon2) =>
                {
                    let (segments, length) = path_segments(rest);
                    let line = first.span().start().line;
                    self.push_path(segments, false, None, line);
                    length
                }
                [hash, TokenTree::Group(attribute), ..] if is_punct(hash, '#') => {
                    path_attribute = path_attribute_value(attribute.stream()).or(path_attribute);
                    2
                }
                [TokenTree::Group(group), ..] => {
                    self.walk(&group.stream().into_iter().collect::<Vec<_>>());
                    1
                }
                [semicolon, ..] if is_punct(semicolon, ';') => {
                    path_attribute = None;
                    1
                }
                _ => 1,
            };
        }
    }

    /// Records each leaf of a use tree (the tokens after `use`, or inside one of its braces),
    /// after the segments of the enclosing braces.
    fn use_tree(&mut self, tokens: &[TokenTree], mut segments: Vec<String>) {
        if segments.is_empty()
            && matches!(tokens, [TokenTree::Punct(a), TokenTree::Punct(b), ..] if is_path_separator(a, b))
        {
            return; // `use ::name`: an extern crate
        }
        let mut at = 0;
        while let Some(token) = tokens.get(at) {
            match token {
                TokenTree::Punct(dollar) if dollar.as_char() == '$' => at += 1, // `$crate`
                TokenTree::Ident(segment) => {
                    segments.push(segment.to_string());
                    let line = segment.span().start().line;
                    match &tokens[at + 1..] {
                        [TokenTree::Punct(a), TokenTree::Punct(b), ..] if is_path_separator(a, b) => at += 3,
                        [TokenTree::Ident(keyword), alias, ..] if keyword == "as" => {
                            let alias = match alias {
                                TokenTree::Ident(alias) if alias != "_" => Some(alias.to_string()),
                                _ => None,
                            };
                            return self.use_leaf(segments, alias, line);
                        }
                        _ => {
                            let binding = segments.last().cloned();
                            return self.use_leaf(segments, binding, line);
                        }
                    }
                }
                TokenTree::Group(group) if group.delimiter() == Delimiter::Brace => {
                    let branches = group.stream().into_iter().collect::<Vec<_>>();
                    for branch in branches.split(|token| is_punct(token, ',')) {
                        self.use_tree(branch, segments.clone());
                    }
                    return;
                }
                TokenTree::Punct(star) if star.as_char() == '*' => {
                    return self.push_path(segments, true, None, star.span().start().line);
                }
                // Not a use tree (e.g. `use $path;` in a macro): nothing to record.
                _ => return,
            }
        }
    }

    /// A leaf `a::b::c [as d]`; `a::b::{self}` names `a::b` and binds `b`.
    fn use_leaf(&mut self, mut segments: Vec<String>, mut binding: Option<String>, line: usize) {
        if segments.last().is_some_and(|last| last == "self") {
            segments.pop();
            if binding.as_deref() == Some("self") {
                binding = segments.last().cloned();
            }
        }
        self.push_path(segments, true, binding, line);
    }

    fn push_path(&mut self, segments: Vec<String>, in_use: bool, binding: Option<String>, line: usize) {
        if !segments.is_empty() {
            self.scan.paths.push(WrittenPath { scope: self.scope.clone(), segments, in_use, binding, line });
        }
    }
}

fn is_punct(token: &TokenTree, expected: char) -> bool {
    matches!(token, TokenTree::Punct(punct) if punct.as_char() == expected)
}

fn is_path_separator(first: &Punct, second: &Punct) -> bool {
    first.as_char() == ':' && first.spacing() == Spacing::Joint && second.as_char() == ':'
}

/// The segments of the path `a::b::c` at the start of `tokens`, and how many tokens it spans.
fn path_segments(tokens: &[TokenTree]) -> (Vec<String>, usize) {
    let mut segments = Vec::new();
    let mut at = 0;
    while let Some(TokenTree::Ident(segment)) = tokens.get(at) {
        segments.push(segment.to_string());
        match &tokens[at + 1..] {
            [TokenTree::Punct(a), TokenTree::Punct(b), TokenTree::Ident(_), ..] if is_path_separator(a, b) => at += 3,
            _ => return (segments, at + 1),
        }
    }
    (segments, at.max(1))
}

/// `"file.rs"` from the inside of `#[path = "file.rs"]`.
fn path_attribute_value(attribute: TokenStream) -> Option<String> {
    match &attribute.into_iter().collect::<Vec<_>>()[..] {
        [TokenTree::Ident(name), equals, TokenTree::Literal(value)] if name == "path" && is_punct(equals, '=') => {
            Some(value.to_string().strip_prefix('"')?.strip_suffix('"')?.to_owned())
        }
        _ => None,
    }
}

// ---- The crate: modules, names, references ----

/// The files of a crate, mapped to modules, and the names their `use` declarations bind.
struct Crate {
    /// `(file as shown, its module, what it says)`.
    files: Vec<(String, ModulePath, FileScan)>,
    /// Every module that is a file, with its ancestors.
    modules: BTreeSet<ModulePath>,
    /// `(module, name)` to the path a `use` in that module binds the name to.
    imports: BTreeMap<(ModulePath, String), Vec<String>>,
    /// The module defining each `macro_rules!` macro that only one module defines.
    macro_homes: BTreeMap<String, ModulePath>,
}

/// `export/lane.rs` is `export::lane`, `export/mod.rs` is `export`, `lib.rs` the crate root.
fn module_of_file(relative: &str) -> ModulePath {
    let mut module: ModulePath = relative.trim_end_matches(".rs").split('/').map(str::to_owned).collect();
    if module.last().is_some_and(|last| last == "mod") || module == ["lib"] {
        module.pop();
    }
    module
}

impl Crate {
    /// `files` are `(path relative to the source dir, source)`.
    fn new(files: &[(String, String)]) -> Result<Self, String> {
        let mut scanned = Vec::new();
        for (relative, source) in files {
            let scan = scan_file(source).map_err(|e| format!("{SOURCE_DIR}/{relative}: {e}"))?;
            scanned.push((relative.clone(), module_of_file(relative), scan));
        }
        // `#[path = "file"] mod name;` is relative to the declaring file's folder.
        let renamed = scanned
            .iter()
            .flat_map(|(relative, module, scan)| {
                let folder = Path::new(relative).parent().unwrap_or(Path::new(""));
                scan.path_modules
                    .iter()
                    .map(move |(name, file)| (folder.join(file), [module.clone(), vec![name.clone()]].concat()))
            })
            .collect::<BTreeMap<_, _>>();
        for (relative, module, _) in &mut scanned {
            if let Some(declared) = renamed.get(Path::new(relative.as_str())) {
                *module = declared.clone();
            }
        }
        let modules = scanned
            .iter()
            .flat_map(|(_, module, _)| (0..=module.len()).map(|length| module[..length].to_vec()))
            .collect::<BTreeSet<_>>();

        let mut defining = BTreeMap::<_, BTreeSet<_>>::new();
        for (_, module, scan) in &scanned {
            for name in &scan.macros {
                defining.entry(name.clone()).or_default().insert(module.clone());
            }
        }
        let macro_homes = defining
            .into_iter()
            .filter(|(_, homes)| homes.len() == 1)
            .filter_map(|(name, homes)| Some((name, homes.into_iter().next()?)))
            .collect();

        let mut krate = Crate { files: Vec::new(), modules, imports: BTreeMap::new(), macro_homes };
        for (_, module, scan) in &scanned {
            for path in &scan.paths {
                let context = [module.clone(), path.scope.clone()].concat();
                if let (Some(binding), Some(absolute)) = (&path.binding, krate.absolute(&context, path)) {
                    krate.imports.insert((context, binding.clone()), absolute);
                }
            }
        }
        krate.files = scanned
            .into_iter()
            .map(|(relative, module, scan)| (format!("{SOURCE_DIR}/{relative}"), module, scan))
            .collect();
        Ok(krate)
    }

    /// The path from the crate root that `path` names in module `context`, if it is in this crate.
    fn absolute(&self, context: &[String], path: &WrittenPath) -> Option<Vec<String>> {
        let (first, rest) = path.segments.split_first()?;
        let mut absolute = match first.as_str() {
            "crate" => Vec::new(),
            "self" => context.to_vec(),
            "super" => context[..context.len().checked_sub(1)?].to_vec(),
            child if path.in_use && self.modules.contains(&[context, &[child.to_owned()]].concat()) => {
                [context, &[child.to_owned()]].concat()
            }
            _ => return None,
        };
        let mut rest = rest.iter().peekable();
        while rest.next_if(|segment| *segment == "super").is_some() {
            absolute.pop()?;
        }
        absolute.extend(rest.cloned());
        Some(absolute)
    }

    /// The module holding what `path` (from the crate root) names: the longest prefix that is a
    /// module, or, when the next segment is a name that module imports, where that name leads.
    fn target(&self, path: &[String], hops: usize) -> ModulePath {
        let length = (0..=path.len()).rev().find(|&length| self.modules.contains(&path[..length])).unwrap_or(0);
        let module = path[..length].to_vec();
        let imported = path.get(length).and_then(|name| self.imports.get(&(module.clone(), name.clone())));
        match imported {
            Some(import) if hops < MAX_REEXPORT_HOPS => self.target(&[import, &path[length + 1..]].concat(), hops + 1),
            _ => module,
        }
    }

    /// Every reference a file makes to a module: `(from, to, where)`.
    fn references(&self) -> Vec<(&ModulePath, ModulePath, Site)> {
        let mut references = Vec::new();
        for (file, module, scan) in &self.files {
            let site = |line, written| Site { file: file.clone(), line, written };
            for path in &scan.paths {
                let context = [module.clone(), path.scope.clone()].concat();
                if let Some(absolute) = self.absolute(&context, path) {
                    references.push((module, self.target(&absolute, 0), site(path.line, path.segments.join("::"))));
                }
            }
            for (name, line) in &scan.macro_calls {
                if let Some(home) = self.macro_homes.get(name) {
                    references.push((module, home.clone(), site(*line, format!("{name}!"))));
                }
            }
        }
        references
    }
}

/// The graph of `files` (`(path relative to the source dir, source)`).
fn module_graph(files: &[(String, String)]) -> Result<ModuleGraph, String> {
    let krate = Crate::new(files)?;
    let mut graph = ModuleGraph::new();
    for module in krate.modules.iter().filter(|module| !module.is_empty()) {
        let (name, parent) = module.split_last().expect("not the root");
        graph.entry(parent.to_vec()).or_default().children.insert(name.clone());
    }
    // A reference makes an edge at one level only: the deepest module holding both ends.
    for (from, to, site) in krate.references() {
        let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
        if let (Some(a), Some(b)) = (from.get(common), to.get(common)) {
            let level = graph.get_mut(&from[..common]).expect("a level with children");
            level.edges.entry((a.clone(), b.clone())).or_default().insert(site);
        }
    }
    Ok(graph)
}

// ---- Cycles ----

/// The level's cycles: its strongly connected components of more than one module (Kosaraju).
fn cycles(level: &Level) -> Vec<Vec<String>> {
    let mut forward = BTreeMap::<&str, Vec<&str>>::new();
    let mut backward = BTreeMap::<&str, Vec<&str>>::new();
    for (a, b) in level.edges.keys() {
        forward.entry(a).or_default().push(b);
        backward.entry(b).or_default().push(a);
    }
    let mut finished = Vec::new();
    let mut seen = BTreeSet::new();
    for child in &level.children {
        visit(child, &forward, &mut seen, &mut finished);
    }
    let mut assigned = BTreeSet::new();
    let mut cycles = Vec::new();
    for child in finished.iter().rev() {
        let mut component = Vec::new();
        visit(child, &backward, &mut assigned, &mut component);
        if component.len() > 1 {
            let mut component = component.into_iter().map(str::to_owned).collect::<Vec<_>>();
            component.sort();
            cycles.push(component);
        }
    }
    cycles.sort();
    cycles
}

/// Depth-first from `node` through modules not yet seen, each pushed after its successors.
fn visit<'a>(
    node: &'a str,
    successors: &BTreeMap<&'a str, Vec<&'a str>>,
    seen: &mut BTreeSet<&'a str>,
    order: &mut Vec<&'a str>,
) {
    if seen.insert(node) {
        for &next in successors.get(node).into_iter().flatten() {
            visit(next, successors, seen, order);
        }
        order.push(node);
    }
}

fn level_name(level: &[String]) -> String {
    if level.is_empty() {
        "top level".to_owned()
    } else {
        format!("`{}`", level.join("::"))
    }
}

/// Each cycle, with every edge inside it and the lines that make the edge.
fn cycle_report(graph: &ModuleGraph) -> String {
    let mut report = String::new();
    for (path, level) in graph {
        for cycle in cycles(level) {
            let _ = writeln!(report, "cycle at the {}: {}", level_name(path), cycle.join(", "));
            for ((a, b), sites) in level.edges.iter().filter(|((a, b), _)| cycle.contains(a) && cycle.contains(b)) {
                let _ = writeln!(report, "  {a} -> {b}");
                for Site { file, line, written } in sites {
                    let _ = writeln!(report, "    {file}:{line}: {written}");
                }
            }
        }
    }
    report
}

// ---- The picture ----

/// The Markdown page: one Mermaid flowchart for the top level, then one per folder with more
/// than one child; edges inside a cycle in red, and the cycles listed.
fn render(graph: &ModuleGraph) -> String {
    let mut page = format!(
        "# Module graph of `{SOURCE_DIR}`\n\n\
         Generated from the code by `tests/tests/module_graph.rs` (regenerate with `{REGENERATE}`). \
         A module is a top-level file or folder, and each folder's direct children; `a --> b` means \
         a file inside `a` names something inside `b` (a `crate::`, `super::` or `self::` path, a \
         re-export followed to its module, or a macro `b` defines). Edges inside a cycle are red.\n"
    );
    for (path, level) in graph.iter().filter(|(path, level)| path.is_empty() || level.children.len() > 1) {
        let cycles = cycles(level);
        let heading = if path.is_empty() { "Top level".to_owned() } else { level_name(path) };
        let _ = write!(page, "\n## {heading}\n\n```mermaid\nflowchart TD\n");
        for child in &level.children {
            let _ = writeln!(page, "    m_{child}[\"{child}\"]");
        }
        let mut in_cycle = Vec::new();
        for (index, (a, b)) in level.edges.keys().enumerate() {
            let _ = writeln!(page, "    m_{a} --> m_{b}");
            if cycles.iter().any(|cycle| cycle.contains(a) && cycle.contains(b)) {
                in_cycle.push(index.to_string());
            }
        }
        if !in_cycle.is_empty() {
            let _ = writeln!(page, "    linkStyle {} stroke:red,stroke-width:2px", in_cycle.join(","));
        }
        page.push_str("```\n");
        for cycle in &cycles {
            let _ = writeln!(page, "\nCycle: `{}`.", cycle.join("`, `"));
        }
    }
    page
}

// ---- The tool's own tests, on small crates ----

fn graph_of(files: &[(&str, &str)]) -> ModuleGraph {
    let files = files.iter().map(|(path, source)| (path.to_string(), source.to_string())).collect::<Vec<_>>();
    module_graph(&files).unwrap()
}

/// The edges of one level, as `a -> b`.
fn edges(graph: &ModuleGraph, level: &[&str]) -> Vec<String> {
    let level = level.iter().map(|segment| segment.to_string()).collect::<Vec<_>>();
    graph[&level].edges.keys().map(|(a, b)| format!("{a} -> {b}")).collect()
}

#[test]
fn grouped_use_trees_name_each_module() {
    let graph = graph_of(&[
        ("lib.rs", "mod a; mod b; mod c; mod d; mod e;"),
        ("a.rs", "use crate::{b::{x, y as z}, c::{self, C}};\nuse crate::d::*;"),
        ("b.rs", ""),
        ("c.rs", ""),
        ("d.rs", ""),
        ("e.rs", "// crate::a::x\nconst S: &str = \"crate::a::x\";"),
    ]);
    assert_eq!(edges(&graph, &[]), ["a -> b", "a -> c", "a -> d"]);
    let sites = &graph[&vec![]].edges[&("a".to_owned(), "b".to_owned())];
    let sites = sites.iter().map(|site| format!("{}:{} {}", site.file, site.line, site.written)).collect::<Vec<_>>();
    assert_eq!(sites, ["runtime/src/a.rs:1 crate::b::x", "runtime/src/a.rs:1 crate::b::y"]);
}

#[test]
fn super_and_self_resolve_from_the_enclosing_module() {
    let graph = graph_of(&[
        ("lib.rs", "mod p;"),
        ("p/mod.rs", "mod a; mod b; mod c; pub(crate) use self::b::Thing;"),
        ("p/a.rs", "use super::Thing;\nmod tests { fn f() { super::super::c::g(); } }"),
        ("p/b.rs", "pub(super) fn f() { self::inner(); }"),
        ("p/c.rs", "fn g() { <super::b::T as Default>::default(); }"),
    ]);
    assert_eq!(edges(&graph, &["p"]), ["a -> b", "a -> c", "c -> b"]);
}

#[test]
fn uniform_paths_name_child_modules_in_use_only() {
    let graph = graph_of(&[
        ("lib.rs", "mod p;"),
        ("p/mod.rs", "mod a; mod b; mod c; pub use b::B; use std::fmt;"),
        // `c::X` in a `use` of `p::a` is an extern crate `c`, not the sibling `p::c`.
        ("p/a.rs", "use super::B; use ::b::Extern; use c::X;"),
        ("p/b.rs", ""),
        ("p/c.rs", ""),
    ]);
    assert_eq!(edges(&graph, &["p"]), ["a -> b"]);
}

#[test]
fn dollar_crate_paths_and_macros_are_references() {
    let graph = graph_of(&[
        ("lib.rs", "#[macro_use] mod say; mod a; mod b; mod c; use super::nothing; use $path; crate;"),
        ("say.rs", "macro_rules! say { ($x:expr) => { $crate::b::write($x); use $crate::c::Other; }; }"),
        ("a.rs", "fn f() { say!(1); let x = y != z; }"),
        ("b.rs", "pub fn write(_: u8) {}"),
        ("c.rs", "pub struct Other;"),
    ]);
    assert_eq!(edges(&graph, &[]), ["a -> say", "say -> b", "say -> c"]);
}

#[test]
fn path_attributes_rename_the_module() {
    let graph = graph_of(&[
        ("lib.rs", "#[doc(hidden)]\n#[path = \"private.rs\"]\npub mod __private; mod a;"),
        ("private.rs", "pub use crate::a::X;"),
        ("a.rs", "fn f() { crate::__private::X; }"),
    ]);
    assert_eq!(graph[&vec![]].children.iter().collect::<Vec<_>>(), ["__private", "a"]);
    // `crate::__private::X` is `a::X` re-exported: no edge from `a` to itself.
    assert_eq!(edges(&graph, &[]), ["__private -> a"]);
}

#[test]
fn cycles_are_reported_with_their_lines_and_drawn_red() {
    let graph = graph_of(&[
        ("lib.rs", "mod a; mod b; mod c; mod d;"),
        ("a.rs", "use crate::b::B;"),
        ("b.rs", "\nuse crate::c::C;"),
        ("c.rs", "use crate::a::A; use crate::d::D;"),
        ("d.rs", ""),
    ]);
    assert_eq!(cycles(&graph[&vec![]]), [["a", "b", "c"]]);
    let report = cycle_report(&graph);
    assert!(
        report.starts_with("cycle at the top level: a, b, c\n  a -> b\n    runtime/src/a.rs:1: crate::b::B\n"),
        "{report}"
    );
    assert!(report.contains("  b -> c\n    runtime/src/b.rs:2: crate::c::C\n"), "{report}");
    assert!(!report.contains("-> d"), "{report}");
    let page = render(&graph);
    assert!(page.contains("    m_c --> m_d\n    linkStyle 0,1,2 stroke:red"), "{page}");
    assert!(page.contains("Cycle: `a`, `b`, `c`."), "{page}");
}
