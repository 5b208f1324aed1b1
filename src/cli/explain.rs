//! `routeflow explain`: a stage's logical and physical plan, optionally with run metrics.

use clap::Args;
use routeflow::plan;
use routeflow::run;

use super::args::{InputArgs, PlanArgs, concurrency};

#[derive(Args, Debug)]
pub struct ExplainArgs {
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten)]
    plan: PlanArgs,
    /// The view or table to explain.
    #[arg(long, default_value = "route_plan")]
    view: String,
    /// Run the plan and show per-operator metrics (rows, time) instead of only planning it.
    #[arg(long)]
    analyze: bool,
}

/// Registers the sources and the stages as a run would, then explains one of them.
pub async fn explain(args: ExplainArgs) -> anyhow::Result<()> {
    let options = args.plan.options();
    options.validate()?;
    let concurrency = concurrency(args.input.concurrency);
    let ctx = run::session(concurrency);
    let source = run::open_source(&ctx, &args.input.input, &args.input.mssql.options(), concurrency)?;
    run::register_sources(&ctx, source.as_ref(), &args.input.filters(), None).await?;
    plan::register(&ctx, &options, false, |_, _| {}).await?;
    let df = ctx
        .table(args.view.as_str())
        .await
        .map_err(|e| routeflow::error::bad_input_from(format!("--view {}", args.view), e))?;
    let explained = df.explain(false, args.analyze)?.collect().await?;
    println!("{}", arrow::util::pretty::pretty_format_batches(&explained)?);
    Ok(())
}
