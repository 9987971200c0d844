"""The built-in USE multilingual v3 embedders as sentence-transformers input modules (imports torch)."""

from typing import Any

import torch
from sentence_transformers.base.modules.input_module import InputModule

from pipeline.use_encoders import FullUSE, StaticUSE


class _TextsModule(InputModule):
    """An input module that passes raw texts to ``forward`` (the numpy encoders tokenise themselves)."""

    config_keys: list[str] = []

    def preprocess(self, inputs, prompt: str | None = None, **kwargs) -> dict[str, Any]:
        texts = [prompt + t for t in inputs] if prompt else list(inputs)
        return {"texts": texts}

    def get_sentence_embedding_dimension(self) -> int:
        return StaticUSE.dimension  # USE multilingual v3 and its static distillation share it

    def save(self, output_path: str, *args, **kwargs) -> None:
        self.save_config(output_path)


class USEMultilingual(_TextsModule):
    """:class:`pipeline.use_encoders.FullUSE` (USE multilingual v3, numpy) as a sentence-transformers module."""

    config_keys = ["threads"]

    def __init__(self, threads: int = 1):
        super().__init__()
        self.threads = threads
        self._use = FullUSE(threads=threads)

    def forward(self, features: dict[str, Any], **kwargs) -> dict[str, Any]:
        features["sentence_embedding"] = torch.from_numpy(self._use.embed(features["texts"]))
        return features


class USEStatic(_TextsModule):
    """:class:`pipeline.use_encoders.StaticUSE` (the token-table distillation of USE) as a sentence-transformers module."""

    def __init__(self):
        super().__init__()
        self._static = StaticUSE()

    def forward(self, features: dict[str, Any], **kwargs) -> dict[str, Any]:
        features["sentence_embedding"] = torch.from_numpy(self._static.embed(features["texts"]))
        return features
