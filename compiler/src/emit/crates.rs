//! The ingestion crates: per product `<product>/Cargo.toml`, `build.rs` (which
//! calls `manifold_compiler::Builder`) and `src/main.rs` (a few lines handing
//! the product's registry to the runtime's CLI kit) — one binary
//! `ingest-<product>` per product. The crates are members of the workspace
//! that holds the output folder and use its `manifold-runtime` and
//! `manifold-compiler` dependencies.

use serde::Serialize;

use super::{Artifact, templates};
use crate::model::Model;

/// Where the schema folder is, seen from the output folder (`/`-separated), so
/// a crate's build script can find the schemas it was generated from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    pub schemas_from_out: String,
}

impl Default for Layout {
    /// `schemas/` and the output folder side by side, as in this repository.
    fn default() -> Self {
        Layout { schemas_from_out: "../schemas".into() }
    }
}

impl Layout {
    /// The layout of `schemas` and `out` as given on the command line (relative
    /// paths are taken from the current directory; nothing is read).
    pub fn between(out: &std::path::Path, schemas: &std::path::Path) -> std::io::Result<Layout> {
        use std::path::Component;
        let (out, schemas) = (std::path::absolute(out)?, std::path::absolute(schemas)?);
        let normal = |p: &std::path::Path| -> Vec<String> {
            let mut parts: Vec<String> = Vec::new();
            for c in p.components() {
                match c {
                    Component::ParentDir => {
                        parts.pop();
                    }
                    Component::Normal(s) => parts.push(s.to_string_lossy().into_owned()),
                    _ => {}
                }
            }
            parts
        };
        let (out, schemas) = (normal(&out), normal(&schemas));
        let common = out.iter().zip(&schemas).take_while(|(a, b)| a == b).count();
        let mut parts: Vec<String> = vec!["..".to_string(); out.len() - common];
        parts.extend(schemas[common..].iter().cloned());
        Ok(Layout { schemas_from_out: if parts.is_empty() { ".".into() } else { parts.join("/") } })
    }
}

#[derive(Serialize)]
struct Ctx<'a> {
    product: &'a str,
    /// The schema folder seen from the crate folder `<out>/<product>/`.
    schemas: String,
}

pub fn emit(model: &Model, layout: &Layout) -> Vec<Artifact> {
    let mut out = Vec::new();
    for p in &model.products {
        let ctx = Ctx { product: &p.name, schemas: format!("../{}", layout.schemas_from_out) };
        for (template, path) in [
            ("crate/Cargo.toml.j2", "Cargo.toml"),
            ("crate/build.rs.j2", "build.rs"),
            ("crate/main.rs.j2", "src/main.rs"),
        ] {
            out.push(Artifact::text(format!("{}/{path}", p.name), templates::render(template, &ctx)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::Layout;
    use std::path::Path;

    #[test]
    fn layout_is_the_relative_path_from_out_to_schemas() {
        let l =
            |out: &str, schemas: &str| Layout::between(Path::new(out), Path::new(schemas)).unwrap().schemas_from_out;
        assert_eq!(l("/r/generated", "/r/schemas"), "../schemas");
        assert_eq!(l("/r/a/b/out", "/r/schemas"), "../../../schemas");
        assert_eq!(l("/r/out", "/r/out/schemas"), "schemas");
        assert_eq!(l("/r/x/../generated", "/r/schemas/."), "../schemas");
    }
}
