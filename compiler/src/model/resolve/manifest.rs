//! Manifests: attach `<Entity>Manifest` to its entity and read owner, status and
//! the deprecation metadata.

use super::*;

impl Resolver<'_> {
    // ----- manifests -----------------------------------------------------------

    pub(super) fn attach_manifests(&mut self) {
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
                if entity.is_none() && self.dropped_entities.contains(&(product, entity_name.to_string())) {
                    continue; // its entity was a duplicate, already reported
                }
                let Some(index) = entity else {
                    let mut d = Diagnostic::error(
                        codes::M015,
                        format!("manifest `{}` has no entity `{entity_name}`", it.name.text),
                    )
                    .primary(
                        it.name.span,
                        format!("no entity `{entity_name}` in product `{}`", self.model.product(product).name),
                    );
                    let names: Vec<&str> =
                        self.model.product(product).entities.iter().map(|e| e.name.as_str()).collect();
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
                let entity = &mut self.model.products[product.0 as usize].entities[index];
                entity.manifest = manifest;
                entity.allows.extend(Allow::from_doc(&it.doc));
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
                    .primary(span, format!("declared without `{name}Manifest`"))
                    .help(format!(
                        "add `export interface {name}Manifest extends Manifest {{ owner: Team.<TEAM>; status: EntityState.ACTIVE; }}` in the same product"
                    )),
            );
        }
    }

    pub(super) fn entity_id(&self, e: &Entity) -> EntityId {
        let index = self.model.product(e.product).entities.iter().position(|x| x.span == e.span).unwrap_or(0);
        EntityId(e.product, index as u32)
    }

    pub(super) fn manifest(&mut self, file: FileId, it: &Interface) -> Manifest {
        let mut m = Manifest::placeholder(it.name.span);
        let (mut has_owner, mut has_status) = (false, false);
        for p in &it.properties {
            for tag in &p.doc.tags {
                self.unknown_or_misplaced_tag(tag, "a manifest property");
            }
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
    pub(super) fn enum_member(
        &mut self,
        file: FileId,
        ty: &TypeExpr,
        expected: BaseSymbol,
        enum_name: &str,
    ) -> Option<String> {
        let code = if expected == BaseSymbol::Team { codes::M016 } else { codes::M017 };
        let prop = if expected == BaseSymbol::Team { "owner" } else { "status" };
        let members = if expected == BaseSymbol::Team { self.teams.clone() } else { self.states.clone() };
        if let TypeExpr::Ref { qualifier: Some(q), .. } = ty
            && self.lookup(file, &q.text) == Some(Symbol::Poisoned)
        {
            return None;
        }
        if let TypeExpr::Ref { qualifier: Some(q), name, args, .. } = ty
            && args.is_empty()
            && self.lookup(file, &q.text) == Some(Symbol::Base(expected))
        {
            // Without base declarations (an M034 already) there is nothing to check against.
            if members.contains(&name.text) || self.layout.base.is_none() {
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
        self.diags.push(
            Diagnostic::error(code, format!("`{prop}` must be a member of `{enum_name}`"))
                .primary(ty.span(), format!("expected `{enum_name}.<MEMBER>`"))
                .help(format!(
                    "write e.g. `{prop}: {enum_name}.{};` with `{enum_name}` imported from the base declarations",
                    members.first().map(String::as_str).unwrap_or("…")
                )),
        );
        None
    }

    pub(super) fn date_literal(&mut self, ty: &TypeExpr, prop: &str) -> Option<String> {
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

    pub(super) fn replacement(&mut self, file: FileId, ty: &TypeExpr) -> Option<Option<EntityId>> {
        if let TypeExpr::Ref { name, .. } = ty
            && self.lookup(file, &name.text) == Some(Symbol::Poisoned)
        {
            return None;
        }
        match ty {
            TypeExpr::Keyword { keyword: "null", .. } => return Some(None),
            TypeExpr::Ref { qualifier: None, name, args, .. } if args.is_empty() => {
                if let Some(TypeDecl::Entity(id)) =
                    self.lookup(file, &name.text).and_then(|s| self.decls.get(&s).copied())
                {
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
