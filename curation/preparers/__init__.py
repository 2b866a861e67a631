"""Preparers: Python that turns a competition's raw files into its labeled table when YAML cannot.

A spec names one as `preparer: module:function`; curation.sources calls it as
`function(files_dir, spec, *, salt) -> pl.DataFrame`. `salt` is the build's secret (curation.secret): any id,
file name or random choice a preparer mints must be keyed by it (curation.secret.keyed_hex / keyed_digest),
never derived from public data alone, or it could be recomputed from the public files to find the answers.
"""
