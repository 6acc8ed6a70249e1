"""Reproduce the china_relations study and its figures (conf/experiment/china_relations.yaml).

python experiments/china_relations.py                 # the full study; resumes if interrupted
python experiments/china_relations.py replicates=100  # a quick look
"""

from _study import reproduce, table

if __name__ == "__main__":
    table(reproduce("china_relations"))
