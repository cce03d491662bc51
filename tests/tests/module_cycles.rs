//! No file-level dependency cycles inside a library crate.
//!
//! A file A depends on a file B when A names something defined in B: `use crate::b::X`,
//! `crate::b::X` or `super::b::X` in code, `self::b::X`, a child module's path, or a re-export
//! (`pub use b::X` in `lib.rs` or a `mod.rs`) whose item is defined in B. Re-exports are followed
//! to the file that defines the item, so a facade cannot hide a cycle, and a re-export line is
//! not a dependency of the facade itself. Code in comments is ignored; test modules count (a
//! test that reaches into a sibling is a dependency too).
//!
//! Each library crate's `src/` is walked from `lib.rs` along its `mod` declarations (binary
//! roots such as `main.rs` depend on the library only, through its public API). The graph's
//! strongly connected components with more than one file are the cycles; the test fails naming
//! each with the paths that close it.
//!
//! To guard another crate, add it to [`CRATES`].
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The library crates guarded, relative to the workspace root.
const CRATES: &[&str] = &[
    "crates/retry-policy",
    "crates/signed-webhook",
    "crates/genesys-auth",
    "crates/genesys-messaging",
    "crates/genesys-analytics",
    "crates/genesys-sim",
    "crates/sqs-dlq",
];

#[test]
fn library_crates_have_no_file_level_cycles() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests package sits in the workspace");
    let mut report = Vec::new();
    for krate in CRATES {
        let graph = crate_graph(&root.join(krate).join("src"));
        assert!(
            graph.files.len() > 1,
            "{krate}: the scan found {} file(s); the walk from lib.rs is broken",
            graph.files.len()
        );
        for cycle in graph.cycles() {
            report.push(format!("{krate}: {}", graph.describe(&cycle)));
        }
    }
    assert!(
        report.is_empty(),
        "file-level dependency cycles (move the shared piece to a lower module):\n{}",
        report.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// The graph and its strongly connected components.

/// Files and the dependencies between them, each edge with the path text that made it.
#[derive(Debug, Default)]
struct Graph {
    /// File paths relative to `src/`, indexed by node.
    files: Vec<String>,
    /// `edges[a]`: b → the first path in a that names something of b.
    edges: Vec<BTreeMap<usize, String>>,
}

impl Graph {
    fn node(&mut self, file: &str) -> usize {
        if let Some(i) = self.files.iter().position(|f| f == file) {
            return i;
        }
        self.files.push(file.to_owned());
        self.edges.push(BTreeMap::new());
        self.files.len() - 1
    }

    fn edge(&mut self, from: usize, to: usize, why: &str) {
        if from != to {
            self.edges[from].entry(to).or_insert_with(|| why.to_owned());
        }
    }

    /// Strongly connected components of more than one node (Tarjan), each sorted.
    fn cycles(&self) -> Vec<Vec<usize>> {
        struct Tarjan<'g> {
            graph: &'g Graph,
            index: Vec<Option<usize>>,
            low: Vec<usize>,
            on_stack: Vec<bool>,
            stack: Vec<usize>,
            next: usize,
            found: Vec<Vec<usize>>,
        }
        impl Tarjan<'_> {
            fn visit(&mut self, v: usize) {
                self.index[v] = Some(self.next);
                self.low[v] = self.next;
                self.next += 1;
                self.stack.push(v);
                self.on_stack[v] = true;
                let targets: Vec<usize> = self.graph.edges[v].keys().copied().collect();
                for w in targets {
                    match self.index[w] {
                        None => {
                            self.visit(w);
                            self.low[v] = self.low[v].min(self.low[w]);
                        }
                        Some(iw) if self.on_stack[w] => self.low[v] = self.low[v].min(iw),
                        Some(_) => {}
                    }
                }
                if Some(self.low[v]) == self.index[v] {
                    let mut component = Vec::new();
                    while let Some(w) = self.stack.pop() {
                        self.on_stack[w] = false;
                        component.push(w);
                        if w == v {
                            break;
                        }
                    }
                    if component.len() > 1 {
                        component.sort_unstable();
                        self.found.push(component);
                    }
                }
            }
        }
        let n = self.files.len();
        let mut t = Tarjan {
            graph: self,
            index: vec![None; n],
            low: vec![0; n],
            on_stack: vec![false; n],
            stack: Vec::new(),
            next: 0,
            found: Vec::new(),
        };
        for v in 0..n {
            if t.index[v].is_none() {
                t.visit(v);
            }
        }
        t.found.sort();
        t.found
    }

    /// The files of a component and the edges between them.
    fn describe(&self, component: &[usize]) -> String {
        let names: Vec<&str> = component.iter().map(|&i| self.files[i].as_str()).collect();
        let mut edges = Vec::new();
        for &a in component {
            for (b, why) in &self.edges[a] {
                if component.contains(b) {
                    edges.push(format!("{} -> {} ({why})", self.files[a], self.files[*b]));
                }
            }
        }
        format!("cycle through {}: {}", names.join(", "), edges.join("; "))
    }
}

// ---------------------------------------------------------------------------------------------
// Source scanning: tokens without comments and literals.

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    /// `::`
    PathSep,
    Punct(char),
}

/// Identifiers, `::` and single punctuation; comments, strings, chars and numbers dropped.
/// `$crate` becomes `crate`; raw identifiers lose their `r#`.
fn tokens(src: &str) -> Vec<Tok> {
    let b = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if b[i..].starts_with(b"//") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i..].starts_with(b"/*") {
            let mut depth = 0;
            while i < b.len() {
                if b[i..].starts_with(b"/*") {
                    depth += 1;
                    i += 2;
                } else if b[i..].starts_with(b"*/") {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if let Some(end) = raw_string_end(b, i) {
            i = end;
        } else if c == b'"' || (c == b'b' && b.get(i + 1) == Some(&b'"')) {
            i += if c == b'b' { 2 } else { 1 };
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
        } else if c == b'\'' || (c == b'b' && b.get(i + 1) == Some(&b'\'')) {
            let start = if c == b'b' { i + 1 } else { i };
            // A char literal ('x', '\n', '\u{..}') or a lifetime ('a): a lifetime has no
            // closing quote right after its identifier.
            if b.get(start + 1) == Some(&b'\\') {
                let mut j = start + 2;
                while j < b.len() && b[j] != b'\'' {
                    j += 1;
                }
                i = j + 1;
            } else {
                let ch_len = src[start + 1..].chars().next().map_or(1, char::len_utf8);
                if b.get(start + 1 + ch_len) == Some(&b'\'') {
                    i = start + 2 + ch_len;
                } else {
                    // a lifetime: skip the quote, the identifier follows as a token
                    i = start + 1;
                    let mut j = i;
                    while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
                        j += 1;
                    }
                    i = j;
                }
            }
        } else if c.is_ascii_digit() {
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'.') {
                if b[i] == b'.' && !b.get(i + 1).is_some_and(u8::is_ascii_digit) {
                    break;
                }
                i += 1;
            }
        } else if c.is_ascii_alphabetic() || c == b'_' || c == b'$' || c >= 0x80 {
            let start = i;
            i += 1;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] >= 0x80) {
                i += 1;
            }
            let mut word = &src[start..i];
            if let Some(raw) = word.strip_prefix("r#") {
                word = raw;
            }
            if word == "r" && b.get(i) == Some(&b'#') {
                // r#ident
                let s = i + 1;
                let mut j = s;
                while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
                    j += 1;
                }
                out.push(Tok::Ident(src[s..j].to_owned()));
                i = j;
                continue;
            }
            let word = if word == "$crate" { "crate" } else { word };
            out.push(Tok::Ident(word.to_owned()));
        } else if b[i..].starts_with(b"::") {
            out.push(Tok::PathSep);
            i += 2;
        } else {
            let ch = src[i..].chars().next().unwrap_or(' ');
            out.push(Tok::Punct(ch));
            i += ch.len_utf8();
        }
    }
    out
}

/// The end of a raw string literal (`r"…"`, `r#"…"#`, `br##"…"##`) starting at `i`, if one does.
fn raw_string_end(b: &[u8], i: usize) -> Option<usize> {
    let mut j = i;
    if b.get(j) == Some(&b'b') {
        j += 1;
    }
    if b.get(j) != Some(&b'r') {
        return None;
    }
    // `r` must start a token (not the end of an identifier like `for`)
    if i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_') {
        return None;
    }
    j += 1;
    let mut hashes = 0;
    while b.get(j) == Some(&b'#') {
        hashes += 1;
        j += 1;
    }
    if b.get(j) != Some(&b'"') {
        return None;
    }
    j += 1;
    let closing: Vec<u8> = std::iter::once(b'"')
        .chain(std::iter::repeat_n(b'#', hashes))
        .collect();
    while j < b.len() {
        if b[j..].starts_with(&closing) {
            return Some(j + closing.len());
        }
        j += 1;
    }
    Some(b.len())
}

// ---------------------------------------------------------------------------------------------
// Modules, re-exports and references.

/// A module: the file it lives in (inline modules share their file), its children, its
/// re-exports (name → absolute target path).
#[derive(Debug, Default)]
struct Module {
    file: String,
    children: BTreeMap<String, Vec<String>>,
    reexports: BTreeMap<String, Vec<String>>,
    /// Modules re-exported whole (`pub use x::*`).
    globs: Vec<Vec<String>>,
    /// Names of the items defined in the module's own body.
    items: BTreeSet<String>,
}

/// A path named in a file, already made absolute (segments from the crate root).
#[derive(Debug)]
struct Reference {
    file: String,
    path: Vec<String>,
    text: String,
}

#[derive(Default)]
struct Crate {
    modules: BTreeMap<Vec<String>, Module>,
    references: Vec<Reference>,
    files: BTreeSet<String>,
}

/// The dependency graph of the crate whose sources are in `src` (walked from `lib.rs`).
fn crate_graph(src: &Path) -> Graph {
    let mut krate = Crate::default();
    load_file(&mut krate, src, Path::new("lib.rs"), Vec::new());
    let mut graph = Graph::default();
    for file in &krate.files {
        graph.node(file);
    }
    for r in &krate.references {
        if let Some(target) = krate.resolve(&r.path, 0) {
            let (a, b) = (graph.node(&r.file), graph.node(&target));
            graph.edge(a, b, &r.text);
        }
    }
    graph
}

/// Parses one file as module `module`, then the files of its `mod x;` children.
fn load_file(krate: &mut Crate, src: &Path, rel: &Path, module: Vec<String>) {
    let rel_name = rel.to_string_lossy().replace('\\', "/");
    let Ok(text) = std::fs::read_to_string(src.join(rel)) else {
        return; // a cfg'd-out module without a file
    };
    krate.files.insert(rel_name.clone());
    let toks = tokens(&text);
    // Children declared as files live next to lib.rs/mod.rs, else in a folder named after the file.
    let stem = rel.file_stem().map(|s| s.to_string_lossy().into_owned());
    let dir: PathBuf = match stem.as_deref() {
        Some("lib" | "mod" | "main") => rel.parent().map(Path::to_path_buf).unwrap_or_default(),
        Some(stem) => rel
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default()
            .join(stem),
        None => PathBuf::new(),
    };
    let mut file_children = Vec::new();
    scan(krate, &rel_name, &toks, module.clone(), &mut file_children);
    for (child_module, name) in file_children {
        let as_file = dir.join(format!("{name}.rs"));
        let child_rel = if src.join(&as_file).exists() {
            as_file
        } else {
            dir.join(&name).join("mod.rs")
        };
        load_file(krate, src, &child_rel, child_module);
    }
}

/// Walks a file's tokens: module declarations (inline ones tracked by brace depth), `use`
/// trees, and `crate::`/`super::`/`self::`/child-module paths in code.
fn scan(
    krate: &mut Crate,
    file: &str,
    toks: &[Tok],
    module: Vec<String>,
    file_children: &mut Vec<(Vec<String>, String)>,
) {
    krate.modules.entry(module.clone()).or_default().file = file.to_owned();
    // Children first, so that a `use child::X` above `mod child;` still resolves.
    let mut depth = 0usize;
    for (k, t) in toks.iter().enumerate() {
        match t {
            Tok::Punct('{') => depth += 1,
            Tok::Punct('}') => depth = depth.saturating_sub(1),
            Tok::Ident(w) if w == "mod" && depth == 0 => {
                if let Some(Tok::Ident(name)) = toks.get(k + 1) {
                    let mut child = module.clone();
                    child.push(name.clone());
                    let m = krate.modules.entry(module.clone()).or_default();
                    m.children.insert(name.clone(), child);
                }
            }
            _ => {}
        }
    }
    // (module path, brace depth at which its body closes)
    let mut stack: Vec<(Vec<String>, usize)> = vec![(module, usize::MAX)];
    let mut depth = 0usize;
    let mut i = 0;
    while i < toks.len() {
        let current = stack.last().map(|(m, _)| m.clone()).unwrap_or_default();
        match &toks[i] {
            Tok::Punct('{') => {
                depth += 1;
                i += 1;
            }
            Tok::Punct('}') => {
                if stack.last().is_some_and(|(_, d)| *d == depth) {
                    stack.pop();
                }
                depth = depth.saturating_sub(1);
                i += 1;
            }
            Tok::Ident(w) if w == "mod" => {
                if let (Some(Tok::Ident(name)), Some(next)) = (toks.get(i + 1), toks.get(i + 2)) {
                    let mut child = current.clone();
                    child.push(name.clone());
                    krate
                        .modules
                        .entry(current.clone())
                        .or_default()
                        .children
                        .insert(name.clone(), child.clone());
                    match next {
                        Tok::Punct(';') => file_children.push((child, name.clone())),
                        Tok::Punct('{') => {
                            krate.modules.entry(child.clone()).or_default().file = file.to_owned();
                            depth += 1;
                            stack.push((child, depth));
                            i += 3;
                            continue;
                        }
                        _ => {}
                    }
                    i += 3;
                } else {
                    i += 1;
                }
            }
            Tok::Ident(w) if w == "use" => {
                // `pub use` / `pub(crate) use` re-export; a plain `use` is a dependency.
                let public = i > 0
                    && (matches!(&toks[i - 1], Tok::Ident(p) if p == "pub")
                        || matches!(&toks[i - 1], Tok::Punct(')')));
                let mut j = i + 1;
                let mut leaves = Vec::new();
                use_tree(toks, &mut j, Vec::new(), &mut leaves);
                for (path, alias) in leaves {
                    let Some(abs) = krate.absolute(&current, &path) else {
                        continue;
                    };
                    let m = krate.modules.entry(current.clone()).or_default();
                    if !public {
                        let text = format!("use {}", path.join("::"));
                        krate.references.push(Reference {
                            file: file.to_owned(),
                            path: abs,
                            text,
                        });
                    } else if path.last().is_some_and(|l| l == "*") {
                        m.globs.push(abs[..abs.len() - 1].to_vec());
                    } else if let Some(name) = alias.or_else(|| path.last().cloned())
                        && name != "self"
                    {
                        m.reexports.insert(name, abs);
                    }
                }
                i = j;
            }
            Tok::Ident(w)
                if matches!(
                    w.as_str(),
                    "struct" | "enum" | "trait" | "fn" | "type" | "const" | "static" | "union"
                ) && stack.last().is_some_and(|(_, d)| body_depth(*d) == depth) =>
            {
                if let Some(Tok::Ident(name)) = toks.get(i + 1) {
                    let m = krate.modules.entry(current.clone()).or_default();
                    m.items.insert(name.clone());
                }
                i += 1;
            }
            Tok::Ident(w) if toks.get(i + 1) == Some(&Tok::PathSep) && !after_path_sep(toks, i) => {
                let mut path = vec![w.clone()];
                let mut j = i + 1;
                while toks.get(j) == Some(&Tok::PathSep) {
                    match toks.get(j + 1) {
                        Some(Tok::Ident(seg)) => {
                            path.push(seg.clone());
                            j += 2;
                        }
                        _ => break,
                    }
                }
                if let Some(abs) = krate.absolute(&current, &path) {
                    krate.references.push(Reference {
                        file: file.to_owned(),
                        path: abs,
                        text: path.join("::"),
                    });
                }
                i = j.max(i + 1);
            }
            _ => i += 1,
        }
    }
}

/// The brace depth of a module's items: 0 for a file's top level, the inline module's own.
fn body_depth(closing: usize) -> usize {
    if closing == usize::MAX { 0 } else { closing }
}

fn after_path_sep(toks: &[Tok], i: usize) -> bool {
    i > 0 && toks[i - 1] == Tok::PathSep
}

/// Expands a use tree starting at `toks[*j]` into (path, alias) leaves; stops after the `;`.
fn use_tree(
    toks: &[Tok],
    j: &mut usize,
    prefix: Vec<String>,
    out: &mut Vec<(Vec<String>, Option<String>)>,
) {
    let mut path = prefix;
    loop {
        match toks.get(*j) {
            Some(Tok::PathSep) => *j += 1,
            Some(Tok::Ident(w)) if w == "as" => {
                let alias = match toks.get(*j + 1) {
                    Some(Tok::Ident(a)) => Some(a.clone()),
                    _ => None,
                };
                *j += 2;
                out.push((path, alias));
                return finish_leaf(toks, j);
            }
            Some(Tok::Ident(w)) => {
                path.push(w.clone());
                *j += 1;
            }
            Some(Tok::Punct('*')) => {
                path.push("*".to_owned());
                *j += 1;
            }
            Some(Tok::Punct('{')) => {
                *j += 1;
                loop {
                    match toks.get(*j) {
                        Some(Tok::Punct('}')) => {
                            *j += 1;
                            break;
                        }
                        Some(Tok::Punct(',')) => *j += 1,
                        None => return,
                        Some(_) => use_tree_item(toks, j, path.clone(), out),
                    }
                }
                return finish_leaf(toks, j);
            }
            _ => {
                if !path.is_empty() {
                    out.push((path, None));
                }
                return finish_leaf(toks, j);
            }
        }
    }
}

/// One item inside `{…}`: stops before the `,` or `}` that ends it.
fn use_tree_item(
    toks: &[Tok],
    j: &mut usize,
    prefix: Vec<String>,
    out: &mut Vec<(Vec<String>, Option<String>)>,
) {
    let mut path = prefix;
    loop {
        match toks.get(*j) {
            Some(Tok::PathSep) => *j += 1,
            Some(Tok::Ident(w)) if w == "as" => {
                let alias = match toks.get(*j + 1) {
                    Some(Tok::Ident(a)) => Some(a.clone()),
                    _ => None,
                };
                *j += 2;
                out.push((path, alias));
                return;
            }
            Some(Tok::Ident(w)) => {
                path.push(w.clone());
                *j += 1;
            }
            Some(Tok::Punct('*')) => {
                path.push("*".to_owned());
                *j += 1;
            }
            Some(Tok::Punct('{')) => {
                *j += 1;
                loop {
                    match toks.get(*j) {
                        Some(Tok::Punct('}')) => {
                            *j += 1;
                            return;
                        }
                        Some(Tok::Punct(',')) => *j += 1,
                        None => return,
                        Some(_) => use_tree_item(toks, j, path.clone(), out),
                    }
                }
            }
            _ => {
                out.push((path, None));
                return;
            }
        }
    }
}

/// Within a top-level use: the `;` ends it.
fn finish_leaf(toks: &[Tok], j: &mut usize) {
    if toks.get(*j) == Some(&Tok::Punct(';')) {
        *j += 1;
    }
}

impl Crate {
    /// `path` as seen from module `current`, made absolute; `None` for other crates and for
    /// first segments that are neither `crate`/`self`/`super` nor a child module.
    fn absolute(&self, current: &[String], path: &[String]) -> Option<Vec<String>> {
        let first = path.first()?;
        let mut base: Vec<String> = current.to_vec();
        let mut rest = path;
        match first.as_str() {
            "crate" => {
                base.clear();
                rest = &path[1..];
            }
            "self" => rest = &path[1..],
            "super" => {
                while rest.first().is_some_and(|s| s == "super") {
                    base.pop();
                    rest = &rest[1..];
                }
            }
            _ => {
                let child = self
                    .modules
                    .get(current)
                    .is_some_and(|m| m.children.contains_key(first));
                if !child {
                    return None;
                }
            }
        }
        base.extend(rest.iter().cloned());
        Some(base)
    }

    /// The file that defines what an absolute path names: modules are descended, re-exports
    /// followed (glob ones too, to a module that has the name), an item is its module's file.
    fn resolve(&self, path: &[String], hops: usize) -> Option<String> {
        if hops > 16 {
            return None;
        }
        let mut module: Vec<String> = Vec::new();
        for (k, seg) in path.iter().enumerate() {
            let m = self.modules.get(&module)?;
            if let Some(child) = m.children.get(seg) {
                module = child.clone();
                continue;
            }
            if let Some(target) = m.reexports.get(seg) {
                let mut full = target.clone();
                full.extend(path[k + 1..].iter().cloned());
                return self.resolve(&full, hops + 1);
            }
            if !m.items.contains(seg) {
                for glob in &m.globs {
                    if self.modules.get(glob).is_some_and(|g| g.has(seg)) {
                        let mut full = glob.clone();
                        full.extend(path[k..].iter().cloned());
                        return self.resolve(&full, hops + 1);
                    }
                }
            }
            return Some(m.file.clone());
        }
        self.modules.get(&module).map(|m| m.file.clone())
    }
}

impl Module {
    fn has(&self, name: &str) -> bool {
        self.items.contains(name)
            || self.reexports.contains_key(name)
            || self.children.contains_key(name)
    }
}

// ---------------------------------------------------------------------------------------------
// The guard's own tests: a cycle must be found, and only a cycle.

#[cfg(test)]
mod finder {
    use super::*;

    fn graph(n: usize, edges: &[(usize, usize)]) -> Graph {
        let mut g = Graph::default();
        for i in 0..n {
            g.node(&format!("f{i}.rs"));
        }
        for &(a, b) in edges {
            g.edge(a, b, "x");
        }
        g
    }

    #[test]
    fn finds_cycles_and_only_cycles() {
        assert!(
            graph(4, &[(0, 1), (1, 2), (2, 3), (0, 3)])
                .cycles()
                .is_empty()
        );
        assert_eq!(graph(2, &[(0, 1), (1, 0)]).cycles(), vec![vec![0, 1]]);
        // two separate cycles and a tail
        let g = graph(6, &[(0, 1), (1, 2), (2, 0), (2, 3), (4, 5), (5, 4)]);
        assert_eq!(g.cycles(), vec![vec![0, 1, 2], vec![4, 5]]);
        // a self-reference is not a cycle between files
        assert!(graph(1, &[(0, 0)]).cycles().is_empty());
        let described = g.describe(&[4, 5]);
        assert!(described.contains("f4.rs -> f5.rs"), "{described}");
    }

    fn write(dir: &Path, files: &[(&str, &str)]) {
        for (name, text) in files {
            let path = dir.join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
    }

    fn cycles_of(files: &[(&str, &str)]) -> Vec<String> {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), files);
        let g = crate_graph(dir.path());
        g.cycles().iter().map(|c| g.describe(c)).collect()
    }

    #[test]
    fn a_cycle_through_a_root_reexport_is_found() {
        let found = cycles_of(&[
            ("lib.rs", "mod a;\nmod b;\npub use a::Shared;\n"),
            ("a.rs", "use crate::b::helper;\npub struct Shared;\n"),
            (
                "b.rs",
                "/// uses crate::Shared\npub fn helper(_: &crate::Shared) {}\n",
            ),
        ]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].contains("a.rs -> b.rs (use crate::b::helper)"),
            "{found:?}"
        );
        assert!(
            found[0].contains("b.rs -> a.rs (crate::Shared)"),
            "{found:?}"
        );
    }

    #[test]
    fn super_paths_groups_and_mod_folders_are_followed() {
        let found = cycles_of(&[
            ("lib.rs", "pub mod area;\n"),
            ("area/mod.rs", "mod x;\nmod y;\npub use y::Y;\n"),
            ("area/x.rs", "use super::{Y, other::Z};\npub struct X;\n"),
            (
                "area/y.rs",
                "pub struct Y;\nfn f() -> super::x::X { todo!() }\n",
            ),
        ]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].contains("area/x.rs"), "{found:?}");
        assert!(found[0].contains("area/y.rs"), "{found:?}");
    }

    #[test]
    fn comments_strings_tests_and_lower_modules_do_not_make_cycles() {
        let found = cycles_of(&[
            ("lib.rs", "mod types;\nmod a;\nmod b;\npub use types::T;\n"),
            ("types.rs", "pub struct T;\n"),
            (
                "a.rs",
                "use crate::T;\n// crate::b::f\nconst S: &str = \"crate::b::f\";\n",
            ),
            (
                "b.rs",
                "use crate::types::T;\npub fn f(_: T) {}\n#[cfg(test)]\nmod tests {\n    use super::*;\n}\n",
            ),
        ]);
        assert!(found.is_empty(), "{found:?}");
        // a test module reaching into a sibling is a dependency too
        let found = cycles_of(&[
            ("lib.rs", "mod a;\nmod b;\n"),
            ("a.rs", "pub fn a() { crate::b::b() }\n"),
            (
                "b.rs",
                "pub fn b() {}\n#[cfg(test)]\nmod tests {\n    use crate::a::a;\n}\n",
            ),
        ]);
        assert_eq!(found.len(), 1, "{found:?}");
    }

    #[test]
    fn tokens_skip_literals_and_keep_lifetimes_out() {
        let toks = tokens("fn f<'a>(x: &'a str) -> char { let _ = r#\"crate::x\"#; '\\'' }");
        assert!(!toks.contains(&Tok::Ident("crate".into())), "{toks:?}");
        assert!(toks.contains(&Tok::Ident("str".into())));
    }
}
