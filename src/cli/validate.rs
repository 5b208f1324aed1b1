//! `routeflow validate`: the input's data problems, per table, as text or JSON; exit 1 when a
//! `--fail-on` threshold is exceeded.

use clap::{Args, ValueEnum};
use routeflow::validate::{self, ValidateConfig, thresholds};

use super::args::{InputArgs, PlanArgs, WriteArgs, concurrency};

#[derive(Args, Debug)]
pub struct ValidateArgs {
    #[command(flatten, next_help_heading = "Input")]
    input: InputArgs,
    #[command(flatten, next_help_heading = "Plan")]
    plan: PlanArgs,
    /// `mssql`: also check values against the SQL Server target's column widths (see --write).
    /// Nothing is written; a file location here is ignored (files have no widths).
    #[arg(long)]
    output: Option<String>,
    #[command(flatten, next_help_heading = "SQL Server output")]
    write: WriteArgs,
    /// `table` for people, `json` for programs (field reference in the README).
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Example rows shown per problem.
    #[arg(long, value_name = "N", default_value_t = 5)]
    examples: usize,
    /// Exit 1 when the problem KEY's count is above N (`<key>_pct`: its percentage of plan rows,
    /// stops or routes). Repeatable. An unknown KEY is a usage error listing the valid ones.
    #[arg(long = "fail-on", value_name = "KEY=N")]
    fail_on: Vec<String>,
}

/// How the report is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Table,
    Json,
}

impl ValidateArgs {
    fn config(&self) -> anyhow::Result<ValidateConfig> {
        let mssql = routeflow::run::MssqlRunOptions {
            write: self.write.mode()?,
            strict_widths: self.write.strict_widths,
            ..self.input.mssql.options()
        };
        let fail_on = self
            .fail_on
            .iter()
            .map(|t| thresholds::parse(t))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ValidateConfig {
            input: self.input.input.clone(),
            filters: self.input.filters(),
            concurrency: concurrency(self.input.concurrency),
            plan: self.plan.options(),
            output: self.output.clone(),
            mssql,
            examples: self.examples,
            fail_on,
        })
    }
}

/// Validates and prints the report; thresholds exceeded are an error (exit 1) after it.
pub async fn validate(args: ValidateArgs) -> anyhow::Result<()> {
    let config = args.config()?;
    let report = validate::validate(&config).await?;
    match args.format {
        Format::Table => print!("{}", report.to_text()),
        Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
    }
    let exceeded: Vec<String> = report
        .exceeded()
        .map(|t| format!("{} = {} > {}", t.key, t.value, t.limit))
        .collect();
    match exceeded.is_empty() {
        true => Ok(()),
        false => Err(anyhow::anyhow!(
            "validate: thresholds exceeded: {}",
            exceeded.join(", ")
        )),
    }
}
