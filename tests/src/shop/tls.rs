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

/// Installs ring as the process's rustls provider (reqwest here is built
/// without one); harmless when something already did.
pub fn install_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A certificate authority and a server certificate it signed for `names`
/// (and `*.bench.test`); writes the CA's PEM to `ca_pem`.
pub fn make_certificates(names: &[String], ca_pem: &Path) -> rustls::ServerConfig {
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
    std::fs::write(ca_pem, ca.pem()).expect("write the CA's PEM");

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

    install_provider();
    rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone(), CertificateDer::from(ca.der().to_vec())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
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
