//! The [`AuditSource`] port on the `server_audit` log file of a MySQL/MariaDB server on this
//! machine (local mode): the file the plugin writes (`server_audit_file_path`) and the rotated
//! copies next to it (`<file>.1` … `<file>.9`), read whole and parsed with
//! [`parse_line`](powerpole_core::audit::parse_line). Records are kept when their user is
//! exactly the one asked for and their time falls in the window, widened by a grace period at
//! both ends (a session's `DISCONNECT` comes after the window closes). Malformed lines are
//! logged and skipped.

use std::collections::BTreeMap;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use powerpole_core::audit::parse_lines;
use powerpole_core::ports::AuditSource;
use powerpole_core::{AccessWindow, AuditRecord, ClusterId, DbUsername};
use time::Duration;

/// How many rotated copies of a log are read at most (`server_audit_file_rotations` ≤ 999, the
/// default keeps 9).
const ROTATIONS: u32 = 9;

/// Each cluster's `server_audit` log file.
#[derive(Debug, Clone, Default)]
pub struct AuditFiles {
    files: BTreeMap<ClusterId, PathBuf>,
    grace: Duration,
}

impl AuditFiles {
    /// How far before and after the window records are still read, by default.
    pub const DEFAULT_GRACE: Duration = Duration::minutes(5);

    /// No files yet, a 5-minute grace period.
    #[must_use]
    pub fn new() -> Self {
        Self {
            files: BTreeMap::new(),
            grace: Self::DEFAULT_GRACE,
        }
    }

    /// Reads `cluster`'s audit log from `path`.
    #[must_use]
    pub fn with_cluster(mut self, cluster: ClusterId, path: impl Into<PathBuf>) -> Self {
        self.files.insert(cluster, path.into());
        self
    }

    /// How far before and after the window records are still read.
    #[must_use]
    pub fn with_grace(mut self, grace: Duration) -> Self {
        self.grace = grace.abs();
        self
    }

    /// The file configured for `cluster`.
    #[must_use]
    pub fn file_of(&self, cluster: &ClusterId) -> Option<&Path> {
        self.files.get(cluster).map(PathBuf::as_path)
    }
}

fn read_lossy(path: &Path) -> std::io::Result<Option<String>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(String::from_utf8_lossy(&bytes).into_owned())),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

impl AuditSource for AuditFiles {
    async fn records(
        &self,
        cluster: &ClusterId,
        username: &DbUsername,
        window: &AccessWindow,
    ) -> powerpole_core::Result<Vec<AuditRecord>> {
        let Some(path) = self.files.get(cluster) else {
            return Err(powerpole_core::Error::NotFound(format!(
                "an audit log file for cluster {cluster} (set audit_log in its [[clusters]] section)"
            )));
        };
        let unreadable = |e: std::io::Error| powerpole_core::Error::Backend {
            system: "audit log file",
            retryable: false,
            source: format!("{}: {e}", path.display()).into(),
        };
        let Some(current) = read_lossy(path).map_err(unreadable)? else {
            return Err(powerpole_core::Error::NotFound(format!(
                "audit log file {}",
                path.display()
            )));
        };
        let mut texts = vec![(path.clone(), current)];
        for n in 1..=ROTATIONS {
            let rotated = PathBuf::from(format!("{}.{n}", path.display()));
            if let Some(text) = read_lossy(&rotated).map_err(unreadable)? {
                texts.push((rotated, text));
            }
        }
        let (from, to) = (window.start() - self.grace, window.end() + self.grace);
        let mut found = Vec::new();
        for (file, text) in &texts {
            for (line, parsed) in parse_lines(text) {
                match parsed {
                    Ok(record)
                        if record.username == username.as_str()
                            && (from..=to).contains(&record.at) =>
                    {
                        found.push(record);
                    }
                    Ok(_) => {}
                    Err(error) => {
                        tracing::warn!(file = %file.display(), line, %error, "malformed audit line");
                    }
                }
            }
        }
        found.sort_by_key(|r| (r.at, r.connection_id, r.query_id));
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "powerpole-audit-file-{}-{}",
            std::process::id(),
            time::OffsetDateTime::now_utc().unix_timestamp_nanos()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn window() -> AccessWindow {
        AccessWindow::from_parts(
            datetime!(2026-11-23 14:00 UTC),
            datetime!(2026-11-23 15:00 UTC),
        )
        .unwrap()
    }

    #[tokio::test]
    async fn the_user_s_records_in_the_window_come_from_the_file_and_its_rotations() {
        let dir = dir();
        let log = dir.join("audit.log");
        std::fs::write(
            &log,
            "20261123 14:22:38,vm,bob,localhost,4,2,QUERY,shop,'SELECT 1',0\n\
             20261123 14:22:39,vm,bobby,localhost,5,3,QUERY,shop,'SELECT 2',0\n\
             not an audit line\n\
             20261123 15:04:00,vm,bob,localhost,4,0,DISCONNECT,shop,,0\n\
             20261123 16:00:00,vm,bob,localhost,6,0,CONNECT,shop,,0\n",
        )
        .unwrap();
        std::fs::write(
            dir.join("audit.log.1"),
            "20261123 14:01:00,vm,bob,localhost,4,0,CONNECT,shop,,0\n",
        )
        .unwrap();
        let cluster = ClusterId::parse("local").unwrap();
        let files = AuditFiles::new().with_cluster(cluster.clone(), &log);

        let records = files
            .records(&cluster, &DbUsername::parse("bob").unwrap(), &window())
            .await
            .unwrap();

        let objects: Vec<(&str, &str)> = records
            .iter()
            .map(|r| (r.object.as_str(), r.host.as_str()))
            .collect();
        assert_eq!(
            objects,
            [
                ("", "localhost"),
                ("SELECT 1", "localhost"),
                ("", "localhost")
            ]
        );
        assert_eq!(
            records[0].operation,
            powerpole_core::AuditOperation::Connect
        );
    }

    #[tokio::test]
    async fn an_unconfigured_cluster_or_a_missing_file_is_not_found_not_empty() {
        let cluster = ClusterId::parse("local").unwrap();
        let user = DbUsername::parse("bob").unwrap();
        let none = AuditFiles::new().records(&cluster, &user, &window()).await;
        assert!(matches!(none, Err(powerpole_core::Error::NotFound(m)) if m.contains("audit_log")));
        let missing = AuditFiles::new()
            .with_cluster(cluster.clone(), dir().join("absent.log"))
            .records(&cluster, &user, &window())
            .await;
        assert!(matches!(missing, Err(powerpole_core::Error::NotFound(_))));
    }
}
