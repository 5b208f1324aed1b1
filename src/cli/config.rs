//! `routeflow config show`: the values a command would use and where each came from.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::Subcommand;

#[derive(Subcommand, Debug)]
pub enum ConfigCommand {
    /// The values COMMAND (default: run) would use, from flags, environment, file or defaults;
    /// secrets shown as ***.
    Show {
        /// A command and its options, as you would run it.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, value_name = "COMMAND")]
        command: Vec<OsString>,
    },
}

/// Parses COMMAND as `routeflow` would (with the same config file) and prints every value.
pub fn config(command: ConfigCommand, config_file: Option<PathBuf>) -> anyhow::Result<()> {
    let ConfigCommand::Show { command: args } = command;
    let mut argv = vec![OsString::from("routeflow")];
    if let Some(file) = config_file {
        argv.extend([OsString::from("--config"), file.into_os_string()]);
    }
    if args.is_empty() {
        argv.push("run".into());
    }
    argv.extend(args);
    let (_, layered, matches) =
        super::parse(argv).map_err(|_| routeflow::error::bad_input("the command to show does not parse"))?;
    if let Some(file) = &layered.file {
        println!("# configuration file: {}", file.display());
    }
    for entry in routeflow::config::effective(&super::cli_command(), &matches, &layered) {
        println!("{entry}");
    }
    Ok(())
}
