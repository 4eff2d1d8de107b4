//! The project's check configuration, `schemas/manifold.toml`:
//!
//! ```toml
//! [check]
//! # Days a field stays @deprecated before it may be removed (LC007). Date the
//! # deprecation: `/** @deprecated 2026-10-01 use status */`. 0 = one release.
//! deprecation_window_days = 30
//!
//! [check.severity]   # tune the catalogue's defaults
//! EC012 = "error"
//! LC008 = "warning"
//! ```

use std::collections::BTreeMap;

use serde::Deserialize;

use super::catalogue::{self, Severity};

/// The config file's name in the schema root.
pub const CONFIG_FILE: &str = "manifold.toml";

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Config {
    pub deprecation_window_days: u32,
    /// Rule id → severity replacing the catalogue's default.
    pub severity: BTreeMap<String, Severity>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    check: CheckSection,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct CheckSection {
    #[serde(default)]
    deprecation_window_days: u32,
    #[serde(default)]
    severity: BTreeMap<String, String>,
}

impl Config {
    /// Parses the config; errors name the bad key.
    pub fn from_toml(text: &str) -> Result<Config, String> {
        let file: File = toml::from_str(text).map_err(|e| format!("{CONFIG_FILE}: {}", e.message().trim()))?;
        let mut severity = BTreeMap::new();
        for (id, level) in file.check.severity {
            let rule = catalogue::lookup(&id)
                .ok_or_else(|| format!("{CONFIG_FILE}: `{id}` is not a rule of `manifold check`"))?;
            let level = match level.as_str() {
                "error" => Severity::Error,
                "warning" => Severity::Warn,
                "info" => Severity::Info,
                other => {
                    return Err(format!("{CONFIG_FILE}: severity of {id} is `{other}`; use error, warning or info"));
                }
            };
            severity.insert(rule.id.to_string(), level);
        }
        Ok(Config { deprecation_window_days: file.check.deprecation_window_days, severity })
    }

    /// The config in `schemas/` if there is one, else the defaults.
    pub fn load(schemas: &std::path::Path) -> Result<Config, String> {
        match std::fs::read_to_string(schemas.join(CONFIG_FILE)) {
            Ok(text) => Config::from_toml(&text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Config::default()),
            Err(e) => Err(format!("cannot read {}: {e}", schemas.join(CONFIG_FILE).display())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_rejects() {
        let c =
            Config::from_toml("[check]\ndeprecation_window_days = 30\n[check.severity]\nEC012 = \"error\"\n").unwrap();
        assert_eq!(c.deprecation_window_days, 30);
        assert_eq!(c.severity["EC012"], Severity::Error);
        assert!(Config::from_toml("[check.severity]\nEC999 = \"error\"\n").unwrap_err().contains("EC999"));
        assert!(Config::from_toml("[check.severity]\nEC012 = \"fatal\"\n").unwrap_err().contains("fatal"));
        assert!(Config::from_toml("[check]\nwindow = 3\n").is_err());
    }
}
