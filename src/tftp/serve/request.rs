//! A request to the server's port, checked and answered on paper: parse
//! it (RFC 1350 and 2347's rules, the 512-byte limit), refuse names that
//! leave the served directory, and agree options within the server's
//! limits (RFC 2348, 2349, 7440). Pure: no file, no socket.

use crate::wire::tftp::{ErrorCode, Packet};

use super::super::session::{DEFAULT_BLKSIZE, MAX_REQUEST, Mode, Negotiated};

/// What the server allows (`--max-blksize`, `--max-windowsize`,
/// `--no-options`, `--max-size`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_blksize: u16,
    pub max_windowsize: u16,
    /// Options answered at all; off: RFC 1350 only, options ignored.
    pub options: bool,
    /// The largest upload taken.
    pub max_size: Option<u64>,
    /// The most bytes one window may hold (blksize x windowsize): a
    /// sender keeps its window for retransmission, a receiver buffers up
    /// to one, so this bounds a transfer's memory. The server lowers it
    /// further when many transfers hold windows at once.
    pub window_bytes: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_blksize: MAX_BLKSIZE,
            max_windowsize: 64,
            options: true,
            max_size: None,
            window_bytes: WINDOW_BYTES,
        }
    }
}

/// The default bound on a window's bytes: 16 blocks of 65464, 64 of 8192.
pub const WINDOW_BYTES: u64 = 1 << 20;

/// The longest timeout (RFC 2349) honoured: a longer one is left out of
/// the OACK, so a client cannot hold a transfer's slot for an hour.
pub const MAX_TIMEOUT: u64 = 30;

/// The largest block size of RFC 2348.
pub const MAX_BLKSIZE: u16 = 65464;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// RRQ: the client reads, the server sends.
    Read,
    /// WRQ: the client writes, the server receives.
    Write,
}

/// The options a client asked for, as numbers (unknown ones dropped).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Asked {
    pub blksize: Option<u64>,
    pub windowsize: Option<u64>,
    pub timeout: Option<u64>,
    pub tsize: Option<u64>,
}

/// A well-formed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub direction: Direction,
    pub filename: String,
    pub mode: Mode,
    pub asked: Asked,
}

/// A request answered with an ERROR at once: `message` goes to the client,
/// `why` to the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: ErrorCode,
    pub message: String,
    pub why: String,
}

impl Refusal {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Refusal {
        let message = message.into();
        Refusal {
            code,
            why: message.clone(),
            message,
        }
    }
}

/// What to do with a datagram that came to the server's port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    Request(Request),
    Refused(Refusal),
    /// An ERROR: never answered (two servers would answer each other for
    /// ever).
    Ignored,
}

/// Read a datagram sent to the server's port.
pub fn parse(bytes: &[u8]) -> Incoming {
    match parse_request(bytes) {
        Ok(Some(r)) => Incoming::Request(r),
        Ok(None) => Incoming::Ignored,
        Err(r) => Incoming::Refused(r),
    }
}

/// The file name a request that could not be parsed names, as far as it
/// can be read (for the log).
pub fn requested_name(bytes: &[u8]) -> (Direction, String) {
    let direction = if bytes.get(..2) == Some(&[0, 2]) {
        Direction::Write
    } else {
        Direction::Read
    };
    let Some(rest) = bytes.get(2..) else {
        return (direction, String::new());
    };
    if !matches!(bytes.get(..2), Some([0, 1 | 2])) {
        return (direction, String::new());
    }
    let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
    (direction, shown(&String::from_utf8_lossy(&rest[..end])))
}

fn illegal(why: impl Into<String>) -> Refusal {
    Refusal::new(ErrorCode::IllegalOperation, why)
}

fn parse_request(bytes: &[u8]) -> Result<Option<Request>, Refusal> {
    if bytes.len() > MAX_REQUEST {
        return Err(illegal(format!(
            "request of {} bytes: at most {MAX_REQUEST} (RFC 2347)",
            bytes.len()
        )));
    }
    let (direction, filename, mode, options) = match Packet::parse(bytes) {
        Ok(Packet::Rrq {
            filename,
            mode,
            options,
        }) => (Direction::Read, filename, mode, options),
        Ok(Packet::Wrq {
            filename,
            mode,
            options,
        }) => (Direction::Write, filename, mode, options),
        Ok(Packet::Error { .. }) => return Ok(None),
        Ok(_) => return Err(illegal("not a request: send RRQ or WRQ to this port")),
        Err(e) => return Err(illegal(format!("malformed request: {e}"))),
    };
    let mode = match mode.to_ascii_lowercase().as_str() {
        "octet" => Mode::Octet,
        "netascii" => Mode::Netascii,
        "mail" => {
            return Err(illegal(
                "mail mode is not served (RFC 1350 made it obsolete)",
            ));
        }
        _ => return Err(illegal(format!("unknown mode '{}'", shown(mode)))),
    };
    check_name(filename)?;
    let mut asked = Asked::default();
    let mut seen: Vec<String> = Vec::new();
    for (k, v) in options {
        let key = k.to_ascii_lowercase();
        if seen.contains(&key) {
            return Err(Refusal::new(
                ErrorCode::OptionRefused,
                format!("option '{}' given twice", shown(k)),
            ));
        }
        seen.push(key.clone());
        let slot = match key.as_str() {
            "blksize" => &mut asked.blksize,
            "windowsize" => &mut asked.windowsize,
            "timeout" => &mut asked.timeout,
            "tsize" => &mut asked.tsize,
            // RFC 2347: options the server does not know are left out of
            // its OACK.
            _ => continue,
        };
        let n = v.parse::<u64>().ok().filter(|_| v.len() <= 20);
        let range = match key.as_str() {
            "blksize" => 8..=u64::from(MAX_BLKSIZE),
            "windowsize" => 1..=65535,
            "timeout" => 1..=255,
            _ => 0..=u64::MAX,
        };
        match n {
            Some(n) if range.contains(&n) => *slot = Some(n),
            _ => {
                let within = if key == "tsize" {
                    "a number of bytes".to_string()
                } else {
                    format!("{}..={}", range.start(), range.end())
                };
                return Err(Refusal::new(
                    ErrorCode::OptionRefused,
                    format!("{key} '{}' is not {within}", shown(v)),
                ));
            }
        }
    }
    Ok(Some(Request {
        direction,
        filename: filename.to_string(),
        mode,
        asked,
    }))
}

/// `s` for a log line or an ERROR: control characters escaped, cut short.
pub fn shown(s: &str) -> String {
    let mut out: String = s.chars().take(100).flat_map(char::escape_debug).collect();
    if s.chars().count() > 100 {
        out.push('…');
    }
    out
}

/// Refuse names that would leave the served directory before any file
/// is touched (the open below refuses them too, and links).
fn check_name(name: &str) -> Result<(), Refusal> {
    let refuse = |why: &str| Err(Refusal::new(ErrorCode::AccessViolation, why.to_string()));
    if name.starts_with('/') {
        return refuse("absolute paths are not served: name a file below the served directory");
    }
    if name.split('/').any(|c| c == "..") {
        return refuse("'..' is not allowed in a file name");
    }
    if name.ends_with('/') {
        return refuse("a directory cannot be transferred");
    }
    Ok(())
}

/// The options agreed, and the OACK to send (`None`: nothing agreed, the
/// transfer starts as RFC 1350 says). `size`: a read's file size (the
/// tsize answer; none in netascii, whose size on the wire is unknown
/// until sent).
///
/// # Errors
/// A write announcing more than `--max-size` (ERROR 3).
pub fn negotiate(
    req: &Request,
    limits: &Limits,
    size: Option<u64>,
) -> Result<(Negotiated, Option<Vec<u8>>), Refusal> {
    let a = req.asked;
    if req.direction == Direction::Write
        && let (Some(t), Some(max)) = (a.tsize, limits.max_size)
        && t > max
    {
        return Err(Refusal::new(
            ErrorCode::DiskFull,
            format!("file of {t} bytes: this server takes at most {max}"),
        ));
    }
    let mut neg = Negotiated {
        blksize: DEFAULT_BLKSIZE,
        windowsize: 1,
        timeout: None,
        tsize: None,
        oack: false,
    };
    if !limits.options {
        return Ok((neg, None));
    }
    let mut oack: Vec<(&str, String)> = Vec::new();
    if let Some(b) = a.blksize {
        let b = u16::try_from(b)
            .unwrap_or(MAX_BLKSIZE)
            .min(limits.max_blksize);
        neg.blksize = b;
        oack.push(("blksize", b.to_string()));
    }
    if let Some(t) = a.timeout.filter(|&t| t <= MAX_TIMEOUT) {
        neg.timeout = u8::try_from(t).ok();
        oack.push(("timeout", t.to_string()));
    }
    match (req.direction, a.tsize) {
        (Direction::Read, Some(_)) => {
            if let (Some(s), Mode::Octet) = (size, req.mode) {
                neg.tsize = Some(s);
                oack.push(("tsize", s.to_string()));
            }
        }
        (Direction::Write, Some(t)) => {
            neg.tsize = Some(t);
            oack.push(("tsize", t.to_string()));
        }
        (_, None) => {}
    }
    if let Some(w) = a.windowsize {
        let fits = u16::try_from(limits.window_bytes / u64::from(neg.blksize)).unwrap_or(u16::MAX);
        let w = u16::try_from(w)
            .unwrap_or(u16::MAX)
            .min(limits.max_windowsize)
            .min(fits)
            .max(1);
        neg.windowsize = w;
        oack.push(("windowsize", w.to_string()));
    }
    if oack.is_empty() {
        return Ok((neg, None));
    }
    neg.oack = true;
    let options: Vec<(&str, &str)> = oack.iter().map(|(k, v)| (*k, v.as_str())).collect();
    Ok((neg, Some(Packet::Oack { options }.to_vec())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rrq(name: &str, mode: &str, opts: &[(&str, &str)]) -> Vec<u8> {
        Packet::Rrq {
            filename: name,
            mode,
            options: opts.to_vec(),
        }
        .to_vec()
    }

    fn refused(bytes: &[u8]) -> (u16, String) {
        match parse(bytes) {
            Incoming::Refused(r) => (r.code.to_u16(), r.message),
            other => panic!("not refused: {other:?}"),
        }
    }

    #[test]
    fn a_plain_request_and_its_options() {
        let Incoming::Request(r) = parse(&rrq(
            "fw/a.bin",
            "OCTET",
            &[("BlkSize", "1468"), ("tsize", "0"), ("x-vendor", "1")],
        )) else {
            panic!()
        };
        assert_eq!(r.filename, "fw/a.bin");
        assert_eq!(r.mode, Mode::Octet);
        assert_eq!(r.asked.blksize, Some(1468));
        assert_eq!(r.asked.tsize, Some(0));
        let (neg, oack) = negotiate(&r, &Limits::default(), Some(5000)).unwrap();
        assert_eq!((neg.blksize, neg.tsize, neg.oack), (1468, Some(5000), true));
        let oack = oack.unwrap();
        let Ok(Packet::Oack { options }) = Packet::parse(&oack) else {
            panic!()
        };
        assert_eq!(options, vec![("blksize", "1468"), ("tsize", "5000")]);
    }

    #[test]
    fn malformed_requests_get_error_4_or_8() {
        assert_eq!(refused(b"\x00\x01file").0, 4, "no NUL");
        assert_eq!(refused(&rrq("f", "mail", &[])).0, 4);
        assert_eq!(refused(&rrq("f", "ebcdic", &[])).0, 4);
        assert_eq!(
            refused(b"\x00\x01f\0octet\0blksize\0").0,
            4,
            "option without value"
        );
        let mut long = rrq(&"a".repeat(300), "octet", &[]);
        long.extend(rrq(&"b".repeat(300), "octet", &[]));
        assert_eq!(refused(&long).0, 4, "over 512 bytes");
        assert_eq!(
            refused(&rrq(
                "f",
                "octet",
                &[("blksize", "512"), ("BLKSIZE", "1024")]
            ))
            .0,
            8
        );
        assert_eq!(refused(&rrq("f", "octet", &[("blksize", "0")])).0, 8);
        assert_eq!(refused(&rrq("f", "octet", &[("blksize", "70000")])).0, 8);
        assert_eq!(refused(&rrq("f", "octet", &[("windowsize", "0")])).0, 8);
        assert_eq!(refused(&rrq("f", "octet", &[("timeout", "256")])).0, 8);
        assert_eq!(refused(&rrq("f", "octet", &[("tsize", "-1")])).0, 8);
        assert_eq!(
            refused(&crate::wire::tftp::ack(3)).0,
            4,
            "an ACK to the server port"
        );
        assert_eq!(
            parse(
                &Packet::Error {
                    code: ErrorCode::NotDefined,
                    message: "x"
                }
                .to_vec()
            ),
            Incoming::Ignored
        );
    }

    #[test]
    fn names_leaving_the_directory_are_access_violations() {
        for name in ["/etc/passwd", "../x", "a/../../x", "a/..", "dir/"] {
            assert_eq!(refused(&rrq(name, "octet", &[])).0, 2, "{name}");
        }
        assert!(matches!(
            parse(&rrq("a..b/..c", "octet", &[])),
            Incoming::Request(_)
        ));
    }

    #[test]
    fn options_are_lowered_to_the_limits_and_tsize_capped_for_writes() {
        let limits = Limits {
            max_blksize: 1468,
            max_windowsize: 16,
            options: true,
            max_size: Some(1000),
            window_bytes: WINDOW_BYTES,
        };
        let Incoming::Request(r) = parse(&rrq(
            "f",
            "octet",
            &[("blksize", "65464"), ("windowsize", "64")],
        )) else {
            panic!()
        };
        let (neg, _) = negotiate(&r, &limits, Some(1)).unwrap();
        assert_eq!((neg.blksize, neg.windowsize), (1468, 16));
        let wrq = Packet::Wrq {
            filename: "f",
            mode: "octet",
            options: vec![("tsize", "1001")],
        }
        .to_vec();
        let Incoming::Request(w) = parse(&wrq) else {
            panic!()
        };
        assert_eq!(negotiate(&w, &limits, None).unwrap_err().code.to_u16(), 3);
        let no = Limits {
            options: false,
            ..limits
        };
        assert_eq!(
            negotiate(&r, &no, Some(1)).unwrap(),
            (
                Negotiated {
                    blksize: 512,
                    windowsize: 1,
                    timeout: None,
                    tsize: None,
                    oack: false,
                },
                None
            )
        );
    }

    #[test]
    fn windows_are_held_to_their_bytes_and_long_timeouts_are_not_honoured() {
        let Incoming::Request(r) = parse(&rrq(
            "f",
            "octet",
            &[
                ("blksize", "65464"),
                ("windowsize", "64"),
                ("timeout", "255"),
            ],
        )) else {
            panic!()
        };
        let (neg, oack) = negotiate(&r, &Limits::default(), Some(1)).unwrap();
        assert_eq!(
            (neg.blksize, neg.windowsize, neg.timeout),
            (65464, 16, None)
        );
        let Ok(Packet::Oack { options }) = Packet::parse(oack.as_ref().unwrap()) else {
            panic!()
        };
        assert!(!options.iter().any(|(k, _)| *k == "timeout"), "{options:?}");
        let tight = Limits {
            window_bytes: 1000,
            ..Limits::default()
        };
        assert_eq!(
            negotiate(&r, &tight, Some(1)).unwrap().0.windowsize,
            1,
            "at least one block"
        );
    }

    #[test]
    fn netascii_reads_get_no_tsize_and_unknown_options_no_oack() {
        let Incoming::Request(r) = parse(&rrq("f", "netascii", &[("tsize", "0"), ("foo", "1")]))
        else {
            panic!()
        };
        assert_eq!(negotiate(&r, &Limits::default(), Some(10)).unwrap().1, None);
    }
}
