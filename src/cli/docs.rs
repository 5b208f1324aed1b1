//! `routeflow completions` and `routeflow man`: both generated from the clap definition, so they
//! never fall out of step with it.

use super::cli_command;

/// Prints the completion script for `shell`.
pub fn completions(shell: clap_complete::Shell) -> anyhow::Result<()> {
    clap_complete::generate(shell, &mut cli_command(), "routeflow", &mut std::io::stdout());
    Ok(())
}

/// Prints the man page (roff).
pub fn man() -> anyhow::Result<()> {
    clap_mangen::Man::new(cli_command()).render(&mut std::io::stdout())?;
    Ok(())
}
