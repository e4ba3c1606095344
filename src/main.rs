//! Thin binary: everything lives in the library so tests drive the same code.

/// mimalloc instead of the system allocator. Why: the sync is allocation-heavy (JSON in and out
/// of both services) and runs for months in one process with many threads, where glibc's
/// per-thread arenas fragment and its free lists cost measurable CPU (the `sync_po` benchmark
/// spent a quarter of its CPU in malloc and free). Built without transparent huge pages
/// (`no_thp`): with them it doubled the benchmark's peak memory for a small gain.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    netsuite_ion_sync::cli::main()
}
