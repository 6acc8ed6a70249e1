"""Reproduce the politics_lhs study and its figures (conf/experiment/politics_lhs.yaml).

python experiments/politics_lhs.py                 # the full study; resumes if interrupted
python experiments/politics_lhs.py replicates=100  # a quick look
"""

from _study import reproduce, table

if __name__ == "__main__":
    table(reproduce("politics_lhs"))
