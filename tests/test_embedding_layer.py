"""layer.Embedding: a lookup table over ``autograd.embedding(x, W)``.

(The operation itself, and its registry entry, belong to the operations
catalogue; these tests check the layer: shapes, initialisation, the scatter-add
gradient reaching W, and from_pretrained / freeze.)
"""
import numpy as np
import pytest

import minisinga
from minisinga import autograd, device, layer, opt, tensor
from minisinga.tensor import Tensor


@pytest.fixture(autouse=True)
def _restore_training():
    old = autograd.training
    yield
    autograd.training = old


def idx(a):
    return tensor.from_numpy(np.asarray(a, dtype=np.int32))


def test_lookup_matches_numpy_and_w_follows_singa():
    emb = layer.Embedding(10, 4)
    x = np.array([[1, 3, 3], [0, 9, 2]])
    y = emb(idx(x))
    W = tensor.to_numpy(emb.W)
    assert emb.W.shape == (10, 4) and emb.W.dtype == tensor.float32
    assert list(emb.get_params()) == ["W"]
    assert y.shape == (2, 3, 4)
    np.testing.assert_array_equal(tensor.to_numpy(y), W[x])


def test_initialisers():
    device.set_rand_seed(0)
    gauss = layer.Embedding(20000, 10)
    gauss(idx([0]))
    w = tensor.to_numpy(gauss.W)
    assert abs(w.mean()) < 0.01 and abs(w.std() - 1.0) < 0.01  # N(0, 1), as SINGA
    uni = layer.Embedding(20000, 10, initializer="uniform")
    uni(idx([0]))
    w = tensor.to_numpy(uni.W)
    assert w.min() >= -1.0 and w.max() < 1.0 and abs(w.std() - 1 / np.sqrt(3)) < 0.01


def test_gradient_scatter_adds_into_the_used_rows():
    emb = layer.Embedding(6, 3)
    x = np.array([[1, 4, 1], [4, 4, 0]])
    autograd.training = True
    y = emb(idx(x))
    v = np.random.default_rng(0).standard_normal((2, 3, 3)).astype(np.float32)
    grads = autograd.gradients(y, Tensor(data=v))
    expect = np.zeros((6, 3), np.float32)
    np.add.at(expect, x.reshape(-1), v.reshape(-1, 3))  # repeated indices add up
    np.testing.assert_allclose(tensor.to_numpy(grads[emb.W]), expect, rtol=1e-6)


def test_gradcheck_through_the_layer():
    W = np.random.default_rng(1).standard_normal((5, 3))
    emb = layer.Embedding(5, 3).from_pretrained(Tensor(data=W, dtype=tensor.float64),
                                                freeze=False)
    x = np.array([[0, 2, 2], [4, 1, 0]], dtype=np.int32)

    def fn(x, W):
        emb.W = W
        return emb(x)
    minisinga.gradcheck(fn, [x, W], name="Embedding")


def test_from_pretrained_and_freeze():
    W = np.arange(12, dtype=np.float32).reshape(4, 3)
    frozen = layer.Embedding(100, 7).from_pretrained(W)  # freeze=True by default
    assert (frozen.input_dim, frozen.output_dim) == (4, 3)
    assert frozen.get_params() == {} and list(frozen.get_states()) == ["W"]
    assert not frozen.W.requires_grad and not frozen.W.stores_grad
    np.testing.assert_array_equal(tensor.to_numpy(frozen(idx([[3, 0]]))), W[[[3, 0]]])
    W[0, 0] = 99.0  # copied, not aliased
    assert tensor.to_numpy(frozen.W)[0, 0] == 0.0

    # A trainable table moves under SGD; a frozen one does not.
    autograd.training = True
    for freeze in (True, False):
        emb = layer.Embedding(4, 3).from_pretrained(np.ones((4, 3)), freeze=freeze)
        loss = autograd.reduce_sum(emb(idx([[1, 2]])))
        if freeze:
            assert not loss.requires_grad  # nothing to train
            continue
        before = tensor.to_numpy(emb.W)
        for p, g in autograd.backward(loss):
            opt.SGD(0.5).update(p, g)
        after = tensor.to_numpy(emb.W)
        np.testing.assert_allclose(after[[1, 2]], before[[1, 2]] - 0.5)
        np.testing.assert_array_equal(after[[0, 3]], before[[0, 3]])


def test_errors_name_the_layer():
    with pytest.raises(ValueError, match="Embedding: input_dim must be a positive int"):
        layer.Embedding(0, 3)
    with pytest.raises(ValueError, match="Embedding: initializer must be 'gaussian' or "
                                         "'uniform'"):
        layer.Embedding(3, 3, initializer="zeros")
    with pytest.raises(TypeError, match="Embedding: input must hold int32 indices, got float32"):
        layer.Embedding(3, 3)(tensor.from_numpy(np.zeros((2, 2), np.float32)))
    with pytest.raises(ValueError, match=r"Embedding.from_pretrained: W must be 2-D"):
        layer.Embedding(3, 3).from_pretrained(np.zeros(3))
