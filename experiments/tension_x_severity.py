"""Reproduce the tension_x_severity study and its figures (conf/experiment/tension_x_severity.yaml).

python experiments/tension_x_severity.py                 # the full study; resumes if interrupted
python experiments/tension_x_severity.py replicates=100  # a quick look

Run as configured (no overrides), it also refreshes the README's figure,
docs/img/p_accepted_tension_x_severity.png, from the study's figures/p_accepted.png.
"""

import shutil
import sys
from pathlib import Path

from _study import reproduce, table

README_FIGURE = Path(__file__).resolve().parents[1] / "docs" / "img" / "p_accepted_tension_x_severity.png"

if __name__ == "__main__":
    root = reproduce("tension_x_severity")
    table(root)
    if not sys.argv[1:]:  # only the study as configured stands in the README
        shutil.copyfile(root / "figures" / "p_accepted.png", README_FIGURE)
        print(f"README figure: {README_FIGURE}")
