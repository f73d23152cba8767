"""A small, faithful fake of the A1111 v1.10.1 / Forge `modules` package the glue touches.

Each file mirrors one host module and cites the host file and lines it copies. Tests install this folder
as `modules` (see the glue tests' fixture); a few mirrors (`infotext_utils`) also import standalone.
"""
