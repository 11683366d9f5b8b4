//! `arp --prometheus`: a sweep's hosts and duplicates, a watch's event counters.
