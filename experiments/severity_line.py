"""Reproduce the severity_line study and its figures (conf/experiment/severity_line.yaml).

python experiments/severity_line.py                 # the full study; resumes if interrupted
python experiments/severity_line.py replicates=100  # a quick look
"""

from _study import reproduce, table

if __name__ == "__main__":
    table(reproduce("severity_line"))
