"""Networks: the paper's ALI architectures (``ali``), shared layers (``layers``)."""

from .ali import ARCHS, ALINets, ArchSpec, Decoder, Discriminator, Encoder, build_ali

__all__ = ["ARCHS", "ALINets", "ArchSpec", "Decoder", "Discriminator", "Encoder", "build_ali"]
