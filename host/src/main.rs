//! The `tollgate` binary: parse the command line, run it, map the outcome to an exit code.

use clap::Parser;
use tollgate::cli::{Cli, execute};
use tollgate::runner;

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    // One thread: a step is one task (a pipeline's matrix items are futures of one task),
    // and starting worker threads was a fifth of a no-op step's cost.
    let result = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt.block_on(execute(cli)),
        Err(e) => Err(tollgate::Error::Runtime(format!("cannot start the async runtime: {e}"))),
    };
    match result {
        Ok(code) => code.into(),
        Err(error) => {
            runner::print_error(&error.to_string());
            error.exit_code().into()
        }
    }
}
