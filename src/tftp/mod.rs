//! `nettool tftp`: a TFTP client and server written from the RFCs (1350,
//! 1123 4.2.3, 2347, 2348, 2349, 7440).
//!
//! [`transfer`] runs a get or a put from [`Settings`] (`client`); the local
//! side is in `sink`. `session` is the protocol as a sans-I/O state
//! machine; `transport` runs it over a UDP socket, with `pace` deciding
//! when to poll and when to sleep; `netascii` translates line ends.
//! `batch` runs several transfers with one server, one after another.
//! `serve` is the server: the same machines in their serving role, many
//! transfers driven by one epoll loop.
//! Packets are encoded and decoded by `crate::wire::tftp`.

pub mod batch;
pub mod client;
pub mod netascii;
pub mod pace;
pub mod serve;
pub mod session;
pub(crate) mod sink;
pub mod transport;

pub use client::{
    Destination, Direction, Error, Event, Operation, Origin, Report, Settings, transfer,
};

#[cfg(test)]
mod tests;
