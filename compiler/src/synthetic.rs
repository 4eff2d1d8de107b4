//! A synthetic schema tree for benchmarks: `products × entities × fields`, every
//! scalar, enums, structs, arrays and relations, valid by construction. Generated
//! in memory, never committed.

use std::fmt::Write as _;

/// Shape of the generated tree.
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    pub products: usize,
    pub entities_per_product: usize,
    pub fields_per_entity: usize,
}

impl Shape {
    /// The benchmark tree of the issues: 2,000 entities × 20 fields.
    pub const BENCH: Shape = Shape { products: 20, entities_per_product: 100, fields_per_entity: 20 };
}

const SCALARS: [&str; 9] = ["String", "Boolean", "Int", "Long", "Double", "Timestamp", "Date", "ARI", "Json"];

/// `(relative path, text)` of every file, base declarations included.
pub fn tree(shape: Shape) -> Vec<(String, String)> {
    let mut files = vec![("manifold.ts".to_string(), include_str!("../../schemas/manifold.ts").to_string())];
    for p in 0..shape.products {
        let product = format!("p{p:02}");
        let prefix = format!("P{p:02}");
        let mut common = String::new();
        let _ = writeln!(common, "import {{ Int }} from \"../manifold\";\n");
        let _ = writeln!(
            common,
            "export enum {prefix}Status {{\n  OPEN = \"OPEN\",\n  CLOSED = \"CLOSED\",\n  ARCHIVED = \"ARCHIVED\",\n}}\n"
        );
        let _ = writeln!(common, "export interface {prefix}Detail {{\n  label: String;\n  weight?: Int;\n}}");
        files.push((format!("{product}/common.ts"), common));
        for e in 0..shape.entities_per_product {
            let name = format!("{prefix}Entity{e:03}");
            let mut s = String::new();
            let _ = writeln!(
                s,
                "import {{ Entity, Manifest, ComposedBy, EntityState, Team, Int, Long, Double, Timestamp, Date, ARI, Json }} from \"../manifold\";"
            );
            let _ = writeln!(s, "import {{ {prefix}Status, {prefix}Detail }} from \"./common\";");
            if e > 0 {
                let _ = writeln!(s, "import {{ {prefix}Entity{:03} }} from \"./e{:03}\";", e - 1, e - 1);
            }
            let _ = writeln!(
                s,
                "\nexport interface {name}Manifest extends Manifest {{\n  owner: Team.DATA_PLATFORM;\n  status: EntityState.ACTIVE;\n}}\n"
            );
            let _ = writeln!(
                s,
                "/** Synthetic entity {e} of product {product}. */\nexport interface {name} extends Entity {{"
            );
            let _ = writeln!(s, "  id: ARI;");
            for f in 1..shape.fields_per_entity {
                let line = match f {
                    1 if e > 0 => format!("  parent: ComposedBy<{prefix}Entity{:03}>;", e - 1),
                    2 => format!("  status: {prefix}Status;"),
                    3 => format!("  detail?: {prefix}Detail;"),
                    4 => format!("  details: {prefix}Detail[];"),
                    5 => "  tags: String[];".to_string(),
                    _ => {
                        let ty = SCALARS[f % SCALARS.len()];
                        let opt = if f % 3 == 0 { "?" } else { "" };
                        format!("  /** Field {f}. */\n  field{f}{opt}: {ty};")
                    }
                };
                let _ = writeln!(s, "{line}");
            }
            s.push_str("}\n");
            files.push((format!("{product}/e{e:03}.ts"), s));
        }
    }
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_synthetic_tree_is_valid() {
        let files = tree(Shape { products: 2, entities_per_product: 4, fields_per_entity: 20 });
        let c = crate::compile_loaded(crate::load::from_memory(&files, None), "manifold.lock".into());
        let rendered = crate::diag::render_text(&c.db, &c.diagnostics, false);
        assert!(c.diagnostics.is_empty(), "{rendered}");
        assert_eq!(c.model.entities().count(), 8);
        assert!(c.model.entities().all(|e| e.fields.len() == 20));
    }
}
