"""The model package: synthetic data, features, training, evaluation and the prediction service."""

__version__ = "0.1.0"
