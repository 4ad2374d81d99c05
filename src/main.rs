use std::process::ExitCode;

// Parsing allocates millions of small strings and maps from every worker thread at once:
// mimalloc's per-thread heaps cut the CPU time of parsing 10,000 models by a third (4.9 s ->
// 3.3 s user+sys) against glibc's malloc. Its transparent-huge-page advice is compiled out
// (`no_thp`): zeroing 2 MiB pages cost more system time than it saved.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    sluice::cli::main()
}
