"""mlgate: pull-request gates for ML repositories.

One CLI (`mlgate <command>`), one module per gate. Each gate module has a pure core that takes plain
values and returns a result, and a thin click command that does the I/O through `mlgate.github`.
"""

__version__ = "0.1.0"
