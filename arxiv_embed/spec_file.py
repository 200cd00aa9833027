"""A typed JSON file that one stage writes into a models folder and a bundle carries (search.json, recommend.json,
parity.json): frozen, unknown keys refused, saved atomically and read back validated."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Self

from pydantic import BaseModel, ConfigDict

from arxiv_embed.atomic import write_json


class SpecFile(BaseModel):
    """A subclass names its file (`FILE`) and declares its fields; saving and loading are the same for all."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    FILE: ClassVar[str]

    def save(self, folder: Path) -> None:
        write_json(folder / self.FILE, self.model_dump(by_alias=True))

    @classmethod
    def load(cls, folder: Path) -> Self:
        return cls.model_validate_json((folder / cls.FILE).read_text())
