"""Networks: spatial generator, PatchGAN critics, VGG-16 features, PartialConv baseline."""
from stngan.models.discriminator import (DualDiscriminator, GlobalDiscriminator, LocalDiscriminator, crop_boxes,
                                         mask_boxes)
from stngan.models.generator import Generator, background_copy
from stngan.models.partialconv import PartialConv2d, PConvUNet
from stngan.models.vgg import VGG16Features

__all__ = ["DualDiscriminator", "GlobalDiscriminator", "LocalDiscriminator", "crop_boxes", "mask_boxes",
           "Generator", "background_copy", "PartialConv2d", "PConvUNet", "VGG16Features"]
