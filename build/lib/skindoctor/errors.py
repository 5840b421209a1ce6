"""One exception family, mapped to clear CLI messages and HTTP JSON errors."""


class SkinDoctorError(Exception):
    """Base class: the message is meant for the person using the product."""

    http_status = 500


class InputError(SkinDoctorError):
    """The user's input (image, file, argument) cannot be used."""

    http_status = 400


class ImageTooLargeError(InputError):
    http_status = 413


class ModelError(SkinDoctorError):
    """The model file or its card is missing or broken."""

    http_status = 503
