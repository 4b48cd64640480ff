//! The `tollgate` binary: parse the command line, run it, map the outcome to an exit code.

use clap::Parser;
use tollgate::cli::{Cli, execute};

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return tollgate::ExitCode::Failure.into();
        }
    };
    match runtime.block_on(execute(cli)) {
        Ok(code) => code.into(),
        Err(error) => {
            if std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true") {
                println!(
                    "::error title=tollgate::{}",
                    tollgate::runner::escape_data(&error.to_string())
                );
            }
            eprintln!("error: {error}");
            error.exit_code().into()
        }
    }
}
