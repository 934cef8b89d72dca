//! Reading the interrupted thread's stack from the signal handler without ever faulting.
//!
//! The unwinder asks for words at addresses computed from unwind tables or frame pointers,
//! which may be wrong. Before a page is read, its readability is checked by asking the kernel
//! to copy one byte of it into a pipe: `write` fails with `EFAULT` instead of faulting. Checked
//! pages are remembered for the rest of the sample, so a typical stack costs one or two such
//! calls; the page the handler itself runs on (the same stack) needs none. The pipe is created
//! off the signal path and drained here when full, never waited on.

use std::sync::atomic::{AtomicI32, Ordering};

/// The farthest above the stack pointer a read may go: deeper frames are not followed.
const MAX_STACK_BYTES: u64 = 8 << 20;
const PAGE: u64 = 4096;

static PIPE_READ: AtomicI32 = AtomicI32::new(-1);
static PIPE_WRITE: AtomicI32 = AtomicI32::new(-1);

/// Creates the probe pipe, once per process. Not signal-safe; call before sampling starts.
pub(crate) fn prepare() -> std::io::Result<()> {
    if PIPE_WRITE.load(Ordering::Acquire) >= 0 {
        return Ok(());
    }
    let mut fds = [0; 2];
    // SAFETY: `fds` is a valid two-element array for `pipe2` to fill.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    PIPE_READ.store(fds[0], Ordering::Release);
    PIPE_WRITE.store(fds[1], Ordering::Release);
    Ok(())
}

/// Validated reads of one thread's stack, for one sample.
pub(crate) struct StackReader {
    sp: u64,
    /// Pages known readable: `[low, high)`, page-aligned.
    low: u64,
    high: u64,
}

impl StackReader {
    /// A reader for the stack whose pointer was `sp` when the signal arrived. The page of `sp`
    /// is readable: the handler is running on the same stack, just below it.
    pub(crate) fn new(sp: u64) -> Self {
        let low = sp & !(PAGE - 1);
        Self { sp, low, high: low + PAGE }
    }

    /// The aligned word at `address`, if it lies within reach above the stack pointer and is
    /// readable. Signal-safe.
    pub(crate) fn read(&mut self, address: u64) -> Result<u64, ()> {
        if !address.is_multiple_of(8) || address < self.sp || address - self.sp >= MAX_STACK_BYTES {
            return Err(());
        }
        let page = address & !(PAGE - 1);
        if page < self.low || page >= self.high {
            if !readable(page) {
                return Err(());
            }
            if page == self.high {
                self.high += PAGE;
            } else {
                (self.low, self.high) = (page, page + PAGE);
            }
        }
        // SAFETY: the word is aligned and lies in a page just checked (or known) readable; a
        // stack page stays mapped while its thread is stopped in this handler.
        Ok(unsafe { std::ptr::read_volatile(address as *const u64) })
    }
}

/// Whether the page at `page` can be read, asked of the kernel. Signal-safe: `write` and
/// `read` are async-signal-safe, and errno is restored by the caller (the handler).
fn readable(page: u64) -> bool {
    let fd = PIPE_WRITE.load(Ordering::Relaxed);
    for _ in 0..2 {
        // SAFETY: `write` only reads the one byte at `page`, and reports an unreadable address
        // as EFAULT instead of faulting.
        match unsafe { libc::write(fd, page as *const libc::c_void, 1) } {
            1 => return true,
            // SAFETY: reading errno of this thread.
            _ if unsafe { *libc::__errno_location() } == libc::EAGAIN => drain_pipe(),
            _ => return false,
        }
    }
    false
}

/// Empties the probe pipe (its bytes mean nothing).
fn drain_pipe() {
    let mut buffer = [0u8; 512];
    let fd = PIPE_READ.load(Ordering::Relaxed);
    // SAFETY: `read` writes at most `buffer.len()` bytes into the local buffer; the pipe is
    // non-blocking, so this never waits.
    while unsafe { libc::read(fd, buffer.as_mut_ptr().cast(), buffer.len()) } > 0 {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_is_mapped_and_refuses_what_is_not() {
        prepare().unwrap();
        let words = [7u64; 2048];
        let sp = words.as_ptr() as u64;
        let mut reader = StackReader::new(sp);
        assert_eq!(reader.read(sp + 8 * 1500), Ok(7));
        assert_eq!(reader.read(sp + 3), Err(()), "unaligned");
        assert_eq!(reader.read(sp - 8), Err(()), "below the stack pointer");
        // An address range that is certainly unmapped: the zero page's neighbourhood.
        let mut low = StackReader::new(0x1000);
        assert_eq!(low.read(0x10_0000), Err(()));
        // Enough probes to fill and drain the pipe on the way.
        for _ in 0..70_000 {
            assert!(readable(sp & !(PAGE - 1)));
        }
    }
}
