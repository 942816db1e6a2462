"""``bin/dlrig init``: write a host's hardware declaration from what dlrig detects (docs/init.md).

One module per idea: :mod:`.probe` (what the box has: local, or facts gathered over Ansible),
:mod:`.declare` (probe + catalogue -> declaration, every figure with its provenance), :mod:`.render`
(YAML text with a comment on every figure), :mod:`.compare` (declared vs detected, ``--update``),
:mod:`.ask` (questions on a terminal), :mod:`.remote` (detection over SSH), :mod:`.hosts_file` (the
host's line in the inventory) and :mod:`.cli` (the command line).
"""
