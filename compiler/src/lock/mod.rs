//! The lock file `schemas/manifold.lock`: the numbers that must never change.
//!
//! Each entity gets an `entity_type`, each field, struct field and enum value a
//! protobuf number, the first time it is seen. A number is never reused: an element
//! that disappears from the schemas stays in the lock as `removed`, which reserves
//! its number and name forever. The lock also records each element's type, presence
//! and lifecycle state, so a lock alone is a usable baseline for `manifold check`.
//!
//! [`assign`] is pure: `(Model, old lock) → new lock`. [`read`] and [`write()`] are the
//! only code that knows the file format (`format.rs`).

mod canonical;
mod format;

use std::collections::BTreeMap;

pub use format::{LOCK_FILE, entry_span, read, table_header, write};

use crate::model::{EntityState, Field, Model, naming};

/// Protobuf reserves these field numbers for its own implementation.
pub const PROTO_RESERVED_RANGE: std::ops::RangeInclusive<u32> = 19_000..=19_999;
/// The largest protobuf field number.
pub const MAX_FIELD_NUMBER: u32 = 536_870_911;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Lock {
    /// By entity name (entity names are unique across products).
    pub entities: BTreeMap<String, LockedEntity>,
    /// By `product.Struct`.
    pub structs: BTreeMap<String, LockedMessage>,
    /// By `product.Enum`.
    pub enums: BTreeMap<String, LockedEnum>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockedEntity {
    pub product: String,
    pub entity_type: u32,
    pub state: EntityState,
    /// The entity is gone from the schemas; its name and numbers stay reserved.
    pub removed: bool,
    pub fields: Vec<LockedField>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockedMessage {
    pub removed: bool,
    pub fields: Vec<LockedField>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockedField {
    pub number: u32,
    pub name: String,
    /// The canonical type spelling (`Model::type_name`).
    pub ty: String,
    pub optional: bool,
    pub key: bool,
    pub state: ElementState,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockedEnum {
    pub removed: bool,
    pub values: Vec<LockedValue>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockedValue {
    pub number: u32,
    pub name: String,
    pub state: ElementState,
}

/// Lifecycle of a field or enum value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ElementState {
    Active,
    Deprecated,
    /// Gone from the schemas: number and name reserved.
    Removed,
}

impl ElementState {
    pub fn as_str(self) -> &'static str {
        match self {
            ElementState::Active => "active",
            ElementState::Deprecated => "deprecated",
            ElementState::Removed => "removed",
        }
    }
}

impl Lock {
    pub fn entity(&self, name: &str) -> Option<&LockedEntity> {
        self.entities.get(name)
    }

    pub fn strukt(&self, product: &str, name: &str) -> Option<&LockedMessage> {
        self.structs.get(&format!("{product}.{name}"))
    }

    pub fn enumeration(&self, product: &str, name: &str) -> Option<&LockedEnum> {
        self.enums.get(&format!("{product}.{name}"))
    }
}

impl LockedEntity {
    /// The live (not removed) field of that name.
    pub fn field(&self, name: &str) -> Option<&LockedField> {
        self.fields.iter().find(|f| f.name == name && f.state != ElementState::Removed)
    }
}

impl LockedMessage {
    pub fn field(&self, name: &str) -> Option<&LockedField> {
        self.fields.iter().find(|f| f.name == name && f.state != ElementState::Removed)
    }
}

impl LockedEnum {
    pub fn value(&self, name: &str) -> Option<&LockedValue> {
        self.values.iter().find(|v| v.name == name && v.state != ElementState::Removed)
    }
}

/// The lock for `model`, extending `old`: existing elements keep their numbers,
/// new ones get fresh numbers, vanished ones become `removed`. Pure and
/// deterministic: elements are numbered in Model order (products by name,
/// declarations in file and source order).
pub fn assign(model: &Model, old: &Lock) -> Lock {
    let mut lock = old.clone();
    let mut seen_entities = std::collections::BTreeSet::new();
    // One past the highest entity_type ever used, removed entities included.
    let mut next_type = lock.entities.values().map(|x| x.entity_type).max().unwrap_or(0) + 1;
    for product in &model.products {
        for e in &product.entities {
            seen_entities.insert(e.name.clone());
            let locked = lock.entities.entry(e.name.clone()).or_insert_with(|| {
                next_type += 1;
                LockedEntity {
                    product: product.name.clone(),
                    entity_type: next_type - 1,
                    state: e.manifest.state,
                    removed: false,
                    fields: Vec::new(),
                }
            });
            locked.product = product.name.clone();
            locked.state = e.manifest.state;
            locked.removed = false;
            let key = e.fields.get(e.key).map(|k| k.name.as_str());
            sync_fields(model, &mut locked.fields, &e.fields, key);
        }
        for s in &product.structs {
            let locked = lock
                .structs
                .entry(format!("{}.{}", product.name, s.name))
                .or_insert_with(|| LockedMessage { removed: false, fields: Vec::new() });
            locked.removed = false;
            sync_fields(model, &mut locked.fields, &s.fields, None);
        }
        for en in &product.enums {
            let locked = lock
                .enums
                .entry(format!("{}.{}", product.name, en.name))
                .or_insert_with(|| LockedEnum { removed: false, values: Vec::new() });
            locked.removed = false;
            let names: Vec<&str> = en.values.iter().map(|v| v.name.as_str()).collect();
            for lv in locked.values.iter_mut() {
                if lv.state != ElementState::Removed && !names.contains(&lv.name.as_str()) {
                    lv.state = ElementState::Removed;
                }
            }
            for v in &en.values {
                let state = if v.deprecated.is_some() { ElementState::Deprecated } else { ElementState::Active };
                if let Some(lv) =
                    locked.values.iter_mut().find(|lv| lv.name == v.name && lv.state != ElementState::Removed)
                {
                    lv.state = state;
                } else {
                    let number = next_number(locked.values.iter().map(|v| v.number));
                    locked.values.push(LockedValue { number, name: v.name.clone(), state });
                }
            }
        }
    }
    for (name, e) in lock.entities.iter_mut() {
        if !seen_entities.contains(name.as_str()) && !e.removed {
            e.removed = true;
        }
    }
    let live_structs: Vec<String> =
        model.products.iter().flat_map(|p| p.structs.iter().map(move |s| format!("{}.{}", p.name, s.name))).collect();
    for (name, s) in lock.structs.iter_mut() {
        s.removed = !live_structs.contains(name);
    }
    let live_enums: Vec<String> =
        model.products.iter().flat_map(|p| p.enums.iter().map(move |e| format!("{}.{}", p.name, e.name))).collect();
    for (name, e) in lock.enums.iter_mut() {
        e.removed = !live_enums.contains(name);
    }
    lock
}

fn sync_fields(model: &Model, locked: &mut Vec<LockedField>, fields: &[Field], key: Option<&str>) {
    for lf in locked.iter_mut() {
        if lf.state != ElementState::Removed && !fields.iter().any(|f| f.name == lf.name) {
            lf.state = ElementState::Removed;
        }
    }
    for f in fields {
        let state = if f.deprecated.is_some() { ElementState::Deprecated } else { ElementState::Active };
        let ty = model.type_name(&f.ty);
        let is_key = key == Some(f.name.as_str());
        if let Some(lf) = locked.iter_mut().find(|lf| lf.name == f.name && lf.state != ElementState::Removed) {
            lf.ty = ty;
            lf.optional = f.optional;
            lf.key = is_key;
            lf.state = state;
        } else {
            let number = next_number(locked.iter().map(|f| f.number));
            locked.push(LockedField { number, name: f.name.clone(), ty, optional: f.optional, key: is_key, state });
        }
    }
    locked.sort_by_key(|f| f.number);
}

/// One past the highest number ever used, skipping protobuf's reserved range.
fn next_number(used: impl Iterator<Item = u32>) -> u32 {
    let n = used.max().unwrap_or(0) + 1;
    if PROTO_RESERVED_RANGE.contains(&n) { PROTO_RESERVED_RANGE.end() + 1 } else { n }
}

/// The proto field name the lock's field maps to (for reservations).
pub fn reserved_name(field: &LockedField) -> String {
    naming::snake_case(&field.name)
}
