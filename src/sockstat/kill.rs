//! `nettool sockstat -K`: close the sockets that match, with `SOCK_DESTROY`.
//!
//! [`kill`] is the library call: the same [`Settings`] as a listing (which
//! tables, which states, which ports and addresses), a [`KillReport`] back.
//! It closes exactly the TCP and UDP sockets the same settings would list:
//! first the capability check (`CAP_NET_ADMIN`, before anything is read),
//! then every table is dumped with each socket's raw `inet_diag_sockid`
//! kept beside it, and only when all dumps are done is anything closed, one
//! socket at a time, each by its id (whose cookie makes sure it is the
//! socket that was listed, not a newcomer on the same addresses).
//!
//! What each answer means is [`close_all`]'s business, a pure function of
//! the answers, so it is tested without a kernel: while nothing has been
//! closed yet, `EOPNOTSUPP` (a kernel without `CONFIG_INET_DIAG_DESTROY`)
//! and `EPERM` end the run with an error, so that a setup problem closes
//! nothing; `ENOENT`/`ESTALE` (gone between dump and destroy) is a note;
//! anything else is a warning and the run goes on.
//!
//! Everything happens in the network namespace of the calling thread, or
//! with `-N` on the worker that entered the namespace named.

use std::io;

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

use super::model::{Proto, Socket};
use super::netlink::{Destroyer, dump_inet_ids};
use super::report::{Listing, SocketRecord, Span};
use super::{Error, Event, Settings};
use crate::sys::caps::{CAP_NET_ADMIN, has_effective};
use crate::sys::errno::{EACCES, ENOENT, EOPNOTSUPP, EPERM, ESTALE};
use crate::wire::sock_diag::SockId;

/// The JSON schema of a [`KillReport`].
pub const KILL_SCHEMA: &str = "nettool.sockstat.kill/1";

/// What [`kill`] did.
#[derive(Debug)]
pub struct KillReport {
    /// The sockets closed, in the order the tables listed them, with
    /// their owners under `-p` (looked up after closing: a process keeps
    /// its descriptor of a closed socket until it closes it).
    pub closed: Listing,
    /// Matched, but gone before they could be closed.
    pub vanished: Vec<Socket>,
    /// Matched, and the kernel refused to close them.
    pub failed: Vec<Failure>,
    /// With `-N`: the namespace it all happened in (each JSON record says
    /// it, the closed ones through `closed`'s spans).
    pub netns: Option<super::netns::Netns>,
}

/// A socket the kernel did not close, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub socket: Socket,
    /// The kernel's words (`strerror`).
    pub error: String,
}

/// A matched socket and the id that names it to `SOCK_DESTROY`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub socket: Socket,
    pub id: SockId,
}

/// Close the TCP and UDP sockets `s` selects (its raw and UNIX tables are
/// not read: the kernel cannot close UNIX sockets, and closing a raw one
/// needs its protocol, which no dump here asks for). Sockets always come
/// from netlink, whatever `s.query.source` says; `s.summary` is ignored.
/// Notes and warnings go to `on_event` as they happen.
///
/// # Errors
/// [`Error::KillAllNetns`] for `--all-netns`;
/// [`Error::KillNeedsCapNetAdmin`] and [`Error::KillUnsupported`] with
/// nothing closed; a dump that fails ([`Error::Netlink`], or
/// [`Error::NetlinkUnsupported`] for a kernel without `inet_diag` for TCP or
/// UDP) with nothing closed; [`Error::KillChannel`] when no netlink socket
/// can be opened; [`Error::Owners`] under `-p`, after the closing.
pub fn kill(s: &Settings, on_event: &mut dyn FnMut(Event)) -> Result<KillReport, Error> {
    // A failure in one namespace would end the scan with the sockets
    // already closed in others unreported.
    if s.netns == super::netns::Scope::All {
        return Err(Error::KillAllNetns);
    }
    // capget does not fail on Linux; if it ever did, the kernel's own EPERM
    // would still stop the run before anything is closed.
    if !has_effective(CAP_NET_ADMIN).unwrap_or(true) {
        return Err(Error::KillNeedsCapNetAdmin);
    }
    let mut warn = |w: String| on_event(Event::Warning(w));
    // With -N, the dump and the destroys run on the worker inside it.
    let per_ns = super::in_namespaces(s, &|w| kill_here(s, w), &mut warn)?;
    let mut outcome = Outcome::default();
    let mut namespaces = Vec::new();
    let mut named = None;
    for (ns, o) in per_ns {
        if let Some(netns) = ns {
            named = Some(netns.clone());
            namespaces.push(Span {
                netns,
                rows: o.closed.len(),
            });
        }
        outcome.closed.extend(o.closed);
        outcome.vanished.extend(o.vanished);
        outcome.failed.extend(o.failed);
    }
    let (owners, uninspected) = if s.processes {
        let (map, uninspected) = super::owners_of(&s.query.proc_root, &outcome.closed)?;
        (Some(map), uninspected)
    } else {
        (None, 0)
    };
    Ok(KillReport {
        closed: Listing {
            sockets: outcome.closed,
            owners,
            uninspected,
            namespaces,
            extensions: super::Extensions::NONE,
        },
        vanished: outcome.vanished,
        failed: outcome.failed,
        netns: named,
    })
}

/// Close what `s` selects in the calling thread's network namespace.
fn kill_here(s: &Settings, warn: &mut dyn FnMut(String)) -> Result<Outcome, Error> {
    let targets = matching(s)?;
    if targets.is_empty() {
        return Ok(Outcome::default());
    }
    let mut d = Destroyer::open().map_err(Error::KillChannel)?;
    close_all(
        targets,
        &mut |t| d.destroy(t.socket.proto, t.socket.v6, &t.id),
        warn,
    )
}

/// Every TCP and UDP socket the settings select, with its id, table by
/// table as the listing orders them.
fn matching(s: &Settings) -> Result<Vec<Target>, Error> {
    let mut out = Vec::new();
    for (proto, v6) in s.query.tables.inet() {
        if !matches!(proto, Proto::Tcp | Proto::Udp) {
            continue;
        }
        let states = s.query.states.for_proto(proto);
        dump_inet_ids(proto, v6, states, |socket, id| {
            if s.rows.matches(&socket) {
                out.push(Target { socket, id });
            }
        })?;
    }
    Ok(out)
}

/// The sockets closed, gone and refused.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    pub closed: Vec<Socket>,
    pub vanished: Vec<Socket>,
    pub failed: Vec<Failure>,
}

/// Close every target with `destroy`, in order, and sort the answers (see
/// the module's docs); `warn` gets one line per socket not closed.
///
/// # Errors
/// [`Error::KillUnsupported`] for `EOPNOTSUPP` and
/// [`Error::KillNeedsCapNetAdmin`] for `EPERM`/`EACCES`, only while no
/// socket has been closed yet.
pub fn close_all(
    targets: Vec<Target>,
    destroy: &mut dyn FnMut(&Target) -> io::Result<()>,
    warn: &mut dyn FnMut(String),
) -> Result<Outcome, Error> {
    let mut out = Outcome::default();
    for t in targets {
        let Err(e) = destroy(&t) else {
            out.closed.push(t.socket);
            continue;
        };
        let errno = e.raw_os_error();
        if out.closed.is_empty() {
            match errno {
                Some(EOPNOTSUPP) => return Err(Error::KillUnsupported),
                Some(EPERM | EACCES) => return Err(Error::KillNeedsCapNetAdmin),
                _ => {}
            }
        }
        if matches!(errno, Some(ENOENT | ESTALE)) {
            warn(format!(
                "note: {} was gone before it could be closed",
                describe(&t.socket)
            ));
            out.vanished.push(t.socket);
        } else {
            let error = plain_error(&e);
            warn(format!(
                "warning: could not close {}: {error}",
                describe(&t.socket)
            ));
            out.failed.push(Failure {
                socket: t.socket,
                error,
            });
        }
    }
    Ok(out)
}

/// `tcp 198.51.100.1:40000 -> 198.51.100.2:8080 CLOSE_WAIT`: a socket in a
/// note, numeric.
pub fn describe(s: &Socket) -> String {
    let d = super::display::Display::numeric();
    format!(
        "{} {} -> {} {}",
        s.proto_label(),
        d.endpoint(&s.local, s.proto),
        d.endpoint(&s.remote, s.proto),
        s.state_label()
    )
}

/// `Operation not permitted`, without std's ` (os error 1)`.
fn plain_error(e: &io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error ") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

impl KillReport {
    /// The JSON record of every socket closed, in order.
    pub fn closed_records(&self) -> impl Iterator<Item = SocketRecord<'_>> {
        self.closed.records()
    }

    /// The JSON record of every socket gone before it could be closed.
    pub fn vanished_records(&self) -> impl Iterator<Item = SocketRecord<'_>> {
        self.vanished
            .iter()
            .map(|s| SocketRecord::new(s, None).with_netns(self.netns.as_ref()))
    }

    /// The JSON record of every socket not closed, with the reason.
    pub fn failed_records(&self) -> impl Iterator<Item = FailureRecord<'_>> {
        self.failed.iter().map(|f| FailureRecord {
            socket: SocketRecord::new(&f.socket, None).with_netns(self.netns.as_ref()),
            error: &f.error,
        })
    }
}

/// A socket the kernel would not close, in JSON.
#[derive(Debug, Serialize)]
pub struct FailureRecord<'a> {
    pub socket: SocketRecord<'a>,
    pub error: &'a str,
}

/// `nettool.sockstat.kill/1` (README documents it); `output::sockstat`
/// streams the same document one socket per line.
impl Serialize for KillReport {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let mut m = ser.serialize_map(Some(4))?;
        m.serialize_entry("schema", KILL_SCHEMA)?;
        m.serialize_entry("closed", &self.closed_records().collect::<Vec<_>>())?;
        m.serialize_entry("vanished", &self.vanished_records().collect::<Vec<_>>())?;
        m.serialize_entry("failed", &self.failed_records().collect::<Vec<_>>())?;
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sockstat::model::{Endpoint, TcpState};

    fn sock(local: &str, remote: &str, state: TcpState) -> Socket {
        Socket {
            proto: Proto::Tcp,
            v6: false,
            local: Endpoint::Inet(local.parse().unwrap()),
            remote: Endpoint::Inet(remote.parse().unwrap()),
            state,
            recv_q: Some(1),
            send_q: Some(0),
            uid: Some(0),
            inode: 77,
            timer: None,
            unix_kind: None,
            peer_inode: None,
            internals: None,
        }
    }

    fn target(n: u8) -> Target {
        let mut id = [0u8; 48];
        id[0] = n;
        Target {
            socket: sock(
                &format!("198.51.100.1:{}", 40000 + u16::from(n)),
                "198.51.100.2:8080",
                TcpState::CloseWait,
            ),
            id: SockId::from_bytes(id),
        }
    }

    /// Close targets 1..=n, the kernel answering `answers[i]` (an errno,
    /// or 0 for closed) for the i-th; returns the outcome, the lines warned
    /// and the ids asked for.
    fn run(answers: &[i32]) -> (Result<Outcome, Error>, Vec<String>, Vec<u8>) {
        let targets: Vec<Target> = (1..=u8::try_from(answers.len()).unwrap())
            .map(target)
            .collect();
        let mut asked = Vec::new();
        let mut lines = Vec::new();
        let r = close_all(
            targets,
            &mut |t| {
                let n = t.id.as_bytes()[0];
                asked.push(n);
                match answers[usize::from(n) - 1] {
                    0 => Ok(()),
                    e => Err(io::Error::from_raw_os_error(e)),
                }
            },
            &mut |l| lines.push(l),
        );
        (r, lines, asked)
    }

    fn ports(v: &[Socket]) -> Vec<u16> {
        v.iter().map(|s| s.local.port().unwrap()).collect()
    }

    #[test]
    fn every_target_closed_in_order() {
        let (r, lines, asked) = run(&[0, 0, 0]);
        let o = r.unwrap();
        assert_eq!(ports(&o.closed), [40001, 40002, 40003]);
        assert!(o.vanished.is_empty() && o.failed.is_empty());
        assert!(lines.is_empty(), "{lines:?}");
        assert_eq!(asked, [1, 2, 3]);
    }

    #[test]
    fn a_socket_gone_meanwhile_is_a_note_not_an_error() {
        let (r, lines, _) = run(&[ENOENT, 0, ESTALE]);
        let o = r.unwrap();
        assert_eq!(ports(&o.closed), [40002]);
        assert_eq!(ports(&o.vanished), [40001, 40003]);
        assert_eq!(
            lines,
            [
                "note: tcp 198.51.100.1:40001 -> 198.51.100.2:8080 CLOSE_WAIT was gone before it could be closed",
                "note: tcp 198.51.100.1:40003 -> 198.51.100.2:8080 CLOSE_WAIT was gone before it could be closed",
            ]
        );
    }

    #[test]
    fn no_destroy_support_stops_before_anything_is_closed() {
        let (r, _, asked) = run(&[EOPNOTSUPP, 0]);
        assert!(matches!(r, Err(Error::KillUnsupported)), "{r:?}");
        assert_eq!(asked, [1], "nothing more is tried");
        // Also after sockets that were gone: still nothing closed.
        let (r, lines, asked) = run(&[ENOENT, EOPNOTSUPP, 0]);
        assert!(matches!(r, Err(Error::KillUnsupported)), "{r:?}");
        assert_eq!((lines.len(), asked), (1, vec![1, 2]));
    }

    #[test]
    fn no_permission_stops_before_anything_is_closed() {
        for errno in [EPERM, EACCES] {
            let (r, _, asked) = run(&[errno, 0]);
            assert!(matches!(r, Err(Error::KillNeedsCapNetAdmin)), "{r:?}");
            assert_eq!(asked, [1]);
        }
    }

    #[test]
    fn after_the_first_close_a_refusal_is_one_warning_and_the_rest_goes_on() {
        let (r, lines, asked) = run(&[0, EOPNOTSUPP, EPERM, 0]);
        let o = r.unwrap();
        assert_eq!(asked, [1, 2, 3, 4]);
        assert_eq!(ports(&o.closed), [40001, 40004]);
        assert_eq!(
            o.failed
                .iter()
                .map(|f| (f.socket.local.port().unwrap(), f.error.as_str()))
                .collect::<Vec<_>>(),
            [
                (40002, "Operation not supported"),
                (40003, "Operation not permitted")
            ]
        );
        assert_eq!(
            lines[1],
            "warning: could not close tcp 198.51.100.1:40003 -> 198.51.100.2:8080 CLOSE_WAIT: Operation not permitted"
        );
    }

    #[test]
    fn other_errors_are_warnings_even_first() {
        let (r, lines, _) = run(&[crate::sys::errno::ENOBUFS, 0]);
        let o = r.unwrap();
        assert_eq!((o.closed.len(), o.failed.len()), (1, 1));
        assert!(
            lines[0].starts_with("warning: could not close tcp "),
            "{lines:?}"
        );
    }

    #[test]
    fn json_document() {
        let report = KillReport {
            closed: Listing {
                sockets: vec![target(1).socket],
                owners: None,
                uninspected: 0,
                namespaces: Vec::new(),
                extensions: crate::sockstat::Extensions::NONE,
            },
            vanished: vec![target(2).socket],
            failed: vec![Failure {
                socket: target(3).socket,
                error: "Operation not permitted".into(),
            }],
            netns: None,
        };
        let v = serde_json::to_value(&report).unwrap();
        assert_eq!(v["schema"], "nettool.sockstat.kill/1");
        assert_eq!(v["closed"][0]["state"], "CLOSE_WAIT");
        assert_eq!(v["closed"][0]["local"]["port"], 40001);
        assert_eq!(v["closed"][0]["remote"]["address"], "198.51.100.2");
        assert_eq!(v["vanished"][0]["local"]["port"], 40002);
        assert_eq!(v["failed"][0]["socket"]["local"]["port"], 40003);
        assert_eq!(v["failed"][0]["error"], "Operation not permitted");
        assert_eq!(v.as_object().unwrap().len(), 4);
        assert!(v["vanished"][0].get("netns").is_none(), "no -N: no key");

        // -N: every record says the namespace, not only the closed ones.
        let blue = crate::sockstat::netns::Netns {
            inode: 4_026_532_001,
            name: Some("blue".into()),
            host: false,
            pid: None,
            command: None,
            container: None,
        };
        let mut report = report;
        report.closed.namespaces = vec![Span {
            netns: blue.clone(),
            rows: 1,
        }];
        report.netns = Some(blue);
        let v = serde_json::to_value(&report).unwrap();
        for record in [
            &v["closed"][0],
            &v["vanished"][0],
            &v["failed"][0]["socket"],
        ] {
            assert_eq!(record["netns"]["name"], "blue", "{record}");
        }
    }
}
