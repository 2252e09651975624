"""Databases on network shares are refused: which mount holds a path, from the mount tables of
Linux, macOS and BSD, and Windows' network paths."""

import os
import sys

import pytest

from coordinator.db import shares
from coordinator.db.store import Store
from coordinator.errors import StoreError

MOUNTINFO = r"""22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
30 22 8:17 / /srv rw,relatime shared:2 - ext4 /dev/sdb1 rw
31 30 0:41 / /srv/lab rw,relatime shared:3 master:7 - nfs4 fileserver:/export/lab rw,vers=4.2
32 31 8:33 / /srv/lab/local\040cache rw,relatime - ext4 /dev/sdc1 rw
33 22 0:43 / /mnt/Study\040Share rw,relatime - cifs //server/study\040share rw
34 22 0:44 / /home/ana/remote rw,nosuid - fuse.sshfs ana@host:/data rw
"""


@pytest.mark.parametrize("path, kind", [
    ("/srv/lab/study.db", "nfs4"),
    ("/srv/lab", "nfs4"),
    ("/srv/labnotes/study.db", "ext4"),  # a mount point is a whole folder name, not a prefix of one
    ("/srv/lab/local cache/study.db", "ext4"),  # the longest mount point wins
    ("/mnt/Study Share/trial/study.db", "cifs"),
    ("/home/ana/remote/study.db", "fuse.sshfs"),
    ("/home/ana/study.db", "ext4"),
])
def test_the_mount_holding_a_path(path, kind):
    assert shares.filesystem_type(shares.parse_mountinfo(MOUNTINFO), path) == kind


def test_proc_mounts_and_bsd_mount_output():
    mounts = shares.parse_mountinfo("/dev/sda1 / ext4 rw 0 0\nserver:/x /mnt/nfs\\040share nfs rw,vers=3 0 0\n")
    assert shares.filesystem_type(mounts, "/mnt/nfs share/study.db") == "nfs"
    mac = ("/dev/disk3s1s1 on / (apfs, sealed, local, read-only, journaled)\n"
           "//ana@fileserver/Study on /Volumes/Study (smbfs, nodev, nosuid, mounted by ana)\n"
           "fileserver:/export on /Volumes/Export Data (nfs, asynchronous)\n")
    mounts = shares.parse_mount_output(mac)
    assert shares.filesystem_type(mounts, "/Volumes/Study/study.db") == "smbfs"
    assert shares.filesystem_type(mounts, "/Volumes/Export Data/study.db") == "nfs"
    assert shares.filesystem_type(mounts, "/Users/ana/study.db") == "apfs"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads the Linux mount table")
def test_network_filesystem_from_the_mount_table(tmp_path, monkeypatch):
    share = (tmp_path / "lab share")
    share.mkdir()
    point = str(share.resolve()).replace(" ", "\\040")
    monkeypatch.setattr(shares, "_linux_mount_table", lambda: MOUNTINFO + f"40 22 0:50 / {point} rw - nfs4 fs:/lab rw\n")
    assert shares.network_filesystem(share / "study.db") == "nfs4"
    assert shares.network_filesystem(share / "not" / "yet" / "made.db") == "nfs4"
    (tmp_path / "link").symlink_to(share)
    assert shares.network_filesystem(tmp_path / "link" / "study.db") == "nfs4"  # a link into the share
    assert shares.network_filesystem(tmp_path / "study.db") is None  # local ext4
    monkeypatch.setattr(shares, "_linux_mount_table", lambda: "")
    assert shares.network_filesystem(share / "study.db") is None  # no table: cannot tell, so no refusal


def test_windows_network_paths():
    assert shares._windows_network(r"\\fileserver\study\study.db") == "UNC path"
    assert shares._windows_network(r"\\?\UNC\fileserver\study\study.db") == "UNC path"
    if os.name != "nt":
        assert shares._windows_network(r"C:\Users\ana\study.db") is None
        assert shares._windows_network(r"\\?\C:\Users\ana\study.db") is None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads the Linux mount table")
def test_the_store_refuses_a_database_on_a_share(tmp_path, monkeypatch):
    point = str(tmp_path.resolve()).replace(" ", "\\040")
    monkeypatch.setattr(shares, "_linux_mount_table", lambda: MOUNTINFO + f"40 22 0:50 / {point} rw - cifs //srv/x rw\n")
    with pytest.raises(StoreError, match=r"is on a network share \(cifs\): SQLite's file locking is unsafe there"):
        Store(tmp_path / "study.db", create=True)
    assert not (tmp_path / "study.db").exists()
