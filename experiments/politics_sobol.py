"""Reproduce the politics_sobol study and its figures (conf/experiment/politics_sobol.yaml).

python experiments/politics_sobol.py                 # the full study; resumes if interrupted
python experiments/politics_sobol.py replicates=100  # a quick look
"""

from _study import reproduce, table

if __name__ == "__main__":
    table(reproduce("politics_sobol"))
