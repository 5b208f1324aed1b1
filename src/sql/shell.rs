//! The interactive SQL shell: line editing and history (rustyline), statements ending in `;`, and a
//! few backslash commands. Without a terminal it reads statements from standard input the same way.

use datafusion::prelude::SessionContext;
use rustyline::DefaultEditor;
use rustyline::error::ReadlineError;

use super::{Format, describe, execute, list_tables};

const HELP: &str = "\
  SQL ending in ;     run it (e.g. SELECT * FROM route_summary LIMIT 5;)
  \\d                  list tables and views
  \\d NAME             describe a table or view (NAME or schema.NAME)
  \\q                  quit (or Ctrl-D)";

/// Reads and runs statements until end of input or `\\q`. Errors are printed and the shell goes on.
pub async fn run(ctx: &SessionContext) -> anyhow::Result<()> {
    let mut editor = DefaultEditor::new()?;
    let history = std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".routeflow_history"));
    if let Some(path) = &history {
        let _ = editor.load_history(path);
    }
    eprintln!("routeflow sql: \\d lists tables, \\? helps, \\q quits");
    let mut buffer = String::new();
    loop {
        let prompt = if buffer.is_empty() {
            "routeflow> "
        } else {
            "       ...> "
        };
        let line = match editor.readline(prompt) {
            Ok(line) => line,
            Err(ReadlineError::Interrupted) => {
                buffer.clear();
                continue;
            }
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(e.into()),
        };
        let trimmed = line.trim();
        if buffer.is_empty() && trimmed.starts_with('\\') {
            let _ = editor.add_history_entry(trimmed);
            let mut words = trimmed.split_whitespace();
            let result = match (words.next(), words.next()) {
                (Some("\\q"), _) => break,
                (Some("\\d"), None) => list_tables(ctx, Format::Table).await.map(|_| ()),
                (Some("\\d"), Some(name)) => describe(ctx, name, Format::Table).await.map(|_| ()),
                _ => {
                    eprintln!("{HELP}");
                    Ok(())
                }
            };
            if let Err(e) = result {
                eprintln!("error: {}", crate::error::one_line(&e));
            }
            continue;
        }
        if trimmed.is_empty() {
            continue;
        }
        buffer.push_str(&line);
        buffer.push('\n');
        if !trimmed.ends_with(';') {
            continue;
        }
        let statement = std::mem::take(&mut buffer);
        let _ = editor.add_history_entry(statement.trim());
        if let Err(e) = execute(ctx, statement.trim().trim_end_matches(';'), Format::Table, None).await {
            eprintln!("error: {}", crate::error::one_line(&e));
        }
    }
    if let Some(path) = &history {
        let _ = editor.save_history(path);
    }
    Ok(())
}
