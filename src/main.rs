//! The `latchkey` binary: everything happens in `latchkey::cli`.

use std::process::ExitCode;

fn main() -> ExitCode {
    latchkey::cli::run()
}
