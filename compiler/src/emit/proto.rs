//! The protobuf emitter: one package `manifold.<product>.v1` per product (one
//! message per entity and per struct, its enums), the shared envelope
//! `manifold.v1`, a `buf.yaml`, and the `FileDescriptorSet` of all of them
//! compiled with protox (no protoc).
//!
//! Mapping: `String`, `Json`, `Date` → `string`; `Boolean` → `bool`; `Int` →
//! `int32`; `Long` → `int64`; `Double` → `double`; `Timestamp` →
//! `google.protobuf.Timestamp`; `ARI` → `manifold.v1.ARI`; a relation → the
//! parent key's type; `T[]` → `repeated`. Every singular scalar and enum field is
//! proto3 `optional` from its first release, so its presence never has to change
//! (EVOLUTION-RULES EC008). Enum values are prefixed with the enum's name and
//! start with the implicit `<ENUM>_UNSPECIFIED = 0`.

use std::collections::{BTreeMap, BTreeSet};

use rayon::prelude::*;
use serde::Serialize;

use super::Artifact;
use super::templates;
use crate::diag::{Diagnostic, codes};
use crate::lock::{ElementState, Lock, LockedField};
use crate::model::{Field, Model, Product, Scalar, Type, naming};

/// Where the descriptor set of all emitted protos goes.
pub const DESCRIPTOR_SET: &str = "proto/descriptor_set.binpb";
/// The envelope's path (and import name).
pub const ENVELOPE: &str = "manifold/v1/envelope.proto";

/// The protobuf package of a product.
pub fn package(product: &str) -> String {
    format!("manifold.{product}.v1")
}

/// The `.proto` file of a product, relative to the proto root.
pub fn product_file(product: &str) -> String {
    format!("manifold/{product}/v1/{product}.proto")
}

/// The type URL `Any.pack` writes for a message of a product.
pub fn type_url(product: &str, message: &str) -> String {
    format!("type.googleapis.com/{}.{message}", package(product))
}

/// The proto enum value prefix: `JiraIssueStatus` → `JIRA_ISSUE_STATUS`.
pub fn enum_prefix(name: &str) -> String {
    naming::snake_case(name).to_ascii_uppercase()
}

pub struct Protos {
    /// `.proto` files and `buf.yaml`, under `proto/`.
    pub files: Vec<Artifact>,
    /// The encoded `FileDescriptorSet`, or why protox rejected the files.
    pub descriptor_set: Result<Vec<u8>, Diagnostic>,
}

pub fn emit(model: &Model, lock: &Lock) -> Protos {
    let mut sources: BTreeMap<String, String> = BTreeMap::new();
    sources.insert(ENVELOPE.to_string(), templates::raw("proto/envelope.proto").to_string());
    let products: Vec<(String, String)> =
        model.products.par_iter().map(|p| (product_file(&p.name), product_proto(model, lock, p))).collect();
    sources.extend(products);
    let descriptor_set = descriptor_set(&sources);
    let mut files: Vec<Artifact> =
        sources.into_iter().map(|(path, text)| Artifact::text(format!("proto/{path}"), text)).collect();
    files.push(Artifact::text("proto/buf.yaml", templates::raw("proto/buf.yaml")));
    Protos { files, descriptor_set }
}

#[derive(Serialize)]
struct ProtoFile {
    product: String,
    package: String,
    imports: BTreeSet<&'static str>,
    messages: Vec<ProtoMessage>,
    enums: Vec<ProtoEnum>,
}

#[derive(Serialize)]
struct ProtoMessage {
    name: String,
    doc: Vec<String>,
    deprecated: bool,
    reserved_numbers: Vec<u32>,
    reserved_names: Vec<String>,
    fields: Vec<ProtoField>,
}

#[derive(Serialize)]
struct ProtoField {
    doc: Vec<String>,
    /// `"optional "`, `"repeated "` or nothing.
    label: &'static str,
    #[serde(rename = "type")]
    ty: String,
    name: String,
    number: u32,
    deprecated: bool,
}

#[derive(Serialize)]
struct ProtoEnum {
    name: String,
    prefix: String,
    doc: Vec<String>,
    reserved_numbers: Vec<u32>,
    reserved_names: Vec<String>,
    values: Vec<ProtoEnumValue>,
}

#[derive(Serialize)]
struct ProtoEnumValue {
    name: String,
    number: u32,
    deprecated: bool,
    doc: Vec<String>,
}

fn product_proto(model: &Model, lock: &Lock, p: &Product) -> String {
    let mut imports = BTreeSet::new();
    let mut messages = Vec::new();
    for e in &p.entities {
        let locked = lock.entity(&e.name).expect("lock::assign numbers every entity");
        let mut doc = doc_lines(&e.doc);
        doc.push(format!(
            "entity_type {} in schemas/manifold.lock; table `{}`.",
            locked.entity_type,
            naming::main_table(e)
        ));
        messages.push(ProtoMessage {
            name: e.name.clone(),
            doc,
            deprecated: e.manifest.state != crate::model::EntityState::Active,
            reserved_numbers: reserved_numbers(&locked.fields),
            reserved_names: reserved_names(&locked.fields),
            fields: fields(model, &e.fields, |f| locked.field(&f.name), &mut imports),
        });
    }
    for s in &p.structs {
        let locked = lock.strukt(&p.name, &s.name).expect("lock::assign numbers every struct");
        messages.push(ProtoMessage {
            name: s.name.clone(),
            doc: doc_lines(&s.doc),
            deprecated: false,
            reserved_numbers: reserved_numbers(&locked.fields),
            reserved_names: reserved_names(&locked.fields),
            fields: fields(model, &s.fields, |f| locked.field(&f.name), &mut imports),
        });
    }
    let enums = p
        .enums
        .iter()
        .map(|en| {
            let locked = lock.enumeration(&p.name, &en.name).expect("lock::assign numbers every enum");
            let prefix = enum_prefix(&en.name);
            let removed: Vec<_> = locked.values.iter().filter(|v| v.state == ElementState::Removed).collect();
            ProtoEnum {
                name: en.name.clone(),
                doc: doc_lines(&en.doc),
                reserved_numbers: removed.iter().map(|v| v.number).collect(),
                reserved_names: removed.iter().map(|v| format!("{prefix}_{}", v.name)).collect(),
                prefix,
                values: en
                    .values
                    .iter()
                    .map(|v| ProtoEnumValue {
                        name: v.name.clone(),
                        number: locked.value(&v.name).expect("lock::assign numbers every value").number,
                        deprecated: v.deprecated.is_some(),
                        doc: doc_lines(&v.doc),
                    })
                    .collect(),
            }
        })
        .collect();
    templates::render(
        "proto/product.proto.j2",
        ProtoFile { product: p.name.clone(), package: package(&p.name), imports, messages, enums },
    )
}

fn fields<'l>(
    model: &Model,
    fields: &[Field],
    locked: impl Fn(&Field) -> Option<&'l LockedField>,
    imports: &mut BTreeSet<&'static str>,
) -> Vec<ProtoField> {
    fields
        .iter()
        .map(|f| {
            let number = locked(f).expect("lock::assign numbers every field").number;
            let (repeated, elem) = match &f.ty {
                Type::Array(inner) => (true, &**inner),
                other => (false, other),
            };
            let (ty, is_message) = proto_type(model, elem, imports);
            let label = if repeated {
                "repeated "
            } else if is_message {
                ""
            } else {
                "optional "
            };
            let mut doc = doc_lines(&f.doc);
            if let Some(reason) = &f.deprecated {
                doc.push(if reason.is_empty() { "Deprecated.".to_string() } else { format!("Deprecated: {reason}") });
            }
            ProtoField { doc, label, ty, name: naming::proto_field_name(f), number, deprecated: f.deprecated.is_some() }
        })
        .collect()
}

/// The proto type of a (non-array) type, and whether it is a message.
fn proto_type(model: &Model, ty: &Type, imports: &mut BTreeSet<&'static str>) -> (String, bool) {
    match ty {
        Type::Scalar(s) => match s {
            Scalar::String | Scalar::Json | Scalar::Date => ("string".into(), false),
            Scalar::Boolean => ("bool".into(), false),
            Scalar::Int => ("int32".into(), false),
            Scalar::Long => ("int64".into(), false),
            Scalar::Double => ("double".into(), false),
            Scalar::Timestamp => {
                imports.insert("google/protobuf/timestamp.proto");
                ("google.protobuf.Timestamp".into(), true)
            }
            Scalar::Ari => {
                imports.insert(ENVELOPE);
                ("manifold.v1.ARI".into(), true)
            }
        },
        Type::Enum(id) => (model.enumeration(*id).name.clone(), false),
        Type::Struct(id) => (model.strukt(*id).name.clone(), true),
        Type::Relation(parent) => {
            let parent = model.entity(*parent);
            match parent.fields.get(parent.key) {
                Some(key) => proto_type(model, &key.ty, imports),
                None => ("string".into(), false),
            }
        }
        Type::Array(inner) => proto_type(model, inner, imports),
    }
}

fn reserved_numbers(fields: &[LockedField]) -> Vec<u32> {
    fields.iter().filter(|f| f.state == ElementState::Removed).map(|f| f.number).collect()
}

/// Reserved names of removed fields, unless a live field has taken the name again
/// (EC003 reports that; protoc would reject the file).
fn reserved_names(fields: &[LockedField]) -> Vec<String> {
    // Compared as proto names: `labelIDs` and `labelIds` are both `label_ids`.
    let live: BTreeSet<String> =
        fields.iter().filter(|f| f.state != ElementState::Removed).map(crate::lock::reserved_name).collect();
    let names: BTreeSet<String> = fields
        .iter()
        .filter(|f| f.state == ElementState::Removed)
        .map(crate::lock::reserved_name)
        .filter(|n| !live.contains(n))
        .collect();
    names.into_iter().collect()
}

/// A doc's lines for a proto comment. prost-build turns the comments into
/// rustdoc, where a code fence without a language (or marked `rust`) is a
/// doctest: a JSDoc showing SQL or JSON in a bare fence failed `cargo test`
/// of any library crate holding the generated Rust. Such fences open as
/// ```` ```text ````, which every Markdown reader shows the same way.
fn doc_lines(doc: &str) -> Vec<String> {
    let mut in_code = false;
    doc.lines()
        .map(|l| {
            let line = l.trim_end();
            let Some(info) = line.trim_start().strip_prefix("```") else { return line.to_string() };
            let opening = !in_code;
            in_code = !in_code;
            let rust = info.is_empty() || info.split([',', ' ']).next() == Some("rust");
            if opening && rust {
                format!("{}```text", &line[..line.len() - line.trim_start().len()])
            } else {
                line.to_string()
            }
        })
        .collect()
}

/// Compiles the protos with protox into an encoded `FileDescriptorSet` (imports
/// included, source info kept so comments survive into generated code).
///
/// A product's file imports only the envelope and Google's well-known types,
/// never another product, so each file is compiled in a protox pool of its own,
/// on every core. A `FileDescriptorSet` is nothing but a sequence of `file`
/// entries, so the sets join by concatenation: each file is taken the first time
/// it appears, files in path order, which is exactly what one pool fed the files
/// in that order encodes. One pool for all of them held 170 MB at 2,000 entities
/// and linked them on one core.
fn descriptor_set(sources: &BTreeMap<String, String>) -> Result<Vec<u8>, Diagnostic> {
    /// The file being compiled and the envelope it may import.
    struct Parsed(Vec<protox::file::File>);
    impl protox::file::FileResolver for Parsed {
        fn open_file(&self, name: &str) -> Result<protox::file::File, protox::Error> {
            self.0.iter().find(|f| f.name() == name).cloned().ok_or_else(|| protox::Error::file_not_found(name))
        }
    }
    let failed = |e: protox::Error| {
        Diagnostic::error(codes::E001, format!("the emitted protos do not compile: {e}"))
            .help("this is a bug in Manifold's proto emitter; please report it with your schemas")
    };
    let envelope = sources.get(ENVELOPE).map(|text| protox::file::File::from_source(ENVELOPE, text)).transpose();
    let envelope = envelope.map_err(failed)?;
    let compile_one = |name: &String, text: &String| -> Result<Vec<(String, Vec<u8>)>, protox::Error> {
        let mut files: Vec<protox::file::File> = envelope.iter().cloned().collect();
        if name != ENVELOPE {
            files.push(protox::file::File::from_source(name, text)?);
        }
        let mut chain = protox::file::ChainFileResolver::new();
        chain.add(Parsed(files));
        chain.add(protox::file::GoogleFileResolver::new());
        let mut compiler = protox::Compiler::with_file_resolver(chain);
        compiler.include_imports(true).include_source_info(true);
        compiler.open_file(name)?;
        let names: Vec<String> = compiler.files().map(|f| f.name().to_string()).collect();
        // Encoded straight from protox's pool, without cloning every file first.
        let set = compiler.encode_file_descriptor_set();
        let entries = set_entries(&set);
        assert_eq!(entries.len(), names.len(), "protox encodes one entry per file in its pool");
        Ok(names.into_iter().zip(entries.into_iter().map(<[u8]>::to_vec)).collect())
    };
    // Collected in order first, so the error reported is always the first file's.
    let compiled: Vec<_> = sources.par_iter().map(|(name, text)| compile_one(name, text)).collect();
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for entries in compiled {
        for (name, entry) in entries.map_err(failed)? {
            if seen.insert(name) {
                out.extend_from_slice(&entry);
            }
        }
    }
    Ok(out)
}

/// The `file` entries of an encoded `FileDescriptorSet`, each with its tag and
/// length, as protox wrote them (so well-formed: a malformed set is a bug here).
fn set_entries(mut set: &[u8]) -> Vec<&[u8]> {
    let mut entries = Vec::new();
    while !set.is_empty() {
        let whole = set;
        let tag = prost::encoding::decode_varint(&mut set).expect("a field tag");
        assert_eq!(tag, 1 << 3 | 2, "a FileDescriptorSet holds only `file = 1` entries");
        let len = prost::encoding::decode_varint(&mut set).expect("an entry length") as usize;
        let header = whole.len() - set.len();
        entries.push(&whole[..header + len]);
        set = &set[len..];
    }
    entries
}

#[cfg(test)]
mod tests {
    #[test]
    fn code_fences_that_rustdoc_would_run_are_text() {
        let doc = "Example:\n```\nSELECT 1\n```\n```json\n{}\n```\n  ```rust,ignore\nx\n  ```";
        assert_eq!(
            super::doc_lines(doc),
            ["Example:", "```text", "SELECT 1", "```", "```json", "{}", "```", "  ```text", "x", "  ```"]
        );
    }
}
