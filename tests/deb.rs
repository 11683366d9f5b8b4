//! The Debian package `cargo deb` builds (scripts/test.sh builds it before
//! the tests, into target/debian/): what it holds, and what installing it
//! gives. It is installed with the real dpkg into a scratch root
//! (`dpkg --root --force-script-chrootless`, so the postinst runs with
//! `DPKG_ROOT` set, outside a chroot the scratch root could not serve),
//! and then: the binary runs, the man pages render with `man -l`, the
//! postinst gave the binary `cap_net_raw` (and says what to do when setcap
//! is missing), an unprivileged user can `nettool arp` a lab host thanks
//! to it, and systemd accepts the example units against the installed
//! tree (`systemd-analyze verify --root`).
//!
//! Only the ARP test sends anything: one request, inside a lab pair.

mod lab;
mod util;

use std::path::{Path, PathBuf};
use std::process::Command;

use util::{Output, run_command, skip_or_fail, which};

/// The newest target/debian/nettool_*.deb of this version, or a skip
/// (under CI a failure) naming the command that makes it.
fn deb() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/debian");
    let prefix = format!("nettool_{}-", env!("CARGO_PKG_VERSION"));
    let newest = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.starts_with(&prefix) && e.path().extension().is_some_and(|x| x == "deb")
        })
        .max_by_key(|e| e.metadata().and_then(|m| m.modified()).ok())
        .map(|e| e.path());
    if newest.is_none() {
        skip_or_fail(format!(
            "no {prefix}*.deb in {}: run `cargo deb` (scripts/test.sh does)",
            dir.display()
        ));
    }
    newest
}

fn run(program: &str, args: &[&str]) -> Output {
    let mut c = Command::new(program);
    c.args(args);
    run_command(
        c,
        util::shell_words(&[&[program], args].concat()),
        None,
        util::RUN_TIMEOUT,
    )
}

/// The package installed into a fresh scratch root; removed on drop.
struct Installed {
    root: tempfile::TempDir,
    dpkg: Output,
}

impl Installed {
    fn path(&self, p: &str) -> PathBuf {
        self.root.path().join(p.trim_start_matches('/'))
    }
}

/// setpriv's arguments to run `bin ARGS` as nobody, no groups.
fn as_nobody<'a>(bin: &'a str, args: &[&'a str]) -> Vec<&'a str> {
    let mut all = vec![
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        "--",
        bin,
    ];
    all.extend_from_slice(args);
    all
}

#[track_caller]
fn install(deb: &Path) -> Installed {
    let root = tempfile::tempdir().expect("scratch root");
    // Searchable by others: the unprivileged ARP run execs from it.
    std::fs::set_permissions(
        root.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .expect("chmod scratch root");
    let db = root.path().join("var/lib/dpkg");
    std::fs::create_dir_all(db.join("info")).expect("dpkg db");
    std::fs::create_dir_all(db.join("updates")).expect("dpkg db");
    std::fs::write(db.join("status"), "").expect("dpkg status");
    std::fs::write(db.join("available"), "").expect("dpkg available");
    let root_arg = format!("--root={}", root.path().display());
    // --force-depends: the scratch root has no libc6 package to satisfy
    // the dependency cargo-deb computed (the host's libc runs the binary).
    let dpkg = run(
        "dpkg",
        &[
            &root_arg,
            "--force-script-chrootless",
            "--force-depends",
            "--log=/dev/null",
            "-i",
            &deb.to_string_lossy(),
        ],
    );
    dpkg.ok();
    Installed { root, dpkg }
}

/// `dpkg-deb -c`: the binary, every man page gzipped, the completions where
/// bash-completion, zsh and fish look, the example units and alert rules,
/// and nothing outside /usr.
#[test]
fn the_package_holds_the_binary_man_pages_completions_and_examples() {
    let Some(deb) = deb() else { return };
    let list = run("dpkg-deb", &["-c", &deb.to_string_lossy()]);
    list.ok();
    let entries: Vec<(&str, &str)> = list
        .stdout
        .lines()
        .filter_map(|l| {
            let mode = l.split_whitespace().next()?;
            let path = l.split_whitespace().last()?;
            Some((mode, path.trim_start_matches('.')))
        })
        .collect();
    let has = |path: &str, mode: &str| {
        assert!(
            entries.iter().any(|&(m, p)| p == path && m == mode),
            "{path} ({mode}) in the package:{list}"
        );
    };
    has("/usr/bin/nettool", "-rwxr-xr-x");
    let man = Path::new(env!("CARGO_MANIFEST_DIR")).join("man");
    let mut pages = 0;
    for page in std::fs::read_dir(&man).expect("man/") {
        let name = page.expect("man/ entry").file_name();
        let name = name.to_string_lossy();
        has(&format!("/usr/share/man/man1/{name}.gz"), "-rw-r--r--");
        pages += 1;
    }
    assert!(pages >= 5, "the man pages of every subcommand: {pages}");
    has(
        "/usr/share/bash-completion/completions/nettool",
        "-rw-r--r--",
    );
    has("/usr/share/zsh/vendor-completions/_nettool", "-rw-r--r--");
    has(
        "/usr/share/fish/vendor_completions.d/nettool.fish",
        "-rw-r--r--",
    );
    for unit in [
        "nettool-sockstat.service",
        "nettool-sockstat.timer",
        "nettool-probe@.service",
        "nettool-probe@.timer",
    ] {
        has(
            &format!("/usr/share/doc/nettool/examples/systemd/{unit}"),
            "-rw-r--r--",
        );
    }
    has(
        "/usr/share/doc/nettool/examples/prometheus/nettool-alerts.yml",
        "-rw-r--r--",
    );
    has("/usr/share/doc/nettool/copyright", "-rw-r--r--");
    for (_, path) in &entries {
        assert!(
            *path == "/" || path.starts_with("/usr/"),
            "{path}: a package installs below /usr only{list}"
        );
    }
    // Units under /lib/systemd would be enabled by the package's scripts:
    // these are examples.
    assert!(
        !entries.iter().any(|(_, p)| p.contains("/lib/systemd/")),
        "no active units{list}"
    );
}

/// Installed by dpkg: the postinst ran (`cap_net_raw` on the binary), the
/// binary reports the crate's version, and every man page renders.
#[test]
fn installed_it_runs_has_cap_net_raw_and_its_man_pages_render() {
    let Some(deb) = deb() else { return };
    let Some(getcap) = which("getcap") else {
        skip_or_fail("getcap is not installed (apt install libcap2-bin)");
        return;
    };
    let inst = install(&deb);
    assert!(
        inst.dpkg.stdout.contains("Setting up nettool"),
        "configured{}",
        inst.dpkg
    );
    assert!(
        !inst.dpkg.stderr.contains("setcap"),
        "no setcap complaint{}",
        inst.dpkg
    );
    let bin = inst.path("/usr/bin/nettool");
    let caps = run(&getcap.to_string_lossy(), &[&bin.to_string_lossy()]);
    assert!(
        caps.stdout.contains("cap_net_raw=ep"),
        "the postinst's setcap{caps}"
    );
    let version = run(&bin.to_string_lossy(), &["--version"]);
    version.ok();
    assert_eq!(
        version.stdout.trim(),
        format!("nettool {}", env!("CARGO_PKG_VERSION"))
    );
    let man_dir = inst.path("/usr/share/man/man1");
    let mut rendered = 0;
    for page in std::fs::read_dir(&man_dir).expect("installed man pages") {
        let page = page.expect("man page").path();
        let name = page.file_name().unwrap().to_string_lossy().into_owned();
        let topic = name.trim_end_matches(".1.gz");
        let mut c = Command::new("man");
        c.args(["-l", &page.to_string_lossy()])
            .env("MANWIDTH", "80")
            .env("MANPAGER", "cat")
            .env("PAGER", "cat");
        let out = run_command(c, format!("man -l {name}"), None, util::RUN_TIMEOUT);
        out.ok();
        assert!(
            out.stdout.contains("NAME") && out.stdout.contains(topic),
            "{name} renders with its NAME section{out}"
        );
        assert!(
            out.stderr.trim().is_empty(),
            "man has no complaint about {name}{out}"
        );
        rendered += 1;
    }
    assert!(rendered >= 5, "every page: {rendered}");
}

/// The postinst on a host without setcap: it still succeeds (the package
/// installs) and says on stderr what to install and run.
#[test]
fn without_setcap_the_postinst_says_what_to_do() {
    let Some(deb) = deb() else { return };
    let control = tempfile::tempdir().expect("control dir");
    run(
        "dpkg-deb",
        &[
            "-e",
            &deb.to_string_lossy(),
            &control.path().to_string_lossy(),
        ],
    )
    .ok();
    let empty = tempfile::tempdir().expect("an empty PATH");
    let mut c = Command::new("/bin/sh");
    c.arg(control.path().join("postinst"))
        .arg("configure")
        .env_clear()
        .env("PATH", empty.path())
        .env("DPKG_ROOT", empty.path());
    let out = run_command(c, "postinst configure".into(), None, util::RUN_TIMEOUT);
    out.ok();
    assert_eq!(
        out.stderr.trim(),
        "nettool: setcap not found, so nettool arp needs root; to let users run it: apt install libcap2-bin && setcap cap_net_raw+ep /usr/bin/nettool",
        "{out}"
    );
}

/// What the file capability is for: an unprivileged user runs the
/// installed `nettool arp` inside a lab namespace and gets B's MAC.
#[test]
fn an_unprivileged_user_can_arp_with_the_installed_binary() {
    let Some(deb) = deb() else { return };
    let Some(lab) = lab::require_with(&["setpriv", "getcap"]) else {
        return;
    };
    let inst = install(&deb);
    let pair = lab.pair();
    let bin = inst.path("/usr/bin/nettool");
    let b = pair.b.ip.to_string();
    let bin = bin.to_string_lossy();
    let out = lab::run_in(
        &pair.a.ns,
        "setpriv",
        &as_nobody(&bin, &["arp", "-c", "1", "-w", "2", &b]),
    );
    out.ok();
    let mac = lab::mac(&pair.b.ns, &pair.b.iface);
    assert!(
        out.stdout.to_lowercase().contains(&mac.to_lowercase()),
        "B's MAC {mac} from nobody's nettool arp{out}"
    );
}

/// The example units load in systemd against the installed tree: the
/// binary they name exists, every key is known (stderr empty).
#[test]
fn systemd_accepts_the_example_units() {
    let Some(deb) = deb() else { return };
    let Some(analyze) = which("systemd-analyze") else {
        skip_or_fail("systemd-analyze is not installed (apt install systemd)");
        return;
    };
    let inst = install(&deb);
    let units = inst.path("/etc/systemd/system");
    std::fs::create_dir_all(&units).expect("unit dir");
    let examples = inst.path("/usr/share/doc/nettool/examples/systemd");
    for e in std::fs::read_dir(&examples).expect("installed examples") {
        let e = e.expect("example");
        std::fs::copy(e.path(), units.join(e.file_name())).expect("copy unit");
    }
    // What the units lean on from the rest of a system: the targets they
    // are ordered against, and /bin/sh for the probe's target list.
    let lib = inst.path("/usr/lib/systemd/system");
    std::fs::create_dir_all(&lib).expect("lib dir");
    for e in std::fs::read_dir("/usr/lib/systemd/system").expect("host units") {
        let e = e.expect("host unit");
        if e.file_name().to_string_lossy().ends_with(".target") {
            std::fs::copy(e.path(), lib.join(e.file_name())).expect("copy target");
        }
    }
    std::fs::create_dir_all(inst.path("/bin")).expect("bin dir");
    std::fs::copy("/bin/sh", inst.path("/bin/sh")).expect("copy sh");
    let root_arg = format!("--root={}", inst.root.path().display());
    for unit in [
        "nettool-sockstat.service",
        "nettool-sockstat.timer",
        "nettool-probe@web.service",
        "nettool-probe@web.timer",
    ] {
        let mut c = Command::new(&analyze);
        c.args(["verify", "--man=no", &root_arg, unit])
            .current_dir(&units);
        let out = run_command(
            c,
            format!("systemd-analyze verify {unit}"),
            None,
            util::RUN_TIMEOUT,
        );
        out.ok();
        assert!(out.stderr.trim().is_empty(), "{unit} verifies cleanly{out}");
    }
}

/// Only `nettool arp` keeps the file capability: a user's `nettool probe
/// serve` (a long-lived process to look at) runs with none, permitted
/// or effective.
#[test]
fn other_subcommands_drop_the_file_capability() {
    let Some(deb) = deb() else { return };
    let Some(lab) = lab::require_with(&["setpriv", "getcap"]) else {
        return;
    };
    let inst = install(&deb);
    let mut net = lab.net();
    let ns = net.add_namespaces(1).remove(0);
    let bin = inst.path("/usr/bin/nettool");
    let bin = bin.to_string_lossy();
    let mut serve = lab::spawn_in(
        &ns,
        "setpriv",
        &as_nobody(&bin, &["probe", "serve", "7000"]),
    );
    let status = format!("/proc/{}/status", serve.pid());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let caps = loop {
        let text = std::fs::read_to_string(&status).unwrap_or_default();
        let listening = lab::run_in(&ns, "ss", &["-Htln", "sport", "7000"]);
        if text.contains("Name:\tnettool") && !listening.stdout.trim().is_empty() {
            break text;
        }
        assert!(
            serve.running() && std::time::Instant::now() < deadline,
            "probe serve did not start{}",
            serve.stop()
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    drop(serve);
    for set in ["CapPrm", "CapEff"] {
        assert!(
            caps.contains(&format!("{set}:\t0000000000000000")),
            "{set} empty in a user's probe serve:\n{caps}"
        );
    }
}
