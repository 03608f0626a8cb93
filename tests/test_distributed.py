"""DistributedDataParallel on CPU: 2 gloo processes train exactly what one process does
with the same global batch (float64, a BatchNorm-free net)."""
import os
import socket

import torch
import torch.multiprocessing as mp

from recur import train as T
from recur.profiles import make_config


def _config():
    return make_config("quick", "classification", family="mlp", recurrent=True, depth=5,
                       n_train=256, n_test=64, epochs=2, batch_size=64, device="cpu",
                       precision="fp64", channels_last=False)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world: int, port: int, results_dir: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), WORLD_SIZE=str(world),
                      RANK=str(rank), LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    try:
        T.train(_config(), results_dir=results_dir, progress="none")
    finally:
        import torch.distributed as dist
        if dist.is_initialized():
            dist.destroy_process_group()


def test_two_gloo_processes_equal_one(tmp_path):
    config = _config()
    mp.spawn(_worker, args=(2, _free_port(), str(tmp_path / "ddp")), nprocs=2, join=True)
    single = T.train(config, results_dir=tmp_path / "single", progress="none")
    a = T.load_checkpoint(tmp_path / "ddp" / "checkpoints" / f"{config.name()}.pt")
    b = T.load_checkpoint(tmp_path / "single" / "checkpoints" / f"{config.name()}.pt")
    assert a["epoch"] == b["epoch"] == 2
    for name, tensor in b["model"].items():
        assert tensor.dtype == torch.float64
        torch.testing.assert_close(a["model"][name], tensor, rtol=1e-10, atol=1e-12)
    assert len(list((tmp_path / "ddp" / "runs").glob("*.json"))) == 1  # rank 0 writes
    assert single["history"][-1]["loss"] < single["history"][0]["loss"]  # weights moved


def test_ranks_split_the_global_batch():
    batch = torch.arange(10)
    parts = [T.shard(batch, r, 2) for r in range(2)]
    assert sorted(torch.cat(parts).tolist()) == list(range(10))
    assert len(parts[0]) == len(parts[1]) == 5
