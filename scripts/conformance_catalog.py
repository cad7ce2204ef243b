"""Extract the CSMS test cases of OCPP 2.0.1 Part 6 and their certification profile (Part 5).

Run once per edition of the documents; the result, tests/conformance/v201/catalog.json, is
committed (CI has no copy of the PDFs). Needs ``pdftotext`` (Debian: poppler-utils).

    python scripts/conformance_catalog.py ../shared/specs
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "tests" / "conformance" / "v201" / "catalog.json"

BLOCKS = {
    "A": "Security",
    "B": "Provisioning",
    "C": "Authorization",
    "D": "Local Authorization List Management",
    "E": "Transactions",
    "F": "Remote Control",
    "G": "Availability",
    "H": "Reservation",
    "I": "Tariff and Cost",
    "J": "Meter Values",
    "K": "Smart Charging",
    "L": "Firmware Management",
    "M": "ISO 15118 Certificate Management",
    "N": "Diagnostics",
    "O": "Display Message",
    "P": "Data Transfer",
}


def text_of(pdf: Path) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout


def test_cases(part6: str) -> list[dict[str, str]]:
    """Every ``TC_x_nn_CSMS`` table of Part 6 with its name, in document order."""
    cases = []
    for chunk in re.split(r"\n(?=Table \d+\. Test Case Id: )", part6):
        head = re.match(r"Table \d+\. Test Case Id: (TC_([A-P])_\d+_CSMS)", chunk)
        if not head:
            continue
        name_at = re.search(r"Test case name\s+(.*)", chunk)
        assert name_at, head.group(1)
        tail = chunk[name_at.end() : chunk.find("Test case Id")]
        name = " ".join([name_at.group(1).strip(), *(s.strip() for s in tail.splitlines())])
        cases.append(
            {"id": head.group(1), "block": BLOCKS[head.group(2)], "title": " ".join(name.split())}
        )
    return cases


def profiles(part5: str) -> dict[str, tuple[str, str]]:
    """``TC_x_nn`` → (certification profile, M or C for the CSMS column) from Part 5 §4.

    The CSMS column is the second of two M/C marks, or the only mark on a row that also has a
    CSMS test case (a row marked for the Charging Station only has no ``_CSMS`` table)."""
    found: dict[str, tuple[str, str]] = {}
    profile = ""
    for line in part5.replace("\f", "\n").splitlines():
        if "4.2. Test Cases Core" in line and not line.strip().endswith("10"):
            profile = "Core"
        elif "4.3. Test Cases Advanced Security" in line and ". . ." not in line:
            profile = "Advanced Security"
        elif re.match(r"4\.[4-9]\. ", line.strip()):
            profile = ""
        row = re.match(r"(TC_[A-P]_\d+)\s+(.*)", line)
        if row and profile:
            marks = re.findall(r"(?<=\s)([MC])(?=\s|$)", "  " + row.group(2)[40:80])
            found.setdefault(row.group(1), (profile, marks[-1] if marks else "M"))
    return found


# Rows whose CSMS column holds a feature reference instead of a mark (the layout text cannot
# tell it from the Charging Station column): TC_F_06 applies when the CSMS supports unlocking a
# detachable cable (feature C-11).
MARK_OVERRIDES = {"TC_F_06": "C"}


def main(specs: Path) -> None:
    cases = test_cases(text_of(specs / "OCPP-2.0.1_part6_test_cases.pdf"))
    by_id = profiles(text_of(specs / "OCPP-2.0.1_part5_certification_profiles.pdf"))
    for case in cases:
        short = case["id"].removesuffix("_CSMS")
        profile, mark = by_id.get(short, ("", ""))
        mark = MARK_OVERRIDES.get(short, mark)
        case["profile"] = profile or "(none listed)"
        case["csms"] = {"M": "mandatory", "C": "conditional"}.get(mark, "")
    OUT.write_text(json.dumps(cases, indent=1) + "\n")
    print(f"{len(cases)} test cases → {OUT}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/specs"))
