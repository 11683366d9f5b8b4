//! A simulated Ethernet segment for the ARP tests: hosts that answer
//! every request for their address (one reply per MAC an address has),
//! with no socket and no clock but `Instant::now`.

use std::collections::{HashSet, VecDeque};
use std::net::Ipv4Addr;
use std::time::Instant;

use super::link::Link;
use super::probe::{self, Me};
use crate::wire::MacAddr;
use crate::wire::arp::Operation;

/// A simulated segment: hosts that answer every request for their
/// address, optionally dropping the first request to some of them.
pub struct Segment {
    pub me: Me,
    pub hosts: Vec<(Ipv4Addr, MacAddr)>,
    pub drop_first: HashSet<Ipv4Addr>,
    pub queue: VecDeque<Vec<u8>>,
    pub asked: Vec<Ipv4Addr>,
}

impl Link for Segment {
    fn send(&mut self, frame: &[u8]) -> std::io::Result<Instant> {
        let target = Ipv4Addr::new(frame[38], frame[39], frame[40], frame[41]);
        let first = !self.asked.contains(&target);
        self.asked.push(target);
        if first && self.drop_first.contains(&target) {
            return Ok(Instant::now());
        }
        for (ip, mac) in self.hosts.iter().filter(|(ip, _)| *ip == target) {
            let r = probe::frame(
                self.me.mac,
                Me { mac: *mac, ip: *ip },
                Operation::Reply,
                self.me.mac,
                self.me.ip,
            );
            self.queue.push_back(r.to_vec());
        }
        Ok(Instant::now())
    }
    fn recv(&mut self, until: Instant) -> std::io::Result<Option<(Vec<u8>, Instant)>> {
        if let Some(f) = self.queue.pop_front() {
            return Ok(Some((f, Instant::now())));
        }
        std::thread::sleep(until.saturating_duration_since(Instant::now()));
        Ok(None)
    }
}
