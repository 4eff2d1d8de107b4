//! The `manifold` command line; see `manifold_compiler::cli`.

// A build allocates many small strings and trees; mimalloc spends markedly
// less time in allocation than glibc's malloc here (see `manifold bench`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    manifold_compiler::cli::main()
}
