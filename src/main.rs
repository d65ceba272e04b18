//! The `netauth` binary: see `netauth --help`.

use clap::Parser;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = netauth_server::cli::Cli::parse();
    match netauth_server::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("netauth: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
