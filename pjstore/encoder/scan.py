"""The scan model: one progressive scan, and a complete scan script.

Validation lives here and only here: the progression rules of ITU-T T.81 Annex G.1.1.1 (DC before
AC, AC scans single-component, successive approximation refining one bit at a time) plus what
jpegtran enforces (at most 100 scans, Al <= 13, at most 4 components in one scan). A `ScanScript`
additionally demands that every bit of every coefficient is sent, which is what makes a
transcode lossless.
"""

from __future__ import annotations

from dataclasses import dataclass

from pjstore.errors import InvalidScanScript

MAX_SCANS = 100  # jpegtran's MAX_SCANS in read_scan_script()
MAX_AL = 13  # libjpeg's MAX_AH_AL for 8-bit data
MAX_COMPS_IN_SCAN = 4
MAX_BLOCKS_IN_MCU = 10  # T.81 B.2.3: an interleaved MCU holds at most 10 blocks
NUM_COEFFICIENTS = 64


@dataclass(frozen=True)
class Scan:
    """One scan: component indices (0-based, frame order), spectral band Ss..Se, bits Ah/Al."""

    components: tuple[int, ...]
    ss: int
    se: int
    ah: int
    al: int

    def __post_init__(self) -> None:
        comps = self.components
        if not comps or len(comps) > MAX_COMPS_IN_SCAN:
            raise InvalidScanScript(f"{self}: a scan holds 1 to {MAX_COMPS_IN_SCAN} components")
        if list(comps) != sorted(set(comps)) or comps[0] < 0:
            raise InvalidScanScript(f"{self}: components must be distinct and in frame order")
        if not 0 <= self.ss <= self.se < NUM_COEFFICIENTS:
            raise InvalidScanScript(f"{self}: need 0 <= Ss <= Se <= 63")
        if self.ss == 0 and self.se != 0:
            raise InvalidScanScript(f"{self}: a progressive DC scan must have Se = 0")
        if self.ss > 0 and len(comps) != 1:
            raise InvalidScanScript(f"{self}: an AC scan must hold exactly one component")
        if not 0 <= self.al <= MAX_AL:
            raise InvalidScanScript(f"{self}: Al must be 0..{MAX_AL}")
        if self.ah not in (0, self.al + 1):
            raise InvalidScanScript(f"{self}: Ah must be 0 (first scan) or Al + 1 (refinement)")

    @property
    def is_dc(self) -> bool:
        return self.ss == 0

    def render(self) -> str:
        """This scan in jpegtran's scan-file syntax, e.g. ``0,1,2: 0-0, 0, 1;``."""
        comps = ",".join(str(c) for c in self.components)
        return f"{comps}: {self.ss}-{self.se}, {self.ah}, {self.al};"

    def __str__(self) -> str:
        return f"Scan({self.render()})"


@dataclass(frozen=True)
class ScanScript:
    """A complete, valid progressive scan script for an image with `num_components` components.

    `sampling` (per component (h, v)) is optional; when given, interleaved DC scans are also
    checked against the 10-blocks-per-MCU limit.
    """

    scans: tuple[Scan, ...]
    num_components: int
    sampling: tuple[tuple[int, int], ...] | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.num_components <= MAX_COMPS_IN_SCAN:
            raise InvalidScanScript(f"{self.num_components} components: 1 to 4 supported")
        if self.sampling is not None and len(self.sampling) != self.num_components:
            raise InvalidScanScript("sampling must give (h, v) for every component")
        if not self.scans:
            raise InvalidScanScript("a scan script needs at least one scan")
        if len(self.scans) > MAX_SCANS:
            raise InvalidScanScript(f"{len(self.scans)} scans: jpegtran accepts at most {MAX_SCANS}")
        # bits[c][k]: lowest bit position sent so far for coefficient k of component c; None = none.
        bits: list[list[int | None]] = [[None] * NUM_COEFFICIENTS for _ in range(self.num_components)]
        for number, scan in enumerate(self.scans, 1):
            self._check_scan(number, scan, bits)
        for c, comp_bits in enumerate(bits):
            missing = [k for k, b in enumerate(comp_bits) if b != 0]
            if missing:
                raise InvalidScanScript(
                    f"component {c}: coefficients {_ranges(missing)} are not sent down to bit 0, "
                    "so the transcode would not be lossless"
                )

    def _check_scan(self, number: int, scan: Scan, bits: list[list[int | None]]) -> None:
        where = f"scan {number} ({scan.render()})"
        if scan.components[-1] >= self.num_components:
            raise InvalidScanScript(f"{where}: the image has {self.num_components} components")
        if self.sampling is not None and len(scan.components) > 1:
            blocks = sum(self.sampling[c][0] * self.sampling[c][1] for c in scan.components)
            if blocks > MAX_BLOCKS_IN_MCU:
                raise InvalidScanScript(f"{where}: {blocks} blocks per MCU, at most 10")
        for c in scan.components:
            comp_bits = bits[c]
            if not scan.is_dc and comp_bits[0] is None:
                raise InvalidScanScript(f"{where}: AC data of component {c} before its DC")
            for k in range(scan.ss, scan.se + 1):
                sent = comp_bits[k]
                if sent is None and scan.ah != 0:
                    raise InvalidScanScript(f"{where}: refines coefficient {k} never sent")
                if sent is not None and (scan.ah != sent or scan.al != sent - 1):
                    raise InvalidScanScript(
                        f"{where}: coefficient {k} of component {c} is at bit {sent}; "
                        f"the next scan must have Ah={sent}, Al={sent - 1}"
                    )
                comp_bits[k] = scan.al

    def __len__(self) -> int:
        return len(self.scans)

    def render(self) -> str:
        """The whole script as a jpegtran ``-scans`` file."""
        return "\n".join(scan.render() for scan in self.scans) + "\n"


def _ranges(indices: list[int]) -> str:
    """Compact '1-5, 9' rendering of sorted indices for error messages."""
    out: list[str] = []
    start = prev = indices[0]
    for k in [*indices[1:], None]:
        if k is not None and k == prev + 1:
            prev = k
            continue
        out.append(str(start) if start == prev else f"{start}-{prev}")
        if k is not None:
            start = prev = k
    return ", ".join(out)
