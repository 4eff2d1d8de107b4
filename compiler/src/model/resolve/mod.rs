//! Resolve: [`Syntax`] → [`Model`]. Names are bound, types checked, manifests
//! attached to their entities; every violation of the schema language becomes a
//! diagnostic and resolution continues, so one run reports all of them.
//!
//! The steps, in order: read the base declarations; bind each file's names
//! (declarations and imports); classify interfaces (entity, manifest, struct);
//! register types per product; resolve field types; attach manifests; then the
//! whole-model checks in `checks.rs` (keys, cycles, generated names).
//!
//! One file per step: `scope.rs`, `decls.rs`, `types.rs`, `manifest.rs`.

mod decls;
mod manifest;
mod scope;
mod types;

use std::collections::{BTreeMap, HashMap};

use super::*;
use crate::diag::{Diagnostic, Diagnostics, codes};
use crate::parse::Syntax;
use crate::parse::syntax::{self as syn, FileSyntax, Interface, Name, TypeExpr};
use crate::source::{FileId, Span};

/// Where the files of a run sit in the schema tree.
#[derive(Clone, Debug, Default)]
pub struct Layout {
    /// The base declarations (`manifold.ts` at the root), if present.
    pub base: Option<FileId>,
    pub files: Vec<LayoutFile>,
}

#[derive(Clone, Debug)]
pub struct LayoutFile {
    pub id: FileId,
    /// Path relative to the schema root, `/`-separated: `jira/issue.ts`.
    pub rel: String,
    /// The product folder, or `None` for a file directly under the root.
    pub product: Option<String>,
}

/// What a name in a file's scope refers to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Symbol {
    /// A declaration in the base file, by kind.
    Base(BaseSymbol),
    Interface(FileId, usize),
    Enum(FileId, usize),
    /// A name whose import failed (already reported): uses of it report nothing more.
    Poisoned,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum BaseSymbol {
    Entity,
    Manifest,
    ComposedBy,
    EntityState,
    Team,
    Scalar(Scalar),
    /// A base declaration the language gives no meaning in schemas.
    Other,
}

/// The declarations the base file must have.
const BASE_REQUIRED: [&str; 5] = ["Entity", "Manifest", "ComposedBy", "EntityState", "Team"];

/// A resolved type declaration: where it lives in the Model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TypeDecl {
    Entity(EntityId),
    Struct(StructId),
    Enum(EnumId),
    Manifest,
}

struct Resolver<'a> {
    syntax: &'a Syntax,
    layout: &'a Layout,
    diags: Diagnostics,
    by_file: HashMap<FileId, &'a FileSyntax>,
    rel_to_file: HashMap<&'a str, FileId>,
    file_product: HashMap<FileId, ProductId>,
    teams: Vec<String>,
    states: Vec<String>,
    /// Per file: local name → symbol.
    scopes: HashMap<FileId, HashMap<String, Symbol>>,
    /// Interface/enum declaration → its place in the Model.
    decls: HashMap<Symbol, TypeDecl>,
    /// Imports already resolved (each failure is reported once).
    imports: HashMap<(FileId, Span), scope::Import>,
    /// Entities dropped as duplicates (their manifests are not orphans).
    dropped_entities: std::collections::HashSet<(ProductId, String)>,
    /// Type parameters of the generic interface being resolved (already an M007).
    type_params: Vec<String>,
    model: Model,
}

/// Resolves the parsed schema tree into a Model. Never fails: problems are
/// diagnostics, and the Model holds whatever could be resolved.
pub fn resolve(syntax: &Syntax, layout: &Layout, db: &crate::source::SourceDb) -> (Model, Diagnostics) {
    let mut r = Resolver {
        syntax,
        layout,
        diags: Diagnostics::new(),
        by_file: syntax.files.iter().map(|f| (f.file, f)).collect(),
        rel_to_file: layout.files.iter().map(|f| (f.rel.as_str(), f.id)).collect(),
        file_product: HashMap::new(),
        teams: Vec::new(),
        states: Vec::new(),
        scopes: HashMap::new(),
        decls: HashMap::new(),
        imports: HashMap::new(),
        dropped_entities: Default::default(),
        type_params: Vec::new(),
        model: Model::default(),
    };
    r.read_base();
    r.create_products();
    r.bind_scopes();
    r.register_declarations();
    r.resolve_members();
    r.attach_manifests();
    r.user_models(db);
    let Resolver { model, mut diags, .. } = r;
    diags.extend(super::checks::check(&model));
    diags.sort();
    (model, diags)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Entity,
    Manifest,
    Struct,
}

/// "`what` is declared twice": the second place primary, the first as context.
fn declared_twice(code: &'static crate::diag::Code, what: String, again: Span, first: Span, help: &str) -> Diagnostic {
    Diagnostic::error(code, format!("{what} is declared more than once"))
        .primary(again, "declared again here")
        .secondary(first, "first declared here")
        .help(help.to_string())
}

/// JSDoc tags with a meaning in the schema language.
pub(crate) const KNOWN_TAGS: [&str; 4] = ["key", "pii", "deprecated", "allow"];
/// Documentation tags accepted silently.
const TOLERATED_TAGS: [&str; 6] = ["see", "example", "remarks", "since", "link", "todo"];

fn is_product_name(s: &str) -> bool {
    s.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

fn is_field_name(s: &str) -> bool {
    s.chars().next().is_some_and(|c| c.is_ascii_lowercase()) && s.chars().all(|c| c.is_ascii_alphanumeric())
}

fn is_upper_snake(s: &str) -> bool {
    s.chars().next().is_some_and(|c| c.is_ascii_uppercase())
        && s.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// `created_at` → `createdAt` (for hints).
fn camel_case(s: &str) -> String {
    let mut out = String::new();
    let mut upper = false;
    for (i, c) in s.chars().enumerate() {
        if c == '_' || c == '-' || c == '$' {
            upper = i > 0;
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else if out.is_empty() {
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn is_iso_date(s: &str) -> bool {
    crate::model::date::days_from_civil(s).is_some()
}

/// The closest candidate within a small edit distance, for "did you mean" hints.
pub(crate) fn suggest<'c>(name: &str, candidates: impl Iterator<Item = &'c str>) -> Option<&'c str> {
    let lower = name.to_ascii_lowercase();
    candidates
        .map(|c| (strsim::damerau_levenshtein(&lower, &c.to_ascii_lowercase()), c))
        .filter(|(d, c)| *d <= (c.len() / 3).max(1) && *d > 0 || (*d == 0 && *c != name))
        .min()
        .map(|(_, c)| c)
}

/// Joins and normalises a `/`-separated relative path; `None` if it leaves the root.
fn normalize(path: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers() {
        assert_eq!(normalize("jira/../manifold"), Some("manifold".into()));
        assert_eq!(normalize("jira/./issue"), Some("jira/issue".into()));
        assert_eq!(normalize("../x"), None);
        assert_eq!(camel_case("created_at"), "createdAt");
        assert!(
            is_iso_date("2026-02-28")
                && !is_iso_date("2026-13-01")
                && !is_iso_date("26-1-1")
                && !is_iso_date("2026-02-30")
        );
        assert_eq!(suggest("Strin", ["String", "Int"].into_iter()), Some("String"));
        assert_eq!(suggest("ari", ["ARI", "Int"].into_iter()), Some("ARI"));
        assert_eq!(suggest("Zebra", ["String", "Int"].into_iter()), None);
    }
}
