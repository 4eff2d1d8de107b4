//! The `manifold` command line; see `manifold_compiler::cli`.

fn main() -> std::process::ExitCode {
    manifold_compiler::cli::main()
}
