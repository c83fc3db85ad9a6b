"""Torch and MONAI helpers: device choice, checkpoints, preprocessing, Grad-CAM. Importing this
package does not import torch; each module imports it where it is used."""
