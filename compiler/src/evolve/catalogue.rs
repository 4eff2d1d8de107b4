//! Every rule of `manifold check`, as data (mirrors shared/EVOLUTION-RULES.md,
//! plus EC025, which the runtime's refilling of a team model's table needs):
//! id, default severity, what it catches, the anchors that forbid the same change
//! elsewhere, and the safe path to suggest. Handlers live in `rules.rs`.

/// How a finding affects the merge.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Shown.
    Info,
    /// Needs a scoped override on the element.
    Warn,
    /// Blocks the merge.
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warn => "warning",
            Severity::Error => "error",
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
pub struct Rule {
    pub id: &'static str,
    pub severity: Severity,
    /// What the rule catches, one line.
    pub catches: &'static str,
    /// The checks of buf / Confluent / dbt / Delta that forbid the same change.
    pub anchors: &'static str,
    /// The expand-contract path to take instead.
    pub safe_path: &'static str,
}

macro_rules! rules {
    ($($konst:ident, $sev:ident, $catches:literal, $anchors:literal, $path:literal;)*) => {
        $(pub const $konst: &Rule = &Rule { id: stringify!($konst), severity: Severity::$sev, catches: $catches, anchors: $anchors, safe_path: $path };)*
        /// The whole catalogue, in id order.
        pub const ALL: &[&Rule] = &[$($konst),*];
    };
}

rules! {
    EC001, Error, "a field's number changed (or the lock was edited)", "buf FIELD_NO_DELETE_UNLESS_NUMBER_RESERVED + FIELD_SAME_NAME", "numbers are immutable; the compiler assigns them from the lock — restore the lock";
    EC002, Error, "a field removed that the baseline did not show @deprecated, or a column removed from a team model", "buf FIELD_NO_DELETE; dbt column removed; Atlas DS103", "release N: mark it `/** @deprecated <reason> */`; release N+1: remove it; its number and name stay reserved (a team model's column: publish a model without it beside the old one and move its readers there)";
    EC003, Error, "a new field or entity reuses a reserved number, proto name, column or table name", "buf FIELD_NO_DELETE_UNLESS_{NUMBER,NAME}_RESERVED; CSR transitive modes", "choose a new name; numbers come from the lock";
    EC004, Error, "a reservation removed from the lock", "buf RESERVED_MESSAGE_NO_DELETE, RESERVED_ENUM_NO_DELETE", "none: reservations are append-only — restore the lock";
    EC005, Error, "a field renamed (same number, new name)", "buf FIELD_SAME_NAME, FIELD_SAME_JSON_NAME; Atlas BC102; dbt column removed", "add the new field, dual-write and backfill, deprecate the old, remove it a release later";
    EC006, Error, "a type change outside what every artifact accepts (incl. Int→Long, string↔number, struct A→struct B)", "buf FIELD_WIRE_JSON_COMPATIBLE_TYPE; CSR FIELD_SCALAR_KIND_CHANGED; dbt data_type changed; Delta type rules", "add `<name>V2` with the new type, backfill, deprecate the old field";
    EC007, Warn, "a change that only widens storage with identical encoding", "Delta type widening; dbt ignores precision", "enable Delta type widening in an earlier release first";
    EC008, Error, "cardinality changed: T ↔ T[]", "buf FIELD_WIRE_JSON_COMPATIBLE_CARDINALITY; CSR FIELD_NUMERIC_LABEL_CHANGED", "a new field with a new number";
    EC010, Error, "a relation's target changed (ComposedBy<A> → ComposedBy<B>) or a nested struct swapped", "buf FIELD_WIRE_JSON_COMPATIBLE_TYPE; CSR FIELD_NAMED_TYPE_CHANGED", "a new field referencing B; migrate; retire the old";
    EC011, Error, "a required (non-optional) field added to an existing entity or struct", "buf MESSAGE_SAME_REQUIRED_FIELDS; CSR REQUIRED_FIELD_ADDED; Atlas NOT NULL without default; Delta NOT NULL add", "add it optional, backfill, then tighten it (EC012)";
    EC012, Warn, "optional → required", "Delta NOT NULL must hold on existing rows", "only after a backfill shows no nulls";
    EC013, Error, "a contract weakened: key/constraint removed, enforcement off, writer changed from merge to append", "dbt constraint removed, contract disabled, materialization changed", "a new model/table version; deprecate the old (a team model: `deprecation_date='YYYY-MM-DD'` in its config; delete it after that day)";
    EC015, Error, "an explicit JSON/column name override changed, or the compiler's naming changed", "buf FIELD_SAME_JSON_NAME; dbt column removed", "as EC005; compiler upgrades must keep names stable";
    EC016, Error, "an enum value removed or renumbered", "buf ENUM_VALUE_NO_DELETE_UNLESS_{NUMBER,NAME}_RESERVED; dbt accepted_values", "deprecate the value; producers stop emitting it; remove it a release later; its number and name stay reserved";
    EC017, Error, "an enum value renamed (names are stored in JSON and in the tables)", "buf ENUM_VALUE_SAME_NAME", "add the new value, deprecate the old";
    EC018, Info, "an enum value added", "buf (open enums), CSR ENUM_CONST_ADDED", "tell the owners of CASE logic / accepted_values";
    EC019, Error, "enum shape: first value not X_UNSPECIFIED = 0, aliases", "buf lint ENUM_FIRST_VALUE_ZERO, ENUM_ZERO_VALUE_SUFFIX, ENUM_NO_ALLOW_ALIAS", "the compiler emits the zero value itself";
    EC020, Error, "an entity's identity changed: renamed, moved to another product/package, table name changed", "buf FILE_SAME_PACKAGE, MESSAGE_NO_DELETE; CSR PACKAGE_CHANGED; Atlas BC101", "a new entity; the old one DEPRECATED, then RETIRED";
    EC021, Error, "key or partition columns changed", "Delta partitioning must match; dbt primary_key constraint removed", "a new entity/table version, backfill, retire the old";
    EC022, Warn, "a change that needs a Delta table feature (column mapping, type widening) the table does not have yet", "Delta reader/writer protocol versions", "enable the feature in its own release first";
    EC023, Info, "a new optional field", "non-breaking everywhere", "nothing to do";
    EC024, Error, "an override without a reason, or wider than one element", "buf `ignore_only` too broad", "scope it to one element with a reason";
    EC025, Info, "a team ingestion model computes other rows (an expression, filter, writer, key or partitioning changed)", "dbt: an incremental model whose logic changed needs `--full-refresh`", "nothing to do: the next merge fills its table again from the staging table (the cost of a rebuild; a rollback fills it again too)";
    LC001, Error, "an illegal lifecycle transition (ACTIVE → RETIRED, anything out of RETIRED, a new entity born DEPRECATED/RETIRED)", "dbt deprecation_date", "ACTIVE → DEPRECATED (release N) → RETIRED (later)";
    LC002, Error, "DEPRECATED without its metadata (since, sunset date, replacement or an explicit none)", "dbt deprecation_date; proto deprecated", "fill in deprecatedSince, sunset and replacedBy (an entity or null)";
    LC003, Error, "retired before its sunset date, or while an ACTIVE entity still references it", "dbt: a contracted model cannot be deleted before deprecation_date", "wait, or move the referrers first";
    LC004, Error, "an entity deleted that the baseline did not show RETIRED", "buf MESSAGE_NO_DELETE; CSR MESSAGE_REMOVED; Atlas DS102", "retire it first; retired entities stay as tombstones (name, numbers, table)";
    LC005, Warn, "a new reference to a DEPRECATED (warning) or RETIRED (error) entity, or a team model's new ref() to a deprecated team model or such an entity's model", "dbt DeprecatedReference", "reference the replacement";
    LC006, Warn, "fields added to a DEPRECATED entity (warning), any change to a RETIRED one (error)", "—", "put new fields on the replacement";
    LC007, Error, "a field removed before its deprecation window, or a team model's deprecation_date set inside it", "dbt deprecation_date", "keep it until the window passes";
    LC008, Info, "owner team changed", "—", "both teams approve";
}

/// Looks a rule up by id, case-insensitively.
pub fn lookup(id: &str) -> Option<&'static Rule> {
    ALL.iter().copied().find(|r| r.id.eq_ignore_ascii_case(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalogue_mirrors_the_rule_ids_of_the_design() {
        let ids: Vec<&str> = ALL.iter().map(|r| r.id).collect();
        for id in ["EC001", "EC002", "EC006", "EC011", "EC016", "EC020", "EC023", "LC001", "LC004", "LC008"] {
            assert!(ids.contains(&id), "{id}");
        }
        for pair in ALL.windows(2) {
            assert!(pair[0].id < pair[1].id);
        }
        assert_eq!(ALL.len(), 31);
    }
}
