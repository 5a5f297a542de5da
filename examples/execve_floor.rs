//! `make bench`'s Rust floor: a static Rust program that does nothing but `execv` the program named
//! by `EXECVE_FLOOR_TARGET`, built like the shim (musl, non-PIE, `#![no_main]`, release profile).
//! Between the C floor and the shim, it shows what Rust's and musl's start-up cost by themselves.
// (`cargo test --all-targets` builds a test harness of every example, whose main is the harness's.)
#![cfg_attr(not(test), no_main)]

#[cfg(not(test))]
use std::ffi::{c_char, c_int, CString};

#[cfg(not(test))]
#[no_mangle]
extern "C" fn main(_argc: c_int, argv: *const *const c_char) -> c_int {
    let Some(target) = std::env::var_os("EXECVE_FLOOR_TARGET") else {
        return 2;
    };
    let Ok(target) = CString::new(std::os::unix::ffi::OsStrExt::as_bytes(target.as_os_str())) else {
        return 2;
    };
    // SAFETY: `target` is NUL-terminated and `argv` is the NULL-terminated vector the C runtime gave.
    unsafe { nix::libc::execv(target.as_ptr(), argv) };
    127
}
