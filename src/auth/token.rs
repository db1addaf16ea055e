//! JWT verification with `jwt-compact`.
//!
//! Accepted: HS256 signed with the `JWT_SECRET` secret, and EdDSA (Ed25519) signed with one of
//! the public keys in `JWT_PUBLIC_KEYS` (a JSON object of key id to base64url key, chosen by
//! the token's `kid`). Every other algorithm — `none` included — is refused, as are tokens
//! without `exp`, expired (beyond a 30 s leeway), not yet valid (`nbf`), tampered, or signed
//! with another key.

use std::collections::BTreeMap;

use base64::Engine as _;
use chrono::{DateTime, Duration, Utc};
use jwt_compact::alg::{Ed25519, Hs256, Hs256Key, VerifyingKey};
use jwt_compact::{Algorithm, AlgorithmExt as _, Claims, TimeOptions, UntrustedToken};
use serde::{Deserialize, Serialize};
use worker::Env;

use crate::problem::ApiError;

/// Clock leeway for `exp` and `nbf`.
pub const LEEWAY_SECS: i64 = 30;

/// Name of the HS256 secret binding.
pub const SECRET_BINDING: &str = "JWT_SECRET";
/// Name of the EdDSA public keys binding.
pub const PUBLIC_KEYS_BINDING: &str = "JWT_PUBLIC_KEYS";

/// A caller's role, from the `role` claim (the protocol's one definition).
pub use cascade_protocol::Role;

/// The custom claims Cascade reads. `exp` and `nbf` are the registered claims handled by
/// `jwt-compact`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CascadeClaims {
    /// Subject: the user or service id.
    pub sub: String,
    /// Tenant id; required for tenant admins and users.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tid: Option<String>,
    /// Role.
    pub role: Role,
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// Subject (`sub`).
    pub sub: String,
    /// Tenant (`tid`), present for tenant admins and users.
    pub tenant: Option<String>,
    /// Role.
    pub role: Role,
    /// When the token expires (`exp`, Unix seconds): an open WebSocket is closed then.
    pub expires_at: i64,
}

/// The verification keys configured for this deployment.
pub struct Keys {
    hs256: Option<Hs256Key>,
    ed25519: BTreeMap<String, <Ed25519 as Algorithm>::VerifyingKey>,
}

/// Checks the token's signature (and that its `alg` is `algorithm`'s) and returns its claims.
fn signed_claims<A: Algorithm>(
    algorithm: &A,
    key: &A::VerifyingKey,
    untrusted: &UntrustedToken<'_>,
) -> Result<Claims<CascadeClaims>, ApiError> {
    let token = algorithm
        .validator::<CascadeClaims>(key)
        .validate(untrusted)
        .map_err(|_| unauthenticated("the token's signature is invalid"))?;
    Ok(token.claims().clone())
}

fn unauthenticated(reason: &'static str) -> ApiError {
    ApiError::Unauthenticated(reason)
}

impl Keys {
    /// Reads the keys from the Worker's bindings (secrets or vars).
    pub fn from_env(env: &Env) -> Result<Self, ApiError> {
        let read = |name: &str| -> Option<String> {
            env.secret(name)
                .ok()
                .map(|s| s.to_string())
                .or_else(|| env.var(name).ok().map(|v| v.to_string()))
        };
        Self::from_config(
            read(SECRET_BINDING).as_deref(),
            read(PUBLIC_KEYS_BINDING).as_deref(),
        )
    }

    /// Builds the keys from the raw binding values.
    pub fn from_config(secret: Option<&str>, public_keys: Option<&str>) -> Result<Self, ApiError> {
        let hs256 = secret
            .filter(|s| !s.is_empty())
            .map(|s| Hs256Key::new(s.as_bytes()));
        let mut ed25519 = BTreeMap::new();
        if let Some(json) = public_keys.filter(|s| !s.trim().is_empty()) {
            let entries: BTreeMap<String, String> = serde_json::from_str(json).map_err(|e| {
                ApiError::Internal(format!(
                    "{PUBLIC_KEYS_BINDING} is not a JSON object of strings: {e}"
                ))
            })?;
            for (kid, encoded) in entries {
                let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(encoded.trim_end_matches('='))
                    .map_err(|e| {
                        ApiError::Internal(format!(
                            "{PUBLIC_KEYS_BINDING}[{kid}] is not base64url: {e}"
                        ))
                    })?;
                let key = VerifyingKey::from_slice(&raw).map_err(|e| {
                    ApiError::Internal(format!(
                        "{PUBLIC_KEYS_BINDING}[{kid}] is not an Ed25519 key: {e}"
                    ))
                })?;
                ed25519.insert(kid, key);
            }
        }
        if hs256.is_none() && ed25519.is_empty() {
            return Err(ApiError::Internal(format!(
                "no JWT verification key: set the {SECRET_BINDING} secret or {PUBLIC_KEYS_BINDING}"
            )));
        }
        Ok(Self { hs256, ed25519 })
    }

    /// Verifies `token` at `now_secs` (Unix seconds) and returns its principal.
    pub fn verify(&self, token: &str, now_secs: i64) -> Result<Principal, ApiError> {
        let untrusted = UntrustedToken::new(token)
            .map_err(|_| unauthenticated("the token is not a well-formed JWT"))?;
        let claims: Claims<CascadeClaims> = match untrusted.algorithm() {
            "HS256" => {
                let key = self
                    .hs256
                    .as_ref()
                    .ok_or(unauthenticated("HS256 tokens are not accepted here"))?;
                signed_claims(&Hs256, key, &untrusted)?
            }
            "EdDSA" => {
                let key = match untrusted.header().key_id.as_deref() {
                    Some(kid) => self.ed25519.get(kid),
                    None if self.ed25519.len() == 1 => self.ed25519.values().next(),
                    None => None,
                }
                .ok_or(unauthenticated("the token's key id is unknown"))?;
                signed_claims(&Ed25519, key, &untrusted)?
            }
            _ => {
                return Err(unauthenticated(
                    "the token's algorithm is not accepted (use HS256 or EdDSA)",
                ))
            }
        };
        let now = DateTime::<Utc>::from_timestamp(now_secs, 0)
            .ok_or(unauthenticated("clock out of range"))?;
        let time = TimeOptions::new(Duration::seconds(LEEWAY_SECS), move || now);
        claims.validate_expiration(&time).map_err(|e| match e {
            jwt_compact::ValidationError::NoClaim(_) => {
                unauthenticated("the token has no expiry (exp)")
            }
            _ => unauthenticated("the token has expired"),
        })?;
        if claims.not_before.is_some() {
            claims
                .validate_maturity(&time)
                .map_err(|_| unauthenticated("the token is not valid yet (nbf)"))?;
        }
        let expires_at = claims
            .expiration
            .map(|exp| exp.timestamp())
            .ok_or(unauthenticated("the token has no expiry (exp)"))?;
        let custom = claims.custom;
        if custom.role != Role::PlatformAdmin && custom.tid.is_none() {
            return Err(unauthenticated(
                "tenant admins and users need a tenant (tid) claim",
            ));
        }
        if let Some(tid) = &custom.tid {
            if !cascade_protocol::is_valid_name(tid) {
                return Err(unauthenticated(
                    "the token's tenant (tid) is not a valid tenant id",
                ));
            }
        }
        Ok(Principal {
            sub: custom.sub,
            tenant: custom.tid,
            role: custom.role,
            expires_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jwt_compact::Header;

    const SECRET: &str = "test-secret-test-secret-test-secret";
    const NOW: i64 = 1_800_000_000;

    fn claims(role: Role, tid: Option<&str>, exp_in: Option<i64>) -> Claims<CascadeClaims> {
        let mut c = Claims::new(CascadeClaims {
            sub: "alice".into(),
            tid: tid.map(str::to_owned),
            role,
        });
        c.expiration = exp_in.and_then(|d| DateTime::from_timestamp(NOW + d, 0));
        c
    }

    fn hs256(c: &Claims<CascadeClaims>, secret: &str) -> String {
        Hs256
            .token(&Header::empty(), c, &Hs256Key::new(secret.as_bytes()))
            .expect("signs")
    }

    fn keys() -> Keys {
        Keys::from_config(Some(SECRET), None).expect("keys")
    }

    fn reason(result: Result<Principal, ApiError>) -> String {
        match result {
            Err(ApiError::Unauthenticated(r)) => r.to_owned(),
            other => panic!("expected 401, got {other:?}"),
        }
    }

    #[test]
    fn valid_hs256_token_yields_its_principal() {
        let p = keys()
            .verify(
                &hs256(&claims(Role::TenantAdmin, Some("acme"), Some(600)), SECRET),
                NOW,
            )
            .expect("valid");
        assert_eq!(
            p,
            Principal {
                sub: "alice".into(),
                tenant: Some("acme".into()),
                role: Role::TenantAdmin,
                expires_at: NOW + 600,
            }
        );
    }

    #[test]
    fn attack_tokens_are_refused() {
        let k = keys();
        let good = hs256(&claims(Role::PlatformAdmin, None, Some(600)), SECRET);
        assert!(reason(k.verify(
            &hs256(&claims(Role::PlatformAdmin, None, Some(-60)), SECRET),
            NOW
        ))
        .contains("expired"));
        assert!(reason(k.verify(
            &hs256(&claims(Role::PlatformAdmin, None, None), SECRET),
            NOW
        ))
        .contains("no expiry"));
        assert!(reason(k.verify(
            &hs256(&claims(Role::PlatformAdmin, None, Some(600)), "other-key"),
            NOW
        ))
        .contains("signature"));

        // Tampered payload: swap the claims segment for another token's.
        let other = hs256(&claims(Role::PlatformAdmin, None, Some(6000)), SECRET);
        let mut parts: Vec<&str> = good.split('.').collect();
        let other_parts: Vec<&str> = other.split('.').collect();
        parts[1] = other_parts[1];
        assert!(reason(k.verify(&parts.join("."), NOW)).contains("signature"));

        // alg: none, with and without a signature.
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        let body = good.split('.').nth(1).expect("payload");
        let none = format!("{}.{}.", b64(r#"{"alg":"none","typ":"JWT"}"#), body);
        assert!(reason(k.verify(&none, NOW)).contains("algorithm"));
        let hs512 = format!("{}.{}.c2ln", b64(r#"{"alg":"HS512"}"#), body);
        assert!(reason(k.verify(&hs512, NOW)).contains("algorithm"));
        assert!(reason(k.verify("not-a-jwt", NOW)).contains("well-formed"));
    }

    #[test]
    fn not_before_is_enforced_with_leeway() {
        let mut c = claims(Role::PlatformAdmin, None, Some(600));
        c.not_before = DateTime::from_timestamp(NOW + 300, 0);
        assert!(reason(keys().verify(&hs256(&c, SECRET), NOW)).contains("not valid yet"));
        c.not_before = DateTime::from_timestamp(NOW + 10, 0);
        assert!(
            keys().verify(&hs256(&c, SECRET), NOW).is_ok(),
            "within leeway"
        );
    }

    #[test]
    fn tenant_roles_need_a_tenant() {
        let t = hs256(&claims(Role::User, None, Some(600)), SECRET);
        assert!(reason(keys().verify(&t, NOW)).contains("tid"));
    }

    #[test]
    fn eddsa_tokens_verify_against_the_configured_public_key() {
        let pair = ed25519_compact::KeyPair::from_seed(ed25519_compact::Seed::new([7; 32]));
        let public = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(pair.pk.as_ref());
        let k = Keys::from_config(None, Some(&format!(r#"{{"k1": "{public}"}}"#))).expect("keys");
        let signing = <Ed25519 as jwt_compact::Algorithm>::SigningKey::from_slice(pair.sk.as_ref())
            .expect("sk");
        let header = Header::empty().with_key_id("k1");
        let token = Ed25519
            .token(
                &header,
                &claims(Role::User, Some("acme"), Some(600)),
                &signing,
            )
            .expect("signs");
        assert_eq!(k.verify(&token, NOW).expect("valid").role, Role::User);
        // HS256 is not configured in this deployment.
        assert!(reason(k.verify(
            &hs256(&claims(Role::User, Some("acme"), Some(600)), SECRET),
            NOW
        ))
        .contains("not accepted"));
        // A key id nobody configured.
        let unknown = Ed25519
            .token(
                &Header::empty().with_key_id("k9"),
                &claims(Role::User, Some("acme"), Some(600)),
                &signing,
            )
            .expect("signs");
        assert!(reason(k.verify(&unknown, NOW)).contains("key id"));
    }
}
