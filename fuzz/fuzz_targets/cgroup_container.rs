//! /proc/PID/cgroup text, as any process can shape it (its cgroup's name):
//! never a panic, and a container found is made of the input's own text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nettool::sockstat::container::from_cgroup_file;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Some(c) = from_cgroup_file(&text) {
        assert!(c.id.is_some() || c.pod.is_some());
        if let Some(id) = &c.id {
            assert!(text.contains(id.as_str()));
        }
        // The table's label never carries the input's control characters
        // beyond what the id and pod (hex, dashes) allow.
        assert!(!c.label().chars().any(char::is_control));
    }
});
