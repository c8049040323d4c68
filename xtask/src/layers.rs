//! `cargo xtask layers`: no crate of the workspace has a cycle between its top-level modules,
//! and `ocpp-messages` uses its modules in the layers its crate docs give them.
//!
//! The check reads source text (std only, nothing is compiled). A crate's top-level modules
//! are the files and folders directly under `src/` (`src/foo.rs`, `src/foo/mod.rs` and every
//! file in `src/foo/` belong to `foo`); `lib.rs` and `main.rs` are the crate root and `src/bin`
//! is outside the module tree, as are `tests/`, `benches/` and `examples/`. Code in `foo` uses
//! `bar` where it names `crate::bar` (or `$crate::bar`), a use-group `crate::{bar, ...}`,
//! `super::bar` from `foo`'s own level, or `bar` through the crate's own name
//! (`ocpp_messages::bar` under `extern crate self as ocpp_messages;`). A root item imported
//! into the crate root (`pub use bar::Name;`, `pub use bar::{Name, Other};`,
//! `pub use bar::baz::Name as Alias;`) stands for `bar`. Comments and literals are skipped.
//! The root itself is not a module of the graph: what it declares and re-exports makes no
//! edge, and an item defined in it is no module's dependency.
//!
//! A crate whose root docs carry a layer table (required for the crates in [`LAYERED`]) is
//! also checked against it:
//!
//! ```text
//! //! | layer | modules | what it holds |
//! //! |---|---|---|
//! //! | 1 | `spec` | version names, error codes |
//! //! | 8 | `v1_6`, `v2_0_1`, `v2_1` | the generated version modules |
//! ```
//!
//! Every top-level module is in exactly one row, layer numbers increase from row to row, and a
//! module uses only modules of its own layer or below. `__private` (the hidden facade of the
//! generated code) is exempt from the layer rule and from the table, but not from the cycle
//! check.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::Path;

use crate::Result;

/// The crates (by folder) whose root must carry a layer table.
pub const LAYERED: &[&str] = &["ocpp-messages"];

/// The header line of the layer table in a crate root's docs, exactly.
pub const TABLE_HEADER: &str = "//! | layer | modules | what it holds |";

/// Modules exempt from the layer table and the layer rule (not from the cycle check).
const EXEMPT: &[&str] = &["__private"];

/// Beyond this many elementary cycles in one crate, the report shows the shortest cycle
/// through each edge that lies on a cycle instead of every cycle.
const CYCLE_LIMIT: usize = 100;

/// Runs the check over the workspace at `root`: prints `layers: ok (N crates, M modules)`, or
/// fails with one line per problem.
pub fn run(root: &Path) -> Result<()> {
    println!("{}", check_workspace(root)?);
    Ok(())
}

/// Checks every crate of the workspace at `root`; returns the summary line on success.
fn check_workspace(root: &Path) -> Result<String> {
    let crates = load_workspace(root)?;
    let mut problems = Vec::new();
    let mut modules = 0;
    for krate in &crates {
        let report = check(krate, LAYERED.contains(&krate.label.as_str()));
        modules += report.modules;
        problems.extend(report.problems);
    }
    if problems.is_empty() {
        Ok(format!(
            "layers: ok ({} crates, {modules} modules)",
            crates.len()
        ))
    } else {
        Err(format!(
            "module layering is broken:\n  {}\nthe rules are in the docs of xtask/src/layers.rs",
            problems.join("\n  ")
        ))
    }
}

/// One crate's sources as the check sees them.
#[derive(Debug, Clone)]
pub struct CrateSources {
    /// How the report names the crate: its folder under the workspace root (`ocpp-messages`).
    pub label: String,
    /// The crate's name in paths (`ocpp_messages`).
    pub crate_name: String,
    /// Every `.rs` file under `src/`: its path relative to `src/` with `/` separators, and its
    /// text.
    pub files: Vec<(String, String)>,
}

/// What the check found in one crate.
#[derive(Debug, Default)]
pub struct Report {
    /// How many top-level modules the crate has.
    pub modules: usize,
    /// One line per problem, in a stable order.
    pub problems: Vec<String>,
}

/// Where a source file sits in the crate's module tree.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Place {
    /// `lib.rs` or `main.rs`.
    Root,
    /// A file of the top-level module `name`, `depth` modules below the root (`foo.rs` and
    /// `foo/mod.rs` are 1, `foo/bar.rs` is 2).
    Module { name: String, depth: usize },
    /// Outside the module tree (`src/bin`, files that are not Rust).
    Outside,
}

/// Places the file at `rel` (relative to `src/`).
fn place(rel: &str) -> Place {
    let parts: Vec<&str> = rel.split('/').collect();
    if !rel.ends_with(".rs") || (parts.len() > 1 && parts[0] == "bin") {
        return Place::Outside;
    }
    if parts.len() == 1 && (rel == "lib.rs" || rel == "main.rs") {
        return Place::Root;
    }
    let name = parts[0].strip_suffix(".rs").unwrap_or(parts[0]).to_owned();
    let depth = parts.len() - usize::from(parts.len() > 1 && parts[parts.len() - 1] == "mod.rs");
    Place::Module { name, depth }
}

/// Checks one crate: its cycles, and its layer table when it has one or `layered` says it
/// must.
pub fn check(krate: &CrateSources, layered: bool) -> Report {
    let mut files: Vec<(&str, &str, Place)> = krate
        .files
        .iter()
        .map(|(rel, text)| (rel.as_str(), text.as_str(), place(rel)))
        .filter(|(_, _, kind)| *kind != Place::Outside)
        .collect();
    files.sort_by(|a, b| a.0.cmp(b.0));
    let modules: BTreeSet<String> = files
        .iter()
        .filter_map(|(_, _, kind)| match kind {
            Place::Module { name, .. } => Some(name.clone()),
            _ => None,
        })
        .collect();

    let mut self_names = BTreeSet::from([krate.crate_name.clone()]);
    let mut imports: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut roots = Vec::new();
    for (rel, text, kind) in &files {
        if *kind == Place::Root {
            let tokens = lex(text);
            self_names.extend(self_aliases(&tokens));
            roots.push((*rel, *text, tokens));
        }
    }
    for (_, _, tokens) in &roots {
        for (binding, module) in root_imports(tokens, &modules, &self_names) {
            imports.entry(binding).or_default().insert(module);
        }
    }

    let mut graph = Graph::default();
    for (rel, text, kind) in &files {
        let Place::Module { name, depth } = kind else {
            continue;
        };
        let file = format!("{}/src/{rel}", krate.label);
        for (head, line) in references(&lex(text), *depth, &self_names) {
            let targets: Vec<&String> = if modules.contains(&head) {
                vec![&head]
            } else {
                imports
                    .get(&head)
                    .map(|m| m.iter().collect())
                    .unwrap_or_default()
            };
            for target in targets {
                if target != name {
                    graph.add(name, target, &file, line);
                }
            }
        }
    }

    let mut problems = cycles(&krate.label, &graph);
    let table = roots
        .iter()
        .find_map(|(rel, text, _)| parse_table(text).map(|t| (*rel, t)));
    match table {
        Some((rel, table)) => {
            let file = format!("{}/src/{rel}", krate.label);
            match table {
                Ok(table) => problems.extend(check_layers(&file, &table, &modules, &graph)),
                Err(e) => problems.extend(e.into_iter().map(|e| format!("{file}:{e}"))),
            }
        }
        None if layered => problems.push(format!(
            "{}/src/lib.rs: no layer table; its crate docs need a `{TABLE_HEADER}` table with a \
             row for every top-level module",
            krate.label
        )),
        None => {}
    }
    Report {
        modules: modules.len(),
        problems,
    }
}

/// Where one module names another.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Site {
    /// The file, from the workspace root.
    file: String,
    /// The 1-based line of the name.
    line: usize,
}

/// The module graph of one crate: `from -> to -> every place where from names to`.
#[derive(Debug, Default)]
struct Graph {
    edges: BTreeMap<String, BTreeMap<String, BTreeSet<Site>>>,
}

impl Graph {
    /// Records that `file` names `to` from `from` on `line`.
    fn add(&mut self, from: &str, to: &str, file: &str, line: usize) {
        self.edges
            .entry(from.to_owned())
            .or_default()
            .entry(to.to_owned())
            .or_default()
            .insert(Site {
                file: file.to_owned(),
                line,
            });
    }

    /// The modules `from` uses, in order.
    fn targets(&self, from: &str) -> impl Iterator<Item = &str> {
        self.edges
            .get(from)
            .into_iter()
            .flat_map(|to| to.keys().map(String::as_str))
    }

    /// Where `from` names `to`.
    fn sites(&self, from: &str, to: &str) -> Option<&BTreeSet<Site>> {
        self.edges.get(from).and_then(|to_sites| to_sites.get(to))
    }

    /// Every module reachable from `from` in one step or more.
    fn reachable(&self, from: &str) -> BTreeSet<&str> {
        let mut seen = BTreeSet::new();
        let mut stack: Vec<&str> = self.targets(from).collect();
        while let Some(node) = stack.pop() {
            if seen.insert(node) {
                stack.extend(self.targets(node));
            }
        }
        seen
    }
}

/// One line per cycle of `graph` (`label: a -> b -> a`), then one line per edge on a cycle
/// with the first place it is made.
fn cycles(label: &str, graph: &Graph) -> Vec<String> {
    let nodes: BTreeSet<&str> = graph
        .edges
        .iter()
        .flat_map(|(from, to)| std::iter::once(from.as_str()).chain(to.keys().map(String::as_str)))
        .collect();
    let reach: BTreeMap<&str, BTreeSet<&str>> =
        nodes.iter().map(|&n| (n, graph.reachable(n))).collect();
    // The component of each node that lies on a cycle: the nodes it reaches and is reached by.
    let component = |n: &str| -> BTreeSet<&str> {
        reach[n]
            .iter()
            .copied()
            .filter(|m| reach[m].contains(n))
            .collect()
    };
    let mut found = Vec::new();
    let mut complete = true;
    for &start in &nodes {
        let allowed: BTreeSet<&str> = component(start)
            .into_iter()
            .filter(|&m| m > start)
            .collect();
        if !reach[start].contains(start) {
            continue;
        }
        let mut path = vec![start];
        if !elementary_cycles(graph, &allowed, &mut path, &mut found) {
            complete = false;
            break;
        }
    }
    let mut lines = Vec::new();
    if !complete {
        found = shortest_cycles(graph, &reach);
        lines.push(format!(
            "{label}: more than {CYCLE_LIMIT} module cycles; the shortest through each edge on a \
             cycle:"
        ));
    }
    let mut on_cycles = BTreeSet::new();
    for cycle in &found {
        lines.push(format!("{label}: {} -> {}", cycle.join(" -> "), cycle[0]));
        for (i, from) in cycle.iter().enumerate() {
            on_cycles.insert((*from, cycle[(i + 1) % cycle.len()]));
        }
    }
    for (from, to) in on_cycles {
        if let Some(first) = graph.sites(from, to).and_then(|s| s.iter().next()) {
            let more = graph.sites(from, to).map_or(0, BTreeSet::len) - 1;
            let more = if more > 0 {
                format!(" (and {more} more)")
            } else {
                String::new()
            };
            lines.push(format!(
                "    {}:{}: {from} uses {to}{more}",
                first.file, first.line
            ));
        }
    }
    lines
}

/// Extends `path` (whose first node is the smallest of the cycle) through `allowed` nodes and
/// records every way back to its start. False once more than [`CYCLE_LIMIT`] are found.
fn elementary_cycles<'g>(
    graph: &'g Graph,
    allowed: &BTreeSet<&'g str>,
    path: &mut Vec<&'g str>,
    found: &mut Vec<Vec<&'g str>>,
) -> bool {
    let last = path[path.len() - 1];
    for next in graph.targets(last) {
        if next == path[0] {
            if found.len() == CYCLE_LIMIT {
                return false;
            }
            found.push(path.clone());
        } else if allowed.contains(next) && !path.contains(&next) {
            path.push(next);
            let more = elementary_cycles(graph, allowed, path, found);
            path.pop();
            if !more {
                return false;
            }
        }
    }
    true
}

/// The shortest cycle through each edge that lies on a cycle, each once, rotated to start at
/// its smallest node.
fn shortest_cycles<'g>(
    graph: &'g Graph,
    reach: &BTreeMap<&'g str, BTreeSet<&'g str>>,
) -> Vec<Vec<&'g str>> {
    let mut cycles = BTreeSet::new();
    for (from, targets) in &graph.edges {
        for to in targets.keys() {
            if !reach[to.as_str()].contains(from.as_str()) {
                continue;
            }
            // Breadth-first from `to` back to `from`.
            let mut previous: BTreeMap<&str, &str> = BTreeMap::new();
            let mut queue = VecDeque::from([to.as_str()]);
            while let Some(node) = queue.pop_front() {
                if node == from {
                    break;
                }
                for next in graph.targets(node) {
                    if next != to && !previous.contains_key(next) {
                        previous.insert(next, node);
                        queue.push_back(next);
                    }
                }
            }
            let mut cycle = vec![from.as_str()];
            let mut node = from.as_str();
            while node != to {
                node = previous[node];
                cycle.push(node);
            }
            cycle.reverse();
            cycle.rotate_right(1);
            let smallest = cycle
                .iter()
                .enumerate()
                .min_by_key(|(_, n)| **n)
                .map_or(0, |(i, _)| i);
            cycle.rotate_left(smallest);
            cycles.insert(cycle);
        }
    }
    cycles.into_iter().collect()
}

/// A layer table: its rows in order.
#[derive(Debug, PartialEq, Eq)]
struct Table {
    /// The 1-based line of the header.
    header_line: usize,
    /// Each row's line, layer and modules.
    rows: Vec<Row>,
}

/// One row of a layer table.
#[derive(Debug, PartialEq, Eq)]
struct Row {
    line: usize,
    layer: u32,
    modules: Vec<String>,
}

/// Finds and reads the layer table in a root file: `None` without a header line, or the table,
/// or the problems of its rows (`line: what`).
fn parse_table(text: &str) -> Option<Result<Table, Vec<String>>> {
    let lines: Vec<&str> = text.lines().collect();
    let header = lines.iter().position(|l| l.trim_end() == TABLE_HEADER)?;
    let mut problems = Vec::new();
    let separator = lines.get(header + 1).and_then(|l| cells(l));
    let is_separator = separator.as_ref().is_some_and(|cells| {
        cells.len() == 3
            && cells.iter().all(|c| {
                let dashes = c.trim_matches(':');
                !dashes.is_empty() && dashes.bytes().all(|b| b == b'-')
            })
    });
    if !is_separator {
        return Some(Err(vec![format!(
            "{}: the layer table's header must be followed by a separator row `//! |---|---|---|`",
            header + 2
        )]));
    }
    let mut rows: Vec<Row> = Vec::new();
    for (i, text) in lines.iter().enumerate().skip(header + 2) {
        let Some(cells) = cells(text) else { break };
        let line = i + 1;
        if cells.len() < 3 {
            problems.push(format!(
                "{line}: a layer row needs three cells: `| 1 | `module`, ... | what it holds |`"
            ));
            continue;
        }
        let Ok(layer) = cells[0].parse::<u32>() else {
            problems.push(format!(
                "{line}: `{}` is not a layer number",
                cells[0].replace('`', "")
            ));
            continue;
        };
        let mut modules = Vec::new();
        for name in cells[1].split(',').map(str::trim) {
            match name.strip_prefix('`').and_then(|n| n.strip_suffix('`')) {
                Some(n) if !n.is_empty() && n.chars().all(|c| c == '_' || c.is_alphanumeric()) => {
                    modules.push(n.to_owned());
                }
                _ => problems.push(format!(
                    "{line}: `{}` is not a module name in backticks",
                    name.replace('`', "")
                )),
            }
        }
        if let Some(previous) = rows.last() {
            if layer <= previous.layer {
                problems.push(format!(
                    "{line}: layer {layer} comes after layer {}; layers must increase, one row each",
                    previous.layer
                ));
            }
        }
        rows.push(Row {
            line,
            layer,
            modules,
        });
    }
    if rows.is_empty() {
        problems.push(format!("{}: the layer table has no rows", header + 1));
    }
    Some(if problems.is_empty() {
        Ok(Table {
            header_line: header + 1,
            rows,
        })
    } else {
        Err(problems)
    })
}

/// The cells of a `//! | a | b |` line, trimmed, or `None` for any other line.
fn cells(line: &str) -> Option<Vec<&str>> {
    let inner = line.trim().strip_prefix("//!")?.trim();
    let inner = inner.strip_prefix('|')?.strip_suffix('|')?;
    Some(inner.split('|').map(str::trim).collect())
}

/// The problems of a crate against its layer table in `file`: modules missing from the table or
/// named twice, rows naming no module of the crate, and every use of a higher layer.
fn check_layers(
    file: &str,
    table: &Table,
    modules: &BTreeSet<String>,
    graph: &Graph,
) -> Vec<String> {
    let mut problems = Vec::new();
    let mut layer_of: BTreeMap<&str, u32> = BTreeMap::new();
    for row in &table.rows {
        for name in &row.modules {
            if !modules.contains(name) {
                problems.push(format!(
                    "{file}:{}: the layer table names `{name}`, which is no top-level module",
                    row.line
                ));
            } else if layer_of.insert(name.as_str(), row.layer).is_some() {
                problems.push(format!(
                    "{file}:{}: the layer table names `{name}` a second time",
                    row.line
                ));
            }
        }
    }
    for name in modules {
        if !layer_of.contains_key(name.as_str()) && !EXEMPT.contains(&name.as_str()) {
            problems.push(format!(
                "{file}:{}: the layer table has no row for module `{name}`",
                table.header_line
            ));
        }
    }
    let mut upward = Vec::new();
    for (from, targets) in &graph.edges {
        for (to, sites) in targets {
            if EXEMPT.contains(&from.as_str()) || EXEMPT.contains(&to.as_str()) {
                continue;
            }
            let (Some(&low), Some(&high)) =
                (layer_of.get(from.as_str()), layer_of.get(to.as_str()))
            else {
                continue;
            };
            if high > low {
                for site in sites {
                    upward.push((
                        site.clone(),
                        format!(
                            "{}:{}: {from} (layer {low}) uses {to} (layer {high})",
                            site.file, site.line
                        ),
                    ));
                }
            }
        }
    }
    upward.sort();
    problems.extend(upward.into_iter().map(|(_, line)| line));
    problems
}

/// A token of Rust source, with comments and whitespace gone and every literal one `Literal`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    /// An identifier or keyword (raw identifiers without their `r#`).
    Ident(String),
    /// `::`.
    PathSep,
    /// Any other punctuation character.
    Punct(char),
    /// A string, character or number literal, or a lifetime.
    Literal,
}

/// A token and the 1-based line it starts on.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Token {
    tok: Tok,
    line: usize,
}

/// Splits Rust source into tokens, dropping comments (nested block comments too) and the
/// contents of literals (strings, raw strings, byte and C strings, characters).
fn lex(text: &str) -> Vec<Token> {
    let s: Vec<char> = text.chars().collect();
    let at = |i: usize| s.get(i).copied().unwrap_or('\0');
    let mut out = Vec::new();
    let mut line = 1;
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        let start = line;
        let mut push = |tok: Tok| out.push(Token { tok, line: start });
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c == '/' && at(i + 1) == '/' {
            while i < s.len() && s[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && at(i + 1) == '*' {
            let mut depth = 0;
            while i < s.len() {
                if s[i] == '/' && at(i + 1) == '*' {
                    depth += 1;
                    i += 2;
                } else if s[i] == '*' && at(i + 1) == '/' {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    line += usize::from(s[i] == '\n');
                    i += 1;
                }
            }
        } else if c == '"' {
            i = skip_string(&s, i + 1, &mut line);
            push(Tok::Literal);
        } else if c == '\'' {
            if at(i + 1) == '\\' {
                i += 3;
                while i < s.len() && s[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if at(i + 2) == '\'' {
                line += usize::from(at(i + 1) == '\n');
                i += 3;
            } else {
                // A lifetime or label.
                i += 1;
                while i < s.len() && is_ident_char(s[i]) {
                    i += 1;
                }
            }
            push(Tok::Literal);
        } else if c == '_' || c.is_alphabetic() {
            let begin = i;
            while i < s.len() && is_ident_char(s[i]) {
                i += 1;
            }
            let word: String = s[begin..i].iter().collect();
            let next = at(i);
            let raw_string = matches!(word.as_str(), "r" | "br" | "cr")
                && (next == '"' || (next == '#' && raw_string_opens(&s, i)));
            if raw_string {
                i = skip_raw_string(&s, i, &mut line);
                push(Tok::Literal);
            } else if word == "r" && next == '#' && is_ident_char(at(i + 1)) {
                let begin = i + 1;
                i += 1;
                while i < s.len() && is_ident_char(s[i]) {
                    i += 1;
                }
                push(Tok::Ident(s[begin..i].iter().collect()));
            } else if matches!(word.as_str(), "b" | "c") && next == '"' {
                i = skip_string(&s, i + 1, &mut line);
                push(Tok::Literal);
            } else if word == "b" && next == '\'' {
                // A byte literal: the quote is read next as a character literal.
            } else {
                push(Tok::Ident(word));
            }
        } else if c.is_ascii_digit() {
            while i < s.len() && is_ident_char(s[i]) {
                i += 1;
            }
            push(Tok::Literal);
        } else if c == ':' && at(i + 1) == ':' {
            i += 2;
            push(Tok::PathSep);
        } else {
            i += 1;
            push(Tok::Punct(c));
        }
    }
    out
}

/// Whether `c` may continue an identifier.
fn is_ident_char(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

/// Skips a string's contents from just after its opening quote; returns the index after the
/// closing quote.
fn skip_string(s: &[char], mut i: usize, line: &mut usize) -> usize {
    while i < s.len() {
        match s[i] {
            '\\' => {
                *line += usize::from(s.get(i + 1) == Some(&'\n'));
                i += 2;
            }
            '"' => return i + 1,
            c => {
                *line += usize::from(c == '\n');
                i += 1;
            }
        }
    }
    i
}

/// Whether `#`s at `i` are followed by a quote (a raw string, not a raw identifier).
fn raw_string_opens(s: &[char], mut i: usize) -> bool {
    while s.get(i) == Some(&'#') {
        i += 1;
    }
    s.get(i) == Some(&'"')
}

/// Skips a raw string from its `#`s or opening quote; returns the index after its end.
fn skip_raw_string(s: &[char], mut i: usize, line: &mut usize) -> usize {
    let mut hashes = 0;
    while s.get(i) == Some(&'#') {
        hashes += 1;
        i += 1;
    }
    i += 1;
    while i < s.len() {
        if s[i] == '"' && (1..=hashes).all(|k| s.get(i + k) == Some(&'#')) {
            return i + 1 + hashes;
        }
        *line += usize::from(s[i] == '\n');
        i += 1;
    }
    i
}

/// Keywords that may stand right before a path that starts with `::`.
const KEYWORDS: &[&str] = &[
    "as", "async", "box", "break", "const", "continue", "dyn", "else", "enum", "extern", "fn",
    "for", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref",
    "return", "static", "struct", "trait", "type", "unsafe", "use", "where", "while", "yield",
];

/// Whether the token at `i` begins a path rather than continuing one (`a::b`, `Vec::<T>::b`).
fn starts_path(tokens: &[Token], i: usize) -> bool {
    if i == 0 || tokens[i - 1].tok != Tok::PathSep {
        return true;
    }
    // `::name` is a path from the extern prelude unless a segment stands before the `::`.
    match i.checked_sub(2).map(|j| &tokens[j].tok) {
        Some(Tok::Ident(word)) => KEYWORDS.contains(&word.as_str()),
        Some(Tok::Punct('>')) => false,
        _ => true,
    }
}

/// The identifier at `i`, if that token is one.
fn ident(tokens: &[Token], i: usize) -> Option<&str> {
    match tokens.get(i).map(|t| &t.tok) {
        Some(Tok::Ident(word)) => Some(word),
        _ => None,
    }
}

/// Whether the token at `i` is `tok`.
fn is(tokens: &[Token], i: usize, tok: &Tok) -> bool {
    tokens.get(i).is_some_and(|t| t.tok == *tok)
}

/// The names `extern crate self as name;` gives the crate.
fn self_aliases(tokens: &[Token]) -> Vec<String> {
    tokens
        .windows(5)
        .filter_map(|w| match w.iter().map(|t| &t.tok).collect::<Vec<_>>()[..] {
            [Tok::Ident(e), Tok::Ident(c), Tok::Ident(s), Tok::Ident(a), Tok::Ident(name)]
                if e == "extern" && c == "crate" && s == "self" && a == "as" =>
            {
                Some(name.clone())
            }
            _ => None,
        })
        .collect()
}

/// Every crate-level name a module file refers to, with its line: the first segment after
/// `crate::`, `$crate::`, the crate's own name, or as many `super::` as the file (and the inline
/// modules around the reference) lie below the root. `depth` is the file's depth in the module
/// tree (see [`Place::Module`]).
fn references(
    tokens: &[Token],
    depth: usize,
    self_names: &BTreeSet<String>,
) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    let mut braces = 0usize;
    let mut inline_mods: Vec<usize> = Vec::new();
    for i in 0..tokens.len() {
        match &tokens[i].tok {
            Tok::Punct('{') => {
                braces += 1;
                if i >= 2 && ident(tokens, i - 2) == Some("mod") && ident(tokens, i - 1).is_some() {
                    inline_mods.push(braces);
                }
            }
            Tok::Punct('}') => {
                if inline_mods.last() == Some(&braces) {
                    inline_mods.pop();
                }
                braces = braces.saturating_sub(1);
            }
            Tok::Ident(word) if is(tokens, i + 1, &Tok::PathSep) && starts_path(tokens, i) => {
                let visibility_scope = i >= 2
                    && ident(tokens, i - 1) == Some("in")
                    && is(tokens, i - 2, &Tok::Punct('('));
                if (word == "crate" && !visibility_scope) || self_names.contains(word) {
                    heads(tokens, i + 2, &mut out);
                } else if word == "super" {
                    let mut j = i;
                    let mut up = 0;
                    while ident(tokens, j) == Some("super") && is(tokens, j + 1, &Tok::PathSep) {
                        up += 1;
                        j += 2;
                    }
                    if up == depth + inline_mods.len() {
                        heads(tokens, j, &mut out);
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// The first segment of each path of the use-tree at `i` (`a` for `a::b`; `a` and `b` for
/// `{a, b::c}`), with its line; `self` and globs name none.
fn heads(tokens: &[Token], i: usize, out: &mut Vec<(String, usize)>) {
    match tokens.get(i).map(|t| &t.tok) {
        Some(Tok::Ident(word)) if word != "self" => out.push((word.clone(), tokens[i].line)),
        Some(Tok::Punct('{')) => {
            let mut j = i + 1;
            loop {
                if j >= tokens.len() || is(tokens, j, &Tok::Punct('}')) {
                    return;
                }
                heads(tokens, j, out);
                // On to the next item of this group.
                let mut nesting = 0usize;
                loop {
                    match tokens.get(j).map(|t| &t.tok) {
                        None => return,
                        Some(Tok::Punct('{' | '(' | '[')) => nesting += 1,
                        Some(Tok::Punct('}' | ')' | ']')) => {
                            if nesting == 0 {
                                return;
                            }
                            nesting -= 1;
                        }
                        Some(Tok::Punct(',')) if nesting == 0 => {
                            j += 1;
                            break;
                        }
                        _ => {}
                    }
                    j += 1;
                }
            }
        }
        _ => {}
    }
}

/// What the root's own `use` items bring into the crate root from a top-level module:
/// `(name in the root, module)` for `use foo::Name;`, `pub use foo::{Name, Other};`,
/// `pub use foo::bar::Name as Alias;` (also spelled from `crate::`, `self::` or the crate's
/// name). Items nested in the root's inline modules and functions are not the root's.
fn root_imports(
    tokens: &[Token],
    modules: &BTreeSet<String>,
    self_names: &BTreeSet<String>,
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut braces = 0usize;
    let mut i = 0;
    while i < tokens.len() {
        match &tokens[i].tok {
            Tok::Punct('{') => braces += 1,
            Tok::Punct('}') => braces = braces.saturating_sub(1),
            Tok::Ident(word) if word == "use" && braces == 0 => {
                let mut leaves = Vec::new();
                i = use_tree(tokens, i + 1, Vec::new(), &mut leaves);
                for (path, binding) in leaves {
                    let mut path: &[String] = &path;
                    if path.first().is_some_and(|s| s == "::")
                        && path.get(1).is_some_and(|s| self_names.contains(s))
                    {
                        path = &path[1..];
                    }
                    if path
                        .first()
                        .is_some_and(|s| s == "crate" || s == "self" || self_names.contains(s))
                    {
                        path = &path[1..];
                    }
                    if let (Some(module), Some(binding)) = (path.first(), binding) {
                        if modules.contains(module) {
                            out.push((binding, module.clone()));
                        }
                    }
                }
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    out
}

/// Reads the use-tree at `i` under `prefix` and records each leaf: its full path and the name it
/// binds (`None` for globs and `as _`). Returns the index after the tree.
fn use_tree(
    tokens: &[Token],
    mut i: usize,
    mut path: Vec<String>,
    out: &mut Vec<(Vec<String>, Option<String>)>,
) -> usize {
    loop {
        match tokens.get(i).map(|t| &t.tok) {
            Some(Tok::PathSep) => {
                if path.is_empty() {
                    path.push("::".to_owned());
                }
                i += 1;
            }
            Some(Tok::Ident(word)) => {
                path.push(word.clone());
                i += 1;
                if is(tokens, i, &Tok::PathSep) {
                    continue;
                }
                let mut binding = if word == "self" {
                    path.len().checked_sub(2).map(|k| path[k].clone())
                } else {
                    Some(word.clone())
                };
                if ident(tokens, i) == Some("as") {
                    binding = ident(tokens, i + 1)
                        .filter(|a| *a != "_")
                        .map(str::to_owned);
                    i += 2;
                }
                out.push((path, binding));
                return i;
            }
            Some(Tok::Punct('{')) => {
                i += 1;
                loop {
                    match tokens.get(i).map(|t| &t.tok) {
                        None => return i,
                        Some(Tok::Punct('}')) => return i + 1,
                        Some(Tok::Punct(',')) => i += 1,
                        _ => {
                            let next = use_tree(tokens, i, path.clone(), out);
                            i = if next == i { i + 1 } else { next };
                        }
                    }
                }
            }
            Some(Tok::Punct('*')) => {
                out.push((path, None));
                return i + 1;
            }
            _ => return i,
        }
    }
}

/// Reads the workspace at `root`: every member of the root `Cargo.toml`, and `fuzz/` when it
/// has a `src` folder.
fn load_workspace(root: &Path) -> Result<Vec<CrateSources>> {
    let manifest = read(&root.join("Cargo.toml"))?;
    let mut members = Vec::new();
    for member in workspace_members(&manifest)? {
        match member.strip_suffix("/*") {
            Some(parent) => {
                let mut found: Vec<String> = std::fs::read_dir(root.join(parent))
                    .map_err(|e| format!("cannot read {parent}/: {e}"))?
                    .filter_map(|e| e.ok())
                    .filter(|e| e.path().join("Cargo.toml").is_file())
                    .map(|e| format!("{parent}/{}", e.file_name().to_string_lossy()))
                    .collect();
                found.sort();
                members.extend(found);
            }
            None => members.push(member),
        }
    }
    if root.join("fuzz/src").is_dir() && !members.iter().any(|m| m == "fuzz") {
        members.push("fuzz".to_owned());
    }
    members
        .iter()
        .map(|member| load_crate(root, member))
        .collect()
}

/// The `members` of the `[workspace]` table of a root `Cargo.toml`.
fn workspace_members(manifest: &str) -> Result<Vec<String>> {
    let mut section = "";
    let mut list: Option<String> = None;
    for line in manifest.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        if let Some(list) = list.as_mut() {
            list.push_str(line);
        } else if line.starts_with('[') {
            section = line;
        } else if section == "[workspace]" && key_value(line, "members").is_some() {
            list = key_value(line, "members").map(str::to_owned);
        }
        if list.as_ref().is_some_and(|l| l.contains(']')) {
            break;
        }
    }
    let list = list.ok_or("Cargo.toml: no `members` in `[workspace]`")?;
    let list = list
        .trim()
        .strip_prefix('[')
        .and_then(|l| l.split(']').next())
        .ok_or("Cargo.toml: `members` is not a list")?;
    Ok(list
        .split(',')
        .map(|m| m.trim().trim_matches('"').to_owned())
        .filter(|m| !m.is_empty())
        .collect())
}

/// The value text of `key = value` on a manifest line.
fn key_value<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let rest = line.strip_prefix(key)?.trim_start();
    Some(rest.strip_prefix('=')?.trim())
}

/// The string value of `key` in `[section]` of a manifest.
fn manifest_string(manifest: &str, wanted: &str, key: &str) -> Option<String> {
    let mut section = "";
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            section = line;
        } else if section == wanted {
            if let Some(value) = key_value(line, key) {
                return value.split('"').nth(1).map(str::to_owned);
            }
        }
    }
    None
}

/// Reads the crate in the folder `member` of the workspace at `root`.
fn load_crate(root: &Path, member: &str) -> Result<CrateSources> {
    let dir = root.join(member);
    let manifest = read(&dir.join("Cargo.toml"))?;
    let crate_name = manifest_string(&manifest, "[lib]", "name")
        .or_else(|| manifest_string(&manifest, "[package]", "name"))
        .ok_or_else(|| format!("{member}/Cargo.toml: no package name"))?
        .replace('-', "_");
    let mut files = Vec::new();
    collect_rs(&dir.join("src"), "", &mut files)?;
    Ok(CrateSources {
        label: member.to_owned(),
        crate_name,
        files,
    })
}

/// Adds every `.rs` file under `dir` (its path below the crate's `src/` is `prefix`) to `files`,
/// in sorted order.
fn collect_rs(dir: &Path, prefix: &str, files: &mut Vec<(String, String)>) -> Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
        .filter_map(|e| e.ok())
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        let rel = format!("{prefix}{name}");
        let path = entry.path();
        if path.is_dir() {
            collect_rs(&path, &format!("{rel}/"), files)?;
        } else if name.ends_with(".rs") {
            files.push((rel, read(&path)?));
        }
    }
    Ok(())
}

/// Reads a file, naming it in the error.
fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demo(files: &[(&str, &str)]) -> CrateSources {
        CrateSources {
            label: "demo".to_owned(),
            crate_name: "demo".to_owned(),
            files: files
                .iter()
                .map(|(path, text)| ((*path).to_owned(), (*text).to_owned()))
                .collect(),
        }
    }

    fn problems(files: &[(&str, &str)]) -> Vec<String> {
        check(&demo(files), false).problems
    }

    /// The edges of a crate, `from -> to` with every line.
    fn edges(files: &[(&str, &str)]) -> Vec<String> {
        let krate = demo(files);
        let modules: BTreeSet<String> = files
            .iter()
            .filter_map(|(p, _)| match place(p) {
                Place::Module { name, .. } => Some(name),
                _ => None,
            })
            .collect();
        let self_names = BTreeSet::from(["demo".to_owned()]);
        let root = files
            .iter()
            .find(|(p, _)| *p == "lib.rs")
            .map_or("", |f| f.1);
        let imports: BTreeMap<String, String> = root_imports(&lex(root), &modules, &self_names)
            .into_iter()
            .collect();
        let mut out = Vec::new();
        for (path, text) in &krate.files {
            if let Place::Module { name, depth } = place(path) {
                for (head, line) in references(&lex(text), depth, &self_names) {
                    let to = if modules.contains(&head) {
                        Some(head)
                    } else {
                        imports.get(&head).cloned()
                    };
                    if let Some(to) = to.filter(|to| *to != name) {
                        out.push(format!("{name} -> {to} @{line}"));
                    }
                }
            }
        }
        out
    }

    /// `cargo test --workspace` fails on a module cycle anywhere, or an upward use in
    /// `ocpp-messages`.
    #[test]
    fn workspace_layers_hold() {
        if let Err(e) = run(&crate::project_root()) {
            panic!("{e}");
        }
    }

    #[test]
    fn places_files_in_modules() {
        assert_eq!(place("lib.rs"), Place::Root);
        assert_eq!(place("main.rs"), Place::Root);
        assert_eq!(place("bin/tool.rs"), Place::Outside);
        assert_eq!(place("notes.md"), Place::Outside);
        let module = |name: &str, depth| Place::Module {
            name: name.to_owned(),
            depth,
        };
        assert_eq!(place("a.rs"), module("a", 1));
        assert_eq!(place("a/mod.rs"), module("a", 1));
        assert_eq!(place("a/b.rs"), module("a", 2));
        assert_eq!(place("a/b/mod.rs"), module("a", 2));
        assert_eq!(place("a/b/c.rs"), module("a", 3));
    }

    #[test]
    fn finds_a_cycle_and_its_edges() {
        let found = problems(&[
            ("lib.rs", "mod a; mod b; mod c;"),
            ("a.rs", "use crate::b::B;\n"),
            ("b/mod.rs", "mod inner;"),
            ("b/inner.rs", "\n\nfn f() { crate::c::g() }"),
            ("c.rs", "pub fn g() { let _ = crate::a::A; }\nuse crate::a;"),
        ]);
        assert_eq!(
            found,
            [
                "demo: a -> b -> c -> a",
                "    demo/src/a.rs:1: a uses b",
                "    demo/src/b/inner.rs:3: b uses c",
                "    demo/src/c.rs:1: c uses a (and 1 more)",
            ]
        );
        assert!(problems(&[("a.rs", "use crate::b;"), ("b.rs", "use crate::c;")]).is_empty());
    }

    #[test]
    fn reports_every_cycle() {
        let found = problems(&[
            ("a.rs", "use crate::{b, c};"),
            ("b.rs", "use crate::a;"),
            ("c.rs", "use crate::b;"),
        ]);
        assert_eq!(found[0], "demo: a -> b -> a");
        assert_eq!(found[1], "demo: a -> c -> b -> a");
        // Then one line per edge on a cycle: a -> b, a -> c, b -> a, c -> b.
        assert_eq!(found.len(), 2 + 4);
    }

    #[test]
    fn __private_takes_part_in_cycles() {
        let found = problems(&[
            ("__private.rs", "pub use crate::codec::Int;"),
            ("codec.rs", "use crate::__private::Helper;"),
        ]);
        assert_eq!(found[0], "demo: __private -> codec -> __private");
    }

    #[test]
    fn skips_comments_and_literals() {
        let text = r####"
            // crate::b
            /// crate::b
            //! crate::b
            /* crate::b /* nested crate::b */ crate::b */
            const S: &str = "crate::b \" crate::b";
            const R: &str = r#"crate::b " crate::b"#;
            const B: &[u8] = br##"crate::b"##;
            const Q: char = '"'; fn f<'a>(x: &'a str) -> char { '\'' }
            const E: u8 = b'"';
            use crate::c; // the only edge
        "####;
        assert_eq!(
            edges(&[("a.rs", text), ("b.rs", ""), ("c.rs", "")]),
            ["a -> c @11"]
        );
    }

    #[test]
    fn use_groups_give_an_edge_per_module() {
        let text = "use crate::{\n    self as root,\n    b,\n    c::d::{e, f},\n    *,\n};";
        assert_eq!(
            edges(&[("a.rs", text), ("b.rs", ""), ("c.rs", "")]),
            ["a -> b @3", "a -> c @4"]
        );
        let nested = "use crate::{b::{x, y}, {c}};";
        assert_eq!(
            edges(&[("a.rs", nested), ("b.rs", ""), ("c.rs", "")]),
            ["a -> b @1", "a -> c @1"]
        );
    }

    #[test]
    fn resolves_super_and_self_references() {
        let files = [
            ("lib.rs", "extern crate self as demo;"),
            (
                "a.rs",
                "use super::b;\nfn f() { ::demo::c::g(); demo::d::h(); $crate::e::i(); }\n\
                 mod tests { use super::b; use super::super::f; }\n\
                 fn g() { x::demo::b(); Vec::<u8>::demo::c(); }",
            ),
            ("a/inner.rs", "use super::b; use super::super::g;"),
            ("b.rs", ""),
            ("c.rs", ""),
            ("d.rs", ""),
            ("e.rs", ""),
            ("f.rs", ""),
            ("g.rs", ""),
        ];
        assert_eq!(
            edges(&files),
            [
                "a -> b @1",
                "a -> c @2",
                "a -> d @2",
                "a -> e @2",
                "a -> f @3",
                "a -> g @1"
            ]
        );
    }

    #[test]
    fn ignores_visibility_scopes_and_inner_paths() {
        let text = "pub(in crate::b) fn f() {}\nfn g() { other::crate_like::c(); }";
        assert!(edges(&[("a.rs", text), ("b.rs", ""), ("c.rs", "")]).is_empty());
    }

    #[test]
    fn resolves_root_reexports() {
        let lib = "extern crate self as demo;\n\
                   mod a; mod b; mod c;\n\
                   pub use a::{Name, Other};\n\
                   pub use self::b::inner::Thing as Alias;\n\
                   use crate::b::{self as bee, Hidden};\n\
                   pub use other_crate::Outside;\n\
                   pub mod facade { pub use crate::b::Deep; }\n\
                   pub struct Local;";
        let c =
            "use crate::{Name, Alias};\nfn f() { ::demo::Other; demo::Hidden; crate::bee::x(); }\n\
                 use crate::{Outside, Local, Deep};";
        assert_eq!(
            edges(&[("lib.rs", lib), ("a.rs", ""), ("b.rs", ""), ("c.rs", c)]),
            [
                "c -> a @1",
                "c -> b @1",
                "c -> a @2",
                "c -> b @2",
                "c -> b @2"
            ]
        );
    }

    const TABLE: &str = "//! The crate.\n\
                         //!\n\
                         //! | layer | modules | what it holds |\n\
                         //! |---|:---:|---|\n\
                         //! | 1 | `low` | the bottom |\n\
                         //! | 2 | `mid`, `side` | the middle |\n\
                         //! | 5 | `high` | the top |\n\
                         //!\n\
                         //! More docs.\n\
                         mod low;\n";

    #[test]
    fn parses_the_layer_table() {
        let table = parse_table(TABLE).expect("a table").expect("a valid table");
        assert_eq!(table.header_line, 3);
        let rows: Vec<(usize, u32, Vec<&str>)> = table
            .rows
            .iter()
            .map(|r| {
                (
                    r.line,
                    r.layer,
                    r.modules.iter().map(String::as_str).collect(),
                )
            })
            .collect();
        assert_eq!(
            rows,
            [
                (5, 1, vec!["low"]),
                (6, 2, vec!["mid", "side"]),
                (7, 5, vec!["high"])
            ]
        );
        assert_eq!(parse_table("//! | layer | modules |\n"), None);
    }

    #[test]
    fn rejects_malformed_tables() {
        let no_separator = format!("{TABLE_HEADER}\n//! | 1 | `a` | x |\n");
        assert_eq!(
            parse_table(&no_separator),
            Some(Err(vec![
                "2: the layer table's header must be followed by a separator row `//! |---|---|---|`"
                    .to_owned()
            ]))
        );
        let bad = format!(
            "{TABLE_HEADER}\n//! |---|---|---|\n//! | 2 | `a` | x |\n//! | 2 | `b` | x |\n\
             //! | one | `c` | x |\n//! | 3 | d, `e` | x |\n//! | 4 | `f` |\n"
        );
        assert_eq!(
            parse_table(&bad),
            Some(Err(vec![
                "4: layer 2 comes after layer 2; layers must increase, one row each".to_owned(),
                "5: `one` is not a layer number".to_owned(),
                "6: `d` is not a module name in backticks".to_owned(),
                "7: a layer row needs three cells: `| 1 | `module`, ... | what it holds |`"
                    .to_owned(),
            ]))
        );
    }

    #[test]
    fn reports_upward_edges_with_their_lines() {
        let found = check(
            &demo(&[
                ("lib.rs", TABLE),
                (
                    "low.rs",
                    "use crate::mid::M;\n\nfn f() { crate::high::h(); crate::__private::s(); }",
                ),
                ("mid.rs", "use crate::side;"),
                ("side.rs", ""),
                ("high.rs", "use crate::{mid, side};"),
                ("__private.rs", "pub use crate::high::H;"),
            ]),
            true,
        )
        .problems;
        assert_eq!(
            found,
            [
                "demo/src/low.rs:1: low (layer 1) uses mid (layer 2)",
                "demo/src/low.rs:3: low (layer 1) uses high (layer 5)",
            ]
        );
    }

    #[test]
    fn the_table_names_every_module_once() {
        let lib = TABLE.replace("`mid`, `side`", "`mid`, `gone`, `mid`");
        let found = check(
            &demo(&[
                ("lib.rs", &lib),
                ("low.rs", ""),
                ("mid.rs", ""),
                ("side.rs", ""),
                ("high.rs", ""),
                ("__private.rs", ""),
            ]),
            true,
        )
        .problems;
        assert_eq!(
            found,
            [
                "demo/src/lib.rs:6: the layer table names `gone`, which is no top-level module",
                "demo/src/lib.rs:6: the layer table names `mid` a second time",
                "demo/src/lib.rs:3: the layer table has no row for module `side`",
            ]
        );
        let missing = check(&demo(&[("lib.rs", "mod a;"), ("a.rs", "")]), true).problems;
        assert_eq!(missing.len(), 1);
        assert!(
            missing[0].starts_with("demo/src/lib.rs: no layer table"),
            "{missing:?}"
        );
        assert!(check(&demo(&[("lib.rs", "mod a;"), ("a.rs", "")]), false)
            .problems
            .is_empty());
    }

    #[test]
    fn many_cycles_are_shown_by_edge() {
        // Every module uses every other: far more elementary cycles than the limit.
        let names = ["a", "b", "c", "d", "e", "f", "g"];
        let files: Vec<(String, String)> = names
            .iter()
            .map(|n| {
                let others: Vec<&str> = names.iter().copied().filter(|m| m != n).collect();
                (
                    format!("{n}.rs"),
                    format!("use crate::{{{}}};", others.join(", ")),
                )
            })
            .collect();
        let files: Vec<(&str, &str)> = files
            .iter()
            .map(|(p, t)| (p.as_str(), t.as_str()))
            .collect();
        let found = problems(&files);
        assert!(
            found[0].starts_with("demo: more than 100 module cycles"),
            "{found:?}"
        );
        assert_eq!(found[1], "demo: a -> b -> a");
        // One two-cycle per pair, then one line per edge.
        assert_eq!(found.len(), 1 + 21 + 42);
    }

    /// A workspace on disk: members from the root manifest, `fuzz/`, nested files and
    /// `src/bin` outside the tree, and the layered crate's table read from its `lib.rs`.
    #[test]
    fn checks_a_workspace_on_disk() {
        let root = std::env::temp_dir().join(format!("xtask-layers-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let write = |path: &str, text: &str| {
            let path = root.join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        };
        write(
            "Cargo.toml",
            "[workspace]\nmembers = [\"tool\", \"ocpp-messages\"]\n",
        );
        write("tool/Cargo.toml", "[package]\nname = \"tool\"\n");
        write("tool/src/main.rs", "mod a;\nmod b;\nfn main() {}\n");
        write("tool/src/a.rs", "use crate::b::B;\n");
        write("tool/src/b/mod.rs", "pub struct B;\nmod c;\n");
        write("tool/src/b/c.rs", "use super::super::a;\n");
        write("tool/src/bin/other.rs", "fn main() {}\n");
        write(
            "ocpp-messages/Cargo.toml",
            "[package]\nname = \"ocpp-messages\"\n",
        );
        write("ocpp-messages/src/lib.rs", TABLE);
        for module in ["low", "mid", "side", "high"] {
            write(
                &format!("ocpp-messages/src/{module}.rs"),
                "use crate::low;\n",
            );
        }
        write("fuzz/Cargo.toml", "[package]\nname = \"ocpp-fuzz\"\n");
        write("fuzz/src/lib.rs", "use ocpp_messages::frame;\n");

        let err = check_workspace(&root).unwrap_err();
        assert_eq!(
            err,
            "module layering is broken:\n  tool: a -> b -> a\n      tool/src/a.rs:1: a uses b\n      \
             tool/src/b/c.rs:1: b uses a\nthe rules are in the docs of xtask/src/layers.rs"
        );
        write("tool/src/b/c.rs", "use super::a;\n");
        assert_eq!(
            check_workspace(&root).unwrap(),
            "layers: ok (3 crates, 6 modules)"
        );
        write("ocpp-messages/src/low.rs", "\nuse crate::high;\n");
        let err = check_workspace(&root).unwrap_err();
        assert!(
            err.contains("\n  ocpp-messages/src/low.rs:2: low (layer 1) uses high (layer 5)\n"),
            "{err}"
        );
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn reads_workspace_members() {
        let manifest = "[package]\nmembers = [\"no\"]\n[workspace]\nresolver = \"2\"\n\
                        members = [\n  \"a\", # the first\n  \"crates/*\",\n]\n";
        assert_eq!(workspace_members(manifest).unwrap(), ["a", "crates/*"]);
        let one_line = "[workspace]\nmembers = [\"xtask\", \"ocpp-messages\"]\n";
        assert_eq!(
            workspace_members(one_line).unwrap(),
            ["xtask", "ocpp-messages"]
        );
        assert_eq!(
            manifest_string("[package]\nname = \"ocpp-cli\"\n", "[package]", "name").as_deref(),
            Some("ocpp-cli")
        );
    }
}
