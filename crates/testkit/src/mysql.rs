//! Questions tests ask the test MariaDB directly, as its administrator.

use sqlx::ConnectOptions as _;
use sqlx::mysql::MySqlConnectOptions;

/// Whether an account named `user` exists on the server (any host).
///
/// # Errors
/// When the server cannot be reached or refuses the query.
pub async fn user_exists(admin: &MySqlConnectOptions, user: &str) -> Result<bool, sqlx::Error> {
    let mut conn = admin.connect().await?;
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM mysql.user WHERE user = ?")
        .bind(user)
        .fetch_one(&mut conn)
        .await?;
    Ok(n > 0)
}
