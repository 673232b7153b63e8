"""Vendor bundles: traversal, links, devices, duplicates and bombs are refused (I-06)."""

from __future__ import annotations

import io
import os
import stat
import tarfile
import uuid
import warnings
import zipfile
from pathlib import Path

import pytest

from campatch.errors import FirmwareTooLarge, UnsafeArchiveError
from campatch.patch.archive import ArchiveLimits, extract_archive

Entry = tuple[str, bytes]


def snapshot(root: Path) -> dict[str, tuple[int, bytes | str]]:
    """Every path under ``root`` with its type and content (or link target)."""
    out: dict[str, tuple[int, bytes | str]] = {}
    for folder, dirs, files in os.walk(root):
        for name in (*dirs, *files):
            p = Path(folder) / name
            st = p.lstat()
            if stat.S_ISLNK(st.st_mode):
                out[str(p)] = (st.st_mode, os.readlink(p))
            elif stat.S_ISREG(st.st_mode):
                out[str(p)] = (st.st_mode, p.read_bytes())
            else:
                out[str(p)] = (st.st_mode, "")
    return out


def make_zip(path: Path, entries: list[Entry], modes: dict[str, int] | None = None) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about duplicate names we want
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, data in entries:
                info = zipfile.ZipInfo(name)
                info.compress_type = zipfile.ZIP_DEFLATED
                if modes and name in modes:
                    info.external_attr = modes[name] << 16
                zf.writestr(info, data)
    return path


def tar_member(
    name: str, kind: bytes = tarfile.REGTYPE, data: bytes = b"", link: str = ""
) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.type, info.size, info.linkname = kind, len(data) if kind == tarfile.REGTYPE else 0, link
    return info, data


def make_tar(path: Path, members: list[tuple[tarfile.TarInfo, bytes]], mode: str = "w") -> Path:
    with tarfile.open(path, mode) as tar:  # type: ignore[call-overload]
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if info.isfile() else None)
    return path


@pytest.fixture
def work(tmp_path: Path) -> Path:
    (tmp_path / "work").mkdir()
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "keep.txt").write_text("unchanged")
    return tmp_path


def refused(
    work: Path, archive: Path, match: str, error: type[Exception] = UnsafeArchiveError
) -> None:
    """``archive`` is refused and nothing under ``work`` changed (the temp folder is gone)."""
    before = snapshot(work)
    with pytest.raises(error, match=match):
        extract_archive(archive, parent=work / "work")
    assert snapshot(work) == before


# --- the good path ------------------------------------------------------------------------


def test_a_plain_bundle_is_extracted_into_a_fresh_folder(work: Path) -> None:
    archive = make_zip(work / "fw.zip", [("digicap.dav", b"image"), ("notes/readme.txt", b"hi")])
    dest = extract_archive(archive, parent=work / "work")
    assert dest.parent == work / "work"
    assert (dest / "digicap.dav").read_bytes() == b"image"
    assert (dest / "notes" / "readme.txt").read_bytes() == b"hi"
    assert stat.S_IMODE(dest.stat().st_mode) == 0o700


def test_a_tar_with_an_internal_link_is_extracted(work: Path) -> None:
    archive = make_tar(work / "fw.tar.gz", [
        tar_member("fw/image.bin", data=b"image"),
        tar_member("fw/latest.bin", tarfile.SYMTYPE, link="image.bin"),
        tar_member("fw/copy.bin", tarfile.LNKTYPE, link="fw/image.bin"),
    ], "w:gz")  # fmt: skip
    dest = extract_archive(archive, parent=work / "work")
    assert (dest / "fw" / "latest.bin").read_bytes() == b"image"
    assert (dest / "fw" / "copy.bin").read_bytes() == b"image"


# --- I-06 traversal -----------------------------------------------------------------------


@pytest.mark.safety("I-06")
@pytest.mark.parametrize("name", ["../evil.txt", "fw/../../evil.txt", "..\\evil.txt"])
def test_I06_zip_traversal_is_refused(work: Path, name: str) -> None:
    refused(work, make_zip(work / "t.zip", [("ok.bin", b"x"), (name, b"evil")]), "'\\.\\.'")


@pytest.mark.safety("I-06")
def test_I06_tar_traversal_is_refused(work: Path) -> None:
    archive = make_tar(work / "t.tar", [tar_member("../outside/keep.txt", data=b"evil")])
    refused(work, archive, "climbs out")


@pytest.mark.safety("I-06")
def test_I06_absolute_paths_are_refused(work: Path) -> None:
    target = f"/tmp/campatch-i06-{uuid.uuid4().hex}"
    refused(work, make_zip(work / "a.zip", [(target, b"evil")]), "absolute path")
    refused(work, make_tar(work / "a.tar", [tar_member(target, data=b"evil")]), "absolute path")
    refused(work, make_zip(work / "c.zip", [("C:/evil", b"evil")]), "absolute path")
    assert not Path(target).exists()


# --- I-06 links and special files ---------------------------------------------------------


@pytest.mark.safety("I-06")
@pytest.mark.parametrize("target", ["../../outside", "/etc", "a/../../x"])
def test_I06_escaping_symlinks_are_refused(work: Path, target: str) -> None:
    archive = make_tar(work / "s.tar", [tar_member("link", tarfile.SYMTYPE, link=target)])
    refused(work, archive, "points outside")


@pytest.mark.safety("I-06")
def test_I06_a_symlink_chain_escaping_by_name_resolution_is_refused(work: Path) -> None:
    """Each link looks inside by name, but ``sub/../up/..`` climbs above the root."""
    archive = make_tar(work / "chain.tar", [
        tar_member("sub", tarfile.DIRTYPE),
        tar_member("up", tarfile.SYMTYPE, link="."),
        tar_member("sub/esc", tarfile.SYMTYPE, link="../up/.."),
    ])  # fmt: skip
    refused(work, archive, "outside")


@pytest.mark.safety("I-06")
def test_I06_writing_through_a_symlink_is_refused(work: Path) -> None:
    archive = make_tar(work / "w.tar", [
        tar_member("d", tarfile.SYMTYPE, link="real"),
        tar_member("d/x", data=b"through the link"),
    ])  # fmt: skip
    refused(work, archive, "lies below link")


@pytest.mark.safety("I-06")
@pytest.mark.parametrize("target", ["../outside/keep.txt", "/etc/passwd", "missing.bin"])
def test_I06_hardlinks_outside_or_to_nothing_are_refused(work: Path, target: str) -> None:
    archive = make_tar(work / "h.tar", [tar_member("h", tarfile.LNKTYPE, link=target)])
    refused(work, archive, "hardlink|points outside|climbs out|absolute")


@pytest.mark.safety("I-06")
@pytest.mark.parametrize(
    ("kind", "what"),
    [
        (tarfile.CHRTYPE, "device node"),
        (tarfile.BLKTYPE, "device node"),
        (tarfile.FIFOTYPE, "special"),
    ],
)
def test_I06_tar_device_nodes_and_fifos_are_refused(work: Path, kind: bytes, what: str) -> None:
    refused(work, make_tar(work / "d.tar", [tar_member("dev/sda", kind)]), what)


@pytest.mark.safety("I-06")
@pytest.mark.parametrize(
    ("mode", "what"), [(stat.S_IFCHR | 0o600, "device node"), (stat.S_IFLNK | 0o777, "symlink")]
)
def test_I06_zip_devices_and_symlinks_are_refused(work: Path, mode: int, what: str) -> None:
    archive = make_zip(work / "d.zip", [("x", b"/etc/passwd")], modes={"x": mode})
    refused(work, archive, what)


# --- I-06 duplicates ------------------------------------------------------------------------


@pytest.mark.safety("I-06")
@pytest.mark.parametrize("second", ["fw.bin", "FW.bin", "./fw.bin"])
def test_I06_duplicate_names_are_refused(work: Path, second: str) -> None:
    refused(work, make_zip(work / "d.zip", [("fw.bin", b"a"), (second, b"b")]), "duplicate")
    tar = make_tar(work / "d.tar", [tar_member("fw.bin", data=b"a"), tar_member(second, data=b"b")])
    refused(work, tar, "duplicate")


@pytest.mark.safety("I-06")
def test_I06_an_entry_below_a_file_is_refused(work: Path) -> None:
    refused(work, make_zip(work / "f.zip", [("a", b"file"), ("a/b", b"x")]), "lies below file")


# --- I-06 bombs -------------------------------------------------------------------------------


@pytest.mark.safety("I-06")
def test_I06_zip_bomb_by_ratio_is_refused(work: Path) -> None:
    archive = make_zip(work / "bomb.zip", [("zeros.bin", bytes(20 * 1024 * 1024))])
    refused(work, archive, "expands more than 100 times")


@pytest.mark.safety("I-06")
def test_I06_tar_gz_bomb_is_refused_at_its_first_header(work: Path) -> None:
    archive = make_tar(
        work / "bomb.tar.gz", [tar_member("zeros.bin", data=bytes(20 * 1024 * 1024))], "w:gz"
    )
    refused(work, archive, "archive bomb")


@pytest.mark.safety("I-06")
def test_I06_content_above_the_total_cap_is_refused(work: Path) -> None:
    archive = make_zip(work / "big.zip", [("a.bin", os.urandom(4096))])
    with pytest.raises(FirmwareTooLarge):
        extract_archive(archive, parent=work / "work", limits=ArchiveLimits(max_total_bytes=1024))
    assert list((work / "work").iterdir()) == []


@pytest.mark.safety("I-06")
def test_I06_more_than_10000_zip_entries_are_refused(work: Path) -> None:
    archive = make_zip(work / "many.zip", [(f"f{i}", b"") for i in range(10_001)])
    refused(work, archive, "10001 entries, more than 10000")


@pytest.mark.safety("I-06")
def test_I06_more_than_10000_tar_entries_are_refused(work: Path) -> None:
    archive = make_tar(work / "many.tar", [tar_member(f"f{i}") for i in range(10_001)])
    refused(work, archive, "more than 10000 entries")


@pytest.mark.safety("I-06")
def test_I06_a_nested_bad_archive_is_refused_when_it_is_opened(work: Path) -> None:
    inner = make_tar(work / "inner.tar", [tar_member("../../evil", data=b"evil")])
    outer = make_zip(work / "outer.zip", [("inner.tar", inner.read_bytes())])
    dest = extract_archive(outer, parent=work / "work")
    refused(work, dest / "inner.tar", "climbs out")


def test_a_file_that_is_no_archive_is_refused(work: Path) -> None:
    plain = work / "digicap.dav"
    plain.write_bytes(b"SWKH" + bytes(100))
    with pytest.raises(Exception, match="not a zip or tar"):
        extract_archive(plain, parent=work / "work")
