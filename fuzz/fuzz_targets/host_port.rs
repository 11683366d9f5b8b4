//! The host/port/URL/name parsers of tftp and the sweep network parser:
//! any text is parsed or refused with a message, never a panic; what
//! parses keeps its promises. (probe's target parser is left out: it asks
//! the resolver for names, and a fuzzer must send nothing anywhere.)
#![no_main]

use libfuzzer_sys::fuzz_target;
use nettool::addr::Cidr;
use nettool::cmd::tftp::{default_local_name, parse_url, split_host};

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
    if let Ok(net) = Cidr::parse(s) {
        assert!(net.contains(net.network()));
        if let Some(hosts) = net.ipv4_hosts() {
            let _ = hosts.take(4).count();
        }
        let _ = net.size();
    }
});
