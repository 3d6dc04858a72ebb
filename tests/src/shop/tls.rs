//! The test's own certificate authority and the company's HTTPS listener:
//! a CA made here with rcgen (its PEM is what `CUSTODIAN_TEST_CA` names),
//! one server certificate for every name a test uses plus `*.bench.test`,
//! and an accept loop that serves each TLS connection with hyper.

use std::convert::Infallible;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use super::routes::handle;
use super::{Outage, State};

/// Installs ring as the process's default rustls provider, for TLS clients
/// built from rustls directly; harmless when something already did.
pub fn install_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The test's certificate authority and a server certificate it signed.
pub struct Issued {
    /// The CA's certificate, PEM (what `CUSTODIAN_TEST_CA` names).
    pub ca_pem: String,
    ca_der: Vec<u8>,
    cert: rcgen::Certificate,
    key: KeyPair,
}

impl Issued {
    /// The server's certificate chain (its certificate, then the CA), PEM.
    pub fn chain_pem(&self) -> String {
        format!("{}{}", self.cert.pem(), self.ca_pem)
    }

    /// The server's private key, PKCS#8 PEM.
    pub fn key_pem(&self) -> String {
        self.key.serialize_pem()
    }
}

/// A certificate authority and a server certificate it signed for `names`
/// (and `*.bench.test`).
pub fn issue(names: &[String]) -> Issued {
    let ca_key = KeyPair::generate().expect("CA key");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "Custodian end-to-end test CA");
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca = CertifiedIssuer::self_signed(ca_params, ca_key).expect("self-signed CA");

    let mut sans: Vec<String> = names
        .iter()
        .filter(|n| !n.ends_with(".bench.test"))
        .cloned()
        .collect();
    sans.push("*.bench.test".into());
    let mut params = CertificateParams::new(sans).expect("server certificate params");
    params
        .distinguished_name
        .push(DnType::CommonName, "Test companies");
    let key = KeyPair::generate().expect("server key");
    let cert = params.signed_by(&key, &ca).expect("server certificate");
    Issued {
        ca_pem: ca.pem(),
        ca_der: ca.der().to_vec(),
        cert,
        key,
    }
}

/// [`issue`], the CA's PEM written to `ca_pem`, as a rustls server config.
pub fn make_certificates(names: &[String], ca_pem: &Path) -> rustls::ServerConfig {
    let issued = issue(names);
    std::fs::write(ca_pem, &issued.ca_pem).expect("write the CA's PEM");
    install_provider();
    rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(
            vec![
                issued.cert.der().clone(),
                CertificateDer::from(issued.ca_der.clone()),
            ],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(issued.key.serialize_der())),
        )
        .expect("server TLS config")
}

/// Accepts connections for ever: each one counted, dropped at once while
/// the company is "down" that way, else a TLS handshake and HTTP/1.1.
pub async fn serve(listener: TcpListener, config: rustls::ServerConfig, state: Arc<State>) {
    let acceptor = TlsAcceptor::from(Arc::new(config));
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        state.connections.fetch_add(1, Ordering::SeqCst);
        if matches!(state.outage(), Outage::DropConnections) {
            drop(stream);
            state.note_attempt();
            continue;
        }
        let acceptor = acceptor.clone();
        let state = Arc::clone(&state);
        tokio::spawn(async move {
            let Ok(tls) = acceptor.accept(stream).await else {
                return;
            };
            let service = service_fn(move |req| {
                let state = Arc::clone(&state);
                async move { Ok::<_, Infallible>(handle(state, req).await) }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(tls), service)
                .await;
        });
    }
}
