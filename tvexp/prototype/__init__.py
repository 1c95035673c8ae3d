"""The prototype tier: new layers that may change in any release.

Importing this namespace does not warn. Each prototype class or function warns
:class:`tvexp.PrototypeWarning` once per process at its first use; :func:`opt_in` (or the
environment variable ``TVEXP_PROTOTYPE_OPT_IN=1``) acknowledges the tier and silences it, and
``opt_in(scope="mylib")`` does so for a library's own code only; :func:`opted_in` for a block.
Functional forms live in :mod:`tvexp.prototype.functional`, losses in :mod:`tvexp.prototype.losses`.
"""

from tvexp._api.deprecation import moved_name_getattr
from tvexp._api.tiers import opt_in, opted_in  # noqa: F401  (functions of the namespace, not tiered objects)
from tvexp._layers.atrous_spatial_pyramid_pooling import ASPP
from tvexp._layers.basic_block import BasicBlock
from tvexp._layers.bottleneck import Bottleneck
from tvexp._layers.channel_rounding import make_divisible
from tvexp._layers.channel_shuffle import ShuffleNetV2Unit
from tvexp._layers.conv_norm_activation import (
    ConvTranspose1dNormActivation,
    ConvTranspose2dNormActivation,
    ConvTranspose3dNormActivation,
)
from tvexp._layers.convnext_block import ConvNeXtBlock
from tvexp._layers.dense_block import DenseBlock, DenseLayer, DenseTransition
from tvexp._layers.feature_pyramid_network import FeaturePyramidNetwork, LastLevelMaxPool, LastLevelP6P7
from tvexp._layers.fire import Fire
from tvexp._layers.frozen_batch_norm import FrozenBatchNorm1d, FrozenBatchNorm3d
from tvexp._layers.inverted_residual import InvertedResidual
from tvexp._layers.layer_norm_2d import LayerNorm2d
from tvexp._layers.layer_scale import LayerScale
from tvexp._layers.linear_norm_activation import LinearNormActivation
from tvexp._layers.lraspp_head import LRASPPHead
from tvexp._layers.maxvit_block import MaxViTBlock
from tvexp._layers.mbconv import FusedMBConv, MBConv
from tvexp._layers.multihead_self_attention import MultiheadSelfAttention
from tvexp._layers.multiscale_attention import MultiscaleAttention
from tvexp._layers.multiscale_block import MultiscaleBlock
from tvexp._layers.named_builders import layer_builder
from tvexp._layers.named_conv_norm_activation import NamedConv2dNormActivation
from tvexp._layers.partition_attention_block import PartitionAttentionBlock
from tvexp._layers.patch_embedding_3d import PatchEmbedding3d
from tvexp._layers.patch_merging import PatchMerging
from tvexp._layers.pre_norm_mbconv import PreNormMBConv
from tvexp._layers.quantizable.basic_block import QuantizableBasicBlock
from tvexp._layers.quantizable.bottleneck import QuantizableBottleneck
from tvexp._layers.quantizable.conv_norm_activation import QuantizableConv2dNormActivation
from tvexp._layers.quantizable.inverted_residual import QuantizableInvertedResidual
from tvexp._layers.quantizable.mbconv import QuantizableFusedMBConv, QuantizableMBConv
from tvexp._layers.quantizable.mlp import QuantizableMLP
from tvexp._layers.quantizable.named_conv_norm_activation import QuantizableNamedConv2dNormActivation
from tvexp._layers.quantizable.shufflenet_unit import QuantizableShuffleNetV2Unit
from tvexp._layers.quantizable.squeeze_excitation import QuantizableSqueezeExcitation
from tvexp._layers.regnet_bottleneck import RegNetBottleneck
from tvexp._layers.shifted_window_attention import ShiftedWindowAttention
from tvexp._layers.stochastic_depth import stochastic_depth_rates
from tvexp._layers.swin_transformer_block import SwinTransformerBlock
from tvexp._layers.temporal_separable_conv import TemporalSeparableConv
from tvexp._layers.transformer_encoder_block import TransformerEncoderBlock
from tvexp._layers.video_convolutions import Conv2Plus1D, Conv3DNoTemporal, Conv3DSimple
from tvexp._layers.video_residual_blocks import VideoBasicBlock, VideoBottleneck
from tvexp._layers.video_stems import R2Plus1DStem, R3DStem
from tvexp._transforms.batch_norm_freezing import freeze_batch_norm, unfreeze_batch_norm
from tvexp._transforms.conv_norm_fusion import fuse_conv_norm
from tvexp._transforms.pt2e_quantization import quantize_pt2e, split_repeated_module_calls

__all__: list[str] = [
    "ASPP",
    "BasicBlock",
    "Bottleneck",
    "Conv2Plus1D",
    "Conv3DNoTemporal",
    "Conv3DSimple",
    "ConvNeXtBlock",
    "ConvTranspose1dNormActivation",
    "ConvTranspose2dNormActivation",
    "ConvTranspose3dNormActivation",
    "DenseBlock",
    "DenseLayer",
    "DenseTransition",
    "FeaturePyramidNetwork",
    "Fire",
    "FrozenBatchNorm1d",
    "FrozenBatchNorm3d",
    "FusedMBConv",
    "InvertedResidual",
    "LRASPPHead",
    "LastLevelMaxPool",
    "LastLevelP6P7",
    "LayerNorm2d",
    "LayerScale",
    "LinearNormActivation",
    "MBConv",
    "MaxViTBlock",
    "MultiheadSelfAttention",
    "MultiscaleAttention",
    "MultiscaleBlock",
    "NamedConv2dNormActivation",
    "PartitionAttentionBlock",
    "PatchEmbedding3d",
    "PatchMerging",
    "PreNormMBConv",
    "QuantizableBasicBlock",
    "QuantizableBottleneck",
    "QuantizableConv2dNormActivation",
    "QuantizableFusedMBConv",
    "QuantizableInvertedResidual",
    "QuantizableMBConv",
    "QuantizableMLP",
    "QuantizableNamedConv2dNormActivation",
    "QuantizableShuffleNetV2Unit",
    "QuantizableSqueezeExcitation",
    "R2Plus1DStem",
    "R3DStem",
    "RegNetBottleneck",
    "ShiftedWindowAttention",
    "ShuffleNetV2Unit",
    "SwinTransformerBlock",
    "TemporalSeparableConv",
    "TransformerEncoderBlock",
    "VideoBasicBlock",
    "VideoBottleneck",
    "freeze_batch_norm",
    "fuse_conv_norm",
    "layer_builder",
    "make_divisible",
    "quantize_pt2e",
    "split_repeated_module_calls",
    "stochastic_depth_rates",
    "unfreeze_batch_norm",
]

__getattr__ = moved_name_getattr(__name__)
