//! Folding the config file into the command line, with clap deciding what the user typed.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::parser::ValueSource;
use clap::{Arg, ArgMatches, Command};

use super::file::{self, FileValue};
use super::tokens::file_tokens;
use super::{CONFIG_LONG, ConfigError, DEFAULT_CONFIG_FILE, Layered, configurable, owned_args};

/// Folds the config file into `argv`, looking for `./routeflow.toml` when no file is named.
///
/// `cmd` is `Cli::command()`; `argv` includes the binary name. Which options the user gave
/// is what clap makes of `argv` and of the environment values `cmd` captured when it was
/// built, so the layering always agrees with the final parse.
pub fn layer(cmd: &Command, argv: Vec<OsString>) -> Result<Layered, ConfigError> {
    layer_with_default(cmd, argv, Path::new(DEFAULT_CONFIG_FILE))
}

/// Like [`layer`], with the fallback file path as a parameter (used by tests).
///
/// The file is `--config PATH` if given, else the `--config` option's environment variable
/// (`ROUTEFLOW_CONFIG`), else `default_file` if it exists. A named file that cannot be read
/// is an error.
pub fn layer_with_default(
    cmd: &Command,
    mut argv: Vec<OsString>,
    default_file: &Path,
) -> Result<Layered, ConfigError> {
    let mut root = cmd.clone();
    root.build();
    let start = usize::from(!root.is_no_binary_name_set());
    if argv.len() < start {
        argv.push(root.get_name().into());
    }
    let mut parser = Lenient::new(cmd);
    let typed = parser.parse(&argv);
    let levels = selected_path(&root, &typed);
    let leaf = levels[levels.len() - 1].1;

    let Some(path) = config_file(&root, &typed, leaf, default_file) else {
        return Ok(unchanged(argv, None));
    };
    let table = file::read(&path, &root)?;

    // With no arguments at all clap shows help (or "requires a subcommand"); injecting
    // global options from the file would only turn that into a less helpful error.
    if argv.len() == start {
        return Ok(unchanged(argv, Some(path)));
    }

    let commands: Vec<&Command> = levels.iter().map(|(c, _)| *c).collect();
    let values = file::values_for_path(&table, &commands);
    let mut injected = BTreeSet::new();
    let mut inserts = Vec::with_capacity(levels.len());
    let mut at = start;
    for (depth, &(cmd, matches)) in levels.iter().enumerate() {
        if depth > 0 {
            at = parser.after_name(&argv, at, depth);
        }
        let parent = depth.checked_sub(1).map(|p| levels[p].0);
        let mut tokens = Vec::new();
        for arg in owned_args(cmd, parent).filter(|a| configurable(a)) {
            let Some(value) = file::lookup(&values, arg) else {
                continue;
            };
            // Checked even when the value ends up unused, so a bad file fails every time.
            let arg_tokens = checked_tokens(arg, value, &path)?;
            if user_value(arg, matches, leaf).is_some() || arg_tokens.is_empty() {
                continue;
            }
            injected.insert(arg.get_id().to_string());
            tokens.extend(arg_tokens);
        }
        inserts.push((at, tokens));
    }
    Ok(Layered {
        args: splice(argv, inserts),
        file: Some(path),
        injected,
    })
}

/// `--config` or its environment variable as the user gave it, else `default_file` if it exists.
fn config_file(
    root: &Command,
    typed: &ArgMatches,
    leaf: &ArgMatches,
    default_file: &Path,
) -> Option<PathBuf> {
    let named = root
        .get_arguments()
        .find(|a| a.get_long() == Some(CONFIG_LONG))
        .and_then(|a| user_value(a, typed, leaf));
    match named {
        Some(path) => Some(PathBuf::from(path)),
        None => default_file.is_file().then(|| default_file.to_path_buf()),
    }
}

fn unchanged(argv: Vec<OsString>, file: Option<PathBuf>) -> Layered {
    Layered {
        args: argv,
        file,
        injected: BTreeSet::new(),
    }
}

/// The command line parsed by clap without failing: a missing required option (it may be in
/// the file) is passed over, a mistake only ends the parse there (the final parse reports
/// it), and `--help` is not acted on, so the matches always say what the user typed.
struct Lenient(Command);

impl Lenient {
    fn new(cmd: &Command) -> Self {
        Self(
            cmd.clone()
                .ignore_errors(true)
                .disable_help_flag(true)
                .disable_help_subcommand(true)
                .disable_version_flag(true),
        )
    }

    fn parse(&mut self, argv: &[OsString]) -> ArgMatches {
        // With help and version off, every error is one that ignore_errors passes over.
        self.0.try_get_matches_from_mut(argv).unwrap_or_default()
    }

    /// The argv index right after the name of the subcommand at `depth` (root = 0), found at
    /// or after `from`: the shortest prefix of argv whose parse already selects that
    /// subcommand ends with its name. So a name that is an option's value, or follows `--`,
    /// is never taken for the subcommand: clap decides.
    fn after_name(&mut self, argv: &[OsString], from: usize, depth: usize) -> usize {
        (from + 1..=argv.len())
            .find(|&end| subcommand_depth(&self.parse(&argv[..end])) >= depth)
            .unwrap_or(argv.len())
    }
}

fn subcommand_depth(matches: &ArgMatches) -> usize {
    std::iter::successors(matches.subcommand(), |(_, m)| m.subcommand()).count()
}

/// The root and each selected subcommand, with its matches.
fn selected_path<'a>(root: &'a Command, matches: &'a ArgMatches) -> Vec<(&'a Command, &'a ArgMatches)> {
    let mut levels = vec![(root, matches)];
    while let Some(&(cmd, m)) = levels.last() {
        let Some((sub, sub_matches)) = m
            .subcommand()
            .and_then(|(name, sm)| Some((cmd.find_subcommand(name)?, sm)))
        else {
            break;
        };
        levels.push((sub, sub_matches));
    }
    levels
}

/// The last value of `arg` if the user gave it, on the command line or in the environment
/// (empty for an option given without one). Global options are read from the deepest
/// matches, where clap gathers them wherever they were given.
fn user_value(arg: &Arg, matches: &ArgMatches, leaf: &ArgMatches) -> Option<OsString> {
    let id = arg.get_id().as_str();
    let m = if arg.is_global_set() { leaf } else { matches };
    match m.value_source(id) {
        Some(ValueSource::CommandLine | ValueSource::EnvVariable) => {
            let last = m.try_get_raw(id).ok().flatten().and_then(Iterator::last);
            Some(last.unwrap_or_default().to_os_string())
        }
        _ => None,
    }
}

/// The file value as arguments, or an error that names the key and the file.
fn checked_tokens(
    arg: &Arg,
    (key, value): &FileValue<'_>,
    path: &Path,
) -> Result<Vec<OsString>, ConfigError> {
    file_tokens(arg, value).map_err(|message| ConfigError::InvalidValue {
        path: path.to_path_buf(),
        key: key.clone(),
        message,
    })
}

/// `argv` with each group of tokens inserted before the argument at its index.
fn splice(argv: Vec<OsString>, inserts: Vec<(usize, Vec<OsString>)>) -> Vec<OsString> {
    let mut args = Vec::with_capacity(argv.len() + inserts.iter().map(|i| i.1.len()).sum::<usize>());
    let mut inserts = inserts.into_iter().peekable();
    for (i, token) in argv.into_iter().enumerate() {
        while let Some((_, tokens)) = inserts.next_if(|(at, _)| *at == i) {
            args.extend(tokens);
        }
        args.push(token);
    }
    args.extend(inserts.flat_map(|(_, tokens)| tokens));
    args
}
