"""Watching a served model: the prediction log the service writes (`prediction_log`), its export as a
production sample (`mlgate prediction-log`), live performance against delayed labels (`live`, with each
served version's eval figures from the registry of record in `live_evals`; `mlgate live-performance`) and
the `monitor` section of mlgate.yaml (`config`)."""
