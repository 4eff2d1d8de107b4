//! Resolve: [`Syntax`] → [`Model`]. Names are bound, types checked, manifests
//! attached to their entities; every violation of the schema language becomes a
//! diagnostic and resolution continues, so one run reports all of them.
//!
//! The steps, in order: read the base declarations; bind each file's names
//! (declarations and imports); classify interfaces (entity, manifest, struct);
//! register types per product; resolve field types; attach manifests; then the
//! whole-model checks in `checks.rs` (keys, cycles, generated names).

use std::collections::{BTreeMap, HashMap};

use super::*;
use crate::diag::{Diagnostic, Diagnostics, codes};
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
    model: Model,
}

use crate::parse::Syntax;

/// Resolves the parsed schema tree into a Model. Never fails: problems are
/// diagnostics, and the Model holds whatever could be resolved.
pub fn resolve(syntax: &Syntax, layout: &Layout) -> (Model, Diagnostics) {
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
        model: Model::default(),
    };
    r.read_base();
    r.create_products();
    r.bind_scopes();
    r.register_declarations();
    r.resolve_members();
    r.attach_manifests();
    let Resolver { model, mut diags, .. } = r;
    diags.extend(super::checks::check(&model));
    diags.sort();
    (model, diags)
}

impl<'a> Resolver<'a> {
    // ----- base declarations -------------------------------------------------

    fn read_base(&mut self) {
        let Some(base) = self.layout.base.and_then(|b| self.by_file.get(&b).copied()) else {
            let span = self.layout.files.first().map(|f| Span::new(f.id, 0, 0));
            let mut d = Diagnostic::error(codes::M034, "the base declarations `manifold.ts` were not found")
                .help("the schema root must contain `manifold.ts`, which declares Entity, Manifest, Team, EntityState, ComposedBy and the scalars");
            if let Some(span) = span {
                d = d.primary(span, "this schema tree has no `manifold.ts` at its root");
            }
            self.diags.push(d);
            return;
        };
        let has = |name: &str| {
            base.interfaces.iter().any(|i| i.name.text == name)
                || base.enums.iter().any(|e| e.name.text == name)
                || base.type_aliases.iter().any(|t| t.text == name)
        };
        for name in BASE_REQUIRED {
            if !has(name) {
                self.diags.push(
                    Diagnostic::error(codes::M034, format!("the base declarations do not declare `{name}`"))
                        .primary(Span::new(base.file, 0, 0), "in this file")
                        .help("restore `manifold.ts` from the Manifold repository"),
                );
            }
        }
        let members = |name: &str| -> Vec<String> {
            base.enums
                .iter()
                .find(|e| e.name.text == name)
                .map(|e| e.members.iter().map(|m| m.name.text.clone()).collect())
                .unwrap_or_default()
        };
        self.teams = members("Team");
        self.states = members("EntityState");
        self.model.teams = self.teams.clone();
    }

    fn base_symbol(name: &str) -> BaseSymbol {
        match name {
            "Entity" => BaseSymbol::Entity,
            "Manifest" => BaseSymbol::Manifest,
            "ComposedBy" => BaseSymbol::ComposedBy,
            "EntityState" => BaseSymbol::EntityState,
            "Team" => BaseSymbol::Team,
            other => Scalar::parse(other).map(BaseSymbol::Scalar).unwrap_or(BaseSymbol::Other),
        }
    }

    // ----- products and scopes ----------------------------------------------

    fn create_products(&mut self) {
        let mut names: BTreeMap<&str, Vec<FileId>> = BTreeMap::new();
        for f in &self.layout.files {
            if Some(f.id) == self.layout.base {
                continue;
            }
            match &f.product {
                Some(p) => names.entry(p.as_str()).or_default().push(f.id),
                None => self.diags.push(
                    Diagnostic::error(codes::M033, format!("`{}` is not in a product folder", f.rel))
                        .primary(Span::new(f.id, 0, 0), "this file")
                        .help("move it to `schemas/<product>/`; the folder name is the product"),
                ),
            }
        }
        for (i, (name, files)) in names.into_iter().enumerate() {
            let id = ProductId(i as u32);
            if !is_product_name(name) {
                if let Some(&first) = files.first() {
                    self.diags.push(
                        Diagnostic::error(codes::M027, format!("product folder `{name}` is not a valid product name"))
                            .primary(Span::new(first, 0, 0), "in this product")
                            .help("product folders are lowercase: letters, digits and `_`, starting with a letter (it becomes the proto package `manifold.<product>.v1`)"),
                    );
                }
            }
            for f in files {
                self.file_product.insert(f, id);
            }
            self.model.products.push(Product {
                name: name.to_string(),
                entities: Vec::new(),
                structs: Vec::new(),
                enums: Vec::new(),
            });
        }
    }

    /// Binds every product file's local declarations and imports.
    fn bind_scopes(&mut self) {
        for f in &self.syntax.files {
            if Some(f.file) == self.layout.base {
                continue;
            }
            let mut scope: HashMap<String, Symbol> = HashMap::new();
            for (i, it) in f.interfaces.iter().enumerate() {
                scope.insert(it.name.text.clone(), Symbol::Interface(f.file, i));
            }
            for (i, en) in f.enums.iter().enumerate() {
                scope.insert(en.name.text.clone(), Symbol::Enum(f.file, i));
            }
            for import in &f.imports {
                let Some(target) = self.resolve_import_path(f.file, import) else { continue };
                for n in &import.names {
                    if let Some(sym) = self.exported_symbol(target, &n.imported) {
                        scope.insert(n.local.text.clone(), sym);
                    }
                }
            }
            self.scopes.insert(f.file, scope);
        }
    }

    fn resolve_import_path(&mut self, from: FileId, import: &syn::Import) -> Option<FileId> {
        let rel = self.layout.files.iter().find(|f| f.id == from).map(|f| f.rel.as_str()).unwrap_or("");
        let spec = import.source.as_str();
        if !spec.starts_with("./") && !spec.starts_with("../") {
            self.diags.push(
                Diagnostic::error(codes::M011, format!("cannot import from package `{spec}`"))
                    .primary(import.source_span, "not a relative path")
                    .help("schemas import only from files of the schema tree, e.g. `\"../manifold\"` or `\"./project\"`"),
            );
            return None;
        }
        let dir = rel.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
        let joined = normalize(&format!("{dir}/{spec}"));
        let stem = joined.as_deref().map(|j| j.strip_suffix(".js").or(j.strip_suffix(".ts")).unwrap_or(j));
        let candidates = stem.map(|s| vec![format!("{s}.ts"), format!("{s}/index.ts")]).unwrap_or_default();
        if let Some(id) = candidates.iter().find_map(|c| self.rel_to_file.get(c.as_str()).copied()) {
            return Some(id);
        }
        self.diags.push(
            Diagnostic::error(codes::M011, format!("cannot find the schema file `{spec}`"))
                .primary(import.source_span, "no such file in the schema tree")
                .help(format!("looked for {}", candidates.join(" and "))),
        );
        None
    }

    fn exported_symbol(&mut self, target: FileId, name: &Name) -> Option<Symbol> {
        let f = self.by_file.get(&target).copied()?;
        if Some(target) == self.layout.base {
            let known = f.interfaces.iter().any(|i| i.name.text == name.text)
                || f.enums.iter().any(|e| e.name.text == name.text)
                || f.type_aliases.iter().any(|t| t.text == name.text);
            if known {
                return Some(Symbol::Base(Self::base_symbol(&name.text)));
            }
        } else {
            if let Some(i) = f.interfaces.iter().position(|i| i.name.text == name.text && i.exported) {
                return Some(Symbol::Interface(target, i));
            }
            if let Some(i) = f.enums.iter().position(|e| e.name.text == name.text && e.exported) {
                return Some(Symbol::Enum(target, i));
            }
        }
        let path = self.layout.files.iter().find(|lf| lf.id == target).map(|lf| lf.rel.clone()).unwrap_or_default();
        self.diags.push(
            Diagnostic::error(codes::M011, format!("`{path}` has no exported member `{}`", name.text))
                .primary(name.span, "not exported there")
                .help("check the spelling, or add `export` to the declaration"),
        );
        None
    }

    fn lookup(&self, file: FileId, name: &str) -> Option<Symbol> {
        self.scopes.get(&file).and_then(|s| s.get(name)).copied()
    }

    // ----- declarations ------------------------------------------------------

    /// Classifies interfaces and enums and gives each its place in the Model.
    fn register_declarations(&mut self) {
        // Names already taken: per product (types) and globally (entities).
        let mut product_names: HashMap<(ProductId, String), Span> = HashMap::new();
        let mut entity_names: HashMap<String, Span> = HashMap::new();
        let files: Vec<&FileSyntax> = self.syntax.files.iter().filter(|f| Some(f.file) != self.layout.base).collect();
        for f in files {
            let Some(&product) = self.file_product.get(&f.file) else { continue };
            for (i, it) in f.interfaces.iter().enumerate() {
                let kind = self.classify(f.file, it);
                let Some(kind) = kind else { continue };
                if kind != Kind::Manifest {
                    if let Some(prev) = product_names.get(&(product, it.name.text.clone())) {
                        self.duplicate_type(&it.name, *prev);
                        continue;
                    }
                    product_names.insert((product, it.name.text.clone()), it.name.span);
                }
                self.check_type_name(&it.name);
                let doc = it.doc.text.clone();
                let decl = match kind {
                    Kind::Entity => {
                        if let Some(prev) = entity_names.get(&it.name.text) {
                            self.duplicate_type(&it.name, *prev);
                            continue;
                        }
                        entity_names.insert(it.name.text.clone(), it.name.span);
                        let list = &mut self.model.products[product.0 as usize].entities;
                        list.push(Entity {
                            name: it.name.text.clone(),
                            product,
                            file: f.file,
                            span: it.name.span,
                            doc,
                            fields: Vec::new(),
                            key: 0,
                            manifest: Manifest {
                                owner: String::new(),
                                state: EntityState::Active,
                                deprecated_since: None,
                                sunset: None,
                                replaced_by: None,
                                span: it.name.span,
                            },
                        });
                        TypeDecl::Entity(EntityId(product, list.len() as u32 - 1))
                    }
                    Kind::Struct => {
                        let list = &mut self.model.products[product.0 as usize].structs;
                        list.push(Struct {
                            name: it.name.text.clone(),
                            product,
                            file: f.file,
                            span: it.name.span,
                            doc,
                            fields: Vec::new(),
                        });
                        TypeDecl::Struct(StructId(product, list.len() as u32 - 1))
                    }
                    Kind::Manifest => TypeDecl::Manifest,
                };
                self.misplaced_interface_tags(it, kind);
                self.decls.insert(Symbol::Interface(f.file, i), decl);
            }
            for (i, en) in f.enums.iter().enumerate() {
                if let Some(prev) = product_names.get(&(product, en.name.text.clone())) {
                    self.duplicate_type(&en.name, *prev);
                    continue;
                }
                product_names.insert((product, en.name.text.clone()), en.name.span);
                self.check_type_name(&en.name);
                let values = self.enum_values(en);
                let list = &mut self.model.products[product.0 as usize].enums;
                list.push(Enum {
                    name: en.name.text.clone(),
                    product,
                    file: f.file,
                    span: en.name.span,
                    doc: en.doc.text.clone(),
                    values,
                });
                self.decls.insert(Symbol::Enum(f.file, i), TypeDecl::Enum(EnumId(product, list.len() as u32 - 1)));
            }
        }
    }

    fn classify(&mut self, file: FileId, it: &Interface) -> Option<Kind> {
        match it.extends.as_slice() {
            [] => Some(Kind::Struct),
            [h] => {
                let sym = self.lookup(file, &h.name.text);
                match sym {
                    Some(Symbol::Base(BaseSymbol::Entity)) => Some(Kind::Entity),
                    Some(Symbol::Base(BaseSymbol::Manifest)) => Some(Kind::Manifest),
                    _ => {
                        let what = if h.name.text.is_empty() { "an expression".to_string() } else { format!("`{}`", h.name.text) };
                        self.diags.push(
                            Diagnostic::error(codes::M009, format!("interface `{}` extends {what}", it.name.text))
                                .primary(h.span, "only `Entity` and `Manifest` (imported from the base declarations) can be extended")
                                .help("an entity extends `Entity`, its manifest extends `Manifest`, a struct extends nothing; copy shared fields instead of inheriting them"),
                        );
                        None
                    }
                }
            }
            [_, second, ..] => {
                self.diags.push(
                    Diagnostic::error(codes::M009, format!("interface `{}` extends more than one interface", it.name.text))
                        .primary(second.span, "a second base")
                        .help("extend exactly one of `Entity` or `Manifest`, or nothing"),
                );
                None
            }
        }
    }

    fn duplicate_type(&mut self, name: &Name, prev: Span) {
        self.diags.push(
            Diagnostic::error(codes::M012, format!("`{}` is declared more than once", name.text))
                .primary(name.span, "declared again here")
                .secondary(prev, "first declared here")
                .help("entity names are unique across all products (they name tables); struct and enum names are unique within a product"),
        );
    }

    fn check_type_name(&mut self, name: &Name) {
        let ok = name.text.chars().next().is_some_and(|c| c.is_ascii_uppercase())
            && name.text.chars().all(|c| c.is_ascii_alphanumeric());
        if !ok {
            self.diags.push(
                Diagnostic::error(codes::M027, format!("type name `{}` is not PascalCase", name.text))
                    .primary(name.span, "expected PascalCase ASCII letters and digits")
                    .help("type names become proto messages and table names; write e.g. `JiraIssue`"),
            );
        }
    }

    fn misplaced_interface_tags(&mut self, it: &Interface, kind: Kind) {
        for tag in &it.doc.tags {
            match tag.name.as_str() {
                "deprecated" if kind == Kind::Entity => self.diags.push(
                    Diagnostic::error(codes::M031, format!("`@deprecated` on entity `{}`", it.name.text))
                        .primary(tag.span, "entities are deprecated through their manifest")
                        .help(format!("set `status: EntityState.DEPRECATED` in `{}Manifest`", it.name.text)),
                ),
                "key" | "pii" => self.diags.push(
                    Diagnostic::error(codes::M031, format!("`@{}` on an interface", tag.name))
                        .primary(tag.span, "this tag belongs on a field")
                        .help("put the tag in the JSDoc of the field it describes"),
                ),
                _ => self.unknown_tag(tag),
            }
        }
    }

    fn unknown_tag(&mut self, tag: &syn::Tag) {
        if KNOWN_TAGS.contains(&tag.name.as_str()) || TOLERATED_TAGS.contains(&tag.name.as_str()) {
            return;
        }
        let mut d = Diagnostic::warning(codes::M032, format!("unknown JSDoc tag `@{}`", tag.name))
            .primary(tag.span, "the schema language ignores this tag");
        if let Some(s) = suggest(&tag.name, KNOWN_TAGS.iter().copied()) {
            d = d.help(format!("did you mean `@{s}`?"));
        } else {
            d = d.help(format!("known tags: {}", KNOWN_TAGS.iter().map(|t| format!("@{t}")).collect::<Vec<_>>().join(", ")));
        }
        self.diags.push(d);
    }

    fn enum_values(&mut self, en: &syn::Enum) -> Vec<EnumValue> {
        if en.is_const {
            self.diags.push(
                Diagnostic::error(codes::M028, format!("enum `{}` is a const or declared enum", en.name.text))
                    .primary(en.name.span, "must be a plain `enum`")
                    .help("drop `const` / `declare`: the values must exist at runtime for producers"),
            );
        }
        if en.members.is_empty() {
            self.diags.push(
                Diagnostic::error(codes::M028, format!("enum `{}` has no values", en.name.text))
                    .primary(en.name.span, "empty enum")
                    .help("declare at least one value, e.g. `ACTIVE = \"ACTIVE\"`"),
            );
        }
        let mut seen: HashMap<&str, Span> = HashMap::new();
        let mut out = Vec::new();
        for m in &en.members {
            let name = &m.name.text;
            match &m.value {
                syn::EnumValue::String(v) if v == name => {}
                syn::EnumValue::String(v) => self.diags.push(
                    Diagnostic::error(codes::M028, format!("enum value `{name}` has the string `\"{v}\"`"))
                        .primary(m.span, "the value must equal the member name")
                        .help(format!("write `{name} = \"{name}\"`: tables store the name, and a second spelling would drift")),
                ),
                _ => self.diags.push(
                    Diagnostic::error(codes::M028, format!("enum value `{name}` is not a string"))
                        .primary(m.span, "numeric enum members are not supported")
                        .help(format!("write `{name} = \"{name}\"`; the compiler assigns proto numbers itself")),
                ),
            }
            if !is_upper_snake(name) {
                self.diags.push(
                    Diagnostic::error(codes::M027, format!("enum value `{name}` is not UPPER_SNAKE_CASE"))
                        .primary(m.name.span, "expected UPPER_SNAKE_CASE")
                        .help(format!("write `{}`", naming::snake_case(name).to_ascii_uppercase())),
                );
            }
            if name == "UNSPECIFIED" || name.ends_with("_UNSPECIFIED") {
                self.diags.push(
                    Diagnostic::error(codes::M026, format!("enum value `{name}` is reserved"))
                        .primary(m.name.span, "the compiler emits the `_UNSPECIFIED = 0` value itself")
                        .help("remove it; an absent value reads as null in the tables"),
                );
            }
            if let Some(prev) = seen.get(name.as_str()) {
                self.diags.push(
                    Diagnostic::error(codes::M013, format!("enum value `{name}` is declared twice"))
                        .primary(m.name.span, "declared again here")
                        .secondary(*prev, "first declared here")
                        .help("remove one of them"),
                );
                continue;
            }
            seen.insert(name, m.name.span);
            for tag in &m.doc.tags {
                if tag.name != "deprecated" {
                    self.unknown_or_misplaced_tag(tag, "an enum value");
                }
            }
            out.push(EnumValue {
                name: name.clone(),
                span: m.name.span,
                doc: m.doc.text.clone(),
                deprecated: m.doc.tag("deprecated").map(|t| t.value.clone()),
            });
        }
        out
    }

    fn unknown_or_misplaced_tag(&mut self, tag: &syn::Tag, on: &str) {
        if KNOWN_TAGS.contains(&tag.name.as_str()) {
            self.diags.push(
                Diagnostic::error(codes::M031, format!("`@{}` on {on}", tag.name))
                    .primary(tag.span, "this tag has no meaning here")
                    .help("`@key` and `@pii` belong on entity fields"),
            );
        } else {
            self.unknown_tag(tag);
        }
    }

    // ----- members -------------------------------------------------------------

    fn resolve_members(&mut self) {
        let mut work = Vec::new();
        for f in self.syntax.files.iter().filter(|f| Some(f.file) != self.layout.base) {
            for (i, it) in f.interfaces.iter().enumerate() {
                if let Some(decl) = self.decls.get(&Symbol::Interface(f.file, i)).copied() {
                    work.push((f.file, it, decl));
                }
            }
        }
        for (file, it, decl) in work {
            match decl {
                TypeDecl::Entity(id) => {
                    let fields = self.fields(file, it, true, id.0);
                    self.model.products[id.0.0 as usize].entities[id.1 as usize].fields = fields;
                }
                TypeDecl::Struct(id) => {
                    let fields = self.fields(file, it, false, id.0);
                    self.model.products[id.0.0 as usize].structs[id.1 as usize].fields = fields;
                }
                TypeDecl::Manifest | TypeDecl::Enum(_) => {}
            }
        }
    }

    fn fields(&mut self, file: FileId, it: &Interface, is_entity: bool, product: ProductId) -> Vec<Field> {
        let mut out: Vec<Field> = Vec::new();
        let mut seen: HashMap<&str, Span> = HashMap::new();
        for p in &it.properties {
            if let Some(prev) = seen.get(p.name.text.as_str()) {
                self.diags.push(
                    Diagnostic::error(codes::M013, format!("field `{}` is declared twice in `{}`", p.name.text, it.name.text))
                        .primary(p.name.span, "declared again here")
                        .secondary(*prev, "first declared here")
                        .help("remove or rename one of them; each field is one proto field and one column"),
                );
                continue;
            }
            seen.insert(&p.name.text, p.name.span);
            if !is_field_name(&p.name.text) {
                let fixed = camel_case(&p.name.text);
                self.diags.push(
                    Diagnostic::error(codes::M027, format!("field name `{}` is not lowerCamelCase", p.name.text))
                        .primary(p.name.span, "expected lowerCamelCase ASCII letters and digits")
                        .help(format!("write `{fixed}`; columns and proto fields get the snake_case form")),
                );
            }
            let Some(ty_expr) = &p.ty else {
                self.diags.push(
                    Diagnostic::error(codes::M010, format!("field `{}` has no type", p.name.text))
                        .primary(p.name.span, "missing type annotation")
                        .help(format!("write `{}: String;` or another Manifold type", p.name.text)),
                );
                continue;
            };
            let Some(ty) = self.ty(file, ty_expr, product, false) else { continue };
            if let Type::Array(_) = ty {
                if p.optional {
                    self.diags.push(
                        Diagnostic::error(codes::M029, format!("array field `{}` is optional", p.name.text))
                            .primary(p.name.span, "arrays cannot be optional")
                            .help(format!("write `{}: …[]`: an absent array is an empty one (no child rows)", p.name.text)),
                    );
                }
            }
            for tag in &p.doc.tags {
                match tag.name.as_str() {
                    "deprecated" | "pii" => {}
                    "key" if is_entity => {}
                    "key" => self.diags.push(
                        Diagnostic::error(codes::M031, format!("`@key` on struct field `{}`", p.name.text))
                            .primary(tag.span, "only entity fields can be keys")
                            .help("structs are flattened into their entity; mark the entity's own key field"),
                    ),
                    _ => self.unknown_tag(tag),
                }
            }
            out.push(Field {
                name: p.name.text.clone(),
                span: p.name.span,
                ty,
                optional: p.optional,
                doc: p.doc.text.clone(),
                deprecated: p.doc.tag("deprecated").map(|t| t.value.clone()),
                pii: p.doc.tag("pii").is_some(),
            });
        }
        if is_entity {
            self.pick_key(it, &out);
        }
        out
    }

    /// Records the key index on the entity named by `it` (checked in `checks`).
    fn pick_key(&mut self, it: &Interface, fields: &[Field]) {
        let keyed: Vec<usize> = it
            .properties
            .iter()
            .filter(|p| p.doc.tag("key").is_some())
            .filter_map(|p| fields.iter().position(|f| f.name == p.name.text))
            .collect();
        if keyed.len() > 1 {
            let tags: Vec<Span> =
                it.properties.iter().filter_map(|p| p.doc.tag("key")).map(|t| t.span).collect();
            let mut d = Diagnostic::error(codes::M020, format!("entity `{}` has {} `@key` fields", it.name.text, keyed.len()))
                .primary(tags[1], "a second key")
                .secondary(tags[0], "first key")
                .help("an entity has one key; composite identity comes from `ComposedBy` relations");
            for t in &tags[2..] {
                d = d.secondary(*t, "another key");
            }
            self.diags.push(d);
        }
        let key = keyed.first().copied().unwrap_or(0);
        if let Some(e) = self.model.products.iter_mut().flat_map(|p| p.entities.iter_mut()).find(|e| e.span == it.name.span) {
            e.key = key;
        }
    }

    /// Resolves a written type. `None` after reporting why it is not a Manifold type.
    fn ty(&mut self, file: FileId, t: &TypeExpr, product: ProductId, in_array: bool) -> Option<Type> {
        match t {
            TypeExpr::Array { elem, span } => {
                if in_array || matches!(**elem, TypeExpr::Array { .. }) {
                    self.diags.push(
                        Diagnostic::error(codes::M029, "nested arrays are not supported")
                            .primary(*span, "an array of arrays")
                            .help("wrap the inner array in a struct: `rows: Row[]` with `interface Row { cells: … }` is not allowed either; flatten the data"),
                    );
                    return None;
                }
                let inner = self.ty(file, elem, product, true)?;
                if let Type::Relation(_) = inner {
                    self.diags.push(
                        Diagnostic::error(codes::M029, "an array of `ComposedBy` relations")
                            .primary(*span, "an entity has at most one parent per field")
                            .help("for a list of references, use `ARI[]`"),
                    );
                    return None;
                }
                Some(Type::Array(Box::new(inner)))
            }
            TypeExpr::Keyword { keyword, span } => match *keyword {
                "string" => Some(Type::Scalar(Scalar::String)),
                "boolean" => Some(Type::Scalar(Scalar::Boolean)),
                "number" => {
                    self.diags.push(
                        Diagnostic::error(codes::M006, "`number` is ambiguous")
                            .primary(*span, "which column type?")
                            .help("use `Int` (32-bit), `Long` (64-bit) or `Double`, imported from the base declarations"),
                    );
                    None
                }
                "null" | "undefined" => {
                    self.diags.push(
                        Diagnostic::error(codes::M005, format!("`{keyword}` is not a field type"))
                            .primary(*span, "not a type of values")
                            .help("make the field optional instead: `name?: T`"),
                    );
                    None
                }
                other => {
                    self.diags.push(
                        Diagnostic::error(codes::M005, format!("`{other}` is not part of the schema language"))
                            .primary(*span, "no column type for this")
                            .help("use a Manifold scalar; for free-form data use `Json`"),
                    );
                    None
                }
            },
            TypeExpr::Union { span } => {
                self.diags.push(
                    Diagnostic::error(codes::M003, "union types are not supported")
                        .primary(*span, "a union has no single column type")
                        .help("for `T | null` or `T | undefined` write an optional field `name?: T`; for a set of strings declare an enum"),
                );
                None
            }
            TypeExpr::Intersection { span } => {
                self.diags.push(
                    Diagnostic::error(codes::M004, "intersection types are not supported")
                        .primary(*span, "an intersection")
                        .help("declare a struct with the combined fields"),
                );
                None
            }
            TypeExpr::StringLiteral { span, .. } => {
                self.diags.push(
                    Diagnostic::error(codes::M005, "string literal types are not supported in fields")
                        .primary(*span, "a literal type")
                        .help("declare an enum for a fixed set of strings"),
                );
                None
            }
            TypeExpr::Unsupported { what, span } => {
                self.diags.push(
                    Diagnostic::error(codes::M005, format!("{what} is not part of the schema language"))
                        .primary(*span, "unsupported type")
                        .help("fields are scalars, enums, structs, arrays `T[]` or `ComposedBy<Entity>`"),
                );
                None
            }
            TypeExpr::Ref { qualifier: Some(q), name, span, .. } => {
                self.diags.push(
                    Diagnostic::error(codes::M005, format!("`{}.{}` is not a field type", q.text, name.text))
                        .primary(*span, "an enum member is a value, not a type")
                        .help(format!("use the enum itself: `{}`", q.text)),
                );
                None
            }
            TypeExpr::Ref { qualifier: None, name, args, args_span, span } => {
                self.type_ref(file, name, args, *args_span, *span, product)
            }
        }
    }

    fn type_ref(
        &mut self,
        file: FileId,
        name: &Name,
        args: &[TypeExpr],
        args_span: Option<Span>,
        span: Span,
        product: ProductId,
    ) -> Option<Type> {
        let sym = self.lookup(file, &name.text);
        let is_composed_by = sym == Some(Symbol::Base(BaseSymbol::ComposedBy));
        if !args.is_empty() && !is_composed_by {
            let help = if name.text == "Array" {
                "write `T[]` instead of `Array<T>`".to_string()
            } else {
                "`ComposedBy<Entity>` is the only generic type of the schema language".to_string()
            };
            self.diags.push(
                Diagnostic::error(codes::M007, format!("`{}<…>` is not supported", name.text))
                    .primary(args_span.unwrap_or(span), "type arguments")
                    .help(help),
            );
            return None;
        }
        let Some(sym) = sym else {
            return self.global_type(name);
        };
        match sym {
            Symbol::Base(BaseSymbol::Scalar(s)) => Some(Type::Scalar(s)),
            Symbol::Base(BaseSymbol::ComposedBy) => self.composed_by(file, name, args, span, product),
            Symbol::Base(other) => {
                let what = match other {
                    BaseSymbol::Entity | BaseSymbol::Manifest => "a base interface",
                    BaseSymbol::EntityState | BaseSymbol::Team => "a manifest enum",
                    _ => "a base declaration",
                };
                self.diags.push(
                    Diagnostic::error(codes::M010, format!("`{}` is {what}, not a field type", name.text))
                        .primary(name.span, "cannot be used as a field type")
                        .help("fields are scalars, enums, structs, arrays `T[]` or `ComposedBy<Entity>`"),
                );
                None
            }
            Symbol::Interface(..) | Symbol::Enum(..) => {
                let decl = self.decls.get(&sym).copied()?;
                match decl {
                    TypeDecl::Struct(id) => self.same_product(name, id.0, product).then_some(Type::Struct(id)),
                    TypeDecl::Enum(id) => self.same_product(name, id.0, product).then_some(Type::Enum(id)),
                    TypeDecl::Entity(_) => {
                        self.diags.push(
                            Diagnostic::error(codes::M010, format!("`{}` is an entity, not a field type", name.text))
                                .primary(name.span, "entities are not embedded in each other")
                                .help(format!("reference the parent with `ComposedBy<{}>`, or hold its id as `ARI`", name.text)),
                        );
                        None
                    }
                    TypeDecl::Manifest => {
                        self.diags.push(
                            Diagnostic::error(codes::M010, format!("`{}` is a manifest, not a field type", name.text))
                                .primary(name.span, "manifests describe entities; they hold no data")
                                .help(format!("use the entity `{}` through `ComposedBy`", name.text.trim_end_matches("Manifest"))),
                        );
                        None
                    }
                }
            }
        }
    }

    /// A type name not bound in the file: the global `String`/`Boolean`, or unknown.
    fn global_type(&mut self, name: &Name) -> Option<Type> {
        match name.text.as_str() {
            "String" => return Some(Type::Scalar(Scalar::String)),
            "Boolean" => return Some(Type::Scalar(Scalar::Boolean)),
            _ => {}
        }
        let mut d = Diagnostic::error(codes::M010, format!("cannot find type `{}`", name.text))
            .primary(name.span, "not a Manifold scalar, and not declared or imported in this file");
        if let Some(s) = Scalar::parse(&name.text) {
            d = d.help(format!("import it: `import {{ {} }} from \"../manifold\";`", s.as_str()));
            if s == Scalar::Date {
                d = d.note("without the import, `Date` is JavaScript's Date object, not a calendar date");
            }
        } else {
            let known = Scalar::ALL.iter().map(|s| s.as_str()).chain(["String", "Boolean"]);
            let candidates: Vec<&str> = known.collect();
            if let Some(s) = suggest(&name.text, candidates.iter().copied()) {
                d = d.help(format!("did you mean `{s}`?"));
            } else {
                d = d.help("declare it in this product, or import it from the file that declares it");
            }
        }
        self.diags.push(d);
        None
    }

    fn same_product(&mut self, name: &Name, theirs: ProductId, ours: ProductId) -> bool {
        if theirs == ours {
            return true;
        }
        let (t, o) = (&self.model.product(theirs).name, &self.model.product(ours).name);
        self.diags.push(
            Diagnostic::error(codes::M030, format!("`{}` belongs to product `{t}`", name.text))
                .primary(name.span, format!("used from product `{o}`"))
                .help(format!("structs and enums are per product (proto package); declare a copy in `{o}`, or reference the entity with `ComposedBy`")),
        );
        false
    }

    fn composed_by(&mut self, file: FileId, name: &Name, args: &[TypeExpr], span: Span, _product: ProductId) -> Option<Type> {
        let [arg] = args else {
            self.diags.push(
                Diagnostic::error(codes::M007, format!("`ComposedBy` takes one entity, found {} type arguments", args.len()))
                    .primary(span, "expected `ComposedBy<Parent>`")
                    .help("name exactly one parent entity, e.g. `project: ComposedBy<JiraProject>;`"),
            );
            return None;
        };
        let target = match arg {
            TypeExpr::Ref { qualifier: None, name: n, args, .. } if args.is_empty() => {
                self.lookup(file, &n.text).and_then(|s| self.decls.get(&s).copied()).map(|d| (d, n))
            }
            _ => None,
        };
        match target {
            Some((TypeDecl::Entity(id), _)) => Some(Type::Relation(id)),
            Some((_, n)) => {
                self.diags.push(
                    Diagnostic::error(codes::M022, format!("`ComposedBy<{}>`: `{}` is not an entity", n.text, n.text))
                        .primary(n.span, "not an entity")
                        .help("a parent must be an interface that extends `Entity`; embed a struct directly, without `ComposedBy`"),
                );
                None
            }
            None => {
                let arg_name = match arg {
                    TypeExpr::Ref { name: n, .. } => n.text.clone(),
                    _ => String::new(),
                };
                let mut d = Diagnostic::error(codes::M022, format!("`{}<…>` needs an entity", name.text))
                    .primary(arg.span(), "not an entity declared or imported in this file");
                d = if arg_name.is_empty() {
                    d.help("write `ComposedBy<ParentEntity>` with an entity declared or imported in this file")
                } else {
                    d.help(format!("declare or import the entity `{arg_name}`"))
                };
                self.diags.push(d);
                None
            }
        }
    }

    // ----- manifests -----------------------------------------------------------

    fn attach_manifests(&mut self) {
        let mut attached: HashMap<EntityId, Span> = HashMap::new();
        let files: Vec<&FileSyntax> = self.syntax.files.iter().filter(|f| Some(f.file) != self.layout.base).collect();
        for f in files {
            let Some(&product) = self.file_product.get(&f.file) else { continue };
            for (i, it) in f.interfaces.iter().enumerate() {
                if self.decls.get(&Symbol::Interface(f.file, i)) != Some(&TypeDecl::Manifest) {
                    continue;
                }
                let Some(entity_name) = it.name.text.strip_suffix("Manifest") else {
                    self.diags.push(
                        Diagnostic::error(codes::M015, format!("manifest `{}` does not name an entity", it.name.text))
                            .primary(it.name.span, "a manifest is named `<Entity>Manifest`")
                            .help("rename it after the entity it describes"),
                    );
                    continue;
                };
                let entity = self.model.product(product).entities.iter().position(|e| e.name == entity_name);
                let Some(index) = entity else {
                    let mut d = Diagnostic::error(codes::M015, format!("manifest `{}` has no entity `{entity_name}`", it.name.text))
                        .primary(it.name.span, format!("no entity `{entity_name}` in product `{}`", self.model.product(product).name));
                    let names: Vec<&str> = self.model.product(product).entities.iter().map(|e| e.name.as_str()).collect();
                    if let Some(s) = suggest(entity_name, names.iter().copied()) {
                        d = d.help(format!("did you mean `{s}Manifest`?"));
                    } else {
                        d = d.help("declare the entity in the same product, or remove the manifest");
                    }
                    self.diags.push(d);
                    continue;
                };
                let id = EntityId(product, index as u32);
                if let Some(prev) = attached.get(&id) {
                    self.diags.push(
                        Diagnostic::error(codes::M012, format!("entity `{entity_name}` has two manifests"))
                            .primary(it.name.span, "second manifest")
                            .secondary(*prev, "first manifest")
                            .help("an entity has exactly one manifest; merge them"),
                    );
                    continue;
                }
                attached.insert(id, it.name.span);
                let manifest = self.manifest(f.file, it);
                self.model.products[product.0 as usize].entities[index].manifest = manifest;
            }
        }
        let missing: Vec<(String, Span)> = self
            .model
            .entities()
            .enumerate()
            .filter(|(_, e)| !attached.contains_key(&self.entity_id(e)))
            .map(|(_, e)| (e.name.clone(), e.span))
            .collect();
        for (name, span) in missing {
            self.diags.push(
                Diagnostic::error(codes::M014, format!("entity `{name}` has no manifest"))
                    .primary(span, "declared without `{name}Manifest`")
                    .help(format!(
                        "add `export interface {name}Manifest extends Manifest {{ owner: Team.<TEAM>; status: EntityState.ACTIVE; }}` in the same product"
                    )),
            );
        }
    }

    fn entity_id(&self, e: &Entity) -> EntityId {
        let index = self.model.product(e.product).entities.iter().position(|x| x.span == e.span).unwrap_or(0);
        EntityId(e.product, index as u32)
    }

    fn manifest(&mut self, file: FileId, it: &Interface) -> Manifest {
        let mut m = Manifest {
            owner: String::new(),
            state: EntityState::Active,
            deprecated_since: None,
            sunset: None,
            replaced_by: None,
            span: it.name.span,
        };
        let (mut has_owner, mut has_status) = (false, false);
        for p in &it.properties {
            let Some(ty) = &p.ty else { continue };
            match p.name.text.as_str() {
                "owner" => {
                    has_owner = true;
                    if let Some(owner) = self.enum_member(file, ty, BaseSymbol::Team, "Team") {
                        m.owner = owner;
                    }
                }
                "status" => {
                    has_status = true;
                    if let Some(s) = self.enum_member(file, ty, BaseSymbol::EntityState, "EntityState") {
                        m.state = EntityState::parse(&s).unwrap_or(EntityState::Active);
                    }
                }
                "deprecatedSince" => m.deprecated_since = self.date_literal(ty, &p.name.text),
                "sunset" => m.sunset = self.date_literal(ty, &p.name.text),
                "replacedBy" => m.replaced_by = self.replacement(file, ty),
                other => {
                    let mut d = Diagnostic::error(codes::M018, format!("unknown manifest property `{other}`"))
                        .primary(p.name.span, "not a manifest property");
                    let props = ["owner", "status", "deprecatedSince", "sunset", "replacedBy"];
                    d = match suggest(other, props.iter().copied()) {
                        Some(s) => d.help(format!("did you mean `{s}`?")),
                        None => d.help(format!("manifest properties: {}", props.join(", "))),
                    };
                    self.diags.push(d);
                }
            }
        }
        for (present, prop, example) in
            [(has_owner, "owner", "owner: Team.<TEAM>;"), (has_status, "status", "status: EntityState.ACTIVE;")]
        {
            if !present {
                self.diags.push(
                    Diagnostic::error(codes::M018, format!("manifest `{}` has no `{prop}`", it.name.text))
                        .primary(it.name.span, format!("missing `{prop}`"))
                        .help(format!("add `{example}`")),
                );
            }
        }
        m
    }

    /// `Team.MEMBER` / `EntityState.MEMBER` → `MEMBER`, checked against the base enum.
    fn enum_member(&mut self, file: FileId, ty: &TypeExpr, expected: BaseSymbol, enum_name: &str) -> Option<String> {
        let code = if expected == BaseSymbol::Team { codes::M016 } else { codes::M017 };
        let prop = if expected == BaseSymbol::Team { "owner" } else { "status" };
        let members = if expected == BaseSymbol::Team { self.teams.clone() } else { self.states.clone() };
        if let TypeExpr::Ref { qualifier: Some(q), name, args, .. } = ty {
            if args.is_empty() && self.lookup(file, &q.text) == Some(Symbol::Base(expected)) {
                if members.contains(&name.text) {
                    return Some(name.text.clone());
                }
                let mut d = Diagnostic::error(code, format!("`{}` is not a member of `{enum_name}`", name.text))
                    .primary(name.span, format!("unknown {enum_name}"));
                d = match suggest(&name.text, members.iter().map(|s| s.as_str())) {
                    Some(s) => d.help(format!("did you mean `{enum_name}.{s}`?")),
                    None if expected == BaseSymbol::Team => {
                        d.help("add the team to `enum Team` in `manifold.ts` first, in its own reviewed change")
                    }
                    None => d.help(format!("one of: {}", members.join(", "))),
                };
                self.diags.push(d);
                return None;
            }
        }
        self.diags.push(
            Diagnostic::error(code, format!("`{prop}` must be a member of `{enum_name}`"))
                .primary(ty.span(), format!("expected `{enum_name}.<MEMBER>`"))
                .help(format!("write e.g. `{prop}: {enum_name}.{};` with `{enum_name}` imported from the base declarations", members.first().map(String::as_str).unwrap_or("…"))),
        );
        None
    }

    fn date_literal(&mut self, ty: &TypeExpr, prop: &str) -> Option<String> {
        if let TypeExpr::StringLiteral { value, span } = ty {
            if is_iso_date(value) {
                return Some(value.clone());
            }
            self.diags.push(
                Diagnostic::error(codes::M018, format!("`{prop}` is not a date: \"{value}\""))
                    .primary(*span, "expected \"YYYY-MM-DD\"")
                    .help(format!("write e.g. `{prop}: \"2026-12-31\";`")),
            );
            return None;
        }
        self.diags.push(
            Diagnostic::error(codes::M018, format!("`{prop}` must be a date literal"))
                .primary(ty.span(), "expected a string literal type \"YYYY-MM-DD\"")
                .help(format!("write e.g. `{prop}: \"2026-12-31\";`")),
        );
        None
    }

    fn replacement(&mut self, file: FileId, ty: &TypeExpr) -> Option<Option<EntityId>> {
        match ty {
            TypeExpr::Keyword { keyword: "null", .. } => return Some(None),
            TypeExpr::Ref { qualifier: None, name, args, .. } if args.is_empty() => {
                if let Some(TypeDecl::Entity(id)) = self.lookup(file, &name.text).and_then(|s| self.decls.get(&s).copied()) {
                    return Some(Some(id));
                }
            }
            _ => {}
        }
        self.diags.push(
            Diagnostic::error(codes::M018, "`replacedBy` must name an entity or be `null`")
                .primary(ty.span(), "not an entity")
                .help("write `replacedBy: OtherEntity;` (imported) or `replacedBy: null;` when nothing replaces it"),
        );
        None
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Entity,
    Manifest,
    Struct,
}

/// JSDoc tags with a meaning in the schema language.
pub(crate) const KNOWN_TAGS: [&str; 3] = ["key", "pii", "deprecated"];
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
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let num = |r: std::ops::Range<usize>| s[r].parse::<u32>().ok();
    matches!((num(0..4), num(5..7), num(8..10)), (Some(_), Some(m), Some(d)) if (1..=12).contains(&m) && (1..=31).contains(&d))
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
        assert!(is_iso_date("2026-02-28") && !is_iso_date("2026-13-01") && !is_iso_date("26-1-1"));
        assert_eq!(suggest("Strin", ["String", "Int"].into_iter()), Some("String"));
        assert_eq!(suggest("ari", ["ARI", "Int"].into_iter()), Some("ARI"));
        assert_eq!(suggest("Zebra", ["String", "Int"].into_iter()), None);
    }
}
