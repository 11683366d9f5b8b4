//! The only place with `unsafe` and raw libc calls, one file per
//! capability. Each function has a safe signature; callers never write
//! `cfg` or `libc` (the few constants they test are re-exported here, typed
//! as the functions take them).
//!
//! The flat paths (`sys::poll_one`, `sys::tcp_info`, ...) are re-exports of
//! the capability modules, so callers may use either.

pub mod caps;
pub mod epoll;
pub mod errno;
pub mod errqueue;
pub mod fs;
pub mod iface;
pub mod localtime;
pub mod netlink;
pub mod netns;
pub mod packet;
pub mod poll;
pub mod recv;
pub mod resolve;
pub mod ring;
pub mod sched;
pub mod send;
pub mod signal;
mod sockaddr;
pub mod tcp_info;
pub mod user;

pub use caps::{drop_capabilities, is_root};
pub use errqueue::{QueuedError, set_recv_errors, set_timestamps, take_queued_error};
pub use fs::{for_each_fd_link, open_read_nonblocking};
pub use iface::{interface_index, interface_name};
pub use localtime::{LocalTime, local_time};
pub use packet::{
    ARP_SNAP_LEN, Frames, NDP_SNAP_LEN, arp_packet_socket, packet_drops, packet_socket,
};
pub use poll::poll_one;
pub use recv::{RecvMany, recv_from_now};
pub use resolve::reverse_lookup;
pub use sched::{involuntary_switches, online_cpus, precise_timers};
pub use signal::{
    TerminationWatch, catch_interrupt, catch_termination, interrupted, signal_name, termination,
    watch_termination,
};
pub use tcp_info::{TcpInfo, tcp_info};
pub mod rlimit;
pub use poll::{PollFd, poll_many};
pub use rlimit::{OpenFiles, raise_open_files};
