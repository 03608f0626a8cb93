"""DistributedDataParallel on CPU: 2 gloo processes train exactly what one process does
with the same global batch (float64, BatchNorm-free nets), a classifier and a maze solver,
even when the last batch splits unevenly: the loss is the global batch's mean."""
import json
import os
import socket

import pytest
import torch
import torch.multiprocessing as mp

from recur import train as T
from recur.checkpoints import load_checkpoint
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
        record = T.train(_config(experiment), results_dir=results_dir, progress="none")
        with open(f"{results_dir}/returned-by-rank{rank}.json", "w") as f:
            json.dump(record, f)
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
    a = load_checkpoint(tmp_path / "ddp" / "checkpoints" / f"{config.name()}.pt")
    b = load_checkpoint(tmp_path / "single" / "checkpoints" / f"{config.name()}.pt")
    assert a["epoch"] == b["epoch"] == 2
    for name, tensor in b["model"].items():
        assert tensor.dtype == torch.float64
        torch.testing.assert_close(a["model"][name], tensor, rtol=1e-10, atol=1e-12)
    assert [h["loss"] for h in a["history"]] == pytest.approx(
        [h["loss"] for h in b["history"]], rel=1e-9)  # the logged epoch losses too
    assert ([h["train_acc"] for h in a["history"]]
            == [h["train_acc"] for h in b["history"]])
    assert len(list((tmp_path / "ddp" / "runs").glob("*.json"))) == 1  # rank 0 writes
    returned = [json.loads((tmp_path / "ddp" / f"returned-by-rank{r}.json").read_text())
                for r in range(2)]
    assert returned[0] == returned[1] and returned[0]["finished"]  # every rank: the record
    history = single["metrics"]["history"]
    assert history[-1]["loss"] < history[0]["loss"]  # weights moved


@pytest.mark.parametrize("n,world", [(10, 2), (12, 3), (7, 2), (5, 4)])
def test_ranks_split_the_global_batch_as_distributed_sampler_does(n, world):
    """Each rank's share is DistributedSampler's (no shuffling) for an even split; for any
    split, the shares partition the batch and differ in size by at most one."""
    from torch.utils.data import DistributedSampler
    batch = torch.arange(100, 100 + n)
    parts = [T.shard(batch, r, world) for r in range(world)]
    assert sorted(torch.cat(parts).tolist()) == batch.tolist()
    assert max(map(len, parts)) - min(map(len, parts)) <= 1
    if n % world == 0:
        for r, part in enumerate(parts):
            sampler = DistributedSampler(range(n), num_replicas=world, rank=r, shuffle=False)
            assert part.tolist() == [100 + i for i in sampler]
