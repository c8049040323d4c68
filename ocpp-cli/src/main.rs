//! `ocpp`: command-line tools for OCPP. See the `ocpp_cli` library for what each command does.

use std::process::ExitCode;

fn main() -> ExitCode {
    ExitCode::from(ocpp_cli::main_with_args(std::env::args_os()))
}
