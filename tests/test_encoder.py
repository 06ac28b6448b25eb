"""The encoder layer: scan-script rules, the structure reader, the jpegtran wrapper (which inputs are
refused with which error: test_edge_cases.py)."""

from __future__ import annotations

import itertools

import pytest

from pjstore.encoder.scan import Scan, ScanScript
from pjstore.encoder.structure import parse
from pjstore.errors import InvalidScanScript, NotAJpeg, TooLarge, ToolError, TruncatedJpeg
from pjstore.scan_search.progressive import default_script
from tools.jpegtran_wrapper import Jpegtran

from helpers import jpegtran

YCC = ((2, 2), (1, 1), (1, 1))


def full_ac(c: int) -> Scan:
    return Scan((c,), 1, 63, 0, 0)


def test_default_scripts_match_jpegtran(kinds):
    for name in ("420_q75", "gray", "cmyk", "444_q95"):
        s = parse(kinds[name])
        ours = default_script(s.frame.sampling, s.color_space)
        theirs = parse(jpegtran(kinds[name], "-progressive"))
        assert tuple(r.scan for r in theirs.scans) == ours.scans, name


def test_script_renders_jpegtran_syntax():
    script = ScanScript((Scan((0, 1, 2), 0, 0, 0, 0), full_ac(0), full_ac(1), full_ac(2)), 3, YCC)
    assert script.render().splitlines() == ["0,1,2: 0-0, 0, 0;", "0: 1-63, 0, 0;", "1: 1-63, 0, 0;", "2: 1-63, 0, 0;"]


@pytest.mark.parametrize("scans, message", [
    ((full_ac(0), Scan((0,), 0, 0, 0, 0)), "before its DC"),
    ((Scan((0,), 0, 0, 0, 1), Scan((0,), 1, 63, 0, 0), Scan((0,), 0, 0, 2, 1)), "at bit 1"),
    ((Scan((0,), 0, 0, 0, 0), Scan((0,), 1, 40, 0, 0)), "41-63 are not sent"),
    ((Scan((0,), 0, 0, 0, 1), Scan((0,), 1, 63, 0, 0)), "0 are not sent down to bit 0"),
    ((Scan((0,), 0, 0, 0, 0), Scan((0,), 1, 63, 0, 1), Scan((0,), 1, 63, 1, 0), Scan((0,), 1, 5, 1, 0)), "at bit 0"),
])
def test_script_rejects_progression_errors(scans, message):
    with pytest.raises(InvalidScanScript, match=message):
        ScanScript(scans, 1)


@pytest.mark.parametrize("args", [((0, 1), 1, 5, 0, 0), ((0,), 0, 5, 0, 0), ((0,), 1, 5, 3, 1),
                                  ((0,), 1, 5, 0, 14), ((1, 0), 0, 0, 0, 0), ((), 0, 0, 0, 0)])
def test_scan_rejects_invalid_headers(args):
    with pytest.raises(InvalidScanScript):
        Scan(*args)


def test_script_enforces_scan_and_mcu_limits():
    dc = Scan((0,), 0, 0, 0, 0)
    many = [dc] + [Scan((0,), k, k, 0, 0) for k in range(1, 64)]
    ScanScript(tuple(many), 1)  # 64 scans: fine
    split = [dc] + [Scan((0,), k, k, 0, 1) for k in range(1, 64)] + [Scan((0,), k, k, 1, 0) for k in range(1, 64)]
    with pytest.raises(InvalidScanScript, match="at most 100"):
        ScanScript(tuple(split), 1)
    with pytest.raises(InvalidScanScript, match="blocks per MCU"):
        ScanScript((Scan((0, 1, 2), 0, 0, 0, 0), full_ac(0), full_ac(1), full_ac(2)), 3, ((2, 2), (2, 2), (2, 2)))


def test_structure_reports_scan_ends(kinds):
    prog = jpegtran(kinds["420_q75"], "-progressive")
    s = parse(prog)
    assert len(s.scans) == 10
    for rec, nxt in itertools.pairwise(s.scans):
        assert rec.sos_offset < rec.data_end <= nxt.sos_offset
        assert prog[rec.data_end] == 0xFF and prog[rec.data_end + 1] in (0xC4, 0xDA)
    assert s.scan_ends[-1] == len(prog) - 2


def test_pixel_limit_is_configurable(kinds):
    parse(kinds["420_q75"], max_pixels=240 * 200)
    with pytest.raises(TooLarge, match="exceeds the limit"):
        parse(kinds["420_q75"], max_pixels=240 * 200 - 1)


def test_wrapper_maps_jpegtran_failures(kinds):
    jt = Jpegtran.find()
    data = kinds["420_q75"]
    with pytest.raises(TruncatedJpeg):
        jt.transcode(data[: len(data) * 6 // 10])
    with pytest.raises(NotAJpeg):
        jt.transcode(b"not a jpeg at all")


def test_wrapper_requires_a_capable_binary(monkeypatch, tmp_path):
    monkeypatch.setenv("PJSTORE_JPEGTRAN", str(tmp_path / "missing"))
    with pytest.raises(ToolError, match="not found"):
        Jpegtran.find()
    fake = tmp_path / "jpegtran"
    fake.write_text("#!/bin/sh\necho 'usage: jpegtran [switches]'\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PJSTORE_JPEGTRAN", str(fake))
    with pytest.raises(ToolError, match="does not support -scans"):
        Jpegtran.find()


def test_wrapper_time_limit(kinds, tmp_path, monkeypatch):
    slow = tmp_path / "jpegtran"
    slow.write_text("#!/bin/sh\n[ \"$1\" = -help ] && { echo '-scans FILE'; exit 0; }\nsleep 5\n")
    slow.chmod(0o755)
    monkeypatch.setenv("PJSTORE_JPEGTRAN", str(slow))
    with pytest.raises(ToolError, match="did not finish"):
        Jpegtran.find(timeout=0.5).transcode(kinds["420_q75"])
