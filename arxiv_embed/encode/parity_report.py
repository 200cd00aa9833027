"""parity.json: how close each ONNX graph came to torch at export, and to the stored vectors after the adapter.

The export stage writes the report; the adapter stage adds its own checks and whether int8 may serve; the
manifest carries the served graphs' report, and `load_bundle` refuses int8 that failed. Torch-free, so the server
reads it.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from arxiv_embed.encode.onnx_encoder import PARITY_FILE
from arxiv_embed.spec_file import SpecFile


class Cosines(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    min_cosine: float
    mean_cosine: float


class ParityReport(SpecFile):
    model_config = ConfigDict(populate_by_name=True)
    FILE = PARITY_FILE

    fused_ops: dict[str, int]  # ONNX Runtime's fused operators and their counts in the fused graph
    fused_graphs: list[str]  # the variants built from the fused graph
    fp32_min_cosine: float  # to torch, on the parity texts
    fp32_mean_cosine: float
    int8_min_cosine: float
    int8_mean_cosine: float
    torch_p_at_10: float = Field(alias="torch_p@10")  # among the parity papers
    int8_p_at_10: float = Field(alias="int8_p@10")
    parity_texts: int
    int8_ok: bool = False  # set by the adapter stage: int8 passed every bar, also against fp32 after the adapter
    adapter: dict[str, Cosines] = Field(default_factory=dict)  # the adapter stage's checks; empty without one
