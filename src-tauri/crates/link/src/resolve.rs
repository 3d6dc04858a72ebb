//! Resolving a URL's host once and checking every address against the rules
//! (`guard`), before anything connects. The result, a [`Target`], is what the
//! client is pinned to: no second resolution happens.
//!
//! Test hooks (`CUSTODIAN_TEST_RESOLVE`, `CUSTODIAN_TEST_TRUST_LOOPBACK`) are
//! read from the environment only in debug builds or with the `test-hooks`
//! feature; release builds never look at them.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use url::{Host, Url};

use crate::error::NetError;
use crate::guard::{classify, AddressKind};

/// The switches that change which addresses are allowed.
#[derive(Debug, Clone, Default)]
pub struct AddressRules {
    /// Unsafe developer switch: plain `http://` to loopback addresses only.
    pub allow_http_loopback: bool,
    /// Test resolver: names answered from this map instead of DNS.
    pub test_resolve: HashMap<String, Vec<IpAddr>>,
    /// Test switch: a loopback address from `test_resolve` stands in for the
    /// internet (so `shop.test` on 127.0.0.1 is allowed over https).
    pub trust_test_loopback: bool,
}

impl AddressRules {
    /// The developer switch and test hooks as the environment sets them.
    pub fn from_env() -> Result<AddressRules, NetError> {
        #[allow(unused_mut)] // set only where the test hooks are compiled
        let mut rules = AddressRules {
            allow_http_loopback: env_on("CUSTODIAN_UNSAFE_ALLOW_HTTP_LOOPBACK"),
            ..AddressRules::default()
        };
        #[cfg(any(debug_assertions, feature = "test-hooks"))]
        {
            if let Ok(text) = std::env::var("CUSTODIAN_TEST_RESOLVE") {
                rules.test_resolve = parse_test_resolve(&text)?;
            }
            rules.trust_test_loopback = env_on("CUSTODIAN_TEST_TRUST_LOOPBACK");
        }
        Ok(rules)
    }
}

/// Whether an environment switch is on (`1` or `true`).
pub(crate) fn env_on(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| v == "1" || v.eq_ignore_ascii_case("true"))
}

/// Parses `shop.test=127.0.0.1,inside.test=10.1.2.3` (a name may repeat for
/// several addresses).
pub fn parse_test_resolve(text: &str) -> Result<HashMap<String, Vec<IpAddr>>, NetError> {
    let mut map: HashMap<String, Vec<IpAddr>> = HashMap::new();
    for pair in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let bad = || NetError::Setup {
            reason: format!("CUSTODIAN_TEST_RESOLVE: {pair:?} is not name=address"),
        };
        let (name, addr) = pair.split_once('=').ok_or_else(bad)?;
        let addr: IpAddr = addr.trim().parse().map_err(|_| bad())?;
        map.entry(name.trim().to_ascii_lowercase())
            .or_default()
            .push(addr);
    }
    Ok(map)
}

/// A checked destination: the URL, the host name to pin (none for an IP
/// literal), and the addresses that passed the rules.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub url: Url,
    pub pin_name: Option<String>,
    pub addrs: Vec<SocketAddr>,
}

/// Resolves `url`'s host once and checks every address; refuses before any
/// connection when one of them is not allowed.
pub(crate) async fn check(rules: &AddressRules, url: &Url) -> Result<Target, NetError> {
    let plain_http = match url.scheme() {
        "https" => false,
        "http" if rules.allow_http_loopback => true,
        _ => {
            return Err(NetError::NotHttps {
                url: url.to_string(),
            })
        }
    };
    if !url.username().is_empty() || url.password().is_some() {
        return Err(NetError::Userinfo {
            url: url.to_string(),
        });
    }
    let port = url.port_or_known_default().unwrap_or(443);
    let (host, pin_name, ips, from_test_map) = match url.host() {
        Some(Host::Ipv4(ip)) => (ip.to_string(), None, vec![IpAddr::V4(ip)], false),
        Some(Host::Ipv6(ip)) => (ip.to_string(), None, vec![IpAddr::V6(ip)], false),
        Some(Host::Domain(name)) => {
            let name = name.to_ascii_lowercase();
            let (ips, mapped) = resolve_name(rules, &name, port).await?;
            (name.clone(), Some(name), ips, mapped)
        }
        None => {
            return Err(NetError::BadUrl {
                url: url.to_string(),
                reason: "no host".into(),
            })
        }
    };
    if ips.is_empty() {
        return Err(NetError::Resolve {
            host,
            reason: "no addresses".into(),
        });
    }
    for &addr in &ips {
        let kind = classify(addr);
        if plain_http {
            if !addr.is_loopback() {
                return Err(NetError::HttpNotLoopback { host, addr, kind });
            }
        } else if !allowed(rules, addr, kind, from_test_map) {
            return Err(NetError::RefusedAddress { host, addr, kind });
        }
    }
    Ok(Target {
        url: url.clone(),
        pin_name,
        addrs: ips
            .into_iter()
            .map(|ip| SocketAddr::new(ip, port))
            .collect(),
    })
}

/// The rule for https: public addresses only, except a plain loopback
/// address (127/8, ::1; never a mapped form) from the test map while the
/// test switch trusts it.
fn allowed(rules: &AddressRules, addr: IpAddr, kind: AddressKind, from_test_map: bool) -> bool {
    kind.is_public() || (from_test_map && rules.trust_test_loopback && addr.is_loopback())
}

/// The test map's answer, else the system resolver's (through tokio).
async fn resolve_name(
    rules: &AddressRules,
    name: &str,
    port: u16,
) -> Result<(Vec<IpAddr>, bool), NetError> {
    if let Some(ips) = rules.test_resolve.get(name) {
        return Ok((ips.clone(), true));
    }
    let found = tokio::net::lookup_host((name, port))
        .await
        .map_err(|e| NetError::Resolve {
            host: name.to_owned(),
            reason: e.to_string(),
        })?;
    let mut ips: Vec<IpAddr> = Vec::new();
    for sa in found {
        if !ips.contains(&sa.ip()) {
            ips.push(sa.ip());
        }
    }
    Ok((ips, false))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(map: &str, trust: bool, http: bool) -> AddressRules {
        AddressRules {
            allow_http_loopback: http,
            test_resolve: parse_test_resolve(map).unwrap(),
            trust_test_loopback: trust,
        }
    }

    async fn run(rules: &AddressRules, url: &str) -> Result<Target, NetError> {
        check(rules, &Url::parse(url).unwrap()).await
    }

    #[test]
    fn test_map_parses_and_refuses_garbage() {
        let map = parse_test_resolve("Shop.test=127.0.0.1, shop.test=::1,x=10.1.2.3").unwrap();
        assert_eq!(map["shop.test"].len(), 2);
        assert!(parse_test_resolve("shop.test").is_err());
        assert!(parse_test_resolve("shop.test=nope").is_err());
    }

    #[tokio::test]
    async fn mapped_private_names_are_refused_naming_the_range() {
        let r = rules(
            "a.test=10.1.2.3,b.test=192.168.0.1,c.test=169.254.169.254,d.test=fc00::1,e.test=::ffff:127.0.0.1,f.test=127.0.0.1",
            true,
            false,
        );
        for (name, kind) in [
            ("a.test", AddressKind::Private),
            ("b.test", AddressKind::Private),
            ("c.test", AddressKind::LinkLocal),
            ("d.test", AddressKind::Private),
            ("e.test", AddressKind::Loopback),
        ] {
            match run(&r, &format!("https://{name}/x")).await {
                Err(NetError::RefusedAddress { kind: k, .. }) => assert_eq!(k, kind, "{name}"),
                other => panic!("{name}: {other:?}"),
            }
        }
        // Plain loopback from the map is trusted only with the switch.
        assert!(run(&r, "https://f.test/").await.is_ok());
        let strict = rules("f.test=127.0.0.1", false, false);
        assert!(matches!(
            run(&strict, "https://f.test/").await,
            Err(NetError::RefusedAddress { .. })
        ));
    }

    #[tokio::test]
    async fn one_bad_address_among_good_ones_refuses() {
        let r = rules("m.test=127.0.0.1,m.test=10.0.0.1", true, false);
        assert!(matches!(
            run(&r, "https://m.test/").await,
            Err(NetError::RefusedAddress { .. })
        ));
    }

    #[tokio::test]
    async fn ip_literals_are_checked_and_never_trusted_as_test_loopback() {
        let r = rules("", true, false);
        for url in [
            "https://127.0.0.1/",
            "https://10.0.0.1/",
            "https://[::1]/",
            "https://[::ffff:10.0.0.1]/",
        ] {
            assert!(
                matches!(run(&r, url).await, Err(NetError::RefusedAddress { .. })),
                "{url}"
            );
        }
        let t = run(&r, "https://93.184.215.14:8443/").await.unwrap();
        assert_eq!(t.pin_name, None);
        assert_eq!(t.addrs, vec!["93.184.215.14:8443".parse().unwrap()]);
    }

    #[tokio::test]
    async fn plain_http_needs_the_switch_and_loopback() {
        let off = rules("", false, false);
        assert!(matches!(
            run(&off, "http://127.0.0.1:8080/").await,
            Err(NetError::NotHttps { .. })
        ));
        let on = rules("far.test=93.184.215.14", false, true);
        assert!(run(&on, "http://127.0.0.1:8080/").await.is_ok());
        assert!(run(&on, "http://[::1]:8080/").await.is_ok());
        assert!(matches!(
            run(&on, "http://far.test/").await,
            Err(NetError::HttpNotLoopback { .. })
        ));
        assert!(matches!(
            run(&on, "ftp://127.0.0.1/").await,
            Err(NetError::NotHttps { .. })
        ));
    }

    #[tokio::test]
    async fn userinfo_is_refused() {
        let r = rules("shop.test=127.0.0.1", true, false);
        assert!(matches!(
            run(&r, "https://u:p@shop.test/").await,
            Err(NetError::Userinfo { .. })
        ));
    }

    #[tokio::test]
    async fn mapped_names_are_pinned_with_the_urls_port() {
        let r = rules("shop.test=127.0.0.1", true, false);
        let t = run(&r, "https://SHOP.test:9443/a").await.unwrap();
        assert_eq!(t.pin_name.as_deref(), Some("shop.test"));
        assert_eq!(t.addrs, vec!["127.0.0.1:9443".parse().unwrap()]);
    }
}
