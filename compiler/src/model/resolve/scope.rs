//! Base declarations, products, and each file's scope (local declarations and imports).

use super::*;

impl Resolver<'_> {
    // ----- base declarations -------------------------------------------------

    pub(super) fn read_base(&mut self) {
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

    pub(super) fn base_symbol(name: &str) -> BaseSymbol {
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

    pub(super) fn create_products(&mut self) {
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
            if !is_product_name(name)
                && let Some(&first) = files.first()
            {
                self.diags.push(
                        Diagnostic::error(codes::M027, format!("product folder `{name}` is not a valid product name"))
                            .primary(Span::new(first, 0, 0), "in this product")
                            .help("product folders are lowercase: letters, digits and `_`, starting with a letter (it becomes the proto package `manifold.<product>.v1`)"),
                    );
            }
            for f in files {
                self.file_product.insert(f, id);
            }
            self.model.products.push(Product {
                name: name.to_string(),
                entities: Vec::new(),
                structs: Vec::new(),
                enums: Vec::new(),
                models: Vec::new(),
            });
        }
    }

    /// Attaches each product's own dbt models; their names must be valid dbt model
    /// names and unique across the project (dbt names are global).
    pub(super) fn user_models(&mut self, db: &crate::source::SourceDb) {
        let mut seen: HashMap<String, Span> = HashMap::new();
        for f in self.layout.files.iter().filter(|f| crate::load::is_model_file(&f.rel)) {
            let Some(&product) = self.file_product.get(&f.id) else { continue };
            let stem = f.rel.rsplit('/').next().unwrap_or("").trim_end_matches(".sql").to_string();
            let span = Span::new(f.id, 0, 0);
            if !is_product_name(&stem) {
                self.diags.push(
                    Diagnostic::error(codes::M027, format!("model file `{}` is not a valid model name", f.rel))
                        .primary(span, "in this file")
                        .help(
                            "dbt model names are snake_case: lowercase letters, digits and `_`, starting with a letter",
                        ),
                );
                continue;
            }
            if let Some(prev) = seen.get(&stem) {
                self.diags.push(
                    Diagnostic::error(codes::M012, format!("two models are named `{stem}`"))
                        .primary(span, "this model")
                        .secondary(*prev, "and this one")
                        .help("dbt model names are unique across the project; rename one file"),
                );
                continue;
            }
            seen.insert(stem.clone(), span);
            self.model.products[product.0 as usize].models.push(UserModel {
                name: stem,
                file: f.id,
                sql: db.get(f.id).text.clone(),
            });
        }
    }

    /// Binds every product file's local declarations and imports.
    pub(super) fn bind_scopes(&mut self) {
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
                for n in &import.names {
                    // Names of a failed import are poisoned, so their uses stay quiet.
                    let sym = match self.resolve_import_path(f.file, import) {
                        Import::File(target) => self.exported_symbol(target, &n.imported).unwrap_or(Symbol::Poisoned),
                        // M034 already says the base is missing; its names keep their meaning.
                        Import::MissingBase => Symbol::Base(Self::base_symbol(&n.imported.text)),
                        Import::Failed => Symbol::Poisoned,
                    };
                    scope.insert(n.local.text.clone(), sym);
                }
                if import.names.is_empty() {
                    self.resolve_import_path(f.file, import);
                }
            }
            self.scopes.insert(f.file, scope);
        }
    }

    /// Resolves an import's file; reports a failure once per import.
    pub(super) fn resolve_import_path(&mut self, from: FileId, import: &syn::Import) -> Import {
        if let Some(done) = self.imports.get(&(from, import.source_span)) {
            return *done;
        }
        let resolved = self.find_import(from, import);
        self.imports.insert((from, import.source_span), resolved);
        resolved
    }

    fn find_import(&mut self, from: FileId, import: &syn::Import) -> Import {
        let rel = self.layout.files.iter().find(|f| f.id == from).map(|f| f.rel.as_str()).unwrap_or("");
        let spec = import.source.as_str();
        if !spec.starts_with("./") && !spec.starts_with("../") {
            self.diags.push(
                Diagnostic::error(codes::M011, format!("cannot import from package `{spec}`"))
                    .primary(import.source_span, "not a relative path")
                    .help(
                        "schemas import only from files of the schema tree, e.g. `\"../manifold\"` or `\"./project\"`",
                    ),
            );
            return Import::Failed;
        }
        let dir = rel.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
        let joined = normalize(&format!("{dir}/{spec}"));
        let stem = joined.as_deref().map(|j| j.strip_suffix(".js").or(j.strip_suffix(".ts")).unwrap_or(j));
        let candidates = stem.map(|s| vec![format!("{s}.ts"), format!("{s}/index.ts")]).unwrap_or_default();
        if let Some(id) = candidates.iter().find_map(|c| self.rel_to_file.get(c.as_str()).copied()) {
            return Import::File(id);
        }
        if self.layout.base.is_none() && stem == Some(crate::load::BASE_FILE.trim_end_matches(".ts")) {
            return Import::MissingBase;
        }
        let help = if candidates.is_empty() {
            "the path leaves the schema root; import from `../manifold` or from files inside the tree".to_string()
        } else {
            format!("looked for {}", candidates.join(" and "))
        };
        self.diags.push(
            Diagnostic::error(codes::M011, format!("cannot find the schema file `{spec}`"))
                .primary(import.source_span, "no such file in the schema tree")
                .help(help),
        );
        Import::Failed
    }

    pub(super) fn exported_symbol(&mut self, target: FileId, name: &Name) -> Option<Symbol> {
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

    pub(super) fn lookup(&self, file: FileId, name: &str) -> Option<Symbol> {
        self.scopes.get(&file).and_then(|s| s.get(name)).copied()
    }
}

/// Where an import leads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Import {
    File(FileId),
    /// The base declarations, which are missing (already reported as M034).
    MissingBase,
    /// Reported; the imported names are poisoned.
    Failed,
}
