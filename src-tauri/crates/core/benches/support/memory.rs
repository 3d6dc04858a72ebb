//! The process's peak memory, for the benchmarks that report it (Linux:
//! `/proc/self`), shared by `bundle.rs` and `large.rs`.

/// Resets the process's peak resident memory, so a phase is measured on
/// its own.
pub fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Peak resident memory (VmHWM) since start or the last reset, in MiB
/// (NaN when it cannot be read).
pub fn peak_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}
