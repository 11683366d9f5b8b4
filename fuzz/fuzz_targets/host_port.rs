//! The host/port/URL/name parsers of tftp (with --dir's names and
//! --port-range), the CIDR parser (arp sweeps)
//! and probe's targets (one HOST:PORT, and a scan's HOST:PORTS with lists,
//! ranges and networks): any text is parsed or refused with a message,
//! never a panic; what parses keeps its promises. (probe's target is
//! fuzzed up to the split: resolving a name would ask DNS, and a fuzzer
//! must send nothing anywhere.)
#![no_main]

use libfuzzer_sys::fuzz_target;
use nettool::addr::{Cidr, Host};
use nettool::cmd::probe::split_target;
use nettool::probe::targets::{self, HostPart, MAX_NET_ADDRESSES};
use nettool::cmd::tftp::{default_local_name, name_in_dir, parse_url, port_range, split_host};

fuzz_target!(|s: &str| {
    if let Ok((_host, port)) = split_host(s) {
        assert_ne!(port, 0);
    }
    if let Ok(Some((_host, port, path))) = parse_url(s) {
        assert_ne!(port, 0);
        assert!(!path.is_empty());
    }
    if let Ok(name) = default_local_name(s) {
        assert!(!name.is_empty() && name != "." && name != "..");
        assert!(!name.contains('/'));
    }
    if let Ok(name) = name_in_dir(s) {
        // --dir: a plain file name (an absolute remote name gives its last
        // component), and only from a name that never climbs.
        assert!(!name.is_empty() && name != "." && name != "..");
        assert!(!name.contains(['/', '\\']));
        assert!(!s.split(['/', '\\']).any(|c| c == ".."));
        assert!(s.ends_with(&name));
    }
    if let Ok(r) = port_range(s) {
        assert!(1 <= r.lo && r.lo <= r.hi);
    }
    if let Ok(net) = Cidr::parse(s) {
        assert!(net.contains(net.network()));
        if let Some(hosts) = net.ipv4_hosts() {
            let _ = hosts.take(4).count();
        }
        let _ = net.size();
    }
    if let Ok((host, port)) = split_target(s) {
        assert_ne!(port, 0);
        if let Host::Name(name) = host {
            // Only a name goes to the resolver: never text with ':' or '%'.
            assert!(!name.is_empty() && !name.contains([':', '%']));
        }
    }
    if let Ok(spec) = targets::parse(s) {
        // Ports ascending, each once, none 0; as many as counted.
        let n = spec.ports.count();
        assert!((1..=65535).contains(&n));
        let mut last = 0u16;
        for (i, p) in spec.ports.iter().enumerate().take(4096) {
            assert!(i == 0 || p > last);
            assert_ne!(p, 0);
            last = p;
        }
        match spec.host {
            HostPart::Net(net) => {
                assert!(net.size() <= MAX_NET_ADDRESSES);
                assert_eq!(net.addresses().next(), Some(net.network()));
            }
            HostPart::Host(Host::Name(name)) => {
                assert!(!name.is_empty() && !name.contains([':', '%', '/']));
            }
            HostPart::Host(_) => {}
        }
        assert!(spec.probes() >= 1);
    }
});
