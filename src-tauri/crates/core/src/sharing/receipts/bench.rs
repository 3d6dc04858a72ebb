//! For benchmarks only (feature `test-support`): the signing step of a
//! receipt on its own, as `issue` performs it inside a decision (the key
//! read from the encrypted database, then the compact JWS), storing
//! nothing, so its cost can be told from the decision's commit.

use super::{jws, TYP};
use crate::vault::identity::load_pod_key;
use crate::vault::store::Store;
use crate::Result;

impl Store {
    /// Signs `claims` as a receipt with this vault's key; stores nothing.
    pub fn sign_receipt_for_benchmarks(&self, claims: &serde_json::Value) -> Result<String> {
        let key = load_pod_key(&self.conn)?;
        let header = serde_json::json!({ "alg": jws::ALG, "kid": key.identity().id, "typ": TYP });
        Ok(jws::sign(&header, claims.to_string().as_bytes(), &key))
    }
}
