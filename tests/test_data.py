"""Image data: each real on-disk format, written small by the test, read by the real
loaders; the tensor pipeline against torchvision's transforms; maze batches; the batch
sources the trainer reads."""
import gzip
import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import torchvision.transforms as T
from PIL import Image

from recur import batches, data, mazes
from recur.profiles import make_config

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
    with pytest.raises(ValueError, match="split = 'val' is not allowed: use one of train, test"):
        data.check_available("svhn", "val", tmp_path)


def test_digits_offline_split_and_statistics():
    x, _y = data.load("digits", "train")
    xt, yt = data.load("digits", "test")
    assert x.shape == (1437, 1, 32, 32) and xt.shape == (360, 1, 32, 32)
    assert torch.equal(x, data.load("digits", "train")[0])  # fixed split
    assert np.bincount(yt.numpy()).min() >= 35  # stratified: every digit in the test set
    assert torch.equal(x[:, :, ::4, ::4].repeat_interleave(4, 2).repeat_interleave(4, 3), x)
    info = data.INFO["digits"]
    assert x.float().div(255).mean().item() == pytest.approx(info.mean[0], abs=1e-4)
    assert x.float().div(255).std().item() == pytest.approx(info.std[0], abs=1e-4)


def _rows(x: torch.Tensor) -> list[bytes]:
    return sorted(bytes(im.numpy().tobytes()) for im in x)


def test_a_digits_split_per_seed_partitions_the_same_images_anew():
    """Invariants: every split seed partitions the same 1,797 images (as a multiset) into
    1,437 + 360, stratified; seed 0 draws the fixed split; other seeds draw other test sets;
    a config's split_seed reaches the batches it trains and is scored on; the official
    splits of the other datasets refuse a split seed, naming it."""
    fixed = [data.load("digits", s) for s in ("train", "test")]
    everything = _rows(torch.cat([fixed[0][0], fixed[1][0]]))
    tests = {}
    for seed in (0, 3, 4):
        (x, _), (xt, yt) = (data.load("digits", s, split_seed=seed) for s in ("train", "test"))
        assert len(x) == 1437 and len(xt) == 360 and np.bincount(yt.numpy()).min() >= 35
        assert _rows(torch.cat([x, xt])) == everything
        tests[seed] = _rows(xt)
    assert tests[0] == _rows(fixed[1][0]) and tests[3] != tests[0] and tests[4] != tests[3]
    config = make_config("quick", "classification", family="mlp", recurrent=False, depth=3,
                         split_seed=3)
    test_source = data.make_data(config, "cpu")[1]
    x3 = data.load("digits", "test", split_seed=3)[0]
    assert _rows(test_source.loader.images.cpu()) == _rows(x3)
    with pytest.raises(ValueError, match="split_seed = 1 is not allowed: use None for cifar10"):
        data.load("cifar10", "train", split_seed=1)
    with pytest.raises(ValueError, match="split_seed is for the digits"):
        make_config("quick", "mazes", family="maze", recurrent=True, depth=8, split_seed=1)


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
    _x, _y = data.load("digits", "test")
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


# --------------------------------------------------------------------------- mazes
def test_dataset_items_and_crops(tmp_path):
    train = data.MazeDataset("train", "small", n_train=300, n_test=60, cache_dir=tmp_path)
    test = data.MazeDataset("test", "small", n_train=300, n_test=60, cache_dir=tmp_path)
    assert (len(train), len(test)) == (300, 60)
    x, y = train[0]
    assert x.shape == (3, 32, 32) and y.shape == (32, 32) and str(y.dtype) == "torch.int64"
    # the 24-pixel maze sits somewhere inside the 32x32 crop; the rest is black padding
    inputs, targets = mazes.render(train.mazes[:1], 2)
    assert x.sum().item() == pytest.approx(inputs.sum()) and y.sum().item() == targets.sum()
    # test offsets are fixed per maze; training offsets vary between passes
    assert all((test[i][0] == test[i][0]).all() for i in range(5))
    gen = torch.Generator().manual_seed(0)
    a, _ = train.batch(np.arange(64), gen)
    b, _ = train.batch(np.arange(64), gen)
    assert not torch.equal(a, b)
    large = data.MazeDataset("test", "large", n_train=50, n_test=10, cache_dir=tmp_path)
    assert torch.equal(large[0][0], torch.from_numpy(mazes.render(large.mazes[:1], 2)[0][0]))
    raw = data.MazeDataset("train", 4, n_train=20, n_test=5, scale=1, crop=None, cache_dir=tmp_path)
    assert raw[0][0].shape == (3, 11, 11)




def test_place_puts_each_image_at_its_offset():
    """The one placement routine, against an independent oracle (F.pad per image)."""
    images = torch.randint(1, 255, (5, 3, 7, 7), dtype=torch.uint8)
    offsets = torch.tensor([[0, 0], [5, 5], [2, 3], [0, 5], [4, 1]])
    canvas = batches.place(images, offsets, 12)
    for img, (r, c), out in zip(images, offsets.tolist(), canvas):
        assert torch.equal(out, F.pad(img, (c, 12 - 7 - c, r, 12 - 7 - r)))


def test_maze_batches_without_a_generator_and_their_placement(tmp_path):
    ds = data.MazeDataset("train", "small", n_train=40, n_test=10, cache_dir=tmp_path)
    source = batches.MazeBatches(ds)
    x, y = next(iter(source.batches(16)))  # no generator: torch's default one
    assert x.shape == (16, 3, 32, 32) and y.shape == (16, 32, 32)
    inputs, targets = mazes.render(ds.mazes, 2)
    # every batch holds whole mazes, placed somewhere in the crop; an epoch sees each once
    g = torch.Generator().manual_seed(0)
    seen = torch.cat([xb.sum((1, 2, 3)) for xb, _ in source.batches(16, g)])
    assert sorted(seen.tolist()) == sorted(inputs.sum((1, 2, 3)).tolist())
    # the training set scored: in order, centred
    view_x, view_y = next(iter(source.eval_view().batches(40)))
    pad = (32 - 24) // 2
    assert torch.equal(view_x[:, :, pad:pad + 24, pad:pad + 24], torch.from_numpy(inputs))
    assert torch.equal(view_y[:, pad:pad + 24, pad:pad + 24], torch.from_numpy(targets).long())
    # the test set: placed once at the dataset's fixed offsets, the same as MazeDataset serves
    test = data.MazeDataset("test", "small", n_train=40, n_test=10, cache_dir=tmp_path)
    tx, ty = next(iter(batches.MazeBatches(test).batches(10)))
    ex, ey = test.batch(range(10))
    assert torch.equal(tx, ex) and torch.equal(ty, ey)


@pytest.mark.parametrize("call,match", [
    (lambda: data.MazeDataset("val", "small"), "split = 'val' is not allowed: use one of train"),
    (lambda: data.MazeDataset("train", "large", scale=3),
     "crop = 32 is not allowed: use None or an integer >= the image size 47"),
    (lambda: data.MazeDataset("train", "small", crop=0), "crop = 0 is not allowed"),
    (lambda: data.MazeDataset("train", "tiny"), "unknown maze size"),
    (lambda: data.TensorLoader(torch.zeros(2, 1, 4, 4, dtype=torch.uint8), torch.zeros(2), True,
                               mean=(0,), std=(1,), train=False),
     "batch_size = True is not allowed: use an integer >= 1"),
])
def test_bad_arguments_name_the_argument_and_what_is_allowed(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_random_crop_is_placement_in_reverse():
    """One window routine serves both: placing an image at (r, c) in a canvas, then
    cropping the canvas at (r, c) gives the image back; a crop of a zero-padded image is
    F.pad per image, cut at the drawn offset (an independent oracle)."""
    images = torch.randint(1, 255, (6, 2, 5, 5), dtype=torch.uint8)
    offsets = torch.randint(0, 4, (6, 2))
    canvas = batches.place(images, offsets, 8)
    for img, (r, c), out in zip(images, offsets.tolist(), canvas):
        assert torch.equal(out[:, r:r + 5, c:c + 5], img) and out.sum() == img.sum()
    g = torch.Generator().manual_seed(3)
    crops = batches.random_crop(images, 5, 2, torch.Generator().manual_seed(3))
    top, left = torch.randint(5, (6,), generator=g), torch.randint(5, (6,), generator=g)
    for img, t, lt, out in zip(images, top.tolist(), left.tolist(), crops):
        assert torch.equal(out, F.pad(img, (2,) * 4)[:, t:t + 5, lt:lt + 5])


def test_every_batch_source_meets_the_protocol(tmp_path, monkeypatch):
    """What the trainer relies on: len(), batches(batch_size, generator) of (x, y) on the
    device covering the split once, and eval_view() (in order, the same samples)."""
    monkeypatch.setenv("RECUR_CACHE", str(tmp_path))
    mazes_config = make_config("quick", "mazes", family="maze", recurrent=True, depth=8,
                               n_train=60, n_test=20)
    digits_config = make_config("quick", "classification", family="mlp", recurrent=False,
                                depth=4, n_train=50, n_test=30)
    for config in (mazes_config, digits_config):
        for source, n in zip(data.make_data(config, torch.device("cpu")), (config.n_train,
                                                                          config.n_test)):
            assert isinstance(source, batches.BatchSource) and len(source) == n
            g = torch.Generator().manual_seed(0)
            ys = [y for _, y in source.batches(16, g)]
            assert sum(len(y) for y in ys) == n and all(y.dtype == torch.int64 for y in ys)
            view = source.eval_view()
            assert isinstance(view, batches.BatchSource) and len(view) == n
            x, _ = next(iter(view.batches(n)))
            assert x.dtype == torch.float32 and len(x) == n
    assert isinstance(data.make_data(mazes_config, "cpu")[0].dataset.mazes, mazes.Mazes)


def test_dataset_facts_need_no_torch():
    """Configs and the model factory look datasets up without the batch pipeline."""
    code = ("import sys, recur.datasets as d; assert 'torch' not in sys.modules; "
            "from recur import data; assert data.INFO is d.INFO")
    subprocess.run([sys.executable, "-c", code], check=True)
