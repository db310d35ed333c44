"""optclaims report builder: results.json (+ embedded figures and benchmarks) -> one HTML file.

Installed under the import name ``optclaims_report`` (see pyproject.toml) so that the folder name
``report`` never shadows, or is shadowed by, another distribution's top-level module.
"""
