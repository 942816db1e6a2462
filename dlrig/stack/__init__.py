"""Stack resolution: the driver, CUDA, cuDNN, Python and framework set for a host."""

from dlrig.stack.matrix import Matrix, MatrixError
from dlrig.stack.matrix_file import load_matrix
from dlrig.stack.resolver import VERSION_KEYS, GpuTarget, Resolution, resolve

__all__ = ["VERSION_KEYS", "GpuTarget", "Matrix", "MatrixError", "Resolution", "load_matrix", "resolve"]
