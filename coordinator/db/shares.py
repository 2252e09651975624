"""Whether a database sits on a network share, where SQLite's file locking cannot be trusted and
two workstations writing at once can corrupt it (https://www.sqlite.org/useovernet.html). The
store refuses to open or create a database there.
"""

from __future__ import annotations

import ntpath
import os
import re
import sys
from pathlib import Path

# File system types (as /proc/self/mountinfo or `mount` names them) of network shares, and of
# virtual machines' shared folders, where SQLite's locking cannot be relied on.
NETWORK_FILESYSTEMS = frozenset({
    "nfs", "nfs4", "cifs", "smb", "smb2", "smb3", "smbfs", "ncpfs", "ncp", "afs", "coda", "9p",
    "fuse.sshfs", "sshfs", "fuse.rclone", "rclone", "davfs", "fuse.davfs2", "webdav", "afpfs",
    "glusterfs", "fuse.glusterfs", "ceph", "fuse.ceph", "fuse.ceph-fuse", "lustre", "gpfs", "beegfs",
    "orangefs", "fuse.s3fs", "fuse.gcsfuse", "fuse.gvfsd-fuse", "vboxsf", "vmhgfs", "fuse.vmhgfs-fuse", "prl_fs",
})


def network_filesystem(path: Path) -> str | None:
    """The file system type when ``path`` (or, before it exists, the folder it would go in) is on a
    network share, else None. None also when the mount table cannot be read: it cannot tell."""
    where = Path(path).expanduser().resolve()  # symbolic links followed; a missing tail kept as written
    if os.name == "nt":
        return _windows_network(str(where))
    if sys.platform.startswith("linux"):
        mounts = parse_mountinfo(_linux_mount_table())
    else:
        mounts = parse_mount_output(_mount_command_output())
    kind = filesystem_type(mounts, where)
    return kind if kind in NETWORK_FILESYSTEMS else None


def _linux_mount_table() -> str:
    for table in ("/proc/self/mountinfo", "/proc/mounts"):
        try:
            return Path(table).read_text(errors="replace")
        except OSError:
            continue
    return ""


def _mount_command_output() -> str:
    import subprocess  # macOS and the BSDs only
    try:
        return subprocess.run(["/sbin/mount"], capture_output=True, text=True, timeout=5, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return ""


def parse_mountinfo(text: str) -> list[tuple[str, str]]:
    """(mount point, file system type) of each line of /proc/self/mountinfo, or of /proc/mounts."""
    mounts = []
    for line in text.splitlines():
        fields = line.split()
        if "-" in fields[6:]:  # mountinfo: id parent dev root point options [optional...] - type source
            separator = fields.index("-", 6)
            if len(fields) > separator + 1:
                mounts.append((_unescape(fields[4]), fields[separator + 1]))
        elif len(fields) >= 3:  # /proc/mounts: source point type options dump pass
            mounts.append((_unescape(fields[1]), fields[2]))
    return mounts


def parse_mount_output(text: str) -> list[tuple[str, str]]:
    """(mount point, type) of each line of macOS's or BSD's ``mount``: 'SOURCE on POINT (TYPE, ...)'."""
    mounts = []
    for line in text.splitlines():
        match = re.match(r"(.+?) on (.+) \(([^,()]+)", line)
        if match:
            mounts.append((match[2], match[3].strip()))
    return mounts


def filesystem_type(mounts: list[tuple[str, str]], path: Path | str) -> str | None:
    """The type of the mount that holds ``path`` (absolute): the longest mount point it is under,
    the last one mounted where several share a point (it hides the others)."""
    text, best, kind = str(path), -1, None
    for point, fstype in mounts:
        if (text == point or text.startswith(point.rstrip("/") + "/")) and len(point) >= best:
            best, kind = len(point), fstype
    return kind


def _unescape(field: str) -> str:
    r"""Mount tables write a space as \040, a tab as \011, a backslash as \134."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m[1], 8)), field)


def _windows_network(path: str) -> str | None:
    drive = ntpath.splitdrive(path)[0]
    upper = drive.upper()
    if upper.startswith("\\\\?\\UNC\\") or (drive[:2] in ("\\\\", "//") and not upper.startswith(("\\\\?\\", "\\\\.\\"))):
        return "UNC path"
    if os.name != "nt":
        return None
    import ctypes

    drive_remote = 4
    root = drive[-2:] + "\\"  # 'C:\' also from '\\?\C:'
    return "network drive" if ctypes.windll.kernel32.GetDriveTypeW(root) == drive_remote else None
