//! Fields and their types: resolve written types into Model types, pick entity keys.

use super::*;

impl Resolver<'_> {
    // ----- members -------------------------------------------------------------

    pub(super) fn resolve_members(&mut self) {
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

    pub(super) fn fields(&mut self, file: FileId, it: &Interface, is_entity: bool, product: ProductId) -> Vec<Field> {
        self.type_params = it.type_param_names.clone();
        let mut out: Vec<Field> = Vec::new();
        let mut seen: HashMap<&str, Span> = HashMap::new();
        for p in &it.properties {
            if let Some(prev) = seen.get(p.name.text.as_str()) {
                let what = format!("field `{}` of `{}`", p.name.text, it.name.text);
                let help = "remove or rename one of them; each field is one proto field and one column";
                self.diags.push(declared_twice(codes::M013, what, p.name.span, *prev, help));
                continue;
            }
            seen.insert(&p.name.text, p.name.span);
            if !is_field_name(&p.name.text) {
                let fixed = camel_case(&p.name.text);
                // A suggestion only when it is itself valid (not for `naïve` or `2fa`).
                let help = if is_field_name(&fixed) {
                    format!("write `{fixed}`; columns and proto fields get the snake_case form")
                } else {
                    "use ASCII letters and digits, starting with a lowercase letter: the name becomes a proto \
                     field and a column in every engine"
                        .to_string()
                };
                self.diags.push(
                    Diagnostic::error(codes::M027, format!("field name `{}` is not lowerCamelCase", p.name.text))
                        .primary(p.name.span, "expected lowerCamelCase ASCII letters and digits")
                        .help(help),
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
            if let Type::Array(_) = ty
                && !is_entity
            {
                self.diags.push(
                    Diagnostic::error(codes::M029, format!("struct `{}` has the array field `{}`", it.name.text, p.name.text))
                        .primary(p.name.span, "arrays are fields of entities only")
                        .help("an array becomes a child table of its entity: move the field to the entity, or keep one element (or a `Json` list) in the struct"),
                );
            }
            if let Type::Array(_) = ty
                && p.optional
            {
                self.diags.push(
                    Diagnostic::error(codes::M029, format!("array field `{}` is optional", p.name.text))
                        .primary(p.name.span, "arrays cannot be optional")
                        .help(format!("write `{}: …[]`: an absent array is an empty one (no child rows)", p.name.text)),
                );
            }
            for tag in &p.doc.tags {
                match tag.name.as_str() {
                    "deprecated" | "pii" | "allow" => {}
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
                allows: Allow::from_doc(&p.doc),
            });
        }
        if is_entity {
            self.pick_key(it, &out);
        }
        self.type_params.clear();
        out
    }

    /// Records the key index on the entity named by `it` (checked in `checks`).
    pub(super) fn pick_key(&mut self, it: &Interface, fields: &[Field]) {
        let keyed: Vec<usize> = it
            .properties
            .iter()
            .filter(|p| p.doc.tag("key").is_some())
            .filter_map(|p| fields.iter().position(|f| f.name == p.name.text))
            .collect();
        if keyed.len() > 1 {
            let tags: Vec<Span> = it.properties.iter().filter_map(|p| p.doc.tag("key")).map(|t| t.span).collect();
            let mut d =
                Diagnostic::error(codes::M020, format!("entity `{}` has {} `@key` fields", it.name.text, keyed.len()))
                    .primary(tags[1], "a second key")
                    .secondary(tags[0], "first key")
                    .help("an entity has one key; composite identity comes from `ComposedBy` relations");
            for t in &tags[2..] {
                d = d.secondary(*t, "another key");
            }
            self.diags.push(d);
        }
        let key = keyed.first().copied().unwrap_or(0);
        if let Some(e) =
            self.model.products.iter_mut().flat_map(|p| p.entities.iter_mut()).find(|e| e.span == it.name.span)
        {
            e.key = key;
        }
    }

    /// Resolves a written type. `None` after reporting why it is not a Manifold type.
    pub(super) fn ty(&mut self, file: FileId, t: &TypeExpr, product: ProductId, in_array: bool) -> Option<Type> {
        match t {
            TypeExpr::Array { elem, span } => {
                if in_array || matches!(**elem, TypeExpr::Array { .. }) {
                    self.diags.push(
                        Diagnostic::error(codes::M029, "nested arrays are not supported")
                            .primary(*span, "an array of arrays")
                            .help("an array becomes one child table; give the inner level its own entity (with `ComposedBy`), or hold it as `Json`"),
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
            TypeExpr::Keyword { keyword, span } => {
                match *keyword {
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
                }
            }
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

    pub(super) fn type_ref(
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
            if self.type_params.contains(&name.text) {
                return None; // a type parameter of a generic interface: already an M007
            }
            return self.global_type(name);
        };
        match sym {
            Symbol::Poisoned => None,
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
                                .help(format!(
                                    "reference the parent with `ComposedBy<{}>`, or hold its id as `ARI`",
                                    name.text
                                )),
                        );
                        None
                    }
                    TypeDecl::Manifest => {
                        self.diags.push(
                            Diagnostic::error(codes::M010, format!("`{}` is a manifest, not a field type", name.text))
                                .primary(name.span, "manifests describe entities; they hold no data")
                                .help(format!(
                                    "use the entity `{}` through `ComposedBy`",
                                    name.text.trim_end_matches("Manifest")
                                )),
                        );
                        None
                    }
                }
            }
        }
    }

    /// A type name not bound in the file: the global `String`/`Boolean`, or unknown.
    pub(super) fn global_type(&mut self, name: &Name) -> Option<Type> {
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

    pub(super) fn same_product(&mut self, name: &Name, theirs: ProductId, ours: ProductId) -> bool {
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

    pub(super) fn composed_by(
        &mut self,
        file: FileId,
        name: &Name,
        args: &[TypeExpr],
        span: Span,
        _product: ProductId,
    ) -> Option<Type> {
        let [arg] = args else {
            self.diags.push(
                Diagnostic::error(
                    codes::M007,
                    format!("`ComposedBy` takes one entity, found {} type arguments", args.len()),
                )
                .primary(span, "expected `ComposedBy<Parent>`")
                .help("name exactly one parent entity, e.g. `project: ComposedBy<JiraProject>;`"),
            );
            return None;
        };
        let target = match arg {
            TypeExpr::Ref { qualifier: None, name: n, args, .. } if args.is_empty() => {
                if self.lookup(file, &n.text) == Some(Symbol::Poisoned) {
                    return None;
                }
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
}
