"""Typical power figures for the parts the catalogue has no entry for (issue 19, finding 4).

They are shown in the error for a missing ``watts`` and listed in docs/preflight.md, so that a first
declaration can be written without a datasheet at hand. They are ranges from common parts (vendors'
datasheets and reviews), not measurements of a given part: use the part's own figure where known.
"""

from __future__ import annotations

#: key -> the hint shown after "missing; give the part's maximum power draw in W".
TYPICAL_W: dict[str, str] = {
    "motherboard": "typical 25-80 W: about 30 W for a mainstream ATX board, 50-80 W for a HEDT board "
                   "(X399, TRX40, W790); 0 when it is counted elsewhere",
    "memory": "typical about 3 W per DDR4 DIMM, 5 W per DDR5 DIMM",
    "cooler": "typical 2-5 W per fan; 10-20 W for an all-in-one liquid cooler's pump and fans",
    "storage.nvme": "typical 5-10 W for an NVMe SSD",
    "storage.sata": "typical 3-5 W for a SATA SSD, 6-10 W for a 3.5-inch HDD (about 20 W while it spins up)",
    "storage.sas": "typical 8-15 W for a SAS drive",
    "storage.usb": "typical 2-5 W for a bus-powered USB drive; 0 when it has its own power supply",
    "storage.pcie": "typical 10-25 W for a PCIe add-in SSD",
    "other_pcie": "typical 5-15 W for a 10 GbE NIC, 10-25 W for an HBA or RAID card; see its datasheet",
}
