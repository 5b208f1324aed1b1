//! The `routeflow` command line: `run`, `validate`, `explain`, `sql`, `map`, `snapshots`, `copy`, `generate`,
//! `config`, `completions` and `man`.
//!
//! This file only parses and dispatches: each subcommand's arguments and the code that calls the
//! library live in its own module under `cli/`.

mod cli;

use std::process::ExitCode;

use cli::exit::{EXIT_BAD_INPUT, EXIT_FAILURE, exit_code, one_line};
use cli::{Cli, Command};
use tracing::error;

/// mimalloc, as DataFusion's own CLI uses: a run builds and drops gigabytes of Arrow buffers stage
/// after stage, which it serves from memory it keeps instead of returning and re-faulting it (and
/// hands back between stages, src/memory.rs).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // Before anything large is allocated: see src/memory.rs.
    if !routeflow::memory::huge_pages_wanted() {
        routeflow::memory::disable_huge_pages();
    }
    let cli = match cli::parse(std::env::args_os().collect()) {
        Ok((cli, _, _)) => cli,
        Err(code) => return code,
    };
    if let Err(e) = cli::logging::init(&cli) {
        eprintln!("error: {e}");
        return ExitCode::from(EXIT_BAD_INPUT);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            error!("cannot start the runtime: {e}");
            return ExitCode::from(EXIT_FAILURE);
        }
    };
    match runtime.block_on(dispatch(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let code = exit_code(&e);
            error!("{}", one_line(&e));
            ExitCode::from(code)
        }
    }
}

/// One arm per subcommand, each handing its arguments to its module.
async fn dispatch(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Run(args) => cli::run::run(args, cli.quiet, cli.log_format).await,
        Command::Validate(args) => cli::validate::validate(args).await,
        Command::Explain(args) => cli::explain::explain(args).await,
        Command::Sql(args) => cli::sql::sql(args).await,
        Command::Serve(args) => cli::serve::serve(args).await,
        Command::HashPassword => cli::serve::hash_password(),
        Command::Map(args) => cli::map::map(args).await,
        Command::Snapshots { command } => cli::snapshots::snapshots(command).await,
        Command::Copy(args) => cli::copy::copy(args).await,
        Command::Generate(args) => cli::generate::generate(args),
        Command::Config { command } => cli::config::config(command, cli.config),
        Command::Completions { shell } => cli::docs::completions(shell),
        Command::Man => cli::docs::man(),
    }
}
