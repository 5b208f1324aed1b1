//! Layering against a small command line shaped like routeflow's: precedence, origins,
//! file errors, and the command-line forms clap alone interprets.

use super::*;
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use std::path::Path;
use std::sync::Mutex;

#[derive(Parser, Debug)]
#[command(name = "routeflow")]
struct Cli {
    #[arg(short, long, action = ArgAction::Count, global = true, env = "ROUTEFLOW_VERBOSE")]
    verbose: u8,
    #[arg(short, long, global = true, env = "ROUTEFLOW_QUIET")]
    quiet: bool,
    #[arg(long, global = true, env = "ROUTEFLOW_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    Run(RunArgs),
    Snapshots(SnapshotsArgs),
    Config {
        #[command(subcommand)]
        command: ConfigCmd,
    },
    /// Required options, as `routeflow copy` has, and positional arguments.
    Copy {
        #[arg(long, env = "ROUTEFLOW_FROM")]
        from: String,
        #[arg(long, env = "ROUTEFLOW_TO")]
        to: String,
        tables: Vec<String>,
    },
}

#[derive(Subcommand, Debug)]
enum ConfigCmd {
    Show,
}

#[derive(Args, Debug)]
struct RunArgs {
    #[arg(long, env = "ROUTEFLOW_INPUT", default_value = "fixtures/small")]
    input: PathBuf,
    #[arg(long, env = "ROUTEFLOW_OUTPUT")]
    output: Option<PathBuf>,
    #[arg(long, env = "ROUTEFLOW_CONCURRENCY", default_value_t = 1)]
    concurrency: usize,
    #[arg(long, env = "ROUTEFLOW_DISTRIBUTOR_ID")]
    distributor_id: Vec<String>,
    #[arg(long, env = "ROUTEFLOW_DRY_RUN")]
    dry_run: bool,
    #[arg(long, env = "ROUTEFLOW_MSSQL")]
    mssql: Option<String>,
    #[arg(long, env = "ROUTEFLOW_START_LAT", allow_hyphen_values = true)]
    start_lat: Option<f64>,
}

#[derive(Args, Debug)]
struct SnapshotsArgs {
    #[arg(long, env = "ROUTEFLOW_REGION")]
    region: Option<String>,
    #[command(subcommand)]
    command: SnapshotsCmd,
}

#[derive(Subcommand, Debug)]
enum SnapshotsCmd {
    List {
        #[arg(long, env = "ROUTEFLOW_SNAPSHOT_DIR", default_value = "snapshots")]
        snapshot_dir: String,
    },
}

/// clap reads `env` values when the command is built, so the few variables a test
/// needs are set only around `Cli::command()`, under a lock shared by all tests.
static ENV_LOCK: Mutex<()> = Mutex::new(());

fn command(env: &[(&str, &str)]) -> Command {
    let _guard = ENV_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    for (k, v) in env {
        // SAFETY: environment access in this test binary is serialized by ENV_LOCK
        // and the variables are removed before the lock is released.
        unsafe { std::env::set_var(k, v) };
    }
    let cmd = Cli::command();
    for (k, _) in env {
        // SAFETY: as above.
        unsafe { std::env::remove_var(k) };
    }
    cmd
}

struct Outcome {
    cli: Cli,
    entries: Vec<Entry>,
    layered: Layered,
}

impl Outcome {
    fn get(&self, name: &str) -> (&str, &Origin) {
        let e = self
            .entries
            .iter()
            .find(|e| e.name == name)
            .unwrap_or_else(|| panic!("no entry {name} in {:?}", self.entries));
        (&e.value, &e.origin)
    }

    fn run(&self) -> &RunArgs {
        match &self.cli.command {
            Cmd::Run(run) => run,
            other => panic!("expected run, got {other:?}"),
        }
    }
}

fn argv(args: &[&str]) -> Vec<OsString> {
    std::iter::once("routeflow")
        .chain(args.iter().copied())
        .map(OsString::from)
        .collect()
}

/// Layers with `dir/routeflow.toml` as the default file (written when `toml` is given).
fn try_layer(
    dir: &Path,
    toml: Option<&str>,
    env: &[(&str, &str)],
    args: &[&str],
) -> Result<(Command, Layered), ConfigError> {
    let default = dir.join(DEFAULT_CONFIG_FILE);
    if let Some(text) = toml {
        std::fs::write(&default, text).unwrap();
    }
    let cmd = command(env);
    let layered = layer_with_default(&cmd, argv(args), &default)?;
    Ok((cmd, layered))
}

fn parse(dir: &Path, toml: Option<&str>, env: &[(&str, &str)], args: &[&str]) -> Outcome {
    let (cmd, layered) = try_layer(dir, toml, env, args).expect("layer");
    let matches = cmd
        .clone()
        .try_get_matches_from(&layered.args)
        .unwrap_or_else(|e| panic!("{e}\nargs: {:?}", layered.args));
    let cli = Cli::from_arg_matches(&matches).expect("from_arg_matches");
    let entries = effective(&cmd, &matches, &layered);
    Outcome {
        cli,
        entries,
        layered,
    }
}

fn file_origin(dir: &Path) -> Origin {
    Origin::File(dir.join(DEFAULT_CONFIG_FILE))
}

#[test]
fn precedence_default_file_env_flag() {
    let dir = tempfile::tempdir().unwrap();
    let toml = "input = \"/file/in\"\nconcurrency = 2\n[run]\noutput = \"/file/out\"\n";
    let file = file_origin(dir.path());

    // default only
    let o = parse(dir.path(), None, &[], &["run"]);
    assert_eq!(o.get("input"), ("fixtures/small", &Origin::Default));
    assert_eq!(o.get("output"), ("", &Origin::Unset));
    assert!(o.layered.file.is_none());

    // file beats default
    let o = parse(dir.path(), Some(toml), &[], &["run"]);
    assert_eq!(o.get("input"), ("/file/in", &file));
    assert_eq!(o.get("concurrency"), ("2", &file));
    assert_eq!(o.get("output"), ("/file/out", &file));
    assert_eq!(o.run().concurrency, 2);

    // env beats file
    let env = [("ROUTEFLOW_CONCURRENCY", "3"), ("ROUTEFLOW_OUTPUT", "/env/out")];
    let o = parse(dir.path(), Some(toml), &env, &["run"]);
    assert_eq!(o.get("input"), ("/file/in", &file));
    assert_eq!(
        o.get("concurrency"),
        ("3", &Origin::Env("ROUTEFLOW_CONCURRENCY".into()))
    );
    assert_eq!(
        o.get("output"),
        ("/env/out", &Origin::Env("ROUTEFLOW_OUTPUT".into()))
    );
    assert_eq!(o.run().concurrency, 3);

    // flag beats env and file, wherever the flag sits
    let o = parse(
        dir.path(),
        Some(toml),
        &env,
        &["run", "--concurrency", "4", "--input=/flag/in"],
    );
    assert_eq!(o.get("input"), ("/flag/in", &Origin::Flag));
    assert_eq!(o.get("concurrency"), ("4", &Origin::Flag));
    assert_eq!(
        o.get("output"),
        ("/env/out", &Origin::Env("ROUTEFLOW_OUTPUT".into()))
    );
    assert_eq!(o.get("dry-run"), ("false", &Origin::Default));
    assert_eq!(o.run().input, PathBuf::from("/flag/in"));
    assert_eq!(o.run().concurrency, 4);
}

#[test]
fn global_options_from_file_env_and_flags() {
    let dir = tempfile::tempdir().unwrap();
    let toml = "verbose = 2\nquiet = true\n";
    let file = file_origin(dir.path());

    let o = parse(dir.path(), Some(toml), &[], &["run"]);
    assert_eq!(o.cli.verbose, 2);
    assert!(o.cli.quiet);
    assert_eq!(o.get("verbose"), ("2", &file));
    assert_eq!(o.get("quiet"), ("true", &file));

    // given before or after the subcommand name, flags win
    let o = parse(dir.path(), Some(toml), &[], &["-v", "run", "-q"]);
    assert_eq!(o.cli.verbose, 1);
    assert_eq!(o.get("verbose"), ("1", &Origin::Flag));
    assert_eq!(o.get("quiet"), ("true", &Origin::Flag));
    assert!(!o.layered.from_file("verbose"));
}

#[test]
fn subcommand_table_overrides_top_level_and_nested_tables_work() {
    let dir = tempfile::tempdir().unwrap();
    let toml = r#"
        input = "/top/in"
        output = "/top/out"
        snapshot-dir = "/top/snaps"
        region = "eu-west-1"
        [run]
        output = "/run/out"
        [snapshots]
        region = "us-east-1"
        [snapshots.list]
        snapshot-dir = "s3://bucket/snaps"
    "#;
    let o = parse(dir.path(), Some(toml), &[], &["run"]);
    assert_eq!(o.run().input, PathBuf::from("/top/in"));
    assert_eq!(o.run().output, Some(PathBuf::from("/run/out")));

    let o = parse(dir.path(), Some(toml), &[], &["snapshots", "list"]);
    let Cmd::Snapshots(s) = &o.cli.command else {
        panic!("expected snapshots")
    };
    let SnapshotsCmd::List { snapshot_dir } = &s.command;
    assert_eq!(snapshot_dir, "s3://bucket/snaps");
    assert_eq!(s.region.as_deref(), Some("us-east-1"));
    assert_eq!(
        o.get("snapshot-dir"),
        ("s3://bucket/snaps", &file_origin(dir.path()))
    );
    assert_eq!(o.get("region"), ("us-east-1", &file_origin(dir.path())));
    // each option goes right after the name of the command that defines it
    let args: Vec<_> = o.layered.args.iter().map(|a| a.to_str().unwrap()).collect();
    assert_eq!(
        args,
        [
            "routeflow",
            "snapshots",
            "--region=us-east-1",
            "list",
            "--snapshot-dir=s3://bucket/snaps"
        ]
    );
}

#[test]
fn arrays_for_repeatable_options_and_booleans_for_flags() {
    let dir = tempfile::tempdir().unwrap();
    let file = file_origin(dir.path());
    let toml = "[run]\ndistributor-id = [\"D001\", \"D002\"]\ndry-run = true\n";
    let o = parse(dir.path(), Some(toml), &[], &["run"]);
    assert_eq!(o.run().distributor_id, ["D001", "D002"]);
    assert!(o.run().dry_run);
    assert_eq!(o.get("distributor-id"), ("D001, D002", &file));
    assert_eq!(o.get("dry-run"), ("true", &file));

    // a flag on the command line replaces the whole file list
    let o = parse(dir.path(), Some(toml), &[], &["run", "--distributor-id", "D009"]);
    assert_eq!(o.run().distributor_id, ["D009"]);
    assert_eq!(o.get("distributor-id"), ("D009", &Origin::Flag));

    // false passes nothing; a single string is one value; snake_case keys work
    let toml = "[run]\ndistributor_id = \"D003\"\ndry_run = false\n";
    let o = parse(dir.path(), Some(toml), &[], &["run"]);
    assert_eq!(o.run().distributor_id, ["D003"]);
    assert!(!o.run().dry_run);
    assert_eq!(o.get("dry-run"), ("false", &Origin::Default));
}

#[test]
fn unknown_keys_are_errors_naming_key_and_file() {
    let dir = tempfile::tempdir().unwrap();
    for (toml, key) in [
        ("inptu = \"x\"\n", "inptu"),
        ("[run]\noutptu = \"x\"\n", "run.outptu"),
        ("[runn]\noutput = \"x\"\n", "runn"),
        (
            "[snapshots.list]\nsnapshot-dri = \"x\"\n",
            "snapshots.list.snapshot-dri",
        ),
        // an option that exists, but not for this subcommand
        ("[run]\nsnapshot-dir = \"x\"\n", "run.snapshot-dir"),
    ] {
        let err = try_layer(dir.path(), Some(toml), &[], &["run"]).unwrap_err();
        let msg = err.to_string();
        assert!(
            matches!(&err, ConfigError::UnknownKey { key: k, .. } if k == key),
            "{msg}"
        );
        assert!(msg.contains(&format!("`{key}`")), "{msg}");
        assert!(msg.contains(DEFAULT_CONFIG_FILE), "{msg}");
    }
}

#[test]
fn wrong_types_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    for (toml, key, expected) in [
        (
            "[run]\ndry-run = \"yes\"\n",
            "run.dry-run",
            "expected true or false, found string",
        ),
        (
            "concurrency = \"four\"\n",
            "concurrency",
            "invalid value 'four' for '--concurrency",
        ),
        (
            "[run]\nconcurrency = [1, 2]\n",
            "run.concurrency",
            "expected a single value, found an array",
        ),
        (
            "[run]\ndistributor-id = [\"a\", [\"b\"]]\n",
            "run.distributor-id",
            "found array",
        ),
        (
            "[run]\ninput = { a = 1 }\n",
            "run.input",
            "expected a value, found a table",
        ),
        ("verbose = -1\n", "verbose", "expected a count"),
        (
            "config = \"other.toml\"\n",
            "config",
            "cannot be set in the config file",
        ),
    ] {
        let err = try_layer(dir.path(), Some(toml), &[], &["run"]).unwrap_err();
        let msg = err.to_string();
        assert!(
            matches!(&err, ConfigError::InvalidValue { key: k, .. } if k == key),
            "{msg}"
        );
        assert!(msg.contains(expected), "{msg}");
        assert!(msg.contains(DEFAULT_CONFIG_FILE), "{msg}");
        assert!(!msg.contains('\u{1b}'), "{msg:?}");
    }
    let err = try_layer(dir.path(), Some("input = \n"), &[], &["run"]).unwrap_err();
    assert!(matches!(err, ConfigError::Parse { .. }), "{err}");
}

#[test]
fn keys_for_other_subcommands_are_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let toml = "snapshot-dir = \"/top/snaps\"\nregion = \"eu\"\n[snapshots.list]\nsnapshot-dir = \"s3://b\"\n[run]\ninput = \"/run/in\"\n";
    let o = parse(dir.path(), Some(toml), &[], &["run"]);
    assert_eq!(o.run().input, PathBuf::from("/run/in"));
    assert!(
        o.entries
            .iter()
            .all(|e| e.name != "snapshot-dir" && e.name != "region")
    );
    let args: Vec<_> = o.layered.args.iter().map(|a| a.to_str().unwrap()).collect();
    assert_eq!(args, ["routeflow", "run", "--input=/run/in"]);

    // and [run] does not leak into snapshots
    let o = parse(dir.path(), Some(toml), &[], &["snapshots", "list"]);
    assert!(o.entries.iter().all(|e| e.name != "input"));
}

#[test]
fn config_path_from_flag_env_and_default() {
    let dir = tempfile::tempdir().unwrap();
    let other = dir.path().join("other.toml");
    std::fs::write(&other, "[run]\noutput = \"/other/out\"\n").unwrap();
    let other_str = other.to_str().unwrap();
    let default_toml = Some("[run]\noutput = \"/default/out\"\n");

    let o = parse(dir.path(), default_toml, &[], &["run"]);
    assert_eq!(o.run().output, Some(PathBuf::from("/default/out")));
    let default_path = dir.path().join(DEFAULT_CONFIG_FILE);
    let default_str = default_path.to_str().unwrap();
    assert_eq!(o.get("config"), (default_str, &Origin::Default));

    // `[config]` is the table of the `config` subcommand, not the --config option
    let o = parse(
        dir.path(),
        Some("verbose = 1\n[config]\n"),
        &[],
        &["config", "show"],
    );
    assert_eq!(o.cli.verbose, 1);
    assert_eq!(o.get("config"), (default_str, &Origin::Default));

    for args in [
        vec!["--config", other_str, "run"],
        vec!["run", "--config", other_str],
        vec![&format!("--config={other_str}"), "run"],
    ] {
        let o = parse(dir.path(), default_toml, &[], &args);
        assert_eq!(o.run().output, Some(PathBuf::from("/other/out")), "{args:?}");
        assert_eq!(o.get("output"), ("/other/out", &Origin::File(other.clone())));
        assert_eq!(o.get("config"), (other_str, &Origin::Flag));
    }

    let env = [("ROUTEFLOW_CONFIG", other_str)];
    let o = parse(dir.path(), default_toml, &env, &["run"]);
    assert_eq!(o.layered.file.as_deref(), Some(other.as_path()));
    assert_eq!(o.get("output"), ("/other/out", &Origin::File(other.clone())));
    assert_eq!(
        o.get("config"),
        (other_str, &Origin::Env("ROUTEFLOW_CONFIG".into()))
    );

    // a named file must exist; the default one need not
    let missing = dir.path().join("missing.toml");
    let missing_str = missing.to_str().unwrap();
    let err = try_layer(dir.path(), None, &[], &["--config", missing_str, "run"]).unwrap_err();
    assert!(matches!(err, ConfigError::Read { .. }), "{err}");
    assert!(err.to_string().contains(missing_str));
    let err = try_layer(dir.path(), None, &[("ROUTEFLOW_CONFIG", missing_str)], &["run"]).unwrap_err();
    assert!(matches!(err, ConfigError::Read { .. }), "{err}");

    let empty = tempfile::tempdir().unwrap();
    let o = parse(empty.path(), None, &[], &["run"]);
    assert!(o.layered.file.is_none());
    assert_eq!(o.get("output"), ("", &Origin::Unset));
}

#[test]
fn secrets_are_redacted() {
    assert_eq!(
        redact("mssql", "Server=x;User Id=u;Password=p"),
        "Server=x;User Id=u;Password=***"
    );
    assert_eq!(
        redact("input", "Server=x; pwd = 'a;''b' ;Database=d"),
        "Server=x; pwd =***;Database=d"
    );
    assert_eq!(
        redact("input", "s3://user:hunter2@host/path"),
        "s3://user:***@host/path"
    );
    assert_eq!(redact("input", "https://host/path?a=b"), "https://host/path?a=b");
    assert_eq!(redact("api-token", "abc"), "***");
    assert_eq!(redact("mssql", "Server=x;Integrated Security=true"), "***");
    assert_eq!(redact("mssql-connect-timeout", "15"), "15");
    assert_eq!(redact("mssql", ""), "");
    assert_eq!(redact("output", "/data/out"), "/data/out");

    let dir = tempfile::tempdir().unwrap();
    let toml = "[run]\nmssql = \"Server=x;User Id=u;Password=p\"\n";
    let o = parse(dir.path(), Some(toml), &[], &["run"]);
    assert_eq!(o.run().mssql.as_deref(), Some("Server=x;User Id=u;Password=p"));
    assert_eq!(
        o.get("mssql"),
        ("Server=x;User Id=u;Password=***", &file_origin(dir.path()))
    );
    let o = parse(
        dir.path(),
        None,
        &[],
        &["run", "--mssql", "Server=x;User Id=u;Pwd=p"],
    );
    assert_eq!(o.get("mssql"), ("Server=x;User Id=u;Pwd=***", &Origin::Flag));
}

#[test]
fn no_arguments_leave_argv_alone() {
    let dir = tempfile::tempdir().unwrap();
    let (_, layered) = try_layer(dir.path(), Some("verbose = 1\n"), &[], &[]).unwrap();
    assert_eq!(layered.args, argv(&[]));
    assert!(layered.file.is_some());
}

/// The forms a hand-written scanner would have to mimic are clap's alone: a short-flag
/// cluster gives each flag, a value may start with `-`, and after `--` come only positionals.
#[test]
fn the_command_line_is_read_by_clap() {
    let dir = tempfile::tempdir().unwrap();
    let file = file_origin(dir.path());
    let toml = "verbose = 2\nquiet = true\n[run]\nstart-lat = 14.5\n";

    let o = parse(dir.path(), Some(toml), &[], &["-qv", "run"]);
    assert_eq!(o.get("verbose"), ("1", &Origin::Flag));
    assert_eq!(o.get("quiet"), ("true", &Origin::Flag));
    assert_eq!(o.get("start-lat"), ("14.5", &file));

    // `-12.5` is the value of --start-lat, not a cluster of short flags
    for args in [
        &["run", "--start-lat", "-12.5"][..],
        &["run", "--start-lat=-12.5"],
    ] {
        let o = parse(dir.path(), Some(toml), &[], args);
        assert_eq!(o.run().start_lat, Some(-12.5), "{args:?}");
        assert_eq!(o.get("start-lat"), ("-12.5", &Origin::Flag));
        assert_eq!(o.get("verbose"), ("2", &file));
    }

    // after `--`, `-v` and `--quiet` are tables to copy, so both flags come from the file
    let o = parse(
        dir.path(),
        Some(toml),
        &[],
        &["copy", "--from", "a", "--to", "b", "--", "-v", "--quiet"],
    );
    let Cmd::Copy { tables, .. } = &o.cli.command else {
        panic!("expected copy")
    };
    assert_eq!(tables, &["-v", "--quiet"]);
    assert_eq!(o.cli.verbose, 2);
    assert_eq!(o.get("quiet"), ("true", &file));
    let args: Vec<_> = o.layered.args.iter().map(|a| a.to_str().unwrap()).collect();
    assert_eq!(
        args,
        [
            "routeflow",
            "--verbose",
            "--verbose",
            "--quiet",
            "copy",
            "--from",
            "a",
            "--to",
            "b",
            "--",
            "-v",
            "--quiet"
        ]
    );
}

/// A required option may be in the file alone: the first parse does not stop at its absence.
#[test]
fn required_options_may_come_from_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let toml = "[copy]\nfrom = \"/file/from\"\nto = \"/file/to\"\n";
    let o = parse(dir.path(), Some(toml), &[], &["copy", "--to", "/flag/to"]);
    assert_eq!(o.get("from"), ("/file/from", &file_origin(dir.path())));
    assert_eq!(o.get("to"), ("/flag/to", &Origin::Flag));

    // without it, clap reports the missing option as always
    let empty = tempfile::tempdir().unwrap();
    let (cmd, layered) = try_layer(empty.path(), None, &[], &["copy"]).unwrap();
    let err = cmd.try_get_matches_from(&layered.args).unwrap_err();
    assert_eq!(err.kind(), clap::error::ErrorKind::MissingRequiredArgument);
}

/// `--help` still checks the file, and clap still shows the help.
#[test]
fn help_checks_the_file_and_shows_help() {
    let dir = tempfile::tempdir().unwrap();
    let err = try_layer(dir.path(), Some("inptu = 1\n"), &[], &["run", "--help"]).unwrap_err();
    assert!(matches!(err, ConfigError::UnknownKey { .. }), "{err}");

    let (cmd, layered) = try_layer(dir.path(), Some("verbose = 1\n"), &[], &["run", "--help"]).unwrap();
    let err = cmd.try_get_matches_from(&layered.args).unwrap_err();
    assert_eq!(err.kind(), clap::error::ErrorKind::DisplayHelp);
}
