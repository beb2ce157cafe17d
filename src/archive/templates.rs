//! Renders the human-facing files (index.html, README.txt, notice.txt, notice.html) from
//! Jinja templates. The built-in templates are compiled in from `templates/`; a `templates`
//! folder in the config overrides any of them by name, so operators can change the wording
//! without recompiling. HTML templates are auto-escaped: a record holding `<script>` renders
//! as text.

use std::path::Path;

use minijinja::{AutoEscape, Environment};

use crate::error::{Error, Result};

/// The built-in templates, by name.
pub const BUILTIN: [(&str, &str); 4] = [
    ("index.html", include_str!("../../templates/index.html")),
    ("README.txt", include_str!("../../templates/README.txt")),
    ("notice.txt", include_str!("../../templates/notice.txt")),
    ("notice.html", include_str!("../../templates/notice.html")),
];

/// A loaded set of templates.
pub struct Templates {
    env: Environment<'static>,
}

impl Templates {
    /// Loads the built-in templates, replaced by same-named files in `overrides` if given.
    pub fn load(overrides: Option<&Path>) -> Result<Templates> {
        let mut env = Environment::new();
        env.set_auto_escape_callback(|name| {
            if name.ends_with(".html") || name.ends_with(".htm") {
                AutoEscape::Html
            } else {
                AutoEscape::None
            }
        });
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Lenient);
        env.set_keep_trailing_newline(true);
        for (name, builtin) in BUILTIN {
            let source = match overrides.map(|d| d.join(name)) {
                Some(path) if path.is_file() => std::fs::read_to_string(&path).map_err(|e| {
                    Error::Config(format!("cannot read template {}: {e}", path.display()))
                })?,
                _ => builtin.to_string(),
            };
            env.add_template_owned(name.to_string(), source)
                .map_err(|e| Error::Config(format!("template {name}: {e}")))?;
        }
        Ok(Templates { env })
    }

    /// Renders one template with a serialisable context.
    pub fn render(&self, name: &str, context: &impl serde::Serialize) -> Result<String> {
        let template = self
            .env
            .get_template(name)
            .map_err(|e| Error::Config(format!("template {name}: {e}")))?;
        template
            .render(context)
            .map_err(|e| Error::Config(format!("template {name}: {e:#}")))
    }
}
