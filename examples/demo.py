"""A first look at minisinga: tensors whose every number is computed in C.

Run with:  pip install -e . && python examples/demo.py
"""
import numpy as np

from minisinga import device, tensor

device.set_rand_seed(0)
dev = device.get_default_device()
print(f"device: {dev} (id {dev.id()}), {device.get_num_threads()} OpenMP threads")

w = tensor.Tensor((2, 3)).gaussian(0.0, 1.0)  # Philox + Box-Muller, in C
print("w ~ N(0, 1):\n", w)
print("w transposed (a strided copy in C):\n", w.transpose())

x = tensor.from_numpy(np.arange(6, dtype=np.float32).reshape(2, 3))
print("x from NumPy:\n", x)
print("ones in float64:\n", tensor.ones((2, 2), dtype=tensor.float64))
