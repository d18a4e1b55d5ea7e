//! Optional TLS on the agents' connections: the controller's certificate,
//! pinned by the agents.
//!
//! The handshake's challenge–response (see the protocol module) proves
//! that both sides know the token, but on plain TCP what follows travels in
//! clear: anyone on the path reads the command lines and their environment,
//! and could alter or inject messages once the handshake is over. Across
//! machines, use TLS. The controller presents a certificate and its key
//! (`run --tls-cert FILE --tls-key FILE`, PEM) and logs the certificate's
//! SHA-256 fingerprint; each agent pins that fingerprint
//! (`agent --tls-fingerprint HEX`) and accepts that certificate and no
//! other, whatever its names, issuer or dates. No certificate authority is
//! involved: a self-signed certificate is the usual case, and the pin is
//! how the agent knows it is the right one. TLS 1.3 only (both ends are
//! this program), with the `ring` provider.
//!
//! The TLS handshake runs first, inside the connection's handshake
//! deadline; then the WebSocket upgrade and the token handshake run inside
//! it as on plain TCP.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, ServerConfig, ServerConnection, StreamOwned};
use sha2::{Digest as _, Sha256};

use super::error::AgentError;

/// The SHA-256 of a certificate (DER), as `openssl x509 -noout -fingerprint -sha256` prints it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fingerprint([u8; 32]);

impl Fingerprint {
    /// The fingerprint of a certificate.
    pub fn of(certificate: &[u8]) -> Fingerprint {
        Fingerprint(Sha256::digest(certificate).into())
    }
}

impl fmt::Display for Fingerprint {
    /// Upper-case hex pairs joined by colons.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, byte) in self.0.iter().enumerate() {
            write!(f, "{}{byte:02X}", if i == 0 { "" } else { ":" })?;
        }
        Ok(())
    }
}

impl FromStr for Fingerprint {
    type Err = String;

    /// 64 hex digits, in either case, with or without colons between pairs;
    /// openssl's `sha256 Fingerprint=` prefix is allowed.
    fn from_str(s: &str) -> Result<Fingerprint, String> {
        let s = s.trim();
        let s = s.split_once("Fingerprint=").map_or(s, |(_, hex)| hex);
        let digits: String = s.chars().filter(|&c| c != ':').collect();
        let wrong = || format!("`{s}` is not a SHA-256 fingerprint (64 hex digits, colons allowed)");
        if digits.len() != 64 || !digits.is_ascii() {
            return Err(wrong());
        }
        let mut bytes = [0u8; 32];
        for (byte, pair) in bytes.iter_mut().zip(digits.as_bytes().chunks(2)) {
            let pair = std::str::from_utf8(pair).map_err(|_| wrong())?;
            *byte = u8::from_str_radix(pair, 16).map_err(|_| wrong())?;
        }
        Ok(Fingerprint(bytes))
    }
}

/// The cryptography both ends use.
fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The controller's side: its certificate and key.
#[derive(Clone)]
pub struct ServerTls {
    config: Arc<ServerConfig>,
    fingerprint: Fingerprint,
}

impl fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerTls").field("fingerprint", &self.fingerprint).finish_non_exhaustive()
    }
}

impl ServerTls {
    /// Reads a certificate chain (the first is the controller's own) and its private key, both PEM.
    pub fn from_pem_files(certificate: &Path, key: &Path) -> Result<ServerTls, AgentError> {
        let bad = |path: &Path, why: String| AgentError::Tls { path: path.to_owned(), why };
        let chain = CertificateDer::pem_file_iter(certificate)
            .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
            .map_err(|e| bad(certificate, e.to_string()))?;
        let first = chain.first().ok_or_else(|| bad(certificate, "no certificate in it".to_owned()))?;
        let fingerprint = Fingerprint::of(first);
        let key_der = PrivateKeyDer::from_pem_file(key).map_err(|e| bad(key, e.to_string()))?;
        let config = ServerConfig::builder_with_provider(provider())
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(|e| bad(certificate, e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(chain, key_der)
            .map_err(|e| bad(key, format!("it does not go with the certificate: {e}")))?;
        Ok(ServerTls { config: Arc::new(config), fingerprint })
    }

    /// What agents pin.
    pub fn fingerprint(&self) -> Fingerprint {
        self.fingerprint
    }

    /// Runs the TLS handshake on an accepted connection.
    pub(crate) fn accept(&self, tcp: TcpStream) -> io::Result<Stream> {
        let connection = ServerConnection::new(Arc::clone(&self.config)).map_err(io::Error::other)?;
        let mut stream = StreamOwned::new(connection, tcp);
        while stream.conn.is_handshaking() {
            stream.conn.complete_io(&mut stream.sock)?;
        }
        Ok(Stream::Server(Box::new(stream)))
    }
}

/// The agent's side: the pinned fingerprint of the controller's certificate.
#[derive(Clone)]
pub struct ClientTls {
    config: Arc<ClientConfig>,
}

impl fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientTls").finish_non_exhaustive()
    }
}

/// Why a TLS connection to the controller failed.
pub(crate) enum ConnectFailure {
    /// The controller showed another certificate than the pinned one.
    WrongCertificate(String),
    /// Anything else (network, a controller without TLS).
    Other(io::Error),
}

impl ClientTls {
    /// Trusts the controller whose certificate has this fingerprint, and no other.
    pub fn pinned(fingerprint: Fingerprint) -> ClientTls {
        let provider = provider();
        let verifier = PinnedCertificate { fingerprint, algorithms: provider.signature_verification_algorithms };
        let config = ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13])
            .expect("the ring provider supports TLS 1.3")
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth();
        ClientTls { config: Arc::new(config) }
    }

    /// Runs the TLS handshake with the controller at `host` (its name is
    /// only sent, not checked: the pin is the check).
    pub(crate) fn connect(&self, host: &str, tcp: TcpStream) -> Result<Stream, ConnectFailure> {
        let name = ServerName::try_from(host.to_owned())
            .unwrap_or_else(|_| ServerName::try_from("controller").expect("a valid DNS name"));
        let connection = ClientConnection::new(Arc::clone(&self.config), name)
            .map_err(|e| ConnectFailure::Other(io::Error::other(e)))?;
        let mut stream = StreamOwned::new(connection, tcp);
        while stream.conn.is_handshaking() {
            if let Err(e) = stream.conn.complete_io(&mut stream.sock) {
                let wrong = e.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>()).and_then(|e| match e {
                    rustls::Error::InvalidCertificate(rustls::CertificateError::Other(other)) => {
                        Some(other.to_string())
                    }
                    _ => None,
                });
                return Err(wrong.map_or(ConnectFailure::Other(e), ConnectFailure::WrongCertificate));
            }
        }
        Ok(Stream::Client(Box::new(stream)))
    }
}

/// Accepts exactly one certificate, by fingerprint; signatures are still
/// checked, so the controller must hold that certificate's key.
#[derive(Debug)]
struct PinnedCertificate {
    fingerprint: Fingerprint,
    algorithms: WebPkiSupportedAlgorithms,
}

/// The controller's certificate is not the pinned one.
#[derive(Debug, thiserror::Error)]
#[error("its TLS certificate has fingerprint {got}, not the pinned {want}")]
struct NotPinned {
    got: Fingerprint,
    want: Fingerprint,
}

impl ServerCertVerifier for PinnedCertificate {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let got = Fingerprint::of(end_entity);
        if got == self.fingerprint {
            return Ok(ServerCertVerified::assertion());
        }
        let why = NotPinned { got, want: self.fingerprint };
        Err(rustls::Error::InvalidCertificate(rustls::CertificateError::Other(rustls::OtherError(Arc::new(why)))))
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        // Only TLS 1.3 is offered, so a TLS 1.2 signature is a misbehaving peer.
        Err(rustls::Error::PeerIncompatible(rustls::PeerIncompatible::Tls12NotOffered))
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// The bytes under a link: plain TCP, or TLS over it.
pub(crate) enum Stream {
    Plain(TcpStream),
    Server(Box<StreamOwned<ServerConnection, TcpStream>>),
    Client(Box<StreamOwned<ClientConnection, TcpStream>>),
}

impl Stream {
    /// The TCP connection underneath, for timeouts, blocking mode and shutdown.
    pub(crate) fn tcp(&self) -> &TcpStream {
        match self {
            Stream::Plain(tcp) => tcp,
            Stream::Server(tls) => &tls.sock,
            Stream::Client(tls) => &tls.sock,
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(tcp) => tcp.read(buf),
            Stream::Server(tls) => tls.read(buf),
            Stream::Client(tls) => tls.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(tcp) => tcp.write(buf),
            Stream::Server(tls) => tls.write(buf),
            Stream::Client(tls) => tls.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(tcp) => tcp.flush(),
            Stream::Server(tls) => tls.flush(),
            Stream::Client(tls) => tls.flush(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_read_as_openssl_prints_them_and_print_the_same_way() {
        let fingerprint = Fingerprint::of(b"certificate");
        let printed = fingerprint.to_string();
        assert_eq!(printed.len(), 32 * 3 - 1);
        assert_eq!(printed.parse::<Fingerprint>(), Ok(fingerprint));
        assert_eq!(printed.replace(':', "").to_lowercase().parse::<Fingerprint>(), Ok(fingerprint));
        assert_eq!(format!("sha256 Fingerprint={printed}\n").parse::<Fingerprint>(), Ok(fingerprint));
        for bad in ["", "AB:CD", &printed[3..], &format!("{printed}:00"), &format!("G{}", &printed[1..])] {
            assert!(bad.parse::<Fingerprint>().is_err(), "{bad:?}");
        }
    }
}
