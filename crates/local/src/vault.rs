//! The local [`SecretVault`]: one file per request in a directory only the broker's user can
//! read (0700), each file 0600 and written atomically, holding `{"username", "password"}` —
//! the embedded mode's Secrets Manager. The directory should live outside the repository.

use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use powerpole_core::ports::{SecretLocation, SecretRef, SecretVault, StoredSecret};
use powerpole_core::{BastionId, DbPassword, DbUsername, RequestId};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Secrets as 0600 files in a 0700 directory.
#[derive(Debug, Clone)]
pub struct SecretFiles {
    dir: PathBuf,
}

#[derive(Serialize, Deserialize)]
struct Stored {
    username: String,
    password: String,
    expires_at: i64,
}

fn backend(source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> powerpole_core::Error {
    powerpole_core::Error::Backend {
        system: "secret-file",
        retryable: false,
        source: source.into(),
    }
}

impl SecretFiles {
    /// Keeps secrets in `dir`, creating it (0700) when missing and refusing one that others
    /// can read.
    ///
    /// # Errors
    /// [`powerpole_core::Error::Backend`] when the directory cannot be created or is readable
    /// by other users.
    pub fn open(dir: impl Into<PathBuf>) -> powerpole_core::Result<Self> {
        let dir = dir.into();
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(|e| backend(format!("cannot create {}: {e}", dir.display())))?;
        let mode = std::fs::metadata(&dir)
            .map_err(|e| backend(format!("cannot read {}: {e}", dir.display())))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(backend(format!(
                "{} is accessible to other users (mode {:o}); use a directory only you can read",
                dir.display(),
                mode & 0o777
            )));
        }
        Ok(Self { dir })
    }

    /// Where request `id`'s secret is.
    #[must_use]
    pub fn path_of(&self, id: RequestId) -> PathBuf {
        self.dir.join(format!("{id}.json"))
    }

    fn write(&self, path: &Path, stored: &Stored) -> std::io::Result<()> {
        let tmp = path.with_extension("tmp");
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        file.write_all(&serde_json::to_vec(stored).map_err(std::io::Error::other)?)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    }
}

impl SecretVault for SecretFiles {
    async fn put(
        &self,
        id: RequestId,
        username: &DbUsername,
        password: &DbPassword,
        expires_at: OffsetDateTime,
    ) -> powerpole_core::Result<SecretRef> {
        let path = self.path_of(id);
        if !path.exists() {
            let stored = Stored {
                username: username.as_str().to_owned(),
                password: password.expose().to_owned(),
                expires_at: expires_at.unix_timestamp(),
            };
            self.write(&path, &stored)
                .map_err(|e| backend(format!("cannot write the secret of {id}: {e}")))?;
        }
        Ok(SecretRef(path.display().to_string()))
    }

    async fn get(&self, id: RequestId) -> powerpole_core::Result<DbPassword> {
        let path = self.path_of(id);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(powerpole_core::Error::NotFound(format!("secret of {id}")));
            }
            Err(e) => return Err(backend(format!("cannot read the secret of {id}: {e}"))),
        };
        let stored: Stored = serde_json::from_slice(&bytes).map_err(|_| {
            backend(format!(
                "the secret file of {id} is not one the broker wrote"
            ))
        })?;
        DbPassword::parse(stored.password)
    }

    async fn delete(&self, id: RequestId) -> powerpole_core::Result<()> {
        match std::fs::remove_file(self.path_of(id)) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(backend(format!("cannot delete the secret of {id}: {e}"))),
        }
    }

    /// Locally there is no bastion: the broker's own user is the only reader (0600 files).
    async fn allow_reader(
        &self,
        _id: RequestId,
        _bastion: &BastionId,
    ) -> powerpole_core::Result<()> {
        Ok(())
    }

    /// The file itself: people on this machine read it as the broker's user.
    fn locate(&self, secret: &SecretRef) -> SecretLocation {
        SecretLocation::File(PathBuf::from(&secret.0))
    }

    async fn list(&self) -> powerpole_core::Result<Vec<StoredSecret>> {
        let entries = std::fs::read_dir(&self.dir)
            .map_err(|e| backend(format!("cannot list {}: {e}", self.dir.display())))?;
        let mut found = Vec::new();
        for entry in entries {
            let entry =
                entry.map_err(|e| backend(format!("cannot list {}: {e}", self.dir.display())))?;
            let path = entry.path();
            let Some(id) = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(".json"))
                .and_then(|n| RequestId::parse(n).ok())
            else {
                continue;
            };
            let created_at = entry
                .metadata()
                .and_then(|m| m.modified())
                .map(OffsetDateTime::from)
                .map_err(|e| backend(format!("cannot read {}: {e}", path.display())))?;
            found.push(StoredSecret {
                request: id,
                secret: SecretRef(path.display().to_string()),
                created_at,
            });
        }
        found.sort_by_key(|s| s.request);
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir() -> PathBuf {
        std::env::temp_dir().join(format!(
            "powerpole-secrets-{}-{}",
            std::process::id(),
            rand_suffix()
        ))
    }

    fn rand_suffix() -> u128 {
        OffsetDateTime::now_utc()
            .unix_timestamp_nanos()
            .cast_unsigned()
    }

    fn id() -> RequestId {
        RequestId::generate(OffsetDateTime::now_utc(), &mut rand::rng())
    }

    #[tokio::test]
    async fn the_first_secret_stays_files_are_private_and_deleting_twice_is_fine() {
        let vault = SecretFiles::open(dir()).unwrap();
        let (id, user) = (id(), DbUsername::parse("keisuke.owato").unwrap());
        let (first, second) = (DbPassword::generate(), DbPassword::generate());

        let at = vault
            .put(id, &user, &first, OffsetDateTime::now_utc())
            .await
            .unwrap();
        vault
            .put(id, &user, &second, OffsetDateTime::now_utc())
            .await
            .unwrap();

        assert_eq!(vault.get(id).await.unwrap().expose(), first.expose());
        assert_eq!(vault.locate(&at), SecretLocation::File(vault.path_of(id)));
        let mode = std::fs::metadata(&at.0).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        vault.delete(id).await.unwrap();
        vault.delete(id).await.unwrap();
        assert!(matches!(
            vault.get(id).await,
            Err(powerpole_core::Error::NotFound(_))
        ));
    }

    #[test]
    fn a_directory_others_can_read_is_refused() {
        let path = dir();
        std::fs::create_dir_all(&path).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();

        let err = SecretFiles::open(&path).unwrap_err();

        assert!(err.to_string().contains("secret-file"), "{err}");
    }
}
