//! One `serve` per data dir: the embedded store and the managed clusters are not
//! shareable between processes, so a second server on the same dir must refuse to
//! start instead of corrupting the first one's work. An advisory `flock` is released
//! by the kernel when the process dies, even by kill -9.

use anyhow::Context;
use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::Path;

/// Held for the life of the server.
pub struct DataDirLock {
    _file: File,
}

pub fn acquire(data_dir: &Path) -> anyhow::Result<DataDirLock> {
    let path = data_dir.join("dbplane.lock");
    let file = File::create(&path).with_context(|| format!("create {}", path.display()))?;
    // SAFETY: flock on a descriptor we own.
    let locked = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0;
    if !locked {
        anyhow::bail!(
            "another dbplane serve is using {}; stop it first",
            data_dir.display()
        );
    }
    Ok(DataDirLock { _file: file })
}
