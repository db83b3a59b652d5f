"""The data gates: `mlgate validate-data`, `mlgate profile`, `mlgate drift` and `mlgate drift-check`.

- `config`          the `data` and `drift` sections of mlgate.yaml (and the profile settings)
- `dataset`         reading CSV / Parquet: streamed record batches, whole frames for validate-data's engines,
                    the dataset path (`--data` or `data.dataset`)
- `statistics`      the shared column statistics: Arrow columns as values and counts, PSI (the one PSI of
                    mlgate, also the canary judge's), KS from a sketch, chi-square, minimum samples
- `sketch`          the ECDF sketch of a numeric column and counts at its points
- `gx_patches`      every change mlgate makes to Great Expectations' behaviour, each one guarded
- `validate`        validate-data: the GX contract checked, the checkpoint run, Data Docs; the command
- `validate_report` validate-data's table of expectations, sensitive values masked
- `profile`         profile: per-column accumulators, the profile built from record batches; the command
- `profile_format`  the profile file: read and validated field by field, written atomically
- `drift`           drift: the new data streamed against a profile, each column's decision; the command
- `drift_report`    drift's findings and their Markdown
- `drift_baseline`  a pull request cannot move its own drift baseline
- `drift_check`     drift-check: the scheduled check, one GitHub issue per drift episode; the command
- `spark_engine`    profile and drift on Spark (`drift.engine: spark`): the same profile, counts and decisions

Heavy libraries (Great Expectations, pandas, pyarrow, scipy) are imported inside the functions that use
them: importing any of these modules stays cheap.
"""
