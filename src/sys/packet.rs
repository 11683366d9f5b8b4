//! `AF_PACKET` for ARP and NDP: the raw socket with its classic BPF filter
//! (only ARP frames, cut to [`ARP_SNAP_LEN`] bytes, and/or ICMPv6 Neighbor
//! Solicitations and Advertisements, with the IPv6 frames that start with
//! an extension header for the caller to look behind, cut to
//! [`NDP_SNAP_LEN`]) and its drop counter.
//!
//! Invariant: the filter is attached before the socket is bound, so no
//! traffic but what [`Frames`] names is ever copied to us. Callers get a
//! plain fd (pnet takes ownership) and plain numbers; the BPF program and
//! `tpacket_stats` stay here.

use std::io;

use super::sockaddr::socklen;

/// Which frames a packet socket passes to us.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frames {
    /// ARP (ethertype 0x0806).
    Arp,
    /// ICMPv6 Neighbor Solicitations and Advertisements (types 135, 136)
    /// straight after the IPv6 header, as NDP sends them, and every IPv6
    /// frame whose first header is an options header (hop-by-hop or
    /// destination), for user space to look behind: the kernel takes an
    /// NS or NA there too.
    Ndp,
    /// Both: a watch of the link's neighbours.
    ArpAndNdp,
    /// ICMPv6 echo replies (type 129) straight after the IPv6 header: the
    /// answers to `--localnet -6`'s echo request to all nodes.
    EchoReply6,
}

/// An `AF_PACKET` raw socket that sees only ARP frames (see
/// [`packet_socket`]).
///
/// # Errors
///
/// As [`packet_socket`].
pub fn arp_packet_socket() -> io::Result<i32> {
    packet_socket(Frames::Arp)
}

/// An `AF_PACKET` raw socket that sees only `frames`: a classic BPF
/// filter is attached before the socket is bound, so no other traffic is
/// ever copied to us (what a [`Frames`] variant passes is in its doc),
/// and our own outgoing frames are not looped back
/// (`PACKET_IGNORE_OUTGOING`, Linux 4.20+; older kernels loop them back
/// and the reply validation drops them). Returns the raw fd for pnet's
/// `Config::socket_fd`, which takes ownership.
///
/// # Errors
///
/// `EPERM` without `CAP_NET_RAW`; otherwise what `socket` or attaching the
/// filter failed with (the socket is closed then).
pub fn packet_socket(frames: Frames) -> io::Result<i32> {
    // SAFETY: plain syscall with constant arguments.
    let fd = unsafe {
        libc::socket(
            libc::AF_PACKET,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            // Protocol 0: the socket sees nothing until pnet binds it to the
            // interface, and the bind does not have to unhook an ETH_P_ALL
            // tap first (that costs a synchronize_net, 10-16 ms).
            0,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // The kernel cuts what it passes to the snap lengths: an ARP frame is
    // 42 bytes (60 padded), so a forged 1514-byte (or jumbo) frame costs
    // the socket buffer and the reader's queue no more than a real one.
    let mut code = filter(frames);
    let prog = libc::sock_fprog {
        len: u16::try_from(code.len()).unwrap_or(u16::MAX),
        filter: code.as_mut_ptr(),
    };
    // SAFETY: `prog` points at `code`, both alive for the call; the kernel
    // copies the program.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_ATTACH_FILTER,
            (&raw const prog).cast(),
            socklen::<libc::sock_fprog>(),
        )
    };
    if rc < 0 {
        let e = io::Error::last_os_error();
        // SAFETY: we own fd and close it once.
        unsafe { libc::close(fd) };
        return Err(e);
    }
    let one: libc::c_int = 1;
    // SAFETY: valid int option; failure (old kernel) is harmless.
    unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_PACKET,
            libc::PACKET_IGNORE_OUTGOING,
            (&raw const one).cast(),
            socklen::<libc::c_int>(),
        )
    };
    Ok(fd)
}

/// The bytes of an ARP frame [`packet_socket`] passes: the Ethernet
/// header and the ARP packet (42) with room to spare.
pub const ARP_SNAP_LEN: usize = ARP_SNAP as usize;
const ARP_SNAP: u32 = 64;

/// The bytes of an NDP frame [`packet_socket`] passes: a whole frame on
/// any link with the usual MTU. Not less: the kernel takes an
/// advertisement whose link-layer option comes after kilobytes of options
/// it does not know, and a forger's padded one cut short could not be
/// checked or seen for what it claims. Only a jumbo-frame link can carry
/// one longer than this; it is cut and dropped as malformed.
pub const NDP_SNAP_LEN: usize = NDP_SNAP as usize;
const NDP_SNAP: u32 = 2048;

/// Classic BPF opcodes (`linux/filter.h`) of [`filter`].
mod bpf {
    /// `BPF_LD | BPF_H | BPF_ABS`: load the 16-bit word at offset k.
    pub const LDH_ABS: u16 = 0x28;
    /// `BPF_LD | BPF_B | BPF_ABS`: load the byte at offset k.
    pub const LDB_ABS: u16 = 0x30;
    /// `BPF_JMP | BPF_JEQ | BPF_K`: if it equals k, skip jt, else skip jf.
    pub const JEQ_K: u16 = 0x15;
    /// `BPF_RET | BPF_K`: pass k bytes of the frame (0: drop it).
    pub const RET_K: u16 = 0x06;
}

/// Where the Ethernet header holds the ethertype, and the values.
const ETHERTYPE_OFFSET: u32 = 12;
const ETH_P_ARP: u32 = 0x0806;
const ETH_P_IPV6: u32 = 0x86dd;
/// The IPv6 header's next header (14 + 6), ICMPv6's number, and where the
/// ICMPv6 type is when no extension header comes between (14 + 40), as
/// every ND sender sends them; frames with one are passed whole to the
/// caller, which walks them.
const IPV6_NEXT_HEADER_OFFSET: u32 = 20;
const IPPROTO_ICMPV6: u32 = 58;
/// The IPv6 extension headers a receiver steps over to an ND message:
/// hop-by-hop, destination options, routing (with no segments left).
const NEXT_HEADER_HOP_BY_HOP: u32 = 0;
const NEXT_HEADER_DEST_OPTS: u32 = 60;
const NEXT_HEADER_ROUTING: u32 = 43;
const ICMPV6_TYPE_OFFSET: u32 = 54;
const NEIGHBOR_SOLICIT: u32 = 135;
const NEIGHBOR_ADVERT: u32 = 136;
const ECHO_REPLY: u32 = 129;

/// The program for `frames`:
///
/// ```text
///     ldh [12]
///     jeq #0x806, arp, next          (Arp, ArpAndNdp)
///     jeq #0x86dd, next, drop        (Ndp, ArpAndNdp)
///     ldb [20]
///     jeq #0, ndp, next              (hop-by-hop options first)
///     jeq #60, ndp, next             (destination options first)
///     jeq #43, ndp, next             (routing header first)
///     jeq #58, next, drop
///     ldb [54]
///     jeq #135, ndp, next
///     jeq #136, ndp, drop
/// ndp: ret #2048
/// arp: ret #64
/// drop: ret #0
/// ```
///
/// and for echo replies:
///
/// ```text
///     ldh [12]
///     jeq #0x86dd, next, drop
///     ldb [20]
///     jeq #58, next, drop
///     ldb [54]
///     jeq #129, next, drop
///     ret #2048
/// drop: ret #0
/// ```
fn filter(frames: Frames) -> Vec<libc::sock_filter> {
    let op = |code, jt, jf, k| libc::sock_filter { code, jt, jf, k };
    let (arp, ndp) = match frames {
        Frames::Arp => (true, false),
        Frames::Ndp => (false, true),
        Frames::ArpAndNdp => (true, true),
        Frames::EchoReply6 => {
            return vec![
                op(bpf::LDH_ABS, 0, 0, ETHERTYPE_OFFSET),
                op(bpf::JEQ_K, 0, 5, ETH_P_IPV6),
                op(bpf::LDB_ABS, 0, 0, IPV6_NEXT_HEADER_OFFSET),
                op(bpf::JEQ_K, 0, 3, IPPROTO_ICMPV6),
                op(bpf::LDB_ABS, 0, 0, ICMPV6_TYPE_OFFSET),
                op(bpf::JEQ_K, 0, 1, ECHO_REPLY),
                op(bpf::RET_K, 0, 0, NDP_SNAP),
                op(bpf::RET_K, 0, 0, 0),
            ];
        }
    };
    let mut p = vec![op(bpf::LDH_ABS, 0, 0, ETHERTYPE_OFFSET)];
    if arp && !ndp {
        p.push(op(bpf::JEQ_K, 0, 1, ETH_P_ARP));
        p.push(op(bpf::RET_K, 0, 0, ARP_SNAP));
        p.push(op(bpf::RET_K, 0, 0, 0));
        return p;
    }
    // From the IPv6 test on, with `arp` the ARP return sits one after the
    // NDP return; the jumps below count the instructions they skip.
    let extra = u8::from(arp);
    if arp {
        // To `arp:`, 11 instructions on.
        p.push(op(bpf::JEQ_K, 10, 0, ETH_P_ARP));
    }
    p.extend([
        op(bpf::JEQ_K, 0, 9 + extra, ETH_P_IPV6),
        op(bpf::LDB_ABS, 0, 0, IPV6_NEXT_HEADER_OFFSET),
        // Behind extension headers the ICMPv6 type is at an offset classic
        // BPF cannot follow well: such frames (MLD's reports and queries
        // among them) go to user space, which walks the headers.
        op(bpf::JEQ_K, 6, 0, NEXT_HEADER_HOP_BY_HOP),
        op(bpf::JEQ_K, 5, 0, NEXT_HEADER_DEST_OPTS),
        op(bpf::JEQ_K, 4, 0, NEXT_HEADER_ROUTING),
        op(bpf::JEQ_K, 0, 4 + extra, IPPROTO_ICMPV6),
        op(bpf::LDB_ABS, 0, 0, ICMPV6_TYPE_OFFSET),
        op(bpf::JEQ_K, 1, 0, NEIGHBOR_SOLICIT),
        op(bpf::JEQ_K, 0, 1 + extra, NEIGHBOR_ADVERT),
        op(bpf::RET_K, 0, 0, NDP_SNAP),
    ]);
    if arp {
        p.push(op(bpf::RET_K, 0, 0, ARP_SNAP));
    }
    p.push(op(bpf::RET_K, 0, 0, 0));
    p
}

/// Frames the kernel dropped on packet socket `fd` because its receive
/// queue was full, since the last call (`PACKET_STATISTICS` resets the
/// counters on each read: the caller keeps the running total).
///
/// # Errors
///
/// What `getsockopt` failed with: `fd` is not a packet socket.
pub fn packet_drops(fd: i32) -> io::Result<u64> {
    let mut st = libc::tpacket_stats {
        tp_packets: 0,
        tp_drops: 0,
    };
    let mut len = socklen::<libc::tpacket_stats>();
    // SAFETY: `st` and `len` are valid for the call; the kernel writes at
    // most `len` bytes.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_PACKET,
            libc::PACKET_STATISTICS,
            (&raw mut st).cast(),
            &raw mut len,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(u64::from(st.tp_drops))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_filter_is_the_classic_arp_program() {
        let raw: Vec<_> = filter(Frames::Arp)
            .iter()
            .map(|f| (f.code, f.jt, f.jf, f.k))
            .collect();
        assert_eq!(
            raw,
            [
                (0x28, 0, 0, 12),
                (0x15, 0, 1, 0x0806),
                (0x06, 0, 0, 64),
                (0x06, 0, 0, 0)
            ]
        );
        assert_eq!(ARP_SNAP_LEN, 64);
    }

    /// Run a classic BPF program of [`filter`]'s opcodes on `frame` as
    /// the kernel does: the bytes passed, 0 for a drop (a load beyond the
    /// frame drops it too).
    fn run(prog: &[libc::sock_filter], frame: &[u8]) -> u32 {
        let (mut pc, mut a) = (0usize, 0u32);
        loop {
            let Some(i) = prog.get(pc) else {
                panic!("the program ran off its end at {pc}")
            };
            let k = i.k as usize;
            pc += 1;
            match i.code {
                bpf::LDH_ABS => match frame.get(k..k + 2) {
                    Some(b) => a = u32::from(u16::from_be_bytes([b[0], b[1]])),
                    None => return 0,
                },
                bpf::LDB_ABS => match frame.get(k) {
                    Some(&b) => a = u32::from(b),
                    None => return 0,
                },
                bpf::JEQ_K => pc += usize::from(if a == i.k { i.jt } else { i.jf }),
                bpf::RET_K => return i.k.min(u32::try_from(frame.len()).unwrap()),
                c => panic!("opcode {c:#x} not expected"),
            }
        }
    }

    /// An Ethernet frame of `ethertype`, then `next_header` and the ICMPv6
    /// type where an IPv6 frame holds them, padded to `len`.
    fn frame(ethertype: u16, next_header: u8, icmp_type: u8, len: usize) -> Vec<u8> {
        let mut f = vec![0u8; len];
        f[12..14].copy_from_slice(&ethertype.to_be_bytes());
        f[20] = next_header;
        f[54] = icmp_type;
        f
    }

    #[test]
    fn each_filter_passes_its_frames_cut_and_drops_the_rest() {
        let arp = frame(0x0806, 0, 0, 1514);
        let ns = frame(0x86dd, 58, 135, 86);
        let na = frame(0x86dd, 58, 136, 1514);
        let jumbo_na = frame(0x86dd, 58, 136, 9014);
        let echo = frame(0x86dd, 58, 128, 200);
        let rs = frame(0x86dd, 58, 133, 200);
        let udp6 = frame(0x86dd, 17, 135, 200);
        let ipv4 = frame(0x0800, 58, 135, 200);
        let runt = frame(0x86dd, 58, 135, 60)[..40].to_vec();
        let hop_by_hop = frame(0x86dd, 0, 0, 94);
        let dest_opts = frame(0x86dd, 60, 0, 3000);
        let routing = frame(0x86dd, 43, 136, 94);
        let reply = frame(0x86dd, 58, 129, 118);
        let big_reply = frame(0x86dd, 58, 129, 1514);
        let udp_reply = frame(0x86dd, 17, 129, 118);
        let ipv4_reply = frame(0x0800, 58, 129, 118);
        let cases: [(Frames, [u32; 16]); 4] = [
            (
                Frames::Arp,
                [64, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            ),
            (
                Frames::Ndp,
                [0, 86, 1514, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2048, 94, 2048, 94],
            ),
            (
                Frames::ArpAndNdp,
                [64, 86, 1514, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2048, 94, 2048, 94],
            ),
            (
                Frames::EchoReply6,
                [0, 0, 0, 0, 0, 0, 0, 0, 118, 1514, 0, 0, 0, 0, 0, 0],
            ),
        ];
        for (frames, want) in cases {
            let prog = filter(frames);
            let got: Vec<u32> = [
                &arp,
                &ns,
                &na,
                &echo,
                &rs,
                &udp6,
                &ipv4,
                &runt,
                &reply,
                &big_reply,
                &udp_reply,
                &ipv4_reply,
                &jumbo_na,
                &hop_by_hop,
                &dest_opts,
                &routing,
            ]
            .iter()
            .map(|f| run(&prog, f))
            .collect();
            assert_eq!(got, want, "{frames:?}");
        }
    }
}
