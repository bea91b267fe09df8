"""The checks: the catalogue of every issue, the rules, their configuration, validating
files, and the annotated copies sent back to the departments."""
