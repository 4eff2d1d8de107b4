//! The Model: the checked, resolved IR every later stage reads.
//!
//! [`resolve`] builds it from [`Syntax`](crate::parse::Syntax). The Model holds no
//! numbers: the lock assigns them (`lock::assign`) and emitters read both. It is
//! read-only to everything after the resolver, and deliberately not serde: the
//! documented JSON shape lives in [`json`] and can stay stable while this changes.

mod checks;
pub mod date;
pub mod json;
pub mod naming;
mod resolve;

pub use resolve::{Layout, LayoutFile, resolve};

use crate::source::{FileId, Span};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProductId(pub u32);

/// An entity, struct or enum: its product and its index in that product's list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EntityId(pub ProductId, pub u32);
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StructId(pub ProductId, pub u32);
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EnumId(pub ProductId, pub u32);

/// Every product of the schema tree, sorted by name.
#[derive(Clone, Debug, Default)]
pub struct Model {
    pub products: Vec<Product>,
    /// The members of `Team` in the base declarations.
    pub teams: Vec<String>,
}

/// One folder `schemas/<name>/`: one protobuf package, one dbt folder.
#[derive(Clone, Debug)]
pub struct Product {
    pub name: String,
    pub entities: Vec<Entity>,
    pub structs: Vec<Struct>,
    pub enums: Vec<Enum>,
    /// The team's own dbt models (`schemas/<product>/models/*.sql`), by file name.
    pub models: Vec<UserModel>,
}

/// A dbt model written by a team beside its schema: compiled and checked like the
/// generated ones.
#[derive(Clone, Debug)]
pub struct UserModel {
    /// The file stem: the dbt model name.
    pub name: String,
    pub file: FileId,
    /// The model's text, as written.
    pub sql: String,
}

#[derive(Clone, Debug)]
pub struct Entity {
    pub name: String,
    pub product: ProductId,
    pub file: FileId,
    /// The interface name.
    pub span: Span,
    pub doc: String,
    pub fields: Vec<Field>,
    /// Index of the key field in `fields`.
    pub key: usize,
    pub manifest: Manifest,
    /// `@allow` tags on the entity interface or its manifest.
    pub allows: Vec<Allow>,
}

impl Entity {
    pub fn key_field(&self) -> &Field {
        &self.fields[self.key]
    }
}

/// `<Entity>Manifest`: ownership and lifecycle.
#[derive(Clone, Debug)]
pub struct Manifest {
    pub owner: String,
    pub state: EntityState,
    pub deprecated_since: Option<String>,
    pub sunset: Option<String>,
    /// `Some(None)` is an explicit `replacedBy: null`.
    pub replaced_by: Option<Option<EntityId>>,
    /// The manifest interface name.
    pub span: Span,
}

impl Manifest {
    /// An ACTIVE manifest without owner, until the real one is attached.
    pub(crate) fn placeholder(span: Span) -> Self {
        Manifest {
            owner: String::new(),
            state: EntityState::Active,
            deprecated_since: None,
            sunset: None,
            replaced_by: None,
            span,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EntityState {
    Active,
    Deprecated,
    Retired,
}

impl EntityState {
    pub const ALL: [EntityState; 3] = [EntityState::Active, EntityState::Deprecated, EntityState::Retired];

    pub fn as_str(self) -> &'static str {
        match self {
            EntityState::Active => "ACTIVE",
            EntityState::Deprecated => "DEPRECATED",
            EntityState::Retired => "RETIRED",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }
}

/// A nested interface: flattened into its parent's columns, or exploded into a
/// child table when used as an array element.
#[derive(Clone, Debug)]
pub struct Struct {
    pub name: String,
    pub product: ProductId,
    pub file: FileId,
    pub span: Span,
    pub doc: String,
    pub fields: Vec<Field>,
}

/// A string enum; tables store the value names.
#[derive(Clone, Debug)]
pub struct Enum {
    pub name: String,
    pub product: ProductId,
    pub file: FileId,
    pub span: Span,
    pub doc: String,
    pub values: Vec<EnumValue>,
}

#[derive(Clone, Debug)]
pub struct EnumValue {
    pub name: String,
    pub span: Span,
    pub doc: String,
    pub deprecated: Option<String>,
    pub allows: Vec<Allow>,
}

#[derive(Clone, Debug)]
pub struct Field {
    pub name: String,
    /// The property name.
    pub span: Span,
    pub ty: Type,
    pub optional: bool,
    pub doc: String,
    /// `@deprecated <reason>`: the field is in its contract phase.
    pub deprecated: Option<String>,
    /// `@pii`: personal data (drives GDPR tooling and column comments).
    pub pii: bool,
    /// `@allow <RULE> <reason>`: scoped overrides of `manifold check` warnings.
    pub allows: Vec<Allow>,
}

/// `@allow EC012 backfill finished in #1234`: accepts one `manifold check`
/// warning on the element the tag is on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Allow {
    /// The rule id as written (validated by `manifold check`).
    pub rule: String,
    pub reason: String,
    /// The tag.
    pub span: Span,
}

impl Allow {
    /// The `@allow` tags of a JSDoc block.
    pub fn from_doc(doc: &crate::parse::syntax::Doc) -> Vec<Allow> {
        doc.tags
            .iter()
            .filter(|t| t.name == "allow")
            .map(|t| {
                let (rule, reason) = t.value.split_once(char::is_whitespace).unwrap_or((t.value.as_str(), ""));
                Allow { rule: rule.to_string(), reason: reason.trim().to_string(), span: t.span }
            })
            .collect()
    }
}

/// A field's type. Arrays hold scalars, enums or structs, never arrays or relations.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Type {
    Scalar(Scalar),
    Enum(EnumId),
    Struct(StructId),
    /// `ComposedBy<Parent>`: holds the parent's key.
    Relation(EntityId),
    Array(Box<Type>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scalar {
    String,
    Boolean,
    Int,
    Long,
    Double,
    Timestamp,
    Date,
    Ari,
    Json,
}

impl Scalar {
    pub const ALL: [Scalar; 9] = [
        Scalar::String,
        Scalar::Boolean,
        Scalar::Int,
        Scalar::Long,
        Scalar::Double,
        Scalar::Timestamp,
        Scalar::Date,
        Scalar::Ari,
        Scalar::Json,
    ];

    /// The name in the schema language.
    pub fn as_str(self) -> &'static str {
        match self {
            Scalar::String => "String",
            Scalar::Boolean => "Boolean",
            Scalar::Int => "Int",
            Scalar::Long => "Long",
            Scalar::Double => "Double",
            Scalar::Timestamp => "Timestamp",
            Scalar::Date => "Date",
            Scalar::Ari => "ARI",
            Scalar::Json => "Json",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|sc| sc.as_str() == s)
    }

    /// Whether a field of this type can be an entity key.
    pub fn can_be_key(self) -> bool {
        matches!(self, Scalar::String | Scalar::Ari | Scalar::Int | Scalar::Long)
    }
}

impl Model {
    pub fn product(&self, id: ProductId) -> &Product {
        &self.products[id.0 as usize]
    }

    pub fn entity(&self, id: EntityId) -> &Entity {
        &self.product(id.0).entities[id.1 as usize]
    }

    pub fn strukt(&self, id: StructId) -> &Struct {
        &self.product(id.0).structs[id.1 as usize]
    }

    pub fn enumeration(&self, id: EnumId) -> &Enum {
        &self.product(id.0).enums[id.1 as usize]
    }

    /// Every entity, products in name order, entities in declaration order.
    pub fn entities(&self) -> impl Iterator<Item = &Entity> {
        self.products.iter().flat_map(|p| p.entities.iter())
    }

    pub fn entity_by_name(&self, name: &str) -> Option<&Entity> {
        self.entities().find(|e| e.name == name)
    }

    /// The canonical spelling of a type, as the lock records it: `String`,
    /// `enum JiraIssueStatus`, `struct JiraIssueField`, `ComposedBy<JiraProject>`, `T[]`.
    pub fn type_name(&self, ty: &Type) -> String {
        match ty {
            Type::Scalar(s) => s.as_str().to_string(),
            Type::Enum(id) => format!("enum {}", self.enumeration(*id).name),
            Type::Struct(id) => format!("struct {}", self.strukt(*id).name),
            Type::Relation(id) => format!("ComposedBy<{}>", self.entity(*id).name),
            Type::Array(elem) => format!("{}[]", self.type_name(elem)),
        }
    }
}
