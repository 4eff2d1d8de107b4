//! The Manifold runtime: what the generated ingestion code links against.
//!
//! Generated per product (by `manifold_compiler::Builder` in a build script):
//! prost types for every message, a view per message that reads it straight
//! from the wire ([`wire`]), and per entity a staging-table builder that turns
//! the view into Arrow columns matching the staging table's schema exactly — no
//! reflection on this path. [`Registry`] finds an entity by the
//! type URL of a packed `Any` or by its `entity_type`.
//!
//! This crate stays thin: it never links the compiler, and (as the lake side
//! lands) it uses delta-rs without DataFusion.

pub mod cli;
pub mod columns;
pub mod envelope;
pub mod ingest;
pub mod lake;
pub mod lww;
pub mod maintain;
pub mod mapping;
pub mod merge;
pub mod produce;
pub mod source;
pub mod stop;
pub mod transform;
pub mod wire;

pub use mapping::{EntityInfo, Explode, ModelInfo, Registry, RowMeta, StagingTable, Writer};

/// Re-exported so generated code and its users agree on the versions.
pub use arrow_array;
pub use arrow_schema;
pub use arrow_select;
/// The allocator the ingestion binaries install (`#[global_allocator]` in their
/// generated `main.rs`): mimalloc keeps freed batch buffers for the next micro-batch
/// where glibc's malloc returns large ones to the OS, to be faulted in again.
pub use mimalloc::MiMalloc as Allocator;
pub use prost;
pub use prost_types;
