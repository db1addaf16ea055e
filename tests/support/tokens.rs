//! Tokens: the HS256 secret the test runtimes trust, and tokens minted with it.

use serde_json::Value;

/// The HS256 secret every test runtime is started with.
pub const TEST_JWT_SECRET: &str = "cascade-e2e-secret-0123456789abcdef";

/// Mints an HS256 token for the test runtimes, valid for an hour.
pub fn token(role: &str, tenant: Option<&str>, sub: &str) -> String {
    token_with(
        &serde_json::json!({"sub": sub, "role": role, "tid": tenant}),
        3600,
        TEST_JWT_SECRET,
    )
}

/// Mints an HS256 token with the given custom claims, expiring `ttl_secs` from now (negative:
/// already expired), signed with `secret`.
pub fn token_with(custom: &Value, ttl_secs: i64, secret: &str) -> String {
    use jwt_compact::{alg::Hs256, alg::Hs256Key, AlgorithmExt, Claims, Header};
    let mut claims = Claims::new(custom.clone());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    claims.expiration = chrono::DateTime::from_timestamp(now + ttl_secs, 0);
    Hs256
        .token(&Header::empty(), &claims, &Hs256Key::new(secret.as_bytes()))
        .unwrap()
}
