//! Which container a process is in, read from its cgroup path
//! (`/proc/PID/cgroup`). Pure: text in, [`Container`] out.
//!
//! The shapes the runtimes give (`<id>` is 64 lower-case hex digits, `<uid>`
//! a pod UID, written with `_` for `-` in systemd slice names):
//! - docker: `/docker/<id>` (cgroupfs driver), `.../docker-<id>.scope`
//!   (systemd driver)
//! - containerd / CRI: `.../cri-containerd-<id>.scope`,
//!   `...:cri-containerd:<id>`; cri-o: `.../crio-<id>.scope`
//! - podman: `.../libpod-<id>.scope`, `/libpod_parent/libpod-<id>`
//!   (`libpod-conmon-<id>` is podman's monitor, outside the container)
//! - kubernetes: `kubepods-<qos>-pod<uid>.slice` or `kubepods-pod<uid>.slice`
//!   (systemd), `/kubepods/<qos>/pod<uid>/<id>` or `/kubepods/pod<uid>/<id>`
//!   (cgroupfs, which does not name the runtime)
//!
//! Every line is looked at (the v2 `0::` line and v1 lines alike: on a
//! hybrid host docker's cgroupfs driver shows only in the v1 lines); the
//! line that says the most wins, the earliest on a tie.

use serde::Serialize;

/// A container, as far as its cgroup path tells.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Container {
    /// `docker`, `containerd`, `cri-o`, `podman`, or `None` where the path
    /// names a container but not its runtime (kubernetes' cgroupfs layout).
    pub runtime: Option<&'static str>,
    /// The full container id (64 hex digits), when the path has one.
    pub id: Option<String>,
    /// The kubernetes pod UID (with `-`), when the path has one.
    pub pod: Option<String>,
}

/// How many characters of an id the table shows (as `docker ps`).
pub const SHORT_ID: usize = 12;

impl Container {
    /// `docker:0123456789ab`, `pod:<uid>`, or both, space-separated.
    pub fn label(&self) -> String {
        let mut parts = Vec::new();
        if let Some(id) = &self.id {
            let short = &id[..id.len().min(SHORT_ID)];
            parts.push(format!("{}:{short}", self.runtime.unwrap_or("container")));
        }
        if let Some(pod) = &self.pod {
            parts.push(format!("pod:{pod}"));
        }
        parts.join(" ")
    }

    fn weight(&self) -> u8 {
        u8::from(self.id.is_some()) * 2 + u8::from(self.pod.is_some())
    }
}

/// The container named by the text of `/proc/PID/cgroup`, if any.
pub fn from_cgroup_file(text: &str) -> Option<Container> {
    let mut best: Option<Container> = None;
    for line in text.lines() {
        // hierarchy-ID:controller-list:cgroup-path; the path may hold ':'.
        let mut it = line.splitn(3, ':');
        let (Some(_), Some(_), Some(path)) = (it.next(), it.next(), it.next()) else {
            continue;
        };
        if let Some(c) = from_path(path)
            && best.as_ref().is_none_or(|b| c.weight() > b.weight())
        {
            best = Some(c);
        }
    }
    best
}

/// The container named by one cgroup path, if any.
pub fn from_path(path: &str) -> Option<Container> {
    let mut c = Container {
        runtime: None,
        id: None,
        pod: None,
    };
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    let mut in_kubepods = false;
    for (i, part) in parts.iter().enumerate() {
        if let Some((runtime, id)) = scope_id(part) {
            c.runtime = Some(runtime);
            c.id = Some(id.to_string());
        } else if *part == "docker" && parts.get(i + 1).is_some_and(|n| is_id(n)) {
            c.runtime = Some("docker");
        } else if *part == "kubepods" {
            in_kubepods = true;
        } else if let Some(uid) = slice_pod(part) {
            c.pod = Some(uid);
        } else if in_kubepods && let Some(uid) = part.strip_prefix("pod").filter(|u| is_uid(u)) {
            c.pod = Some(uid.to_string());
        } else if is_id(part) && (c.runtime == Some("docker") || c.pod.is_some()) {
            // `/docker/<id>`, `/kubepods/<qos>/pod<uid>/<id>`
            c.id = Some((*part).to_string());
        }
    }
    (c.id.is_some() || c.pod.is_some()).then_some(c)
}

/// `docker-<id>.scope`, `cri-containerd-<id>.scope`, `crio-<id>.scope`,
/// `libpod-<id>.scope` (or without `.scope`), `...:cri-containerd:<id>`.
fn scope_id(part: &str) -> Option<(&'static str, &str)> {
    if let Some((_, id)) = part.rsplit_once(":cri-containerd:") {
        return is_id(id).then_some(("containerd", id));
    }
    let base = part.strip_suffix(".scope").unwrap_or(part);
    [
        ("docker-", "docker"),
        ("cri-containerd-", "containerd"),
        ("crio-", "cri-o"),
        ("libpod-", "podman"),
    ]
    .into_iter()
    .find_map(|(prefix, runtime)| {
        let id = base.strip_prefix(prefix)?;
        is_id(id).then_some((runtime, id))
    })
}

/// `kubepods-pod<uid>.slice`, `kubepods-<qos>-pod<uid>.slice` -> the UID,
/// its `_` turned back into `-`.
fn slice_pod(part: &str) -> Option<String> {
    let name = part.strip_prefix("kubepods")?.strip_suffix(".slice")?;
    let (_, uid) = name.rsplit_once("-pod")?;
    let uid = uid.replace('_', "-");
    is_uid(&uid).then_some(uid)
}

/// 64 lower-case hex digits: a docker, containerd, cri-o or podman id.
fn is_id(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// A pod UID: `8-4-4-4-12` hex digits.
fn is_uid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    const UID: &str = "1f2e3d4c-5b6a-7980-a1b2-c3d4e5f6a7b8";
    const UID_: &str = "1f2e3d4c_5b6a_7980_a1b2_c3d4e5f6a7b8";

    #[allow(
        clippy::unnecessary_wraps,
        reason = "compared with what from_path returns"
    )]
    fn c(runtime: Option<&'static str>, id: bool, pod: bool) -> Option<Container> {
        Some(Container {
            runtime,
            id: id.then(|| ID.to_string()),
            pod: pod.then(|| UID.to_string()),
        })
    }

    #[test]
    fn each_runtimes_path_shapes() {
        for (path, want) in [
            (format!("/docker/{ID}"), c(Some("docker"), true, false)),
            (
                format!("/system.slice/docker-{ID}.scope"),
                c(Some("docker"), true, false),
            ),
            (
                format!("/system.slice/cri-containerd-{ID}.scope"),
                c(Some("containerd"), true, false),
            ),
            (
                format!(
                    "/system.slice/containerd.service/kubepods-burstable-pod{UID_}.slice:cri-containerd:{ID}"
                ),
                c(Some("containerd"), true, false),
            ),
            (
                format!("/machine.slice/libpod-{ID}.scope/container"),
                c(Some("podman"), true, false),
            ),
            (
                format!("/libpod_parent/libpod-{ID}"),
                c(Some("podman"), true, false),
            ),
            (
                format!(
                    "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod{UID_}.slice/cri-containerd-{ID}.scope"
                ),
                c(Some("containerd"), true, true),
            ),
            (
                format!("/kubepods.slice/kubepods-pod{UID_}.slice/crio-{ID}.scope"),
                c(Some("cri-o"), true, true),
            ),
            (
                format!(
                    "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{UID_}.slice/docker-{ID}.scope"
                ),
                c(Some("docker"), true, true),
            ),
            (
                format!("/kubepods/burstable/pod{UID}/{ID}"),
                c(None, true, true),
            ),
            (format!("/kubepods/pod{UID}/{ID}"), c(None, true, true)),
            (
                format!("/kubepods/besteffort/pod{UID}"),
                c(None, false, true),
            ),
            (
                format!(
                    "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{UID_}.slice"
                ),
                c(None, false, true),
            ),
        ] {
            assert_eq!(from_path(&path), want, "{path}");
        }
    }

    #[test]
    fn paths_that_name_no_container() {
        for path in [
            "/",
            "/init.scope",
            "/user.slice/user-1000.slice/session-2.scope",
            "/system.slice/docker.service",
            "/docker",
            "/docker/not-an-id",
            &format!("/docker/{}", &ID[..12]),
            &format!("/machine.slice/libpod-conmon-{ID}.scope"),
            &format!("/{ID}"),
            "/kubepods.slice/kubepods-besteffort.slice",
            "/pod1f2e3d4c-5b6a-7980-a1b2-c3d4e5f6a7b8",
        ] {
            assert_eq!(from_path(path), None, "{path}");
        }
    }

    #[test]
    fn a_whole_file_v2_only_and_hybrid() {
        let v2 = format!("0::/system.slice/docker-{ID}.scope\n");
        assert_eq!(from_cgroup_file(&v2), c(Some("docker"), true, false));
        // Hybrid, docker's cgroupfs driver: only the v1 lines say it.
        let hybrid = format!(
            "12:pids:/docker/{ID}\n11:memory:/docker/{ID}\n1:name=systemd:/docker/{ID}\n0::/\n"
        );
        assert_eq!(from_cgroup_file(&hybrid), c(Some("docker"), true, false));
        // The line that says more wins.
        let mixed = format!(
            "2:cpu:/kubepods/besteffort/pod{UID}\n1:memory:/kubepods/besteffort/pod{UID}/{ID}\n"
        );
        assert_eq!(from_cgroup_file(&mixed), c(None, true, true));
        assert_eq!(from_cgroup_file("0::/\n1:cpu:/\n"), None);
        assert_eq!(from_cgroup_file("garbage\n\n"), None);
    }

    #[test]
    fn labels_show_the_short_id_and_the_pod() {
        let docker = c(Some("docker"), true, false).unwrap();
        assert_eq!(docker.label(), "docker:0123456789ab");
        let k8s = c(Some("containerd"), true, true).unwrap();
        assert_eq!(k8s.label(), format!("containerd:0123456789ab pod:{UID}"));
        assert_eq!(
            c(None, true, false).unwrap().label(),
            "container:0123456789ab"
        );
        assert_eq!(c(None, false, true).unwrap().label(), format!("pod:{UID}"));
    }
}
