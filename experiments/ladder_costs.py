"""Reproduce the ladder_costs study and its figures (conf/experiment/ladder_costs.yaml).

python experiments/ladder_costs.py                 # the full study; resumes if interrupted
python experiments/ladder_costs.py replicates=100  # a quick look
"""

from _study import reproduce, table

if __name__ == "__main__":
    table(reproduce("ladder_costs"))
