"""Image data: each real on-disk format, written small by the test, read by the real
loaders; the tensor pipeline against torchvision's transforms."""
import gzip
import pickle

import numpy as np
import pytest
import torch
import torchvision.transforms as T
from PIL import Image

from recur import data

RNG = np.random.default_rng(0)


def write_cifar(root, n=6):
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    batches = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        x = RNG.integers(0, 256, (n, 3072), dtype=np.uint8)
        y = list(RNG.integers(0, 10, n).tolist())
        with open(folder / name, "wb") as f:
            pickle.dump({b"batch_label": name.encode(), b"labels": y, b"data": x,
                         b"filenames": [b"x.png"] * n}, f)
        batches[name] = (x, y)
    return batches


def test_cifar10_python_batches(tmp_path):
    batches = write_cifar(tmp_path)
    x, y = data.load("cifar10", "train", tmp_path)
    assert x.shape == (30, 3, 32, 32) and x.dtype == torch.uint8 and y.dtype == torch.int64
    first = batches["data_batch_1"]
    assert np.array_equal(x[0].numpy(), first[0][0].reshape(3, 32, 32))  # channel-major rows
    assert y[:6].tolist() == first[1]
    xt, yt = data.load("cifar10", "test", tmp_path)
    assert xt.shape == (6, 3, 32, 32) and yt.tolist() == batches["test_batch"][1]


def test_cifar_loader_refuses_code_in_a_pickle(tmp_path):
    write_cifar(tmp_path)

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    with open(tmp_path / "cifar-10-batches-py" / "test_batch", "wb") as f:
        pickle.dump({b"data": Evil(), b"labels": []}, f)
    with pytest.raises(pickle.UnpicklingError, match="refusing to load builtins.print"):
        data.load("cifar10", "test", tmp_path)


def test_svhn_mat_files(tmp_path):
    from scipy.io import savemat
    X = RNG.integers(0, 256, (32, 32, 3, 7), dtype=np.uint8)
    y = np.array([[10], [1], [2], [3], [4], [9], [10]], dtype=np.uint8)
    savemat(tmp_path / "train_32x32.mat", {"X": X, "y": y})
    x, labels = data.load("svhn", "train", tmp_path)
    assert x.shape == (7, 3, 32, 32)
    assert np.array_equal(x[2].numpy(), X[:, :, :, 2].transpose(2, 0, 1))
    assert labels.tolist() == [0, 1, 2, 3, 4, 9, 0]  # SVHN writes the digit 0 as 10


def _idx(array: np.ndarray) -> bytes:
    head = bytes([0, 0, 8, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return head + array.astype(np.uint8).tobytes()


def test_emnist_gzip_idx(tmp_path):
    raw = tmp_path / "EMNIST" / "raw"
    raw.mkdir(parents=True)
    images = RNG.integers(0, 256, (5, 28, 28), dtype=np.uint8)
    labels = np.array([0, 46, 3, 12, 7], dtype=np.uint8)
    (raw / "emnist-balanced-test-images-idx3-ubyte.gz").write_bytes(gzip.compress(_idx(images)))
    (raw / "emnist-balanced-test-labels-idx1-ubyte.gz").write_bytes(gzip.compress(_idx(labels)))
    x, y = data.load("emnist", "test", tmp_path)
    assert x.shape == (5, 1, 28, 28) and np.array_equal(x[:, 0].numpy(), images)
    assert y.tolist() == labels.tolist()
    # also the uncompressed files torchvision's download leaves behind
    (raw / "emnist-balanced-test-labels-idx1-ubyte.gz").unlink()
    (raw / "emnist-balanced-test-labels-idx1-ubyte").write_bytes(_idx(labels)[:-2])
    with pytest.raises(ValueError, match="truncated"):
        data.load("emnist", "test", tmp_path)


def test_imagenet_image_folder(tmp_path):
    for split in ("train", "val"):
        for cls in ("n01", "n02"):
            (tmp_path / split / cls).mkdir(parents=True)
            for i in range(2):
                Image.fromarray(RNG.integers(0, 256, (300, 280, 3), dtype=np.uint8)).save(
                    tmp_path / split / cls / f"{i}.JPEG", format="JPEG")
    batches = list(data.imagenet_loader(tmp_path, "val", 2, workers=0))
    assert [tuple(b[0].shape) for b in batches] == [(2, 3, 224, 224)] * 2
    assert sorted(torch.cat([b[1] for b in batches]).tolist()) == [0, 0, 1, 1]
    x, _ = next(iter(data.imagenet_loader(tmp_path, "train", 4, workers=0)))
    assert x.shape == (4, 3, 224, 224)


def test_missing_data_says_how_to_get_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="download=True"):
        data.check_available("cifar10", "train", tmp_path)
    with pytest.raises(FileNotFoundError, match="image-net.org"):
        data.check_available("imagenet", "test", tmp_path)
    with pytest.raises(ValueError, match="unknown image dataset 'mnist'; choose from digits"):
        data.check_available("mnist")
    with pytest.raises(ValueError, match="split must be"):
        data.check_available("svhn", "val", tmp_path)


def test_digits_offline_split_and_statistics():
    x, y = data.load("digits", "train")
    xt, yt = data.load("digits", "test")
    assert x.shape == (1437, 1, 32, 32) and xt.shape == (360, 1, 32, 32)
    assert torch.equal(x, data.load("digits", "train")[0])  # fixed split
    assert np.bincount(yt.numpy()).min() >= 35  # stratified: every digit in the test set
    assert torch.equal(x[:, :, ::4, ::4].repeat_interleave(4, 2).repeat_interleave(4, 3), x)
    info = data.INFO["digits"]
    assert x.float().div(255).mean().item() == pytest.approx(info.mean[0], abs=1e-4)
    assert x.float().div(255).std().item() == pytest.approx(info.std[0], abs=1e-4)


def test_normalisation_matches_torchvision():
    images = torch.from_numpy(RNG.integers(0, 256, (4, 3, 32, 32), dtype=np.uint8))
    info = data.INFO["cifar10"]
    tl = data.TensorLoader(images, torch.arange(4), 4, mean=info.mean, std=info.std, train=False)
    ours = next(iter(tl))[0]
    tv = T.Compose([T.ToTensor(), T.Normalize(info.mean, info.std)])
    ref = torch.stack([tv(Image.fromarray(im.permute(1, 2, 0).numpy())) for im in images])
    torch.testing.assert_close(ours, ref, rtol=0, atol=1e-6)


def _outcome(out: np.ndarray, image: np.ndarray, p: int):
    """Which (top, left, flipped) crop of the zero-padded image ``out`` is."""
    padded = np.pad(image, ((0, 0), (p, p), (p, p)))
    h, w = image.shape[1:]
    for top in range(2 * p + 1):
        for left in range(2 * p + 1):
            crop = padded[:, top:top + h, left:left + w]
            if np.array_equal(out, crop):
                return top, left, False
            if np.array_equal(out, crop[:, :, ::-1]):
                return top, left, True
    raise AssertionError("not a crop of the padded image")


def test_crop_and_flip_match_torchvision_distribution():
    """Every augmented sample is one of the (2p+1)²·2 crop/flip outcomes torchvision's
    RandomCrop(padding=p) + RandomHorizontalFlip can give, and all are equally likely."""
    p, n = 2, 4000
    image = RNG.integers(1, 256, (1, 8, 8), dtype=np.uint8)  # nonzero: padding is visible
    batch = torch.from_numpy(image).expand(n, 1, 8, 8).contiguous()
    tl = data.TensorLoader(batch, torch.zeros(n, dtype=torch.long), n, mean=(0,), std=(1,),
                           train=True, crop_padding=p, flip=True,
                           generator=torch.Generator().manual_seed(0))
    ours = tl.augment(batch).numpy()
    counts = {}
    for out in ours:
        key = _outcome(out, image, p)
        counts[key] = counts.get(key, 0) + 1
    cells = (2 * p + 1) ** 2 * 2
    assert len(counts) == cells
    expected = n / cells
    chi2 = sum((c - expected) ** 2 / expected for c in counts.values())
    assert chi2 < 90.6  # 99.9th percentile of chi-square, 49 degrees of freedom

    torch.manual_seed(0)
    tv = T.Compose([T.RandomCrop(8, padding=p), T.RandomHorizontalFlip()])
    pil = Image.fromarray(image[0])
    seen = {_outcome(np.asarray(tv(pil))[None], image, p) for _ in range(600)}
    assert seen <= set(counts) and len(seen) > cells * 0.8


def test_loader_epochs_cover_the_data_once():
    x, y = data.load("digits", "test")
    tl = data.loader("digits", "train", 100, generator=torch.Generator().manual_seed(1))
    seen = torch.cat([labels for _, labels in tl])
    assert len(seen) == 1437 and len(tl) == 15
    xb, _ = next(iter(data.loader("digits", "test", 64)))
    assert xb.shape == (64, 1, 32, 32) and xb.dtype == torch.float32


def test_tensors_are_the_split_unaugmented_in_order():
    """What linear probes train on: the normalised images as stored, the same every call
    (a training loader would crop, flip and shuffle them)."""
    x, y = data.tensors("digits", "train")
    images, labels = data.load("digits", "train")
    info = data.INFO["digits"]
    mean, std = torch.tensor(info.mean).view(1, -1, 1, 1), torch.tensor(info.std).view(1, -1, 1, 1)
    torch.testing.assert_close(x, (images.float() / 255 - mean) / std)
    assert torch.equal(y, labels)
    first, _ = data.tensors("digits", "train", n=100)
    assert torch.equal(first, x[:100])
    augmented, _ = next(iter(data.loader("digits", "train", 10_000,
                                         generator=torch.Generator().manual_seed(0))))
    assert not torch.equal(augmented, x)  # the loader the probes used before did augment
