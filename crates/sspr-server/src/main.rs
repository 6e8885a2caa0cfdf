use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = sspr_server::cli::Cli::parse();
    sspr_server::cli::run(cli)
}
