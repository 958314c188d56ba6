//! Whose a data directory is, for the commands a teacher runs as root on
//! a server that runs as a user of its own: the Debian package's service
//! runs as `wachat`, its data in `/var/lib/wachat`, and `sudo wachat users
//! add …` or `sudo wachat restore …` run as root. A file root writes
//! there is root's, mode 0600: the server, which is not root, could not
//! read it, and would not start. So what such a command leaves in the
//! directory is given to the directory's owner ([`Owner::give`]), as if
//! that user had written it; and a server started as root on another
//! user's directory is refused (`cli::serve`), naming the user to run it
//! as.
//!
//! On Unix that is the files' owner (`lchown`). Windows has no such
//! thing to mend: a new file takes the access list of its folder
//! (`sys::private`), so there is never an owner to give it to.

use std::io;
use std::path::Path;

/// A user a directory belongs to, other than the one this process runs as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    pub uid: u32,
    pub gid: u32,
    /// The user's name, or its number where the system has no name for it.
    pub name: String,
}

/// The directory's owner when this process runs as root and `dir` (which
/// exists) belongs to another user; `None` otherwise, and always on
/// Windows.
#[cfg(unix)]
pub fn foreign(dir: &Path) -> Option<Owner> {
    use std::os::unix::fs::MetadataExt;
    /// The name of user `uid` (`getpwuid_r`), or the number.
    fn user_name(uid: u32) -> String {
        let mut buf = vec![0 as libc::c_char; 4096];
        // SAFETY: an all-zero passwd is a valid value to be overwritten.
        let mut entry: libc::passwd = unsafe { std::mem::zeroed() };
        let mut found: *mut libc::passwd = std::ptr::null_mut();
        // SAFETY: every pointer is to a live local of the size given; the
        // name is read only when getpwuid_r said it found the user.
        let status = unsafe { libc::getpwuid_r(uid, &mut entry, buf.as_mut_ptr(), buf.len(), &mut found) };
        if status != 0 || found.is_null() || entry.pw_name.is_null() {
            return uid.to_string();
        }
        // SAFETY: pw_name points into `buf`, a NUL-terminated string.
        unsafe { std::ffi::CStr::from_ptr(entry.pw_name) }.to_string_lossy().into_owned()
    }
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    let meta = std::fs::metadata(dir).ok().filter(|m| m.is_dir())?;
    (me == 0 && meta.uid() != 0).then(|| Owner {
        uid: meta.uid(),
        gid: meta.gid(),
        name: user_name(meta.uid()),
    })
}

#[cfg(not(unix))]
pub fn foreign(_dir: &Path) -> Option<Owner> {
    None
}

impl Owner {
    /// Gives the file (or the symbolic link itself) at `path` to the owner.
    #[cfg(unix)]
    pub fn give_file(&self, path: &Path) -> io::Result<()> {
        std::os::unix::fs::lchown(path, Some(self.uid), Some(self.gid))
    }

    #[cfg(not(unix))]
    pub fn give_file(&self, _path: &Path) -> io::Result<()> {
        Ok(())
    }

    /// Gives everything in `dir` that this process's user owns to the
    /// owner: folders, files with a single name (a file with other names,
    /// a hard link to something outside, is left as it is), and symbolic
    /// links themselves, never what they point to. Returns how many it
    /// gave.
    #[cfg(unix)]
    pub fn give(&self, dir: &Path) -> io::Result<usize> {
        use std::os::unix::fs::MetadataExt;
        // SAFETY: geteuid has no preconditions and cannot fail.
        let me = unsafe { libc::geteuid() };
        let mut given = 0;
        let mut folders = vec![dir.to_path_buf()];
        while let Some(folder) = folders.pop() {
            for entry in std::fs::read_dir(&folder)? {
                let path = entry?.path();
                let meta = match std::fs::symlink_metadata(&path) {
                    Ok(meta) => meta,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => continue, // gone meanwhile
                    Err(e) => return Err(e),
                };
                if meta.is_dir() {
                    folders.push(path.clone());
                }
                if meta.uid() == me && (meta.is_dir() || meta.nlink() == 1) {
                    self.give_file(&path)?;
                    given += 1;
                }
            }
        }
        Ok(given)
    }

    #[cfg(not(unix))]
    pub fn give(&self, _dir: &Path) -> io::Result<usize> {
        Ok(0)
    }
}
