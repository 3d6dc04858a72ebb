//! A company, as any would be: a third-party OAuth 2.0 client (the `oauth2`
//! crate's device flow over reqwest) talking to the real server.

use std::time::Duration;

use custodian_core::{parse_path, NewResource};
use custodian_core::{SecretString, Vault};
use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse,
    BasicTokenType,
};
use oauth2::{
    AuthType, ClientId, DeviceAuthorizationUrl, ExtraTokenFields, RequestTokenError,
    StandardDeviceAuthorizationResponse, StandardRevocableToken, StandardTokenResponse, TokenUrl,
};
use reqwest::blocking::{Client as Http, Response};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::{Server, TestVault, PASSPHRASE};

/// The extra fields our token response carries: the details as granted
/// (RFC 9396) and the signed receipt of the person's answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PodFields {
    pub authorization_details: Value,
    #[serde(default)]
    pub consent_receipt: Option<String>,
}
impl ExtraTokenFields for PodFields {}

pub type PodToken = StandardTokenResponse<PodFields, BasicTokenType>;

pub fn http() -> Http {
    Http::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("http client")
}

pub fn open(v: &TestVault) -> Vault {
    Vault::open(&v.dir, &SecretString::from(PASSPHRASE.to_string())).expect("open vault")
}

/// RFC 7591 registration (the oauth2 crate has no registration client).
pub fn register(server: &Server, name: &str) -> String {
    register_at(&server.base, name)
}

/// RFC 7591 registration at a pod API's base URL (`http://127.0.0.1:PORT`).
pub fn register_at(base: &str, name: &str) -> String {
    let r = http()
        .post(format!("{base}/oauth/register"))
        .json(&json!({"client_name": name, "client_uri": "https://shop.example", "contacts": ["privacy@shop.example"]}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 201);
    r.json::<Value>().unwrap()["client_id"]
        .as_str()
        .unwrap()
        .to_string()
}

pub struct Company {
    pub client: oauth2::Client<
        BasicErrorResponse,
        PodToken,
        BasicTokenIntrospectionResponse,
        StandardRevocableToken,
        BasicRevocationErrorResponse,
        oauth2::EndpointNotSet,
        oauth2::EndpointSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointSet,
    >,
    pub id: String,
}

impl Company {
    pub fn new(server: &Server, name: &str) -> Self {
        Self::at(&server.base, name)
    }

    /// A company registering with the pod API at `base` (any server: the
    /// CLI's or the desktop app's sharing).
    pub fn at(base: &str, name: &str) -> Self {
        let id = register_at(base, name);
        let client = oauth2::Client::new(ClientId::new(id.clone()))
            .set_auth_type(AuthType::RequestBody)
            .set_device_authorization_url(
                DeviceAuthorizationUrl::new(format!("{base}/oauth/device_authorization")).unwrap(),
            )
            .set_token_uri(TokenUrl::new(format!("{base}/oauth/token")).unwrap());
        Company { client, id }
    }

    pub fn ask(&self, details: Value, lifetime: u64) -> StandardDeviceAuthorizationResponse {
        self.client
            .exchange_device_code()
            .add_extra_param("authorization_details", details.to_string())
            .add_extra_param("grant_lifetime", lifetime.to_string())
            .request(&http())
            .expect("device authorization")
    }

    pub fn token(&self, auth: &StandardDeviceAuthorizationResponse) -> Result<PodToken, String> {
        self.client
            .exchange_device_access_token(auth)
            .request(&http(), std::thread::sleep, Some(Duration::from_secs(60)))
            .map_err(|e| match e {
                RequestTokenError::ServerResponse(r) => r.error().to_string(),
                other => other.to_string(),
            })
    }

    /// The access token the company polls once its request was approved.
    pub fn access_token(&self, auth: &StandardDeviceAuthorizationResponse) -> String {
        match self.token(auth) {
            Ok(token) => oauth2::TokenResponse::access_token(&token).secret().clone(),
            Err(e) => panic!("no token after approval: {e}"),
        }
    }
}

/// A vault with some data of several kinds, served.
pub fn served_vault() -> (TestVault, Server) {
    let v = TestVault::new();
    {
        let vault = open(&v);
        let s = vault.store();
        for (path, doc) in [
            ("/contact/email", json!({"email": "ada@example.org"})),
            ("/contact/phone", json!({"phone": "+44 20 7946 0000"})),
            ("/contactx", json!("a neighbour of /contact/")),
            ("/profile/card", json!({"name": "Ada"})),
            ("/health/allergies", json!(["peanuts"])),
            ("/finance/bank", json!({"iban": "GB00"})),
        ] {
            s.put(&parse_path(path).unwrap(), NewResource::json(&doc))
                .unwrap();
        }
    }
    let server = Server::start(&v, &["--max-body-bytes", "4096"]);
    (v, server)
}

/// What the test companies ask for: contact and health data, and the
/// communication preferences, to read.
pub fn contact_and_health() -> Value {
    json!([{"type": "pod_access", "paths": ["/contact/", "/health/", "/preferences/communication"],
            "actions": ["read"], "datatypes": ["contact", "health", "preferences"],
            "purpose": "Delivering your orders"}])
}

/// `GET /pod{path}` with a bearer token.
pub fn get(server: &Server, token: &str, path: &str) -> Response {
    get_at(&server.base, token, path)
}

/// `GET {base}/pod{path}` with a bearer token.
pub fn get_at(base: &str, token: &str, path: &str) -> Response {
    http()
        .get(format!("{base}/pod{path}"))
        .bearer_auth(token)
        .send()
        .unwrap()
}
