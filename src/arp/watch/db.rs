//! The station database of `--watch --db FILE`: the known stations, kept
//! across runs.
//!
//! Format: JSON lines, UTF-8. The first line is the header
//! `{"schema":"nettool.arp.db/1"}`; every other line is one station:
//!
//! ```text
//! {"interface":"veth0","ip":"198.51.100.2","mac":"02:00:00:00:00:02",
//!  "first_seen_ms":1800000000000,"mac_since_ms":1800000000000,
//!  "last_seen_ms":1800000060000,
//!  "past":[{"mac":"02:00:00:00:00:09","first_seen_ms":..,"last_seen_ms":..}]}
//! ```
//! (one line in the file). Times are milliseconds since the Unix epoch;
//! `past` lists earlier MACs, least recently seen first, and may be
//! omitted. An (interface, ip) appears once.
//!
//! Loading: a missing file, or an empty one, is an empty database. A file
//! whose first line is not the header is not ours: [`DbError::NotADatabase`],
//! left where it is (a `--db` naming the wrong file must not move it). A
//! file with the header and a bad line after it is corrupt: it is renamed to
//! `FILE.corrupt-YYYYMMDDTHHMMSSZ` (UTC; `-2`, `-3`... when taken) and
//! [`DbError::Corrupt`] says which line, why, and where it went; it is never
//! read as empty without that error.
//!
//! Saving is atomic: a temporary file in FILE's directory is written,
//! fsynced and renamed over FILE, then the directory is fsynced; when any
//! step fails the temporary file is removed and FILE is as it was. The new
//! file keeps the old one's permissions (0600 when there was none). A
//! symlink at FILE is replaced by the file.

use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::{PastMac, Station};
use crate::wire::MacAddr;

/// The header line's schema.
pub const DB_SCHEMA: &str = "nettool.arp.db/1";

/// How much of a foreign first line an error quotes.
const QUOTED: usize = 60;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("cannot read the station database {}: {source}", path.display())]
    Read { path: PathBuf, source: io::Error },
    #[error(
        "{} is not a nettool station database (its first line is {first:?}, not {{\"schema\":\"{DB_SCHEMA}\"}}): name another file with --db",
        path.display()
    )]
    NotADatabase { path: PathBuf, first: String },
    #[error(
        "the station database {} is corrupt at line {line}: {why}; it was moved to {}",
        path.display(),
        moved_to.display()
    )]
    Corrupt {
        path: PathBuf,
        line: usize,
        why: String,
        moved_to: PathBuf,
    },
    #[error(
        "the station database {} is corrupt at line {line}: {why}; moving it aside failed: {source}",
        path.display()
    )]
    CorruptStuck {
        path: PathBuf,
        line: usize,
        why: String,
        source: io::Error,
    },
    #[error(
        "cannot save the station database {}: {source}; name a file in a directory this user can write",
        path.display()
    )]
    Save { path: PathBuf, source: io::Error },
}

#[derive(Serialize, Deserialize)]
struct Header {
    schema: String,
}

#[derive(Serialize, Deserialize)]
struct Line {
    interface: String,
    ip: IpAddr,
    mac: String,
    first_seen_ms: u64,
    mac_since_ms: u64,
    last_seen_ms: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    past: Vec<PastLine>,
}

#[derive(Serialize, Deserialize)]
struct PastLine {
    mac: String,
    first_seen_ms: u64,
    last_seen_ms: u64,
}

fn to_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn from_ms(ms: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms)
}

fn mac(text: &str) -> Result<MacAddr, String> {
    text.parse()
        .map_err(|_| format!("{text:?} is not a MAC address"))
}

impl Line {
    fn of(s: &Station) -> Line {
        Line {
            interface: s.interface.clone(),
            ip: s.ip,
            mac: s.mac.to_string(),
            first_seen_ms: to_ms(s.first_seen),
            mac_since_ms: to_ms(s.mac_since),
            last_seen_ms: to_ms(s.last_seen),
            past: s
                .past
                .iter()
                .map(|p| PastLine {
                    mac: p.mac.to_string(),
                    first_seen_ms: to_ms(p.first_seen),
                    last_seen_ms: to_ms(p.last_seen),
                })
                .collect(),
        }
    }

    fn station(self) -> Result<Station, String> {
        if self.interface.is_empty() {
            return Err("empty interface name".into());
        }
        let past = self
            .past
            .into_iter()
            .map(|p| {
                Ok(PastMac {
                    mac: mac(&p.mac)?,
                    first_seen: from_ms(p.first_seen_ms),
                    last_seen: from_ms(p.last_seen_ms),
                })
            })
            .collect::<Result<_, String>>()?;
        Ok(Station {
            interface: self.interface,
            ip: self.ip,
            mac: mac(&self.mac)?,
            first_seen: from_ms(self.first_seen_ms),
            mac_since: from_ms(self.mac_since_ms),
            last_seen: from_ms(self.last_seen_ms),
            past,
        })
    }
}

/// What reading found wrong, before the file is moved aside.
enum Bad {
    Foreign(String),
    Corrupt(usize, String),
}

/// Read the stations in `path`; `now` names a corrupt file moved aside.
///
/// # Errors
/// See [`DbError`]: unreadable, not ours, corrupt (moved aside).
pub fn load(path: &Path, now: SystemTime) -> Result<Vec<Station>, DbError> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(DbError::Read {
                path: path.to_owned(),
                source,
            });
        }
    };
    let bad = match read(BufReader::new(file)) {
        Ok(v) => return Ok(v),
        Err(Ok(bad)) => bad,
        Err(Err(source)) => {
            return Err(DbError::Read {
                path: path.to_owned(),
                source,
            });
        }
    };
    let (line, why) = match bad {
        Bad::Foreign(first) => {
            return Err(DbError::NotADatabase {
                path: path.to_owned(),
                first,
            });
        }
        Bad::Corrupt(line, why) => (line, why),
    };
    match move_aside(path, now) {
        Ok(moved_to) => Err(DbError::Corrupt {
            path: path.to_owned(),
            line,
            why,
            moved_to,
        }),
        Err(source) => Err(DbError::CorruptStuck {
            path: path.to_owned(),
            line,
            why,
            source,
        }),
    }
}

/// Parse database text (what [`load`] reads from the file): the stations,
/// or why the text is not a database or not a sound one. For tools and
/// the fuzzer; [`load`] adds moving a corrupt file aside.
///
/// # Errors
/// The text's first fault, in words.
pub fn parse(r: impl BufRead) -> Result<Vec<Station>, String> {
    read(r).map_err(|e| match e {
        Ok(Bad::Foreign(first)) => format!("not a nettool station database (it begins {first:?})"),
        Ok(Bad::Corrupt(line, why)) => format!("line {line}: {why}"),
        Err(e) => e.to_string(),
    })
}

/// Parse a whole database; `Err(Ok(_))` for bad content, `Err(Err(_))`
/// when reading failed.
fn read(r: impl BufRead) -> Result<Vec<Station>, Result<Bad, io::Error>> {
    let mut lines = r.lines().enumerate();
    let corrupt = |n: usize, why: String| Err(Ok(Bad::Corrupt(n + 1, why)));
    match lines.next() {
        None => return Ok(Vec::new()),
        Some((_, Err(e))) if e.kind() == io::ErrorKind::InvalidData => {
            return Err(Ok(Bad::Foreign("(not UTF-8)".into())));
        }
        Some((_, Err(e))) => return Err(Err(e)),
        Some((_, Ok(first))) => {
            let ours = serde_json::from_str::<Header>(&first).is_ok_and(|h| h.schema == DB_SCHEMA);
            if !ours {
                let quoted: String = first.chars().take(QUOTED).collect();
                return Err(Ok(Bad::Foreign(quoted)));
            }
        }
    }
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for (n, line) in lines {
        let text = match line {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                return corrupt(n, "not UTF-8".into());
            }
            Err(e) => return Err(Err(e)),
        };
        if text.trim().is_empty() {
            continue;
        }
        let station = match serde_json::from_str::<Line>(&text) {
            Ok(l) => l.station(),
            Err(e) => Err(e.to_string()),
        };
        let s = match station {
            Ok(s) => s,
            Err(why) => return corrupt(n, why),
        };
        if !seen.insert((s.interface.clone(), s.ip)) {
            return corrupt(n, format!("{} on {} is listed twice", s.ip, s.interface));
        }
        out.push(s);
    }
    Ok(out)
}

/// Rename `path` to `path.corrupt-STAMP`, never over an existing file.
fn move_aside(path: &Path, now: SystemTime) -> io::Result<PathBuf> {
    let base = format!("{}.corrupt-{}", path.display(), utc_stamp(now));
    for n in 1..=100 {
        let to = if n == 1 {
            PathBuf::from(&base)
        } else {
            PathBuf::from(format!("{base}-{n}"))
        };
        if fs::symlink_metadata(&to).is_err() {
            fs::rename(path, &to)?;
            return Ok(to);
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        format!("{base} and 99 more are taken"),
    ))
}

/// `20261204T185000Z`: the civil date of `t` in UTC (days to year, month,
/// day after Howard Hinnant's `civil_from_days`).
fn utc_stamp(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// Write `stations` to `path` atomically (see the module doc).
///
/// # Errors
/// [`DbError::Save`] with the step's error; `path` is then unchanged.
pub fn save(path: &Path, stations: &[Station]) -> Result<(), DbError> {
    save_with(path, |w| write_to(w, stations))
}

/// The database text of `stations` (what [`save`] writes), to `w`.
///
/// # Errors
/// What writing to `w` failed with.
pub fn write_to(w: &mut dyn Write, stations: &[Station]) -> io::Result<()> {
    serde_json::to_writer(
        &mut *w,
        &Header {
            schema: DB_SCHEMA.into(),
        },
    )?;
    w.write_all(b"\n")?;
    for s in stations {
        serde_json::to_writer(&mut *w, &Line::of(s))?;
        w.write_all(b"\n")?;
    }
    Ok(())
}

/// Whether [`save`] could write `path`: a temporary file is made in its
/// directory and removed, and `path` must not be a directory. Called at
/// start, so that a watch that could never save says so before it runs.
///
/// # Errors
/// [`DbError::Save`] with what failed.
pub fn check_writable(path: &Path) -> Result<(), DbError> {
    let err = |source| DbError::Save {
        path: path.to_owned(),
        source,
    };
    if fs::metadata(path).is_ok_and(|m| m.is_dir()) {
        return Err(err(io::Error::from(io::ErrorKind::IsADirectory)));
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    // Saving needs the directory to exist and be one (write and search
    // permission are the temporary file's to find out), not to be listable.
    match fs::metadata(dir) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => {
            return Err(err(io::Error::from_raw_os_error(
                crate::sys::errno::ENOTDIR,
            )));
        }
        Err(e) => return Err(err(e)),
    }
    tempfile::Builder::new()
        .prefix(".nettool-check.")
        .tempfile_in(dir)
        .map(drop)
        .map_err(|e| err(without_temp_path(e)))
}

/// The OS error alone: tempfile's errors name the temporary file, which is
/// ours, not a path the user gave or can act on.
fn without_temp_path(e: io::Error) -> io::Error {
    match e.kind() {
        _ if e.raw_os_error().is_some() => e,
        io::ErrorKind::Other => e,
        kind => io::Error::from(kind),
    }
}

/// The atomic save around any writer of the content.
fn save_with(
    path: &Path,
    content: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<(), DbError> {
    let err = |source| DbError::Save {
        path: path.to_owned(),
        source,
    };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map_or_else(|| "db".into(), |n| n.to_string_lossy().into_owned());
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| err(without_temp_path(e)))?;
    if let Ok(old) = fs::metadata(path) {
        fs::set_permissions(tmp.path(), old.permissions()).map_err(err)?;
    }
    {
        let mut w = BufWriter::new(tmp.as_file_mut());
        content(&mut w).map_err(err)?;
        w.flush().map_err(err)?;
    }
    tmp.as_file().sync_all().map_err(err)?;
    tmp.persist(path).map_err(|e| err(e.error))?;
    // The rename lasts a crash once the directory entry is on disk.
    File::open(dir).and_then(|d| d.sync_all()).map_err(err)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: u64) -> SystemTime {
        from_ms(ms)
    }

    fn sample() -> Vec<Station> {
        vec![
            Station {
                interface: "veth0".into(),
                ip: "198.51.100.2".parse().unwrap(),
                mac: "02:00:00:00:00:02".parse().unwrap(),
                first_seen: at(1_800_000_000_001),
                mac_since: at(1_800_000_100_000),
                last_seen: at(1_800_000_200_123),
                past: vec![
                    PastMac {
                        mac: "02:00:00:00:00:09".parse().unwrap(),
                        first_seen: at(1_800_000_000_001),
                        last_seen: at(1_800_000_050_000),
                    },
                    PastMac {
                        mac: "00:05:5d:61:58:a8".parse().unwrap(),
                        first_seen: at(1_800_000_060_000),
                        last_seen: at(1_800_000_070_000),
                    },
                ],
            },
            Station {
                interface: "br-lab".into(),
                ip: "2001:db8::2".parse().unwrap(),
                mac: "02:00:00:00:00:03".parse().unwrap(),
                first_seen: at(5),
                mac_since: at(6),
                last_seen: at(7),
                past: Vec::new(),
            },
        ]
    }

    #[test]
    fn text_parses_or_says_its_first_fault() {
        let mut text = Vec::new();
        write_to(&mut text, &sample()).unwrap();
        assert_eq!(parse(&text[..]), Ok(sample()));
        assert_eq!(parse(&b""[..]), Ok(Vec::new()));
        let e = parse(&b"127.0.0.1 localhost\n"[..]).unwrap_err();
        assert!(e.starts_with("not a nettool station database"), "{e}");
        let mut bad = text.clone();
        bad.extend_from_slice(b"{\"interface\":\"veth0\"}\n");
        let e = parse(&bad[..]).unwrap_err();
        assert!(e.starts_with("line 4: "), "{e}");
    }

    fn dir_names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn a_saved_database_loads_back_the_same_and_leaves_no_temporary_file() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("stations.db");
        save(&path, &sample()).unwrap();
        assert_eq!(dir_names(d.path()), ["stations.db"]);
        assert_eq!(load(&path, SystemTime::now()).unwrap(), sample());
        let text = fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert_eq!(lines[0], r#"{"schema":"nettool.arp.db/1"}"#);
        assert!(lines[2].contains(r#""ip":"2001:db8::2""#), "{text}");
        assert!(!lines[2].contains("past"), "an empty past is left out");
        // Saved again over itself: still one file, the new content.
        save(&path, &sample()[1..]).unwrap();
        assert_eq!(dir_names(d.path()), ["stations.db"]);
        assert_eq!(load(&path, SystemTime::now()).unwrap(), sample()[1..]);
    }

    #[test]
    fn a_missing_or_empty_file_is_an_empty_database() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("none.db");
        assert_eq!(load(&path, SystemTime::now()).unwrap(), []);
        fs::write(&path, "").unwrap();
        assert_eq!(load(&path, SystemTime::now()).unwrap(), []);
        fs::write(&path, format!("{{\"schema\":\"{DB_SCHEMA}\"}}\n")).unwrap();
        assert_eq!(load(&path, SystemTime::now()).unwrap(), []);
        assert_eq!(dir_names(d.path()), ["none.db"], "nothing moved");
    }

    #[test]
    fn a_save_that_cannot_create_its_file_fails_and_says_where() {
        let d = tempfile::tempdir().unwrap();
        let file = d.path().join("plain");
        fs::write(&file, "x").unwrap();
        // A parent that is a file fails as root too, unlike permissions.
        let path = file.join("stations.db");
        let e = save(&path, &sample()).unwrap_err();
        assert!(matches!(e, DbError::Save { .. }), "{e:?}");
        assert!(e.to_string().contains(&*path.to_string_lossy()), "{e}");
        assert_eq!(dir_names(d.path()), ["plain"]);
        assert_eq!(fs::read_to_string(&file).unwrap(), "x");
    }

    #[test]
    fn a_save_failing_midway_leaves_the_old_file_and_no_temporary() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("stations.db");
        save(&path, &sample()).unwrap();
        let before = fs::read(&path).unwrap();
        let e = save_with(&path, |w| {
            w.write_all(b"{\"schema\":\"nettool.arp.db/1\"}\n{\"interface\":")?;
            Err(io::Error::other("disk full"))
        })
        .unwrap_err();
        assert!(e.to_string().contains("disk full"), "{e}");
        assert_eq!(fs::read(&path).unwrap(), before);
        assert_eq!(dir_names(d.path()), ["stations.db"]);
    }

    #[test]
    fn a_save_keeps_the_old_files_permissions() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("stations.db");
        save(&path, &[]).unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
        save(&path, &sample()).unwrap();
        assert_eq!(mode(&path), 0o640);
    }

    #[test]
    fn a_corrupt_file_is_reported_with_its_line_and_moved_aside() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("stations.db");
        let now = UNIX_EPOCH + Duration::from_secs(1_796_410_200);
        let cases: [(&str, usize, &str); 4] = [
            ("{\"interface\":\"veth0\",\"ip\":", 3, "EOF"),
            (
                r#"{"interface":"veth0","ip":"198.51.100.9","mac":"zz","first_seen_ms":1,"mac_since_ms":1,"last_seen_ms":1}"#,
                3,
                "not a MAC",
            ),
            (
                r#"{"interface":"veth0","ip":"198.51.100.2","mac":"02:00:00:00:00:07","first_seen_ms":1,"mac_since_ms":1,"last_seen_ms":1}"#,
                3,
                "listed twice",
            ),
            ("\u{0}\u{1}", 3, "expected value"),
        ];
        for (i, (bad, line, why)) in cases.into_iter().enumerate() {
            save(&path, &sample()[..1]).unwrap();
            let mut text = fs::read_to_string(&path).unwrap();
            text.push_str(bad);
            text.push('\n');
            fs::write(&path, &text).unwrap();
            let e = load(&path, now).unwrap_err();
            let DbError::Corrupt {
                line: l,
                why: w,
                moved_to,
                ..
            } = &e
            else {
                panic!("{e:?}");
            };
            assert_eq!(*l, line, "{e}");
            assert!(w.contains(why), "{e}");
            let suffix = if i == 0 {
                String::new()
            } else {
                format!("-{}", i + 1)
            };
            let want = format!("stations.db.corrupt-20261204T185000Z{suffix}");
            assert_eq!(moved_to, &d.path().join(&want), "{e}");
            assert!(!path.exists(), "moved, not copied");
            assert_eq!(fs::read_to_string(moved_to).unwrap(), text, "kept whole");
            assert!(e.to_string().contains(&want), "{e}");
        }
        // Now missing: an empty database, the corrupt files stay.
        assert_eq!(load(&path, now).unwrap(), []);
        assert_eq!(dir_names(d.path()).len(), 4);
    }

    #[test]
    fn a_file_that_is_not_a_database_is_left_alone() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("hosts");
        for text in [
            "127.0.0.1 localhost\n".as_bytes(),
            b"{\"schema\":\"nettool.arp.db/2\"}\n",
            b"\xff\xfe\n",
        ] {
            fs::write(&path, text).unwrap();
            let e = load(&path, SystemTime::now()).unwrap_err();
            assert!(matches!(e, DbError::NotADatabase { .. }), "{e:?}");
            assert!(e.to_string().contains("--db"), "{e}");
            assert_eq!(fs::read(&path).unwrap(), text);
            assert_eq!(dir_names(d.path()), ["hosts"]);
        }
    }

    #[test]
    fn an_unreadable_path_is_a_read_error() {
        let d = tempfile::tempdir().unwrap();
        let e = load(d.path(), SystemTime::now()).unwrap_err();
        assert!(matches!(e, DbError::Read { .. }), "{e:?}");
    }

    /// What a run learned is what the next run starts from: no new
    /// stations, and a MAC from the history is a flip-flop, not a change.
    #[test]
    fn a_watchs_stations_survive_a_save_and_a_load() {
        use crate::addr::Cidr;
        use crate::arp::watch::{
            Event, EventKind, FrameKind, Limits, Observation, Watch, WatchIface,
        };
        let iface = || WatchIface {
            ifindex: 3,
            name: "veth0".into(),
            nets: vec![Cidr::parse("198.51.100.0/24").unwrap()],
        };
        let frame = |s: u64, host: u8, m: u8| Observation {
            at: at(1_800_000_000_000 + s * 1000),
            iface: 3,
            eth_src: MacAddr([2, 0, 0, 0, 0, m]),
            kind: FrameKind::ArpReply,
            sender_ip: IpAddr::from([198, 51, 100, host]),
            sender_mac: MacAddr([2, 0, 0, 0, 0, m]),
            target_ip: IpAddr::from([198, 51, 100, 1]),
        };
        let run = |w: &mut Watch, frames: &[Observation]| {
            let mut out = Vec::new();
            for f in frames {
                w.observe(f, &mut out);
            }
            out.iter().map(Event::kind).collect::<Vec<_>>()
        };
        let mut first = Watch::new(vec![iface()], Limits::default());
        run(
            &mut first,
            &[frame(0, 2, 2), frame(1, 3, 3), frame(2, 2, 9)],
        );
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("stations.db");
        save(&path, &first.stations()).unwrap();

        let mut second = Watch::new(vec![iface()], Limits::default());
        second.restore(load(&path, SystemTime::now()).unwrap());
        assert_eq!(second.stations(), first.stations());
        let k = run(&mut second, &[frame(3, 3, 3), frame(4, 2, 2)]);
        assert_eq!(k, [EventKind::FlipFlop]);
    }

    #[test]
    fn utc_stamps() {
        assert_eq!(utc_stamp(UNIX_EPOCH), "19700101T000000Z");
        let t = UNIX_EPOCH + Duration::from_secs(951_782_400 + 3_723);
        assert_eq!(utc_stamp(t), "20000229T010203Z");
        let t = UNIX_EPOCH + Duration::from_secs(1_796_410_200);
        assert_eq!(utc_stamp(t), "20261204T185000Z");
    }

    #[test]
    fn writability_is_checked_without_leaving_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("s.db");
        check_writable(&db).unwrap();
        assert!(dir_names(dir.path()).is_empty(), "the check leaves nothing");
        let missing = dir.path().join("no-dir").join("s.db");
        let e = check_writable(&missing).unwrap_err();
        assert!(matches!(e, DbError::Save { .. }));
        // The user's path and the OS's reason, not our temporary name.
        let line = e.to_string();
        assert!(line.contains(&missing.display().to_string()), "{line}");
        assert!(line.contains("No such file or directory"), "{line}");
        assert!(!line.contains(".nettool-check."), "{line}");
        assert!(matches!(
            check_writable(dir.path()),
            Err(DbError::Save { .. })
        ));
    }
}
