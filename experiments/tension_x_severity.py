"""Reproduce the tension_x_severity study and its figures (conf/experiment/tension_x_severity.yaml).

python experiments/tension_x_severity.py                 # the full study; resumes if interrupted
python experiments/tension_x_severity.py replicates=100  # a quick look
"""

from _study import reproduce, table

if __name__ == "__main__":
    table(reproduce("tension_x_severity"))
