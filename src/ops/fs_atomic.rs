//! Replacing a file atomically: a reader sees the old content or the new, never a mix, and a crash
//! leaves one of the two (temp file in the same directory, fsync, rename, fsync of the directory).
//! Codex's config.toml at start-up and the bootstrap's journal and state files are written this way.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// The mode of every file written here: Codex's config and login files are not for other users.
pub const CONFIG_MODE: u32 = 0o640;

/// Temp file in the same directory, fsync, rename over `target`, fsync the directory.
pub fn write_atomically(target: &Path, content: &[u8]) -> std::io::Result<()> {
    let dir = target.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    fs::create_dir_all(dir)?;
    let name = target.file_name().unwrap_or_default().to_string_lossy();
    let temp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut file = fs::OpenOptions::new().write(true).create_new(true).mode(CONFIG_MODE).open(&temp)?;
        file.write_all(content)?;
        file.set_permissions(fs::Permissions::from_mode(CONFIG_MODE))?; // whatever the umask
        file.sync_all()?;
        fs::rename(&temp, target)?;
        fs::File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}
