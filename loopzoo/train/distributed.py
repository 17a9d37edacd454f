"""Process-group set-up for ``torchrun``: gloo on CPU, nccl on CUDA; a no-op for one process."""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass
class Distributed:
    rank: int
    world: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @classmethod
    def from_env(cls, device: str | None = None) -> Distributed:
        """Read ``RANK``/``WORLD_SIZE``/``LOCAL_RANK`` (set by torchrun) and join the group."""
        world = int(os.environ.get("WORLD_SIZE", "1"))
        wants_cuda = device is None and torch.cuda.is_available() or (device or "").startswith("cuda")
        if world > 1:
            local = int(os.environ.get("LOCAL_RANK", "0"))
            if not dist.is_initialized():
                dist.init_process_group("nccl" if wants_cuda else "gloo")
            if wants_cuda:
                torch.cuda.set_device(local)
                return cls(dist.get_rank(), world, torch.device("cuda", local))
            return cls(dist.get_rank(), world, torch.device("cpu"))
        resolved = device or ("cuda" if wants_cuda else "cpu")
        return cls(0, 1, torch.device(resolved))

    def wrap(self, model: torch.nn.Module) -> torch.nn.Module:
        if self.world == 1:
            return model
        ids = [self.device.index] if self.device.type == "cuda" else None
        return torch.nn.parallel.DistributedDataParallel(model, device_ids=ids)

    def barrier(self) -> None:
        if self.world > 1:
            dist.barrier()

    def agree(self, flag: bool) -> bool:
        """Rank 0's ``flag`` on every rank (decisions from wall time must not differ between ranks)."""
        if self.world == 1:
            return flag
        value = torch.tensor([1.0 if flag else 0.0], device=self.device)
        dist.broadcast(value, src=0)
        return bool(value.item())

    def gather(self, tensor: torch.Tensor) -> torch.Tensor:
        """Every rank's ``tensor`` (the same shape on each), concatenated along dim 0 in rank order, on every rank."""
        if self.world == 1:
            return tensor
        parts = [torch.empty_like(tensor) for _ in range(self.world)]
        dist.all_gather(parts, tensor.contiguous())
        return torch.cat(parts)

    def close(self) -> None:
        if self.world > 1 and dist.is_initialized():
            dist.destroy_process_group()
