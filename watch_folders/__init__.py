"""The watch-folder service: clerks save scans into inbox/<profile>/, sohoa archives them.

Nothing is lost and nothing is done twice: every file taken becomes one durable job in the
catalog (jobs.py), and leaves the inbox only after its record is committed (outcomes.py).
Start with service.py; the CLI commands are `sohoa watch` and `sohoa status`.
"""
