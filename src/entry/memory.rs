//! Process-wide memory settings, applied once at start by both binaries.

/// Gives the process one malloc arena. glibc gives each thread that allocates its own arena
/// (up to 8 per core), and each arena keeps the image-sized buffers freed in it for reuse by
/// that arena only: with the source and the garment prepared on two threads and the body
/// built on a third, their freed buffers pile up side by side. Measured on the shared job
/// (docs/performance.md, "Speed, memory and sizing"): peak RSS 133 MiB with glibc's default, 66 MiB with one arena, and no
/// slower: the job allocates a few large buffers, not many small ones, so the shared lock is
/// not contended. (Pinning the mmap threshold instead also gave 68 MiB but cost about 40 ms
/// per job in page faults, since every large buffer then arrives as fresh pages.)
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator parameters; called before any thread starts.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}
