//! `nettool tftp`: a TFTP client written from the RFCs (1350, 1123 4.2.3,
//! 2347, 2348, 2349, 7440).
//!
//! `session` is the protocol as a sans-I/O state machine; `transport`
//! runs it over a UDP socket; `netascii` translates line ends. Packets are
//! encoded and decoded by `crate::wire::tftp`.

pub mod netascii;
pub mod pace;
pub mod session;
pub mod transport;

#[cfg(test)]
mod tests;

/// What a transfer reports while it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Bytes done so far, and the total when known: every MiB, and once
    /// at the end.
    Progress { done: u64, total: Option<u64> },
    /// With tracing on: a packet went out, described in one line.
    Sent {
        to: std::net::SocketAddr,
        packet: String,
    },
    /// With tracing on: a packet came in.
    Received {
        from: std::net::SocketAddr,
        packet: String,
    },
}
