//! The end-to-end tests: one test binary (so the lake stack is linked once),
//! one module per concern.

mod cross_language;
mod envelope;
mod evolution;
mod ingest;
mod mapping;
mod merge;
mod real_tools;
mod records;
mod s3;
mod spark;
mod typescript;
