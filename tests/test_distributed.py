"""DistributedDataParallel on CPU: 2 gloo processes train exactly what one process does
with the same global batch (float64, BatchNorm-free nets), a classifier and a maze solver,
even when the last batch splits unevenly: the loss is the global batch's mean."""
import os
import socket

import pytest
import torch
import torch.multiprocessing as mp

from recur import train as T
from recur.profiles import make_config


def _config(experiment: str):
    if experiment == "mazes":
        return make_config("quick", "mazes", family="maze", recurrent=True, depth=8, width=8,
                           maze_crop=16, n_train=67, n_test=16, epochs=2, batch_size=16,
                           extra_iterations=0, device="cpu", precision="fp64",
                           channels_last=False)
    return make_config("quick", "classification", family="mlp", recurrent=True, depth=5,
                       n_train=251, n_test=64, epochs=2, batch_size=64, device="cpu",
                       precision="fp64", channels_last=False)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world: int, port: int, results_dir: str, experiment: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), WORLD_SIZE=str(world),
                      RANK=str(rank), LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    try:
        T.train(_config(experiment), results_dir=results_dir, progress="none")
    finally:
        import torch.distributed as dist
        if dist.is_initialized():
            dist.destroy_process_group()


@pytest.mark.parametrize("experiment", ["classification", "mazes"])
def test_two_gloo_processes_equal_one(tmp_path, experiment):
    config = _config(experiment)
    mp.spawn(_worker, args=(2, _free_port(), str(tmp_path / "ddp"), experiment), nprocs=2,
             join=True)
    single = T.train(config, results_dir=tmp_path / "single", progress="none")
    a = T.load_checkpoint(tmp_path / "ddp" / "checkpoints" / f"{config.name()}.pt")
    b = T.load_checkpoint(tmp_path / "single" / "checkpoints" / f"{config.name()}.pt")
    assert a["epoch"] == b["epoch"] == 2
    for name, tensor in b["model"].items():
        assert tensor.dtype == torch.float64
        torch.testing.assert_close(a["model"][name], tensor, rtol=1e-10, atol=1e-12)
    assert [h["loss"] for h in a["history"]] == pytest.approx(
        [h["loss"] for h in b["history"]], rel=1e-9)  # the logged epoch losses too
    assert [h["train_acc"] for h in a["history"]] == [h["train_acc"] for h in b["history"]]
    assert len(list((tmp_path / "ddp" / "runs").glob("*.json"))) == 1  # rank 0 writes
    assert single["history"][-1]["loss"] < single["history"][0]["loss"]  # weights moved


def test_ranks_split_the_global_batch():
    batch = torch.arange(10)
    parts = [T.shard(batch, r, 2) for r in range(2)]
    assert sorted(torch.cat(parts).tolist()) == list(range(10))
    assert len(parts[0]) == len(parts[1]) == 5
