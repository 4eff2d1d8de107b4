//! Declarations: classify interfaces (entity, manifest, struct), register them and
//! enums in the Model, check type names, enum values and declaration-level tags.

use super::*;

impl Resolver<'_> {
    // ----- declarations ------------------------------------------------------

    /// Classifies interfaces and enums and gives each its place in the Model.
    pub(super) fn register_declarations(&mut self) {
        // Names already taken: per product (types) and globally (entities).
        let mut product_names: HashMap<(ProductId, String), Span> = HashMap::new();
        let mut entity_names: HashMap<String, Span> = HashMap::new();
        let files: Vec<&FileSyntax> = self.syntax.files.iter().filter(|f| Some(f.file) != self.layout.base).collect();
        for f in files {
            let Some(&product) = self.file_product.get(&f.file) else { continue };
            for (i, it) in f.interfaces.iter().enumerate() {
                let kind = self.classify(f.file, it);
                if kind != Kind::Manifest {
                    if let Some(prev) = product_names.get(&(product, it.name.text.clone())) {
                        self.duplicate_type(&it.name, *prev);
                        if kind == Kind::Entity {
                            self.dropped_entities.insert((product, it.name.text.clone()));
                        }
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
                            self.dropped_entities.insert((product, it.name.text.clone()));
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
                            manifest: Manifest::placeholder(it.name.span),
                            allows: Allow::from_doc(&it.doc),
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
                self.enum_tags(en);
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

    /// What an interface declares, by its `extends` clause. Never `None` after an
    /// error: a best guess keeps the rest of the file from cascading.
    pub(super) fn classify(&mut self, file: FileId, it: &Interface) -> Kind {
        let kinds: Vec<Option<Kind>> = it
            .extends
            .iter()
            .map(|h| match self.lookup(file, &h.name.text) {
                Some(Symbol::Base(BaseSymbol::Entity)) => Some(Kind::Entity),
                Some(Symbol::Base(BaseSymbol::Manifest)) => Some(Kind::Manifest),
                // A failed import of `Entity` (already reported): trust the name.
                Some(Symbol::Poisoned) if h.name.text == "Entity" => Some(Kind::Entity),
                Some(Symbol::Poisoned) if h.name.text == "Manifest" => Some(Kind::Manifest),
                Some(Symbol::Poisoned) => Some(Kind::Struct),
                _ => None,
            })
            .collect();
        let guess = kinds.iter().flatten().copied().min_by_key(|k| *k as u8).unwrap_or(Kind::Struct);
        if let [_, second, ..] = it.extends.as_slice() {
            self.diags.push(
                Diagnostic::error(codes::M009, format!("interface `{}` extends more than one interface", it.name.text))
                    .primary(second.span, "a second base")
                    .help("extend exactly one of `Entity` or `Manifest`, or nothing; copy shared fields instead of inheriting them"),
            );
        } else if let (Some(h), Some(None)) = (it.extends.first(), kinds.first()) {
            let what = if h.name.text.is_empty() { "an expression".to_string() } else { format!("`{}`", h.name.text) };
            self.diags.push(
                Diagnostic::error(codes::M009, format!("interface `{}` extends {what}", it.name.text))
                    .primary(h.span, "only `Entity` and `Manifest` (imported from the base declarations) can be extended")
                    .help("an entity extends `Entity`, its manifest extends `Manifest`, a struct extends nothing; copy shared fields instead of inheriting them"),
            );
        }
        guess
    }

    pub(super) fn duplicate_type(&mut self, name: &Name, prev: Span) {
        self.diags.push(declared_twice(
            codes::M012,
            format!("`{}`", name.text),
            name.span,
            prev,
            "entity names are unique across all products (they name tables); struct and enum names are unique within a product",
        ));
    }

    pub(super) fn check_type_name(&mut self, name: &Name) {
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

    pub(super) fn misplaced_interface_tags(&mut self, it: &Interface, kind: Kind) {
        let entity = it.name.text.strip_suffix("Manifest").filter(|_| kind == Kind::Manifest).unwrap_or(&it.name.text);
        for tag in &it.doc.tags {
            let (label, help) = match (tag.name.as_str(), kind) {
                ("allow", Kind::Entity | Kind::Manifest) => continue,
                ("deprecated", Kind::Entity | Kind::Manifest) => (
                    "entities are deprecated through their manifest's status",
                    format!("set `status: EntityState.DEPRECATED` in `{entity}Manifest`"),
                ),
                ("deprecated", Kind::Struct) => {
                    ("a struct has no lifecycle of its own", "deprecate the fields that use the struct".to_string())
                }
                ("key" | "pii", _) => {
                    ("this tag belongs on a field", "put the tag in the JSDoc of the field it describes".to_string())
                }
                _ => {
                    self.unknown_tag(tag);
                    continue;
                }
            };
            self.diags.push(
                Diagnostic::error(codes::M031, format!("`@{}` on interface `{}`", tag.name, it.name.text))
                    .primary(tag.span, label)
                    .help(help),
            );
        }
    }

    /// Tags on an enum declaration: values carry `@deprecated`, nothing else applies.
    pub(super) fn enum_tags(&mut self, en: &syn::Enum) {
        for tag in &en.doc.tags {
            if KNOWN_TAGS.contains(&tag.name.as_str()) {
                self.diags.push(
                    Diagnostic::error(codes::M031, format!("`@{}` on enum `{}`", tag.name, en.name.text))
                        .primary(tag.span, "this tag has no meaning on an enum")
                        .help(
                            "deprecate individual values with `@deprecated`; `@key` and `@pii` belong on entity fields",
                        ),
                );
            } else {
                self.unknown_tag(tag);
            }
        }
    }

    pub(super) fn unknown_tag(&mut self, tag: &syn::Tag) {
        if KNOWN_TAGS.contains(&tag.name.as_str()) || TOLERATED_TAGS.contains(&tag.name.as_str()) {
            return;
        }
        let mut d = Diagnostic::warning(codes::M032, format!("unknown JSDoc tag `@{}`", tag.name))
            .primary(tag.span, "the schema language ignores this tag");
        if let Some(s) = suggest(&tag.name, KNOWN_TAGS.iter().copied()) {
            d = d.help(format!("did you mean `@{s}`?"));
        } else {
            d = d.help(format!(
                "known tags: {}",
                KNOWN_TAGS.iter().map(|t| format!("@{t}")).collect::<Vec<_>>().join(", ")
            ));
        }
        self.diags.push(d);
    }

    pub(super) fn enum_values(&mut self, en: &syn::Enum) -> Vec<EnumValue> {
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
                        .help(format!(
                            "write `{name} = \"{name}\"`: tables store the name, and a second spelling would drift"
                        )),
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
                self.diags.push(declared_twice(
                    codes::M013,
                    format!("enum value `{name}`"),
                    m.name.span,
                    *prev,
                    "remove one of them",
                ));
                continue;
            }
            seen.insert(name, m.name.span);
            for tag in &m.doc.tags {
                if tag.name != "deprecated" && tag.name != "allow" {
                    self.unknown_or_misplaced_tag(tag, "an enum value");
                }
            }
            out.push(EnumValue {
                name: name.clone(),
                span: m.name.span,
                doc: m.doc.text.clone(),
                deprecated: m.doc.tag("deprecated").map(|t| t.value.clone()),
                allows: Allow::from_doc(&m.doc),
            });
        }
        out
    }

    pub(super) fn unknown_or_misplaced_tag(&mut self, tag: &syn::Tag, on: &str) {
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
}
