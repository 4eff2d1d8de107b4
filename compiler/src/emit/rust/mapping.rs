//! Per-entity staging builders and the product registry, built with quote.
//!
//! Each staging column is a *leaf*: an Arrow builder plus the expression that
//! reads its value out of the decoded message as an `Option` (null when the
//! message, or any optional message on the way, is absent). The leaves are walked
//! in exactly the order of `columns::source_table`, which a test checks against
//! the emitted schema.

use heck::{ToSnakeCase, ToUpperCamelCase};
use proc_macro2::{Ident, Span, TokenStream};
use quote::{format_ident, quote};

use crate::emit::columns::SqlType;
use crate::emit::dbt::{DbtModel, Kind, Origin, Writer};
use crate::emit::proto;
use crate::lock::Lock;
use crate::model::{Entity, EnumId, Field, Model, Product, Scalar, Type, naming};

/// One primitive column: its name, type, and value expression (an `Option<…>`).
struct Leaf {
    column: String,
    ty: SqlType,
    value: TokenStream,
}

/// One staging column: a primitive leaf, or a list whose items are leaves over `e`.
enum StagingColumn {
    Leaf(Leaf),
    List { column: String, vec: TokenStream, items: Vec<Leaf>, item_is_struct: bool },
}

pub fn generate(model: &Model, lock: &Lock, p: &Product, dbt: &[DbtModel]) -> String {
    let product_id = crate::model::ProductId(
        model.products.iter().position(|x| x.name == p.name).expect("a product of the model") as u32,
    );
    let enum_fns = p.enums.iter().enumerate().map(|(i, en)| {
        let f = enum_fn(model, EnumId(product_id, i as u32));
        let locked = lock.enumeration(&p.name, &en.name).expect("lock::assign numbers every enum");
        // Every number the lock ever gave, removed values included: a
        // producer still sending a removed value stages its name.
        let arms = locked.values.iter().map(|v| {
            let n = proc_macro2::Literal::i32_unsuffixed(v.number as i32);
            let name = &v.name;
            quote! { #n => Some(::std::borrow::Cow::Borrowed(#name)), }
        });
        let doc = format!(
            " The schema name of a `{}` value; `None` for 0 (unspecified). A number this build does not know \
             (a newer schema's value, sent before this binary was rebuilt) is staged as its decimal text, as \
             protobuf's JSON mapping prints unknown enum values, rather than lost as a null.",
            en.name
        );
        quote! {
            #[doc = #doc]
            pub fn #f(value: i32) -> Option<::std::borrow::Cow<'static, str>> {
                match value {
                    #(#arms)*
                    0 => None,
                    unknown => Some(::std::borrow::Cow::Owned(unknown.to_string())),
                }
            }
        }
    });
    let entities: Vec<TokenStream> = p.entities.iter().map(|e| entity(model, p, e)).collect();
    let views = super::views::module(model, lock, p, product_id);
    let infos = p.entities.iter().map(|e| entity_info(lock, p, e, dbt));
    let product = &p.name;
    let package = package_path(product);
    let descriptor_file = descriptor_file(product);
    let tokens = quote! {
        /// Staging-table builders and the registry of the product's entities.
        #[allow(clippy::all, unused_imports, deprecated)]
        pub mod mapping {
            use std::sync::Arc;
            use ::manifold_runtime::arrow_array::builder::{BooleanBuilder, Float64Builder, Int32Builder, Int64Builder, StringBuilder};
            use ::manifold_runtime::arrow_array::{ArrayRef, RecordBatch, StructArray};
            use ::manifold_runtime::arrow_schema::{DataType, Field, Fields, Schema, SchemaRef};
            use ::manifold_runtime::columns::{EnvelopeColumns, ListOffsets, RequiredColumns, envelope_fields, list_item, required_fields};
            use ::manifold_runtime::prost::Message as _;
            use ::manifold_runtime::{EntityInfo, Explode, ModelInfo, Registry, RowMeta, StagingTable, Writer};
            // The prost types by path: their names are the schema's.
            use super::proto::#package as pb;

            #(#enum_fns)*
            #views
            #(#entities)*

            /// Every entity of the product, by entity_type and type URL.
            pub static REGISTRY: Registry = Registry {
                product: #product,
                descriptor_set: include_bytes!(#descriptor_file),
                entities: &[#(#infos),*],
            };
        }
        pub use mapping::REGISTRY;
    };
    let file: syn::File = syn::parse2(tokens).expect("generated mapping code parses");
    prettyplease::unparse(&file)
}

/// The descriptor set's file name beside the generated Rust (`Builder` writes
/// both into the same folder; `include_bytes!` resolves it from the including file).
pub fn descriptor_file(product: &str) -> String {
    format!("manifold_{product}.binpb")
}

/// `manifold::jira::v1`
fn package_path(product: &str) -> TokenStream {
    let p = ident(product);
    quote! { manifold::#p::v1 }
}

fn enum_fn(model: &Model, id: EnumId) -> Ident {
    format_ident!("{}_name", model.enumeration(id).name.to_snake_case())
}

/// A Rust identifier as prost-build spells a proto field or module name.
pub(super) fn ident(name: &str) -> Ident {
    match name {
        "as" | "break" | "const" | "continue" | "else" | "enum" | "false" | "fn" | "for" | "if" | "impl" | "in"
        | "let" | "loop" | "match" | "mod" | "move" | "mut" | "pub" | "ref" | "return" | "static" | "struct"
        | "trait" | "true" | "type" | "unsafe" | "use" | "where" | "while" | "dyn" | "abstract" | "become" | "box"
        | "do" | "final" | "macro" | "override" | "priv" | "typeof" | "unsized" | "virtual" | "yield" | "async"
        | "await" | "try" | "gen" => Ident::new_raw(name, Span::call_site()),
        "super" | "self" | "Self" | "extern" | "crate" => format_ident!("{name}_"),
        _ => format_ident!("{name}"),
    }
}

/// The prost field of a schema field.
pub(super) fn field_ident(f: &Field) -> Ident {
    ident(&naming::proto_field_name(f).to_snake_case())
}

/// The prost type name of a message (`Self` is `Self_`, as prost-build spells it).
pub(super) fn type_ident(name: &str) -> Ident {
    ident(&name.to_upper_camel_case())
}

/// Leaves of a (non-array) field reached through `base`, an `Option<&Msg>`.
fn leaves(model: &Model, column: &str, f_ident: &Ident, ty: &Type, base: &TokenStream, out: &mut Vec<Leaf>) {
    let mut push = |column: String, ty: SqlType, value: TokenStream| out.push(Leaf { column, ty, value });
    match ty {
        Type::Scalar(Scalar::String | Scalar::Json | Scalar::Date) => {
            push(column.into(), SqlType::String, quote! { #base.and_then(|x| x.#f_ident.as_deref()) })
        }
        Type::Scalar(Scalar::Boolean) => {
            push(column.into(), SqlType::Boolean, quote! { #base.and_then(|x| x.#f_ident) })
        }
        Type::Scalar(Scalar::Int) => push(column.into(), SqlType::Integer, quote! { #base.and_then(|x| x.#f_ident) }),
        Type::Scalar(Scalar::Long) => push(column.into(), SqlType::Long, quote! { #base.and_then(|x| x.#f_ident) }),
        Type::Scalar(Scalar::Double) => push(column.into(), SqlType::Double, quote! { #base.and_then(|x| x.#f_ident) }),
        Type::Scalar(Scalar::Ari) => push(
            format!("{column}_value"),
            SqlType::String,
            quote! { #base.and_then(|x| x.#f_ident.as_ref()).map(|x| x.value.as_str()) },
        ),
        Type::Scalar(Scalar::Timestamp) => {
            push(
                format!("{column}_seconds"),
                SqlType::Long,
                quote! { #base.and_then(|x| x.#f_ident.as_ref()).map(|x| x.seconds) },
            );
            push(
                format!("{column}_nanos"),
                SqlType::Integer,
                quote! { #base.and_then(|x| x.#f_ident.as_ref()).map(|x| x.nanos) },
            );
        }
        Type::Enum(id) => {
            let f = enum_fn(model, *id);
            push(column.into(), SqlType::String, quote! { #base.and_then(|x| x.#f_ident).and_then(#f) })
        }
        Type::Relation(parent) => {
            let parent = model.entity(*parent);
            if let Some(key) = parent.fields.get(parent.key) {
                leaves(model, column, f_ident, &key.ty, base, out);
            }
        }
        Type::Struct(id) => {
            let inner = quote! { #base.and_then(|x| x.#f_ident.as_ref()) };
            for sf in &model.strukt(*id).fields {
                let col = format!("{column}_{}", naming::snake_case(&sf.name));
                leaves(model, &col, &field_ident(sf), &sf.ty, &inner, out);
            }
        }
        Type::Array(_) => {}
    }
}

/// The staging columns of an entity, in `columns::source_table` order (between
/// the envelope and the required columns).
fn staging_columns(model: &Model, e: &Entity) -> Vec<StagingColumn> {
    let root = quote! { m };
    let mut out = Vec::new();
    for f in &e.fields {
        let column = naming::snake_case(&f.name);
        let fi = field_ident(f);
        match &f.ty {
            Type::Array(elem) => {
                let vec = quote! { m.map(|x| &x.#fi) };
                let el = quote! { Some(e) };
                let (items, item_is_struct) = match &**elem {
                    Type::Struct(id) => {
                        let mut items = Vec::new();
                        for sf in &model.strukt(*id).fields {
                            leaves(model, &naming::snake_case(&sf.name), &field_ident(sf), &sf.ty, &el, &mut items);
                        }
                        (items, true)
                    }
                    Type::Scalar(Scalar::Timestamp) => (
                        vec![
                            Leaf { column: "seconds".into(), ty: SqlType::Long, value: quote! { Some(e.seconds) } },
                            Leaf { column: "nanos".into(), ty: SqlType::Integer, value: quote! { Some(e.nanos) } },
                        ],
                        true,
                    ),
                    Type::Scalar(Scalar::Ari) => (
                        vec![Leaf {
                            column: "element".into(),
                            ty: SqlType::String,
                            value: quote! { Some(e.value.as_str()) },
                        }],
                        false,
                    ),
                    Type::Scalar(Scalar::String | Scalar::Json | Scalar::Date) => (
                        vec![Leaf {
                            column: "element".into(),
                            ty: SqlType::String,
                            value: quote! { Some(e.as_str()) },
                        }],
                        false,
                    ),
                    Type::Scalar(s) => {
                        let ty = match s {
                            Scalar::Boolean => SqlType::Boolean,
                            Scalar::Int => SqlType::Integer,
                            Scalar::Long => SqlType::Long,
                            _ => SqlType::Double,
                        };
                        (vec![Leaf { column: "element".into(), ty, value: quote! { Some(*e) } }], false)
                    }
                    Type::Enum(id) => {
                        let f = enum_fn(model, *id);
                        (vec![Leaf { column: "element".into(), ty: SqlType::String, value: quote! { #f(*e) } }], false)
                    }
                    Type::Relation(_) | Type::Array(_) => continue,
                };
                out.push(StagingColumn::List { column, vec, items, item_is_struct });
            }
            ty => {
                let mut ls = Vec::new();
                leaves(model, &column, &fi, ty, &root, &mut ls);
                out.extend(ls.into_iter().map(StagingColumn::Leaf));
            }
        }
    }
    out
}

fn builder_type(ty: SqlType) -> TokenStream {
    match ty {
        SqlType::String | SqlType::Date | SqlType::Timestamp => quote! { StringBuilder },
        SqlType::Boolean => quote! { BooleanBuilder },
        SqlType::Integer => quote! { Int32Builder },
        SqlType::Long => quote! { Int64Builder },
        SqlType::Double => quote! { Float64Builder },
    }
}

fn arrow_type(ty: SqlType) -> TokenStream {
    match ty {
        SqlType::String | SqlType::Date | SqlType::Timestamp => quote! { DataType::Utf8 },
        SqlType::Boolean => quote! { DataType::Boolean },
        SqlType::Integer => quote! { DataType::Int32 },
        SqlType::Long => quote! { DataType::Int64 },
        SqlType::Double => quote! { DataType::Float64 },
    }
}

/// The builder of one array field's exploded rows: `(struct name, field name in
/// the staging builder, child table, tokens)`.
fn exploded(
    model: &Model,
    e: &Entity,
    field: &Field,
    items: &[Leaf],
    item_is_struct: bool,
) -> (Ident, Ident, String, TokenStream) {
    let msg = type_ident(&e.name);
    let child = naming::child_table(e, field);
    // `__` as in the child table's name: type names hold no `_`, so two
    // (entity, field) pairs never meet (`FooBar`+`baz`, `Foo`+`barBaz`).
    let name = format_ident!("{}__{}Exploded", e.name.to_upper_camel_case(), field.name.to_upper_camel_case());
    let slot = format_ident!("exploded_{}", naming::snake_case(&field.name));
    let fi = field_ident(field);
    let mut key = Vec::new();
    if let Some(k) = e.fields.get(e.key) {
        leaves(model, &naming::snake_case(&k.name), &field_ident(k), &k.ty, &quote! { Some(m) }, &mut key);
    }
    let is_timestamp = matches!(&field.ty, Type::Array(t) if **t == Type::Scalar(Scalar::Timestamp));
    let element_name = |l: &Leaf| match (item_is_struct, is_timestamp) {
        (true, false) => l.column.clone(),
        (true, true) => format!("value_{}", l.column),
        (false, _) => "value".to_string(),
    };
    // (struct field, schema field, append, finish) of one column.
    let parts = |column: String, l: &Leaf| {
        let b = format_ident!("col_{}", column);
        let (bt, at, v) = (builder_type(l.ty), arrow_type(l.ty), &l.value);
        (
            quote! { #b: #bt },
            quote! { Field::new(#column, #at, true) },
            quote! { self.#b.append_option(#v); },
            quote! { Arc::new(self.#b.finish()) as ArrayRef },
        )
    };
    type Parts = (Vec<TokenStream>, Vec<TokenStream>, Vec<TokenStream>, Vec<TokenStream>);
    let unzip4 = |v: Vec<(TokenStream, TokenStream, TokenStream, TokenStream)>| -> Parts {
        let mut out: Parts = Default::default();
        for (a, b, c, d) in v {
            out.0.push(a);
            out.1.push(b);
            out.2.push(c);
            out.3.push(d);
        }
        out
    };
    let (key_fields, key_schema, key_appends, key_finishes) =
        unzip4(key.iter().map(|l| parts(l.column.clone(), l)).collect());
    let (fields, schema, appends, finishes) = unzip4(items.iter().map(|l| parts(element_name(l), l)).collect());
    let doc = format!(" The rows of `{}` exploded: one per element of `{}.{}`.", child, e.name, field.name);
    // The same statements over prost's struct and over the view (same field names).
    let body = quote! {
        let Some(m) = m else { return };
        for (position, e) in m.#fi.iter().enumerate() {
            self.envelope.append(meta);
            #(#key_appends)*
            self.position.append_value(position as i32);
            #(#appends)*
            self.required.append(meta);
            self.rows += 1;
        }
    };
    let tokens = quote! {
        #[doc = #doc]
        #[derive(Default)]
        #[allow(non_camel_case_types)]
        pub struct #name {
            rows: usize,
            envelope: EnvelopeColumns,
            #(#key_fields,)*
            position: Int32Builder,
            #(#fields,)*
            required: RequiredColumns,
        }

        impl #name {
            /// The exploded rows' Arrow schema.
            pub fn schema() -> SchemaRef {
                let mut fields = envelope_fields();
                fields.extend([#(#key_schema,)* Field::new("position", DataType::Int32, false), #(#schema),*]);
                fields.extend(required_fields());
                Arc::new(Schema::new(fields))
            }

            /// Appends one row per element of the message's array (none without a message).
            pub fn append_message(&mut self, meta: &RowMeta<'_>, m: Option<&pb::#msg>) {
                #body
            }

            /// [`Self::append_message`] of a message read as a view.
            pub fn append_view(&mut self, meta: &RowMeta<'_>, m: Option<&views::#msg<'_>>) {
                #body
            }

            pub fn finish(&mut self) -> RecordBatch {
                let mut columns = self.envelope.finish();
                columns.extend([#(#key_finishes,)* Arc::new(self.position.finish()) as ArrayRef, #(#finishes),*]);
                columns.extend(self.required.finish());
                self.rows = 0;
                RecordBatch::try_new(Self::schema(), columns).expect("the columns match the schema")
            }
        }
    };
    (name, slot, child, tokens)
}

fn entity(model: &Model, p: &Product, e: &Entity) -> TokenStream {
    let msg = type_ident(&e.name);
    let staging = format_ident!("{}Staging", e.name.to_upper_camel_case());
    let cols = staging_columns(model, e);
    let array_fields: Vec<&Field> = e.fields.iter().filter(|f| matches!(f.ty, Type::Array(_))).collect();
    let explodes: Vec<(Ident, Ident, String, TokenStream)> = cols
        .iter()
        .filter_map(|c| match c {
            StagingColumn::List { items, item_is_struct, .. } => Some((items, *item_is_struct)),
            StagingColumn::Leaf(_) => None,
        })
        .zip(&array_fields)
        .map(|((items, is_struct), f)| exploded(model, e, f, items, is_struct))
        .collect();
    let exploded_types: Vec<&Ident> = explodes.iter().map(|x| &x.0).collect();
    let exploded_slots: Vec<&Ident> = explodes.iter().map(|x| &x.1).collect();
    let exploded_tables: Vec<&String> = explodes.iter().map(|x| &x.2).collect();
    let exploded_defs: Vec<&TokenStream> = explodes.iter().map(|x| &x.3).collect();
    let mut fields = Vec::new(); // struct fields
    let mut schema = Vec::new(); // schema fields
    let mut appends = Vec::new();
    let mut finishes = Vec::new();
    // Builders are named after their columns: `col_<column>`, and for a list
    // `list_<column>` (offsets) with `list_<column>_<item>` (items).
    for c in &cols {
        match c {
            StagingColumn::Leaf(l) => {
                let b = format_ident!("col_{}", l.column);
                let bt = builder_type(l.ty);
                let at = arrow_type(l.ty);
                let (name, value) = (&l.column, &l.value);
                fields.push(quote! { #b: #bt });
                schema.push(quote! { Field::new(#name, #at, true) });
                appends.push(quote! { self.#b.append_option(#value); });
                finishes.push(quote! { Arc::new(self.#b.finish()) as ArrayRef });
            }
            StagingColumn::List { column, vec, items, item_is_struct } => {
                let offsets = format_ident!("list_{column}");
                let item_builders: Vec<Ident> =
                    items.iter().map(|l| format_ident!("list_{column}_{}", l.column)).collect();
                fields.push(quote! { #offsets: ListOffsets });
                for (b, l) in item_builders.iter().zip(items) {
                    let bt = builder_type(l.ty);
                    fields.push(quote! { #b: #bt });
                }
                let item_fields: Vec<TokenStream> = items
                    .iter()
                    .map(|l| {
                        let (n, at) = (&l.column, arrow_type(l.ty));
                        quote! { Field::new(#n, #at, true) }
                    })
                    .collect();
                let item_type = if *item_is_struct {
                    quote! { DataType::Struct(Fields::from(vec![#(#item_fields),*])) }
                } else {
                    arrow_type(items[0].ty)
                };
                schema.push(quote! { Field::new(#column, DataType::List(list_item(#item_type)), true) });
                let item_appends = item_builders.iter().zip(items).map(|(b, l)| {
                    let v = &l.value;
                    quote! { self.#b.append_option(#v); }
                });
                appends.push(quote! {
                    match #vec {
                        Some(items) => {
                            for e in items {
                                #(#item_appends)*
                            }
                            self.#offsets.push_list(items.len());
                        }
                        None => self.#offsets.push_null(),
                    }
                });
                let values = if *item_is_struct {
                    quote! {
                        Arc::new(StructArray::new(
                            Fields::from(vec![#(#item_fields),*]),
                            vec![#(Arc::new(self.#item_builders.finish()) as ArrayRef),*],
                            None,
                        )) as ArrayRef
                    }
                } else {
                    let b = &item_builders[0];
                    quote! { Arc::new(self.#b.finish()) as ArrayRef }
                };
                finishes.push(quote! { self.#offsets.finish(list_item(#item_type), #values) });
            }
        }
    }
    let doc = format!(
        " Rows of the staging table `manifold_entities.{}` (message `{}.{}`).",
        e.name,
        proto::package(&p.name),
        e.name
    );
    // Step 1 stages messages as they are; only a table made with `Explode::Yes`
    // pays for the child rows.
    let (explode_field, new) = if exploded_slots.is_empty() {
        (None, quote! { pub fn new(_: Explode) -> Self { Self::default() } })
    } else {
        (
            Some(quote! {
                /// Whether `append` also builds the exploded child rows.
                explode: bool,
            }),
            quote! {
                pub fn new(explode: Explode) -> Self {
                    #staging { explode: explode == Explode::Yes, ..Default::default() }
                }
            },
        )
    };
    // One row, the same statements over prost's struct (`append_message`) and
    // over the view (`append_view`): the field names are the same.
    let append_with = |method: Ident| {
        let explode = (!exploded_slots.is_empty()).then(|| {
            quote! {
                if self.explode {
                    #(self.#exploded_slots.#method(meta, m);)*
                }
            }
        });
        quote! {
            self.envelope.append(meta);
            #(#appends)*
            self.required.append(meta);
            self.rows += 1;
            #explode
        }
    };
    let (append_message, append_view) =
        (append_with(format_ident!("append_message")), append_with(format_ident!("append_view")));
    quote! {
        #[doc = #doc]
        #[derive(Default)]
        pub struct #staging {
            rows: usize,
            #explode_field
            envelope: EnvelopeColumns,
            #(#fields,)*
            required: RequiredColumns,
            #(#exploded_slots: #exploded_types,)*
        }

        #(#exploded_defs)*

        impl #staging {
            /// An empty staging table; with `Explode::Yes` it also builds the
            /// exploded rows of its array fields (`finish_exploded`).
            #new

            /// The staging table's Arrow schema.
            pub fn schema() -> SchemaRef {
                let mut fields = envelope_fields();
                fields.extend([#(#schema),*]);
                fields.extend(required_fields());
                Arc::new(Schema::new(fields))
            }

            /// Appends one row: the envelope values and the message (`None` for a
            /// tombstone without payload).
            pub fn append_message(&mut self, meta: &RowMeta<'_>, m: Option<&pb::#msg>) {
                #append_message
            }

            /// [`Self::append_message`] of a message read as a view.
            pub fn append_view(&mut self, meta: &RowMeta<'_>, m: Option<&views::#msg<'_>>) {
                #append_view
            }
        }

        impl StagingTable for #staging {
            fn append(&mut self, meta: &RowMeta<'_>, payload: Option<&[u8]>) -> Result<(), ::manifold_runtime::wire::WireError> {
                let m = payload.map(::manifold_runtime::wire::decode::<views::#msg<'_>>).transpose()?;
                self.append_view(meta, m.as_ref());
                Ok(())
            }

            fn check(&self, payload: &[u8]) -> Result<(), ::manifold_runtime::wire::WireError> {
                ::manifold_runtime::wire::decode::<views::#msg<'_>>(payload).map(drop)
            }

            fn append_with_prost(&mut self, meta: &RowMeta<'_>, payload: Option<&[u8]>) -> Result<(), ::manifold_runtime::prost::DecodeError> {
                let m = payload.map(pb::#msg::decode).transpose()?;
                self.append_message(meta, m.as_ref());
                Ok(())
            }

            fn len(&self) -> usize {
                self.rows
            }

            fn finish(&mut self) -> RecordBatch {
                let mut columns = self.envelope.finish();
                columns.extend([#(#finishes),*]);
                columns.extend(self.required.finish());
                self.rows = 0;
                RecordBatch::try_new(Self::schema(), columns).expect("the columns match the schema")
            }

            fn finish_exploded(&mut self) -> Vec<(&'static str, RecordBatch)> {
                vec![#((#exploded_tables, self.#exploded_slots.finish())),*]
            }
        }
    }
}

fn entity_info(lock: &Lock, p: &Product, e: &Entity, dbt: &[DbtModel]) -> TokenStream {
    let children: Vec<String> =
        e.fields.iter().filter(|f| matches!(f.ty, Type::Array(_))).map(|f| naming::child_table(e, f)).collect();
    let staging = format_ident!("{}Staging", e.name.to_upper_camel_case());
    let name = &e.name;
    let product = &p.name;
    let entity_type = lock.entity(&e.name).expect("numbered").entity_type as i32;
    let type_url = proto::type_url(&p.name, &e.name);
    let table = format!("manifold_entities.{}", e.name);
    // The entity's main table: what a merge_exploded model's keys are versioned by.
    let main = dbt
        .iter()
        .find(|m| matches!(&m.origin, Origin::Generated { entity, field: None } if *entity == e.name))
        .map(|m| m.name.as_str());
    let models = super::transform::ingestion_models(p, &e.name, dbt).into_iter().map(|m| {
        let Kind::Ingestion(w) = m.kind else { unreachable!("ingestion models only") };
        let writer = match w {
            Writer::Append => quote! { Writer::Append },
            Writer::Merge => quote! { Writer::Merge },
            Writer::MergeExploded => quote! { Writer::MergeExploded },
        };
        let parent = match (w, main) {
            (Writer::MergeExploded, Some(main)) => quote! { Some(#main) },
            _ => quote! { None },
        };
        let (n, sql) = (&m.name, &m.compiled.sql);
        let (key, part) = (&m.key, &m.partition_by);
        let module = ident(&m.name);
        // Team models only: a generated model's SQL follows its entity's
        // fields, which change only as `manifold check` allows (a new optional
        // field is a new column, NULL in the rows of records that never had
        // it, as the new SQL computes them too). A team's SQL may change what
        // every row holds.
        let fingerprint = match m.origin {
            Origin::User { .. } => quote! { Some(super::transforms::#module::FINGERPRINT) },
            Origin::Generated { .. } => quote! { None },
        };
        quote! {
            ModelInfo {
                name: #n,
                writer: #writer,
                key: &[#(#key),*],
                partition_by: &[#(#part),*],
                compiled_sql: #sql,
                schema: super::transforms::#module::schema,
                transform: super::transforms::#module::run,
                parent: #parent,
                sql_fingerprint: #fingerprint,
            }
        }
    });
    let partition = crate::emit::columns::PARTITION_COLUMN;
    quote! {
        EntityInfo {
            name: #name,
            product: #product,
            entity_type: #entity_type,
            type_url: #type_url,
            staging_table: #table,
            staging_schema: #staging::schema,
            staging_partition_by: &[#partition],
            new_staging: |explode| Box::new(#staging::new(explode)),
            child_tables: &[#(#children),*],
            models: &[#(#models),*],
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn type_names_are_spelled_as_prost_build_spells_them() {
        assert_eq!(super::type_ident("JiraIssue").to_string(), "JiraIssue");
        assert_eq!(super::type_ident("Self").to_string(), "Self_");
        assert_eq!(super::ident("type").to_string(), "r#type");
    }
}
