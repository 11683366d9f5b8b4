//! `ICMPv6` (RFC 4443) as far as Neighbor Discovery (RFC 4861) needs it: the
//! header and its checksum over the IPv6 pseudo-header, Neighbor
//! Solicitations and Advertisements with their options, whole Ethernet
//! frames for them, and the checks RFC 4861 7.1.2 asks of a received
//! advertisement; and echo requests and replies as whole frames
//! ([`EchoFrame`]), for asking every node on a link at once.
//!
//! ```text
//!  0      1      2             4                   8                  24
//! +------+------+-------------+-------------------+------------------+---------
//! | type | code |  checksum   | NA: R S O + 29    | target address   | options
//! | 135/ |  0   |             | reserved bits;    | (16 bytes)       | (type, len
//! | 136  |      |             | NS: 32 reserved   |                  |  in 8s, data)
//! +------+------+-------------+-------------------+------------------+---------
//! ```
//! Views: [`Packet`] is any `ICMPv6` message (4-byte header), [`NdMessage`]
//! an NS or NA (24 bytes and its options). Values: [`NdRepr`] is the
//! message, [`NdpFrame`] the whole frame (Ethernet + IPv6 + message) with
//! builders for what nettool sends. Reserved bits are ignored on parse and
//! zero on emit. Link-layer address options must be 8 bytes (Ethernet);
//! of each kind of option the first one counts; options nettool has no use
//! for are skipped, but every option's length is checked, as 7.1.2 asks.

use std::fmt;
use std::net::Ipv6Addr;

use super::ethernet::{self, Frame};
use super::ipv6::{self, ETHERTYPE_IPV6, NEXT_HEADER_ICMPV6};
use super::{MacAddr, WireError};

/// The `ICMPv6` header: type, code, checksum.
pub const HEADER_LEN: usize = 4;
/// An NS or NA without options.
pub const ND_MESSAGE_LEN: usize = field::OPTIONS;
/// The hop limit every Neighbor Discovery message is sent with and must
/// arrive with: a router on the way would have lowered it.
pub const ND_HOP_LIMIT: u8 = 255;
/// `ff02::1`, every node on the link: where unsolicited NAs go.
pub const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);

/// Where the fields lie: the `ICMPv6` header, then an NS/NA, then (relative
/// to the option's start) an option.
mod field {
    use crate::wire::Field;

    pub const TYPE: usize = 0;
    pub const CODE: usize = 1;
    pub const CHECKSUM: Field = 2..4;
    /// NA: R, S and O in the top three bits, then reserved. NS: reserved.
    pub const FLAGS: usize = 4;
    pub const RESERVED: Field = 4..8;
    pub const TARGET: Field = 8..24;
    pub const OPTIONS: usize = 24;

    pub const OPT_TYPE: usize = 0;
    /// In units of 8 bytes, type and length included; 0 is invalid.
    pub const OPT_LEN: usize = 1;
    pub const OPT_DATA: usize = 2;
    /// A link-layer address option's address (Ethernet: 6 bytes).
    pub const OPT_LLADDR: Field = 2..8;
    /// The only option size nettool writes: 8 bytes.
    pub const OPT_UNIT: usize = 8;
}

const FLAG_ROUTER: u8 = 0x80;
const FLAG_SOLICITED: u8 = 0x40;
const FLAG_OVERRIDE: u8 = 0x20;

super::enum_with_unknown! {
    /// The `ICMPv6` message type.
    pub enum Message(u8) {
        DestinationUnreachable = 1,
        PacketTooBig = 2,
        TimeExceeded = 3,
        ParameterProblem = 4,
        EchoRequest = 128,
        EchoReply = 129,
        RouterSolicit = 133,
        RouterAdvert = 134,
        NeighborSolicit = 135,
        NeighborAdvert = 136,
        Redirect = 137,
    }
}

super::enum_with_unknown! {
    /// A Neighbor Discovery option's type.
    pub enum OptionKind(u8) {
        SourceLinkLayerAddr = 1,
        TargetLinkLayerAddr = 2,
        PrefixInformation = 3,
        RedirectedHeader = 4,
        Mtu = 5,
        /// RFC 7527 (enhanced DAD): Linux puts one in its DAD probes.
        Nonce = 14,
    }
}

/// The ones' complement sum of 16-bit words, `bytes` padded with a zero
/// byte to an even length.
fn add_words(acc: &mut u64, bytes: &[u8]) {
    for w in bytes.chunks(2) {
        let hi = w[0];
        let lo = w.get(1).copied().unwrap_or(0);
        *acc += u64::from(u16::from_be_bytes([hi, lo]));
    }
}

/// The sum of the pseudo-header (RFC 8200 8.1) and `parts` of the message,
/// folded to 16 bits. Each part starts at an even offset of the message.
fn folded_sum(src: Ipv6Addr, dst: Ipv6Addr, total_len: usize, parts: &[&[u8]]) -> u16 {
    let mut acc = 0u64;
    add_words(&mut acc, &src.octets());
    add_words(&mut acc, &dst.octets());
    // An IPv6 payload is at most 65535 bytes; anything longer cannot be
    // on the wire, and the saturated length keeps the sum defined.
    add_words(
        &mut acc,
        &u32::try_from(total_len).unwrap_or(u32::MAX).to_be_bytes(),
    );
    add_words(&mut acc, &[0, 0, 0, NEXT_HEADER_ICMPV6]);
    for p in parts {
        add_words(&mut acc, p);
    }
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    u16::try_from(acc).unwrap_or(0xffff)
}

/// The checksum for an `ICMPv6` `message` from `src` to `dst`: what goes in
/// its checksum field, the field's current bytes counted as zero.
pub fn checksum(src: Ipv6Addr, dst: Ipv6Addr, message: &[u8]) -> u16 {
    let head = message.get(..field::CHECKSUM.start).unwrap_or(message);
    let tail = message.get(field::CHECKSUM.end..).unwrap_or(&[]);
    !folded_sum(src, dst, message.len(), &[head, tail])
}

/// Whether `message`'s checksum field is right for `src` and `dst`: the
/// whole sum, the field included, is all ones.
pub fn checksum_ok(src: Ipv6Addr, dst: Ipv6Addr, message: &[u8]) -> bool {
    message.len() >= HEADER_LEN && folded_sum(src, dst, message.len(), &[message]) == 0xffff
}

/// The solicited-node multicast group of `addr` (RFC 4291 2.7.1):
/// `ff02::1:ff00:0/104` plus its low 24 bits. Where an NS for `addr` goes.
pub fn solicited_node(addr: Ipv6Addr) -> Ipv6Addr {
    let o = addr.octets();
    Ipv6Addr::from([
        0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff, o[13], o[14], o[15],
    ])
}

/// The Ethernet address an IPv6 multicast `group` is sent to (RFC 2464
/// 7): 33:33 and the group's low 32 bits. `None` for a unicast address.
pub fn multicast_mac(group: Ipv6Addr) -> Option<MacAddr> {
    if !group.is_multicast() {
        return None;
    }
    let o = group.octets();
    Some(MacAddr([0x33, 0x33, o[12], o[13], o[14], o[15]]))
}

/// A checked view over any `ICMPv6` message: at least the 4-byte header.
#[derive(Debug, Clone)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// # Errors
    /// `Truncated` below 4 bytes.
    pub fn new_checked(buffer: T) -> Result<Packet<T>, WireError> {
        if buffer.as_ref().len() < HEADER_LEN {
            return Err(WireError::Truncated("ICMPv6 header is 4 bytes"));
        }
        Ok(Packet { buffer })
    }

    fn b(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    pub fn msg_type(&self) -> Message {
        Message::from(self.b()[field::TYPE])
    }

    pub fn code(&self) -> u8 {
        self.b()[field::CODE]
    }

    /// The checksum field as sent.
    pub fn checksum(&self) -> u16 {
        let b = &self.b()[field::CHECKSUM];
        u16::from_be_bytes([b[0], b[1]])
    }

    /// Whether the checksum is right for this message from `src` to `dst`.
    pub fn verify_checksum(&self, src: Ipv6Addr, dst: Ipv6Addr) -> bool {
        checksum_ok(src, dst, self.b())
    }

    /// The whole message, header included.
    pub fn as_bytes(&self) -> &[u8] {
        self.b()
    }

    pub fn into_inner(self) -> T {
        self.buffer
    }
}

/// A checked view over a Neighbor Solicitation or Advertisement: the
/// type is 135 or 136 and the 24 fixed bytes are there. Options are
/// checked as they are read ([`NdMessage::options`]).
#[derive(Debug, Clone)]
pub struct NdMessage<T: AsRef<[u8]>> {
    /// The ICMPv6 view it refines: the header accessors are its.
    packet: Packet<T>,
}

impl<T: AsRef<[u8]>> NdMessage<T> {
    /// # Errors
    /// `Malformed` for another `ICMPv6` type, `Truncated` below 24 bytes.
    pub fn new_checked(buffer: T) -> Result<NdMessage<T>, WireError> {
        let b = buffer.as_ref();
        match b.first().map(|&t| Message::from(t)) {
            Some(Message::NeighborSolicit | Message::NeighborAdvert) => {}
            Some(_) => {
                return Err(WireError::Malformed(
                    "ICMPv6 type is not a neighbor solicitation or advertisement",
                ));
            }
            None => return Err(WireError::Truncated("ICMPv6 message is empty")),
        }
        if b.len() < ND_MESSAGE_LEN {
            return Err(WireError::Truncated(
                "neighbor solicitation/advertisement is 24 bytes",
            ));
        }
        Ok(NdMessage {
            packet: Packet { buffer },
        })
    }

    fn b(&self) -> &[u8] {
        self.packet.as_bytes()
    }

    /// `NeighborSolicit` or `NeighborAdvert`.
    pub fn msg_type(&self) -> Message {
        self.packet.msg_type()
    }

    pub fn code(&self) -> u8 {
        self.packet.code()
    }

    pub fn checksum(&self) -> u16 {
        self.packet.checksum()
    }

    pub fn verify_checksum(&self, src: Ipv6Addr, dst: Ipv6Addr) -> bool {
        self.packet.verify_checksum(src, dst)
    }

    /// The R, S and O flags (an NA's; an NS's reserved bits read the same
    /// way and mean nothing).
    pub fn flags(&self) -> NaFlags {
        NaFlags::from_byte(self.b()[field::FLAGS])
    }

    /// The 32 bits after the checksum, flags included.
    pub fn reserved(&self) -> u32 {
        let b = &self.b()[field::RESERVED];
        u32::from_be_bytes([b[0], b[1], b[2], b[3]])
    }

    pub fn target(&self) -> Ipv6Addr {
        let octets: [u8; 16] = self.b()[field::TARGET].try_into().unwrap_or_default();
        Ipv6Addr::from(octets)
    }

    /// The options, each checked as it is reached.
    pub fn options(&self) -> Options<'_> {
        Options {
            rest: &self.b()[field::OPTIONS..],
        }
    }
}

/// One option as found: its type and the bytes after type and length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawOption<'a> {
    pub kind: OptionKind,
    pub data: &'a [u8],
}

/// The options of an NS/NA in order. After an error (length 0, or an
/// option running past the end) it yields nothing more: the rest cannot
/// be framed.
#[derive(Debug, Clone)]
pub struct Options<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Options<'a> {
    type Item = Result<RawOption<'a>, WireError>;

    fn next(&mut self) -> Option<Self::Item> {
        let rest = self.rest;
        if rest.is_empty() {
            return None;
        }
        self.rest = &[];
        let Some(&units) = rest.get(field::OPT_LEN) else {
            return Some(Err(WireError::Truncated("ND option header is 2 bytes")));
        };
        let len = usize::from(units) * field::OPT_UNIT;
        if len == 0 {
            return Some(Err(WireError::Malformed("ND option length is 0")));
        }
        let Some(opt) = rest.get(..len) else {
            return Some(Err(WireError::Truncated("ND option runs past the end")));
        };
        self.rest = &rest[len..];
        Some(Ok(RawOption {
            kind: OptionKind::from(opt[field::OPT_TYPE]),
            data: &opt[field::OPT_DATA..],
        }))
    }
}

/// An NA's flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct NaFlags {
    /// R: the sender is a router.
    pub router: bool,
    /// S: an answer to a solicitation (never on a multicast NA).
    pub solicited: bool,
    /// O: replace a cached link-layer address.
    pub override_: bool,
}

impl NaFlags {
    fn from_byte(b: u8) -> NaFlags {
        NaFlags {
            router: b & FLAG_ROUTER != 0,
            solicited: b & FLAG_SOLICITED != 0,
            override_: b & FLAG_OVERRIDE != 0,
        }
    }

    fn to_byte(self) -> u8 {
        let bit = |on: bool, b: u8| if on { b } else { 0 };
        bit(self.router, FLAG_ROUTER)
            | bit(self.solicited, FLAG_SOLICITED)
            | bit(self.override_, FLAG_OVERRIDE)
    }
}

/// As ndisc6 and tcpdump list them: the letters of the set flags
/// (`RSO`, `SO`, `O`), `-` for none.
impl fmt::Display for NaFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if *self == NaFlags::default() {
            return f.write_str("-");
        }
        for (on, c) in [
            (self.router, "R"),
            (self.solicited, "S"),
            (self.override_, "O"),
        ] {
            if on {
                f.write_str(c)?;
            }
        }
        Ok(())
    }
}

/// A Neighbor Solicitation as values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NeighborSolicit {
    pub target: Ipv6Addr,
    /// The source link-layer address option; absent in DAD probes.
    pub source_mac: Option<MacAddr>,
    /// RFC 7527's nonce (6 bytes, the size Linux sends; longer nonces are
    /// skipped as unknown options). A DAD probe that comes back with our
    /// own nonce is our own, looped back, not a duplicate.
    pub nonce: Option<[u8; 6]>,
}

/// A Neighbor Advertisement as values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NeighborAdvert {
    pub flags: NaFlags,
    pub target: Ipv6Addr,
    /// The target link-layer address option.
    pub target_mac: Option<MacAddr>,
}

/// An NS or NA as values. Code and checksum are not kept: `emit` writes
/// code 0 and the right checksum; received ones are judged by
/// [`validate_advert`] on the bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NdRepr {
    Solicit(NeighborSolicit),
    Advert(NeighborAdvert),
}

/// The 6-byte data of a link-layer address option.
fn link_layer(data: &[u8]) -> Result<MacAddr, WireError> {
    // `data` starts after type and length; on Ethernet the option is
    // exactly 8 bytes, so 6 remain.
    if data.len() != field::OPT_LLADDR.len() {
        return Err(WireError::Malformed(
            "link-layer address option is not 8 bytes (Ethernet)",
        ));
    }
    MacAddr::from_slice(data).ok_or(WireError::Malformed("link-layer address"))
}

impl NdRepr {
    /// Parse the message and its options.
    ///
    /// # Errors
    /// Any option error ([`Options`]), or a link-layer address option of
    /// another size than 8 bytes.
    pub fn parse<T: AsRef<[u8]>>(m: &NdMessage<T>) -> Result<NdRepr, WireError> {
        let (mut source_mac, mut target_mac, mut nonce) = (None, None, None);
        for opt in m.options() {
            let opt = opt?;
            match opt.kind {
                OptionKind::SourceLinkLayerAddr => {
                    let mac = link_layer(opt.data)?;
                    source_mac.get_or_insert(mac);
                }
                OptionKind::TargetLinkLayerAddr => {
                    let mac = link_layer(opt.data)?;
                    target_mac.get_or_insert(mac);
                }
                OptionKind::Nonce => {
                    if let Ok(n) = <[u8; 6]>::try_from(opt.data) {
                        nonce.get_or_insert(n);
                    }
                }
                _ => {}
            }
        }
        let target = m.target();
        Ok(if m.msg_type() == Message::NeighborSolicit {
            NdRepr::Solicit(NeighborSolicit {
                target,
                source_mac,
                nonce,
            })
        } else {
            NdRepr::Advert(NeighborAdvert {
                flags: m.flags(),
                target,
                target_mac,
            })
        })
    }

    pub fn target(&self) -> Ipv6Addr {
        match self {
            NdRepr::Solicit(s) => s.target,
            NdRepr::Advert(a) => a.target,
        }
    }

    fn options_len(&self) -> usize {
        let n = match self {
            NdRepr::Solicit(s) => {
                usize::from(s.source_mac.is_some()) + usize::from(s.nonce.is_some())
            }
            NdRepr::Advert(a) => usize::from(a.target_mac.is_some()),
        };
        n * field::OPT_UNIT
    }

    /// The message's length: 24 bytes and 8 per option.
    pub fn buffer_len(&self) -> usize {
        ND_MESSAGE_LEN + self.options_len()
    }

    /// Write the message at the start of `buf` with the checksum for
    /// `src` -> `dst`; the options in the order Linux sends them (link-layer
    /// address, then nonce). Returns the length written.
    ///
    /// # Errors
    /// `Truncated` when `buf` is shorter than [`NdRepr::buffer_len`].
    pub fn emit(&self, src: Ipv6Addr, dst: Ipv6Addr, buf: &mut [u8]) -> Result<usize, WireError> {
        let len = self.buffer_len();
        let b = buf
            .get_mut(..len)
            .ok_or(WireError::Truncated("buffer too short for the ND message"))?;
        let (kind, flags, target) = match self {
            NdRepr::Solicit(s) => (Message::NeighborSolicit, 0, s.target),
            NdRepr::Advert(a) => (Message::NeighborAdvert, a.flags.to_byte(), a.target),
        };
        b[field::TYPE] = kind.into();
        b[field::CODE] = 0;
        b[field::CHECKSUM].fill(0);
        b[field::RESERVED].fill(0);
        b[field::FLAGS] = flags;
        b[field::TARGET].copy_from_slice(&target.octets());
        let mut at = field::OPTIONS;
        let mut put = |kind: OptionKind, data: [u8; 6]| {
            let opt = &mut b[at..at + field::OPT_UNIT];
            opt[field::OPT_TYPE] = kind.into();
            opt[field::OPT_LEN] = 1;
            opt[field::OPT_LLADDR].copy_from_slice(&data);
            at += field::OPT_UNIT;
        };
        match self {
            NdRepr::Solicit(s) => {
                if let Some(mac) = s.source_mac {
                    put(OptionKind::SourceLinkLayerAddr, mac.0);
                }
                if let Some(n) = s.nonce {
                    put(OptionKind::Nonce, n);
                }
            }
            NdRepr::Advert(a) => {
                if let Some(mac) = a.target_mac {
                    put(OptionKind::TargetLinkLayerAddr, mac.0);
                }
            }
        }
        let sum = checksum(src, dst, b);
        b[field::CHECKSUM].copy_from_slice(&sum.to_be_bytes());
        Ok(len)
    }
}

/// A whole Neighbor Discovery frame (Ethernet, IPv6, NS/NA) as values.
/// The IPv6 traffic class and flow label are not kept (Linux sends 0 and
/// ND has no use for them); `emit` writes 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NdpFrame {
    pub eth_dst: MacAddr,
    pub eth_src: MacAddr,
    pub ip_src: Ipv6Addr,
    pub ip_dst: Ipv6Addr,
    pub hop_limit: u8,
    pub message: NdRepr,
}

impl NdpFrame {
    /// Parse an Ethernet frame carrying an NS or NA after the IPv6 header
    /// and any options headers ([`ipv6::Packet::upper_layer`]: the kernel
    /// takes one behind them, though ND senders put none there; they are
    /// not kept, and `emit` writes none).
    ///
    /// # Errors
    /// `Truncated`/`Malformed` from each layer; `Malformed` for another
    /// ethertype, next header or `ICMPv6` type.
    pub fn parse(frame: &[u8]) -> Result<NdpFrame, WireError> {
        let f = Frame::new_checked(frame)?;
        if f.ethertype() != ETHERTYPE_IPV6 {
            return Err(WireError::Malformed("ethertype is not IPv6"));
        }
        let ip = ipv6::Packet::new_checked(f.payload())?;
        let (next, icmp) = ip.upper_layer()?;
        if next != NEXT_HEADER_ICMPV6 {
            return Err(WireError::Malformed("IPv6 next header is not ICMPv6"));
        }
        let message = NdRepr::parse(&NdMessage::new_checked(icmp)?)?;
        Ok(NdpFrame {
            eth_dst: f.dst(),
            eth_src: f.src(),
            ip_src: ip.src(),
            ip_dst: ip.dst(),
            hop_limit: ip.hop_limit(),
            message,
        })
    }

    /// The frame's length: 14 + 40 + the message.
    pub fn frame_len(&self) -> usize {
        ethernet::HEADER_LEN + ipv6::HEADER_LEN + self.message.buffer_len()
    }

    /// Write the frame at the start of `buf`; returns its length.
    ///
    /// # Errors
    /// `Truncated` when `buf` is shorter than [`NdpFrame::frame_len`].
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, WireError> {
        let len = self.frame_len();
        let b = buf
            .get_mut(..len)
            .ok_or(WireError::Truncated("buffer too short for the ND frame"))?;
        let (eth, rest) = b.split_at_mut(ethernet::HEADER_LEN);
        let (ip, icmp) = rest.split_at_mut(ipv6::HEADER_LEN);
        ethernet::Repr {
            dst: self.eth_dst,
            src: self.eth_src,
            ethertype: ETHERTYPE_IPV6,
        }
        .emit(&mut Frame::new_checked(eth)?);
        ipv6::Repr {
            traffic_class: 0,
            flow_label: 0,
            payload_len: u16::try_from(icmp.len())
                .map_err(|_| WireError::Malformed("ND message over 65535 bytes"))?,
            next_header: NEXT_HEADER_ICMPV6,
            hop_limit: self.hop_limit,
            src: self.ip_src,
            dst: self.ip_dst,
        }
        .emit(ip)?;
        self.message.emit(self.ip_src, self.ip_dst, icmp)?;
        Ok(len)
    }

    /// The frame as a new `Vec`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = vec![0; self.frame_len()];
        // The buffer is exactly frame_len() long, which is all emit needs.
        let n = self.emit(&mut v).unwrap_or(0);
        v.truncate(n);
        v
    }

    /// A Neighbor Solicitation for `target` from `our_ip` to its
    /// solicited-node group, with our source link-layer address: address
    /// resolution (RFC 4861 7.2.2). The caller has refused multicast and
    /// unspecified targets.
    pub fn solicit(our_mac: MacAddr, our_ip: Ipv6Addr, target: Ipv6Addr) -> NdpFrame {
        let group = solicited_node(target);
        NdpFrame {
            eth_dst: multicast_mac(group).unwrap_or(MacAddr::BROADCAST),
            eth_src: our_mac,
            ip_src: our_ip,
            ip_dst: group,
            hop_limit: ND_HOP_LIMIT,
            message: NdRepr::Solicit(NeighborSolicit {
                target,
                source_mac: Some(our_mac),
                nonce: None,
            }),
        }
    }

    /// A unicast solicitation straight to a neighbour whose address we
    /// believe we know (reachability confirmation, 7.3.1; arping's
    /// follow-ups): to `target` and `target_mac`, with our link-layer
    /// address.
    pub fn solicit_unicast(
        our_mac: MacAddr,
        our_ip: Ipv6Addr,
        target: Ipv6Addr,
        target_mac: MacAddr,
    ) -> NdpFrame {
        NdpFrame {
            eth_dst: target_mac,
            ip_dst: target,
            ..NdpFrame::solicit(our_mac, our_ip, target)
        }
    }

    /// A duplicate address detection probe for `target` (RFC 4862 5.4.2):
    /// from `::` to the target's solicited-node group, without a source
    /// link-layer option (which must not come with `::`), and with an
    /// RFC 7527 nonce if given (random, the caller's).
    pub fn dad_solicit(our_mac: MacAddr, target: Ipv6Addr, nonce: Option<[u8; 6]>) -> NdpFrame {
        let group = solicited_node(target);
        NdpFrame {
            eth_dst: multicast_mac(group).unwrap_or(MacAddr::BROADCAST),
            eth_src: our_mac,
            ip_src: Ipv6Addr::UNSPECIFIED,
            ip_dst: group,
            hop_limit: ND_HOP_LIMIT,
            message: NdRepr::Solicit(NeighborSolicit {
                target,
                source_mac: None,
                nonce,
            }),
        }
    }

    /// An unsolicited advertisement of `our_ip` to all nodes (RFC 4861
    /// 7.2.6): override set, solicited clear, our target link-layer
    /// address; `router` as we are one.
    pub fn unsolicited_advert(our_mac: MacAddr, our_ip: Ipv6Addr, router: bool) -> NdpFrame {
        NdpFrame {
            eth_dst: multicast_mac(ALL_NODES).unwrap_or(MacAddr::BROADCAST),
            eth_src: our_mac,
            ip_src: our_ip,
            ip_dst: ALL_NODES,
            hop_limit: ND_HOP_LIMIT,
            message: NdRepr::Advert(NeighborAdvert {
                flags: NaFlags {
                    router,
                    solicited: false,
                    override_: true,
                },
                target: our_ip,
                target_mac: Some(our_mac),
            }),
        }
    }
}

/// A received advertisement that passed [`validate_advert`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Advert {
    pub eth_dst: MacAddr,
    /// Equal to `target_mac`.
    pub eth_src: MacAddr,
    pub ip_src: Ipv6Addr,
    pub ip_dst: Ipv6Addr,
    pub flags: NaFlags,
    /// Not multicast.
    pub target: Ipv6Addr,
    pub target_mac: MacAddr,
}

/// Why a received frame is not a valid Neighbor Advertisement, in the
/// order [`validate_advert`] checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdvertReject {
    /// Another ethertype, next header or `ICMPv6` type: other traffic, not
    /// a fault of its sender.
    NotAdvert,
    /// The Ethernet or IPv6 header is cut short or impossible.
    Malformed(WireError),
    /// Not 255: it crossed a router, or was not sent as ND.
    HopLimit(u8),
    Checksum,
    /// Not 0.
    Code(u8),
    /// The `ICMPv6` length: under 24 bytes.
    TooShort(usize),
    MulticastTarget(Ipv6Addr),
    /// The solicited flag on an NA sent to a multicast group.
    SolicitedToMulticast(Ipv6Addr),
    /// An option of length 0 or past the end, or a link-layer address
    /// option of another size than Ethernet's.
    BadOption(WireError),
    /// No target link-layer address option: nothing to learn.
    NoTargetLinkLayer,
    /// The frame came from another MAC than the one it advertises.
    SourceMismatch {
        ethernet: MacAddr,
        option: MacAddr,
    },
}

impl fmt::Display for AdvertReject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AdvertReject::NotAdvert => f.write_str("not a neighbor advertisement"),
            AdvertReject::Malformed(e) => write!(f, "malformed frame ({e})"),
            AdvertReject::HopLimit(h) => write!(
                f,
                "hop limit {h}, not 255 (forwarded by a router, or not sent as ND)"
            ),
            AdvertReject::Checksum => f.write_str("bad ICMPv6 checksum"),
            AdvertReject::Code(c) => write!(f, "ICMPv6 code {c}, not 0"),
            AdvertReject::TooShort(n) => write!(f, "ICMPv6 length {n}, under 24 bytes"),
            AdvertReject::MulticastTarget(t) => write!(f, "multicast target {t}"),
            AdvertReject::SolicitedToMulticast(d) => {
                write!(f, "solicited flag set on an advertisement to {d}")
            }
            AdvertReject::BadOption(e) => write!(f, "bad option ({e})"),
            AdvertReject::NoTargetLinkLayer => f.write_str("no target link-layer address option"),
            AdvertReject::SourceMismatch { ethernet, option } => {
                write!(f, "sent from {ethernet} but advertises {option}")
            }
        }
    }
}

/// Check a received Ethernet frame as a Neighbor Advertisement: RFC 4861
/// 7.1.2 (hop limit 255, checksum, code 0, `ICMPv6` length >= 24, target not
/// multicast, S clear when the destination is multicast, no option of
/// length 0), then what nettool needs to trust it: a target link-layer
/// address option equal to the Ethernet source. Matching the target to
/// what was asked is the caller's.
///
/// # Errors
/// The first rule the frame breaks.
pub fn validate_advert(frame: &[u8]) -> Result<Advert, AdvertReject> {
    let f = Frame::new_checked(frame).map_err(AdvertReject::Malformed)?;
    if f.ethertype() != ETHERTYPE_IPV6 {
        return Err(AdvertReject::NotAdvert);
    }
    let ip = ipv6::Packet::new_checked(f.payload()).map_err(AdvertReject::Malformed)?;
    let (next, icmp) = ip.upper_layer().map_err(AdvertReject::Malformed)?;
    if next != NEXT_HEADER_ICMPV6 {
        return Err(AdvertReject::NotAdvert);
    }
    if icmp.first().map(|&t| Message::from(t)) != Some(Message::NeighborAdvert) {
        return Err(AdvertReject::NotAdvert);
    }
    if ip.hop_limit() != ND_HOP_LIMIT {
        return Err(AdvertReject::HopLimit(ip.hop_limit()));
    }
    let p = Packet::new_checked(icmp).map_err(|_| AdvertReject::TooShort(icmp.len()))?;
    if !p.verify_checksum(ip.src(), ip.dst()) {
        return Err(AdvertReject::Checksum);
    }
    if p.code() != 0 {
        return Err(AdvertReject::Code(p.code()));
    }
    let m = NdMessage::new_checked(icmp).map_err(|_| AdvertReject::TooShort(icmp.len()))?;
    let target = m.target();
    if target.is_multicast() {
        return Err(AdvertReject::MulticastTarget(target));
    }
    if ip.dst().is_multicast() && m.flags().solicited {
        return Err(AdvertReject::SolicitedToMulticast(ip.dst()));
    }
    let NdRepr::Advert(na) = NdRepr::parse(&m).map_err(AdvertReject::BadOption)? else {
        return Err(AdvertReject::NotAdvert);
    };
    let option = na.target_mac.ok_or(AdvertReject::NoTargetLinkLayer)?;
    if f.src() != option {
        return Err(AdvertReject::SourceMismatch {
            ethernet: f.src(),
            option,
        });
    }
    Ok(Advert {
        eth_dst: f.dst(),
        eth_src: f.src(),
        ip_src: ip.src(),
        ip_dst: ip.dst(),
        flags: na.flags,
        target,
        target_mac: option,
    })
}

/// An echo request or reply's fixed part: the `ICMPv6` header, then the
/// identifier and sequence number (RFC 4443 4.1, 4.2).
pub const ECHO_HEADER_LEN: usize = 8;

/// An `ICMPv6` echo request (128) or reply (129) in a whole Ethernet frame,
/// as values: what `nettool arp --localnet -6` sends to all nodes and reads
/// back. The traffic class and flow label are kept so a received frame
/// emits back byte for byte, except a checksum sent as 0xffff: one's
/// complement has two zeros, both verify, and emit writes 0x0000.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EchoFrame {
    pub eth_dst: MacAddr,
    pub eth_src: MacAddr,
    pub traffic_class: u8,
    /// 20 bits.
    pub flow_label: u32,
    pub hop_limit: u8,
    pub ip_src: Ipv6Addr,
    pub ip_dst: Ipv6Addr,
    /// A reply (129), else a request (128).
    pub reply: bool,
    pub ident: u16,
    pub seq: u16,
    pub data: Vec<u8>,
}

impl EchoFrame {
    /// Parse an Ethernet frame carrying an echo request or reply straight
    /// after the IPv6 header. The checksum and the code (0) are checked:
    /// a frame that fails them is not an answer from anyone.
    ///
    /// # Errors
    /// `Truncated`/`Malformed` from each layer; `Malformed` for another
    /// ethertype, next header or `ICMPv6` type, a code other than 0, or a
    /// wrong checksum.
    pub fn parse(frame: &[u8]) -> Result<EchoFrame, WireError> {
        let f = Frame::new_checked(frame)?;
        if f.ethertype() != ETHERTYPE_IPV6 {
            return Err(WireError::Malformed("ethertype is not IPv6"));
        }
        let ip = ipv6::Packet::new_checked(f.payload())?;
        if ip.next_header() != NEXT_HEADER_ICMPV6 {
            return Err(WireError::Malformed("IPv6 next header is not ICMPv6"));
        }
        let p = Packet::new_checked(ip.payload())?;
        let reply = match p.msg_type() {
            Message::EchoRequest => false,
            Message::EchoReply => true,
            _ => return Err(WireError::Malformed("ICMPv6 type is not an echo")),
        };
        let b = p.as_bytes();
        if b.len() < ECHO_HEADER_LEN {
            return Err(WireError::Truncated("ICMPv6 echo header is 8 bytes"));
        }
        if p.code() != 0 {
            return Err(WireError::Malformed("ICMPv6 echo code is not 0"));
        }
        if !p.verify_checksum(ip.src(), ip.dst()) {
            return Err(WireError::Malformed("ICMPv6 checksum is wrong"));
        }
        Ok(EchoFrame {
            eth_dst: f.dst(),
            eth_src: f.src(),
            traffic_class: ip.traffic_class(),
            flow_label: ip.flow_label(),
            hop_limit: ip.hop_limit(),
            ip_src: ip.src(),
            ip_dst: ip.dst(),
            reply,
            ident: u16::from_be_bytes([b[4], b[5]]),
            seq: u16::from_be_bytes([b[6], b[7]]),
            data: b[ECHO_HEADER_LEN..].to_vec(),
        })
    }

    /// The frame's length: 14 + 40 + 8 + the data.
    pub fn frame_len(&self) -> usize {
        ethernet::HEADER_LEN + ipv6::HEADER_LEN + ECHO_HEADER_LEN + self.data.len()
    }

    /// Write the frame at the start of `buf`, checksum computed; returns
    /// its length.
    ///
    /// # Errors
    /// `Truncated` when `buf` is shorter than [`EchoFrame::frame_len`],
    /// `Malformed` for a flow label over 20 bits or data over 65527 bytes.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, WireError> {
        let len = self.frame_len();
        let b = buf
            .get_mut(..len)
            .ok_or(WireError::Truncated("buffer too short for the echo frame"))?;
        let (eth, rest) = b.split_at_mut(ethernet::HEADER_LEN);
        let (ip, icmp) = rest.split_at_mut(ipv6::HEADER_LEN);
        ethernet::Repr {
            dst: self.eth_dst,
            src: self.eth_src,
            ethertype: ETHERTYPE_IPV6,
        }
        .emit(&mut Frame::new_checked(eth)?);
        ipv6::Repr {
            traffic_class: self.traffic_class,
            flow_label: self.flow_label,
            payload_len: u16::try_from(icmp.len())
                .map_err(|_| WireError::Malformed("echo message over 65535 bytes"))?,
            next_header: NEXT_HEADER_ICMPV6,
            hop_limit: self.hop_limit,
            src: self.ip_src,
            dst: self.ip_dst,
        }
        .emit(ip)?;
        icmp[field::TYPE] = u8::from(if self.reply {
            Message::EchoReply
        } else {
            Message::EchoRequest
        });
        icmp[field::CODE] = 0;
        icmp[field::CHECKSUM].fill(0);
        icmp[4..6].copy_from_slice(&self.ident.to_be_bytes());
        icmp[6..8].copy_from_slice(&self.seq.to_be_bytes());
        icmp[ECHO_HEADER_LEN..].copy_from_slice(&self.data);
        let sum = checksum(self.ip_src, self.ip_dst, icmp);
        icmp[field::CHECKSUM].copy_from_slice(&sum.to_be_bytes());
        Ok(len)
    }

    /// The frame as a new `Vec`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = vec![0; self.frame_len()];
        // The buffer is exactly frame_len() long, which is all emit needs.
        let n = self.emit(&mut v).unwrap_or(0);
        v.truncate(n);
        v
    }

    /// An echo request from `our_ip` to every node on the link
    /// ([`ALL_NODES`]), hop limit 1 as for any link-local multicast: it
    /// must not be forwarded.
    pub fn request_to_all_nodes(
        our_mac: MacAddr,
        our_ip: Ipv6Addr,
        ident: u16,
        seq: u16,
        data: &[u8],
    ) -> EchoFrame {
        EchoFrame {
            eth_dst: multicast_mac(ALL_NODES).unwrap_or(MacAddr::BROADCAST),
            eth_src: our_mac,
            traffic_class: 0,
            flow_label: 0,
            hop_limit: 1,
            ip_src: our_ip,
            ip_dst: ALL_NODES,
            reply: false,
            ident,
            seq,
            data: data.to_vec(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::tests::{behind_hop_by_hop, vector};

    const VECTORS: [&str; 5] = [
        "ndp-ns-resolve.hex",
        "ndp-ns-dad.hex",
        "ndp-na-solicited.hex",
        "ndp-na-unsolicited.hex",
        "ndp-na-router.hex",
    ];
    const ETH_IP: usize = ethernet::HEADER_LEN + ipv6::HEADER_LEN;

    fn whole(name: &str) -> Vec<u8> {
        vector(name).concat()
    }
    fn ip(s: &str) -> Ipv6Addr {
        s.parse().unwrap()
    }
    fn mac(s: &str) -> MacAddr {
        s.parse().unwrap()
    }
    /// The lab pair's MACs (scripts/capture-ndp.sh).
    fn mac_a() -> MacAddr {
        mac("02:00:00:00:00:0a")
    }
    fn mac_b() -> MacAddr {
        mac("02:00:00:00:00:0b")
    }
    /// The `ICMPv6` message of a frame.
    fn message(frame: &[u8]) -> &[u8] {
        &frame[ETH_IP..]
    }
    /// Rewrite the checksum of a frame's message after a test changed it.
    fn refix(frame: &mut [u8]) {
        let (src, dst) = {
            let p = ipv6::Packet::new_checked(&frame[ethernet::HEADER_LEN..]).unwrap();
            (p.src(), p.dst())
        };
        let m = &mut frame[ETH_IP..];
        let sum = checksum(src, dst, m);
        m[field::CHECKSUM].copy_from_slice(&sum.to_be_bytes());
    }
    fn nonce_of_dad_vector() -> [u8; 6] {
        vector("ndp-ns-dad.hex")[3][2..8].try_into().unwrap()
    }

    #[test]
    fn resolution_ns_every_field() {
        let bytes = whole("ndp-ns-resolve.hex");
        let m = NdMessage::new_checked(message(&bytes)).unwrap();
        assert_eq!(m.msg_type(), Message::NeighborSolicit);
        assert_eq!((m.code(), m.checksum(), m.reserved()), (0, 0x1c1e, 0));
        assert!(m.verify_checksum(ip("2001:db8::1"), ip("ff02::1:ff00:2")));
        assert_eq!(m.target(), ip("2001:db8::2"));
        let opts: Vec<_> = m.options().collect::<Result<_, _>>().unwrap();
        assert_eq!(
            opts,
            [RawOption {
                kind: OptionKind::SourceLinkLayerAddr,
                data: &mac_a().0[..],
            }]
        );
        assert_eq!(
            NdpFrame::parse(&bytes).unwrap(),
            NdpFrame {
                eth_dst: mac("33:33:ff:00:00:02"),
                eth_src: mac_a(),
                ip_src: ip("2001:db8::1"),
                ip_dst: ip("ff02::1:ff00:2"),
                hop_limit: 255,
                message: NdRepr::Solicit(NeighborSolicit {
                    target: ip("2001:db8::2"),
                    source_mac: Some(mac_a()),
                    nonce: None,
                }),
            }
        );
    }

    /// Linux's DAD probe: from ::, no source link-layer option, and the
    /// RFC 7527 nonce.
    #[test]
    fn dad_ns_every_field() {
        let bytes = whole("ndp-ns-dad.hex");
        let m = NdMessage::new_checked(message(&bytes)).unwrap();
        assert_eq!((m.code(), m.checksum()), (0, 0x8ff8));
        assert!(m.verify_checksum(Ipv6Addr::UNSPECIFIED, ip("ff02::1:ff00:3")));
        let opts: Vec<_> = m.options().collect::<Result<_, _>>().unwrap();
        assert_eq!(opts.len(), 1);
        assert_eq!(opts[0].kind, OptionKind::Nonce);
        assert_eq!(
            NdpFrame::parse(&bytes).unwrap(),
            NdpFrame {
                eth_dst: mac("33:33:ff:00:00:03"),
                eth_src: mac_b(),
                ip_src: Ipv6Addr::UNSPECIFIED,
                ip_dst: ip("ff02::1:ff00:3"),
                hop_limit: 255,
                message: NdRepr::Solicit(NeighborSolicit {
                    target: ip("2001:db8::3"),
                    source_mac: None,
                    nonce: Some(nonce_of_dad_vector()),
                }),
            }
        );
    }

    #[test]
    fn the_three_adverts_every_field() {
        let cases = [
            (
                "ndp-na-solicited.hex",
                mac_a(),
                ip("2001:db8::2"),
                ip("2001:db8::1"),
                0x8a68,
                (false, true, true),
                "SO",
            ),
            (
                "ndp-na-unsolicited.hex",
                mac("33:33:00:00:00:01"),
                ip("2001:db8::3"),
                ALL_NODES,
                0xf91c,
                (false, false, true),
                "O",
            ),
            (
                "ndp-na-router.hex",
                mac_a(),
                ip("2001:db8::2"),
                ip("2001:db8::1"),
                0x0a68,
                (true, true, true),
                "RSO",
            ),
        ];
        for (name, eth_dst, src, dst, sum, (router, solicited, override_), text) in cases {
            let bytes = whole(name);
            let m = NdMessage::new_checked(message(&bytes)).unwrap();
            assert_eq!(m.msg_type(), Message::NeighborAdvert, "{name}");
            assert_eq!((m.code(), m.checksum()), (0, sum), "{name}");
            assert!(m.verify_checksum(src, dst), "{name}");
            let flags = NaFlags {
                router,
                solicited,
                override_,
            };
            assert_eq!(m.flags(), flags, "{name}");
            assert_eq!(flags.to_string(), text);
            assert_eq!(
                NdpFrame::parse(&bytes).unwrap(),
                NdpFrame {
                    eth_dst,
                    eth_src: mac_b(),
                    ip_src: src,
                    ip_dst: dst,
                    hop_limit: 255,
                    message: NdRepr::Advert(NeighborAdvert {
                        flags,
                        target: src,
                        target_mac: Some(mac_b()),
                    }),
                },
                "{name}"
            );
        }
        assert_eq!(NaFlags::default().to_string(), "-");
    }

    /// Every vector, emitted from its parsed fields into 0xa5 bytes.
    #[test]
    fn emit_reproduces_every_vector() {
        for name in VECTORS {
            let want = whole(name);
            let f = NdpFrame::parse(&want).unwrap();
            assert_eq!(f.frame_len(), want.len(), "{name}");
            let mut buf = vec![0xa5u8; want.len()];
            assert_eq!(f.emit(&mut buf), Ok(want.len()), "{name}");
            assert_eq!(buf, want, "{name}");
            assert_eq!(f.to_bytes(), want, "{name}");
            assert!(f.emit(&mut vec![0u8; want.len() - 1]).is_err(), "{name}");
        }
    }

    /// What nettool will send is byte for byte what the kernel sends.
    #[test]
    fn builders_match_the_kernel() {
        let resolve = NdpFrame::solicit(mac_a(), ip("2001:db8::1"), ip("2001:db8::2"));
        assert_eq!(resolve.to_bytes(), whole("ndp-ns-resolve.hex"));
        let dad = NdpFrame::dad_solicit(mac_b(), ip("2001:db8::3"), Some(nonce_of_dad_vector()));
        assert_eq!(dad.to_bytes(), whole("ndp-ns-dad.hex"));
        let na = NdpFrame::unsolicited_advert(mac_b(), ip("2001:db8::3"), false);
        assert_eq!(na.to_bytes(), whole("ndp-na-unsolicited.hex"));

        // Without a nonce the DAD probe has no option at all.
        let bare = NdpFrame::dad_solicit(mac_b(), ip("2001:db8::3"), None).to_bytes();
        assert_eq!(bare.len(), ETH_IP + ND_MESSAGE_LEN);
        assert_eq!(bare[..ETH_IP - 40], whole("ndp-ns-dad.hex")[..ETH_IP - 40]);

        let router = NdpFrame::unsolicited_advert(mac_b(), ip("2001:db8::3"), true);
        let NdRepr::Advert(a) = router.message else {
            panic!("{router:?}")
        };
        assert!(a.flags.router && a.flags.override_ && !a.flags.solicited);

        let uni = NdpFrame::solicit_unicast(mac_a(), ip("2001:db8::1"), ip("2001:db8::2"), mac_b());
        let parsed = NdpFrame::parse(&uni.to_bytes()).unwrap();
        assert_eq!(
            (parsed.eth_dst, parsed.ip_dst),
            (mac_b(), ip("2001:db8::2"))
        );
        assert_eq!(parsed.message, resolve.message);
    }

    #[test]
    fn solicited_node_groups_and_their_macs() {
        assert_eq!(solicited_node(ip("2001:db8::2")), ip("ff02::1:ff00:2"));
        assert_eq!(
            solicited_node(ip("fe80::1234:5678:9abc")),
            ip("ff02::1:ff78:9abc")
        );
        // Only the low 24 bits count: these two share a group.
        assert_eq!(
            solicited_node(ip("2001:db8::aa12:3456")),
            solicited_node(ip("fe80::1:bb12:3456"))
        );
        assert_eq!(
            multicast_mac(ip("ff02::1:ff78:9abc")),
            Some(mac("33:33:ff:78:9a:bc"))
        );
        assert_eq!(multicast_mac(ALL_NODES), Some(mac("33:33:00:00:00:01")));
        assert_eq!(multicast_mac(ip("2001:db8::1")), None);
        assert_eq!(multicast_mac(Ipv6Addr::UNSPECIFIED), None);
    }

    /// Any one bit changed in the message or the addresses breaks the
    /// checksum.
    #[test]
    fn checksum_catches_every_flipped_bit() {
        for name in VECTORS {
            let bytes = whole(name);
            let f = NdpFrame::parse(&bytes).unwrap();
            let m = message(&bytes);
            assert!(checksum_ok(f.ip_src, f.ip_dst, m), "{name}");
            for bit in 0..m.len() * 8 {
                let mut b = m.to_vec();
                b[bit / 8] ^= 1 << (bit % 8);
                assert!(!checksum_ok(f.ip_src, f.ip_dst, &b), "{name} bit {bit}");
            }
            for bit in 0..128 {
                let flip = |a: Ipv6Addr| Ipv6Addr::from(u128::from(a) ^ (1 << bit));
                assert!(
                    !checksum_ok(flip(f.ip_src), f.ip_dst, m),
                    "{name} src {bit}"
                );
                assert!(
                    !checksum_ok(f.ip_src, flip(f.ip_dst), m),
                    "{name} dst {bit}"
                );
            }
        }
        // The computed value ignores what the field holds.
        let m = message(&whole("ndp-na-router.hex")).to_vec();
        let mut zeroed = m.clone();
        zeroed[field::CHECKSUM].fill(0);
        let (a, b) = (ip("2001:db8::2"), ip("2001:db8::1"));
        assert_eq!(checksum(a, b, &m), checksum(a, b, &zeroed));
        assert_eq!(checksum(a, b, &m), 0x0a68);
        assert!(!checksum_ok(a, b, &m[..3]));
        // An odd length is padded with a zero byte.
        let mut odd = zeroed.clone();
        odd.push(0x5a);
        let sum = checksum(a, b, &odd);
        odd[field::CHECKSUM].copy_from_slice(&sum.to_be_bytes());
        assert!(checksum_ok(a, b, &odd));
    }

    #[test]
    fn truncated_and_impossible_messages_are_errors() {
        let bytes = whole("ndp-ns-resolve.hex");
        let m = message(&bytes);
        for n in 0..ND_MESSAGE_LEN {
            assert!(NdMessage::new_checked(&m[..n]).is_err(), "{n}");
        }
        for n in 0..HEADER_LEN {
            assert!(Packet::new_checked(&m[..n]).is_err(), "{n}");
        }
        let mut echo = m.to_vec();
        echo[field::TYPE] = Message::EchoRequest.into();
        assert!(matches!(
            NdMessage::new_checked(&echo[..]),
            Err(WireError::Malformed(_))
        ));
        assert_eq!(
            Packet::new_checked(&echo[..]).unwrap().msg_type(),
            Message::EchoRequest
        );

        // Cut inside the option: its header, then its data.
        for n in ND_MESSAGE_LEN + 1..m.len() {
            let msg = NdMessage::new_checked(&m[..n]).unwrap();
            assert!(
                matches!(NdRepr::parse(&msg), Err(WireError::Truncated(_))),
                "{n}"
            );
        }
        let with = |at: usize, v: u8| {
            let mut b = m.to_vec();
            b[at] = v;
            b
        };
        let opt = field::OPTIONS;
        let parse = |b: &[u8]| NdRepr::parse(&NdMessage::new_checked(b).unwrap());
        assert_eq!(
            parse(&with(opt + field::OPT_LEN, 0)),
            Err(WireError::Malformed("ND option length is 0"))
        );
        assert!(matches!(
            parse(&with(opt + field::OPT_LEN, 2)),
            Err(WireError::Truncated(_))
        ));
        // A 16-byte link-layer option is not Ethernet's.
        let mut long = with(opt + field::OPT_LEN, 2);
        long.extend_from_slice(&[0; 8]);
        assert!(matches!(parse(&long), Err(WireError::Malformed(_))));
        // The whole frame refuses other layers.
        let frame_with = |at: usize, v: u8| {
            let mut b = bytes.clone();
            b[at] = v;
            b
        };
        assert!(NdpFrame::parse(&frame_with(12, 0x08)).is_err(), "ethertype");
        assert!(
            NdpFrame::parse(&frame_with(ethernet::HEADER_LEN + 6, 17)).is_err(),
            "next header"
        );
        assert!(
            NdpFrame::parse(&frame_with(ethernet::HEADER_LEN, 0x40)).is_err(),
            "version"
        );
        for n in 0..bytes.len() {
            assert!(NdpFrame::parse(&bytes[..n]).is_err(), "{n}");
        }
    }

    /// Options nettool has no use for are skipped; of two of a kind the
    /// first counts; a nonce of another size is not a nonce.
    #[test]
    fn unknown_and_repeated_options() {
        let bytes = whole("ndp-ns-resolve.hex");
        let mut m = message(&bytes).to_vec();
        let slla = m.split_off(field::OPTIONS);
        let mut unknown = vec![99, 2];
        unknown.extend_from_slice(&[0xee; 14]);
        let other = [1, 1, 2, 0, 0, 0, 0, 0x0c];
        let long_nonce = [14, 2, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14];
        for part in [&unknown[..], &slla, &other, &long_nonce] {
            m.extend_from_slice(part);
        }
        let msg = NdMessage::new_checked(&m[..]).unwrap();
        let kinds: Vec<_> = msg.options().map(|o| o.unwrap().kind).collect();
        assert_eq!(
            kinds,
            [
                OptionKind::Unknown(99),
                OptionKind::SourceLinkLayerAddr,
                OptionKind::SourceLinkLayerAddr,
                OptionKind::Nonce
            ]
        );
        assert_eq!(
            NdRepr::parse(&msg).unwrap(),
            NdRepr::Solicit(NeighborSolicit {
                target: ip("2001:db8::2"),
                source_mac: Some(mac_a()),
                nonce: None,
            })
        );
        // After an error the iterator stops.
        let mut bad = m.clone();
        bad[field::OPTIONS + field::OPT_LEN] = 0;
        let bad = NdMessage::new_checked(&bad[..]).unwrap();
        let mut opts = bad.options();
        assert!(opts.next().unwrap().is_err());
        assert!(opts.next().is_none());
    }

    #[test]
    fn numeric_codes() {
        use crate::wire::tests::assert_numeric_enum;
        let messages = [
            (Message::DestinationUnreachable, 1),
            (Message::PacketTooBig, 2),
            (Message::TimeExceeded, 3),
            (Message::ParameterProblem, 4),
            (Message::EchoRequest, 128),
            (Message::EchoReply, 129),
            (Message::RouterSolicit, 133),
            (Message::RouterAdvert, 134),
            (Message::NeighborSolicit, 135),
            (Message::NeighborAdvert, 136),
            (Message::Redirect, 137),
        ];
        assert_numeric_enum(&messages, 0..=u8::MAX, Message::Unknown);
        let options = [
            (OptionKind::SourceLinkLayerAddr, 1),
            (OptionKind::TargetLinkLayerAddr, 2),
            (OptionKind::PrefixInformation, 3),
            (OptionKind::RedirectedHeader, 4),
            (OptionKind::Mtu, 5),
            (OptionKind::Nonce, 14),
        ];
        assert_numeric_enum(&options, 0..=u8::MAX, OptionKind::Unknown);
    }

    #[test]
    fn the_captured_adverts_are_valid() {
        for name in [
            "ndp-na-solicited.hex",
            "ndp-na-unsolicited.hex",
            "ndp-na-router.hex",
        ] {
            let bytes = whole(name);
            let a = validate_advert(&bytes).unwrap();
            let f = NdpFrame::parse(&bytes).unwrap();
            let NdRepr::Advert(na) = f.message else {
                panic!("{name}")
            };
            assert_eq!(
                a,
                Advert {
                    eth_dst: f.eth_dst,
                    eth_src: mac_b(),
                    ip_src: f.ip_src,
                    ip_dst: f.ip_dst,
                    flags: na.flags,
                    target: na.target,
                    target_mac: mac_b(),
                },
                "{name}"
            );
            // The same behind a hop-by-hop options header (8 bytes of
            // PadN), which a receiver steps over: the same advertisement.
            let hbh = behind_hop_by_hop(&bytes);
            assert_eq!(validate_advert(&hbh), Ok(a), "{name}");
            assert_eq!(NdpFrame::parse(&hbh), Ok(f), "{name}");
        }
    }

    /// Each reason, from one change to a valid advertisement (the checksum
    /// rewritten where the change is not meant to break it).
    #[test]
    fn validate_advert_gives_every_early_reason() {
        let good = whole("ndp-na-solicited.hex");
        let eth = ethernet::HEADER_LEN;
        let with = |at: usize, v: u8, fix: bool| {
            let mut b = good.clone();
            b[at] = v;
            if fix {
                refix(&mut b);
            }
            b
        };
        let check = |b: &[u8]| validate_advert(b);

        assert_eq!(check(&with(12, 0x08, false)), Err(AdvertReject::NotAdvert));
        assert_eq!(
            check(&with(eth + 6, 17, false)),
            Err(AdvertReject::NotAdvert)
        );
        assert_eq!(
            check(&with(ETH_IP, Message::NeighborSolicit.into(), true)),
            Err(AdvertReject::NotAdvert)
        );
        assert!(matches!(
            check(&good[..10]),
            Err(AdvertReject::Malformed(WireError::Truncated(_)))
        ));
        assert!(matches!(
            check(&good[..good.len() - 1]),
            Err(AdvertReject::Malformed(WireError::Truncated(_)))
        ));
        assert!(matches!(
            check(&with(eth, 0x40, false)),
            Err(AdvertReject::Malformed(WireError::Malformed(_)))
        ));
        // The hop limit is not in the pseudo-header: the checksum stays right.
        assert_eq!(
            check(&with(eth + 7, 64, false)),
            Err(AdvertReject::HopLimit(64))
        );
        assert_eq!(
            check(&with(ETH_IP + 5, 1, false)),
            Err(AdvertReject::Checksum)
        );
        assert_eq!(
            check(&with(ETH_IP + 1, 3, true)),
            Err(AdvertReject::Code(3))
        );

        // Cut the message (and the IPv6 payload length) to n bytes.
        let cut = |n: usize| {
            let mut b = good[..ETH_IP + n].to_vec();
            b[eth + 4..eth + 6].copy_from_slice(&u16::try_from(n).unwrap().to_be_bytes());
            if n >= HEADER_LEN {
                refix(&mut b);
            }
            b
        };
        assert_eq!(check(&cut(20)), Err(AdvertReject::TooShort(20)));
        assert_eq!(check(&cut(HEADER_LEN)), Err(AdvertReject::TooShort(4)));
        assert_eq!(check(&cut(2)), Err(AdvertReject::TooShort(2)));
        assert_eq!(check(&cut(0)), Err(AdvertReject::NotAdvert));
        assert_eq!(
            check(&cut(ND_MESSAGE_LEN)),
            Err(AdvertReject::NoTargetLinkLayer)
        );
    }

    /// The reasons from the target on, as above.
    #[test]
    fn validate_advert_gives_every_later_reason() {
        let good = whole("ndp-na-solicited.hex");
        let eth = ethernet::HEADER_LEN;
        let with = |at: usize, v: u8, fix: bool| {
            let mut b = good.clone();
            b[at] = v;
            if fix {
                refix(&mut b);
            }
            b
        };
        let check = |b: &[u8]| validate_advert(b);
        let target = ETH_IP + field::TARGET.start;
        assert_eq!(
            check(&with(target, 0xff, true)),
            Err(AdvertReject::MulticastTarget(ip("ff01:db8::2")))
        );
        // The solicited answer, readdressed to all nodes.
        let mut to_all = good.clone();
        to_all[eth + 24..eth + 40].copy_from_slice(&ALL_NODES.octets());
        refix(&mut to_all);
        assert_eq!(
            check(&to_all),
            Err(AdvertReject::SolicitedToMulticast(ALL_NODES))
        );
        let opt = ETH_IP + field::OPTIONS;
        assert_eq!(
            check(&with(opt + field::OPT_LEN, 0, true)),
            Err(AdvertReject::BadOption(WireError::Malformed(
                "ND option length is 0"
            )))
        );
        assert!(matches!(
            check(&with(opt + field::OPT_LEN, 3, true)),
            Err(AdvertReject::BadOption(WireError::Truncated(_)))
        ));
        // A source link-layer option instead of the target's.
        assert_eq!(
            check(&with(opt, 1, true)),
            Err(AdvertReject::NoTargetLinkLayer)
        );
        assert_eq!(
            check(&with(11, 0x0c, false)),
            Err(AdvertReject::SourceMismatch {
                ethernet: mac("02:00:00:00:00:0c"),
                option: mac_b(),
            })
        );
        // Every reason explains itself in words.
        for r in [
            AdvertReject::NotAdvert,
            AdvertReject::Malformed(WireError::Truncated("x")),
            AdvertReject::HopLimit(64),
            AdvertReject::Checksum,
            AdvertReject::Code(3),
            AdvertReject::TooShort(20),
            AdvertReject::MulticastTarget(ALL_NODES),
            AdvertReject::SolicitedToMulticast(ALL_NODES),
            AdvertReject::BadOption(WireError::Malformed("x")),
            AdvertReject::NoTargetLinkLayer,
            AdvertReject::SourceMismatch {
                ethernet: mac_a(),
                option: mac_b(),
            },
        ] {
            assert!(r.to_string().len() > 10, "{r:?}");
        }
    }

    fn arb_mac() -> impl proptest::strategy::Strategy<Value = MacAddr> {
        proptest::prelude::any::<[u8; 6]>().prop_map(MacAddr)
    }
    fn arb_ip() -> impl proptest::strategy::Strategy<Value = Ipv6Addr> {
        proptest::prelude::any::<[u8; 16]>().prop_map(Ipv6Addr::from)
    }
    fn arb_repr() -> impl proptest::strategy::Strategy<Value = NdRepr> {
        use proptest::prelude::*;
        prop_oneof![
            (
                arb_ip(),
                proptest::option::of(arb_mac()),
                any::<Option<[u8; 6]>>()
            )
                .prop_map(|(target, source_mac, nonce)| NdRepr::Solicit(
                    NeighborSolicit {
                        target,
                        source_mac,
                        nonce,
                    }
                )),
            (
                any::<[bool; 3]>(),
                arb_ip(),
                proptest::option::of(arb_mac())
            )
                .prop_map(|([router, solicited, override_], target, target_mac)| {
                    NdRepr::Advert(NeighborAdvert {
                        flags: NaFlags {
                            router,
                            solicited,
                            override_,
                        },
                        target,
                        target_mac,
                    })
                }),
        ]
    }

    use proptest::strategy::Strategy as _;

    proptest::proptest! {
        #[test]
        fn emit_parse_round_trip(eth_dst in arb_mac(), eth_src in arb_mac(), ip_src in arb_ip(),
                                 ip_dst in arb_ip(), hop_limit: u8, message in arb_repr()) {
            let f = NdpFrame { eth_dst, eth_src, ip_src, ip_dst, hop_limit, message };
            let mut buf = vec![0xa5u8; f.frame_len() + 7];
            let n = f.emit(&mut buf).unwrap();
            proptest::prop_assert_eq!(n, f.frame_len());
            proptest::prop_assert_eq!(NdpFrame::parse(&buf[..n]).unwrap(), f);
            proptest::prop_assert!(checksum_ok(ip_src, ip_dst, &buf[ETH_IP..n]));
        }

        /// Random bytes, and captured frames with random bytes changed.
        #[test]
        fn parsing_never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..160),
                                which in 0..VECTORS.len(), edits in proptest::collection::vec((0usize..120, proptest::num::u8::ANY), 0..4)) {
            let mut v = whole(VECTORS[which]);
            for (at, b) in edits {
                let n = v.len();
                v[at % n] = b;
            }
            for input in [&bytes[..], &v[..]] {
                if let Ok(f) = NdpFrame::parse(input) {
                    proptest::prop_assert_eq!(NdpFrame::parse(&f.to_bytes()).unwrap(), f);
                }
                if let Ok(a) = validate_advert(input) {
                    proptest::prop_assert_eq!(a.eth_src, a.target_mac);
                }
                if let Ok(m) = NdMessage::new_checked(input) {
                    let _ = (m.flags(), m.target(), m.options().count(), NdRepr::parse(&m));
                }
            }
        }
    }
    #[test]
    fn echo_reply_from_the_kernel_every_field_and_emitted_byte_for_byte() {
        let bytes = whole("icmpv6-echo-reply.hex");
        let p = Packet::new_checked(message(&bytes)).unwrap();
        assert_eq!(p.msg_type(), Message::EchoReply);
        assert_eq!((p.code(), p.checksum()), (0, 0xe31b));
        assert!(p.verify_checksum(ip("2001:db8::2"), ip("2001:db8::1")));
        assert_eq!(
            checksum(ip("2001:db8::2"), ip("2001:db8::1"), message(&bytes)),
            0xe31b
        );
        let f = EchoFrame::parse(&bytes).unwrap();
        assert_eq!(
            f,
            EchoFrame {
                eth_dst: mac("02:00:00:00:00:01"),
                eth_src: mac("02:00:00:00:00:02"),
                traffic_class: 0,
                flow_label: 0xa0510,
                hop_limit: 64,
                ip_src: ip("2001:db8::2"),
                ip_dst: ip("2001:db8::1"),
                reply: true,
                ident: 0x82e9,
                seq: 0,
                data: b"nettool arp -6\0\0".to_vec(),
            }
        );
        let mut buf = vec![0xa5u8; bytes.len() + 3];
        assert_eq!(f.emit(&mut buf).unwrap(), bytes.len());
        assert_eq!(&buf[..bytes.len()], &bytes[..]);
        assert_eq!(buf[bytes.len()..], [0xa5; 3]);
        assert_eq!(f.to_bytes(), bytes);
        assert_eq!(
            f.emit(&mut vec![0u8; bytes.len() - 1]),
            Err(WireError::Truncated("buffer too short for the echo frame"))
        );
    }

    #[test]
    fn an_echo_checksum_sent_as_the_other_zero_verifies_and_emits_as_0000() {
        // Found by the `ndp` fuzz target: a request whose checksum field
        // holds 0xffff where the sum gives 0x0000 (both are zero in one's
        // complement; receivers, the kernel too, accept either).
        let hex = "02000000000a02000000000b86dd6000000000203aff002001b80d000000000000\
                   000004000220010db80001000001000000000000018000fffffffffffffffffb000000\
                   41000000000001ff0200000102000000000b";
        let data: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect();
        let echo = EchoFrame::parse(&data).expect("a 0xffff checksum verifies");
        let bytes = echo.to_bytes();
        let at = ethernet::HEADER_LEN + ipv6::HEADER_LEN + 2;
        assert_eq!(&data[at..at + 2], [0xff, 0xff]);
        assert_eq!(&bytes[at..at + 2], [0, 0]);
        assert_eq!(&bytes[..at], &data[..at]);
        assert_eq!(&bytes[at + 2..], &data[at + 2..bytes.len()]);
        assert_eq!(EchoFrame::parse(&bytes), Ok(echo));
    }

    #[test]
    fn echo_request_to_all_nodes_is_a_link_local_multicast() {
        let f = EchoFrame::request_to_all_nodes(mac_a(), ip("fe80::1"), 7, 9, b"abc");
        let bytes = f.to_bytes();
        assert_eq!(&bytes[..6], &[0x33, 0x33, 0, 0, 0, 1]);
        assert_eq!(bytes[ethernet::HEADER_LEN + 7], 1, "hop limit 1");
        assert_eq!(bytes[ETH_IP], 128);
        assert!(checksum_ok(ip("fe80::1"), ALL_NODES, message(&bytes)));
        assert_eq!(EchoFrame::parse(&bytes).unwrap(), f);
        // The request the kernel answered, by the values in the reply.
        let reply = EchoFrame::parse(&whole("icmpv6-echo-reply.hex")).unwrap();
        let asked = EchoFrame::request_to_all_nodes(
            reply.eth_dst,
            reply.ip_dst,
            reply.ident,
            reply.seq,
            &reply.data,
        );
        assert_eq!(EchoFrame::parse(&asked.to_bytes()).unwrap(), asked);
    }

    #[test]
    fn bad_echo_frames_are_errors() {
        let good = whole("icmpv6-echo-reply.hex");
        let mut bad_sum = good.clone();
        bad_sum[ETH_IP + 2] ^= 0xff;
        assert_eq!(
            EchoFrame::parse(&bad_sum),
            Err(WireError::Malformed("ICMPv6 checksum is wrong"))
        );
        let mut code = good.clone();
        code[ETH_IP + 1] = 1;
        refix(&mut code);
        assert_eq!(
            EchoFrame::parse(&code),
            Err(WireError::Malformed("ICMPv6 echo code is not 0"))
        );
        let mut na = good.clone();
        na[ETH_IP] = 136;
        refix(&mut na);
        assert_eq!(
            EchoFrame::parse(&na),
            Err(WireError::Malformed("ICMPv6 type is not an echo"))
        );
        // An echo of 6 bytes: the IPv6 payload length says so.
        let mut short = good[..ETH_IP + 6].to_vec();
        short[ethernet::HEADER_LEN + 5] = 6;
        assert_eq!(
            EchoFrame::parse(&short),
            Err(WireError::Truncated("ICMPv6 echo header is 8 bytes"))
        );
        for n in 0..good.len() {
            assert!(EchoFrame::parse(&good[..n]).is_err(), "cut at {n}");
        }
        assert!(EchoFrame::parse(&whole("ndp-na-solicited.hex")).is_err());
    }
}
