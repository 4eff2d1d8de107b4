//! Every diagnostic code of the front end and the lock file, as data.
//!
//! Codes are stable: tests, CI logs and users' muscle memory refer to them. A code is
//! never reused for another meaning; a retired code stays here with its title.
//! `manifold explain <CODE>` prints the entry.

/// One diagnostic code: its id, a short kebab-case name and what it means.
#[derive(Debug, PartialEq, Eq)]
pub struct Code {
    pub id: &'static str,
    pub name: &'static str,
    pub summary: &'static str,
}

macro_rules! codes {
    ($($konst:ident = $id:literal, $name:literal, $summary:literal;)*) => {
        $(pub const $konst: &Code = &Code { id: $id, name: $name, summary: $summary };)*
        /// The whole catalogue, in code order.
        pub const ALL: &[&Code] = &[$($konst),*];
    };
}

codes! {
    E001 = "E001", "emit-failed", "An emitted artifact failed its own check (a bug in Manifold, or a team model that does not compile).";
    E002 = "E002", "model-invalid", "A team's dbt model does not compile, names no writer, or breaks its table's rules.";
    E003 = "E003", "not-lowerable", "An ingestion model uses SQL the ingestion binaries do not run (joins, aggregations, windows …); mark it `config(analytics=true)`.";
    L001 = "L001", "lock-syntax", "`manifold.lock` is not a valid lock file.";
    L002 = "L002", "lock-invalid", "`manifold.lock` breaks an invariant of the lock (numbers unique, in range, never reused).";
    M001 = "M001", "syntax-error", "The file is not valid TypeScript.";
    M002 = "M002", "unsupported-declaration", "Only interfaces, string enums and imports may appear at the top level of a schema file.";
    M003 = "M003", "union-type", "Union types have no single column type; use an enum or an optional field.";
    M004 = "M004", "intersection-type", "Intersection types are not part of the schema language; declare a struct.";
    M005 = "M005", "unsupported-type", "A type outside the schema language (literal, tuple, object literal, function, `any` …).";
    M006 = "M006", "ambiguous-number", "`number` does not say how wide the column is; use Int, Long or Double.";
    M007 = "M007", "unsupported-generic", "The only generic type is `ComposedBy<Entity>`; arrays are written `T[]`.";
    M008 = "M008", "unsupported-member", "Interfaces may only hold plain properties named by identifiers.";
    M009 = "M009", "unsupported-inheritance", "An interface extends `Entity`, `Manifest` or nothing.";
    M010 = "M010", "unknown-type", "A type name that is neither a Manifold scalar nor declared or imported.";
    M011 = "M011", "unresolved-import", "An import names a file or an export that does not exist.";
    M012 = "M012", "duplicate-type", "Two declarations share a name where names must be unique.";
    M013 = "M013", "duplicate-field", "Two fields of one interface share a name.";
    M014 = "M014", "entity-without-manifest", "Every entity `X` needs an `XManifest` naming its owner and state.";
    M015 = "M015", "manifest-without-entity", "A manifest `XManifest` whose entity `X` does not exist in the product.";
    M016 = "M016", "invalid-owner", "A manifest owner that is not a member of `Team`.";
    M017 = "M017", "invalid-status", "A manifest status that is not a member of `EntityState`.";
    M018 = "M018", "invalid-manifest", "A manifest property that is missing, unknown or malformed.";
    M019 = "M019", "missing-key", "An entity without a usable key field.";
    M020 = "M020", "ambiguous-key", "More than one field of an entity says `@key`.";
    M021 = "M021", "invalid-key-type", "A key must be a required String, ARI, Int or Long.";
    M022 = "M022", "composed-by-non-entity", "`ComposedBy<T>` needs an entity as `T`.";
    M023 = "M023", "relation-cycle", "`ComposedBy` relations form a cycle; ownership must be a tree.";
    M024 = "M024", "recursive-struct", "A struct contains itself; it cannot be flattened into columns.";
    M025 = "M025", "column-collision", "Two fields map to the same generated column or table name, or to names protobuf cannot tell apart.";
    M026 = "M026", "reserved-name", "A name the generated artifacts reserve for themselves.";
    M027 = "M027", "invalid-name", "A name that breaks the naming rules of the generated artifacts.";
    M028 = "M028", "invalid-enum", "Enums are non-empty string enums whose values equal their member names.";
    M029 = "M029", "unsupported-cardinality", "Arrays are never optional and never nested.";
    M030 = "M030", "cross-product-type", "Structs and enums belong to one product; only relations cross products.";
    M031 = "M031", "misplaced-tag", "A JSDoc tag where it has no meaning.";
    M032 = "M032", "unknown-tag", "A JSDoc tag the schema language does not know.";
    M033 = "M033", "file-outside-product", "Schema files live in a product folder `schemas/<product>/`.";
    M034 = "M034", "invalid-base", "The base declarations `schemas/manifold.ts` are missing or incomplete.";
}

/// Looks a code up by id (`M010`), case-insensitively.
pub fn lookup(id: &str) -> Option<&'static Code> {
    ALL.iter().copied().find(|c| c.id.eq_ignore_ascii_case(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_sorted() {
        for pair in ALL.windows(2) {
            assert!(pair[0].id < pair[1].id, "{} before {}", pair[0].id, pair[1].id);
        }
        assert_eq!(lookup("m010"), Some(M010));
    }
}
