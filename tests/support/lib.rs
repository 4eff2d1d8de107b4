//! The generated Rust of the example products (see `build.rs`), and helpers for
//! the end-to-end tests in `tests/`.

/// `schemas/avocado/`, generated.
pub mod avocado {
    include!(concat!(env!("OUT_DIR"), "/manifold_avocado.rs"));
}

/// `schemas/confluence/`, generated.
pub mod confluence {
    include!(concat!(env!("OUT_DIR"), "/manifold_confluence.rs"));
}

/// `schemas/jira/`, generated.
pub mod jira {
    include!(concat!(env!("OUT_DIR"), "/manifold_jira.rs"));
}

/// `schemas/opsgenie/`, generated.
pub mod opsgenie {
    include!(concat!(env!("OUT_DIR"), "/manifold_opsgenie.rs"));
}

pub mod lake;
pub mod models;

/// `tests/fixtures/conformance/`, generated: the Spark conformance product.
pub mod conformance {
    include!(concat!(env!("OUT_DIR"), "/manifold_conformance.rs"));
}
pub mod kill;
