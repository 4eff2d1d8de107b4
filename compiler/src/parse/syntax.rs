//! The syntax facts the parser extracts from a schema file.
//!
//! A deliberately small tree: only what the schema language can use survives, and
//! everything outside it is kept as a located "unsupported" marker so that the
//! resolver can explain it. Nothing here refers to swc.

use crate::source::{FileId, Span};

/// An identifier and where it is written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Name {
    pub text: String,
    pub span: Span,
}

/// All schema files of a run.
#[derive(Clone, Debug, Default)]
pub struct Syntax {
    pub files: Vec<FileSyntax>,
}

/// The declarations of one file, in source order.
#[derive(Clone, Debug)]
pub struct FileSyntax {
    pub file: FileId,
    pub imports: Vec<Import>,
    pub interfaces: Vec<Interface>,
    pub enums: Vec<Enum>,
    /// `type X = …` declarations (only the base declarations may have them).
    pub type_aliases: Vec<Name>,
    /// Top-level statements outside the language: what they are and where.
    pub unsupported: Vec<(&'static str, Span)>,
}

/// `import { A, B as C } from "./x";`
#[derive(Clone, Debug)]
pub struct Import {
    pub source: String,
    pub source_span: Span,
    pub names: Vec<ImportName>,
}

#[derive(Clone, Debug)]
pub struct ImportName {
    /// The name exported by the other file.
    pub imported: Name,
    /// The name bound in this file (differs with `as`).
    pub local: Name,
}

/// A JSDoc block: the description and its `@tags`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Doc {
    pub text: String,
    pub tags: Vec<Tag>,
}

impl Doc {
    pub fn tag(&self, name: &str) -> Option<&Tag> {
        self.tags.iter().find(|t| t.name == name)
    }
}

/// `@name value…` in a JSDoc block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tag {
    pub name: String,
    pub value: String,
    pub span: Span,
}

/// `interface Name extends Base { … }`
#[derive(Clone, Debug)]
pub struct Interface {
    pub name: Name,
    pub span: Span,
    pub exported: bool,
    pub extends: Vec<Heritage>,
    /// Span of `<T, …>` when the interface itself is generic.
    pub type_params: Option<Span>,
    /// The names of those type parameters.
    pub type_param_names: Vec<String>,
    pub properties: Vec<Property>,
    /// Members other than plain properties: what they are and where.
    pub unsupported_members: Vec<(&'static str, Span)>,
    pub doc: Doc,
}

/// One entry of an `extends` clause.
#[derive(Clone, Debug)]
pub struct Heritage {
    pub name: Name,
    pub span: Span,
    pub has_type_args: bool,
}

/// `name?: Type;`
#[derive(Clone, Debug)]
pub struct Property {
    pub name: Name,
    pub span: Span,
    pub optional: bool,
    /// `None` when the property has no type annotation.
    pub ty: Option<TypeExpr>,
    pub doc: Doc,
}

/// A type as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TypeExpr {
    /// `Name`, `Name<Args>` or `Qualifier.Name`.
    Ref {
        qualifier: Option<Name>,
        name: Name,
        args: Vec<TypeExpr>,
        args_span: Option<Span>,
        span: Span,
    },
    /// `T[]`
    Array {
        elem: Box<TypeExpr>,
        span: Span,
    },
    /// `string`, `boolean`, `number`, `null`, `any`, …
    Keyword {
        keyword: &'static str,
        span: Span,
    },
    /// `"text"`
    StringLiteral {
        value: String,
        span: Span,
    },
    Union {
        span: Span,
    },
    Intersection {
        span: Span,
    },
    /// Anything else; the string says what it is ("a tuple type").
    Unsupported {
        what: &'static str,
        span: Span,
    },
}

impl TypeExpr {
    pub fn span(&self) -> Span {
        match self {
            TypeExpr::Ref { span, .. }
            | TypeExpr::Array { span, .. }
            | TypeExpr::Keyword { span, .. }
            | TypeExpr::StringLiteral { span, .. }
            | TypeExpr::Union { span }
            | TypeExpr::Intersection { span }
            | TypeExpr::Unsupported { span, .. } => *span,
        }
    }
}

/// `enum Name { A = "A", … }`
#[derive(Clone, Debug)]
pub struct Enum {
    pub name: Name,
    pub span: Span,
    pub exported: bool,
    pub is_const: bool,
    pub members: Vec<EnumMember>,
    pub doc: Doc,
}

#[derive(Clone, Debug)]
pub struct EnumMember {
    pub name: Name,
    pub span: Span,
    pub value: EnumValue,
    pub doc: Doc,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EnumValue {
    String(String),
    /// No initializer: TypeScript numbers it.
    Missing,
    /// A number or an expression.
    Other,
}
