//! `cargo run -- --port 14330`: the test server by hand, for poking at it with a real client.

use std::path::PathBuf;

use tds_server::{Server, ServerConfig};

const USAGE: &str = "usage: tds-server [--port N (14330)] [--database-file PATH (./tds-server.sqlite)] \
                     [--user NAME (sa)] [--password PASSWORD (Routeflow!1)] [--database NAME (routeflow)]";

fn main() {
    let mut config = ServerConfig {
        database_file: PathBuf::from("tds-server.sqlite"),
        port: 14330,
        user: "sa".into(),
        password: "Routeflow!1".into(),
    };
    let mut database = "routeflow".to_string();
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || {
            args.next().unwrap_or_else(|| {
                eprintln!("{flag} needs a value\n{USAGE}");
                std::process::exit(2)
            })
        };
        match flag.as_str() {
            "--port" => {
                config.port = value().parse().unwrap_or_else(|e| {
                    eprintln!("--port: {e}\n{USAGE}");
                    std::process::exit(2)
                })
            }
            "--database-file" => config.database_file = value().into(),
            "--user" => config.user = value(),
            "--password" => config.password = value(),
            "--database" => database = value(),
            "-h" | "--help" => {
                println!("{USAGE}");
                return;
            }
            other => {
                eprintln!("unknown argument {other}\n{USAGE}");
                std::process::exit(2)
            }
        }
    }
    let server = Server::spawn(config).unwrap_or_else(|e| {
        eprintln!("cannot start: {e}");
        std::process::exit(1)
    });
    println!("{}", server.connection_string(&database));
    eprintln!("serving on {} until Ctrl-C", server.addr);
    // The server runs on its own thread; Ctrl-C's default action ends the process.
    loop {
        std::thread::park();
    }
}
