//! EC015: the columns of an unchanged field differ from the ones released. A
//! baseline compiled by today's compiler cannot show a change of the compiler's
//! naming; the staging schemas committed with the baseline can.

use std::collections::BTreeMap;

use super::Finding;
use super::catalogue as c;
use crate::lock::{ElementState, Lock};
use crate::model::{Model, Type, naming};

pub fn run(model: &Model, baseline: &Lock, current: &Lock, released: &BTreeMap<String, Vec<String>>) -> Vec<Finding> {
    let mut out = Vec::new();
    for e in model.entities() {
        let (Some(columns), Some(base), Some(cur)) =
            (released.get(&e.name), baseline.entity(&e.name), current.entity(&e.name))
        else {
            continue;
        };
        for f in &e.fields {
            // Only fields the change leaves alone: same number, name, type, live.
            let (Some(b), Some(n)) = (base.field(&f.name), cur.field(&f.name)) else { continue };
            if b.number != n.number || b.ty != n.ty || b.state == ElementState::Removed {
                continue;
            }
            let now = match f.ty {
                Type::Array(_) => vec![naming::snake_case(&f.name)],
                _ => naming::source_columns(model, f),
            };
            if let Some(missing) = now.iter().find(|col| !columns.contains(col)) {
                out.push(Finding {
                    rule: c::EC015,
                    severity: c::EC015.severity,
                    element: format!("{}.{}", e.name, f.name),
                    message: format!(
                        "field `{}` now maps to column `{missing}`, which the released table `manifold_entities.{}` does not have: the generated names changed",
                        f.name, e.name
                    ),
                    span: f.span,
                });
            }
        }
    }
    out
}
