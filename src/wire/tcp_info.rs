//! `struct tcp_info` (`include/uapi/linux/tcp.h`): the kernel's view of one
//! TCP connection, as `getsockopt(TCP_INFO)` and `sock_diag`'s
//! `INET_DIAG_INFO` attribute carry it.
//!
//! The struct only ever grows at its end, and a kernel sends as many bytes
//! as its own version has: Linux 4.9 stops after `delivery_rate`, 5.4 after
//! `snd_wnd`, 6.18 at 280 bytes. So [`TcpInfo`] is a view over any length:
//! a field that ends past the bytes the kernel sent reads as `None`, never
//! as 0, and no accessor can panic. Fields are in host byte order.
//! [`TcpInfoBytes`] keeps a copy (at most [`field::SIZE`] bytes, what this
//! file knows) for a view that outlives the netlink datagram.

use super::Field;

/// Where each field lies, in bytes from the start of the struct; one byte is
/// a `usize`, more is a [`Field`]. `SIZE` is the size of the newest struct
/// known here (Linux 6.18).
pub mod field {
    use crate::wire::Field;
    pub const STATE: usize = 0;
    /// `TCP_CA_Open` 0, `Disorder` 1, `CWR` 2, `Recovery` 3, `Loss` 4.
    pub const CA_STATE: usize = 1;
    /// Unrecovered retransmits of the head segment (`icsk_retransmits`).
    pub const RETRANSMITS: usize = 2;
    pub const PROBES: usize = 3;
    pub const BACKOFF: usize = 4;
    /// `TCPI_OPT_*` bits.
    pub const OPTIONS: usize = 5;
    /// Bit fields `tcpi_snd_wscale : 4, tcpi_rcv_wscale : 4`.
    pub const WSCALE: usize = 6;
    /// Bit fields `tcpi_delivery_rate_app_limited : 1,
    /// tcpi_fastopen_client_fail : 2`.
    pub const APP_LIMITED: usize = 7;
    /// Microseconds.
    pub const RTO: Field = 8..12;
    pub const ATO: Field = 12..16;
    /// Bytes.
    pub const SND_MSS: Field = 16..20;
    pub const RCV_MSS: Field = 20..24;
    /// Segments.
    pub const UNACKED: Field = 24..28;
    pub const SACKED: Field = 28..32;
    pub const LOST: Field = 32..36;
    pub const RETRANS: Field = 36..40;
    /// Unused since Linux 4.15.
    pub const FACKETS: Field = 40..44;
    /// Milliseconds ago.
    pub const LAST_DATA_SENT: Field = 44..48;
    /// Never filled in ("not remembered, sorry").
    pub const LAST_ACK_SENT: Field = 48..52;
    pub const LAST_DATA_RECV: Field = 52..56;
    pub const LAST_ACK_RECV: Field = 56..60;
    /// Bytes.
    pub const PMTU: Field = 60..64;
    pub const RCV_SSTHRESH: Field = 64..68;
    /// Microseconds.
    pub const RTT: Field = 68..72;
    pub const RTTVAR: Field = 72..76;
    /// Segments; `0x7fff_ffff` (`TCP_INFINITE_SSTHRESH`) before the first loss.
    pub const SND_SSTHRESH: Field = 76..80;
    pub const SND_CWND: Field = 80..84;
    /// Bytes.
    pub const ADVMSS: Field = 84..88;
    pub const REORDERING: Field = 88..92;
    /// Microseconds.
    pub const RCV_RTT: Field = 92..96;
    /// Bytes.
    pub const RCV_SPACE: Field = 96..100;
    pub const TOTAL_RETRANS: Field = 100..104;
    // Linux 3.15 and later from here.
    /// Bytes per second; `u64::MAX` for no limit.
    pub const PACING_RATE: Field = 104..112;
    pub const MAX_PACING_RATE: Field = 112..120;
    pub const BYTES_ACKED: Field = 120..128;
    pub const BYTES_RECEIVED: Field = 128..136;
    pub const SEGS_OUT: Field = 136..140;
    pub const SEGS_IN: Field = 140..144;
    pub const NOTSENT_BYTES: Field = 144..148;
    /// Microseconds.
    pub const MIN_RTT: Field = 148..152;
    pub const DATA_SEGS_IN: Field = 152..156;
    pub const DATA_SEGS_OUT: Field = 156..160;
    /// Bytes per second.
    pub const DELIVERY_RATE: Field = 160..168;
    /// Microseconds.
    pub const BUSY_TIME: Field = 168..176;
    pub const RWND_LIMITED: Field = 176..184;
    pub const SNDBUF_LIMITED: Field = 184..192;
    /// Segments.
    pub const DELIVERED: Field = 192..196;
    pub const DELIVERED_CE: Field = 196..200;
    pub const BYTES_SENT: Field = 200..208;
    pub const BYTES_RETRANS: Field = 208..216;
    pub const DSACK_DUPS: Field = 216..220;
    pub const REORD_SEEN: Field = 220..224;
    pub const RCV_OOOPACK: Field = 224..228;
    /// Bytes, after scaling.
    pub const SND_WND: Field = 228..232;
    pub const RCV_WND: Field = 232..236;
    pub const REHASH: Field = 236..240;
    pub const TOTAL_RTO: Field = 240..242;
    pub const TOTAL_RTO_RECOVERIES: Field = 242..244;
    /// Milliseconds.
    pub const TOTAL_RTO_TIME: Field = 244..248;
    pub const RECEIVED_CE: Field = 248..252;
    /// Accurate ECN byte counters (Linux 6.18), read by no accessor yet.
    pub const ACCECN_BYTES: Field = 252..276;
    pub const ACCECN_FAIL_MODE: Field = 276..278;
    pub const ACCECN_OPT_SEEN: Field = 278..280;
    pub const SIZE: usize = 280;
}

crate::wire::enum_with_unknown! {
    /// The congestion-avoidance state (`TCP_CA_*`, `tcpi_ca_state`).
    pub enum CaState(u8) {
        Open = 0,
        Disorder = 1,
        Cwr = 2,
        Recovery = 3,
        Loss = 4,
    }
}

impl CaState {
    pub fn name(self) -> &'static str {
        match self {
            CaState::Open => "open",
            CaState::Disorder => "disorder",
            CaState::Cwr => "cwr",
            CaState::Recovery => "recovery",
            CaState::Loss => "loss",
            CaState::Unknown(_) => "unknown",
        }
    }
}

/// `TCPI_OPT_*`: what the handshake agreed on.
pub const TCPI_OPT_TIMESTAMPS: u8 = 1;
pub const TCPI_OPT_SACK: u8 = 2;
pub const TCPI_OPT_WSCALE: u8 = 4;
pub const TCPI_OPT_ECN: u8 = 8;
pub const TCPI_OPT_ECN_SEEN: u8 = 16;
pub const TCPI_OPT_SYN_DATA: u8 = 32;
pub const TCPI_OPT_USEC_TS: u8 = 64;
pub const TCPI_OPT_TFO_CHILD: u8 = 128;

/// A view over the bytes of a `struct tcp_info`, however many the kernel
/// sent. Each accessor is `None` when its field ends past them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpInfo<T: AsRef<[u8]>> {
    b: T,
}

impl<T: AsRef<[u8]>> TcpInfo<T> {
    /// Any length is a view; a short one just has fewer fields.
    #[inline]
    pub fn new(bytes: T) -> TcpInfo<T> {
        TcpInfo { b: bytes }
    }

    /// The bytes the kernel sent (past [`field::SIZE`] only in a view over
    /// borrowed bytes).
    #[inline]
    pub fn len(&self) -> usize {
        self.b.as_ref().len()
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    #[inline]
    fn u8_at(&self, at: usize) -> Option<u8> {
        self.b.as_ref().get(at).copied()
    }

    #[inline]
    fn u16_at(&self, f: Field) -> Option<u16> {
        self.b
            .as_ref()
            .get(f)
            .and_then(|b| b.try_into().ok())
            .map(u16::from_ne_bytes)
    }

    #[inline]
    fn u32_at(&self, f: Field) -> Option<u32> {
        self.b
            .as_ref()
            .get(f)
            .and_then(|b| b.try_into().ok())
            .map(u32::from_ne_bytes)
    }

    #[inline]
    fn u64_at(&self, f: Field) -> Option<u64> {
        self.b
            .as_ref()
            .get(f)
            .and_then(|b| b.try_into().ok())
            .map(u64::from_ne_bytes)
    }

    /// The kernel's TCP state number.
    pub fn state(&self) -> Option<u8> {
        self.u8_at(field::STATE)
    }
    pub fn ca_state(&self) -> Option<CaState> {
        self.u8_at(field::CA_STATE).map(CaState::from)
    }
    pub fn retransmits(&self) -> Option<u8> {
        self.u8_at(field::RETRANSMITS)
    }
    pub fn probes(&self) -> Option<u8> {
        self.u8_at(field::PROBES)
    }
    pub fn backoff(&self) -> Option<u8> {
        self.u8_at(field::BACKOFF)
    }
    /// `TCPI_OPT_*` bits.
    pub fn options(&self) -> Option<u8> {
        self.u8_at(field::OPTIONS)
    }
    /// Our send window scale (a C bit field: the low nibble where the
    /// compiler lays bit fields out from the least significant bit, as on
    /// little-endian Linux, the high one on big-endian).
    pub fn snd_wscale(&self) -> Option<u8> {
        let b = self.u8_at(field::WSCALE)?;
        Some(if cfg!(target_endian = "little") {
            b & 0x0f
        } else {
            b >> 4
        })
    }
    pub fn rcv_wscale(&self) -> Option<u8> {
        let b = self.u8_at(field::WSCALE)?;
        Some(if cfg!(target_endian = "little") {
            b >> 4
        } else {
            b & 0x0f
        })
    }
    /// The last delivery-rate sample was limited by the application, not
    /// the network.
    pub fn delivery_rate_app_limited(&self) -> Option<bool> {
        let b = self.u8_at(field::APP_LIMITED)?;
        Some(if cfg!(target_endian = "little") {
            b & 0x01 != 0
        } else {
            b & 0x80 != 0
        })
    }
    /// Why a TCP Fast Open attempt failed (0: none, or no attempt).
    pub fn fastopen_client_fail(&self) -> Option<u8> {
        let b = self.u8_at(field::APP_LIMITED)?;
        Some(if cfg!(target_endian = "little") {
            (b >> 1) & 0x03
        } else {
            (b >> 5) & 0x03
        })
    }
    pub fn rto_us(&self) -> Option<u32> {
        self.u32_at(field::RTO)
    }
    pub fn ato_us(&self) -> Option<u32> {
        self.u32_at(field::ATO)
    }
    pub fn snd_mss(&self) -> Option<u32> {
        self.u32_at(field::SND_MSS)
    }
    pub fn rcv_mss(&self) -> Option<u32> {
        self.u32_at(field::RCV_MSS)
    }
    pub fn unacked(&self) -> Option<u32> {
        self.u32_at(field::UNACKED)
    }
    pub fn sacked(&self) -> Option<u32> {
        self.u32_at(field::SACKED)
    }
    pub fn lost(&self) -> Option<u32> {
        self.u32_at(field::LOST)
    }
    /// Retransmitted segments not yet acknowledged.
    pub fn retrans(&self) -> Option<u32> {
        self.u32_at(field::RETRANS)
    }
    pub fn last_data_sent_ms(&self) -> Option<u32> {
        self.u32_at(field::LAST_DATA_SENT)
    }
    pub fn last_data_recv_ms(&self) -> Option<u32> {
        self.u32_at(field::LAST_DATA_RECV)
    }
    pub fn last_ack_recv_ms(&self) -> Option<u32> {
        self.u32_at(field::LAST_ACK_RECV)
    }
    pub fn pmtu(&self) -> Option<u32> {
        self.u32_at(field::PMTU)
    }
    pub fn rcv_ssthresh(&self) -> Option<u32> {
        self.u32_at(field::RCV_SSTHRESH)
    }
    /// Smoothed round-trip time.
    pub fn rtt_us(&self) -> Option<u32> {
        self.u32_at(field::RTT)
    }
    pub fn rttvar_us(&self) -> Option<u32> {
        self.u32_at(field::RTTVAR)
    }
    pub fn snd_ssthresh(&self) -> Option<u32> {
        self.u32_at(field::SND_SSTHRESH)
    }
    pub fn snd_cwnd(&self) -> Option<u32> {
        self.u32_at(field::SND_CWND)
    }
    pub fn advmss(&self) -> Option<u32> {
        self.u32_at(field::ADVMSS)
    }
    pub fn reordering(&self) -> Option<u32> {
        self.u32_at(field::REORDERING)
    }
    pub fn rcv_rtt_us(&self) -> Option<u32> {
        self.u32_at(field::RCV_RTT)
    }
    pub fn rcv_space(&self) -> Option<u32> {
        self.u32_at(field::RCV_SPACE)
    }
    /// Retransmitted segments over the connection's life.
    pub fn total_retrans(&self) -> Option<u32> {
        self.u32_at(field::TOTAL_RETRANS)
    }
    /// Bytes per second; `u64::MAX` for none.
    pub fn pacing_rate(&self) -> Option<u64> {
        self.u64_at(field::PACING_RATE)
    }
    pub fn max_pacing_rate(&self) -> Option<u64> {
        self.u64_at(field::MAX_PACING_RATE)
    }
    pub fn bytes_acked(&self) -> Option<u64> {
        self.u64_at(field::BYTES_ACKED)
    }
    pub fn bytes_received(&self) -> Option<u64> {
        self.u64_at(field::BYTES_RECEIVED)
    }
    pub fn segs_out(&self) -> Option<u32> {
        self.u32_at(field::SEGS_OUT)
    }
    pub fn segs_in(&self) -> Option<u32> {
        self.u32_at(field::SEGS_IN)
    }
    pub fn notsent_bytes(&self) -> Option<u32> {
        self.u32_at(field::NOTSENT_BYTES)
    }
    pub fn min_rtt_us(&self) -> Option<u32> {
        self.u32_at(field::MIN_RTT)
    }
    pub fn data_segs_in(&self) -> Option<u32> {
        self.u32_at(field::DATA_SEGS_IN)
    }
    pub fn data_segs_out(&self) -> Option<u32> {
        self.u32_at(field::DATA_SEGS_OUT)
    }
    /// Bytes per second.
    pub fn delivery_rate(&self) -> Option<u64> {
        self.u64_at(field::DELIVERY_RATE)
    }
    pub fn busy_time_us(&self) -> Option<u64> {
        self.u64_at(field::BUSY_TIME)
    }
    pub fn rwnd_limited_us(&self) -> Option<u64> {
        self.u64_at(field::RWND_LIMITED)
    }
    pub fn sndbuf_limited_us(&self) -> Option<u64> {
        self.u64_at(field::SNDBUF_LIMITED)
    }
    pub fn delivered(&self) -> Option<u32> {
        self.u32_at(field::DELIVERED)
    }
    pub fn delivered_ce(&self) -> Option<u32> {
        self.u32_at(field::DELIVERED_CE)
    }
    pub fn bytes_sent(&self) -> Option<u64> {
        self.u64_at(field::BYTES_SENT)
    }
    pub fn bytes_retrans(&self) -> Option<u64> {
        self.u64_at(field::BYTES_RETRANS)
    }
    pub fn dsack_dups(&self) -> Option<u32> {
        self.u32_at(field::DSACK_DUPS)
    }
    pub fn reord_seen(&self) -> Option<u32> {
        self.u32_at(field::REORD_SEEN)
    }
    pub fn rcv_ooopack(&self) -> Option<u32> {
        self.u32_at(field::RCV_OOOPACK)
    }
    pub fn snd_wnd(&self) -> Option<u32> {
        self.u32_at(field::SND_WND)
    }
    pub fn rcv_wnd(&self) -> Option<u32> {
        self.u32_at(field::RCV_WND)
    }
    pub fn rehash(&self) -> Option<u32> {
        self.u32_at(field::REHASH)
    }
    pub fn total_rto(&self) -> Option<u16> {
        self.u16_at(field::TOTAL_RTO)
    }
    pub fn total_rto_recoveries(&self) -> Option<u16> {
        self.u16_at(field::TOTAL_RTO_RECOVERIES)
    }
    pub fn total_rto_time_ms(&self) -> Option<u32> {
        self.u32_at(field::TOTAL_RTO_TIME)
    }
    pub fn received_ce(&self) -> Option<u32> {
        self.u32_at(field::RECEIVED_CE)
    }
}

impl TcpInfo<&[u8]> {
    /// A copy that outlives the datagram: the first [`field::SIZE`] bytes
    /// (a newer kernel's longer struct loses only fields nothing here reads).
    pub fn to_owned(&self) -> TcpInfo<TcpInfoBytes> {
        TcpInfo::new(TcpInfoBytes::new(self.b))
    }
}

/// An owned copy of up to [`field::SIZE`] bytes of a `struct tcp_info`:
/// one fixed-size value, no allocation of its own.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct TcpInfoBytes {
    len: u16,
    bytes: [u8; field::SIZE],
}

impl TcpInfoBytes {
    pub fn new(b: &[u8]) -> TcpInfoBytes {
        let n = b.len().min(field::SIZE);
        let mut bytes = [0; field::SIZE];
        bytes[..n].copy_from_slice(&b[..n]);
        #[allow(clippy::cast_possible_truncation, reason = "n <= field::SIZE, 280")]
        let len = n as u16;
        TcpInfoBytes { len, bytes }
    }
}

impl AsRef<[u8]> for TcpInfoBytes {
    #[inline]
    fn as_ref(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or_default()
    }
}

impl std::fmt::Debug for TcpInfoBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TcpInfoBytes({} bytes)", self.len)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::wire::tests::vector;

    /// The `INET_DIAG_INFO` value of the captured bulk sender in
    /// tests/vectors/sock-diag-tcp-info.hex (Linux 6.18, 280 bytes).
    pub(crate) fn captured() -> Vec<u8> {
        let layers = vector("sock-diag-tcp-info.hex");
        // nlmsghdr, inet_diag_msg, then one attribute a line; INFO is type 2.
        let attr = layers
            .iter()
            .skip(2)
            .find(|a| a.get(2..4) == Some(&[2, 0]))
            .expect("an INET_DIAG_INFO line");
        attr[4..4 + field::SIZE].to_vec()
    }

    #[test]
    fn fields_tile_the_struct() {
        use field::*;
        let one = |at: usize| at..at + 1;
        let all = [
            one(STATE),
            one(CA_STATE),
            one(RETRANSMITS),
            one(PROBES),
            one(BACKOFF),
            one(OPTIONS),
            one(WSCALE),
            one(APP_LIMITED),
            RTO,
            ATO,
            SND_MSS,
            RCV_MSS,
            UNACKED,
            SACKED,
            LOST,
            RETRANS,
            FACKETS,
            LAST_DATA_SENT,
            LAST_ACK_SENT,
            LAST_DATA_RECV,
            LAST_ACK_RECV,
            PMTU,
            RCV_SSTHRESH,
            RTT,
            RTTVAR,
            SND_SSTHRESH,
            SND_CWND,
            ADVMSS,
            REORDERING,
            RCV_RTT,
            RCV_SPACE,
            TOTAL_RETRANS,
            PACING_RATE,
            MAX_PACING_RATE,
            BYTES_ACKED,
            BYTES_RECEIVED,
            SEGS_OUT,
            SEGS_IN,
            NOTSENT_BYTES,
            MIN_RTT,
            DATA_SEGS_IN,
            DATA_SEGS_OUT,
            DELIVERY_RATE,
            BUSY_TIME,
            RWND_LIMITED,
            SNDBUF_LIMITED,
            DELIVERED,
            DELIVERED_CE,
            BYTES_SENT,
            BYTES_RETRANS,
            DSACK_DUPS,
            REORD_SEEN,
            RCV_OOOPACK,
            SND_WND,
            RCV_WND,
            REHASH,
            TOTAL_RTO,
            TOTAL_RTO_RECOVERIES,
            TOTAL_RTO_TIME,
            RECEIVED_CE,
            ACCECN_BYTES,
            ACCECN_FAIL_MODE,
            ACCECN_OPT_SEEN,
        ];
        crate::wire::sock_diag::tests::assert_tiles("tcp_info", &all, SIZE);
    }

    /// Every field of the capture, as `ss -tin` showed it a moment later
    /// (rto:208 rtt:5.343/0.785 mss:1448 pmtu:1500 rcvmss:536 advmss:1448
    /// cwnd:10 ssthresh:138 retrans:0/55 ...).
    #[test]
    #[cfg(target_endian = "little")]
    fn captured_bulk_sender_every_field() {
        let bytes = captured();
        let t = TcpInfo::new(&bytes[..]);
        assert_eq!(t.len(), 280);
        assert_eq!((t.state(), t.ca_state()), (Some(1), Some(CaState::Open)));
        assert_eq!(
            (t.retransmits(), t.probes(), t.backoff()),
            (Some(0), Some(0), Some(0))
        );
        assert_eq!(
            t.options(),
            Some(TCPI_OPT_TIMESTAMPS | TCPI_OPT_SACK | TCPI_OPT_WSCALE)
        );
        assert_eq!((t.snd_wscale(), t.rcv_wscale()), (Some(10), Some(10)));
        assert_eq!(t.delivery_rate_app_limited(), Some(false));
        assert_eq!(t.fastopen_client_fail(), Some(0));
        assert_eq!((t.rto_us(), t.ato_us()), (Some(208_000), Some(0)));
        assert_eq!((t.snd_mss(), t.rcv_mss()), (Some(1448), Some(536)));
        assert_eq!(
            (t.unacked(), t.sacked(), t.lost(), t.retrans()),
            (Some(10), Some(0), Some(0), Some(0))
        );
        assert_eq!(
            (
                t.last_data_sent_ms(),
                t.last_data_recv_ms(),
                t.last_ack_recv_ms()
            ),
            (Some(0), Some(1524), Some(0))
        );
        assert_eq!((t.pmtu(), t.rcv_ssthresh()), (Some(1500), Some(64088)));
        assert_eq!((t.rtt_us(), t.rttvar_us()), (Some(5325), Some(881)));
        assert_eq!((t.snd_ssthresh(), t.snd_cwnd()), (Some(138), Some(10)));
        assert_eq!((t.advmss(), t.reordering()), (Some(1448), Some(3)));
        assert_eq!((t.rcv_rtt_us(), t.rcv_space()), (Some(0), Some(14480)));
        assert_eq!(t.total_retrans(), Some(55));
        assert_eq!(t.pacing_rate(), Some(2_423_119));
        assert_eq!(t.max_pacing_rate(), Some(u64::MAX));
        assert_eq!(
            (t.bytes_acked(), t.bytes_received()),
            (Some(3_592_329), Some(0))
        );
        assert_eq!((t.segs_out(), t.segs_in()), (Some(2551), Some(2421)));
        assert_eq!(
            (t.notsent_bytes(), t.min_rtt_us()),
            (Some(826_968), Some(67))
        );
        assert_eq!((t.data_segs_in(), t.data_segs_out()), (Some(0), Some(2549)));
        assert_eq!(t.delivery_rate(), Some(2_392_669));
        assert_eq!(
            (t.busy_time_us(), t.rwnd_limited_us(), t.sndbuf_limited_us()),
            (Some(1_500_000), Some(32_000), Some(0))
        );
        assert_eq!((t.delivered(), t.delivered_ce()), (Some(2483), Some(0)));
        assert_eq!(
            (t.bytes_sent(), t.bytes_retrans()),
            (Some(3_688_352), Some(78_648))
        );
        assert_eq!(
            (t.dsack_dups(), t.reord_seen(), t.rcv_ooopack()),
            (Some(0), Some(0), Some(0))
        );
        assert_eq!((t.snd_wnd(), t.rcv_wnd()), (Some(5_985_280), Some(64_512)));
        assert_eq!(t.rehash(), Some(0));
        assert_eq!(
            (t.total_rto(), t.total_rto_recoveries()),
            (Some(0), Some(0))
        );
        assert_eq!((t.total_rto_time_ms(), t.received_ce()), (Some(0), Some(0)));
        // The owned copy reads the same.
        let owned = t.to_owned();
        assert_eq!(owned.len(), 280);
        assert_eq!(owned.bytes_retrans(), Some(78_648));
        assert_eq!(
            format!("{:?}", TcpInfoBytes::new(&bytes)),
            "TcpInfoBytes(280 bytes)"
        );
    }

    /// Older kernels: the struct stops after `total_retrans` (Linux 3.14,
    /// 104 bytes), `segs_in` (4.1, 144), `delivery_rate` (4.9, 168) or
    /// `snd_wnd` (5.4, 232). What they did not send is `None`, not 0.
    #[test]
    fn shorter_structs_lose_only_their_missing_fields() {
        let bytes = captured();
        for (len, last_present, first_missing) in [
            (104, "total_retrans", "pacing_rate"),
            (144, "segs_in", "notsent_bytes"),
            (168, "delivery_rate", "busy_time"),
            (232, "snd_wnd", "rcv_wnd"),
        ] {
            let t = TcpInfo::new(&bytes[..len]);
            let present = |name: &str| match name {
                "total_retrans" => t.total_retrans().is_some(),
                "pacing_rate" => t.pacing_rate().is_some(),
                "segs_in" => t.segs_in().is_some(),
                "notsent_bytes" => t.notsent_bytes().is_some(),
                "delivery_rate" => t.delivery_rate().is_some(),
                "busy_time" => t.busy_time_us().is_some(),
                "snd_wnd" => t.snd_wnd().is_some(),
                "rcv_wnd" => t.rcv_wnd().is_some(),
                _ => unreachable!(),
            };
            assert!(present(last_present), "{len} bytes: {last_present}");
            assert!(!present(first_missing), "{len} bytes: {first_missing}");
            assert_eq!(t.snd_cwnd(), Some(10), "{len} bytes");
            assert_eq!(t.received_ce(), None, "{len} bytes");
            assert_eq!(t.to_owned().len(), len);
        }
        // A field cut in the middle is missing too.
        let t = TcpInfo::new(&bytes[..field::RTT.start + 2]);
        assert_eq!((t.rtt_us(), t.rcv_ssthresh()), (None, Some(64088)));
        let empty = TcpInfo::new(&[][..]);
        assert!(empty.is_empty());
        assert_eq!(
            (empty.state(), empty.snd_wscale(), empty.rto_us()),
            (None, None, None)
        );
    }

    #[test]
    fn longer_structs_keep_what_is_known() {
        let mut bytes = captured();
        bytes.extend([0xee; 40]);
        let t = TcpInfo::new(&bytes[..]);
        assert_eq!(t.len(), 320);
        let owned = t.to_owned();
        assert_eq!(owned.len(), field::SIZE);
        assert_eq!(owned.received_ce(), t.received_ce());
    }

    #[test]
    #[cfg(target_endian = "little")]
    fn bit_fields() {
        let mut b = [0u8; 8];
        b[field::WSCALE] = 0x7e; // rcv 7, snd 14
        b[field::APP_LIMITED] = 0b101; // app limited, fastopen fail 2
        let t = TcpInfo::new(&b[..]);
        assert_eq!((t.snd_wscale(), t.rcv_wscale()), (Some(14), Some(7)));
        assert_eq!(t.delivery_rate_app_limited(), Some(true));
        assert_eq!(t.fastopen_client_fail(), Some(2));
        assert_eq!(t.rto_us(), None);
    }

    #[test]
    fn ca_states() {
        let named = [
            (CaState::Open, 0),
            (CaState::Disorder, 1),
            (CaState::Cwr, 2),
            (CaState::Recovery, 3),
            (CaState::Loss, 4),
        ];
        crate::wire::tests::assert_numeric_enum(&named, 0..=u8::MAX, CaState::Unknown);
        assert_eq!(CaState::from(3).name(), "recovery");
        assert_eq!(CaState::from(9).name(), "unknown");
    }
}
