//! Thin binary: everything lives in the library so tests drive the same code.
fn main() -> std::process::ExitCode {
    netsuite_ion_sync::cli::main()
}
