//! How endpoints and owners are written in the table: numeric (`-n`) or
//! with names from /etc/services and /etc/hosts (and DNS with `--dns`).
//! Addresses are never truncated; IPv6 goes in brackets so the port is
//! unambiguous.

use std::fmt::Write;
use std::net::SocketAddr;

use super::model::{Endpoint, Proto};
use super::names::Names;

#[derive(Clone, Copy)]
pub struct Display<'a> {
    names: Option<&'a Names>,
}

impl Display<'static> {
    pub fn numeric() -> Display<'static> {
        Display { names: None }
    }
}

impl<'a> Display<'a> {
    pub fn named(names: &'a Names) -> Display<'a> {
        Display { names: Some(names) }
    }

    /// `127.0.0.1:22`, `[::1]:22`, `0.0.0.0:*`, `/run/x.sock`, `@abstract`;
    /// with names `localhost:ssh`.
    pub fn write_endpoint(&self, buf: &mut String, ep: &Endpoint, proto: Proto) {
        match ep {
            Endpoint::Unix(name) => {
                let _ = write!(buf, "{name}");
            }
            Endpoint::Inet(sa) => self.write_inet(buf, sa, proto),
        }
    }

    pub fn endpoint(&self, ep: &Endpoint, proto: Proto) -> String {
        let mut s = String::new();
        self.write_endpoint(&mut s, ep, proto);
        s
    }

    fn write_inet(self, buf: &mut String, sa: &SocketAddr, proto: Proto) {
        let host = self.names.and_then(|n| {
            (!sa.ip().is_unspecified())
                .then(|| n.host(sa.ip()))
                .flatten()
        });
        let _ = match (host, sa) {
            (Some(h), _) => write!(buf, "{h}"),
            (None, SocketAddr::V4(v4)) => write!(buf, "{}", v4.ip()),
            (None, SocketAddr::V6(v6)) => write!(buf, "[{}]", v6.ip()),
        };
        let service = match (self.names, proto) {
            (Some(n), Proto::Tcp) => n.service(sa.port(), "tcp"),
            (Some(n), Proto::Udp) => n.service(sa.port(), "udp"),
            _ => None,
        };
        let _ = match (sa.port(), service) {
            (0, _) => write!(buf, ":*"),
            (_, Some(s)) => write!(buf, ":{s}"),
            (p, None) => write!(buf, ":{p}"),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sockstat::model::UnixName;

    #[test]
    fn numeric_and_named() {
        let mut names = Names::default();
        names.add_services("ssh 22/tcp\n");
        names.add_hosts("127.0.0.1 localhost\n");
        let ep = |s: &str| Endpoint::Inet(s.parse().unwrap());
        let n = Display::numeric();
        assert_eq!(n.endpoint(&ep("127.0.0.1:22"), Proto::Tcp), "127.0.0.1:22");
        assert_eq!(n.endpoint(&ep("[::]:0"), Proto::Tcp), "[::]:*");
        assert_eq!(
            n.endpoint(&ep("[2001:db8::1]:443"), Proto::Tcp),
            "[2001:db8::1]:443"
        );
        let d = Display::named(&names);
        assert_eq!(d.endpoint(&ep("127.0.0.1:22"), Proto::Tcp), "localhost:ssh");
        assert_eq!(d.endpoint(&ep("127.0.0.1:22"), Proto::Udp), "localhost:22");
        assert_eq!(d.endpoint(&ep("0.0.0.0:22"), Proto::Tcp), "0.0.0.0:ssh");
        let u = Endpoint::Unix(UnixName::Path("/run/a b".into()));
        assert_eq!(d.endpoint(&u, Proto::Unix), "/run/a b");
    }
}
