//! The data file on disk: its directory is made 0700 and every file the store writes (the data
//! file, backups) 0600, whatever the umask, and [`exposure`] says when group or others could
//! read or replace them. The file holds the signing keys: whoever reads it forges every token.

use std::fs::{DirBuilder, OpenOptions};
use std::io::ErrorKind;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::{Existing, StoreError};

/// The mode of the data directory.
pub const DIR_MODE: u32 = 0o700;
/// The mode of the data file and of backups.
pub const FILE_MODE: u32 = 0o600;
/// Permission bits that must be clear: read or write for group or others.
const EXPOSED_BITS: u32 = 0o066;

/// The directory that holds `path` (`.` for a bare file name).
pub fn directory_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
        _ => PathBuf::from("."),
    }
}

/// Creates the directory of `path` (and any missing parents) with mode 0700; an existing
/// directory is left as it is, for [`exposure`] to judge.
pub fn create_private_dir(path: &Path) -> Result<(), StoreError> {
    let dir = directory_of(path);
    if dir.is_dir() {
        return Ok(());
    }
    DirBuilder::new()
        .recursive(true)
        .mode(DIR_MODE)
        .create(&dir)
        .map_err(|source| StoreError::CreateDir { path: dir, source })
}

/// Creates `path` as an empty file with mode 0600 when it does not exist yet, so that redb
/// writes into a file nobody else can read. An existing file is left as it is.
pub fn create_private_file(path: &Path) -> Result<(), StoreError> {
    let created = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(FILE_MODE)
        .open(path);
    match created {
        Ok(file) => {
            // The mode given to open(2) is narrowed by the umask, never widened; set it anyway so
            // that the file's mode is exactly 0600.
            file.set_permissions(std::fs::Permissions::from_mode(FILE_MODE))
                .map_err(|source| StoreError::CreateFile {
                    path: path.to_owned(),
                    source,
                })
        }
        Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(()),
        Err(source) => Err(StoreError::CreateFile {
            path: path.to_owned(),
            source,
        }),
    }
}

/// Creates a new file at `path` with mode 0600, failing if anything is there already.
pub fn create_new_private_file(path: &Path) -> Result<(), StoreError> {
    let created = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(FILE_MODE)
        .open(path);
    match created {
        Ok(file) => file
            .set_permissions(std::fs::Permissions::from_mode(FILE_MODE))
            .map_err(|source| StoreError::CreateFile {
                path: path.to_owned(),
                source,
            }),
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {
            Err(StoreError::Exists(Existing::File(path.to_owned())))
        }
        Err(source) => Err(StoreError::CreateFile {
            path: path.to_owned(),
            source,
        }),
    }
}

/// How much free space [`probe_space`] asks for before a data file is reopened after an I/O
/// error: enough for redb to grow the file by a region and commit.
pub const PROBE_BYTES: usize = 1024 * 1024;

/// Whether [`PROBE_BYTES`] can be written (and synced) beside the data file at `path` now: a
/// temporary file, 0600, removed again whatever happens. redb could otherwise reopen a file on a
/// disk that is still full (its header needs no new space) and fail at the next commit.
pub fn probe_space(path: &Path) -> Result<(), StoreError> {
    let mut probe = path.as_os_str().to_owned();
    probe.push(".space-probe");
    let probe = PathBuf::from(probe);
    // One left behind by a crash is ours to replace.
    let _ = std::fs::remove_file(&probe);
    let written = (|| -> std::io::Result<()> {
        use std::io::Write;
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(FILE_MODE)
            .open(&probe)?;
        file.write_all(&vec![0u8; PROBE_BYTES])?;
        file.sync_all()
    })();
    let _ = std::fs::remove_file(&probe);
    written.map_err(|source| StoreError::CreateFile { path: probe, source })
}

/// A data file or directory that group or others may read or write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exposure {
    pub path: PathBuf,
    pub is_dir: bool,
    pub mode: u32,
}

impl std::fmt::Display for Exposure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (what, fix) = if self.is_dir {
            ("data directory", DIR_MODE)
        } else {
            ("data file", FILE_MODE)
        };
        write!(
            f,
            "the {what} {} has mode {:04o}, so group or others can read or change it; it holds the signing keys (whoever reads it can forge every token): run `chmod {fix:o} {}`",
            self.path.display(),
            self.mode & 0o7777,
            self.path.display()
        )
    }
}

/// The data file at `path` and its directory, where they exist and group or others may read
/// or write them. Empty when both are private (or do not exist yet).
pub fn exposure(path: &Path) -> Vec<Exposure> {
    let mut found = Vec::new();
    for (candidate, is_dir) in [(directory_of(path), true), (path.to_owned(), false)] {
        if let Ok(meta) = std::fs::metadata(&candidate) {
            let mode = meta.permissions().mode();
            if mode & EXPOSED_BITS != 0 {
                found.push(Exposure {
                    path: candidate,
                    is_dir,
                    mode,
                });
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_created_directory_and_file_are_private_and_an_exposed_one_is_reported() {
        let root = tempfile::tempdir().unwrap();
        let data = root.path().join("a").join("b").join("identity.redb");
        create_private_dir(&data).unwrap();
        create_private_file(&data).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&directory_of(&data)), DIR_MODE);
        assert_eq!(mode(&data), FILE_MODE);
        assert!(exposure(&data).is_empty());

        std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o644)).unwrap();
        let found = exposure(&data);
        assert_eq!(found.len(), 1);
        assert!(!found[0].is_dir && found[0].to_string().contains("chmod 600"));
        std::fs::set_permissions(directory_of(&data), std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(exposure(&data).len(), 2);
    }
}
