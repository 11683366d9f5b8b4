//! `sockstat -s`: counts per protocol and TCP state, the kernel's own
//! figures from /proc/net/sockstat, and a plain-words diagnosis of what the
//! states mean for this machine right now.

use std::collections::BTreeMap;

use serde::Serialize;

use super::model::{Proto, Socket, TcpState};

#[derive(Debug, Default, Serialize)]
pub struct Summary {
    /// `tcp`, `tcp6`, `udp`, ... -> sockets.
    pub protocols: BTreeMap<&'static str, u64>,
    /// TCP states by netstat name -> sockets (IPv4 and IPv6 together).
    pub tcp_states: BTreeMap<&'static str, u64>,
    /// `/proc/net/sockstat` and `sockstat6`: section -> key -> value, e.g.
    /// `TCP.tw`. `mem` values are in pages.
    pub kernel: BTreeMap<String, BTreeMap<String, u64>>,
    pub diagnosis: Vec<String>,
}

impl Summary {
    pub fn compute(sockets: &[Socket], kernel: Vec<(String, String, u64)>) -> Summary {
        let mut s = Summary::default();
        for sk in sockets {
            *s.protocols.entry(sk.proto_label()).or_default() += 1;
            if sk.proto == Proto::Tcp {
                *s.tcp_states.entry(sk.state.netstat_name()).or_default() += 1;
            }
        }
        for (section, key, value) in kernel {
            s.kernel.entry(section).or_default().insert(key, value);
        }
        s.diagnosis = diagnose(&s.tcp_states, &s.kernel, sockets);
        s
    }
}

fn count(states: &BTreeMap<&'static str, u64>, st: TcpState) -> u64 {
    states.get(st.netstat_name()).copied().unwrap_or(0)
}

/// What the numbers mean, in a sentence each, only for what is present.
fn diagnose(
    states: &BTreeMap<&'static str, u64>,
    kernel: &BTreeMap<String, BTreeMap<String, u64>>,
    sockets: &[Socket],
) -> Vec<String> {
    let mut d = Vec::new();
    let n = |st| count(states, st);
    if n(TcpState::CloseWait) > 0 {
        d.push(format!(
            "{} in CLOSE_WAIT: the peer closed (its FIN arrived and was ACKed) but the local program has not called close(); a count that keeps growing is a connection leak in that program (see -p)",
            n(TcpState::CloseWait)
        ));
    }
    if n(TcpState::FinWait2) > 0 {
        d.push(format!(
            "{} in FIN_WAIT2: we closed and the peer ACKed our FIN, but the peer program has not closed its side yet (half-closed; orphans wait tcp_fin_timeout, 60 s)",
            n(TcpState::FinWait2)
        ));
    }
    if n(TcpState::TimeWait) > 0 {
        d.push(format!(
            "{} in TIME_WAIT: this side closed first and holds the port pair for 2MSL (60 s on Linux) so late segments die; normal, but thousands to one peer can exhaust ephemeral ports, and a listener restarting on the port needs SO_REUSEADDR",
            n(TcpState::TimeWait)
        ));
    }
    if n(TcpState::SynSent) > 0 {
        d.push(format!(
            "{} in SYN_SENT: connecting, no SYN-ACK yet: the peer is slow, down, or a firewall drops the SYNs (nettool probe tells which)",
            n(TcpState::SynSent)
        ));
    }
    if n(TcpState::SynRecv) > 0 {
        d.push(format!(
            "{} in SYN_RECV: half-open, waiting for the client's final ACK of the handshake; many at once suggests a SYN flood or a lossy path",
            n(TcpState::SynRecv)
        ));
    }
    if n(TcpState::LastAck) + n(TcpState::Closing) > 0 {
        d.push(format!(
            "{} in LAST_ACK/CLOSING: closing, waiting for the peer to ACK our FIN",
            n(TcpState::LastAck) + n(TcpState::Closing)
        ));
    }
    for sk in sockets {
        if sk.proto != Proto::Tcp || sk.state != TcpState::Listen {
            continue;
        }
        let local = || super::display::Display::numeric().endpoint(&sk.local, sk.proto);
        match (sk.recv_q, sk.send_q) {
            (Some(waiting), Some(backlog)) if backlog > 0 && waiting > backlog => {
                d.push(format!(
                    "listener {} has a full accept queue ({waiting} of {backlog}): the program is not calling accept() fast enough, new SYNs are dropped",
                    local()
                ));
            }
            // /proc/net/tcp does not give a listener's backlog: say so
            // rather than judge the queue by a number we do not have.
            (Some(waiting), None) if waiting > 0 => {
                d.push(format!(
                    "listener {} has {waiting} connections waiting for accept(); its backlog is not in /proc/net/tcp, so whether the queue is full is unknown here (--source netlink tells)",
                    local()
                ));
            }
            _ => {}
        }
    }
    if let Some(orphan) = kernel.get("TCP").and_then(|t| t.get("orphan"))
        && *orphan > 0
    {
        d.push(format!(
            "{orphan} orphaned TCP sockets: closed by their program, still finishing their close in the kernel"
        ));
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sockstat::model::Endpoint;

    fn tcp(state: TcpState, recv_q: u32, send_q: Option<u32>) -> Socket {
        Socket {
            proto: Proto::Tcp,
            v6: false,
            local: Endpoint::Inet("127.0.0.1:80".parse().unwrap()),
            remote: Endpoint::Inet("0.0.0.0:0".parse().unwrap()),
            state,
            recv_q: Some(recv_q),
            send_q,
            uid: Some(0),
            inode: 1,
            timer: None,
            unix_kind: None,
            peer_inode: None,
            internals: None,
        }
    }

    #[test]
    fn counts_and_diagnosis() {
        let socks = [
            tcp(TcpState::Listen, 129, Some(128)),
            tcp(TcpState::CloseWait, 1, Some(0)),
            tcp(TcpState::CloseWait, 0, Some(0)),
            tcp(TcpState::Established, 0, Some(0)),
        ];
        let s = Summary::compute(&socks, vec![("TCP".into(), "orphan".into(), 0)]);
        assert_eq!(s.protocols["tcp"], 4);
        assert_eq!(s.tcp_states["CLOSE_WAIT"], 2);
        assert!(s.diagnosis.iter().any(|d| d.starts_with("2 in CLOSE_WAIT")));
        assert!(
            s.diagnosis
                .iter()
                .any(|d| d.contains("full accept queue (129 of 128)"))
        );
        assert!(!s.diagnosis.iter().any(|d| d.contains("orphaned")));
        assert!(!s.diagnosis.iter().any(|d| d.contains("TIME_WAIT")));
    }

    #[test]
    fn a_queue_as_long_as_the_backlog_is_not_full_yet() {
        // The kernel drops SYNs only once ack_backlog > max_ack_backlog
        // (sk_acceptq_is_full).
        let s = Summary::compute(&[tcp(TcpState::Listen, 128, Some(128))], Vec::new());
        assert!(s.diagnosis.is_empty(), "{:?}", s.diagnosis);
        let s = Summary::compute(&[tcp(TcpState::Listen, 2, Some(1))], Vec::new());
        assert!(
            s.diagnosis
                .iter()
                .any(|d| d.contains("full accept queue (2 of 1)")),
            "{:?}",
            s.diagnosis
        );
    }

    #[test]
    fn a_listener_without_a_known_backlog_is_not_judged_full() {
        let socks = [
            tcp(TcpState::Listen, 5, None),
            tcp(TcpState::Listen, 0, None),
        ];
        let s = Summary::compute(&socks, Vec::new());
        assert_eq!(s.diagnosis.len(), 1, "{:?}", s.diagnosis);
        assert!(
            s.diagnosis[0].starts_with("listener 127.0.0.1:80 has 5 connections waiting")
                && s.diagnosis[0].contains("--source netlink"),
            "{:?}",
            s.diagnosis
        );
    }
}
