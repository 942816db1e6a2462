"""The GPU-upgrade flow: the live preflight (detection over Ansible, the live checks), the ``--what-if``
plan (spec, comparison, capacity) and the driver decision (``playbooks/upgrade-gpu.yml``)."""
