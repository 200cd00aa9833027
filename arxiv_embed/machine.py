"""The CPU a result was measured on: its model and the vector extensions that move int8 and float numerics.

Recorded beside metrics and benchmark results, since the same code and data give slightly different floats on
another CPU (other kernels), and int8 speed-ups differ about 2x between AVX-512 VNNI and AVX2-only machines.
"""

from __future__ import annotations

import contextlib
import os
import platform

VECTOR_EXTENSIONS = ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_int8")  # bf16: OpenVINO's float part


def cpu_isa() -> dict:
    """The CPU model, core count and which of VECTOR_EXTENSIONS it has, from /proc/cpuinfo."""
    model, flags = platform.processor() or platform.machine(), set()
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as fh:
        for line in fh:
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                model = value.strip()
            elif key.strip() == "flags":
                flags = set(value.split())
                break
    return {"model": model, "cores": os.cpu_count(), **{f: f in flags for f in VECTOR_EXTENSIONS}}


def isa_name(cpu: dict) -> str:
    """The widest of VECTOR_EXTENSIONS a CPU (as `cpu_isa` describes it) has, which names its benchmark files:
    `amx_int8`, `avx512_bf16`, `avx512_vnni`, `avx512f`, `avx2`, or `baseline`."""
    return next((f for f in reversed(VECTOR_EXTENSIONS) if cpu.get(f)), "baseline")


def memory_mb(pid: int | str = "self") -> dict[str, float]:
    """A process's resident memory now (`VmRSS`) and at its peak (`VmHWM`), in MiB, from /proc (Linux)."""
    with open(f"/proc/{pid}/status") as fh:
        fields = dict(line.split(":", 1) for line in fh if ":" in line)
    return {name: round(int(fields[name].split()[0]) / 1024, 1) for name in ("VmRSS", "VmHWM")}
