"""What the CPU offers OpenVINO's fast paths: bf16 arithmetic and int8 dot products (VNNI or AMX).

Without them OpenVINO still runs, only its speed-up over torch is smaller (figures in
``docs/models.md``); :class:`~rag.embedders.openvino.OpenVinoEmbedder` logs a line saying so.

>>> old = CpuFeatures(name="old", flags=frozenset({"avx2", "fma"}), openvino=("FP32", "INT8"))
>>> (old.bf16, old.vnni, len(old.shortfalls("int8")))
(False, False, 2)
"""

from __future__ import annotations

import functools
from dataclasses import dataclass


@dataclass(frozen=True)
class CpuFeatures:
    """What the CPU offers the fast paths: bf16 arithmetic and int8 dot products (VNNI or AMX)."""

    name: str
    flags: frozenset[str]  # the relevant /proc/cpuinfo flags (empty when unknown)
    openvino: tuple[str, ...]  # OpenVINO's OPTIMIZATION_CAPABILITIES for the CPU ((), without OpenVINO)

    @property
    def bf16(self) -> bool:
        if self.openvino:
            return "BF16" in self.openvino
        return bool(self.flags & {"avx512_bf16", "amx_bf16"})

    @property
    def vnni(self) -> bool:
        return bool(self.flags & {"avx512_vnni", "avx_vnni", "amx_int8"})

    @property
    def amx(self) -> bool:
        return bool(self.flags & {"amx_bf16", "amx_int8"})

    def summary(self) -> str:
        known = bool(self.flags) or bool(self.openvino)
        yes = {True: "yes", False: "no" if known else "unknown"}
        isa = ", ".join(sorted(self.flags)) or "unknown"
        return (
            f"{self.name or 'CPU'}: bf16 {yes[self.bf16]}, int8 dot products (VNNI/AMX) "
            f"{yes[self.vnni]} [{isa}]"
        )

    def shortfalls(self, precision: str) -> list[str]:
        """Why this CPU will not reach the usual speed-up with ``precision`` (empty when it will)."""
        out = []
        if precision in ("default", "bf16", "int8") and not self.bf16:
            out.append("no bf16 instructions (AVX512-BF16/AMX): float layers run in fp32")
        if precision == "int8" and not self.vnni:
            out.append("no int8 dot-product instructions (AVX512-VNNI/AVX-VNNI/AMX): int8 matmuls are slower")
        return out


_FLAGS = ("avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_bf16", "amx_int8",
          "amx_tile", "neon", "asimd")  # fmt: skip


@functools.lru_cache(maxsize=1)
def _cpuinfo() -> tuple[str, frozenset[str]]:
    """The CPU's name and relevant flags from ``/proc/cpuinfo`` (empty where there is none)."""
    name, flags = "", set[str]()
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                key, _, value = line.partition(":")
                key = key.strip()
                if key == "model name" and not name:
                    name = value.strip()
                elif key in ("flags", "Features") and not flags:
                    flags = set(value.split()) & set(_FLAGS)
    except OSError:
        pass
    return name, frozenset(flags)


def has_int8_dot_products() -> bool:
    """Whether the CPU has VNNI or AMX int8 dot products (from its flags alone: nothing loads)."""
    return CpuFeatures("", _cpuinfo()[1], ()).vnni


@functools.lru_cache(maxsize=1)
def cpu_features() -> CpuFeatures:
    """The CPU's name and relevant features, from ``/proc/cpuinfo`` and OpenVINO (when installed)."""
    name, flags = _cpuinfo()
    caps: tuple[str, ...] = ()
    try:
        from .openvino_ir import core as openvino_core

        core = openvino_core()
        caps = tuple(str(c) for c in core.get_property("CPU", "OPTIMIZATION_CAPABILITIES"))
        name = name or str(core.get_property("CPU", "FULL_DEVICE_NAME"))
    except Exception:  # no OpenVINO, or no CPU plugin: the flags alone still say something
        pass
    return CpuFeatures(name=name, flags=frozenset(flags), openvino=caps)
