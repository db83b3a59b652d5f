"""Watching a served model: the prediction log the service writes (`prediction_log`), its export as a
production sample (`mlgate prediction-log`), and the `monitor` section of mlgate.yaml (`config`)."""
