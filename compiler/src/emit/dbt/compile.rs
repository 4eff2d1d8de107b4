//! Compiling dbt models the way dbt-core does, without dbt: Jinja rendering with
//! Jinja2's default whitespace rules, the project's macros in scope, `source()`
//! and `ref()` resolved as dbt-spark renders them (`manifold_entities.X`,
//! `manifold.x`), and `config()` captured. The test suite compares the result with
//! what dbt-core itself compiles from the emitted project.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use minijinja::value::{Kwargs, Value};
use minijinja::{Environment, Error, ErrorKind};

/// The schema `ref()` renders to: the target schema of the lake's dbt profile.
pub const TARGET_SCHEMA: &str = "manifold";

/// What compiling a model produced.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Compiled {
    /// The SQL with every Jinja construct expanded.
    pub sql: String,
    /// The keyword arguments of `config(...)`, as JSON.
    pub config: serde_json::Map<String, serde_json::Value>,
    /// `source_name.table` of every `source()` call.
    pub sources: BTreeSet<String>,
    /// Model names of every `ref()` call.
    pub refs: BTreeSet<String>,
}

/// A compile failure: the message and the 1-based line in the model, if known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompileError {
    pub message: String,
    pub line: Option<usize>,
}

/// Compiles `text` (a model file) with the macros of `macros` (a macro file).
pub fn compile(text: &str, macros: &str) -> Result<Compiled, CompileError> {
    ModelCompiler::new(macros)?.compile(text)
}

/// A Jinja environment with the project's macros, reused across models (parsing
/// the macros once per worker, not once per model).
pub struct ModelCompiler {
    env: Environment<'static>,
    captured: Arc<Mutex<Compiled>>,
}

impl ModelCompiler {
    pub fn new(macros: &str) -> Result<Self, CompileError> {
        let captured = Arc::new(Mutex::new(Compiled::default()));
        let mut env = Environment::new();
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        env.add_template_owned("manifold.sql", macros.to_string()).map_err(to_error)?;
        {
            let c = captured.clone();
            env.add_function("config", move |kwargs: Kwargs| -> Result<String, Error> {
                let mut c = c.lock().expect("not poisoned");
                for key in kwargs.args() {
                    let value: Value = kwargs.get(key)?;
                    let json = serde_json::to_value(&value)
                        .map_err(|e| Error::new(ErrorKind::InvalidOperation, e.to_string()))?;
                    c.config.insert(key.to_string(), json);
                }
                Ok(String::new())
            });
        }
        {
            let c = captured.clone();
            env.add_function("source", move |source: String, table: String| -> String {
                c.lock().expect("not poisoned").sources.insert(format!("{source}.{table}"));
                format!("{source}.{table}")
            });
        }
        {
            let c = captured.clone();
            env.add_function("ref", move |model: String| -> String {
                c.lock().expect("not poisoned").refs.insert(model.clone());
                format!("{TARGET_SCHEMA}.{model}")
            });
        }
        env.add_function("is_incremental", || false);
        Ok(ModelCompiler { env, captured })
    }

    /// Compiles one model file.
    pub fn compile(&mut self, text: &str) -> Result<Compiled, CompileError> {
        *self.captured.lock().expect("not poisoned") = Compiled::default();
        // dbt reads model files stripped of surrounding whitespace before rendering.
        let source =
            format!("{{% from 'manifold.sql' import select_envelope_fields, select_required_fields %}}{}", text.trim());
        let sql = self.env.render_str(&source, ()).map_err(to_error)?;
        let mut out = std::mem::take(&mut *self.captured.lock().expect("not poisoned"));
        out.sql = sql;
        Ok(out)
    }
}

fn to_error(e: Error) -> CompileError {
    let mut message = e.detail().map(str::to_string).unwrap_or_else(|| e.kind().to_string());
    if message.is_empty() {
        message = e.to_string();
    }
    CompileError { message, line: e.line() }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MACROS: &str = "{% macro envelope() %}\n    a,\n{% endmacro %}";

    #[test]
    fn renders_like_dbt() {
        let macros = MACROS.replace("envelope", "select_envelope_fields")
            + "{% macro select_required_fields() %}\n    z\n{% endmacro %}";
        let model = "\n{{ config(writer='merge', unique_key=['k', 'p'], n=2) }}\nSELECT\n  {{ select_envelope_fields() }}\n  b,\n  {{ select_required_fields() }}\nFROM {{ source('manifold_entities', 'X') }} JOIN {{ ref('other') }}\n\n";
        let c = compile(model, &macros).unwrap();
        assert_eq!(c.sql, "\nSELECT\n  \n    a,\n\n  b,\n  \n    z\n\nFROM manifold_entities.X JOIN manifold.other");
        assert_eq!(c.config["writer"], "merge");
        assert_eq!(c.config["unique_key"], serde_json::json!(["k", "p"]));
        assert_eq!(c.config["n"], 2);
        assert_eq!(c.sources.iter().collect::<Vec<_>>(), ["manifold_entities.X"]);
        assert_eq!(c.refs.iter().collect::<Vec<_>>(), ["other"]);
    }

    #[test]
    fn unknown_functions_are_errors_with_a_line() {
        let e = compile("SELECT 1\nFROM {{ var('x') }}", "").unwrap_err();
        assert_eq!(e.line, Some(2), "{e:?}");
    }
}
