//! Delta's schema JSON (the protocol's `schemaString`) of a table's columns,
//! serialized straight from them.
//!
//! Keys come in alphabetical order — how the committed files have them
//! (they were first printed through `serde_json::Value`, whose maps sort) —
//! so a file's bytes do not depend on how it was built. Building a `Value`
//! per column, and its maps, had cost a quarter of the table emitter.

use serde::ser::{Serialize, SerializeMap, Serializer};

use super::derive::{ColType, Column};

/// A struct type of `columns`: `{"fields": [...], "type": "struct"}`.
pub(super) struct StructJson<'c>(pub &'c [Column]);

struct FieldJson<'c>(&'c Column);

struct TypeJson<'c>(&'c ColType);

/// The empty `metadata` object of a field.
struct NoMetadata;

impl Serialize for StructJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(2))?;
        map.serialize_entry("fields", &Fields(self.0))?;
        map.serialize_entry("type", "struct")?;
        map.end()
    }
}

struct Fields<'c>(&'c [Column]);

impl Serialize for Fields<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(FieldJson))
    }
}

impl Serialize for FieldJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(4))?;
        map.serialize_entry("metadata", &NoMetadata)?;
        map.serialize_entry("name", &self.0.name)?;
        map.serialize_entry("nullable", &self.0.nullable)?;
        map.serialize_entry("type", &TypeJson(&self.0.ty))?;
        map.end()
    }
}

impl Serialize for TypeJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            ColType::Primitive(t) => s.serialize_str(t.delta_name()),
            // An untyped NULL column is stored as text.
            ColType::Null => s.serialize_str("string"),
            ColType::Array(element) => {
                let mut map = s.serialize_map(Some(3))?;
                map.serialize_entry("containsNull", &true)?;
                map.serialize_entry("elementType", &TypeJson(element))?;
                map.serialize_entry("type", "array")?;
                map.end()
            }
            ColType::Struct(fields) => StructJson(fields).serialize(s),
        }
    }
}

impl Serialize for NoMetadata {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_map(Some(0))?.end()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::StructJson;
    use crate::emit::columns::SqlType;
    use crate::emit::table::derive::{ColType, Column};

    /// The same JSON a `serde_json::Value` of it gives, byte for byte.
    #[test]
    fn prints_as_a_sorted_value_does() {
        let column = |name: &str, ty, nullable| Column { name: name.into(), ty, nullable };
        let columns = vec![
            column("id", ColType::Primitive(SqlType::String), false),
            column("nothing", ColType::Null, true),
            column(
                "items",
                ColType::Array(Box::new(ColType::Struct(vec![column(
                    "at",
                    ColType::Primitive(SqlType::Timestamp),
                    true,
                )]))),
                true,
            ),
        ];
        let expected = json!({
            "type": "struct",
            "fields": [
                { "name": "id", "type": "string", "nullable": false, "metadata": {} },
                { "name": "nothing", "type": "string", "nullable": true, "metadata": {} },
                { "name": "items", "nullable": true, "metadata": {}, "type": {
                    "type": "array", "containsNull": true, "elementType": { "type": "struct", "fields": [
                        { "name": "at", "type": "timestamp", "nullable": true, "metadata": {} }
                    ]}
                }},
            ]
        });
        let ours = serde_json::to_string_pretty(&StructJson(&columns)).unwrap();
        assert_eq!(ours, serde_json::to_string_pretty(&expected).unwrap());
    }
}
